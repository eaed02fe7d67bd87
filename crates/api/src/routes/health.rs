//! Machine endpoints outside `/api`: liveness, readiness, the OpenAPI document and metrics.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::caller::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// Liveness: the process answers.
pub async fn healthz() -> Response {
    (StatusCode::OK, Json(json!({"status": "ok"}))).into_response()
}

/// Readiness: the database answers too.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let readiness = state.app.readiness().await;
    let (status, text) = if readiness.ready {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    };
    (status, Json(json!({"status": text, "backend": readiness.backend}))).into_response()
}

pub async fn openapi() -> Response {
    Json(crate::openapi::document()).into_response()
}

/// Prometheus metrics on the main listener: for provider-scoped clients (any role), since the
/// figures cover every channel and customer.
pub async fn metrics(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    state.app.may_read_metrics(&caller.principal)?;
    Ok(render_metrics(&state).await)
}

/// Prometheus metrics on the separate `--metrics-listen` address, which only the scraper should
/// reach: no token.
pub async fn metrics_open(State(state): State<AppState>) -> Response {
    render_metrics(&state).await
}

async fn render_metrics(state: &AppState) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::metrics::render(state).await,
    )
        .into_response()
}
