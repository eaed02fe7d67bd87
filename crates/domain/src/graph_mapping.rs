//! Microsoft Graph user records (`/users`, `/users/delta`, `/admin/teams/userConfigurations`),
//! their delta merge, and the mapping of a Graph user plus its Teams configuration to an `EndUser`.
//!
//! Pure: no I/O. The Graph client fetches, this module interprets.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::end_user::EndUser;

/// The `$select` list the sync reads from `/users` and `/users/delta`; every property
/// `GraphUser` carries.
pub const USER_SELECT: [&str; 8] = [
    "id",
    "displayName",
    "userPrincipalName",
    "department",
    "usageLocation",
    "imAddresses",
    "accountEnabled",
    "assignedPlans",
];

/// `HostingProvider` of every user homed in Teams (Get-CsOnlineUser prints this value).
pub const TEAMS_HOSTING_PROVIDER: &str = "sipfed.online.lync.com";

/// `UserType` values.
pub const USER_TYPE_TEAMS_ONLY: &str = "TeamsOnly";
pub const USER_TYPE_NO_SERVICE: &str = "NoService";

/// `MsInterpretedUserType` values this mapper produces (an open set upstream; see
/// `interpreted_user_type` for the table).
pub const IUT_TEAMS_ONLY_USER: &str = "PureOnlineTeamsOnlyUser";
pub const IUT_TEAMS_ONLY_USER_WITH_NO_SERVICE: &str = "PureOnlineTeamsOnlyUserWithNoService";
pub const IUT_USER_WITH_NO_SERVICE: &str = "PureOnlineUserWithNoService";
pub const IUT_APPLICATION_INSTANCE: &str = "PureOnlineApplicationInstance";
pub const IUT_ONPREM_SFB_USER: &str = "HybridOnpremSfBUser";
pub const IUT_DISABLED_USER: &str = "PureOnlineActiveDirectoryDisabledUser";

/// The Teams feature in `featureTypes`.
const FEATURE_TEAMS: &str = "Teams";
/// The policy type whose effective assignment fills `OnlineVoiceRoutingPolicy`.
const POLICY_ONLINE_VOICE_ROUTING: &str = "OnlineVoiceRoutingPolicy";
/// The tenant default policy instance.
const GLOBAL_POLICY: &str = "Global";
/// `assignedPlans[].service` values of the Teams / Skype for Business Online workloads:
/// `TeamspaceAPI` is the Teams plan (TEAMS1), `MicrosoftCommunicationsOnline` carries Skype
/// Online, Phone System, Audio Conferencing and the resource-account plans.
const TEAMS_PLAN_SERVICES: [&str; 2] = ["TeamspaceAPI", "MicrosoftCommunicationsOnline"];

/// Why Graph data could not be read or merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphDataError {
    #[error("a Graph item is not a JSON object")]
    NotAnObject,
    #[error("a Graph item has no id")]
    MissingId,
    #[error("a Graph item's id is not a GUID")]
    InvalidId,
    #[error("a delta item for {found} was merged into user {expected}")]
    IdMismatch { expected: Uuid, found: Uuid },
    #[error("a Graph item has a property of an unexpected type: {0}")]
    InvalidProperty(String),
}

/// `@removed` on a delta item: `reason` is `changed` (soft-deleted, restorable) or `deleted`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removed {
    #[serde(default)]
    pub reason: Option<String>,
}

/// One `assignedPlans` entry of a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignedPlan {
    #[serde(default)]
    pub assigned_date_time: Option<String>,
    /// `Enabled`, `Warning`, `Suspended`, `Deleted`, `LockedOut`.
    #[serde(default)]
    pub capability_status: Option<String>,
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub service_plan_id: Option<String>,
}

/// A Graph `user` with the selected properties (`USER_SELECT`). Unknown properties are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphUser {
    pub id: Uuid,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub user_principal_name: Option<String>,
    #[serde(default)]
    pub department: Option<String>,
    #[serde(default)]
    pub usage_location: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub im_addresses: Vec<String>,
    #[serde(default)]
    pub account_enabled: Option<bool>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub assigned_plans: Vec<AssignedPlan>,
    #[serde(rename = "@removed", default, skip_serializing_if = "Option::is_none")]
    pub removed: Option<Removed>,
}

impl GraphUser {
    /// A user known only by id; every property empty.
    pub fn new(id: Uuid) -> Self {
        Self {
            id,
            display_name: None,
            user_principal_name: None,
            department: None,
            usage_location: None,
            im_addresses: Vec::new(),
            account_enabled: None,
            assigned_plans: Vec::new(),
            removed: None,
        }
    }

    /// A user built from a (possibly partial) delta item: the properties it carries, the rest
    /// empty.
    pub fn from_partial(partial: &Value) -> Result<Self, GraphDataError> {
        let id = id_of(partial)?;
        let mut user = Self::new(id);
        user.merge_from(partial)?;
        Ok(user)
    }

    /// Applies a delta item: a property absent from `partial` keeps its value, a property present
    /// replaces it (explicit `null` clears it). Annotations (`@removed`, `x@delta`, `@odata.*`)
    /// are not properties and are skipped. Replaying the same item is harmless.
    pub fn merge_from(&mut self, partial: &Value) -> Result<(), GraphDataError> {
        let changes = partial.as_object().ok_or(GraphDataError::NotAnObject)?;
        if changes.contains_key("id") {
            let found = id_of(partial)?;
            if found != self.id {
                return Err(GraphDataError::IdMismatch {
                    expected: self.id,
                    found,
                });
            }
        }
        // Merging through the JSON form keeps one definition of each property's wire name and
        // null handling (the serde attributes above) instead of a hand-written match per field.
        let mut current = match serde_json::to_value(&*self) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        current.remove("@removed");
        for (key, value) in changes {
            if key == "id" || key.contains('@') {
                continue;
            }
            current.insert(key.clone(), value.clone());
        }
        let merged: GraphUser = serde_json::from_value(Value::Object(current))
            .map_err(|e| GraphDataError::InvalidProperty(e.to_string()))?;
        *self = merged;
        Ok(())
    }

    /// Whether any assigned plan belongs to the Teams / Skype Online workloads, whatever its
    /// status. Graph keeps removed plans in `assignedPlans` with `capabilityStatus: Deleted`, so
    /// this stays true after a licence is taken away.
    pub fn has_teams_plan(&self) -> bool {
        self.assigned_plans.iter().any(is_teams_plan)
    }
}

fn is_teams_plan(plan: &AssignedPlan) -> bool {
    plan.service
        .as_deref()
        .is_some_and(|service| TEAMS_PLAN_SERVICES.iter().any(|t| t.eq_ignore_ascii_case(service)))
}

fn id_of(item: &Value) -> Result<Uuid, GraphDataError> {
    let object = item.as_object().ok_or(GraphDataError::NotAnObject)?;
    let id = object
        .get("id")
        .and_then(Value::as_str)
        .ok_or(GraphDataError::MissingId)?;
    Uuid::parse_str(id).map_err(|_| GraphDataError::InvalidId)
}

/// One item of a `/users/delta` page.
#[derive(Debug, Clone, PartialEq)]
pub enum UserDelta {
    /// A new or changed user: the id plus at least the changed properties (a new user, or any
    /// user in the first round, carries all selected properties).
    Upsert { id: Uuid, properties: Value },
    /// The user left the directory (`reason` `deleted`) or the query's scope (`changed`, e.g.
    /// soft-deleted). Either way it is no longer served.
    Removed { id: Uuid, reason: Option<String> },
}

impl UserDelta {
    /// Reads one delta item.
    pub fn from_value(item: Value) -> Result<Self, GraphDataError> {
        let id = id_of(&item)?;
        match item.get("@removed") {
            Some(removed) if !removed.is_null() => {
                let reason = removed.get("reason").and_then(Value::as_str).map(str::to_string);
                Ok(Self::Removed { id, reason })
            }
            _ => Ok(Self::Upsert { id, properties: item }),
        }
    }

    pub fn id(&self) -> Uuid {
        match self {
            Self::Upsert { id, .. } | Self::Removed { id, .. } => *id,
        }
    }

    /// The user's state after this item, given its state before (`None`: unknown or removed).
    pub fn apply(&self, before: Option<GraphUser>) -> Result<Option<GraphUser>, GraphDataError> {
        match self {
            Self::Removed { .. } => Ok(None),
            Self::Upsert { id, properties } => {
                let mut user = before.unwrap_or_else(|| GraphUser::new(*id));
                user.merge_from(properties)?;
                Ok(Some(user))
            }
        }
    }
}

/// One `telephoneNumbers` entry of a Teams user configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignedTelephoneNumber {
    #[serde(default)]
    pub telephone_number: Option<String>,
    /// `primary`, `private` or `alternate`.
    #[serde(default)]
    pub assignment_category: Option<String>,
}

/// The policy instance behind an effective assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyAssignment {
    #[serde(default)]
    pub display_name: Option<String>,
    /// `direct` or `group`.
    #[serde(default)]
    pub assignment_type: Option<String>,
    #[serde(default)]
    pub policy_id: Option<String>,
    #[serde(default)]
    pub group_id: Option<String>,
}

/// One `effectivePolicyAssignments` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EffectivePolicyAssignment {
    #[serde(default)]
    pub policy_type: Option<String>,
    #[serde(default)]
    pub policy_assignment: Option<PolicyAssignment>,
}

/// A `teamsUserConfiguration` from `/admin/teams/userConfigurations`. Unknown properties are
/// ignored; `accountType` is kept as text because Graph's enum is evolvable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamsUserConfiguration {
    pub id: Uuid,
    #[serde(default)]
    pub user_principal_name: Option<String>,
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// `user`, `resourceAccount`, `guest`, `sfbOnPremUser`, `ineligibleUser`, `unknown`, ...
    #[serde(default)]
    pub account_type: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub feature_types: Vec<String>,
    #[serde(default)]
    pub is_enterprise_voice_enabled: Option<bool>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub telephone_numbers: Vec<AssignedTelephoneNumber>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub effective_policy_assignments: Vec<EffectivePolicyAssignment>,
}

impl TeamsUserConfiguration {
    /// A configuration for this user with every property empty.
    pub fn new(id: Uuid) -> Self {
        Self {
            id,
            user_principal_name: None,
            tenant_id: None,
            account_type: None,
            feature_types: Vec::new(),
            is_enterprise_voice_enabled: None,
            telephone_numbers: Vec::new(),
            effective_policy_assignments: Vec::new(),
        }
    }

    pub fn has_teams_feature(&self) -> bool {
        self.feature_types.iter().any(|f| f.eq_ignore_ascii_case(FEATURE_TEAMS))
    }

    fn account_type_is(&self, wanted: &str) -> bool {
        self.account_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case(wanted))
    }
}

/// Graph sends `null` for an empty collection now and then; read it as empty.
fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// Maps a Graph user and its Teams configuration (if Teams returned one) to the Live Platform
/// record, following the mapping table of `docs/mapping.md` (which gives the reasons):
///
/// | field | rule |
/// |---|---|
/// | Identity / ObjectId | `id`, lower / upper case |
/// | WebName, UserPrincipalName, Department, UsageLocation | from the user, as is |
/// | SipAddress | `sip_address_of` |
/// | LineURI | `line_uri_of` |
/// | EnterpriseVoiceEnabled | `isEnterpriseVoiceEnabled`, `false` without a configuration |
/// | OnlineVoiceRoutingPolicy | `voice_routing_policy_of` |
/// | UserType | `TeamsOnly` when `featureTypes` holds `Teams`, else `NoService` |
/// | HostingProvider | `sipfed.online.lync.com` for users homed in Teams (`is_teams_homed`), else null |
/// | MsInterpretedUserType | `interpreted_user_type` |
/// | TenantId | the service's tenant |
/// | Status, PsCount, CallForward, OnlinePstnGateway | `"----"`, 0, `""`, `""` |
/// | HybridPstnSiteName, RegistrarPool, IsManaged | null |
pub fn map_user(user: &GraphUser, config: Option<&TeamsUserConfiguration>, tenant_id: Uuid) -> EndUser {
    let mut out = EndUser::new(user.id);
    let teams_feature = config.is_some_and(TeamsUserConfiguration::has_teams_feature);
    out.sip_address = sip_address_of(&user.im_addresses);
    out.line_uri = config.and_then(|c| line_uri_of(&c.telephone_numbers));
    out.hosting_provider = is_teams_homed(user, config).then(|| TEAMS_HOSTING_PROVIDER.to_string());
    out.usage_location = user.usage_location.clone();
    out.web_name = user.display_name.clone();
    out.user_type = Some(
        if teams_feature {
            USER_TYPE_TEAMS_ONLY
        } else {
            USER_TYPE_NO_SERVICE
        }
        .to_string(),
    );
    out.department = user.department.clone();
    out.tenant_id = Some(tenant_id.hyphenated().to_string());
    out.user_principal_name = user.user_principal_name.clone();
    out.ms_interpreted_user_type = Some(interpreted_user_type(user, config).to_string());
    out.enterprise_voice_enabled = Some(config.and_then(|c| c.is_enterprise_voice_enabled).unwrap_or(false));
    out.online_voice_routing_policy = config
        .map(|c| voice_routing_policy_of(&c.effective_policy_assignments))
        .unwrap_or_default();
    out
}

/// `sip:` + the first non-blank `imAddresses` entry, lower case; `None` without one.
///
/// Graph keeps the address without its scheme; an entry that already carries `sip:` is not
/// given a second one.
pub fn sip_address_of(im_addresses: &[String]) -> Option<String> {
    let first = im_addresses.iter().map(|a| a.trim()).find(|a| !a.is_empty())?;
    let lower = first.to_lowercase();
    let bare = lower.strip_prefix("sip:").unwrap_or(&lower);
    Some(format!("sip:{bare}"))
}

/// `tel:` + the first `primary` telephone number; `None` without one.
///
/// Rule for the number's text: only surrounding blanks are trimmed and a leading `tel:` (any
/// case) is dropped so the scheme is not doubled; everything else is kept verbatim, so an
/// extension parameter survives (`+14255551297;ext=1234` → `tel:+14255551297;ext=1234`). Numbers
/// are not reformatted (Get-CsOnlineUser values drift in the wild and the raw value is what
/// operators recognise). `private` and `alternate` numbers are not the line URI: Get-CsOnlineUser
/// shows them elsewhere (PrivateLine), so a user with only those has no LineURI.
pub fn line_uri_of(numbers: &[AssignedTelephoneNumber]) -> Option<String> {
    numbers
        .iter()
        .filter(|n| {
            n.assignment_category
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case("primary"))
        })
        .filter_map(|n| n.telephone_number.as_deref().map(str::trim))
        .find(|n| !n.is_empty())
        .map(|number| {
            let bare = match number.get(..4) {
                Some(scheme) if scheme.eq_ignore_ascii_case("tel:") => &number[4..],
                _ => number,
            };
            format!("tel:{bare}")
        })
}

/// The display name of the effective `OnlineVoiceRoutingPolicy` assignment, else `""`.
///
/// A deliberate deviation from "the display name" (`docs/mapping.md`): the tenant default instance (`Global`, by display name or
/// policy id) maps to `""`, because Get-CsOnlineUser (and so the Live Platform) leaves the field
/// empty for users on the global policy; Graph's *effective* assignments list it explicitly.
pub fn voice_routing_policy_of(assignments: &[EffectivePolicyAssignment]) -> String {
    assignments
        .iter()
        .filter(|a| {
            a.policy_type
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case(POLICY_ONLINE_VOICE_ROUTING))
        })
        .filter_map(|a| a.policy_assignment.as_ref())
        .find_map(|p| {
            let name = p.display_name.as_deref().map(str::trim).filter(|n| !n.is_empty())?;
            let is_global = name.eq_ignore_ascii_case(GLOBAL_POLICY)
                || p.policy_id
                    .as_deref()
                    .is_some_and(|id| id.eq_ignore_ascii_case(GLOBAL_POLICY));
            (!is_global).then(|| name.to_string())
        })
        .unwrap_or_default()
}

/// Whether the user is homed in Teams, which is what `HostingProvider` reports: the Teams
/// feature is on, or a Teams / Skype Online plan was ever assigned.
///
/// The second half explains the seed's `PureOnlineTeamsOnlyUserWithNoService` row (Allan
/// Deyoung: HostingProvider set, UserType NoService, no SipAddress): a user whose licence was
/// removed keeps the plan in `assignedPlans` as `Deleted`, Teams drops the `Teams` feature (so
/// UserType is NoService) and Entra clears `imAddresses`, yet Get-CsOnlineUser still reports
/// the user as homed online.
pub fn is_teams_homed(user: &GraphUser, config: Option<&TeamsUserConfiguration>) -> bool {
    config.is_some_and(TeamsUserConfiguration::has_teams_feature) || user.has_teams_plan()
}

/// `MsInterpretedUserType`, first matching row wins:
///
/// | # | Graph data | value |
/// |---|---|---|
/// | 1 | accountType `resourceAccount` | `PureOnlineApplicationInstance` |
/// | 2 | accountType `sfbOnPremUser` | `HybridOnpremSfBUser` |
/// | 3 | `accountEnabled` false | `PureOnlineActiveDirectoryDisabledUser` |
/// | 4 | `featureTypes` holds `Teams` | `PureOnlineTeamsOnlyUser` |
/// | 5 | a Teams / Skype Online plan in `assignedPlans` (any status) | `PureOnlineTeamsOnlyUserWithNoService` |
/// | 6 | anything else | `PureOnlineUserWithNoService` |
///
/// Notes: resource accounts are created sign-in-disabled, hence row 1 before row 3. Guests,
/// `ineligibleUser`, `unknown`, `user` and users Teams returned no configuration for go through
/// rows 3 to 6 like members: Get-CsOnlineUser documents no guest-specific value, and a guest
/// with the Teams feature is served by Teams like any member. Every value is pure-online
/// because the `$select` carries no directory-sync information. Row 3 is an inference from the
/// community-documented value set (a cloud account with sign-in blocked).
pub fn interpreted_user_type(user: &GraphUser, config: Option<&TeamsUserConfiguration>) -> &'static str {
    if config.is_some_and(|c| c.account_type_is("resourceAccount")) {
        IUT_APPLICATION_INSTANCE
    } else if config.is_some_and(|c| c.account_type_is("sfbOnPremUser")) {
        IUT_ONPREM_SFB_USER
    } else if user.account_enabled == Some(false) {
        IUT_DISABLED_USER
    } else if config.is_some_and(TeamsUserConfiguration::has_teams_feature) {
        IUT_TEAMS_ONLY_USER
    } else if user.has_teams_plan() {
        IUT_TEAMS_ONLY_USER_WITH_NO_SERVICE
    } else {
        IUT_USER_WITH_NO_SERVICE
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    const TENANT: &str = "7e24d47c-eb72-439a-84e4-aea1bdb1eed9";

    fn tenant() -> Uuid {
        Uuid::parse_str(TENANT).unwrap()
    }

    fn plan(service: &str, status: &str) -> AssignedPlan {
        AssignedPlan {
            assigned_date_time: Some("2023-01-01T00:00:00Z".into()),
            capability_status: Some(status.into()),
            service: Some(service.into()),
            service_plan_id: Some("57ff2da0-773e-42df-b2af-ffb7a2317929".into()),
        }
    }

    fn megan() -> GraphUser {
        serde_json::from_value(json!({
            "id": "04B6AA84-EB73-4F46-BA4A-200F86A2563A",
            "displayName": "Megan Bowen",
            "userPrincipalName": "MeganB@M365x33712745.OnMicrosoft.com",
            "department": null,
            "usageLocation": "US",
            "imAddresses": ["MeganB@M365x33712745.OnMicrosoft.com"],
            "accountEnabled": true,
            "assignedPlans": [{"assignedDateTime": "2023-01-01T00:00:00Z", "capabilityStatus": "Enabled",
                               "service": "TeamspaceAPI", "servicePlanId": "57ff2da0-773e-42df-b2af-ffb7a2317929"}],
            "mail": "ignored@example.com"
        }))
        .unwrap()
    }

    fn teams_config(id: Uuid) -> TeamsUserConfiguration {
        serde_json::from_value(json!({
            "id": id.to_string(),
            "userPrincipalName": "MeganB@M365x33712745.OnMicrosoft.com",
            "tenantId": TENANT,
            "accountType": "user",
            "featureTypes": ["Teams", "AudioConferencing"],
            "isEnterpriseVoiceEnabled": false,
            "telephoneNumbers": [],
            "effectivePolicyAssignments": [],
            "createdDateTime": "2025-01-07T09:08:50.9115993Z"
        }))
        .unwrap()
    }

    /// Three rows of `testdata/seed-example-page1.json`, verbatim.
    const SEED_ROWS: &str = r#"[{"Identity": "04b6aa84-eb73-4f46-ba4a-200f86a2563a", "Status": "----", "SipAddress": "sip:meganb@m365x33712745.onmicrosoft.com", "LineURI": null, "HostingProvider": "sipfed.online.lync.com", "HybridPstnSiteName": null, "UsageLocation": "US", "RegistrarPool": null, "CallForward": "", "ObjectId": "04B6AA84-EB73-4F46-BA4A-200F86A2563A", "WebName": "Megan Bowen", "UserType": "TeamsOnly", "PsCount": 0, "IsManaged": null, "Department": null, "TenantId": "7e24d47c-eb72-439a-84e4-aea1bdb1eed9", "UserPrincipalName": "MeganB@M365x33712745.OnMicrosoft.com", "MsInterpretedUserType": "PureOnlineTeamsOnlyUser", "EnterpriseVoiceEnabled": false, "OnlineVoiceRoutingPolicy": "", "OnlinePstnGateway": ""}, {"Identity": "0a7db8a7-ef2d-4794-81e1-518fb15770d1", "Status": "----", "SipAddress": null, "LineURI": null, "HostingProvider": null, "HybridPstnSiteName": null, "UsageLocation": "US", "RegistrarPool": null, "CallForward": "", "ObjectId": "0A7DB8A7-EF2D-4794-81E1-518FB15770D1", "WebName": "Mallory Cortez", "UserType": "NoService", "PsCount": 0, "IsManaged": null, "Department": null, "TenantId": "7e24d47c-eb72-439a-84e4-aea1bdb1eed9", "UserPrincipalName": "MalloryC@M365x33712745.OnMicrosoft.com", "MsInterpretedUserType": "PureOnlineUserWithNoService", "EnterpriseVoiceEnabled": false, "OnlineVoiceRoutingPolicy": "", "OnlinePstnGateway": ""}, {"Identity": "47d18bc6-4919-4ab7-9661-5f1be0630155", "Status": "----", "SipAddress": null, "LineURI": null, "HostingProvider": "sipfed.online.lync.com", "HybridPstnSiteName": null, "UsageLocation": "US", "RegistrarPool": null, "CallForward": "", "ObjectId": "47D18BC6-4919-4AB7-9661-5F1BE0630155", "WebName": "Allan Deyoung", "UserType": "NoService", "PsCount": 0, "IsManaged": null, "Department": null, "TenantId": "7e24d47c-eb72-439a-84e4-aea1bdb1eed9", "UserPrincipalName": "AllanD@M365x33712745.OnMicrosoft.com", "MsInterpretedUserType": "PureOnlineTeamsOnlyUserWithNoService", "EnterpriseVoiceEnabled": false, "OnlineVoiceRoutingPolicy": "", "OnlinePstnGateway": ""}]"#;

    fn seed_row(identity: &str) -> EndUser {
        let rows: Vec<Value> = serde_json::from_str(SEED_ROWS).unwrap();
        let row = rows.into_iter().find(|r| r["Identity"] == identity).unwrap();
        serde_json::from_value(row).unwrap()
    }

    #[test]
    fn licensed_teams_user_matches_the_seed_row() {
        let user = megan();
        let config = teams_config(user.id);
        let mapped = map_user(&user, Some(&config), tenant());
        assert_eq!(mapped, seed_row("04b6aa84-eb73-4f46-ba4a-200f86a2563a"));
    }

    #[test]
    fn identity_is_lower_and_object_id_upper() {
        let mapped = map_user(&megan(), None, tenant());
        let json: Value = serde_json::from_str(&mapped.render_json()).unwrap();
        assert_eq!(json["Identity"], "04b6aa84-eb73-4f46-ba4a-200f86a2563a");
        assert_eq!(json["ObjectId"], "04B6AA84-EB73-4F46-BA4A-200F86A2563A");
    }

    #[test]
    fn user_fields_are_copied() {
        let mut user = megan();
        user.department = Some("Sales".into());
        user.usage_location = Some("GB".into());
        let mapped = map_user(&user, None, tenant());
        assert_eq!(mapped.web_name.as_deref(), Some("Megan Bowen"));
        assert_eq!(
            mapped.user_principal_name.as_deref(),
            Some("MeganB@M365x33712745.OnMicrosoft.com")
        );
        assert_eq!(mapped.department.as_deref(), Some("Sales"));
        assert_eq!(mapped.usage_location.as_deref(), Some("GB"));
        assert_eq!(mapped.tenant_id.as_deref(), Some(TENANT));
    }

    #[test]
    fn constant_fields() {
        let mapped = map_user(&megan(), Some(&teams_config(megan().id)), tenant());
        assert_eq!(mapped.status, "----");
        assert_eq!(mapped.ps_count, 0);
        assert_eq!(mapped.call_forward, "");
        assert_eq!(mapped.online_pstn_gateway, "");
        assert_eq!(mapped.hybrid_pstn_site_name, None);
        assert_eq!(mapped.registrar_pool, None);
        assert_eq!(mapped.is_managed, None);
    }

    #[test]
    fn sip_address_is_first_im_address_lower_case() {
        let mapped = map_user(&megan(), None, tenant());
        assert_eq!(
            mapped.sip_address.as_deref(),
            Some("sip:meganb@m365x33712745.onmicrosoft.com")
        );
        let two = vec!["  ".to_string(), "A@B.com".to_string(), "c@d.com".to_string()];
        assert_eq!(sip_address_of(&two).as_deref(), Some("sip:a@b.com"));
        assert_eq!(
            sip_address_of(&["SIP:X@Y.com".to_string()]).as_deref(),
            Some("sip:x@y.com")
        );
    }

    #[test]
    fn no_im_addresses_means_no_sip_address() {
        let mut user = megan();
        user.im_addresses.clear();
        assert_eq!(map_user(&user, None, tenant()).sip_address, None);
    }

    #[test]
    fn user_without_teams_configuration() {
        let user: GraphUser = serde_json::from_value(json!({
            "id": "0a7db8a7-ef2d-4794-81e1-518fb15770d1",
            "displayName": "Mallory Cortez",
            "userPrincipalName": "MalloryC@M365x33712745.OnMicrosoft.com",
            "usageLocation": "US",
            "imAddresses": [],
            "accountEnabled": true,
            "assignedPlans": []
        }))
        .unwrap();
        let mapped = map_user(&user, None, tenant());
        assert_eq!(mapped, seed_row("0a7db8a7-ef2d-4794-81e1-518fb15770d1"));
        assert_eq!(mapped.user_type.as_deref(), Some("NoService"));
        assert_eq!(mapped.hosting_provider, None);
        assert_eq!(mapped.enterprise_voice_enabled, Some(false));
        assert_eq!(mapped.line_uri, None);
        assert_eq!(mapped.online_voice_routing_policy, "");
    }

    #[test]
    fn lapsed_teams_licence_gives_the_seed_no_service_row() {
        let mut user = GraphUser::new(Uuid::parse_str("47d18bc6-4919-4ab7-9661-5f1be0630155").unwrap());
        user.display_name = Some("Allan Deyoung".into());
        user.user_principal_name = Some("AllanD@M365x33712745.OnMicrosoft.com".into());
        user.usage_location = Some("US".into());
        user.account_enabled = Some(true);
        user.assigned_plans = vec![
            plan("TeamspaceAPI", "Deleted"),
            plan("MicrosoftCommunicationsOnline", "Deleted"),
        ];
        let mut config = teams_config(user.id);
        config.feature_types.clear();
        let mapped = map_user(&user, Some(&config), tenant());
        assert_eq!(mapped, seed_row("47d18bc6-4919-4ab7-9661-5f1be0630155"));
    }

    #[test]
    fn user_type_follows_the_teams_feature() {
        let user = megan();
        let mut config = teams_config(user.id);
        assert_eq!(
            map_user(&user, Some(&config), tenant()).user_type.as_deref(),
            Some("TeamsOnly")
        );
        config.feature_types = vec!["AudioConferencing".into()];
        assert_eq!(
            map_user(&user, Some(&config), tenant()).user_type.as_deref(),
            Some("NoService")
        );
        config.feature_types = vec!["teams".into()];
        assert_eq!(
            map_user(&user, Some(&config), tenant()).user_type.as_deref(),
            Some("TeamsOnly")
        );
    }

    #[test]
    fn hosting_provider_only_for_teams_homed_users() {
        let mut user = megan();
        let config = teams_config(user.id);
        assert_eq!(
            map_user(&user, Some(&config), tenant()).hosting_provider.as_deref(),
            Some("sipfed.online.lync.com")
        );
        user.assigned_plans = vec![plan("exchange", "Enabled")];
        assert_eq!(map_user(&user, None, tenant()).hosting_provider, None);
        user.assigned_plans
            .push(plan("MicrosoftCommunicationsOnline", "Suspended"));
        assert_eq!(
            map_user(&user, None, tenant()).hosting_provider.as_deref(),
            Some("sipfed.online.lync.com")
        );
    }

    #[test]
    fn resource_account() {
        let mut user = GraphUser::new(Uuid::new_v4());
        user.display_name = Some("Main Auto Attendant".into());
        user.account_enabled = Some(false);
        user.im_addresses = vec!["ra_main@contoso.onmicrosoft.com".into()];
        user.assigned_plans = vec![plan("MicrosoftCommunicationsOnline", "Enabled")];
        let mut config = teams_config(user.id);
        config.account_type = Some("resourceAccount".into());
        config.feature_types = vec!["PhoneSystemVirtualUser".into(), "Teams".into()];
        config.is_enterprise_voice_enabled = Some(true);
        config.telephone_numbers = vec![AssignedTelephoneNumber {
            telephone_number: Some("+14255550100".into()),
            assignment_category: Some("primary".into()),
        }];
        let mapped = map_user(&user, Some(&config), tenant());
        assert_eq!(
            mapped.ms_interpreted_user_type.as_deref(),
            Some("PureOnlineApplicationInstance")
        );
        assert_eq!(mapped.user_type.as_deref(), Some("TeamsOnly"));
        assert_eq!(mapped.hosting_provider.as_deref(), Some("sipfed.online.lync.com"));
        assert_eq!(mapped.line_uri.as_deref(), Some("tel:+14255550100"));
        assert_eq!(mapped.enterprise_voice_enabled, Some(true));
    }

    #[test]
    fn guest() {
        let mut user = GraphUser::new(Uuid::new_v4());
        user.user_principal_name = Some("pat_fabrikam.com#EXT#@contoso.onmicrosoft.com".into());
        user.account_enabled = Some(true);
        let mut config = teams_config(user.id);
        config.account_type = Some("guest".into());
        config.feature_types.clear();
        let mapped = map_user(&user, Some(&config), tenant());
        assert_eq!(
            mapped.ms_interpreted_user_type.as_deref(),
            Some("PureOnlineUserWithNoService")
        );
        assert_eq!(mapped.user_type.as_deref(), Some("NoService"));
        assert_eq!(mapped.hosting_provider, None);
        config.feature_types = vec!["Teams".into()];
        let mapped = map_user(&user, Some(&config), tenant());
        assert_eq!(
            mapped.ms_interpreted_user_type.as_deref(),
            Some("PureOnlineTeamsOnlyUser")
        );
    }

    #[test]
    fn interpreted_user_type_table() {
        let mut user = megan();
        let mut config = teams_config(user.id);
        assert_eq!(interpreted_user_type(&user, Some(&config)), IUT_TEAMS_ONLY_USER);
        config.account_type = Some("sfbOnPremUser".into());
        assert_eq!(interpreted_user_type(&user, Some(&config)), IUT_ONPREM_SFB_USER);
        config.account_type = Some("ineligibleUser".into());
        config.feature_types.clear();
        assert_eq!(
            interpreted_user_type(&user, Some(&config)),
            IUT_TEAMS_ONLY_USER_WITH_NO_SERVICE
        );
        user.assigned_plans.clear();
        assert_eq!(interpreted_user_type(&user, Some(&config)), IUT_USER_WITH_NO_SERVICE);
        user.account_enabled = Some(false);
        assert_eq!(interpreted_user_type(&user, Some(&config)), IUT_DISABLED_USER);
        assert_eq!(interpreted_user_type(&user, None), IUT_DISABLED_USER);
        config.account_type = Some("somethingNew".into());
        user.account_enabled = None;
        assert_eq!(interpreted_user_type(&user, Some(&config)), IUT_USER_WITH_NO_SERVICE);
    }

    #[test]
    fn line_uri_from_primary_number() {
        let numbers = vec![
            AssignedTelephoneNumber {
                telephone_number: Some("+13235550001".into()),
                assignment_category: Some("private".into()),
            },
            AssignedTelephoneNumber {
                telephone_number: Some("+13235533696".into()),
                assignment_category: Some("primary".into()),
            },
        ];
        assert_eq!(line_uri_of(&numbers).as_deref(), Some("tel:+13235533696"));
        assert_eq!(line_uri_of(&numbers[..1]), None);
        assert_eq!(line_uri_of(&[]), None);
    }

    #[test]
    fn line_uri_keeps_the_extension() {
        let numbers = vec![AssignedTelephoneNumber {
            telephone_number: Some(" +14255551297;ext=1234 ".into()),
            assignment_category: Some("Primary".into()),
        }];
        assert_eq!(line_uri_of(&numbers).as_deref(), Some("tel:+14255551297;ext=1234"));
        let with_scheme = vec![AssignedTelephoneNumber {
            telephone_number: Some("TEL:+14255551297;ext=9".into()),
            assignment_category: Some("primary".into()),
        }];
        assert_eq!(line_uri_of(&with_scheme).as_deref(), Some("tel:+14255551297;ext=9"));
    }

    #[test]
    fn voice_routing_policy_present_and_absent() {
        let mut config: TeamsUserConfiguration = serde_json::from_value(json!({
            "id": "22a79328-9325-4bb8-b549-5731446a2a24",
            "effectivePolicyAssignments": [
                {"policyType": "TeamsCallingPolicy",
                 "policyAssignment": {"displayName": "AllOn", "assignmentType": "group", "policyId": "x", "groupId": "g"}},
                {"policyType": "OnlineVoiceRoutingPolicy",
                 "policyAssignment": {"displayName": "US-Unrestricted", "assignmentType": "direct", "policyId": "Tag:US-Unrestricted"}}
            ]
        }))
        .unwrap();
        let user = GraphUser::new(config.id);
        assert_eq!(
            map_user(&user, Some(&config), tenant()).online_voice_routing_policy,
            "US-Unrestricted"
        );
        config.effective_policy_assignments.remove(1);
        assert_eq!(map_user(&user, Some(&config), tenant()).online_voice_routing_policy, "");
        assert_eq!(map_user(&user, None, tenant()).online_voice_routing_policy, "");
    }

    #[test]
    fn global_voice_routing_policy_is_empty() {
        let assignments = vec![EffectivePolicyAssignment {
            policy_type: Some("OnlineVoiceRoutingPolicy".into()),
            policy_assignment: Some(PolicyAssignment {
                display_name: Some("Global".into()),
                assignment_type: Some("direct".into()),
                policy_id: Some("Global".into()),
                group_id: None,
            }),
        }];
        assert_eq!(voice_routing_policy_of(&assignments), "");
    }

    #[test]
    fn enterprise_voice_comes_from_the_configuration() {
        let user = megan();
        let mut config = teams_config(user.id);
        config.is_enterprise_voice_enabled = Some(true);
        assert_eq!(
            map_user(&user, Some(&config), tenant()).enterprise_voice_enabled,
            Some(true)
        );
        config.is_enterprise_voice_enabled = None;
        assert_eq!(
            map_user(&user, Some(&config), tenant()).enterprise_voice_enabled,
            Some(false)
        );
    }

    #[test]
    fn nulls_in_collections_read_as_empty() {
        let user: GraphUser =
            serde_json::from_value(json!({"id": Uuid::nil(), "imAddresses": null, "assignedPlans": null})).unwrap();
        assert!(user.im_addresses.is_empty() && user.assigned_plans.is_empty());
        let config: TeamsUserConfiguration =
            serde_json::from_value(json!({"id": Uuid::nil(), "featureTypes": null, "telephoneNumbers": null})).unwrap();
        assert!(config.feature_types.is_empty() && config.telephone_numbers.is_empty());
    }

    #[test]
    fn merge_keeps_absent_and_clears_null() {
        let mut user = megan();
        user.department = Some("Retail".into());
        user.merge_from(&json!({
            "id": "04b6aa84-eb73-4f46-ba4a-200f86a2563a",
            "displayName": "Megan B.",
            "department": null,
            "imAddresses": [],
            "somethingElse@delta": [],
        }))
        .unwrap();
        assert_eq!(user.display_name.as_deref(), Some("Megan B."));
        assert_eq!(user.department, None);
        assert!(user.im_addresses.is_empty());
        assert_eq!(user.usage_location.as_deref(), Some("US"));
        assert_eq!(user.account_enabled, Some(true));
        assert_eq!(user.assigned_plans.len(), 1);
        let again = user.clone();
        user.merge_from(&json!({"id": "04b6aa84-eb73-4f46-ba4a-200f86a2563a", "displayName": "Megan B."}))
            .unwrap();
        assert_eq!(user, again);
    }

    #[test]
    fn merge_refuses_another_id_and_bad_types() {
        let mut user = megan();
        let other = json!({"id": "0a7db8a7-ef2d-4794-81e1-518fb15770d1", "displayName": "x"});
        assert!(matches!(
            user.merge_from(&other),
            Err(GraphDataError::IdMismatch { .. })
        ));
        let bad = json!({"accountEnabled": "yes"});
        assert!(matches!(user.merge_from(&bad), Err(GraphDataError::InvalidProperty(_))));
        assert_eq!(user, megan());
        assert_eq!(user.merge_from(&json!([1])), Err(GraphDataError::NotAnObject));
    }

    #[test]
    fn delta_items() {
        let removed = UserDelta::from_value(json!({
            "id": "04b6aa84-eb73-4f46-ba4a-200f86a2563a", "@removed": {"reason": "deleted"}
        }))
        .unwrap();
        assert_eq!(
            removed,
            UserDelta::Removed {
                id: megan().id,
                reason: Some("deleted".into())
            }
        );
        assert_eq!(removed.apply(Some(megan())).unwrap(), None);

        let changed =
            UserDelta::from_value(json!({"id": "04b6aa84-eb73-4f46-ba4a-200f86a2563a", "usageLocation": "DE"}))
                .unwrap();
        assert_eq!(changed.id(), megan().id);
        let after = changed.apply(Some(megan())).unwrap().unwrap();
        assert_eq!(after.usage_location.as_deref(), Some("DE"));
        assert_eq!(after.display_name.as_deref(), Some("Megan Bowen"));
        let fresh = changed.apply(None).unwrap().unwrap();
        assert_eq!(fresh.display_name, None);
        assert_eq!(fresh.usage_location.as_deref(), Some("DE"));

        assert_eq!(
            UserDelta::from_value(json!({"displayName": "x"})),
            Err(GraphDataError::MissingId)
        );
        assert_eq!(
            UserDelta::from_value(json!({"id": "nope"})),
            Err(GraphDataError::InvalidId)
        );
    }

    #[test]
    fn from_partial_and_serialization_round_trip() {
        let user = GraphUser::from_partial(&serde_json::to_value(megan()).unwrap()).unwrap();
        assert_eq!(user, megan());
        let json = serde_json::to_value(&user).unwrap();
        assert!(json.get("@removed").is_none());
        assert_eq!(json["imAddresses"][0], "MeganB@M365x33712745.OnMicrosoft.com");
    }
}
