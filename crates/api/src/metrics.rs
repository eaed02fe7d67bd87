//! `/metrics` in Prometheus' text format: responses by status class (counted here), the
//! application's counters and its installation-wide gauges. Only aggregates: no customer ids or
//! personal data.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// Responses by status class (1xx to 5xx).
#[derive(Default)]
pub struct Metrics {
    responses: [AtomicU64; 5],
}

impl Metrics {
    fn count_status(&self, status: u16) {
        let class = usize::from((status / 100).clamp(1, 5)) - 1;
        self.responses[class].fetch_add(1, Ordering::Relaxed);
    }
}

/// Middleware: counts every response by status class.
pub async fn count(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    state.metrics.count_status(response.status().as_u16());
    response
}

/// The whole exposition: counters, then the gauges (or `rosterd_up 0` when the store is down).
pub async fn render(state: &AppState) -> String {
    let mut out = String::new();
    let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
    let classes: Vec<(String, u64)> = state
        .metrics
        .responses
        .iter()
        .enumerate()
        .map(|(i, counter)| (format!("{{class=\"{}xx\"}}", i + 1), load(counter)))
        .collect();
    counter(
        &mut out,
        "rosterd_http_responses_total",
        "HTTP responses by status class.",
        &classes,
    );
    let counters = state.app.counters();
    counter(
        &mut out,
        "rosterd_page_cache_requests_total",
        "Page reads answered from the page cache or the store.",
        &[
            ("{result=\"hit\"}".to_string(), load(&counters.page_cache_hits)),
            ("{result=\"miss\"}".to_string(), load(&counters.page_cache_misses)),
        ],
    );
    counter(
        &mut out,
        "rosterd_audit_write_failures_total",
        "Audit events that could not be recorded (see the log).",
        &[(String::new(), load(&counters.audit_write_failures))],
    );
    match state.app.fleet().await {
        Ok(fleet) => {
            for (name, help, value) in [
                (
                    "rosterd_services",
                    "Services (customers) in this installation.",
                    fleet.services,
                ),
                (
                    "rosterd_services_connected",
                    "Services with a secure connection to their tenant.",
                    fleet.connected,
                ),
                (
                    "rosterd_services_sync_failing",
                    "Services whose last sync failed.",
                    fleet.failing,
                ),
                ("rosterd_users_served", "Users served across all services.", fleet.users),
            ] {
                out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n"));
            }
            out.push_str("# HELP rosterd_up Whether the database answered.\n# TYPE rosterd_up gauge\nrosterd_up 1\n");
        }
        Err(error) => {
            tracing::warn!(%error, "metrics: store unavailable");
            out.push_str("# HELP rosterd_up Whether the database answered.\n# TYPE rosterd_up gauge\nrosterd_up 0\n");
        }
    }
    out
}

/// One counter family: its help and type lines, then one sample per label set.
fn counter(out: &mut String, name: &str, help: &str, samples: &[(String, u64)]) {
    out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n"));
    for (labels, value) in samples {
        out.push_str(&format!("{name}{labels} {value}\n"));
    }
}
