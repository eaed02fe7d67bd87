//! The fake's HTTP surface: Entra's token endpoint and the three Graph collections, with the
//! injected faults applied around the normal answers, and every request logged with the time
//! it was in flight.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, patch, post};
use axum::{Form, Router};
use uuid::Uuid;

use super::faults::{Endpoint, Fault};
use super::state::{FakeState, ListingOptions, Reply};
use super::subscriptions;
use super::RequestRecord;

pub(crate) type Shared = Arc<Mutex<FakeState>>;

pub(crate) fn lock(shared: &Shared) -> MutexGuard<'_, FakeState> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn router(shared: Shared) -> Router {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route("/v1.0/users", get(users))
        .route("/v1.0/users/delta", get(delta))
        .route("/v1.0/admin/teams/userConfigurations", get(configurations))
        .route("/v1.0/admin/teams/userConfigurations/{id}", get(configuration))
        .route("/v1.0/subscriptions", post(subscriptions::create))
        .route(
            "/v1.0/subscriptions/{id}",
            patch(subscriptions::renew).delete(subscriptions::delete),
        )
        .route("/v1.0/subscriptions/{id}/reauthorize", post(subscriptions::reauthorize))
        .with_state(shared)
}

type Params = HashMap<String, String>;

async fn token(State(shared): State<Shared>, Path(tenant): Path<String>, Form(form): Form<Params>) -> Response {
    let started = Instant::now();
    let fault = lock(&shared).faults.on_request(Endpoint::Token);
    let tenant_id = Uuid::parse_str(&tenant).ok();
    let response = answer(&shared, fault, |state, _| state.issue_token(&tenant, &form)).await;
    log(&shared, Endpoint::Token, tenant_id, started, &response);
    response
}

async fn users(
    State(shared): State<Shared>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    Query(query): Query<Params>,
) -> Response {
    remember_query(&shared, Endpoint::Users, raw);
    graph(shared, Endpoint::Users, headers, move |state, tenant, _, _| {
        state.users(tenant, &query)
    })
    .await
}

async fn delta(
    State(shared): State<Shared>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    Query(query): Query<Params>,
) -> Response {
    remember_query(&shared, Endpoint::UsersDelta, raw);
    graph(shared, Endpoint::UsersDelta, headers, move |state, tenant, _, fault| {
        state.delta(tenant, &query, fault)
    })
    .await
}

async fn configurations(
    State(shared): State<Shared>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    Query(query): Query<Params>,
) -> Response {
    remember_query(&shared, Endpoint::UserConfigurations, raw);
    graph(
        shared,
        Endpoint::UserConfigurations,
        headers,
        move |state, tenant, options, _| state.configurations(tenant, &query, options),
    )
    .await
}

fn remember_query(shared: &Shared, endpoint: Endpoint, raw: Option<String>) {
    lock(shared).last_queries.insert(endpoint, raw.unwrap_or_default());
}

async fn configuration(
    State(shared): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(query): Query<Params>,
) -> Response {
    graph(
        shared,
        Endpoint::UserConfiguration,
        headers,
        move |state, tenant, options, _| state.configuration(tenant, &id, &query, options),
    )
    .await
}

/// A Graph request: counted, faulted, authenticated with its bearer token, logged.
async fn graph(
    shared: Shared,
    endpoint: Endpoint,
    headers: HeaderMap,
    produce: impl FnOnce(&mut FakeState, Uuid, ListingOptions, Option<&Fault>) -> Reply,
) -> Response {
    let started = Instant::now();
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let options = ListingOptions::from_prefer(headers.get_all("prefer").iter().filter_map(|v| v.to_str().ok()));
    let (fault, tenant) = {
        let mut state = lock(&shared);
        let fault = state.faults.on_request(endpoint);
        (fault, state.authenticate(authorization.as_deref()).ok())
    };
    let response = answer(&shared, fault, move |state, fault| {
        match state.authenticate(authorization.as_deref()) {
            Ok(tenant) => produce(state, tenant, options, fault),
            Err(refusal) => refusal,
        }
    })
    .await;
    log(&shared, endpoint, tenant, started, &response);
    response
}

pub(crate) fn log_request(
    shared: &Shared,
    endpoint: Endpoint,
    tenant: Option<Uuid>,
    started: Instant,
    response: &Response,
) {
    log(shared, endpoint, tenant, started, response);
}

/// A reply as JSON (an empty body for 204).
pub(crate) fn json_reply(reply: &Reply) -> Response {
    if reply.status == 204 {
        return raw_response(204, "application/json", Vec::new());
    }
    json_response(reply)
}

fn log(shared: &Shared, endpoint: Endpoint, tenant: Option<Uuid>, started: Instant, response: &Response) {
    lock(shared).requests.push(RequestRecord {
        endpoint,
        tenant,
        status: response.status().as_u16(),
        started,
        finished: Instant::now(),
    });
}

/// Applies `fault` (if any) around the normal answer computed by `produce`, which sees the
/// faults that shape the answer itself (extra items on a page).
async fn answer(
    shared: &Shared,
    fault: Option<Fault>,
    produce: impl FnOnce(&mut FakeState, Option<&Fault>) -> Reply,
) -> Response {
    let immediate = match &fault {
        Some(Fault::TooManyRequests { retry_after_secs }) => {
            Some(throttled(429, retry_after_secs.map(|secs| secs.to_string()).as_deref()))
        }
        Some(Fault::ServiceUnavailable { retry_after_secs }) => {
            Some(throttled(503, retry_after_secs.map(|secs| secs.to_string()).as_deref()))
        }
        Some(Fault::RetryAfter { status, value }) => Some(throttled(*status, Some(value))),
        Some(Fault::Status(status)) => Some(json_response(&Reply::graph_error(
            *status,
            "generalException",
            "An injected failure.",
        ))),
        Some(Fault::Gone) => Some(json_response(&Reply::graph_error(
            410,
            "syncStateNotFound",
            "The delta token has expired; resync required.",
        ))),
        Some(Fault::Unauthorized) => Some(json_response(&Reply::graph_error(
            401,
            "InvalidAuthenticationToken",
            "Access token validation failure.",
        ))),
        Some(Fault::TokenError {
            status,
            error,
            description,
        }) => Some(json_response(&Reply::token_error(*status, error, description, 0))),
        Some(Fault::InvalidJson) => Some(raw_response(
            200,
            "application/json",
            b"<html><body>Service temporarily unavailable</body></html>".to_vec(),
        )),
        Some(
            Fault::Delay(_) | Fault::TruncatedJson | Fault::Pass | Fault::RepeatItems(_) | Fault::RemoveListedUsers(_),
        )
        | None => None,
    };
    if let Some(response) = immediate {
        return response;
    }
    if let Some(Fault::Delay(pause)) = fault {
        tokio::time::sleep(pause).await;
    }
    let reply = {
        let mut state = lock(shared);
        produce(&mut state, fault.as_ref())
    };
    match fault {
        Some(Fault::TruncatedJson) => {
            let mut body = serde_json::to_vec(&reply.body).unwrap_or_default();
            body.truncate(body.len() / 2);
            raw_response(reply.status, "application/json", body)
        }
        _ => json_response(&reply),
    }
}

fn throttled(status: u16, retry_after: Option<&str>) -> Response {
    let reply = if status == 503 {
        Reply::graph_error(503, "serviceNotAvailable", "The service is temporarily unavailable.")
    } else {
        Reply::graph_error(status, "TooManyRequests", "Too many requests, retry later.")
    };
    let mut response = json_response(&reply);
    if let Some(value) = retry_after.and_then(|v| HeaderValue::from_bytes(v.as_bytes()).ok()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

fn json_response(reply: &Reply) -> Response {
    raw_response(
        reply.status,
        "application/json",
        serde_json::to_vec(&reply.body).unwrap_or_default(),
    )
}

fn raw_response(status: u16, content_type: &'static str, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
