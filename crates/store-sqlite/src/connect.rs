//! Opening a SQLite database: URL parsing, connection settings, pools and migrations.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use store::{StoreError, StoreResult};

use crate::error::db_error;

/// How long a statement waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// Upper bound of concurrent reader connections.
const MAX_READERS: u32 = 8;

/// The SQLite backend. Cheap to clone: clones share the pools.
///
/// Writes go through a single connection, so writers in this process queue in the pool instead
/// of spinning on SQLite's lock; reads use a separate pool and, thanks to WAL, never wait for the
/// writer.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(crate) writer: SqlitePool,
    pub(crate) readers: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating it if missing) the database at `url` (`sqlite://path.db`, `sqlite:path.db`
    /// or `sqlite::memory:`) and applies pending migrations.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Backend(format!("invalid SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");

        // The writer keeps its connection forever: an in-memory database lives only as long as
        // one connection to it does.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(BUSY_TIMEOUT * 2)
            .connect_with(options.clone())
            .await
            .map_err(db_error)?;
        sqlx::migrate!("./migrations")
            .run(&writer)
            .await
            .map_err(|e| StoreError::Backend(format!("migrating SQLite database: {e}")))?;

        let readers = if in_memory {
            // A shared-cache memory database locks tables between connections; one is simpler.
            writer.clone()
        } else {
            let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
            let max = u32::try_from(cores * 2).unwrap_or(MAX_READERS).clamp(2, MAX_READERS);
            SqlitePoolOptions::new()
                .max_connections(max)
                .acquire_timeout(BUSY_TIMEOUT * 2)
                .connect_with(options.pragma("query_only", "ON"))
                .await
                .map_err(db_error)?
        };
        Ok(Self { writer, readers })
    }

    /// Closes every connection (WAL checkpoint included); later calls fail.
    pub async fn close(&self) {
        self.readers.close().await;
        self.writer.close().await;
    }
}

#[cfg(test)]
mod tests {
    use domain::access::Visibility;
    use domain::{CustomerId, LicenseType, NewService, ShortName};
    use store::{Store, StoreError};

    use super::*;

    fn service(name: &str) -> NewService {
        NewService {
            id: CustomerId::new_random(),
            short_name: ShortName::parse(name).unwrap(),
            full_name: name.to_string(),
            license_type: LicenseType::HostedPro,
            licensed_users_count: None,
            channel_id: None,
            ovoc_customer_type: None,
            tenant_id: None,
            default_domain: None,
            site_locations: Vec::new(),
        }
    }

    #[tokio::test]
    async fn both_url_forms_create_the_file_and_reopen_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested-name.db");
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        assert!(path.exists());
        store.create_service(&service("kept")).await.unwrap();
        store.close().await;

        // Reopening applies no migration twice and finds the data.
        let again = SqliteStore::connect(&format!("sqlite:{}", path.display()))
            .await
            .unwrap();
        let all = again.list_services(&Visibility::everything()).await.unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].short_name, "kept");
    }

    #[tokio::test]
    async fn connections_are_configured() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::connect(&format!("sqlite:{}", dir.path().join("p.db").display()))
            .await
            .unwrap();
        for pool in [&store.writer, &store.readers] {
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(pool).await.unwrap();
            assert_eq!(mode, "wal");
            let sync: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(pool).await.unwrap();
            assert_eq!(sync, 1, "NORMAL");
            let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(pool).await.unwrap();
            assert_eq!(fk, 1);
            let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout").fetch_one(pool).await.unwrap();
            assert_eq!(busy, 30_000);
        }
        let readonly = sqlx::query("DELETE FROM services").execute(&store.readers).await;
        assert!(readonly.is_err(), "reader connections refuse writes");
    }

    #[tokio::test]
    async fn in_memory_database_works() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        store.create_service(&service("memory")).await.unwrap();
        assert_eq!(store.list_services(&Visibility::everything()).await.unwrap().len(), 1);
        store.ping().await.unwrap();
    }

    #[tokio::test]
    async fn bad_urls_are_backend_errors() {
        let bad = SqliteStore::connect("sqlite://x.db?mode=bogus").await;
        assert!(matches!(bad, Err(StoreError::Backend(_))), "{bad:?}");
        let dir = tempfile::tempdir().unwrap();
        let missing_dir = format!("sqlite://{}/no/such/dir/x.db", dir.path().display());
        assert!(matches!(
            SqliteStore::connect(&missing_dir).await,
            Err(StoreError::Backend(_))
        ));
    }
}
