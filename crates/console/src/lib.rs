//! rosterd's web console, served at `/console/`: a thin adapter over the application layer like
//! the HTTP API. Pages are rendered on the server (maud templates compiled into the binary); the
//! stylesheet and htmx (from the `htmx.org` npm package, see `assets/`) are embedded, so an
//! air-gapped install works and nothing is loaded from another origin. Every page works for
//! reading with JavaScript off; htmx only refreshes a running sync's progress.
//!
//! People sign in with a console account (`rosterd account create`); a signed-in account is a
//! `Principal::Account`, authorized by the same rules as API clients. `route_table` lists every
//! route with what it needs, and the router and the console's authorization matrix test are
//! built from it.

// Helpers answer `Result<_, Response>` so a handler can return a finished refusal page early;
// one response per request, so its size does not matter.
#![allow(clippy::result_large_err)]

mod pages;
mod render;
mod session;

use std::sync::Arc;

use api::{FailureLimit, TokenFailures};
use app::App;
use axum::http::{header, HeaderValue, Method};
use axum::response::Response;
use axum::routing::{get, post, MethodRouter};
use axum::Router;

/// Where the console is mounted.
pub const PREFIX: &str = "/console";

/// The Content-Security-Policy of every console answer: nothing from other origins, no inline
/// script or style, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Largest form body accepted, in bytes.
pub const FORM_LIMIT: usize = 64 * 1024;

/// Settings of the console.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    /// Mark the session cookie `Secure` (the public URL is https).
    pub secure_cookies: bool,
    /// Failed sign-ins allowed per account name and per source address.
    pub sign_in_failures: FailureLimit,
}

impl ConsoleConfig {
    /// The console of an installation reached at `public_url`.
    pub fn for_public_url(public_url: &str, sign_in_failures: FailureLimit) -> Self {
        Self {
            secure_cookies: public_url.starts_with("https://"),
            sign_in_failures,
        }
    }
}

/// Handles shared by every console request. Cheap to clone.
#[derive(Clone)]
pub struct ConsoleState {
    pub app: Arc<App>,
    pub config: Arc<ConsoleConfig>,
    failures: Arc<TokenFailures>,
}

impl ConsoleState {
    pub fn new(app: Arc<App>, config: ConsoleConfig) -> Self {
        Self {
            failures: Arc::new(TokenFailures::new(config.sign_in_failures)),
            config: Arc::new(config),
            app,
        }
    }
}

/// What a route needs of its caller. Roles beyond "signed in" are decided by the application
/// layer (the page only hides what the role cannot use); this says what the matrix test expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Anyone (sign-in, assets).
    Nobody,
    /// A live session.
    Session,
    /// A live session and a CSRF token; the operation's own rules decide the rest.
    SessionAndCsrf,
}

/// One console route.
pub struct ConsoleRoute {
    pub method: Method,
    /// The full path (under [`PREFIX`]), with `{parameters}`.
    pub path: &'static str,
    pub needs: Needs,
    handler: MethodRouter<ConsoleState>,
}

fn route(method: Method, path: &'static str, needs: Needs, handler: MethodRouter<ConsoleState>) -> ConsoleRoute {
    ConsoleRoute {
        method,
        path,
        needs,
        handler,
    }
}

/// Every console route.
pub fn route_table() -> Vec<ConsoleRoute> {
    use pages::{admin, login, services, users};
    use Needs::*;
    vec![
        route(Method::GET, "/console", Nobody, get(login::home)),
        route(Method::GET, "/console/", Nobody, get(login::home)),
        route(Method::GET, "/console/assets/{file}", Nobody, get(pages::asset)),
        route(Method::GET, "/console/login", Nobody, get(login::form)),
        route(Method::POST, "/console/login", Nobody, post(login::sign_in)),
        route(Method::POST, "/console/logout", SessionAndCsrf, post(login::sign_out)),
        route(Method::GET, "/console/services", Session, get(services::list)),
        route(Method::GET, "/console/services/{id}", Session, get(services::detail)),
        route(
            Method::POST,
            "/console/services/{id}/connection",
            SessionAndCsrf,
            post(services::change_connection),
        ),
        route(
            Method::POST,
            "/console/services/{id}/sync",
            SessionAndCsrf,
            post(services::sync_now),
        ),
        route(
            Method::GET,
            "/console/services/{id}/tasks/{task}",
            Session,
            get(services::task),
        ),
        route(Method::GET, "/console/services/{id}/users", Session, get(users::list)),
        route(Method::GET, "/console/clients", Session, get(admin::clients)),
        route(
            Method::POST,
            "/console/clients",
            SessionAndCsrf,
            post(admin::create_client),
        ),
        route(
            Method::POST,
            "/console/clients/{id}/revoke",
            SessionAndCsrf,
            post(admin::revoke_client),
        ),
        route(Method::GET, "/console/accounts", Session, get(admin::accounts)),
        route(
            Method::POST,
            "/console/accounts",
            SessionAndCsrf,
            post(admin::create_account),
        ),
        route(
            Method::POST,
            "/console/accounts/{name}/disable",
            SessionAndCsrf,
            post(admin::disable_account),
        ),
    ]
}

/// The console's routes, to be merged into rosterd's router.
pub fn router(state: ConsoleState) -> Router {
    let mut router: Router<ConsoleState> = Router::new();
    let mut merged: Vec<(&'static str, MethodRouter<ConsoleState>)> = Vec::new();
    for route in route_table() {
        match merged.iter_mut().find(|(path, _)| *path == route.path) {
            Some((_, handler)) => *handler = std::mem::take(handler).merge(route.handler),
            None => merged.push((route.path, route.handler)),
        }
    }
    for (path, handler) in merged {
        router = router.route(path, handler);
    }
    router
        .layer(axum::middleware::map_response(security_headers))
        // Console forms are small; anything bigger is refused before it is read.
        .layer(axum::extract::DefaultBodyLimit::max(FORM_LIMIT))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Headers on every console answer: the CSP, no sniffing, no referrer to other origins, and no
/// caching of pages (they show live data of one signed-in person).
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
