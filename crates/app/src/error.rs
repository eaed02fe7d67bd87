//! `AppError`: why an operation was refused or failed, with its stable `ErrorCode`, a message
//! safe to show (except for internal errors, whose text is for the log only), and the field or
//! import row at fault. Adapters turn it into their own answer (problem+json, a CLI message).

use domain::access::Denied;
use domain::{ErrorCode, LicenseChangeRefused, UsersRefused};
use store::{StoreError, Taken};

/// A refused or failed operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    code: ErrorCode,
    message: String,
    field: Option<String>,
    row: Option<u64>,
    retry_after: Option<u64>,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
            row: None,
            retry_after: None,
        }
    }

    /// `invalid_field` for `field`.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidField, message).at_field(field)
    }

    /// An internal failure: `error` goes to the log, never to the caller.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        Self::new(ErrorCode::InternalError, error.to_string())
    }

    pub fn at_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn at_row(mut self, row: Option<u64>) -> Self {
        self.row = row;
        self
    }

    /// Seconds after which a retry may succeed (a limit on concurrent work).
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The message: safe to show unless [`is_internal`](Self::is_internal).
    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn is_internal(&self) -> bool {
        self.code == ErrorCode::InternalError
    }

    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    pub fn row(&self) -> Option<u64> {
        self.row
    }

    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after
    }

    pub(crate) fn customer_not_found() -> Self {
        Self::new(
            ErrorCode::CustomerNotFound,
            "the customer does not exist or is not visible to this client",
        )
    }

    pub(crate) fn client_not_found() -> Self {
        Self::new(ErrorCode::ClientNotFound, "no API client has this id")
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(_) => Self::customer_not_found(),
            StoreError::Conflict(what) => Self::new(ErrorCode::Conflict, what),
            StoreError::Taken(taken) => taken_error(taken),
            other => Self::internal(other),
        }
    }
}

/// A unique value in use, named without saying who holds it (that may be another channel's or
/// customer's service).
fn taken_error(taken: Taken) -> AppError {
    let (code, field, message) = match taken {
        Taken::ShortName => (
            ErrorCode::ShortNameTaken,
            "shortName",
            "another service of this channel already has this short name",
        ),
        Taken::TenantId => (
            ErrorCode::TenantInUse,
            "msTenantId",
            "this Microsoft 365 tenant is already connected to another service; a tenant belongs to one service",
        ),
        Taken::ServiceId => (
            ErrorCode::ServiceExists,
            "UmpCustomerGuid",
            "a service with this id already exists",
        ),
        Taken::ClientId => (
            ErrorCode::ClientExists,
            "externalAppId",
            "a client with this id is already registered",
        ),
        Taken::AccountName => (
            ErrorCode::AccountExists,
            "name",
            "a console account with this name already exists",
        ),
    };
    AppError::new(code, message).at_field(field)
}

impl From<Denied> for AppError {
    fn from(denied: Denied) -> Self {
        let message = denied.to_string();
        match denied {
            Denied::NotVisible => Self::customer_not_found(),
            Denied::Role { .. } => Self::new(ErrorCode::InsufficientRole, message),
            Denied::ScopeTooWide { field, .. } => {
                let error = Self::new(ErrorCode::ScopeTooWide, message);
                match field {
                    Some(field) => error.at_field(field),
                    None => error,
                }
            }
            Denied::Field { field } => Self::new(ErrorCode::ForbiddenField, message).at_field(field),
            Denied::RoleTooHigh { .. } => Self::new(ErrorCode::RoleTooHigh, message).at_field("role"),
            Denied::ProviderScopeNeeded { .. } => Self::new(ErrorCode::InsufficientScope, message),
        }
    }
}

impl From<UsersRefused> for AppError {
    fn from(refused: UsersRefused) -> Self {
        let code = match refused {
            UsersRefused::NoEndUsers(_) => ErrorCode::UnsupportedServiceType,
            UsersRefused::NotConnected | UsersRefused::NoSource => ErrorCode::NoSecureConnection,
        };
        Self::new(code, refused.to_string())
    }
}

impl From<LicenseChangeRefused> for AppError {
    fn from(refused: LicenseChangeRefused) -> Self {
        Self::new(ErrorCode::InvalidLicenseType, refused.to_string()).at_field("licenseType")
    }
}

impl AppError {
    /// A bearer token that does not authenticate anyone.
    pub fn invalid_token(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidToken, description)
    }
}
