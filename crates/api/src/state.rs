//! The shared state every handler receives, and the API's own configuration.

use std::sync::Arc;

use store::Store;

use crate::keyring::KeyRing;
use crate::sync_port::SyncPort;

/// Settings of the HTTP edge.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Largest accepted `PUT .../user` body, in bytes.
    pub max_import_bytes: u64,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            max_import_bytes: 1 << 30,
        }
    }
}

/// Handles shared by all requests. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub keys: Arc<KeyRing>,
    pub config: Arc<ApiConfig>,
    /// The sync engine, when this process runs one (absent in pure read replicas and tests).
    pub sync: Option<Arc<dyn SyncPort>>,
}
