//! Loading a customer's users from a pushed export (`PUT .../user`, `rosterd import`): the body
//! is streamed through the domain parsers into the store's generation writer, then committed
//! atomically. A bad row rejects the whole body and nothing is written.

use std::io::{BufRead, BufReader, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use domain::access::{Authorized, Principal, Write};
use domain::import::{parse_users, ImportError, ImportFormat};
use domain::{CustomerId, ErrorCode};
use futures::{Stream, StreamExt};
use serde::Serialize;
use store::{GenerationWriter, ReplaceOutcome, StoreError, WriteError};
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::io::{StreamReader, SyncIoBridge};

use crate::error::{AppError, AppResult};
use crate::App;

/// `Retry-After` of an import refused because the process runs its limit of imports.
pub const BUSY_RETRY_AFTER_SECS: u64 = 5;

/// What an import changed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportSummary {
    pub customer_guid: String,
    pub generation: i64,
    pub total: i64,
    pub added: i64,
    pub changed: i64,
    pub removed: i64,
    pub unchanged: i64,
}

impl ImportSummary {
    fn new(customer: CustomerId, outcome: &ReplaceOutcome) -> Self {
        Self {
            customer_guid: customer.to_string(),
            generation: outcome.generation,
            total: outcome.total,
            added: outcome.added,
            changed: outcome.changed,
            removed: outcome.removed,
            unchanged: outcome.unchanged,
        }
    }
}

/// An import the principal may run, holding one of the process's import slots: what is left is
/// to read the body ([`from_stream`](Self::from_stream), [`from_reader`](Self::from_reader)).
pub struct Import<'a> {
    app: &'a App,
    principal: Principal,
    grant: Authorized<CustomerId, Write>,
    _slot: OwnedSemaphorePermit,
}

impl App {
    /// Starts replacing a customer's users: the principal may write to it, the service keeps
    /// users, and this process is not already running its limit of imports (`import_busy`).
    pub async fn begin_import(&self, principal: &Principal, id: CustomerId) -> AppResult<Import<'_>> {
        let (grant, service) = self.authorize::<Write>(principal, id).await?;
        service.may_hold_users()?;
        // Imports parse and spool whole bodies: a few at a time per process, refused cheaply beyond.
        let slot = Arc::clone(&self.imports).try_acquire_owned().map_err(|_| {
            AppError::new(
                ErrorCode::ImportBusy,
                format!(
                    "this server is already running its limit of {} imports; retry in a few seconds",
                    self.config.max_concurrent_imports
                ),
            )
            .retry_after(BUSY_RETRY_AFTER_SECS)
        })?;
        Ok(Import {
            app: self,
            principal: principal.clone(),
            grant,
            _slot: slot,
        })
    }
}

/// Why a body stream ended early, if it did.
#[derive(Default)]
struct BodyFault {
    exceeded: AtomicBool,
    stalled: AtomicBool,
}

impl Import<'_> {
    /// Streams a body into a new generation: at most `max_import_bytes`, each chunk within
    /// `upload_stall_timeout` of the last. `format` `None`: sniffed from the content.
    pub async fn from_stream<S, E>(
        self,
        format: Option<ImportFormat>,
        body: S,
        allow_empty: bool,
    ) -> AppResult<ImportSummary>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
    {
        let limit = self.app.config.max_import_bytes;
        let stall = self.app.config.upload_stall_timeout;
        let fault = Arc::new(BodyFault::default());
        let stream = futures::stream::unfold(
            (body, 0u64, Arc::clone(&fault)),
            move |(mut data, seen, fault)| async move {
                let (item, seen) = match tokio::time::timeout(stall, data.next()).await {
                    Ok(None) => return None,
                    Ok(Some(Ok(chunk))) => {
                        let seen = seen + chunk.len() as u64;
                        if seen > limit {
                            fault.exceeded.store(true, Ordering::Relaxed);
                            (Err(std::io::Error::other("body over the limit")), seen)
                        } else {
                            (Ok(chunk), seen)
                        }
                    }
                    Ok(Some(Err(error))) => (Err(std::io::Error::other(error)), seen),
                    Err(_) => {
                        fault.stalled.store(true, Ordering::Relaxed);
                        (Err(std::io::Error::other("upload stalled")), seen)
                    }
                };
                Some((item, (data, seen, fault)))
            },
        );
        let reader = SyncIoBridge::new(StreamReader::new(Box::pin(stream)));
        let parsed = tokio::task::spawn_blocking(move || ingest_blocking(format, reader))
            .await
            .map_err(AppError::internal)?;
        let writer = match parsed {
            Err(_) if fault.exceeded.load(Ordering::Relaxed) => return Err(too_large(limit)),
            Err(_) if fault.stalled.load(Ordering::Relaxed) => {
                return Err(AppError::new(
                    ErrorCode::BodyStalled,
                    format!("no byte of the request body arrived for {} s", stall.as_secs()),
                ))
            }
            other => other?,
        };
        self.commit(writer, allow_empty).await
    }

    /// Reads a whole file (or standard input) into a new generation; `format` `None`: sniffed.
    pub async fn from_reader(
        self,
        format: Option<ImportFormat>,
        reader: impl Read + Send + 'static,
        allow_empty: bool,
    ) -> AppResult<ImportSummary> {
        let writer = tokio::task::spawn_blocking(move || ingest_blocking(format, reader))
            .await
            .map_err(AppError::internal)??;
        self.commit(writer, allow_empty).await
    }

    /// Commits a parsed import as the customer's new generation. An empty set is refused unless
    /// `allow_empty`: an export that came out empty by mistake must not wipe a tenant.
    async fn commit(self, writer: GenerationWriter, allow_empty: bool) -> AppResult<ImportSummary> {
        if writer.is_empty() && !allow_empty {
            return Err(AppError::new(
                ErrorCode::EmptyUserSet,
                "the body holds no users: replacing the set with nothing would remove every user of this customer; \
                 repeat with allowEmpty=true to do that on purpose",
            ));
        }
        let outcome = writer
            .commit(self.app.store.as_ref(), &self.grant, None, false)
            .await
            .map_err(write_error)?;
        // Served by this replica from the next request on.
        self.app.recent.forget_service(*self.grant);
        let summary = ImportSummary::new(*self.grant, &outcome);
        self.app
            .audit(
                &self.principal,
                "users.replace",
                Some(*self.grant),
                format!(
                    "generation {}: {} users ({} added, {} changed, {} removed)",
                    summary.generation, summary.total, summary.added, summary.changed, summary.removed
                ),
            )
            .await;
        Ok(summary)
    }
}

/// `body_too_large` for an import body over `limit` bytes.
pub(crate) fn too_large(limit: u64) -> AppError {
    AppError::new(
        ErrorCode::BodyTooLarge,
        format!("the request body is larger than the limit of {limit} bytes"),
    )
}

/// Parses a whole body into a generation writer. Blocking: run on a blocking thread.
fn ingest_blocking(format: Option<ImportFormat>, reader: impl Read) -> AppResult<GenerationWriter> {
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let format = match format {
        Some(format) => format,
        None => {
            let head = reader.fill_buf().map_err(|e| parse_error(ImportError::Io(e)))?;
            ImportFormat::sniff(head).ok_or_else(|| {
                AppError::new(
                    ErrorCode::UnsupportedMediaType,
                    "send users as JSON (Content-Type: application/json) or CSV (Content-Type: text/csv)",
                )
            })?
        }
    };
    let mut writer = GenerationWriter::new().map_err(write_error)?;
    parse_users(format, reader, |row, user| writer.push(row, &user)).map_err(parse_error)?;
    Ok(writer)
}

fn parse_error(error: ImportError<WriteError>) -> AppError {
    let message = error.to_string();
    let (row, field) = (error.row(), error.field().map(str::to_string));
    match (error.code(), error) {
        (_, ImportError::Sink(write)) => write_error(write),
        (Some(code), _) => {
            let error = AppError::new(code, message).at_row(row);
            match field {
                Some(field) => error.at_field(field),
                None => error,
            }
        }
        (None, other) => AppError::internal(other),
    }
}

fn write_error(error: WriteError) -> AppError {
    match error {
        WriteError::DuplicateIdentity { second_row, .. } => {
            AppError::new(ErrorCode::DuplicateIdentity, error.to_string())
                .at_row(Some(second_row))
                .at_field("Identity")
        }
        WriteError::Store(StoreError::Conflict(_)) => AppError::new(
            ErrorCode::ConcurrentImport,
            "another import or sync of this customer committed while this one ran; nothing was changed, retry",
        ),
        WriteError::Store(StoreError::NotFound(_)) => AppError::customer_not_found(),
        other => AppError::internal(other),
    }
}
