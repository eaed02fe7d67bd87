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
    let notifications = state.app.notification_figures();
    counter(
        &mut out,
        "rosterd_graph_notifications_total",
        "Microsoft Graph notification entries by result: matched (a live subscription and its clientState), unmatched (dropped), lifecycle events, and batches dropped unread.",
        &[
            ("{result=\"matched\"}".to_string(), notifications.matched),
            ("{result=\"unmatched\"}".to_string(), notifications.unmatched),
            ("{result=\"lifecycle\"}".to_string(), notifications.lifecycle),
            (
                "{result=\"batch_dropped\"}".to_string(),
                notifications.dropped_busy + load(&counters.notifications_dropped),
            ),
        ],
    );
    counter(
        &mut out,
        "rosterd_graph_notification_rounds_total",
        "Delta rounds started because of Microsoft Graph notifications.",
        &[(String::new(), notifications.rounds)],
    );
    counter(
        &mut out,
        "rosterd_graph_subscriptions_total",
        "Microsoft Graph subscriptions created, renewed and deleted by this process.",
        &[
            ("{action=\"created\"}".to_string(), notifications.created),
            ("{action=\"renewed\"}".to_string(), notifications.renewed),
            ("{action=\"deleted\"}".to_string(), notifications.deleted),
        ],
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
