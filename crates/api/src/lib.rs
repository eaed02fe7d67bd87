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
mod routes;
mod small_body;
mod state;
mod token_limit;
mod wire;

use axum::http::Method;
use axum::routing::{delete, get, patch, post, put, MethodRouter};
use axum::Router;
use tower_http::trace::TraceLayer;

pub use error::{status_of, ApiError, ApiResult};
pub use openapi::document as openapi_document;
pub use state::{ApiConfig, AppState};
pub use token_limit::FailureLimit;

use routes::{clients, directory, discovery, end_users, health, sync, tasks, token};

/// Where the `/api` routes are mounted: clients configure `baseUrl = https://host/tenantui`.
pub const API_PREFIXES: [&str; 2] = ["/api", "/tenantui/api"];

/// One route: its method, its path (under each of `API_PREFIXES` when `api`), its handler.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub api: bool,
    pub time_limit: TimeLimit,
    handler: MethodRouter<AppState>,
}

/// What bounds a route's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeLimit {
    /// It must answer within the request timeout (`--request-timeout`).
    Request,
    /// A streamed upload: it may take as long as bytes keep arriving (the stall timeout).
    Streamed,
}

fn api(method: Method, path: &'static str, handler: MethodRouter<AppState>) -> Route {
    Route {
        method,
        path,
        api: true,
        time_limit: TimeLimit::Request,
        handler,
    }
}

fn machine(method: Method, path: &'static str, handler: MethodRouter<AppState>) -> Route {
    Route {
        method,
        path,
        api: false,
        time_limit: TimeLimit::Request,
        handler,
    }
}

impl Route {
    fn streamed(mut self) -> Self {
        self.time_limit = TimeLimit::Streamed;
        self
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
        )
        .streamed(),
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
            get(discovery::openid_configuration),
        ),
        machine(
            Method::GET,
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(discovery::tenant_openid_configuration),
        ),
        machine(
            Method::GET,
            "/{tenant}/.well-known/openid-configuration",
            get(discovery::tenant_openid_configuration_unversioned),
        ),
        machine(Method::GET, "/discovery/v2.0/keys", get(discovery::jwks)),
        machine(
            Method::GET,
            "/{tenant}/discovery/v2.0/keys",
            get(discovery::tenant_jwks),
        ),
        machine(Method::GET, "/oauth2/v2.0/authorize", get(discovery::authorize_root)),
        machine(
            Method::POST,
            "/oauth2/v2.0/authorize",
            post(discovery::authorize_root_post),
        ),
        machine(
            Method::GET,
            "/{tenant}/oauth2/v2.0/authorize",
            get(discovery::authorize),
        ),
        machine(
            Method::POST,
            "/{tenant}/oauth2/v2.0/authorize",
            post(discovery::authorize_post),
        ),
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
