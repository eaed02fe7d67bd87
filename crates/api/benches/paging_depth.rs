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

mod common;

use std::time::Duration;

use app::AppConfig;
use axum::routing::get;
use axum::Router;
use common::{fetch, median, spawn};

const SIZES: [i64; 3] = [10, 100, 10_000];

fn iterations(size: i64) -> usize {
    match size {
        10 => 400,
        100 => 200,
        _ => 30,
    }
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
    let users = common::users(1_000_000);
    let loaded = common::load(users, |n| store_conformance::sample::user(n, "bench")).await;
    let customer = loaded.customer;
    println!(
        "backend {}: loaded {} users in {:.1} s ({:.0} users/s; render+spool {:.1} s, sort+write+commit {:.1} s)",
        loaded.backend,
        loaded.generation.total,
        loaded.loaded.as_secs_f64(),
        loaded.generation.total as f64 / loaded.loaded.as_secs_f64(),
        loaded.rendered.as_secs_f64(),
        (loaded.loaded - loaded.rendered).as_secs_f64()
    );

    let bench = common::Bench::new(&loaded.store).await;
    let token = bench.token().await;
    // Depth is measured with the page cache off: every request reads the store.
    let base = common::serve_app(bench.app(AppConfig {
        page_cache_bytes: 0,
        ..AppConfig::default()
    }))
    .await;
    let warm_base = common::serve_app(bench.app(AppConfig::default())).await;
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
