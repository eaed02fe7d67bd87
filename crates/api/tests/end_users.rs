//! The end-users endpoint: the golden seed page, paging rules, service rules, ETags.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{users, TestApp};
use serde_json::Value;

fn fixture() -> Value {
    serde_json::from_str(domain::samples::SEED_PAGE).unwrap()
}

/// Keys in order, values equal, recursively.
fn assert_same_ordered(actual: &Value, expected: &Value, path: &str) {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => {
            let ak: Vec<&String> = a.keys().collect();
            let ek: Vec<&String> = e.keys().collect();
            assert_eq!(ak, ek, "key order at {path}");
            for (k, v) in e {
                assert_same_ordered(&a[k], v, &format!("{path}.{k}"));
            }
        }
        (Value::Array(a), Value::Array(e)) => {
            assert_eq!(a.len(), e.len(), "length at {path}");
            for (i, (x, y)) in a.iter().zip(e).enumerate() {
                assert_same_ordered(x, y, &format!("{path}[{i}]"));
            }
        }
        _ => assert_eq!(actual, expected, "value at {path}"),
    }
}

async fn golden_seed_page(app: TestApp) {
    let customer = app.service("contoso", 1, true, None).await;
    // The seed's ten users plus 27 that sort after them, loaded in reverse to prove ordering.
    let mut all = domain::samples::demo_users().unwrap();
    all.reverse();
    let json = serde_json::to_string(&all).unwrap();
    let put = app.put_users(customer, "application/json", json).await;
    assert_eq!(put.status, 200, "{}", String::from_utf8_lossy(&put.body));
    assert_eq!(put.json()["added"], 37);

    let reply = app
        .get(&format!("/api/v3/customer/{customer}/user?PageNumber=1&PageSize=10"))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), "application/json; charset=utf-8");
    assert_same_ordered(&reply.json(), &fixture(), "$");

    // Defaults are page 1 of 10, and the body is byte-identical.
    let default = app.get(&format!("/api/v3/customer/{customer}/user")).await;
    assert_eq!(default.body, reply.body);
    // The same under /tenantui.
    let tenantui = app.get(&format!("/tenantui/api/v3/customer/{customer}/user")).await;
    assert_eq!(tenantui.body, reply.body);
}

async fn paging_walks_every_user_once_in_identity_order(app: TestApp) {
    let customer = app.service("walker", 2, true, None).await;
    let set = users(95, "walk");
    app.load(customer, &set).await;
    let mut expected: Vec<String> = set.iter().map(|u| u.identity.to_string()).collect();
    expected.sort();
    let mut seen = Vec::new();
    for page in 1..=10 {
        let reply = app
            .get(&format!(
                "/api/v3/customer/{customer}/user?pagenumber={page}&PAGESIZE=10"
            ))
            .await;
        assert_eq!(reply.status, 200);
        let body = reply.json();
        assert_eq!(body["currentPage"], page);
        assert_eq!(body["totalPages"], 10);
        assert_eq!(body["totalRecords"], 95);
        for user in body["data"].as_array().unwrap() {
            seen.push(user["Identity"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(seen, expected);
    let past = app
        .get(&format!("/api/v3/customer/{customer}/user?PageNumber=11&PageSize=10"))
        .await;
    assert_eq!(past.status, 200);
    assert_eq!(past.json()["data"], serde_json::json!([]));
    assert_eq!(past.json()["totalPages"], 10);
    let big = app
        .get(&format!("/api/v3/customer/{customer}/user?PageSize=10000"))
        .await;
    assert_eq!(big.json()["data"].as_array().unwrap().len(), 95);
    assert_eq!(big.json()["totalPages"], 1);
}

async fn paging_errors_name_the_parameter(app: TestApp) {
    let customer = app.service("pager", 1, true, None).await;
    app.load(customer, &users(3, "p")).await;
    let cases = [
        ("PageNumber=0", "PageNumber", "invalid_page_number"),
        ("PageNumber=-1", "PageNumber", "invalid_page_number"),
        ("PageNumber=abc", "PageNumber", "invalid_page_number"),
        ("PageNumber=2147483648", "PageNumber", "invalid_page_number"),
        ("PageNumber=", "PageNumber", "invalid_page_number"),
        ("PageSize=0", "PageSize", "invalid_page_size"),
        ("PageSize=1", "PageSize", "invalid_page_size"),
        ("PageSize=10001", "PageSize", "invalid_page_size"),
        ("PageSize=-5", "PageSize", "invalid_page_size"),
        ("PageSize=ten", "PageSize", "invalid_page_size"),
        ("PageSize=5&pagesize=6", "PageSize", "repeated_parameter"),
        ("PageNumber=1&PAGENUMBER=1", "PageNumber", "repeated_parameter"),
    ];
    for (query, field, code) in cases {
        let reply = app.get(&format!("/api/v3/customer/{customer}/user?{query}")).await;
        assert_eq!(reply.status, 400, "{query}");
        assert_eq!(reply.header("content-type"), "application/problem+json", "{query}");
        let problem = reply.json();
        assert_eq!(problem["code"], code, "{query}");
        assert_eq!(problem["field"], field, "{query}");
        assert_eq!(problem["status"], 400);
        assert!(
            problem["detail"].as_str().unwrap().contains(field),
            "{query}: {problem}"
        );
        if code != "repeated_parameter" {
            let range = if field == "PageSize" {
                "2 to 10000"
            } else {
                "1 to 2147483647"
            };
            assert!(
                problem["detail"].as_str().unwrap().contains(range),
                "{query}: {problem}"
            );
        }
    }
    for ok in [
        "PageSize=2",
        "PageSize=10000",
        "PageNumber=2147483647",
        "pageNumber=1&pageSize=5",
    ] {
        assert_eq!(
            app.get(&format!("/api/v3/customer/{customer}/user?{ok}")).await.status,
            200,
            "{ok}"
        );
    }
}

async fn service_rules(app: TestApp) {
    for (license, short) in [(0, "essent"), (3, "ocess")] {
        let customer = app.service(short, license, true, None).await;
        let reply = app.get(&format!("/api/v3/customer/{customer}/user")).await;
        assert_eq!(reply.status, 400);
        assert_eq!(reply.code(), "unsupported_service_type");
        assert!(reply.json()["detail"].as_str().unwrap().contains("Teams admin center"));
    }
    let unconnected = app.service("noconn", 5, false, None).await;
    let reply = app.get(&format!("/api/v3/customer/{unconnected}/user")).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.code(), "no_secure_connection");
    assert!(reply.json()["detail"]
        .as_str()
        .unwrap()
        .contains("PATCH /api/v3/customer"));

    let unknown = uuid::Uuid::new_v4();
    let reply = app.get(&format!("/api/v3/customer/{unknown}/user")).await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.code(), "customer_not_found");

    let reply = app.get("/api/v3/customer/not-a-guid/user").await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.code(), "invalid_customer_guid");
    assert_eq!(reply.json()["field"], "customerGuid");

    // A connected service that never synced is an empty list, not an error.
    let empty = app.service("fresh", 4, true, None).await;
    let reply = app.get(&format!("/api/v3/customer/{empty}/user")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["totalRecords"], 0);
    assert_eq!(reply.json()["totalPages"], 0);
}

async fn etag_answers_304_until_the_generation_changes(app: TestApp) {
    let clock = std::sync::Arc::new(sync::ManualClock::new(chrono::Utc::now()));
    app.app.set_record_clock(clock.clone());
    let customer = app.service("etags", 1, true, None).await;
    app.load(customer, &users(12, "one")).await;
    let uri = format!("/api/v3/customer/{customer}/user?PageSize=5");
    let first = app.get(&uri).await;
    let etag = first.header("etag").to_string();
    assert!(etag.starts_with('"'), "strong etag: {etag}");
    let token = app.admin.clone();
    let again = app
        .send(
            axum::http::Method::GET,
            &uri,
            Some(&token),
            &[("if-none-match", &etag)],
            axum::body::Body::empty(),
        )
        .await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    // Written behind the application's back, as another replica would: served within a second
    // (README, "Freshness").
    app.load(customer, &users(12, "two")).await;
    clock.advance(chrono::Duration::seconds(1));
    let changed = app
        .send(
            axum::http::Method::GET,
            &uri,
            Some(&token),
            &[("if-none-match", &etag)],
            axum::body::Body::empty(),
        )
        .await;
    assert_eq!(changed.status, 200);
    assert_ne!(changed.header("etag"), etag);
}

async fn unknown_routes_are_problems(app: TestApp) {
    let reply = app.get("/api/v9/nothing").await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.code(), "route_not_found");
    assert!(!reply.header("x-request-id").is_empty());
    let token = app.admin.clone();
    let reply = app
        .send(
            axum::http::Method::DELETE,
            "/api/v3/customer",
            Some(&token),
            &[],
            axum::body::Body::empty(),
        )
        .await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.code(), "method_not_allowed");
}

both_backends!(
    golden_seed_page,
    paging_walks_every_user_once_in_identity_order,
    paging_errors_name_the_parameter,
    service_rules,
    etag_answers_304_until_the_generation_changes,
    unknown_routes_are_problems,
);
