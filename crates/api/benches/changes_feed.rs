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

mod common;

use std::time::Instant;

use app::AppConfig;
use common::{fetch, percentile};
use store::GenerationWriter;
use store_conformance::sample::{scattered_uuid, user};

const RUNS: usize = 30;

#[tokio::main]
async fn main() {
    let users = common::users(1_000_000);
    let loaded = common::load(users, |n| user(n, "bench")).await;
    let (store, customer, first) = (&loaded.store, loaded.customer, loaded.generation);
    println!(
        "changes_feed: backend {}, {} users loaded in {:.1} s",
        loaded.backend,
        first.total,
        loaded.loaded.as_secs_f64()
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

    let bench = common::Bench::new(store).await;
    let token = bench.token().await;
    let base = common::serve_app(bench.app(AppConfig {
        page_cache_bytes: 0,
        ..AppConfig::default()
    }))
    .await;
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
