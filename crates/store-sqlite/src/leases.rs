//! Sync work claiming: which connected services are due, and short leases on them.
//!
//! SQLite serves one process, and every statement here is a single atomic UPDATE on the one
//! writer connection, so claims cannot overlap.

use chrono::{DateTime, Utc};
use domain::CustomerId;
use store::{StoreError, StoreResult};

use crate::codec::{guid, micros, parse_guid};
use crate::connect::SqliteStore;
use crate::error::db_error;

impl SqliteStore {
    pub(crate) async fn claim_due_sync_impl(
        &self,
        now: DateTime<Utc>,
        owner: &str,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<Option<CustomerId>> {
        let id: Option<String> = sqlx::query_scalar(
            "UPDATE services SET sync_lease_owner = ?2, sync_lease_until = ?3 \
             WHERE id = ( \
               SELECT id FROM services \
               WHERE license_type IN (1, 2, 4, 5) \
                 AND tenant_id IS NOT NULL \
                 AND app_client_id IS NOT NULL AND app_client_id <> '' \
                 AND app_client_secret_sealed IS NOT NULL \
                 AND (sync_next_sync_at IS NULL OR sync_next_sync_at <= ?1) \
                 AND (sync_lease_until IS NULL OR sync_lease_until < ?1) \
               ORDER BY sync_next_sync_at IS NOT NULL, sync_next_sync_at, id \
               LIMIT 1) \
             RETURNING id",
        )
        .bind(micros(now))
        .bind(owner)
        .bind(micros(lease_until))
        .fetch_optional(&self.writer)
        .await
        .map_err(db_error)?;
        id.map(|id| parse_guid(&id, "services.id").map(CustomerId)).transpose()
    }

    pub(crate) async fn lease_sync_impl(
        &self,
        id: CustomerId,
        now: DateTime<Utc>,
        owner: &str,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let customer = guid(id.0);
        let done = sqlx::query(
            "UPDATE services SET sync_lease_owner = ?3, sync_lease_until = ?4 \
             WHERE id = ?1 AND (sync_lease_until IS NULL OR sync_lease_until < ?2 \
                                OR sync_lease_owner = ?3)",
        )
        .bind(&customer)
        .bind(micros(now))
        .bind(owner)
        .bind(micros(lease_until))
        .execute(&self.writer)
        .await
        .map_err(db_error)?;
        if done.rows_affected() == 1 {
            return Ok(true);
        }
        let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM services WHERE id = ?1")
            .bind(&customer)
            .fetch_optional(&self.writer)
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
             WHERE id = ?1 AND sync_lease_owner = ?2",
        )
        .bind(guid(id.0))
        .bind(owner)
        .execute(&self.writer)
        .await
        .map_err(db_error)?;
        Ok(())
    }
}
