//! The golden test, end to end: the real binary over TCP serves page 1 of the seed's customer
//! byte for byte as the Live Platform documentation's example, serialized compactly
//! (`testdata/seed-example-page1.json`). Everything goes through the public surface: a client
//! from the CLI, a token from the token endpoint, the customer and its 37 users through the API.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{json, Value};
use support::{create_client, serve_base, token_for, Running};

const FIXTURE: &str = include_str!("../../../testdata/seed-example-page1.json");

#[tokio::test]
async fn sqlite_serves_the_seed_page_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/golden.db", dir.path().display());
    seed_page_byte_for_byte(dir.path(), &database).await;
}

#[tokio::test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "needs PostgreSQL: set ROSTERD_TEST_POSTGRES_URL (./scripts/test sets it)"
)]
async fn postgres_serves_the_seed_page_byte_for_byte() {
    let Some(database) = store_conformance::fresh_postgres_url().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    seed_page_byte_for_byte(dir.path(), &database).await;
}

/// The seed's ten users as the fixture shows them, then 27 more whose identities sort after
/// them (the fixture says 37 records), sent in reverse order so that ordering is the server's.
fn thirty_seven_users(fixture: &Value) -> Vec<Value> {
    let mut users = fixture["data"].as_array().unwrap().clone();
    let template = users[0].clone();
    for i in 0..27u32 {
        let mut user = template.clone();
        let identity = format!("f0000000-0000-4000-8000-{i:012}");
        user["Identity"] = json!(identity);
        user["ObjectId"] = json!(identity.to_uppercase());
        user["WebName"] = json!(format!("Further User {i}"));
        user["UserPrincipalName"] = json!(format!("further{i}@M365x33712745.OnMicrosoft.com"));
        user["SipAddress"] = json!(format!("sip:further{i}@m365x33712745.onmicrosoft.com"));
        users.push(user);
    }
    users.reverse();
    users
}

async fn seed_page_byte_for_byte(dir: &std::path::Path, database: &str) {
    let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
    let client = create_client(dir, database, "golden", "Admin");
    let (child, base) = serve_base(dir, database, None);
    let server = Running::new(child);
    let token = &token_for(&base, &client).await;
    let http = reqwest::Client::new();

    let service = http
        .post(format!("{base}/api/v2/customer"))
        .bearer_auth(token)
        .json(&json!({"shortName": "contoso", "fullName": "Contoso", "licenseType": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(service.status(), 201);
    let service: Value = service.json().await.unwrap();
    let customer = service["UmpCustomerGuid"].as_str().unwrap();
    let put = http
        .put(format!("{base}/api/v3/customer/{customer}/user"))
        .bearer_auth(token)
        .json(&thirty_seven_users(&fixture))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200, "{}", put.text().await.unwrap());

    let expected = serde_json::to_vec(&fixture).unwrap();
    for query in ["?PageNumber=1&PageSize=10", "", "?pagesize=10"] {
        for prefix in ["", "/tenantui"] {
            let reply = http
                .get(format!("{base}{prefix}/api/v3/customer/{customer}/user{query}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(reply.status(), 200);
            assert_eq!(
                reply.headers()["content-type"].to_str().unwrap(),
                "application/json; charset=utf-8"
            );
            let body = reply.bytes().await.unwrap();
            assert!(
                body[..] == expected[..],
                "{prefix}{query}: the body differs from the fixture\n  served:   {}\n  expected: {}",
                String::from_utf8_lossy(&body),
                String::from_utf8_lossy(&expected)
            );
        }
    }
    server.stop();
}
