//! The client's records against hand-written Graph JSON (`testdata/graph/`): every record type
//! reads with the right property names, and the users map to the Live Platform records worked
//! out by hand.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use domain::graph_mapping::map_user;
use graph::{GraphUser, PageItem, TeamsUserConfiguration, UserDelta};
use serde_json::Value;
use uuid::Uuid;

const TENANT: Uuid = Uuid::from_u128(0x7e24d47c_eb72_439a_84e4_aea1bdb1eed9);

fn items(page: &str) -> Vec<Value> {
    let page: Value = serde_json::from_str(page).unwrap();
    page["value"].as_array().unwrap().clone()
}

fn users_page() -> Vec<GraphUser> {
    items(include_str!("../../../testdata/graph/users-page.json"))
        .into_iter()
        .map(|item| GraphUser::from_graph(item).unwrap())
        .collect()
}

fn first_round() -> Vec<UserDelta> {
    items(include_str!("../../../testdata/graph/users-delta-first-round.json"))
        .into_iter()
        .map(|item| UserDelta::from_graph(item).unwrap())
        .collect()
}

fn configurations() -> Vec<TeamsUserConfiguration> {
    items(include_str!(
        "../../../testdata/graph/teams-user-configurations-page.json"
    ))
    .into_iter()
    .map(|item| TeamsUserConfiguration::from_graph(item).unwrap())
    .collect()
}

fn expected(identity: &str) -> String {
    let all: Vec<Value> =
        serde_json::from_str(include_str!("../../../testdata/graph/expected-end-users.json")).unwrap();
    let record = all.into_iter().find(|r| r["Identity"] == identity).unwrap();
    serde_json::to_string(&record).unwrap()
}

fn configuration_of(id: Uuid) -> Option<TeamsUserConfiguration> {
    configurations().into_iter().find(|c| c.id == id)
}

#[test]
fn users_read_every_selected_property() {
    let users = users_page();
    let megan = &users[0];
    assert_eq!(
        megan.id,
        Uuid::parse_str("04b6aa84-eb73-4f46-ba4a-200f86a2563a").unwrap()
    );
    assert_eq!(megan.display_name.as_deref(), Some("Megan Bowen"));
    assert_eq!(
        megan.user_principal_name.as_deref(),
        Some("MeganB@M365x33712745.OnMicrosoft.com")
    );
    assert_eq!(megan.department.as_deref(), Some("Marketing"));
    assert_eq!(megan.usage_location.as_deref(), Some("US"));
    assert_eq!(megan.im_addresses, ["MeganB@M365x33712745.OnMicrosoft.com"]);
    assert_eq!(megan.account_enabled, Some(true));
    assert_eq!(megan.assigned_plans.len(), 2);
    let plan = &megan.assigned_plans[1];
    assert_eq!(plan.service.as_deref(), Some("TeamspaceAPI"));
    assert_eq!(plan.capability_status.as_deref(), Some("Enabled"));
    assert_eq!(
        plan.service_plan_id.as_deref(),
        Some("57ff2da0-773e-42df-b2af-ffb7a2317929")
    );
    assert_eq!(plan.assigned_date_time.as_deref(), Some("2023-11-02T08:15:00Z"));
    let guest = &users[1];
    assert_eq!(
        (guest.department.as_deref(), guest.usage_location.as_deref()),
        (None, None)
    );
    assert!(guest.im_addresses.is_empty() && guest.assigned_plans.is_empty());
}

#[test]
fn configurations_read_every_property() {
    let all = configurations();
    let megan = &all[0];
    assert_eq!(megan.account_type.as_deref(), Some("user"));
    assert_eq!(megan.tenant_id.as_deref(), Some("7e24d47c-eb72-439a-84e4-aea1bdb1eed9"));
    assert_eq!(
        megan.user_principal_name.as_deref(),
        Some("MeganB@M365x33712745.OnMicrosoft.com")
    );
    assert_eq!(megan.feature_types, ["Teams", "PhoneSystem", "AudioConferencing"]);
    assert_eq!(megan.is_enterprise_voice_enabled, Some(true));
    assert_eq!(megan.telephone_numbers.len(), 2);
    assert_eq!(
        megan.telephone_numbers[1].telephone_number.as_deref(),
        Some("+14255551297;ext=1234")
    );
    assert_eq!(
        megan.telephone_numbers[1].assignment_category.as_deref(),
        Some("primary")
    );
    let routing = &megan.effective_policy_assignments[1];
    assert_eq!(routing.policy_type.as_deref(), Some("OnlineVoiceRoutingPolicy"));
    let assignment = routing.policy_assignment.as_ref().unwrap();
    assert_eq!(assignment.display_name.as_deref(), Some("US-Unrestricted"));
    assert_eq!(assignment.assignment_type.as_deref(), Some("direct"));
    assert_eq!(assignment.policy_id.as_deref(), Some("Tag:US-Unrestricted"));
    let group = megan.effective_policy_assignments[0]
        .policy_assignment
        .as_ref()
        .unwrap();
    assert_eq!(group.group_id.as_deref(), Some("5d3f8e2a-9c1b-4e7d-a6f0-3b2c1d0e9f8a"));
    assert_eq!(all[1].account_type.as_deref(), Some("resourceAccount"));
    assert_eq!(all[2].account_type.as_deref(), Some("ineligibleUser"));
}

#[test]
fn delta_items_read_as_upserts_and_removals() {
    let round = first_round();
    assert!(round.iter().all(|item| matches!(item, UserDelta::Upsert { .. })));
    let changes: Vec<UserDelta> = items(include_str!("../../../testdata/graph/users-delta-changes.json"))
        .into_iter()
        .map(|item| UserDelta::from_graph(item).unwrap())
        .collect();
    assert!(matches!(&changes[0], UserDelta::Upsert { properties, .. } if properties["department"] == "Sales"));
    assert_eq!(
        changes[1],
        UserDelta::Removed {
            id: Uuid::parse_str("a2b6f4d1-5c3e-4f8a-9b7d-2e1c0f9a8b7c").unwrap(),
            reason: Some("changed".into())
        }
    );
    assert!(matches!(&changes[2], UserDelta::Removed { reason: Some(r), .. } if r == "deleted"));

    // The partial change merges into the full record: named properties change, others stay.
    let megan = changes[0].apply(Some(users_page()[0].clone())).unwrap().unwrap();
    assert_eq!(megan.department.as_deref(), Some("Sales"));
    assert_eq!(megan.usage_location, None);
    assert_eq!(megan.display_name.as_deref(), Some("Megan Bowen"));
    assert_eq!(megan.assigned_plans.len(), 2);
    assert_eq!(changes[1].apply(Some(users_page()[1].clone())).unwrap(), None);
}

#[test]
fn users_map_to_the_records_worked_out_by_hand() {
    let mut users = users_page();
    for item in first_round() {
        users.push(item.apply(None).unwrap().unwrap());
    }
    assert_eq!(users.len(), 4);
    for user in &users {
        let mapped = map_user(user, configuration_of(user.id).as_ref(), TENANT);
        assert_eq!(mapped.render_json(), expected(&user.id.to_string()), "{}", user.id);
    }
}
