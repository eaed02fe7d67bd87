//! rosterd's application layer: every operation the HTTP API, the command line and the web
//! console offer — list a page of users, import and export users, read, list, create and change services,
//! manage API clients and console accounts, sign people in to the console, start a sync and read its task, check a secure connection, issue tokens,
//! readiness — in one place, each taking the acting [`Principal`].
//!
//! Authorization is decided here, once: an operation turns its principal and request into the
//! `Authorized` values the store requires, using the rules of `domain::access` and the service
//! rules of `domain::service`. Adapters authenticate (a bearer token, the command line's system
//! scope), parse their input into the types below and render the answer or the [`AppError`].

mod accounts;
mod audit;
mod clients;
mod directory;
mod error;
mod export;
mod external_issuer;
mod find;
mod generations;
mod health;
mod identity;
mod import;
mod keyring;
mod page_cache;
mod recent;
mod services;
mod syncs;
mod telemetry;
mod users;

use std::sync::Arc;
use std::time::Duration;

use domain::access::Principal;
use store::{ConsoleStore, Store};
use tokio::sync::Semaphore;

pub use accounts::{
    AccountView, ConsoleSession, NewAccount, SignedIn, ACCOUNT_NAME_MAX, SESSION_IDLE, SESSION_LIFETIME,
};
pub use clients::{ClientView, Created, CreatedClient, NewClient, CLIENT_NAME_MAX};
pub use error::{AppError, AppResult};
pub use export::{ExportChunk, UsersExport, EXPORT_BUSY_RETRY_AFTER_SECS};
pub use external_issuer::{ExternalIssuerConfig, ExternalVerifier, DEFAULT_REFETCH_INTERVAL};
pub use find::{FoundPage, NumberOwner, MAX_NUMBER_CHARS};
pub use generations::{Changes, CHANGES_BATCH};
pub use health::{Fleet, Readiness};
pub use import::{Import, ImportSummary, BUSY_RETRY_AFTER_SECS};
pub use keyring::{KeyRing, KeyRingError, TokenSettings, TokenSource, VerifiedBearer};
pub use page_cache::PageKey;
pub use services::ServiceChange;
/// Which endpoint a Graph notification batch arrived at, and what the notification endpoints counted.
pub use sync::{Channel as NotificationChannel, NotificationFigures};
pub use telemetry::{Cache, Counters};
pub use users::UsersPage;

/// Settings of the operations (the HTTP edge has its own).
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Largest accepted import body, in bytes.
    pub max_import_bytes: u64,
    /// Time a streamed import may go without receiving a byte.
    pub upload_stall_timeout: Duration,
    /// Imports this process runs at once; more get `import_busy`.
    pub max_concurrent_imports: usize,
    /// Exports this process streams at once; more get `export_busy`.
    pub max_concurrent_exports: usize,
    /// Users an export reads from the store at a time.
    pub export_batch: i64,
    /// Batches an export reads at once (memory: about this many batches and two more).
    pub export_readers: usize,
    /// Memory for rendered pages, in bytes (0: no cache).
    pub page_cache_bytes: usize,
    /// How long the installation-wide gauges are reused before they are read again.
    pub metrics_refresh: Duration,
    /// How long the read path reuses a client record or service row it read (zero: never).
    /// Changes made through this process are seen at once; through another replica, within
    /// this time.
    pub record_ttl: Duration,
    /// Client records and service rows kept for `record_ttl`, at most (each kind).
    pub record_cache_entries: u64,
    /// Users held in search indexes, over every customer (least recently used customer out
    /// first); a larger customer is indexed for each request alone.
    pub search_index_users: usize,
    /// Memory for the results of searches and filters, in bytes (16 per matching user).
    pub search_result_bytes: u64,
    /// How long a superseded generation stays readable (`Generation=N`, `Since=N`).
    pub generation_retention: Duration,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            max_import_bytes: 1 << 30,
            upload_stall_timeout: Duration::from_secs(60),
            max_concurrent_imports: 2,
            max_concurrent_exports: 4,
            export_batch: 1000,
            export_readers: 2,
            page_cache_bytes: 256 << 20,
            metrics_refresh: Duration::from_secs(15),
            record_ttl: Duration::from_secs(1),
            record_cache_entries: 100_000,
            search_index_users: 2_000_000,
            search_result_bytes: 64 << 20,
            generation_retention: Duration::from_secs(900),
        }
    }
}

/// The application: shared handles and the operations on them. Cheap to share behind an `Arc`.
pub struct App {
    store: Arc<dyn Store>,
    /// The same database, for console accounts, sessions and task lists.
    console: Arc<dyn ConsoleStore>,
    keys: Arc<KeyRing>,
    /// The sync engine, when this process runs one.
    sync: Option<sync::Engine>,
    config: AppConfig,
    pages: page_cache::PageCache,
    /// One permit per import that may run at once.
    imports: Arc<Semaphore>,
    /// One permit per export that may stream at once.
    exports: Arc<Semaphore>,
    counters: Counters,
    fleet: health::FleetCache,
    /// Client records and service rows the read path reuses for a moment.
    recent: Arc<recent::RecentRecords>,
    /// Search indexes and results, per customer and generation.
    directory: directory::Directories,
}

impl App {
    pub fn new(store: Arc<dyn Store>, keys: Arc<KeyRing>, sync: Option<sync::Engine>, config: AppConfig) -> Self {
        let recent = Arc::new(recent::RecentRecords::new(
            config.record_ttl,
            config.record_cache_entries,
            Arc::new(sync::SystemClock),
        ));

        let counters = Counters::default();
        if let Some(engine) = &sync {
            recent::forget_after_rounds(engine, &recent, &counters);
            engine.observe_graph(telemetry::graph_observer(&counters));
        }
        let console: Arc<dyn ConsoleStore> = store.clone();
        Self {
            console,
            pages: page_cache::PageCache::new(config.page_cache_bytes),
            imports: Arc::new(Semaphore::new(config.max_concurrent_imports)),
            exports: Arc::new(Semaphore::new(config.max_concurrent_exports)),
            fleet: health::FleetCache::new(config.metrics_refresh),
            directory: directory::Directories::new(config.search_index_users, config.search_result_bytes),
            counters,
            recent,
            store,
            keys,
            sync,
            config,
        }
    }

    /// Reads time from `clock` for the reuse of recently read records and for generation
    /// retention (tests move it by hand).
    pub fn set_record_clock(&self, clock: Arc<dyn sync::Clock>) {
        self.recent.set_clock(clock);
    }

    pub fn config(&self) -> &AppConfig {
        &self.config
    }

    /// The token keys: issuing, verifying, discovery documents, sealing secrets.
    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Which store backend this installation runs on.
    pub fn backend(&self) -> &'static str {
        self.store.backend()
    }
}

/// The acting principal's API client, for audit records and task details.
fn client_of(principal: &Principal) -> Option<domain::ClientId> {
    principal.client()
}
