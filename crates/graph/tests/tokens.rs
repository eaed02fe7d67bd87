//! App-only tokens against the fake: refusals as typed errors, caching, refresh.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::Setup;
use graph::{GraphError, GraphEvent, TenantCredentials, TokenError};
use testkit::fake_graph::{Endpoint, Fault};

#[tokio::test]
async fn one_token_serves_many_calls() {
    let setup = Setup::new(41, 120).await;
    let tenant = setup.tenant_client();
    tenant.users().collect_all().await.unwrap();
    tenant.user_configurations().collect_all().await.unwrap();
    tenant.users_delta(None).collect_all().await.unwrap();
    // Another handle for the same tenant and app shares the cache.
    setup
        .client
        .tenant(setup.credentials())
        .users()
        .collect_all()
        .await
        .unwrap();
    assert_eq!(setup.fake.requests(Endpoint::Token), 1);
    assert_eq!(setup.fake.tokens_issued(), 1);
    let acquired = setup
        .observer
        .events()
        .iter()
        .filter(|e| matches!(e, GraphEvent::TokenAcquired { .. }))
        .count();
    assert_eq!(acquired, 1);
}

#[tokio::test]
async fn concurrent_calls_share_one_token_request() {
    let setup = Setup::new(42, 30).await;
    let tenant = setup.tenant_client();
    let (a, b, c) = tokio::join!(
        tenant.users().collect_all(),
        tenant.user_configurations().collect_all(),
        tenant.users_delta(None).collect_all()
    );
    assert!(a.is_ok() && b.is_ok() && c.is_ok());
    assert_eq!(setup.fake.requests(Endpoint::Token), 1);
}

#[tokio::test]
async fn wrong_secret_is_a_typed_token_error() {
    let setup = Setup::new(43, 5).await;
    let wrong = TenantCredentials::new(setup.tenant.tenant_id, setup.tenant.client_id.clone(), "not-the-secret");
    let error = setup.client.tenant(wrong).validate().await.unwrap_err();
    let GraphError::Token(TokenError {
        status,
        error,
        error_description,
        error_codes,
    }) = &error
    else {
        panic!("expected a token error, got {error:?}");
    };
    assert_eq!(*status, 401);
    assert_eq!(error, "invalid_client");
    assert!(error_description.as_deref().unwrap().starts_with("AADSTS7000215"));
    assert_eq!(error_codes, &[7000215]);
    let shown = error.to_string();
    assert!(!shown.contains("not-the-secret"));
    assert!(!format!("{error:?}").contains("not-the-secret"));
    assert_eq!(setup.fake.requests(Endpoint::Token), 1, "refusals are not retried");
}

#[tokio::test]
async fn unknown_app_and_unknown_tenant_are_typed() {
    let setup = Setup::new(44, 5).await;
    let stranger = TenantCredentials::new(setup.tenant.tenant_id, "00000000-0000-0000-0000-00000000abcd", "x");
    match setup.client.tenant(stranger).users().next_page().await {
        Err(GraphError::Token(refusal)) => assert_eq!(refusal.error, "unauthorized_client"),
        other => panic!("unexpected {other:?}"),
    }
    let nowhere = TenantCredentials::new(uuid::Uuid::nil(), setup.tenant.client_id.clone(), "x");
    match setup.client.tenant(nowhere).validate().await {
        Err(GraphError::Token(refusal)) => {
            assert_eq!(refusal.error, "invalid_request");
            assert!(refusal.error_description.unwrap().contains("AADSTS90002"));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn injected_token_refusal_surfaces_on_any_call() {
    let setup = Setup::new(45, 5).await;
    setup.fake.inject(Endpoint::Token, Fault::invalid_client(), 1);
    let error = setup.tenant_client().users().next_page().await.unwrap_err();
    assert!(matches!(&error, GraphError::Token(refusal) if refusal.error == "invalid_client"));
    assert!(error.to_string().contains("AADSTS7000215"));
    assert_eq!(setup.fake.requests(Endpoint::Users), 0);
    // The fault is gone: the next call gets a token.
    setup.tenant_client().users().next_page().await.unwrap();
}

#[tokio::test]
async fn throttled_token_endpoint_is_retried() {
    let setup = Setup::new(46, 5).await;
    setup.fake.inject(
        Endpoint::Token,
        Fault::TooManyRequests {
            retry_after_secs: Some(2),
        },
        1,
    );
    setup.fake.inject(Endpoint::Token, Fault::InvalidJson, 1);
    setup.tenant_client().validate().await.unwrap();
    assert_eq!(setup.fake.requests(Endpoint::Token), 3);
    assert_eq!(setup.sleeper.waits()[0], Duration::from_secs(2));
}

#[tokio::test]
async fn validate_always_asks_entra() {
    let setup = Setup::new(47, 5).await;
    let tenant = setup.tenant_client();
    tenant.validate().await.unwrap();
    tenant.validate().await.unwrap();
    assert_eq!(setup.fake.requests(Endpoint::Token), 2);
    // ...and refreshes the cache for later calls.
    tenant.users().collect_all().await.unwrap();
    assert_eq!(setup.fake.requests(Endpoint::Token), 2);
}

#[tokio::test]
async fn a_refused_bearer_token_is_replaced_once() {
    let setup = Setup::new(48, 5).await;
    let tenant = setup.tenant_client();
    tenant.users().collect_all().await.unwrap();
    setup.fake.revoke_tokens();
    tenant.users().collect_all().await.unwrap();
    assert_eq!(setup.fake.tokens_issued(), 2);

    // Graph refusing every token is an error, after exactly one refresh.
    setup.fake.inject(Endpoint::Users, Fault::Unauthorized, 5);
    let error = tenant.users().collect_all().await.unwrap_err();
    assert!(matches!(error, GraphError::Api { status: 401, .. }), "{error:?}");
    assert_eq!(setup.fake.tokens_issued(), 3);
}

#[tokio::test]
async fn short_lived_tokens_are_renewed_before_they_expire() {
    let setup = Setup::new(49, 5).await;
    setup.fake.set_token_lifetime(Duration::from_secs(2));
    let tenant = setup.tenant_client();
    tenant.users().collect_all().await.unwrap();
    tenant.users().collect_all().await.unwrap();
    assert_eq!(setup.fake.tokens_issued(), 1, "still fresh");
    // Refresh margin is half the lifetime for short-lived tokens.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    tenant.users().collect_all().await.unwrap();
    assert_eq!(setup.fake.tokens_issued(), 2);
}

#[tokio::test]
async fn a_changed_secret_does_not_reuse_the_old_token() {
    let setup = Setup::new(50, 5).await;
    setup.tenant_client().users().collect_all().await.unwrap();
    let changed = TenantCredentials::new(
        setup.tenant.tenant_id,
        setup.tenant.client_id.clone(),
        "rotated-but-wrong",
    );
    let error = setup.client.tenant(changed).users().next_page().await.unwrap_err();
    assert!(matches!(error, GraphError::Token(_)));
}

/// Issue 9, defect 8: an `expires_in` that cannot be read (here the text `"soon"`) must not
/// become a zero lifetime, which made every request of a sync fetch a new token: the token is
/// cached for the fallback lifetime (10 minutes).
#[tokio::test]
async fn unreadable_expires_in_is_cached_for_the_fallback_lifetime() {
    let setup = Setup::new(47, 30).await;
    setup.fake.set_token_expires_in(Some(serde_json::json!("soon")));
    let tenant = setup.tenant_client();
    tenant.users().collect_all().await.unwrap();
    tenant.user_configurations().collect_all().await.unwrap();
    tenant.users_delta(None).collect_all().await.unwrap();
    assert_eq!(setup.fake.tokens_issued(), 1, "one token serves the three listings");
}
