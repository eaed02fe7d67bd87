//! The token signing keys of this installation: loaded from the store (shared by every replica),
//! created on first start, reloaded when a token names a key this process has not seen yet.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use auth::{IssuedToken, SecretKey, SigningKey, TokenError, TokenIssuer};
use chrono::{DateTime, Utc};
use domain::ClientId;
use store::{Store, StoreError};

use crate::error::AppError;
use crate::external_issuer::ExternalVerifier;

/// How often an unknown `kid` may trigger a reload from the store.
const RELOAD_INTERVAL: Duration = Duration::from_secs(5);

/// The longest a verified token is remembered, whatever its expiry says.
const VERIFIED_MAX_SECS: u64 = 24 * 3600;

/// What tokens say about their issuer.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    /// `iss`: the public URL clients reach this installation at (the same on every replica).
    pub issuer: String,
    pub audience: String,
    pub lifetime_secs: u64,
    /// Built-in tokens whose signature was verified, remembered (until they expire) so that a
    /// client's next request skips the signature check; 0 turns that off.
    pub verified_cache_entries: u64,
}

/// Who vouched for a bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// This installation's own issuer: the client must authenticate with a secret.
    BuiltIn,
    /// The configured external issuer (Entra): the client must be registered as external.
    External,
}

/// A bearer token whose signature and claims checked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedBearer {
    pub client: ClientId,
    pub source: TokenSource,
    /// Whether the verified-token cache already knew it (`None`: not a token it keeps).
    pub remembered: Option<bool>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Auth(#[from] auth::AuthError),
}

pub struct KeyRing {
    store: Arc<dyn Store>,
    secret: Arc<SecretKey>,
    settings: TokenSettings,
    issuer: RwLock<Arc<TokenIssuer>>,
    last_reload: Mutex<Instant>,
    external: Option<ExternalVerifier>,
    /// Built-in tokens already verified, with what they proved and when they expire. A token is
    /// immutable and signed, so a verified one stays verified until its expiry; only the
    /// expiry is checked again on a hit. (Revocation is not a property of the token: the
    /// client record decides it on every request.)
    verified: Option<moka::sync::Cache<Arc<str>, Verified>>,
}

#[derive(Clone, Copy)]
struct Verified {
    client: ClientId,
    expires_at: DateTime<Utc>,
}

impl KeyRing {
    /// Loads the stored keys, creating the first one when there is none.
    pub async fn load_or_init(
        store: Arc<dyn Store>,
        secret: Arc<SecretKey>,
        settings: TokenSettings,
    ) -> Result<Self, KeyRingError> {
        if store.signing_keys().await?.is_empty() {
            let key = SigningKey::generate();
            store.insert_signing_key(&key.to_record(&secret, Utc::now())?).await?;
        }
        let issuer = build_issuer(store.as_ref(), &secret, &settings).await?;
        Ok(Self {
            store,
            secret,
            issuer: RwLock::new(Arc::new(issuer)),
            last_reload: Mutex::new(Instant::now()),
            external: None,
            verified: (settings.verified_cache_entries > 0).then(|| {
                moka::sync::Cache::builder()
                    .max_capacity(settings.verified_cache_entries)
                    // Nothing is kept longer than a token may live anyway (Entra's maximum).
                    .time_to_live(Duration::from_secs(VERIFIED_MAX_SECS))
                    .build()
            }),
            settings,
        })
    }

    /// Also accept tokens of an external issuer (Entra ID).
    pub fn with_external(mut self, external: ExternalVerifier) -> Self {
        self.external = Some(external);
        self
    }

    fn current(&self) -> Arc<TokenIssuer> {
        match self.issuer.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    pub fn issue(&self, client: ClientId, now: DateTime<Utc>) -> Result<IssuedToken, AppError> {
        Ok(self.current().issue(client, now))
    }

    /// Verifies a bearer token and returns its client and issuer. Authorization is the
    /// caller's job.
    pub async fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<VerifiedBearer, AppError> {
        let caching = self.verified.is_some();
        let built_in = |client, hit: bool| VerifiedBearer {
            client,
            source: TokenSource::BuiltIn,
            remembered: caching.then_some(hit),
        };
        // Only built-in tokens are remembered, so a known one needs no issuer check.
        if let Some(known) = self.verified.as_ref().and_then(|cache| cache.get(token)) {
            // Strictly before the expiry (no skew): at the edge the full check decides.
            if now < known.expires_at {
                return Ok(built_in(known.client, true));
            }
        }
        if let Some(external) = &self.external {
            if auth::unverified_issuer(token).as_deref() == Some(external.issuer()) {
                let client = external.verify(token, now).await?;
                return Ok(VerifiedBearer {
                    client,
                    source: TokenSource::External,
                    remembered: None,
                });
            }
        }
        match self.current().verify(token, now) {
            Ok(verified) => {
                self.remember(token, &verified);
                Ok(built_in(verified.client_id, false))
            }
            Err(TokenError::UnknownKey) if self.reload_allowed() => {
                // Another replica may have created a key after this process loaded its set.
                let issuer = build_issuer(self.store.as_ref(), &self.secret, &self.settings)
                    .await
                    .map_err(AppError::internal)?;
                let issuer = Arc::new(issuer);
                if let Ok(mut guard) = self.issuer.write() {
                    *guard = Arc::clone(&issuer);
                }
                let verified = issuer
                    .verify(token, now)
                    .map_err(|e| AppError::invalid_token(e.to_string()))?;
                self.remember(token, &verified);
                Ok(built_in(verified.client_id, false))
            }
            Err(error) => Err(AppError::invalid_token(error.to_string())),
        }
    }

    fn remember(&self, token: &str, verified: &auth::VerifiedToken) {
        if let Some(cache) = &self.verified {
            cache.insert(
                Arc::from(token),
                Verified {
                    client: verified.client_id,
                    expires_at: verified.expires_at,
                },
            );
        }
    }

    fn reload_allowed(&self) -> bool {
        let Ok(mut last) = self.last_reload.lock() else {
            return false;
        };
        if last.elapsed() < RELOAD_INTERVAL {
            return false;
        }
        *last = Instant::now();
        true
    }

    pub fn jwks(&self) -> serde_json::Value {
        self.current().jwks()
    }

    /// The discovery document: the root one (`tenant` None) or a tenant's, as Entra serves.
    pub fn openid_configuration(&self, tenant: Option<&str>) -> serde_json::Value {
        self.current().openid_configuration(&self.settings.issuer, tenant)
    }

    /// Seals a secret (a customer's app registration secret) for storage.
    pub fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, AppError> {
        self.secret.seal(plaintext).map_err(AppError::internal)
    }

    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, AppError> {
        self.secret.open(sealed).map_err(AppError::internal)
    }

    /// The installation's secret key (for components that open sealed secrets themselves).
    pub fn secret_key(&self) -> Arc<SecretKey> {
        Arc::clone(&self.secret)
    }
}

async fn build_issuer(
    store: &dyn Store,
    secret: &SecretKey,
    settings: &TokenSettings,
) -> Result<TokenIssuer, KeyRingError> {
    let records = store.signing_keys().await?;
    let lifetime = u32::try_from(settings.lifetime_secs)
        .ok()
        .and_then(NonZeroU32::new)
        .unwrap_or(NonZeroU32::MIN);
    Ok(TokenIssuer::from_records(&settings.issuer, &settings.audience, &records, secret)?.with_lifetime(lifetime))
}
