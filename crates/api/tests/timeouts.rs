//! Time limits of the HTTP edge: a streamed upload whose client stops sending is refused after
//! the stall timeout and changes nothing, while a slow but moving upload is not cut off by the
//! request timeout that bounds every other route.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use api::ApiConfig;
use app::AppConfig;
use axum::body::{Body, Bytes};
use common::{users, Backend, TestApp};
use futures::StreamExt;

fn header_and_rows(n: usize) -> Vec<String> {
    let mut lines = vec!["Identity,WebName".to_string()];
    lines.extend(
        users(n, "new")
            .iter()
            .map(|u| format!("{},{}", u.identity, u.web_name.clone().unwrap())),
    );
    lines
}

async fn app(stall: Duration, request_timeout: Duration) -> TestApp {
    TestApp::with_config(
        Backend::Sqlite,
        AppConfig {
            upload_stall_timeout: stall,
            ..AppConfig::default()
        },
        ApiConfig {
            request_timeout,
            ..ApiConfig::default()
        },
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn an_upload_that_stops_sending_is_refused_and_changes_nothing() {
    let app = app(Duration::from_millis(300), Duration::from_secs(30)).await;
    let customer = app.service("stalled", 1, true, None).await;
    app.load(customer, &users(3, "keep")).await;
    let before = app.get(&format!("/api/v3/customer/{customer}/user")).await.body;

    let first = Bytes::from(header_and_rows(2)[..2].join("\n") + "\n");
    let stream = futures::stream::iter([Ok::<_, std::io::Error>(first)]).chain(futures::stream::pending());
    let reply = tokio::time::timeout(
        Duration::from_secs(20),
        app.put_users(customer, "text/csv", Body::from_stream(stream)),
    )
    .await
    .expect("the stalled upload is answered");
    assert_eq!(reply.status, 408, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.code(), "body_stalled");
    assert_eq!(app.get(&format!("/api/v3/customer/{customer}/user")).await.body, before);
}

#[tokio::test]
async fn a_slow_moving_upload_outlasts_the_request_timeout() {
    let app = app(Duration::from_secs(5), Duration::from_millis(300)).await;
    let customer = app.service("trickle", 1, true, None).await;
    let lines = header_and_rows(5);
    let chunks: Vec<_> = lines.into_iter().map(|line| Bytes::from(line + "\n")).collect();
    let stream = futures::stream::iter(chunks).then(|chunk| async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        Ok::<_, std::io::Error>(chunk)
    });
    let reply = app.put_users(customer, "text/csv", Body::from_stream(stream)).await;
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.json()["total"], 5);
}
