//! The console's records: accounts (names unique without case; disabling or a new password
//! ends the account's sessions in the same transaction), sessions kept under the hash of their
//! id, and a customer's recent tasks.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::access::{Authorized, Write};
use domain::{AccountId, CustomerId, Role};
use store::{AccountRecord, ConsoleStore, SessionRecord, StoreError, StoreResult, Taken, TaskRecord};

use crate::codec::{from_json, to_json};
use crate::driver::{Access, Driver, Transaction};
use crate::param::params;
use crate::row::SqlRow;
use crate::tasks::{task_from_row, TASK_COLUMNS};
use crate::SqlStore;

const ACCOUNT_COLUMNS: &str = "id, name, role, scope, password_hash, created_at, disabled_at";
const SESSION_COLUMNS: &str = "id_hash, account_id, csrf_token, created_at, last_seen_at";

fn account_from_row(row: &dyn SqlRow) -> StoreResult<AccountRecord> {
    let role: String = row.get("role")?;
    let scope: String = row.get("scope")?;
    Ok(AccountRecord {
        id: AccountId(row.get("id")?),
        name: row.get("name")?,
        role: role
            .parse::<Role>()
            .map_err(|e| StoreError::Corrupt(format!("console_accounts.role: {e}")))?,
        scope: from_json(&scope, "console_accounts.scope")?,
        password_hash: row.get("password_hash")?,
        created_at: row.get("created_at")?,
        disabled_at: row.get("disabled_at")?,
    })
}

fn session_from_row(row: &dyn SqlRow) -> StoreResult<SessionRecord> {
    Ok(SessionRecord {
        id_hash: row.get("id_hash")?,
        account: AccountId(row.get("account_id")?),
        csrf_token: row.get("csrf_token")?,
        created_at: row.get("created_at")?,
        last_seen_at: row.get("last_seen_at")?,
    })
}

impl<D: Driver> SqlStore<D> {
    /// Runs an account update (`$1` is the account id) and ends the account's sessions, in one
    /// transaction; `NotFound` when no account has the id.
    async fn change_account(&self, id: AccountId, update: &str, value: crate::param::Param<'_>) -> StoreResult<()> {
        let mut tx = self.driver.begin().await?;
        let done = tx.execute(update, &[id.0.into(), value]).await?;
        if done == 0 {
            return Err(StoreError::NotFound(format!("account {id}")));
        }
        tx.execute("DELETE FROM console_sessions WHERE account_id = $1", &params![id.0])
            .await?;
        Ok(tx.commit().await?)
    }

    async fn one_account(&self, filter: &str, value: crate::param::Param<'_>) -> StoreResult<Option<AccountRecord>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM console_accounts WHERE {filter}");
        let rows = self
            .driver
            .fetch(Access::Read, &sql, &[value], account_from_row)
            .await?;
        Ok(rows.into_iter().next())
    }
}

#[async_trait]
impl<D: Driver> ConsoleStore for SqlStore<D> {
    async fn create_account(&self, account: &Authorized<AccountRecord, Write>) -> StoreResult<()> {
        let role = account.role.to_string();
        let scope = to_json(&account.scope)?;
        let params = params![
            account.id.0,
            &account.name,
            &role,
            &scope,
            &account.password_hash,
            account.created_at,
            account.disabled_at,
        ];
        self.driver
            .execute(
                "INSERT INTO console_accounts (id, name, role, scope, password_hash, created_at, disabled_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &params,
            )
            .await
            .map_err(|e| match e.is_unique_violation(None) {
                true => StoreError::Taken(Taken::AccountName),
                false => e.into(),
            })?;
        Ok(())
    }

    async fn find_account(&self, name: &str) -> StoreResult<Option<AccountRecord>> {
        self.one_account("lower(name) = lower($1)", name.into()).await
    }

    async fn get_account(&self, id: AccountId) -> StoreResult<Option<AccountRecord>> {
        self.one_account("id = $1", id.0.into()).await
    }

    async fn list_accounts(&self) -> StoreResult<Vec<AccountRecord>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM console_accounts ORDER BY created_at, id");
        Ok(self.driver.fetch(Access::Read, &sql, &[], account_from_row).await?)
    }

    async fn disable_account(&self, account: &Authorized<AccountId, Write>, at: DateTime<Utc>) -> StoreResult<()> {
        self.change_account(
            **account,
            "UPDATE console_accounts SET disabled_at = COALESCE(disabled_at, $2) WHERE id = $1",
            at.into(),
        )
        .await
    }

    async fn set_account_password(
        &self,
        account: &Authorized<AccountId, Write>,
        password_hash: &str,
    ) -> StoreResult<()> {
        self.change_account(
            **account,
            "UPDATE console_accounts SET password_hash = $2 WHERE id = $1",
            password_hash.into(),
        )
        .await
    }

    async fn create_session(&self, session: &SessionRecord) -> StoreResult<()> {
        let params = params![
            &session.id_hash,
            session.account.0,
            &session.csrf_token,
            session.created_at,
            session.last_seen_at,
        ];
        self.driver
            .execute(
                "INSERT INTO console_sessions (id_hash, account_id, csrf_token, created_at, last_seen_at) \
                 VALUES ($1, $2, $3, $4, $5)",
                &params,
            )
            .await?;
        Ok(())
    }

    async fn get_session(&self, id_hash: &str) -> StoreResult<Option<SessionRecord>> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM console_sessions WHERE id_hash = $1");
        let rows = self
            .driver
            .fetch(Access::Read, &sql, &params![id_hash], session_from_row)
            .await?;
        Ok(rows.into_iter().next())
    }

    async fn touch_session(&self, id_hash: &str, at: DateTime<Utc>) -> StoreResult<()> {
        // Activity never goes back in time (two requests racing).
        self.driver
            .execute(
                "UPDATE console_sessions SET last_seen_at = $2 WHERE id_hash = $1 AND last_seen_at < $2",
                &params![id_hash, at],
            )
            .await?;
        Ok(())
    }

    async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        self.driver
            .execute("DELETE FROM console_sessions WHERE id_hash = $1", &params![id_hash])
            .await?;
        Ok(())
    }

    async fn prune_sessions(&self, created_before: DateTime<Utc>, idle_before: DateTime<Utc>) -> StoreResult<u64> {
        Ok(self
            .driver
            .execute(
                "DELETE FROM console_sessions WHERE created_at < $1 OR last_seen_at < $2",
                &params![created_before, idle_before],
            )
            .await?)
    }

    async fn recent_tasks(&self, customer: &Authorized<CustomerId>, limit: i64) -> StoreResult<Vec<TaskRecord>> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE customer_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
        );
        Ok(self
            .driver
            .fetch(Access::Read, &sql, &params![**customer, limit.max(0)], task_from_row)
            .await?)
    }
}
