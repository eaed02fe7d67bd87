//! `rosterd copy` moves a whole SQLite installation to PostgreSQL: afterwards a server on the
//! PostgreSQL copy answers the same bytes and accepts tokens issued before the move.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::process::Stdio;

use support::{read_until, rosterd, serve_base, stop};

#[tokio::test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "needs PostgreSQL: set ROSTERD_TEST_POSTGRES_URL (./scripts/test sets it)"
)]
async fn postgres_receives_a_copy_of_a_sqlite_installation() {
    let Some(pg_url) = store_conformance::fresh_postgres_url().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite_url = format!("sqlite://{}/rosterd.db", dir.path().display());

    // A populated installation: the demo customer, its users, a client, a token.
    let mut demo = rosterd(dir.path())
        .args(["demo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = read_until(&mut demo, |l| l.contains("/oauth2/v2.0/token"));
    let curl = lines.iter().find(|l| l.starts_with("curl -s -H")).unwrap();
    let token = curl
        .split("Bearer ")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap()
        .to_string();
    let path = curl
        .split("127.0.0.1:")
        .nth(1)
        .unwrap()
        .split_once('/')
        .unwrap()
        .1
        .trim_end_matches('\'')
        .to_string();
    let http = reqwest::Client::new();
    let base = lines[0].rsplit(' ').next().unwrap().to_string();
    let before = http
        .get(format!("{base}/{path}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    stop(demo);

    let copy = rosterd(dir.path())
        .args(["copy", "--from", &sqlite_url, "--to", &pg_url])
        .output()
        .unwrap();
    assert!(copy.status.success(), "{}", String::from_utf8_lossy(&copy.stderr));
    let report: serde_json::Value = serde_json::from_slice(&copy.stdout).unwrap();
    assert_eq!(report["services"], 1);
    assert_eq!(report["users"], 37);
    assert!(report["clients"].as_u64().unwrap() >= 1);
    assert!(report["signing_keys"].as_u64().unwrap() >= 1);

    // A second copy into the now non-empty target is refused, unless forced.
    let again = rosterd(dir.path())
        .args(["copy", "--from", &sqlite_url, "--to", &pg_url])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    let forced = rosterd(dir.path())
        .args(["copy", "--force", "--from", &sqlite_url, "--to", &pg_url])
        .output()
        .unwrap();
    assert!(forced.status.success(), "{}", String::from_utf8_lossy(&forced.stderr));

    // The PostgreSQL copy serves the same bytes, and the pre-move token (same keys) still works.
    let (server, pg_base) = serve_base(dir.path(), &pg_url, Some(&base));
    let after = http
        .get(format!("{pg_base}/{path}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 200);
    assert_eq!(after.bytes().await.unwrap(), before);
    stop(server);
}
