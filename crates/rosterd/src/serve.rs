//! Wiring for the server: open the store, load keys, build the router, serve until a signal,
//! then stop the sync engine.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use api::external_issuer::{ExternalIssuerConfig, ExternalVerifier, DEFAULT_REFETCH_INTERVAL};
use api::keyring::TokenSettings;
use api::{ApiConfig, AppState, KeyRing};
use store::Store;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::backend::open_store;
use crate::cli::{ServeArgs, StoreArgs};

/// The audience of tokens this server issues, like an Entra app id URI.
pub const AUDIENCE: &str = "api://rosterd";

/// Store and keys, ready for any command that needs them.
pub struct Installation {
    pub store: Arc<dyn Store>,
    pub secret_key: Arc<auth::SecretKey>,
}

impl Installation {
    pub async fn open(args: &StoreArgs) -> anyhow::Result<Self> {
        let store = open_store(&args.database).await?;
        let secret_key = auth::SecretKey::load_or_create(&args.secret_key_file)
            .with_context(|| format!("loading the secret key file {}", args.secret_key_file.display()))?;
        Ok(Self {
            store,
            secret_key: Arc::new(secret_key),
        })
    }

    pub async fn key_ring(&self, public_url: &str, serve: &ServeArgs) -> anyhow::Result<Arc<KeyRing>> {
        let settings = TokenSettings {
            issuer: public_url.to_string(),
            audience: AUDIENCE.to_string(),
            lifetime_secs: serve.token_lifetime_secs,
        };
        let mut keys = KeyRing::load_or_init(Arc::clone(&self.store), Arc::clone(&self.secret_key), settings)
            .await
            .context("loading token signing keys")?;
        match (
            &serve.external_issuer,
            &serve.external_audience,
            &serve.external_jwks_url,
        ) {
            (None, None, None) => {}
            (Some(issuer), Some(audience), Some(jwks_url)) => {
                let config = ExternalIssuerConfig {
                    issuer: issuer.clone(),
                    audience: audience.clone(),
                    jwks_url: jwks_url.clone(),
                    min_refetch_interval: DEFAULT_REFETCH_INTERVAL,
                };
                let verifier = ExternalVerifier::new(config)
                    .await
                    .map_err(|e| anyhow::anyhow!("configuring the external issuer: {e}"))?;
                keys = keys.with_external(verifier);
            }
            _ => anyhow::bail!("--external-issuer, --external-audience and --external-jwks-url go together"),
        }
        Ok(Arc::new(keys))
    }
}

/// The configured public URL, else the address actually bound (so port 0 works).
pub fn public_url(serve: &ServeArgs, bound: SocketAddr) -> String {
    serve
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{bound}"))
        .trim_end_matches('/')
        .to_string()
}

pub fn app_state(
    installation: &Installation,
    keys: Arc<KeyRing>,
    serve: &ServeArgs,
    sync: Option<Arc<dyn api::SyncPort>>,
) -> AppState {
    let config = ApiConfig {
        max_import_bytes: serve.max_import_bytes,
        page_cache_bytes: serve.page_cache_mb.saturating_mul(1 << 20),
        max_concurrent_imports: serve.max_concurrent_imports,
        metrics_refresh: std::time::Duration::from_secs(serve.metrics_refresh_secs),
        token_failures: api::token_limit::FailureLimit {
            burst: serve.token_failure_limit,
            window: std::time::Duration::from_secs(serve.token_failure_window_secs.max(1)),
        },
    };
    AppState::new(Arc::clone(&installation.store), keys, config, sync)
}

/// Binds first, so a caller can print the address before serving.
pub async fn bind(listen: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))
}

/// Serves until SIGINT or SIGTERM, then lets requests in flight finish and stops `engine`'s
/// syncs at a safe point (nothing half-committed; their leases are released).
pub async fn run(
    listener: TcpListener,
    state: AppState,
    engine: Option<sync::Engine>,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let app = api::router(state);
    // The peer address is passed on: the token endpoint throttles failures per source address.
    let served = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown.wait())
        .await
        .context("serving HTTP");
    if let Some(engine) = engine {
        engine.shutdown().await;
    }
    served?;
    tracing::info!("stopped");
    Ok(())
}

/// SIGINT and SIGTERM handlers, installed before the server says it is ready: a signal that
/// arrives right after the "listening" line must stop it gracefully, not kill it.
pub struct Shutdown {
    interrupt: Signal,
    terminate: Signal,
}

impl Shutdown {
    pub fn install() -> anyhow::Result<Self> {
        Ok(Self {
            interrupt: signal(SignalKind::interrupt()).context("listening for SIGINT")?,
            terminate: signal(SignalKind::terminate()).context("listening for SIGTERM")?,
        })
    }

    async fn wait(mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {},
            _ = self.terminate.recv() => {},
        }
        tracing::info!("shutdown signal received; finishing requests in flight");
    }
}
