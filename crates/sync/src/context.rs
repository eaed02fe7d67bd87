//! The shared context of the engine's parts: the handles (store, Graph clients, secret key,
//! clock), the settings, the slots and the record of running syncs. `engine` (the public API),
//! `launch` (one sync's execution), `scheduler` (the loop) and `run` (one round) all take it,
//! so none of them depends on another to reach the shared state.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use auth::SecretKey;
use chrono::{DateTime, Utc};
use domain::access::SystemScope;
use domain::{CustomerId, Service, UsersRefused};
use graph::{GraphClient, TenantCredentials};
use std::sync::Arc;
use store::Store;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock::Clock;
use crate::config::SyncConfig;
use crate::error::SyncError;
use crate::notifications::Notifications;
use crate::schedule::chrono_duration;

/// What the engine acts as when it syncs a customer nobody asked for (the scheduler) or reads a
/// customer's state for itself.
pub(crate) const ENGINE: SystemScope = SystemScope::new("sync engine");

pub(crate) struct Context {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) graph: GraphClient,
    /// For connection checks: few retries, so an operator's PATCH answers quickly.
    pub(crate) checks: GraphClient,
    pub(crate) secrets: Arc<SecretKey>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: SyncConfig,
    pub(crate) slots: Arc<Semaphore>,
    /// Customers with a sync launched by this process, and its task id.
    pub(crate) running: Mutex<HashMap<CustomerId, String>>,
    pub(crate) cancel: CancellationToken,
    pub(crate) tracker: TaskTracker,
    /// Change notifications, when they are on (`--graph-notifications`).
    pub(crate) notifications: Option<Arc<Notifications>>,
    /// Told about every round that ends in this process (after its commit, before its task
    /// says so): the application forgets what it remembered of the service, metrics count it.
    pub(crate) after_round: std::sync::OnceLock<RoundListener>,
    /// Told about every Graph event of every round, besides the round's task log (metrics).
    pub(crate) graph_observer: std::sync::OnceLock<Arc<dyn graph::GraphObserver>>,
}

/// Told about every round that ends in this process.
pub type RoundListener = Arc<dyn Fn(&RoundEnd) + Send + Sync>;

/// A sync round that ended in this process.
#[derive(Debug, Clone, Copy)]
pub struct RoundEnd {
    pub customer: CustomerId,
    /// Whether the round did its work (committed, or found nothing to change).
    pub succeeded: bool,
    pub took: std::time::Duration,
}

impl Context {
    pub(crate) fn running(&self) -> MutexGuard<'_, HashMap<CustomerId, String>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn lease_until(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + chrono_duration(self.config.lease)
    }

    /// The service's secure connection, with the app secret opened.
    pub(crate) fn credentials_of(&self, service: &Service) -> Result<TenantCredentials, SyncError> {
        service.may_sync_users()?;
        let (Some(tenant_id), Some(client_id), Some(sealed)) = (
            service.tenant_id,
            service.app_client_id.as_deref().filter(|c| !c.trim().is_empty()),
            service.app_client_secret_sealed.as_deref(),
        ) else {
            return Err(UsersRefused::NotConnected.into());
        };
        let secret = self.secrets.open(sealed).map_err(|_| SyncError::Secret)?;
        let secret = String::from_utf8(secret).map_err(|_| SyncError::Secret)?;
        Ok(TenantCredentials::new(tenant_id, client_id, secret))
    }
}
