//! Route handlers, one module per resource.

pub mod clients;
pub mod directory;
pub mod discovery;
pub mod end_users;
pub mod health;
pub mod sync;
pub mod tasks;
pub mod token;

use domain::CustomerId;

use crate::error::ApiError;

/// Parses a `{customerGuid}` path segment; malformed is 400, never 404.
pub fn parse_customer_guid(raw: &str) -> Result<CustomerId, ApiError> {
    raw.parse().map_err(|_| {
        ApiError::bad_request(
            "invalid_customer_guid",
            Some("customerGuid".to_string()),
            format!(
                "customerGuid '{}' is not a valid GUID",
                raw.chars().take(64).collect::<String>()
            ),
        )
    })
}
