//! `GET /api/v2/task/{taskId}`: long-running operations (syncs) in the reference's shape.

use axum::extract::{Path, State};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;
use store::TaskRecord;
use utoipa::ToSchema;

use crate::caller::Caller;
use crate::error::ApiResult;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskMessageWire {
    pub level: String,
    pub message: String,
}

/// A task as the Live Platform answers it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskWire {
    pub id: String,
    /// `InProgress`, `CompletedSuccess` or `Failed`.
    pub status: String,
    pub details: Vec<String>,
    pub execution_messages: Vec<TaskMessageWire>,
    #[schema(value_type = Object)]
    pub output_data: serde_json::Value,
    pub create_time: DateTime<Utc>,
    pub complete_time: Option<DateTime<Utc>>,
    pub cancellation_requested: bool,
}

impl TaskWire {
    pub fn of(task: &TaskRecord) -> Self {
        Self {
            id: task.id.clone(),
            status: task.status.as_str().to_string(),
            details: task.details.clone(),
            execution_messages: task
                .messages
                .iter()
                .map(|m| TaskMessageWire {
                    level: m.level.clone(),
                    message: m.message.clone(),
                })
                .collect(),
            output_data: task.output.clone(),
            create_time: task.created_at,
            complete_time: task.completed_at,
            cancellation_requested: task.cancellation_requested,
        }
    }
}

#[utoipa::path(
    get, path = "/api/v2/task/{taskId}", tag = "Tasks",
    summary = "Get a task's status",
    params(("taskId" = String, Path, description = "The id answered when the task started")),
    responses(
        (status = 200, description = "The task", body = TaskWire),
    ),
    security(("bearer" = []))
)]
pub async fn get_task(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<TaskWire>> {
    let task = state.app.task(&caller.principal, &id).await?;
    Ok(Json(TaskWire::of(&task)))
}
