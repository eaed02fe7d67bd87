//! Authentication and authorization: the token endpoint, bearer checks, roles and scopes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::body::Body;
use axum::http::Method;
use base64::Engine;
use chrono::{Duration, Utc};
use common::{users, TestApp};
use domain::{Role, Scope};

async fn form(app: &TestApp, uri: &str, body: &str, basic: Option<(&str, &str)>) -> common::Reply {
    let mut headers = vec![("content-type", "application/x-www-form-urlencoded".to_string())];
    if let Some((id, secret)) = basic {
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        headers.push(("authorization", format!("Basic {encoded}")));
    }
    let refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    app.send(Method::POST, uri, None, &refs, Body::from(body.to_string()))
        .await
}

async fn token_endpoint_issues_usable_tokens(app: TestApp) {
    let created = app.create_client("reader", Role::Monitor, Scope::Provider).await;
    let customer = app.service("tokens", 1, true, None).await;
    app.load(customer, &users(3, "t")).await;

    let body = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&scope=api%3A%2F%2Frosterd%2F.default",
        created.client_id, created.client_secret
    );
    for uri in [
        "/oauth2/v2.0/token",
        "/7e24d47c-eb72-439a-84e4-aea1bdb1eed9/oauth2/v2.0/token",
    ] {
        let reply = form(&app, uri, &body, None).await;
        assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
        assert_eq!(reply.header("cache-control"), "no-store");
        let json = reply.json();
        assert_eq!(json["token_type"], "Bearer");
        assert!(json["expires_in"].as_u64().unwrap() > 3000);
        let token = json["access_token"].as_str().unwrap();
        assert_eq!(
            app.get_as(token, &format!("/api/v3/customer/{customer}/user"))
                .await
                .status,
            200
        );
    }
    // HTTP Basic works too.
    let reply = form(
        &app,
        "/oauth2/v2.0/token",
        "grant_type=client_credentials",
        Some((&created.client_id, &created.client_secret)),
    )
    .await;
    assert_eq!(reply.status, 200);
}

async fn token_endpoint_errors_are_entra_shaped(app: TestApp) {
    let created = app.create_client("c", Role::Monitor, Scope::Provider).await;
    let wrong_secret = format!(
        "grant_type=client_credentials&client_id={}&client_secret=nope",
        created.client_id
    );
    let reply = form(&app, "/oauth2/v2.0/token", &wrong_secret, None).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.json()["error"], "invalid_client");
    assert!(reply.json()["error_description"]
        .as_str()
        .unwrap()
        .starts_with("AADSTS"));

    let unknown = "grant_type=client_credentials&client_id=9b0c2a3e-1111-4222-8333-444455556666&client_secret=x";
    // Entra answers AADSTS700016 for an unknown application as unauthorized_client.
    let reply = form(&app, "/oauth2/v2.0/token", unknown, None).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"], "unauthorized_client");
    assert!(reply.json()["error_description"]
        .as_str()
        .unwrap()
        .starts_with("AADSTS700016"));

    let grant = format!(
        "grant_type=password&client_id={}&client_secret={}",
        created.client_id, created.client_secret
    );
    let reply = form(&app, "/oauth2/v2.0/token", &grant, None).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"], "unsupported_grant_type");

    let reply = form(&app, "/oauth2/v2.0/token", "client_id=x", None).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"], "invalid_request");
}

async fn discovery_documents(app: TestApp) {
    let config = app.get("/.well-known/openid-configuration").await.json();
    assert_eq!(config["issuer"], "http://rosterd.test");
    assert!(config["token_endpoint"]
        .as_str()
        .unwrap()
        .ends_with("/oauth2/v2.0/token"));
    assert!(config["jwks_uri"].as_str().unwrap().ends_with("/discovery/v2.0/keys"));
    let keys = app.get("/discovery/v2.0/keys").await.json();
    let first = &keys["keys"][0];
    assert_eq!(first["kty"], "OKP");
    assert_eq!(first["crv"], "Ed25519");
    assert!(first["kid"].is_string());
    assert!(first.get("d").is_none(), "private key material must never be published");
}

async fn bearer_failures_are_401_with_challenge(app: TestApp) {
    let customer = app.service("guarded", 1, true, None).await;
    let uri = format!("/api/v3/customer/{customer}/user");

    let missing = app.send(Method::GET, &uri, None, &[], Body::empty()).await;
    assert_eq!(missing.status, 401);
    assert!(missing.header("www-authenticate").starts_with("Bearer"));
    assert_eq!(missing.code(), "missing_token");

    let garbage = app.get_as("not-a-jwt", &uri).await;
    assert_eq!(garbage.status, 401);
    assert_eq!(garbage.code(), "invalid_token");
    assert!(garbage.header("www-authenticate").contains("invalid_token"));

    // A valid token with one signature byte changed.
    let mut forged = app.admin.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let reply = app.get_as(&forged, &uri).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.code(), "invalid_token");

    // A token signed by a key this installation does not know.
    let foreign = auth::TokenIssuer::new(
        "http://rosterd.test",
        "api://rosterd",
        auth::SigningKey::generate(),
        Vec::new(),
    );
    let created = app.create_client("x", Role::Admin, Scope::Provider).await;
    let token = foreign
        .issue(created.client_id.parse().unwrap(), Utc::now())
        .access_token;
    assert_eq!(app.get_as(&token, &uri).await.status, 401);

    // Expired: issued two hours ago with a one-hour lifetime.
    let expired = app
        .app
        .keys()
        .issue(created.client_id.parse().unwrap(), Utc::now() - Duration::hours(2))
        .unwrap();
    let reply = app.get_as(&expired.access_token, &uri).await;
    assert_eq!(reply.status, 401);
    assert!(reply.json()["detail"].as_str().unwrap().contains("expired"));

    let wrong_scheme = app
        .send(
            Method::GET,
            &uri,
            None,
            &[("authorization", "Basic abc")],
            Body::empty(),
        )
        .await;
    assert_eq!(wrong_scheme.status, 401);
}

async fn revoked_clients_lose_access_at_once(app: TestApp) {
    let customer = app.service("revoke", 1, true, None).await;
    let created = app.create_client("soon-gone", Role::Operator, Scope::Provider).await;
    let token = app.token_of(&created.client_id);
    let uri = format!("/api/v3/customer/{customer}/user");
    assert_eq!(app.get_as(&token, &uri).await.status, 200);
    let revoke = app
        .send(
            Method::DELETE,
            &format!("/api/rosterd/clients/{}", created.client_id),
            Some(&app.admin.clone()),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(revoke.status, 204);
    let reply = app.get_as(&token, &uri).await;
    assert_eq!(reply.status, 401);
    assert!(reply.json()["detail"].as_str().unwrap().contains("revoked"));
    // And it cannot get a new token either.
    let body = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        created.client_id, created.client_secret
    );
    let reply = form(&app, "/oauth2/v2.0/token", &body, None).await;
    assert_eq!(reply.status, 400, "Entra answers a disabled application with 400");
    assert_eq!(reply.json()["error"], "unauthorized_client");
}

async fn roles_limit_what_a_client_may_do(app: TestApp) {
    let customer = app.service("roles", 1, true, None).await;
    let monitor = app.token_for(Role::Monitor, Scope::Provider).await;
    let operator = app.token_for(Role::Operator, Scope::Provider).await;
    let put_uri = format!("/api/v3/customer/{customer}/user");
    let body = serde_json::to_string(&users(2, "r")).unwrap();

    let reply = app
        .send(
            Method::PUT,
            &put_uri,
            Some(&monitor),
            &[("content-type", "application/json")],
            Body::from(body.clone()),
        )
        .await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.code(), "insufficient_role");
    let patch = app
        .send(
            Method::PATCH,
            &format!("/api/v3/customer/{customer}"),
            Some(&monitor),
            &[("content-type", "application/json")],
            Body::from(r#"{"customerFullName":"x"}"#),
        )
        .await;
    assert_eq!(patch.status, 403);

    let reply = app
        .send(
            Method::PUT,
            &put_uri,
            Some(&operator),
            &[("content-type", "application/json")],
            Body::from(body),
        )
        .await;
    assert_eq!(reply.status, 200);
    let clients = app.get_as(&operator, "/api/rosterd/clients").await;
    assert_eq!(clients.status, 403, "operators cannot manage clients");
    assert_eq!(app.get("/api/rosterd/clients").await.status, 200);
}

async fn scopes_hide_other_customers(app: TestApp) {
    let mine = app.service("mine", 1, true, Some(7)).await;
    let theirs = app.service("theirs", 1, true, Some(8)).await;
    let listed = app.service("listed", 1, true, None).await;
    for id in [mine, theirs, listed] {
        app.load(id, &users(2, "s")).await;
    }
    let channel = app.token_for(Role::Monitor, Scope::Channel { channel_id: 7 }).await;
    let customers = app
        .token_for(
            Role::Monitor,
            Scope::Customers {
                customers: vec![listed],
            },
        )
        .await;

    assert_eq!(
        app.get_as(&channel, &format!("/api/v3/customer/{mine}/user"))
            .await
            .status,
        200
    );
    let hidden = app.get_as(&channel, &format!("/api/v3/customer/{theirs}/user")).await;
    assert_eq!(hidden.status, 404, "out of scope looks like it does not exist");
    assert_eq!(hidden.code(), "customer_not_found");
    assert_eq!(
        app.get_as(&channel, &format!("/api/v3/customer/{theirs}")).await.status,
        404
    );
    assert_eq!(
        app.get_as(&customers, &format!("/api/v3/customer/{listed}/user"))
            .await
            .status,
        200
    );
    assert_eq!(
        app.get_as(&customers, &format!("/api/v3/customer/{mine}/user"))
            .await
            .status,
        404
    );

    let list = app.get_as(&channel, "/api/v3/customer").await.json();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["CustomerShortName"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["mine"]);
    let list = app.get_as(&customers, "/api/v2/customer").await.json();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["ShortName"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["listed"]);
}

both_backends!(
    token_endpoint_issues_usable_tokens,
    token_endpoint_errors_are_entra_shaped,
    discovery_documents,
    bearer_failures_are_401_with_challenge,
    revoked_clients_lose_access_at_once,
    roles_limit_what_a_client_may_do,
    scopes_hide_other_customers,
);
