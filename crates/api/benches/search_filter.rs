//! Search and filter benchmark (issue 11): one customer with 1,000,000 users, every one with a
//! number of its own (override the size with `ROSTERD_BENCH_USERS`). Over HTTP on loopback
//! against the real router, it times
//! - the very first filtered request (which builds the customer's search index),
//! - a first query (index built, results not cached yet) and a repeated query (results
//!   cached), each at page 1 and at the last page, for one filter (`Department`, 20,000
//!   matches; `EnterpriseVoiceEnabled`, 500,000 matches) and a 4-character `Search`;
//! - the number lookup (`App::number_owner`, in process) across the 1,000,000 numbers, p50/p99.
//!
//! Target: a filtered page under 50 ms at page 1 and at the last page; a number lookup under
//! 1 ms p99 (the number lookup reads the store's `line_digits` index).
//!
//! `ROSTERD_BENCH_QUERIES` (8) distinct queries of each shape are asked, each then repeated
//! `ROSTERD_BENCH_REPEATS` (10) times at page 1 and at its last page.
//!
//! `cargo bench -p api --bench search_filter` (SQLite); with `ROSTERD_TEST_POSTGRES_URL` set and
//! `ROSTERD_BENCH_BACKEND=postgres`, on a fresh PostgreSQL database.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use app::AppConfig;
use common::{median, ms, percentile};

const DEPARTMENTS: u64 = 50;

/// One GET answered 200, its body read as JSON.
async fn fetch(http: &reqwest::Client, url: &str, token: &str) -> (Duration, serde_json::Value) {
    let (took, body) = common::fetch(http, url, token).await;
    (took, serde_json::from_slice(&body).unwrap())
}

fn user(n: u64) -> domain::EndUser {
    let mut user = store_conformance::sample::user(n, "bench");
    user.department = Some(format!("Dept {:02}", n % DEPARTMENTS));
    user.line_uri = Some(format!("tel:+3120{n:07}"));
    user
}

#[tokio::main]
async fn main() {
    let users = common::users(1_000_000);
    let lookups = common::setting("ROSTERD_BENCH_LOOKUPS", 20) as usize;
    // Distinct queries of each shape, and repeats of each (page 1 and last page).
    let distinct = common::setting("ROSTERD_BENCH_QUERIES", 8) as usize;
    let repeats = common::setting("ROSTERD_BENCH_REPEATS", 10) as usize;
    let loaded = common::load(users, user).await;
    let customer = loaded.customer;
    println!(
        "backend {}: loaded {} users in {:.1} s",
        loaded.backend,
        loaded.generation.total,
        loaded.loaded.as_secs_f64()
    );

    let bench = common::Bench::new(&loaded.store).await;
    let token = bench.token().await;
    let app = bench.app(AppConfig::default());
    let base = common::serve_app(std::sync::Arc::clone(&app)).await;
    let http = reqwest::Client::new();
    let url = |query: &str, page: i64| {
        format!("{base}/api/v3/customer/{customer}/user?{query}&PageNumber={page}&PageSize=100")
    };

    // The first filtered request builds the index.
    let (first, body) = fetch(&http, &url("Department=Dept%2000", 1), &token).await;
    let (indexed, bytes) = app.search_index_size();
    println!(
        "first filtered request (builds the index of {indexed} users): {:.0} ms; index {:.1} MiB, {} bytes/user",
        ms(first),
        bytes as f64 / (1 << 20) as f64,
        bytes / indexed.max(1)
    );
    assert_eq!(body["totalRecords"].as_u64().unwrap(), users.div_ceil(DEPARTMENTS));

    println!("query                               | matches | first p1 | first last | repeat p1 | repeat last   (ms, PageSize 100, medians)");
    let mut worst: f64 = 0.0;
    let leading = |d: u64| (0..users).filter(|n| n.to_string().starts_with(&d.to_string())).count() as i64;
    // (label, distinct queries of one shape with their number of matches, known in advance so
    // that a query's first request can go straight to its last page)
    let cases: Vec<(&str, Vec<(String, i64)>)> = vec![
        (
            "Department=Dept NN (one filter)",
            (1..DEPARTMENTS)
                .map(|d| {
                    (
                        format!("Department=Dept%20{d:02}"),
                        ((users + DEPARTMENTS - 1 - d) / DEPARTMENTS) as i64,
                    )
                })
                .collect(),
        ),
        (
            "EnterpriseVoiceEnabled (one filter)",
            vec![
                ("EnterpriseVoiceEnabled=true".into(), users.div_ceil(2) as i64),
                ("EnterpriseVoiceEnabled=false".into(), (users / 2) as i64),
            ],
        ),
        (
            "Search=serN (4 characters)",
            (1..=9).map(|d| (format!("Search=ser{d}"), leading(d))).collect(),
        ),
    ];
    for (label, queries) in cases {
        let (mut first_p1, mut first_last, mut repeat_p1, mut repeat_last) = (vec![], vec![], vec![], vec![]);
        // Each distinct query is asked for the first time at page 1 or at its last page.
        for (i, (query, total)) in queries.iter().take(distinct).enumerate() {
            let last = ((total + 99) / 100).max(1);
            let page = if i % 2 == 0 { 1 } else { last };
            let (t, body) = fetch(&http, &url(query, page), &token).await;
            assert_eq!(body["totalRecords"].as_i64().unwrap(), *total, "{query}");
            if i % 2 == 0 {
                first_p1.push(t);
            } else {
                first_last.push(t);
            }
            for _ in 0..repeats {
                repeat_p1.push(fetch(&http, &url(query, 1), &token).await.0);
                repeat_last.push(fetch(&http, &url(query, last), &token).await.0);
            }
        }
        let matches = queries[0].1;
        let row = [
            median(first_p1),
            if first_last.is_empty() {
                Duration::ZERO
            } else {
                median(first_last)
            },
            median(repeat_p1),
            median(repeat_last),
        ];
        for d in row {
            worst = worst.max(ms(d));
        }
        println!(
            "{label:<35} | {matches:>7} | {:>8.1} | {:>10.1} | {:>9.2} | {:>11.2}",
            ms(row[0]),
            ms(row[1]),
            ms(row[2]),
            ms(row[3])
        );
    }
    println!(
        "slowest filtered page (median): {worst:.1} ms (target < 50 ms) {}",
        if worst < 50.0 { "OK" } else { "OVER TARGET" }
    );

    // Number lookups in process, across every customer the principal sees.
    let principal = testkit::connected::TESTKIT.principal();
    let mut samples = Vec::with_capacity(lookups);
    for i in 0..lookups {
        let n = (i as u64 * 7_919_993) % users;
        let number = format!("+31 20 {n:07}");
        let started = Instant::now();
        let owner = app.number_owner(&principal, None, &number).await.unwrap();
        samples.push(started.elapsed());
        assert_eq!(owner.number, format!("+3120{n:07}"));
    }
    let (p50, p99, max) = (
        percentile(&mut samples, 0.5),
        percentile(&mut samples, 0.99),
        percentile(&mut samples, 1.0),
    );
    println!(
        "number lookup across {users} numbers ({lookups} lookups): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (target p99 < 1 ms) {}",
        ms(p50),
        ms(p99),
        ms(max),
        if ms(p99) < 1.0 { "OK" } else { "OVER TARGET" }
    );
}
