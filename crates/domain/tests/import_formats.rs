//! The import parsers on each body form, and each error kind with its row, field and position.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::convert::Infallible;

use domain::import::{parse_users, parse_users_detect, ImportError, ImportFormat};
use domain::EndUser;
use serde_json::Value;
use uuid::Uuid;

const SEED_PAGE: &str = include_str!("../../../testdata/seed-example-page1.json");

fn parse(format: ImportFormat, body: &[u8]) -> Result<Vec<EndUser>, ImportError<Infallible>> {
    let mut users = Vec::new();
    parse_users(format, body, |row, user| {
        assert_eq!(row, users.len() as u64 + 1, "rows are numbered 1, 2, 3, ...");
        users.push(user);
        Ok(())
    })?;
    Ok(users)
}

fn json(body: &str) -> Result<Vec<EndUser>, ImportError<Infallible>> {
    parse(ImportFormat::Json, body.as_bytes())
}

fn csv(body: &str) -> Result<Vec<EndUser>, ImportError<Infallible>> {
    parse(ImportFormat::Csv, body.as_bytes())
}

fn row_error(result: Result<Vec<EndUser>, ImportError<Infallible>>) -> (u64, Option<String>, String) {
    match result {
        Err(ImportError::Row {
            row, field, message, ..
        }) => (row, field, message),
        other => panic!("expected a row error, got {other:?}"),
    }
}

fn id(text: &str) -> Uuid {
    Uuid::parse_str(text).unwrap()
}

// ---------------------------------------------------------------- Live Platform JSON

#[test]
fn seed_page_envelope_round_trips_exactly() {
    let users = json(SEED_PAGE).unwrap();
    let page: Value = serde_json::from_str(SEED_PAGE).unwrap();
    let objects = page["data"].as_array().unwrap();
    assert_eq!(users.len(), 10);
    for (user, object) in users.iter().zip(objects) {
        assert_eq!(user.render_json(), serde_json::to_string(object).unwrap());
    }
}

#[test]
fn seed_users_as_a_bare_array() {
    let page: Value = serde_json::from_str(SEED_PAGE).unwrap();
    let array = serde_json::to_string_pretty(&page["data"]).unwrap();
    assert_eq!(json(&array).unwrap(), json(SEED_PAGE).unwrap());
}

#[test]
fn live_platform_defaults_and_extra_keys() {
    let users = json(
        r#"[{"identity":"04B6AA84-EB73-4F46-BA4A-200F86A2563A","ObjectId":"04b6aa84-eb73-4f46-ba4a-200f86a2563a",
             "CallForward":null,"OnlineVoiceRoutingPolicy":null,"OnlinePstnGateway":null,
             "WebName":"Megan","SipAddress":"","Extra":{"deep":[1,2,{"x":null}]},"IsManaged":true}]"#,
    )
    .unwrap();
    let user = &users[0];
    assert_eq!(user.identity, id("04b6aa84-eb73-4f46-ba4a-200f86a2563a"));
    assert_eq!(user.object_id, "04B6AA84-EB73-4F46-BA4A-200F86A2563A");
    assert_eq!(user.status, "----");
    assert_eq!(user.ps_count, 0);
    assert_eq!(user.call_forward, "");
    assert_eq!(user.online_voice_routing_policy, "");
    assert_eq!(user.online_pstn_gateway, "");
    assert_eq!(user.web_name.as_deref(), Some("Megan"));
    // A saved response's "" stays "" so that re-importing it changes nothing.
    assert_eq!(user.sip_address.as_deref(), Some(""));
    assert_eq!(user.is_managed, Some(true));
    assert_eq!(user.enterprise_voice_enabled, None);
    assert_eq!(user.line_uri, None);
}

#[test]
fn envelope_keys_in_any_order_and_empty_data() {
    let users = json(r#"{"data":[{"Identity":"0a7db8a7-ef2d-4794-81e1-518fb15770d1"}],"currentPage":1}"#).unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(json(r#"{"currentPage":1,"pageSize":10,"data":[]}"#).unwrap(), vec![]);
    assert_eq!(json("[]").unwrap(), vec![]);
}

#[test]
fn object_id_must_match_identity() {
    let (row, field, message) = row_error(json(
        r#"[{"Identity":"04b6aa84-eb73-4f46-ba4a-200f86a2563a"},
            {"Identity":"04b6aa84-eb73-4f46-ba4a-200f86a2563a","ObjectId":"0A7DB8A7-EF2D-4794-81E1-518FB15770D1"}]"#,
    ));
    assert_eq!((row, field.as_deref()), (2, Some("ObjectId")));
    assert!(
        message.starts_with("row 2 (user #2 in the JSON array): field 'ObjectId'"),
        "{message}"
    );
}

#[test]
fn wrong_types_are_row_errors_naming_the_field() {
    let ok = r#"{"Identity":"04b6aa84-eb73-4f46-ba4a-200f86a2563a"}"#;
    let mut body = String::from("[");
    for _ in 0..16 {
        body.push_str(ok);
        body.push(',');
    }
    body.push_str(r#"{"Identity":"0a7db8a7-ef2d-4794-81e1-518fb15770d1","EnterpriseVoiceEnabled":"yes"}]"#);
    let err = json(&body).unwrap_err();
    assert_eq!(err.code().unwrap(), "invalid_user_row");
    assert_eq!(err.field(), Some("EnterpriseVoiceEnabled"));
    assert_eq!(err.row(), Some(17));
    assert_eq!(
        err.to_string(),
        "row 17 (user #17 in the JSON array): field 'EnterpriseVoiceEnabled' must be true or false, got \"yes\""
    );

    let (row, field, message) = row_error(json(
        r#"[{"Identity":"04b6aa84-eb73-4f46-ba4a-200f86a2563a","WebName":5}]"#,
    ));
    assert_eq!((row, field.as_deref()), (1, Some("WebName")));
    assert!(
        message.ends_with("field 'WebName' must be a string or null, got number 5"),
        "{message}"
    );

    let (_, field, _) = row_error(json(
        r#"[{"Identity":"04b6aa84-eb73-4f46-ba4a-200f86a2563a","PsCount":"0"}]"#,
    ));
    assert_eq!(field.as_deref(), Some("PsCount"));
}

#[test]
fn identity_missing_or_malformed() {
    let (row, field, message) = row_error(json(r#"[{"WebName":"No Id"}]"#));
    assert_eq!((row, field.as_deref()), (1, Some("Identity")));
    assert!(message.contains("is missing"), "{message}");

    let (_, field, message) = row_error(json(r#"[{"Identity":"04b6aa84-nope"}]"#));
    assert_eq!(field.as_deref(), Some("Identity"));
    assert!(
        message.contains("must be a GUID") && message.contains("04b6aa84-nope"),
        "{message}"
    );

    let (_, field, _) = row_error(json(r#"[{"Identity":null,"WebName":"x"}]"#));
    assert_eq!(field.as_deref(), Some("Identity"));
}

#[test]
fn array_elements_must_be_objects() {
    let (row, field, message) = row_error(json(r#"[{"Identity":"04b6aa84-eb73-4f46-ba4a-200f86a2563a"}, 42]"#));
    assert_eq!((row, field), (2, None));
    assert!(message.contains("must be a JSON object, got a number"), "{message}");
}

// ---------------------------------------------------------------- Get-CsOnlineUser JSON

const CS_MODERN: &str = r#"[
  {
    "AccountEnabled": true,
    "AccountType": "User",
    "AssignedPlan": [{"AssignedTimestamp": "2024-01-05T10:00:00", "Capability": "MCOEV", "CapabilityStatus": "Enabled"}],
    "Department": "Sales",
    "DisplayName": "Megan Bowen",
    "EnterpriseVoiceEnabled": true,
    "FeatureTypes": ["Teams", "AudioConferencing", "PhoneSystem"],
    "HostingProvider": "sipfed.online.lync.com",
    "HybridPstnSiteName": null,
    "Identity": "04b6aa84-eb73-4f46-ba4a-200f86a2563a",
    "InterpretedUserType": "PureOnlineTeamsOnlyUserNeedsOnlineVoiceRoutingPolicy",
    "LineURI": "tel:+14255551297;ext=1234",
    "OnlineVoiceRoutingPolicy": "US-East",
    "RegistrarPool": "",
    "SipAddress": "sip:MeganB@contoso.com",
    "SoftDeletionTimestamp": null,
    "TeamsUpgradeEffectiveMode": "TeamsOnly",
    "TeamsUpgradePolicy": {"Name": "UpgradeToTeams", "Mode": "TeamsOnly"},
    "TenantId": "7e24d47c-eb72-439a-84e4-aea1bdb1eed9",
    "UsageLocation": "US",
    "UserPrincipalName": "MeganB@contoso.com",
    "UserValidationErrors": [],
    "WhenCreated": "2023-11-02T08:15:00"
  },
  {
    "AccountType": "User",
    "DisplayName": "Mallory Cortez",
    "EnterpriseVoiceEnabled": false,
    "FeatureTypes": [],
    "HostingProvider": null,
    "Identity": "0A7DB8A7-EF2D-4794-81E1-518FB15770D1",
    "InterpretedUserType": "SomeFutureUserType",
    "LineURI": "3221231212",
    "OnlineVoiceRoutingPolicy": null,
    "SipAddress": "mallory@contoso.com",
    "TeamsUpgradeEffectiveMode": "Islands",
    "UsageLocation": "",
    "UserPrincipalName": "MalloryC@contoso.com"
  }
]"#;

#[test]
fn cs_online_user_json_array() {
    let users = json(CS_MODERN).unwrap();
    assert_eq!(users.len(), 2);
    let megan = &users[0];
    let mut expected = EndUser::new(id("04b6aa84-eb73-4f46-ba4a-200f86a2563a"));
    expected.sip_address = Some("sip:MeganB@contoso.com".into());
    expected.line_uri = Some("tel:+14255551297;ext=1234".into());
    expected.hosting_provider = Some("sipfed.online.lync.com".into());
    expected.usage_location = Some("US".into());
    expected.web_name = Some("Megan Bowen".into());
    expected.user_type = Some("TeamsOnly".into());
    expected.department = Some("Sales".into());
    expected.tenant_id = Some("7e24d47c-eb72-439a-84e4-aea1bdb1eed9".into());
    expected.user_principal_name = Some("MeganB@contoso.com".into());
    expected.ms_interpreted_user_type = Some("PureOnlineTeamsOnlyUserNeedsOnlineVoiceRoutingPolicy".into());
    expected.enterprise_voice_enabled = Some(true);
    expected.online_voice_routing_policy = "US-East".into();
    assert_eq!(megan, &expected);

    let mallory = &users[1];
    assert_eq!(mallory.identity, id("0a7db8a7-ef2d-4794-81e1-518fb15770d1"));
    assert_eq!(mallory.object_id, "0A7DB8A7-EF2D-4794-81E1-518FB15770D1");
    assert_eq!(mallory.user_type.as_deref(), Some("NoService"));
    assert_eq!(mallory.ms_interpreted_user_type.as_deref(), Some("SomeFutureUserType"));
    assert_eq!(mallory.line_uri.as_deref(), Some("3221231212"));
    assert_eq!(mallory.sip_address.as_deref(), Some("sip:mallory@contoso.com"));
    assert_eq!(mallory.usage_location, None, "an empty value is null");
    assert_eq!(mallory.online_voice_routing_policy, "");
    assert_eq!(mallory.enterprise_voice_enabled, Some(false));
    assert_eq!(mallory.status, "----");
    assert_eq!(mallory.call_forward, "");
    assert_eq!(mallory.online_pstn_gateway, "");
    assert_eq!(mallory.is_managed, None);
}

#[test]
fn cs_online_user_single_object_with_bom() {
    let single: Value = serde_json::from_str(CS_MODERN).unwrap();
    let mut body = b"\xEF\xBB\xBF".to_vec();
    body.extend(serde_json::to_vec_pretty(&single[0]).unwrap());
    body.extend(b"\r\n");
    let users = parse(ImportFormat::Json, &body).unwrap();
    assert_eq!(users, json(CS_MODERN).unwrap()[..1]);
}

#[test]
fn cs_online_user_utf16_from_windows_powershell_redirection() {
    let mut body = vec![0xFF, 0xFE];
    for unit in CS_MODERN.encode_utf16() {
        body.extend(unit.to_le_bytes());
    }
    assert_eq!(parse(ImportFormat::Json, &body).unwrap(), json(CS_MODERN).unwrap());
}

#[test]
fn cs_online_user_old_module_dn_identity() {
    let users = json(
        r#"{"Identity":"CN=04b6aa84-eb73-4f46-ba4a-200f86a2563a,OU=4b0b8b4c,OU=OCS Tenants,DC=lyncprod,DC=local",
            "ObjectId":"04b6aa84-eb73-4f46-ba4a-200f86a2563a","DisplayName":"Megan Bowen",
            "InterpretedUserType":"HybridOnpremSfBUser","FeatureTypes":"Teams PhoneSystem",
            "OnlineVoiceRoutingPolicy":{"Name":"Tag:US-West","Anchor":{"Key":"x"}},
            "EnterpriseVoiceEnabled":null}"#,
    )
    .unwrap();
    let user = &users[0];
    assert_eq!(user.identity, id("04b6aa84-eb73-4f46-ba4a-200f86a2563a"));
    assert_eq!(user.online_voice_routing_policy, "Tag:US-West");
    assert_eq!(user.user_type.as_deref(), Some("TeamsOnly"));
    assert_eq!(user.enterprise_voice_enabled, None);

    let (_, field, message) = row_error(json(
        r#"{"Identity":"CN=someone,OU=OCS Tenants","DisplayName":"No ObjectId"}"#,
    ));
    assert_eq!(field.as_deref(), Some("Identity"));
    assert!(
        message.starts_with("row 1 (the single user object): field 'Identity'"),
        "{message}"
    );
    assert!(message.contains("ObjectId"), "{message}");

    let (_, field, _) = row_error(json(
        r#"{"Identity":"04b6aa84-eb73-4f46-ba4a-200f86a2563a","ObjectId":"0a7db8a7-ef2d-4794-81e1-518fb15770d1","DisplayName":"x"}"#,
    ));
    assert_eq!(field.as_deref(), Some("ObjectId"));
}

#[test]
fn cs_online_user_wrong_types() {
    let (_, field, message) = row_error(json(
        r#"[{"Identity":"04b6aa84-eb73-4f46-ba4a-200f86a2563a","DisplayName":{"x":1}}]"#,
    ));
    assert_eq!(field.as_deref(), Some("DisplayName"));
    assert!(
        message.ends_with("must be a string or null, got an object"),
        "{message}"
    );

    let (_, field, _) = row_error(json(
        r#"[{"Identity":"04b6aa84-eb73-4f46-ba4a-200f86a2563a","DisplayName":"x","OnlineVoiceRoutingPolicy":{"Id":3}}]"#,
    ));
    assert_eq!(field.as_deref(), Some("OnlineVoiceRoutingPolicy"));
}

// ---------------------------------------------------------------- body-level JSON errors

#[test]
fn truncated_json_says_so() {
    for cut in [SEED_PAGE.len() / 2, SEED_PAGE.len() - 3, 1] {
        let err = json(&SEED_PAGE[..cut]).unwrap_err();
        match &err {
            ImportError::Syntax { message, line, .. } => {
                assert!(message.contains("truncated"), "{message}");
                assert!(*line >= 1);
            }
            other => panic!("expected a syntax error, got {other:?}"),
        }
        assert_eq!(err.code().unwrap(), "malformed_body");
    }
}

#[test]
fn malformed_json_has_a_position() {
    let err = json("[\n  {\"Identity\": \"x\",,}\n]").unwrap_err();
    match err {
        ImportError::Syntax { line, column, message } => {
            assert_eq!(line, 2);
            assert!(column.is_some());
            assert!(message.starts_with("malformed JSON"), "{message}");
            assert!(!message.contains("at line"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(json("[] []"), Err(ImportError::Syntax { .. })));
}

#[test]
fn empty_bodies() {
    for body in ["", "   \r\n\t", "\u{FEFF}", "\u{FEFF}  \n"] {
        let err = json(body).unwrap_err();
        assert!(matches!(err, ImportError::Empty), "{body:?}: {err:?}");
        assert_eq!(err.code().unwrap(), "empty_body");
        assert!(matches!(csv(body), Err(ImportError::Empty)), "{body:?}");
    }
}

#[test]
fn valid_json_that_is_not_users() {
    for body in [
        "42",
        "\"users\"",
        "true",
        "null",
        "{}",
        r#"{"data":null}"#,
        r#"{"value":[]}"#,
    ] {
        let err = json(body).unwrap_err();
        assert!(matches!(err, ImportError::NotUsers { .. }), "{body}: {err:?}");
        assert_eq!(err.code().unwrap(), "unsupported_body");
    }
}

#[test]
fn sink_errors_pass_through_and_stop_the_parse() {
    let mut seen = Vec::new();
    let result = parse_users(ImportFormat::Json, SEED_PAGE.as_bytes(), |row, _| {
        seen.push(row);
        if row == 3 {
            Err("store is full")
        } else {
            Ok(())
        }
    });
    assert!(matches!(result, Err(ImportError::Sink("store is full"))));
    assert_eq!(seen, [1, 2, 3]);
}

#[test]
fn io_errors_are_reported() {
    struct Failing;
    impl std::io::Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("connection reset"))
        }
    }
    for format in [ImportFormat::Json, ImportFormat::Csv] {
        let err = parse_users(format, Failing, |_, _| Ok::<(), Infallible>(())).unwrap_err();
        assert!(matches!(err, ImportError::Io(_)), "{err:?}");
        assert_eq!(err.code().unwrap(), "body_read_failed");
    }
}

// ---------------------------------------------------------------- CSV

const CS_CSV_PS5: &str = "#TYPE Microsoft.Teams.ConfigAPI.Cmdlets.Generated.Models.OnlineUser\r\n\
\"AccountType\",\"Department\",\"DisplayName\",\"EnterpriseVoiceEnabled\",\"FeatureTypes\",\"HostingProvider\",\"Identity\",\"InterpretedUserType\",\"LineURI\",\"OnlineVoiceRoutingPolicy\",\"SipAddress\",\"TeamsUpgradeEffectiveMode\",\"TenantId\",\"UsageLocation\",\"UserPrincipalName\",\"WhenCreated\"\r\n\
\"User\",\"Sales\",\"Megan Bowen\",\"True\",\"System.Collections.Generic.List`1[System.String]\",\"sipfed.online.lync.com\",\"04b6aa84-eb73-4f46-ba4a-200f86a2563a\",\"PureOnlineTeamsOnlyUser\",\"tel:+14255551297\",\"US-East\",\"sip:MeganB@contoso.com\",\"TeamsOnly\",\"7e24d47c-eb72-439a-84e4-aea1bdb1eed9\",\"US\",\"MeganB@contoso.com\",\"11/2/2023 8:15:00 AM\"\r\n\
\"User\",\"\",\"Cortez, Mallory \"\"Mal\"\"\",\"False\",\"System.Collections.Generic.List`1[System.String]\",\"\",\"0a7db8a7-ef2d-4794-81e1-518fb15770d1\",\"PureOnlineUserWithNoService\",\"\",\"\",\"\",\"Islands\",\"7e24d47c-eb72-439a-84e4-aea1bdb1eed9\",\"US\",\"MalloryC@contoso.com\",\"\"\r\n";

#[test]
fn export_csv_with_type_line() {
    let users = csv(CS_CSV_PS5).unwrap();
    assert_eq!(users.len(), 2);
    let megan = &users[0];
    assert_eq!(megan.web_name.as_deref(), Some("Megan Bowen"));
    assert_eq!(megan.user_type.as_deref(), Some("TeamsOnly"));
    assert_eq!(megan.enterprise_voice_enabled, Some(true));
    assert_eq!(megan.line_uri.as_deref(), Some("tel:+14255551297"));
    assert_eq!(megan.online_voice_routing_policy, "US-East");
    assert_eq!(megan.department.as_deref(), Some("Sales"));
    let mallory = &users[1];
    assert_eq!(mallory.web_name.as_deref(), Some("Cortez, Mallory \"Mal\""));
    assert_eq!(mallory.user_type.as_deref(), Some("NoService"));
    assert_eq!(mallory.enterprise_voice_enabled, Some(false));
    assert_eq!((mallory.department.as_ref(), mallory.line_uri.as_ref()), (None, None));
    assert_eq!(mallory.hosting_provider, None);
    assert_eq!(mallory.sip_address, None);
    assert_eq!(mallory.online_voice_routing_policy, "");

    // The same export from PowerShell 7 (no #TYPE line, UTF-8 BOM) gives the same users.
    let ps7 = format!("\u{FEFF}{}", CS_CSV_PS5.split_once("\r\n").unwrap().1);
    assert_eq!(csv(&ps7).unwrap(), users);
    // And with -UseCulture in a ';' locale.
    let semicolons = CS_CSV_PS5.replace("\",\"", "\";\"");
    assert_eq!(csv(&semicolons).unwrap(), users);
}

#[test]
fn csv_matches_the_same_users_as_json() {
    // The CSV export of CS_MODERN's first user, FeatureTypes flattened as Export-Csv does.
    let body = "\"Identity\",\"DisplayName\",\"SipAddress\",\"LineURI\",\"HostingProvider\",\"HybridPstnSiteName\",\"UsageLocation\",\"RegistrarPool\",\"Department\",\"TenantId\",\"InterpretedUserType\",\"EnterpriseVoiceEnabled\",\"OnlineVoiceRoutingPolicy\",\"FeatureTypes\",\"TeamsUpgradeEffectiveMode\",\"UserPrincipalName\"\n\
\"04b6aa84-eb73-4f46-ba4a-200f86a2563a\",\"Megan Bowen\",\"sip:MeganB@contoso.com\",\"tel:+14255551297;ext=1234\",\"sipfed.online.lync.com\",\"\",\"US\",\"\",\"Sales\",\"7e24d47c-eb72-439a-84e4-aea1bdb1eed9\",\"PureOnlineTeamsOnlyUserNeedsOnlineVoiceRoutingPolicy\",\"True\",\"US-East\",\"System.Collections.Generic.List`1[System.String]\",\"TeamsOnly\",\"MeganB@contoso.com\"\n";
    assert_eq!(csv(body).unwrap(), json(CS_MODERN).unwrap()[..1]);
}

#[test]
fn live_platform_keyed_csv() {
    let page: Value = serde_json::from_str(SEED_PAGE).unwrap();
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(domain::end_user::FIELD_NAMES).unwrap();
    for object in page["data"].as_array().unwrap() {
        let row: Vec<String> = domain::end_user::FIELD_NAMES
            .iter()
            .map(|key| match &object[*key] {
                Value::Null => String::new(),
                Value::Bool(true) => "True".into(),
                Value::Bool(false) => "False".into(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        writer.write_record(&row).unwrap();
    }
    let body = writer.into_inner().unwrap();
    assert_eq!(parse(ImportFormat::Csv, &body).unwrap(), json(SEED_PAGE).unwrap());
}

#[test]
fn csv_row_errors_give_data_row_and_line() {
    let body = "Identity,DisplayName,EnterpriseVoiceEnabled\n\
                04b6aa84-eb73-4f46-ba4a-200f86a2563a,Megan,True\n\
                \n\
                0a7db8a7-ef2d-4794-81e1-518fb15770d1,Mallory,yes\n";
    let (row, field, message) = row_error(csv(body));
    assert_eq!((row, field.as_deref()), (2, Some("EnterpriseVoiceEnabled")));
    assert_eq!(
        message,
        "row 2 (CSV data row 2, line 4): field 'EnterpriseVoiceEnabled' must be True or False, got \"yes\""
    );

    // CRLF, a blank line and a display name spanning two lines do not throw the count off.
    let crlf = "#TYPE X\r\nIdentity,DisplayName,EnterpriseVoiceEnabled\r\n\r\n\
                04b6aa84-eb73-4f46-ba4a-200f86a2563a,\"Megan\r\nBowen\",True\r\n\
                0a7db8a7-ef2d-4794-81e1-518fb15770d1,Mallory,nope\r\n";
    let (row, _, message) = row_error(csv(crlf));
    assert_eq!(row, 2);
    assert!(message.starts_with("row 2 (CSV data row 2, line 6)"), "{message}");

    let (row, field, _) = row_error(csv("Identity,WebName\nnot-a-guid,x\n"));
    assert_eq!((row, field.as_deref()), (1, Some("Identity")));

    let (_, field, _) = row_error(csv(
        "Identity,WebName,PsCount\n04b6aa84-eb73-4f46-ba4a-200f86a2563a,x,many\n",
    ));
    assert_eq!(field.as_deref(), Some("PsCount"));
}

#[test]
fn csv_body_errors() {
    // A row cut short.
    let truncated = &CS_CSV_PS5[..CS_CSV_PS5.len() - 40];
    match csv(truncated) {
        Err(ImportError::Syntax { line, message, .. }) => {
            assert_eq!(line, 4);
            assert!(message.contains("truncated") || message.contains("fields"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // Cut inside a quoted field at the very end.
    let in_quotes = "Identity,WebName\n04b6aa84-eb73-4f46-ba4a-200f86a2563a,\"Meg";
    match csv(in_quotes) {
        Err(ImportError::Syntax { message, .. }) => {
            assert!(message.contains("truncated"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    // No Identity column.
    let err = csv("Name,Mail\nx,y\n").unwrap_err();
    assert_eq!(err.code().unwrap(), "unsupported_body");
    assert!(err.to_string().contains("\"Name\""), "{err}");
    assert!(matches!(csv("#TYPE Foo\n"), Err(ImportError::NotUsers { .. })));
    // Not UTF-8.
    let latin1 = b"Identity,WebName\n04b6aa84-eb73-4f46-ba4a-200f86a2563a,Zo\xEB\n";
    match parse(ImportFormat::Csv, latin1) {
        Err(ImportError::Syntax { line, message, .. }) => {
            assert_eq!(line, 2);
            assert!(message.contains("UTF-8"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // A header alone is an empty user set.
    assert_eq!(csv("Identity,WebName\r\n").unwrap(), vec![]);
}

// ---------------------------------------------------------------- format detection

#[test]
fn detect_by_content_type_or_sniffing() {
    let count = |ct: Option<&str>, body: &str| parse_users_detect(ct, body.as_bytes(), |_, _| Ok::<(), Infallible>(()));
    assert_eq!(count(None, SEED_PAGE).unwrap(), 10);
    assert_eq!(count(Some("text/plain"), CS_CSV_PS5).unwrap(), 2);
    assert_eq!(count(Some("text/csv"), CS_CSV_PS5).unwrap(), 2);
    assert!(matches!(
        count(Some("application/json"), CS_CSV_PS5),
        Err(ImportError::Syntax { .. })
    ));
    assert!(matches!(count(None, " \n "), Err(ImportError::Empty)));
    assert!(matches!(count(None, "42"), Err(ImportError::NotUsers { .. })));
    let padded = format!("{}{}", "\n".repeat(1_000), SEED_PAGE);
    assert_eq!(count(None, &padded).unwrap(), 10);
    // Sniffing looks at a bounded prefix.
    let padded = format!("{}{}", "\n".repeat(100_000), SEED_PAGE);
    assert!(matches!(count(None, &padded), Err(ImportError::NotUsers { .. })));
    assert_eq!(count(Some("application/json"), &padded).unwrap(), 10);
}
