//! What the web console stores: console accounts (people, with a password hash), their
//! server-side sessions (shared by every replica, kept under a hash of the session id), and the
//! recent tasks of one customer: a role of the [`Store`](crate::Store) bundle.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::access::{Authorized, Write};
use domain::{AccountId, CustomerId, Role, Scope};

use crate::{StoreResult, TaskRecord};

/// A console account. The password is stored only as an argon2id hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    pub id: AccountId,
    /// The sign-in name; unique without regard to case.
    pub name: String,
    pub role: Role,
    pub scope: Scope,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    /// Set when the account was disabled: it cannot sign in, and its sessions end at once.
    pub disabled_at: Option<DateTime<Utc>>,
}

/// A signed-in console session. The session id itself is never stored, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// SHA-256 of the session id, hex.
    pub id_hash: String,
    pub account: AccountId,
    /// The token every state-changing form of this session must carry.
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    /// Last request seen (idle expiry counts from here).
    pub last_seen_at: DateTime<Utc>,
}

/// Storage of console accounts, sessions and per-customer task lists.
#[async_trait]
pub trait ConsoleStore: Send + Sync {
    /// `Taken(AccountName)` when an account has this name (without regard to case).
    async fn create_account(&self, account: &Authorized<AccountRecord, Write>) -> StoreResult<()>;
    /// The account with this name (without regard to case).
    async fn find_account(&self, name: &str) -> StoreResult<Option<AccountRecord>>;
    async fn get_account(&self, id: AccountId) -> StoreResult<Option<AccountRecord>>;
    /// Every account, oldest first.
    async fn list_accounts(&self) -> StoreResult<Vec<AccountRecord>>;
    /// Disables an account and ends its sessions; `NotFound` when unknown. The first
    /// disabling time is kept.
    async fn disable_account(&self, account: &Authorized<AccountId, Write>, at: DateTime<Utc>) -> StoreResult<()>;
    /// Replaces an account's password hash and ends its sessions; `NotFound` when unknown.
    async fn set_account_password(
        &self,
        account: &Authorized<AccountId, Write>,
        password_hash: &str,
    ) -> StoreResult<()>;

    async fn create_session(&self, session: &SessionRecord) -> StoreResult<()>;
    async fn get_session(&self, id_hash: &str) -> StoreResult<Option<SessionRecord>>;
    /// Records activity on a session.
    async fn touch_session(&self, id_hash: &str, at: DateTime<Utc>) -> StoreResult<()>;
    async fn delete_session(&self, id_hash: &str) -> StoreResult<()>;
    /// Deletes sessions created before `created_before` or idle since before `idle_before`;
    /// returns how many went.
    async fn prune_sessions(&self, created_before: DateTime<Utc>, idle_before: DateTime<Utc>) -> StoreResult<u64>;

    /// The latest tasks of one customer, newest first, at most `limit`.
    async fn recent_tasks(&self, customer: &Authorized<CustomerId>, limit: i64) -> StoreResult<Vec<TaskRecord>>;
}
