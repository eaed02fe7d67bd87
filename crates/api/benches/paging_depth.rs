//! Paging-depth benchmark: one customer with 1,000,000 users (override with
//! `ROSTERD_BENCH_USERS`); times page 1 and the last page at sizes 10, 100 and 10000 over HTTP on
//! loopback against the real server, and reports last/first (target: ≤ 1.5 at every size). The
//! reference measured in the same run is a server on the same stack answering an identical body
//! held in memory (a static file's best case), which shows what the store, auth and rendering cost
//! on top of moving the bytes.
//!
//! `cargo bench -p api --bench paging_depth` (SQLite); with `ROSTERD_TEST_POSTGRES_URL` set and
//! `ROSTERD_BENCH_BACKEND=postgres`, on a fresh PostgreSQL database.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use api::{ApiConfig, AppState};
use app::{AppConfig, NewClient};
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use domain::{CustomerId, LicenseType, NewService, Role, Scope, ShortName};
use rosterd::Installation;
use store::GenerationWriter;

const SIZES: [i64; 3] = [10, 100, 10_000];

fn iterations(size: i64) -> usize {
    match size {
        10 => 400,
        100 => 200,
        _ => 30,
    }
}

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
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Alternates the two URIs so machine noise hits both alike; returns their medians.
async fn compare(http: &reqwest::Client, token: &str, a: &str, b: &str, n: usize) -> (Duration, Duration, usize) {
    for _ in 0..(n / 10).max(3) {
        fetch(http, a, token).await;
        fetch(http, b, token).await;
    }
    let (mut xs, mut ys, mut bytes) = (Vec::with_capacity(n), Vec::with_capacity(n), 0);
    for _ in 0..n {
        xs.push(fetch(http, a, token).await.0);
        let (t, body) = fetch(http, b, token).await;
        ys.push(t);
        bytes = body.len();
    }
    (median(xs), median(ys), bytes)
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
        .create_service(
            &testkit::connected::TESTKIT.grant(
                NewService {
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
                }
                .clone(),
            ),
        )
        .await
        .unwrap();

    let started = Instant::now();
    let mut writer = GenerationWriter::new().unwrap();
    for n in 0..users {
        writer
            .push(n + 1, &store_conformance::sample::user(n, "bench"))
            .unwrap();
    }
    let parsed = started.elapsed();
    let outcome = writer
        .commit(store.as_ref(), &testkit::connected::write(customer), None, false)
        .await
        .unwrap();
    let loaded = started.elapsed();
    println!(
        "backend {backend}: loaded {} users in {:.1} s ({:.0} users/s; render+spool {:.1} s, sort+write+commit {:.1} s)",
        outcome.total,
        loaded.as_secs_f64(),
        outcome.total as f64 / loaded.as_secs_f64(),
        parsed.as_secs_f64(),
        (loaded - parsed).as_secs_f64()
    );

    let installation = Installation::with(Arc::clone(&store), Arc::new(auth::SecretKey::generate()));
    let keys = installation
        .key_ring(rosterd::token_settings("http://bench", 3600), None)
        .await
        .unwrap();
    // Depth is measured with the page cache off: every request reads the store.
    let cold = AppConfig {
        page_cache_bytes: 0,
        ..AppConfig::default()
    };
    let cold_app = installation.app(Arc::clone(&keys), None, cold);
    let state = AppState::new(Arc::clone(&cold_app), ApiConfig::default());
    let warm_state = AppState::new(
        installation.app(Arc::clone(&keys), None, AppConfig::default()),
        ApiConfig::default(),
    );
    let new = NewClient {
        name: "bench".into(),
        role: Role::Monitor,
        scope: Scope::Provider,
        external_app_id: None,
    };
    let created = cold_app
        .create_client(&testkit::connected::TESTKIT.principal(), new)
        .await
        .unwrap();
    let token = keys
        .issue(created.client_id().parse().unwrap(), Utc::now())
        .unwrap()
        .access_token;
    let base = spawn(api::router(state)).await;
    let warm_base = spawn(api::router(warm_state)).await;
    let http = reqwest::Client::new();

    println!("store path (page cache off):");
    println!("size | page 1 median | last page median | last/first | static reference | page1/static");
    let mut worst: f64 = 0.0;
    for size in SIZES {
        let last = (users as i64 + size - 1) / size;
        let first_url = format!("{base}/api/v3/customer/{customer}/user?PageNumber=1&PageSize={size}");
        let last_url = format!("{base}/api/v3/customer/{customer}/user?PageNumber={last}&PageSize={size}");
        let n = iterations(size);
        let (first, last_t, bytes) = compare(&http, &token, &first_url, &last_url, n).await;

        // Reference: the same HTTP stack answering the identical body from memory.
        let page = fetch(&http, &first_url, &token).await.1;
        let static_router: Router = Router::new().route(
            "/static",
            get(move || {
                let page = page.clone();
                async move { ([("content-type", "application/json; charset=utf-8")], page) }
            }),
        );
        let static_url = format!("{}/static", spawn(static_router).await);
        let (reference, _, _) = compare(&http, &token, &static_url, &static_url, n).await;

        let ratio = last_t.as_secs_f64() / first.as_secs_f64();
        worst = worst.max(ratio);
        println!(
            "{size:>5} | {:>10.3} ms | {:>13.3} ms | {ratio:>10.2} | {:>13.3} ms | {:>8.1}x   ({} bytes/page, last page {last})",
            first.as_secs_f64() * 1e3,
            last_t.as_secs_f64() * 1e3,
            reference.as_secs_f64() * 1e3,
            first.as_secs_f64() / reference.as_secs_f64(),
            bytes
        );
    }
    println!("with the page cache (a repeated page):");
    for size in SIZES {
        let last = (users as i64 + size - 1) / size;
        let first_url = format!("{warm_base}/api/v3/customer/{customer}/user?PageNumber=1&PageSize={size}");
        let last_url = format!("{warm_base}/api/v3/customer/{customer}/user?PageNumber={last}&PageSize={size}");
        let (first, last_t, _) = compare(&http, &token, &first_url, &last_url, iterations(size)).await;
        println!(
            "{size:>5} | page 1 {:.3} ms | last page {:.3} ms | last/first {:.2}",
            first.as_secs_f64() * 1e3,
            last_t.as_secs_f64() * 1e3,
            last_t.as_secs_f64() / first.as_secs_f64()
        );
    }
    println!(
        "worst last/first ratio: {worst:.2} (target <= 1.5) {}",
        if worst <= 1.5 { "OK" } else { "OVER TARGET" }
    );
}
