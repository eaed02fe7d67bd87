//! Recording who changed what. An audit event that cannot be written does not fail the
//! request (the change is already committed), but it is never silent either: it is logged and
//! counted in `rosterd_audit_write_failures_total` on `/metrics`, for alerting.

use std::sync::atomic::Ordering;

use chrono::Utc;
use domain::{ClientId, CustomerId};
use store::AuditEvent;

use crate::state::AppState;

pub async fn record(
    state: &AppState,
    client: Option<ClientId>,
    action: &str,
    customer: Option<CustomerId>,
    detail: String,
) {
    let event = AuditEvent {
        at: Utc::now(),
        client,
        action: action.to_string(),
        customer,
        detail,
    };
    if let Err(error) = state.store.record_audit(&event).await {
        state.metrics.audit_write_failures.fetch_add(1, Ordering::Relaxed);
        tracing::error!(%error, action, customer = ?event.customer, "could not record an audit event");
    }
}
