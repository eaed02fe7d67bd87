//! Maps one `Get-CsOnlineUser` record (from `ConvertTo-Json` or `Export-Csv`) to an `EndUser`.
//!
//! Decisions, where the cmdlet and the Live Platform disagree:
//! - The user's GUID comes from `Identity` (Teams module 3.0 and later) or, when `Identity` is the
//!   older DN-like string, from `ObjectId`. When both are GUIDs they must agree.
//! - `WebName` is `DisplayName`; `MsInterpretedUserType` is `InterpretedUserType`, whatever its
//!   value (the set is open).
//! - `SipAddress` is kept as given, but gets the `sip:` scheme when it lacks one, because the
//!   Live Platform always serves SIP URIs and some exports strip the scheme.
//! - `LineURI` is kept raw: its formats drift (`tel:+1425...`, `tel:+1...;ext=1234`, digits).
//! - `UserType` is `TeamsOnly` when `FeatureTypes` holds `Teams` or `TeamsUpgradeEffectiveMode`
//!   is `TeamsOnly`, else `NoService` (Export-Csv flattens `FeatureTypes` to a type name, so the
//!   upgrade mode is the CSV's only signal).
//! - `OnlineVoiceRoutingPolicy` is a string or, in older modules, an object whose `Name` is taken.
//! - `Status` `"----"`, `PsCount` 0, `IsManaged` null, `CallForward` and `OnlinePstnGateway` `""`;
//!   every other empty value (including `""`) is null, as the Live Platform serves them.

use serde_json::Value;
use uuid::Uuid;

use super::error::RowError;
use super::fields::{self, Cell, Fields, Key};
use crate::end_user::{object_id_of, EndUser, DEFAULT_STATUS};

const SIP_SCHEME: &str = "sip:";

pub(crate) fn to_end_user<'a>(user: &mut impl Fields<'a>) -> Result<EndUser, RowError> {
    let identity = identity(user)?;
    let user_type = user_type(user);
    Ok(EndUser {
        identity,
        status: DEFAULT_STATUS.to_string(),
        sip_address: user.non_empty_text(Key::SipAddress)?.map(with_sip_scheme),
        line_uri: user.non_empty_text(Key::LineUri)?,
        hosting_provider: user.non_empty_text(Key::HostingProvider)?,
        hybrid_pstn_site_name: user.non_empty_text(Key::HybridPstnSiteName)?,
        usage_location: user.non_empty_text(Key::UsageLocation)?,
        registrar_pool: user.non_empty_text(Key::RegistrarPool)?,
        call_forward: String::new(),
        object_id: object_id_of(identity),
        web_name: user.non_empty_text(Key::DisplayName)?,
        user_type: Some(user_type.to_string()),
        ps_count: 0,
        is_managed: None,
        department: user.non_empty_text(Key::Department)?,
        tenant_id: user.non_empty_text(Key::TenantId)?,
        user_principal_name: user.non_empty_text(Key::UserPrincipalName)?,
        ms_interpreted_user_type: user.non_empty_text(Key::InterpretedUserType)?,
        enterprise_voice_enabled: user.boolean(Key::EnterpriseVoiceEnabled)?,
        online_voice_routing_policy: routing_policy(user.take(Key::OnlineVoiceRoutingPolicy))?,
        online_pstn_gateway: String::new(),
    })
}

fn identity<'a>(user: &mut impl Fields<'a>) -> Result<Uuid, RowError> {
    let identity = user.non_empty_text(Key::Identity)?;
    let object_id = user.non_empty_text(Key::ObjectId)?;
    let from_object = object_id
        .as_deref()
        .map(|text| fields::parse_guid(text, Key::ObjectId))
        .transpose()?;
    let from_identity = identity
        .as_deref()
        .map(|text| (text, fields::parse_guid(text, Key::Identity)));
    match (from_identity, from_object) {
        (Some((_, Ok(a))), Some(b)) if a != b => Err(RowError::field(
            "ObjectId",
            format!(
                "must be the same GUID as Identity {}, got {}",
                a.hyphenated(),
                b.hyphenated()
            ),
        )),
        (Some((_, Ok(id))), _) | (_, Some(id)) => Ok(id),
        (Some((text, Err(_))), None) => Err(RowError::field(
            "Identity",
            format!(
                "must be the user's object-id GUID, got {}; older Teams modules put the GUID in \
                 ObjectId, but this user has none",
                fields::quote(text)
            ),
        )),
        (None, None) => Err(RowError::field(
            "Identity",
            "is missing: every user needs its object-id GUID in Identity (or ObjectId)",
        )),
    }
}

fn with_sip_scheme(address: String) -> String {
    let has_scheme = address
        .get(..SIP_SCHEME.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(SIP_SCHEME));
    if has_scheme {
        address
    } else {
        format!("{SIP_SCHEME}{address}")
    }
}

/// Reads `FeatureTypes` and `TeamsUpgradeEffectiveMode`; values of other shapes (Export-Csv's
/// type names, nested objects) carry no signal and count as neither.
fn user_type<'a>(user: &mut impl Fields<'a>) -> &'static str {
    let features = user.take(Key::FeatureTypes);
    let teams_feature = match &features {
        Cell::Json(Value::Array(items)) => items.iter().any(|item| item.as_str().is_some_and(is_teams)),
        // Depth-limited ConvertTo-Json and hand-made exports join the list into one string.
        _ => features.as_text().is_some_and(|joined| {
            joined
                .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
                .any(is_teams)
        }),
    };
    let teams_only_mode = user
        .take(Key::TeamsUpgradeEffectiveMode)
        .as_text()
        .is_some_and(|mode| mode.trim().eq_ignore_ascii_case("TeamsOnly"));
    if teams_feature || teams_only_mode {
        "TeamsOnly"
    } else {
        "NoService"
    }
}

fn is_teams(feature: &str) -> bool {
    feature.trim().eq_ignore_ascii_case("Teams")
}

fn routing_policy(cell: Cell<'_>) -> Result<String, RowError> {
    let key = Key::OnlineVoiceRoutingPolicy;
    match cell {
        Cell::Json(Value::Object(policy)) => {
            let name = policy
                .into_iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("Name"))
                .map(|(_, v)| v);
            match name {
                Some(Value::String(name)) => {
                    fields::bounded(&name, key)?;
                    Ok(name)
                }
                Some(Value::Null) => Ok(String::new()),
                _ => Err(RowError::field(
                    key.name(),
                    "is an object without a string Name: give the policy's name as a string",
                )),
            }
        }
        other => Ok(fields::text(other, key)?.unwrap_or_default()),
    }
}
