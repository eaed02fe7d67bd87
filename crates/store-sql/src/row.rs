//! Reading a row without knowing the backend: a driver exposes its row through [`SqlRow`] (one
//! accessor per storage type, decoding its own representation), and row mapping is written once
//! against `dyn SqlRow` with [`get`](trait.SqlRow.html#method.get).

use chrono::{DateTime, Utc};
use store::{StoreError, StoreResult};
use uuid::Uuid;

/// One row of a result, by column name. Every accessor reads a nullable column; a value of the
/// wrong type is `Corrupt`.
pub trait SqlRow {
    fn i64(&self, column: &str) -> StoreResult<Option<i64>>;
    fn bool(&self, column: &str) -> StoreResult<Option<bool>>;
    fn text(&self, column: &str) -> StoreResult<Option<String>>;
    fn bytes(&self, column: &str) -> StoreResult<Option<Vec<u8>>>;
    fn uuid(&self, column: &str) -> StoreResult<Option<Uuid>>;
    fn time(&self, column: &str) -> StoreResult<Option<DateTime<Utc>>>;
}

impl dyn SqlRow + '_ {
    /// Reads a column as `T` (an `Option` for a nullable column; for any other type, NULL is
    /// `Corrupt`).
    pub fn get<T: Column>(&self, column: &str) -> StoreResult<T> {
        T::read(self, column)
    }
}

/// A Rust type a column can be read as.
pub trait Column: Sized {
    fn read(row: &dyn SqlRow, column: &str) -> StoreResult<Self>;
}

macro_rules! column {
    ($($t:ty => $accessor:ident),+ $(,)?) => {$(
        impl Column for Option<$t> {
            fn read(row: &dyn SqlRow, column: &str) -> StoreResult<Self> {
                row.$accessor(column)
            }
        }
        impl Column for $t {
            fn read(row: &dyn SqlRow, column: &str) -> StoreResult<Self> {
                row.$accessor(column)?
                    .ok_or_else(|| StoreError::Corrupt(format!("{column}: unexpected NULL")))
            }
        }
    )+};
}

column!(
    i64 => i64,
    bool => bool,
    String => text,
    Vec<u8> => bytes,
    Uuid => uuid,
    DateTime<Utc> => time,
);
