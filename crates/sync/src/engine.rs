//! The engine's public API: starting syncs (on demand, from the command line, from the
//! scheduler), connection checks and shutdown. One sync's execution lives in `launch`, the
//! shared state in `context`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth::SecretKey;
use domain::access::{Authorized, Write};
use domain::{ClientId, CustomerId};
use graph::{GraphClient, GraphConfig, GraphError, TenantCredentials};
use store::Store;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock::Clock;
use crate::config::SyncConfig;
use crate::context::Context;
use crate::error::SyncError;
use crate::launch::{execute, prepare, StartError, SyncOutcome, Trigger};
use crate::notifications::{Channel, NotificationFigures};
use crate::progress::ProgressSink;

/// Result of requesting a token with an app registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionOutcome {
    Ok,
    /// Entra refused: its `error` and `error_description`, safe to show.
    Refused(String),
    /// Entra could not be reached or answered nonsense.
    Unreachable(String),
}

/// The sync engine. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Context>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("replica", &self.inner.config.replica_id)
            .field("graph", &self.inner.graph)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine syncing into `store` through `graph`; app secrets are opened with `secrets`.
    pub fn new(
        store: Arc<dyn Store>,
        graph: GraphClient,
        secrets: Arc<SecretKey>,
        clock: Arc<dyn Clock>,
        config: SyncConfig,
    ) -> Result<Self, SyncError> {
        config.validate()?;
        let checks = GraphClient::new(GraphConfig {
            max_retries: 1,
            max_invalid_body_retries: 1,
            request_timeout: graph.config().request_timeout.min(Duration::from_secs(20)),
            max_retry_after: graph.config().max_retry_after.min(Duration::from_secs(5)),
            ..graph.config().clone()
        })?;
        let notifications = config
            .notifications
            .clone()
            .map(|n| Arc::new(crate::notifications::Notifications::new(n)));
        Ok(Self {
            inner: Arc::new(Context {
                store,
                graph,
                checks,
                secrets,
                clock,
                slots: Arc::new(Semaphore::new(config.max_concurrent)),
                config,
                running: Mutex::new(HashMap::new()),
                cancel: CancellationToken::new(),
                tracker: TaskTracker::new(),
                notifications,
                after_round: std::sync::OnceLock::new(),
                graph_observer: std::sync::OnceLock::new(),
            }),
        })
    }

    pub fn config(&self) -> &SyncConfig {
        &self.inner.config
    }

    /// Calls `listener` each time a round ends in this process (after its commit, and before
    /// its task reports the end), so that whoever caches the service row can read it again, and
    /// metrics can count it. Only the first listener set counts.
    pub fn after_each_round(&self, listener: crate::context::RoundListener) {
        let _ = self.inner.after_round.set(listener);
    }

    /// Also tells `observer` every Graph event of every round (each round's task log hears
    /// them anyway). Only the first observer set counts.
    pub fn observe_graph(&self, observer: Arc<dyn graph::GraphObserver>) {
        let _ = self.inner.graph_observer.set(observer);
    }

    /// Syncs running right now in this process (each holds one of `max_concurrent` slots).
    pub fn syncing(&self) -> usize {
        self.inner.config.max_concurrent - self.inner.slots.available_permits()
    }

    /// The task id of the sync of `customer` launched by this process, if one is under way.
    pub fn running_task(&self, customer: CustomerId) -> Option<String> {
        self.inner.running().get(&customer).cloned()
    }

    /// Starts a sync of `customer` in the background; answers its task id at once. The sync
    /// waits for a free slot when `max_concurrent` syncs are running.
    pub async fn start(
        &self,
        customer: Authorized<CustomerId, Write>,
        full: bool,
        requested_by: Option<ClientId>,
    ) -> Result<String, StartError> {
        self.start_by(customer, full, Trigger::Api(requested_by)).await
    }

    /// [`start`](Self::start), saying who asked in the task's details.
    pub async fn start_by(
        &self,
        customer: Authorized<CustomerId, Write>,
        full: bool,
        trigger: Trigger,
    ) -> Result<String, StartError> {
        let launch = prepare(&self.inner, customer, full, trigger, None).await?;
        let task_id = launch.log.id();
        self.inner.tracker.spawn(execute(Arc::clone(&self.inner), launch, None));
        Ok(task_id)
    }

    /// Runs one sync of `customer` in the foreground (`rosterd sync`), echoing progress to
    /// `echo`. The sync is recorded as a task like any other.
    pub async fn run_now(
        &self,
        customer: Authorized<CustomerId, Write>,
        full: bool,
        echo: Option<Arc<dyn ProgressSink>>,
    ) -> Result<SyncOutcome, StartError> {
        let launch = prepare(&self.inner, customer, full, Trigger::Cli, echo).await?;
        Ok(execute(Arc::clone(&self.inner), launch, None).await)
    }

    /// Requests a token with these credentials now (no cache) to prove they work.
    pub async fn check_connection(
        &self,
        tenant_id: uuid::Uuid,
        client_id: &str,
        client_secret: &str,
    ) -> ConnectionOutcome {
        let tenant = self
            .inner
            .checks
            .tenant(TenantCredentials::new(tenant_id, client_id, client_secret));
        match tenant.validate().await {
            Ok(()) => ConnectionOutcome::Ok,
            Err(GraphError::Token(refusal)) => ConnectionOutcome::Refused(match refusal.error_description {
                Some(description) => format!("{}: {description}", refusal.error),
                None => format!("{} (HTTP {})", refusal.error, refusal.status),
            }),
            Err(other) => ConnectionOutcome::Unreachable(other.to_string()),
        }
    }

    /// Runs one round of `customer` as a change notification triggers it, in the foreground:
    /// a delta round keeps the stored Teams configurations (reading only new users').
    pub async fn run_notified(&self, customer: Authorized<CustomerId, Write>) -> Result<SyncOutcome, StartError> {
        let launch = prepare(&self.inner, customer, false, Trigger::Notification, None).await?;
        Ok(execute(Arc::clone(&self.inner), launch, None).await)
    }

    /// Whether change notifications are on.
    pub fn notifications_enabled(&self) -> bool {
        self.inner.notifications.is_some()
    }

    /// What the notification endpoints counted (zeroes when notifications are off).
    pub fn notification_figures(&self) -> NotificationFigures {
        self.inner
            .notifications
            .as_ref()
            .map(|n| n.counters.figures())
            .unwrap_or_default()
    }

    /// Takes a notification batch that arrived at `channel`; it is matched in the background.
    /// False when notifications are off or too many batches are being matched (the batch is
    /// dropped and counted; polling still covers its changes).
    pub fn accept_notifications(&self, channel: Channel, body: Vec<u8>) -> bool {
        match &self.inner.notifications {
            Some(hub) => crate::notifications::accept(&self.inner, hub, channel, body),
            None => false,
        }
    }

    /// Runs the notification loop (debounced rounds; with `reconciling`, the subscriptions
    /// too) until [`shutdown`](Self::shutdown). `None` when notifications are off.
    pub fn spawn_notifications(&self, reconciling: bool) -> Option<JoinHandle<()>> {
        let hub = Arc::clone(self.inner.notifications.as_ref()?);
        Some(self.inner.tracker.spawn(crate::notifications::run_loop(
            Arc::clone(&self.inner),
            hub,
            reconciling,
        )))
    }

    /// One reconciliation of the subscriptions now (create, renew, replace, delete).
    pub async fn reconcile_subscriptions(&self) {
        if let Some(hub) = &self.inner.notifications {
            crate::notifications::reconcile(&self.inner, hub).await;
        }
    }

    /// Deletes the subscription of a service about to be disconnected (with its current
    /// credentials, while they still work).
    pub async fn unsubscribe(&self, service: &domain::Service) {
        if let Some(hub) = &self.inner.notifications {
            crate::notifications::unsubscribe(&self.inner, hub, service).await;
        }
    }

    /// Runs the scheduler until [`shutdown`](Self::shutdown).
    pub fn spawn_scheduler(&self) -> JoinHandle<()> {
        self.inner
            .tracker
            .spawn(crate::scheduler::run_loop(Arc::clone(&self.inner)))
    }

    /// Stops the scheduler and asks running syncs to stop at their next safe point (none
    /// commits half a result); waits up to `shutdown_grace` for them. Later starts are refused.
    pub async fn shutdown(&self) {
        let inner = &self.inner;
        inner.cancel.cancel();
        inner.tracker.close();
        if tokio::time::timeout(inner.config.shutdown_grace, inner.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                running = self.syncing(),
                "syncs did not stop within the shutdown grace period; their leases will expire"
            );
        }
    }
}
