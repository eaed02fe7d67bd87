//! Tokens from an external issuer (Entra-shaped RS256, keys from a JWKS URL on loopback) are
//! accepted for registered apps, with authorization decided locally.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use api::{ApiConfig, AppState};
use app::{AppConfig, ExternalIssuerConfig};
use axum::body::Body;
use axum::http::{Method, Request};
use axum::routing::get;
use axum::Router;
use common::{users, Backend, TestApp};
use http_body_util::BodyExt;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::json;
use tower::ServiceExt;

const RSA_KEY_PEM: &str = include_str!("../../auth/testdata/rsa-test-key.pem");
const RSA_JWKS: &str = include_str!("../../auth/testdata/rsa-test-jwks.json");
const ISSUER: &str = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0";
const AUDIENCE: &str = "api://rosterd-provider";
const APP: &str = "0b8f2e1c-7a44-4c1e-9d3f-5e6a7b8c9d0e";

fn entra_token(app: &str, audience: &str, kid: &str) -> String {
    entra_token_with(app, audience, kid, &[])
}

/// An Entra-shaped token with extra claims (`scp` of a delegated token, `idtyp`, ...).
fn entra_token_with(app: &str, audience: &str, kid: &str, extra: &[(&str, serde_json::Value)]) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "aud": audience, "iss": ISSUER, "iat": now, "nbf": now, "exp": now + 3600,
        "azp": app, "azpacr": "1", "tid": "72f988bf-86f1-41af-91ab-2d7cd011db47", "ver": "2.0",
        "sub": "1c7a3b5e-0000-4000-8000-000000000001", "roles": [],
    });
    for (name, value) in extra {
        claims[*name] = value.clone();
    }
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_string());
    encode(
        &header,
        &claims,
        &EncodingKey::from_rsa_pem(RSA_KEY_PEM.as_bytes()).unwrap(),
    )
    .unwrap()
}

async fn get_status(router: &Router, uri: &str, token: &str) -> (u16, serde_json::Value) {
    let request = Request::builder()
        .method(Method::GET)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn entra_tokens_of_registered_apps_are_accepted() {
    // The issuer's JWKS endpoint, on loopback, counting fetches.
    let fetches = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&fetches);
    let jwks = Router::new().route(
        "/keys",
        get(move || {
            counter.fetch_add(1, Ordering::Relaxed);
            async { ([("content-type", "application/json")], RSA_JWKS) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let jwks_url = format!("http://{}/keys", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, jwks).await });

    let app = TestApp::new(Backend::Sqlite).await.unwrap();
    let customer = app.service("entra", 1, true, None).await;
    app.load(customer, &users(3, "e")).await;
    let external = ExternalIssuerConfig {
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        jwks_url,
        min_refetch_interval: std::time::Duration::ZERO,
    };
    let keys = app
        .installation
        .key_ring(rosterd::token_settings("http://rosterd.test", 3600), Some(external))
        .await
        .unwrap();
    let router = api::router(AppState::new(
        app.installation.app(keys, None, AppConfig::default()),
        ApiConfig::default(),
    ));
    assert_eq!(fetches.load(Ordering::Relaxed), 1, "keys fetched at start");

    let uri = format!("/api/v3/customer/{customer}/user");
    // Not registered yet: a valid signature is not enough.
    let (status, body) = get_status(&router, &uri, &entra_token(APP, AUDIENCE, "test-rsa-1")).await;
    assert_eq!(status, 401, "{body}");

    let register = Request::builder()
        .method(Method::POST)
        .uri("/api/rosterd/clients")
        .header("authorization", format!("Bearer {}", app.admin))
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"name": "entra app", "role": "Monitor", "externalAppId": APP}).to_string(),
        ))
        .unwrap();
    let registered = router.clone().oneshot(register).await.unwrap();
    assert_eq!(registered.status(), 201);
    let (status, body) = get_status(&router, &uri, &entra_token(APP, AUDIENCE, "test-rsa-1")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["totalRecords"], 3);

    let (status, body) = get_status(&router, &uri, &entra_token(APP, "api://someone-else", "test-rsa-1")).await;
    assert_eq!(status, 401);
    assert!(body["detail"].as_str().unwrap().contains("audience"), "{body}");

    // An unknown key id makes rosterd fetch the keys again (Entra rotates them), then refuse.
    let before = fetches.load(Ordering::Relaxed);
    let (status, _) = get_status(&router, &uri, &entra_token(APP, AUDIENCE, "rotated-key")).await;
    assert_eq!(status, 401);
    assert_eq!(
        fetches.load(Ordering::Relaxed),
        before + 1,
        "an unknown kid refetches the keys"
    );

    // The role is still decided locally: a Monitor app cannot write.
    let request = Request::builder()
        .method(Method::PUT)
        .uri(&uri)
        .header(
            "authorization",
            format!("Bearer {}", entra_token(APP, AUDIENCE, "test-rsa-1")),
        )
        .header("content-type", "application/json")
        .body(Body::from("[]"))
        .unwrap();
    assert_eq!(router.clone().oneshot(request).await.unwrap().status(), 403);

    // Built-in tokens keep working beside the external issuer.
    let (status, _) = get_status(&router, &uri, &app.admin.clone()).await;
    assert_eq!(status, 200);

    // Only app-only tokens: a delegated (user) token of the registered app is refused.
    for extra in [
        vec![("scp", json!("User.Read"))],
        vec![("idtyp", json!("user"))],
        vec![("idtyp", json!("user")), ("scp", json!("access_as_user"))],
    ] {
        let token = entra_token_with(APP, AUDIENCE, "test-rsa-1", &extra);
        let (status, body) = get_status(&router, &uri, &token).await;
        assert_eq!(status, 401, "{extra:?}: {body}");
    }
    let token = entra_token_with(APP, AUDIENCE, "test-rsa-1", &[("idtyp", json!("app"))]);
    assert_eq!(get_status(&router, &uri, &token).await.0, 200, "idtyp app");

    // An external token never acts as a local (secret-based) client, whatever its azp says.
    let local = app
        .create_client("local admin", domain::Role::Admin, domain::Scope::Provider)
        .await;
    let (status, body) = get_status(&router, &uri, &entra_token(&local.client_id, AUDIENCE, "test-rsa-1")).await;
    assert_eq!(status, 401, "{body}");
}
