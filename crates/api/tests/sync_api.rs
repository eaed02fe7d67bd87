//! Syncs through the HTTP edge, with the real engine against the fake Graph: PATCH validates a
//! secure connection by requesting a token; POST .../user/sync answers a task id that GET
//! /api/v2/task/{id} follows to CompletedSuccess; a second start is 409; Monitors get 403; and
//! readers paging while a sync commits never see a page mixing generations.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Method;
use common::{overlapping, timed, Reply, TestApp};
use domain::{CustomerId, Role, Scope};
use serde_json::{json, Value};
use sync::Engine;
use testkit::fake_graph::{Endpoint, FakeGraph, FakeTenant, Fault, PageSizes};

struct SyncApp {
    app: TestApp,
    fake: FakeGraph,
    engine: Engine,
}

async fn with_engine(app: TestApp) -> SyncApp {
    let fake = FakeGraph::start().await.unwrap();
    let engine = app.engine(fake.url());
    let app = app.with_engine(engine.clone()).await;
    SyncApp { app, fake, engine }
}

async fn patch(app: &TestApp, customer: CustomerId, body: Value) -> Reply {
    app.patch_service(customer, &body).await
}

/// A Hosted Pro service connected to `tenant` through PATCH, as an operator would.
async fn connected(app: &TestApp, short: &str, tenant: &FakeTenant) -> CustomerId {
    let customer = app.service(short, 2, false, None).await;
    let reply = patch(
        app,
        customer,
        json!({
            "msTenantId": tenant.tenant_id.to_string(),
            "applicationClientId": tenant.client_id,
            "applicationClientSecret": tenant.client_secret,
        }),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.json());
    let replication = &reply.json()["Replication"];
    assert_eq!(replication["connectionValid"], true, "{replication}");
    customer
}

async fn post_sync(app: &TestApp, token: &str, customer: CustomerId, query: &str) -> Reply {
    app.send(
        Method::POST,
        &format!("/api/v3/customer/{customer}/user/sync{query}"),
        Some(token),
        &[],
        Body::empty(),
    )
    .await
}

/// Polls the task until it leaves InProgress.
async fn wait_for(app: &TestApp, task: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let reply = app.get(&format!("/api/v2/task/{task}")).await;
        assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
        let body = reply.json();
        if body["status"] != "InProgress" {
            return body;
        }
        assert!(Instant::now() < deadline, "task still running: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn message_texts(task: &Value) -> Vec<String> {
    task["executionMessages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message"].as_str().unwrap().to_string())
        .collect()
}

both_backends!(
    sync_starts_and_its_task_completes,
    second_start_conflicts_and_monitors_are_refused,
    bad_secret_is_reported_not_a_500,
    re_pointing_during_a_sync_commits_nothing,
    a_sync_is_served_at_once_by_the_replica_that_ran_it,
);
both_backends_and_caches!(readers_never_see_a_mixture_while_a_sync_commits);

async fn re_pointing_during_a_sync_commits_nothing(app: TestApp) {
    let SyncApp { app, fake, .. } = with_engine(app).await;
    let tenant = fake.add_generated_tenant(57, 20);
    let other = fake.add_generated_tenant(58, 5);
    let customer = connected(&app, "moving", &tenant).await;
    // The users round waits long enough for the service to be re-pointed meanwhile.
    fake.inject(Endpoint::UsersDelta, Fault::Delay(Duration::from_millis(800)), 1);
    let task = post_sync(&app, &app.admin.clone(), customer, "").await;
    assert_eq!(task.status, 202);
    let task = task.json().as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let reply = patch(&app, customer, json!({"msTenantId": other.tenant_id.to_string()})).await;
    assert_eq!(reply.status, 200, "{}", reply.json());

    let done = wait_for(&app, &task).await;
    assert_eq!(done["status"], "Failed", "{done}");
    assert!(
        done["outputData"]["error"].as_str().unwrap().contains("another tenant"),
        "{done}"
    );
    let stored = app.stored(customer).await;
    assert_eq!(stored.generation, 0, "the old tenant's users were not committed");
    assert_eq!(
        stored.sync.delta_link, None,
        "the old tenant's delta link was not stored"
    );
    assert_eq!(stored.sync.consecutive_failures, 0, "not the tenant's fault");
    assert!(
        stored.sync.next_sync_at.is_none_or(|at| at <= chrono::Utc::now()),
        "due at once"
    );
}

async fn sync_starts_and_its_task_completes(app: TestApp) {
    let SyncApp { app, fake, .. } = with_engine(app).await;
    let tenant = fake.add_generated_tenant(51, 1_234);
    fake.set_page_sizes(PageSizes {
        delta: 100,
        ..PageSizes::default()
    });
    let customer = connected(&app, "synced", &tenant).await;
    let operator = app.token_for(Role::Operator, Scope::Provider).await;

    let reply = post_sync(&app, &operator, customer, "").await;
    assert_eq!(reply.status, 202, "{}", String::from_utf8_lossy(&reply.body));
    let task_id = reply.json().as_str().unwrap().to_string();
    assert!(reply.body.starts_with(b"\"sync_"), "a bare JSON string");
    assert_eq!(reply.header("location"), format!("/api/v2/task/{task_id}"));

    let task = wait_for(&app, &task_id).await;
    assert_eq!(task["status"], "CompletedSuccess", "{task}");
    assert_eq!(task["id"], task_id.as_str());
    assert!(task["completeTime"].is_string());
    let texts = message_texts(&task);
    assert!(
        texts
            .iter()
            .any(|m| m.contains("read 1234 users from users/delta in 13 pages")),
        "{texts:?}"
    );
    assert!(
        texts.iter().any(|m| m.contains("Teams user configurations")),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|m| m.contains("(1234 added, 0 changed, 0 removed, 0 unchanged)")),
        "{texts:?}"
    );
    assert_eq!(task["outputData"]["total"], 1_234);
    assert_eq!(task["outputData"]["mode"], "full");
    assert!(task["details"][1]
        .as_str()
        .unwrap()
        .starts_with("Requested by API client"));

    // The users are served, exactly as the mapping says.
    let page = app
        .get(&format!("/api/v3/customer/{customer}/user?PageNumber=1&PageSize=50"))
        .await
        .json();
    assert_eq!(page["totalRecords"], 1_234);
    let expected: Vec<Value> = fake.expected_end_users(tenant.tenant_id).unwrap()[..50]
        .iter()
        .map(|u| serde_json::from_str(&u.render_json()).unwrap())
        .collect();
    assert_eq!(page["data"].as_array().unwrap(), &expected);
    let detail = app.get(&format!("/api/v3/customer/{customer}")).await.json();
    let replication = &detail["Replication"];
    assert_eq!(replication["userCount"], 1_234);
    assert_eq!(replication["consecutiveFailures"], 0);
    assert!(replication["lastSuccessTime"].is_string() && replication["nextSyncTime"].is_string());

    // A full reconciliation on demand; nothing changed in the tenant.
    let reply = post_sync(&app, &operator, customer, "?full=true").await;
    let task = wait_for(&app, reply.json().as_str().unwrap()).await;
    assert_eq!(task["outputData"]["mode"], "full");
    assert_eq!(task["outputData"]["reason"], "a full sync was requested");
    assert_eq!(task["outputData"]["committed"], false);
}

async fn second_start_conflicts_and_monitors_are_refused(app: TestApp) {
    let SyncApp { app, fake, engine } = with_engine(app).await;
    let tenant = fake.add_generated_tenant(52, 100);
    let customer = connected(&app, "busy", &tenant).await;

    let monitor = app.token_for(Role::Monitor, Scope::Provider).await;
    let reply = post_sync(&app, &monitor, customer, "").await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.code(), "insufficient_role");

    fake.inject(
        Endpoint::UserConfigurations,
        Fault::Delay(Duration::from_millis(500)),
        1,
    );
    let first = post_sync(&app, &app.admin.clone(), customer, "").await;
    assert_eq!(first.status, 202);
    let first = first.json().as_str().unwrap().to_string();
    let second = post_sync(&app, &app.admin.clone(), customer, "?full=true").await;
    assert_eq!(second.status, 409);
    assert_eq!(second.code(), "sync_in_progress");
    assert!(second.json()["detail"].as_str().unwrap().contains(&first));
    assert_eq!(engine.running_task(customer), Some(first.clone()));
    assert_eq!(wait_for(&app, &first).await["status"], "CompletedSuccess");
    // Once finished, a new sync may start.
    let third = post_sync(&app, &app.admin.clone(), customer, "").await;
    assert_eq!(third.status, 202);
    assert_eq!(
        wait_for(&app, third.json().as_str().unwrap()).await["status"],
        "CompletedSuccess"
    );

    // A service without a secure connection cannot be synced.
    let bare = app.service("bare", 2, false, None).await;
    let reply = post_sync(&app, &app.admin.clone(), bare, "").await;
    assert_eq!(
        (reply.status.as_u16(), reply.code()),
        (400, "no_secure_connection".to_string())
    );
}

async fn bad_secret_is_reported_not_a_500(app: TestApp) {
    let SyncApp { app, fake, .. } = with_engine(app).await;
    let tenant = fake.add_generated_tenant(53, 20);
    let customer = connected(&app, "rotated", &tenant).await;
    let reply = patch(&app, customer, json!({"applicationClientSecret": "typo~secret"})).await;
    assert_eq!(reply.status, 200);
    let replication = &reply.json()["Replication"];
    assert_eq!(replication["connectionValid"], false);
    let message = replication["connectionMessage"].as_str().unwrap();
    assert!(
        message.contains("refused") && message.contains("AADSTS7000215"),
        "{message}"
    );
    assert!(!reply.body.windows(11).any(|w| w == b"typo~secret"));

    // A sync with the refused secret fails readably and is reported on the service.
    let reply = post_sync(&app, &app.admin.clone(), customer, "").await;
    let task = wait_for(&app, reply.json().as_str().unwrap()).await;
    assert_eq!(task["status"], "Failed");
    let error = task["outputData"]["error"].as_str().unwrap();
    assert!(
        error.contains("invalid_client") && error.contains("AADSTS7000215"),
        "{error}"
    );
    let detail = app.get(&format!("/api/v3/customer/{customer}")).await.json();
    assert_eq!(detail["Replication"]["consecutiveFailures"], 1);
    assert_eq!(detail["Replication"]["lastError"], error);

    // Fixing the secret validates again.
    let reply = patch(&app, customer, json!({"applicationClientSecret": tenant.client_secret})).await;
    assert_eq!(reply.json()["Replication"]["connectionValid"], true);
}

async fn readers_never_see_a_mixture_while_a_sync_commits(app: TestApp) {
    const USERS: usize = 3_000;
    const REMOVED: usize = 300;
    let SyncApp { app, fake, .. } = with_engine(app).await;
    let tenant = fake.add_generated_tenant(54, USERS as u64);
    let customer = connected(&app, "paging", &tenant).await;
    let reply = post_sync(&app, &app.admin.clone(), customer, "").await;
    assert_eq!(
        wait_for(&app, reply.json().as_str().unwrap()).await["status"],
        "CompletedSuccess"
    );

    // The next generation renames every remaining user and drops some: a page from it is all
    // "Gen2" with 2,700 records, a page from the first is no "Gen2" with 3,000.
    for (i, user) in fake.users(tenant.tenant_id).unwrap().iter().enumerate() {
        if i < REMOVED {
            fake.remove_user(tenant.tenant_id, user.id(), testkit::fake_graph::RemovalReason::Deleted)
                .unwrap();
        } else {
            fake.update_user(tenant.tenant_id, user.id(), |u| {
                u.user.display_name = Some(format!("Gen2 {}", u.user.display_name.clone().unwrap_or_default()));
            })
            .unwrap();
        }
    }

    let app = Arc::new(app);
    let stop = Arc::new(AtomicBool::new(false));
    let mut readers = Vec::new();
    for r in 0..4usize {
        let (app, stop) = (Arc::clone(&app), Arc::clone(&stop));
        readers.push(tokio::spawn(async move {
            let (mut old, mut new) = (0u64, 0u64);
            let mut spans = Vec::new();
            let mut n = r;
            while !stop.load(Ordering::Relaxed) {
                // A cached page is answered without ever waiting, so an in-process reader would
                // keep its worker thread forever and starve the sync it is racing; a client
                // over the network hands the thread back between requests, and so does this one.
                tokio::task::yield_now().await;
                let size = [100, 250, 333, 1_000][n % 4];
                let page = 1 + (n * 7) % 9;
                n += 1;
                let (reply, span) = timed(app.get(&format!(
                    "/api/v3/customer/{customer}/user?PageNumber={page}&PageSize={size}"
                )))
                .await;
                spans.push(span);
                assert_eq!(reply.status, 200);
                let body = reply.json();
                let data = body["data"].as_array().unwrap();
                let renamed = data
                    .iter()
                    .filter(|u| u["WebName"].as_str().unwrap_or("").starts_with("Gen2 "))
                    .count();
                let total = body["totalRecords"].as_u64().unwrap() as usize;
                let full = total.saturating_sub((page - 1) * size).min(size);
                assert_eq!(data.len(), full, "page {page} of {size} with {total} records");
                match total {
                    3_000 => {
                        assert_eq!(renamed, 0, "a page of the old generation holds new users");
                        old += 1;
                    }
                    2_700 => {
                        assert_eq!(renamed, data.len(), "a page of the new generation holds old users");
                        new += 1;
                    }
                    other => panic!("totalRecords {other} belongs to no generation"),
                }
            }
            (old, new, spans)
        }));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The sync is being written from its start until its task is seen finished.
    let (task, sync_span) = timed(async {
        let reply = post_sync(&app, &app.admin.clone(), customer, "").await;
        wait_for(&app, reply.json().as_str().unwrap()).await
    })
    .await;
    assert_eq!(task["status"], "CompletedSuccess", "{task}");
    assert_eq!(task["outputData"]["mode"], "delta");
    assert_eq!(task["outputData"]["removed"], REMOVED);
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.store(true, Ordering::Relaxed);
    let (mut old, mut new, mut reads) = (0, 0, Vec::new());
    for reader in readers {
        let (o, n, spans) = reader.await.unwrap();
        old += o;
        new += n;
        reads.extend(spans);
    }
    assert!(
        old > 0 && new > 0,
        "readers saw both generations ({old} old, {new} new pages)"
    );
    let during = overlapping(&reads, &[sync_span]);
    assert!(
        during > 0,
        "no read was in flight while the sync ran ({} reads)",
        reads.len()
    );
    app.assert_page_reads(reads.len());
}

/// The read path reuses the service row it read for up to a second (README, "Freshness"); a
/// round that ends in this process makes it read the row again at once, so the users a finished
/// task reports are the users served, even with the clock standing still.
async fn a_sync_is_served_at_once_by_the_replica_that_ran_it(app: TestApp) {
    let SyncApp { app, fake, .. } = with_engine(app).await;
    let clock = Arc::new(sync::ManualClock::new(chrono::Utc::now()));
    app.app.set_record_clock(clock);
    let tenant = fake.add_generated_tenant(59, 40);
    let customer = connected(&app, "fresh", &tenant).await;
    let uri = format!("/api/v3/customer/{customer}/user?PageNumber=1&PageSize=10");
    let before = app.get(&uri).await;
    assert_eq!(before.status, 200, "{}", String::from_utf8_lossy(&before.body));
    assert_eq!(before.json()["totalRecords"], 0);

    let operator = app.token_for(Role::Operator, Scope::Provider).await;
    let reply = post_sync(&app, &operator, customer, "").await;
    assert_eq!(reply.status, 202, "{}", String::from_utf8_lossy(&reply.body));
    let task = wait_for(&app, reply.json().as_str().unwrap()).await;
    assert_eq!(task["status"], "CompletedSuccess", "{task}");
    assert_eq!(app.get(&uri).await.json()["totalRecords"], 40);
}
