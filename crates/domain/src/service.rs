//! A service (one customer tenant under the provider) and the rules for creating and changing it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::CustomerId;
use crate::license::LicenseType;

pub const SHORT_NAME_MIN: usize = 3;
pub const SHORT_NAME_MAX: usize = 15;
pub const FULL_NAME_MAX: usize = 200;
const SHORT_NAME_FORBIDDEN: &[char] = &['.', '\\', '/', ':', '*', '?', '"', '<', '>', '|'];

/// A rule a service field broke; `field` is the wire name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ServiceError {
    pub field: &'static str,
    pub message: String,
}

impl ServiceError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// A validated service short name (unique per provider, compared case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ShortName(String);

impl ShortName {
    pub fn parse(raw: &str) -> Result<Self, ServiceError> {
        let len = raw.chars().count();
        if !(SHORT_NAME_MIN..=SHORT_NAME_MAX).contains(&len) {
            return Err(ServiceError::new(
                "shortName",
                format!("must be {SHORT_NAME_MIN} to {SHORT_NAME_MAX} characters long; got {len}"),
            ));
        }
        if raw.chars().any(char::is_whitespace) {
            return Err(ServiceError::new("shortName", "must not contain blanks"));
        }
        if let Some(bad) = raw.chars().find(|c| SHORT_NAME_FORBIDDEN.contains(c) || c.is_control()) {
            return Err(ServiceError::new(
                "shortName",
                format!("must not contain '{bad}' (forbidden: . \\ / : * ? \" < > |)"),
            ));
        }
        Ok(Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Validates a full name; `None` or blank falls back to the short name.
pub fn full_name_or_default(full: Option<&str>, short: &ShortName) -> Result<String, ServiceError> {
    match full.map(str::trim) {
        None | Some("") => Ok(short.as_str().to_string()),
        Some(name) => validate_full_name(name).map(str::to_string),
    }
}

pub fn validate_full_name(name: &str) -> Result<&str, ServiceError> {
    let len = name.chars().count();
    if len == 0 || len > FULL_NAME_MAX {
        return Err(ServiceError::new(
            "customerFullName",
            format!("must be 1 to {FULL_NAME_MAX} characters long; got {len}"),
        ));
    }
    Ok(name)
}

/// One SBC site location of a service (`SiteLocation` in the reference).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteLocation {
    pub id: i64,
    pub name: String,
    pub sbc_id: Option<i64>,
    pub sbc_deployment_state: Option<String>,
    pub sbc_configuration_type: Option<String>,
}

/// Replication state of a service, kept next to it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    /// The Graph `@odata.deltaLink` of the last completed round.
    pub delta_link: Option<String>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_full_sync_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub consecutive_failures: i64,
    pub next_sync_at: Option<DateTime<Utc>>,
    /// Result of the last secure-connection check (`None` until checked).
    pub connection_ok: Option<bool>,
    pub connection_message: Option<String>,
}

/// A stored service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub id: CustomerId,
    pub short_name: String,
    pub full_name: String,
    pub license_type: LicenseType,
    pub licensed_users_count: Option<i64>,
    pub channel_id: Option<i64>,
    pub ovoc_customer_type: Option<String>,
    pub tenant_id: Option<Uuid>,
    pub default_domain: Option<String>,
    pub app_client_id: Option<String>,
    /// The app registration's client secret, sealed with the installation's secret key.
    pub app_client_secret_sealed: Option<Vec<u8>>,
    /// The first characters of the secret, the only part ever shown.
    pub app_client_secret_hint: Option<String>,
    pub secret_expires_at: Option<DateTime<Utc>>,
    pub site_locations: Vec<SiteLocation>,
    /// The generation of users currently served (0 before the first import or sync).
    pub generation: i64,
    pub user_count: i64,
    pub created_at: DateTime<Utc>,
    pub sync: SyncState,
}

impl Service {
    /// Tenant id plus app registration: what a sync needs to reach the customer's tenant.
    pub fn has_secure_connection(&self) -> bool {
        self.tenant_id.is_some()
            && self.app_client_id.as_deref().is_some_and(|s| !s.is_empty())
            && self.app_client_secret_sealed.is_some()
    }

    /// The masked secret shown by the directory: a short prefix, never the secret.
    pub fn masked_secret(&self) -> Option<String> {
        self.app_client_secret_hint.clone()
    }
}

/// The prefix of a secret that may be shown (three characters, like the original's `"~-6"`).
pub fn secret_hint(secret: &str) -> String {
    secret.chars().take(3).collect()
}

/// A new service as the create endpoint or the CLI describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewService {
    pub id: CustomerId,
    pub short_name: ShortName,
    pub full_name: String,
    pub license_type: LicenseType,
    pub licensed_users_count: Option<i64>,
    pub channel_id: Option<i64>,
    pub ovoc_customer_type: Option<String>,
    pub tenant_id: Option<Uuid>,
    pub default_domain: Option<String>,
    pub site_locations: Vec<SiteLocation>,
}

/// A change to a service; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServicePatch {
    pub full_name: Option<String>,
    pub license_type: Option<LicenseType>,
    pub licensed_users_count: Option<i64>,
    pub tenant_id: Option<Uuid>,
    pub default_domain: Option<String>,
    pub app_client_id: Option<String>,
    pub app_client_secret_sealed: Option<Vec<u8>>,
    pub app_client_secret_hint: Option<String>,
    pub secret_expires_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_name_rules() {
        assert!(ShortName::parse("acme").is_ok());
        assert!(ShortName::parse("ab").is_err());
        assert!(ShortName::parse("abcdefghijklmnop").is_err());
        assert!(ShortName::parse("ac me").is_err());
        for bad in [
            "ac.me", "ac/me", "ac\\me", "ac:me", "ac*me", "ac?me", "ac\"me", "ac<me", "ac>me", "ac|me",
        ] {
            assert_eq!(ShortName::parse(bad).unwrap_err().field, "shortName", "{bad}");
        }
    }

    #[test]
    fn full_name_defaults_to_short_name() {
        let short = ShortName::parse("acme").unwrap();
        assert_eq!(full_name_or_default(None, &short).unwrap(), "acme");
        assert_eq!(full_name_or_default(Some("Acme Inc"), &short).unwrap(), "Acme Inc");
        assert!(full_name_or_default(Some(&"x".repeat(201)), &short).is_err());
    }
}
