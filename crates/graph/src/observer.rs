//! Progress reporting: what the client did (pages read, waits for throttling, retries), for the
//! sync engine to turn into task messages and metrics.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use uuid::Uuid;

use crate::error::Resource;

/// Why an attempt is repeated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryReason {
    /// 500, 502, 504.
    ServerError(u16),
    Timeout,
    Transport,
    /// A 200 whose body was not the expected JSON.
    InvalidBody,
    /// Graph refused the cached token (401); a fresh one is fetched at once.
    Unauthorized,
}

/// One observable step of the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphEvent {
    /// A fresh token was issued (a cache hit reports nothing).
    TokenAcquired { tenant_id: Uuid, expires_in: Duration },
    /// Graph answered a page request with `status` (every answer, also those retried).
    Responded { resource: Resource, status: u16 },
    /// A page was read; `number` counts from 1 within the listing, `items_total` includes it.
    PageRead {
        resource: Resource,
        number: u64,
        items: usize,
        items_total: u64,
    },
    /// The server throttled (429) or was unavailable (503); the client waits `wait` before
    /// attempt `attempt + 1`. `retry_after` is what the server asked for, before the cap.
    Throttled {
        resource: Resource,
        status: u16,
        wait: Duration,
        retry_after: Option<Duration>,
        attempt: u32,
    },
    /// Another transient failure; the client waits `wait` before attempt `attempt + 1`.
    Retrying {
        resource: Resource,
        reason: RetryReason,
        wait: Duration,
        attempt: u32,
    },
}

/// Receives the client's events. Called inline: keep it cheap and never block.
pub trait GraphObserver: Send + Sync {
    fn on_event(&self, event: &GraphEvent);
}

/// Tells two observers (a task's log and the process's metrics).
pub struct Both(pub Arc<dyn GraphObserver>, pub Arc<dyn GraphObserver>);

impl GraphObserver for Both {
    fn on_event(&self, event: &GraphEvent) {
        self.0.on_event(event);
        self.1.on_event(event);
    }
}

/// Ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopObserver;

impl GraphObserver for NoopObserver {
    fn on_event(&self, _event: &GraphEvent) {}
}

/// Forwards events into a channel (the receiver may be dropped; events are then discarded).
impl GraphObserver for tokio::sync::mpsc::UnboundedSender<GraphEvent> {
    fn on_event(&self, event: &GraphEvent) {
        // A closed channel only means nobody listens any more.
        let _ = self.send(event.clone());
    }
}

/// Keeps every event, for tests and diagnostics.
#[derive(Debug, Default)]
pub struct RecordingObserver {
    events: Mutex<Vec<GraphEvent>>,
}

impl RecordingObserver {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn events(&self) -> Vec<GraphEvent> {
        self.events.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl GraphObserver for RecordingObserver {
    fn on_event(&self, event: &GraphEvent) {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event.clone());
    }
}
