//! The Graph client's settings: where Microsoft lives and how patient to be with it.

use std::time::Duration;

/// Settings of a `GraphClient`. Both base URLs are configuration so that national clouds work
/// and tests can point the real client at a fake on loopback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphConfig {
    /// Microsoft Graph, without a trailing path (`https://graph.microsoft.us` in GCC High).
    pub graph_url: String,
    /// The Entra authority (`https://login.microsoftonline.us` in GCC High).
    pub login_url: String,
    /// Limit for one HTTP exchange, from connecting until the body is read.
    pub request_timeout: Duration,
    /// Further attempts after the first one fails for a transient reason (429, 5xx, timeout,
    /// connection error, unreadable body).
    pub max_retries: u32,
    /// Further attempts after a 200 whose body is not the expected JSON; counted within
    /// `max_retries` as well.
    pub max_invalid_body_retries: u32,
    /// Ceiling for a server-sent `Retry-After`; Graph has been seen asking for 300 s and more.
    pub max_retry_after: Duration,
    /// First backoff when the server gives no `Retry-After`; doubled per attempt, jittered.
    pub base_backoff: Duration,
    /// Ceiling of the exponential backoff.
    pub max_backoff: Duration,
    /// `$top` for `/users` (Graph allows 1..=999).
    pub users_page_size: u32,
    /// `$top` for `/admin/teams/userConfigurations`; `None` leaves the page size to the server
    /// (its limits are not documented).
    pub configurations_page_size: Option<u32>,
    /// A cached token is replaced this long before it expires (halved for short-lived tokens).
    pub token_refresh_margin: Duration,
    pub user_agent: String,
}

pub const DEFAULT_GRAPH_URL: &str = "https://graph.microsoft.com";
pub const DEFAULT_LOGIN_URL: &str = "https://login.microsoftonline.com";

impl Default for GraphConfig {
    fn default() -> Self {
        Self {
            graph_url: DEFAULT_GRAPH_URL.to_string(),
            login_url: DEFAULT_LOGIN_URL.to_string(),
            request_timeout: Duration::from_secs(60),
            max_retries: 6,
            max_invalid_body_retries: 2,
            max_retry_after: Duration::from_secs(300),
            base_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            users_page_size: 999,
            configurations_page_size: None,
            token_refresh_margin: Duration::from_secs(300),
            user_agent: concat!("rosterd/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

impl GraphConfig {
    /// The defaults, with both services at one base URL (the test kit's fake serves both).
    pub fn for_base_url(base: &str) -> Self {
        Self {
            graph_url: base.to_string(),
            login_url: base.to_string(),
            ..Self::default()
        }
    }
}
