//! The PostgreSQL side of the SQL core: parameters and columns in PostgreSQL's own types
//! (`uuid`, `timestamptz`, arrays), statements on the pool, and the bulk operations PostgreSQL
//! does its own way.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::CustomerId;
use futures::TryStreamExt;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{Postgres, Row as _};
use store::{StoreError, StoreResult, UserRow};
use store_sql::{Access, Driver, Param, SqlError, SqlRow, Transaction};
use uuid::Uuid;

use crate::connect::PgDriver;

/// Binds the core's parameters as PostgreSQL values (each typed, `None` included).
fn bind<'q>(params: &[Param<'q>]) -> Result<PgArguments, SqlError> {
    use sqlx::Arguments as _;
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

fn query<'q>(sql: &'q str, params: &[Param<'q>]) -> Result<Query<'q, Postgres, PgArguments>, SqlError> {
    Ok(sqlx::query_with(sql, bind(params)?))
}

/// A PostgreSQL row as the core reads it.
struct Row<'r>(&'r PgRow);

impl<'r> Row<'r> {
    fn get<T>(&self, column: &str) -> StoreResult<T>
    where
        T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
    {
        self.0
            .try_get(column)
            .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
    }
}

impl SqlRow for Row<'_> {
    fn i64(&self, column: &str) -> StoreResult<Option<i64>> {
        self.get(column)
    }

    fn bool(&self, column: &str) -> StoreResult<Option<bool>> {
        self.get(column)
    }

    fn text(&self, column: &str) -> StoreResult<Option<String>> {
        self.get(column)
    }

    fn bytes(&self, column: &str) -> StoreResult<Option<Vec<u8>>> {
        self.get(column)
    }

    fn uuid(&self, column: &str) -> StoreResult<Option<Uuid>> {
        self.get(column)
    }

    fn time(&self, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
        self.get(column)
    }
}

async fn fetch_on<'e, E, T, F>(executor: E, sql: &'e str, params: &[Param<'e>], mut map: F) -> Result<Vec<T>, SqlError>
where
    E: sqlx::Executor<'e, Database = Postgres>,
    F: FnMut(&dyn SqlRow) -> StoreResult<T>,
{
    let mut rows = query(sql, params)?.fetch(executor);
    let mut out = Vec::new();
    while let Some(row) = rows.try_next().await? {
        out.push(map(&Row(&row))?);
    }
    Ok(out)
}

async fn execute_on<'e, E>(executor: E, sql: &'e str, params: &[Param<'e>]) -> Result<u64, SqlError>
where
    E: sqlx::Executor<'e, Database = Postgres>,
{
    Ok(query(sql, params)?.execute(executor).await?.rows_affected())
}

/// A write transaction on one pooled connection.
pub struct PgTx(sqlx::Transaction<'static, Postgres>);

#[async_trait]
impl Transaction for PgTx {
    async fn fetch<T, F>(&mut self, sql: &str, params: &[Param<'_>], map: F) -> Result<Vec<T>, SqlError>
    where
        T: Send,
        F: FnMut(&dyn SqlRow) -> StoreResult<T> + Send,
    {
        fetch_on(&mut *self.0, sql, params, map).await
    }

    async fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, SqlError> {
        execute_on(&mut *self.0, sql, params).await
    }

    async fn commit(self) -> Result<(), SqlError> {
        Ok(self.0.commit().await?)
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

    async fn connect(url: &str) -> StoreResult<Self> {
        Self::open(url).await
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

    async fn insert_users(&self, customer: CustomerId, generation: i64, rows: &[UserRow]) -> Result<(), SqlError> {
        // One statement with five arrays: a round trip and a parse per batch, not per row.
        let ordinals: Vec<i64> = rows.iter().map(|r| r.ordinal).collect();
        let identities: Vec<Uuid> = rows.iter().map(|r| r.identity).collect();
        let fingerprints: Vec<i64> = rows.iter().map(|r| r.fingerprint).collect();
        let bodies: Vec<&str> = rows.iter().map(|r| r.body.as_str()).collect();
        let sources: Vec<Option<&str>> = rows.iter().map(|r| r.source.as_deref()).collect();
        sqlx::query(
            "INSERT INTO end_users (customer_id, generation, ordinal, identity, fingerprint, body, source) \
             SELECT $1, $2, o, i, f, b, s \
             FROM UNNEST($3::bigint[], $4::uuid[], $5::bigint[], $6::text[], $7::text[]) AS t(o, i, f, b, s)",
        )
        .bind(customer.0)
        .bind(generation)
        .bind(ordinals)
        .bind(identities)
        .bind(fingerprints)
        .bind(bodies)
        .bind(sources)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn delete_old_generation(&self, customer: CustomerId, generation: i64) -> Result<(), SqlError> {
        // One statement: PostgreSQL's row versions let other writers go on meanwhile.
        sqlx::query("DELETE FROM end_users WHERE customer_id = $1 AND generation = $2")
            .bind(customer.0)
            .bind(generation)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
