//! Fresh, isolated databases for tests: a SQLite file in a temporary directory, or a uniquely
//! named PostgreSQL database on the server named by `ROSTERD_TEST_POSTGRES_URL`.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::{Connection, PgConnection, Row};

/// The environment variable naming a PostgreSQL server (any database on it) for tests, e.g.
/// `postgres://postgres@127.0.0.1:5432/test`.
pub const POSTGRES_URL_VAR: &str = "ROSTERD_TEST_POSTGRES_URL";
/// Prefix of every database created by [`fresh_postgres_url`].
const DB_PREFIX: &str = "rosterd_t_";
/// Databases of live processes older than this are dropped too (a crashed or hung run).
const STALE_AFTER: Duration = Duration::from_secs(6 * 3600);

static CLEANED: AtomicBool = AtomicBool::new(false);

/// A new, empty SQLite database URL inside a temporary directory. Keep the directory alive as
/// long as the database is used; dropping it deletes the files.
pub async fn fresh_sqlite_url() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("creating a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("rosterd.db").display());
    (dir, url)
}

/// A URL to a new, empty PostgreSQL database, created on the server named by
/// `ROSTERD_TEST_POSTGRES_URL`.
///
/// When the variable is unset, PostgreSQL tests are normally not even run: the crates' build
/// script (`build/postgres_tests.rs`) compiles them `#[ignore]`d with the reason, so `cargo
/// test` lists them as ignored. Run anyway (`--include-ignored`), this prints `skipped:
/// ROSTERD_TEST_POSTGRES_URL not set` and returns `None`, so the calling test can return
/// early; but when `CI` is set it panics instead, because CI must never skip PostgreSQL. The
/// first call in a process also drops the test databases left behind by processes that have
/// exited (best effort).
pub async fn fresh_postgres_url() -> Option<String> {
    let Some(admin_url) = std::env::var(POSTGRES_URL_VAR).ok().filter(|u| !u.trim().is_empty()) else {
        if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
            panic!("{POSTGRES_URL_VAR} must be set when CI is set: PostgreSQL tests may not be skipped in CI");
        }
        // Straight to stderr: the test harness captures `eprintln!`, and a skip must be seen.
        let _ = writeln!(std::io::stderr(), "skipped: {POSTGRES_URL_VAR} not set");
        return None;
    };
    let mut admin = PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("connecting to {POSTGRES_URL_VAR}: {e}"));
    if !CLEANED.swap(true, Ordering::SeqCst) {
        drop_leftovers(&mut admin).await;
    }
    let name = format!(
        "{DB_PREFIX}{}_{}_{}",
        unix_now(),
        std::process::id(),
        uuid::Uuid::new_v4().simple().to_string().get(..12).unwrap_or("0")
    );
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("creating test database {name}: {e}"));
    admin.close().await.ok();

    let mut url = url::Url::parse(&admin_url).unwrap_or_else(|e| panic!("{POSTGRES_URL_VAR} is not a URL: {e}"));
    url.set_path(&format!("/{name}"));
    Some(url.to_string())
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Drops `rosterd_t_<secs>_<pid>_<rand>` databases whose process is gone or that are stale.
async fn drop_leftovers(admin: &mut PgConnection) {
    let Ok(rows) = sqlx::query("SELECT datname FROM pg_database WHERE datname LIKE 'rosterd\\_t\\_%'")
        .fetch_all(&mut *admin)
        .await
    else {
        return;
    };
    let now = unix_now();
    for row in rows {
        let Ok(name) = row.try_get::<String, _>("datname") else {
            continue;
        };
        let mut parts = name.trim_start_matches(DB_PREFIX).split('_');
        let created: Option<u64> = parts.next().and_then(|p| p.parse().ok());
        let pid: Option<u32> = parts.next().and_then(|p| p.parse().ok());
        let (Some(created), Some(pid)) = (created, pid) else {
            continue;
        };
        let process_alive = std::path::Path::new(&format!("/proc/{pid}")).exists();
        let stale = now.saturating_sub(created) > STALE_AFTER.as_secs();
        if pid == std::process::id() || (process_alive && !stale) {
            continue;
        }
        // Best effort: another process may be dropping it at the same time.
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut *admin)
            .await;
    }
}
