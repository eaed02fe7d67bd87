//! The store conformance suite on PostgreSQL: every check on a fresh database. Skipped (with a
//! message) when ROSTERD_TEST_POSTGRES_URL is unset, and failing instead when CI is set.

#![allow(clippy::expect_used)]

use store_conformance::{fresh_postgres_url, Fixture};
use store_postgres::PgStore;

async fn fixture() -> Option<Fixture> {
    let url = fresh_postgres_url().await?;
    let store = PgStore::connect(&url).await.expect("opening a fresh PostgreSQL store");
    Some(Fixture::new(store, None))
}

store_conformance::conformance_tests!(postgres, fixture());
