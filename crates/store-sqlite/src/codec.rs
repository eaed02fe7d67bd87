//! Conversions between domain values and SQLite storage classes: GUIDs as lower-case text,
//! timestamps as integer microseconds, structured values as JSON text.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use store::{StoreError, StoreResult};
use uuid::Uuid;

pub(crate) fn guid(id: Uuid) -> String {
    id.hyphenated().to_string()
}

pub(crate) fn parse_guid(text: &str, column: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(text).map_err(|_| StoreError::Corrupt(format!("{column}: '{text}' is not a GUID")))
}

pub(crate) fn parse_opt_guid(text: Option<String>, column: &str) -> StoreResult<Option<Uuid>> {
    text.map(|t| parse_guid(&t, column)).transpose()
}

pub(crate) fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

pub(crate) fn opt_micros(at: Option<DateTime<Utc>>) -> Option<i64> {
    at.map(micros)
}

pub(crate) fn time(micros: i64, column: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| StoreError::Corrupt(format!("{column}: {micros} is out of range")))
}

pub(crate) fn opt_time(micros: Option<i64>, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
    micros.map(|m| time(m, column)).transpose()
}

pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(format!("encoding JSON: {e}")))
}

pub(crate) fn from_json<T: DeserializeOwned>(text: &str, column: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

/// Reads a column, reporting a type mismatch as corruption rather than a driver error.
pub(crate) fn get<'r, T>(row: &'r SqliteRow, column: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    row.try_get(column)
        .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}
