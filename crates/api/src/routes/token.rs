//! The built-in token issuer, shaped like Microsoft Entra's v2 endpoint: client credentials in,
//! a signed JWT out. How clients discover it is in `discovery`.

use std::net::{IpAddr, SocketAddr};

use auth::{OAuthError, TokenResponse};
use axum::body::{Body, Bytes};
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::small_body::{self, BodyError};
use crate::state::AppState;

fn oauth_error(error: OAuthError, retry_after: Option<u64>) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (status, Json(&error)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Basic realm="rosterd""#),
        );
    }
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// The peer's address, when the server passes it on (`rosterd serve` does; an in-process router
/// may not).
pub struct Peer(Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let address = ConnectInfo::<SocketAddr>::from_request_parts(parts, state).await.ok();
        Ok(Self(address.map(|ConnectInfo(address)| address.ip())))
    }
}

/// The `client_id` a failed request named (body or Basic header), for throttling.
fn named_client(body: &[u8], headers: &HeaderMap) -> Option<String> {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let basic = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    match auth::client_credentials(&form, basic) {
        Ok(credentials) => Some(credentials.client_id),
        Err(_) => form.into_iter().find(|(k, _)| k == "client_id").map(|(_, v)| v),
    }
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
    state
        .app
        .issue_token(&credentials.client_id, &credentials.client_secret)
        .await
}

#[utoipa::path(
    post, path = "/oauth2/v2.0/token", tag = "Tokens",
    summary = "Get an access token (client credentials)",
    description = "Form body as Microsoft Entra's: grant_type=client_credentials, client_id, client_secret (or HTTP Basic); scope is accepted and ignored.",
    request_body(content = auth::TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Issued", body = auth::TokenResponse),
        (status = 400, description = "invalid_request or unsupported_grant_type", body = auth::OAuthError),
        (status = 401, description = "invalid_client", body = auth::OAuthError),
        (status = 413, description = "The body is larger than 256 KiB", body = auth::OAuthError),
        (status = 429, description = "AADSTS50196: too many failed requests for this client id or from this address; see Retry-After", body = auth::OAuthError),
    )
)]
pub async fn token(State(state): State<AppState>, peer: Peer, headers: HeaderMap, body: Body) -> Response {
    let Peer(address) = peer;
    let body = match small_body::read(body).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            return no_store(oauth_error(
                OAuthError::request_too_large(small_body::MAX_SMALL_BODY),
                None,
            ))
        }
        Err(BodyError::Unreadable(_)) => {
            return no_store(oauth_error(
                OAuthError::malformed_request("The request body could not be read."),
                None,
            ))
        }
    };
    let client = named_client(&body, &headers);
    // A client id or an address that failed too often lately is refused without evaluating the
    // request: guessing costs the guesser, not the server.
    if let Some(wait) = state.token_failures.throttled(client.as_deref(), address) {
        return no_store(oauth_error(OAuthError::request_loop(wait), Some(wait)));
    }
    no_store(match issue(&state, &headers, &body).await {
        Ok(token) => Json(token).into_response(),
        Err(error) => {
            if error.status() < 500 {
                state.token_failures.failed(client.as_deref(), address);
            }
            oauth_error(error, None)
        }
    })
}

#[utoipa::path(
    post, path = "/{tenant}/oauth2/v2.0/token", tag = "Tokens",
    summary = "Get an access token (tenant-qualified path, as Entra's)",
    params(("tenant" = String, Path, description = "Accepted for compatibility with Entra URLs; any value")),
    request_body(content = auth::TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Issued", body = auth::TokenResponse),
        (status = 400, description = "invalid_request or unsupported_grant_type", body = auth::OAuthError),
        (status = 401, description = "invalid_client", body = auth::OAuthError),
    )
)]
pub async fn token_for_tenant(
    State(state): State<AppState>,
    Path(_tenant): Path<String>,
    peer: Peer,
    headers: HeaderMap,
    body: Body,
) -> Response {
    token(State(state), peer, headers, body).await
}
