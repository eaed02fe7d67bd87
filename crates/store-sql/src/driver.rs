//! What a database backend provides to the SQL core: statements run with bound parameters, rows
//! read through [`SqlRow`], write transactions, the dialect's few differing fragments, and the
//! bulk operations whose SQL differs between databases.

use async_trait::async_trait;
use domain::CustomerId;
use store::{StoreResult, UserRow};

use crate::error::SqlError;
use crate::param::Param;
use crate::row::SqlRow;

/// Where a statement runs. A backend may serve reads from other connections than writes
/// (SQLite: a pool of read-only connections beside the one writer); a statement that must see
/// the latest committed writes, or that writes (`UPDATE ... RETURNING`), runs as `Write`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// One database backend. The SQL core holds one and calls nothing else.
#[async_trait]
pub trait Driver: Send + Sync + Sized + 'static {
    /// A write transaction (see [`Driver::begin`]).
    type Tx: Transaction;

    /// The backend's name (`sqlite`, `postgres`), for logs and `/readyz`.
    const NAME: &'static str;
    /// Appended to a text expression in `ORDER BY` so that text sorts by code point, as SQLite's
    /// default `BINARY` collation does.
    const BINARY_ORDER: &'static str;
    /// Appended to a `SELECT` of one service row in a [`Transaction`], so that concurrent writers
    /// of that row wait until the transaction ends (empty where the transaction already excludes
    /// every other writer).
    const FOR_SHARE: &'static str;
    /// Appended to the subquery that picks a due service, so that concurrent claimers skip a
    /// row another one is taking (empty where writers never run concurrently).
    const SKIP_LOCKED: &'static str;

    /// A condition: `column` (a GUID) is one of the ids bound as [`Param::Uuids`] at
    /// `placeholder`.
    fn id_in(column: &str, placeholder: &str) -> String;

    /// Opens the database at `url` and applies pending migrations.
    async fn connect(url: &str) -> StoreResult<Self>;

    /// Closes every connection; later calls fail.
    async fn close(&self);

    /// Runs one statement and maps each row as it arrives, so that no more than one driver row
    /// is held at a time.
    async fn fetch<T, F>(&self, access: Access, sql: &str, params: &[Param<'_>], map: F) -> Result<Vec<T>, SqlError>
    where
        T: Send,
        F: FnMut(&dyn SqlRow) -> StoreResult<T> + Send;

    /// Runs one writing statement; returns how many rows it changed.
    async fn execute(&self, sql: &str, params: &[Param<'_>]) -> Result<u64, SqlError>;

    /// Starts a write transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`),
    /// so that what it reads stays true until it commits.
    async fn begin(&self) -> Result<Self::Tx, SqlError>;

    /// Bulk insert of one batch of versions born in a not-yet-committed generation (rows in
    /// identity order), atomically, and only while no generation at or above it is served:
    /// `false` (nothing inserted) otherwise. The check and the insert must be atomic with
    /// respect to commits (see `commit_generation`, which deletes what losing writers stored).
    async fn insert_versions(&self, customer: CustomerId, generation: i64, rows: &[UserRow]) -> Result<bool, SqlError>;
}

/// A write transaction; dropped without [`commit`](Transaction::commit), it rolls back.
#[async_trait]
pub trait Transaction: Send {
    /// As [`Driver::fetch`], inside the transaction.
    async fn fetch<T, F>(&mut self, sql: &str, params: &[Param<'_>], map: F) -> Result<Vec<T>, SqlError>
    where
        T: Send,
        F: FnMut(&dyn SqlRow) -> StoreResult<T> + Send;

    /// As [`Driver::execute`], inside the transaction.
    async fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, SqlError>;

    async fn commit(self) -> Result<(), SqlError>;
}
