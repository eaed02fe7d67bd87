//! What the api benchmarks share: a fresh store (SQLite, or PostgreSQL with
//! `ROSTERD_BENCH_BACKEND=postgres`) holding one customer of generated users, the application
//! over it with a client's bearer token, a server on loopback set up as `rosterd serve` sets its
//! connections, and sample statistics.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::{App, AppConfig, KeyRing, NewClient};
use axum::Router;
use chrono::Utc;
use domain::{CustomerId, EndUser, LicenseType, NewService, Role, Scope, ShortName};
use rosterd::Installation;
use store::{GenerationWriter, ReplaceOutcome, Store};

/// A numeric setting from the environment, or `default`.
pub fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The number of users to load: `ROSTERD_BENCH_USERS`, or `default`.
pub fn users(default: u64) -> u64 {
    setting("ROSTERD_BENCH_USERS", default)
}

/// A fresh bench store with one customer whose first generation holds `users` users.
pub struct Loaded {
    pub store: Arc<dyn Store>,
    pub backend: String,
    pub customer: CustomerId,
    pub generation: ReplaceOutcome,
    /// Time to render and spool the users.
    pub rendered: Duration,
    /// Time to render, spool, write and commit them.
    pub loaded: Duration,
    /// Keeps a SQLite database's directory until the benchmark ends.
    _database: testkit::stores::FreshDatabase,
}

/// Creates the customer and commits `users` users made by `user(n)` for n in `0..users`.
pub async fn load(users: u64, user: impl Fn(u64) -> EndUser) -> Loaded {
    let fresh = testkit::stores::fresh_bench_database().await.unwrap();
    let store = rosterd::open_store(&fresh.url).await.unwrap();
    let customer = CustomerId::new_random();
    store
        .create_service(&testkit::connected::TESTKIT.grant(NewService {
            id: customer,
            short_name: ShortName::parse("bench").unwrap(),
            full_name: "Bench".into(),
            license_type: LicenseType::HostedPro,
            licensed_users_count: None,
            channel_id: None,
            ovoc_customer_type: None,
            tenant_id: None,
            default_domain: None,
            site_locations: Vec::new(),
        }))
        .await
        .unwrap();
    let started = Instant::now();
    let mut writer = GenerationWriter::new().unwrap();
    for n in 0..users {
        writer.push(n + 1, &user(n)).unwrap();
    }
    let rendered = started.elapsed();
    let generation = writer
        .commit(store.as_ref(), &testkit::connected::write(customer), None, false)
        .await
        .unwrap();
    Loaded {
        store,
        backend: fresh.backend.to_string(),
        _database: fresh,
        customer,
        generation,
        rendered,
        loaded: started.elapsed(),
    }
}

/// The application side of a benchmark: one key ring, applications built with any settings,
/// and a provider-wide monitor client's token valid for all of them.
pub struct Bench {
    installation: Installation,
    keys: Arc<KeyRing>,
}

impl Bench {
    pub async fn new(store: &Arc<dyn Store>) -> Self {
        let installation = Installation::with(Arc::clone(store), Arc::new(auth::SecretKey::generate()));
        let keys = installation
            .key_ring(rosterd::token_settings("http://bench", 3600), None)
            .await
            .unwrap();
        Self { installation, keys }
    }

    pub fn app(&self, config: AppConfig) -> Arc<App> {
        self.installation.app(Arc::clone(&self.keys), None, config)
    }

    /// A new provider-wide monitor client's bearer token.
    pub async fn token(&self) -> String {
        let app = self.app(AppConfig::default());
        let created = app
            .create_client(
                &testkit::connected::TESTKIT.principal(),
                NewClient {
                    name: "bench".into(),
                    role: Role::Monitor,
                    scope: Scope::Provider,
                    external_app_id: None,
                },
            )
            .await
            .unwrap();
        self.keys
            .issue(created.client_id().parse().unwrap(), Utc::now())
            .unwrap()
            .access_token
    }
}

/// Serves `app` through the real router with the default API settings; returns the base URL.
pub async fn serve_app(app: Arc<App>) -> String {
    spawn(api::router(api::AppState::new(app, api::ApiConfig::default()))).await
}

/// Serves `router` on a free loopback port; returns the base URL. Connections are set up as
/// `rosterd serve` sets them (http-server): with `TCP_NODELAY`, so that an answer written in
/// several pieces never waits for a delayed ACK.
pub async fn spawn(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

/// One GET with the bearer token, which must answer 200: (time to the whole body, the body).
pub async fn fetch(http: &reqwest::Client, url: &str, token: &str) -> (Duration, bytes::Bytes) {
    let started = Instant::now();
    let response = http.get(url).bearer_auth(token).send().await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    let body = response.bytes().await.unwrap();
    (started.elapsed(), body)
}

pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

pub fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() - 1) as f64 * p).round() as usize]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
