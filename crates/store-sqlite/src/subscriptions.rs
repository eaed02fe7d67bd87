//! Graph change-notification subscriptions (`store::SubscriptionStore`) on SQLite.

use async_trait::async_trait;
use domain::access::{Authorized, SystemScope, Unchecked, Write};
use domain::CustomerId;
use sqlx::sqlite::SqliteRow;
use store::{StoreResult, SubscriptionRecord, SubscriptionStore};

use crate::codec::{get, guid, micros, parse_guid, time};
use crate::connect::SqliteStore;
use crate::error::db_error;

const COLUMNS: &str =
    "customer_id, subscription_id, tenant_id, app_client_id, client_state_sealed, expires_at, created_at, updated_at";

fn from_row(row: &SqliteRow) -> StoreResult<SubscriptionRecord> {
    let customer: String = get(row, "customer_id")?;
    let tenant: String = get(row, "tenant_id")?;
    Ok(SubscriptionRecord {
        customer: CustomerId(parse_guid(&customer, "graph_subscriptions.customer_id")?),
        subscription_id: get(row, "subscription_id")?,
        tenant_id: parse_guid(&tenant, "graph_subscriptions.tenant_id")?,
        app_client_id: get(row, "app_client_id")?,
        client_state_sealed: get(row, "client_state_sealed")?,
        expires_at: time(get(row, "expires_at")?, "graph_subscriptions.expires_at")?,
        created_at: time(get(row, "created_at")?, "graph_subscriptions.created_at")?,
        updated_at: time(get(row, "updated_at")?, "graph_subscriptions.updated_at")?,
    })
}

#[async_trait]
impl SubscriptionStore for SqliteStore {
    async fn put_subscription(&self, record: &Authorized<SubscriptionRecord, Write>) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO graph_subscriptions ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             ON CONFLICT (customer_id) DO UPDATE SET subscription_id = excluded.subscription_id, \
             tenant_id = excluded.tenant_id, app_client_id = excluded.app_client_id, \
             client_state_sealed = excluded.client_state_sealed, expires_at = excluded.expires_at, \
             created_at = excluded.created_at, updated_at = excluded.updated_at"
        ))
        .bind(guid(record.customer.0))
        .bind(&record.subscription_id)
        .bind(guid(record.tenant_id))
        .bind(&record.app_client_id)
        .bind(record.client_state_sealed.as_slice())
        .bind(micros(record.expires_at))
        .bind(micros(record.created_at))
        .bind(micros(record.updated_at))
        .execute(&self.writer)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn subscription_by_id(&self, subscription_id: &str) -> StoreResult<Option<Unchecked<SubscriptionRecord>>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM graph_subscriptions WHERE subscription_id = ?1"
        ))
        .bind(subscription_id)
        .fetch_optional(&self.readers)
        .await
        .map_err(db_error)?;
        row.as_ref().map(from_row).transpose().map(|r| r.map(Unchecked::new))
    }

    async fn list_subscriptions(&self, _system: &SystemScope) -> StoreResult<Vec<SubscriptionRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM graph_subscriptions ORDER BY customer_id"
        ))
        .fetch_all(&self.readers)
        .await
        .map_err(db_error)?;
        rows.iter().map(from_row).collect()
    }

    async fn delete_subscription(
        &self,
        customer: &Authorized<CustomerId, Write>,
        subscription_id: &str,
    ) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM graph_subscriptions WHERE customer_id = ?1 AND subscription_id = ?2")
            .bind(guid(customer.0))
            .bind(subscription_id)
            .execute(&self.writer)
            .await
            .map_err(db_error)?;
        Ok(done.rows_affected() > 0)
    }
}
