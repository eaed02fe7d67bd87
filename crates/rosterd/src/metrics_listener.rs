//! `--metrics-listen`: `/metrics` alone, without a token, on a second address that only the
//! scraper should reach. It stops with the main server.

use std::net::SocketAddr;

use anyhow::Context;
use api::AppState;
use tokio::task::JoinHandle;

/// Binds the metrics address and serves it in the background; `None` without one.
pub async fn spawn(listen: Option<SocketAddr>, state: &AppState) -> anyhow::Result<Option<JoinHandle<()>>> {
    let Some(listen) = listen else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening for metrics on {listen}"))?;
    let bound = listener.local_addr()?;
    tracing::info!("metrics endpoint at http://{bound}/metrics (no token)");
    let app = api::metrics_router(state.clone());
    Ok(Some(tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::warn!(%error, "the metrics listener stopped");
        }
    })))
}
