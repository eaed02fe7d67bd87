//! Machine endpoints outside `/api`: liveness, readiness and the OpenAPI document.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

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

/// Prometheus metrics: HTTP and cache counters, plus fleet gauges read from the store.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut out = String::new();
    state.metrics.render_counters(&mut out);
    match state
        .store
        .list_services(&domain::access::Visibility::everything())
        .await
    {
        Ok(services) => {
            let connected = services.iter().filter(|s| s.has_secure_connection()).count();
            let failing = services.iter().filter(|s| s.sync.consecutive_failures > 0).count();
            let users: i64 = services.iter().map(|s| s.user_count).sum();
            for (name, help, value) in [
                (
                    "rosterd_services",
                    "Services (customers) in this installation.",
                    services.len() as i64,
                ),
                (
                    "rosterd_services_connected",
                    "Services with a secure connection to their tenant.",
                    connected as i64,
                ),
                (
                    "rosterd_services_sync_failing",
                    "Services whose last sync failed.",
                    failing as i64,
                ),
                ("rosterd_users_served", "Users served across all services.", users),
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
