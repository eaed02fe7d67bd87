//! What one connection is doing, as its watchdog needs to know: when a byte last moved, whether
//! a request header is being received, how many requests are in flight. The I/O wrapper and
//! the request guard write it; the watchdog reads it.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::{Instant, Sleep};

/// Marks "no time recorded" in the millisecond fields.
const NEVER: u64 = u64::MAX;

/// Shared state of one connection. Times are milliseconds since `origin`.
#[derive(Debug)]
pub(crate) struct Activity {
    origin: Instant,
    last_io: AtomicU64,
    /// When the first byte of a request header arrived while no request was in flight.
    head_started: AtomicU64,
    in_flight: AtomicU64,
    requests: AtomicU64,
    /// Woken when a header clock starts, so the watchdog can tighten its deadline.
    pub(crate) head_clock_started: Notify,
}

/// What the watchdog sees at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub(crate) last_io: Duration,
    pub(crate) head_started: Option<Duration>,
    pub(crate) in_flight: u64,
    pub(crate) requests: u64,
}

impl Activity {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            origin: Instant::now(),
            last_io: AtomicU64::new(0),
            head_started: AtomicU64::new(NEVER),
            in_flight: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            head_clock_started: Notify::new(),
        })
    }

    pub(crate) fn origin(&self) -> Instant {
        self.origin
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(NEVER - 1)
    }

    fn bytes_read(&self) {
        let now = self.now_ms();
        self.last_io.store(now, Ordering::Relaxed);
        if self.in_flight.load(Ordering::Acquire) == 0 {
            // Only the first byte of a header starts its clock; a trickle cannot reset it.
            let started = self
                .head_started
                .compare_exchange(NEVER, now, Ordering::AcqRel, Ordering::Relaxed);
            if started.is_ok() {
                self.head_clock_started.notify_one();
            }
        }
    }

    fn bytes_written(&self) {
        self.last_io.store(self.now_ms(), Ordering::Relaxed);
    }

    /// A request's header is complete and it reached the service.
    pub(crate) fn request_started(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.head_started.store(NEVER, Ordering::Release);
        InFlight(Arc::clone(self))
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        let millis = |v: u64| Duration::from_millis(v);
        let head = self.head_started.load(Ordering::Acquire);
        Snapshot {
            last_io: millis(self.last_io.load(Ordering::Relaxed)),
            head_started: (head != NEVER).then(|| millis(head)),
            in_flight: self.in_flight.load(Ordering::Acquire),
            requests: self.requests.load(Ordering::Relaxed),
        }
    }
}

/// Held from a request's arrival until its response body is sent or dropped.
#[derive(Debug)]
pub(crate) struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let activity = &self.0;
        activity.last_io.store(activity.now_ms(), Ordering::Relaxed);
        activity.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

pin_project_lite::pin_project! {
    /// A connection's byte stream that records activity and gives up on a write the client
    /// does not take for `stall_timeout` (a client that asked for a large page and stopped
    /// reading must not hold the connection and its buffers forever).
    pub(crate) struct WatchedIo<S> {
        #[pin]
        inner: S,
        activity: Arc<Activity>,
        stall_timeout: Duration,
        write_stall: Option<Pin<Box<Sleep>>>,
    }
}

impl<S> WatchedIo<S> {
    pub(crate) fn new(inner: S, activity: Arc<Activity>, stall_timeout: Duration) -> Self {
        Self {
            inner,
            activity,
            stall_timeout,
            write_stall: None,
        }
    }
}

/// Arms or polls the write-stall timer after the inner stream answered `Pending`.
fn stalled(timer: &mut Option<Pin<Box<Sleep>>>, stall_timeout: Duration, cx: &mut Context<'_>) -> bool {
    let sleep = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(stall_timeout)));
    sleep.as_mut().poll(cx).is_ready()
}

fn stall_error() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "the client read nothing for the stall timeout")
}

impl<S: AsyncRead> AsyncRead for WatchedIo<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.project();
        let before = buf.filled().len();
        ready!(this.inner.poll_read(cx, buf))?;
        if buf.filled().len() > before {
            this.activity.bytes_read();
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite> AsyncWrite for WatchedIo<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.project();
        match this.inner.poll_write(cx, data) {
            Poll::Ready(Ok(n)) => {
                *this.write_stall = None;
                if n > 0 {
                    this.activity.bytes_written();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending if stalled(this.write_stall, *this.stall_timeout, cx) => Poll::Ready(Err(stall_error())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        match this.inner.poll_write_vectored(cx, bufs) {
            Poll::Ready(Ok(n)) => {
                *this.write_stall = None;
                if n > 0 {
                    this.activity.bytes_written();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending if stalled(this.write_stall, *this.stall_timeout, cx) => Poll::Ready(Err(stall_error())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.project();
        match this.inner.poll_flush(cx) {
            Poll::Ready(result) => {
                *this.write_stall = None;
                Poll::Ready(result)
            }
            Poll::Pending if stalled(this.write_stall, *this.stall_timeout, cx) => Poll::Ready(Err(stall_error())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_header_clock_starts_at_the_first_byte_and_a_trickle_does_not_reset_it() {
        let activity = Activity::new();
        let (client, server) = tokio::io::duplex(64);
        let mut watched = WatchedIo::new(server, Arc::clone(&activity), Duration::from_secs(1));
        let mut client = client;
        assert_eq!(activity.snapshot().head_started, None);
        client.write_all(b"GE").await.unwrap();
        let mut buf = [0u8; 8];
        let _ = watched.read(&mut buf).await.unwrap();
        let first = activity.snapshot().head_started.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        client.write_all(b"T").await.unwrap();
        let _ = watched.read(&mut buf).await.unwrap();
        assert_eq!(activity.snapshot().head_started, Some(first));

        let guard = activity.request_started();
        let seen = activity.snapshot();
        assert_eq!((seen.head_started, seen.in_flight, seen.requests), (None, 1, 1));
        client.write_all(b"body").await.unwrap();
        let _ = watched.read(&mut buf).await.unwrap();
        assert_eq!(
            activity.snapshot().head_started,
            None,
            "body bytes start no header clock"
        );
        drop(guard);
        assert_eq!(activity.snapshot().in_flight, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_the_client_never_takes_fails_after_the_stall_timeout() {
        let activity = Activity::new();
        let (_client, server) = tokio::io::duplex(16);
        let mut watched = WatchedIo::new(server, activity, Duration::from_secs(60));
        let started = Instant::now();
        let error = watched.write_all(&[0u8; 1024]).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_but_moving_reader_is_not_a_stall() {
        let activity = Activity::new();
        let (mut client, server) = tokio::io::duplex(16);
        let mut watched = WatchedIo::new(server, activity, Duration::from_secs(60));
        let reader = tokio::spawn(async move {
            let mut buf = [0u8; 16];
            let mut total = 0;
            while total < 256 {
                tokio::time::sleep(Duration::from_secs(30)).await;
                total += client.read(&mut buf).await.unwrap();
            }
        });
        watched.write_all(&[0u8; 256]).await.unwrap();
        reader.await.unwrap();
    }
}
