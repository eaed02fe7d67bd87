//! The client: one shared HTTP connection pool and token cache, and per-tenant handles that
//! read Graph page by page.

use std::fmt;
use std::sync::Arc;

use domain::graph_mapping::{GraphUser, TeamsUserConfiguration, UserDelta, CONFIGURATION_SELECT, USER_SELECT};
use reqwest::header::ACCEPT;
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::backoff::{retry_after, RETRY_AFTER_CEILING};
use crate::config::GraphConfig;
use crate::credentials::TenantCredentials;
use crate::error::{GraphError, Resource};
use crate::observer::{GraphEvent, GraphObserver, NoopObserver, RetryReason};
use crate::pager::Pager;
use crate::retry::{Attempts, Failure};
use crate::sleeper::{Sleeper, TokioSleeper};
use crate::token::TokenCache;

/// Graph error codes that mean a delta link can no longer be used.
const DELTA_EXPIRED_CODES: [&str; 2] = ["syncStateNotFound", "resyncRequired"];
/// Graph hosts of the national clouds, where the Teams administration API
/// (`/admin/teams/userConfigurations`) does not exist: US Government L4 (GCC High), L5 (DoD),
/// and China operated by 21Vianet.
const NATIONAL_CLOUD_HOSTS: [&str; 3] = [
    "graph.microsoft.us",
    "dod-graph.microsoft.us",
    "microsoftgraph.chinacloudapi.cn",
];
/// Longest Graph error message kept in an error.
const MAX_MESSAGE_CHARS: usize = 300;
/// Largest response body read from Graph or Entra. A page of 999 users with the selected
/// properties is a few MB; anything far larger is a broken or hostile server, not data.
const MAX_BODY_BYTES: usize = 64 << 20;

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) config: GraphConfig,
    /// `graph_url` without a trailing slash.
    pub(crate) graph_prefix: String,
    pub(crate) graph_origin: url::Origin,
    /// `login_url` without a trailing slash.
    pub(crate) login_prefix: String,
    /// `{graph_url}/.default`: the scope host follows the Graph host (national clouds).
    pub(crate) scope: String,
    pub(crate) tokens: TokenCache,
    pub(crate) sleeper: Arc<dyn Sleeper>,
}

/// A Microsoft Graph client shared by every tenant: one connection pool, one token cache.
/// Cheap to clone.
#[derive(Clone)]
pub struct GraphClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphClient")
            .field("graph_url", &self.inner.graph_prefix)
            .field("login_url", &self.inner.login_prefix)
            .finish_non_exhaustive()
    }
}

impl GraphClient {
    /// A client that really waits between attempts.
    pub fn new(config: GraphConfig) -> Result<Self, GraphError> {
        Self::with_sleeper(config, Arc::new(TokioSleeper))
    }

    /// A client that waits through `sleeper` (tests record waits instead of sleeping).
    pub fn with_sleeper(config: GraphConfig, sleeper: Arc<dyn Sleeper>) -> Result<Self, GraphError> {
        let graph = parse_base("graph_url", &config.graph_url)?;
        let login = parse_base("login_url", &config.login_url)?;
        if !(1..=999).contains(&config.users_page_size) {
            return Err(GraphError::Config("users_page_size must be 1..=999".into()));
        }
        if config.configurations_page_size == Some(0) {
            return Err(GraphError::Config("configurations_page_size must be at least 1".into()));
        }
        if config.request_timeout.is_zero() {
            return Err(GraphError::Config("request_timeout must be positive".into()));
        }
        if config.max_retry_after > RETRY_AFTER_CEILING {
            return Err(GraphError::Config(format!(
                "max_retry_after must be at most {} seconds",
                RETRY_AFTER_CEILING.as_secs()
            )));
        }
        let http = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.request_timeout.min(std::time::Duration::from_secs(15)))
            // A redirect could carry the bearer token elsewhere; Graph does not redirect these.
            .redirect(reqwest::redirect::Policy::none())
            .use_rustls_tls()
            .build()
            .map_err(|e| GraphError::Config(format!("HTTP client: {e}")))?;
        let graph_prefix = graph.as_str().trim_end_matches('/').to_string();
        let login_prefix = login.as_str().trim_end_matches('/').to_string();
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                scope: format!("{graph_prefix}/.default"),
                graph_origin: graph.origin(),
                graph_prefix,
                login_prefix,
                config,
                tokens: TokenCache::default(),
                sleeper,
            }),
        })
    }

    pub fn config(&self) -> &GraphConfig {
        &self.inner.config
    }

    /// Whether the configured Graph offers the Teams administration API: not in the national
    /// clouds (US Government L4/L5, 21Vianet), recognised by their Graph host.
    pub fn offers_teams_admin_api(&self) -> bool {
        offers_teams_admin_api(&self.inner.graph_prefix)
    }

    /// A handle for one customer tenant, reporting to no observer until `with_observer`.
    pub fn tenant(&self, credentials: TenantCredentials) -> TenantClient {
        TenantClient {
            inner: self.inner.clone(),
            credentials: Arc::new(credentials),
            observer: Arc::new(NoopObserver),
        }
    }
}

fn offers_teams_admin_api(graph_url: &str) -> bool {
    let host = Url::parse(graph_url)
        .ok()
        .and_then(|url| url.host_str().map(|h| h.trim_end_matches('.').to_ascii_lowercase()));
    !host.is_some_and(|host| NATIONAL_CLOUD_HOSTS.contains(&host.as_str()))
}

/// A base URL: `https`, or plain `http` to a loopback host only (a fake on this machine), so
/// that a typo can never send a client secret or a bearer token over the network in clear text.
fn parse_base(name: &str, text: &str) -> Result<Url, GraphError> {
    let url = Url::parse(text.trim()).map_err(|e| GraphError::Config(format!("{name}: {e}")))?;
    let Some(host) = url.host() else {
        return Err(GraphError::Config(format!("{name} must be an https URL")));
    };
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&host) => {}
        "http" => {
            return Err(GraphError::Config(format!(
                "{name} must be an https URL: plain http would send secrets and tokens in clear text \
                 (it is accepted only for a loopback host such as 127.0.0.1)"
            )))
        }
        _ => return Err(GraphError::Config(format!("{name} must be an https URL"))),
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(GraphError::Config(format!("{name} must not carry a query or fragment")));
    }
    Ok(url)
}

fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
        url::Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
    }
}

/// Graph for one customer tenant. Cheap to clone; clones share the token cache.
#[derive(Clone)]
pub struct TenantClient {
    inner: Arc<Inner>,
    credentials: Arc<TenantCredentials>,
    observer: Arc<dyn GraphObserver>,
}

impl fmt::Debug for TenantClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantClient")
            .field("tenant_id", &self.credentials.tenant_id)
            .field("client_id", &self.credentials.client_id)
            .finish_non_exhaustive()
    }
}

/// The envelope of a Graph collection page.
#[derive(Debug, Deserialize)]
pub(crate) struct RawPage {
    #[serde(rename = "@odata.nextLink", default)]
    pub(crate) next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink", default)]
    pub(crate) delta_link: Option<String>,
    pub(crate) value: Vec<Value>,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

enum PageStep {
    Done(RawPage),
    Retry(Failure),
    /// Graph refused the token (401): fetch a new one once, else fail with the error.
    RefreshToken(GraphError),
}

impl TenantClient {
    /// Reports this handle's events (and its pagers') to `observer`.
    pub fn with_observer(mut self, observer: Arc<dyn GraphObserver>) -> Self {
        self.observer = observer;
        self
    }

    pub fn credentials(&self) -> &TenantCredentials {
        &self.credentials
    }

    /// Checks the secure connection: requests a new token now, bypassing the cache. A refusal
    /// is `GraphError::Token` with Entra's `error` and `error_description`.
    pub async fn validate(&self) -> Result<(), GraphError> {
        self.inner
            .token(&self.credentials, self.observer.as_ref(), true)
            .await
            .map(|_| ())
    }

    /// `GET /v1.0/users` with the mapped properties, `$top` from the config, following
    /// `@odata.nextLink`.
    pub fn users(&self) -> Pager<GraphUser> {
        let url = format!(
            "{}/v1.0/users?$select={}&$top={}",
            self.inner.graph_prefix,
            USER_SELECT.join(","),
            self.inner.config.users_page_size
        );
        Pager::start(self.clone(), Resource::Users, Url::parse(&url))
    }

    /// `GET /v1.0/users/delta`: a full round from scratch when `delta_link` is `None`, else the
    /// changes since the round that returned `delta_link`. The last page carries the next
    /// `@odata.deltaLink`. A link that does not belong to the configured Graph (e.g. stored
    /// before a move to a national cloud) counts as expired: `GraphError::DeltaExpired`.
    pub fn users_delta(&self, delta_link: Option<&str>) -> Pager<UserDelta> {
        match delta_link {
            None => {
                let url = format!(
                    "{}/v1.0/users/delta?$select={}",
                    self.inner.graph_prefix,
                    USER_SELECT.join(",")
                );
                Pager::start(self.clone(), Resource::UsersDelta, Url::parse(&url))
            }
            Some(link) => match self.own_link(Resource::UsersDelta, link) {
                Ok(url) => Pager::start(self.clone(), Resource::UsersDelta, Ok(url)),
                Err(_) => Pager::expired(self.clone()),
            },
        }
    }

    /// `GET /v1.0/admin/teams/userConfigurations` with a `$select` of only what the mapping
    /// reads (`CONFIGURATION_SELECT`), following `@odata.nextLink`. Where the API does not
    /// exist (national clouds) the listing fails with `GraphError::NotInThisCloud`.
    pub fn user_configurations(&self) -> Pager<TeamsUserConfiguration> {
        let mut url = format!(
            "{}/v1.0/admin/teams/userConfigurations?$select={}",
            self.inner.graph_prefix,
            CONFIGURATION_SELECT.join(",")
        );
        if let Some(top) = self.inner.config.configurations_page_size {
            url.push_str(&format!("&$top={top}"));
        }
        Pager::start(self.clone(), Resource::UserConfigurations, Url::parse(&url))
    }

    /// `GET /v1.0/admin/teams/userConfigurations/{id}` with the mapped properties: one user's
    /// Teams configuration, `None` when Teams has none (404).
    pub async fn user_configuration(&self, id: uuid::Uuid) -> Result<Option<TeamsUserConfiguration>, GraphError> {
        let resource = Resource::UserConfigurations;
        let url = self.graph_url(&format!(
            "/v1.0/admin/teams/userConfigurations/{id}?$select={}",
            CONFIGURATION_SELECT.join(",")
        ))?;
        match self.send_json(resource, reqwest::Method::GET, url, None).await {
            Ok(body) => serde_json::from_slice(&body)
                .map(Some)
                .map_err(|e| GraphError::InvalidJson {
                    resource,
                    message: e.to_string(),
                    attempts: 1,
                }),
            Err(GraphError::Api { status: 404, .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }

    pub(crate) fn observer(&self) -> &dyn GraphObserver {
        self.observer.as_ref()
    }

    /// Graph refused `token` (401): forget it so the next attempt gets a new one, and report
    /// the retry.
    pub(crate) async fn drop_refused_token(
        &self,
        token: &crate::token::AccessToken,
        resource: Resource,
        attempts: &Attempts<'_>,
    ) {
        self.inner.tokens.invalidate(&self.credentials, token).await;
        attempts.observer().on_event(&GraphEvent::Retrying {
            resource,
            reason: RetryReason::Unauthorized,
            wait: std::time::Duration::ZERO,
            attempt: attempts.made(),
        });
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    /// `path` (starting with `/v1.0/`) on the configured Graph.
    pub(crate) fn graph_url(&self, path: &str) -> Result<Url, GraphError> {
        Url::parse(&format!("{}{path}", self.inner.graph_prefix))
            .map_err(|e| GraphError::Config(format!("graph_url: {e}")))
    }

    /// Parses a paging link and checks it points at the configured Graph, so the bearer token
    /// is never sent anywhere else.
    pub(crate) fn own_link(&self, resource: Resource, link: &str) -> Result<Url, GraphError> {
        let url = Url::parse(link).map_err(|_| GraphError::ForeignLink { resource })?;
        if url.origin() != self.inner.graph_origin {
            return Err(GraphError::ForeignLink { resource });
        }
        Ok(url)
    }

    /// One page, with retries for throttling and transient failures and one token refresh on
    /// 401.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %self.credentials.tenant_id, %resource))]
    pub(crate) async fn fetch_page(&self, resource: Resource, url: &Url) -> Result<RawPage, GraphError> {
        let inner = &self.inner;
        let mut attempts = Attempts::new(&inner.config, inner.sleeper.as_ref(), self.observer(), resource);
        let mut token_refreshed = false;
        loop {
            attempts.start();
            let token = inner.token(&self.credentials, self.observer(), false).await?;
            let mut request = inner
                .http
                .get(url.clone())
                .bearer_auth(token.expose())
                .header(ACCEPT, "application/json")
                .timeout(inner.config.request_timeout);
            if resource == Resource::UserConfigurations {
                // accountType `ineligibleUser` is only sent to clients that ask for it.
                request = request.header("Prefer", "include-unknown-enum-members");
            }
            let failure = match request.send().await {
                Err(error) => Failure::from_reqwest(error),
                Ok(response) => {
                    let status = response.status().as_u16();
                    self.observer().on_event(&GraphEvent::Responded { resource, status });
                    let asked = retry_after(response.headers());
                    match read_body(response).await {
                        Err(failure) => failure,
                        Ok(body) => match classify_page(resource, status, asked, &body)? {
                            PageStep::Done(page) => return Ok(page),
                            PageStep::Retry(failure) => failure,
                            PageStep::RefreshToken(error) => {
                                if token_refreshed {
                                    return Err(error);
                                }
                                token_refreshed = true;
                                self.drop_refused_token(&token, resource, &attempts).await;
                                continue;
                            }
                        },
                    }
                }
            };
            attempts.after_failure(failure).await?;
        }
    }
}

/// The whole body of a response, refused beyond [`MAX_BODY_BYTES`] (checked while reading, so
/// a server cannot make the client buffer without bound).
pub(crate) async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, Failure> {
    let too_large = || Failure::InvalidBody(format!("response body over {MAX_BODY_BYTES} bytes"));
    let announced = response.content_length().unwrap_or(0);
    if announced > MAX_BODY_BYTES as u64 {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(usize::try_from(announced).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(Failure::from_reqwest)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn classify_page(
    resource: Resource,
    status: u16,
    asked: Option<std::time::Duration>,
    body: &[u8],
) -> Result<PageStep, GraphError> {
    if (200..300).contains(&status) {
        return Ok(match serde_json::from_slice::<RawPage>(body) {
            Ok(page) => PageStep::Done(page),
            Err(error) => PageStep::Retry(Failure::InvalidBody(error.to_string())),
        });
    }
    match status {
        429 | 503 => {
            return Ok(PageStep::Retry(Failure::Throttled {
                status,
                retry_after: asked,
            }))
        }
        500 | 502 | 504 => return Ok(PageStep::Retry(Failure::Server(status))),
        410 if resource == Resource::UsersDelta => return Err(GraphError::DeltaExpired),
        _ => {}
    }
    let (code, message) = error_detail(body);
    if resource == Resource::UsersDelta
        && code
            .as_deref()
            .is_some_and(|c| DELTA_EXPIRED_CODES.iter().any(|e| e.eq_ignore_ascii_case(c)))
    {
        return Err(GraphError::DeltaExpired);
    }
    if resource == Resource::UserConfigurations
        && (status == 404 || (status == 400 && says_unsupported(&code, &message)))
    {
        return Err(GraphError::NotInThisCloud { resource, status });
    }
    let error = GraphError::Api {
        resource,
        status,
        code,
        message,
    };
    if status == 401 {
        Ok(PageStep::RefreshToken(error))
    } else {
        Err(error)
    }
}

/// Graph's error `code` and `message` (shortened) from an error body, if it has them.
fn error_detail(body: &[u8]) -> (Option<String>, Option<String>) {
    let detail = serde_json::from_slice::<ErrorEnvelope>(body).ok().map(|e| e.error);
    let code = detail.as_ref().and_then(|d| d.code.clone());
    let message = detail
        .and_then(|d| d.message)
        .map(|m| m.chars().take(MAX_MESSAGE_CHARS).collect::<String>());
    (code, message)
}

/// A non-retryable answer as an error, with Graph's code and message.
pub(crate) fn api_error(resource: Resource, status: u16, body: &[u8]) -> GraphError {
    let (code, message) = error_detail(body);
    GraphError::Api {
        resource,
        status,
        code,
        message,
    }
}

/// Whether a 400 says the request is not supported (how a cloud without an API may refuse it).
fn says_unsupported(code: &Option<String>, message: &Option<String>) -> bool {
    [code, message].into_iter().flatten().any(|text| {
        let lower = text.to_ascii_lowercase();
        lower.contains("unsupported") || lower.contains("not supported")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::TenantCredentials;
    use uuid::Uuid;

    fn client(graph: &str) -> TenantClient {
        let config = GraphConfig {
            graph_url: graph.into(),
            ..GraphConfig::default()
        };
        GraphClient::new(config)
            .unwrap()
            .tenant(TenantCredentials::new(Uuid::nil(), "app", "secret"))
    }

    fn assert_send<T: Send>(_: &T) {}

    /// The sync engine drives pagers from spawned tasks: their futures must be `Send`.
    #[test]
    fn pagers_and_their_futures_are_send() {
        let tenant = client("https://graph.microsoft.com");
        let mut users = tenant.users();
        assert_send(&users);
        assert_send(&users.next_page());
        let mut delta = tenant.users_delta(None);
        assert_send(&delta.next_page());
        let mut configurations = tenant.user_configurations();
        assert_send(&configurations.next_page());
        assert_send(&tenant.validate());
        assert_send(&tenant.users().collect_all());
    }

    #[test]
    fn national_clouds_have_no_teams_admin_api() {
        for national in [
            "https://graph.microsoft.us",
            "https://dod-graph.microsoft.us/",
            "https://MicrosoftGraph.ChinaCloudApi.cn",
        ] {
            assert!(!offers_teams_admin_api(national), "{national}");
        }
        for global in [
            "https://graph.microsoft.com",
            "http://127.0.0.1:9000",
            "https://graph.microsoft.us.example",
        ] {
            assert!(offers_teams_admin_api(global), "{global}");
        }
        let unsupported = br#"{"error":{"code":"BadRequest","message":"This API is not supported in this cloud."}}"#;
        assert_eq!(
            classify_page(Resource::UserConfigurations, 400, None, unsupported).err(),
            Some(GraphError::NotInThisCloud {
                resource: Resource::UserConfigurations,
                status: 400
            })
        );
        assert_eq!(
            classify_page(Resource::UserConfigurations, 404, None, b"").err(),
            Some(GraphError::NotInThisCloud {
                resource: Resource::UserConfigurations,
                status: 404
            })
        );
        let other = br#"{"error":{"code":"BadRequest","message":"Invalid filter."}}"#;
        assert!(matches!(
            classify_page(Resource::UserConfigurations, 400, None, other),
            Err(GraphError::Api { status: 400, .. })
        ));
        assert!(matches!(
            classify_page(Resource::Users, 404, None, b""),
            Err(GraphError::Api { status: 404, .. })
        ));
    }

    #[test]
    fn scope_follows_the_graph_host() {
        let tenant = client("https://graph.microsoft.us/");
        assert_eq!(tenant.inner.scope, "https://graph.microsoft.us/.default");
        assert_eq!(tenant.inner.graph_prefix, "https://graph.microsoft.us");
    }

    #[test]
    fn rejects_bad_configuration() {
        for bad in [
            "not a url",
            "ftp://graph.microsoft.com",
            "https://graph.microsoft.com/?x=1",
            "http://graph.microsoft.com",
            "http://10.0.0.1:8080",
            "http://localhost.example.com",
            "HTTP://GRAPH.MICROSOFT.US",
        ] {
            let config = GraphConfig {
                graph_url: bad.into(),
                ..GraphConfig::default()
            };
            assert!(matches!(GraphClient::new(config), Err(GraphError::Config(_))), "{bad}");
            let config = GraphConfig {
                login_url: bad.into(),
                ..GraphConfig::default()
            };
            assert!(matches!(GraphClient::new(config), Err(GraphError::Config(_))), "{bad}");
        }
        let plain = GraphConfig {
            login_url: "http://login.microsoftonline.com".into(),
            ..GraphConfig::default()
        };
        match GraphClient::new(plain) {
            Err(GraphError::Config(message)) => assert!(message.contains("clear text"), "{message}"),
            other => panic!("expected a configuration error, got {other:?}"),
        }
        for loopback in [
            "http://127.0.0.1:9000",
            "http://127.8.9.10",
            "http://[::1]:9000",
            "http://localhost:9000",
            "https://graph.microsoft.us",
        ] {
            let config = GraphConfig::for_base_url(loopback);
            assert!(GraphClient::new(config).is_ok(), "{loopback}");
        }
        let patient = GraphConfig {
            max_retry_after: RETRY_AFTER_CEILING + std::time::Duration::from_secs(1),
            ..GraphConfig::default()
        };
        assert!(matches!(GraphClient::new(patient), Err(GraphError::Config(_))));
        let config = GraphConfig {
            users_page_size: 1000,
            ..GraphConfig::default()
        };
        assert!(matches!(GraphClient::new(config), Err(GraphError::Config(_))));
    }

    #[test]
    fn paging_links_must_stay_on_graph() {
        let tenant = client("https://graph.microsoft.com");
        assert!(tenant
            .own_link(Resource::Users, "https://graph.microsoft.com/v1.0/users?$skiptoken=x")
            .is_ok());
        for foreign in [
            "https://evil.example/v1.0/users",
            "http://graph.microsoft.com/v1.0/users",
            "https://graph.microsoft.com:444/v1.0/users",
            "not a link",
        ] {
            assert_eq!(
                tenant.own_link(Resource::Users, foreign),
                Err(GraphError::ForeignLink {
                    resource: Resource::Users
                }),
                "{foreign}"
            );
        }
    }

    /// Graph's envelopes and error bodies as written by hand in `testdata/graph/`.
    #[test]
    fn reads_the_hand_written_envelopes() {
        let users = include_bytes!("../../../testdata/graph/users-page.json");
        match classify_page(Resource::Users, 200, None, users) {
            Ok(PageStep::Done(page)) => {
                assert!(page.next_link.unwrap().contains("$skiptoken="));
                assert_eq!((page.delta_link, page.value.len()), (None, 2));
            }
            _ => panic!("a users page"),
        }
        let last = include_bytes!("../../../testdata/graph/users-delta-first-round.json");
        match classify_page(Resource::UsersDelta, 200, None, last) {
            Ok(PageStep::Done(page)) => {
                assert_eq!(page.next_link, None);
                assert!(page.delta_link.unwrap().contains("$deltatoken="));
            }
            _ => panic!("a delta page"),
        }
        let throttled = include_bytes!("../../../testdata/graph/throttled.json");
        assert!(matches!(
            classify_page(Resource::UsersDelta, 429, None, throttled),
            Ok(PageStep::Retry(Failure::Throttled { status: 429, .. }))
        ));
        match classify_page(Resource::Users, 400, None, throttled) {
            Err(GraphError::Api { code, message, .. }) => {
                assert_eq!(code.as_deref(), Some("TooManyRequests"));
                assert_eq!(message.as_deref(), Some("Too many requests."));
            }
            _ => panic!("an API error"),
        }
    }

    #[test]
    fn classifies_graph_answers() {
        let page = br#"{"@odata.nextLink":"https://graph.microsoft.com/v1.0/users?$skiptoken=a","value":[{"id":"x"}]}"#;
        assert!(matches!(classify_page(Resource::Users, 200, None, page), Ok(PageStep::Done(p)) if p.value.len() == 1));
        assert!(matches!(
            classify_page(Resource::Users, 200, None, b"{\"value\":[{\"id\""),
            Ok(PageStep::Retry(Failure::InvalidBody(_)))
        ));
        assert!(matches!(
            classify_page(Resource::Users, 200, None, b"{}"),
            Ok(PageStep::Retry(Failure::InvalidBody(_)))
        ));
        assert_eq!(
            classify_page(Resource::UsersDelta, 410, None, b"").err(),
            Some(GraphError::DeltaExpired)
        );
        let expired = br#"{"error":{"code":"syncStateNotFound","message":"The sync state is gone."}}"#;
        assert_eq!(
            classify_page(Resource::UsersDelta, 400, None, expired).err(),
            Some(GraphError::DeltaExpired)
        );
        let resync = br#"{"error":{"code":"resyncRequired","message":"x"}}"#;
        assert_eq!(
            classify_page(Resource::UsersDelta, 409, None, resync).err(),
            Some(GraphError::DeltaExpired)
        );
        let denied = br#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}"#;
        match classify_page(Resource::Users, 403, None, denied) {
            Err(GraphError::Api {
                status: 403,
                code,
                message,
                ..
            }) => {
                assert_eq!(code.as_deref(), Some("Authorization_RequestDenied"));
                assert!(message.unwrap().starts_with("Insufficient"));
            }
            _ => panic!("expected an API error"),
        }
        assert!(matches!(
            classify_page(Resource::Users, 401, None, b""),
            Ok(PageStep::RefreshToken(_))
        ));
        assert!(matches!(
            classify_page(Resource::Users, 503, Some(std::time::Duration::from_secs(2)), b""),
            Ok(PageStep::Retry(Failure::Throttled {
                status: 503,
                retry_after: Some(_)
            }))
        ));
        assert!(matches!(
            classify_page(Resource::Users, 504, None, b""),
            Ok(PageStep::Retry(Failure::Server(504)))
        ));
        assert!(matches!(
            classify_page(Resource::Users, 410, None, b""),
            Err(GraphError::Api { status: 410, .. })
        ));
    }
}
