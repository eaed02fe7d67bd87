//! rosterd's PostgreSQL store: the `Store` trait on a connection pool, with embedded migrations
//! and a schema that distributes by customer on Citus.

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

pub use connect::PgStore;
