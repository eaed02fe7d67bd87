//! Fresh stores for benchmarks: SQLite in a temporary directory, or a new PostgreSQL database
//! when `ROSTERD_BENCH_BACKEND=postgres` (on the server named by `ROSTERD_TEST_POSTGRES_URL`).

use std::sync::Arc;

use store::{Store, StoreError};

/// A store and whatever keeps it alive (the SQLite file's directory).
pub struct FreshStore {
    pub store: Arc<dyn Store>,
    pub backend: &'static str,
    _dir: Option<tempfile::TempDir>,
}

/// The backend named by `ROSTERD_BENCH_BACKEND` (SQLite unless it says `postgres`), empty.
pub async fn fresh_bench_store() -> Result<FreshStore, StoreError> {
    if std::env::var("ROSTERD_BENCH_BACKEND").as_deref() == Ok("postgres") {
        let url = store_conformance::fresh_postgres_url()
            .await
            .ok_or_else(|| StoreError::Backend("ROSTERD_TEST_POSTGRES_URL must be set for a PostgreSQL run".into()))?;
        Ok(FreshStore {
            store: Arc::new(store_postgres::PgStore::connect(&url).await?),
            backend: "postgres",
            _dir: None,
        })
    } else {
        let (dir, url) = store_conformance::fresh_sqlite_url().await;
        Ok(FreshStore {
            store: Arc::new(store_sqlite::SqliteStore::connect(&url).await?),
            backend: "sqlite",
            _dir: Some(dir),
        })
    }
}
