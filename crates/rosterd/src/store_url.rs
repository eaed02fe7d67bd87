//! Opens the store a database URL names: the backend is chosen once, from the scheme.

use std::sync::Arc;

use anyhow::{bail, Context};
use store::Store;

/// Opens the database `url` names, with every role of the store (the `Store` port and the
/// console's records).
pub async fn open_store(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        let store = store_sqlite::SqliteStore::connect(url)
            .await
            .with_context(|| format!("opening SQLite database {}", redact(url)))?;
        Ok(Arc::new(store))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let store = store_postgres::PgStore::connect(url)
            .await
            .with_context(|| format!("opening PostgreSQL database {}", redact(url)))?;
        Ok(Arc::new(store))
    } else {
        bail!(
            "unsupported database URL '{}': use sqlite://FILE or postgres://USER@HOST/DB",
            redact(url)
        )
    }
}

/// Hides a password in a URL before it is printed.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}
