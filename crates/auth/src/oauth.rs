//! The token endpoint's response bodies, shaped exactly as Microsoft Entra ID answers, so that
//! clients written against Entra (MSAL, azure-identity, scripts) work unchanged.
//!
//! Errors follow RFC 6749 §5.2 plus Entra's extra members (`error_codes`, `timestamp`,
//! `trace_id`, `correlation_id`), and each description starts with the `AADSTS` code Entra uses
//! for the same situation, because some clients branch on that code:
//!
//! | situation                                  | error                    | code     | status |
//! |--------------------------------------------|--------------------------|----------|--------|
//! | a required parameter is missing            | `invalid_request`        | 900144   | 400    |
//! | malformed request (repeated parameter, bad Basic header, credentials twice) | `invalid_request` | 9002313 | 400 |
//! | `grant_type` other than client_credentials | `unsupported_grant_type` | 70003    | 400    |
//! | no `client_secret`                         | `invalid_client`         | 7000218  | 401    |
//! | wrong client secret                        | `invalid_client`         | 7000215  | 401    |
//! | unknown client id                          | `unauthorized_client`    | 700016   | 400    |
//! | revoked (disabled) client                  | `unauthorized_client`    | 7000112  | 400    |
//! | unacceptable `scope`                       | `invalid_scope`          | 1002012  | 400    |
//! | store or other internal failure            | `server_error`           | 50000    | 500    |
//! | discovery for a malformed tenant segment   | `invalid_tenant`         | 90002    | 400    |
//! | the interactive authorization endpoint     | `unsupported_response_type` | 70005 | 400    |
//! | the request body is over the size limit    | `invalid_request`        | 9002313  | 413    |
//! | too many failed requests lately            | `temporarily_unavailable`| 50196    | 429    |

use chrono::{DateTime, Utc};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};
use uuid::Uuid;

use crate::issuer::IssuedToken;

/// Longest piece of client input echoed back in a description.
const MAX_ECHO: usize = 100;

/// An OAuth error answer of the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, utoipa::ToSchema)]
#[error("{error}: {error_description}")]
pub struct OAuthError {
    /// The RFC 6749 error code.
    pub error: &'static str,
    /// The message, starting with its `AADSTS` code. Serialized with Entra's trailer appended
    /// (`\r\nTrace ID: ...\r\nCorrelation ID: ...\r\nTimestamp: ...`).
    pub error_description: String,
    pub error_codes: Vec<u32>,
    /// Entra's style: `2025-01-07 09:08:50Z`.
    #[schema(value_type = String)]
    pub timestamp: DateTime<Utc>,
    pub trace_id: Uuid,
    pub correlation_id: Uuid,
    /// The HTTP status; not part of the body.
    #[schema(ignore)]
    status: u16,
}

impl OAuthError {
    fn new(error: &'static str, code: u32, message: String) -> Self {
        // Entra answers 401 for `invalid_client` (RFC 6749 §5.2), 500 for `server_error`, 400
        // otherwise.
        let status = match error {
            "invalid_client" => 401,
            "server_error" => 500,
            _ => 400,
        };
        Self {
            error,
            error_description: format!("AADSTS{code}: {message}"),
            error_codes: vec![code],
            timestamp: Utc::now(),
            trace_id: Uuid::new_v4(),
            correlation_id: Uuid::new_v4(),
            status,
        }
    }

    /// A request body over `limit` bytes (413).
    pub fn request_too_large(limit: usize) -> Self {
        Self {
            status: 413,
            ..Self::new(
                "invalid_request",
                9002313,
                format!(
                    "Invalid request. Request is malformed or invalid. The request body is larger than {limit} bytes."
                ),
            )
        }
    }

    /// Too many failed token requests from this client or address lately (429, with
    /// `Retry-After: retry_after_secs`): Entra's answer to a client request loop.
    pub fn request_loop(retry_after_secs: u64) -> Self {
        Self {
            status: 429,
            ..Self::new(
                "temporarily_unavailable",
                50196,
                format!(
                    "The server terminated an operation because it encountered a client request loop: too many \
                     failed token requests for this client or from this address. Retry after {retry_after_secs} seconds."
                ),
            )
        }
    }

    pub fn missing_parameter(name: &str) -> Self {
        Self::new(
            "invalid_request",
            900144,
            format!(
                "The request body must contain the following parameter: '{}'.",
                echo(name)
            ),
        )
    }

    pub fn malformed_request(detail: &str) -> Self {
        Self::new(
            "invalid_request",
            9002313,
            format!("Invalid request. Request is malformed or invalid. {detail}"),
        )
    }

    pub fn unsupported_grant_type(grant_type: &str) -> Self {
        Self::new(
            "unsupported_grant_type",
            70003,
            format!(
                "The app requested an unsupported grant type '{}'. Only 'client_credentials' is supported.",
                echo(grant_type)
            ),
        )
    }

    pub fn missing_client_secret() -> Self {
        Self::new(
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_secret'.".to_string(),
        )
    }

    pub fn invalid_client_secret(client_id: &str) -> Self {
        Self::new(
            "invalid_client",
            7000215,
            format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the \
                 client secret value, not the client secret ID, for a secret added to app '{}'.",
                echo(client_id)
            ),
        )
    }

    pub fn unknown_client(client_id: &str) -> Self {
        Self::new(
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{}' was not found in the directory. Create the client \
                 with the rosterd CLI, or check that the request was sent to the right server.",
                echo(client_id)
            ),
        )
    }

    pub fn disabled_client(client_id: &str) -> Self {
        Self::new(
            "unauthorized_client",
            7000112,
            format!("Application '{}' is disabled.", echo(client_id)),
        )
    }

    pub fn invalid_scope(scope: &str) -> Self {
        Self::new(
            "invalid_scope",
            1002012,
            format!(
                "The provided value for scope {} is not valid. Client credential flows must have a \
                 scope value with /.default suffixed to the resource identifier (application ID URI).",
                echo(scope)
            ),
        )
    }

    /// A tenant segment that cannot name a tenant (discovery documents).
    pub fn invalid_tenant(tenant: &str) -> Self {
        Self::new(
            "invalid_tenant",
            90002,
            format!(
                "Tenant '{}' not found. Use a tenant id (GUID), a domain name, 'common' or 'organizations'.",
                echo(tenant)
            ),
        )
    }

    /// The authorization endpoint exists for discovery; no interactive flow is offered.
    pub fn interactive_flow_unsupported() -> Self {
        Self::new(
            "unsupported_response_type",
            70005,
            "rosterd issues tokens with the client credentials grant only: POST the client id and secret to the \
             token endpoint ({tenant}/oauth2/v2.0/token). Interactive sign-in is not available."
                .to_string(),
        )
    }

    pub fn server_error() -> Self {
        Self::new(
            "server_error",
            50000,
            "There was an error issuing a token or an issue with our sign-in service.".to_string(),
        )
    }

    /// Uses the request's ids (and so the log's) instead of fresh random ones.
    pub fn with_ids(mut self, trace_id: Uuid, correlation_id: Uuid) -> Self {
        self.trace_id = trace_id;
        self.correlation_id = correlation_id;
        self
    }

    pub fn with_timestamp(mut self, timestamp: DateTime<Utc>) -> Self {
        self.timestamp = timestamp;
        self
    }

    /// The HTTP status Entra answers with: 401 for `invalid_client` (RFC 6749 §5.2), 500 for
    /// `server_error`, 413 and 429 for the limits, 400 otherwise.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Entra's timestamp spelling: `2024-05-13 10:14:05Z`.
    fn entra_timestamp(&self) -> String {
        self.timestamp.format("%Y-%m-%d %H:%M:%SZ").to_string()
    }
}

impl Serialize for OAuthError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let timestamp = self.entra_timestamp();
        let description = format!(
            "{}\r\nTrace ID: {}\r\nCorrelation ID: {}\r\nTimestamp: {timestamp}",
            self.error_description, self.trace_id, self.correlation_id
        );
        let mut body = serializer.serialize_struct("OAuthError", 6)?;
        body.serialize_field("error", self.error)?;
        body.serialize_field("error_description", &description)?;
        body.serialize_field("error_codes", &self.error_codes)?;
        body.serialize_field("timestamp", &timestamp)?;
        body.serialize_field("trace_id", &self.trace_id)?;
        body.serialize_field("correlation_id", &self.correlation_id)?;
        body.end()
    }
}

/// Client input echoed in a description, cut short so a huge parameter is not mirrored back.
fn echo(text: &str) -> String {
    text.chars().take(MAX_ECHO).collect()
}

/// A successful token answer, member for member as Entra's v2 endpoint (numbers, not strings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub token_type: String,
    pub expires_in: u64,
    /// Entra's extended lifetime for outages; without that feature it equals `expires_in`.
    pub ext_expires_in: u64,
    pub access_token: String,
}

impl From<IssuedToken> for TokenResponse {
    fn from(token: IssuedToken) -> Self {
        Self {
            token_type: "Bearer".to_string(),
            expires_in: token.expires_in,
            ext_expires_in: token.expires_in,
            access_token: token.access_token,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fixed(error: OAuthError) -> OAuthError {
        error
            .with_ids(
                Uuid::parse_str("11111111-2222-3333-4444-555555555555").unwrap(),
                Uuid::parse_str("66666666-7777-8888-9999-000000000000").unwrap(),
            )
            .with_timestamp(DateTime::from_timestamp(1_715_595_245, 0).unwrap())
    }

    #[test]
    fn error_body_is_entra_shaped() {
        let body = serde_json::to_value(fixed(OAuthError::invalid_client_secret("abc"))).unwrap();
        let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "error",
                "error_description",
                "error_codes",
                "timestamp",
                "trace_id",
                "correlation_id"
            ]
        );
        assert_eq!(body["error"], "invalid_client");
        assert_eq!(body["error_codes"], json!([7000215]));
        assert_eq!(body["timestamp"], "2024-05-13 10:14:05Z");
        assert_eq!(body["trace_id"], "11111111-2222-3333-4444-555555555555");
        assert_eq!(body["correlation_id"], "66666666-7777-8888-9999-000000000000");
        let description = body["error_description"].as_str().unwrap();
        assert!(description.starts_with("AADSTS7000215: Invalid client secret provided."));
        assert!(description.contains("app 'abc'"));
        assert!(description.ends_with(
            "\r\nTrace ID: 11111111-2222-3333-4444-555555555555\
             \r\nCorrelation ID: 66666666-7777-8888-9999-000000000000\
             \r\nTimestamp: 2024-05-13 10:14:05Z"
        ));
    }

    #[test]
    fn codes_and_statuses() {
        let cases = [
            (
                OAuthError::missing_parameter("grant_type"),
                "invalid_request",
                900144,
                400,
            ),
            (OAuthError::malformed_request("x"), "invalid_request", 9002313, 400),
            (
                OAuthError::unsupported_grant_type("password"),
                "unsupported_grant_type",
                70003,
                400,
            ),
            (OAuthError::missing_client_secret(), "invalid_client", 7000218, 401),
            (OAuthError::invalid_client_secret("c"), "invalid_client", 7000215, 401),
            (OAuthError::unknown_client("c"), "unauthorized_client", 700016, 400),
            (OAuthError::disabled_client("c"), "unauthorized_client", 7000112, 400),
            (OAuthError::invalid_scope("s"), "invalid_scope", 1002012, 400),
            (OAuthError::server_error(), "server_error", 50000, 500),
            (OAuthError::request_too_large(10), "invalid_request", 9002313, 413),
            (OAuthError::request_loop(10), "temporarily_unavailable", 50196, 429),
        ];
        for (error, name, code, status) in cases {
            assert_eq!(error.error, name);
            assert_eq!(error.error_codes, [code]);
            assert_eq!(error.status(), status, "{name}");
            assert!(error.error_description.starts_with(&format!("AADSTS{code}: ")));
        }
    }

    #[test]
    fn echoed_input_is_bounded() {
        let error = OAuthError::unsupported_grant_type(&"x".repeat(10_000));
        assert!(error.error_description.len() < 300);
    }

    #[test]
    fn fresh_errors_get_distinct_ids() {
        let a = OAuthError::server_error();
        let b = OAuthError::server_error();
        assert_ne!(a.trace_id, b.trace_id);
        assert_ne!(a.trace_id, a.correlation_id);
    }

    #[test]
    fn token_response_serializes_like_entra() {
        let issued = IssuedToken {
            access_token: "eyJ.x.y".into(),
            expires_in: 3600,
            expires_at: DateTime::from_timestamp(0, 0).unwrap(),
        };
        let text = serde_json::to_string(&TokenResponse::from(issued)).unwrap();
        assert_eq!(
            text,
            r#"{"token_type":"Bearer","expires_in":3600,"ext_expires_in":3600,"access_token":"eyJ.x.y"}"#
        );
        let back: TokenResponse = serde_json::from_str(&text).unwrap();
        assert_eq!(back.token_type, "Bearer");
    }
}
