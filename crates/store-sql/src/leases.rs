//! Sync work claiming: which connected services are due, and short leases on them. Safe with
//! several server processes on one database where the backend allows them (PostgreSQL's
//! `SKIP LOCKED`); SQLite serves one process, whose single writer connection runs each of these
//! single-statement updates atomically.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::access::{Authorized, Write};
use domain::CustomerId;
use store::{LeaseStore, StoreError, StoreResult};

use crate::driver::{Access, Driver};
use crate::param::params;
use crate::SqlStore;

#[async_trait]
impl<D: Driver> LeaseStore for SqlStore<D> {
    async fn claim_due_sync(
        &self,
        now: DateTime<Utc>,
        owner: &str,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<Option<CustomerId>> {
        // Services never synced come first, then by due time. Where claimers run concurrently,
        // SKIP LOCKED lets them pass over a row another one is taking, and the row lock
        // re-checks the conditions on the latest version of the row.
        let sql = format!(
            "UPDATE services SET sync_lease_owner = $2, sync_lease_until = $3 \
             WHERE id = ( \
               SELECT id FROM services \
               WHERE license_type IN (1, 2, 4, 5) \
                 AND tenant_id IS NOT NULL \
                 AND app_client_id IS NOT NULL AND app_client_id <> '' \
                 AND app_client_secret_sealed IS NOT NULL \
                 AND (sync_next_sync_at IS NULL OR sync_next_sync_at <= $1) \
                 AND (sync_lease_until IS NULL OR sync_lease_until < $1) \
               ORDER BY sync_next_sync_at IS NOT NULL, sync_next_sync_at, id \
               LIMIT 1{}) \
             RETURNING id",
            D::SKIP_LOCKED
        );
        let ids = self
            .driver
            .fetch(Access::Write, &sql, &params![now, owner, lease_until], |row| {
                row.get("id")
            })
            .await?;
        Ok(ids.into_iter().next().map(CustomerId))
    }

    async fn lease_sync(
        &self,
        customer: &Authorized<CustomerId, Write>,
        now: DateTime<Utc>,
        owner: &str,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let id = **customer;
        let done = self
            .driver
            .execute(
                "UPDATE services SET sync_lease_owner = $3, sync_lease_until = $4 \
                 WHERE id = $1 AND (sync_lease_until IS NULL OR sync_lease_until < $2 \
                                    OR sync_lease_owner = $3)",
                &params![id, now, owner, lease_until],
            )
            .await?;
        if done == 1 {
            return Ok(true);
        }
        let exists = self
            .driver
            .fetch(
                Access::Write,
                "SELECT 1 FROM services WHERE id = $1",
                &params![id],
                |_| Ok(()),
            )
            .await?;
        match exists.is_empty() {
            false => Ok(false),
            true => Err(StoreError::NotFound(format!("service {id}"))),
        }
    }

    async fn release_sync(&self, customer: &Authorized<CustomerId, Write>, owner: &str) -> StoreResult<()> {
        self.driver
            .execute(
                "UPDATE services SET sync_lease_owner = NULL, sync_lease_until = NULL \
                 WHERE id = $1 AND sync_lease_owner = $2",
                &params![**customer, owner],
            )
            .await?;
        Ok(())
    }
}
