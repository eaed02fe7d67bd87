//! The `ConsoleStore` on PostgreSQL: console accounts, their sessions, a customer's recent tasks.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::access::{Authorized, Write};
use domain::{AccountId, CustomerId, Role};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::Postgres;
use store::{AccountRecord, ConsoleStore, SessionRecord, StoreError, StoreResult, Taken, TaskRecord};

use crate::codec::{from_json, get, to_json};
use crate::connect::PgStore;
use crate::error::{db_error, is_unique_violation};

const ACCOUNT_COLUMNS: &str = "id, name, role, scope, password_hash, created_at, disabled_at";

fn account_from_row(row: &PgRow) -> StoreResult<AccountRecord> {
    let role: String = get(row, "role")?;
    let scope: String = get(row, "scope")?;
    Ok(AccountRecord {
        id: AccountId(get(row, "id")?),
        name: get(row, "name")?,
        role: role
            .parse::<Role>()
            .map_err(|e| StoreError::Corrupt(format!("console_accounts.role: {e}")))?,
        scope: from_json(&scope, "console_accounts.scope")?,
        password_hash: get(row, "password_hash")?,
        created_at: get(row, "created_at")?,
        disabled_at: get(row, "disabled_at")?,
    })
}

fn session_from_row(row: &PgRow) -> StoreResult<SessionRecord> {
    Ok(SessionRecord {
        id_hash: get(row, "id_hash")?,
        account: AccountId(get(row, "account_id")?),
        csrf_token: get(row, "csrf_token")?,
        created_at: get(row, "created_at")?,
        last_seen_at: get(row, "last_seen_at")?,
    })
}

impl PgStore {
    /// Runs an account update and ends the account's sessions, in one transaction.
    async fn change_account(
        &self,
        id: AccountId,
        update: sqlx::query::Query<'_, Postgres, PgArguments>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let done = update.execute(&mut *tx).await.map_err(db_error)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("account {id}")));
        }
        sqlx::query("DELETE FROM console_sessions WHERE account_id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)
    }
}

#[async_trait]
impl ConsoleStore for PgStore {
    async fn create_account(&self, account: &Authorized<AccountRecord, Write>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO console_accounts (id, name, role, scope, password_hash, created_at, disabled_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(account.id.0)
        .bind(&account.name)
        .bind(account.role.to_string())
        .bind(to_json(&account.scope)?)
        .bind(&account.password_hash)
        .bind(account.created_at)
        .bind(account.disabled_at)
        .execute(&self.pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Taken(Taken::AccountName)
            } else {
                db_error(e)
            }
        })?;
        Ok(())
    }

    async fn find_account(&self, name: &str) -> StoreResult<Option<AccountRecord>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM console_accounts WHERE lower(name) = lower($1)");
        let row = sqlx::query(&sql)
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(account_from_row).transpose()
    }

    async fn get_account(&self, id: AccountId) -> StoreResult<Option<AccountRecord>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM console_accounts WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        row.as_ref().map(account_from_row).transpose()
    }

    async fn list_accounts(&self) -> StoreResult<Vec<AccountRecord>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM console_accounts ORDER BY created_at, id");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await.map_err(db_error)?;
        rows.iter().map(account_from_row).collect()
    }

    async fn disable_account(&self, account: &Authorized<AccountId, Write>, at: DateTime<Utc>) -> StoreResult<()> {
        let update = sqlx::query("UPDATE console_accounts SET disabled_at = COALESCE(disabled_at, $2) WHERE id = $1")
            .bind(account.0)
            .bind(at);
        self.change_account(**account, update).await
    }

    async fn set_account_password(
        &self,
        account: &Authorized<AccountId, Write>,
        password_hash: &str,
    ) -> StoreResult<()> {
        let update = sqlx::query("UPDATE console_accounts SET password_hash = $2 WHERE id = $1")
            .bind(account.0)
            .bind(password_hash.to_string());
        self.change_account(**account, update).await
    }

    async fn create_session(&self, session: &SessionRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO console_sessions (id_hash, account_id, csrf_token, created_at, last_seen_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&session.id_hash)
        .bind(session.account.0)
        .bind(&session.csrf_token)
        .bind(session.created_at)
        .bind(session.last_seen_at)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn get_session(&self, id_hash: &str) -> StoreResult<Option<SessionRecord>> {
        let row = sqlx::query(
            "SELECT id_hash, account_id, csrf_token, created_at, last_seen_at FROM console_sessions WHERE id_hash = $1",
        )
        .bind(id_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        row.as_ref().map(session_from_row).transpose()
    }

    async fn touch_session(&self, id_hash: &str, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE console_sessions SET last_seen_at = GREATEST(last_seen_at, $2) WHERE id_hash = $1")
            .bind(id_hash)
            .bind(at)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM console_sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn prune_sessions(&self, created_before: DateTime<Utc>, idle_before: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM console_sessions WHERE created_at < $1 OR last_seen_at < $2")
            .bind(created_before)
            .bind(idle_before)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(done.rows_affected())
    }

    async fn recent_tasks(&self, customer: &Authorized<CustomerId>, limit: i64) -> StoreResult<Vec<TaskRecord>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM tasks WHERE customer_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(customer.0)
        .bind(limit.max(0))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        let mut tasks = Vec::with_capacity(ids.len());
        for id in ids {
            // A task pruned in between is simply left out.
            if let Some(task) = self.get_task_impl(&id).await? {
                tasks.push(task);
            }
        }
        Ok(tasks)
    }
}
