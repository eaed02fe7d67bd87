//! Structured values stored as JSON text (site locations, scopes, task logs), on every backend:
//! text comes back byte for byte, key order included.

use serde::de::DeserializeOwned;
use serde::Serialize;
use store::{StoreError, StoreResult};

pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::backend(format!("encoding JSON: {e}")))
}

pub(crate) fn from_json<T: DeserializeOwned>(text: &str, column: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}
