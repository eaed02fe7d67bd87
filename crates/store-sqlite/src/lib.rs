//! rosterd's embedded store: the SQL core of `store-sql` on one SQLite file (WAL, one writer
//! connection, a pool of readers, embedded migrations). This crate holds only what SQLite does
//! its own way: opening the file, storage classes (GUIDs as text, times as integer
//! microseconds), the multi-row `INSERT` of a generation's users and the sliced delete of an old
//! one.

mod checkpoint;
mod connect;
mod driver;

pub use connect::SqliteDriver;

/// The SQLite store: every role of `store::Store` on a [`SqliteDriver`].
/// `SqliteStore::connect(url)` opens it; clones share the pools.
pub type SqliteStore = store_sql::SqlStore<SqliteDriver>;
