//! `ApiError`: every failure the HTTP edge answers, rendered as RFC 9457 problem+json with the
//! stable `code` of `domain::ErrorCode`. [`status_of`] is the one table from codes to statuses.

use app::AppError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::ErrorCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::request_id;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// A failure answered to the client: an application error, or one of the HTTP edge's own.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ApiError(#[from] AppError);

pub type ApiResult<T> = Result<T, ApiError>;

/// The HTTP status of every error code.
pub fn status_of(code: ErrorCode) -> StatusCode {
    use ErrorCode::*;
    match code {
        InvalidPageNumber
        | InvalidPageSize
        | RepeatedParameter
        | InvalidParameter
        | InvalidCustomerGuid
        | InvalidChannelId
        | InvalidField
        | InvalidLicenseType
        | MalformedBody
        | EmptyBody
        | BodyReadFailed
        | UnsupportedBody
        | InvalidUserRow
        | FieldTooLong
        | RowTooLarge
        | DuplicateIdentity
        | EmptyUserSet
        | UnsupportedServiceType
        | NoSecureConnection
        | InvalidNumber => StatusCode::BAD_REQUEST,
        MissingToken | InvalidToken | SignInFailed | SessionEnded => StatusCode::UNAUTHORIZED,
        InsufficientRole | ForbiddenField | ScopeTooWide | RoleTooHigh | InsufficientScope => StatusCode::FORBIDDEN,
        CustomerNotFound | TaskNotFound | ClientNotFound | AccountNotFound | UserNotFound | NumberNotFound
        | RouteNotFound => StatusCode::NOT_FOUND,
        MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        BodyStalled => StatusCode::REQUEST_TIMEOUT,
        ShortNameTaken | TenantInUse | ServiceExists | ClientExists | AccountExists | ConcurrentImport | Conflict
        | SyncInProgress => StatusCode::CONFLICT,
        BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        NotAcceptable => StatusCode::NOT_ACCEPTABLE,
        ImportBusy | ExportBusy => StatusCode::TOO_MANY_REQUESTS,
        GenerationExpired => StatusCode::GONE,
        InternalError => StatusCode::INTERNAL_SERVER_ERROR,
        Unavailable | RequestTimeout | TooManyConnections => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// RFC 9457 problem details with rosterd's stable `code`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// `urn:rosterd:problem:<code>`
    #[serde(rename = "type")]
    kind: String,
    /// The status's reason phrase.
    title: &'static str,
    status: u16,
    detail: String,
    /// Stable snake_case code, e.g. `invalid_page_size`, `customer_not_found`, `invalid_token`.
    code: &'static str,
    /// The parameter, header or body field at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    /// The 1-based row of an import body at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    row: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self(AppError::new(code, message))
    }

    /// A 400 naming the parameter, header or field at fault.
    pub fn at(code: ErrorCode, field: &str, message: impl Into<String>) -> Self {
        Self(AppError::new(code, message).at_field(field))
    }

    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self(AppError::invalid_field(field, message))
    }

    pub fn internal(error: impl std::fmt::Display) -> Self {
        Self(AppError::internal(error))
    }

    pub fn too_large(limit: u64) -> Self {
        Self::new(
            ErrorCode::BodyTooLarge,
            format!("the request body is larger than the limit of {limit} bytes"),
        )
    }

    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        self.0.code()
    }

    /// The parameter, header or field at fault, when one is.
    pub fn field(&self) -> Option<&str> {
        self.0.field()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let error = self.0;
        let code = error.code();
        let status = status_of(code);
        let request_id = request_id::current();
        let detail = if error.is_internal() {
            tracing::error!(request_id = request_id.as_deref().unwrap_or("-"), error = %error.message(), "internal error");
            match &request_id {
                Some(id) => format!("An internal error occurred. Quote request id {id} when reporting it."),
                None => "An internal error occurred.".to_string(),
            }
        } else {
            error.message().to_string()
        };
        let problem = Problem {
            kind: format!("urn:rosterd:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail,
            code: code.as_str(),
            field: error.field().map(str::to_string),
            row: error.row(),
            request_id,
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(seconds) = error.retry_after_secs() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if status == StatusCode::UNAUTHORIZED {
            let challenge = if code == ErrorCode::MissingToken {
                r#"Bearer realm="rosterd""#.to_string()
            } else {
                format!(
                    r#"Bearer realm="rosterd", error="invalid_token", error_description="{}""#,
                    error.message().replace(['"', '\\'], "'")
                )
            };
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                headers.insert(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}
