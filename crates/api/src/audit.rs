//! Recording who changed what. Audit failures are logged, never fatal to the request.

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
        tracing::warn!(%error, action, "could not record audit event");
    }
}
