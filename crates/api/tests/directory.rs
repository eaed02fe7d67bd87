//! The service directory: V2/V3 lists and details, create, patch, channel narrowing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::body::Body;
use axum::http::Method;
use common::{users, TestApp};
use serde_json::{json, Value};

async fn post(app: &TestApp, body: Value) -> common::Reply {
    app.send(
        Method::POST,
        "/api/v2/customer",
        Some(&app.admin.clone()),
        &[("content-type", "application/json")],
        Body::from(body.to_string()),
    )
    .await
}

async fn patch(app: &TestApp, id: &str, body: Value) -> common::Reply {
    app.send(
        Method::PATCH,
        &format!("/api/v3/customer/{id}"),
        Some(&app.admin.clone()),
        &[("content-type", "application/json")],
        Body::from(body.to_string()),
    )
    .await
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

async fn create_then_read_in_every_shape(app: TestApp) {
    let reply = post(&app, json!({"shortName": "acme", "fullName": "Acme Corp", "msTenantId": "7e24d47c-eb72-439a-84e4-aea1bdb1eed9", "channelId": 3, "siteLocation": {"sbcId": 12}})).await;
    assert_eq!(reply.status, 201, "{}", String::from_utf8_lossy(&reply.body));
    let created = reply.json();
    let id = created["UmpCustomerGuid"].as_str().unwrap().to_string();
    assert_eq!(reply.header("location"), format!("/api/v3/customer/{id}"));
    assert_eq!(created["LicenseType"], 0);
    assert_eq!(created["CustomerFullName"], "Acme Corp");

    let v3 = app.get("/api/v3/customer").await.json();
    assert_eq!(
        keys(&v3[0]),
        vec![
            "UmpCustomerGuid",
            "CustomerShortName",
            "CustomerFullName",
            "LicenseType",
            "LicensedUsersCount",
            "MsTenantId",
            "ActiveUserCount",
            "LiveHubActiveUsersCount",
            "LiveHubSimpleUsersCount"
        ]
    );
    assert_eq!(v3[0]["LicensedUsersCount"], Value::Null, "null for Hosted Essentials");
    assert_eq!(v3[0]["MsTenantId"], "7e24d47c-eb72-439a-84e4-aea1bdb1eed9");

    let detail = app.get(&format!("/api/v3/customer/{id}")).await.json();
    for key in [
        "MsDefaultDomain",
        "ApplicationClientId",
        "ApplicationClientSecret",
        "ClientSecretExpirationDate",
        "Replication",
    ] {
        assert!(detail.get(key).is_some(), "{key} in {detail}");
    }
    assert!(detail.get("SiteLocation").is_none());
    let all = app.get(&format!("/api/v3/customer/{id}?allDetails=true")).await.json();
    assert_eq!(all["SiteLocation"][0]["sbcId"], 12);
    let all_list = app.get("/api/v3/customer?allDetails=true").await.json();
    assert!(all_list[0].get("SiteLocation").is_some());

    let v2 = app.get("/api/v2/customer").await.json();
    assert_eq!(keys(&v2[0]), vec!["Id", "ShortName", "FullName", "LicenseType"]);
    let v2one = app.get(&format!("/api/v2/customer/{id}")).await.json();
    assert_eq!(
        keys(&v2one),
        vec!["Id", "ShortName", "FullName", "LicenseType", "SiteLocation"]
    );

    assert_eq!(
        app.get("/api/v3/customer/00000000-0000-4000-8000-000000000000")
            .await
            .status,
        404
    );
    assert_eq!(app.get("/api/v2/customer/zzz").await.code(), "invalid_customer_guid");
}

async fn create_validates_every_field(app: TestApp) {
    let cases = [
        (json!({}), "shortName"),
        (json!({"shortName": "ab"}), "shortName"),
        (json!({"shortName": "has space"}), "shortName"),
        (json!({"shortName": "dot.name"}), "shortName"),
        (json!({"shortName": "way-too-long-name-here"}), "shortName"),
        (json!({"shortName": 42}), "shortName"),
        (json!({"shortName": "okname", "fullName": "x".repeat(201)}), "fullName"),
        (json!({"shortName": "okname", "msTenantId": "nope"}), "msTenantId"),
        (json!({"shortName": "okname", "licenseType": 9}), "licenseType"),
        (json!({"shortName": "okname", "channelId": "seven"}), "channelId"),
    ];
    for (body, field) in cases {
        let reply = post(&app, body.clone()).await;
        assert_eq!(reply.status, 400, "{body}");
        assert_eq!(reply.json()["field"], field, "{body}: {}", reply.json());
    }
    let bad_json = app
        .send(
            Method::POST,
            "/api/v2/customer",
            Some(&app.admin.clone()),
            &[("content-type", "application/json")],
            Body::from("{\"shortName\":"),
        )
        .await;
    assert_eq!(bad_json.status, 400);
    assert_eq!(bad_json.code(), "malformed_body");

    assert_eq!(post(&app, json!({"shortName": "unique"})).await.status, 201);
    let again = post(&app, json!({"shortName": "UNIQUE"})).await;
    assert_eq!(again.status, 409);
    assert_eq!(again.code(), "short_name_taken");
    assert_eq!(
        app.get("/api/v2/customer").await.json().as_array().unwrap().len(),
        1,
        "nothing half-created"
    );
}

async fn patch_changes_license_and_connection(app: TestApp) {
    let id = post(&app, json!({"shortName": "patchme", "licenseType": 1}))
        .await
        .json()["UmpCustomerGuid"]
        .as_str()
        .unwrap()
        .to_string();
    let reply = patch(&app, &id, json!({"licenseType": 4})).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["detail"], "Invalid change for License Type!");
    assert_eq!(reply.code(), "invalid_license_type");
    assert_eq!(
        patch(&app, &id, json!({"licenseType": 17})).await.json()["detail"],
        "Invalid change for License Type!"
    );
    assert_eq!(
        patch(&app, &id, json!({"licenseType": "x"})).await.json()["detail"],
        "Invalid change for License Type!"
    );

    let reply = patch(
        &app,
        &id,
        json!({
            "customerFullName": "Patched Ltd", "licenseType": 2, "licensedUsersCount": 250,
            "msTenantId": "7e24d47c-eb72-439a-84e4-aea1bdb1eed9",
            "applicationClientId": "0d3e6a41-2f5c-4b8e-9a71-5c0e8f4d2b19",
            "applicationClientSecret": "~-6Q8~supersecretvalue", "clientSecretExpirationDate": "2/18/2027 8:39:26 AM"
        }),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.json());
    let body = reply.json();
    assert_eq!(body["CustomerFullName"], "Patched Ltd");
    assert_eq!(body["LicenseType"], 2);
    assert_eq!(body["LicensedUsersCount"], 250);
    assert_eq!(
        body["ApplicationClientSecret"], "~-6",
        "only a short prefix is ever shown"
    );
    assert_eq!(body["ClientSecretExpirationDate"], "2/18/2027 8:39:26 AM");
    assert!(!reply.body.windows(11).any(|w| w == b"supersecret"), "secret leaked");
    let stored = app.get(&format!("/api/v3/customer/{id}")).await;
    assert!(!stored.body.windows(11).any(|w| w == b"supersecret"));

    let reply = patch(&app, &id, json!({"licensedUsersCount": -1})).await;
    assert_eq!(reply.json()["field"], "licensedUsersCount");
    assert_eq!(
        patch(
            &app,
            "00000000-0000-4000-8000-000000000000",
            json!({"customerFullName": "x"})
        )
        .await
        .status,
        404
    );
}

async fn active_user_count_is_real(app: TestApp) {
    let id = app.service("counted", 1, true, None).await;
    app.load(id, &users(17, "c")).await;
    let brief = app.get("/api/v3/customer").await.json();
    assert_eq!(brief[0]["ActiveUserCount"], 17);
    let detail = app.get(&format!("/api/v3/customer/{id}")).await.json();
    assert_eq!(detail["Replication"]["userCount"], 17);
}

async fn channel_header_narrows_lists(app: TestApp) {
    app.service("chanone", 1, true, Some(1)).await;
    app.service("chantwo", 1, true, Some(2)).await;
    let token = app.admin.clone();
    let reply = app
        .send(
            Method::GET,
            "/api/v3/customer",
            Some(&token),
            &[("x-ovoc-channel-id", "2")],
            Body::empty(),
        )
        .await;
    let list = reply.json();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["CustomerShortName"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["chantwo"]);
    let bad = app
        .send(
            Method::GET,
            "/api/v2/customer",
            Some(&token),
            &[("x-ovoc-channel-id", "two")],
            Body::empty(),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.code(), "invalid_channel_id");
}

async fn health_and_openapi(app: TestApp) {
    assert_eq!(
        app.send(Method::GET, "/healthz", None, &[], Body::empty()).await.status,
        200
    );
    let ready = app.send(Method::GET, "/readyz", None, &[], Body::empty()).await;
    assert_eq!(ready.status, 200);
    let doc = app
        .send(Method::GET, "/openapi.json", None, &[], Body::empty())
        .await
        .json();
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/v3/customer/{customerGuid}/user",
        "/api/v3/customer",
        "/api/v3/customer/{customerGuid}",
        "/api/v2/customer",
        "/api/v2/customer/{customerGuid}",
        "/api/v2/task/{taskId}",
        "/oauth2/v2.0/token",
        "/api/rosterd/clients",
    ] {
        assert!(paths.contains_key(path), "{path} missing from OpenAPI");
    }
    let get_users = &doc["paths"]["/api/v3/customer/{customerGuid}/user"]["get"]["responses"];
    for status in ["200", "400", "401", "404", "500"] {
        assert!(get_users.get(status).is_some(), "response {status} undocumented");
    }
    assert!(doc["components"]["schemas"].get("EndUser").is_some());

    let customer = app.service("metered", 1, true, None).await;
    app.load(customer, &users(4, "m")).await;
    app.get(&format!("/api/v3/customer/{customer}/user")).await;
    app.get(&format!("/api/v3/customer/{customer}/user")).await;
    let metrics = app.get("/metrics").await;
    assert_eq!(metrics.status, 200);
    let text = String::from_utf8(metrics.body).unwrap();
    assert!(text.contains("rosterd_users_served 4"), "{text}");
    for expected in [
        "rosterd_cache_requests_total{cache=\"page\",result=\"hit\"} 1\n",
        "rosterd_cache_requests_total{cache=\"page\",result=\"miss\"} 1\n",
        // The second request reused the service row and the verified token of the first.
        "rosterd_cache_requests_total{cache=\"service_record\",result=\"hit\"} 1\n",
        "rosterd_cache_requests_total{cache=\"verified_token\",result=\"hit\"}",
        "rosterd_http_responses_total{class=\"2xx\"}",
        "rosterd_http_request_duration_seconds_count{route=\"/api/v3/customer/{customerGuid}/user\",method=\"GET\",class=\"2xx\"} 2\n",
        "# TYPE rosterd_sync_round_duration_seconds histogram",
    ] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
    assert!(!text.contains(&customer.to_string()), "no customer ids in metrics");
}

both_backends!(
    create_then_read_in_every_shape,
    create_validates_every_field,
    patch_changes_license_and_connection,
    active_user_count_is_real,
    channel_header_narrows_lists,
    health_and_openapi,
);
