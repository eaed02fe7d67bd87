//! Why a sync failed, and the text that may be shown for it (task messages, the service's
//! `lastError`): Graph and Entra messages are kept, storage internals are not.

use domain::{CustomerId, UsersRefused};
use graph::{GraphError, Resource};
use store::{StoreError, WriteError};

/// A failed sync. Nothing was committed in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("customer {0} does not exist")]
    NotFound(CustomerId),
    /// The service keeps no users, or has no secure connection.
    #[error(transparent)]
    Refused(#[from] UsersRefused),
    #[error("the stored application client secret cannot be opened with this installation's secret key")]
    Secret,
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// A listing did not provably reach its last page (its reader stopped early, or a
    /// `/users/delta` round ended without a delta link).
    #[error("{resource}: the listing did not reach its end ({reason}); nothing was committed")]
    IncompleteListing { resource: Resource, reason: &'static str },
    #[error("the users were not written: {0}")]
    Write(#[source] WriteError),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("interrupted: rosterd is shutting down")]
    Interrupted,
    /// The service was pointed at another tenant or app registration while the sync ran: its
    /// users and delta link belong to the old one, so nothing is committed.
    #[error("the service was connected to another tenant or app while this sync ran; nothing was committed")]
    ConnectionChanged,
    #[error("invalid sync configuration: {0}")]
    Config(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<WriteError> for SyncError {
    fn from(error: WriteError) -> Self {
        match error {
            WriteError::Store(store) => Self::Store(store),
            other => Self::Write(other),
        }
    }
}

impl SyncError {
    /// Text safe to show operators: everything but storage and spool internals, which go to
    /// the log instead.
    pub fn safe_message(&self) -> String {
        match self {
            Self::Store(StoreError::Conflict(_)) => {
                "another writer (an import?) committed this customer's users during the sync; nothing was \
                 changed, the next sync starts from the new users"
                    .to_string()
            }
            Self::Store(StoreError::NotFound(_)) => "the customer was deleted during the sync".to_string(),
            Self::Store(_) | Self::Write(WriteError::Spool(_)) | Self::Internal(_) => {
                "internal storage error; the details are in the server log".to_string()
            }
            other => other.to_string(),
        }
    }

    /// A token refusal: the secure connection is wrong, not just the moment.
    pub fn is_credentials(&self) -> bool {
        matches!(self, Self::Graph(GraphError::Token(_)) | Self::Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_internals_are_not_shown() {
        let error = SyncError::Store(StoreError::Backend("relation \"end_users\" password=x".into()));
        assert!(!error.safe_message().contains("password"));
        let graph = SyncError::Graph(GraphError::Timeout {
            resource: graph::Resource::Users,
            attempts: 3,
        });
        assert_eq!(graph.safe_message(), "users: timed out after 3 attempts");
        assert!(SyncError::Interrupted.safe_message().contains("shutting down"));
    }
}
