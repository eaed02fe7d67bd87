//! The SQL store, written once: the queries and row mapping of every table, as implementations
//! of the store's role traits on [`SqlStore`], generic over a [`Driver`] that runs statements on
//! one database. A backend crate (`store-sqlite`, `store-postgres`) implements only the driver:
//! connecting, binding [`Param`]s, reading columns through [`SqlRow`], and the few operations
//! whose SQL really differs (bulk insert, bulk delete), plus the dialect's fragments.
//!
//! SQL text uses `$1`-style placeholders, which both PostgreSQL and sqlx's SQLite driver accept.

mod clients;
mod codec;
mod console;
mod driver;
mod error;
mod leases;
mod param;
mod plumbing;
mod row;
mod services;
mod subscriptions;
mod tasks;
mod users;

use async_trait::async_trait;
use store::{StoreInfo, StoreResult};

pub use driver::{Access, Driver, Transaction};
pub use error::{db_error, SqlError};
pub use param::Param;
pub use row::{Column, SqlRow};
pub use users::{line_digits, served_page_sql, version_changes_sql, CURRENT};

/// What [`sqlx_statements!`] expands to refers to, so that a backend needs no extra dependency.
#[doc(hidden)]
pub mod __private {
    pub use async_trait::async_trait;
    pub use chrono::{DateTime, Utc};
    pub use futures::TryStreamExt;
    pub use sqlx;
    pub use uuid::Uuid;
}

/// A store on one SQL database: every role of [`store::Store`], on the driver `D`. Cheap to clone
/// when the driver is (the backends' drivers share their pools).
#[derive(Debug, Clone)]
pub struct SqlStore<D> {
    driver: D,
}

impl<D: Driver> SqlStore<D> {
    /// Opens the database at `url` (applying pending migrations).
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let store = Self::new(D::connect(url).await?);
        store.backfill().await?;
        Ok(store)
    }

    pub fn new(driver: D) -> Self {
        Self { driver }
    }

    /// The driver underneath, for backend-specific checks (tests, diagnostics).
    pub fn driver(&self) -> &D {
        &self.driver
    }

    /// Closes every connection; later calls fail.
    pub async fn close(&self) {
        self.driver.close().await;
    }
}

#[async_trait]
impl<D: Driver> StoreInfo for SqlStore<D> {
    fn backend(&self) -> &'static str {
        D::NAME
    }

    async fn ping(&self) -> StoreResult<()> {
        self.driver.fetch(Access::Read, "SELECT 1", &[], |_| Ok(())).await?;
        Ok(())
    }
}
