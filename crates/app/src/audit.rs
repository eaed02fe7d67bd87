//! Recording who changed what. An audit event that cannot be written does not fail the
//! operation (the change is already committed), but it is never silent either: it is logged and
//! counted (`rosterd_audit_write_failures_total` on `/metrics`), for alerting.

use chrono::Utc;
use domain::access::Principal;
use domain::CustomerId;
use store::AuditEvent;

use crate::App;

impl App {
    pub(crate) async fn audit(
        &self,
        principal: &Principal,
        action: &str,
        customer: Option<CustomerId>,
        detail: String,
    ) {
        let event = AuditEvent {
            at: Utc::now(),
            client: crate::client_of(principal),
            action: action.to_string(),
            customer,
            // An account is named in the detail: the record's actor column holds API clients.
            detail: match principal.account() {
                Some(account) => format!("{detail} (by console account {})", account.name),
                None => detail,
            },
        };
        if let Err(error) = self.store.record_audit(&event).await {
            self.counters.audit_write_failed();
            tracing::error!(%error, action, customer = ?event.customer, "could not record an audit event");
        }
    }
}
