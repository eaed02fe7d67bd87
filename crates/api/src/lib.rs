//! rosterd's HTTP edge. `route_table` lists every route, and both the router and the
//! authorization matrix test are built from it; handlers live in `routes/`, one module per
//! resource; `caller` authenticates and authorizes (`Customer<A>` for every customer route);
//! `error` maps every failure to problem+json.

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
pub mod routes;
pub mod small_body;
pub mod state;
pub mod sync_port;
pub mod token_limit;
pub mod wire;

use axum::http::Method;
use axum::routing::{delete, get, patch, post, put, MethodRouter};
use axum::Router;
use tower_http::trace::TraceLayer;

pub use error::{ApiError, ApiResult};
pub use keyring::KeyRing;
pub use state::{ApiConfig, AppState};
pub use sync_port::{ConnectionCheck, LaunchError, SyncPort};

use routes::{clients, directory, end_users, health, sync, tasks, token};

/// Where the `/api` routes are mounted: clients configure `baseUrl = https://host/tenantui`.
pub const API_PREFIXES: [&str; 2] = ["/api", "/tenantui/api"];

/// One route: its method, its path (under each of `API_PREFIXES` when `api`), its handler.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub api: bool,
    handler: MethodRouter<AppState>,
}

fn api(method: Method, path: &'static str, handler: MethodRouter<AppState>) -> Route {
    Route {
        method,
        path,
        api: true,
        handler,
    }
}

fn machine(method: Method, path: &'static str, handler: MethodRouter<AppState>) -> Route {
    Route {
        method,
        path,
        api: false,
        handler,
    }
}

/// Every route rosterd serves. The router is built from this list, and so is the authorization
/// matrix test, which fails for a route that has no row in it.
pub fn route_table() -> Vec<Route> {
    vec![
        api(Method::GET, "/v3/customer", get(directory::list_v3)),
        api(Method::GET, "/v3/customer/{customerGuid}", get(directory::get_v3)),
        api(Method::PATCH, "/v3/customer/{customerGuid}", patch(directory::patch)),
        api(
            Method::GET,
            "/v3/customer/{customerGuid}/user",
            get(end_users::list_users),
        ),
        api(
            Method::PUT,
            "/v3/customer/{customerGuid}/user",
            put(end_users::replace_users),
        ),
        api(
            Method::POST,
            "/v3/customer/{customerGuid}/user/sync",
            post(sync::start_sync),
        ),
        api(Method::GET, "/v2/customer", get(directory::list_v2)),
        api(Method::POST, "/v2/customer", post(directory::create)),
        api(Method::GET, "/v2/customer/{customerGuid}", get(directory::get_v2)),
        api(Method::GET, "/v2/task/{taskId}", get(tasks::get_task)),
        api(Method::GET, "/rosterd/clients", get(clients::list)),
        api(Method::POST, "/rosterd/clients", post(clients::create)),
        api(Method::DELETE, "/rosterd/clients/{clientId}", delete(clients::revoke)),
        machine(Method::POST, "/oauth2/v2.0/token", post(token::token)),
        machine(
            Method::POST,
            "/{tenant}/oauth2/v2.0/token",
            post(token::token_for_tenant),
        ),
        machine(
            Method::GET,
            "/.well-known/openid-configuration",
            get(token::openid_configuration),
        ),
        machine(Method::GET, "/discovery/v2.0/keys", get(token::jwks)),
        machine(Method::GET, "/healthz", get(health::healthz)),
        machine(Method::GET, "/readyz", get(health::readyz)),
        machine(Method::GET, "/openapi.json", get(health::openapi)),
        machine(Method::GET, "/metrics", get(health::metrics)),
    ]
}

impl Route {
    /// The full paths this route answers at.
    pub fn paths(&self) -> Vec<String> {
        if self.api {
            API_PREFIXES
                .iter()
                .map(|prefix| format!("{prefix}{}", self.path))
                .collect()
        } else {
            vec![self.path.to_string()]
        }
    }
}

async fn not_found() -> ApiError {
    ApiError::NotFound("route_not_found", "no such route; see /openapi.json".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// The whole HTTP surface of rosterd.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for route in route_table() {
        for path in route.paths() {
            router = router.route(&path, route.handler.clone());
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
