//! Tokens from an external issuer — Microsoft Entra ID in production — so clients that already
//! get their tokens from Entra for the provider's app registration work unchanged. The issuer's
//! keys are fetched from its JWKS URL and fetched again when a token names a key not seen yet
//! (Entra rotates keys). Authorization stays local: the token's client (`azp`/`appid`) must be
//! registered as an API client (`rosterd client create --external-app-id ...`).

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use auth::{ExternalIssuer, TokenError};
use chrono::{DateTime, Utc};
use domain::ClientId;

use crate::error::AppError;

/// How often an unknown `kid` may trigger a JWKS fetch, by default.
pub const DEFAULT_REFETCH_INTERVAL: Duration = Duration::from_secs(30);
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Which external issuer to trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalIssuerConfig {
    /// The exact `iss` of its tokens, e.g. `https://login.microsoftonline.com/{tenant}/v2.0`.
    pub issuer: String,
    /// The `aud` tokens must carry (the app ID URI or client id of the provider's registration).
    pub audience: String,
    /// Where its keys are published, e.g. `https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys`.
    pub jwks_url: String,
    /// Least time between two fetches of the keys (a flood of bad tokens must not become a flood
    /// of requests to the issuer).
    pub min_refetch_interval: Duration,
}

pub struct ExternalVerifier {
    config: ExternalIssuerConfig,
    http: reqwest::Client,
    keys: RwLock<Option<Arc<ExternalIssuer>>>,
    last_fetch: Mutex<Option<Instant>>,
}

impl ExternalVerifier {
    /// Fetches the keys once; an unreachable issuer is logged and retried on the first token.
    pub async fn new(config: ExternalIssuerConfig) -> Result<Self, AppError> {
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .build()
            .map_err(AppError::internal)?;
        let verifier = Self {
            config,
            http,
            keys: RwLock::new(None),
            last_fetch: Mutex::new(None),
        };
        if let Err(error) = verifier.refresh().await {
            tracing::warn!(jwks_url = %verifier.config.jwks_url, %error, "could not fetch the external issuer's keys; will retry");
        }
        Ok(verifier)
    }

    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    async fn refresh(&self) -> Result<Arc<ExternalIssuer>, String> {
        if let Ok(mut last) = self.last_fetch.lock() {
            *last = Some(Instant::now());
        }
        let response = self
            .http
            .get(&self.config.jwks_url)
            .send()
            .await
            .map_err(|e| format!("fetching {}: {e}", self.config.jwks_url))?;
        if !response.status().is_success() {
            return Err(format!("{} answered {}", self.config.jwks_url, response.status()));
        }
        let jwks: serde_json::Value = response.json().await.map_err(|e| format!("reading the JWKS: {e}"))?;
        let issuer =
            ExternalIssuer::new(&self.config.issuer, &self.config.audience, &jwks).map_err(|e| e.to_string())?;
        let issuer = Arc::new(issuer);
        if let Ok(mut keys) = self.keys.write() {
            *keys = Some(Arc::clone(&issuer));
        }
        Ok(issuer)
    }

    fn current(&self) -> Option<Arc<ExternalIssuer>> {
        self.keys.read().ok().and_then(|keys| keys.clone())
    }

    fn refetch_allowed(&self) -> bool {
        self.last_fetch
            .lock()
            .map(|last| last.is_none_or(|at| at.elapsed() >= self.config.min_refetch_interval))
            .unwrap_or(false)
    }

    /// Verifies a token of this issuer and returns its client. Only app-only tokens: a token
    /// issued to a user (delegated, with `scp`) would let any user of the provider's tenant act
    /// as the registered app.
    pub async fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<ClientId, AppError> {
        let outcome = match self.current() {
            Some(keys) => keys.verify(token, now),
            None => Err(TokenError::UnknownKey),
        };
        let verified = match outcome {
            Ok(verified) => verified,
            Err(TokenError::UnknownKey) if self.refetch_allowed() => {
                let keys = self.refresh().await.map_err(|error| {
                    tracing::warn!(%error, "could not refresh the external issuer's keys");
                    AppError::invalid_token("the token's signing key could not be checked; try again later")
                })?;
                keys.verify(token, now)
                    .map_err(|e| AppError::invalid_token(e.to_string()))?
            }
            Err(error) => return Err(AppError::invalid_token(error.to_string())),
        };
        if !verified.app_only {
            return Err(AppError::invalid_token(
                "only app-only (client credentials) tokens are accepted; this one was issued to a user",
            ));
        }
        Ok(verified.client_id)
    }
}
