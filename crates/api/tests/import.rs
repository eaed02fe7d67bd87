//! `PUT /api/v3/customer/{guid}/user`: every body form, and every bad body leaving data unchanged.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use api::ApiConfig;
use app::AppConfig;
use common::{users, Backend, TestApp};

async fn page_body(app: &TestApp, customer: domain::CustomerId) -> Vec<u8> {
    app.get(&format!("/api/v3/customer/{customer}/user?PageSize=10000"))
        .await
        .body
}

async fn live_platform_json_and_envelope(app: TestApp) {
    let customer = app.service("lpjson", 1, true, None).await;
    let first = users(5, "a");
    let reply = app
        .put_users(customer, "application/json", serde_json::to_string(&first).unwrap())
        .await;
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    let counts = reply.json();
    assert_eq!((counts["added"].as_i64(), counts["total"].as_i64()), (Some(5), Some(5)));

    // Re-import a saved GET page: same users, so all unchanged.
    let saved = page_body(&app, customer).await;
    let reply = app
        .put_users(customer, "application/json; charset=utf-8", saved.clone())
        .await;
    assert_eq!(reply.status, 200);
    let counts = reply.json();
    assert_eq!(
        (
            counts["unchanged"].as_i64(),
            counts["added"].as_i64(),
            counts["changed"].as_i64()
        ),
        (Some(5), Some(0), Some(0))
    );
    assert_eq!(page_body(&app, customer).await, saved);

    // One changed, one removed, two added.
    let mut next = users(7, "a");
    next.remove(0);
    next[0].department = Some("Changed".into());
    let reply = app
        .put_users(customer, "application/json", serde_json::to_string(&next).unwrap())
        .await;
    let counts = reply.json();
    assert_eq!(counts["added"], 2);
    assert_eq!(counts["changed"], 1);
    assert_eq!(counts["removed"], 1);
    assert_eq!(counts["unchanged"], 3);
    assert_eq!(
        app.get(&format!("/api/v3/customer/{customer}")).await.json()["ActiveUserCount"],
        6
    );
}

const CS_JSON: &str = r#"[
  {"Identity":"0a7db8a7-ef2d-4794-81e1-518fb15770d1","DisplayName":"Mallory Cortez","UserPrincipalName":"MalloryC@contoso.test",
   "SipAddress":null,"LineURI":null,"HostingProvider":null,"UsageLocation":"US","Department":"Sales","TenantId":"7e24d47c-eb72-439a-84e4-aea1bdb1eed9",
   "InterpretedUserType":"PureOnlineUserWithNoService","EnterpriseVoiceEnabled":false,"FeatureTypes":[],"AccountType":"User"},
  {"Identity":"04b6aa84-eb73-4f46-ba4a-200f86a2563a","DisplayName":"Megan Bowen","UserPrincipalName":"MeganB@contoso.test",
   "SipAddress":"sip:meganb@contoso.test","LineURI":"tel:+14255550100;ext=100","HostingProvider":"sipfed.online.lync.com","UsageLocation":"US",
   "TenantId":"7e24d47c-eb72-439a-84e4-aea1bdb1eed9","InterpretedUserType":"PureOnlineTeamsOnlyUser","EnterpriseVoiceEnabled":true,
   "OnlineVoiceRoutingPolicy":"Unrestricted","FeatureTypes":["Teams","PhoneSystem"],"AccountType":"User","SomethingElse":{"nested":1}}
]"#;

async fn get_csonlineuser_json(app: TestApp) {
    let customer = app.service("csjson", 2, true, None).await;
    let reply = app.put_users(customer, "application/json", CS_JSON).await;
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    let page = app.get(&format!("/api/v3/customer/{customer}/user")).await.json();
    let megan = &page["data"][0];
    assert_eq!(megan["Identity"], "04b6aa84-eb73-4f46-ba4a-200f86a2563a");
    assert_eq!(megan["ObjectId"], "04B6AA84-EB73-4F46-BA4A-200F86A2563A");
    assert_eq!(megan["WebName"], "Megan Bowen");
    assert_eq!(megan["MsInterpretedUserType"], "PureOnlineTeamsOnlyUser");
    assert_eq!(megan["LineURI"], "tel:+14255550100;ext=100");
    assert_eq!(megan["UserType"], "TeamsOnly");
    assert_eq!(megan["EnterpriseVoiceEnabled"], true);
    assert_eq!(megan["OnlineVoiceRoutingPolicy"], "Unrestricted");
    assert_eq!(megan["CallForward"], "");
    assert_eq!(page["data"][1]["UserType"], "NoService");
    assert_eq!(page["data"][1]["Department"], "Sales");
}

async fn export_csv(app: TestApp) {
    let customer = app.service("cscsv", 4, true, None).await;
    let csv = "#TYPE Deserialized.Microsoft.Rtc.Management.ADConnect.Schema.OCSADUser\r\n\
\"Identity\",\"DisplayName\",\"UserPrincipalName\",\"SipAddress\",\"LineURI\",\"UsageLocation\",\"InterpretedUserType\",\"EnterpriseVoiceEnabled\",\"FeatureTypes\"\r\n\
\"161476df-e508-4a29-b27e-09b61903b82b\",\"Cameron White\",\"CameronW@contoso.test\",\"\",\"\",\"US\",\"PureOnlineUserWithNoService\",\"False\",\"System.Collections.Generic.List`1[System.String]\"\r\n\
\"22a79328-9325-4bb8-b549-5731446a2a24\",\"Joni Sherman\",\"JoniS@contoso.test\",\"sip:jonis@contoso.test\",\"tel:+14255550111\",\"US\",\"PureOnlineTeamsOnlyUser\",\"True\",\"\"\r\n";
    let reply = app.put_users(customer, "text/csv", csv).await;
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    let page = app.get(&format!("/api/v3/customer/{customer}/user")).await.json();
    assert_eq!(page["totalRecords"], 2);
    assert_eq!(page["data"][0]["WebName"], "Cameron White");
    assert_eq!(page["data"][0]["SipAddress"], serde_json::Value::Null);
    assert_eq!(page["data"][1]["LineURI"], "tel:+14255550111");
    assert_eq!(page["data"][1]["EnterpriseVoiceEnabled"], true);
}

/// Runs with the page cache off too: a bad body that touched the stored rows without a new
/// generation would otherwise hide behind the cached page.
async fn bad_bodies_change_nothing(app: TestApp) {
    let customer = app.service("badbody", 1, true, None).await;
    app.load(customer, &users(4, "keep")).await;
    let generation = app.stored(customer).await.generation;
    let stored = app
        .store()
        .stored_generations(&common::SYSTEM.grant(customer).read())
        .await
        .unwrap();
    let before = page_body(&app, customer).await;
    let (_, misses_before) = app.page_reads();
    let mut reads = 1;

    let mut dup = users(3, "d");
    dup.push(dup[1].clone());
    let duplicate = serde_json::to_string(&dup).unwrap();
    let bad_guid = r#"[{"Identity":"04b6aa84-eb73-4f46-ba4a-200f86a2563a"},{"Identity":"not-a-guid"}]"#;
    let wrong_type = r#"[{"Identity":"04b6aa84-eb73-4f46-ba4a-200f86a2563a","EnterpriseVoiceEnabled":"yes"}]"#;
    let truncated = &duplicate[..duplicate.len() / 2];
    // (content type, body, expected code, expected row, expected field)
    type Case<'a> = (&'a str, &'a str, &'a str, Option<u64>, Option<&'a str>);
    let cases: Vec<Case> = vec![
        (
            "application/json",
            &duplicate,
            "duplicate_identity",
            Some(4),
            Some("Identity"),
        ),
        (
            "application/json",
            bad_guid,
            "invalid_user_row",
            Some(2),
            Some("Identity"),
        ),
        (
            "application/json",
            wrong_type,
            "invalid_user_row",
            Some(1),
            Some("EnterpriseVoiceEnabled"),
        ),
        ("application/json", truncated, "malformed_body", None, None),
        ("application/json", "", "empty_body", None, None),
        ("application/json", "   \n", "empty_body", None, None),
        ("application/json", "42", "unsupported_body", None, None),
        (
            "text/csv",
            "Identity,DisplayName\nnope,x\n",
            "invalid_user_row",
            Some(1),
            Some("Identity"),
        ),
    ];
    for (content_type, body, code, row, field) in cases {
        let reply = app.put_users(customer, content_type, body.to_string()).await;
        assert_eq!(reply.status, 400, "{code}: {}", String::from_utf8_lossy(&reply.body));
        let problem = reply.json();
        assert_eq!(problem["code"], code, "{problem}");
        if let Some(row) = row {
            assert_eq!(problem["row"], row, "{problem}");
        }
        if let Some(field) = field {
            assert_eq!(problem["field"], field, "{problem}");
            assert!(problem["detail"].as_str().unwrap().contains(field), "{problem}");
        }
        assert_eq!(page_body(&app, customer).await, before, "data changed after {code}");
        reads += 1;
    }
    let reply = app.put_users(customer, "application/xml", "<users/>").await;
    assert_eq!(reply.status, 415);
    assert_eq!(page_body(&app, customer).await, before);
    reads += 1;
    let service = app.stored(customer).await;
    assert_eq!(service.generation, generation);
    assert_eq!(
        app.store()
            .stored_generations(&common::SYSTEM.grant(customer).read())
            .await
            .unwrap(),
        stored
    );
    if app.app.config().page_cache_bytes == 0 {
        let (_, misses) = app.page_reads();
        assert_eq!(
            misses - misses_before,
            reads - 1,
            "every read after the first went to the store"
        );
    }
}

async fn essentials_services_refuse_imports(app: TestApp) {
    let customer = app.service("hosted0", 0, true, None).await;
    let reply = app
        .put_users(
            customer,
            "application/json",
            serde_json::to_string(&users(1, "x")).unwrap(),
        )
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.code(), "unsupported_service_type");
}

async fn imports_feed_a_service_without_connection(app: TestApp) {
    // A pushed export is a source of its own: no app registration needed to list it.
    let customer = app.service("pushed", 5, false, None).await;
    assert_eq!(
        app.put_users(
            customer,
            "application/json",
            serde_json::to_string(&users(3, "x")).unwrap()
        )
        .await
        .status,
        200
    );
    let reply = app.get(&format!("/api/v3/customer/{customer}/user")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["totalRecords"], 3);
}

async fn empty_sets_need_explicit_consent(app: TestApp) {
    let customer = app.service("emptyset", 1, true, None).await;
    app.load(customer, &users(3, "keep")).await;
    let reply = app.put_users(customer, "application/json", "[]").await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.code(), "empty_user_set");
    let header_only = app.put_users(customer, "text/csv", "Identity,DisplayName\r\n").await;
    assert_eq!(header_only.code(), "empty_user_set");
    let kept = app.get(&format!("/api/v3/customer/{customer}/user")).await.json();
    assert_eq!(kept["totalRecords"], 3, "refused empty sets change nothing");
    let uri = format!("/api/v3/customer/{customer}/user?allowEmpty=true");
    let token = app.admin.clone();
    let reply = app
        .send(
            axum::http::Method::PUT,
            &uri,
            Some(&token),
            &[("content-type", "application/json")],
            axum::body::Body::from("[]"),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["removed"], 3);
    assert_eq!(
        app.get(&format!("/api/v3/customer/{customer}/user")).await.json()["totalRecords"],
        0
    );
}

both_backends!(
    empty_sets_need_explicit_consent,
    live_platform_json_and_envelope,
    get_csonlineuser_json,
    export_csv,
    essentials_services_refuse_imports,
    imports_feed_a_service_without_connection,
);
both_backends_and_caches!(bad_bodies_change_nothing);

#[tokio::test]
async fn oversized_bodies_get_413_and_change_nothing() {
    let app = TestApp::with_config(
        Backend::Sqlite,
        AppConfig {
            max_import_bytes: 2_000,
            ..AppConfig::default()
        },
        ApiConfig::default(),
    )
    .await
    .unwrap();
    let customer = app.service("limited", 1, true, None).await;
    app.load(customer, &users(2, "keep")).await;
    let before = page_body(&app, customer).await;
    let big = serde_json::to_string(&users(50, "big")).unwrap();
    // Declared length over the limit.
    let reply = app.put_users(customer, "application/json", big.clone()).await;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.code(), "body_too_large");
    // Streamed without a length: caught while reading.
    let chunks: Vec<Result<String, std::io::Error>> = big
        .as_bytes()
        .chunks(500)
        .map(|c| Ok(String::from_utf8_lossy(c).into_owned()))
        .collect();
    let body = axum::body::Body::from_stream(futures::stream::iter(chunks));
    let reply = app.put_users(customer, "application/json", body).await;
    assert_eq!(reply.status, 413);
    assert_eq!(page_body(&app, customer).await, before);
}
