//! Who is calling, and which customer a route names. `Caller` authenticates the bearer token
//! through the application (which decides role, scope and revocation from the client record);
//! authorization is the application's too, in every operation. `CustomerGuid` parses the
//! `{customerGuid}` path segment (malformed is 400, never 404).

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use domain::access::Principal;
use domain::{CustomerId, ErrorCode};
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::Required;

use crate::error::ApiError;
use crate::state::AppState;

pub const CHANNEL_HEADER: &str = "x-ovoc-channel-id";

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    /// `X-Ovoc-Channel-Id`, which narrows lists further.
    pub channel_filter: Option<i64>,
}

fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers.get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::new(
            ErrorCode::MissingToken,
            "send 'Authorization: Bearer <token>'; get a token from /oauth2/v2.0/token",
        )
    })?;
    let invalid = |message: &str| ApiError::new(ErrorCode::InvalidToken, message);
    let text = value
        .to_str()
        .map_err(|_| invalid("the Authorization header is not valid text"))?;
    let (scheme, token) = text
        .split_once(' ')
        .ok_or_else(|| invalid("the Authorization header must be 'Bearer <token>'"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(invalid("the Authorization header must be 'Bearer <token>'"));
    }
    Ok(token.trim())
}

fn channel_filter(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get(CHANNEL_HEADER) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::at(
                ErrorCode::InvalidChannelId,
                "X-Ovoc-Channel-Id",
                "header X-Ovoc-Channel-Id must be an integer channel id",
            )
        })
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers)?;
        let principal = state.app.authenticate(token).await?;
        Ok(Caller {
            principal,
            channel_filter: channel_filter(&parts.headers)?,
        })
    }
}

/// The `{customerGuid}` of a customer route.
pub struct CustomerGuid(pub CustomerId);

impl utoipa::IntoParams for CustomerGuid {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![ParameterBuilder::new()
            .name("customerGuid")
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .description(Some("The service's UmpCustomerGuid"))
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(crate::json_body::GUID_PATTERN)),
            ))
            .build()]
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CustomerGuid {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // By name: a route may name more than the customer (`.../user/{key}`).
        let Path(mut params) = Path::<std::collections::HashMap<String, String>>::from_request_parts(parts, state)
            .await
            // A segment that is not UTF-8 once percent-decoded names nothing.
            .map_err(|_| {
                ApiError::new(
                    ErrorCode::RouteNotFound,
                    "no such route; a path segment is not valid UTF-8",
                )
            })?;
        let raw = params
            .remove("customerGuid")
            .ok_or_else(|| ApiError::internal("customer route without a customerGuid"))?;
        raw.parse().map(Self).map_err(|_| {
            ApiError::at(
                ErrorCode::InvalidCustomerGuid,
                "customerGuid",
                format!(
                    "customerGuid '{}' is not a valid GUID",
                    raw.chars().take(64).collect::<String>()
                ),
            )
        })
    }
}
