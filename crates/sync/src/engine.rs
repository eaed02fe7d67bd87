//! The engine: shared handles, launching syncs (on demand, from the command line, from the
//! scheduler), their execution with lease renewal and task logging, connection checks and
//! shutdown.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use auth::SecretKey;
use chrono::{DateTime, Utc};
use domain::access::{Authorized, SystemScope, Write};
use domain::{ClientId, CustomerId, UsersRefused};
use graph::{GraphClient, GraphConfig, GraphError, TenantCredentials};
use serde_json::json;
use store::{Store, StoreError, TaskRecord, TaskStatus};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock::Clock;
use crate::config::{SyncConfig, TASK_KIND};
use crate::error::SyncError;
use crate::progress::{human, Level, ProgressSink};
use crate::report::SyncReport;
use crate::run::{run, RunInput};
use crate::schedule::{chrono_duration, failure_state, interrupted_state};
use crate::task_log::TaskLog;

/// Who asked for a sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The scheduler: a quick cycle or the daily reconciliation.
    Scheduled,
    /// `POST /api/v3/customer/{guid}/user/sync`, by this API client.
    Api(Option<ClientId>),
    /// `rosterd sync` on the command line.
    Cli,
}

impl Trigger {
    fn describe(self) -> String {
        match self {
            Self::Scheduled => "the scheduler".to_string(),
            Self::Api(Some(client)) => format!("API client {client}"),
            Self::Api(None) => "the API".to_string(),
            Self::Cli => "the command line".to_string(),
        }
    }
}

/// Why a sync could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Another sync of the customer holds its lease: the id of its task when it runs in this
    /// process, else a description.
    #[error("a sync of this customer is already running ({0})")]
    AlreadyRunning(String),
    #[error("customer {0} does not exist")]
    NotFound(CustomerId),
    /// The service keeps no users, or has no secure connection.
    #[error(transparent)]
    Refused(#[from] UsersRefused),
    #[error("rosterd is shutting down")]
    ShuttingDown,
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// Result of requesting a token with an app registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionOutcome {
    Ok,
    /// Entra refused: its `error` and `error_description`, safe to show.
    Refused(String),
    /// Entra could not be reached or answered nonsense.
    Unreachable(String),
}

/// How a sync ended.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncOutcome {
    pub task_id: String,
    pub status: TaskStatus,
    pub report: Option<SyncReport>,
    /// The safe error text of a failed sync.
    pub error: Option<String>,
}

/// What the engine acts as when it syncs a customer nobody asked for (the scheduler) or reads a
/// customer's state for itself.
pub(crate) const ENGINE: SystemScope = SystemScope::new("sync engine");

pub(crate) struct Inner {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) graph: GraphClient,
    /// For connection checks: few retries, so an operator's PATCH answers quickly.
    checks: GraphClient,
    pub(crate) secrets: Arc<SecretKey>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: SyncConfig,
    pub(crate) slots: Arc<Semaphore>,
    /// Customers with a sync launched by this process, and its task id.
    running: Mutex<HashMap<CustomerId, String>>,
    pub(crate) cancel: CancellationToken,
    pub(crate) tracker: TaskTracker,
    /// Told about every customer whose sync round ended (committed or not), before its task
    /// says so: the application forgets what it remembered of the service.
    after_round: std::sync::OnceLock<RoundListener>,
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

impl Inner {
    fn running(&self) -> MutexGuard<'_, HashMap<CustomerId, String>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lease_until(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + chrono_duration(self.config.lease)
    }
}

/// A sync about to run: its lease is taken and its task created.
pub(crate) struct Launch {
    customer: Authorized<CustomerId, Write>,
    owner: String,
    full: bool,
    log: Arc<TaskLog>,
}

/// The sync engine. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("replica", &self.inner.config.replica_id)
            .field("graph", &self.inner.graph)
            .finish_non_exhaustive()
    }
}

pub(crate) fn new_task_id() -> String {
    format!("sync_{}", uuid::Uuid::new_v4().simple())
}

impl Engine {
    /// An engine syncing into `store` through `graph`; app secrets are opened with `secrets`.
    pub fn new(
        store: Arc<dyn Store>,
        graph: GraphClient,
        secrets: Arc<SecretKey>,
        clock: Arc<dyn Clock>,
        config: SyncConfig,
    ) -> Result<Self, SyncError> {
        config.validate()?;
        let checks = GraphClient::new(GraphConfig {
            max_retries: 1,
            max_invalid_body_retries: 1,
            request_timeout: graph.config().request_timeout.min(Duration::from_secs(20)),
            max_retry_after: graph.config().max_retry_after.min(Duration::from_secs(5)),
            ..graph.config().clone()
        })?;
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                graph,
                checks,
                secrets,
                clock,
                slots: Arc::new(Semaphore::new(config.max_concurrent)),
                config,
                running: Mutex::new(HashMap::new()),
                cancel: CancellationToken::new(),
                tracker: TaskTracker::new(),
                after_round: std::sync::OnceLock::new(),
                graph_observer: std::sync::OnceLock::new(),
            }),
        })
    }

    pub fn config(&self) -> &SyncConfig {
        &self.inner.config
    }

    /// Calls `listener` each time a round ends in this process (after its commit, and before
    /// its task reports the end), so that whoever caches the service row can read it again, and
    /// metrics can count it. Only the first listener set counts.
    pub fn after_each_round(&self, listener: RoundListener) {
        let _ = self.inner.after_round.set(listener);
    }

    /// Also tells `observer` every Graph event of every round (each round's task log hears
    /// them anyway). Only the first observer set counts.
    pub fn observe_graph(&self, observer: Arc<dyn graph::GraphObserver>) {
        let _ = self.inner.graph_observer.set(observer);
    }

    /// Syncs running right now in this process (each holds one of `max_concurrent` slots).
    pub fn syncing(&self) -> usize {
        self.inner.config.max_concurrent - self.inner.slots.available_permits()
    }

    /// The task id of the sync of `customer` launched by this process, if one is under way.
    pub fn running_task(&self, customer: CustomerId) -> Option<String> {
        self.inner.running().get(&customer).cloned()
    }

    /// Starts a sync of `customer` in the background; answers its task id at once. The sync
    /// waits for a free slot when `max_concurrent` syncs are running.
    pub async fn start(
        &self,
        customer: Authorized<CustomerId, Write>,
        full: bool,
        requested_by: Option<ClientId>,
    ) -> Result<String, StartError> {
        let launch = self.prepare(customer, full, Trigger::Api(requested_by), None).await?;
        let task_id = launch.log.id();
        self.inner.tracker.spawn(execute(Arc::clone(&self.inner), launch, None));
        Ok(task_id)
    }

    /// Runs one sync of `customer` in the foreground (`rosterd sync`), echoing progress to
    /// `echo`. The sync is recorded as a task like any other.
    pub async fn run_now(
        &self,
        customer: Authorized<CustomerId, Write>,
        full: bool,
        echo: Option<Arc<dyn ProgressSink>>,
    ) -> Result<SyncOutcome, StartError> {
        let launch = self.prepare(customer, full, Trigger::Cli, echo).await?;
        Ok(execute(Arc::clone(&self.inner), launch, None).await)
    }

    /// Checks, leases and records a sync requested by someone.
    async fn prepare(
        &self,
        customer: Authorized<CustomerId, Write>,
        full: bool,
        trigger: Trigger,
        echo: Option<Arc<dyn ProgressSink>>,
    ) -> Result<Launch, StartError> {
        let inner = &self.inner;
        if inner.cancel.is_cancelled() {
            return Err(StartError::ShuttingDown);
        }
        let service = inner
            .store
            .get_service(&customer.read())
            .await?
            .ok_or(StartError::NotFound(*customer))?;
        service.may_sync_users()?;
        let task_id = new_task_id();
        let owner = format!("{}/{task_id}", inner.config.replica_id);
        let now = inner.clock.now();
        if !inner
            .store
            .lease_sync(&customer, now, &owner, inner.lease_until(now))
            .await?
        {
            let here = inner.running().get(&*customer).cloned();
            return Err(StartError::AlreadyRunning(match here {
                Some(task) => task,
                None => "its lease is held by another rosterd process".to_string(),
            }));
        }
        match self.record(customer, task_id, owner.clone(), full, trigger, echo).await {
            Ok(launch) => Ok(launch),
            Err(error) => {
                release(inner, &customer, &owner).await;
                Err(error.into())
            }
        }
    }

    /// Creates the task of a leased sync and marks the customer as running here.
    pub(crate) async fn record(
        &self,
        grant: Authorized<CustomerId, Write>,
        task_id: String,
        owner: String,
        full: bool,
        trigger: Trigger,
        echo: Option<Arc<dyn ProgressSink>>,
    ) -> Result<Launch, StoreError> {
        let inner = &self.inner;
        let customer = *grant;
        let mut details = vec![
            format!("Synchronize the users of customer {customer} from Microsoft Graph"),
            format!("Requested by {}", trigger.describe()),
        ];
        if full {
            details.push("Full reconciliation requested".to_string());
        }
        let record = TaskRecord {
            id: task_id.clone(),
            customer: Some(customer),
            kind: TASK_KIND.to_string(),
            status: TaskStatus::InProgress,
            details,
            messages: Vec::new(),
            output: json!({}),
            created_at: inner.clock.now(),
            completed_at: None,
            cancellation_requested: false,
        };
        let log = TaskLog::create(Arc::clone(&inner.store), record, echo).await?;
        log.info(format!(
            "sync of customer {customer} started by {} (task {task_id})",
            trigger.describe()
        ));
        inner.running().insert(customer, task_id);
        Ok(Launch {
            customer: grant,
            owner,
            full,
            log,
        })
    }

    /// Requests a token with these credentials now (no cache) to prove they work.
    pub async fn check_connection(
        &self,
        tenant_id: uuid::Uuid,
        client_id: &str,
        client_secret: &str,
    ) -> ConnectionOutcome {
        let tenant = self
            .inner
            .checks
            .tenant(TenantCredentials::new(tenant_id, client_id, client_secret));
        match tenant.validate().await {
            Ok(()) => ConnectionOutcome::Ok,
            Err(GraphError::Token(refusal)) => ConnectionOutcome::Refused(match refusal.error_description {
                Some(description) => format!("{}: {description}", refusal.error),
                None => format!("{} (HTTP {})", refusal.error, refusal.status),
            }),
            Err(other) => ConnectionOutcome::Unreachable(other.to_string()),
        }
    }

    /// Runs the scheduler until [`shutdown`](Self::shutdown).
    pub fn spawn_scheduler(&self) -> JoinHandle<()> {
        self.inner.tracker.spawn(crate::scheduler::run_loop(self.clone()))
    }

    /// Stops the scheduler and asks running syncs to stop at their next safe point (none
    /// commits half a result); waits up to `shutdown_grace` for them. Later starts are refused.
    pub async fn shutdown(&self) {
        let inner = &self.inner;
        inner.cancel.cancel();
        inner.tracker.close();
        if tokio::time::timeout(inner.config.shutdown_grace, inner.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                running = self.syncing(),
                "syncs did not stop within the shutdown grace period; their leases will expire"
            );
        }
    }
}

async fn release(inner: &Inner, customer: &Authorized<CustomerId, Write>, owner: &str) {
    if let Err(error) = inner.store.release_sync(customer, owner).await {
        tracing::warn!(customer = %**customer, %error, "could not release a sync lease; it expires on its own");
    }
}

/// Forgets the running customer when the execution ends, however it ends (unless a newer sync
/// of the customer has been recorded since the lease was released).
struct RunningGuard<'a> {
    inner: &'a Inner,
    customer: CustomerId,
    task_id: String,
}

impl Drop for RunningGuard<'_> {
    fn drop(&mut self) {
        let mut running = self.inner.running();
        if running.get(&self.customer) == Some(&self.task_id) {
            running.remove(&self.customer);
        }
    }
}

/// Writes the task log and renews the lease while a sync runs, until `stop`. A write in
/// progress is finished, never cut off, so no stale progress lands after the final record.
fn heartbeat(
    inner: Arc<Inner>,
    log: Arc<TaskLog>,
    customer: Authorized<CustomerId, Write>,
    owner: String,
    stop: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let renew_every = inner.config.lease / 3;
        let mut renewed = Instant::now();
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(inner.config.flush_every) => {}
            }
            log.flush().await;
            if renewed.elapsed() >= renew_every {
                let now = inner.clock.now();
                match inner
                    .store
                    .lease_sync(&customer, now, &owner, inner.lease_until(now))
                    .await
                {
                    Ok(true) => renewed = Instant::now(),
                    Ok(false) => tracing::warn!(customer = %*customer, "another process took over this sync's lease"),
                    Err(error) => tracing::warn!(customer = %*customer, %error, "could not renew a sync lease"),
                }
            }
        }
    })
}

/// Runs a launched sync to its end: waits for a slot, syncs, records the outcome in the task
/// and the service's replication state, releases the lease.
pub(crate) async fn execute(inner: Arc<Inner>, launch: Launch, permit: Option<OwnedSemaphorePermit>) -> SyncOutcome {
    let Launch {
        customer: grant,
        owner,
        full,
        log,
    } = launch;
    let customer = *grant;
    let _running = RunningGuard {
        inner: &inner,
        customer,
        task_id: log.id(),
    };
    let stop_beat = CancellationToken::new();
    let beat = heartbeat(
        Arc::clone(&inner),
        Arc::clone(&log),
        grant,
        owner.clone(),
        stop_beat.clone(),
    );
    let started = inner.clock.now();
    let result = match acquire(&inner, permit, &log).await {
        Ok(permit) => {
            let input = RunInput {
                inner: &inner,
                customer: &grant,
                full_requested: full,
                log: &log,
                cancel: &inner.cancel,
                started,
            };
            let round_started = std::time::Instant::now();
            let result = run(input).await;
            drop(permit);
            if let Some(listener) = inner.after_round.get() {
                listener(&RoundEnd {
                    customer,
                    succeeded: result.is_ok(),
                    took: round_started.elapsed(),
                });
            }
            result
        }
        Err(error) => Err(error),
    };
    stop_beat.cancel();
    if let Err(error) = beat.await {
        tracing::warn!(%customer, %error, "sync heartbeat ended abnormally");
    }
    let now = inner.clock.now();
    let outcome = match result {
        Ok(report) => {
            tracing::info!(
                %customer,
                mode = ?report.mode,
                total = report.total,
                added = report.added,
                changed = report.changed,
                removed = report.removed,
                "sync completed"
            );
            let output = serde_json::to_value(&report).unwrap_or_else(|_| json!({}));
            log.finish(TaskStatus::CompletedSuccess, output, now).await;
            SyncOutcome {
                task_id: log.id(),
                status: TaskStatus::CompletedSuccess,
                report: Some(report),
                error: None,
            }
        }
        Err(error) => {
            let message = error.safe_message();
            tracing::warn!(%customer, %error, "sync failed; the previous users stay served");
            record_failure(&inner, &grant, &error, &message, &log, started, now).await;
            log.finish(TaskStatus::Failed, json!({ "error": message }), now).await;
            SyncOutcome {
                task_id: log.id(),
                status: TaskStatus::Failed,
                report: None,
                error: Some(message),
            }
        }
    };
    release(&inner, &grant, &owner).await;
    outcome
}

/// The slot the sync runs in: the scheduler's, or one waited for (giving way to shutdown).
async fn acquire(
    inner: &Inner,
    permit: Option<OwnedSemaphorePermit>,
    log: &TaskLog,
) -> Result<OwnedSemaphorePermit, SyncError> {
    if let Some(permit) = permit {
        return Ok(permit);
    }
    if let Ok(permit) = Arc::clone(&inner.slots).try_acquire_owned() {
        return Ok(permit);
    }
    log.info(format!(
        "waiting for a free sync slot ({} syncs already running)",
        inner.config.max_concurrent
    ));
    tokio::select! {
        biased;
        () = inner.cancel.cancelled() => Err(SyncError::Interrupted),
        permit = Arc::clone(&inner.slots).acquire_owned() => {
            permit.map_err(|_| SyncError::Interrupted)
        }
    }
}

/// Records a failure in the task and in the service's replication state (with the backoff),
/// based on the latest stored state.
async fn record_failure(
    inner: &Inner,
    grant: &Authorized<CustomerId, Write>,
    error: &SyncError,
    message: &str,
    log: &TaskLog,
    started: DateTime<Utc>,
    now: DateTime<Utc>,
) {
    let customer = **grant;
    let current = match inner.store.get_service(&grant.read()).await {
        Ok(Some(service)) => service.sync,
        Ok(None) => {
            log.push(Level::Error, format!("sync failed: {message}"));
            return;
        }
        Err(store_error) => {
            tracing::warn!(%customer, error = %store_error, "could not read the service to record a failed sync");
            log.push(
                Level::Error,
                format!("sync failed: {message}; the previous users stay served"),
            );
            return;
        }
    };
    // Neither is the tenant's fault: no failure is counted, and the customer is due again at once
    // (after a re-pointing, for its first full round on the new tenant).
    let state = if matches!(error, SyncError::Interrupted | SyncError::ConnectionChanged) {
        log.push(Level::Error, format!("sync {message}; the previous users stay served"));
        interrupted_state(&current, started, now)
    } else {
        let state = failure_state(&current, message, error.is_credentials(), started, now, &inner.config);
        log.push(
            Level::Error,
            format!("sync failed: {message}; the previous users stay served"),
        );
        if let Some(next) = state.next_sync_at {
            let wait = (next - now).to_std().unwrap_or_default();
            log.push(
                Level::Info,
                format!(
                    "failure {} in a row; the next scheduled attempt is in {}",
                    state.consecutive_failures,
                    human(wait)
                ),
            );
        }
        state
    };
    if let Err(store_error) = inner.store.update_sync_state(grant, &state).await {
        tracing::warn!(%customer, error = %store_error, "could not record a failed sync in the service");
    }
}
