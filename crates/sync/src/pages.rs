//! Reading Graph listings ahead: a producer task fetches the next page while the engine maps
//! the current one, and every wait for Graph gives way to shutdown.

use std::future::Future;
use std::time::{Duration, Instant};

use graph::{GraphError, Page, PageItem, Pager};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
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

/// A listing being read by a background task. Dropping it stops the task.
pub(crate) struct PageStream<T> {
    pages: mpsc::Receiver<Result<Page<T>, GraphError>>,
    producer: JoinHandle<()>,
    /// Time spent waiting for the next page (fetching that mapping did not hide).
    pub(crate) waited: Duration,
}

impl<T: PageItem> PageStream<T> {
    pub(crate) fn spawn(mut pager: Pager<T>) -> Self {
        let (tx, pages) = mpsc::channel(READ_AHEAD);
        let producer = tokio::spawn(async move {
            loop {
                let next = pager.next_page().await;
                let last = !matches!(next, Ok(Some(_)));
                let item = match next {
                    Ok(Some(page)) => Ok(page),
                    Ok(None) => break,
                    Err(error) => Err(error),
                };
                if tx.send(item).await.is_err() || last {
                    break;
                }
            }
        });
        Self {
            pages,
            producer,
            waited: Duration::ZERO,
        }
    }

    /// The next page, `None` at the end of the listing.
    pub(crate) async fn next(&mut self, cancel: &CancellationToken) -> Result<Option<Page<T>>, SyncError> {
        let started = Instant::now();
        let next = or_cancelled(cancel, self.pages.recv()).await;
        self.waited += started.elapsed();
        match next? {
            None => Ok(None),
            Some(Ok(page)) => Ok(Some(page)),
            Some(Err(error)) => Err(SyncError::Graph(error)),
        }
    }
}

impl<T> Drop for PageStream<T> {
    fn drop(&mut self) {
        self.producer.abort();
    }
}
