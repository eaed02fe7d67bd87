//! The authenticated caller: extracted from the bearer token, then authorized locally from the
//! client record (role and scope live in the store, not in the token, so revocation and role
//! changes take effect at once).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use chrono::Utc;
use domain::access::Visibility;
use domain::{ClientId, CustomerId, Role, Scope, Service};

use crate::error::ApiError;
use crate::state::AppState;

pub const CHANNEL_HEADER: &str = "x-ovoc-channel-id";

/// Who is calling, with what power.
#[derive(Debug, Clone)]
pub struct Caller {
    pub client: ClientId,
    pub role: Role,
    pub scope: Scope,
    /// `X-Ovoc-Channel-Id`, which narrows lists further.
    pub channel_filter: Option<i64>,
}

impl Caller {
    pub fn require(&self, needed: Role) -> Result<(), ApiError> {
        if self.role >= needed {
            Ok(())
        } else {
            Err(ApiError::InsufficientRole {
                needed: needed.to_string(),
                has: self.role.to_string(),
            })
        }
    }

    pub fn visibility(&self) -> Visibility {
        Visibility {
            scope: self.scope.clone(),
            channel_filter: self.channel_filter,
        }
    }

    /// Loads a service the caller may see; anything else is 404, so existence never leaks.
    pub async fn visible_service(&self, state: &AppState, id: CustomerId) -> Result<Service, ApiError> {
        match state.store.get_service(id).await? {
            Some(service) if self.visibility().allows(service.id, service.channel_id) => Ok(service),
            _ => Err(ApiError::CustomerNotFound),
        }
    }
}

fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers.get(header::AUTHORIZATION).ok_or(ApiError::Unauthorized {
        code: "missing_token",
        description: "send 'Authorization: Bearer <token>'; get a token from /oauth2/v2.0/token".into(),
    })?;
    let text = value
        .to_str()
        .map_err(|_| ApiError::invalid_token("the Authorization header is not valid text"))?;
    let (scheme, token) = text
        .split_once(' ')
        .ok_or_else(|| ApiError::invalid_token("the Authorization header must be 'Bearer <token>'"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::invalid_token(
            "the Authorization header must be 'Bearer <token>'",
        ));
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
            ApiError::bad_request(
                "invalid_channel_id",
                Some("X-Ovoc-Channel-Id".to_string()),
                "header X-Ovoc-Channel-Id must be an integer channel id",
            )
        })
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers)?;
        let verified = state.keys.verify(token, Utc::now()).await?;
        let client = state
            .store
            .get_client(verified)
            .await?
            .ok_or_else(|| ApiError::invalid_token("the token's client no longer exists"))?;
        if client.revoked_at.is_some() {
            return Err(ApiError::invalid_token("the token's client has been revoked"));
        }
        Ok(Caller {
            client: client.id,
            role: client.role,
            scope: client.scope,
            channel_filter: channel_filter(&parts.headers)?,
        })
    }
}
