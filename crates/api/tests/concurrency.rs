//! Readers paging continuously while imports replace the set many times never see a page that
//! mixes generations, and never get an error. Runs through a real server on port 0, with the
//! page cache off (every read reaches the store while it is being written) and on, and checks
//! that reads really were in flight while imports were.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::{overlapping, timed, users, TestApp};

const USERS: usize = 60;
const IMPORTS: usize = 60;
const READERS: usize = 6;

both_backends_and_caches!(readers_never_see_mixed_generations);

async fn readers_never_see_mixed_generations(app: TestApp) {
    let customer = app.service("busy", 1, true, None).await;
    app.load(customer, &users(USERS, "gen0")).await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = app.router.clone();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let client = reqwest::Client::new();
    let stop = Arc::new(AtomicBool::new(false));

    let mut readers = Vec::new();
    for r in 0..READERS {
        let (client, base, token, stop) = (client.clone(), base.clone(), app.admin.clone(), Arc::clone(&stop));
        readers.push(tokio::spawn(async move {
            let mut spans = Vec::new();
            let mut tags_seen = HashSet::new();
            while !stop.load(Ordering::Relaxed) {
                let page = 1 + (spans.len() + r) % 6;
                let url = format!("{base}/api/v3/customer/{customer}/user?PageNumber={page}&PageSize=10");
                let (body, span) = timed(async {
                    let reply = client.get(&url).bearer_auth(&token).send().await.unwrap();
                    assert_eq!(reply.status(), 200, "reader got an error");
                    reply.json::<serde_json::Value>().await.unwrap()
                })
                .await;
                spans.push(span);
                let data = body["data"].as_array().unwrap();
                assert_eq!(data.len(), 10, "a full page every time");
                assert_eq!(body["totalRecords"], USERS);
                let tags: HashSet<&str> = data
                    .iter()
                    .map(|u| u["WebName"].as_str().unwrap().split(' ').next().unwrap())
                    .collect();
                assert_eq!(tags.len(), 1, "page mixes generations: {tags:?}");
                tags_seen.extend(tags.into_iter().map(str::to_string));
            }
            (spans, tags_seen.len())
        }));
    }

    let mut writes = Vec::new();
    for generation in 1..=IMPORTS {
        let body = serde_json::to_string(&users(USERS, &format!("gen{generation}"))).unwrap();
        let (reply, span) = timed(
            client
                .put(format!("{base}/api/v3/customer/{customer}/user"))
                .bearer_auth(&app.admin)
                .header("content-type", "application/json")
                .body(body)
                .send(),
        )
        .await;
        assert_eq!(reply.unwrap().status(), 200);
        writes.push(span);
    }
    stop.store(true, Ordering::Relaxed);
    let mut reads = Vec::new();
    for reader in readers {
        let (spans, distinct) = reader.await.unwrap();
        reads.extend(spans);
        assert!(distinct >= 1);
    }
    server.abort();

    // The check above means something only if reads ran while imports were being written.
    let reads_during_writes = overlapping(&reads, &writes);
    let writes_with_reads = overlapping(&writes, &reads);
    assert!(
        reads_during_writes > 0 && writes_with_reads >= IMPORTS / 2,
        "{reads_during_writes} of {} reads overlapped an import; {writes_with_reads} of {IMPORTS} imports overlapped a read",
        reads.len()
    );
    app.assert_page_reads(reads.len());
}
