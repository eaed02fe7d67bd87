//! The binary against the fake Graph on loopback: `rosterd sync` syncs one customer in the
//! foreground with progress on stderr and a JSON summary on stdout (non-zero exit on failure),
//! and `rosterd serve` syncs connected customers by itself.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use domain::CustomerId;
use store::{ServiceStore, UserStore};
use testkit::fake_graph::{FakeGraph, FakeTenant, PageSizes};

fn rosterd(dir: &Path, fake: &FakeGraph) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_rosterd"));
    cmd.current_dir(dir)
        .env("ROSTERD_DATABASE_URL", database(dir))
        .env("ROSTERD_SECRET_KEY_FILE", dir.join("rosterd.key"))
        .env("ROSTERD_GRAPH_URL", fake.url())
        .env("ROSTERD_LOGIN_URL", fake.url())
        .env("ROSTERD_LOG", "warn")
        .kill_on_drop(true);
    cmd
}

fn database(dir: &Path) -> String {
    format!("sqlite://{}/rosterd.db", dir.display())
}

/// Every served body of the customer.
async fn served(dir: &Path, customer: CustomerId) -> Vec<String> {
    let store = store_sqlite::SqliteStore::connect(&database(dir)).await.unwrap();
    let slice = store
        .read_page(&testkit::connected::read(customer), None, 1, 10_000)
        .await
        .unwrap()
        .unwrap();
    store.close().await;
    slice.bodies
}

/// A connected customer, written straight into the database with the secret sealed by the
/// directory's key file (as `PATCH` would).
async fn connect(dir: &Path, short: &str, tenant: &FakeTenant, secret: &str) -> CustomerId {
    let store = store_sqlite::SqliteStore::connect(&database(dir)).await.unwrap();
    let key = auth::SecretKey::load_or_create(&dir.join("rosterd.key")).unwrap();
    let id = testkit::connected::connect_service(&store, &key, short, tenant, secret)
        .await
        .unwrap();
    store.close().await;
    id
}

fn expected(fake: &FakeGraph, tenant: &FakeTenant) -> Vec<String> {
    fake.expected_end_users(tenant.tenant_id)
        .unwrap()
        .iter()
        .map(domain::EndUser::render_json)
        .collect()
}

async fn sync(dir: &Path, fake: &FakeGraph, args: &[&str]) -> (Output, serde_json::Value) {
    let output = rosterd(dir, fake)
        .arg("sync")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await
        .unwrap();
    let summary = serde_json::from_slice(&output.stdout).unwrap_or(serde_json::Value::Null);
    (output, summary)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_command_syncs_one_customer_with_progress() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeGraph::start().await.unwrap();
    fake.set_page_sizes(PageSizes {
        delta: 100,
        ..PageSizes::default()
    });
    let tenant = fake.add_generated_tenant(61, 450);
    let customer = connect(dir.path(), "cli", &tenant, &tenant.client_secret).await;

    let (output, summary) = sync(dir.path(), &fake, &["--customer", &customer.to_string()]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(summary["status"], "CompletedSuccess", "{summary}");
    assert!(summary["taskId"].as_str().unwrap().starts_with("sync_"));
    assert_eq!(summary["report"]["mode"], "full");
    assert_eq!(summary["report"]["total"], 450);
    assert_eq!(summary["report"]["added"], 450);
    assert_eq!(summary["error"], serde_json::Value::Null);
    for line in [
        "full round: no delta link stored yet",
        "admin/teams/userConfigurations: page 1 read",
        "users/delta: page 5 read, 50 items (450 so far)",
        "read 450 users from users/delta in 5 pages",
        "committed generation",
    ] {
        assert!(stderr.contains(line), "missing '{line}' in:\n{stderr}");
    }
    assert_eq!(served(dir.path(), customer).await, expected(&fake, &tenant));

    // --full reads everything again; nothing changed.
    let (output, summary) = sync(dir.path(), &fake, &["--customer", &customer.to_string(), "--full"]).await;
    assert!(output.status.success());
    assert_eq!(summary["report"]["reason"], "a full sync was requested");
    assert_eq!(summary["report"]["committed"], false);

    // A refused secret: non-zero exit, Entra's message, the users stay. (Another tenant: a
    // tenant belongs to one service.)
    let other = fake.add_generated_tenant(62, 5);
    let wrong = connect(dir.path(), "wrong", &other, "not-it").await;
    let (output, summary) = sync(dir.path(), &fake, &["--customer", &wrong.to_string()]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert_eq!(summary["status"], "Failed");
    assert!(
        summary["error"].as_str().unwrap().contains("AADSTS7000215"),
        "{summary}"
    );
    assert!(stderr.contains("error: sync failed:"), "{stderr}");
    let (output, _) = sync(
        dir.path(),
        &fake,
        &["--customer", "00000000-0000-4000-8000-000000000000"],
    )
    .await;
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("does not exist"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_syncs_connected_customers_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeGraph::start().await.unwrap();
    let tenant = fake.add_generated_tenant(62, 120);
    let customer = connect(dir.path(), "served", &tenant, &tenant.client_secret).await;
    let mut child = rosterd(dir.path(), &fake)
        .args(["serve", "--listen", "127.0.0.1:0", "--sync-interval", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let store = store_sqlite::SqliteStore::connect(&database(dir.path())).await.unwrap();
        let service = store
            .get_service(&testkit::connected::read(customer))
            .await
            .unwrap()
            .unwrap();
        store.close().await;
        if service.generation > 0 && service.sync.last_success_at.is_some() {
            assert_eq!(service.user_count, 120);
            break;
        }
        assert!(Instant::now() < deadline, "serve did not sync the customer");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(served(dir.path(), customer).await, expected(&fake, &tenant));
    // A change in the tenant arrives with the next quick cycle.
    let user = fake.users(tenant.tenant_id).unwrap()[3].id();
    fake.update_user(tenant.tenant_id, user, |u| {
        u.user.display_name = Some("Changed In Tenant".into())
    })
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !served(dir.path(), customer)
        .await
        .join("")
        .contains("Changed In Tenant")
    {
        assert!(Instant::now() < deadline, "the change did not arrive");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    support::terminate(child.id().unwrap());
    let status = tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
}
