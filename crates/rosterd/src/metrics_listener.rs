//! `--metrics-listen`: `/metrics` alone, without a token, on a second address that only the
//! scraper should reach. It stops with the main server.

use std::net::SocketAddr;

use anyhow::Context;
use api::AppState;
use tokio::task::JoinHandle;

/// Binds the metrics address and serves it in the background; `None` without one.
pub async fn spawn(
    listen: Option<SocketAddr>,
    state: &AppState,
    front_door: &http_server::ServeOptions,
) -> anyhow::Result<Option<JoinHandle<()>>> {
    let Some(listen) = listen else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening for metrics on {listen}"))?;
    let bound = listener.local_addr()?;
    tracing::info!("metrics endpoint at http://{bound}/metrics (no token)");
    let app = api::metrics_router(state.clone());
    // Plain HTTP under the same limits as the main address; it runs until aborted.
    let options = http_server::ServeOptions {
        tls: None,
        // Its own counters: `rosterd_open_connections` is about the main listener.
        stats: http_server::ConnectionStats::new(),
        ..front_door.clone()
    };
    Ok(Some(tokio::spawn(http_server::serve(
        listener,
        app,
        options,
        std::future::pending(),
    ))))
}
