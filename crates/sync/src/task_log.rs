//! A sync's execution log: the task record polled through `GET /api/v2/task/{id}`, kept in
//! memory, written to the store every `flush_every` while the sync runs, and echoed to an
//! optional progress sink (the CLI) line by line.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use graph::{GraphEvent, GraphObserver, Resource};
use store::{Store, StoreResult, TaskMessage, TaskRecord, TaskStatus};

use crate::progress::{describe, Level, ProgressSink};

/// Counters of waits the Graph client reported, for the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct WaitStats {
    pub(crate) throttle_waits: u32,
    pub(crate) throttled: Duration,
    pub(crate) retries: u32,
}

struct LogState {
    record: TaskRecord,
    dirty: bool,
    /// The running "pages read" line of each listing in progress, by message index.
    listing_line: HashMap<Resource, usize>,
    waits: WaitStats,
}

/// The log of one sync. Cheap to share; every method is callable from any task.
pub(crate) struct TaskLog {
    store: Arc<dyn Store>,
    state: Mutex<LogState>,
    echo: Option<Arc<dyn ProgressSink>>,
}

impl TaskLog {
    /// Stores `record` (new, in progress) and returns its log.
    pub(crate) async fn create(
        store: Arc<dyn Store>,
        record: TaskRecord,
        echo: Option<Arc<dyn ProgressSink>>,
    ) -> StoreResult<Arc<Self>> {
        store.create_task(&record).await?;
        Ok(Arc::new(Self {
            store,
            state: Mutex::new(LogState {
                record,
                dirty: false,
                listing_line: HashMap::new(),
                waits: WaitStats::default(),
            }),
            echo,
        }))
    }

    fn lock(&self) -> MutexGuard<'_, LogState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn id(&self) -> String {
        self.lock().record.id.clone()
    }

    fn echo(&self, level: Level, text: &str) {
        if let Some(sink) = &self.echo {
            sink.line(level, text);
        }
    }

    pub(crate) fn push(&self, level: Level, text: impl Into<String>) {
        let text = text.into();
        self.echo(level, &text);
        let mut state = self.lock();
        state.record.messages.push(TaskMessage {
            level: level.as_str().to_string(),
            message: text,
        });
        state.dirty = true;
    }

    pub(crate) fn info(&self, text: impl Into<String>) {
        self.push(Level::Info, text);
    }

    pub(crate) fn warn(&self, text: impl Into<String>) {
        self.push(Level::Warning, text);
    }

    /// A listing starts: its page progress gets a fresh line (a fallback round after a failed
    /// delta round reads `users/delta` again).
    pub(crate) fn listing_started(&self, resource: Resource) {
        self.lock().listing_line.remove(&resource);
    }

    /// A listing is complete: its running line becomes the final count.
    pub(crate) fn listing_done(&self, resource: Resource, text: String) {
        self.echo(Level::Info, &text);
        let mut state = self.lock();
        let message = TaskMessage {
            level: Level::Info.as_str().to_string(),
            message: text,
        };
        match state.listing_line.remove(&resource) {
            Some(index) if index < state.record.messages.len() => state.record.messages[index] = message,
            _ => state.record.messages.push(message),
        }
        state.dirty = true;
    }

    fn on_graph_event(&self, event: &GraphEvent) {
        let Some((level, text)) = describe(event) else {
            return;
        };
        self.echo(level, &text);
        let mut state = self.lock();
        match event {
            GraphEvent::PageRead {
                resource,
                number,
                items_total,
                ..
            } => {
                // One running line per listing: a 1,000-page tenant must not make 1,000 messages.
                let line = format!("{resource}: {number} pages read, {items_total} items so far");
                let message = TaskMessage {
                    level: level.as_str().to_string(),
                    message: line,
                };
                match state.listing_line.get(resource).copied() {
                    Some(index) if index < state.record.messages.len() => state.record.messages[index] = message,
                    _ => {
                        let index = state.record.messages.len();
                        state.record.messages.push(message);
                        state.listing_line.insert(*resource, index);
                    }
                }
            }
            other => {
                match other {
                    GraphEvent::Throttled { wait, .. } => {
                        state.waits.throttle_waits += 1;
                        state.waits.throttled += *wait;
                    }
                    GraphEvent::Retrying { .. } => state.waits.retries += 1,
                    _ => {}
                }
                state.record.messages.push(TaskMessage {
                    level: level.as_str().to_string(),
                    message: text,
                });
            }
        }
        state.dirty = true;
    }

    pub(crate) fn waits(&self) -> WaitStats {
        self.lock().waits
    }

    /// Writes the record if it changed since the last write. Best effort: a failed write is
    /// logged and retried at the next flush.
    pub(crate) async fn flush(&self) {
        let record = {
            let mut state = self.lock();
            if !state.dirty {
                return;
            }
            state.dirty = false;
            state.record.clone()
        };
        if let Err(error) = self.store.update_task(&record).await {
            tracing::warn!(task = %record.id, %error, "could not write the sync task's progress");
            self.lock().dirty = true;
        }
    }

    /// Completes the task and writes it.
    pub(crate) async fn finish(&self, status: TaskStatus, output: serde_json::Value, at: DateTime<Utc>) {
        {
            let mut state = self.lock();
            state.record.status = status;
            state.record.output = output;
            state.record.completed_at = Some(at);
            state.dirty = true;
        }
        self.flush().await;
    }

    /// A Graph observer feeding this log.
    pub(crate) fn observer(self: &Arc<Self>) -> Arc<dyn GraphObserver> {
        Arc::new(LogObserver(Arc::clone(self)))
    }

    #[cfg(test)]
    pub(crate) fn record(&self) -> TaskRecord {
        self.lock().record.clone()
    }
}

struct LogObserver(Arc<TaskLog>);

impl GraphObserver for LogObserver {
    fn on_event(&self, event: &GraphEvent) {
        self.0.on_graph_event(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use graph::GraphEvent;

    fn event(number: u64, total: u64) -> GraphEvent {
        GraphEvent::PageRead {
            resource: Resource::UsersDelta,
            number,
            items: 10,
            items_total: total,
        }
    }

    #[tokio::test]
    async fn pages_share_one_line_and_waits_are_counted() {
        let store: Arc<dyn Store> = Arc::new(store_sqlite::SqliteStore::connect("sqlite::memory:").await.unwrap());
        let record = TaskRecord {
            id: "sync_test".into(),
            customer: None,
            kind: "user_sync".into(),
            status: TaskStatus::InProgress,
            details: vec![],
            messages: vec![],
            output: serde_json::json!({}),
            created_at: Utc::now(),
            completed_at: None,
            cancellation_requested: false,
        };
        let log = TaskLog::create(Arc::clone(&store), record, None).await.unwrap();
        log.info("started");
        let observer = log.observer();
        for n in 1..=3 {
            observer.on_event(&event(n, n * 10));
        }
        observer.on_event(&GraphEvent::Throttled {
            resource: Resource::UsersDelta,
            status: 429,
            wait: Duration::from_secs(2),
            retry_after: Some(Duration::from_secs(2)),
            attempt: 1,
        });
        observer.on_event(&event(4, 40));
        let texts: Vec<String> = log.record().messages.iter().map(|m| m.message.clone()).collect();
        assert_eq!(texts.len(), 3, "{texts:?}");
        assert_eq!(texts[1], "users/delta: 4 pages read, 40 items so far");
        assert!(texts[2].contains("HTTP 429"));
        log.listing_done(Resource::UsersDelta, "read 40 users".into());
        assert_eq!(log.record().messages[1].message, "read 40 users");
        assert_eq!(
            log.waits(),
            WaitStats {
                throttle_waits: 1,
                throttled: Duration::from_secs(2),
                retries: 0
            }
        );
        log.finish(
            TaskStatus::CompletedSuccess,
            serde_json::json!({"total": 40}),
            Utc::now(),
        )
        .await;
        let stored = crate::context::ENGINE.open(store.get_task("sync_test").await.unwrap().unwrap());
        assert_eq!(stored.status, TaskStatus::CompletedSuccess);
        assert_eq!(stored.messages.len(), 3);
        assert_eq!(stored.output["total"], 40);
    }
}
