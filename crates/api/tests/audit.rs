//! The audit trail: what the API changes is recorded and reads back exactly (who, what, which
//! customer, when); an audit write that fails does not fail the request but is counted on
//! `/metrics` (and logged).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::body::Body;
use axum::http::Method;
use chrono::Utc;
use common::{users, TestApp};
use domain::{ClientId, CustomerId, Role, Scope};
use serde_json::json;
use sqlx::Connection;

both_backends!(changes_are_audited_and_read_back, failed_audit_writes_are_counted);

/// An Admin client of its own, so the audit records can be told apart from the test's setup.
async fn auditor(app: &TestApp) -> (ClientId, String) {
    let created = app.create_client("auditor", Role::Admin, Scope::Provider).await;
    (created.client_id.parse().unwrap(), app.token_of(&created.client_id))
}

async fn send_json(app: &TestApp, token: &str, method: Method, uri: &str, body: serde_json::Value) -> common::Reply {
    app.send(
        method,
        uri,
        Some(token),
        &[("content-type", "application/json")],
        Body::from(body.to_string()),
    )
    .await
}

async fn changes_are_audited_and_read_back(app: TestApp) {
    let (who, token) = auditor(&app).await;
    let started = Utc::now();
    let created = send_json(
        &app,
        &token,
        Method::POST,
        "/api/v2/customer",
        json!({"shortName": "audited", "fullName": "Audited Ltd", "licenseType": 1}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.json());
    let customer: CustomerId = created.json()["UmpCustomerGuid"].as_str().unwrap().parse().unwrap();
    let body = serde_json::to_string(&users(3, "audit")).unwrap();
    let put = send_json(
        &app,
        &token,
        Method::PUT,
        &format!("/api/v3/customer/{customer}/user"),
        serde_json::from_str(&body).unwrap(),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.json());
    let client = send_json(
        &app,
        &token,
        Method::POST,
        "/api/rosterd/clients",
        json!({"name": "noc", "role": "Monitor"}),
    )
    .await;
    assert_eq!(client.status, 201, "{}", client.json());
    let noc = client.json()["client_id"].as_str().unwrap().to_string();
    let revoked = app
        .send(
            Method::DELETE,
            &format!("/api/rosterd/clients/{noc}"),
            Some(&token),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(revoked.status, 204);
    let finished = Utc::now();

    let events: Vec<_> = app
        .store()
        .list_audit_events(&common::SYSTEM)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.client == Some(who))
        .collect();
    let summary: Vec<(&str, Option<CustomerId>)> = events.iter().map(|e| (e.action.as_str(), e.customer)).collect();
    assert_eq!(
        summary,
        vec![
            ("service.create", Some(customer)),
            ("users.replace", Some(customer)),
            ("client.create", None),
            ("client.revoke", None),
        ]
    );
    assert_eq!(events[0].detail, "short name audited");
    assert!(events[1].detail.contains("3 users (3 added"), "{}", events[1].detail);
    assert!(events[2].detail.contains(&noc) && events[3].detail.contains(&noc));
    assert!(events
        .iter()
        .all(|e| e.at >= started - chrono::Duration::seconds(1) && e.at <= finished + chrono::Duration::seconds(1)));
    assert!(events.windows(2).all(|pair| pair[0].at <= pair[1].at));
    let (_, metrics) = metrics(&app).await;
    assert!(metrics.contains("rosterd_audit_write_failures_total 0\n"), "{metrics}");
}

async fn metrics(app: &TestApp) -> (u16, String) {
    let reply = app
        .send(Method::GET, "/metrics", Some(&app.admin), &[], Body::empty())
        .await;
    (reply.status.as_u16(), String::from_utf8(reply.body).unwrap())
}

/// The audit table is gone (a broken migration, a revoked grant): changes still go through,
/// and every lost event is counted.
async fn failed_audit_writes_are_counted(app: TestApp) {
    let (_, token) = auditor(&app).await;
    let drop_table = "DROP TABLE audit_events";
    if app.database_url.starts_with("postgres") {
        let mut db = sqlx::PgConnection::connect(&app.database_url).await.unwrap();
        sqlx::query(drop_table).execute(&mut db).await.unwrap();
    } else {
        let mut db = sqlx::SqliteConnection::connect(&app.database_url).await.unwrap();
        sqlx::query(drop_table).execute(&mut db).await.unwrap();
    }
    for short in ["lost1", "lost2"] {
        let created = send_json(
            &app,
            &token,
            Method::POST,
            "/api/v2/customer",
            json!({"shortName": short, "fullName": "Lost audit", "licenseType": 1}),
        )
        .await;
        assert_eq!(created.status, 201, "the change itself goes through");
    }
    let (status, metrics) = metrics(&app).await;
    assert_eq!(status, 200);
    assert!(metrics.contains("rosterd_audit_write_failures_total 2\n"), "{metrics}");
    assert!(app.store().list_audit_events(&common::SYSTEM).await.is_err());
}
