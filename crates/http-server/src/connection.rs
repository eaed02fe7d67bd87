//! One accepted connection, from the TLS handshake to its close: serves its requests with hyper
//! and closes it when its client dawdles (no header within the header timeout, idle past the
//! idle timeout) or when the server shuts down.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, Request};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::activity::{Activity, Snapshot, WatchedIo};
use crate::limits::ServerLimits;
use crate::stats::ConnectionStats;
use crate::tls::TlsSettings;
use crate::tracked_body::TrackedBody;

/// `Strict-Transport-Security` on every answer over TLS: a year, like most public services.
const HSTS: HeaderValue = HeaderValue::from_static("max-age=31536000");

/// What every connection task shares.
pub(crate) struct Shared {
    pub(crate) router: Router,
    pub(crate) limits: ServerLimits,
    pub(crate) tls: Option<TlsSettings>,
    pub(crate) stats: Arc<ConnectionStats>,
    pub(crate) shutdown: CancellationToken,
    http1: auto::Builder<TokioExecutor>,
    http2: auto::Builder<TokioExecutor>,
}

impl Shared {
    pub(crate) fn new(
        router: Router,
        limits: ServerLimits,
        tls: Option<TlsSettings>,
        stats: Arc<ConnectionStats>,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            router,
            limits,
            tls,
            stats,
            shutdown,
            http1: http1_builder(),
            http2: http2_builder(),
        }
    }
}

/// Largest request header (and read buffer) per HTTP/1 connection: bounds the memory a client
/// can make a connection hold; a bigger header is answered 431.
const MAX_HTTP1_BUFFER: usize = 64 << 10;
/// Largest header list and concurrent streams per HTTP/2 connection.
const MAX_HTTP2_HEADER_LIST: u32 = 64 << 10;
const MAX_HTTP2_STREAMS: u32 = 64;

fn http1_builder() -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        // The watchdog enforces header and idle timeouts itself: hyper's own header timer
        // starts while the connection is idle, which would make the idle timeout no longer
        // than the header timeout.
        .header_read_timeout(None)
        .max_buf_size(MAX_HTTP1_BUFFER);
    builder
}

fn http2_builder() -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new()).http2_only();
    builder
        .http2()
        .timer(hyper_util::rt::TokioTimer::new())
        .max_header_list_size(MAX_HTTP2_HEADER_LIST)
        .max_concurrent_streams(MAX_HTTP2_STREAMS);
    builder
}

/// Serves one connection until it ends; the permit counts it against the connection limit.
/// Requests carry the peer address as axum's `ConnectInfo` (the token endpoint throttles
/// failures per source address).
pub(crate) async fn serve(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr, permit: OwnedSemaphorePermit) {
    let _permit = permit;
    let _open = shared.stats.opened();
    let activity = Activity::new();
    let io = WatchedIo::new(stream, Arc::clone(&activity), shared.limits.stall_timeout);
    match &shared.tls {
        None => drive(&shared, io, peer, activity, Protocol::Http1).await,
        Some(tls) => {
            let handshake = tokio::time::timeout(shared.limits.header_read_timeout, tls.acceptor().accept(io));
            let stream = tokio::select! {
                () = shared.shutdown.cancelled() => return,
                done = handshake => match done {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(error)) => {
                        tracing::debug!(%error, "TLS handshake failed");
                        shared.stats.handshake_failed();
                        return;
                    }
                    Err(_) => {
                        shared.stats.timed_out();
                        return;
                    }
                },
            };
            let protocol = match stream.get_ref().1.alpn_protocol() {
                Some(b"h2") => Protocol::Http2,
                _ => Protocol::Http1,
            };
            drive(&shared, stream, peer, activity, protocol).await;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Http1,
    Http2,
}

async fn drive<I>(shared: &Arc<Shared>, io: I, peer: SocketAddr, activity: Arc<Activity>, protocol: Protocol)
where
    I: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let secure = shared.tls.is_some();
    let router = shared.router.clone();
    let counted = Arc::clone(&activity);
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        let in_flight = counted.request_started();
        request.extensions_mut().insert(ConnectInfo(peer));
        let router = router.clone();
        async move {
            let response = match router.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            let (mut parts, body) = response.into_parts();
            if secure {
                parts.headers.insert(header::STRICT_TRANSPORT_SECURITY, HSTS);
            }
            let body = TrackedBody::new(body, in_flight);
            Ok::<_, Infallible>(axum::http::Response::from_parts(parts, body))
        }
    });
    let builder = match protocol {
        Protocol::Http1 => &shared.http1,
        Protocol::Http2 => &shared.http2,
    };
    let mut connection = pin!(builder.serve_connection(TokioIo::new(io), service));
    // Set at shutdown: after it, a connection with nothing in flight is closed even if its
    // client never acknowledges the HTTP/2 GOAWAY.
    let mut drain_deadline: Option<Duration> = None;
    loop {
        let now = activity.origin().elapsed();
        let seen = activity.snapshot();
        let mut wake = match next_check(seen, now, &shared.limits, protocol) {
            Next::Close => {
                // Nothing is in flight, so dropping the connection loses nothing.
                shared.stats.timed_out();
                return;
            }
            Next::WakeAt(at) => at,
        };
        if let Some(deadline) = drain_deadline {
            if seen.in_flight == 0 && now >= deadline {
                return;
            }
            wake = wake.min(deadline.max(now + DRAIN_POLL));
        }
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(error = %error, "connection ended with an error");
                }
                return;
            }
            () = shared.shutdown.cancelled(), if drain_deadline.is_none() => {
                drain_deadline = Some(now + DRAIN_PATIENCE);
                connection.as_mut().graceful_shutdown();
            }
            () = activity.head_clock_started.notified() => {}
            () = tokio::time::sleep_until(activity.origin() + wake) => {}
        }
    }
}

/// How long an idle connection gets to close by itself after a shutdown signal.
const DRAIN_PATIENCE: Duration = Duration::from_secs(1);
/// How often a draining connection with requests in flight is looked at again.
const DRAIN_POLL: Duration = Duration::from_millis(100);

/// What the watchdog does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Close the connection now: its client missed a deadline.
    Close,
    /// Look again at this time (since the connection's start).
    WakeAt(Duration),
}

/// The deadline rules. While a request is in flight the request's own limits govern (the
/// request timeout, the stall timeout). Otherwise the first request's header must be complete
/// within the header timeout of the connection's start; a later request's header within the
/// header timeout of its first byte; and a connection with no request coming is closed after
/// the idle timeout. HTTP/2 multiplexes streams and sends control frames, so only the idle
/// rule applies between its requests (its header size is bounded by the HTTP/2 settings).
fn next_check(seen: Snapshot, now: Duration, limits: &ServerLimits, protocol: Protocol) -> Next {
    if seen.in_flight > 0 {
        return Next::WakeAt(now + limits.idle_timeout);
    }
    let deadline = if seen.requests == 0 {
        limits.header_read_timeout
    } else {
        match (protocol, seen.head_started) {
            (Protocol::Http1, Some(started)) => started + limits.header_read_timeout,
            _ => seen.last_io + limits.idle_timeout,
        }
    };
    if now >= deadline {
        Next::Close
    } else {
        Next::WakeAt(deadline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ServerLimits {
        ServerLimits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            ..ServerLimits::default()
        }
    }

    fn snapshot(last_io: u64, head_started: Option<u64>, in_flight: u64, requests: u64) -> Snapshot {
        Snapshot {
            last_io: Duration::from_secs(last_io),
            head_started: head_started.map(Duration::from_secs),
            in_flight,
            requests,
        }
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn the_first_header_is_due_within_the_header_timeout_of_the_start() {
        let l = limits();
        assert_eq!(
            next_check(snapshot(0, None, 0, 0), secs(3), &l, Protocol::Http1),
            Next::WakeAt(secs(10))
        );
        // A trickle of header bytes does not buy time.
        assert_eq!(
            next_check(snapshot(9, Some(1), 0, 0), secs(10), &l, Protocol::Http1),
            Next::Close
        );
        assert_eq!(
            next_check(snapshot(0, None, 0, 0), secs(10), &l, Protocol::Http2),
            Next::Close
        );
    }

    #[test]
    fn between_requests_idle_then_header_rules_apply() {
        let l = limits();
        assert_eq!(
            next_check(snapshot(5, None, 0, 1), secs(6), &l, Protocol::Http1),
            Next::WakeAt(secs(65))
        );
        assert_eq!(
            next_check(snapshot(5, None, 0, 1), secs(65), &l, Protocol::Http1),
            Next::Close
        );
        assert_eq!(
            next_check(snapshot(30, Some(30), 0, 1), secs(31), &l, Protocol::Http1),
            Next::WakeAt(secs(40))
        );
        assert_eq!(
            next_check(snapshot(39, Some(30), 0, 1), secs(40), &l, Protocol::Http1),
            Next::Close
        );
        // HTTP/2 control frames between requests do not start a header clock.
        assert_eq!(
            next_check(snapshot(30, Some(30), 0, 1), secs(41), &l, Protocol::Http2),
            Next::WakeAt(secs(90))
        );
    }

    #[test]
    fn a_request_in_flight_is_never_closed_by_the_watchdog() {
        let l = limits();
        assert_eq!(
            next_check(snapshot(0, None, 1, 1), secs(500), &l, Protocol::Http1),
            Next::WakeAt(secs(560))
        );
    }
}
