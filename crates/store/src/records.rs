//! Records the store keeps besides services: user rows, clients, keys, tasks, audit events.

use chrono::{DateTime, Utc};
use domain::access::{Authorized, Owned, Write};
use domain::{ClientId, CustomerId, Role, Scope};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One stored user of one generation: its position, identity, fingerprint and rendered JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    /// 1-based position in `Identity` order within the generation.
    pub ordinal: i64,
    pub identity: Uuid,
    pub fingerprint: i64,
    /// The user's 21-key JSON object, exactly as served.
    pub body: String,
    /// The record the user was mapped from, when the sync engine needs it again (the full
    /// Microsoft Graph user, into which the next delta round merges its changes); `None` for
    /// imported users. Never part of a page read.
    pub source: Option<String>,
}

/// Identity and fingerprint of a stored user: enough to diff two generations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserFingerprint {
    pub identity: Uuid,
    pub fingerprint: i64,
}

/// A consistent slice of the served generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageSlice {
    pub generation: i64,
    pub total_records: i64,
    /// Rendered user objects in ordinal order.
    pub bodies: Vec<String>,
}

/// A reserved, not yet committed generation, for a writer authorized to change the customer.
#[derive(Debug, Clone)]
pub struct GenerationTicket {
    pub customer: Authorized<CustomerId, Write>,
    /// The generation served when the ticket was taken; commit requires it to still be served.
    pub base_generation: i64,
    pub generation: i64,
}

/// What a commit records besides the new generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerationCommit {
    pub user_count: i64,
    /// Replication state to store atomically with the users (sync engine); `None` for imports,
    /// whose users replace synced ones (the next sync is then a full round).
    pub sync: Option<domain::SyncState>,
    /// Identities whose version in the base generation this one replaces or removes.
    pub closed: Vec<Uuid>,
    /// When the generation is committed (and its base superseded, which starts the base's
    /// retention).
    pub committed_at: DateTime<Utc>,
}

/// The ordinal and identity at which a chunk of a generation's ordinal index starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkStart {
    pub start_ordinal: i64,
    pub first_identity: Uuid,
}

/// A committed generation as recorded: its size, and when it was committed and superseded
/// (`None` while it is served).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenerationInfo {
    pub generation: i64,
    pub user_count: i64,
    pub committed_at: DateTime<Utc>,
    pub superseded_at: Option<DateTime<Utc>>,
}

/// The versions that differ between two generations `from` < `to`, each in identity order:
/// those that appeared after `from` and are in `to`, and those that `from` had and `to` no longer
/// has. An identity in both changed; only in `born`, added; only in `closed`, removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionChanges {
    pub born: Vec<UserFingerprint>,
    pub closed: Vec<UserFingerprint>,
}

/// Installation-wide figures, without customer ids.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FleetSummary {
    pub services: i64,
    /// Services with a secure connection (tenant id, app id and secret).
    pub connected: i64,
    /// Services whose last sync failed.
    pub failing: i64,
    /// Users served across all services.
    pub users: i64,
}

/// The stored "hash" of a client that authenticates with an external issuer's tokens: it matches
/// no secret, so the built-in token endpoint never issues tokens for it.
pub const EXTERNAL_CLIENT: &str = "external$";

/// An API client. The secret is stored only as a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiClientRecord {
    pub id: ClientId,
    pub name: String,
    pub role: Role,
    pub scope: Scope,
    pub secret_hash: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiClientRecord {
    /// Registered for an external issuer's tokens (no secret); such a client is reached only
    /// through that issuer, and the issuer's tokens reach only such clients.
    pub fn is_external(&self) -> bool {
        self.secret_hash == EXTERNAL_CLIENT
    }
}

/// A JWT signing key. The private half is sealed with the installation's secret key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub algorithm: String,
    pub private_key_sealed: Vec<u8>,
    pub public_key: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

/// Status of a long-running task, with the wire spelling of the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskStatus {
    InProgress,
    CompletedSuccess,
    Failed,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "InProgress",
            Self::CompletedSuccess => "CompletedSuccess",
            Self::Failed => "Failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "InProgress" => Some(Self::InProgress),
            "CompletedSuccess" => Some(Self::CompletedSuccess),
            "Failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// One line of a task's execution log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskMessage {
    pub level: String,
    pub message: String,
}

/// A long-running operation (a sync), polled through `GET /api/v2/task/{id}`.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRecord {
    pub id: String,
    pub customer: Option<CustomerId>,
    pub kind: String,
    pub status: TaskStatus,
    pub details: Vec<String>,
    pub messages: Vec<TaskMessage>,
    pub output: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub cancellation_requested: bool,
}

impl Owned for TaskRecord {
    fn owner(&self) -> Option<CustomerId> {
        self.customer
    }
}

/// Who changed what, kept for operators. Never holds secrets or personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub at: DateTime<Utc>,
    pub client: Option<ClientId>,
    pub action: String,
    pub customer: Option<CustomerId>,
    pub detail: String,
}
