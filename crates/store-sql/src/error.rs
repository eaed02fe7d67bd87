//! Driver errors and their translation into the store's error type, shared by every backend
//! (all of them run on sqlx).

use store::StoreError;

/// What a statement can fail with: the driver's error, or the store's own (a row that does not
/// decode, a value that does not encode).
#[derive(Debug)]
pub enum SqlError {
    Driver(sqlx::Error),
    Store(StoreError),
}

impl From<sqlx::Error> for SqlError {
    fn from(error: sqlx::Error) -> Self {
        Self::Driver(error)
    }
}

impl From<StoreError> for SqlError {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

impl From<SqlError> for StoreError {
    fn from(error: SqlError) -> Self {
        match error {
            SqlError::Driver(error) => db_error(error),
            SqlError::Store(error) => error,
        }
    }
}

impl SqlError {
    /// A unique violation, on an index or constraint whose name or message mentions `needle`
    /// when one is given.
    pub fn is_unique_violation(&self, needle: Option<&str>) -> bool {
        match self {
            Self::Driver(sqlx::Error::Database(db)) if db.is_unique_violation() => match needle {
                None => true,
                Some(needle) => db.message().contains(needle) || db.constraint().is_some_and(|c| c.contains(needle)),
            },
            _ => false,
        }
    }
}

/// Maps a driver error: unique violations become `Conflict`, a missing row `NotFound`, anything
/// else `Backend` with the driver's error as its source (internal, never shown to clients).
pub fn db_error(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::RowNotFound => StoreError::NotFound("row not found".to_string()),
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(db.message().to_string()),
        _ => StoreError::backend(error),
    }
}
