//! Opening a PostgreSQL database: pool settings and migrations.

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use store::{StoreError, StoreResult};
use store_sql::db_error;

const MAX_CONNECTIONS: u32 = 16;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// The PostgreSQL driver of the SQL core. Cheap to clone: clones share the pool. Several
/// processes may use one database at once; migrations and sync claims are safe under that.
#[derive(Debug, Clone)]
pub struct PgDriver {
    pub(crate) pool: PgPool,
}

impl PgDriver {
    /// Connects to `url` (`postgres://user@host:port/db`) and applies pending migrations (the
    /// migrator holds an advisory lock, so concurrent starts do not race).
    pub(crate) async fn open(url: &str) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await
            .map_err(db_error)?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| StoreError::backend(format!("migrating PostgreSQL database: {e}")))?;
        Ok(Self { pool })
    }
}
