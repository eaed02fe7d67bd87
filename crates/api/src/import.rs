//! Loading a customer's users from a pushed export: the body is streamed through the domain
//! parsers into the store's generation writer, then committed atomically. Shared by
//! `PUT .../user` and `rosterd import`.

use std::io::{BufRead, BufReader, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::body::Body;
use domain::access::{Authorized, Write};
use domain::import::{parse_users, ImportError, ImportFormat};
use domain::CustomerId;
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use store::{GenerationWriter, ReplaceOutcome, Store, StoreError, WriteError};
use tokio_util::io::{StreamReader, SyncIoBridge};

use crate::error::ApiError;
use crate::state::AppState;

/// `Retry-After` of an import refused because the process runs its limit of imports.
pub const BUSY_RETRY_AFTER_SECS: u64 = 5;

/// What an import changed, as answered to the client.
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
    pub fn new(customer: CustomerId, outcome: &ReplaceOutcome) -> Self {
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

/// Why an import failed, before it is turned into an HTTP answer or a CLI message.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{0}")]
    Parse(#[from] ImportError<WriteError>),
    #[error("the body is neither JSON nor CSV")]
    UnknownFormat,
    #[error("the body is larger than the limit of {0} bytes")]
    TooLarge(u64),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(
        "the body holds no users: replacing the set with nothing would remove every user of this customer; \
         repeat with allowEmpty=true to do that on purpose"
    )]
    EmptySet,
}

impl From<IngestError> for ApiError {
    fn from(error: IngestError) -> Self {
        match error {
            IngestError::TooLarge(limit) => ApiError::PayloadTooLarge { limit },
            IngestError::UnknownFormat => ApiError::UnsupportedMediaType(
                "send users as JSON (Content-Type: application/json) or CSV (Content-Type: text/csv)".into(),
            ),
            IngestError::Write(write) | IngestError::Parse(ImportError::Sink(write)) => write_error(write),
            IngestError::EmptySet => ApiError::ImportRejected {
                code: "empty_user_set",
                row: None,
                field: None,
                message: error.to_string(),
            },
            IngestError::Parse(parse) => ApiError::ImportRejected {
                code: parse.code(),
                row: parse.row(),
                field: parse.field().map(str::to_string),
                message: parse.to_string(),
            },
        }
    }
}

fn write_error(error: WriteError) -> ApiError {
    match error {
        WriteError::DuplicateIdentity { second_row, .. } => ApiError::ImportRejected {
            code: "duplicate_identity",
            row: Some(second_row),
            field: Some("Identity".into()),
            message: error.to_string(),
        },
        WriteError::Store(StoreError::Conflict(_)) => ApiError::conflict(
            "concurrent_import",
            "another import or sync of this customer committed while this one ran; nothing was changed, retry",
        ),
        WriteError::Store(StoreError::NotFound(_)) => ApiError::CustomerNotFound,
        other => ApiError::internal(other),
    }
}

/// Parses a whole body into a generation writer. Blocking: run on a blocking thread.
pub fn ingest_blocking(format: Option<ImportFormat>, reader: impl Read) -> Result<GenerationWriter, IngestError> {
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let format = match format {
        Some(format) => format,
        None => {
            let head = reader.fill_buf().map_err(|e| IngestError::Parse(ImportError::Io(e)))?;
            ImportFormat::sniff(head).ok_or(IngestError::UnknownFormat)?
        }
    };
    let mut writer = GenerationWriter::new()?;
    parse_users(format, reader, |row, user| writer.push(row, &user))?;
    Ok(writer)
}

/// Streams an HTTP body into a new generation of `customer`'s users.
pub async fn replace_from_body(
    state: &AppState,
    customer: &Authorized<CustomerId, Write>,
    content_type: Option<&str>,
    body: Body,
    limit: u64,
    allow_empty: bool,
) -> Result<ImportSummary, ApiError> {
    let format = match content_type {
        None => None,
        Some(ct) => Some(ImportFormat::from_content_type(Some(ct)).ok_or_else(|| {
            ApiError::UnsupportedMediaType(format!(
                "Content-Type '{ct}' is not supported; send application/json or text/csv"
            ))
        })?),
    };
    let exceeded = Arc::new(AtomicBool::new(false));
    let stream = {
        let exceeded = Arc::clone(&exceeded);
        let mut seen: u64 = 0;
        body.into_data_stream().map_err(std::io::Error::other).map(move |item| {
            let chunk = item?;
            seen += chunk.len() as u64;
            if seen > limit {
                exceeded.store(true, Ordering::Relaxed);
                return Err(std::io::Error::other("body over the limit"));
            }
            Ok(chunk)
        })
    };
    let reader = SyncIoBridge::new(StreamReader::new(stream));
    let parsed = tokio::task::spawn_blocking(move || ingest_blocking(format, reader))
        .await
        .map_err(ApiError::internal)?;
    let writer = match parsed {
        Err(_) if exceeded.load(Ordering::Relaxed) => return Err(ApiError::PayloadTooLarge { limit }),
        other => other?,
    };
    commit(state.store.as_ref(), customer, writer, allow_empty)
        .await
        .map_err(Into::into)
}

/// Commits a parsed import as the customer's new generation. An empty set is refused unless
/// `allow_empty`: an export that came out empty by mistake must not wipe a tenant.
pub async fn commit(
    store: &dyn Store,
    customer: &Authorized<CustomerId, Write>,
    writer: GenerationWriter,
    allow_empty: bool,
) -> Result<ImportSummary, IngestError> {
    if writer.is_empty() && !allow_empty {
        return Err(IngestError::EmptySet);
    }
    let outcome = writer.commit(store, customer, None, false).await?;
    Ok(ImportSummary::new(**customer, &outcome))
}
