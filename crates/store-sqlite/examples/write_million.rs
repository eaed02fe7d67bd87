//! Writes 1,000,000 users (or the count given as the first argument) through the
//! `GenerationWriter` into a fresh SQLite file and prints the timings.
//!
//! `cargo run --release -p store-sqlite --example write_million [USERS]`

use store_conformance::{fresh_sqlite_url, write_users_bench};
use store_sqlite::SqliteStore;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let users = std::env::args().nth(1).map_or(Ok(1_000_000), |a| a.parse())?;
    let (dir, url) = fresh_sqlite_url().await;
    let store = SqliteStore::connect(&url).await?;
    let report = write_users_bench(&store, users).await?;
    store.close().await;
    let size: u64 = std::fs::read_dir(dir.path())?
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!(
        "backend: sqlite ({url})\n{report}\ndatabase files: {:.1} MB",
        size as f64 / 1e6
    );
    Ok(())
}
