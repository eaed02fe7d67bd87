//! Export benchmark: one customer with 1,000,000 users (override with `ROSTERD_BENCH_USERS`);
//! streams `GET .../user/export` in each format over HTTP on loopback from the real router and
//! reports MB/s (10^6 bytes per second; target ≥ 200 at 1,000,000 users) and the process's
//! memory. The reference measured in the same run is the same HTTP stack answering an identical
//! body held in memory (what moving the bytes alone costs), and the ratio to it.
//!
//! `cargo bench -p api --bench export` (SQLite); with `ROSTERD_TEST_POSTGRES_URL` set and
//! `ROSTERD_BENCH_BACKEND=postgres`, on a fresh PostgreSQL database. `ROSTERD_BENCH_RUNS`
//! (default 3) sets the runs per format; the median counts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use app::AppConfig;
use axum::routing::get;
use axum::Router;
use common::{median, spawn};
use domain::ExportFormat;

const TARGET_MB_PER_S: f64 = 200.0;

/// Streams one response to its end without keeping it: (time to the last byte, bytes).
async fn stream(http: &reqwest::Client, url: &str, token: &str) -> (Duration, u64) {
    let started = Instant::now();
    let mut response = http.get(url).bearer_auth(token).send().await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    let mut bytes = 0u64;
    while let Some(chunk) = response.chunk().await.unwrap() {
        bytes += chunk.len() as u64;
    }
    (started.elapsed(), bytes)
}

/// `VmRSS` and `VmHWM` (peak) of this process, in MiB (Linux; 0 elsewhere).
fn memory_mib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb / 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn mb_per_s(bytes: u64, took: Duration) -> f64 {
    bytes as f64 / took.as_secs_f64() / 1e6
}

#[tokio::main]
async fn main() {
    let users = common::users(1_000_000);
    let runs = common::setting("ROSTERD_BENCH_RUNS", 3).max(1) as usize;
    let loaded = common::load(users, |n| store_conformance::sample::user(n, "bench")).await;
    let (store, customer, outcome) = (&loaded.store, loaded.customer, loaded.generation);
    println!(
        "backend {}: loaded {} users in {:.1} s",
        loaded.backend,
        outcome.total,
        loaded.loaded.as_secs_f64()
    );

    // The floor under every format: reading the generation from the store, one batch after
    // another as one export reader does, without HTTP or encoding.
    let started = Instant::now();
    let (mut after, mut body_bytes) = (0, 0u64);
    let grant = testkit::connected::write(customer).read();
    loop {
        let rows = store
            .users_after(&grant, outcome.generation, after, AppConfig::default().export_batch)
            .await
            .unwrap();
        let Some(last) = rows.last() else { break };
        after = last.ordinal;
        body_bytes += rows.iter().map(|r| r.body.len() as u64 + 1).sum::<u64>();
    }
    let read = started.elapsed();
    println!(
        "store alone: {after} users read in {:.2} s by one reader ({:.0} users/s, {:.0} MB/s of NDJSON)",
        read.as_secs_f64(),
        after as f64 / read.as_secs_f64(),
        mb_per_s(body_bytes, read)
    );

    let bench = common::Bench::new(store).await;
    let token = bench.token().await;
    // Exports are longer than any request timeout; the head is what that bounds.
    let base = common::serve_app(bench.app(AppConfig::default())).await;
    let http = reqwest::Client::new();
    // Restart the peak (VmHWM) here, so it shows the exports, not the load (Linux).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let (rss_before, _) = memory_mib();

    // Every export first, so the peak memory is theirs; then the references.
    let mut measured = Vec::new();
    for format in [ExportFormat::Csv, ExportFormat::Ndjson, ExportFormat::Json] {
        let url = format!("{base}/api/v3/customer/{customer}/user/export?format={format}");
        let mut times = Vec::with_capacity(runs);
        let mut bytes = 0;
        for _ in 0..runs {
            let (took, n) = stream(&http, &url, &token).await;
            times.push(took);
            bytes = n;
        }
        measured.push((format, url, times, bytes));
    }
    let (_, peak_during_exports) = memory_mib();

    println!(
        "format | median time | bytes | MB/s | static reference MB/s | export/static | runs ({runs} each, median counts)"
    );
    let mut slowest = f64::MAX;
    for (format, url, times, bytes) in measured {
        let took = median(times.clone());
        let rate = mb_per_s(bytes, took);
        slowest = slowest.min(rate);
        // Reference: the identical body, from memory, through the same HTTP stack.
        let body = http
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(body.len() as u64, bytes);
        let static_router: Router = Router::new().route(
            "/static",
            get(move || {
                let body = body.clone();
                async move { body }
            }),
        );
        let static_url = format!("{}/static", spawn(static_router).await);
        let mut reference = Vec::with_capacity(runs);
        for _ in 0..runs {
            reference.push(stream(&http, &static_url, &token).await.0);
        }
        let reference = mb_per_s(bytes, median(reference));
        println!(
            "{format:>6} | {:>9.2} s | {bytes:>11} | {rate:>6.0} | {reference:>21.0} | {:>13.2} | {}",
            took.as_secs_f64(),
            rate / reference,
            times
                .iter()
                .map(|t| format!("{:.2}", t.as_secs_f64()))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    println!(
        "memory: {rss_before} MiB resident before the exports, peak {peak_during_exports} MiB while they ran \
         (before the in-memory references were built)"
    );
    println!(
        "slowest format: {slowest:.0} MB/s (target >= {TARGET_MB_PER_S:.0} at 1,000,000 users) {}",
        if slowest >= TARGET_MB_PER_S {
            "OK"
        } else {
            "UNDER TARGET"
        }
    );
}
