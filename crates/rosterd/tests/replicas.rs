//! Two `rosterd serve` replicas on one PostgreSQL database: a write acknowledged by one is what
//! the other serves next; tokens issued by one work on the other; each customer is synced once
//! per cycle; a replica killed mid-sync leaves no lock that stops the next cycle.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use domain::{CustomerId, LicenseType, NewService, ShortName};
use sqlx::Row;
use store::{Store, TaskStatus};
use support::rosterd;
use testkit::fake_graph::{Endpoint, FakeGraph, Fault, PageSizes};

const INTERVAL_SECS: u64 = 3;
const LEASE_SECS: u64 = 4;

fn replica(dir: &Path, database: &str, fake: &FakeGraph) -> (Child, String) {
    let mut command = rosterd(dir);
    command
        .env("ROSTERD_GRAPH_URL", fake.url())
        .env("ROSTERD_LOGIN_URL", fake.url())
        .env("ROSTERD_SYNC_INTERVAL_SECS", INTERVAL_SECS.to_string())
        .env("ROSTERD_SYNC_LEASE_SECS", LEASE_SECS.to_string());
    support::serve_with(command, database, Some("http://rosterd.test"))
}

/// Completed scheduled syncs of a customer, oldest first: (start, end).
async fn completed_syncs(store: &dyn Store, customer: CustomerId) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut runs: Vec<_> = store
        .list_tasks(&testkit::connected::TESTKIT)
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.customer == Some(customer) && t.status == TaskStatus::CompletedSuccess)
        .map(|t| (t.created_at, t.completed_at.unwrap()))
        .collect();
    runs.sort();
    runs
}

async fn wait_for(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "needs PostgreSQL: set ROSTERD_TEST_POSTGRES_URL (./scripts/test sets it)"
)]
async fn postgres_two_replicas_share_one_database() {
    let Some(database) = store_conformance::fresh_postgres_url().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = rosterd::open_store(&database).await.unwrap();
    let key = auth::SecretKey::load_or_create(&dir.path().join("rosterd.key")).unwrap();
    let fake = FakeGraph::start().await.unwrap();
    fake.set_page_sizes(PageSizes {
        users_default: 40,
        delta: 40,
        configurations_default: 40,
    });
    let mut customers = Vec::new();
    for (i, short) in ["alpha", "bravo", "charlie"].iter().enumerate() {
        let tenant = fake.add_generated_tenant(100 + i as u64, 150);
        customers.push(
            testkit::connected::connect_service(store.as_ref(), &key, short, &tenant, &tenant.client_secret)
                .await
                .unwrap(),
        );
    }
    let pushed = CustomerId::new_random();
    store
        .create_service(
            &testkit::connected::TESTKIT.grant(
                NewService {
                    id: pushed,
                    short_name: ShortName::parse("pushed").unwrap(),
                    full_name: "pushed".into(),
                    license_type: LicenseType::HostedEssentialsPlus,
                    licensed_users_count: None,
                    channel_id: None,
                    ovoc_customer_type: None,
                    tenant_id: None,
                    default_domain: None,
                    site_locations: Vec::new(),
                }
                .clone(),
            ),
        )
        .await
        .unwrap();

    let created = support::create_client(dir.path(), &database, "ops", "Operator");
    let (a, base_a) = replica(dir.path(), &database, &fake);
    let (b, base_b) = replica(dir.path(), &database, &fake);
    let http = reqwest::Client::new();

    // A token issued by A is accepted by B.
    let token = support::token_for(&base_a, &created).await;

    // Each import acknowledged by A is what A serves on its very next read, and what B serves
    // within a second (README, "Freshness"; the exact promise is tested with a hand-moved clock
    // in crates/api/tests/freshness.rs).
    for round in 1..=5 {
        let users: Vec<domain::EndUser> = (0..20 + round)
            .map(|i| {
                let mut user = domain::EndUser::new(uuid::Uuid::from_u128(
                    0xabc0_0000_0000_4000_8000_0000_0000_0000 + i as u128,
                ));
                user.web_name = Some(format!("round {round} user {i}"));
                user
            })
            .collect();
        let put = http
            .put(format!("{base_a}/api/v3/customer/{pushed}/user"))
            .bearer_auth(&token)
            .json(&users)
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), 200);
        let read = |base: String| {
            let (http, token) = (http.clone(), token.clone());
            async move {
                http.get(format!("{base}/api/v3/customer/{pushed}/user?PageSize=100"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap()
                    .json::<serde_json::Value>()
                    .await
                    .unwrap()
            }
        };
        let served = |page: &serde_json::Value| {
            page["totalRecords"] == 20 + round && page["data"][0]["WebName"] == format!("round {round} user 0")
        };
        let at_a = read(base_a.clone()).await;
        assert!(served(&at_a), "A serves what it acknowledged at once: {at_a}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let at_b = read(base_b.clone()).await;
            if served(&at_b) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "B never served round {round}: {at_b}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    // Both replicas run the sync loop: every customer gets synced, never twice at once, and
    // consecutive cycles are an interval apart (one claim per cycle, not one per replica).
    wait_for(
        "three completed cycles per customer",
        Duration::from_secs(60),
        async || {
            for customer in &customers {
                if completed_syncs(store.as_ref(), *customer).await.len() < 3 {
                    return false;
                }
            }
            true
        },
    )
    .await;
    for customer in &customers {
        let runs = completed_syncs(store.as_ref(), *customer).await;
        for pair in runs.windows(2) {
            let ((start_a, end_a), (start_b, _)) = (pair[0], pair[1]);
            assert!(end_a <= start_b, "two syncs of one customer overlapped: {runs:?}");
            let gap = (start_b - start_a).num_milliseconds();
            assert!(
                gap >= (INTERVAL_SECS as i64 * 1000) - 500,
                "synced again after {gap} ms: {runs:?}"
            );
        }
        let page = store
            .read_page(&testkit::connected::read(*customer), None, 1, 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(page.total_records, 150);
    }

    // Slow Graph down so syncs are in flight, then kill A while it holds a customer's lease.
    fake.inject(Endpoint::UsersDelta, Fault::Delay(Duration::from_millis(700)), 10_000);
    fake.inject(Endpoint::Users, Fault::Delay(Duration::from_millis(700)), 10_000);
    let pg = sqlx::PgPool::connect(&database).await.unwrap();
    let a_pid = a.id().to_string();
    wait_for("replica A to hold a lease", Duration::from_secs(30), async || {
        let owners = sqlx::query("SELECT sync_lease_owner FROM services WHERE sync_lease_until > now()")
            .fetch_all(&pg)
            .await
            .unwrap();
        owners
            .iter()
            .filter_map(|r| r.try_get::<Option<String>, _>(0).ok().flatten())
            .any(|owner| owner.contains(&format!("-{a_pid}-")))
    })
    .await;
    let mut a = a;
    a.kill().unwrap();
    a.wait().unwrap();
    let killed_at = Utc::now();
    fake.clear_faults();

    // B completes the next cycle of every customer, including those A had claimed.
    wait_for(
        "B to sync every customer after A died",
        Duration::from_secs(60),
        async || {
            for customer in &customers {
                if !completed_syncs(store.as_ref(), *customer)
                    .await
                    .iter()
                    .any(|(start, _)| *start > killed_at)
                {
                    return false;
                }
            }
            true
        },
    )
    .await;
    support::stop(b);
}
