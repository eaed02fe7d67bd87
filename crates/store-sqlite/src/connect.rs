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
