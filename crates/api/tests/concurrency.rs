//! Readers paging continuously while imports replace the set many times never see a page that
//! mixes generations, and never get an error. Runs through a real server on port 0.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::{users, Backend, TestApp};

const USERS: usize = 60;
const IMPORTS: usize = 25;
const READERS: usize = 4;

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
            let mut pages = 0u64;
            let mut tags_seen = HashSet::new();
            while !stop.load(Ordering::Relaxed) {
                let page = 1 + (pages as usize + r) % 6;
                let url = format!("{base}/api/v3/customer/{customer}/user?PageNumber={page}&PageSize=10");
                let reply = client.get(&url).bearer_auth(&token).send().await.unwrap();
                assert_eq!(reply.status(), 200, "reader got an error");
                let body: serde_json::Value = reply.json().await.unwrap();
                let data = body["data"].as_array().unwrap();
                assert_eq!(data.len(), 10, "a full page every time");
                assert_eq!(body["totalRecords"], USERS);
                let tags: HashSet<&str> = data
                    .iter()
                    .map(|u| u["WebName"].as_str().unwrap().split(' ').next().unwrap())
                    .collect();
                assert_eq!(tags.len(), 1, "page mixes generations: {tags:?}");
                tags_seen.extend(tags.into_iter().map(str::to_string));
                pages += 1;
            }
            (pages, tags_seen.len())
        }));
    }

    for generation in 1..=IMPORTS {
        let body = serde_json::to_string(&users(USERS, &format!("gen{generation}"))).unwrap();
        let reply = client
            .put(format!("{base}/api/v3/customer/{customer}/user"))
            .bearer_auth(&app.admin)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200);
    }
    stop.store(true, Ordering::Relaxed);
    let mut total_pages = 0;
    for reader in readers {
        let (pages, distinct) = reader.await.unwrap();
        total_pages += pages;
        assert!(distinct >= 1);
    }
    assert!(total_pages > 0);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_readers_never_see_mixed_generations() {
    readers_never_see_mixed_generations(TestApp::new(Backend::Sqlite).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_readers_never_see_mixed_generations() {
    let Some(app) = TestApp::new(Backend::Postgres).await else {
        return;
    };
    readers_never_see_mixed_generations(app).await;
}
