//! The engine's settings: how often, how many at once, how long a lease lasts, how far a
//! failing tenant backs off.

use std::time::Duration;

use crate::error::SyncError;

/// `TaskRecord::kind` of every sync task.
pub const TASK_KIND: &str = "user_sync";

/// Settings of an [`Engine`](crate::Engine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncConfig {
    /// Time between quick (delta) cycles of one customer.
    pub interval: Duration,
    /// A cycle reads the whole tenant instead of a delta round when the last full round is
    /// older than this (the daily reconciliation).
    pub full_interval: Duration,
    /// Customers synced at once by this process (scheduled and on-demand together).
    pub max_concurrent: usize,
    /// How often the scheduler looks for due customers.
    pub tick: Duration,
    /// A sync's claim on a customer; renewed while the sync runs, so the lease of a process that
    /// died simply expires and another replica takes over.
    pub lease: Duration,
    /// Ceiling of the backoff of a customer whose syncs keep failing.
    pub max_failure_backoff: Duration,
    /// Finished sync tasks older than this are deleted (scheduled syncs record one per cycle).
    pub task_retention: Duration,
    /// On shutdown, how long running syncs may take to stop at a safe point.
    pub shutdown_grace: Duration,
    /// How often a running sync's task log is written to the store.
    pub flush_every: Duration,
    /// Stored users read per batch when a delta round is merged into the current generation.
    pub merge_batch: i64,
    /// Names this process in leases (`<replica>/<task id>`).
    pub replica_id: String,
    /// Microsoft Graph change notifications (`--graph-notifications`); `None`: polling only.
    pub notifications: Option<crate::notifications::NotificationConfig>,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(300),
            full_interval: Duration::from_secs(86_400),
            max_concurrent: 4,
            tick: Duration::from_secs(2),
            lease: Duration::from_secs(600),
            max_failure_backoff: Duration::from_secs(6 * 3600),
            task_retention: Duration::from_secs(7 * 86_400),
            shutdown_grace: Duration::from_secs(30),
            flush_every: Duration::from_millis(500),
            merge_batch: 2_000,
            replica_id: default_replica_id(),
            notifications: None,
        }
    }
}

impl SyncConfig {
    pub fn validate(&self) -> Result<(), SyncError> {
        let positive = [
            ("interval", self.interval),
            ("full_interval", self.full_interval),
            ("tick", self.tick),
            ("lease", self.lease),
            ("max_failure_backoff", self.max_failure_backoff),
            ("flush_every", self.flush_every),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, d)| d.is_zero()) {
            return Err(SyncError::Config(format!("{name} must be positive")));
        }
        if self.max_concurrent == 0 {
            return Err(SyncError::Config("max_concurrent must be at least 1".into()));
        }
        if self.merge_batch < 1 {
            return Err(SyncError::Config("merge_batch must be at least 1".into()));
        }
        if self.replica_id.trim().is_empty() {
            return Err(SyncError::Config("replica_id must not be empty".into()));
        }
        if let Some(notifications) = &self.notifications {
            notifications.validate().map_err(SyncError::Config)?;
        }
        Ok(())
    }
}

/// `<host>-<pid>-<random>`: unique per process, readable in the database.
fn default_replica_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .unwrap_or_else(|| "rosterd".to_string());
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}-{}-{}", std::process::id(), &random[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_zeroes_are_not() {
        assert!(SyncConfig::default().validate().is_ok());
        let zero = SyncConfig {
            interval: Duration::ZERO,
            ..SyncConfig::default()
        };
        assert!(zero.validate().is_err());
        let none = SyncConfig {
            max_concurrent: 0,
            ..SyncConfig::default()
        };
        assert!(none.validate().is_err());
    }

    #[test]
    fn replica_ids_differ() {
        assert_ne!(default_replica_id(), default_replica_id());
    }
}
