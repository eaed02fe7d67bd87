//! App-only tokens from Entra (client credentials), cached per tenant and app until shortly
//! before they expire.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use reqwest::header::ACCEPT;
use serde::Deserialize;
use uuid::Uuid;

use crate::backoff::retry_after;
use crate::client::{read_body, Inner};
use crate::credentials::TenantCredentials;
use crate::error::{GraphError, Resource, TokenError};
use crate::observer::{GraphEvent, GraphObserver};
use crate::retry::{Attempts, Failure};

/// A bearer token. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct AccessToken(Arc<str>);

impl AccessToken {
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(***)")
    }
}

struct CachedToken {
    token: AccessToken,
    secret_fingerprint: u64,
    refresh_at: Instant,
}

type Slot = Arc<tokio::sync::Mutex<Option<CachedToken>>>;

/// Tokens by (tenant, client id). Each key has its own async lock so that concurrent callers
/// for one tenant wait for a single token request instead of each sending one, while other
/// tenants are not held up.
#[derive(Default)]
pub(crate) struct TokenCache {
    slots: Mutex<HashMap<(Uuid, String), Slot>>,
}

impl TokenCache {
    fn slot(&self, credentials: &TenantCredentials) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots
            .entry((credentials.tenant_id, credentials.client_id.clone()))
            .or_default()
            .clone()
    }

    /// Forgets `token` if it is still the cached one (Graph refused it).
    pub(crate) async fn invalidate(&self, credentials: &TenantCredentials, token: &AccessToken) {
        let slot = self.slot(credentials);
        let mut cached = slot.lock().await;
        if cached.as_ref().is_some_and(|c| &c.token == token) {
            *cached = None;
        }
    }
}

/// Longest lifetime a token is cached for, whatever `expires_in` says (Entra issues one to 24
/// hours), so that no answer can overflow the refresh time.
const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    /// Seconds; v2 sends a number, v1 a string. Read leniently by [`lifetime_of`].
    #[serde(default)]
    expires_in: serde_json::Value,
}

/// The lifetime assumed for a token whose `expires_in` is unreadable, missing, zero or
/// negative: 10 minutes. Entra's app-only tokens for Graph live 60 to 90 minutes, so 10
/// minutes is well inside any real lifetime, and a token Graph refuses earlier is replaced on its 401 anyway.
/// It used to be zero, which made every request of a sync fetch a new token.
pub(crate) const FALLBACK_TOKEN_LIFETIME: Duration = Duration::from_secs(600);

/// The lifetime `expires_in` announces, at most [`MAX_TOKEN_LIFETIME`]; anything unreadable,
/// missing, zero or negative is [`FALLBACK_TOKEN_LIFETIME`], never zero.
fn lifetime_of(expires_in: &serde_json::Value) -> Duration {
    let seconds = match expires_in {
        serde_json::Value::Number(number) => number.as_f64(),
        serde_json::Value::String(text) => text.trim().parse::<f64>().ok(),
        _ => None,
    };
    match seconds {
        Some(s) if s.is_finite() && s > 0.0 => {
            Duration::try_from_secs_f64(s).map_or(MAX_TOKEN_LIFETIME, |d| d.min(MAX_TOKEN_LIFETIME))
        }
        _ => FALLBACK_TOKEN_LIFETIME,
    }
}

#[derive(Deserialize)]
struct TokenErrorBody {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
    #[serde(default)]
    error_codes: Vec<i64>,
}

enum TokenStep {
    Issued(AccessToken, Duration),
    Retry(Failure),
}

impl Inner {
    /// A token for the tenant: the cached one while it is fresh, else a new one. `fresh`
    /// forces a new request (used to validate a secure connection).
    pub(crate) async fn token(
        &self,
        credentials: &TenantCredentials,
        observer: &dyn GraphObserver,
        fresh: bool,
    ) -> Result<AccessToken, GraphError> {
        let slot = self.tokens.slot(credentials);
        let mut cached = slot.lock().await;
        let fingerprint = credentials.client_secret.fingerprint();
        if !fresh {
            if let Some(hit) = cached.as_ref() {
                if hit.secret_fingerprint == fingerprint && Instant::now() < hit.refresh_at {
                    return Ok(hit.token.clone());
                }
            }
        }
        match self.request_token(credentials, observer).await {
            Ok((token, lifetime)) => {
                let margin = self.config.token_refresh_margin.min(lifetime / 2);
                let now = Instant::now();
                *cached = Some(CachedToken {
                    token: token.clone(),
                    secret_fingerprint: fingerprint,
                    refresh_at: now.checked_add(lifetime.saturating_sub(margin)).unwrap_or(now),
                });
                observer.on_event(&GraphEvent::TokenAcquired {
                    tenant_id: credentials.tenant_id,
                    expires_in: lifetime,
                });
                Ok(token)
            }
            Err(error) => {
                if matches!(error, GraphError::Token(_)) {
                    // These credentials are refused now; do not keep serving an older token.
                    *cached = None;
                }
                Err(error)
            }
        }
    }

    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %credentials.tenant_id))]
    async fn request_token(
        &self,
        credentials: &TenantCredentials,
        observer: &dyn GraphObserver,
    ) -> Result<(AccessToken, Duration), GraphError> {
        let url = format!("{}/{}/oauth2/v2.0/token", self.login_prefix, credentials.tenant_id);
        let form = [
            ("client_id", credentials.client_id.as_str()),
            ("client_secret", credentials.client_secret.expose()),
            ("scope", self.scope.as_str()),
            ("grant_type", "client_credentials"),
        ];
        let mut attempts = Attempts::new(&self.config, self.sleeper.as_ref(), observer, Resource::Token);
        loop {
            attempts.start();
            let sent = self
                .http
                .post(&url)
                .form(&form)
                .header(ACCEPT, "application/json")
                .timeout(self.config.request_timeout)
                .send()
                .await;
            let failure = match sent {
                Err(error) => Failure::from_reqwest(error),
                Ok(response) => {
                    let status = response.status().as_u16();
                    let asked = retry_after(response.headers());
                    match read_body(response).await {
                        Err(failure) => failure,
                        Ok(body) => match classify(status, asked, &body)? {
                            TokenStep::Issued(token, lifetime) => return Ok((token, lifetime)),
                            TokenStep::Retry(failure) => failure,
                        },
                    }
                }
            };
            attempts.after_failure(failure).await?;
        }
    }
}

fn classify(status: u16, asked: Option<Duration>, body: &[u8]) -> Result<TokenStep, GraphError> {
    match status {
        200..=299 => match serde_json::from_slice::<TokenResponse>(body) {
            Ok(issued) if !issued.access_token.is_empty() => Ok(TokenStep::Issued(
                AccessToken(issued.access_token.into()),
                lifetime_of(&issued.expires_in),
            )),
            Ok(_) => Ok(TokenStep::Retry(Failure::InvalidBody("empty access_token".into()))),
            Err(error) => Ok(TokenStep::Retry(Failure::InvalidBody(error.to_string()))),
        },
        429 | 503 => Ok(TokenStep::Retry(Failure::Throttled {
            status,
            retry_after: asked,
        })),
        500 | 502 | 504 => Ok(TokenStep::Retry(Failure::Server(status))),
        _ => match serde_json::from_slice::<TokenErrorBody>(body) {
            Ok(refusal) => Err(GraphError::Token(TokenError {
                status,
                error: refusal.error,
                error_description: refusal.error_description,
                error_codes: refusal.error_codes,
            })),
            Err(_) => Err(GraphError::Api {
                resource: Resource::Token,
                status,
                code: None,
                message: None,
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_token_answers() {
        let ok = br#"{"token_type":"Bearer","expires_in":3599,"access_token":"abc"}"#;
        assert!(
            matches!(classify(200, None, ok), Ok(TokenStep::Issued(t, d)) if t.expose() == "abc" && d.as_secs() == 3599)
        );
        let v1 = br#"{"token_type":"Bearer","expires_in":"3600","access_token":"abc"}"#;
        assert!(matches!(classify(200, None, v1), Ok(TokenStep::Issued(_, d)) if d.as_secs() == 3600));
        let refused = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]}"#;
        match classify(401, None, refused) {
            Err(GraphError::Token(error)) => {
                assert_eq!(error.error, "invalid_client");
                assert_eq!(error.error_codes, vec![7000215]);
                assert!(error.to_string().contains("AADSTS7000215"));
            }
            _ => panic!("expected a token error"),
        }
        assert!(matches!(
            classify(200, None, b"{\"access"),
            Ok(TokenStep::Retry(Failure::InvalidBody(_)))
        ));
        assert!(matches!(
            classify(429, None, b""),
            Ok(TokenStep::Retry(Failure::Throttled { .. }))
        ));
        assert!(matches!(
            classify(404, None, b"<html>"),
            Err(GraphError::Api { status: 404, .. })
        ));
    }

    /// Entra's answers as written by hand in `testdata/graph/`.
    #[test]
    fn reads_the_hand_written_token_answers() {
        let issued = include_bytes!("../../../testdata/graph/token.json");
        assert!(
            matches!(classify(200, None, issued), Ok(TokenStep::Issued(t, d)) if t.expose().starts_with("eyJ") && d.as_secs() == 3599)
        );
        let refused = include_bytes!("../../../testdata/graph/token-error.json");
        match classify(401, None, refused) {
            Err(GraphError::Token(error)) => {
                assert_eq!((error.status, error.error.as_str()), (401, "invalid_client"));
                assert!(error.error_description.unwrap().starts_with("AADSTS7000215"));
                assert_eq!(error.error_codes, vec![7000215]);
            }
            _ => panic!("expected a token error"),
        }
    }

    /// No `expires_in` can overflow the cache's refresh time or fail an otherwise good token.
    #[test]
    fn hostile_expires_in_values_are_bounded() {
        let day = MAX_TOKEN_LIFETIME;
        for (expires_in, lifetime) in [
            (r#"3599"#, Duration::from_secs(3599)),
            (r#""3600""#, Duration::from_secs(3600)),
            (r#"3599.5"#, Duration::from_millis(3_599_500)),
            (r#"18446744073709551615"#, day),
            (r#"1e300"#, day),
            (r#""99999999999999999999999""#, day),
            (r#"-1"#, FALLBACK_TOKEN_LIFETIME),
            (r#"0"#, FALLBACK_TOKEN_LIFETIME),
            (r#"-9223372036854775808"#, FALLBACK_TOKEN_LIFETIME),
            (r#""NaN""#, FALLBACK_TOKEN_LIFETIME),
            (r#""inf""#, FALLBACK_TOKEN_LIFETIME),
            (r#""soon""#, FALLBACK_TOKEN_LIFETIME),
            (r#"null"#, FALLBACK_TOKEN_LIFETIME),
            (r#"[3599]"#, FALLBACK_TOKEN_LIFETIME),
            (r#"{"s":1}"#, FALLBACK_TOKEN_LIFETIME),
        ] {
            let body = format!(r#"{{"token_type":"Bearer","expires_in":{expires_in},"access_token":"abc"}}"#);
            match classify(200, None, body.as_bytes()) {
                Ok(TokenStep::Issued(token, got)) => {
                    assert_eq!(token.expose(), "abc");
                    assert_eq!(got, lifetime, "{expires_in}");
                }
                _ => panic!("{expires_in}: the token was not accepted"),
            }
        }
        let missing = br#"{"token_type":"Bearer","access_token":"abc"}"#;
        assert!(matches!(classify(200, None, missing), Ok(TokenStep::Issued(_, d)) if d == FALLBACK_TOKEN_LIFETIME));
    }

    #[test]
    fn token_debug_is_redacted() {
        assert_eq!(format!("{:?}", AccessToken("secret".into())), "AccessToken(***)");
    }
}
