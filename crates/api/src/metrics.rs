//! Process counters for `/metrics` (Prometheus text format). Only aggregates: no customer ids
//! or personal data, so the endpoint can stay unauthenticated like `/healthz`.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

#[derive(Default)]
pub struct Metrics {
    responses: [AtomicU64; 5],
    pub page_cache_hits: AtomicU64,
    pub page_cache_misses: AtomicU64,
    /// Audit events that could not be written (the request itself went through).
    pub audit_write_failures: AtomicU64,
}

impl Metrics {
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
