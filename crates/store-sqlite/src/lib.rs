//! rosterd's embedded store: the `Store` trait on one SQLite file (WAL, one writer connection,
//! a pool of readers, embedded migrations).

mod clients;
mod codec;
mod connect;
mod error;
mod leases;
mod services;
mod store_impl;
mod subscriptions;
mod tasks;
mod users;

pub use connect::SqliteStore;
