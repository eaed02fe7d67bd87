//! Writes 1,000,000 users (or the count given as the first argument) through the
//! `GenerationWriter` into a fresh PostgreSQL database on the server named by
//! `ROSTERD_TEST_POSTGRES_URL`, and prints the timings.
//!
//! `ROSTERD_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test \
//!  cargo run --release -p store-postgres --example write_million_pg [USERS]`

use store_conformance::{fresh_postgres_url, write_users_bench};
use store_postgres::PgStore;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let users = std::env::args().nth(1).map_or(Ok(1_000_000), |a| a.parse())?;
    let Some(url) = fresh_postgres_url().await else {
        return Ok(());
    };
    let store = PgStore::connect(&url).await?;
    let report = write_users_bench(&store, users).await?;
    store.close().await;
    println!("backend: postgres\n{report}");
    Ok(())
}
