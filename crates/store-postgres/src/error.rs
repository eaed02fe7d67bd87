//! Translation of sqlx errors into the store's error type.

use store::StoreError;

/// Maps a driver error: unique violations become `Conflict`, a missing row `NotFound`, anything
/// else `Backend` (internal text, never shown to clients).
pub(crate) fn db_error(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::RowNotFound => StoreError::NotFound("row not found".to_string()),
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(db.message().to_string()),
        _ => StoreError::Backend(error.to_string()),
    }
}

/// Whether an error is a unique violation whose message or constraint mentions `needle`.
pub(crate) fn is_unique_violation_on(error: &sqlx::Error, needle: &str) -> bool {
    match error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            db.message().contains(needle) || db.constraint().is_some_and(|c| c.contains(needle))
        }
        _ => false,
    }
}

pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}
