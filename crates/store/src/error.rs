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
    /// A console account's name (compared without regard to case).
    AccountName,
}

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
    #[error("database error: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;
