//! How clients find the token endpoint and keys, as they find Entra's: the root OpenID
//! discovery document, a tenant's (`{tenant}/v2.0/.well-known/openid-configuration`, where
//! MSAL looks for authority `https://host/{tenant}`), the keys (JWKS), and the authorization
//! endpoint those documents must name, which answers an Entra-shaped error.

use auth::OAuthError;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::state::AppState;

/// Longest tenant segment accepted (a DNS name is at most 253 characters).
const MAX_TENANT: usize = 253;

/// The `{tenant}` path segment, as Entra accepts them: a GUID, a domain name, `common`,
/// `organizations` or `consumers`. It is echoed into the document's URLs, so anything else is
/// refused with an Entra-shaped `invalid_tenant`.
pub struct Tenant(String);

fn valid_tenant(raw: &str) -> bool {
    !raw.is_empty()
        && raw.len() <= MAX_TENANT
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
        && !raw.starts_with(['.', '-'])
}

/// The pattern `valid_tenant` accepts, for the API's documentation.
const TENANT_PATTERN: &str = r"^[A-Za-z0-9_][A-Za-z0-9._-]*$";

impl utoipa::IntoParams for Tenant {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        use utoipa::openapi::Required;
        vec![ParameterBuilder::new()
            .name("tenant")
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .description(Some("A tenant id (GUID), a domain name, `common`, `organizations` or `consumers`; echoed into the document's URLs"))
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .max_length(Some(MAX_TENANT))
                    .pattern(Some(TENANT_PATTERN)),
            ))
            .build()]
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Tenant {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if valid_tenant(&raw) {
            Ok(Self(raw))
        } else {
            Err(oauth_error(OAuthError::invalid_tenant(&raw)))
        }
    }
}

fn oauth_error(error: OAuthError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    (status, Json(&error)).into_response()
}

#[utoipa::path(
    get, path = "/.well-known/openid-configuration", tag = "Tokens",
    summary = "OpenID discovery document",
    responses((status = 200, description = "issuer, token_endpoint, jwks_uri, authorization_endpoint, ...", body = Object))
)]
pub async fn openid_configuration(State(state): State<AppState>) -> Response {
    Json(state.app.keys().openid_configuration(None)).into_response()
}

#[utoipa::path(
    get, path = "/{tenant}/v2.0/.well-known/openid-configuration", tag = "Tokens",
    summary = "A tenant's OpenID discovery document, as Entra's (MSAL reads it for authority https://host/{tenant})",
    params(Tenant),
    responses(
        (status = 200, description = "issuer, token_endpoint, jwks_uri, authorization_endpoint under /{tenant}", body = Object),
        (status = 400, description = "invalid_tenant (Entra-shaped)", body = auth::OAuthError),
    )
)]
pub async fn tenant_openid_configuration(State(state): State<AppState>, Tenant(tenant): Tenant) -> Response {
    Json(state.app.keys().openid_configuration(Some(&tenant))).into_response()
}

#[utoipa::path(
    get, path = "/{tenant}/.well-known/openid-configuration", tag = "Tokens",
    summary = "The same tenant document without `v2.0` (MSAL's `oidc_authority=https://host/{tenant}` reads it)",
    params(Tenant),
    responses(
        (status = 200, description = "As /{tenant}/v2.0/.well-known/openid-configuration", body = Object),
        (status = 400, description = "invalid_tenant (Entra-shaped)", body = auth::OAuthError),
    )
)]
pub async fn tenant_openid_configuration_unversioned(state: State<AppState>, tenant: Tenant) -> Response {
    tenant_openid_configuration(state, tenant).await
}

#[utoipa::path(
    get, path = "/discovery/v2.0/keys", tag = "Tokens",
    summary = "Public signing keys (JWKS)",
    responses((status = 200, description = "RFC 7517 key set", body = Object))
)]
pub async fn jwks(State(state): State<AppState>) -> Response {
    Json(state.app.keys().jwks()).into_response()
}

#[utoipa::path(
    get, path = "/{tenant}/discovery/v2.0/keys", tag = "Tokens",
    summary = "Public signing keys (JWKS), at a tenant's jwks_uri",
    params(Tenant),
    responses(
        (status = 200, description = "RFC 7517 key set", body = Object),
        (status = 400, description = "invalid_tenant (Entra-shaped)", body = auth::OAuthError),
    )
)]
pub async fn tenant_jwks(State(state): State<AppState>, _tenant: Tenant) -> Response {
    Json(state.app.keys().jwks()).into_response()
}

#[utoipa::path(
    get, path = "/{tenant}/oauth2/v2.0/authorize", tag = "Tokens",
    summary = "Interactive authorization endpoint (named by discovery; not offered)",
    params(Tenant),
    responses((status = 400, description = "unsupported_response_type: only the client credentials grant is offered", body = auth::OAuthError))
)]
pub async fn authorize(_tenant: Tenant) -> Response {
    oauth_error(OAuthError::interactive_flow_unsupported())
}

#[utoipa::path(
    get, path = "/oauth2/v2.0/authorize", tag = "Tokens",
    summary = "Interactive authorization endpoint of the root document (not offered)",
    responses((status = 400, description = "unsupported_response_type: only the client credentials grant is offered", body = auth::OAuthError))
)]
pub async fn authorize_root() -> Response {
    oauth_error(OAuthError::interactive_flow_unsupported())
}

#[utoipa::path(
    post, path = "/{tenant}/oauth2/v2.0/authorize", tag = "Tokens",
    summary = "Interactive authorization endpoint, form post (not offered)",
    params(Tenant),
    responses((status = 400, description = "unsupported_response_type: only the client credentials grant is offered", body = auth::OAuthError))
)]
pub async fn authorize_post(tenant: Tenant) -> Response {
    authorize(tenant).await
}

#[utoipa::path(
    post, path = "/oauth2/v2.0/authorize", tag = "Tokens",
    summary = "Interactive authorization endpoint of the root document, form post (not offered)",
    responses((status = 400, description = "unsupported_response_type: only the client credentials grant is offered", body = auth::OAuthError))
)]
pub async fn authorize_root_post() -> Response {
    authorize_root().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_segments() {
        for ok in [
            "common",
            "organizations",
            "7e24d47c-eb72-439a-84e4-aea1bdb1eed9",
            "contoso.onmicrosoft.com",
        ] {
            assert!(valid_tenant(ok), "{ok}");
        }
        for bad in ["", "a/b", "x y", "..", "-x", "<script>", &"a".repeat(254)] {
            assert!(!valid_tenant(bad), "{bad}");
        }
    }
}
