//! Process counters and installation-wide gauges for `/metrics` (Prometheus text format). Only
//! aggregates: no customer ids or personal data. The gauges come from one aggregate query,
//! reused for `refresh`, so a scrape (or a flood of them) costs the database at most one query
//! per interval.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use store::{FleetSummary, Store, StoreResult};
use tokio::sync::Mutex;

use crate::state::AppState;

pub struct Metrics {
    responses: [AtomicU64; 5],
    pub page_cache_hits: AtomicU64,
    pub page_cache_misses: AtomicU64,
    /// Audit events that could not be written (the request itself went through).
    pub audit_write_failures: AtomicU64,
    refresh: Duration,
    fleet: Mutex<Option<(Instant, FleetSummary)>>,
}

impl Metrics {
    pub fn new(refresh: Duration) -> Self {
        Self {
            responses: Default::default(),
            page_cache_hits: AtomicU64::new(0),
            page_cache_misses: AtomicU64::new(0),
            audit_write_failures: AtomicU64::new(0),
            refresh,
            fleet: Mutex::new(None),
        }
    }

    /// The installation-wide gauges, read again when older than `refresh`. Concurrent scrapes
    /// wait for one read instead of each running its own.
    pub async fn fleet(&self, store: &dyn Store) -> StoreResult<FleetSummary> {
        let mut cached = self.fleet.lock().await;
        if let Some((at, summary)) = *cached {
            if at.elapsed() < self.refresh {
                return Ok(summary);
            }
        }
        let summary = store.fleet_summary().await?;
        *cached = Some((Instant::now(), summary));
        Ok(summary)
    }

    fn count_status(&self, status: u16) {
        let class = usize::from((status / 100).clamp(1, 5)) - 1;
        self.responses[class].fetch_add(1, Ordering::Relaxed);
    }

    /// The counters in Prometheus' text exposition format.
    pub fn render_counters(&self, out: &mut String) {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let classes: Vec<(String, u64)> = self
            .responses
            .iter()
            .enumerate()
            .map(|(i, counter)| (format!("{{class=\"{}xx\"}}", i + 1), load(counter)))
            .collect();
        counter(
            out,
            "rosterd_http_responses_total",
            "HTTP responses by status class.",
            &classes,
        );
        counter(
            out,
            "rosterd_page_cache_requests_total",
            "Page reads answered from the page cache or the store.",
            &[
                ("{result=\"hit\"}".to_string(), load(&self.page_cache_hits)),
                ("{result=\"miss\"}".to_string(), load(&self.page_cache_misses)),
            ],
        );
        counter(
            out,
            "rosterd_audit_write_failures_total",
            "Audit events that could not be recorded (see the log).",
            &[(String::new(), load(&self.audit_write_failures))],
        );
    }
}

/// One counter family: its help and type lines, then one sample per label set.
fn counter(out: &mut String, name: &str, help: &str, samples: &[(String, u64)]) {
    out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n"));
    for (labels, value) in samples {
        out.push_str(&format!("{name}{labels} {value}\n"));
    }
}

/// Middleware: counts every response by status class.
pub async fn count(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    state.metrics.count_status(response.status().as_u16());
    response
}
