//! The fake's HTTP surface: Entra's token endpoint and the three Graph collections, with the
//! injected faults applied around the normal answers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use uuid::Uuid;

use super::faults::{Endpoint, Fault};
use super::state::{FakeState, Reply};

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
        .with_state(shared)
}

type Params = HashMap<String, String>;

async fn token(State(shared): State<Shared>, Path(tenant): Path<String>, Form(form): Form<Params>) -> Response {
    let fault = lock(&shared).faults.on_request(Endpoint::Token);
    answer(&shared, fault, |state| state.issue_token(&tenant, &form)).await
}

async fn users(State(shared): State<Shared>, headers: HeaderMap, Query(query): Query<Params>) -> Response {
    graph(shared, Endpoint::Users, headers, move |state, tenant| {
        state.users(tenant, &query)
    })
    .await
}

async fn delta(State(shared): State<Shared>, headers: HeaderMap, Query(query): Query<Params>) -> Response {
    graph(shared, Endpoint::UsersDelta, headers, move |state, tenant| {
        state.delta(tenant, &query)
    })
    .await
}

async fn configurations(State(shared): State<Shared>, headers: HeaderMap, Query(query): Query<Params>) -> Response {
    graph(shared, Endpoint::UserConfigurations, headers, move |state, tenant| {
        state.configurations(tenant, &query)
    })
    .await
}

async fn graph(
    shared: Shared,
    endpoint: Endpoint,
    headers: HeaderMap,
    produce: impl FnOnce(&FakeState, Uuid) -> Reply,
) -> Response {
    let fault = lock(&shared).faults.on_request(endpoint);
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    answer(&shared, fault, move |state| {
        match state.authenticate(authorization.as_deref()) {
            Ok(tenant) => produce(state, tenant),
            Err(refusal) => refusal,
        }
    })
    .await
}

/// Applies `fault` (if any) around the normal answer computed by `produce`.
async fn answer(shared: &Shared, fault: Option<Fault>, produce: impl FnOnce(&mut FakeState) -> Reply) -> Response {
    let immediate = match &fault {
        Some(Fault::TooManyRequests { retry_after_secs }) => Some(throttled(
            Reply::graph_error(429, "TooManyRequests", "Too many requests, retry later."),
            *retry_after_secs,
        )),
        Some(Fault::ServiceUnavailable { retry_after_secs }) => Some(throttled(
            Reply::graph_error(503, "serviceNotAvailable", "The service is temporarily unavailable."),
            *retry_after_secs,
        )),
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
        Some(Fault::Delay(_) | Fault::TruncatedJson) | None => None,
    };
    if let Some(response) = immediate {
        return response;
    }
    if let Some(Fault::Delay(pause)) = fault {
        tokio::time::sleep(pause).await;
    }
    let reply = {
        let mut state = lock(shared);
        produce(&mut state)
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

fn throttled(reply: Reply, retry_after_secs: Option<u64>) -> Response {
    let mut response = json_response(&reply);
    if let Some(seconds) = retry_after_secs {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
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
