//! The `Store` trait for `SqliteStore`, delegating to the table modules. Authorized values are
//! unwrapped here, at the trait boundary; the table modules take plain ids.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::access::{Authorized, SystemScope, Unchecked, Visibility, Write};
use domain::{ClientId, CustomerId, NewService, Service, ServicePatch, SyncState};
use store::{
    ApiClientRecord, AuditEvent, FleetSummary, GenerationCommit, GenerationTicket, PageSlice, SigningKeyRecord, Store,
    StoreResult, TaskRecord, UserFingerprint, UserRow,
};

use crate::connect::SqliteStore;
use crate::error::db_error;

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.readers).await.map_err(db_error)?;
        Ok(())
    }

    async fn create_service(&self, new: &Authorized<NewService, Write>) -> StoreResult<Service> {
        self.create_service_impl(new).await
    }

    async fn find_service(&self, id: CustomerId) -> StoreResult<Option<Unchecked<Service>>> {
        Ok(self.get_service_impl(id).await?.map(Unchecked::new))
    }

    async fn get_service(&self, customer: &Authorized<CustomerId>) -> StoreResult<Option<Service>> {
        self.get_service_impl(**customer).await
    }

    async fn list_services(&self, visibility: &Visibility) -> StoreResult<Vec<Service>> {
        self.list_services_impl(visibility).await
    }

    async fn update_service(
        &self,
        customer: &Authorized<CustomerId, Write>,
        patch: &ServicePatch,
    ) -> StoreResult<Service> {
        self.update_service_impl(**customer, patch).await
    }

    async fn update_sync_state(&self, customer: &Authorized<CustomerId, Write>, state: &SyncState) -> StoreResult<()> {
        self.update_sync_state_impl(**customer, state).await
    }

    async fn fleet_summary(&self) -> StoreResult<FleetSummary> {
        self.fleet_summary_impl().await
    }

    async fn read_page(
        &self,
        customer: &Authorized<CustomerId>,
        first_ordinal: i64,
        limit: i64,
    ) -> StoreResult<Option<PageSlice>> {
        self.read_page_impl(**customer, first_ordinal, limit).await
    }

    async fn begin_generation(&self, customer: &Authorized<CustomerId, Write>) -> StoreResult<GenerationTicket> {
        let (base_generation, generation) = self.begin_generation_impl(**customer).await?;
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
        self.fingerprints_impl(**customer, generation).await
    }

    async fn users_after(
        &self,
        customer: &Authorized<CustomerId>,
        generation: i64,
        after_ordinal: i64,
        limit: i64,
    ) -> StoreResult<Vec<UserRow>> {
        self.users_after_impl(**customer, generation, after_ordinal, limit)
            .await
    }

    async fn append_users(&self, ticket: &GenerationTicket, rows: &[UserRow]) -> StoreResult<()> {
        self.append_users_impl(ticket, rows).await
    }

    async fn commit_generation(&self, ticket: &GenerationTicket, commit: &GenerationCommit) -> StoreResult<()> {
        self.commit_generation_impl(ticket, commit).await
    }

    async fn discard_generation(&self, customer: &Authorized<CustomerId, Write>, generation: i64) -> StoreResult<()> {
        self.discard_generation_impl(**customer, generation).await
    }

    async fn stored_generations(&self, customer: &Authorized<CustomerId>) -> StoreResult<Vec<i64>> {
        self.stored_generations_impl(**customer).await
    }

    async fn create_client(&self, client: &Authorized<ApiClientRecord, Write>) -> StoreResult<()> {
        self.create_client_impl(client).await
    }

    async fn get_client(&self, id: ClientId) -> StoreResult<Option<ApiClientRecord>> {
        self.get_client_impl(id).await
    }

    async fn list_clients(&self) -> StoreResult<Vec<ApiClientRecord>> {
        self.list_clients_impl().await
    }

    async fn revoke_client(&self, client: &Authorized<ClientId, Write>, at: DateTime<Utc>) -> StoreResult<()> {
        self.revoke_client_impl(**client, at).await
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

    async fn get_task(&self, id: &str) -> StoreResult<Option<Unchecked<TaskRecord>>> {
        Ok(self.get_task_impl(id).await?.map(Unchecked::new))
    }

    async fn list_tasks(&self, _system: &SystemScope) -> StoreResult<Vec<TaskRecord>> {
        self.list_tasks_impl().await
    }

    async fn prune_tasks(&self, kind: &str, completed_before: DateTime<Utc>) -> StoreResult<u64> {
        self.prune_tasks_impl(kind, completed_before).await
    }

    async fn record_audit(&self, event: &AuditEvent) -> StoreResult<()> {
        self.record_audit_impl(event).await
    }

    async fn list_audit_events(&self, _system: &SystemScope) -> StoreResult<Vec<AuditEvent>> {
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
        customer: &Authorized<CustomerId, Write>,
        now: DateTime<Utc>,
        owner: &str,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.lease_sync_impl(**customer, now, owner, lease_until).await
    }

    async fn release_sync(&self, customer: &Authorized<CustomerId, Write>, owner: &str) -> StoreResult<()> {
        self.release_sync_impl(**customer, owner).await
    }
}
