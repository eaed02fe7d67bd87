//! Reading Graph listings ahead: a producer task fetches the next page while the engine maps
//! the current one, and every wait for Graph gives way to shutdown.
//!
//! A listing counts as read only when the page Graph marked as the last one (no
//! `@odata.nextLink`) has arrived: a reader task that stops any other way (a panic, an abort,
//! the runtime cancelling it) ends the stream with an error, never with a normal end, so a
//! round can never be committed from part of a tenant.

use std::future::Future;
use std::time::{Duration, Instant};

use graph::{GraphError, Page, PageItem, Pager, Resource};
use tokio::sync::mpsc;
use tokio::task::{JoinError, JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::error::SyncError;

/// Pages fetched ahead of the one being mapped.
const READ_AHEAD: usize = 2;

/// Awaits `work` unless `cancel` fires first.
pub(crate) async fn or_cancelled<T>(cancel: &CancellationToken, work: impl Future<Output = T>) -> Result<T, SyncError> {
    tokio::select! {
        biased;
        () = cancel.cancelled() => Err(SyncError::Interrupted),
        out = work => Ok(out),
    }
}

/// Proof that a listing was read to its last page, with what that page carried. Only a
/// [`PageStream`] makes one.
#[derive(Debug)]
pub(crate) struct ListingEnd {
    resource: Resource,
    delta_link: Option<String>,
}

impl ListingEnd {
    /// The `@odata.deltaLink` that a `/users/delta` round must end with: without it the round
    /// did not provably end and must not be committed.
    pub(crate) fn into_delta_link(self) -> Result<String, SyncError> {
        self.delta_link.ok_or(SyncError::IncompleteListing {
            resource: self.resource,
            reason: "its last page carried no @odata.deltaLink",
        })
    }
}

/// What [`PageStream::next`] yields.
pub(crate) enum Step<T> {
    Page(Page<T>),
    /// The last page has been yielded and the reader finished normally.
    End(ListingEnd),
}

/// A listing being read by a background task. Dropping it stops the task.
pub(crate) struct PageStream<T> {
    resource: Resource,
    pages: mpsc::Receiver<Result<Page<T>, GraphError>>,
    producer: Option<JoinHandle<()>>,
    /// Set when the page Graph marked as the last one arrived.
    last_seen: Option<Option<String>>,
    /// Time spent waiting for the next page (fetching that mapping did not hide).
    pub(crate) waited: Duration,
}

impl<T: PageItem> PageStream<T> {
    pub(crate) fn spawn(mut pager: Pager<T>) -> Self {
        let resource = pager.resource();
        let (tx, pages) = mpsc::channel(READ_AHEAD);
        let producer = tokio::spawn(async move {
            loop {
                let next = pager.next_page().await;
                let item = match next {
                    Ok(Some(page)) => Ok(page),
                    // Only after the last page, which this loop never reads past.
                    Ok(None) => break,
                    Err(error) => Err(error),
                };
                let stop = !matches!(&item, Ok(page) if !page.is_last);
                if tx.send(item).await.is_err() || stop {
                    break;
                }
            }
        });
        Self {
            resource,
            pages,
            producer: Some(producer),
            last_seen: None,
            waited: Duration::ZERO,
        }
    }

    /// The next page, or the proven end of the listing after its last page.
    pub(crate) async fn next(&mut self, cancel: &CancellationToken) -> Result<Step<T>, SyncError> {
        if let Some(delta_link) = self.last_seen.clone() {
            self.join(cancel).await?;
            return Ok(Step::End(ListingEnd {
                resource: self.resource,
                delta_link,
            }));
        }
        let started = Instant::now();
        let next = or_cancelled(cancel, self.pages.recv()).await;
        self.waited += started.elapsed();
        match next? {
            Some(Ok(page)) => {
                if page.is_last {
                    self.last_seen = Some(page.delta_link.clone());
                }
                Ok(Step::Page(page))
            }
            Some(Err(error)) => Err(SyncError::Graph(error)),
            // The channel closed before the last page: the reader stopped early, whatever
            // its handle says.
            None => Err(match self.join(cancel).await {
                Ok(()) => self.incomplete("the page reader stopped before the last page"),
                Err(error) => error,
            }),
        }
    }

    /// Waits for the reader task and turns an abnormal end into an error of the round.
    async fn join(&mut self, cancel: &CancellationToken) -> Result<(), SyncError> {
        let Some(producer) = self.producer.take() else {
            return Ok(());
        };
        match or_cancelled(cancel, producer).await? {
            Ok(()) => Ok(()),
            Err(error) => Err(self.abnormal_end(error)),
        }
    }

    fn abnormal_end(&self, error: JoinError) -> SyncError {
        if error.is_panic() {
            let panic = error.into_panic();
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(resource = %self.resource, panic = %message, "the Graph page reader panicked");
            self.incomplete("the page reader panicked")
        } else {
            self.incomplete("the page reader was cancelled")
        }
    }

    fn incomplete(&self, reason: &'static str) -> SyncError {
        SyncError::IncompleteListing {
            resource: self.resource,
            reason,
        }
    }
}

impl<T> Drop for PageStream<T> {
    fn drop(&mut self) {
        if let Some(producer) = &self.producer {
            producer.abort();
        }
    }
}
