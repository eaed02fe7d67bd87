//! The `ConsoleStore` on SQLite: console accounts, their sessions, a customer's recent tasks.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::access::{Authorized, Write};
use domain::{AccountId, CustomerId, Role};
use sqlx::sqlite::SqliteRow;
use store::{AccountRecord, ConsoleStore, SessionRecord, StoreError, StoreResult, Taken, TaskRecord};

use crate::codec::{from_json, get, guid, micros, opt_micros, opt_time, parse_guid, time, to_json};
use crate::connect::SqliteStore;
use crate::error::{db_error, is_unique_violation};

const ACCOUNT_COLUMNS: &str = "id, name, role, scope, password_hash, created_at, disabled_at";

fn account_from_row(row: &SqliteRow) -> StoreResult<AccountRecord> {
    let id: String = get(row, "id")?;
    let role: String = get(row, "role")?;
    let scope: String = get(row, "scope")?;
    Ok(AccountRecord {
        id: AccountId(parse_guid(&id, "console_accounts.id")?),
        name: get(row, "name")?,
        role: role
            .parse::<Role>()
            .map_err(|e| StoreError::Corrupt(format!("console_accounts.role: {e}")))?,
        scope: from_json(&scope, "console_accounts.scope")?,
        password_hash: get(row, "password_hash")?,
        created_at: time(get(row, "created_at")?, "console_accounts.created_at")?,
        disabled_at: opt_time(get(row, "disabled_at")?, "console_accounts.disabled_at")?,
    })
}

fn session_from_row(row: &SqliteRow) -> StoreResult<SessionRecord> {
    let account: String = get(row, "account_id")?;
    Ok(SessionRecord {
        id_hash: get(row, "id_hash")?,
        account: AccountId(parse_guid(&account, "console_sessions.account_id")?),
        csrf_token: get(row, "csrf_token")?,
        created_at: time(get(row, "created_at")?, "console_sessions.created_at")?,
        last_seen_at: time(get(row, "last_seen_at")?, "console_sessions.last_seen_at")?,
    })
}

impl SqliteStore {
    async fn one_account(&self, filter: &str, value: String) -> StoreResult<Option<AccountRecord>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM console_accounts WHERE {filter}");
        let row = sqlx::query(&sql)
            .bind(value)
            .fetch_optional(&self.readers)
            .await
            .map_err(db_error)?;
        row.as_ref().map(account_from_row).transpose()
    }

    /// Runs an account update and ends the account's sessions, in one transaction.
    async fn change_account<'q>(
        &self,
        id: AccountId,
        update: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(db_error)?;
        let done = update.execute(&mut *tx).await.map_err(db_error)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("account {id}")));
        }
        sqlx::query("DELETE FROM console_sessions WHERE account_id = ?1")
            .bind(guid(id.0))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)
    }
}

#[async_trait]
impl ConsoleStore for SqliteStore {
    async fn create_account(&self, account: &Authorized<AccountRecord, Write>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO console_accounts (id, name, role, scope, password_hash, created_at, disabled_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .bind(guid(account.id.0))
        .bind(&account.name)
        .bind(account.role.to_string())
        .bind(to_json(&account.scope)?)
        .bind(&account.password_hash)
        .bind(micros(account.created_at))
        .bind(opt_micros(account.disabled_at))
        .execute(&self.writer)
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
        self.one_account("lower(name) = lower(?1)", name.to_string()).await
    }

    async fn get_account(&self, id: AccountId) -> StoreResult<Option<AccountRecord>> {
        self.one_account("id = ?1", guid(id.0)).await
    }

    async fn list_accounts(&self) -> StoreResult<Vec<AccountRecord>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM console_accounts ORDER BY created_at, id");
        let rows = sqlx::query(&sql).fetch_all(&self.readers).await.map_err(db_error)?;
        rows.iter().map(account_from_row).collect()
    }

    async fn disable_account(&self, account: &Authorized<AccountId, Write>, at: DateTime<Utc>) -> StoreResult<()> {
        let update = sqlx::query("UPDATE console_accounts SET disabled_at = COALESCE(disabled_at, ?2) WHERE id = ?1")
            .bind(guid(account.0))
            .bind(micros(at));
        self.change_account(**account, update).await
    }

    async fn set_account_password(
        &self,
        account: &Authorized<AccountId, Write>,
        password_hash: &str,
    ) -> StoreResult<()> {
        let update = sqlx::query("UPDATE console_accounts SET password_hash = ?2 WHERE id = ?1")
            .bind(guid(account.0))
            .bind(password_hash.to_string());
        self.change_account(**account, update).await
    }

    async fn create_session(&self, session: &SessionRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO console_sessions (id_hash, account_id, csrf_token, created_at, last_seen_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(&session.id_hash)
        .bind(guid(session.account.0))
        .bind(&session.csrf_token)
        .bind(micros(session.created_at))
        .bind(micros(session.last_seen_at))
        .execute(&self.writer)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn get_session(&self, id_hash: &str) -> StoreResult<Option<SessionRecord>> {
        let row = sqlx::query(
            "SELECT id_hash, account_id, csrf_token, created_at, last_seen_at FROM console_sessions WHERE id_hash = ?1",
        )
        .bind(id_hash)
        .fetch_optional(&self.readers)
        .await
        .map_err(db_error)?;
        row.as_ref().map(session_from_row).transpose()
    }

    async fn touch_session(&self, id_hash: &str, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE console_sessions SET last_seen_at = max(last_seen_at, ?2) WHERE id_hash = ?1")
            .bind(id_hash)
            .bind(micros(at))
            .execute(&self.writer)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM console_sessions WHERE id_hash = ?1")
            .bind(id_hash)
            .execute(&self.writer)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn prune_sessions(&self, created_before: DateTime<Utc>, idle_before: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM console_sessions WHERE created_at < ?1 OR last_seen_at < ?2")
            .bind(micros(created_before))
            .bind(micros(idle_before))
            .execute(&self.writer)
            .await
            .map_err(db_error)?;
        Ok(done.rows_affected())
    }

    async fn recent_tasks(&self, customer: &Authorized<CustomerId>, limit: i64) -> StoreResult<Vec<TaskRecord>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM tasks WHERE customer_id = ?1 ORDER BY created_at DESC, id DESC LIMIT ?2",
        )
        .bind(guid(customer.0))
        .bind(limit.max(0))
        .fetch_all(&self.readers)
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
