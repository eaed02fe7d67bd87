//! `POST /api/v3/customer/{customerGuid}/user/sync`: start a replication from Microsoft Graph now.

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::caller::{Caller, CustomerGuid};
use crate::error::ApiResult;
use crate::query::Query;
use crate::state::AppState;

#[utoipa::path(
    post, path = "/api/v3/customer/{customerGuid}/user/sync", tag = "End users",
    summary = "Start a sync from Microsoft Graph",
    description = "Answers the task id as a bare JSON string (like the Live Platform's long operations); poll it with GET /api/v2/task/{taskId}. `full=true` ignores the stored delta link and reads the whole tenant.",
    params(
        CustomerGuid,
        ("full" = Option<bool>, Query, description = "Full reconciliation instead of a delta round"),
    ),
    responses(
        (status = 202, description = "Started; Location names the task; the task id as a JSON string", body = String, content_type = "application/json"),
    ),
    security(("bearer" = []))
)]
pub async fn start_sync(
    State(state): State<AppState>,
    caller: Caller,
    CustomerGuid(customer): CustomerGuid,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let full = Query::parse(raw.as_deref()).flag("full")?;
    let task = state.app.start_sync(&caller.principal, customer, full).await?;
    let mut response = (StatusCode::ACCEPTED, Json(task.clone())).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v2/task/{task}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}
