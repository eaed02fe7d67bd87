//! A fake Microsoft Graph and Entra login endpoint on loopback, for running the real Graph
//! client in tests: generated tenants, `/users` and `/admin/teams/userConfigurations` paging
//! with `$select` and `Prefer` honoured, `/users/delta` with real change tracking,
//! `/subscriptions` with Graph's validation handshake and the change notifications and
//! lifecycle events it delivers, the national clouds' missing Teams administration API, faults
//! switched on from the test, and a log of every request with the time it was in flight.

mod faults;
mod generator;
mod routes;
mod state;
mod subscriptions;
mod wire;

use std::time::{Duration, Instant};

use domain::EndUser;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

pub use faults::{Endpoint, Fault};
pub use generator::{FakeUser, UserGenerator, UserKind};
pub use state::{PageSizes, RemovalReason, TeamsAdminApi, NEVER_LISTED_USER};
pub use subscriptions::{FakeSubscription, LifecycleEvent};

use routes::{lock, Shared};
use state::{FakeState, TenantState};

/// Why the fake refused a test's request.
#[derive(Debug, thiserror::Error)]
pub enum FakeGraphError {
    #[error("cannot listen on loopback: {0}")]
    Io(#[from] std::io::Error),
    #[error("no tenant {0} in the fake")]
    UnknownTenant(Uuid),
    #[error("no user {0} in the tenant")]
    UnknownUser(Uuid),
}

/// One request the fake answered: which endpoint, for which tenant (from the token, or the
/// token request's path; `None` when unauthenticated), the status, and when it was in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestRecord {
    pub endpoint: Endpoint,
    pub tenant: Option<Uuid>,
    pub status: u16,
    pub started: Instant,
    pub finished: Instant,
}

/// Every request the fake answered, for checking what really happened at "Microsoft": how
/// many tenants were being worked on at once, and whether one tenant ever was twice at once.
#[derive(Debug, Clone, Default)]
pub struct RequestLog(pub Vec<RequestRecord>);

impl RequestLog {
    /// Authenticated requests (token requests included), each with its tenant.
    fn by_tenant(&self) -> impl Iterator<Item = (Uuid, &RequestRecord)> {
        self.0.iter().filter_map(|r| r.tenant.map(|t| (t, r)))
    }

    /// The largest number of distinct tenants with a request in flight at the same instant.
    pub fn peak_tenants_in_flight(&self) -> usize {
        // Half-open intervals: at equal instants, ends come before starts.
        let mut events: Vec<(Instant, bool, Uuid)> = self
            .by_tenant()
            .flat_map(|(tenant, r)| [(r.started, true, tenant), (r.finished, false, tenant)])
            .collect();
        events.sort_by_key(|(at, starts, _)| (*at, *starts));
        let mut in_flight: std::collections::HashMap<Uuid, usize> = std::collections::HashMap::new();
        let mut peak = 0;
        for (_, starts, tenant) in events {
            let count = in_flight.entry(tenant).or_default();
            if starts {
                *count += 1;
            } else {
                *count = count.saturating_sub(1);
            }
            peak = peak.max(in_flight.values().filter(|n| **n > 0).count());
        }
        peak
    }

    /// Two requests of one tenant that were in flight at the same time, if any: a sync reads
    /// one request after the other, so this means two syncs of one tenant ran at once.
    pub fn overlap_within_a_tenant(&self) -> Option<(RequestRecord, RequestRecord)> {
        let mut per_tenant: std::collections::HashMap<Uuid, Vec<RequestRecord>> = std::collections::HashMap::new();
        for (tenant, record) in self.by_tenant() {
            per_tenant.entry(tenant).or_default().push(*record);
        }
        per_tenant.into_values().find_map(|mut records| {
            records.sort_by_key(|r| r.started);
            records
                .windows(2)
                .find(|pair| pair[1].started < pair[0].finished)
                .map(|pair| (pair[0], pair[1]))
        })
    }
}

/// A tenant to serve: its app registration and initial users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeTenant {
    pub tenant_id: Uuid,
    pub client_id: String,
    pub client_secret: String,
    /// Makes further generated users (`FakeGraph::add_generated_users`).
    pub generator: UserGenerator,
    pub users: Vec<FakeUser>,
}

impl FakeTenant {
    /// A tenant of `count` users, everything derived from `seed`.
    pub fn generated(seed: u64, count: u64) -> Self {
        let tenant_id = generator::seeded_uuid(seed, 1);
        let domain = format!("M365x{:08}.OnMicrosoft.com", seed % 100_000_000);
        let generator = UserGenerator::new(seed, tenant_id, domain);
        Self {
            tenant_id,
            client_id: generator::seeded_uuid(seed, 2).to_string(),
            client_secret: format!("fake~{}", generator::seeded_uuid(seed, 3).simple()),
            users: generator.users(0..count),
            generator,
        }
    }

    /// The records a sync of this tenant must produce, ordered by identity.
    pub fn expected_end_users(&self) -> Vec<EndUser> {
        let mut users: Vec<EndUser> = self.users.iter().map(|u| u.expected(self.tenant_id)).collect();
        users.sort_by_key(|u| u.identity);
        users
    }
}

/// The running fake. Serves `http://127.0.0.1:<port>` until dropped; the same base URL is
/// both the login authority and Graph.
pub struct FakeGraph {
    base_url: String,
    shared: Shared,
    shutdown: Option<oneshot::Sender<()>>,
    server: JoinHandle<()>,
}

impl std::fmt::Debug for FakeGraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeGraph")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl Drop for FakeGraph {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.server.abort();
    }
}

impl FakeGraph {
    /// Binds 127.0.0.1:0 and serves on the current tokio runtime.
    pub async fn start() -> Result<Self, FakeGraphError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let shared: Shared = std::sync::Arc::new(std::sync::Mutex::new(FakeState::new(base_url.clone())));
        let app = routes::router(shared.clone());
        let (shutdown, stop) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stop.await;
                })
                .await;
        });
        Ok(Self {
            base_url,
            shared,
            shutdown: Some(shutdown),
            server,
        })
    }

    /// `http://127.0.0.1:<port>`: use it as both `graph_url` and `login_url`.
    pub fn url(&self) -> &str {
        &self.base_url
    }

    /// Serves `tenant` (replacing a tenant with the same id).
    pub fn add_tenant(&self, tenant: &FakeTenant) {
        let state = TenantState::new(
            tenant.client_id.clone(),
            tenant.client_secret.clone(),
            tenant.generator.clone(),
            tenant.users.clone(),
        );
        lock(&self.shared).tenants.insert(tenant.tenant_id, state);
    }

    /// Generates a tenant of `count` users from `seed`, serves it and returns it.
    pub fn add_generated_tenant(&self, seed: u64, count: u64) -> FakeTenant {
        let tenant = FakeTenant::generated(seed, count);
        self.add_tenant(&tenant);
        tenant
    }

    fn with_tenant<R>(&self, tenant_id: Uuid, act: impl FnOnce(&mut TenantState) -> R) -> Result<R, FakeGraphError> {
        let mut state = lock(&self.shared);
        let tenant = state
            .tenants
            .get_mut(&tenant_id)
            .ok_or(FakeGraphError::UnknownTenant(tenant_id))?;
        Ok(act(tenant))
    }

    /// Adds a user; the next delta round reports it in full.
    pub fn add_user(&self, tenant_id: Uuid, user: FakeUser) -> Result<(), FakeGraphError> {
        self.with_tenant(tenant_id, |tenant| tenant.add(user))
    }

    /// Adds the tenant generator's next `count` users and returns them.
    pub fn add_generated_users(&self, tenant_id: Uuid, count: u64) -> Result<Vec<FakeUser>, FakeGraphError> {
        self.with_tenant(tenant_id, |tenant| {
            let start = tenant.next_index;
            tenant.next_index += count;
            let users = tenant.generator.users(start..start + count);
            for user in &users {
                tenant.add(user.clone());
            }
            users
        })
    }

    /// Changes a user (its Graph properties and/or Teams configuration; the id stays). The
    /// next delta round reports the id plus the user properties that changed.
    pub fn update_user(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        change: impl FnOnce(&mut FakeUser),
    ) -> Result<(), FakeGraphError> {
        self.with_tenant(tenant_id, |tenant| tenant.update(user_id, change))?
            .then_some(())
            .ok_or(FakeGraphError::UnknownUser(user_id))
    }

    /// Removes a user; the next delta round reports `@removed` with `reason`.
    pub fn remove_user(&self, tenant_id: Uuid, user_id: Uuid, reason: RemovalReason) -> Result<(), FakeGraphError> {
        self.with_tenant(tenant_id, |tenant| tenant.remove(user_id, reason))?
            .then_some(())
            .ok_or(FakeGraphError::UnknownUser(user_id))
    }

    /// The tenant's current users, ordered by id.
    pub fn users(&self, tenant_id: Uuid) -> Result<Vec<FakeUser>, FakeGraphError> {
        self.with_tenant(tenant_id, |tenant| tenant.users.values().cloned().collect())
    }

    /// The records a sync of the tenant's current users must produce, ordered by identity.
    pub fn expected_end_users(&self, tenant_id: Uuid) -> Result<Vec<EndUser>, FakeGraphError> {
        self.with_tenant(tenant_id, |tenant| {
            tenant.users.values().map(|u| u.expected(tenant_id)).collect()
        })
    }

    /// Every delta link handed out so far now answers 410 Gone.
    pub fn expire_delta_links(&self, tenant_id: Uuid) -> Result<(), FakeGraphError> {
        self.with_tenant(tenant_id, TenantState::expire_delta_links)
    }

    /// The next `times` requests to `endpoint` suffer `fault` (queued after earlier faults).
    pub fn inject(&self, endpoint: Endpoint, fault: Fault, times: u32) {
        lock(&self.shared).faults.inject(endpoint, fault, times);
    }

    pub fn clear_faults(&self) {
        lock(&self.shared).faults.clear();
    }

    /// Requests received by `endpoint` (including faulted ones).
    pub fn requests(&self, endpoint: Endpoint) -> u64 {
        lock(&self.shared).faults.count(endpoint)
    }

    /// Every request answered so far, in the order they finished.
    pub fn request_log(&self) -> RequestLog {
        RequestLog(lock(&self.shared).requests.clone())
    }

    pub fn reset_request_counts(&self) {
        lock(&self.shared).faults.reset_counts();
    }

    /// Tokens issued so far.
    pub fn tokens_issued(&self) -> u64 {
        lock(&self.shared).tokens_issued
    }

    /// Every issued token becomes unknown to Graph (401 on next use).
    pub fn revoke_tokens(&self) {
        lock(&self.shared).revoke_tokens();
    }

    /// `expires_in` of tokens issued from now on (default 3599 s).
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        lock(&self.shared).token_lifetime = lifetime;
    }

    pub fn set_page_sizes(&self, sizes: PageSizes) {
        lock(&self.shared).sizes = sizes;
    }

    /// Whether `/admin/teams/userConfigurations` exists (it does not in the national clouds).
    pub fn set_teams_admin_api(&self, api: TeamsAdminApi) {
        lock(&self.shared).teams_admin = api;
    }

    /// Tokens issued from now on carry this `expires_in` verbatim (`None`: the lifetime).
    pub fn set_token_expires_in(&self, expires_in: Option<serde_json::Value>) {
        lock(&self.shared).expires_in_override = expires_in;
    }

    /// The tenant's change-notification subscriptions, ordered by id.
    pub fn subscriptions(&self, tenant_id: Uuid) -> Vec<FakeSubscription> {
        subscriptions::of_tenant(&self.shared, tenant_id)
    }

    /// Sends a change notification naming `users` (changeType `updated`) to every subscription
    /// of the tenant, as Graph does after a change; answers each delivery's HTTP status.
    pub async fn notify_user_changes(&self, tenant_id: Uuid, users: &[Uuid]) -> Vec<Option<u16>> {
        subscriptions::notify_changes(&self.shared, tenant_id, users).await
    }

    /// Sends a lifecycle event to every subscription of the tenant (`subscriptionRemoved`
    /// drops them first, as Graph has).
    pub async fn notify_lifecycle(&self, tenant_id: Uuid, event: LifecycleEvent) -> Vec<Option<u16>> {
        subscriptions::notify_lifecycle(&self.shared, tenant_id, event).await
    }

    /// The raw query string of the last request to `endpoint` (URL-encoded as sent).
    pub fn last_query(&self, endpoint: Endpoint) -> Option<String> {
        lock(&self.shared).last_queries.get(&endpoint).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// A token for `tenant` from the fake's Entra endpoint, as the Graph client asks for it.
    async fn token_of(http: &reqwest::Client, fake: &FakeGraph, tenant: &FakeTenant) -> String {
        let issued: serde_json::Value = http
            .post(format!("{}/{}/oauth2/v2.0/token", fake.url(), tenant.tenant_id))
            .form(&[
                ("client_id", tenant.client_id.as_str()),
                ("client_secret", tenant.client_secret.as_str()),
                ("scope", "https://graph.microsoft.com/.default"),
                ("grant_type", "client_credentials"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        issued["access_token"].as_str().unwrap().to_string()
    }

    #[tokio::test]
    async fn serves_tokens_and_pages_over_http() {
        let fake = FakeGraph::start().await.unwrap();
        let tenant = fake.add_generated_tenant(1, 5);
        let http = reqwest::Client::new();
        let token_url = format!("{}/{}/oauth2/v2.0/token", fake.url(), tenant.tenant_id);
        let token = token_of(&http, &fake, &tenant).await;

        let page: serde_json::Value = http
            .get(format!("{}/v1.0/users?$top=2", fake.url()))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(page["value"].as_array().unwrap().len(), 2);
        assert!(page["@odata.nextLink"].as_str().unwrap().starts_with(fake.url()));

        let refused = http.get(format!("{}/v1.0/users", fake.url())).send().await.unwrap();
        assert_eq!(refused.status(), 401);
        let bad_secret = [
            ("client_secret", "nope"),
            ("client_id", tenant.client_id.as_str()),
            ("scope", "x/.default"),
            ("grant_type", "client_credentials"),
        ];
        let refused: serde_json::Value = http
            .post(&token_url)
            .form(&bad_secret)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(refused["error"], "invalid_client");
        assert_eq!(fake.requests(Endpoint::Token), 2);
        assert_eq!(fake.requests(Endpoint::Users), 2);
        assert_eq!(fake.tokens_issued(), 1);
    }

    /// `$select` decides the properties (Graph's default set without it, kept across pages),
    /// and `ineligibleUser` is only sent to clients that ask for unknown enum members.
    #[tokio::test]
    async fn select_and_prefer_shape_the_answers() {
        let fake = FakeGraph::start().await.unwrap();
        let tenant = fake.add_generated_tenant(3, 300);
        let http = reqwest::Client::new();
        let token = token_of(&http, &fake, &tenant).await;
        let get = |url: String, prefer: Option<&'static str>| {
            let mut request = http.get(url).bearer_auth(&token);
            if let Some(prefer) = prefer {
                request = request.header("Prefer", prefer);
            }
            async move { request.send().await.unwrap().json::<serde_json::Value>().await.unwrap() }
        };
        let keys = |item: &serde_json::Value| -> Vec<String> { item.as_object().unwrap().keys().cloned().collect() };

        let plain = get(format!("{}/v1.0/users?$top=2", fake.url()), None).await;
        let default_keys = keys(&plain["value"][0]);
        assert!(default_keys.contains(&"displayName".to_string()) && default_keys.contains(&"id".to_string()));
        assert!(!default_keys.contains(&"imAddresses".to_string()), "{default_keys:?}");

        let selected = get(
            format!("{}/v1.0/users?$top=2&$select=displayName,imAddresses", fake.url()),
            None,
        )
        .await;
        assert_eq!(keys(&selected["value"][0]), ["id", "displayName", "imAddresses"]);
        let next = selected["@odata.nextLink"].as_str().unwrap().to_string();
        assert_eq!(
            keys(&get(next, None).await["value"][0]),
            ["id", "displayName", "imAddresses"]
        );

        let delta = get(format!("{}/v1.0/users/delta?$select=department", fake.url()), None).await;
        assert_eq!(keys(&delta["value"][0]), ["id", "department"]);
        let unknown = http
            .get(format!("{}/v1.0/users?$select=displayName,nonsense", fake.url()))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(unknown.status(), 400);

        let account_types = |page: &serde_json::Value| -> HashSet<String> {
            page["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["accountType"].as_str().unwrap().to_string())
                .collect()
        };
        let url = format!("{}/v1.0/admin/teams/userConfigurations?$top=300", fake.url());
        let without = account_types(&get(url.clone(), None).await);
        assert!(
            without.contains("unknownFutureValue") && !without.contains("ineligibleUser"),
            "{without:?}"
        );
        let with = account_types(&get(url, Some("include-unknown-enum-members")).await);
        assert!(
            with.contains("ineligibleUser") && !with.contains("unknownFutureValue"),
            "{with:?}"
        );
    }

    #[test]
    fn request_logs_tell_overlaps_apart() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let (a, b, c) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let request = |tenant, from, to| RequestRecord {
            endpoint: Endpoint::Users,
            tenant: Some(tenant),
            status: 200,
            started: at(from),
            finished: at(to),
        };
        let sequential = RequestLog(vec![
            request(a, 0, 10),
            request(a, 10, 20),
            request(b, 5, 15),
            request(c, 20, 30),
        ]);
        assert_eq!(sequential.peak_tenants_in_flight(), 2);
        assert_eq!(sequential.overlap_within_a_tenant(), None);
        let twice = RequestLog(vec![request(a, 0, 10), request(a, 9, 20)]);
        assert_eq!(twice.peak_tenants_in_flight(), 1);
        assert!(twice.overlap_within_a_tenant().is_some());
        let three = RequestLog(vec![request(a, 0, 10), request(b, 1, 10), request(c, 9, 12)]);
        assert_eq!(three.peak_tenants_in_flight(), 3);
    }

    #[tokio::test]
    async fn mutations_need_a_known_tenant_and_user() {
        let fake = FakeGraph::start().await.unwrap();
        let tenant = fake.add_generated_tenant(2, 3);
        assert!(matches!(
            fake.remove_user(Uuid::nil(), Uuid::nil(), RemovalReason::Deleted),
            Err(FakeGraphError::UnknownTenant(_))
        ));
        assert!(matches!(
            fake.update_user(tenant.tenant_id, Uuid::nil(), |_| {}),
            Err(FakeGraphError::UnknownUser(_))
        ));
        let added = fake.add_generated_users(tenant.tenant_id, 2).unwrap();
        assert_eq!(added[0], tenant.generator.user(3));
        assert_eq!(fake.users(tenant.tenant_id).unwrap().len(), 5);
        assert_eq!(fake.expected_end_users(tenant.tenant_id).unwrap().len(), 5);
    }
}
