//! Counters of the front door, for `/metrics`: open connections and why others were refused or
//! closed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Connection counters, shared between the server and whoever reports them.
#[derive(Debug, Default)]
pub struct ConnectionStats {
    open: AtomicU64,
    accepted: AtomicU64,
    rejected: AtomicU64,
    timed_out: AtomicU64,
    handshakes_failed: AtomicU64,
}

/// A point-in-time copy of [`ConnectionStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConnectionCounts {
    /// Connections open now.
    pub open: u64,
    /// Connections accepted and served since start.
    pub accepted: u64,
    /// Connections refused at the connection limit.
    pub rejected: u64,
    /// Connections closed because the client missed the header or idle deadline.
    pub timed_out: u64,
    /// TLS handshakes that failed.
    pub handshakes_failed: u64,
}

impl ConnectionStats {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn counts(&self) -> ConnectionCounts {
        ConnectionCounts {
            open: self.open.load(Ordering::Relaxed),
            accepted: self.accepted.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            timed_out: self.timed_out.load(Ordering::Relaxed),
            handshakes_failed: self.handshakes_failed.load(Ordering::Relaxed),
        }
    }

    /// Counts a connection as open until the guard drops.
    pub(crate) fn opened(self: &Arc<Self>) -> OpenGuard {
        self.accepted.fetch_add(1, Ordering::Relaxed);
        self.open.fetch_add(1, Ordering::Relaxed);
        OpenGuard(Arc::clone(self))
    }

    pub(crate) fn rejected(&self) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn timed_out(&self) {
        self.timed_out.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn handshake_failed(&self) {
        self.handshakes_failed.fetch_add(1, Ordering::Relaxed);
    }
}

pub(crate) struct OpenGuard(Arc<ConnectionStats>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}
