//! rosterd's PostgreSQL store: the SQL core of `store-sql` on a connection pool, with embedded
//! migrations and a schema that distributes by customer on Citus. This crate holds only what
//! PostgreSQL does its own way: the pool, native `uuid` and `timestamptz` columns, the `UNNEST`
//! insert of a generation's users, and the row locks (`FOR SHARE`, `FOR UPDATE SKIP LOCKED`)
//! that make several server processes on one database safe.

mod driver;

pub use driver::PgDriver;

/// The PostgreSQL store: every role of `store::Store` on a [`PgDriver`].
/// `PgStore::connect(url)` opens it; clones share the pool.
pub type PgStore = store_sql::SqlStore<PgDriver>;
