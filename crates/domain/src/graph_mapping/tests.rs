//! The mapping checked against rows of the seed page and against the rules of `docs/mapping.md`.

use serde_json::{json, Value};
use uuid::Uuid;

use super::*;
use crate::end_user::EndUser;

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

/// The seed page the mapping must reproduce (the golden file of the contract tests).
const SEED_PAGE: &str = include_str!("../../../../testdata/seed-example-page1.json");

fn seed_row(identity: &str) -> EndUser {
    let page: Value = serde_json::from_str(SEED_PAGE).unwrap();
    let rows = page["data"].as_array().unwrap();
    let row = rows.iter().find(|r| r["Identity"] == identity).unwrap().clone();
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
        UserDelta::from_value(json!({"id": "04b6aa84-eb73-4f46-ba4a-200f86a2563a", "usageLocation": "DE"})).unwrap();
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
