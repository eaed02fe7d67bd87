//! One launched sync of one customer: creating its task, running it in a slot with its lease
//! renewed and its log flushed, and recording its outcome (task, replication state, lease).

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use domain::access::{Authorized, Write};
use domain::{ClientId, CustomerId, UsersRefused};
use graph::GraphError;
use serde_json::json;
use store::{StoreError, TaskRecord, TaskStatus};
use tokio::sync::OwnedSemaphorePermit;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::TASK_KIND;
use crate::context::Context;
use crate::error::SyncError;
use crate::progress::{human, Level, ProgressSink};
use crate::report::SyncReport;
use crate::run::{run, RunInput};
use crate::schedule::{failure_state, interrupted_state, retry_later_state};
use crate::task_log::TaskLog;

/// Who asked for a sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// The scheduler: a quick cycle or the daily reconciliation.
    Scheduled,
    /// `POST /api/v3/customer/{guid}/user/sync`, by this API client.
    Api(Option<ClientId>),
    /// `rosterd sync` on the command line.
    Cli,
    /// A Microsoft Graph change notification (or a `missed` lifecycle event).
    Notification,
    /// "Sync now" in the web console, by this account (its name).
    Console(String),
}

impl Trigger {
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Scheduled => "the scheduler".to_string(),
            Self::Api(Some(client)) => format!("API client {client}"),
            Self::Api(None) => "the API".to_string(),
            Self::Cli => "the command line".to_string(),
            Self::Notification => "a Microsoft Graph change notification".to_string(),
            Self::Console(account) => format!("console account {account}"),
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

/// How a sync ended.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncOutcome {
    pub task_id: String,
    pub status: TaskStatus,
    pub report: Option<SyncReport>,
    /// The safe error text of a failed sync.
    pub error: Option<String>,
}

/// A sync about to run: its lease is taken and its task created.
pub(crate) struct Launch {
    pub(crate) customer: Authorized<CustomerId, Write>,
    pub(crate) owner: String,
    pub(crate) full: bool,
    /// Asked for by a change notification: a delta round keeps the stored Teams data.
    pub(crate) users_only: bool,
    pub(crate) log: Arc<TaskLog>,
}

pub(crate) fn new_task_id() -> String {
    format!("sync_{}", uuid::Uuid::new_v4().simple())
}

/// Creates the task of a leased sync and marks the customer as running here.
pub(crate) async fn record(
    ctx: &Context,
    grant: Authorized<CustomerId, Write>,
    task_id: String,
    owner: String,
    full: bool,
    trigger: Trigger,
    echo: Option<Arc<dyn ProgressSink>>,
) -> Result<Launch, StoreError> {
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
        created_at: ctx.clock.now(),
        completed_at: None,
        cancellation_requested: false,
    };
    let log = TaskLog::create(Arc::clone(&ctx.store), record, echo).await?;
    log.info(format!(
        "sync of customer {customer} started by {} (task {task_id})",
        trigger.describe()
    ));
    ctx.running().insert(customer, task_id);
    Ok(Launch {
        customer: grant,
        owner,
        full,
        users_only: trigger == Trigger::Notification,
        log,
    })
}

/// Checks, leases and records a sync requested by someone.
pub(crate) async fn prepare(
    ctx: &Arc<Context>,
    customer: Authorized<CustomerId, Write>,
    full: bool,
    trigger: Trigger,
    echo: Option<Arc<dyn ProgressSink>>,
) -> Result<Launch, StartError> {
    let inner = ctx;
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
    match record(inner, customer, task_id, owner.clone(), full, trigger, echo).await {
        Ok(launch) => Ok(launch),
        Err(error) => {
            release(inner, &customer, &owner).await;
            Err(error.into())
        }
    }
}

pub(crate) async fn release(inner: &Context, customer: &Authorized<CustomerId, Write>, owner: &str) {
    if let Err(error) = inner.store.release_sync(customer, owner).await {
        tracing::warn!(customer = %**customer, %error, "could not release a sync lease; it expires on its own");
    }
}

/// Forgets the running customer when the execution ends, however it ends (unless a newer sync
/// of the customer has been recorded since the lease was released).
struct RunningGuard<'a> {
    inner: &'a Context,
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
    inner: Arc<Context>,
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
pub(crate) async fn execute(inner: Arc<Context>, launch: Launch, permit: Option<OwnedSemaphorePermit>) -> SyncOutcome {
    let Launch {
        customer: grant,
        owner,
        full,
        users_only,
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
                users_only,
                log: &log,
                cancel: &inner.cancel,
                started,
            };
            let round_started = std::time::Instant::now();
            let result = run(input).await;
            drop(permit);
            if let Some(listener) = inner.after_round.get() {
                listener(&crate::context::RoundEnd {
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
    inner: &Context,
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
    inner: &Context,
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
    let state = match error {
        // Neither is the tenant's fault: no failure is counted, and the customer is due again
        // at once. After a re-pointing, the old tenant's delta link is dropped (the commit may
        // have stored it just before the re-pointing landed), so the next cycle is a full round
        // of the new tenant.
        SyncError::Interrupted | SyncError::ConnectionChanged => {
            log.push(Level::Error, format!("sync {message}; the previous users stay served"));
            let mut state = interrupted_state(&current, started, now);
            if matches!(error, SyncError::ConnectionChanged) {
                state.delta_link = None;
                state.last_full_sync_at = None;
                log.push(
                    Level::Info,
                    "the next sync is a full round of the newly connected tenant and starts at once",
                );
            }
            state
        }
        // Graph asked for a longer pause than --max-retry-after: the round ended without
        // waiting (or burning its retries); the customer comes back after the requested time.
        SyncError::Graph(GraphError::RetryLater { retry_after, .. }) => {
            let state = retry_later_state(&current, message, *retry_after, started, now);
            log.push(
                Level::Warning,
                format!(
                    "{message}; this round ended without changes and the previous users stay served; the next \
                     sync of this customer is at {} (after the {} Graph asked for)",
                    state.next_sync_at.unwrap_or(now).format("%Y-%m-%d %H:%M:%S UTC"),
                    human(*retry_after)
                ),
            );
            state
        }
        _ => {
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
        }
    };
    if let Err(store_error) = inner.store.update_sync_state(grant, &state).await {
        tracing::warn!(%customer, error = %store_error, "could not record a failed sync in the service");
    }
}
