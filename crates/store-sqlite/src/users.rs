//! End users by generation: consistent page reads, the writer's reserve / append / commit /
//! discard cycle, and the keyset scans used for diffs and exports.

use std::sync::OnceLock;

use domain::CustomerId;
use futures::TryStreamExt;
use sqlx::Row;
use store::{GenerationCommit, GenerationTicket, PageSlice, StoreError, StoreResult, UserFingerprint, UserRow};

use crate::codec::{get, guid, parse_guid};
use crate::connect::SqliteStore;
use crate::error::db_error;
use crate::services::{bind_sync_state, sync_state_assignments};

/// Rows per INSERT: seven parameters each stays far below SQLite's limit of 32,766 bound
/// parameters, while long statements amortise per-statement overhead.
const ROWS_PER_INSERT: usize = 1_000;
const _: () = assert!(ROWS_PER_INSERT * 7 <= 32_766, "too many bound parameters per INSERT");
/// Rows removed per statement when discarding an old generation, so that a large delete does
/// not hold the write lock for seconds at a time.
const DELETE_BATCH: i64 = 20_000;

/// A page of the served generation with its generation and total: one statement, one snapshot.
const READ_PAGE_SQL: &str = "SELECT s.generation, s.user_count, u.body \
    FROM services AS s \
    LEFT JOIN end_users AS u \
      ON u.customer_id = s.id AND u.generation = s.generation \
     AND u.ordinal BETWEEN ?2 AND ?3 \
    WHERE s.id = ?1 \
    ORDER BY u.ordinal";

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

impl SqliteStore {
    pub(crate) async fn read_page_impl(
        &self,
        id: CustomerId,
        first_ordinal: i64,
        limit: i64,
    ) -> StoreResult<Option<PageSlice>> {
        // One statement, hence one read snapshot: the generation, the total and the rows
        // always belong together even while a writer commits.
        let last_ordinal = first_ordinal.saturating_add(limit.saturating_sub(1));
        let rows = sqlx::query(READ_PAGE_SQL)
            .bind(guid(id.0))
            .bind(first_ordinal)
            .bind(last_ordinal)
            .fetch_all(&self.readers)
            .await
            .map_err(db_error)?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let generation: i64 = get(first, "generation")?;
        let total_records: i64 = get(first, "user_count")?;
        let mut bodies = Vec::with_capacity(rows.len());
        for row in &rows {
            if let Some(body) = get::<Option<String>>(row, "body")? {
                bodies.push(body);
            }
        }
        Ok(Some(PageSlice {
            generation,
            total_records,
            bodies,
        }))
    }

    /// Reserves a generation: (the served one, the new one).
    pub(crate) async fn begin_generation_impl(&self, id: CustomerId) -> StoreResult<(i64, i64)> {
        let row = sqlx::query(
            "UPDATE services SET next_generation = max(next_generation, generation) + 1 \
             WHERE id = ?1 RETURNING generation, next_generation",
        )
        .bind(guid(id.0))
        .fetch_optional(&self.writer)
        .await
        .map_err(db_error)?
        .ok_or_else(|| StoreError::NotFound(format!("service {id}")))?;
        Ok((get(&row, "generation")?, get(&row, "next_generation")?))
    }

    pub(crate) async fn fingerprints_impl(&self, id: CustomerId, generation: i64) -> StoreResult<Vec<UserFingerprint>> {
        // Ordinals are dense in identity order, so the primary key yields identity order.
        let customer = guid(id.0);
        let mut stream = sqlx::query(
            "SELECT identity, fingerprint FROM end_users \
             WHERE customer_id = ?1 AND generation = ?2 ORDER BY ordinal",
        )
        .bind(&customer)
        .bind(generation)
        .fetch(&self.readers);
        let mut out = Vec::new();
        while let Some(row) = stream.try_next().await.map_err(db_error)? {
            let identity: &str = row.try_get("identity").map_err(db_error)?;
            out.push(UserFingerprint {
                identity: parse_guid(identity, "end_users.identity")?,
                fingerprint: get(&row, "fingerprint")?,
            });
        }
        Ok(out)
    }

    pub(crate) async fn users_after_impl(
        &self,
        id: CustomerId,
        generation: i64,
        after_ordinal: i64,
        limit: i64,
    ) -> StoreResult<Vec<UserRow>> {
        let rows = sqlx::query(
            "SELECT ordinal, identity, fingerprint, body, source FROM end_users \
             WHERE customer_id = ?1 AND generation = ?2 AND ordinal > ?3 \
             ORDER BY ordinal LIMIT ?4",
        )
        .bind(guid(id.0))
        .bind(generation)
        .bind(after_ordinal)
        .bind(limit.max(0))
        .fetch_all(&self.readers)
        .await
        .map_err(db_error)?;
        rows.iter()
            .map(|row| {
                let identity: String = get(row, "identity")?;
                Ok(UserRow {
                    ordinal: get(row, "ordinal")?,
                    identity: parse_guid(&identity, "end_users.identity")?,
                    fingerprint: get(row, "fingerprint")?,
                    body: get(row, "body")?,
                    source: get(row, "source")?,
                })
            })
            .collect()
    }

    pub(crate) async fn append_users_impl(&self, ticket: &GenerationTicket, rows: &[UserRow]) -> StoreResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let customer = guid(ticket.customer.0);
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await.map_err(db_error)?;
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
                    .bind(ticket.generation)
                    .bind(row.ordinal)
                    .bind(guid(row.identity))
                    .bind(row.fingerprint)
                    .bind(row.body.as_str())
                    .bind(row.source.as_deref());
            }
            query.execute(&mut *tx).await.map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)
    }

    pub(crate) async fn commit_generation_impl(
        &self,
        ticket: &GenerationTicket,
        commit: &GenerationCommit,
    ) -> StoreResult<()> {
        // A single UPDATE is its own transaction: the compare-and-set on the served generation,
        // the new count and the replication state land together or not at all.
        let customer = guid(ticket.customer.0);
        let done = match &commit.sync {
            Some(state) => {
                let sql = format!(
                    "UPDATE services SET generation = ?3, user_count = ?4, {} \
                     WHERE id = ?1 AND generation = ?2",
                    sync_state_assignments(5)
                );
                let query = sqlx::query(&sql)
                    .bind(&customer)
                    .bind(ticket.base_generation)
                    .bind(ticket.generation)
                    .bind(commit.user_count);
                bind_sync_state(query, state).execute(&self.writer).await
            }
            None => {
                sqlx::query(
                    "UPDATE services SET generation = ?3, user_count = ?4 \
                     WHERE id = ?1 AND generation = ?2",
                )
                .bind(&customer)
                .bind(ticket.base_generation)
                .bind(ticket.generation)
                .bind(commit.user_count)
                .execute(&self.writer)
                .await
            }
        }
        .map_err(db_error)?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        match self.served_generation(&customer).await? {
            None => Err(StoreError::NotFound(format!("service {}", *ticket.customer))),
            Some(served) => Err(StoreError::Conflict(format!(
                "generation {} of service {} was based on generation {}, but generation {served} \
                 has been committed since",
                ticket.generation, *ticket.customer, ticket.base_generation
            ))),
        }
    }

    pub(crate) async fn stored_generations_impl(&self, id: CustomerId) -> StoreResult<Vec<i64>> {
        // A skip scan over the primary key: one index probe per distinct generation, however
        // many rows each holds.
        sqlx::query_scalar(
            "WITH RECURSIVE g(generation) AS ( \
               SELECT min(generation) FROM end_users WHERE customer_id = ?1 \
               UNION ALL \
               SELECT (SELECT min(e.generation) FROM end_users e \
                       WHERE e.customer_id = ?1 AND e.generation > g.generation) \
               FROM g WHERE g.generation IS NOT NULL) \
             SELECT generation FROM g WHERE generation IS NOT NULL",
        )
        .bind(guid(id.0))
        .fetch_all(&self.readers)
        .await
        .map_err(db_error)
    }

    pub(crate) async fn discard_generation_impl(&self, id: CustomerId, generation: i64) -> StoreResult<()> {
        let customer = guid(id.0);
        let served = self
            .served_generation(&customer)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("service {id}")))?;
        if generation == served {
            return Err(refuse_served(id, generation));
        }
        if generation < served {
            // Generations only grow, so an older one can never be served again: delete it in
            // slices and let other writers in between.
            loop {
                let done = sqlx::query(
                    "DELETE FROM end_users WHERE rowid IN (SELECT rowid FROM end_users \
                     WHERE customer_id = ?1 AND generation = ?2 LIMIT ?3)",
                )
                .bind(&customer)
                .bind(generation)
                .bind(DELETE_BATCH)
                .execute(&self.writer)
                .await
                .map_err(db_error)?;
                if done.rows_affected() == 0 {
                    return Ok(());
                }
            }
        }
        // A newer generation could be committed concurrently: check and delete under the
        // write lock.
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await.map_err(db_error)?;
        let served: Option<i64> = sqlx::query_scalar("SELECT generation FROM services WHERE id = ?1")
            .bind(&customer)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
        if served == Some(generation) {
            return Err(refuse_served(id, generation));
        }
        sqlx::query("DELETE FROM end_users WHERE customer_id = ?1 AND generation = ?2")
            .bind(&customer)
            .bind(generation)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)
    }

    async fn served_generation(&self, customer: &str) -> StoreResult<Option<i64>> {
        sqlx::query_scalar("SELECT generation FROM services WHERE id = ?1")
            .bind(customer)
            .fetch_optional(&self.writer)
            .await
            .map_err(db_error)
    }
}

fn refuse_served(id: CustomerId, generation: i64) -> StoreError {
    StoreError::Conflict(format!("generation {generation} of service {id} is being served"))
}

#[cfg(test)]
mod tests {
    use sqlx::Row;

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
    async fn page_reads_search_the_primary_key_and_never_sort() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        let sql = format!("EXPLAIN QUERY PLAN {READ_PAGE_SQL}");
        let rows = sqlx::query(&sql)
            .bind("00000000-0000-0000-0000-000000000001")
            .bind(1i64)
            .bind(10i64)
            .fetch_all(&store.readers)
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
