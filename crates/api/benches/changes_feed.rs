//! Changes-feed benchmark: one customer with 1,000,000 users (override with
//! `ROSTERD_BENCH_USERS`); a patch of 100 changed users (40 changed, 30 added, 30 removed) is
//! committed, then `GET .../user/changes?Since=N` is timed over HTTP on loopback against the real
//! server (target: under 100 ms). The reference measured in the same run is one page of 100 users
//! of the same generation: an answer of about the same size whose cost does not depend on the
//! tenant. The commit of the patch itself is timed too.
//!
//! `cargo bench -p api --bench changes_feed` (SQLite); with `ROSTERD_TEST_POSTGRES_URL` set and
//! `ROSTERD_BENCH_BACKEND=postgres`, on a fresh PostgreSQL database.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use api::{ApiConfig, AppState};
use app::{AppConfig, NewClient};
use axum::Router;
use chrono::Utc;
use domain::{CustomerId, LicenseType, NewService, Role, Scope, ShortName};
use rosterd::Installation;
use store::GenerationWriter;
use store_conformance::sample::{scattered_uuid, user};

const RUNS: usize = 30;

async fn fetch(http: &reqwest::Client, url: &str, token: &str) -> (Duration, bytes::Bytes) {
    let started = Instant::now();
    let response = http.get(url).bearer_auth(token).send().await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    let body = response.bytes().await.unwrap();
    (started.elapsed(), body)
}

async fn spawn(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    // As `rosterd serve` does (http-server): a streamed answer of several writes must not wait
    // for delayed ACKs.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let users: u64 = std::env::var("ROSTERD_BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let fresh = testkit::stores::fresh_bench_database().await.unwrap();
    let (store, backend) = (rosterd::open_store(&fresh.url).await.unwrap(), fresh.backend);
    let customer = CustomerId::new_random();
    store
        .create_service(&testkit::connected::TESTKIT.grant(NewService {
            id: customer,
            short_name: ShortName::parse("bench").unwrap(),
            full_name: "Bench".into(),
            license_type: LicenseType::HostedPro,
            licensed_users_count: None,
            channel_id: None,
            ovoc_customer_type: None,
            tenant_id: None,
            default_domain: None,
            site_locations: Vec::new(),
        }))
        .await
        .unwrap();
    let started = Instant::now();
    let mut writer = GenerationWriter::new().unwrap();
    for n in 0..users {
        writer.push(n + 1, &user(n, "bench")).unwrap();
    }
    let first = writer
        .commit(store.as_ref(), &testkit::connected::write(customer), None, false)
        .await
        .unwrap();
    println!(
        "changes_feed: backend {backend}, {} users loaded in {:.1} s",
        first.total,
        started.elapsed().as_secs_f64()
    );

    // 100 changes spread over the tenant: 40 changed, 30 added, 30 removed.
    let mut patch = GenerationWriter::patch_of(first.generation).unwrap();
    let step = users / 100;
    let mut row = 0;
    for i in 0..40 {
        row += 1;
        patch.push(row, &user(i * step + 1, "changed")).unwrap();
    }
    for i in 0..30 {
        row += 1;
        patch.push(row, &user(users + i, "added")).unwrap();
    }
    for i in 0..30 {
        row += 1;
        patch.push_removal(row, scattered_uuid((40 + i) * step + 2));
    }
    let committed = Instant::now();
    let second = patch
        .commit(store.as_ref(), &testkit::connected::write(customer), None, false)
        .await
        .unwrap();
    let commit = committed.elapsed();
    assert_eq!((second.changed, second.added, second.removed), (40, 30, 30));
    println!(
        "commit of the 100-user patch: {:.1} ms (generation {} -> {})",
        commit.as_secs_f64() * 1e3,
        first.generation,
        second.generation
    );

    let installation = Installation::with(Arc::clone(&store), Arc::new(auth::SecretKey::generate()));
    let keys = installation
        .key_ring(rosterd::token_settings("http://bench", 3600), None)
        .await
        .unwrap();
    let config = AppConfig {
        page_cache_bytes: 0,
        ..AppConfig::default()
    };
    let app = installation.app(Arc::clone(&keys), None, config);
    let created = app
        .create_client(
            &testkit::connected::TESTKIT.principal(),
            NewClient {
                name: "bench".into(),
                role: Role::Monitor,
                scope: Scope::Provider,
                external_app_id: None,
            },
        )
        .await
        .unwrap();
    let token = keys
        .issue(created.client_id().parse().unwrap(), Utc::now())
        .unwrap()
        .access_token;
    let base = spawn(api::router(AppState::new(app, ApiConfig::default()))).await;
    let http = reqwest::Client::new();
    let changes = format!(
        "{base}/api/v3/customer/{customer}/user/changes?Since={}",
        first.generation
    );
    let page = format!("{base}/api/v3/customer/{customer}/user?PageNumber=5000&PageSize=100");

    let (mut feed, mut reference) = (Vec::new(), Vec::new());
    let mut bytes = (0, 0);
    for _ in 0..3 {
        fetch(&http, &changes, &token).await;
        fetch(&http, &page, &token).await;
    }
    for _ in 0..RUNS {
        let (t, body) = fetch(&http, &changes, &token).await;
        feed.push(t);
        bytes.0 = body.len();
        let (t, body) = fetch(&http, &page, &token).await;
        reference.push(t);
        bytes.1 = body.len();
    }
    let body: serde_json::Value = serde_json::from_slice(&fetch(&http, &changes, &token).await.1).unwrap();
    assert_eq!(
        (
            body["added"].as_array().unwrap().len(),
            body["changed"].as_array().unwrap().len(),
            body["removed"].as_array().unwrap().len()
        ),
        (30, 40, 30)
    );
    let (feed_p50, feed_p99) = (percentile(&mut feed, 0.5), percentile(&mut feed, 0.99));
    let ref_p50 = percentile(&mut reference, 0.5);
    println!(
        "changes since the previous generation (100 changed of {users}): p50 {:.1} ms, max of {RUNS} {:.1} ms, {} bytes (target < 100 ms)",
        feed_p50.as_secs_f64() * 1e3,
        feed_p99.as_secs_f64() * 1e3,
        bytes.0
    );
    println!(
        "reference: a page of 100 users, p50 {:.1} ms, {} bytes; changes/page = {:.2}",
        ref_p50.as_secs_f64() * 1e3,
        bytes.1,
        feed_p50.as_secs_f64() / ref_p50.as_secs_f64()
    );
}
