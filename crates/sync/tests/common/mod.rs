//! Test harness for the engine: a fresh store (SQLite file or PostgreSQL database), the fake
//! Graph on loopback, the real Graph client recording its waits instead of sleeping, and helpers
//! to connect services and compare what is served with what the fake expects.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use domain::{CustomerId, EndUser};
use graph::{GraphClient, GraphConfig, RecordingSleeper, Sleeper};
use store::{Store, TaskRecord};
use sync::{Clock, Engine, ManualClock, SyncConfig, SyncOutcome, SyncReport, SystemClock};
use testkit::fake_graph::{FakeGraph, FakeTenant};

pub enum Backend {
    Sqlite,
    Postgres,
}

/// Records the Graph client's waits instead of sleeping. Armed, its next wait panics instead:
/// a stand-in for any bug that kills the task reading a listing (a wait for a `Retry-After`
/// happens inside that task).
#[derive(Debug, Default)]
pub struct TestSleeper {
    recorded: RecordingSleeper,
    panic_next: AtomicBool,
}

impl TestSleeper {
    pub fn waits(&self) -> Vec<Duration> {
        self.recorded.waits()
    }

    pub fn panic_on_next_wait(&self) {
        self.panic_next.store(true, Ordering::SeqCst);
    }
}

#[async_trait]
impl Sleeper for TestSleeper {
    async fn sleep(&self, duration: Duration) {
        if self.panic_next.swap(false, Ordering::SeqCst) {
            panic!("injected panic in the Graph page reader");
        }
        self.recorded.sleep(duration).await;
    }
}

pub struct Harness {
    pub store: Arc<dyn Store>,
    pub fake: FakeGraph,
    pub secrets: Arc<auth::SecretKey>,
    pub sleeper: Arc<TestSleeper>,
    pub clock: Arc<ManualClock>,
    pub engine: Engine,
    _dir: Option<tempfile::TempDir>,
}

/// Graph client settings for tests: few retries, tiny backoffs (recorded, never slept).
pub fn graph_config(base: &str) -> GraphConfig {
    GraphConfig {
        max_retries: 2,
        max_invalid_body_retries: 1,
        base_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(1),
        max_retry_after: Duration::from_secs(30),
        request_timeout: Duration::from_secs(10),
        ..GraphConfig::for_base_url(base)
    }
}

pub async fn open_store(backend: Backend) -> Option<(Arc<dyn Store>, Option<tempfile::TempDir>)> {
    Some(match backend {
        Backend::Sqlite => {
            let (dir, url) = store_conformance::fresh_sqlite_url().await;
            let store: Arc<dyn Store> = Arc::new(store_sqlite::SqliteStore::connect(&url).await.unwrap());
            (store, Some(dir))
        }
        Backend::Postgres => {
            let url = store_conformance::fresh_postgres_url().await?;
            let store: Arc<dyn Store> = Arc::new(store_postgres::PgStore::connect(&url).await.unwrap());
            (store, None)
        }
    })
}

impl Harness {
    /// A harness on a manual clock (the engine's time only moves when the test says so).
    pub async fn new(backend: Backend) -> Option<Self> {
        Self::with(backend, SyncConfig::default(), false).await
    }

    /// `system_clock`: the engine runs on the real clock (scheduler tests).
    pub async fn with(backend: Backend, config: SyncConfig, system_clock: bool) -> Option<Self> {
        let (store, dir) = open_store(backend).await?;
        let fake = FakeGraph::start().await.unwrap();
        let sleeper = Arc::new(TestSleeper::default());
        let graph = GraphClient::with_sleeper(graph_config(fake.url()), sleeper.clone()).unwrap();
        let secrets = Arc::new(auth::SecretKey::generate());
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let engine_clock: Arc<dyn Clock> = if system_clock {
            Arc::new(SystemClock)
        } else {
            clock.clone()
        };
        let engine = Engine::new(store.clone(), graph, secrets.clone(), engine_clock, config).unwrap();
        Some(Self {
            store,
            fake,
            secrets,
            sleeper,
            clock,
            engine,
            _dir: dir,
        })
    }

    /// One sync of `customer` in the foreground (`full`: a full round asked for), as
    /// `rosterd sync` runs it.
    pub async fn round(&self, customer: CustomerId, full: bool) -> SyncOutcome {
        self.engine
            .run_now(testkit::connected::write(customer), full, None)
            .await
            .unwrap()
    }

    /// The report of a sync that must end with one.
    pub async fn report(&self, customer: CustomerId, full: bool) -> SyncReport {
        self.round(customer, full).await.report.unwrap()
    }

    /// A Hosted Pro service connected to `tenant` with its app registration.
    pub async fn connect(&self, short: &str, tenant: &FakeTenant) -> CustomerId {
        self.connect_with_secret(short, tenant, &tenant.client_secret).await
    }

    pub async fn connect_with_secret(&self, short: &str, tenant: &FakeTenant, secret: &str) -> CustomerId {
        testkit::connected::connect_service(self.store.as_ref(), &self.secrets, short, tenant, secret)
            .await
            .unwrap()
    }

    pub async fn set_secret(&self, id: CustomerId, client_id: &str, secret: &str) {
        testkit::connected::set_secret(self.store.as_ref(), &self.secrets, id, client_id, secret)
            .await
            .unwrap();
    }

    /// Every body served for `customer`, read page by page like a client would.
    pub async fn served(&self, customer: CustomerId) -> Vec<String> {
        served(self.store.as_ref(), customer).await
    }

    /// The bodies a sync of the tenant's current users must serve, in identity order.
    pub fn expected(&self, tenant: &FakeTenant) -> Vec<String> {
        rendered(&self.fake.expected_end_users(tenant.tenant_id).unwrap())
    }

    /// Asserts that `customer` serves exactly what a sync of `tenant`'s current users must,
    /// naming the first user that differs (a whole tenant is too long to print).
    pub async fn assert_serves(&self, customer: CustomerId, tenant: &FakeTenant) {
        assert_same_users(&self.served(customer).await, &self.expected(tenant));
    }

    pub async fn task(&self, id: &str) -> TaskRecord {
        testkit::connected::TESTKIT.open(self.store.get_task(id).await.unwrap().unwrap())
    }

    pub async fn state(&self, customer: CustomerId) -> domain::SyncState {
        self.store
            .get_service(&testkit::connected::read(customer))
            .await
            .unwrap()
            .unwrap()
            .sync
    }
}

pub async fn served(store: &dyn Store, customer: CustomerId) -> Vec<String> {
    let mut bodies = Vec::new();
    let mut first = 1;
    loop {
        let slice = store
            .read_page(&testkit::connected::read(customer), None, first, 5_000)
            .await
            .unwrap()
            .unwrap();
        let n = slice.bodies.len() as i64;
        bodies.extend(slice.bodies);
        first += 5_000;
        if n < 5_000 || first > slice.total_records {
            assert_eq!(bodies.len() as i64, slice.total_records);
            return bodies;
        }
    }
}

/// Equal lists of served bodies, or a panic naming the first difference.
pub fn assert_same_users(served: &[String], expected: &[String]) {
    if let Some(i) = (0..served.len().min(expected.len())).find(|&i| served[i] != expected[i]) {
        panic!(
            "user {i} differs:\n  served:   {}\n  expected: {}",
            served[i], expected[i]
        );
    }
    assert_eq!(served.len(), expected.len(), "number of users served");
}

pub fn rendered(users: &[EndUser]) -> Vec<String> {
    users.iter().map(EndUser::render_json).collect()
}

/// The text of every message of a task.
pub fn messages(task: &TaskRecord) -> Vec<String> {
    task.messages.iter().map(|m| m.message.clone()).collect()
}

pub fn has_message(task: &TaskRecord, needle: &str) -> bool {
    task.messages.iter().any(|m| m.message.contains(needle))
}

/// Runs a test body against SQLite and PostgreSQL (PostgreSQL when its test URL is set).
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                #[cfg_attr(not(postgres_tests), ignore = "needs PostgreSQL: set ROSTERD_TEST_POSTGRES_URL (./scripts/test sets it)")]
                async fn $name() {
                    super::$name($crate::common::Backend::Postgres).await;
                }
            )*
        }
    };
}
