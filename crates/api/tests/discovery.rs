//! Discovery as Entra serves it: the root and tenant documents, their keys, and the
//! authorization endpoint they must name (which answers an Entra-shaped error).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::body::Body;
use axum::http::Method;
use common::{Backend, TestApp};

#[tokio::test]
async fn tenant_documents_name_tenant_endpoints_and_the_one_issuer() {
    let app = TestApp::new(Backend::Sqlite).await.unwrap();
    let root = app
        .send(
            Method::GET,
            "/.well-known/openid-configuration",
            None,
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(root.status, 200);
    let root = root.json();
    assert_eq!(
        root["authorization_endpoint"],
        "http://rosterd.test/oauth2/v2.0/authorize"
    );

    for tenant in [
        "common",
        "organizations",
        "contoso.onmicrosoft.com",
        "7e24d47c-eb72-439a-84e4-aea1bdb1eed9",
    ] {
        for path in [
            format!("/{tenant}/v2.0/.well-known/openid-configuration"),
            format!("/{tenant}/.well-known/openid-configuration"),
        ] {
            let reply = app.send(Method::GET, &path, None, &[], Body::empty()).await;
            assert_eq!(reply.status, 200, "{path}");
            let doc = reply.json();
            assert_eq!(doc["issuer"], root["issuer"], "one issuer for every tenant");
            assert_eq!(
                doc["token_endpoint"],
                format!("http://rosterd.test/{tenant}/oauth2/v2.0/token")
            );
            assert_eq!(
                doc["jwks_uri"],
                format!("http://rosterd.test/{tenant}/discovery/v2.0/keys")
            );
            assert_eq!(
                doc["authorization_endpoint"],
                format!("http://rosterd.test/{tenant}/oauth2/v2.0/authorize")
            );
        }
        let keys = app
            .send(
                Method::GET,
                &format!("/{tenant}/discovery/v2.0/keys"),
                None,
                &[],
                Body::empty(),
            )
            .await;
        assert_eq!(keys.status, 200);
        assert_eq!(keys.json()["keys"][0]["crv"], "Ed25519");
    }
}

#[tokio::test]
async fn bad_tenants_and_the_authorization_endpoint_answer_like_entra() {
    let app = TestApp::new(Backend::Sqlite).await.unwrap();
    let reply = app
        .send(
            Method::GET,
            "/bad%20tenant/v2.0/.well-known/openid-configuration",
            None,
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"], "invalid_tenant");
    assert!(reply.json()["error_description"]
        .as_str()
        .unwrap()
        .starts_with("AADSTS90002:"));

    for (method, path) in [
        (
            Method::GET,
            "/common/oauth2/v2.0/authorize?response_type=code&client_id=x",
        ),
        (Method::POST, "/organizations/oauth2/v2.0/authorize"),
        (Method::GET, "/oauth2/v2.0/authorize"),
    ] {
        let reply = app.send(method, path, None, &[], Body::empty()).await;
        assert_eq!(reply.status, 400, "{path}");
        let error = reply.json();
        assert_eq!(error["error"], "unsupported_response_type");
        assert!(error["error_description"]
            .as_str()
            .unwrap()
            .contains("client credentials"));
        assert_eq!(error["error_codes"][0], 70005);
    }
}
