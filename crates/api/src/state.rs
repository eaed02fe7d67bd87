//! The shared state every handler receives, and the HTTP edge's own configuration.

use std::sync::Arc;
use std::time::Duration;

use app::App;

use crate::metrics::Metrics;
use crate::token_limit::{FailureLimit, TokenFailures};

/// Settings of the HTTP edge (the operations have theirs in `app::AppConfig`).
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Time every route but the streamed upload has to produce its answer.
    pub request_timeout: Duration,
    /// Failed token requests allowed per client id and per source address before 429.
    pub token_failures: FailureLimit,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            token_failures: FailureLimit::default(),
        }
    }
}

/// Handles shared by all requests. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub app: Arc<App>,
    pub config: Arc<ApiConfig>,
    pub metrics: Arc<Metrics>,
    pub token_failures: Arc<TokenFailures>,
    /// The front door's connection counters, when the state serves a listener that has them.
    pub connections: Option<Arc<http_server::ConnectionStats>>,
}

impl AppState {
    pub fn new(app: Arc<App>, config: ApiConfig) -> Self {
        Self {
            metrics: Arc::new(Metrics::new(app.counters())),
            app,
            connections: None,
            token_failures: Arc::new(TokenFailures::new(config.token_failures)),
            config: Arc::new(config),
        }
    }

    /// Reports `stats` (the main listener's connections) on `/metrics`.
    pub fn with_connections(mut self, stats: Arc<http_server::ConnectionStats>) -> Self {
        self.connections = Some(stats);
        self
    }
}
