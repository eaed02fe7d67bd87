//! Every input has a limit and every expensive operation a concurrency limit; refusals are
//! problem+json (OAuth JSON on the token routes) and name what is at fault.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Method, Request};
use common::{users, TestApp};
use domain::{Role, Scope};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

fn user_json(identity: u128, web_name: &str) -> Value {
    json!({"Identity": uuid::Uuid::from_u128(identity).to_string(), "WebName": web_name})
}

async fn oversized_fields_and_rows_are_refused_with_row_and_field(app: TestApp) {
    let customer = app.service("limits", 1, false, None).await;
    app.load(customer, &users(2, "kept")).await;

    // A 100 MB name would be re-rendered on every page: refused at the row limit, row 2.
    let body = json!([user_json(1, "ok"), user_json(2, &"x".repeat(100 << 20))]).to_string();
    let reply = app.put_users(customer, "application/json", body).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.code(), "row_too_large", "{}", reply.json());
    assert_eq!(reply.json()["row"], 2);
    assert_eq!(reply.json()["field"], "WebName");

    // One field over 4 KiB in a row well under 64 KiB.
    let body = json!([user_json(1, "ok"), user_json(2, "ok"), user_json(3, &"y".repeat(4097))]).to_string();
    let reply = app.put_users(customer, "application/json", body).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.code(), "field_too_long");
    assert_eq!(reply.json()["row"], 3);
    assert_eq!(reply.json()["field"], "WebName");
    let body = json!([user_json(1, &"z".repeat(4096))]).to_string();
    assert_eq!(
        app.put_users(customer, "application/json", body).await.status,
        200,
        "4 KiB exactly is fine"
    );
    app.load(customer, &users(2, "kept")).await;

    // A row over 64 KiB of ignored keys.
    let mut fat = user_json(9, "ok");
    for i in 0..20 {
        fat[format!("Extra{i}")] = json!("e".repeat(4000));
    }
    let reply = app
        .put_users(customer, "application/json", json!([fat]).to_string())
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.code(), "row_too_large");
    assert_eq!(reply.json()["row"], 1);

    // CSV: the same limits, with the data row number.
    let csv = format!(
        "Identity,DisplayName\n{},ok\n{},{}\n",
        uuid::Uuid::from_u128(1),
        uuid::Uuid::from_u128(2),
        "d".repeat(5000)
    );
    let reply = app.put_users(customer, "text/csv", csv).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.code(), "field_too_long");
    assert_eq!(
        (reply.json()["row"].clone(), reply.json()["field"].clone()),
        (json!(2), json!("DisplayName"))
    );
    let csv = format!(
        "Identity,DisplayName\n{},ok\n{},{}\n",
        uuid::Uuid::from_u128(1),
        uuid::Uuid::from_u128(2),
        "d".repeat(1 << 20)
    );
    let reply = app.put_users(customer, "text/csv", csv).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.code(), "row_too_large");
    assert_eq!(
        (reply.json()["row"].clone(), reply.json()["field"].clone()),
        (json!(2), json!("DisplayName"))
    );

    // Nothing was changed by any of them.
    let page = app.get(&format!("/api/v3/customer/{customer}/user")).await.json();
    assert_eq!(page["totalRecords"], 2);
    assert!(page["data"][0]["WebName"].as_str().unwrap().starts_with("kept"));
}

async fn not_found_errors_keep_their_message(app: TestApp) {
    let reply = app.get("/api/v2/task/x").await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.code(), "task_not_found");
    let detail = reply.json()["detail"].as_str().unwrap().to_string();
    assert!(detail.contains("task 'x' does not exist"), "{detail}");
    let reply = app.get("/api/nothing/here").await;
    assert!(reply.json()["detail"].as_str().unwrap().contains("no such route"));
}

async fn bodies_over_the_limit_are_problems(app: TestApp) {
    let big = format!("{{\"shortName\":\"{}\"}}", "a".repeat(3 << 20));
    let reply = app
        .send(
            Method::POST,
            "/api/v2/customer",
            Some(&app.admin.clone()),
            &[("content-type", "application/json")],
            Body::from(big),
        )
        .await;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.header("content-type"), "application/problem+json");
    assert_eq!(reply.code(), "body_too_large");

    let reply = app
        .send(
            Method::POST,
            "/oauth2/v2.0/token",
            None,
            &[("content-type", "application/x-www-form-urlencoded")],
            Body::from(format!(
                "grant_type=client_credentials&client_id={}",
                "a".repeat(3 << 20)
            )),
        )
        .await;
    assert_eq!(reply.status, 413);
    assert!(reply.header("content-type").starts_with("application/json"));
    assert_eq!(reply.json()["error"], "invalid_request");
}

async fn patch_strings_have_length_limits(app: TestApp) {
    let customer = app.service("strings", 1, false, None).await;
    let uri = format!("/api/v3/customer/{customer}");
    let admin = app.admin.clone();
    for field in [
        "customerFullName",
        "msDefaultDomain",
        "applicationClientId",
        "applicationClientSecret",
    ] {
        let mut body = json!({});
        body[field] = json!("a".repeat(10_000));
        let reply = app.json_as(Method::PATCH, &admin, &uri, &body).await;
        assert_eq!(reply.status, 400, "{field}");
        assert_eq!(reply.code(), "invalid_field");
        assert_eq!(reply.json()["field"], field);
    }
    let reply = app
        .json_as(
            Method::POST,
            &admin,
            "/api/v2/customer",
            &json!({"shortName": "long", "ovocCustomerType": "t".repeat(10_000)}),
        )
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["field"], "ovocCustomerType");
}

async fn metrics_need_a_provider_token_and_are_cached(app: TestApp) {
    let scrape = |token: Option<String>| {
        let app = &app;
        async move {
            app.send(Method::GET, "/metrics", token.as_deref(), &[], Body::empty())
                .await
        }
    };
    let anonymous = scrape(None).await;
    assert_eq!(anonymous.status, 401);
    let customer = app.service("metered", 1, false, None).await;
    let scoped = app
        .token_for(
            Role::Monitor,
            Scope::Customers {
                customers: vec![customer],
            },
        )
        .await;
    assert_eq!(
        scrape(Some(scoped)).await.status,
        403,
        "fleet figures are provider data"
    );
    let monitor = app.token_for(Role::Monitor, Scope::Provider).await;
    let first = scrape(Some(monitor.clone())).await;
    assert_eq!(first.status, 200);
    let text = String::from_utf8(first.body).unwrap();
    assert!(text.contains("rosterd_services 1\n"), "{text}");

    // A second scrape right away answers from the cached gauges: no full query per scrape.
    app.service("another", 1, false, None).await;
    let text = String::from_utf8(scrape(Some(monitor)).await.body).unwrap();
    assert!(text.contains("rosterd_services 1\n"), "{text}");
}

async fn concurrent_imports_are_limited(app: TestApp) {
    let customer = app.service("busy", 1, false, None).await;
    let uri = format!("/api/v3/customer/{customer}/user");
    // Two imports whose bodies never finish hold both slots.
    let mut senders = Vec::new();
    let mut running = Vec::new();
    for _ in 0..2 {
        let (tx, rx) = futures::channel::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
        senders.push(tx);
        let request = Request::builder()
            .method(Method::PUT)
            .uri(&uri)
            .header("authorization", format!("Bearer {}", app.admin))
            .header("content-type", "application/json")
            .body(Body::from_stream(rx))
            .unwrap();
        running.push(tokio::spawn(app.router.clone().oneshot(request)));
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let body = serde_json::to_string(&users(2, "third")).unwrap();
    let reply = app.put_users(customer, "application/json", body.clone()).await;
    assert_eq!(reply.status, 429, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.code(), "import_busy");
    assert!(reply.header("retry-after").parse::<u64>().unwrap() >= 1);

    drop(senders);
    for handle in running {
        handle.await.unwrap().unwrap();
    }
    assert_eq!(app.put_users(customer, "application/json", body).await.status, 200);
}

async fn token_guessing_is_throttled(app: TestApp) {
    let (client, _) = app.client_for(Role::Monitor, Scope::Provider).await;
    let created = app.create_client("real", Role::Monitor, Scope::Provider).await;
    let router = api::router(app.state.clone()).layer(MockConnectInfo(SocketAddr::from(([10, 1, 2, 3], 5555))));
    let post = |body: String| {
        let router = router.clone();
        async move {
            let request = Request::builder()
                .method(Method::POST)
                .uri("/oauth2/v2.0/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap();
            let response = router.oneshot(request).await.unwrap();
            let status = response.status().as_u16();
            let retry = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            (status, retry, serde_json::from_slice::<Value>(&bytes).unwrap())
        }
    };
    // Guessing one client's secret: after a burst of failures, 429 even for the right secret.
    let guess = format!("grant_type=client_credentials&client_id={client}&client_secret=guess");
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(post(guess.clone()).await.0);
    }
    assert_eq!(&statuses[..10], &[401; 10]);
    let (status, retry, body) = post(guess.clone()).await;
    assert_eq!(status, 429, "{body}");
    assert!(retry.unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(body["error_codes"][0], 50196);
    assert!(body["error_description"].as_str().unwrap().starts_with("AADSTS50196"));

    // Another client from another address is not affected...
    let good = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        created.client_id, created.client_secret
    );
    assert_eq!(
        app.send(
            Method::POST,
            "/oauth2/v2.0/token",
            None,
            &[("content-type", "application/x-www-form-urlencoded")],
            Body::from(good.clone())
        )
        .await
        .status,
        200
    );
    // ...but the guessing address is: it failed too often, whatever client it names.
    let (status, _, _) = post(good).await;
    assert_eq!(status, 429, "per source address");
}

both_backends!(
    oversized_fields_and_rows_are_refused_with_row_and_field,
    not_found_errors_keep_their_message,
    bodies_over_the_limit_are_problems,
    patch_strings_have_length_limits,
    metrics_need_a_provider_token_and_are_cached,
    concurrent_imports_are_limited,
    token_guessing_is_throttled,
);
