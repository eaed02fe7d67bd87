//! Everything that can go wrong talking to Entra and Graph, as data the caller can act on.
//! No variant carries a secret, a token or a full URL.

use std::fmt;

use domain::graph_mapping::GraphDataError;

/// The Graph resource a request was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    Token,
    Users,
    UsersDelta,
    UserConfigurations,
    /// `/subscriptions` (change notifications).
    Subscriptions,
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Token => "token",
            Self::Users => "users",
            Self::UsersDelta => "users/delta",
            Self::UserConfigurations => "admin/teams/userConfigurations",
            Self::Subscriptions => "subscriptions",
        })
    }
}

/// Entra refused to issue a token: its `error` / `error_description`, shown to operators when
/// they validate a secure connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Entra refused the token request (HTTP {status}, {error}): {}", .error_description.as_deref().unwrap_or("no description"))]
pub struct TokenError {
    pub status: u16,
    /// `invalid_client`, `unauthorized_client`, `invalid_request`, ...
    pub error: String,
    /// `AADSTS...` text.
    pub error_description: Option<String>,
    pub error_codes: Vec<i64>,
}

/// A failed Graph operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The stored delta link is no longer valid (410 Gone, `syncStateNotFound`,
    /// `resyncRequired`, or a link from another Graph): start a full round.
    #[error("the users/delta link expired; a full round is needed")]
    DeltaExpired,
    /// The configured Graph does not offer this resource (404, or a 400 saying it is not
    /// supported): the Teams administration API in the national clouds.
    #[error("{resource}: not available in this cloud (HTTP {status})")]
    NotInThisCloud { resource: Resource, status: u16 },
    /// A non-retryable answer (400, 403, 404, ...) with Graph's error code and message.
    #[error("{resource}: HTTP {status}{}{}", .code.as_deref().map(|c| format!(" {c}")).unwrap_or_default(), .message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Api {
        resource: Resource,
        status: u16,
        code: Option<String>,
        message: Option<String>,
    },
    /// Graph asked to wait (`Retry-After`) longer than `max_retry_after`: the request was not
    /// retried early; come back after `retry_after`.
    #[error("{resource}: Graph throttled (HTTP {status}) and asked to wait {} s, longer than this client waits", .retry_after.as_secs())]
    RetryLater {
        resource: Resource,
        status: u16,
        retry_after: std::time::Duration,
    },
    #[error("{resource}: still throttled (HTTP {status}) after {attempts} attempts")]
    Throttled {
        resource: Resource,
        status: u16,
        attempts: u32,
    },
    #[error("{resource}: server error HTTP {status} after {attempts} attempts")]
    Server {
        resource: Resource,
        status: u16,
        attempts: u32,
    },
    #[error("{resource}: timed out after {attempts} attempts")]
    Timeout { resource: Resource, attempts: u32 },
    #[error("{resource}: connection failed after {attempts} attempts: {message}")]
    Transport {
        resource: Resource,
        message: String,
        attempts: u32,
    },
    /// A 200 whose body is not the expected JSON (truncated, HTML, ...), repeatedly.
    #[error("{resource}: invalid JSON response after {attempts} attempts: {message}")]
    InvalidJson {
        resource: Resource,
        message: String,
        attempts: u32,
    },
    /// A well-formed page holding an item that is not a valid record.
    #[error("{resource}: invalid item: {source}")]
    InvalidItem {
        resource: Resource,
        #[source]
        source: GraphDataError,
    },
    /// Graph pointed a paging link at another host; the token is never sent there.
    #[error("{resource}: Graph returned a paging link outside the configured Graph URL")]
    ForeignLink { resource: Resource },
    #[error("invalid Graph client configuration: {0}")]
    Config(String),
}

impl GraphError {
    /// Whether a later attempt may succeed without anyone changing anything (throttling,
    /// outages, network trouble). Token refusals, permissions and bad data are not transient.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Throttled { .. }
                | Self::RetryLater { .. }
                | Self::Server { .. }
                | Self::Timeout { .. }
                | Self::Transport { .. }
                | Self::InvalidJson { .. }
        )
    }
}
