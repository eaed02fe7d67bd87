//! What the API needs from the sync engine, as a trait so the API does not depend on it.

use async_trait::async_trait;
use domain::access::{Authorized, Write};
use domain::{ClientId, CustomerId};

/// Result of checking a secure connection by requesting a token from the customer's tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionCheck {
    Ok,
    /// The tenant refused (bad secret, unknown app, ...): safe to show the operator.
    Refused(String),
    /// The tenant could not be reached or answered nonsense.
    Unreachable(String),
}

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("a sync of this customer is already running (task {0})")]
    AlreadyRunning(String),
    #[error("{0}")]
    Failed(String),
}

/// The sync engine as seen from the HTTP edge.
#[async_trait]
pub trait SyncPort: Send + Sync + 'static {
    /// Starts a sync of one customer (the caller is authorized to change it) in the background
    /// and returns its task id.
    async fn start(
        &self,
        customer: Authorized<CustomerId, Write>,
        full: bool,
        requested_by: Option<ClientId>,
    ) -> Result<String, LaunchError>;
    /// Requests a token with these credentials to prove the secure connection works.
    async fn check_connection(&self, tenant_id: uuid::Uuid, client_id: &str, client_secret: &str) -> ConnectionCheck;
}
