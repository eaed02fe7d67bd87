//! rosterd's front door: accepts TCP connections and serves a router on them under limits, so
//! that no client — slow, idle or hostile — can hold the server: at most `max_connections` open
//! (one more is answered `503` and closed), a deadline for every request header, an idle
//! timeout between requests, a stall timeout on responses nobody reads, and optional TLS with
//! certificate reload. Request timeouts belong to the router (they differ per route).

mod activity;
mod connection;
mod limits;
mod stats;
mod tls;
mod tracked_body;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use limits::{fit_connection_limit, ServerLimits};
pub use stats::{ConnectionCounts, ConnectionStats};
pub use tls::{TlsError, TlsFiles, TlsSettings, RELOAD_CHECK_INTERVAL};

use connection::Shared;

/// The answer to a connection over the limit, written without reading its request.
fn over_limit_answer() -> Vec<u8> {
    let body = r#"{"type":"urn:rosterd:problem:too_many_connections","title":"Service Unavailable","status":503,"detail":"the server is at its connection limit; retry shortly","code":"too_many_connections"}"#;
    format!(
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\n\
         Content-Type: application/problem+json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// How to serve: the limits, TLS or not, and where to count.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub limits: ServerLimits,
    pub tls: Option<TlsSettings>,
    pub stats: Arc<ConnectionStats>,
}

/// Serves `router` on `listener` until `shutdown` completes; then stops accepting, lets
/// requests in flight finish (at most `limits.shutdown_grace`) and returns.
pub async fn serve(listener: TcpListener, router: Router, options: ServeOptions, shutdown: impl Future<Output = ()>) {
    let stop = CancellationToken::new();
    if let Some(tls) = &options.tls {
        tls.spawn_reloader(stop.clone());
    }
    let grace = options.limits.shutdown_grace;
    let permits = Arc::new(Semaphore::new(options.limits.max_connections));
    let shared = Arc::new(Shared::new(
        router,
        options.limits,
        options.tls,
        options.stats,
        stop.clone(),
    ));
    let over_limit = over_limit_answer();
    let tasks = TaskTracker::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of descriptors or memory: wait instead of spinning; the limit is set so
                // this should not happen.
                tracing::warn!(%error, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        match Arc::clone(&permits).try_acquire_owned() {
            Ok(permit) => {
                tasks.spawn(connection::serve(Arc::clone(&shared), stream, peer, permit));
            }
            Err(_) => {
                shared.stats.rejected();
                if shared.tls.is_none() {
                    // A fresh socket's send buffer takes this at once; nothing waits on it.
                    let _ = stream.try_write(&over_limit);
                }
            }
        }
    }
    drop(listener);
    stop.cancel();
    tasks.close();
    if tokio::time::timeout(grace, tasks.wait()).await.is_err() {
        tracing::warn!("connections still open {grace:?} after the shutdown signal were closed");
    }
}
