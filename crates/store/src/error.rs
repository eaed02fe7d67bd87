//! The one error type every store operation returns.

/// A value that must be unique is already in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// A service's short name, within its channel (case-insensitive).
    ShortName,
    /// A service's Microsoft 365 tenant id: a tenant belongs to one service.
    TenantId,
    /// A service's id.
    ServiceId,
    /// An API client's id.
    ClientId,
}

/// The error a failing database (or the store's own I/O) reports, kept as it was raised so that
/// callers and logs can walk to the driver's error.
pub type BackendError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong in the store. `Backend` carries internal text that must never reach a client.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("already in use: {0:?}")]
    Taken(Taken),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The database or the store's own I/O failed. The source is the original error (a driver
    /// error keeps its type, for `downcast_ref`); it is also printed, because logs show one line.
    #[error("database error: {0}")]
    Backend(#[source] BackendError),
}

impl StoreError {
    /// A `Backend` error from anything that is an error or a message.
    pub fn backend(error: impl Into<BackendError>) -> Self {
        Self::Backend(error.into())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
