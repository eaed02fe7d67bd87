//! Wiring for the server: open the store, load keys, build the router (API and web console), serve until a signal,
//! then stop the sync engine.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use api::{ApiConfig, AppState};
use app::{AppConfig, ExternalIssuerConfig, KeyRing, DEFAULT_REFETCH_INTERVAL};
use rosterd::Installation;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::cli::{ConnectionLimitArgs, ServeArgs, StoreArgs, TlsArgs};

/// Opens the installation the store flags name.
pub async fn open(args: &StoreArgs) -> anyhow::Result<Installation> {
    Installation::open(&args.database, &args.secret_key_file).await
}

/// The token keys for a server reached at `public_url`, with the external issuer when the three
/// flags name one.
pub async fn key_ring(
    installation: &Installation,
    public_url: &str,
    serve: &ServeArgs,
) -> anyhow::Result<Arc<KeyRing>> {
    let external = match (
        &serve.external_issuer,
        &serve.external_audience,
        &serve.external_jwks_url,
    ) {
        (None, None, None) => None,
        (Some(issuer), Some(audience), Some(jwks_url)) => Some(ExternalIssuerConfig {
            issuer: issuer.clone(),
            audience: audience.clone(),
            jwks_url: jwks_url.clone(),
            min_refetch_interval: DEFAULT_REFETCH_INTERVAL,
        }),
        _ => anyhow::bail!("--external-issuer, --external-audience and --external-jwks-url go together"),
    };
    installation
        .key_ring(rosterd::token_settings(public_url, serve.token_lifetime_secs), external)
        .await
}

/// The configured public URL, else the address actually bound (so port 0 works).
pub fn public_url(serve: &ServeArgs, bound: SocketAddr) -> String {
    let scheme = if serve.tls.tls_cert.is_some() { "https" } else { "http" };
    serve
        .public_url
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{bound}"))
        .trim_end_matches('/')
        .to_string()
}

/// How connections are served: limits fitted to the open-files limit, and TLS when configured
/// (its files are read now, so a bad certificate stops the start, not the first client).
pub fn front_door(serve: &ServeArgs) -> anyhow::Result<http_server::ServeOptions> {
    Ok(http_server::ServeOptions {
        limits: server_limits(&serve.limits),
        tls: tls_settings(&serve.tls)?,
        stats: http_server::ConnectionStats::new(),
    })
}

fn server_limits(args: &ConnectionLimitArgs) -> http_server::ServerLimits {
    http_server::ServerLimits {
        max_connections: http_server::fit_connection_limit(args.max_connections.max(1)),
        header_read_timeout: Duration::from_secs(args.header_read_timeout_secs.max(1)),
        idle_timeout: Duration::from_secs(args.idle_timeout_secs.max(1)),
        stall_timeout: Duration::from_secs(args.stall_timeout_secs.max(1)),
        ..http_server::ServerLimits::default()
    }
}

fn tls_settings(args: &TlsArgs) -> anyhow::Result<Option<http_server::TlsSettings>> {
    match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let files = http_server::TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            };
            Ok(Some(
                http_server::TlsSettings::load(files).context("loading --tls-cert and --tls-key")?,
            ))
        }
        (None, None) => Ok(None),
        _ => anyhow::bail!("--tls-cert and --tls-key go together"),
    }
}

/// The application and the HTTP state over it, from `serve`'s flags.
pub fn app_state(
    installation: &Installation,
    keys: Arc<KeyRing>,
    serve: &ServeArgs,
    engine: Option<sync::Engine>,
) -> AppState {
    let config = AppConfig {
        max_import_bytes: serve.max_import_bytes,
        upload_stall_timeout: Duration::from_secs(serve.limits.stall_timeout_secs.max(1)),
        max_concurrent_imports: serve.max_concurrent_imports,
        max_concurrent_exports: serve.max_concurrent_exports,
        export_batch: AppConfig::default().export_batch,
        export_readers: AppConfig::default().export_readers,
        page_cache_bytes: serve.page_cache_mb.saturating_mul(1 << 20),
        metrics_refresh: Duration::from_secs(serve.metrics_refresh_secs),
        // Never more than the one second the README promises.
        record_ttl: Duration::from_millis(serve.record_ttl_ms.min(1000)),
        record_cache_entries: serve.record_cache_entries,
        search_index_users: serve.search_index_users,
        generation_retention: Duration::from_secs(serve.generation_retention_secs),
        ..AppConfig::default()
    };
    let api = ApiConfig {
        request_timeout: Duration::from_secs(serve.limits.request_timeout_secs.max(1)),
        token_failures: api::FailureLimit {
            burst: serve.token_failure_limit,
            window: Duration::from_secs(serve.token_failure_window_secs.max(1)),
        },
    };
    AppState::new(installation.app(keys, engine, config), api)
}

/// The web console's settings: secure cookies behind https, sign-in failures limited like
/// token requests.
pub fn console_config(public_url: &str, serve: &ServeArgs) -> console::ConsoleConfig {
    console::ConsoleConfig::for_public_url(
        public_url,
        api::FailureLimit {
            burst: serve.token_failure_limit,
            window: Duration::from_secs(serve.token_failure_window_secs.max(1)),
        },
    )
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
    front_door: http_server::ServeOptions,
    state: AppState,
    engine: Option<sync::Engine>,
    shutdown: Shutdown,
    public_url: &str,
    serve: &ServeArgs,
) -> anyhow::Result<()> {
    let reclaim = tokio::spawn(reclaim_generations(
        Arc::clone(&state.app),
        serve.generation_retention_secs,
    ));
    let console = console::ConsoleState::new(Arc::clone(&state.app), console_config(public_url, serve));
    let app = api::router(state).merge(console::router(console));
    http_server::serve(listener, app, front_door, shutdown.wait()).await;
    reclaim.abort();
    if let Some(engine) = engine {
        engine.shutdown().await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// Reclaims superseded generations once their retention is over: checked every tenth of the
/// retention (between 1 second and 1 minute), so a generation outlives it by little.
async fn reclaim_generations(app: Arc<app::App>, retention_secs: u64) {
    let every = Duration::from_secs((retention_secs / 10).clamp(1, 60));
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match app.reclaim_generations().await {
            Ok(0) => {}
            Ok(reclaimed) => tracing::debug!(reclaimed, "reclaimed superseded generations"),
            Err(error) => tracing::warn!(code = %error.code(), "reclaiming superseded generations failed"),
        }
    }
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
