//! The store's roles: one trait per group of tables, so that code needing one role (the sync
//! scheduler's leases, the token endpoint's clients) can say so, while the [`Store`](crate::Store)
//! bundle gives callers that need everything one object.
//!
//! Every operation that reads or writes one customer's data takes an
//! [`Authorized`](domain::access::Authorized) customer, which only the authorization rules (or
//! an explicit [`SystemScope`]) make; what is read *for* an authorization comes back
//! [`Unchecked`] until a principal is authorized to see it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::access::{Authorized, SystemScope, Unchecked, Visibility, Write};
use domain::{ClientId, CustomerId, NewService, Service, ServicePatch};

use crate::error::StoreResult;
use crate::records::{
    ApiClientRecord, AuditEvent, ChunkStart, FleetSummary, GenerationCommit, GenerationInfo, GenerationTicket,
    PageSlice, SigningKeyRecord, TaskRecord, UserFingerprint, UserRow, VersionChanges,
};

/// Which database this is, and whether it answers.
#[async_trait]
pub trait StoreInfo: Send + Sync {
    /// Which backend this is (`sqlite` or `postgres`), for logs and `/readyz`.
    fn backend(&self) -> &'static str;

    /// Cheap round trip used by `/readyz`.
    async fn ping(&self) -> StoreResult<()>;
}

/// Services (customers): their settings, secure connection and replication state.
#[async_trait]
pub trait ServiceStore: Send + Sync {
    /// Creates a service. `Taken` when its short name (case-insensitive, within its channel),
    /// its tenant id or its id is in use.
    async fn create_service(&self, new: &Authorized<NewService, Write>) -> StoreResult<Service>;
    /// The service with this id, sealed until someone is authorized to see it.
    async fn find_service(&self, id: CustomerId) -> StoreResult<Option<Unchecked<Service>>>;
    async fn get_service(&self, customer: &Authorized<CustomerId>) -> StoreResult<Option<Service>>;
    /// Services the caller may see, ordered by short name.
    async fn list_services(&self, visibility: &Visibility) -> StoreResult<Vec<Service>>;
    /// Applies a patch; `NotFound` when the service does not exist, `Taken(TenantId)` when
    /// another service has the tenant id.
    async fn update_service(
        &self,
        customer: &Authorized<CustomerId, Write>,
        patch: &ServicePatch,
    ) -> StoreResult<Service>;
    /// Replaces the replication state of a service (connection check, errors, schedule).
    async fn update_sync_state(
        &self,
        customer: &Authorized<CustomerId, Write>,
        state: &domain::SyncState,
    ) -> StoreResult<()>;
    /// Installation-wide figures for `/metrics`, in one aggregate query (no customer ids).
    async fn fleet_summary(&self) -> StoreResult<FleetSummary>;
}

/// End users, by generation: page reads and the generation writer's reserve / append / commit /
/// discard cycle (see [`GenerationWriter`](crate::GenerationWriter)).
#[async_trait]
pub trait UserStore: Send + Sync {
    /// One page of the served generation (`generation` `None`) or of a committed one that is
    /// still recorded, read in a single consistent statement. `None` when the service does not
    /// exist, or the generation is not (or no longer) recorded.
    async fn read_page(
        &self,
        customer: &Authorized<CustomerId>,
        generation: Option<i64>,
        first_ordinal: i64,
        limit: i64,
    ) -> StoreResult<Option<PageSlice>>;
    /// A committed generation's record, while it is kept.
    async fn generation_info(
        &self,
        customer: &Authorized<CustomerId>,
        generation: i64,
    ) -> StoreResult<Option<GenerationInfo>>;

    /// Reserves a new generation number for a writer. `NotFound` when the service does not
    /// exist.
    async fn begin_generation(&self, customer: &Authorized<CustomerId, Write>) -> StoreResult<GenerationTicket>;
    /// Fingerprints of a generation, ordered by identity (the writer's diff input).
    async fn fingerprints(
        &self,
        customer: &Authorized<CustomerId>,
        generation: i64,
    ) -> StoreResult<Vec<UserFingerprint>>;
    /// Fingerprints of these identities in a generation (unknown ones are skipped), ordered by
    /// identity: a patch's diff input, which costs what the patch touches.
    async fn fingerprints_of(
        &self,
        customer: &Authorized<CustomerId>,
        generation: i64,
        identities: &[uuid::Uuid],
    ) -> StoreResult<Vec<UserFingerprint>>;
    /// The chunk index of a generation (see [`crate::CHUNK_USERS`]), in ascending ordinals.
    async fn chunk_starts(&self, customer: &Authorized<CustomerId>, generation: i64) -> StoreResult<Vec<ChunkStart>>;
    /// Stored users of a generation in identity order, starting after `after` (keyset),
    /// at most `limit` of them, with their `source`. Used by exports, the sync engine's merge
    /// and `copy`.
    async fn users_after(
        &self,
        customer: &Authorized<CustomerId>,
        generation: i64,
        after_ordinal: i64,
        limit: i64,
    ) -> StoreResult<Vec<UserRow>>;
    /// The stored users of a generation with these identities (unknown ones are skipped), in
    /// identity order: one user by key, a search's matches, the changed users of a delta round.
    async fn users_by_identity(
        &self,
        customer: &Authorized<CustomerId>,
        generation: i64,
        identities: &[uuid::Uuid],
    ) -> StoreResult<Vec<UserRow>>;
    /// Users of the served generation of every customer `visibility` lets see whose `LineURI`
    /// has these digits (see [`domain::LineNumber`]), with their customer: who owns a number.
    /// Ordered by customer, then identity.
    async fn users_with_line_digits(
        &self,
        visibility: &Visibility,
        digits: &str,
    ) -> StoreResult<Vec<(CustomerId, UserRow)>>;
    /// Stores the versions of users a not-yet-committed generation adds or changes (rows in
    /// identity order). `Conflict` when a newer generation has been committed meanwhile: this
    /// one can never be.
    async fn append_users(&self, ticket: &GenerationTicket, rows: &[UserRow]) -> StoreResult<()>;
    /// Stores the chunk index of a not-yet-committed generation (ascending ordinals).
    async fn append_chunks(&self, ticket: &GenerationTicket, chunks: &[ChunkStart]) -> StoreResult<()>;
    /// Makes the ticket's generation the served one, if the served generation is still the
    /// ticket's base (`Conflict` otherwise): closes the replaced versions, records the
    /// generation and supersedes the base, and applies `sync`, in one transaction.
    async fn commit_generation(&self, ticket: &GenerationTicket, commit: &GenerationCommit) -> StoreResult<()>;
    /// Deletes what a writer stored for a generation that was never committed. A committed,
    /// superseded generation is left to its retention; the served one is refused (`Conflict`).
    async fn discard_generation(&self, customer: &Authorized<CustomerId, Write>, generation: i64) -> StoreResult<()>;
    /// Generations with stored data, ascending: committed ones still recorded (the served one
    /// and those retained), writers in flight, and leftovers of writers that died.
    async fn stored_generations(&self, customer: &Authorized<CustomerId>) -> StoreResult<Vec<i64>>;
    /// The versions that differ between generations `from` < `to` (see [`VersionChanges`]);
    /// costs what changed, not the customer's size.
    async fn version_changes(
        &self,
        customer: &Authorized<CustomerId>,
        from: i64,
        to: i64,
    ) -> StoreResult<VersionChanges>;
    /// Forgets every generation superseded before `superseded_before`, and the versions no
    /// generation still recorded shows; returns how many generations went. Installation-wide.
    async fn reclaim_generations(&self, system: &SystemScope, superseded_before: DateTime<Utc>) -> StoreResult<u64>;
}

/// API clients and the JWT signing keys.
#[async_trait]
pub trait ClientStore: Send + Sync {
    /// `Taken(ClientId)` when the id is in use.
    async fn create_client(&self, client: &Authorized<ApiClientRecord, Write>) -> StoreResult<()>;
    /// The client a token names (authentication: who is calling).
    async fn get_client(&self, id: ClientId) -> StoreResult<Option<ApiClientRecord>>;
    async fn list_clients(&self) -> StoreResult<Vec<ApiClientRecord>>;
    /// Marks a client revoked; `NotFound` when unknown.
    async fn revoke_client(&self, client: &Authorized<ClientId, Write>, at: DateTime<Utc>) -> StoreResult<()>;

    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>>;
    /// Inserts a key unless one with the same `kid` exists.
    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()>;
}

/// Long-running tasks (syncs), polled by clients and pruned by age.
#[async_trait]
pub trait TaskStore: Send + Sync {
    async fn create_task(&self, task: &TaskRecord) -> StoreResult<()>;
    /// Replaces a task's mutable parts (status, messages, output, completion).
    async fn update_task(&self, task: &TaskRecord) -> StoreResult<()>;
    /// A task, sealed until someone is authorized for the customer it belongs to.
    async fn get_task(&self, id: &str) -> StoreResult<Option<Unchecked<TaskRecord>>>;
    /// Every task, oldest first (for `rosterd copy`, which acts under a system scope).
    async fn list_tasks(&self, system: &SystemScope) -> StoreResult<Vec<TaskRecord>>;
    /// Deletes the finished tasks of `kind` completed before `completed_before` (retention of
    /// the sync engine's task log); returns how many went. Tasks in progress are kept.
    async fn prune_tasks(&self, kind: &str, completed_before: DateTime<Utc>) -> StoreResult<u64>;
}

/// The audit trail.
#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn record_audit(&self, event: &AuditEvent) -> StoreResult<()>;
    /// Every audit event, in the order they were recorded (installation-wide: a system scope).
    async fn list_audit_events(&self, system: &SystemScope) -> StoreResult<Vec<AuditEvent>>;
}

/// Sync work claiming: which services are due, and short leases on them.
#[async_trait]
pub trait LeaseStore: Send + Sync {
    /// Claims one connected service whose sync is due at `now` and not leased by anyone, and
    /// leases it to `owner` until `lease_until`. Safe with several replicas.
    async fn claim_due_sync(
        &self,
        now: DateTime<Utc>,
        owner: &str,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<Option<CustomerId>>;
    /// Takes a lease on one service, whether due or not (on-demand syncs); false when another
    /// owner holds a live lease.
    async fn lease_sync(
        &self,
        customer: &Authorized<CustomerId, Write>,
        now: DateTime<Utc>,
        owner: &str,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Gives a lease back.
    async fn release_sync(&self, customer: &Authorized<CustomerId, Write>, owner: &str) -> StoreResult<()>;
}
