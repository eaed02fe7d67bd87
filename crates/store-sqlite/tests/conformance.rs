//! The store conformance suite on SQLite: every check on a fresh database file.

#![allow(clippy::expect_used)]

use store_conformance::{fresh_sqlite_url, Fixture};
use store_sqlite::SqliteStore;

async fn fixture() -> Option<Fixture> {
    let (dir, url) = fresh_sqlite_url().await;
    let store = SqliteStore::connect(&url).await.expect("opening a fresh SQLite store");
    Some(Fixture::new(store, Some(dir)))
}

store_conformance::conformance_tests!(sqlite, fixture());
