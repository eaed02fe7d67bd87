//! End users by generation: consistent page reads, the writer's reserve / append / commit /
//! discard cycle, and the keyset scans used for diffs and exports.

use async_trait::async_trait;
use domain::access::{Authorized, Visibility, Write};
use domain::CustomerId;
use store::{
    GenerationCommit, GenerationTicket, PageSlice, StoreError, StoreResult, UserFingerprint, UserRow, UserStore,
};

use crate::driver::{Access, Driver, Transaction};
use crate::param::{params, Param};
use crate::services::{scope_params, sync_state_assignments, sync_state_params};
use crate::SqlStore;

/// A page of the served generation with its generation and total: one statement, one snapshot.
/// Parameters: the customer, the first and the last ordinal.
pub const READ_PAGE_SQL: &str = "SELECT s.generation, s.user_count, u.body \
    FROM services AS s \
    LEFT JOIN end_users AS u \
      ON u.customer_id = s.id AND u.generation = s.generation \
     AND u.ordinal BETWEEN $2 AND $3 \
    WHERE s.id = $1 \
    ORDER BY u.ordinal";

const SERVED_GENERATION_SQL: &str = "SELECT generation FROM services WHERE id = $1";

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
}

#[async_trait]
impl<D: Driver> UserStore for SqlStore<D> {
    async fn read_page(
        &self,
        customer: &Authorized<CustomerId>,
        first_ordinal: i64,
        limit: i64,
    ) -> StoreResult<Option<PageSlice>> {
        // One statement, hence one read snapshot: the generation, the total and the rows
        // always belong together even while a writer commits.
        let last_ordinal = first_ordinal.saturating_add(limit.saturating_sub(1));
        let mut head = None;
        let bodies = self
            .driver
            .fetch(
                Access::Read,
                READ_PAGE_SQL,
                &params![**customer, first_ordinal, last_ordinal],
                |row| {
                    if head.is_none() {
                        head = Some((row.get::<i64>("generation")?, row.get::<i64>("user_count")?));
                    }
                    row.get::<Option<String>>("body")
                },
            )
            .await?;
        Ok(head.map(|(generation, total_records)| PageSlice {
            generation,
            total_records,
            bodies: bodies.into_iter().flatten().collect(),
        }))
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
        // Ordinals are dense in identity order, so the primary key yields identity order.
        Ok(self
            .driver
            .fetch(
                Access::Read,
                "SELECT identity, fingerprint FROM end_users \
                 WHERE customer_id = $1 AND generation = $2 ORDER BY ordinal",
                &params![**customer, generation],
                |row| {
                    Ok(UserFingerprint {
                        identity: row.get("identity")?,
                        fingerprint: row.get("fingerprint")?,
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
        Ok(self
            .driver
            .fetch(
                Access::Read,
                "SELECT ordinal, identity, fingerprint, body, source FROM end_users \
                 WHERE customer_id = $1 AND generation = $2 AND ordinal > $3 \
                 ORDER BY ordinal LIMIT $4",
                &params![**customer, generation, after_ordinal, limit.max(0)],
                |row| {
                    Ok(UserRow {
                        ordinal: row.get("ordinal")?,
                        identity: row.get("identity")?,
                        fingerprint: row.get("fingerprint")?,
                        body: row.get("body")?,
                        source: row.get("source")?,
                    })
                },
            )
            .await?)
    }

    async fn users_by_identity(
        &self,
        customer: &Authorized<CustomerId>,
        generation: i64,
        identities: &[uuid::Uuid],
    ) -> StoreResult<Vec<UserRow>> {
        if identities.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT ordinal, identity, fingerprint, body, source FROM end_users \
             WHERE customer_id = $1 AND generation = $2 AND {} ORDER BY ordinal",
            D::id_in("identity", "$3")
        );
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
                |row| {
                    Ok(UserRow {
                        ordinal: row.get("ordinal")?,
                        identity: row.get("identity")?,
                        fingerprint: row.get("fingerprint")?,
                        body: row.get("body")?,
                        source: row.get("source")?,
                    })
                },
            )
            .await?)
    }

    async fn users_with_line_digits(
        &self,
        visibility: &Visibility,
        digits: &str,
    ) -> StoreResult<Vec<(CustomerId, UserRow)>> {
        let (scope_channel, scope_customers) = scope_params(visibility);
        let sql = format!(
            "SELECT s.id, u.ordinal, u.identity, u.fingerprint, u.body, u.source \
             FROM services AS s JOIN end_users AS u ON u.customer_id = s.id AND u.generation = s.generation \
             WHERE ($1 IS NULL OR s.channel_id = $1) AND ($2 IS NULL OR {}) \
               AND ($3 IS NULL OR s.channel_id = $3) AND u.body LIKE $4 \
             ORDER BY s.id, u.ordinal",
            D::id_in("s.id", "$2")
        );
        // Users without a number render `"LineURI":null`; the digits are compared below, as
        // a stored LineURI may separate them.
        let pattern = "%\"LineURI\":\"%";
        let params = params![
            scope_channel,
            scope_customers.as_deref(),
            visibility.channel_filter(),
            pattern
        ];
        let rows = self
            .driver
            .fetch(Access::Read, &sql, &params, |row| {
                Ok((
                    CustomerId(row.get("id")?),
                    UserRow {
                        ordinal: row.get("ordinal")?,
                        identity: row.get("identity")?,
                        fingerprint: row.get("fingerprint")?,
                        body: row.get("body")?,
                        source: row.get("source")?,
                    },
                ))
            })
            .await?;
        Ok(rows
            .into_iter()
            .filter(|(_, row)| line_digits_of(&row.body).as_deref() == Some(digits))
            .collect())
    }

    async fn append_users(&self, ticket: &GenerationTicket, rows: &[UserRow]) -> StoreResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        Ok(self
            .driver
            .insert_users(*ticket.customer, ticket.generation, rows)
            .await?)
    }

    async fn commit_generation(&self, ticket: &GenerationTicket, commit: &GenerationCommit) -> StoreResult<()> {
        // A single UPDATE is its own transaction: the compare-and-set on the served generation,
        // the new count and the replication state land together or not at all.
        let id = *ticket.customer;
        let mut params = vec![
            Param::from(id),
            Param::from(ticket.base_generation),
            Param::from(ticket.generation),
            Param::from(commit.user_count),
        ];
        let sync = match &commit.sync {
            Some(state) => {
                params.extend(sync_state_params(state));
                format!(", {}", sync_state_assignments(5))
            }
            None => String::new(),
        };
        let sql =
            format!("UPDATE services SET generation = $3, user_count = $4{sync} WHERE id = $1 AND generation = $2");
        if self.driver.execute(&sql, &params).await? == 1 {
            return Ok(());
        }
        match self.served_generation(id).await? {
            None => Err(StoreError::NotFound(format!("service {id}"))),
            Some(served) => Err(StoreError::Conflict(format!(
                "generation {} of service {id} was based on generation {}, but generation {served} \
                 has been committed since",
                ticket.generation, ticket.base_generation
            ))),
        }
    }

    async fn discard_generation(&self, customer: &Authorized<CustomerId, Write>, generation: i64) -> StoreResult<()> {
        let id = **customer;
        let served = self
            .served_generation(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("service {id}")))?;
        if generation == served {
            return Err(refuse_served(id, generation));
        }
        if generation < served {
            // Generations only grow, so an older one can never be served again: no lock needed.
            return Ok(self.driver.delete_old_generation(id, generation).await?);
        }
        // A newer generation could be committed concurrently: check and delete in one write
        // transaction, in which the served generation cannot change (SQLite's write lock;
        // PostgreSQL's share lock on the service row makes a commit wait until the rows are gone).
        let mut tx = self.driver.begin().await?;
        let sql = format!("{SERVED_GENERATION_SQL}{}", D::FOR_SHARE);
        let served: Vec<i64> = tx.fetch(&sql, &params![id], |row| row.get("generation")).await?;
        if served.first() == Some(&generation) {
            return Err(refuse_served(id, generation));
        }
        tx.execute(
            "DELETE FROM end_users WHERE customer_id = $1 AND generation = $2",
            &params![id, generation],
        )
        .await?;
        Ok(tx.commit().await?)
    }

    async fn stored_generations(&self, customer: &Authorized<CustomerId>) -> StoreResult<Vec<i64>> {
        // A skip scan over the primary key: one index probe per distinct generation, however
        // many rows each holds.
        Ok(self
            .driver
            .fetch(
                Access::Read,
                "WITH RECURSIVE g(generation) AS ( \
                   SELECT min(generation) FROM end_users WHERE customer_id = $1 \
                   UNION ALL \
                   SELECT (SELECT min(e.generation) FROM end_users e \
                           WHERE e.customer_id = $1 AND e.generation > g.generation) \
                   FROM g WHERE g.generation IS NOT NULL) \
                 SELECT generation FROM g WHERE generation IS NOT NULL",
                &params![**customer],
                |row| row.get("generation"),
            )
            .await?)
    }
}

/// The digits of a rendered user's `LineURI`, if it has a readable one.
fn line_digits_of(body: &str) -> Option<String> {
    let user: domain::EndUser = serde_json::from_str(body).ok()?;
    domain::LineNumber::parse(user.line_uri.as_deref()?).map(|n| n.digits().to_owned())
}

fn refuse_served(id: CustomerId, generation: i64) -> StoreError {
    StoreError::Conflict(format!("generation {generation} of service {id} is being served"))
}
