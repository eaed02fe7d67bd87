//! The built-in token issuer, shaped like Microsoft Entra's v2 endpoint: client credentials in,
//! a signed JWT out. How clients discover it is in `discovery`.

use auth::{OAuthError, TokenResponse};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use domain::ClientId;

use crate::state::AppState;

fn oauth_error(error: OAuthError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (status, Json(&error)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Basic realm="rosterd""#),
        );
    }
    response
}

fn no_store(mut response: Response) -> Response {
    // RFC 6749 §5.1: token answers must not be cached.
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

async fn issue(state: &AppState, headers: &HeaderMap, body: &Bytes) -> Result<TokenResponse, OAuthError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(OAuthError::malformed_request(
            "the token request body must be application/x-www-form-urlencoded",
        ));
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let basic = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let credentials = auth::client_credentials(&form, basic)?;
    let client_id: ClientId = credentials
        .client_id
        .parse()
        .map_err(|_| OAuthError::unknown_client(&credentials.client_id))?;
    let record = state.store.get_client(client_id).await.map_err(|error| {
        tracing::error!(%error, "client lookup failed");
        OAuthError::server_error()
    })?;
    let record = record.ok_or_else(|| OAuthError::unknown_client(&credentials.client_id))?;
    if !auth::verify_client_secret(&credentials.client_secret, &record.secret_hash) {
        return Err(OAuthError::invalid_client_secret(&credentials.client_id));
    }
    if record.revoked_at.is_some() {
        return Err(OAuthError::disabled_client(&credentials.client_id));
    }
    let issued = state
        .keys
        .issue(client_id, Utc::now())
        .map_err(|_| OAuthError::server_error())?;
    Ok(issued.into())
}

#[utoipa::path(
    post, path = "/oauth2/v2.0/token", tag = "Tokens",
    summary = "Get an access token (client credentials)",
    description = "Form body as Microsoft Entra's: grant_type=client_credentials, client_id, client_secret (or HTTP Basic); scope is accepted and ignored.",
    request_body(content = crate::openapi::TokenRequestDoc, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Issued", body = crate::openapi::TokenResponseDoc),
        (status = 400, description = "invalid_request or unsupported_grant_type", body = crate::openapi::OAuthErrorDoc),
        (status = 401, description = "invalid_client", body = crate::openapi::OAuthErrorDoc),
    )
)]
pub async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    no_store(match issue(&state, &headers, &body).await {
        Ok(token) => Json(token).into_response(),
        Err(error) => oauth_error(error),
    })
}

#[utoipa::path(
    post, path = "/{tenant}/oauth2/v2.0/token", tag = "Tokens",
    summary = "Get an access token (tenant-qualified path, as Entra's)",
    params(("tenant" = String, Path, description = "Accepted for compatibility with Entra URLs; any value")),
    request_body(content = crate::openapi::TokenRequestDoc, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Issued", body = crate::openapi::TokenResponseDoc),
        (status = 400, description = "invalid_request or unsupported_grant_type", body = crate::openapi::OAuthErrorDoc),
        (status = 401, description = "invalid_client", body = crate::openapi::OAuthErrorDoc),
    )
)]
pub async fn token_for_tenant(
    State(state): State<AppState>,
    Path(_tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    token(State(state), headers, body).await
}
