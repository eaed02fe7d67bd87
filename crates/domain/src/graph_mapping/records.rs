//! The Microsoft Graph records the sync reads (`/users`, `/users/delta`,
//! `/admin/teams/userConfigurations`) and the delta merge of a user.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// The `$select` list the sync reads from `/users` and `/users/delta`; every property
/// `GraphUser` carries.
pub const USER_SELECT: [&str; 9] = [
    "id",
    "displayName",
    "userPrincipalName",
    "department",
    "usageLocation",
    "imAddresses",
    "accountEnabled",
    "assignedPlans",
    "onPremisesSyncEnabled",
];

/// The version of [`USER_SELECT`], stored with every delta link. A delta link remembers the
/// `$select` of the round that made it, so a link made before properties were added would
/// never report them: when this number is above the stored one, the next round is a full one.
/// Bump it whenever `USER_SELECT` gains a property.
///
/// | version | change |
/// |---|---|
/// | 1 | the first eight properties (links stored without a version are version 1) |
/// | 2 | `onPremisesSyncEnabled` (hybrid users, issue 9) |
pub const USER_SELECT_VERSION: u32 = 2;

/// The `$select` list the sync reads from `/admin/teams/userConfigurations`: only what the
/// mapping uses (every property `TeamsUserConfiguration` carries besides `userPrincipalName`
/// and `tenantId`, which the mapping never reads).
pub const CONFIGURATION_SELECT: [&str; 6] = [
    "id",
    "accountType",
    "featureTypes",
    "isEnterpriseVoiceEnabled",
    "telephoneNumbers",
    "effectivePolicyAssignments",
];

/// The Teams feature in `featureTypes`.
const FEATURE_TEAMS: &str = "Teams";
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
    /// `true` for users synced from an on-premises Active Directory; `false` for users once
    /// synced and no longer; `null` for cloud-only users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_premises_sync_enabled: Option<bool>,
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
            on_premises_sync_enabled: None,
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

    /// Whether the user is synced from an on-premises Active Directory now
    /// (`onPremisesSyncEnabled` true; `false` means it was once and no longer is).
    pub fn is_directory_synced(&self) -> bool {
        self.on_premises_sync_enabled == Some(true)
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

    pub(crate) fn account_type_is(&self, wanted: &str) -> bool {
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
