//! The two freshness promises of the read path (README, "Freshness"), with two replicas over one
//! database and time moved by hand:
//! - a client revoked through one replica is refused by that replica at once, and by every other
//!   within `record_ttl` (1 s);
//! - users imported (or synced) through one replica are served by it at once, and by every other
//!   within 1 s.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use api::{ApiConfig, AppState};
use app::{App, AppConfig};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use chrono::Utc;
use common::{users, TestApp};
use domain::{CustomerId, Role, Scope};
use http_body_util::BodyExt;
use serde_json::Value;
use sync::ManualClock;
use tower::ServiceExt;

/// Another replica: its own application (and so its own caches) over the same database, reading
/// time from `clock`.
async fn replica(app: &TestApp, clock: Arc<ManualClock>) -> Router {
    let keys = app
        .installation
        .key_ring(rosterd::token_settings("http://rosterd.test", 3600), None)
        .await
        .unwrap();
    let other = Arc::new(App::new(
        Arc::clone(&app.installation.store),
        keys,
        None,
        AppConfig::default(),
    ));
    other.set_record_clock(clock);
    api::router(AppState::new(other, ApiConfig::default()))
}

async fn get(router: &Router, token: &str, uri: &str) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(Method::GET)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn page_uri(customer: CustomerId) -> String {
    format!("/api/v3/customer/{customer}/user?PageNumber=1&PageSize=10")
}

fn frozen() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(Utc::now()))
}

fn just_under_a_second() -> chrono::Duration {
    chrono::Duration::milliseconds(999)
}

async fn a_revoked_client_is_refused_here_at_once_and_everywhere_within_a_second(app: TestApp) {
    let customer = app.service("fresh", 1, false, None).await;
    app.load(customer, &users(3, "one")).await;
    let (here_clock, there_clock) = (frozen(), frozen());
    app.app.set_record_clock(here_clock.clone());
    let there = replica(&app, there_clock.clone()).await;
    let (client, token) = app.client_for(Role::Monitor, Scope::Provider).await;

    // Both replicas have just read the client record.
    assert_eq!(get(&app.router, &token, &page_uri(customer)).await.0, StatusCode::OK);
    assert_eq!(get(&there, &token, &page_uri(customer)).await.0, StatusCode::OK);

    let revoked = app
        .send(
            Method::DELETE,
            &format!("/api/rosterd/clients/{client}"),
            Some(&app.admin.clone()),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(
        revoked.status,
        StatusCode::NO_CONTENT,
        "{}",
        String::from_utf8_lossy(&revoked.body)
    );

    // The replica that revoked it refuses at once, without its clock moving.
    assert_eq!(
        get(&app.router, &token, &page_uri(customer)).await.0,
        StatusCode::UNAUTHORIZED
    );
    // The other one may still answer from the record it read a moment ago...
    there_clock.advance(just_under_a_second());
    assert_eq!(get(&there, &token, &page_uri(customer)).await.0, StatusCode::OK);
    // ...but not once a second has passed since it read it.
    there_clock.advance(chrono::Duration::milliseconds(1));
    assert_eq!(
        get(&there, &token, &page_uri(customer)).await.0,
        StatusCode::UNAUTHORIZED
    );
}

async fn an_import_is_served_here_at_once_and_everywhere_within_a_second(app: TestApp) {
    let customer = app.service("fresh", 1, false, None).await;
    app.load(customer, &users(3, "one")).await;
    let (here_clock, there_clock) = (frozen(), frozen());
    app.app.set_record_clock(here_clock.clone());
    let there = replica(&app, there_clock.clone()).await;
    let token = app.token_for(Role::Monitor, Scope::Provider).await;
    let total = |page: &Value| page["totalRecords"].as_i64().unwrap();

    assert_eq!(total(&get(&app.router, &token, &page_uri(customer)).await.1), 3);
    assert_eq!(total(&get(&there, &token, &page_uri(customer)).await.1), 3);

    let body = serde_json::to_string(
        &users(5, "two")
            .iter()
            .map(|u| serde_json::from_str::<Value>(&u.render_json()).unwrap())
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let imported = app.put_users(customer, "application/json", body).await;
    assert_eq!(
        imported.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&imported.body)
    );

    // Acknowledged here: served here from the next request on.
    let here = get(&app.router, &token, &page_uri(customer)).await.1;
    assert_eq!(total(&here), 5, "{here}");
    assert!(here["data"][0]["WebName"].as_str().unwrap().starts_with("two"));
    // The other replica serves the generation its service row named a moment ago (whole, never
    // a mix), and the new one once a second has passed since it read the row.
    there_clock.advance(just_under_a_second());
    let stale = get(&there, &token, &page_uri(customer)).await.1;
    assert_eq!(total(&stale), 3, "{stale}");
    assert!(stale["data"][0]["WebName"].as_str().unwrap().starts_with("one"));
    there_clock.advance(chrono::Duration::milliseconds(1));
    let fresh = get(&there, &token, &page_uri(customer)).await.1;
    assert_eq!(total(&fresh), 5, "{fresh}");
    assert!(fresh["data"][0]["WebName"].as_str().unwrap().starts_with("two"));
}

/// With the reuse turned off, every request reads the store (the promise becomes "at once").
async fn no_reuse_when_the_ttl_is_zero(app: TestApp) {
    let customer = app.service("fresh", 1, false, None).await;
    app.load(customer, &users(3, "one")).await;
    let keys = app
        .installation
        .key_ring(rosterd::token_settings("http://rosterd.test", 3600), None)
        .await
        .unwrap();
    let config = AppConfig {
        record_ttl: Duration::ZERO,
        ..AppConfig::default()
    };
    let other = Arc::new(App::new(Arc::clone(&app.installation.store), keys, None, config));
    other.set_record_clock(frozen());
    let there = api::router(AppState::new(other, ApiConfig::default()));
    let (client, token) = app.client_for(Role::Monitor, Scope::Provider).await;
    assert_eq!(get(&there, &token, &page_uri(customer)).await.0, StatusCode::OK);
    app.store()
        .revoke_client(&common::SYSTEM.grant(client.parse().unwrap()), Utc::now())
        .await
        .unwrap();
    assert_eq!(
        get(&there, &token, &page_uri(customer)).await.0,
        StatusCode::UNAUTHORIZED
    );
}

both_backends!(
    a_revoked_client_is_refused_here_at_once_and_everywhere_within_a_second,
    an_import_is_served_here_at_once_and_everywhere_within_a_second,
    no_reuse_when_the_ttl_is_zero,
);
