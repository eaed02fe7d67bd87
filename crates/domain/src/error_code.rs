//! Every stable error code rosterd answers (the `code` of a problem+json body), in one table.
//! Adapters map each code to their own status (the HTTP table is `api::error`); the README's
//! error table is checked against this list by a test.

use std::fmt;

macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident => $text:literal,)*) => {
        /// A stable, snake_case error code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in table order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as it appears on the wire.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $text,)*
                }
            }
        }
    };
}

error_codes! {
    // ---- the request is wrong --------------------------------------------------------------
    InvalidPageNumber => "invalid_page_number",
    InvalidPageSize => "invalid_page_size",
    /// A query parameter given twice.
    RepeatedParameter => "repeated_parameter",
    /// A query parameter with a value it cannot take (a flag that is not true or false).
    InvalidParameter => "invalid_parameter",
    InvalidCustomerGuid => "invalid_customer_guid",
    InvalidChannelId => "invalid_channel_id",
    /// A field of a JSON body; the problem names it.
    InvalidField => "invalid_field",
    InvalidLicenseType => "invalid_license_type",
    MalformedBody => "malformed_body",
    EmptyBody => "empty_body",
    BodyReadFailed => "body_read_failed",
    /// An import body that is well-formed but holds no users.
    UnsupportedBody => "unsupported_body",
    InvalidUserRow => "invalid_user_row",
    FieldTooLong => "field_too_long",
    RowTooLarge => "row_too_large",
    DuplicateIdentity => "duplicate_identity",
    EmptyUserSet => "empty_user_set",
    UnsupportedServiceType => "unsupported_service_type",
    NoSecureConnection => "no_secure_connection",
    /// A telephone number that is no number (`GET /api/rosterd/numbers/{number}`).
    InvalidNumber => "invalid_number",
    // ---- who is calling -------------------------------------------------------------------
    MissingToken => "missing_token",
    InvalidToken => "invalid_token",
    InsufficientRole => "insufficient_role",
    ForbiddenField => "forbidden_field",
    ScopeTooWide => "scope_too_wide",
    RoleTooHigh => "role_too_high",
    InsufficientScope => "insufficient_scope",
    /// A console sign-in with an unknown name, a wrong password or a disabled account (which of
    /// them is not said).
    SignInFailed => "sign_in_failed",
    /// A console session that expired, was signed out, or whose account was disabled.
    SessionEnded => "session_ended",
    // ---- what it names --------------------------------------------------------------------
    CustomerNotFound => "customer_not_found",
    TaskNotFound => "task_not_found",
    ClientNotFound => "client_not_found",
    AccountNotFound => "account_not_found",
    /// No user of the customer has this Identity, UserPrincipalName or SipAddress.
    UserNotFound => "user_not_found",
    /// No user of a customer the caller may see has this number.
    NumberNotFound => "number_not_found",
    RouteNotFound => "route_not_found",
    MethodNotAllowed => "method_not_allowed",
    // ---- conflicts and limits -------------------------------------------------------------
    ShortNameTaken => "short_name_taken",
    TenantInUse => "tenant_in_use",
    ServiceExists => "service_exists",
    ClientExists => "client_exists",
    AccountExists => "account_exists",
    ConcurrentImport => "concurrent_import",
    /// A write that lost a race with another writer of the same record.
    Conflict => "conflict",
    SyncInProgress => "sync_in_progress",
    BodyStalled => "body_stalled",
    BodyTooLarge => "body_too_large",
    UnsupportedMediaType => "unsupported_media_type",
    /// The `Accept` header names no format the route can answer in.
    NotAcceptable => "not_acceptable",
    ImportBusy => "import_busy",
    /// A `Generation` or `Since` that is no longer (or never was) retained: start again.
    GenerationExpired => "generation_expired",
    /// The process runs its limit of exports at once.
    ExportBusy => "export_busy",
    // ---- the server -----------------------------------------------------------------------
    /// Never carries internal text; the request id is logged with it.
    InternalError => "internal_error",
    /// No sync engine in this process.
    Unavailable => "unavailable",
    RequestTimeout => "request_timeout",
    /// The front door is at its connection limit (`http-server` answers it before any routing).
    TooManyConnections => "too_many_connections",
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "{text} twice");
            assert!(text.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{text}");
        }
    }
}
