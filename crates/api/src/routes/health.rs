//! Machine endpoints outside `/api`: liveness, readiness, the OpenAPI document and metrics.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::caller::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// `{"status": ...}` of the health routes, and the store backend for readiness.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`, `ready` or `unavailable`.
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    backend: Option<&'static str>,
}

/// Liveness: the process answers.
#[utoipa::path(
    get, path = "/healthz", tag = "Machine",
    summary = "Liveness",
    responses((status = 200, description = "The process answers", body = Health))
)]
pub async fn healthz() -> Response {
    let health = Health {
        status: "ok",
        backend: None,
    };
    (StatusCode::OK, Json(health)).into_response()
}

/// Readiness: the database answers too.
#[utoipa::path(
    get, path = "/readyz", tag = "Machine",
    summary = "Readiness",
    responses(
        (status = 200, description = "The database answers", body = Health),
        (status = 503, description = "The database does not answer", body = Health),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let readiness = state.app.readiness().await;
    let (status, text) = if readiness.ready {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    };
    let health = Health {
        status: text,
        backend: Some(readiness.backend),
    };
    (status, Json(health)).into_response()
}

#[utoipa::path(
    get, path = "/openapi.json", tag = "Machine",
    summary = "This document",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object))
)]
pub async fn openapi() -> Response {
    Json(crate::openapi::document()).into_response()
}

/// Prometheus metrics on the main listener: for provider-scoped clients (any role), since the
/// figures cover every channel and customer.
#[utoipa::path(
    get, path = "/metrics", tag = "Machine",
    summary = "Prometheus metrics",
    description = "For provider-scoped clients (any role); without a token on `--metrics-listen`.",
    responses((status = 200, description = "OpenMetrics text format (Prometheus scrapes it)", content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8", body = String)),
    security(("bearer" = []))
)]
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
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        crate::metrics::render(state).await,
    )
        .into_response()
}
