//! Graph change-notification subscriptions (`store::SubscriptionStore`, issue 9): one per
//! customer, found by Graph's subscription id when a notification arrives.

use async_trait::async_trait;
use domain::access::{Authorized, SystemScope, Unchecked, Write};
use domain::CustomerId;
use store::{StoreResult, SubscriptionRecord, SubscriptionStore};

use crate::driver::{Access, Driver};
use crate::param::params;
use crate::row::SqlRow;
use crate::SqlStore;

const COLUMNS: &str =
    "customer_id, subscription_id, tenant_id, app_client_id, client_state_sealed, expires_at, created_at, updated_at";

fn from_row(row: &dyn SqlRow) -> StoreResult<SubscriptionRecord> {
    Ok(SubscriptionRecord {
        customer: CustomerId(row.get("customer_id")?),
        subscription_id: row.get("subscription_id")?,
        tenant_id: row.get("tenant_id")?,
        app_client_id: row.get("app_client_id")?,
        client_state_sealed: row.get("client_state_sealed")?,
        expires_at: row.get("expires_at")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

#[async_trait]
impl<D: Driver> SubscriptionStore for SqlStore<D> {
    async fn put_subscription(&self, record: &Authorized<SubscriptionRecord, Write>) -> StoreResult<()> {
        let params = params![
            record.customer,
            &record.subscription_id,
            record.tenant_id,
            &record.app_client_id,
            record.client_state_sealed.as_slice(),
            record.expires_at,
            record.created_at,
            record.updated_at,
        ];
        let sql = format!(
            "INSERT INTO graph_subscriptions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (customer_id) DO UPDATE SET subscription_id = excluded.subscription_id, \
             tenant_id = excluded.tenant_id, app_client_id = excluded.app_client_id, \
             client_state_sealed = excluded.client_state_sealed, expires_at = excluded.expires_at, \
             created_at = excluded.created_at, updated_at = excluded.updated_at"
        );
        self.driver.execute(&sql, &params).await?;
        Ok(())
    }

    async fn subscription_by_id(&self, subscription_id: &str) -> StoreResult<Option<Unchecked<SubscriptionRecord>>> {
        let sql = format!("SELECT {COLUMNS} FROM graph_subscriptions WHERE subscription_id = $1");
        let rows = self
            .driver
            .fetch(Access::Read, &sql, &params![subscription_id], from_row)
            .await?;
        Ok(rows.into_iter().next().map(Unchecked::new))
    }

    async fn list_subscriptions(&self, _system: &SystemScope) -> StoreResult<Vec<SubscriptionRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM graph_subscriptions ORDER BY customer_id");
        Ok(self.driver.fetch(Access::Read, &sql, &[], from_row).await?)
    }

    async fn delete_subscription(
        &self,
        customer: &Authorized<CustomerId, Write>,
        subscription_id: &str,
    ) -> StoreResult<bool> {
        let done = self
            .driver
            .execute(
                "DELETE FROM graph_subscriptions WHERE customer_id = $1 AND subscription_id = $2",
                &params![**customer, subscription_id],
            )
            .await?;
        Ok(done > 0)
    }
}
