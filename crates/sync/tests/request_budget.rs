//! How many Graph requests one customer costs (issue 9's closing note): a 10,000-user tenant in
//! the fake Graph with Graph-like page sizes (users/delta 200 per page, Teams configurations 100
//! per page: Graph documents neither), measured per kind of round, then per hour for polling
//! every 5 minutes (before) and with change notifications (after). Prints the figures; asserts
//! the shape of each round so a regression in the request count fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::Duration;
use common::{Backend, Harness};
use store::TaskStatus;
use sync::SyncMode;
use testkit::fake_graph::{Endpoint, FakeGraph, PageSizes};

/// Requests per endpoint since the last reset.
fn counted(fake: &FakeGraph) -> (u64, u64, u64) {
    (
        fake.requests(Endpoint::Token),
        fake.requests(Endpoint::UsersDelta),
        fake.requests(Endpoint::UserConfigurations),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn graph_requests_per_customer_per_hour_for_10000_users() {
    let h = Harness::new(Backend::Sqlite).await.unwrap();
    h.fake.set_page_sizes(PageSizes {
        users_default: 100,
        delta: 200,
        configurations_default: 100,
    });
    let tenant = h.fake.add_generated_tenant(10_000, 10_000);
    let with_configuration = tenant.users.iter().filter(|u| u.config.is_some()).count() as u64;
    let configuration_pages = with_configuration.div_ceil(100);
    let customer = h.connect("budget", &tenant).await;

    let run = |full: bool| h.round(customer, full);
    h.fake.reset_request_counts();
    let outcome = run(false).await;
    assert_eq!(outcome.status, TaskStatus::CompletedSuccess);
    let full = counted(&h.fake);
    assert_eq!(
        full,
        (1, 10_000 / 200, configuration_pages),
        "token, users/delta pages, configuration pages"
    );

    // A quick cycle with nothing changed: one users/delta page, every configuration page.
    h.clock.advance(Duration::minutes(5));
    h.fake.reset_request_counts();
    let quick = run(false).await.report.unwrap();
    assert_eq!(quick.mode, SyncMode::Delta);
    let idle = counted(&h.fake);
    assert_eq!(idle, (0, 1, configuration_pages));

    // A round after a notified change of one user: users/delta only; the Teams configurations
    // are kept from the stored users (they have no notifications and keep the polling cycle).
    let changed = h.fake.users(tenant.tenant_id).unwrap()[5].id();
    h.fake
        .update_user(tenant.tenant_id, changed, |u| {
            u.user.department = Some("Notified".into())
        })
        .unwrap();
    h.clock.advance(Duration::minutes(1));
    h.fake.reset_request_counts();
    let notified = h
        .engine
        .run_notified(testkit::connected::write(customer))
        .await
        .unwrap()
        .report
        .unwrap();
    assert_eq!((notified.mode, notified.changed), (SyncMode::Delta, 1));
    let per_notified_round = counted(&h.fake);
    assert_eq!(per_notified_round, (0, 1, 0));
    assert_eq!(h.fake.requests(Endpoint::UserConfiguration), 0);
    h.assert_serves(customer, &tenant).await;

    // A notified new user: its own configuration is read, one request.
    h.fake.add_generated_users(tenant.tenant_id, 1).unwrap();
    h.fake.reset_request_counts();
    let added = h
        .engine
        .run_notified(testkit::connected::write(customer))
        .await
        .unwrap()
        .report
        .unwrap();
    assert_eq!((added.mode, added.added), (SyncMode::Delta, 1));
    assert_eq!(counted(&h.fake), (0, 1, 0));
    assert_eq!(h.fake.requests(Endpoint::UserConfiguration), 1);
    h.assert_serves(customer, &tenant).await;

    // Per hour. Tokens: one per ~55 minutes (3599 s lifetime, renewed 5 minutes early) = 1.
    // Full reconciliation: once a day. Subscription upkeep: one PATCH per ~4 days (7-day
    // subscriptions renewed with 3 days left) and one POST when created.
    let quick_requests = idle.1 + idle.2;
    let full_requests = full.1 + full.2;
    let polling = 12.0 * quick_requests as f64 + full_requests as f64 / 24.0 + 1.0;
    let round = (per_notified_round.1 + per_notified_round.2) as f64 + 1.0;
    let upkeep = 1.0 / 96.0;
    println!(
        "10,000 users: full round {full_requests} requests ({} users/delta + {} configuration pages), quick cycle {quick_requests}, notified round {round}",
        full.1, full.2
    );
    println!("before (polling every 5 min): {polling:.1} Graph requests per customer per hour");
    for bursts in [0u32, 1, 6, 12, 60] {
        println!(
            "after (notifications, polling kept for Teams voice): {:.1} per hour with {bursts} notified change bursts per hour (each debounced burst = one users/delta round, counted as {round} to allow for a new user's configuration)",
            polling + upkeep + f64::from(bursts) * round
        );
    }
    assert!(polling > 1_000.0 && polling < 1_300.0, "{polling}");
}
