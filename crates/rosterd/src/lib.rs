//! The wiring of a rosterd installation, shared by the binary, the tests and the benchmarks:
//! open the store a database URL names (the backend is chosen here, once), load the secret key
//! and the token keys, and build the application and its HTTP state.

mod store_url;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use app::{App, AppConfig, ExternalIssuerConfig, ExternalVerifier, KeyRing, TokenSettings};
use store::Store;

pub use store_url::{open_store, redact};

/// The allocator of every program built on this crate: the binary, its tests and benchmarks.
/// A sync maps and stores hundreds of thousands of small JSON values, allocated on one thread
/// and freed on another (the SQLite worker); glibc's allocator spent a third of a full sync's CPU
/// time there (measured with `perf` on the `full_sync` benchmark), mimalloc a fraction of it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The audience of tokens this server issues, like an Entra app id URI.
pub const AUDIENCE: &str = "api://rosterd";

/// Store and secret key, ready for any command that needs them.
pub struct Installation {
    pub store: Arc<dyn Store>,
    pub secret_key: Arc<auth::SecretKey>,
}

impl Installation {
    /// Opens the database (migrating it) and loads the secret key file, creating it when missing.
    pub async fn open(database: &str, secret_key_file: &Path) -> anyhow::Result<Self> {
        let store = open_store(database).await?;
        let secret_key = auth::SecretKey::load_or_create(secret_key_file)
            .with_context(|| format!("loading the secret key file {}", secret_key_file.display()))?;
        Ok(Self::with(store, Arc::new(secret_key)))
    }

    /// An installation over an open store and a key already at hand.
    pub fn with(store: Arc<dyn Store>, secret_key: Arc<auth::SecretKey>) -> Self {
        Self { store, secret_key }
    }

    /// The token keys (created on first start), also accepting an external issuer's tokens when
    /// one is configured.
    pub async fn key_ring(
        &self,
        settings: TokenSettings,
        external: Option<ExternalIssuerConfig>,
    ) -> anyhow::Result<Arc<KeyRing>> {
        let mut keys = KeyRing::load_or_init(self.store.clone(), Arc::clone(&self.secret_key), settings)
            .await
            .context("loading token signing keys")?;
        if let Some(config) = external {
            let verifier = ExternalVerifier::new(config)
                .await
                .map_err(|e| anyhow::anyhow!("configuring the external issuer: {e}"))?;
            keys = keys.with_external(verifier);
        }
        Ok(Arc::new(keys))
    }

    /// The application over this installation, with the sync engine when this process runs one.
    pub fn app(&self, keys: Arc<KeyRing>, engine: Option<sync::Engine>, config: AppConfig) -> Arc<App> {
        Arc::new(App::new(Arc::clone(&self.store), keys, engine, config))
    }
}

/// Verified tokens each process remembers (about 1 KiB each).
pub const VERIFIED_TOKEN_CACHE_ENTRIES: u64 = 10_000;

/// Token settings for an installation reached at `public_url`.
pub fn token_settings(public_url: &str, lifetime_secs: u64) -> TokenSettings {
    TokenSettings {
        issuer: public_url.to_string(),
        audience: AUDIENCE.to_string(),
        lifetime_secs,
        verified_cache_entries: VERIFIED_TOKEN_CACHE_ENTRIES,
    }
}
