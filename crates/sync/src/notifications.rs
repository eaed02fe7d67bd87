//! Microsoft Graph change notifications (issue 9): freshness within a minute instead of the
//! polling interval.
//!
//! - **Subscriptions**: every connected customer gets one subscription on `users`
//!   (`updated,deleted`) whose `notificationUrl` and `lifecycleNotificationUrl` are rosterd's
//!   `/graph/notifications` and `/graph/lifecycle` under the public URL, with a random
//!   `clientState` stored sealed. [`reconcile`] (every minute, where the scheduler runs) creates
//!   missing ones, renews those that expire within `renew_before`, replaces those of a re-pointed
//!   service and deletes those of disconnected services. Subscription work of a customer is
//!   done under its sync lease, so two replicas never create two subscriptions for it.
//! - **Notifications** ([`Notifications::accept`]): a batch is read off the request and matched
//!   in the background (the HTTP answer is 202 at once); an entry counts only when its
//!   `subscriptionId` names a stored subscription and its `clientState` equals the stored one
//!   (compared in constant time). A counted entry asks for a delta round of its customer,
//!   debounced: the first one arms the round `debounce` later, the ones before it join it. A
//!   round already running makes the request wait for it and run once more afterwards.
//! - **Lifecycle events**: `reauthorizationRequired` reauthorizes, `subscriptionRemoved`
//!   creates the subscription again, `missed` asks for a delta round.
//!
//! Nothing here logs a notification's content; unmatched entries are only counted.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use domain::access::SystemScope;
use domain::{CustomerId, Service};
use graph::{GraphError, NewSubscription, TenantClient, USERS_SUBSCRIPTION_MAX_MINUTES};
use rand::RngCore;
use serde_json::Value;
use store::SubscriptionRecord;
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use crate::context::{Context, ENGINE};
use crate::launch::{execute, prepare, StartError, Trigger};
use crate::schedule::chrono_duration;

/// What rosterd acts as when it matches a notification to a subscription.
const NOTIFICATIONS: SystemScope = SystemScope::new("Graph change notifications");
/// Batches matched at once; more are dropped (and counted): polling still covers them.
const MAX_BATCHES_IN_FLIGHT: usize = 64;
/// Entries of one batch looked at; Graph sends far fewer.
const MAX_ENTRIES: usize = 1_000;
/// How often the debounce loop looks for due rounds.
const TICK: Duration = Duration::from_millis(200);
/// Attempts (one per `BUSY_RETRY`) to take a customer's lease to subscribe again after
/// `subscriptionRemoved`.
const LEASE_ATTEMPTS: u32 = 30;
/// The first reconciliation after the loop starts.
const FIRST_RECONCILE: Duration = Duration::from_secs(3);
/// When a customer's sync is running, a requested round waits this long before trying again.
const BUSY_RETRY: Duration = Duration::from_secs(1);

/// Settings of change notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationConfig {
    /// rosterd's public URL (`--public-url`): Graph delivers to `{public_url}/graph/...`. Graph
    /// accepts only a public HTTPS URL.
    pub public_url: String,
    /// Lifetime asked for a subscription (at most Graph's 41,760 minutes for `users`).
    pub lifetime: Duration,
    /// A subscription expiring sooner than this is renewed.
    pub renew_before: Duration,
    /// Notifications within this window after the first make one round.
    pub debounce: Duration,
    /// How often subscriptions are reconciled with the connected customers.
    pub reconcile_every: Duration,
}

impl NotificationConfig {
    /// The defaults for `public_url`: 7-day subscriptions renewed when less than 3 days remain
    /// (a missed renewal has days to be retried; a renewal costs one request), a 2-second
    /// debounce, reconciled every minute.
    pub fn new(public_url: impl Into<String>) -> Self {
        Self {
            public_url: public_url.into().trim_end_matches('/').to_string(),
            lifetime: Duration::from_secs(7 * 86_400),
            renew_before: Duration::from_secs(3 * 86_400),
            debounce: Duration::from_secs(2),
            reconcile_every: Duration::from_secs(60),
        }
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        let max = Duration::from_secs(u64::try_from(USERS_SUBSCRIPTION_MAX_MINUTES).unwrap_or(0) * 60);
        if self.lifetime.is_zero() || self.lifetime > max {
            return Err(format!(
                "notification lifetime must be 1 s to {} minutes",
                USERS_SUBSCRIPTION_MAX_MINUTES
            ));
        }
        if self.renew_before >= self.lifetime {
            return Err("notification renew_before must be shorter than the lifetime".into());
        }
        if self.reconcile_every.is_zero() {
            return Err("notification reconcile_every must be positive".into());
        }
        if !(self.public_url.starts_with("https://") || self.public_url.starts_with("http://")) {
            return Err("the public URL must be an http(s) URL".into());
        }
        Ok(())
    }

    fn notification_url(&self) -> String {
        format!("{}/graph/notifications", self.public_url)
    }

    fn lifecycle_url(&self) -> String {
        format!("{}/graph/lifecycle", self.public_url)
    }
}

/// What the notification endpoints counted, for `/metrics`.
#[derive(Debug, Default)]
pub struct NotificationCounters {
    /// Change notifications whose subscription and clientState matched.
    pub matched: AtomicU64,
    /// Entries that matched no live subscription (wrong or unknown id, wrong clientState,
    /// unreadable): dropped.
    pub unmatched: AtomicU64,
    /// Lifecycle events that matched.
    pub lifecycle: AtomicU64,
    /// Batches dropped because too many were being matched at once.
    pub dropped_busy: AtomicU64,
    /// Delta rounds started because of notifications.
    pub rounds: AtomicU64,
    /// Subscriptions created, renewed, deleted by rosterd.
    pub created: AtomicU64,
    pub renewed: AtomicU64,
    pub deleted: AtomicU64,
}

/// A snapshot of [`NotificationCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NotificationFigures {
    pub matched: u64,
    pub unmatched: u64,
    pub lifecycle: u64,
    pub dropped_busy: u64,
    pub rounds: u64,
    pub created: u64,
    pub renewed: u64,
    pub deleted: u64,
}

impl NotificationCounters {
    pub fn figures(&self) -> NotificationFigures {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        NotificationFigures {
            matched: load(&self.matched),
            unmatched: load(&self.unmatched),
            lifecycle: load(&self.lifecycle),
            dropped_busy: load(&self.dropped_busy),
            rounds: load(&self.rounds),
            created: load(&self.created),
            renewed: load(&self.renewed),
            deleted: load(&self.deleted),
        }
    }
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Which endpoint a batch arrived at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// `/graph/notifications`: change notifications.
    Changes,
    /// `/graph/lifecycle`: lifecycle events.
    Lifecycle,
}

/// The notification state of an engine.
pub(crate) struct Notifications {
    pub(crate) config: NotificationConfig,
    pub(crate) counters: NotificationCounters,
    /// Customers with a requested round, and when it is due.
    pending: Mutex<HashMap<CustomerId, Instant>>,
    batches: Arc<Semaphore>,
}

impl Notifications {
    pub(crate) fn new(config: NotificationConfig) -> Self {
        Self {
            config,
            counters: NotificationCounters::default(),
            pending: Mutex::new(HashMap::new()),
            batches: Arc::new(Semaphore::new(MAX_BATCHES_IN_FLIGHT)),
        }
    }

    fn pending(&self) -> MutexGuard<'_, HashMap<CustomerId, Instant>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Asks for a delta round of `customer`: due `debounce` after the first request; later
    /// requests before it join it.
    pub(crate) fn request_round(&self, customer: CustomerId) {
        let due = Instant::now() + self.config.debounce;
        self.pending().entry(customer).or_insert(due);
    }

    fn take_due(&self, now: Instant) -> Vec<CustomerId> {
        let mut pending = self.pending();
        let due: Vec<CustomerId> = pending
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(customer, _)| *customer)
            .collect();
        for customer in &due {
            pending.remove(customer);
        }
        due
    }

    fn retry_later(&self, customer: CustomerId) {
        let due = Instant::now() + BUSY_RETRY;
        self.pending().entry(customer).or_insert(due);
    }
}

/// Takes a batch off the request: matched in the background, so the answer (202) never waits
/// for the store. Answers false when the batch was dropped because too many are in flight.
pub(crate) fn accept(ctx: &Arc<Context>, hub: &Arc<Notifications>, channel: Channel, body: Vec<u8>) -> bool {
    let Ok(permit) = Arc::clone(&hub.batches).try_acquire_owned() else {
        bump(&hub.counters.dropped_busy);
        return false;
    };
    let ctx = Arc::clone(ctx);
    let hub = Arc::clone(hub);
    ctx.tracker.clone().spawn(async move {
        process(&ctx, &hub, channel, &body).await;
        drop(permit);
    });
    true
}

/// One entry of a batch, as far as rosterd reads it.
struct Entry {
    subscription_id: String,
    client_state: String,
    lifecycle_event: Option<String>,
}

fn entries(body: &[u8]) -> (Vec<Entry>, u64) {
    let Ok(batch) = serde_json::from_slice::<Value>(body) else {
        return (Vec::new(), 1);
    };
    let Some(values) = batch.get("value").and_then(Value::as_array) else {
        return (Vec::new(), 1);
    };
    let mut unreadable = 0;
    let mut found = Vec::new();
    for value in values.iter().take(MAX_ENTRIES) {
        let text = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_string);
        match (text("subscriptionId"), text("clientState")) {
            (Some(subscription_id), Some(client_state)) => found.push(Entry {
                subscription_id,
                client_state,
                lifecycle_event: text("lifecycleEvent"),
            }),
            _ => unreadable += 1,
        }
    }
    unreadable += values.len().saturating_sub(MAX_ENTRIES) as u64;
    (found, unreadable)
}

/// Matches every entry of a batch and acts on the matched ones.
async fn process(ctx: &Arc<Context>, hub: &Arc<Notifications>, channel: Channel, body: &[u8]) {
    let (entries, unreadable) = entries(body);
    hub.counters.unmatched.fetch_add(unreadable, Ordering::Relaxed);
    let mut known: HashMap<(String, String), Option<SubscriptionRecord>> = HashMap::new();
    for entry in entries {
        let key = (entry.subscription_id.clone(), entry.client_state.clone());
        if !known.contains_key(&key) {
            let found = matching(ctx, &entry.subscription_id, &entry.client_state).await;
            known.insert(key.clone(), found);
        }
        let Some(Some(subscription)) = known.get(&key) else {
            bump(&hub.counters.unmatched);
            continue;
        };
        match (channel, entry.lifecycle_event.as_deref()) {
            (Channel::Changes, _) => {
                bump(&hub.counters.matched);
                hub.request_round(subscription.customer);
            }
            (Channel::Lifecycle, Some(event)) => {
                bump(&hub.counters.lifecycle);
                lifecycle(ctx, hub, subscription, event).await;
            }
            (Channel::Lifecycle, None) => bump(&hub.counters.unmatched),
        }
    }
}

/// The stored subscription `subscription_id` if `client_state` is its clientState.
async fn matching(ctx: &Context, subscription_id: &str, client_state: &str) -> Option<SubscriptionRecord> {
    let stored = match ctx.store.subscription_by_id(subscription_id).await {
        Ok(Some(stored)) => NOTIFICATIONS.open(stored),
        Ok(None) => return None,
        Err(error) => {
            tracing::warn!(%error, "could not read a Graph subscription to match a notification");
            return None;
        }
    };
    let expected = ctx.secrets.open(&stored.client_state_sealed).ok()?;
    bool::from(expected.as_slice().ct_eq(client_state.as_bytes())).then_some(stored)
}

async fn lifecycle(ctx: &Arc<Context>, hub: &Arc<Notifications>, subscription: &SubscriptionRecord, event: &str) {
    let customer = subscription.customer;
    match event {
        "missed" => hub.request_round(customer),
        "reauthorizationRequired" => {
            let outcome = match tenant_for(ctx, customer).await {
                Some((_, tenant)) => tenant.reauthorize_subscription(&subscription.subscription_id).await,
                None => return,
            };
            if let Err(error) = outcome {
                tracing::warn!(%customer, %error, "could not reauthorize a Graph subscription; it is recreated at the next reconciliation");
                forget(ctx, subscription).await;
            }
            // Notifications may have been held back meanwhile.
            hub.request_round(customer);
        }
        "subscriptionRemoved" => {
            forget(ctx, subscription).await;
            if let Some((service, tenant)) = tenant_for(ctx, customer).await {
                // The lease may be held by a running sync for a while: wait for it (the
                // reconciliation would otherwise subscribe again within a minute).
                for _ in 0..LEASE_ATTEMPTS {
                    if let Some(outcome) = under_lease(ctx, customer, create(ctx, hub, &service, &tenant)).await {
                        report(customer, "create", outcome);
                        break;
                    }
                    tokio::time::sleep(BUSY_RETRY).await;
                }
            }
            // Changes made while it was gone were not notified.
            hub.request_round(customer);
        }
        _ => {}
    }
}

/// The customer's service and a Graph handle with its credentials, if it is connected.
async fn tenant_for(ctx: &Context, customer: CustomerId) -> Option<(Service, TenantClient)> {
    let service = ctx.store.get_service(&ENGINE.grant(customer).read()).await.ok()??;
    let credentials = ctx.credentials_of(&service).ok()?;
    Some((service, ctx.graph.tenant(credentials)))
}

async fn forget(ctx: &Context, subscription: &SubscriptionRecord) {
    if let Err(error) = ctx
        .store
        .delete_subscription(&ENGINE.grant(subscription.customer), &subscription.subscription_id)
        .await
    {
        tracing::warn!(customer = %subscription.customer, %error, "could not forget a Graph subscription");
    }
}

/// Runs `work` while holding the customer's sync lease (so replicas never subscribe twice);
/// `None` when the lease is held elsewhere.
async fn under_lease<T>(ctx: &Context, customer: CustomerId, work: impl std::future::Future<Output = T>) -> Option<T> {
    let grant = ENGINE.grant(customer);
    let owner = format!("{}/subscriptions", ctx.config.replica_id);
    let now = ctx.clock.now();
    match ctx.store.lease_sync(&grant, now, &owner, ctx.lease_until(now)).await {
        Ok(true) => {}
        Ok(false) => return None,
        Err(error) => {
            tracing::warn!(%customer, %error, "could not lease a customer for its Graph subscription");
            return None;
        }
    }
    let out = work.await;
    if let Err(error) = ctx.store.release_sync(&grant, &owner).await {
        tracing::warn!(%customer, %error, "could not release a lease; it expires on its own");
    }
    Some(out)
}

/// A random clientState: 32 bytes as 64 hex characters (Graph allows 128).
fn random_client_state() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn expiry(ctx: &Context, hub: &Notifications) -> DateTime<Utc> {
    ctx.clock.now() + chrono_duration(hub.config.lifetime)
}

/// Creates the customer's subscription and stores it.
async fn create(ctx: &Context, hub: &Notifications, service: &Service, tenant: &TenantClient) -> Result<(), String> {
    let client_state = random_client_state();
    let request = NewSubscription {
        change_type: "updated,deleted".to_string(),
        notification_url: hub.config.notification_url(),
        lifecycle_notification_url: hub.config.lifecycle_url(),
        resource: "users".to_string(),
        expiration_date_time: expiry(ctx, hub),
        client_state: client_state.clone(),
    };
    let created = tenant.create_subscription(&request).await.map_err(|e| e.to_string())?;
    let sealed = ctx.secrets.seal(client_state.as_bytes()).map_err(|e| e.to_string())?;
    let now = ctx.clock.now();
    let record = SubscriptionRecord {
        customer: service.id,
        subscription_id: created.id,
        tenant_id: tenant.credentials().tenant_id,
        app_client_id: tenant.credentials().client_id.clone(),
        client_state_sealed: sealed,
        expires_at: created.expiration_date_time,
        created_at: now,
        updated_at: now,
    };
    ctx.store
        .put_subscription(&ENGINE.grant(record))
        .await
        .map_err(|e| e.to_string())?;
    bump(&hub.counters.created);
    Ok(())
}

/// One pass over the customers: every connected one has a live subscription of its own tenant,
/// renewed in time; no other customer has one.
pub(crate) async fn reconcile(ctx: &Arc<Context>, hub: &Arc<Notifications>) {
    let services = match ctx.store.list_services(&ENGINE.principal().visibility(None)).await {
        Ok(services) => services,
        Err(error) => {
            tracing::warn!(%error, "could not list services to reconcile Graph subscriptions");
            return;
        }
    };
    let subscriptions = match ctx.store.list_subscriptions(&ENGINE).await {
        Ok(list) => list,
        Err(error) => {
            tracing::warn!(%error, "could not list Graph subscriptions");
            return;
        }
    };
    let mut by_customer: HashMap<CustomerId, SubscriptionRecord> =
        subscriptions.into_iter().map(|s| (s.customer, s)).collect();
    for service in services {
        if ctx.cancel.is_cancelled() {
            return;
        }
        let existing = by_customer.remove(&service.id);
        let connected = service.may_sync_users().is_ok();
        let credentials = connected.then(|| ctx.credentials_of(&service).ok()).flatten();
        let customer = service.id;
        // Most customers need nothing: no lease (a store write) unless there is work.
        let settled = match (&credentials, &existing) {
            (None, None) => true,
            (Some(credentials), Some(old)) => {
                old.tenant_id == credentials.tenant_id
                    && old.app_client_id.eq_ignore_ascii_case(&credentials.client_id)
                    && old.expires_at - ctx.clock.now() >= chrono_duration(hub.config.renew_before)
            }
            _ => false,
        };
        if settled {
            continue;
        }
        let work = async {
            let Some(credentials) = credentials else {
                if let Some(old) = existing {
                    retire(ctx, hub, &old, None).await;
                }
                return;
            };
            let tenant = ctx.graph.tenant(credentials);
            let same_connection = |s: &SubscriptionRecord| {
                s.tenant_id == tenant.credentials().tenant_id
                    && s.app_client_id.eq_ignore_ascii_case(&tenant.credentials().client_id)
            };
            match existing {
                Some(old) if !same_connection(&old) => {
                    // Re-pointed: the old tenant's subscription cannot be deleted with the new
                    // tenant's token; it is forgotten and expires at Graph.
                    retire(ctx, hub, &old, None).await;
                    report(customer, "create", create(ctx, hub, &service, &tenant).await);
                }
                Some(old) => {
                    let left = old.expires_at - ctx.clock.now();
                    if left < chrono_duration(hub.config.renew_before) {
                        match tenant.renew_subscription(&old.subscription_id, expiry(ctx, hub)).await {
                            Ok(renewed) => {
                                let record = SubscriptionRecord {
                                    expires_at: renewed.expiration_date_time,
                                    updated_at: ctx.clock.now(),
                                    ..old
                                };
                                if let Err(error) = ctx.store.put_subscription(&ENGINE.grant(record)).await {
                                    tracing::warn!(%customer, %error, "could not store a renewed Graph subscription");
                                }
                                bump(&hub.counters.renewed);
                            }
                            Err(GraphError::Api { status: 404, .. }) => {
                                forget(ctx, &old).await;
                                report(customer, "create", create(ctx, hub, &service, &tenant).await);
                            }
                            Err(error) => report(customer, "renew", Err(error.to_string())),
                        }
                    }
                }
                None => report(customer, "create", create(ctx, hub, &service, &tenant).await),
            }
        };
        under_lease(ctx, customer, work).await;
    }
    // Subscriptions of customers that no longer exist.
    for (_, old) in by_customer {
        retire(ctx, hub, &old, None).await;
    }
}

/// Deletes a subscription at Graph (when a handle of its tenant is given) and forgets it.
async fn retire(ctx: &Context, hub: &Notifications, old: &SubscriptionRecord, tenant: Option<&TenantClient>) {
    if let Some(tenant) = tenant {
        if let Err(error) = tenant.delete_subscription(&old.subscription_id).await {
            tracing::warn!(customer = %old.customer, %error, "could not delete a Graph subscription; it expires on its own");
        }
    }
    forget(ctx, old).await;
    bump(&hub.counters.deleted);
}

fn report(customer: CustomerId, what: &str, outcome: Result<(), String>) {
    if let Err(error) = outcome {
        tracing::warn!(%customer, %error, "could not {what} the Graph subscription; retried at the next reconciliation");
    }
}

/// Deletes the customer's subscription at Graph (with its still-valid credentials) and forgets
/// it: called when a service is disconnected through rosterd.
pub(crate) async fn unsubscribe(ctx: &Arc<Context>, hub: &Arc<Notifications>, service: &Service) {
    let Ok(subscriptions) = ctx.store.list_subscriptions(&ENGINE).await else {
        return;
    };
    let Some(old) = subscriptions.into_iter().find(|s| s.customer == service.id) else {
        return;
    };
    let tenant = ctx
        .credentials_of(service)
        .ok()
        .filter(|c| c.tenant_id == old.tenant_id && c.client_id.eq_ignore_ascii_case(&old.app_client_id))
        .map(|c| ctx.graph.tenant(c));
    retire(ctx, hub, &old, tenant.as_ref()).await;
}

/// The loop: starts debounced rounds as they fall due and, when `reconciling`, reconciles the
/// subscriptions every `reconcile_every`.
pub(crate) async fn run_loop(ctx: Arc<Context>, hub: Arc<Notifications>, reconciling: bool) {
    // Graph validates the URLs while a subscription is created: give the server time to listen.
    let mut next_reconcile = Instant::now() + FIRST_RECONCILE;
    loop {
        if ctx.cancel.is_cancelled() {
            break;
        }
        if reconciling && Instant::now() >= next_reconcile {
            reconcile(&ctx, &hub).await;
            next_reconcile = Instant::now() + hub.config.reconcile_every;
        }
        for customer in hub.take_due(Instant::now()) {
            start_round(&ctx, &hub, customer).await;
        }
        tokio::select! {
            () = ctx.cancel.cancelled() => break,
            () = tokio::time::sleep(TICK) => {}
        }
    }
}

async fn start_round(ctx: &Arc<Context>, hub: &Notifications, customer: CustomerId) {
    match prepare(ctx, ENGINE.grant(customer), false, Trigger::Notification, None).await {
        Ok(launch) => {
            bump(&hub.counters.rounds);
            ctx.tracker.spawn(execute(Arc::clone(ctx), launch, None));
        }
        // The running round may have been read before the change: once more after it.
        Err(StartError::AlreadyRunning(_)) => hub.retry_later(customer),
        Err(StartError::ShuttingDown) => {}
        Err(error) => tracing::info!(%customer, %error, "a notified change was not synced"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_read_leniently() {
        let body =
            br#"{"value":[{"subscriptionId":"a","clientState":"s","changeType":"updated"},{"subscriptionId":"b"},7]}"#;
        let (found, unreadable) = entries(body);
        assert_eq!((found.len(), unreadable), (1, 2));
        assert_eq!(entries(b"not json").1, 1);
        assert_eq!(entries(br#"{"value":{}}"#).1, 1);
        let state = random_client_state();
        assert_eq!(state.len(), 64);
        assert_ne!(state, random_client_state());
    }

    #[test]
    fn configuration_is_checked() {
        let config = NotificationConfig::new("https://rosterd.example.net/");
        assert_eq!(
            config.notification_url(),
            "https://rosterd.example.net/graph/notifications"
        );
        assert!(config.validate().is_ok());
        let long = NotificationConfig {
            lifetime: Duration::from_secs(30 * 86_400),
            ..config.clone()
        };
        assert!(long.validate().is_err());
        let renew = NotificationConfig {
            renew_before: config.lifetime,
            ..config
        };
        assert!(renew.validate().is_err());
    }

    #[test]
    fn requests_are_debounced() {
        let hub = Notifications::new(NotificationConfig {
            debounce: Duration::from_millis(50),
            ..NotificationConfig::new("https://x")
        });
        let customer = CustomerId::new_random();
        hub.request_round(customer);
        hub.request_round(customer);
        assert!(hub.take_due(Instant::now()).is_empty());
        assert_eq!(hub.take_due(Instant::now() + Duration::from_millis(60)), vec![customer]);
        assert!(hub.take_due(Instant::now() + Duration::from_secs(1)).is_empty());
    }
}
