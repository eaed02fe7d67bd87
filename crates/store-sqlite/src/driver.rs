//! The SQLite side of the SQL core: binding parameters and reading columns in SQLite's storage
//! classes (GUIDs as lower-case text, timestamps as integer microseconds), statements on the
//! writer or a reader, `BEGIN IMMEDIATE` transactions, and the bulk operations SQLite does its
//! own way.

use std::sync::OnceLock;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::CustomerId;
use sqlx::sqlite::SqliteArguments;
use sqlx::{Arguments as _, Sqlite};
use store::{StoreError, StoreResult, UserRow};
use store_sql::{Access, Driver, Param, SqlError, SqlRow};
use uuid::Uuid;

use crate::connect::SqliteDriver;

/// Rows per INSERT: seven parameters each stays far below SQLite's limit of 32,766 bound
/// parameters, while long statements amortise per-statement overhead.
const ROWS_PER_INSERT: usize = 1_000;
const _: () = assert!(ROWS_PER_INSERT * 7 <= 32_766, "too many bound parameters per INSERT");
/// Rows removed per statement when discarding an old generation, so that a large delete does
/// not hold the write lock for seconds at a time.
const DELETE_BATCH: i64 = 20_000;

fn guid(id: Uuid) -> String {
    id.hyphenated().to_string()
}

/// Binds the core's parameters in SQLite's storage classes.
fn bind<'q>(params: &[Param<'q>]) -> Result<SqliteArguments<'q>, SqlError> {
    let mut args = SqliteArguments::default();
    for param in params {
        match *param {
            Param::I64(v) => args.add(v),
            Param::Bool(v) => args.add(v),
            Param::Text(v) => args.add(v),
            Param::Bytes(v) => args.add(v),
            Param::Uuid(v) => args.add(v.map(guid)),
            Param::Time(v) => args.add(v.map(|t| t.timestamp_micros())),
            // A JSON array for `json_each`; GUID text needs no escaping.
            Param::Uuids(v) => args.add(v.map(|ids| {
                let quoted: Vec<String> = ids.iter().map(|id| format!("\"{}\"", guid(*id))).collect();
                format!("[{}]", quoted.join(","))
            })),
        }
        .map_err(|e| StoreError::backend(format!("binding a parameter: {e}")))?;
    }
    Ok(args)
}

store_sql::sqlx_statements!(database: Sqlite, bind: bind, row: Row, transaction: SqliteTx);

impl Row<'_> {
    /// GUIDs are stored as lower-case text.
    fn uuid_column(&self, column: &str) -> StoreResult<Option<Uuid>> {
        let text: Option<&str> = self.get(column)?;
        text.map(|t| Uuid::parse_str(t).map_err(|_| StoreError::Corrupt(format!("{column}: '{t}' is not a GUID"))))
            .transpose()
    }

    /// Timestamps are stored as integer microseconds since the epoch.
    fn time_column(&self, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
        let micros: Option<i64> = self.get(column)?;
        micros
            .map(|m| {
                DateTime::from_timestamp_micros(m)
                    .ok_or_else(|| StoreError::Corrupt(format!("{column}: {m} is out of range")))
            })
            .transpose()
    }
}

/// `INSERT ... VALUES (?,?,?,?,?,?,?),...` for `rows` rows. Parameters are anonymous on purpose:
/// SQLite looks names up linearly, and sqlx asks for every parameter's name, so thousands of
/// numbered parameters would make binding quadratic.
fn insert_sql(rows: usize) -> String {
    const HEAD: &str =
        "INSERT INTO end_users (customer_id, generation, ordinal, identity, fingerprint, body, source) VALUES ";
    const ROW: &str = "(?,?,?,?,?,?,?)";
    let mut sql = String::with_capacity(HEAD.len() + rows * (ROW.len() + 1));
    sql.push_str(HEAD);
    for i in 0..rows {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(ROW);
    }
    sql
}

fn full_insert_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| insert_sql(ROWS_PER_INSERT))
}

#[async_trait]
impl Driver for SqliteDriver {
    type Tx = SqliteTx;

    const NAME: &'static str = "sqlite";
    /// SQLite's default collation already compares code points.
    const BINARY_ORDER: &'static str = "";
    /// A transaction holds SQLite's one write lock from its first statement on.
    const FOR_SHARE: &'static str = "";
    /// SQLite serves one process, whose single writer connection runs each claim on its own.
    const SKIP_LOCKED: &'static str = "";

    fn id_in(column: &str, placeholder: &str) -> String {
        format!("{column} IN (SELECT value FROM json_each({placeholder}))")
    }

    async fn connect(url: &str) -> StoreResult<Self> {
        Self::open(url).await
    }

    async fn close(&self) {
        self.close_pools().await;
    }

    async fn fetch<T, F>(&self, access: Access, sql: &str, params: &[Param<'_>], map: F) -> Result<Vec<T>, SqlError>
    where
        T: Send,
        F: FnMut(&dyn SqlRow) -> StoreResult<T> + Send,
    {
        let pool = match access {
            Access::Read => &self.readers,
            Access::Write => &self.writer,
        };
        fetch_on(pool, sql, params, map).await
    }

    async fn execute(&self, sql: &str, params: &[Param<'_>]) -> Result<u64, SqlError> {
        execute_on(&self.writer, sql, params).await
    }

    async fn begin(&self) -> Result<SqliteTx, SqlError> {
        Ok(SqliteTx(self.writer.begin_with("BEGIN IMMEDIATE").await?))
    }

    async fn insert_users(&self, customer: CustomerId, generation: i64, rows: &[UserRow]) -> Result<(), SqlError> {
        let customer = guid(customer.0);
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let partial;
            let sql = if chunk.len() == ROWS_PER_INSERT {
                full_insert_sql()
            } else {
                partial = insert_sql(chunk.len());
                partial.as_str()
            };
            let mut query = sqlx::query(sql);
            for row in chunk {
                query = query
                    .bind(customer.as_str())
                    .bind(generation)
                    .bind(row.ordinal)
                    .bind(guid(row.identity))
                    .bind(row.fingerprint)
                    .bind(row.body.as_str())
                    .bind(row.source.as_deref());
            }
            query.execute(&mut *tx).await?;
        }
        Ok(tx.commit().await?)
    }

    async fn delete_old_generation(&self, customer: CustomerId, generation: i64) -> Result<(), SqlError> {
        // In slices, letting other writers in between.
        let customer = guid(customer.0);
        loop {
            let done = sqlx::query(
                "DELETE FROM end_users WHERE rowid IN (SELECT rowid FROM end_users \
                 WHERE customer_id = ?1 AND generation = ?2 LIMIT ?3)",
            )
            .bind(&customer)
            .bind(generation)
            .bind(DELETE_BATCH)
            .execute(&self.writer)
            .await?;
            if done.rows_affected() == 0 {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use sqlx::Row as _;
    use store_sql::READ_PAGE_SQL;

    use super::*;

    #[test]
    fn insert_sql_numbers_every_row() {
        assert_eq!(
            insert_sql(2),
            "INSERT INTO end_users (customer_id, generation, ordinal, identity, fingerprint, body, source) \
             VALUES (?,?,?,?,?,?,?),(?,?,?,?,?,?,?)"
        );
        assert_eq!(full_insert_sql().matches('?').count(), ROWS_PER_INSERT * 7);
    }

    #[tokio::test]
    async fn guids_and_times_roundtrip_in_sqlite_storage_classes() {
        let store = crate::SqliteStore::connect("sqlite::memory:").await.unwrap();
        let ids = [Uuid::from_u128(1), Uuid::from_u128(0xab)];
        let listed = store
            .driver()
            .fetch(
                Access::Read,
                "SELECT value AS id FROM json_each($1)",
                &[Param::Uuids(Some(&ids))],
                |row| row.get::<Uuid>("id"),
            )
            .await
            .unwrap();
        assert_eq!(listed, ids);
        let at = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
        let stored = store
            .driver()
            .fetch(
                Access::Read,
                "SELECT $1 AS id, $2 AS at, typeof($1) AS id_type, typeof($2) AS at_type",
                &[Param::from(ids[1]), Param::from(at)],
                |row| {
                    Ok((
                        row.get::<Uuid>("id")?,
                        row.get::<DateTime<Utc>>("at")?,
                        row.get::<String>("id_type")?,
                        row.get::<String>("at_type")?,
                    ))
                },
            )
            .await
            .unwrap();
        assert_eq!(stored, vec![(ids[1], at, "text".to_string(), "integer".to_string())]);
    }

    #[tokio::test]
    async fn backend_errors_keep_the_driver_error_as_their_source() {
        use std::error::Error as _;
        use store::{StoreError, StoreInfo as _, TaskStore as _};

        let store = crate::SqliteStore::connect("sqlite::memory:").await.unwrap();
        let error: StoreError = store
            .driver()
            .execute("UPDATE no_such_table SET x = 1", &[])
            .await
            .unwrap_err()
            .into();
        assert!(matches!(error, StoreError::Backend(_)), "{error:?}");
        let source = error.source().expect("a source");
        assert!(source.downcast_ref::<sqlx::Error>().is_some(), "{source:?}");
        assert!(error.to_string().contains("no_such_table"), "{error}");

        // Through a role trait too, once the connections are gone.
        store.close().await;
        let closed = store.prune_tasks("sync", chrono::Utc::now()).await.unwrap_err();
        assert!(
            closed.source().and_then(|s| s.downcast_ref::<sqlx::Error>()).is_some(),
            "{closed:?}"
        );
        assert!(store.ping().await.is_err());
    }

    #[tokio::test]
    async fn page_reads_search_the_primary_key_and_never_sort() {
        let store = crate::SqliteStore::connect("sqlite::memory:").await.unwrap();
        let sql = format!("EXPLAIN QUERY PLAN {READ_PAGE_SQL}");
        let rows = sqlx::query(&sql)
            .bind("00000000-0000-0000-0000-000000000001")
            .bind(1i64)
            .bind(10i64)
            .fetch_all(&store.driver().readers)
            .await
            .unwrap();
        let plan = rows
            .iter()
            .map(|r| r.get::<String, _>("detail"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            plan.contains("SEARCH u USING INDEX sqlite_autoindex_end_users_1"),
            "{plan}"
        );
        assert!(plan.contains("ordinal>? AND ordinal<?"), "{plan}");
        assert!(!plan.contains("SCAN"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}
