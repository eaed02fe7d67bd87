//! Every route rosterd serves, each declared once with its documentation: the handler's
//! `#[utoipa::path]` gives its method, path, parameters and answers; the table adds where it is
//! mounted, what bounds its time and which error codes it may answer. The router, the OpenAPI
//! document and the authorization matrix test are all built from this list, so a route cannot be
//! served undocumented or untested.

use axum::http::Method;
use axum::routing::MethodRouter;
use domain::ErrorCode::{self, *};
use utoipa::openapi::path::{Operation, PathItem, Paths};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::RefOr;
use utoipa_axum::routes;

use crate::routes::{
    clients, directory, discovery, end_users, export, graph_notifications, health, numbers, sync, tasks, token,
    user_changes,
};
use crate::state::AppState;

/// Where the `/api` routes are mounted: clients configure `baseUrl = https://host/tenantui`.
pub const API_PREFIXES: [&str; 2] = ["/api", "/tenantui/api"];

/// What bounds a route's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeLimit {
    /// It must answer within the request timeout (`--request-timeout`).
    Request,
    /// A streamed upload: it may take as long as bytes keep arriving (the stall timeout).
    Streamed,
}

/// One route: its handler with its documented operation.
pub struct Route {
    pub method: Method,
    /// The path under each of [`API_PREFIXES`] for an API route, else the full path.
    pub path: String,
    pub api: bool,
    pub time_limit: TimeLimit,
    /// The error codes it may answer besides `internal_error` (and `request_timeout` under a
    /// request time limit).
    pub errors: Vec<ErrorCode>,
    pub(crate) handler: MethodRouter<AppState>,
    pub(crate) operation: Operation,
    pub(crate) schemas: Vec<(String, RefOr<Schema>)>,
}

type Documented = (Vec<(String, RefOr<Schema>)>, Paths, MethodRouter<AppState>);

/// Every authenticated route: a token, and the channel header its caller may send.
const AUTHENTICATED: &[ErrorCode] = &[MissingToken, InvalidToken, InvalidChannelId];
/// A route naming a customer in its path.
const CUSTOMER: &[ErrorCode] = &[InvalidCustomerGuid, CustomerNotFound];
/// A JSON object body (at most 256 KiB).
const JSON_BODY: &[ErrorCode] = &[MalformedBody, EmptyBody, BodyReadFailed, BodyTooLarge, InvalidField];
/// A boolean query flag.
const FLAG: &[ErrorCode] = &[InvalidParameter, RepeatedParameter];

fn route(documented: Documented, api: bool) -> Route {
    let (schemas, paths, handler) = documented;
    let mut found = paths.paths.into_iter();
    let (path, item) = match (found.next(), found.next()) {
        (Some(one), None) => one,
        _ => unreachable_route(),
    };
    let (method, operation) = only_operation(item);
    let path = match api {
        true => path.strip_prefix("/api").map(str::to_string).unwrap_or(path),
        false => path,
    };
    Route {
        method,
        path,
        api,
        time_limit: TimeLimit::Request,
        errors: if api { AUTHENTICATED.to_vec() } else { Vec::new() },
        handler,
        operation,
        schemas,
    }
}

/// A route table entry names exactly one handler with one method; anything else is a mistake in
/// the table itself, caught by every test that builds the router.
#[allow(clippy::panic)]
fn unreachable_route() -> ! {
    panic!("each route of the table documents exactly one path and method")
}

fn only_operation(item: PathItem) -> (Method, Operation) {
    let operations = [
        (Method::GET, item.get),
        (Method::PUT, item.put),
        (Method::POST, item.post),
        (Method::DELETE, item.delete),
        (Method::PATCH, item.patch),
    ];
    let mut found = operations.into_iter().filter_map(|(m, op)| op.map(|op| (m, op)));
    match (found.next(), found.next()) {
        (Some(one), None) => one,
        _ => unreachable_route(),
    }
}

/// A route under [`API_PREFIXES`], which needs a bearer token.
fn api(documented: Documented) -> Route {
    route(documented, true)
}

/// A route outside `/api` (tokens, discovery, health).
fn machine(documented: Documented) -> Route {
    route(documented, false)
}

impl Route {
    fn streamed(mut self) -> Self {
        self.time_limit = TimeLimit::Streamed;
        self
    }

    fn errors(mut self, codes: &[&[ErrorCode]]) -> Self {
        self.errors.extend(codes.iter().flat_map(|set| set.iter().copied()));
        self
    }

    /// The full paths this route answers at.
    pub fn paths(&self) -> Vec<String> {
        if self.api {
            API_PREFIXES
                .iter()
                .map(|prefix| format!("{prefix}{}", self.path))
                .collect()
        } else {
            vec![self.path.clone()]
        }
    }

    /// Where the OpenAPI document lists it (API routes under `/api`; `/tenantui/api` mirrors it).
    pub fn documented_path(&self) -> String {
        if self.api {
            format!("/api{}", self.path)
        } else {
            self.path.clone()
        }
    }
}

/// Every route rosterd serves.
pub fn route_table() -> Vec<Route> {
    vec![
        api(routes!(directory::list_v3)).errors(&[FLAG]),
        api(routes!(directory::get_v3)).errors(&[CUSTOMER, FLAG]),
        api(routes!(directory::patch)).errors(&[
            CUSTOMER,
            JSON_BODY,
            &[
                InsufficientRole,
                ForbiddenField,
                InvalidLicenseType,
                TenantInUse,
                Conflict,
            ],
        ]),
        api(routes!(end_users::list_users)).errors(&[
            CUSTOMER,
            &[
                InvalidPageNumber,
                InvalidPageSize,
                InvalidParameter,
                RepeatedParameter,
                UnsupportedServiceType,
                NoSecureConnection,
                Conflict,
                GenerationExpired,
            ],
        ]),
        api(routes!(user_changes::user_changes)).errors(&[
            CUSTOMER,
            &[
                InvalidParameter,
                RepeatedParameter,
                UnsupportedServiceType,
                NoSecureConnection,
                GenerationExpired,
            ],
        ]),
        api(routes!(export::export_users)).errors(&[
            CUSTOMER,
            &[
                InvalidParameter,
                RepeatedParameter,
                NotAcceptable,
                UnsupportedServiceType,
                NoSecureConnection,
                ExportBusy,
            ],
        ]),
        // A literal segment (`sync`, and `export`, `changes`) wins over `{key}` in the router.
        api(routes!(end_users::get_user)).errors(&[
            CUSTOMER,
            &[
                InvalidParameter,
                UserNotFound,
                UnsupportedServiceType,
                NoSecureConnection,
                Conflict,
            ],
        ]),
        api(routes!(numbers::number_owner)).errors(&[&[InvalidNumber, NumberNotFound]]),
        api(routes!(end_users::replace_users)).streamed().errors(&[
            CUSTOMER,
            FLAG,
            &[
                InsufficientRole,
                UnsupportedServiceType,
                MalformedBody,
                EmptyBody,
                BodyReadFailed,
                UnsupportedBody,
                InvalidUserRow,
                FieldTooLong,
                RowTooLarge,
                DuplicateIdentity,
                EmptyUserSet,
                BodyTooLarge,
                BodyStalled,
                UnsupportedMediaType,
                ConcurrentImport,
                ImportBusy,
            ],
        ]),
        api(routes!(sync::start_sync)).errors(&[
            CUSTOMER,
            FLAG,
            &[
                InsufficientRole,
                UnsupportedServiceType,
                NoSecureConnection,
                SyncInProgress,
                Unavailable,
            ],
        ]),
        api(routes!(directory::list_v2)),
        api(routes!(directory::create)).errors(&[
            JSON_BODY,
            &[
                InsufficientRole,
                ScopeTooWide,
                ShortNameTaken,
                TenantInUse,
                ServiceExists,
            ],
        ]),
        api(routes!(directory::get_v2)).errors(&[CUSTOMER]),
        api(routes!(tasks::get_task)).errors(&[&[TaskNotFound]]),
        api(routes!(clients::list)).errors(&[&[InsufficientRole]]),
        api(routes!(clients::create))
            .errors(&[JSON_BODY, &[InsufficientRole, ScopeTooWide, RoleTooHigh, ClientExists]]),
        api(routes!(clients::revoke)).errors(&[&[InsufficientRole, ClientNotFound]]),
        machine(routes!(token::token)),
        machine(routes!(token::token_for_tenant)),
        machine(routes!(discovery::openid_configuration)),
        machine(routes!(discovery::tenant_openid_configuration)),
        machine(routes!(discovery::tenant_openid_configuration_unversioned)),
        machine(routes!(discovery::jwks)),
        machine(routes!(discovery::tenant_jwks)),
        machine(routes!(discovery::authorize_root)),
        machine(routes!(discovery::authorize_root_post)),
        machine(routes!(discovery::authorize)),
        machine(routes!(discovery::authorize_post)),
        machine(routes!(health::healthz)),
        machine(routes!(health::readyz)),
        machine(routes!(health::openapi)),
        machine(routes!(health::metrics)).errors(&[AUTHENTICATED, &[InsufficientScope]]),
        // Microsoft Graph's deliveries: no token, each entry authenticated by its clientState.
        machine(routes!(graph_notifications::notifications)),
        machine(routes!(graph_notifications::lifecycle)),
    ]
}
