//! The `Store` trait for `PgStore`, delegating to the table modules.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::access::Visibility;
use domain::{ClientId, CustomerId, NewService, Service, ServicePatch, SyncState};
use store::{
    ApiClientRecord, AuditEvent, GenerationCommit, GenerationTicket, PageSlice, SigningKeyRecord, Store, StoreResult,
    TaskRecord, UserFingerprint, UserRow,
};

use crate::connect::PgStore;
use crate::error::db_error;

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(db_error)?;
        Ok(())
    }

    async fn create_service(&self, new: &NewService) -> StoreResult<Service> {
        self.create_service_impl(new).await
    }

    async fn get_service(&self, id: CustomerId) -> StoreResult<Option<Service>> {
        self.get_service_impl(id).await
    }

    async fn list_services(&self, visibility: &Visibility) -> StoreResult<Vec<Service>> {
        self.list_services_impl(visibility).await
    }

    async fn update_service(&self, id: CustomerId, patch: &ServicePatch) -> StoreResult<Service> {
        self.update_service_impl(id, patch).await
    }

    async fn update_sync_state(&self, id: CustomerId, state: &SyncState) -> StoreResult<()> {
        self.update_sync_state_impl(id, state).await
    }

    async fn read_page(&self, id: CustomerId, first_ordinal: i64, limit: i64) -> StoreResult<Option<PageSlice>> {
        self.read_page_impl(id, first_ordinal, limit).await
    }

    async fn begin_generation(&self, id: CustomerId) -> StoreResult<GenerationTicket> {
        self.begin_generation_impl(id).await
    }

    async fn fingerprints(&self, id: CustomerId, generation: i64) -> StoreResult<Vec<UserFingerprint>> {
        self.fingerprints_impl(id, generation).await
    }

    async fn users_after(
        &self,
        id: CustomerId,
        generation: i64,
        after_ordinal: i64,
        limit: i64,
    ) -> StoreResult<Vec<UserRow>> {
        self.users_after_impl(id, generation, after_ordinal, limit).await
    }

    async fn append_users(&self, ticket: &GenerationTicket, rows: &[UserRow]) -> StoreResult<()> {
        self.append_users_impl(ticket, rows).await
    }

    async fn commit_generation(&self, ticket: &GenerationTicket, commit: &GenerationCommit) -> StoreResult<()> {
        self.commit_generation_impl(ticket, commit).await
    }

    async fn discard_generation(&self, id: CustomerId, generation: i64) -> StoreResult<()> {
        self.discard_generation_impl(id, generation).await
    }

    async fn stored_generations(&self, id: CustomerId) -> StoreResult<Vec<i64>> {
        self.stored_generations_impl(id).await
    }

    async fn create_client(&self, client: &ApiClientRecord) -> StoreResult<()> {
        self.create_client_impl(client).await
    }

    async fn get_client(&self, id: ClientId) -> StoreResult<Option<ApiClientRecord>> {
        self.get_client_impl(id).await
    }

    async fn list_clients(&self) -> StoreResult<Vec<ApiClientRecord>> {
        self.list_clients_impl().await
    }

    async fn revoke_client(&self, id: ClientId, at: DateTime<Utc>) -> StoreResult<()> {
        self.revoke_client_impl(id, at).await
    }

    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        self.signing_keys_impl().await
    }

    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()> {
        self.insert_signing_key_impl(key).await
    }

    async fn create_task(&self, task: &TaskRecord) -> StoreResult<()> {
        self.create_task_impl(task).await
    }

    async fn update_task(&self, task: &TaskRecord) -> StoreResult<()> {
        self.update_task_impl(task).await
    }

    async fn get_task(&self, id: &str) -> StoreResult<Option<TaskRecord>> {
        self.get_task_impl(id).await
    }

    async fn list_tasks(&self) -> StoreResult<Vec<TaskRecord>> {
        self.list_tasks_impl().await
    }

    async fn prune_tasks(&self, kind: &str, completed_before: DateTime<Utc>) -> StoreResult<u64> {
        self.prune_tasks_impl(kind, completed_before).await
    }

    async fn record_audit(&self, event: &AuditEvent) -> StoreResult<()> {
        self.record_audit_impl(event).await
    }

    async fn list_audit_events(&self) -> StoreResult<Vec<AuditEvent>> {
        self.list_audit_events_impl().await
    }

    async fn claim_due_sync(
        &self,
        now: DateTime<Utc>,
        owner: &str,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<Option<CustomerId>> {
        self.claim_due_sync_impl(now, owner, lease_until).await
    }

    async fn lease_sync(
        &self,
        id: CustomerId,
        now: DateTime<Utc>,
        owner: &str,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.lease_sync_impl(id, now, owner, lease_until).await
    }

    async fn release_sync(&self, id: CustomerId, owner: &str) -> StoreResult<()> {
        self.release_sync_impl(id, owner).await
    }
}
