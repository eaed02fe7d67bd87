//! `GET /api/v3/customer/{customerGuid}/user/changes?Since=N`: what changed in a customer's
//! users between generation N and the served one, streamed so that a large change never sits in
//! memory whole.

use std::sync::Arc;

use app::{App, Changes, CHANGES_BATCH};
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue};
use axum::response::Response;
use bytes::Bytes;
use domain::ErrorCode;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::caller::{Caller, CustomerGuid};
use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use crate::state::AppState;

/// The header every user-list answer carries: the generation it was read from.
pub const GENERATION_HEADER: &str = "rosterd-generation";

/// The changes answer (written by hand as it streams; this is its schema).
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct ChangesBody {
    /// The generation the client had (`Since`).
    from: i64,
    /// The served generation the changes lead to (also in `Rosterd-Generation`).
    to: i64,
    /// Users in `to` that `from` did not have, in Identity order.
    added: Vec<domain::EndUser>,
    /// Users whose record differs between `from` and `to`, as in `to`, in Identity order.
    changed: Vec<domain::EndUser>,
    /// Identities `from` had and `to` does not, in order.
    removed: Vec<Uuid>,
}

/// A generation number given as query parameter `name`: an integer from 0.
pub(crate) fn generation_parameter(query: &Query, name: &str) -> Result<Option<i64>, ApiError> {
    let Some(raw) = query.single(name)? else {
        return Ok(None);
    };
    match raw.trim().parse::<i64>() {
        Ok(generation) if generation >= 0 => Ok(Some(generation)),
        _ => Err(ApiError::at(
            ErrorCode::InvalidParameter,
            name,
            format!("{name} must be a generation number (an integer from 0, as in Rosterd-Generation); got '{raw}'"),
        )),
    }
}

#[utoipa::path(
    get,
    path = "/api/v3/customer/{customerGuid}/user/changes",
    tag = "End users",
    summary = "What changed since a generation",
    description = "The users added, changed and removed between generation `Since` (from a `Rosterd-Generation` header) and the served generation. `Since` must still be retained (`--generation-retention`, 15 minutes by default) or 0 (before the first generation: everything is added); otherwise 410 `generation_expired`, and the client reads the whole list again. The answer's size follows the change, not the customer's size.",
    params(
        CustomerGuid,
        ("Since" = i64, Query, minimum = 0, description = "The generation the client holds"),
    ),
    responses(
        (status = 200, description = "The changes; `Rosterd-Generation` names `to`", body = ChangesBody),
    ),
    security(("bearer" = []))
)]
pub async fn user_changes(
    State(state): State<AppState>,
    caller: Caller,
    CustomerGuid(customer): CustomerGuid,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = Query::parse(raw.as_deref());
    let since = generation_parameter(&query, "Since")?.ok_or_else(|| {
        ApiError::at(
            ErrorCode::InvalidParameter,
            "Since",
            "Since is required: the generation the client holds (from Rosterd-Generation), or 0",
        )
    })?;
    let changes = state.app.user_changes(&caller.principal, customer, since).await?;
    let to = changes.to;
    let stream = futures::stream::unfold(Some((Part::Head, changes, Arc::clone(&state.app))), |step| async move {
        let (part, changes, app) = step?;
        match next_chunk(part, &changes, &app).await {
            Ok((bytes, Some(next))) => Some((Ok(bytes), Some((next, changes, app)))),
            Ok((bytes, None)) => Some((Ok(bytes), None)),
            Err(error) => {
                // The status is sent; ending the body early tells the client it is incomplete.
                tracing::warn!(code = %error.code(), "a changes answer ended early");
                Some((Err(std::io::Error::other("changes answer ended early")), None))
            }
        }
    });
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert(GENERATION_HEADER, HeaderValue::from(to));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    Ok(response)
}

/// Where the streamed answer is.
enum Part {
    Head,
    Added(usize),
    Changed(usize),
    Removed(usize),
}

/// The next piece of the answer and the part after it (`None`: done).
async fn next_chunk(part: Part, changes: &Changes, app: &App) -> Result<(Bytes, Option<Part>), app::AppError> {
    Ok(match part {
        Part::Head => (
            Bytes::from(format!(r#"{{"from":{},"to":{},"added":["#, changes.from, changes.to)),
            Some(Part::Added(0)),
        ),
        Part::Added(at) if at < changes.added.len() => {
            let bodies = bodies(changes, app, &changes.added, at).await?;
            (bodies, Some(Part::Added(at + CHANGES_BATCH)))
        }
        Part::Added(_) => (Bytes::from_static(br#"],"changed":["#), Some(Part::Changed(0))),
        Part::Changed(at) if at < changes.changed.len() => {
            let bodies = bodies(changes, app, &changes.changed, at).await?;
            (bodies, Some(Part::Changed(at + CHANGES_BATCH)))
        }
        Part::Changed(_) => (Bytes::from_static(br#"],"removed":["#), Some(Part::Removed(0))),
        Part::Removed(at) if at < changes.removed.len() => {
            let end = (at + CHANGES_BATCH).min(changes.removed.len());
            let mut out = String::with_capacity((end - at) * 40);
            for (i, id) in changes.removed[at..end].iter().enumerate() {
                if at + i > 0 {
                    out.push(',');
                }
                out.push('"');
                out.push_str(&id.hyphenated().to_string());
                out.push('"');
            }
            (Bytes::from(out), Some(Part::Removed(end)))
        }
        Part::Removed(_) => (Bytes::from_static(b"]}"), None),
    })
}

/// The bodies of `ids[at..at + CHANGES_BATCH]`, comma-separated (with a leading comma after the
/// first batch).
async fn bodies(changes: &Changes, app: &App, ids: &[Uuid], at: usize) -> Result<Bytes, app::AppError> {
    let end = (at + CHANGES_BATCH).min(ids.len());
    let bodies = changes.bodies(app, &ids[at..end]).await?;
    let mut out = Vec::with_capacity(bodies.iter().map(|b| b.len() + 1).sum());
    for (i, body) in bodies.iter().enumerate() {
        if at + i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(body.as_bytes());
    }
    Ok(Bytes::from(out))
}
