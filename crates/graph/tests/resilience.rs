//! Throttling, outages, slow and broken answers from the fake, and what the client makes of
//! them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::Setup;
use graph::{GraphClient, GraphError, GraphEvent, Resource, RetryReason, TokioSleeper};
use testkit::fake_graph::{Endpoint, Fault};

#[tokio::test]
async fn too_many_requests_honours_retry_after() {
    let setup = Setup::new(21, 50).await;
    setup.fake.inject(
        Endpoint::Users,
        Fault::TooManyRequests {
            retry_after_secs: Some(7),
        },
        2,
    );
    let listing = setup.tenant_client().users().collect_all().await.unwrap();
    assert_eq!(listing.items.len(), 50);
    assert_eq!(setup.sleeper.waits(), vec![Duration::from_secs(7); 2]);
    assert_eq!(setup.fake.requests(Endpoint::Users), 3);
    let throttled: Vec<_> = setup
        .observer
        .events()
        .into_iter()
        .filter_map(|e| match e {
            GraphEvent::Throttled {
                resource,
                status,
                wait,
                retry_after,
                attempt,
            } => Some((resource, status, wait, retry_after, attempt)),
            _ => None,
        })
        .collect();
    let seven = Duration::from_secs(7);
    assert_eq!(
        throttled,
        vec![
            (Resource::Users, 429, seven, Some(seven), 1),
            (Resource::Users, 429, seven, Some(seven), 2)
        ]
    );
}

#[tokio::test]
async fn retry_after_of_one_second_is_really_waited() {
    let fake = testkit::fake_graph::FakeGraph::start().await.unwrap();
    let tenant = fake.add_generated_tenant(22, 10);
    let client =
        GraphClient::with_sleeper(graph::GraphConfig::for_base_url(fake.url()), Arc::new(TokioSleeper)).unwrap();
    fake.inject(
        Endpoint::Users,
        Fault::TooManyRequests {
            retry_after_secs: Some(1),
        },
        1,
    );
    let started = tokio::time::Instant::now();
    let listing = client
        .tenant(common::credentials_of(&tenant))
        .users()
        .collect_all()
        .await
        .unwrap();
    assert_eq!(listing.items.len(), 10);
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(fake.requests(Endpoint::Users), 2);
}

/// A `Retry-After` longer than `max_retry_after` is neither waited out early nor retried: the
/// listing stops with `RetryLater` and the requested time, after one request.
#[tokio::test]
async fn longer_retry_after_than_allowed_stops_without_retrying() {
    let setup = Setup::with_config(23, 5, |config| config.max_retry_after = Duration::from_secs(2)).await;
    setup.fake.inject(
        Endpoint::Users,
        Fault::TooManyRequests {
            retry_after_secs: Some(300),
        },
        1,
    );
    let error = setup.tenant_client().users().collect_all().await.unwrap_err();
    assert_eq!(
        error,
        GraphError::RetryLater {
            resource: graph::Resource::Users,
            status: 429,
            retry_after: Duration::from_secs(300)
        }
    );
    assert_eq!(setup.sleeper.waits(), Vec::<Duration>::new());
    assert_eq!(setup.fake.requests(Endpoint::Users), 1);
}

#[tokio::test]
async fn unavailable_is_retried_with_backoff() {
    let setup = Setup::new(24, 5).await;
    setup.fake.inject(
        Endpoint::UserConfigurations,
        Fault::ServiceUnavailable { retry_after_secs: None },
        2,
    );
    setup.fake.inject(
        Endpoint::UserConfigurations,
        Fault::ServiceUnavailable {
            retry_after_secs: Some(3),
        },
        1,
    );
    setup.tenant_client().user_configurations().collect_all().await.unwrap();
    let waits = setup.sleeper.waits();
    assert_eq!(waits.len(), 3);
    // Backoff: base 100 ms doubled per attempt, jittered within its upper half.
    assert!(waits[0] >= Duration::from_millis(50) && waits[0] <= Duration::from_millis(100));
    assert!(waits[1] >= Duration::from_millis(100) && waits[1] <= Duration::from_millis(200));
    assert_eq!(waits[2], Duration::from_secs(3));
    assert_eq!(setup.fake.requests(Endpoint::UserConfigurations), 4);
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let setup = Setup::new(25, 5).await;
    setup.fake.inject(Endpoint::Users, Fault::Status(502), 1);
    setup.tenant_client().users().collect_all().await.unwrap();
    assert!(setup.observer.events().iter().any(|e| matches!(
        e,
        GraphEvent::Retrying {
            reason: RetryReason::ServerError(502),
            ..
        }
    )));

    setup.fake.inject(Endpoint::Users, Fault::Status(500), 100);
    let error = setup.tenant_client().users().collect_all().await.unwrap_err();
    assert_eq!(
        error,
        GraphError::Server {
            resource: Resource::Users,
            status: 500,
            attempts: 5
        }
    );
    assert!(error.is_transient());
}

#[tokio::test]
async fn endless_throttling_gives_up_after_max_retries() {
    let setup = Setup::new(26, 5).await;
    setup.fake.inject(
        Endpoint::UsersDelta,
        Fault::TooManyRequests {
            retry_after_secs: Some(1),
        },
        100,
    );
    let error = setup.tenant_client().users_delta(None).next_page().await.unwrap_err();
    assert_eq!(
        error,
        GraphError::Throttled {
            resource: Resource::UsersDelta,
            status: 429,
            attempts: 5
        }
    );
    assert_eq!(setup.fake.requests(Endpoint::UsersDelta), 5);
    assert_eq!(setup.sleeper.waits().len(), 4);
}

#[tokio::test]
async fn permission_errors_are_not_retried() {
    let setup = Setup::new(27, 5).await;
    setup.fake.inject(Endpoint::UserConfigurations, Fault::Status(403), 1);
    let error = setup
        .tenant_client()
        .user_configurations()
        .next_page()
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        GraphError::Api {
            resource: Resource::UserConfigurations,
            status: 403,
            ..
        }
    ));
    assert!(!error.is_transient());
    assert_eq!(setup.fake.requests(Endpoint::UserConfigurations), 1);
}

#[tokio::test]
async fn invalid_or_truncated_json_is_retried_a_little_then_fails() {
    let setup = Setup::with_config(28, 300, |config| config.users_page_size = 100).await;
    let tenant = setup.tenant_client();
    setup.fake.inject(Endpoint::Users, Fault::TruncatedJson, 1);
    setup.fake.inject(Endpoint::Users, Fault::InvalidJson, 1);
    let listing = tenant.users().collect_all().await.unwrap();
    assert_eq!(listing.items.len(), 300);
    assert_eq!(setup.fake.requests(Endpoint::Users), 3 + 2);

    setup.fake.inject(Endpoint::Users, Fault::TruncatedJson, 3);
    let error = tenant.users().collect_all().await.unwrap_err();
    assert!(
        matches!(
            error,
            GraphError::InvalidJson {
                resource: Resource::Users,
                attempts: 3,
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_failed_page_can_be_asked_for_again() {
    let setup = Setup::with_config(29, 250, |config| {
        config.users_page_size = 100;
        config.max_retries = 0;
    })
    .await;
    let mut pager = setup.tenant_client().users();
    assert_eq!(pager.next_page().await.unwrap().unwrap().items.len(), 100);
    setup.fake.inject(Endpoint::Users, Fault::Status(504), 1);
    assert!(pager.next_page().await.is_err());
    let second = pager.next_page().await.unwrap().unwrap();
    assert_eq!(second.number, 2);
    assert_eq!(second.items.len(), 100);
    assert_eq!(pager.next_page().await.unwrap().unwrap().items.len(), 50);
    assert!(pager.next_page().await.unwrap().is_none());
}

#[tokio::test]
async fn slow_answers_time_out_and_are_retried() {
    let setup = Setup::with_config(30, 5, |config| config.request_timeout = Duration::from_millis(300)).await;
    setup
        .fake
        .inject(Endpoint::Users, Fault::Delay(Duration::from_secs(5)), 1);
    let listing = setup.tenant_client().users().collect_all().await.unwrap();
    assert_eq!(listing.items.len(), 5);
    assert!(setup.observer.events().iter().any(|e| matches!(
        e,
        GraphEvent::Retrying {
            reason: RetryReason::Timeout,
            resource: Resource::Users,
            ..
        }
    )));

    setup
        .fake
        .inject(Endpoint::Users, Fault::Delay(Duration::from_secs(5)), 10);
    let error = setup.tenant_client().users().collect_all().await.unwrap_err();
    assert_eq!(
        error,
        GraphError::Timeout {
            resource: Resource::Users,
            attempts: 5
        }
    );
}

#[tokio::test]
async fn a_short_delay_is_just_waited_for() {
    let setup = Setup::new(31, 5).await;
    setup
        .fake
        .inject(Endpoint::Users, Fault::Delay(Duration::from_millis(200)), 1);
    setup.tenant_client().users().collect_all().await.unwrap();
    assert_eq!(setup.fake.requests(Endpoint::Users), 1);
}

#[tokio::test]
async fn connection_refused_is_a_transport_error() {
    // A port that was just free and is closed again: connecting is refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let config = graph::GraphConfig {
        max_retries: 1,
        ..graph::GraphConfig::for_base_url(&url)
    };
    let sleeper = Arc::new(graph::RecordingSleeper::new());
    let client = GraphClient::with_sleeper(config, sleeper.clone()).unwrap();
    let credentials = graph::TenantCredentials::new(uuid::Uuid::new_v4(), "app", "secret");
    let error = client.tenant(credentials).validate().await.unwrap_err();
    assert!(
        matches!(
            error,
            GraphError::Transport {
                resource: Resource::Token,
                attempts: 2,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(!error.to_string().contains("secret"));
    assert_eq!(sleeper.waits().len(), 1);
}
