//! The shared state every handler receives, and the API's own configuration.

use std::sync::Arc;
use std::time::Duration;

use store::Store;
use tokio::sync::Semaphore;

use crate::keyring::KeyRing;
use crate::metrics::Metrics;
use crate::page_cache::PageCache;
use crate::sync_port::SyncPort;
use crate::token_limit::{FailureLimit, TokenFailures};

/// Settings of the HTTP edge.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Largest accepted `PUT .../user` body, in bytes.
    pub max_import_bytes: u64,
    /// Memory for rendered pages, in bytes (0: no cache).
    pub page_cache_bytes: usize,
    /// Imports this process runs at once; more get 429 `import_busy`.
    pub max_concurrent_imports: usize,
    /// How long `/metrics` reuses the installation-wide gauges before reading them again.
    pub metrics_refresh: Duration,
    /// Failed token requests allowed per client id and per source address before 429.
    pub token_failures: FailureLimit,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            max_import_bytes: 1 << 30,
            page_cache_bytes: 256 << 20,
            max_concurrent_imports: 2,
            metrics_refresh: Duration::from_secs(15),
            token_failures: FailureLimit::default(),
        }
    }
}

/// Handles shared by all requests. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub keys: Arc<KeyRing>,
    pub config: Arc<ApiConfig>,
    pub pages: Arc<PageCache>,
    pub metrics: Arc<Metrics>,
    /// One permit per import that may run at once.
    pub imports: Arc<Semaphore>,
    pub token_failures: Arc<TokenFailures>,
    /// The sync engine, when this process runs one (absent in pure read replicas and tests).
    pub sync: Option<Arc<dyn SyncPort>>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, keys: Arc<KeyRing>, config: ApiConfig, sync: Option<Arc<dyn SyncPort>>) -> Self {
        Self {
            store,
            keys,
            pages: Arc::new(PageCache::new(config.page_cache_bytes)),
            metrics: Arc::new(Metrics::new(config.metrics_refresh)),
            imports: Arc::new(Semaphore::new(config.max_concurrent_imports)),
            token_failures: Arc::new(TokenFailures::new(config.token_failures)),
            config: Arc::new(config),
            sync,
        }
    }
}
