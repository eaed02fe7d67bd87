//! Wire shapes of the service directory, with the reference's field names and order.

use chrono::{DateTime, Utc};
use domain::{LicenseType, Service, SiteLocation};
use serde::Serialize;
use utoipa::ToSchema;

/// `GET /api/v3/customer` item.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceBriefV3 {
    #[serde(rename = "UmpCustomerGuid")]
    pub ump_customer_guid: String,
    #[serde(rename = "CustomerShortName")]
    pub customer_short_name: String,
    #[serde(rename = "CustomerFullName")]
    pub customer_full_name: String,
    #[serde(rename = "LicenseType")]
    pub license_type: i64,
    #[serde(rename = "LicensedUsersCount")]
    pub licensed_users_count: Option<i64>,
    #[serde(rename = "MsTenantId")]
    pub ms_tenant_id: Option<String>,
    #[serde(rename = "ActiveUserCount")]
    pub active_user_count: i64,
    #[serde(rename = "LiveHubActiveUsersCount")]
    pub live_hub_active_users_count: Option<i64>,
    #[serde(rename = "LiveHubSimpleUsersCount")]
    pub live_hub_simple_users_count: Option<i64>,
}

/// `SiteLocation` entries, camelCase as in the reference.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SiteLocationWire {
    pub id: i64,
    pub name: String,
    pub sbc_id: Option<i64>,
    pub sbc_deployment_state: Option<String>,
    pub sbc_configuration_type: Option<String>,
}

/// Replication state of a service: rosterd's addition to the V3 detail body.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationWire {
    /// The generation of users being served (0: never loaded).
    pub generation: i64,
    pub user_count: i64,
    pub last_success_time: Option<DateTime<Utc>>,
    pub last_attempt_time: Option<DateTime<Utc>>,
    pub last_full_sync_time: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub consecutive_failures: i64,
    pub next_sync_time: Option<DateTime<Utc>>,
    /// Outcome of the last secure-connection check; null until checked.
    pub connection_valid: Option<bool>,
    pub connection_message: Option<String>,
}

/// `GET /api/v3/customer/{guid}` body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceDetailV3 {
    #[serde(flatten)]
    pub brief: ServiceBriefV3,
    #[serde(rename = "MsDefaultDomain")]
    pub ms_default_domain: Option<String>,
    #[serde(rename = "ApplicationClientId")]
    pub application_client_id: Option<String>,
    /// Masked: only a short prefix of the secret.
    #[serde(rename = "ApplicationClientSecret")]
    pub application_client_secret: Option<String>,
    /// US-style, as the original: `2/18/2027 8:39:26 AM` (UTC).
    #[serde(rename = "ClientSecretExpirationDate")]
    pub client_secret_expiration_date: Option<String>,
    #[serde(rename = "ChannelId")]
    pub channel_id: Option<i64>,
    #[serde(rename = "SiteLocation", skip_serializing_if = "Option::is_none")]
    pub site_location: Option<Vec<SiteLocationWire>>,
    #[serde(rename = "Replication")]
    pub replication: ReplicationWire,
}

/// `GET /api/v2/customer` item.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerBriefV2 {
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "ShortName")]
    pub short_name: String,
    #[serde(rename = "FullName")]
    pub full_name: String,
    #[serde(rename = "LicenseType")]
    pub license_type: i64,
}

/// `GET /api/v2/customer/{guid}` body.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerDetailV2 {
    #[serde(flatten)]
    pub brief: CustomerBriefV2,
    #[serde(rename = "SiteLocation")]
    pub site_location: Vec<SiteLocationWire>,
}

/// The original's date style: month/day/year, 12-hour clock.
pub fn us_date(at: DateTime<Utc>) -> String {
    at.format("%-m/%-d/%Y %-I:%M:%S %p").to_string()
}

fn sites(list: &[SiteLocation]) -> Vec<SiteLocationWire> {
    list.iter()
        .map(|s| SiteLocationWire {
            id: s.id,
            name: s.name.clone(),
            sbc_id: s.sbc_id,
            sbc_deployment_state: s.sbc_deployment_state.clone(),
            sbc_configuration_type: s.sbc_configuration_type.clone(),
        })
        .collect()
}

impl ServiceBriefV3 {
    pub fn of(s: &Service) -> Self {
        // Hosted Essentials rows have no licensed count and no LiveHub figures in the original.
        let essentials = s.license_type == LicenseType::HostedEssentials;
        Self {
            ump_customer_guid: s.id.to_string(),
            customer_short_name: s.short_name.clone(),
            customer_full_name: s.full_name.clone(),
            license_type: s.license_type.code(),
            licensed_users_count: if essentials { None } else { s.licensed_users_count },
            ms_tenant_id: s.tenant_id.map(|t| t.hyphenated().to_string()),
            active_user_count: s.user_count,
            live_hub_active_users_count: if essentials { None } else { Some(0) },
            live_hub_simple_users_count: if essentials { None } else { Some(0) },
        }
    }
}

impl ServiceDetailV3 {
    pub fn of(s: &Service, all_details: bool) -> Self {
        Self {
            brief: ServiceBriefV3::of(s),
            ms_default_domain: s.default_domain.clone(),
            application_client_id: s.app_client_id.clone(),
            application_client_secret: s.masked_secret(),
            client_secret_expiration_date: s.secret_expires_at.map(us_date),
            channel_id: s.channel_id,
            site_location: all_details.then(|| sites(&s.site_locations)),
            replication: ReplicationWire {
                generation: s.generation,
                user_count: s.user_count,
                last_success_time: s.sync.last_success_at,
                last_attempt_time: s.sync.last_attempt_at,
                last_full_sync_time: s.sync.last_full_sync_at,
                last_error: s.sync.last_error.clone(),
                consecutive_failures: s.sync.consecutive_failures,
                next_sync_time: s.sync.next_sync_at,
                connection_valid: s.sync.connection_ok,
                connection_message: s.sync.connection_message.clone(),
            },
        }
    }
}

impl CustomerBriefV2 {
    pub fn of(s: &Service) -> Self {
        Self {
            id: s.id.to_string(),
            short_name: s.short_name.clone(),
            full_name: s.full_name.clone(),
            license_type: s.license_type.code(),
        }
    }
}

impl CustomerDetailV2 {
    pub fn of(s: &Service) -> Self {
        Self {
            brief: CustomerBriefV2::of(s),
            site_location: sites(&s.site_locations),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn us_date_matches_the_reference_style() {
        let at = Utc.with_ymd_and_hms(2027, 2, 18, 8, 39, 26).unwrap();
        assert_eq!(us_date(at), "2/18/2027 8:39:26 AM");
        let pm = Utc.with_ymd_and_hms(2027, 12, 1, 20, 5, 0).unwrap();
        assert_eq!(us_date(pm), "12/1/2027 8:05:00 PM");
    }
}
