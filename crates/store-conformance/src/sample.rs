//! Sample data for the checks: services, users and the writer round trip.

use crate::w;
use chrono::{DateTime, Utc};
use domain::SyncState;
use domain::{CustomerId, EndUser, LicenseType, NewService, ShortName};
use store::{GenerationWriter, ReplaceOutcome, Store, WriteError};
use uuid::Uuid;

/// A Hosted Pro service with the given short name and a random id.
pub fn new_service(short_name: &str) -> NewService {
    NewService {
        id: CustomerId::new_random(),
        short_name: ShortName::parse(short_name).unwrap(),
        full_name: format!("{short_name} Incorporated"),
        license_type: LicenseType::HostedPro,
        licensed_users_count: Some(100),
        channel_id: None,
        ovoc_customer_type: None,
        tenant_id: None,
        default_domain: None,
        site_locations: Vec::new(),
    }
}

/// A plausible user whose identity is derived from `n` (scattered, so that push order and
/// identity order differ) and whose department carries `tag`.
pub fn user(n: u64, tag: &str) -> EndUser {
    let identity = scattered_uuid(n);
    let mut user = EndUser::new(identity);
    user.sip_address = Some(format!("sip:user{n}@example.com"));
    user.line_uri = matches!(n % 3, 0).then(|| format!("tel:+3120{n:07}"));
    user.hosting_provider = Some("sipfed.online.lync.com".to_string());
    user.usage_location = Some("NL".to_string());
    user.web_name = Some(format!("User {n}"));
    user.user_type = Some("TeamsOnly".to_string());
    user.department = Some(tag.to_string());
    user.tenant_id = Some("8e2b1c3d-0000-4000-8000-000000000001".to_string());
    user.user_principal_name = Some(format!("user{n}@example.com"));
    user.ms_interpreted_user_type = Some("PureOnlineTeamsOnlyUser".to_string());
    user.enterprise_voice_enabled = Some(matches!(n % 2, 0));
    user.online_voice_routing_policy = if matches!(n % 4, 0) {
        "Global".to_string()
    } else {
        String::new()
    };
    user
}

/// A deterministic GUID whose order has nothing to do with `n`.
pub fn scattered_uuid(n: u64) -> Uuid {
    let mixed = u128::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835) ^ 0x5bd1_e995;
    Uuid::from_u128(mixed)
}

/// Now, truncated to the microsecond precision both backends store.
pub fn micros_now() -> DateTime<Utc> {
    DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap()
}

/// A fixed instant with a sub-second part, `offset_secs` after 2024-05-06 07:08:09.123456 UTC.
pub fn instant(offset_secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(1_714_979_289_123_456 + offset_secs * 1_000_000).unwrap()
}

/// Writes `users` as the customer's new generation through the `GenerationWriter`, pushing
/// them in the given order.
pub async fn replace_users(
    store: &dyn Store,
    customer: CustomerId,
    users: &[EndUser],
    sync: Option<SyncState>,
    skip_if_unchanged: bool,
) -> Result<ReplaceOutcome, WriteError> {
    let mut writer = GenerationWriter::new()?;
    for (i, u) in users.iter().enumerate() {
        writer.push(i as u64 + 1, u)?;
    }
    writer.commit(store, &w(customer), sync, skip_if_unchanged).await
}

/// Users sorted by identity, rendered as the store must serve them.
pub fn rendered_in_order(users: &[EndUser]) -> Vec<String> {
    let mut sorted: Vec<&EndUser> = users.iter().collect();
    sorted.sort_by_key(|u| u.identity);
    sorted.iter().map(|u| u.render_json()).collect()
}

/// A fully populated replication state.
pub fn busy_sync_state(offset_secs: i64) -> SyncState {
    SyncState {
        delta_link: Some(format!(
            "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=t{offset_secs}"
        )),
        last_attempt_at: Some(instant(offset_secs)),
        last_success_at: Some(instant(offset_secs - 10)),
        last_full_sync_at: Some(instant(offset_secs - 86_400)),
        last_error: Some("Graph answered 429; retried".to_string()),
        consecutive_failures: 3,
        next_sync_at: Some(instant(offset_secs + 300)),
        connection_ok: Some(true),
        connection_message: Some("connected to tenant".to_string()),
    }
}
