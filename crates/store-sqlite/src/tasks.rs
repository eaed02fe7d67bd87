//! Long-running task records and the audit trail.

use chrono::{DateTime, Utc};
use domain::{ClientId, CustomerId};
use sqlx::sqlite::SqliteRow;
use store::{AuditEvent, StoreError, StoreResult, TaskRecord, TaskStatus};

use crate::codec::{from_json, get, guid, micros, opt_micros, opt_time, parse_opt_guid, time, to_json};
use crate::connect::SqliteStore;
use crate::error::{db_error, is_unique_violation};

fn task_from_row(row: &SqliteRow) -> StoreResult<TaskRecord> {
    let status: String = get(row, "status")?;
    let details: String = get(row, "details")?;
    let messages: String = get(row, "messages")?;
    let output: String = get(row, "output")?;
    Ok(TaskRecord {
        id: get(row, "id")?,
        customer: parse_opt_guid(get(row, "customer_id")?, "tasks.customer_id")?.map(CustomerId),
        kind: get(row, "kind")?,
        status: TaskStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("tasks.status: unknown '{status}'")))?,
        details: from_json(&details, "tasks.details")?,
        messages: from_json(&messages, "tasks.messages")?,
        output: from_json(&output, "tasks.output")?,
        created_at: time(get(row, "created_at")?, "tasks.created_at")?,
        completed_at: opt_time(get(row, "completed_at")?, "tasks.completed_at")?,
        cancellation_requested: get(row, "cancellation_requested")?,
    })
}

impl SqliteStore {
    pub(crate) async fn create_task_impl(&self, task: &TaskRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO tasks (id, customer_id, kind, status, details, messages, output, \
             created_at, completed_at, cancellation_requested) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .bind(&task.id)
        .bind(task.customer.map(|c| guid(c.0)))
        .bind(&task.kind)
        .bind(task.status.as_str())
        .bind(to_json(&task.details)?)
        .bind(to_json(&task.messages)?)
        .bind(to_json(&task.output)?)
        .bind(micros(task.created_at))
        .bind(opt_micros(task.completed_at))
        .bind(task.cancellation_requested)
        .execute(&self.writer)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict(format!("task id {} is already in use", task.id))
            } else {
                db_error(e)
            }
        })?;
        Ok(())
    }

    pub(crate) async fn update_task_impl(&self, task: &TaskRecord) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE tasks SET status = ?2, details = ?3, messages = ?4, output = ?5, \
             completed_at = ?6, cancellation_requested = ?7 WHERE id = ?1",
        )
        .bind(&task.id)
        .bind(task.status.as_str())
        .bind(to_json(&task.details)?)
        .bind(to_json(&task.messages)?)
        .bind(to_json(&task.output)?)
        .bind(opt_micros(task.completed_at))
        .bind(task.cancellation_requested)
        .execute(&self.writer)
        .await
        .map_err(db_error)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("task {}", task.id)));
        }
        Ok(())
    }

    pub(crate) async fn get_task_impl(&self, id: &str) -> StoreResult<Option<TaskRecord>> {
        let row = sqlx::query(
            "SELECT id, customer_id, kind, status, details, messages, output, created_at, \
             completed_at, cancellation_requested FROM tasks WHERE id = ?1",
        )
        .bind(id)
        .fetch_optional(&self.readers)
        .await
        .map_err(db_error)?;
        row.as_ref().map(task_from_row).transpose()
    }

    pub(crate) async fn list_tasks_impl(&self) -> StoreResult<Vec<TaskRecord>> {
        let rows = sqlx::query(
            "SELECT id, customer_id, kind, status, details, messages, output, created_at, \
             completed_at, cancellation_requested FROM tasks ORDER BY created_at, id",
        )
        .fetch_all(&self.readers)
        .await
        .map_err(db_error)?;
        rows.iter().map(task_from_row).collect()
    }

    pub(crate) async fn prune_tasks_impl(&self, kind: &str, completed_before: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM tasks WHERE kind = ?1 AND completed_at IS NOT NULL AND completed_at < ?2")
            .bind(kind)
            .bind(micros(completed_before))
            .execute(&self.writer)
            .await
            .map_err(db_error)?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn record_audit_impl(&self, event: &AuditEvent) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_events (at, client_id, action, customer_id, detail) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(micros(event.at))
        .bind(event.client.map(|c| guid(c.0)))
        .bind(&event.action)
        .bind(event.customer.map(|c| guid(c.0)))
        .bind(&event.detail)
        .execute(&self.writer)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    pub(crate) async fn list_audit_events_impl(&self) -> StoreResult<Vec<AuditEvent>> {
        let rows = sqlx::query("SELECT at, client_id, action, customer_id, detail FROM audit_events ORDER BY id")
            .fetch_all(&self.readers)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| {
                Ok(AuditEvent {
                    at: time(get(row, "at")?, "audit_events.at")?,
                    client: parse_opt_guid(get(row, "client_id")?, "audit_events.client_id")?.map(ClientId),
                    action: get(row, "action")?,
                    customer: parse_opt_guid(get(row, "customer_id")?, "audit_events.customer_id")?.map(CustomerId),
                    detail: get(row, "detail")?,
                })
            })
            .collect()
    }
}
