//! Exporting a customer's users (`GET .../user/export`, `rosterd export`): the whole served
//! generation, in `Identity` order, streamed in bounded batches so memory does not grow with the
//! customer.
//!
//! The service row is read once, at the start: it names the generation to export and how many
//! users it holds. Every batch is then read from that generation (a keyset scan,
//! `UserStore::users_after`), whatever imports or syncs commit meanwhile, so the file is one
//! consistent generation — the one the response names. Should that generation stop being
//! stored while it is read (it was superseded and reclaimed), the batches come back short, and
//! the stream ends with an error instead of a file that looks complete: over HTTP the
//! connection is aborted before the end of the chunked body.

use std::sync::Arc;

use bytes::Bytes;
use domain::access::{Authorized, Principal, Read};
use domain::{CustomerId, ErrorCode, ExportEncoder, ExportFormat};
use futures::{Stream, StreamExt};
use store::{Store, UserRow};
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::App;

/// `Retry-After` of an export refused because the process runs its limit of exports.
pub const EXPORT_BUSY_RETRY_AFTER_SECS: u64 = 5;

/// An export the principal may read, not streamed yet: the generation it holds, and its bytes
/// through [`into_chunks`](Self::into_chunks).
pub struct UsersExport {
    pub customer: CustomerId,
    pub format: ExportFormat,
    /// The generation every user comes from.
    pub generation: i64,
    /// How many users it holds.
    pub user_count: i64,
    reader: BatchReader,
    slot: OwnedSemaphorePermit,
}

/// A piece of an export: its bytes, and how many users the export has written so far.
#[derive(Debug, Clone)]
pub struct ExportChunk {
    pub bytes: Bytes,
    pub users: u64,
}

impl App {
    /// Starts exporting a customer's users: the principal must see the customer and the service
    /// must list users (as for a page of users), and this process must not already run its
    /// limit of exports (`export_busy`).
    pub async fn export_users(
        &self,
        principal: &Principal,
        id: CustomerId,
        format: ExportFormat,
    ) -> AppResult<UsersExport> {
        // Read now, not reused: the row names the generation the whole export comes from.
        let (grant, service) = self.authorize::<Read>(principal, id).await?;
        service.may_list_users()?;
        let slot = Arc::clone(&self.exports).try_acquire_owned().map_err(|_| {
            AppError::new(
                ErrorCode::ExportBusy,
                format!(
                    "this server is already running its limit of {} exports; retry in a few seconds",
                    self.config.max_concurrent_exports
                ),
            )
            .retry_after(EXPORT_BUSY_RETRY_AFTER_SECS)
        })?;
        self.audit(
            principal,
            "users.export",
            Some(service.id),
            format!(
                "generation {}: {} users as {format}",
                service.generation, service.user_count
            ),
        )
        .await;
        Ok(UsersExport {
            customer: service.id,
            format,
            generation: service.generation,
            user_count: service.user_count,
            reader: BatchReader {
                store: Arc::clone(&self.store),
                grant,
                cursor: Cursor::new(service.generation, service.user_count),
                batch: self.config.export_batch.max(1),
                readers: self.config.export_readers.max(1),
            },
            slot,
        })
    }
}

/// What the reading task hands to the encoding stream.
enum Batch {
    Users(Vec<UserRow>),
    Done,
    Failed(AppError),
}

impl UsersExport {
    /// The export's bytes, in pieces of one batch each. A task reads the next batch while this
    /// one is encoded and sent (one batch in between, so memory stays at about three batches).
    /// The last item is an error, not the end of the format, when the export could not be read
    /// whole. Holds the export's slot until dropped.
    pub fn into_chunks(self) -> impl Stream<Item = AppResult<ExportChunk>> + Send + 'static {
        let (sender, receiver) = mpsc::channel(1);
        tokio::spawn(self.reader.run(sender));
        let state = Encoding {
            receiver,
            encoder: ExportEncoder::new(self.format),
            started: false,
            ended: false,
            customer: self.customer,
            _slot: self.slot,
        };
        futures::stream::unfold(state, |mut state| async move {
            let item = state.next().await?;
            Some((item, state))
        })
    }
}

struct Encoding {
    receiver: mpsc::Receiver<Batch>,
    encoder: ExportEncoder,
    started: bool,
    ended: bool,
    customer: CustomerId,
    _slot: OwnedSemaphorePermit,
}

impl Encoding {
    async fn next(&mut self) -> Option<AppResult<ExportChunk>> {
        if self.ended {
            return None;
        }
        let mut out = Vec::new();
        if !self.started {
            self.started = true;
            self.encoder.start(&mut out);
        }
        let batch = match self.receiver.recv().await {
            Some(batch) => batch,
            // The reader stopped without saying it was done (it panicked or was cancelled).
            None => Batch::Failed(AppError::internal("the export's reader stopped before the end")),
        };
        match batch {
            Batch::Users(rows) => {
                out.reserve(rows.iter().map(|row| row.body.len() + 2).sum());
                for row in &rows {
                    if let Err(error) = self.encoder.user(&row.body, &mut out) {
                        self.ended = true;
                        return Some(Err(AppError::internal(error)));
                    }
                }
            }
            Batch::Done => {
                self.ended = true;
                self.encoder.finish(&mut out);
            }
            Batch::Failed(error) => {
                self.ended = true;
                tracing::warn!(
                    customer = %self.customer,
                    users_written = self.encoder.users(),
                    %error,
                    "an export ended before its last user; the response is cut off"
                );
                return Some(Err(error));
            }
        }
        Some(Ok(ExportChunk {
            bytes: Bytes::from(out),
            users: self.encoder.users(),
        }))
    }
}

/// Reads one generation in batches, checking that it is still whole.
struct BatchReader {
    store: Arc<dyn Store>,
    grant: Authorized<CustomerId, Read>,
    cursor: Cursor,
    batch: i64,
    /// Batches read at once.
    readers: usize,
}

impl BatchReader {
    /// Reads the batches in order, `readers` of them at once (ordinals are dense, so where each
    /// batch starts is known before the one before it arrives), and hands them on in order.
    async fn run(self, sender: mpsc::Sender<Batch>) {
        let BatchReader {
            store,
            grant,
            mut cursor,
            batch,
            readers,
        } = self;
        let generation = cursor.generation;
        let plan = cursor.plan(batch);
        let mut reads = futures::stream::iter(plan)
            .map(|(after, limit)| {
                let (store, grant) = (&store, &grant);
                async move { (limit, store.users_after(grant, generation, after, limit).await) }
            })
            .buffered(readers);
        while let Some((limit, read)) = reads.next().await {
            let checked = read.map_err(AppError::from).and_then(|rows| {
                cursor
                    .accept(&rows, limit)
                    .map_err(|gone| AppError::new(ErrorCode::InternalError, gone.to_string()))?;
                Ok(rows)
            });
            match checked {
                Ok(rows) => {
                    if sender.send(Batch::Users(rows)).await.is_err() {
                        return; // the client went away
                    }
                }
                Err(error) => {
                    let _ = sender.send(Batch::Failed(error)).await;
                    return;
                }
            }
        }
        let _ = sender.send(Batch::Done).await;
    }
}

/// Where a read of one generation stands, and the checks that it is still whole: every batch
/// holds as many users as asked for, ordinals follow each other, identities ascend, and the
/// generation ends at its recorded count.
#[derive(Debug)]
struct Cursor {
    generation: i64,
    user_count: i64,
    read: i64,
    last: Option<(i64, Uuid)>,
}

/// The generation being read is no longer (wholly) stored.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "generation {generation} was no longer stored whole while it was exported: {read} of its {user_count} users read ({why})"
)]
struct Vanished {
    generation: i64,
    user_count: i64,
    read: i64,
    why: &'static str,
}

impl Cursor {
    fn new(generation: i64, user_count: i64) -> Self {
        Self {
            generation,
            user_count: user_count.max(0),
            read: 0,
            last: None,
        }
    }

    /// Where each batch starts (the ordinal it reads after) and how many users it asks for.
    fn plan(&self, batch: i64) -> impl Iterator<Item = (i64, i64)> {
        let (count, batch) = (self.user_count, batch.max(1));
        (0..count.div_euclid(batch) + i64::from(count % batch > 0))
            .map(move |i| (i * batch, batch.min(count - i * batch)))
    }

    fn accept(&mut self, rows: &[UserRow], asked: i64) -> Result<(), Vanished> {
        let vanished = |cursor: &Cursor, why| Vanished {
            generation: cursor.generation,
            user_count: cursor.user_count,
            read: cursor.read,
            why,
        };
        if rows.len() as i64 != asked {
            return Err(vanished(self, "a batch came back short"));
        }
        for row in rows {
            if let Some((ordinal, identity)) = self.last {
                if row.ordinal != ordinal + 1 {
                    return Err(vanished(self, "ordinals skipped"));
                }
                if row.identity <= identity {
                    return Err(vanished(self, "identities out of order"));
                }
            } else if row.ordinal != 1 {
                return Err(vanished(self, "the first user is missing"));
            }
            self.last = Some((row.ordinal, row.identity));
            self.read += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn rows(ordinals: std::ops::RangeInclusive<i64>) -> Vec<UserRow> {
        ordinals
            .map(|ordinal| UserRow {
                ordinal,
                identity: Uuid::from_u128(ordinal as u128 * 10),
                fingerprint: 0,
                body: "{}".into(),
                source: None,
            })
            .collect()
    }

    #[test]
    fn reads_a_whole_generation_in_batches() {
        let mut cursor = Cursor::new(7, 5);
        assert_eq!(cursor.plan(2).collect::<Vec<_>>(), [(0, 2), (2, 2), (4, 1)]);
        assert_eq!(cursor.plan(5).collect::<Vec<_>>(), [(0, 5)]);
        assert_eq!(Cursor::new(1, 0).plan(10).count(), 0);
        cursor.accept(&rows(1..=2), 2).unwrap();
        cursor.accept(&rows(3..=4), 2).unwrap();
        cursor.accept(&rows(5..=5), 1).unwrap();
        assert_eq!(cursor.read, 5);
    }

    #[test]
    fn a_generation_that_vanishes_is_an_error() {
        let mut cursor = Cursor::new(7, 5);
        cursor.accept(&rows(1..=2), 2).unwrap();
        let short = cursor.accept(&rows(3..=3), 2).unwrap_err();
        assert_eq!(short.why, "a batch came back short");
        assert_eq!(short.read, 2);
        assert!(Cursor::new(7, 5).accept(&[], 2).is_err());

        let mut cursor = Cursor::new(7, 5);
        cursor.accept(&rows(1..=2), 2).unwrap();
        assert_eq!(cursor.accept(&rows(4..=5), 2).unwrap_err().why, "ordinals skipped");
        assert_eq!(
            Cursor::new(7, 5).accept(&rows(2..=3), 2).unwrap_err().why,
            "the first user is missing"
        );
        let mut cursor = Cursor::new(7, 5);
        let mut backwards = rows(1..=2);
        backwards[1].identity = Uuid::from_u128(1);
        assert_eq!(cursor.accept(&backwards, 2).unwrap_err().why, "identities out of order");
    }
}
