//! Opening a PostgreSQL database: pool settings and migrations.

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use store::{StoreError, StoreResult};

use crate::error::db_error;

const MAX_CONNECTIONS: u32 = 16;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// The PostgreSQL backend. Cheap to clone: clones share the pool. Several processes may use
/// one database at once; migrations and sync claims are safe under that.
#[derive(Debug, Clone)]
pub struct PgStore {
    pub(crate) pool: PgPool,
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`) and applies pending migrations (the
    /// migrator holds an advisory lock, so concurrent starts do not race).
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await
            .map_err(db_error)?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Backend(format!("migrating PostgreSQL database: {e}")))?;
        Ok(Self { pool })
    }

    /// Closes every connection; later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
