//! End users by generation: consistent page reads, the writer's reserve / append / commit /
//! discard cycle, and the keyset scans used for diffs and exports.

use domain::CustomerId;
use futures::TryStreamExt;
use store::{GenerationCommit, GenerationTicket, PageSlice, StoreError, StoreResult, UserFingerprint, UserRow};
use uuid::Uuid;

use crate::codec::get;
use crate::connect::PgStore;
use crate::error::db_error;
use crate::services::{bind_sync_state, sync_state_assignments};

impl PgStore {
    pub(crate) async fn read_page_impl(
        &self,
        id: CustomerId,
        first_ordinal: i64,
        limit: i64,
    ) -> StoreResult<Option<PageSlice>> {
        // One statement, hence one snapshot: the generation, the total and the rows always
        // belong together even while a writer commits.
        let last_ordinal = first_ordinal.saturating_add(limit.saturating_sub(1));
        let rows = sqlx::query(
            "SELECT s.generation, s.user_count, u.body \
             FROM services AS s \
             LEFT JOIN end_users AS u \
               ON u.customer_id = s.id AND u.generation = s.generation \
              AND u.ordinal BETWEEN $2 AND $3 \
             WHERE s.id = $1 \
             ORDER BY u.ordinal",
        )
        .bind(id.0)
        .bind(first_ordinal)
        .bind(last_ordinal)
        .fetch_all(&self.pool)
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
            "UPDATE services SET next_generation = GREATEST(next_generation, generation) + 1 \
             WHERE id = $1 RETURNING generation, next_generation",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .ok_or_else(|| StoreError::NotFound(format!("service {id}")))?;
        Ok((get(&row, "generation")?, get(&row, "next_generation")?))
    }

    pub(crate) async fn fingerprints_impl(&self, id: CustomerId, generation: i64) -> StoreResult<Vec<UserFingerprint>> {
        // Ordinals are dense in identity order, so the primary key yields identity order.
        let mut stream = sqlx::query_as::<_, (Uuid, i64)>(
            "SELECT identity, fingerprint FROM end_users \
             WHERE customer_id = $1 AND generation = $2 ORDER BY ordinal",
        )
        .bind(id.0)
        .bind(generation)
        .fetch(&self.pool);
        let mut out = Vec::new();
        while let Some((identity, fingerprint)) = stream.try_next().await.map_err(db_error)? {
            out.push(UserFingerprint { identity, fingerprint });
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
        let rows = sqlx::query_as::<_, (i64, Uuid, i64, String, Option<String>)>(
            "SELECT ordinal, identity, fingerprint, body, source FROM end_users \
             WHERE customer_id = $1 AND generation = $2 AND ordinal > $3 \
             ORDER BY ordinal LIMIT $4",
        )
        .bind(id.0)
        .bind(generation)
        .bind(after_ordinal)
        .bind(limit.max(0))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(rows
            .into_iter()
            .map(|(ordinal, identity, fingerprint, body, source)| UserRow {
                ordinal,
                identity,
                fingerprint,
                body,
                source,
            })
            .collect())
    }

    pub(crate) async fn append_users_impl(&self, ticket: &GenerationTicket, rows: &[UserRow]) -> StoreResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
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
        .bind(ticket.customer.0)
        .bind(ticket.generation)
        .bind(ordinals)
        .bind(identities)
        .bind(fingerprints)
        .bind(bodies)
        .bind(sources)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    pub(crate) async fn commit_generation_impl(
        &self,
        ticket: &GenerationTicket,
        commit: &GenerationCommit,
    ) -> StoreResult<()> {
        // A single UPDATE is its own transaction: the compare-and-set on the served generation,
        // the new count and the replication state land together or not at all.
        let done = match &commit.sync {
            Some(state) => {
                let sql = format!(
                    "UPDATE services SET generation = $3, user_count = $4, {} \
                     WHERE id = $1 AND generation = $2",
                    sync_state_assignments(5)
                );
                let query = sqlx::query(&sql)
                    .bind(ticket.customer.0)
                    .bind(ticket.base_generation)
                    .bind(ticket.generation)
                    .bind(commit.user_count);
                bind_sync_state(query, state).execute(&self.pool).await
            }
            None => {
                sqlx::query(
                    "UPDATE services SET generation = $3, user_count = $4 \
                     WHERE id = $1 AND generation = $2",
                )
                .bind(ticket.customer.0)
                .bind(ticket.base_generation)
                .bind(ticket.generation)
                .bind(commit.user_count)
                .execute(&self.pool)
                .await
            }
        }
        .map_err(db_error)?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        match self.served_generation(*ticket.customer).await? {
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
               SELECT min(generation) FROM end_users WHERE customer_id = $1 \
               UNION ALL \
               SELECT (SELECT min(e.generation) FROM end_users e \
                       WHERE e.customer_id = $1 AND e.generation > g.generation) \
               FROM g WHERE g.generation IS NOT NULL) \
             SELECT generation FROM g WHERE generation IS NOT NULL",
        )
        .bind(id.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)
    }

    pub(crate) async fn discard_generation_impl(&self, id: CustomerId, generation: i64) -> StoreResult<()> {
        let served = self
            .served_generation(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("service {id}")))?;
        if generation == served {
            return Err(refuse_served(id, generation));
        }
        if generation < served {
            // Generations only grow, so an older one can never be served again: no lock needed.
            sqlx::query("DELETE FROM end_users WHERE customer_id = $1 AND generation = $2")
                .bind(id.0)
                .bind(generation)
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
            return Ok(());
        }
        // A newer generation could be committed concurrently: the share lock on the service
        // row makes a commit wait until the rows are gone, and the check sees the latest state.
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let served: Option<i64> = sqlx::query_scalar("SELECT generation FROM services WHERE id = $1 FOR SHARE")
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
        if served == Some(generation) {
            return Err(refuse_served(id, generation));
        }
        sqlx::query("DELETE FROM end_users WHERE customer_id = $1 AND generation = $2")
            .bind(id.0)
            .bind(generation)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)
    }

    async fn served_generation(&self, id: CustomerId) -> StoreResult<Option<i64>> {
        sqlx::query_scalar("SELECT generation FROM services WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)
    }
}

fn refuse_served(id: CustomerId, generation: i64) -> StoreError {
    StoreError::Conflict(format!("generation {generation} of service {id} is being served"))
}
