//! Readiness and the installation-wide figures for `/metrics`. The figures come from one
//! aggregate query, reused for `metrics_refresh`, so a scrape (or a flood of them) costs the
//! database at most one query per interval. Only aggregates: no customer ids, no personal data.

use std::time::{Duration, Instant};

use domain::access::Principal;
use store::{FleetSummary, StoreResult};
use tokio::sync::Mutex;

use crate::error::AppResult;
use crate::App;

/// Whether the database answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readiness {
    pub ready: bool,
    pub backend: &'static str,
}

/// The installation-wide gauges.
pub type Fleet = FleetSummary;

pub(crate) struct FleetCache {
    refresh: Duration,
    cached: Mutex<Option<(Instant, FleetSummary)>>,
}

impl FleetCache {
    pub(crate) fn new(refresh: Duration) -> Self {
        Self {
            refresh,
            cached: Mutex::new(None),
        }
    }
}

impl App {
    pub async fn readiness(&self) -> Readiness {
        let ready = match self.store.ping().await {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(%error, "readiness check failed");
                false
            }
        };
        Readiness {
            ready,
            backend: self.store.backend(),
        }
    }

    /// Whether `principal` may read the installation-wide figures: they cover every channel
    /// and customer, so a provider-scoped client (any role).
    pub fn may_read_metrics(&self, principal: &Principal) -> AppResult<()> {
        Ok(principal.require_provider_scope()?)
    }

    /// The installation-wide gauges, read again when older than `metrics_refresh`. Concurrent
    /// scrapes wait for one read instead of each running its own.
    pub async fn fleet(&self) -> StoreResult<Fleet> {
        let mut cached = self.fleet.cached.lock().await;
        if let Some((at, summary)) = *cached {
            if at.elapsed() < self.fleet.refresh {
                return Ok(summary);
            }
        }
        let summary = self.store.fleet_summary().await?;
        *cached = Some((Instant::now(), summary));
        Ok(summary)
    }
}
