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

/// Rows per INSERT: eight parameters each stays far below SQLite's limit of 32,766 bound
/// parameters, while long statements amortise per-statement overhead.
const ROWS_PER_INSERT: usize = 1_000;
const _: () = assert!(ROWS_PER_INSERT * 8 <= 32_766, "too many bound parameters per INSERT");
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

/// `INSERT ... VALUES (?,?,?,?,?,?,?,?),...` for `rows` rows. Parameters are anonymous on purpose:
/// SQLite looks names up linearly, and sqlx asks for every parameter's name, so thousands of
/// numbered parameters would make binding quadratic.
fn insert_sql(rows: usize) -> String {
    const HEAD: &str = "INSERT INTO user_versions \
        (customer_id, identity, born, died, fingerprint, line_digits, body, source) VALUES ";
    const ROW: &str = "(?,?,?,?,?,?,?,?)";
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

    async fn insert_versions(&self, customer: CustomerId, generation: i64, rows: &[UserRow]) -> Result<bool, SqlError> {
        let customer = guid(customer.0);
        // The write lock is held from the check to the commit: no generation can be committed
        // in between, so rows never land under a generation that can no longer be committed.
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let served: Option<i64> = sqlx::query_scalar("SELECT generation FROM services WHERE id = ?1")
            .bind(customer.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if served.is_none_or(|served| served >= generation) {
            return Ok(false);
        }
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
                    .bind(guid(row.identity))
                    .bind(generation)
                    .bind(store_sql::CURRENT)
                    .bind(row.fingerprint)
                    .bind(store_sql::line_digits(&row.body))
                    .bind(row.body.as_str())
                    .bind(row.source.as_deref());
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use sqlx::Row as _;
    use store_sql::served_page_sql;

    use super::*;

    #[test]
    fn insert_sql_numbers_every_row() {
        assert_eq!(
            insert_sql(2),
            "INSERT INTO user_versions (customer_id, identity, born, died, fingerprint, line_digits, body, source) \
             VALUES (?,?,?,?,?,?,?,?),(?,?,?,?,?,?,?,?)"
        );
        assert_eq!(full_insert_sql().matches('?').count(), ROWS_PER_INSERT * 8);
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

    /// The changes between two generations cost what changed: both halves search their own
    /// index by range, never the whole customer.
    #[tokio::test]
    async fn changes_search_the_born_and_died_ranges() {
        let store = crate::SqliteStore::connect("sqlite::memory:").await.unwrap();
        for (sql, index) in store_sql::version_changes_sql() {
            let rows = sqlx::query(&format!("EXPLAIN QUERY PLAN {sql}"))
                .bind("00000000-0000-0000-0000-000000000001")
                .bind(1i64)
                .bind(2i64)
                .fetch_all(&store.driver().readers)
                .await
                .unwrap();
            let plan = rows
                .iter()
                .map(|r| r.get::<String, _>("detail"))
                .collect::<Vec<_>>()
                .join("\n");
            assert!(
                plan.contains(&format!("USING INDEX {index} (customer_id=? AND")),
                "{plan}"
            );
        }
    }

    #[tokio::test]
    async fn page_reads_search_the_primary_key_and_never_sort() {
        let store = crate::SqliteStore::connect("sqlite::memory:").await.unwrap();
        let sql = format!("EXPLAIN QUERY PLAN {}", served_page_sql());
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
            plan.contains("SEARCH v USING INDEX user_versions_key (customer_id=? AND identity>?)"),
            "{plan}"
        );
        assert!(
            plan.contains("SEARCH user_chunks USING INDEX sqlite_autoindex_user_chunks_1 (customer_id=? AND generation=? AND start_ordinal<?)"),
            "{plan}"
        );
        assert!(!plan.contains("SCAN v"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}
