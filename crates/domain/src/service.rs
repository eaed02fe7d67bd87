//! A service (one customer tenant under the provider) and the rules for creating and changing it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::CustomerId;
use crate::license::LicenseType;

pub const SHORT_NAME_MIN: usize = 3;
pub const SHORT_NAME_MAX: usize = 15;
pub const FULL_NAME_MAX: usize = 200;
/// Longest `msDefaultDomain`: a DNS name.
pub const DEFAULT_DOMAIN_MAX: usize = 253;
/// Longest `applicationClientId` (Entra app ids are 36-character GUIDs).
pub const APP_CLIENT_ID_MAX: usize = 100;
/// Longest `applicationClientSecret` (Entra secrets are about 40 characters).
pub const APP_CLIENT_SECRET_MAX: usize = 512;
/// Longest `ovocCustomerType`.
pub const CUSTOMER_TYPE_MAX: usize = 100;
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
    bounded_text("customerFullName", name, FULL_NAME_MAX)
}

/// A free-text field of a service: at most `max` characters, no control characters.
pub fn bounded_text<'a>(field: &'static str, value: &'a str, max: usize) -> Result<&'a str, ServiceError> {
    let len = value.chars().count();
    if len > max {
        return Err(ServiceError::new(
            field,
            format!("{field} must be at most {max} characters long; got {len}"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ServiceError::new(
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(value)
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

/// Why a service's users cannot be listed, loaded or synced: the one rule behind the API's
/// reads, imports and syncs, the command line and the sync engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UsersRefused {
    /// Essentials services have no end-user list.
    #[error(
        "service type {0} has no end-user list: its users are managed in the customer's Teams admin center. \
         End users are available for Hosted Essentials Plus (1), Hosted Pro (2), OC Essentials Plus (4) and OC Pro (5)."
    )]
    NoEndUsers(LicenseType),
    /// A sync needs a secure connection to the tenant.
    #[error(
        "this service has no secure connection: set msTenantId, applicationClientId and applicationClientSecret \
         with PATCH /api/v3/customer/{{customerGuid}} first"
    )]
    NotConnected,
    /// Listing needs users from somewhere: a secure connection or a completed import.
    #[error(
        "this service has no secure connection to its Microsoft 365 tenant. Set msTenantId, applicationClientId and \
         applicationClientSecret with PATCH /api/v3/customer/{{customerGuid}} (the app registration needs the Graph \
         application permissions User.Read.All and TeamsUserConfiguration.Read.All with admin consent), \
         or load users with PUT /api/v3/customer/{{customerGuid}}/user."
    )]
    NoSource,
}

impl Service {
    /// Whether the service keeps a list of end users at all (what an import needs).
    pub fn may_hold_users(&self) -> Result<(), UsersRefused> {
        if self.license_type.has_end_users() {
            Ok(())
        } else {
            Err(UsersRefused::NoEndUsers(self.license_type))
        }
    }

    /// Whether its users can be listed: it keeps users, and they come from somewhere (a secure
    /// connection, or a completed import); a service with neither is told how to fix it.
    pub fn may_list_users(&self) -> Result<(), UsersRefused> {
        self.may_hold_users()?;
        if self.has_secure_connection() || self.generation > 0 {
            Ok(())
        } else {
            Err(UsersRefused::NoSource)
        }
    }

    /// Whether its users can be synced from Microsoft Graph: it keeps users and has a secure
    /// connection.
    pub fn may_sync_users(&self) -> Result<(), UsersRefused> {
        self.may_hold_users()?;
        if self.has_secure_connection() {
            Ok(())
        } else {
            Err(UsersRefused::NotConnected)
        }
    }

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

/// What a patch does to the stored app registration secret.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SecretChange {
    #[default]
    Keep,
    /// A new secret, sealed, with the prefix that may be shown.
    Set { sealed: Vec<u8>, hint: String },
    /// Forget the secret (and its expiry): it belonged to another tenant or app.
    Clear,
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
    pub secret: SecretChange,
    pub secret_expires_at: Option<DateTime<Utc>>,
    /// Forget the replication state (delta link, last full sync, schedule, errors, connection
    /// check), so the next sync is a full round that starts at once.
    pub reset_sync: bool,
}

impl ServicePatch {
    /// Whether the patch moves `current` to another tenant or app registration.
    pub fn changes_connection(&self, current: &Service) -> bool {
        let tenant_changes = self.tenant_id.is_some_and(|t| current.tenant_id != Some(t));
        let app_changes = self.app_client_id.as_deref().is_some_and(|app| {
            !current
                .app_client_id
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case(app))
        });
        tenant_changes || app_changes
    }

    /// The rule for re-pointing a service: a change of tenant id or app id drops the stored
    /// secret (it was issued for the old one) unless the same patch brings a new secret, and
    /// drops the replication state of the old tenant, so the next sync is a full round.
    pub fn with_connection_rules(mut self, current: &Service) -> Self {
        if self.changes_connection(current) {
            if self.secret == SecretChange::Keep {
                self.secret = SecretChange::Clear;
            }
            self.reset_sync = true;
        }
        self
    }
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
    fn re_pointing_drops_secret_and_sync_state() {
        let tenant = Uuid::new_v4();
        let current = Service {
            id: CustomerId::new_random(),
            short_name: "a".into(),
            full_name: "a".into(),
            license_type: LicenseType::HostedPro,
            licensed_users_count: None,
            channel_id: None,
            ovoc_customer_type: None,
            tenant_id: Some(tenant),
            default_domain: None,
            app_client_id: Some("0B8F2E1C-7A44-4C1E-9D3F-5E6A7B8C9D0E".into()),
            app_client_secret_sealed: Some(vec![1]),
            app_client_secret_hint: Some("abc".into()),
            secret_expires_at: None,
            site_locations: Vec::new(),
            generation: 0,
            user_count: 0,
            created_at: Utc::now(),
            sync: SyncState::default(),
        };
        let same = ServicePatch {
            tenant_id: Some(tenant),
            app_client_id: Some("0b8f2e1c-7a44-4c1e-9d3f-5e6a7b8c9d0e".into()),
            ..ServicePatch::default()
        }
        .with_connection_rules(&current);
        assert_eq!((same.secret, same.reset_sync), (SecretChange::Keep, false));
        let moved = ServicePatch {
            tenant_id: Some(Uuid::new_v4()),
            ..ServicePatch::default()
        }
        .with_connection_rules(&current);
        assert_eq!((moved.secret, moved.reset_sync), (SecretChange::Clear, true));
        let with_secret = ServicePatch {
            app_client_id: Some("other".into()),
            secret: SecretChange::Set {
                sealed: vec![2],
                hint: "new".into(),
            },
            ..ServicePatch::default()
        }
        .with_connection_rules(&current);
        assert!(matches!(with_secret.secret, SecretChange::Set { .. }));
        assert!(with_secret.reset_sync);
    }

    #[test]
    fn which_services_list_load_and_sync_users() {
        let mut service = Service {
            id: CustomerId::new_random(),
            short_name: "a".into(),
            full_name: "a".into(),
            license_type: LicenseType::HostedEssentials,
            licensed_users_count: None,
            channel_id: None,
            ovoc_customer_type: None,
            tenant_id: None,
            default_domain: None,
            app_client_id: None,
            app_client_secret_sealed: None,
            app_client_secret_hint: None,
            secret_expires_at: None,
            site_locations: Vec::new(),
            generation: 0,
            user_count: 0,
            created_at: Utc::now(),
            sync: SyncState::default(),
        };
        let essentials = Err(UsersRefused::NoEndUsers(LicenseType::HostedEssentials));
        assert_eq!(service.may_hold_users(), essentials);
        assert_eq!(service.may_list_users(), essentials);
        assert_eq!(service.may_sync_users(), essentials);
        service.license_type = LicenseType::OcPro;
        assert_eq!(service.may_hold_users(), Ok(()));
        assert_eq!(service.may_list_users(), Err(UsersRefused::NoSource));
        assert_eq!(service.may_sync_users(), Err(UsersRefused::NotConnected));
        service.generation = 1;
        assert_eq!(service.may_list_users(), Ok(()), "imported users are listed");
        assert_eq!(service.may_sync_users(), Err(UsersRefused::NotConnected));
        service.tenant_id = Some(Uuid::new_v4());
        service.app_client_id = Some("app".into());
        service.app_client_secret_sealed = Some(vec![1]);
        assert_eq!(service.may_sync_users(), Ok(()));
    }

    #[test]
    fn bounded_texts() {
        assert!(bounded_text("msDefaultDomain", "contoso.com", DEFAULT_DOMAIN_MAX).is_ok());
        assert_eq!(
            bounded_text("msDefaultDomain", &"a".repeat(254), DEFAULT_DOMAIN_MAX)
                .unwrap_err()
                .field,
            "msDefaultDomain"
        );
        assert!(bounded_text("x", "a\u{0}b", 10).is_err());
    }

    #[test]
    fn full_name_defaults_to_short_name() {
        let short = ShortName::parse("acme").unwrap();
        assert_eq!(full_name_or_default(None, &short).unwrap(), "acme");
        assert_eq!(full_name_or_default(Some("Acme Inc"), &short).unwrap(), "Acme Inc");
        assert!(full_name_or_default(Some(&"x".repeat(201)), &short).is_err());
        assert!(
            full_name_or_default(Some("Acme\u{7}Inc"), &short).is_err(),
            "no control characters"
        );
    }
}
