//! The PostgreSQL side of the SQL core: the pool and its migrations, parameters and columns in PostgreSQL's own types
//! (`uuid`, `timestamptz`, arrays), statements on the pool, and the bulk operations PostgreSQL
//! does its own way.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::CustomerId;
use sqlx::postgres::{PgArguments, PgPool, PgPoolOptions};
use sqlx::{Arguments as _, Postgres};
use store::{StoreError, StoreResult, UserRow};
use store_sql::{db_error, Access, Driver, Param, SqlError, SqlRow};
use uuid::Uuid;

const MAX_CONNECTIONS: u32 = 16;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// The PostgreSQL driver of the SQL core. Cheap to clone: clones share the pool. Several
/// processes may use one database at once; migrations and sync claims are safe under that.
#[derive(Debug, Clone)]
pub struct PgDriver {
    pool: PgPool,
}

/// Binds the core's parameters as PostgreSQL values (each typed, `None` included).
fn bind<'q>(params: &[Param<'q>]) -> Result<PgArguments, SqlError> {
    let mut args = PgArguments::default();
    for param in params {
        match *param {
            Param::I64(v) => args.add(v),
            Param::Bool(v) => args.add(v),
            Param::Text(v) => args.add(v),
            Param::Bytes(v) => args.add(v),
            Param::Uuid(v) => args.add(v),
            Param::Time(v) => args.add(v),
            Param::Uuids(v) => args.add(v),
        }
        .map_err(|e| StoreError::backend(format!("binding a parameter: {e}")))?;
    }
    Ok(args)
}

store_sql::sqlx_statements!(database: Postgres, bind: bind, row: Row, transaction: PgTx);

impl Row<'_> {
    fn uuid_column(&self, column: &str) -> StoreResult<Option<Uuid>> {
        self.get(column)
    }

    fn time_column(&self, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
        self.get(column)
    }
}

#[async_trait]
impl Driver for PgDriver {
    type Tx = PgTx;

    const NAME: &'static str = "postgres";
    /// Sorts like SQLite's `BINARY` collation, whatever the database's default collation is.
    const BINARY_ORDER: &'static str = " COLLATE \"C\"";
    const FOR_SHARE: &'static str = " FOR SHARE";
    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";

    fn id_in(column: &str, placeholder: &str) -> String {
        format!("{column} = ANY({placeholder})")
    }

    /// Connects to `url` (`postgres://user@host:port/db`) and applies pending migrations (the
    /// migrator holds an advisory lock, so concurrent starts do not race).
    async fn connect(url: &str) -> StoreResult<Self> {
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

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn fetch<T, F>(&self, _access: Access, sql: &str, params: &[Param<'_>], map: F) -> Result<Vec<T>, SqlError>
    where
        T: Send,
        F: FnMut(&dyn SqlRow) -> StoreResult<T> + Send,
    {
        fetch_on(&self.pool, sql, params, map).await
    }

    async fn execute(&self, sql: &str, params: &[Param<'_>]) -> Result<u64, SqlError> {
        execute_on(&self.pool, sql, params).await
    }

    async fn begin(&self) -> Result<PgTx, SqlError> {
        Ok(PgTx(self.pool.begin().await?))
    }

    async fn insert_versions(&self, customer: CustomerId, generation: i64, rows: &[UserRow]) -> Result<bool, SqlError> {
        // One statement with six arrays: a round trip and a parse per batch, not per row. It
        // inserts only while no generation at or above this one is served; the share lock on
        // the service row makes a commit of another generation wait until these rows are in, so
        // that the commit's cleanup of losing writers sees them.
        let identities: Vec<Uuid> = rows.iter().map(|r| r.identity).collect();
        let fingerprints: Vec<i64> = rows.iter().map(|r| r.fingerprint).collect();
        let digits: Vec<Option<String>> = rows.iter().map(|r| store_sql::line_digits(&r.body)).collect();
        let bodies: Vec<&str> = rows.iter().map(|r| r.body.as_str()).collect();
        let sources: Vec<Option<&str>> = rows.iter().map(|r| r.source.as_deref()).collect();
        let inserted = sqlx::query(
            "INSERT INTO user_versions (customer_id, identity, born, died, fingerprint, line_digits, body, source) \
             SELECT $1, i, $2, $3, f, d, b, s \
             FROM UNNEST($4::uuid[], $5::bigint[], $6::text[], $7::text[], $8::text[]) AS t(i, f, d, b, s) \
             WHERE (SELECT generation FROM services WHERE id = $1 FOR SHARE) < $2",
        )
        .bind(customer.0)
        .bind(generation)
        .bind(store_sql::CURRENT)
        .bind(identities)
        .bind(fingerprints)
        .bind(digits)
        .bind(bodies)
        .bind(sources)
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() == rows.len() as u64)
    }
}
