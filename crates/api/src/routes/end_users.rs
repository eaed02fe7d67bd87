//! `GET /api/v3/customer/{customerGuid}/user`: one page of a customer's users, in the Live
//! Platform envelope; and `PUT` on the same path, which replaces the whole set from an export.

use std::sync::atomic::Ordering;

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::access::Write;
use domain::{PageRequest, Service};

use crate::caller::Customer;
use crate::error::{ApiError, ApiResult};
use crate::import;
use crate::page_cache::PageKey;
use crate::query::Query;
use crate::state::AppState;

/// Rules a service must meet before its users can be listed or loaded.
pub fn require_user_list(service: &Service) -> Result<(), ApiError> {
    if !service.license_type.has_end_users() {
        return Err(ApiError::bad_request(
            "unsupported_service_type",
            None,
            format!(
                "service type {} has no end-user list: its users are managed in the customer's Teams admin center. \
                 End users are available for Hosted Essentials Plus (1), Hosted Pro (2), OC Essentials Plus (4) and OC Pro (5).",
                service.license_type
            ),
        ));
    }
    Ok(())
}

/// Listing also needs users to come from somewhere: a secure connection to the tenant, or a
/// completed import. A service with neither has nothing to show and is told how to fix it.
fn require_source(service: &Service) -> Result<(), ApiError> {
    if service.has_secure_connection() || service.generation > 0 {
        return Ok(());
    }
    Err(ApiError::bad_request(
        "no_secure_connection",
        None,
        "this service has no secure connection to its Microsoft 365 tenant. Set msTenantId, applicationClientId and \
         applicationClientSecret with PATCH /api/v3/customer/{customerGuid} (the app registration needs the Graph \
         application permissions User.Read.All and TeamsUserConfiguration.Read.All with admin consent), \
         or load users with PUT /api/v3/customer/{customerGuid}/user.",
    ))
}

#[utoipa::path(
    get,
    path = "/api/v3/customer/{customerGuid}/user",
    tag = "End users",
    summary = "Get List of End Users for Service",
    params(
        ("customerGuid" = String, Path, description = "The service's UmpCustomerGuid"),
        ("PageNumber" = Option<i64>, Query, description = "1-based page number (default 1); name matched case-insensitively"),
        ("PageSize" = Option<i64>, Query, description = "Users per page, 2..=10000 (default 10); name matched case-insensitively"),
        ("If-None-Match" = Option<String>, Header, description = "ETag of a page already held"),
    ),
    responses(
        (status = 200, description = "One page of users ordered by Identity", body = crate::openapi::EndUserPage),
        (status = 304, description = "The page is unchanged (ETag matched)"),
        (status = 400, description = "Bad paging parameter, malformed GUID, unsupported service type or no secure connection", body = crate::openapi::ProblemDoc, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid bearer token", body = crate::openapi::ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "No such customer in the caller's scope", body = crate::openapi::ProblemDoc, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (carries a request id)", body = crate::openapi::ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_users(
    State(state): State<AppState>,
    customer: Customer,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let Customer { grant, service, .. } = customer;
    let query = Query::parse(raw.as_deref());
    let page = PageRequest::parse(query.single("PageNumber")?, query.single("PageSize")?).map_err(|e| {
        let code = match e {
            domain::PagingError::PageNumber(_) => "invalid_page_number",
            domain::PagingError::PageSize(_) => "invalid_page_size",
        };
        ApiError::bad_request(code, Some(e.parameter().to_string()), e.to_string())
    })?;
    require_user_list(&service)?;
    require_source(&service)?;

    // The service row just read names the served generation: a cached or client-held page of
    // that generation is exactly what a fresh read would return.
    let key = PageKey {
        customer: service.id,
        generation: service.generation,
        number: page.number(),
        size: page.size(),
    };
    let mut etag = etag_of(&key);
    let mut response = if if_none_match(&headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let body = match state.pages.get(&key) {
            Some(body) => {
                state.metrics.page_cache_hits.fetch_add(1, Ordering::Relaxed);
                body
            }
            None => {
                state.metrics.page_cache_misses.fetch_add(1, Ordering::Relaxed);
                let slice = state
                    .store
                    .read_page(&grant, page.first_ordinal(), page.size())
                    .await?
                    .ok_or(ApiError::CustomerNotFound)?;
                let key = PageKey {
                    generation: slice.generation,
                    ..key
                };
                etag = etag_of(&key);
                let body = Bytes::from(render_page(&page, slice.total_records, &slice.bodies));
                state.pages.put(key, body.clone());
                body
            }
        };
        let mut response = Response::new(Body::from(body));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        response
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    Ok(response)
}

fn etag_of(key: &PageKey) -> String {
    format!("\"g{}-p{}-s{}\"", key.generation, key.number, key.size)
}

fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|candidate| candidate == etag || candidate == "*")
}

/// Writes the envelope around pre-rendered user objects in one pass, into one buffer.
pub fn render_page(page: &PageRequest, total_records: i64, bodies: &[String]) -> Vec<u8> {
    let envelope = page.envelope(total_records);
    let size: usize = bodies.iter().map(|b| b.len() + 1).sum::<usize>() + 128;
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(
        format!(
            r#"{{"currentPage":{},"pageSize":{},"totalPages":{},"totalRecords":{},"data":["#,
            envelope.current_page, envelope.page_size, envelope.total_pages, envelope.total_records
        )
        .as_bytes(),
    );
    for (i, body) in bodies.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(body.as_bytes());
    }
    out.extend_from_slice(b"]}");
    out
}

#[utoipa::path(
    put,
    path = "/api/v3/customer/{customerGuid}/user",
    tag = "End users",
    summary = "Replace the customer's users from an export",
    description = "Replaces the whole user set atomically with the body: a JSON array (or page envelope) of users in the Live Platform shape, `Get-CsOnlineUser | ConvertTo-Json` output, or `Export-Csv` output (`Content-Type: text/csv`). Readers see the old set until the new one is committed. A bad row rejects the whole body.",
    params(
        ("customerGuid" = String, Path, description = "The service's UmpCustomerGuid"),
        ("allowEmpty" = Option<bool>, Query, description = "true: accept a body with no users (removes every user)"),
    ),
    request_body(content = String, description = "Users as JSON (application/json) or CSV (text/csv)", content_type = "application/json"),
    responses(
        (status = 200, description = "The new generation was committed", body = crate::import::ImportSummary),
        (status = 400, description = "Bad row (names the row and the field), malformed or empty body", body = crate::openapi::ProblemDoc, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid bearer token", body = crate::openapi::ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "The client's role cannot write", body = crate::openapi::ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "No such customer in the caller's scope", body = crate::openapi::ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "Another import committed first", body = crate::openapi::ProblemDoc, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than the configured limit", body = crate::openapi::ProblemDoc, content_type = "application/problem+json"),
        (status = 415, description = "Neither JSON nor CSV", body = crate::openapi::ProblemDoc, content_type = "application/problem+json"),
        (status = 429, description = "`import_busy`: the process runs its limit of imports; retry after `Retry-After` seconds", body = crate::openapi::ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn replace_users(
    State(state): State<AppState>,
    customer: Customer<Write>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<import::ImportSummary>> {
    let Customer { caller, grant, service } = customer;
    require_user_list(&service)?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let declared_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let limit = state.config.max_import_bytes;
    if declared_length.is_some_and(|len| len > limit) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let allow_empty = Query::parse(raw.as_deref()).flag("allowEmpty")?;
    // Imports parse and spool whole bodies: a few at a time per process, refused cheaply beyond.
    let _slot = state
        .imports
        .clone()
        .try_acquire_owned()
        .map_err(|_| ApiError::TooManyRequests {
            code: "import_busy",
            retry_after: import::BUSY_RETRY_AFTER_SECS,
            message: format!(
                "this server is already running its limit of {} imports; retry in a few seconds",
                state.config.max_concurrent_imports
            ),
        })?;
    let summary = import::replace_from_body(&state, &grant, content_type, body, limit, allow_empty).await?;
    crate::audit::record(
        &state,
        caller.client(),
        "users.replace",
        Some(service.id),
        format!(
            "generation {}: {} users ({} added, {} changed, {} removed)",
            summary.generation, summary.total, summary.added, summary.changed, summary.removed
        ),
    )
    .await;
    Ok(Json(summary))
}
