//! Sync work claiming: which connected services are due, and short leases on them. Safe with
//! several server processes on one database.

use chrono::{DateTime, Utc};
use domain::CustomerId;
use store::{StoreError, StoreResult};
use uuid::Uuid;

use crate::connect::PgStore;
use crate::error::db_error;

impl PgStore {
    pub(crate) async fn claim_due_sync_impl(
        &self,
        now: DateTime<Utc>,
        owner: &str,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<Option<CustomerId>> {
        // SKIP LOCKED lets concurrent claimers pass over a row another one is taking, and the
        // row lock re-checks the conditions on the latest version of the row.
        let id: Option<Uuid> = sqlx::query_scalar(
            "UPDATE services SET sync_lease_owner = $2, sync_lease_until = $3 \
             WHERE id = ( \
               SELECT id FROM services \
               WHERE license_type IN (1, 2, 4, 5) \
                 AND tenant_id IS NOT NULL \
                 AND app_client_id IS NOT NULL AND app_client_id <> '' \
                 AND app_client_secret_sealed IS NOT NULL \
                 AND (sync_next_sync_at IS NULL OR sync_next_sync_at <= $1) \
                 AND (sync_lease_until IS NULL OR sync_lease_until < $1) \
               ORDER BY sync_next_sync_at ASC NULLS FIRST, id \
               LIMIT 1 \
               FOR UPDATE SKIP LOCKED) \
             RETURNING id",
        )
        .bind(now)
        .bind(owner)
        .bind(lease_until)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(id.map(CustomerId))
    }

    pub(crate) async fn lease_sync_impl(
        &self,
        id: CustomerId,
        now: DateTime<Utc>,
        owner: &str,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE services SET sync_lease_owner = $3, sync_lease_until = $4 \
             WHERE id = $1 AND (sync_lease_until IS NULL OR sync_lease_until < $2 \
                                OR sync_lease_owner = $3)",
        )
        .bind(id.0)
        .bind(now)
        .bind(owner)
        .bind(lease_until)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        if done.rows_affected() == 1 {
            return Ok(true);
        }
        let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM services WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        match exists {
            Some(_) => Ok(false),
            None => Err(StoreError::NotFound(format!("service {id}"))),
        }
    }

    pub(crate) async fn release_sync_impl(&self, id: CustomerId, owner: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE services SET sync_lease_owner = NULL, sync_lease_until = NULL \
             WHERE id = $1 AND sync_lease_owner = $2",
        )
        .bind(id.0)
        .bind(owner)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }
}
