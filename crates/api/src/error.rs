//! `ApiError`: every failure the HTTP edge can answer, rendered as RFC 9457 problem+json with
//! a stable snake_case `code`. The table in `ApiError::parts` is the one place that maps codes
//! to statuses.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::access::Denied;
use serde::Serialize;
use store::{StoreError, Taken};

use crate::request_id;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// A failure answered to the client. Variants carry only text that is safe to show.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest {
        code: &'static str,
        field: Option<String>,
        message: String,
    },
    #[error("{message}")]
    ImportRejected {
        code: &'static str,
        row: Option<u64>,
        field: Option<String>,
        message: String,
    },
    #[error("the customer does not exist or is not visible to this client")]
    CustomerNotFound,
    #[error("{1}")]
    NotFound(&'static str, String),
    #[error("{description}")]
    Unauthorized { code: &'static str, description: String },
    #[error("this operation needs the {needed} role; the client has {has}")]
    InsufficientRole { needed: String, has: String },
    /// Refused by an authorization rule other than the role (a field, a scope too wide).
    #[error("{message}")]
    Forbidden {
        code: &'static str,
        field: Option<String>,
        message: String,
    },
    #[error("{message}")]
    Conflict {
        code: &'static str,
        field: Option<String>,
        message: String,
    },
    /// A limit on concurrent or repeated work; `retry_after` seconds is sent in `Retry-After`.
    #[error("{message}")]
    TooManyRequests {
        code: &'static str,
        retry_after: u64,
        message: String,
    },
    #[error("this route does not accept that method; see /openapi.json")]
    MethodNotAllowed,
    #[error("the request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: u64 },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// Internal failure: the text is logged with the request id, never sent.
    #[error("internal error")]
    Internal(String),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'static str,
    status: u16,
    detail: String,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    row: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
}

impl ApiError {
    pub fn bad_request(code: &'static str, field: impl Into<Option<String>>, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::bad_request("invalid_field", Some(field.to_string()), message)
    }

    pub fn invalid_token(description: impl Into<String>) -> Self {
        Self::Unauthorized {
            code: "invalid_token",
            description: description.into(),
        }
    }

    pub fn internal(error: impl std::fmt::Display) -> Self {
        Self::Internal(error.to_string())
    }

    /// The stable code of this error.
    pub fn code(&self) -> &str {
        self.parts().1
    }

    /// (status, code, title): the code → status table.
    fn parts(&self) -> (StatusCode, &str, &'static str) {
        match self {
            Self::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code, "Bad Request"),
            Self::ImportRejected { code, .. } => (StatusCode::BAD_REQUEST, code, "Import rejected"),
            Self::CustomerNotFound => (StatusCode::NOT_FOUND, "customer_not_found", "Not Found"),
            Self::NotFound(code, _) => (StatusCode::NOT_FOUND, code, "Not Found"),
            Self::Unauthorized { code, .. } => (StatusCode::UNAUTHORIZED, code, "Unauthorized"),
            Self::InsufficientRole { .. } => (StatusCode::FORBIDDEN, "insufficient_role", "Forbidden"),
            Self::Forbidden { code, .. } => (StatusCode::FORBIDDEN, code, "Forbidden"),
            Self::Conflict { code, .. } => (StatusCode::CONFLICT, code, "Conflict"),
            Self::TooManyRequests { code, .. } => (StatusCode::TOO_MANY_REQUESTS, code, "Too Many Requests"),
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "Method Not Allowed",
            ),
            Self::PayloadTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "Payload Too Large"),
            Self::UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Unsupported Media Type",
            ),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Service Unavailable"),
            Self::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "Internal Server Error",
            ),
        }
    }
}

impl ApiError {
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            field: None,
            message: message.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(_) => Self::CustomerNotFound,
            StoreError::Conflict(what) => Self::conflict("conflict", what),
            StoreError::Taken(taken) => taken_error(taken),
            other => Self::Internal(other.to_string()),
        }
    }
}

/// A unique value in use, named without saying who holds it (that may be another channel's or
/// customer's service).
fn taken_error(taken: Taken) -> ApiError {
    let (code, field, message) = match taken {
        Taken::ShortName => (
            "short_name_taken",
            "shortName",
            "another service of this channel already has this short name",
        ),
        Taken::TenantId => (
            "tenant_in_use",
            "msTenantId",
            "this Microsoft 365 tenant is already connected to another service; a tenant belongs to one service",
        ),
        Taken::ServiceId => (
            "service_exists",
            "UmpCustomerGuid",
            "a service with this id already exists",
        ),
        Taken::ClientId => (
            "client_exists",
            "externalAppId",
            "a client with this id is already registered",
        ),
    };
    ApiError::Conflict {
        code,
        field: Some(field.to_string()),
        message: message.to_string(),
    }
}

impl From<Denied> for ApiError {
    fn from(denied: Denied) -> Self {
        let message = denied.to_string();
        match denied {
            Denied::NotVisible => Self::CustomerNotFound,
            Denied::Role { needed, has } => Self::InsufficientRole {
                needed: needed.to_string(),
                has: has.to_string(),
            },
            Denied::ScopeTooWide { field, .. } => Self::Forbidden {
                code: "scope_too_wide",
                field: field.map(str::to_string),
                message,
            },
            Denied::Field { field } => Self::Forbidden {
                code: "forbidden_field",
                field: Some(field.to_string()),
                message,
            },
            Denied::RoleTooHigh { .. } => Self::Forbidden {
                code: "role_too_high",
                field: Some("role".to_string()),
                message,
            },
            Denied::ProviderScopeNeeded { .. } => Self::Forbidden {
                code: "insufficient_scope",
                field: None,
                message,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, title) = self.parts();
        let request_id = request_id::current();
        let detail = match &self {
            Self::Internal(text) => {
                tracing::error!(request_id = request_id.as_deref().unwrap_or("-"), error = %text, "internal error");
                match &request_id {
                    Some(id) => format!("An internal error occurred. Quote request id {id} when reporting it."),
                    None => "An internal error occurred.".to_string(),
                }
            }
            other => other.to_string(),
        };
        let (field, row) = match &self {
            Self::BadRequest { field, .. } | Self::Forbidden { field, .. } | Self::Conflict { field, .. } => {
                (field.as_deref(), None)
            }
            Self::ImportRejected { field, row, .. } => (field.as_deref(), *row),
            _ => (None, None),
        };
        let problem = Problem {
            kind: format!("urn:rosterd:problem:{code}"),
            title,
            status: status.as_u16(),
            detail,
            code,
            field,
            row,
            request_id: request_id.clone(),
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Self::TooManyRequests { retry_after, .. } = &self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        if let Self::Unauthorized { code, description } = &self {
            let challenge = if *code == "missing_token" {
                r#"Bearer realm="rosterd""#.to_string()
            } else {
                format!(
                    r#"Bearer realm="rosterd", error="invalid_token", error_description="{}""#,
                    description.replace(['"', '\\'], "'")
                )
            };
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                headers.insert(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
