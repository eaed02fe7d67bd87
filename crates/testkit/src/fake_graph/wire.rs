//! Graph's JSON for the fake's records, written out property by property with Graph's own
//! names rather than derived from the production structs' serde attributes (so a wrong
//! attribute there is caught, not mirrored), and the request options that shape it: `$select`
//! and `Prefer: include-unknown-enum-members`. The hand-written fixtures in
//! `testdata/graph/` pin this module to Graph's documented format.

use domain::graph_mapping::{GraphUser, TeamsUserConfiguration};
use serde_json::{json, Map, Value};

use super::state::Reply;

/// Every `user` property the fake can return, with Graph's spelling.
const USER_PROPERTIES: [&str; 17] = [
    "id",
    "displayName",
    "userPrincipalName",
    "department",
    "usageLocation",
    "imAddresses",
    "accountEnabled",
    "assignedPlans",
    "onPremisesSyncEnabled",
    "businessPhones",
    "givenName",
    "surname",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
];

/// What Graph v1.0 returns for a `user` when the request has no `$select`: none of the
/// properties the Live Platform fields come from besides the names.
const DEFAULT_USER_PROPERTIES: [&str; 11] = [
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
];

/// Every property of `user` the fake models, by Graph name. Properties of the default set the
/// generator does not model are empty, as for an account without them.
pub(crate) fn user_properties(user: &GraphUser) -> Map<String, Value> {
    let plans: Vec<Value> = user
        .assigned_plans
        .iter()
        .map(|plan| {
            json!({
                "assignedDateTime": plan.assigned_date_time,
                "capabilityStatus": plan.capability_status,
                "service": plan.service,
                "servicePlanId": plan.service_plan_id,
            })
        })
        .collect();
    let mut map = Map::new();
    map.insert("id".into(), json!(user.id));
    map.insert("displayName".into(), json!(user.display_name));
    map.insert("userPrincipalName".into(), json!(user.user_principal_name));
    map.insert("department".into(), json!(user.department));
    map.insert("usageLocation".into(), json!(user.usage_location));
    map.insert("imAddresses".into(), json!(user.im_addresses));
    map.insert("accountEnabled".into(), json!(user.account_enabled));
    map.insert("assignedPlans".into(), Value::Array(plans));
    map.insert("onPremisesSyncEnabled".into(), json!(user.on_premises_sync_enabled));
    map.insert("businessPhones".into(), json!([]));
    for empty in [
        "givenName",
        "surname",
        "jobTitle",
        "mail",
        "mobilePhone",
        "officeLocation",
        "preferredLanguage",
    ] {
        map.insert(empty.into(), Value::Null);
    }
    map
}

/// A `/users/delta` item for a user that left (`reason` `changed` or `deleted`).
pub(crate) fn removed_item(id: uuid::Uuid, reason: &str) -> Value {
    json!({"id": id, "@removed": {"reason": reason}})
}

/// The `user` properties a request asked for with `$select` (Graph's default set without
/// one). `id` always comes back, as Graph does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Selection(Vec<&'static str>);

impl Selection {
    /// Reads `$select`; an unknown property is Graph's 400.
    pub(crate) fn parse(select: Option<&str>) -> Result<Self, Reply> {
        let Some(select) = select else {
            return Ok(Self(DEFAULT_USER_PROPERTIES.to_vec()));
        };
        let mut names = vec!["id"];
        for asked in select.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let Some(known) = USER_PROPERTIES.iter().find(|p| p.eq_ignore_ascii_case(asked)) else {
                return Err(Reply::graph_error(
                    400,
                    "Request_BadRequest",
                    &format!("Could not find a property named '{asked}' on type 'microsoft.graph.user'."),
                ));
            };
            if !names.contains(known) {
                names.push(known);
            }
        }
        Ok(Self(names))
    }

    /// The selection as `$select` text (kept in paging cursors, shown in `@odata.context`).
    pub(crate) fn text(&self) -> String {
        self.0.join(",")
    }

    pub(crate) fn contains(&self, property: &str) -> bool {
        self.0.contains(&property)
    }

    /// The selected properties of `all`.
    pub(crate) fn project(&self, all: &Map<String, Value>) -> Map<String, Value> {
        self.0
            .iter()
            .filter_map(|name| Some(((*name).to_string(), all.get(*name)?.clone())))
            .collect()
    }
}

/// What the `Prefer` header asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ListingOptions {
    /// `include-unknown-enum-members`: evolvable enum members added after
    /// `unknownFutureValue` (accountType `ineligibleUser`) are sent as themselves instead of as
    /// `unknownFutureValue`.
    pub(crate) unknown_enum_members: bool,
}

impl ListingOptions {
    pub(crate) fn from_prefer<'a>(values: impl Iterator<Item = &'a str>) -> Self {
        let unknown_enum_members = values
            .flat_map(|value| value.split(','))
            .any(|preference| preference.trim().eq_ignore_ascii_case("include-unknown-enum-members"));
        Self { unknown_enum_members }
    }
}

/// `accountType` members Graph added after `unknownFutureValue`.
const EVOLVED_ACCOUNT_TYPES: [&str; 1] = ["ineligibleUser"];

/// A `teamsUserConfiguration` as Graph sends it.
pub(crate) fn configuration_json(config: &TeamsUserConfiguration, options: ListingOptions) -> Value {
    let account_type = config.account_type.as_deref().map(|t| {
        if !options.unknown_enum_members && EVOLVED_ACCOUNT_TYPES.contains(&t) {
            "unknownFutureValue"
        } else {
            t
        }
    });
    let numbers: Vec<Value> = config
        .telephone_numbers
        .iter()
        .map(|n| json!({"telephoneNumber": n.telephone_number, "assignmentCategory": n.assignment_category}))
        .collect();
    let policies: Vec<Value> = config
        .effective_policy_assignments
        .iter()
        .map(|a| {
            let assignment = a.policy_assignment.as_ref().map(|p| {
                json!({
                    "displayName": p.display_name,
                    "assignmentType": p.assignment_type,
                    "policyId": p.policy_id,
                    "groupId": p.group_id,
                })
            });
            json!({"policyType": a.policy_type, "policyAssignment": assignment})
        })
        .collect();
    json!({
        "id": config.id,
        "userPrincipalName": config.user_principal_name,
        "tenantId": config.tenant_id,
        "accountType": account_type,
        "createdDateTime": "2024-03-01T08:00:00Z",
        "modifiedDateTime": "2024-03-01T08:00:00Z",
        "featureTypes": config.feature_types,
        "isEnterpriseVoiceEnabled": config.is_enterprise_voice_enabled,
        "telephoneNumbers": numbers,
        "effectivePolicyAssignments": policies,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SELECT: &str =
        "id,displayName,userPrincipalName,department,usageLocation,imAddresses,accountEnabled,assignedPlans";

    fn items(page: &str) -> Vec<Value> {
        let page: Value = serde_json::from_str(page).unwrap();
        page["value"].as_array().unwrap().clone()
    }

    /// The fake writes users as the hand-written Graph pages show them.
    #[test]
    fn users_are_written_as_graph_writes_them() {
        let selection = Selection::parse(Some(SELECT)).unwrap();
        let pages = [
            include_str!("../../../../testdata/graph/users-page.json"),
            include_str!("../../../../testdata/graph/users-delta-first-round.json"),
        ];
        for item in pages.iter().flat_map(|page| items(page)) {
            let user: GraphUser = serde_json::from_value(item.clone()).unwrap();
            assert_eq!(Value::Object(selection.project(&user_properties(&user))), item);
        }
        let changes = items(include_str!("../../../../testdata/graph/users-delta-changes.json"));
        for removal in &changes[1..] {
            let id = uuid::Uuid::parse_str(removal["id"].as_str().unwrap()).unwrap();
            let reason = removal["@removed"]["reason"].as_str().unwrap();
            assert_eq!(&removed_item(id, reason), removal);
        }
    }

    /// And configurations too, with `ineligibleUser` only for clients that asked for it.
    #[test]
    fn configurations_are_written_as_graph_writes_them() {
        let asked = ListingOptions {
            unknown_enum_members: true,
        };
        for mut item in items(include_str!(
            "../../../../testdata/graph/teams-user-configurations-page.json"
        )) {
            let config: TeamsUserConfiguration = serde_json::from_value(item.clone()).unwrap();
            let mut written = configuration_json(&config, asked);
            for timestamp in ["createdDateTime", "modifiedDateTime"] {
                assert!(written[timestamp].is_string() && item[timestamp].is_string());
                written[timestamp] = Value::Null;
                item[timestamp] = Value::Null;
            }
            assert_eq!(written, item);
            let plain = configuration_json(&config, ListingOptions::default());
            match item["accountType"].as_str() {
                Some("ineligibleUser") => assert_eq!(plain["accountType"], "unknownFutureValue"),
                other => assert_eq!(plain["accountType"].as_str(), other),
            }
        }
    }

    #[test]
    fn select_is_checked_and_id_always_returned() {
        let selection = Selection::parse(Some("DisplayName,department,displayName")).unwrap();
        assert_eq!(selection.text(), "id,displayName,department");
        assert_eq!(Selection::parse(Some("displayName,nope")).unwrap_err().status, 400);
        let default = Selection::parse(None).unwrap();
        assert!(default.contains("displayName") && !default.contains("imAddresses"));
    }

    #[test]
    fn prefer_is_read_from_any_value() {
        let none = ListingOptions::from_prefer(["return=minimal"].into_iter());
        assert!(!none.unknown_enum_members);
        let asked = ListingOptions::from_prefer(["odata.maxpagesize=5, Include-Unknown-Enum-Members"].into_iter());
        assert!(asked.unknown_enum_members);
    }
}
