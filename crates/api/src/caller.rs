//! The authenticated caller, and the one extractor every customer route uses.
//!
//! `Caller` comes from the bearer token, authorized locally from the client record (role and
//! scope live in the store, not in the token, so revocation and role changes take effect at
//! once). `Customer<A>` is "the customer in the path, parsed, authorized for access `A` and
//! loaded once": a handler that takes it cannot forget the scope check, and the store will not
//! take a customer id that did not pass one.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use chrono::Utc;
use domain::access::{Access, Authorized, ClientPrincipal, Principal, Read, Visibility};
use domain::{ClientId, CustomerId, Service};

use crate::error::ApiError;
use crate::keyring::TokenSource;
use crate::routes::parse_customer_guid;
use crate::state::AppState;

pub const CHANNEL_HEADER: &str = "x-ovoc-channel-id";

/// Who is calling, with what power.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    /// `X-Ovoc-Channel-Id`, which narrows lists further.
    pub channel_filter: Option<i64>,
}

impl Caller {
    /// The API client calling.
    pub fn client(&self) -> Option<ClientId> {
        self.principal.client()
    }

    /// The customers this caller lists.
    pub fn visibility(&self) -> Visibility {
        self.principal.visibility(self.channel_filter)
    }

    /// Access `A` to one customer, and the customer: 404 outside the caller's scope (so
    /// existence never leaks), 403 for a role too weak.
    pub async fn authorize<A: Access>(
        &self,
        state: &AppState,
        id: CustomerId,
    ) -> Result<(Authorized<CustomerId, A>, Service), ApiError> {
        let found = state.store.find_service(id).await?.ok_or(ApiError::CustomerNotFound)?;
        Ok(self.principal.authorize::<A>(found)?)
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
            .get_client(verified.client)
            .await?
            .ok_or_else(|| ApiError::invalid_token("the token's client no longer exists"))?;
        if client.revoked_at.is_some() {
            return Err(ApiError::invalid_token("the token's client has been revoked"));
        }
        // An external issuer's token must not act as a local client that happens to have the
        // same id (nor the other way round).
        let external = verified.source == TokenSource::External;
        if external != client.is_external() {
            return Err(ApiError::invalid_token(if external {
                "the token's app is not registered as an external app of this installation"
            } else {
                "the token's client is registered for an external issuer's tokens only"
            }));
        }
        Ok(Caller {
            principal: Principal::Client(ClientPrincipal {
                client: client.id,
                role: client.role,
                scope: client.scope,
            }),
            channel_filter: channel_filter(&parts.headers)?,
        })
    }
}

/// The customer of a `{customerGuid}` route: 401 without a valid token, 400 for a malformed
/// GUID, 404 when it does not exist or lies outside the caller's scope, 403 when the caller's
/// role lacks access `A` ([`Read`] or [`Write`](domain::access::Write)).
pub struct Customer<A: Access = Read> {
    pub caller: Caller,
    pub grant: Authorized<CustomerId, A>,
    pub service: Service,
}

impl<A: Access> FromRequestParts<AppState> for Customer<A> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::internal(format!("customer route without a customerGuid: {e}")))?;
        let id = parse_customer_guid(&raw)?;
        let (grant, service) = caller.authorize::<A>(state, id).await?;
        Ok(Self { caller, grant, service })
    }
}
