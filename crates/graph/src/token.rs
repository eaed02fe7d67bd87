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
use crate::client::Inner;
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

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    /// Seconds; v2 sends a number, v1 a string.
    expires_in: NumberOrText,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrText {
    Number(u64),
    Text(String),
}

impl NumberOrText {
    fn seconds(&self) -> Option<u64> {
        match self {
            Self::Number(n) => Some(*n),
            Self::Text(t) => t.trim().parse().ok(),
        }
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
                *cached = Some(CachedToken {
                    token: token.clone(),
                    secret_fingerprint: fingerprint,
                    refresh_at: Instant::now() + lifetime.saturating_sub(margin),
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
                    match response.bytes().await {
                        Err(error) => Failure::from_reqwest(error),
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
            Ok(issued) if !issued.access_token.is_empty() => {
                let seconds = issued.expires_in.seconds().unwrap_or(0);
                Ok(TokenStep::Issued(
                    AccessToken(issued.access_token.into()),
                    Duration::from_secs(seconds),
                ))
            }
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

    #[test]
    fn token_debug_is_redacted() {
        assert_eq!(format!("{:?}", AccessToken("secret".into())), "AccessToken(***)");
    }
}
