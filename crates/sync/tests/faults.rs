//! Faults against the fake Graph: throttling is waited out as asked and the sync succeeds;
//! anything that makes a sync fail (persistent 503, truncated or invalid JSON, a refused token,
//! hostile `Retry-After` values, a page reader that dies, shutdown mid-sync) commits nothing —
//! the previous generation stays served — and is reported in the task and in the service's
//! replication state.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{has_message, messages, Backend, Harness};
use domain::CustomerId;
use store::TaskStatus;
use sync::{Clock, ConnectionOutcome};
use testkit::fake_graph::{Endpoint, FakeTenant, Fault, PageSizes};

both_backends!(
    throttling_is_waited_out_as_asked,
    failures_keep_the_previous_generation_served,
    refused_token_fails_with_entras_message,
    shutdown_interrupts_without_committing,
    a_second_start_is_refused_while_one_runs,
    hostile_retry_after_never_commits_part_of_a_tenant,
    a_page_reader_that_dies_fails_the_round,
);

/// `Retry-After` values a broken or hostile Graph might send.
const HOSTILE_RETRY_AFTER: [&str; 8] = [
    "99999999999999999999",
    "1e30",
    "-1",
    "NaN",
    "Fri, 31 Dec 9999 23:59:59 GMT",
    "soon, maybe",
    "",
    "18446744073709551616.5",
];

/// A synced tenant of 1,500 users read in pages of 200 by full rounds.
async fn synced_1500(h: &Harness, short: &str, seed: u64) -> (FakeTenant, CustomerId, Vec<String>) {
    let tenant = h.fake.add_generated_tenant(seed, 1_500);
    h.fake.set_page_sizes(PageSizes {
        delta: 200,
        ..PageSizes::default()
    });
    let customer = h.connect(short, &tenant).await;
    let first = h.round(customer, true).await;
    assert_eq!(first.status, TaskStatus::CompletedSuccess, "{:?}", first.error);
    let before = h.served(customer).await;
    assert_eq!(before.len(), 1_500);
    (tenant, customer, before)
}

/// Which of [`HOSTILE_RETRY_AFTER`] read as a wait longer than the client's maximum (a day at
/// most); the others are unreadable and get exponential backoff.
fn reads_as_too_long(value: &str) -> bool {
    matches!(
        value,
        "99999999999999999999" | "1e30" | "Fri, 31 Dec 9999 23:59:59 GMT" | "18446744073709551616.5"
    )
}

/// Page 2 of a full round answers 429 with a hostile `Retry-After`: the client neither panics
/// nor waits longer than configured. A value that reads as longer than `max_retry_after` ends
/// the round at once (issue 9: no early retry); an unreadable one is retried with backoff until
/// the client gives up. Either way the task fails and the 1,500 users stay served; throttled
/// once with an unreadable value, the round completes with all of them.
async fn hostile_retry_after_never_commits_part_of_a_tenant(backend: Backend) {
    let Some(h) = Harness::new(backend).await else { return };
    let (tenant, customer, before) = synced_1500(&h, "hostile", 26).await;
    let generation = h
        .store
        .get_service(&testkit::connected::read(customer))
        .await
        .unwrap()
        .unwrap()
        .generation;
    let cap = common::graph_config(h.fake.url()).max_retry_after;
    for value in HOSTILE_RETRY_AFTER {
        let throttled = Fault::RetryAfter {
            status: 429,
            value: value.to_string(),
        };
        h.fake.clear_faults();
        h.fake.inject(Endpoint::UsersDelta, Fault::Pass, 1);
        h.fake.inject(Endpoint::UsersDelta, throttled.clone(), 3);
        let waits_before = h.sleeper.waits().len();
        let outcome = h.round(customer, true).await;
        assert_eq!(outcome.status, TaskStatus::Failed, "Retry-After {value:?}: {outcome:?}");
        let error = outcome.error.unwrap();
        let expected = if reads_as_too_long(value) {
            "and asked to wait 86400 s"
        } else {
            "still throttled (HTTP 429) after 3 attempts"
        };
        assert!(error.contains(expected), "{value:?}: {error}");
        assert_eq!(
            h.served(customer).await,
            before,
            "Retry-After {value:?}: the 1,500 users stay served"
        );
        assert_eq!(
            h.store
                .get_service(&testkit::connected::read(customer))
                .await
                .unwrap()
                .unwrap()
                .generation,
            generation
        );
        assert_eq!(h.task(&outcome.task_id).await.status, TaskStatus::Failed);
        let waits = h.sleeper.waits()[waits_before..].to_vec();
        assert_eq!(waits.len(), if reads_as_too_long(value) { 0 } else { 2 }, "{value:?}");
        assert!(waits.iter().all(|w| *w <= cap), "{value:?}: {waits:?}");
        if reads_as_too_long(value) {
            continue;
        }

        h.fake.clear_faults();
        h.fake.inject(Endpoint::UsersDelta, Fault::Pass, 1);
        h.fake.inject(Endpoint::UsersDelta, throttled, 1);
        let outcome = h.round(customer, true).await;
        assert_eq!(
            outcome.status,
            TaskStatus::CompletedSuccess,
            "{value:?}: {:?}",
            outcome.error
        );
        assert_eq!(outcome.report.unwrap().total, 1_500, "{value:?}");
        h.assert_serves(customer, &tenant).await;
    }
}

/// The task reading `/users/delta` pages dies mid-round (here: it panics while waiting out a
/// 429 on page 2): the round is an error, not a short tenant.
async fn a_page_reader_that_dies_fails_the_round(backend: Backend) {
    let Some(h) = Harness::new(backend).await else { return };
    let (_tenant, customer, before) = synced_1500(&h, "reader", 27).await;
    let generation = h
        .store
        .get_service(&testkit::connected::read(customer))
        .await
        .unwrap()
        .unwrap()
        .generation;
    h.fake.inject(Endpoint::UsersDelta, Fault::Pass, 1);
    h.fake.inject(
        Endpoint::UsersDelta,
        Fault::TooManyRequests {
            retry_after_secs: Some(1),
        },
        1,
    );
    h.sleeper.panic_on_next_wait();
    let outcome = h.round(customer, true).await;
    assert_eq!(outcome.status, TaskStatus::Failed, "{outcome:?}");
    let error = outcome.error.unwrap();
    assert!(
        error.contains("users/delta: the listing did not reach its end (the page reader panicked)"),
        "{error}"
    );
    assert_eq!(h.served(customer).await, before);
    let service = h
        .store
        .get_service(&testkit::connected::read(customer))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(service.generation, generation);
    assert_eq!(service.sync.last_error.as_deref(), Some(error.as_str()));
    let task = h.task(&outcome.task_id).await;
    assert_eq!(task.status, TaskStatus::Failed);
    assert!(
        task.messages
            .iter()
            .any(|m| m.level == "Error" && m.message.contains("the page reader panicked")),
        "{:?}",
        messages(&task)
    );
}

/// A synced tenant of 300 users in pages of 50, then changed so that a new sync would differ.
async fn synced(h: &Harness, short: &str, seed: u64) -> (FakeTenant, CustomerId, Vec<String>) {
    let tenant = h.fake.add_generated_tenant(seed, 300);
    h.fake.set_page_sizes(PageSizes {
        delta: 50,
        configurations_default: 50,
        users_default: 50,
    });
    let customer = h.connect(short, &tenant).await;
    let first = h.round(customer, false).await;
    assert_eq!(first.status, TaskStatus::CompletedSuccess, "{:?}", first.error);
    let before = h.served(customer).await;
    for user in h.fake.users(tenant.tenant_id).unwrap().iter().take(5) {
        h.fake
            .update_user(tenant.tenant_id, user.id(), |u| {
                u.user.department = Some("Moved".into())
            })
            .unwrap();
    }
    h.fake.add_generated_users(tenant.tenant_id, 2).unwrap();
    assert_ne!(h.expected(&tenant), before);
    (tenant, customer, before)
}

async fn throttling_is_waited_out_as_asked(backend: Backend) {
    let Some(h) = Harness::new(backend).await else { return };
    let (tenant, customer, _) = synced(&h, "throttled", 21).await;
    h.fake.inject(
        Endpoint::UserConfigurations,
        Fault::ServiceUnavailable {
            retry_after_secs: Some(1),
        },
        1,
    );
    h.fake.inject(
        Endpoint::UsersDelta,
        Fault::TooManyRequests {
            retry_after_secs: Some(1),
        },
        2,
    );
    let waits_before = h.sleeper.waits().len();
    let outcome = h.round(customer, false).await;
    assert_eq!(outcome.status, TaskStatus::CompletedSuccess, "{:?}", outcome.error);
    // Each Retry-After of 1 s was honoured (recorded by the sleeper instead of slept).
    assert_eq!(h.sleeper.waits()[waits_before..], [Duration::from_secs(1); 3]);
    let report = outcome.report.unwrap();
    assert_eq!((report.throttle_waits, report.throttled_ms), (3, 3_000));
    h.assert_serves(customer, &tenant).await;
    let task = h.task(&outcome.task_id).await;
    let lines = messages(&task);
    assert_eq!(
        lines
            .iter()
            .filter(|m| m.contains("HTTP 429 (throttled); waiting 1 s as its Retry-After asked"))
            .count(),
        2,
        "{lines:?}"
    );
    assert!(has_message(&task, "HTTP 503 (unavailable); waiting 1 s"), "{lines:?}");
    assert!(
        has_message(&task, "Graph throttled 3 times; waited 3 s in total"),
        "{lines:?}"
    );
    assert_eq!(task.output["throttleWaits"], 3);
}

async fn failures_keep_the_previous_generation_served(backend: Backend) {
    let Some(h) = Harness::new(backend).await else { return };
    let (tenant, customer, before) = synced(&h, "faulty", 22).await;
    let generation = h
        .store
        .get_service(&testkit::connected::read(customer))
        .await
        .unwrap()
        .unwrap()
        .generation;
    // (fault, endpoint, times, what the task and lastError must say); the client gives up after
    // 3 attempts (2 retries), 2 for invalid bodies.
    let cases = [
        (
            Fault::ServiceUnavailable { retry_after_secs: None },
            Endpoint::UsersDelta,
            3,
            "users/delta: still throttled (HTTP 503) after 3 attempts",
        ),
        (
            Fault::Status(502),
            Endpoint::UserConfigurations,
            3,
            "server error HTTP 502 after 3 attempts",
        ),
        (
            Fault::TruncatedJson,
            Endpoint::UsersDelta,
            2,
            "users/delta: invalid JSON response after 2 attempts",
        ),
        (
            Fault::InvalidJson,
            Endpoint::UserConfigurations,
            2,
            "admin/teams/userConfigurations: invalid JSON response",
        ),
        (
            Fault::Status(403),
            Endpoint::UsersDelta,
            1,
            "users/delta: HTTP 403 generalException",
        ),
    ];
    for (round, (fault, endpoint, times, said)) in cases.into_iter().enumerate() {
        h.fake.clear_faults();
        h.fake.inject(endpoint, fault.clone(), times);
        let outcome = h.round(customer, false).await;
        assert_eq!(outcome.status, TaskStatus::Failed, "{fault:?}");
        let error = outcome.error.unwrap();
        assert!(error.contains(said), "{fault:?}: {error}");
        assert_eq!(
            h.served(customer).await,
            before,
            "{fault:?}: the previous users stay served"
        );
        let service = h
            .store
            .get_service(&testkit::connected::read(customer))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(service.generation, generation);
        let task = h.task(&outcome.task_id).await;
        assert_eq!(task.status, TaskStatus::Failed);
        assert!(task.completed_at.is_some());
        assert_eq!(task.output["error"], error.as_str());
        assert!(
            task.messages.iter().any(|m| m.level == "Error"
                && m.message.contains(said)
                && m.message.contains("previous users stay served")),
            "{:?}",
            messages(&task)
        );
        let state = service.sync;
        assert_eq!(state.last_error.as_deref(), Some(error.as_str()));
        assert_eq!(state.consecutive_failures, round as i64 + 1);
        let backoff = state.next_sync_at.unwrap() - h.clock.now();
        assert!(
            backoff >= chrono::Duration::seconds(150),
            "{fault:?}: backs off, {backoff}"
        );
        assert!(state.delta_link.is_some(), "the delta link is kept");
    }

    // Once Graph behaves, the next sync catches up and the failure count resets.
    h.fake.clear_faults();
    let outcome = h.round(customer, false).await;
    assert_eq!(outcome.status, TaskStatus::CompletedSuccess, "{:?}", outcome.error);
    h.assert_serves(customer, &tenant).await;
    let state = h.state(customer).await;
    assert_eq!((state.consecutive_failures, state.last_error), (0, None));
}

async fn refused_token_fails_with_entras_message(backend: Backend) {
    let Some(h) = Harness::new(backend).await else { return };
    let (tenant, customer, before) = synced(&h, "refused", 23).await;
    // A rotated secret that was mistyped: Entra refuses it.
    h.set_secret(customer, &tenant.client_id, "wrong~secret").await;
    let outcome = h.round(customer, false).await;
    assert_eq!(outcome.status, TaskStatus::Failed);
    let error = outcome.error.unwrap();
    assert!(
        error.contains("invalid_client") && error.contains("AADSTS7000215"),
        "{error}"
    );
    assert!(!error.contains("wrong~secret"));
    assert_eq!(h.served(customer).await, before);
    let state = h.state(customer).await;
    assert_eq!(state.connection_ok, Some(false));
    assert_eq!(state.consecutive_failures, 1);
    assert!(state.last_error.unwrap().contains("AADSTS7000215"));
    let task = h.task(&outcome.task_id).await;
    assert!(
        has_message(&task, "Entra refused the token request (HTTP 401, invalid_client)"),
        "{:?}",
        messages(&task)
    );

    // An injected token fault reads the same way through a connection check.
    h.fake.inject(Endpoint::Token, Fault::invalid_client(), 1);
    let check = h
        .engine
        .check_connection(tenant.tenant_id, &tenant.client_id, &tenant.client_secret)
        .await;
    assert!(
        matches!(&check, ConnectionOutcome::Refused(m) if m.starts_with("invalid_client: AADSTS7000215")),
        "{check:?}"
    );
    assert_eq!(
        h.engine
            .check_connection(tenant.tenant_id, &tenant.client_id, &tenant.client_secret)
            .await,
        ConnectionOutcome::Ok
    );
    let unknown = h.engine.check_connection(uuid::Uuid::new_v4(), "app", "secret").await;
    assert!(
        matches!(&unknown, ConnectionOutcome::Refused(m) if m.contains("AADSTS90002")),
        "{unknown:?}"
    );

    // Nobody listens on the login URL: unreachable, not refused.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let graph = graph::GraphClient::new(common::graph_config(&closed)).unwrap();
    let offline = sync::Engine::new(
        h.store.clone(),
        graph,
        h.secrets.clone(),
        h.clock.clone(),
        sync::SyncConfig::default(),
    )
    .unwrap();
    let check = offline
        .check_connection(tenant.tenant_id, &tenant.client_id, &tenant.client_secret)
        .await;
    assert!(
        matches!(&check, ConnectionOutcome::Unreachable(m) if m.contains("connection failed")),
        "{check:?}"
    );
}

async fn shutdown_interrupts_without_committing(backend: Backend) {
    let Some(h) = Harness::new(backend).await else { return };
    let (_tenant, customer, before) = synced(&h, "shutdown", 24).await;
    let failures = h.state(customer).await.consecutive_failures;
    h.fake
        .inject(Endpoint::UsersDelta, Fault::Delay(Duration::from_millis(400)), 50);
    let task = h
        .engine
        .start(testkit::connected::write(customer), true, None)
        .await
        .unwrap();
    // Let it read configurations and get stuck in the slow users/delta listing.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(h.engine.syncing(), 1);
    h.engine.shutdown().await;
    assert_eq!(h.engine.syncing(), 0);
    let record = h.task(&task).await;
    assert_eq!(record.status, TaskStatus::Failed);
    assert!(
        has_message(&record, "interrupted: rosterd is shutting down"),
        "{:?}",
        messages(&record)
    );
    assert_eq!(h.served(customer).await, before);
    let state = h.state(customer).await;
    assert_eq!(
        state.consecutive_failures, failures,
        "an interruption is not the tenant's failure"
    );
    assert!(state.next_sync_at.unwrap() <= h.clock.now(), "due again at once");
    // The lease was released: another process may sync the customer right away.
    let now = h.clock.now();
    assert!(h
        .store
        .lease_sync(
            &testkit::connected::write(customer),
            now,
            "other-replica",
            now + chrono::Duration::minutes(1)
        )
        .await
        .unwrap());
    assert!(matches!(
        h.engine.start(testkit::connected::write(customer), false, None).await,
        Err(sync::StartError::ShuttingDown)
    ));
}

async fn a_second_start_is_refused_while_one_runs(backend: Backend) {
    let Some(h) = Harness::new(backend).await else { return };
    let (tenant, customer, _) = synced(&h, "twice", 25).await;
    h.fake.inject(
        Endpoint::UserConfigurations,
        Fault::Delay(Duration::from_millis(300)),
        1,
    );
    let first = h
        .engine
        .start(testkit::connected::write(customer), false, None)
        .await
        .unwrap();
    assert!(first.starts_with("sync_"));
    match h.engine.start(testkit::connected::write(customer), true, None).await {
        Err(sync::StartError::AlreadyRunning(task)) => assert_eq!(task, first),
        other => panic!("expected AlreadyRunning, got {other:?}"),
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while h.task(&first).await.status == TaskStatus::InProgress {
        assert!(std::time::Instant::now() < deadline, "the sync did not finish");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(h.task(&first).await.status, TaskStatus::CompletedSuccess);
    h.assert_serves(customer, &tenant).await;
    // While another process holds the lease, a start is refused too.
    let now = h.clock.now();
    assert!(h
        .store
        .lease_sync(
            &testkit::connected::write(customer),
            now,
            "other-replica",
            now + chrono::Duration::minutes(10)
        )
        .await
        .unwrap());
    match h.engine.start(testkit::connected::write(customer), false, None).await {
        Err(sync::StartError::AlreadyRunning(text)) => assert!(text.contains("another rosterd process"), "{text}"),
        other => panic!("expected AlreadyRunning, got {other:?}"),
    }
}
