//! Small request bodies (JSON objects, token forms), read whole up to `MAX_SMALL_BODY` bytes. A
//! larger one is refused with 413 in the route's own error shape (problem+json here, OAuth JSON
//! on the token routes) instead of axum's plain text.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use domain::ErrorCode;

use crate::error::ApiError;

/// Largest JSON or form body; ample for any service, client or token request.
pub const MAX_SMALL_BODY: usize = 256 * 1024;

/// Why a small body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the request body is larger than the limit of {MAX_SMALL_BODY} bytes")]
    TooLarge,
    #[error("the request body could not be read: {0}")]
    Unreadable(String),
}

/// Reads a whole body of at most `MAX_SMALL_BODY` bytes.
pub async fn read(body: Body) -> Result<Bytes, BodyError> {
    match Limited::new(body, MAX_SMALL_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => Err(BodyError::TooLarge),
        Err(error) => Err(BodyError::Unreadable(error.to_string())),
    }
}

impl From<BodyError> for ApiError {
    fn from(error: BodyError) -> Self {
        match error {
            BodyError::TooLarge => ApiError::too_large(MAX_SMALL_BODY as u64),
            BodyError::Unreadable(_) => ApiError::new(ErrorCode::BodyReadFailed, error.to_string()),
        }
    }
}

/// A small body as an extractor, for JSON routes.
pub struct SmallBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for SmallBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(read(request.into_body()).await?))
    }
}
