//! End users as versions shared by generations (migration 0006): consistent page reads of the
//! served or a retained generation, the writer's reserve / append / commit / discard cycle, the
//! changes between two generations, number lookup, and reclaiming what no retained generation
//! still shows.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::access::{Authorized, SystemScope, Visibility, Write};
use domain::CustomerId;
use store::{
    ChunkStart, GenerationCommit, GenerationInfo, GenerationTicket, PageSlice, StoreError, StoreResult,
    UserFingerprint, UserRow, UserStore, VersionChanges,
};
use uuid::Uuid;

use crate::driver::{Access, Driver, Transaction};
use crate::param::{params, Param};
use crate::row::SqlRow;
use crate::services::{scope_params, sync_state_assignments, sync_state_params};
use crate::SqlStore;

/// `died` of a version that is still current.
pub const CURRENT: i64 = i64::MAX;

/// Identities per statement when a commit closes the versions it replaced.
const CLOSE_BATCH: usize = 1_000;
/// Chunk starts per INSERT statement (4 parameters each).
const CHUNK_BATCH: usize = 200;
/// Versions per batch of the one-time `line_digits` backfill.
const BACKFILL_BATCH: i64 = 1_000;

/// What a window reads of each version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WindowRows {
    /// Identity and body: what a page serves.
    Bodies,
    /// Whole rows (fingerprint and source too): what a writer merges into.
    Full,
}

impl WindowRows {
    fn columns(self) -> &'static str {
        match self {
            Self::Bodies => "v.identity, v.body",
            Self::Full => "v.identity, v.fingerprint, v.body, v.source",
        }
    }
}

/// A window of one generation in identity order, in one statement (hence one snapshot).
/// `generation` is a subquery yielding `generation` and `user_count` (the served generation from
/// the service row, or a committed one from `generations`); `columns` are the version columns
/// wanted. Parameters: $1 the customer, $2 the first ordinal, $3 the row limit, then whatever
/// `generation` binds.
///
/// The chunk index gives the ordinal and identity of a user at most one chunk before the
/// window; the covering index is walked from there, skipping the versions of other generations,
/// so a page costs the same at any depth. The outer query does not sort (that would copy the
/// page through a sorter); [`SqlStore::window`] puts the rows in identity order.
fn window_sql(generation: &str, columns: &str) -> String {
    format!(
        "WITH g AS ({generation}), \
         c AS (SELECT start_ordinal, first_identity FROM user_chunks \
               WHERE customer_id = $1 AND generation = (SELECT generation FROM g) AND start_ordinal <= $2 \
               ORDER BY start_ordinal DESC LIMIT 1) \
         SELECT g.generation AS generation, g.user_count AS user_count{outer} \
         FROM g LEFT JOIN ( \
           SELECT {columns} FROM user_versions AS v \
           WHERE v.customer_id = $1 AND v.identity >= (SELECT first_identity FROM c) \
             AND v.born <= (SELECT generation FROM g) AND v.died > (SELECT generation FROM g) \
           ORDER BY v.identity LIMIT $3 OFFSET COALESCE((SELECT $2 - start_ordinal FROM c), 0) \
         ) AS p ON 1 = 1",
        outer = columns
            .split(", ")
            .map(|c| format!(", p.{}", c.trim_start_matches("v.")))
            .collect::<String>(),
    )
}

/// Versions that appeared after generation $2 and are still there at $3.
const BORN_BETWEEN_SQL: &str = "SELECT identity, fingerprint FROM user_versions \
    WHERE customer_id = $1 AND born > $2 AND born <= $3 AND died > $3";
/// Versions generation $2 had that went by $3 (the `died` bound lets the partial index serve).
const CLOSED_BETWEEN_SQL: &str = "SELECT identity, fingerprint FROM user_versions \
    WHERE customer_id = $1 AND died > $2 AND died <= $3 AND died < 9223372036854775807 AND born <= $2";

/// The two statements of [`UserStore::version_changes`] with the index each must search (for
/// query-plan checks).
pub fn version_changes_sql() -> [(&'static str, &'static str); 2] {
    [
        (BORN_BETWEEN_SQL, "user_versions_born"),
        (CLOSED_BETWEEN_SQL, "user_versions_died"),
    ]
}

/// The statement that reads a page of the served generation (for query-plan checks).
pub fn served_page_sql() -> String {
    window_sql(SERVED, WindowRows::Bodies.columns())
}

/// The served generation: from the service row.
const SERVED: &str = "SELECT generation, user_count FROM services WHERE id = $1";
/// A committed generation ($4), while it is recorded.
const COMMITTED: &str = "SELECT generation, user_count FROM generations WHERE customer_id = $1 AND generation = $4";

const SERVED_GENERATION_SQL: &str = "SELECT generation FROM services WHERE id = $1";

fn fingerprint_row(row: &dyn SqlRow) -> StoreResult<UserFingerprint> {
    Ok(UserFingerprint {
        identity: row.get("identity")?,
        fingerprint: row.get("fingerprint")?,
    })
}

fn user_row(row: &dyn SqlRow, ordinal: i64) -> StoreResult<UserRow> {
    Ok(UserRow {
        ordinal,
        identity: row.get("identity")?,
        fingerprint: row.get("fingerprint")?,
        body: row.get("body")?,
        source: row.get("source")?,
    })
}

/// The digits of a rendered user's `LineURI` as stored in `line_digits`: `None` without a
/// `LineURI`, `Some("")` when it reads as no number. The body is the writer's own rendering, so
/// the value is found without parsing the JSON; an escaped quote in it reads as no number.
pub fn line_digits(body: &str) -> Option<String> {
    const KEY: &str = "\"LineURI\":\"";
    let start = body.find(KEY)? + KEY.len();
    let rest = &body[start..];
    let end = rest.find('"')?;
    let value = &rest[..end];
    if value.contains('\\') {
        return Some(String::new());
    }
    Some(
        domain::LineNumber::parse(value)
            .map(|n| n.digits().to_owned())
            .unwrap_or_default(),
    )
}

impl<D: Driver> SqlStore<D> {
    /// The served generation, as the writer sees it; `None` when the service does not exist.
    async fn served_generation(&self, id: CustomerId) -> StoreResult<Option<i64>> {
        let rows = self
            .driver
            .fetch(Access::Write, SERVED_GENERATION_SQL, &params![id], |row| {
                row.get("generation")
            })
            .await?;
        Ok(rows.into_iter().next())
    }

    /// Reads a window; `None` when the generation subquery found nothing (no such service, or
    /// the generation is not recorded).
    async fn window(
        &self,
        generation: &str,
        wanted: WindowRows,
        params: &[Param<'_>],
        first_ordinal: i64,
    ) -> StoreResult<Option<(i64, i64, Vec<UserRow>)>> {
        let sql = window_sql(generation, wanted.columns());
        let mut head = None;
        let rows = self
            .driver
            .fetch(Access::Read, &sql, params, |row| {
                if head.is_none() {
                    head = Some((row.get::<i64>("generation")?, row.get::<i64>("user_count")?));
                }
                let Some(body) = row.get::<Option<String>>("body")? else {
                    return Ok(None);
                };
                let found = match wanted {
                    WindowRows::Full => user_row(row, 0)?,
                    WindowRows::Bodies => UserRow {
                        ordinal: 0,
                        identity: row.get("identity")?,
                        fingerprint: 0,
                        body,
                        source: None,
                    },
                };
                Ok(Some(found))
            })
            .await?;
        let mut rows: Vec<UserRow> = rows.into_iter().flatten().collect();
        // SQL leaves the order of the joined rows open; they nearly always arrive sorted.
        if !rows.is_sorted_by_key(|row| row.identity) {
            rows.sort_unstable_by_key(|row| row.identity);
        }
        for (i, row) in rows.iter_mut().enumerate() {
            row.ordinal = first_ordinal + i as i64;
        }
        Ok(head.map(|(generation, count)| (generation, count, rows)))
    }

    /// Finishes work a migration left to code: the `line_digits` of versions carried over from
    /// before migration 0006. Runs once; later opens find nothing to do.
    pub async fn backfill(&self) -> StoreResult<()> {
        let pending: Vec<String> = self
            .driver
            .fetch(
                Access::Write,
                "SELECT name FROM store_backfills WHERE name = 'line_digits'",
                &[],
                |row| row.get("name"),
            )
            .await?;
        if pending.is_empty() {
            return Ok(());
        }
        let mut after: Option<(CustomerId, Uuid, i64)> = None;
        loop {
            let (customer, identity, born) = after.unwrap_or((CustomerId(Uuid::nil()), Uuid::nil(), i64::MIN));
            let rows = self
                .driver
                .fetch(
                    Access::Write,
                    "SELECT customer_id, identity, born, body FROM user_versions \
                     WHERE (customer_id > $1 OR (customer_id = $1 AND (identity > $2 OR (identity = $2 AND born > $3)))) \
                     ORDER BY customer_id, identity, born LIMIT $4",
                    &params![customer, identity, born, BACKFILL_BATCH],
                    |row| {
                        Ok((
                            CustomerId(row.get("customer_id")?),
                            row.get::<Uuid>("identity")?,
                            row.get::<i64>("born")?,
                            row.get::<String>("body")?,
                        ))
                    },
                )
                .await?;
            let Some(last) = rows.last() else { break };
            after = Some((last.0, last.1, last.2));
            let mut tx = self.driver.begin().await?;
            for (customer, identity, born, body) in &rows {
                if let Some(digits) = line_digits(body) {
                    tx.execute(
                        "UPDATE user_versions SET line_digits = $4 \
                         WHERE customer_id = $1 AND identity = $2 AND born = $3",
                        &params![*customer, *identity, *born, digits.as_str()],
                    )
                    .await?;
                }
            }
            tx.commit().await?;
        }
        self.driver
            .execute("DELETE FROM store_backfills WHERE name = 'line_digits'", &[])
            .await?;
        Ok(())
    }
}

#[async_trait]
impl<D: Driver> UserStore for SqlStore<D> {
    async fn read_page(
        &self,
        customer: &Authorized<CustomerId>,
        generation: Option<i64>,
        first_ordinal: i64,
        limit: i64,
    ) -> StoreResult<Option<PageSlice>> {
        let window = match generation {
            None => {
                self.window(
                    SERVED,
                    WindowRows::Bodies,
                    &params![**customer, first_ordinal, limit.max(0)],
                    first_ordinal,
                )
                .await?
            }
            Some(generation) => {
                self.window(
                    COMMITTED,
                    WindowRows::Bodies,
                    &params![**customer, first_ordinal, limit.max(0), generation],
                    first_ordinal,
                )
                .await?
            }
        };
        Ok(window.map(|(generation, total_records, rows)| PageSlice {
            generation,
            total_records,
            bodies: rows.into_iter().map(|row| row.body).collect(),
        }))
    }

    async fn generation_info(
        &self,
        customer: &Authorized<CustomerId>,
        generation: i64,
    ) -> StoreResult<Option<GenerationInfo>> {
        let rows = self
            .driver
            .fetch(
                Access::Read,
                "SELECT generation, user_count, committed_at, superseded_at FROM generations \
                 WHERE customer_id = $1 AND generation = $2",
                &params![**customer, generation],
                |row| {
                    Ok(GenerationInfo {
                        generation: row.get("generation")?,
                        user_count: row.get("user_count")?,
                        committed_at: row.get("committed_at")?,
                        superseded_at: row.get("superseded_at")?,
                    })
                },
            )
            .await?;
        Ok(rows.into_iter().next())
    }

    async fn begin_generation(&self, customer: &Authorized<CustomerId, Write>) -> StoreResult<GenerationTicket> {
        let id = **customer;
        let rows = self
            .driver
            .fetch(
                Access::Write,
                "UPDATE services SET next_generation = \
                   CASE WHEN next_generation > generation THEN next_generation ELSE generation END + 1 \
                 WHERE id = $1 RETURNING generation, next_generation",
                &params![id],
                |row| Ok((row.get("generation")?, row.get("next_generation")?)),
            )
            .await?;
        let (base_generation, generation) = rows
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::NotFound(format!("service {id}")))?;
        Ok(GenerationTicket {
            customer: *customer,
            base_generation,
            generation,
        })
    }

    async fn fingerprints(
        &self,
        customer: &Authorized<CustomerId>,
        generation: i64,
    ) -> StoreResult<Vec<UserFingerprint>> {
        // Only the covering index is read.
        Ok(self
            .driver
            .fetch(
                Access::Read,
                "SELECT identity, fingerprint FROM user_versions \
                 WHERE customer_id = $1 AND born <= $2 AND died > $2 ORDER BY identity",
                &params![**customer, generation],
                fingerprint_row,
            )
            .await?)
    }

    async fn fingerprints_of(
        &self,
        customer: &Authorized<CustomerId>,
        generation: i64,
        identities: &[Uuid],
    ) -> StoreResult<Vec<UserFingerprint>> {
        if identities.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT identity, fingerprint FROM user_versions \
             WHERE customer_id = $1 AND born <= $2 AND died > $2 AND {}",
            D::id_in("identity", "$3")
        );
        let mut found = self
            .driver
            .fetch(
                Access::Read,
                &sql,
                &[
                    Param::from(**customer),
                    Param::from(generation),
                    Param::from(identities),
                ],
                fingerprint_row,
            )
            .await?;
        // Sorted here: an ORDER BY could make the planner walk the customer's identity index
        // instead of looking each identity up.
        found.sort_unstable_by_key(|f| f.identity);
        Ok(found)
    }

    async fn chunk_starts(&self, customer: &Authorized<CustomerId>, generation: i64) -> StoreResult<Vec<ChunkStart>> {
        Ok(self
            .driver
            .fetch(
                Access::Read,
                "SELECT start_ordinal, first_identity FROM user_chunks \
                 WHERE customer_id = $1 AND generation = $2 ORDER BY start_ordinal",
                &params![**customer, generation],
                |row| {
                    Ok(ChunkStart {
                        start_ordinal: row.get("start_ordinal")?,
                        first_identity: row.get("first_identity")?,
                    })
                },
            )
            .await?)
    }

    async fn users_after(
        &self,
        customer: &Authorized<CustomerId>,
        generation: i64,
        after_ordinal: i64,
        limit: i64,
    ) -> StoreResult<Vec<UserRow>> {
        // Any generation a writer may read: committed or its own, so the generation is bound
        // directly instead of looked up.
        let first = after_ordinal.saturating_add(1);
        let window = self
            .window(
                "SELECT CAST($4 AS BIGINT) AS generation, CAST(0 AS BIGINT) AS user_count",
                WindowRows::Full,
                &params![**customer, first, limit.max(0), generation],
                first,
            )
            .await?;
        Ok(window.map(|(_, _, rows)| rows).unwrap_or_default())
    }

    async fn users_by_identity(
        &self,
        customer: &Authorized<CustomerId>,
        generation: i64,
        identities: &[Uuid],
    ) -> StoreResult<Vec<UserRow>> {
        if identities.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT identity, fingerprint, body, source FROM user_versions \
             WHERE customer_id = $1 AND born <= $2 AND died > $2 AND {} ORDER BY identity",
            D::id_in("identity", "$3")
        );
        // Ordinals are not known from a lookup by identity; 0 says so.
        Ok(self
            .driver
            .fetch(
                Access::Read,
                &sql,
                &[
                    Param::from(**customer),
                    Param::from(generation),
                    Param::from(identities),
                ],
                |row| user_row(row, 0),
            )
            .await?)
    }

    async fn users_with_line_digits(
        &self,
        visibility: &Visibility,
        digits: &str,
    ) -> StoreResult<Vec<(CustomerId, UserRow)>> {
        if digits.is_empty() {
            return Ok(Vec::new());
        }
        let (scope_channel, scope_customers) = scope_params(visibility);
        let sql = format!(
            "SELECT s.id, v.identity, v.fingerprint, v.body, v.source \
             FROM user_versions AS v JOIN services AS s ON s.id = v.customer_id \
             WHERE v.line_digits = $4 AND v.born <= s.generation AND v.died > s.generation \
               AND ($1 IS NULL OR s.channel_id = $1) AND ($2 IS NULL OR {}) \
               AND ($3 IS NULL OR s.channel_id = $3) \
             ORDER BY s.id, v.identity",
            D::id_in("s.id", "$2")
        );
        let params = params![
            scope_channel,
            scope_customers.as_deref(),
            visibility.channel_filter(),
            digits
        ];
        Ok(self
            .driver
            .fetch(Access::Read, &sql, &params, |row| {
                Ok((CustomerId(row.get("id")?), user_row(row, 0)?))
            })
            .await?)
    }

    async fn append_users(&self, ticket: &GenerationTicket, rows: &[UserRow]) -> StoreResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let id = *ticket.customer;
        if self.driver.insert_versions(id, ticket.generation, rows).await? {
            return Ok(());
        }
        Err(superseded(ticket))
    }

    async fn append_chunks(&self, ticket: &GenerationTicket, chunks: &[ChunkStart]) -> StoreResult<()> {
        let id = *ticket.customer;
        for batch in chunks.chunks(CHUNK_BATCH) {
            let values: Vec<String> = (0..batch.len())
                .map(|i| format!("($1, $2, ${}, ${})", 3 + 2 * i, 4 + 2 * i))
                .collect();
            let sql = format!(
                "INSERT INTO user_chunks (customer_id, generation, start_ordinal, first_identity) VALUES {}",
                values.join(", ")
            );
            let mut params = vec![Param::from(id), Param::from(ticket.generation)];
            for chunk in batch {
                params.push(Param::from(chunk.start_ordinal));
                params.push(Param::from(chunk.first_identity));
            }
            self.driver.execute(&sql, &params).await?;
        }
        Ok(())
    }

    async fn commit_generation(&self, ticket: &GenerationTicket, commit: &GenerationCommit) -> StoreResult<()> {
        // One transaction: the compare-and-set on the served generation, the new count, the
        // replication state, the cleanup of writers that lost, the closing of replaced versions
        // and the generation record land together or not at all.
        let id = *ticket.customer;
        let (base, generation) = (ticket.base_generation, ticket.generation);
        let mut params = vec![
            Param::from(id),
            Param::from(base),
            Param::from(generation),
            Param::from(commit.user_count),
        ];
        let sync = match &commit.sync {
            Some(state) => {
                params.extend(sync_state_params(state));
                format!(", {}", sync_state_assignments(5))
            }
            // Users that did not come from Graph (an import) replaced the synced ones: a delta
            // round must not merge into them, the next sync is a full round.
            None => ", sync_delta_link = NULL".to_string(),
        };
        let mut tx = self.driver.begin().await?;
        let sql =
            format!("UPDATE services SET generation = $3, user_count = $4{sync} WHERE id = $1 AND generation = $2");
        if tx.execute(&sql, &params).await? != 1 {
            drop(tx);
            return match self.served_generation(id).await? {
                None => Err(StoreError::NotFound(format!("service {id}"))),
                Some(served) => Err(StoreError::Conflict(format!(
                    "generation {generation} of service {id} was based on generation {base}, but generation \
                     {served} has been committed since"
                ))),
            };
        }
        // Writers that reserved a generation between the base and this one can never commit
        // (their base is gone) and can no longer append (see `insert_versions`): their rows go.
        tx.execute(
            "DELETE FROM user_versions WHERE customer_id = $1 AND born > $2 AND born < $3",
            &params![id, base, generation],
        )
        .await?;
        tx.execute(
            "DELETE FROM user_chunks WHERE customer_id = $1 AND generation > $2 AND generation < $3",
            &params![id, base, generation],
        )
        .await?;
        let close = format!(
            "UPDATE user_versions SET died = $2 \
             WHERE customer_id = $1 AND died = {CURRENT} AND born < $2 AND {}",
            D::id_in("identity", "$3")
        );
        for batch in commit.closed.chunks(CLOSE_BATCH) {
            tx.execute(&close, &[Param::from(id), Param::from(generation), Param::from(batch)])
                .await?;
        }
        tx.execute(
            "UPDATE generations SET superseded_at = $3 WHERE customer_id = $1 AND generation = $2",
            &params![id, base, commit.committed_at],
        )
        .await?;
        tx.execute(
            "INSERT INTO generations (customer_id, generation, user_count, committed_at) VALUES ($1, $2, $3, $4)",
            &params![id, generation, commit.user_count, commit.committed_at],
        )
        .await?;
        Ok(tx.commit().await?)
    }

    async fn discard_generation(&self, customer: &Authorized<CustomerId, Write>, generation: i64) -> StoreResult<()> {
        let id = **customer;
        // A write transaction in which the served generation cannot change (SQLite's write
        // lock; PostgreSQL's share lock on the service row makes a commit wait).
        let mut tx = self.driver.begin().await?;
        let sql = format!("{SERVED_GENERATION_SQL}{}", D::FOR_SHARE);
        let served: Vec<i64> = tx.fetch(&sql, &params![id], |row| row.get("generation")).await?;
        let Some(served) = served.first().copied() else {
            return Err(StoreError::NotFound(format!("service {id}")));
        };
        if generation == served {
            return Err(refuse_served(id, generation));
        }
        let committed: Vec<i64> = tx
            .fetch(
                "SELECT generation FROM generations WHERE customer_id = $1 AND generation = $2",
                &params![id, generation],
                |row| row.get("generation"),
            )
            .await?;
        if !committed.is_empty() {
            // A superseded generation shares its versions with newer ones; it goes when its
            // retention ends (`reclaim_generations`).
            return Ok(tx.commit().await?);
        }
        tx.execute(
            "DELETE FROM user_versions WHERE customer_id = $1 AND born = $2",
            &params![id, generation],
        )
        .await?;
        tx.execute(
            "DELETE FROM user_chunks WHERE customer_id = $1 AND generation = $2",
            &params![id, generation],
        )
        .await?;
        Ok(tx.commit().await?)
    }

    async fn stored_generations(&self, customer: &Authorized<CustomerId>) -> StoreResult<Vec<i64>> {
        // Committed generations still recorded, and whatever writers left above the served one.
        let mut generations: Vec<i64> = self
            .driver
            .fetch(
                Access::Read,
                "SELECT generation FROM generations WHERE customer_id = $1 \
                 UNION SELECT born AS generation FROM user_versions \
                   WHERE customer_id = $1 AND born > (SELECT generation FROM services WHERE id = $1) \
                 UNION SELECT generation FROM user_chunks \
                   WHERE customer_id = $1 AND generation > (SELECT generation FROM services WHERE id = $1)",
                &params![**customer],
                |row| row.get("generation"),
            )
            .await?;
        generations.sort_unstable();
        generations.dedup();
        Ok(generations)
    }

    async fn version_changes(
        &self,
        customer: &Authorized<CustomerId>,
        from: i64,
        to: i64,
    ) -> StoreResult<VersionChanges> {
        // Versions that appeared after `from` and are still there at `to`, and versions that
        // `from` had and that went before `to`: both found through their own index, so the cost
        // follows the change, not the customer's size.
        let born = self
            .driver
            .fetch(
                Access::Read,
                BORN_BETWEEN_SQL,
                &params![**customer, from, to],
                fingerprint_row,
            )
            .await?;
        let closed = self
            .driver
            .fetch(
                Access::Read,
                CLOSED_BETWEEN_SQL,
                &params![**customer, from, to],
                fingerprint_row,
            )
            .await?;
        // Sorted here, not in SQL: an ORDER BY identity makes SQLite prefer walking the whole
        // customer in the identity index over the range of the born/died index.
        let (mut born, mut closed) = (born, closed);
        born.sort_unstable_by_key(|v: &UserFingerprint| v.identity);
        closed.sort_unstable_by_key(|v: &UserFingerprint| v.identity);
        Ok(VersionChanges { born, closed })
    }

    async fn reclaim_generations(&self, _system: &SystemScope, superseded_before: DateTime<Utc>) -> StoreResult<u64> {
        let customers: Vec<CustomerId> = self
            .driver
            .fetch(
                Access::Write,
                "SELECT DISTINCT customer_id FROM generations WHERE superseded_at < $1",
                &params![superseded_before],
                |row| Ok(CustomerId(row.get("customer_id")?)),
            )
            .await?;
        let mut reclaimed = 0;
        for id in customers {
            // One transaction per customer: a reader sees a generation with all its versions,
            // or not at all.
            let mut tx = self.driver.begin().await?;
            reclaimed += tx
                .execute(
                    "DELETE FROM generations WHERE customer_id = $1 AND superseded_at < $2",
                    &params![id, superseded_before],
                )
                .await?;
            let oldest: Vec<Option<i64>> = tx
                .fetch(
                    "SELECT min(generation) AS generation FROM generations WHERE customer_id = $1",
                    &params![id],
                    |row| row.get("generation"),
                )
                .await?;
            if let Some(Some(oldest)) = oldest.first() {
                tx.execute(
                    "DELETE FROM user_versions WHERE customer_id = $1 AND died <= $2",
                    &params![id, *oldest],
                )
                .await?;
                tx.execute(
                    "DELETE FROM user_chunks WHERE customer_id = $1 AND generation < $2",
                    &params![id, *oldest],
                )
                .await?;
            }
            tx.commit().await?;
        }
        Ok(reclaimed)
    }
}

fn refuse_served(id: CustomerId, generation: i64) -> StoreError {
    StoreError::Conflict(format!("generation {generation} of service {id} is being served"))
}

fn superseded(ticket: &GenerationTicket) -> StoreError {
    StoreError::Conflict(format!(
        "generation {} of service {} can no longer be committed: a newer generation has been committed",
        ticket.generation, *ticket.customer
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_digits_are_read_from_the_rendered_body() {
        assert_eq!(
            line_digits(r#"{"Identity":"x","LineURI":"tel:+1 425-555.0123;ext=5","HostingProvider":null}"#),
            Some("14255550123".into())
        );
        assert_eq!(line_digits(r#"{"LineURI":null}"#), None);
        assert_eq!(line_digits(r#"{"LineURI":"not a number"}"#), Some(String::new()));
        assert_eq!(line_digits(r#"{"LineURI":"tel:\"1"}"#), Some(String::new()));
    }

    #[test]
    fn a_window_selects_its_columns_outside_too() {
        let sql = window_sql(SERVED, WindowRows::Bodies.columns());
        assert!(
            sql.contains("g.user_count AS user_count, p.identity, p.body FROM g"),
            "{sql}"
        );
    }
}
