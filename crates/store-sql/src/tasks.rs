//! Long-running task records and the audit trail.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::access::{SystemScope, Unchecked};
use domain::{ClientId, CustomerId};
use store::{AuditEvent, AuditStore, StoreError, StoreResult, TaskRecord, TaskStatus, TaskStore};

use crate::codec::{from_json, to_json};
use crate::driver::{Access, Driver};
use crate::param::params;
use crate::row::SqlRow;
use crate::SqlStore;

const TASK_COLUMNS: &str = "id, customer_id, kind, status, details, messages, output, created_at, \
    completed_at, cancellation_requested";

fn task_from_row(row: &dyn SqlRow) -> StoreResult<TaskRecord> {
    let status: String = row.get("status")?;
    let details: String = row.get("details")?;
    let messages: String = row.get("messages")?;
    let output: String = row.get("output")?;
    Ok(TaskRecord {
        id: row.get("id")?,
        customer: row.get::<Option<_>>("customer_id")?.map(CustomerId),
        kind: row.get("kind")?,
        status: TaskStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("tasks.status: unknown '{status}'")))?,
        details: from_json(&details, "tasks.details")?,
        messages: from_json(&messages, "tasks.messages")?,
        output: from_json(&output, "tasks.output")?,
        created_at: row.get("created_at")?,
        completed_at: row.get("completed_at")?,
        cancellation_requested: row.get("cancellation_requested")?,
    })
}

fn audit_from_row(row: &dyn SqlRow) -> StoreResult<AuditEvent> {
    Ok(AuditEvent {
        at: row.get("at")?,
        client: row.get::<Option<_>>("client_id")?.map(ClientId),
        action: row.get("action")?,
        customer: row.get::<Option<_>>("customer_id")?.map(CustomerId),
        detail: row.get("detail")?,
    })
}

/// The JSON columns of a task, encoded.
struct TaskJson {
    details: String,
    messages: String,
    output: String,
}

impl TaskJson {
    fn of(task: &TaskRecord) -> StoreResult<Self> {
        Ok(Self {
            details: to_json(&task.details)?,
            messages: to_json(&task.messages)?,
            output: to_json(&task.output)?,
        })
    }
}

#[async_trait]
impl<D: Driver> TaskStore for SqlStore<D> {
    async fn create_task(&self, task: &TaskRecord) -> StoreResult<()> {
        let json = TaskJson::of(task)?;
        let params = params![
            &task.id,
            task.customer,
            &task.kind,
            task.status.as_str(),
            &json.details,
            &json.messages,
            &json.output,
            task.created_at,
            task.completed_at,
            task.cancellation_requested,
        ];
        self.driver
            .execute(
                "INSERT INTO tasks (id, customer_id, kind, status, details, messages, output, \
                 created_at, completed_at, cancellation_requested) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                &params,
            )
            .await
            .map_err(|e| match e.is_unique_violation(None) {
                true => StoreError::Conflict(format!("task id {} is already in use", task.id)),
                false => e.into(),
            })?;
        Ok(())
    }

    async fn update_task(&self, task: &TaskRecord) -> StoreResult<()> {
        let json = TaskJson::of(task)?;
        let params = params![
            &task.id,
            task.status.as_str(),
            &json.details,
            &json.messages,
            &json.output,
            task.completed_at,
            task.cancellation_requested,
        ];
        let done = self
            .driver
            .execute(
                "UPDATE tasks SET status = $2, details = $3, messages = $4, output = $5, \
                 completed_at = $6, cancellation_requested = $7 WHERE id = $1",
                &params,
            )
            .await?;
        if done == 0 {
            return Err(StoreError::NotFound(format!("task {}", task.id)));
        }
        Ok(())
    }

    async fn get_task(&self, id: &str) -> StoreResult<Option<Unchecked<TaskRecord>>> {
        let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1");
        let rows = self
            .driver
            .fetch(Access::Read, &sql, &params![id], task_from_row)
            .await?;
        Ok(rows.into_iter().next().map(Unchecked::new))
    }

    async fn list_tasks(&self, _system: &SystemScope) -> StoreResult<Vec<TaskRecord>> {
        let sql = format!("SELECT {TASK_COLUMNS} FROM tasks ORDER BY created_at, id");
        Ok(self.driver.fetch(Access::Read, &sql, &[], task_from_row).await?)
    }

    async fn prune_tasks(&self, kind: &str, completed_before: DateTime<Utc>) -> StoreResult<u64> {
        Ok(self
            .driver
            .execute(
                "DELETE FROM tasks WHERE kind = $1 AND completed_at IS NOT NULL AND completed_at < $2",
                &params![kind, completed_before],
            )
            .await?)
    }
}

#[async_trait]
impl<D: Driver> AuditStore for SqlStore<D> {
    async fn record_audit(&self, event: &AuditEvent) -> StoreResult<()> {
        let params = params![event.at, event.client, &event.action, event.customer, &event.detail];
        self.driver
            .execute(
                "INSERT INTO audit_events (at, client_id, action, customer_id, detail) \
                 VALUES ($1, $2, $3, $4, $5)",
                &params,
            )
            .await?;
        Ok(())
    }

    async fn list_audit_events(&self, _system: &SystemScope) -> StoreResult<Vec<AuditEvent>> {
        Ok(self
            .driver
            .fetch(
                Access::Read,
                "SELECT at, client_id, action, customer_id, detail FROM audit_events ORDER BY id",
                &[],
                audit_from_row,
            )
            .await?)
    }
}
