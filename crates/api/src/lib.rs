//! rosterd's HTTP edge: a thin adapter over the application layer (`app`). `route_table` lists
//! every route, and both the router and the authorization matrix test are built from it;
//! handlers live in `routes/`, one module per resource, and do three things: parse the request,
//! call one `app` operation with the caller's principal (authorization is decided there), render
//! the answer. `caller` authenticates; `error` maps every failure to problem+json.

mod caller;
mod error;
mod json_body;
mod metrics;
mod openapi;
mod query;
mod request_id;
mod request_timeout;
mod route_table;
mod routes;
mod small_body;
mod state;
mod token_limit;
mod wire;

use axum::routing::get;
use axum::Router;
use tower_http::trace::TraceLayer;

pub use error::{status_of, ApiError, ApiResult};
pub use openapi::document as openapi_document;
pub use route_table::{route_table, Route, TimeLimit, API_PREFIXES};
pub use state::{ApiConfig, AppState};
pub use token_limit::{FailureLimit, TokenFailures};

use routes::health;

async fn not_found() -> ApiError {
    ApiError::new(domain::ErrorCode::RouteNotFound, "no such route; see /openapi.json")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        domain::ErrorCode::MethodNotAllowed,
        "this route does not accept that method; see /openapi.json",
    )
}

/// The whole HTTP surface of rosterd.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    let timeout = axum::middleware::from_fn_with_state(state.config.request_timeout, request_timeout::enforce);
    for route in route_table() {
        let handler = match route.time_limit {
            TimeLimit::Request => route.handler.clone().route_layer(timeout.clone()),
            TimeLimit::Streamed => route.handler.clone(),
        };
        for path in route.paths() {
            router = router.route(&path, handler.clone());
        }
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::count))
        .layer(axum::middleware::from_fn(request_id::assign))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// `/metrics` alone, without a token, for a separate listener only the scraper reaches
/// (`--metrics-listen`).
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(health::metrics_open))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(request_id::assign))
        .with_state(state)
}
