//! `rosterd export` and the progress of `rosterd export` / `rosterd import`, through the real
//! binary on SQLite and PostgreSQL: plain progress lines on a non-terminal stderr, the file
//! written whole or not at all, the same bytes as `GET .../user/export`, and the CSV read back
//! by `rosterd import` unchanged.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use support::{create_client, read_until, rosterd, serve_base, stop, token_for};

const CUSTOMER: &str = "3f2b8c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f";

fn cli(dir: &Path, database: &str) -> Command {
    let mut command = rosterd(dir);
    command.env("ROSTERD_DATABASE_URL", database);
    command
}

fn run(dir: &Path, database: &str, args: &[&str]) -> Output {
    cli(dir, database).args(args).output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// More than a MiB of users, as a Live Platform JSON array.
fn big_file(path: &Path, users: usize) {
    let users: Vec<serde_json::Value> = (0..users)
        .map(|i| {
            serde_json::json!({
                "Identity": format!("aaaaaaaa-0000-4000-8000-{i:012}"),
                "WebName": format!("User \"{i}\", Sales"),
                "UserPrincipalName": format!("user{i}@contoso.test"),
                "Department": "x".repeat(300),
                "IsManaged": i % 2 == 0,
            })
        })
        .collect();
    std::fs::write(path, serde_json::to_vec(&users).unwrap()).unwrap();
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".rosterd-export-"))
        .collect()
}

async fn export_and_import_with_progress(database: String) {
    let dir = tempfile::tempdir().unwrap();
    let mut demo = cli(dir.path(), &database)
        .args(["demo", "--listen", "127.0.0.1:0", "--database", &database])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    read_until(&mut demo, |l| l.contains("/oauth2/v2.0/token"));
    stop(demo);

    // A large import shows its progress in plain lines (stderr is a pipe here).
    let big = dir.path().join("big.json");
    big_file(&big, 3000);
    let import = run(
        dir.path(),
        &database,
        &["import", "--customer", CUSTOMER, big.to_str().unwrap()],
    );
    assert!(import.status.success(), "{}", stderr(&import));
    let lines = stderr(&import);
    let progress: Vec<&str> = lines.lines().filter(|l| l.starts_with("import: ")).collect();
    assert!(progress.len() >= 10, "{lines}");
    assert!(progress.iter().any(|l| l.contains("MiB (100%)")), "{lines}");
    assert!(
        progress
            .last()
            .unwrap()
            .contains("checking and writing the new generation"),
        "{lines}"
    );

    // Export to a file: progress, a 0600 file, nothing left behind.
    let csv = dir.path().join("users.csv");
    let export = run(
        dir.path(),
        &database,
        &["export", "--customer", CUSTOMER, "--output", csv.to_str().unwrap()],
    );
    assert!(export.status.success(), "{}", stderr(&export));
    let lines = stderr(&export);
    assert!(lines.contains("3000 users as csv"), "{lines}");
    assert!(lines.contains("export: 3000 of 3000 users (100%)"), "{lines}");
    assert!(lines.contains(&format!("written to {}", csv.display())), "{lines}");
    assert!(export.stdout.is_empty());
    let written = std::fs::read(&csv).unwrap();
    assert!(written.starts_with(b"\"Identity\",\"Status\","));
    assert_eq!(written.windows(2).filter(|w| w == b"\r\n").count(), 3001);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&csv).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(leftovers(dir.path()).is_empty());

    // The CSV goes back in unchanged.
    let again = run(
        dir.path(),
        &database,
        &["import", "--customer", CUSTOMER, csv.to_str().unwrap()],
    );
    assert!(again.status.success(), "{}", stderr(&again));
    let summary: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(
        (summary["unchanged"].as_i64(), summary["changed"].as_i64()),
        (Some(3000), Some(0))
    );

    // JSON to standard output; the same bytes as the HTTP export.
    let json = run(
        dir.path(),
        &database,
        &["export", "--customer", CUSTOMER, "--format", "json"],
    );
    assert!(json.status.success(), "{}", stderr(&json));
    assert_eq!(
        serde_json::from_slice::<Vec<serde_json::Value>>(&json.stdout)
            .unwrap()
            .len(),
        3000
    );
    let client = create_client(dir.path(), &database, "exporter", "Monitor");
    let (server, base) = serve_base(dir.path(), &database, None);
    let token = token_for(&base, &client).await;
    let http = reqwest::Client::new();
    for (format, expected) in [("csv", &written), ("json", &json.stdout)] {
        let reply = http
            .get(format!("{base}/api/v3/customer/{CUSTOMER}/user/export?format={format}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200);
        assert_eq!(&reply.bytes().await.unwrap().to_vec(), expected, "{format}");
    }
    stop(server);

    // A failed export leaves no file, and says why.
    let missing = dir.path().join("missing.csv");
    let unknown = run(
        dir.path(),
        &database,
        &[
            "export",
            "--customer",
            "00000000-0000-4000-8000-000000000001",
            "--output",
            missing.to_str().unwrap(),
        ],
    );
    assert!(!unknown.status.success());
    assert!(stderr(&unknown).contains("customer"), "{}", stderr(&unknown));
    assert!(!missing.exists());
    assert!(leftovers(dir.path()).is_empty());
    let bad = run(
        dir.path(),
        &database,
        &["export", "--customer", CUSTOMER, "--format", "xml"],
    );
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("--format must be csv, ndjson or json"));
}

#[tokio::test]
async fn sqlite_export_and_import_with_progress() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/cli.db", dir.path().display());
    export_and_import_with_progress(database).await;
}

#[tokio::test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "needs PostgreSQL: set ROSTERD_TEST_POSTGRES_URL (./scripts/test sets it)"
)]
async fn postgres_export_and_import_with_progress() {
    let Some(database) = store_conformance::fresh_postgres_url().await else {
        return;
    };
    export_and_import_with_progress(database).await;
}
