//! The scheduler on the real clock with short intervals: every connected customer is synced
//! again and again, a failing tenant backs off without holding up the others, and no more than
//! `max_concurrent` customers are synced at once. What ran at once is judged from the work
//! itself: the requests the fake Graph answered (with the time each was in flight) and the
//! tasks' intervals, not the engine's own bookkeeping.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{Backend, Harness};
use domain::CustomerId;
use store::{Store, TaskStatus};
use sync::SyncConfig;
use testkit::fake_graph::{Endpoint, Fault};

both_backends!(
    customers_are_synced_and_a_failing_one_backs_off,
    concurrency_limit_holds,
);

fn fast(max_concurrent: usize) -> SyncConfig {
    SyncConfig {
        interval: Duration::from_millis(300),
        tick: Duration::from_millis(50),
        flush_every: Duration::from_millis(50),
        max_concurrent,
        ..SyncConfig::default()
    }
}

/// Asserts that no two syncs of one customer overlapped: neither their tasks (created to
/// completed) nor their requests at the fake Graph.
async fn assert_one_sync_per_customer_at_a_time(h: &Harness, customers: &[CustomerId]) {
    let tasks = h.store.list_tasks(&testkit::connected::TESTKIT).await.unwrap();
    for customer in customers {
        let mut runs: Vec<_> = tasks
            .iter()
            .filter(|t| t.customer == Some(*customer))
            .map(|t| (t.created_at, t.completed_at.expect("every task finished")))
            .collect();
        runs.sort();
        assert!(runs.len() >= 2, "{runs:?}");
        for pair in runs.windows(2) {
            assert!(pair[0].1 <= pair[1].0, "two syncs of {customer} overlapped: {pair:?}");
        }
    }
    let log = h.fake.request_log();
    assert!(
        log.overlap_within_a_tenant().is_none(),
        "one tenant was read twice at once: {:?}",
        log.overlap_within_a_tenant()
    );
}

/// Tasks of `customer` with `status`.
async fn tasks(store: &dyn Store, customer: CustomerId, status: TaskStatus) -> usize {
    store
        .list_tasks(&testkit::connected::TESTKIT)
        .await
        .unwrap()
        .iter()
        .filter(|t| t.customer == Some(customer) && t.status == status)
        .count()
}

async fn customers_are_synced_and_a_failing_one_backs_off(backend: Backend) {
    let Some(h) = Harness::with(backend, fast(2), true).await else {
        return;
    };
    let a = h.fake.add_generated_tenant(31, 80);
    let b = h.fake.add_generated_tenant(32, 120);
    let c = h.fake.add_generated_tenant(33, 10);
    let good_a = h.connect("alpha", &a).await;
    let good_b = h.connect("bravo", &b).await;
    let failing = h.connect_with_secret("charlie", &c, "not-the-secret").await;
    let scheduler = h.engine.spawn_scheduler();

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let a_done = tasks(h.store.as_ref(), good_a, TaskStatus::CompletedSuccess).await;
        let b_done = tasks(h.store.as_ref(), good_b, TaskStatus::CompletedSuccess).await;
        let failed = tasks(h.store.as_ref(), failing, TaskStatus::Failed).await;
        if a_done >= 3 && b_done >= 3 && failed >= 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "cycles did not repeat: {a_done} and {b_done} successes, {failed} failures"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    h.engine.shutdown().await;
    scheduler.await.unwrap();
    assert_one_sync_per_customer_at_a_time(&h, &[good_a, good_b, failing]).await;

    h.assert_serves(good_a, &a).await;
    h.assert_serves(good_b, &b).await;
    let a_state = h.state(good_a).await;
    assert_eq!((a_state.consecutive_failures, a_state.last_error), (0, None));

    // The failing tenant is reported, and its attempts grow apart: after failure k it waits at
    // least half of 300 ms · 2^(k-1) (the backoff is jittered within its upper half).
    let state = h.state(failing).await;
    let mut attempts: Vec<_> = h
        .store
        .list_tasks(&testkit::connected::TESTKIT)
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.customer == Some(failing))
        .map(|t| {
            assert_eq!(t.status, TaskStatus::Failed);
            t.created_at
        })
        .collect();
    attempts.sort();
    assert_eq!(state.consecutive_failures, attempts.len() as i64);
    for (k, pair) in attempts.windows(2).enumerate() {
        let floor = chrono::Duration::milliseconds(150 << k);
        assert!(
            pair[1] - pair[0] >= floor,
            "gap {} after failure {} is under {floor}",
            pair[1] - pair[0],
            k + 1
        );
    }
    assert!(state.last_error.as_deref().unwrap().contains("AADSTS7000215"));
    assert_eq!(state.connection_ok, Some(false));
    let backoff = state.next_sync_at.unwrap() - state.last_attempt_at.unwrap();
    let floor = 150 << (attempts.len() - 1).min(10);
    assert!(
        backoff >= chrono::Duration::milliseconds(floor),
        "{backoff} after {} failures",
        attempts.len()
    );
    assert_eq!(
        h.store
            .get_service(&testkit::connected::read(failing))
            .await
            .unwrap()
            .unwrap()
            .generation,
        0
    );
}

async fn concurrency_limit_holds(backend: Backend) {
    let Some(h) = Harness::with(backend, fast(2), true).await else {
        return;
    };
    let mut customers = Vec::new();
    for (i, short) in ["one", "two", "three", "four", "five"].iter().enumerate() {
        let tenant = h.fake.add_generated_tenant(40 + i as u64, 30);
        customers.push(h.connect(short, &tenant).await);
    }
    // Every configurations listing takes 250 ms, so syncs overlap.
    h.fake.inject(
        Endpoint::UserConfigurations,
        Fault::Delay(Duration::from_millis(250)),
        1_000,
    );
    let scheduler = h.engine.spawn_scheduler();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut synced = 0;
        for customer in &customers {
            if tasks(h.store.as_ref(), *customer, TaskStatus::CompletedSuccess).await >= 2 {
                synced += 1;
            }
        }
        if synced == customers.len() {
            break;
        }
        assert!(Instant::now() < deadline, "not every customer was synced twice");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    h.engine.shutdown().await;
    scheduler.await.unwrap();
    // At the fake Graph: never more than two tenants worked on at once, and two at some point
    // (the limit was reached, so the check above could have failed).
    let log = h.fake.request_log();
    assert_eq!(log.peak_tenants_in_flight(), 2, "tenants read at once");
    assert_one_sync_per_customer_at_a_time(&h, &customers).await;
}
