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
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({"status": "ready", "backend": state.store.backend()})),
        )
            .into_response(),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "backend": state.store.backend()})),
            )
                .into_response()
        }
    }
}

pub async fn openapi() -> Response {
    Json(crate::openapi::document()).into_response()
}

/// Prometheus metrics on the main listener: for provider-scoped clients (any role), since the
/// figures cover every channel and customer.
pub async fn metrics(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    caller.principal.require_provider_scope()?;
    Ok(render_metrics(&state).await)
}

/// Prometheus metrics on the separate `--metrics-listen` address, which only the scraper should
/// reach: no token.
pub async fn metrics_open(State(state): State<AppState>) -> Response {
    render_metrics(&state).await
}

/// HTTP and cache counters, plus the cached fleet gauges.
async fn render_metrics(state: &AppState) -> Response {
    let mut out = String::new();
    state.metrics.render_counters(&mut out);
    match state.metrics.fleet(state.store.as_ref()).await {
        Ok(fleet) => {
            for (name, help, value) in [
                (
                    "rosterd_services",
                    "Services (customers) in this installation.",
                    fleet.services,
                ),
                (
                    "rosterd_services_connected",
                    "Services with a secure connection to their tenant.",
                    fleet.connected,
                ),
                (
                    "rosterd_services_sync_failing",
                    "Services whose last sync failed.",
                    fleet.failing,
                ),
                ("rosterd_users_served", "Users served across all services.", fleet.users),
            ] {
                out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n"));
            }
            out.push_str("# HELP rosterd_up Whether the database answered.\n# TYPE rosterd_up gauge\nrosterd_up 1\n");
        }
        Err(error) => {
            tracing::warn!(%error, "metrics: store unavailable");
            out.push_str("# HELP rosterd_up Whether the database answered.\n# TYPE rosterd_up gauge\nrosterd_up 0\n");
        }
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}
