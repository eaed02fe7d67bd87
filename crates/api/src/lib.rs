//! rosterd's HTTP edge. `router` lists every route; handlers live in `routes/`, one module per
//! resource; `caller` authenticates and scopes; `error` maps every failure to problem+json.

pub mod audit;
pub mod caller;
pub mod client_admin;
pub mod error;
pub mod external_issuer;
pub mod import;
pub mod json_body;
pub mod keyring;
pub mod metrics;
pub mod openapi;
pub mod page_cache;
pub mod query;
pub mod request_id;
pub mod request_timeout;
pub mod routes;
pub mod state;
pub mod sync_port;
pub mod wire;

use axum::routing::{delete, get, post, put};
use axum::Router;
use tower_http::trace::TraceLayer;

pub use error::{ApiError, ApiResult};
pub use keyring::KeyRing;
pub use state::{ApiConfig, AppState};
pub use sync_port::{ConnectionCheck, LaunchError, SyncPort};

use routes::{clients, directory, discovery, end_users, health, sync, tasks, token};

/// The `/api` routes, mounted at `/api` and again at `/tenantui/api`. Every route answers
/// within the request timeout except the streamed upload, which is added after the timeout
/// layer (axum merges it into the same path's method router, unwrapped) and is bounded by its
/// stall timeout instead.
fn api_routes(state: &AppState) -> Router<AppState> {
    bounded_api_routes()
        .route_layer(axum::middleware::from_fn_with_state(
            state.config.request_timeout,
            request_timeout::enforce,
        ))
        .route("/v3/customer/{customerGuid}/user", put(end_users::replace_users))
}

fn bounded_api_routes() -> Router<AppState> {
    Router::new()
        .route("/v3/customer", get(directory::list_v3))
        .route(
            "/v3/customer/{customerGuid}",
            get(directory::get_v3).patch(directory::patch),
        )
        .route("/v3/customer/{customerGuid}/user", get(end_users::list_users))
        .route("/v3/customer/{customerGuid}/user/sync", post(sync::start_sync))
        .route("/v2/customer", get(directory::list_v2).post(directory::create))
        .route("/v2/customer/{customerGuid}", get(directory::get_v2))
        .route("/v2/task/{taskId}", get(tasks::get_task))
        .route("/rosterd/clients", get(clients::list).post(clients::create))
        .route("/rosterd/clients/{clientId}", delete(clients::revoke))
}

async fn not_found() -> ApiError {
    ApiError::NotFound("route_not_found", "no such route; see /openapi.json".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// The whole HTTP surface of rosterd.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/oauth2/v2.0/token", post(token::token))
        .route("/{tenant}/oauth2/v2.0/token", post(token::token_for_tenant))
        .route(
            "/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(discovery::tenant_openid_configuration),
        )
        .route(
            "/{tenant}/.well-known/openid-configuration",
            get(discovery::tenant_openid_configuration_unversioned),
        )
        .route("/discovery/v2.0/keys", get(discovery::jwks))
        .route("/{tenant}/discovery/v2.0/keys", get(discovery::tenant_jwks))
        .route(
            "/oauth2/v2.0/authorize",
            get(discovery::authorize_root).post(discovery::authorize_root),
        )
        .route(
            "/{tenant}/oauth2/v2.0/authorize",
            get(discovery::authorize).post(discovery::authorize),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/openapi.json", get(health::openapi))
        .route("/metrics", get(health::metrics))
        .route_layer(axum::middleware::from_fn_with_state(
            state.config.request_timeout,
            request_timeout::enforce,
        ))
        .nest("/api", api_routes(&state))
        .nest("/tenantui/api", api_routes(&state))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::count))
        .layer(axum::middleware::from_fn(request_id::assign))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
