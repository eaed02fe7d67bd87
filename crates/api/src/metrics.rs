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
        out.push_str("# HELP rosterd_http_responses_total HTTP responses by status class.\n");
        out.push_str("# TYPE rosterd_http_responses_total counter\n");
        for (i, counter) in self.responses.iter().enumerate() {
            out.push_str(&format!(
                "rosterd_http_responses_total{{class=\"{}xx\"}} {}\n",
                i + 1,
                counter.load(Ordering::Relaxed)
            ));
        }
        out.push_str(
            "# HELP rosterd_page_cache_requests_total Page reads answered from the page cache or the store.\n",
        );
        out.push_str("# TYPE rosterd_page_cache_requests_total counter\n");
        out.push_str(&format!(
            "rosterd_page_cache_requests_total{{result=\"hit\"}} {}\n",
            self.page_cache_hits.load(Ordering::Relaxed)
        ));
        out.push_str(&format!(
            "rosterd_page_cache_requests_total{{result=\"miss\"}} {}\n",
            self.page_cache_misses.load(Ordering::Relaxed)
        ));
        out.push_str(
            "# HELP rosterd_audit_write_failures_total Audit events that could not be recorded (see the log).\n",
        );
        out.push_str("# TYPE rosterd_audit_write_failures_total counter\n");
        out.push_str(&format!(
            "rosterd_audit_write_failures_total {}\n",
            self.audit_write_failures.load(Ordering::Relaxed)
        ));
    }
}

/// Middleware: counts every response by status class.
pub async fn count(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    state.metrics.count_status(response.status().as_u16());
    response
}
