//! Test harness for the API: the real router over a real store (SQLite in a temporary
//! directory, or a fresh PostgreSQL database), with helpers for clients, services and users.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Instant;

use api::{ApiConfig, AppState};
use app::{App, AppConfig, Created, CreatedClient, NewClient};
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use chrono::Utc;
use domain::access::SystemScope;
use domain::service::SecretChange;
use domain::{CustomerId, EndUser, LicenseType, NewService, Role, Scope, ServicePatch, ShortName};
use http_body_util::BodyExt;
use rosterd::Installation;
use serde_json::Value;
use store::{GenerationWriter, Store};
use tower::ServiceExt;

/// What tests act as when they set data up straight in the store.
pub const SYSTEM: SystemScope = SystemScope::new("api tests");

pub struct TestApp {
    pub installation: Installation,
    pub app: Arc<App>,
    pub state: AppState,
    pub router: Router,
    pub admin: String,
    /// The store's database, for tests that must reach behind the store.
    pub database_url: String,
    _dir: Option<tempfile::TempDir>,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_string()
    }
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh database of `backend`: its URL and what keeps it alive. `None`: no PostgreSQL server
/// is configured.
pub async fn fresh_database(backend: Backend) -> Option<(String, Option<tempfile::TempDir>)> {
    match backend {
        Backend::Sqlite => {
            let (dir, url) = store_conformance::fresh_sqlite_url().await;
            Some((url, Some(dir)))
        }
        Backend::Postgres => Some((store_conformance::fresh_postgres_url().await?, None)),
    }
}

impl TestApp {
    pub async fn new(backend: Backend) -> Option<Self> {
        Self::with_config(backend, AppConfig::default(), ApiConfig::default()).await
    }

    /// With the page cache off (every read goes to the store) or at its default size.
    pub async fn with_page_cache(backend: Backend, on: bool) -> Option<Self> {
        let config = AppConfig {
            page_cache_bytes: if on { AppConfig::default().page_cache_bytes } else { 0 },
            ..AppConfig::default()
        };
        Self::with_config(backend, config, ApiConfig::default()).await
    }

    /// Page reads answered from the cache and from the store so far.
    pub fn page_reads(&self) -> (u64, u64) {
        self.app.counters().cache_lookups(app::Cache::Page)
    }

    /// Asserts where the `reads` page reads made so far were answered: every one by the store
    /// with the page cache off, some from the cache with it on.
    pub fn assert_page_reads(&self, reads: usize) {
        let (hits, misses) = self.page_reads();
        if self.app.config().page_cache_bytes > 0 {
            assert!(hits > 0, "the page cache was used ({hits} hits, {misses} misses)");
        } else {
            assert_eq!((hits, misses), (0, reads as u64), "every read went to the store");
        }
    }

    pub async fn with_config(backend: Backend, config: AppConfig, api: ApiConfig) -> Option<Self> {
        let (database_url, dir) = fresh_database(backend).await?;
        let store = rosterd::open_store(&database_url).await.unwrap();
        let installation = Installation::with(store, Arc::new(auth::SecretKey::generate()));
        Some(Self::over(installation, database_url, dir, None, config, api).await)
    }

    async fn over(
        installation: Installation,
        database_url: String,
        dir: Option<tempfile::TempDir>,
        engine: Option<sync::Engine>,
        config: AppConfig,
        api: ApiConfig,
    ) -> Self {
        let keys = installation
            .key_ring(rosterd::token_settings("http://rosterd.test", 3600), None)
            .await
            .unwrap();
        let app = installation.app(keys, engine, config);
        let state = AppState::new(Arc::clone(&app), api);
        let router = api::router(state.clone());
        let mut test = Self {
            installation,
            app,
            state,
            router,
            admin: String::new(),
            database_url,
            _dir: dir,
        };
        test.admin = test.token_for(Role::Admin, Scope::Provider).await;
        test
    }

    /// The same installation with `engine` behind the application (and a new router around it).
    pub async fn with_engine(self, engine: sync::Engine) -> Self {
        let config = self.app.config().clone();
        let api = (*self.state.config).clone();
        let Self {
            installation,
            database_url,
            _dir,
            ..
        } = self;
        Self::over(installation, database_url, _dir, Some(engine), config, api).await
    }

    /// A sync engine over this installation whose Microsoft Graph and Entra are at `graph_url`
    /// (the fake), with short waits between attempts.
    pub fn engine(&self, graph_url: &str) -> sync::Engine {
        let config = graph::GraphConfig {
            max_retries: 2,
            base_backoff: std::time::Duration::from_millis(50),
            ..graph::GraphConfig::for_base_url(graph_url)
        };
        let graph = graph::GraphClient::with_sleeper(config, Arc::new(graph::RecordingSleeper::new())).unwrap();
        sync::Engine::new(
            self.installation.store.clone(),
            graph,
            Arc::clone(&self.installation.secret_key),
            Arc::new(sync::SystemClock),
            sync::SyncConfig {
                flush_every: std::time::Duration::from_millis(50),
                ..sync::SyncConfig::default()
            },
        )
        .unwrap()
    }

    pub fn store(&self) -> &dyn Store {
        self.installation.store.as_ref()
    }

    /// A client made by the test setup (as the system, not through the API).
    pub async fn create_client(&self, name: &str, role: Role, scope: Scope) -> CreatedClient {
        let new = NewClient {
            name: name.to_string(),
            role,
            scope,
            external_app_id: None,
        };
        match self.app.create_client(&SYSTEM.principal(), new).await.unwrap() {
            Created::WithSecret(created) => created,
            Created::External(view) => panic!("no secret for {view:?}"),
        }
    }

    /// A new client with this role and scope, and a token for it.
    pub async fn token_for(&self, role: Role, scope: Scope) -> String {
        self.client_for(role, scope).await.1
    }

    /// A new client with this role and scope: its id and a token for it.
    pub async fn client_for(&self, role: Role, scope: Scope) -> (String, String) {
        let created = self.create_client("test", role, scope).await;
        let token = self.token_of(&created.client_id);
        (created.client_id, token)
    }

    /// The service as stored.
    pub async fn stored(&self, id: CustomerId) -> domain::Service {
        self.store()
            .get_service(&SYSTEM.grant(id).read())
            .await
            .unwrap()
            .unwrap()
    }

    /// Replaces a service's replication state in the store.
    pub async fn set_sync_state(&self, id: CustomerId, state: &domain::SyncState) {
        self.store().update_sync_state(&SYSTEM.grant(id), state).await.unwrap();
    }

    pub fn token_of(&self, client_id: &str) -> String {
        self.app
            .keys()
            .issue(client_id.parse().unwrap(), Utc::now())
            .unwrap()
            .access_token
    }

    pub async fn send(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Body,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = self.router.clone().oneshot(request.body(body).unwrap()).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes().to_vec();
        Reply { status, headers, body }
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.send(Method::GET, uri, Some(&self.admin.clone()), &[], Body::empty())
            .await
    }

    pub async fn get_as(&self, token: &str, uri: &str) -> Reply {
        self.send(Method::GET, uri, Some(token), &[], Body::empty()).await
    }

    /// Sends a JSON body with `method` as the client of `token`.
    pub async fn json_as(&self, method: Method, token: &str, uri: &str, body: &serde_json::Value) -> Reply {
        self.send(
            method,
            uri,
            Some(token),
            &[("content-type", "application/json")],
            Body::from(body.to_string()),
        )
        .await
    }

    pub async fn put_users(&self, customer: CustomerId, content_type: &str, body: impl Into<Body>) -> Reply {
        let uri = format!("/api/v3/customer/{customer}/user");
        self.send(
            Method::PUT,
            &uri,
            Some(&self.admin.clone()),
            &[("content-type", content_type)],
            body.into(),
        )
        .await
    }

    /// `PATCH /api/v3/customer/{customer}` with a JSON body, as the provider-scoped Admin.
    pub async fn patch_service(&self, customer: CustomerId, body: &Value) -> Reply {
        self.send(
            Method::PATCH,
            &format!("/api/v3/customer/{customer}"),
            Some(&self.admin.clone()),
            &[("content-type", "application/json")],
            Body::from(body.to_string()),
        )
        .await
    }

    /// A service straight in the store; `connected` gives it tenant id and app registration.
    pub async fn service(&self, short: &str, license: i64, connected: bool, channel: Option<i64>) -> CustomerId {
        let id = CustomerId::new_random();
        let new = NewService {
            id,
            short_name: ShortName::parse(short).unwrap(),
            full_name: format!("{short} Inc"),
            license_type: LicenseType::try_from(license).unwrap(),
            licensed_users_count: Some(50),
            channel_id: channel,
            ovoc_customer_type: None,
            // Each connected service has a tenant of its own: a tenant belongs to one service.
            tenant_id: connected.then(uuid::Uuid::new_v4),
            default_domain: None,
            site_locations: Vec::new(),
        };
        self.store().create_service(&SYSTEM.grant(new)).await.unwrap();
        if connected {
            let patch = ServicePatch {
                app_client_id: Some("11111111-2222-4333-8444-555555555555".into()),
                secret: SecretChange::Set {
                    sealed: self.installation.secret_key.seal(b"abc~secret").unwrap(),
                    hint: "abc".into(),
                },
                ..ServicePatch::default()
            };
            self.store().update_service(&SYSTEM.grant(id), &patch).await.unwrap();
        }
        id
    }

    /// Loads users straight through the generation writer.
    pub async fn load(&self, customer: CustomerId, users: &[EndUser]) {
        let mut writer = GenerationWriter::new().unwrap();
        for (i, user) in users.iter().enumerate() {
            writer.push(i as u64 + 1, user).unwrap();
        }
        writer
            .commit(self.store(), &SYSTEM.grant(customer), None, false)
            .await
            .unwrap();
    }
}

/// `n` synthetic users with a tag in their name (to tell generations apart).
pub fn users(n: usize, tag: &str) -> Vec<EndUser> {
    (0..n)
        .map(|i| {
            let mut user = EndUser::new(uuid::Uuid::from_u128(
                0x1000_0000_0000_4000_8000_0000_0000_0000 + (i as u128) * 7919,
            ));
            user.web_name = Some(format!("{tag} user {i}"));
            user.user_principal_name = Some(format!("user{i}@example.test"));
            user
        })
        .collect()
}

/// When a request was in flight, as its client saw it.
pub type Span = (Instant, Instant);

/// Runs `request`, returning its output and when it was in flight.
pub async fn timed<T>(request: impl std::future::Future<Output = T>) -> (T, Span) {
    let started = Instant::now();
    let out = request.await;
    (out, (started, Instant::now()))
}

/// How many of `spans` were in flight at some moment while one of `others` was.
pub fn overlapping(spans: &[Span], others: &[Span]) -> usize {
    spans
        .iter()
        .filter(|a| others.iter().any(|b| a.0 < b.1 && b.0 < a.1))
        .count()
}

/// Runs an atomicity test body on SQLite and PostgreSQL, each with the page cache off (every
/// read reaches the store while it is being written) and on (the default deployment).
#[macro_export]
macro_rules! both_backends_and_caches {
    ($($name:ident),* $(,)?) => {
        $crate::__backend_cache_tests!(sqlite_cache_off, Sqlite, false, []; $($name),*);
        $crate::__backend_cache_tests!(sqlite_cache_on, Sqlite, true, []; $($name),*);
        $crate::__backend_cache_tests!(postgres_cache_off, Postgres, false, [cfg_attr(
            not(postgres_tests),
            ignore = "needs PostgreSQL: set ROSTERD_TEST_POSTGRES_URL (./scripts/test sets it)"
        )]; $($name),*);
        $crate::__backend_cache_tests!(postgres_cache_on, Postgres, true, [cfg_attr(
            not(postgres_tests),
            ignore = "needs PostgreSQL: set ROSTERD_TEST_POSTGRES_URL (./scripts/test sets it)"
        )]; $($name),*);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __backend_cache_tests {
    ($module:ident, $backend:ident, $cache:expr, $attrs:tt; $($name:ident),*) => {
        mod $module {
            $( $crate::__backend_cache_test!($attrs, $backend, $cache, $name); )*
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __backend_cache_test {
    ([$($attr:meta)?], $backend:ident, $cache:expr, $name:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        $(#[$attr])?
        async fn $name() {
            let backend = $crate::common::Backend::$backend;
            let Some(app) = $crate::common::TestApp::with_page_cache(backend, $cache).await else { return };
            super::$name(app).await;
        }
    };
}

/// Runs a test body against SQLite and PostgreSQL (PostgreSQL when the test database URL is set).
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::common::TestApp::new($crate::common::Backend::Sqlite).await.unwrap();
                    super::$name(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(postgres_tests), ignore = "needs PostgreSQL: set ROSTERD_TEST_POSTGRES_URL (./scripts/test sets it)")]
                async fn $name() {
                    let Some(app) = $crate::common::TestApp::new($crate::common::Backend::Postgres).await else { return };
                    super::$name(app).await;
                }
            )*
        }
    };
}
