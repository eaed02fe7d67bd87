//! The shared state every handler receives, and the API's own configuration.

use std::sync::Arc;
use std::time::Duration;

use store::Store;

use crate::keyring::KeyRing;
use crate::metrics::Metrics;
use crate::page_cache::PageCache;
use crate::sync_port::SyncPort;

/// Settings of the HTTP edge.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Largest accepted `PUT .../user` body, in bytes.
    pub max_import_bytes: u64,
    /// Memory for rendered pages, in bytes (0: no cache).
    pub page_cache_bytes: usize,
    /// Time every route but the streamed upload has to produce its answer.
    pub request_timeout: Duration,
    /// Time a streamed upload may go without receiving a byte.
    pub upload_stall_timeout: Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            max_import_bytes: 1 << 30,
            page_cache_bytes: 256 << 20,
            request_timeout: Duration::from_secs(30),
            upload_stall_timeout: Duration::from_secs(60),
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
    /// The sync engine, when this process runs one (absent in pure read replicas and tests).
    pub sync: Option<Arc<dyn SyncPort>>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, keys: Arc<KeyRing>, config: ApiConfig, sync: Option<Arc<dyn SyncPort>>) -> Self {
        Self {
            store,
            keys,
            pages: Arc::new(PageCache::new(config.page_cache_bytes)),
            metrics: Arc::new(Metrics::default()),
            config: Arc::new(config),
            sync,
        }
    }
}
