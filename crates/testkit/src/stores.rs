//! Fresh databases for benchmarks: SQLite in a temporary directory, or a new PostgreSQL
//! database when `ROSTERD_BENCH_BACKEND=postgres` (on the server named by
//! `ROSTERD_TEST_POSTGRES_URL`). Opening one is `rosterd::open_store`'s job, as for the binary.

/// A database URL and whatever keeps it alive (the SQLite file's directory).
pub struct FreshDatabase {
    pub url: String,
    pub backend: &'static str,
    _dir: Option<tempfile::TempDir>,
}

/// The backend named by `ROSTERD_BENCH_BACKEND` (SQLite unless it says `postgres`), empty.
pub async fn fresh_bench_database() -> Result<FreshDatabase, String> {
    if std::env::var("ROSTERD_BENCH_BACKEND").as_deref() == Ok("postgres") {
        let url = store_conformance::fresh_postgres_url()
            .await
            .ok_or("ROSTERD_TEST_POSTGRES_URL must be set for a PostgreSQL run")?;
        Ok(FreshDatabase {
            url,
            backend: "postgres",
            _dir: None,
        })
    } else {
        let (dir, url) = store_conformance::fresh_sqlite_url().await;
        Ok(FreshDatabase {
            url,
            backend: "sqlite",
            _dir: Some(dir),
        })
    }
}
