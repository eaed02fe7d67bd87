//! Syncs from Microsoft Graph through the engine's public API: start one in the background (the
//! API), run one in the foreground (the command line), read a task, check a connection.

use std::sync::Arc;

use domain::access::{Principal, Read, Write};
use domain::{CustomerId, ErrorCode};
use store::TaskRecord;
use sync::{ProgressSink, StartError, SyncOutcome};

use crate::error::{AppError, AppResult};
use crate::App;

fn start_error(error: StartError) -> AppError {
    match error {
        StartError::AlreadyRunning(task) => AppError::new(
            ErrorCode::SyncInProgress,
            format!("a sync of this customer is already running: task {task}"),
        ),
        StartError::Refused(refused) => refused.into(),
        StartError::NotFound(_) => AppError::customer_not_found(),
        StartError::ShuttingDown => AppError::new(ErrorCode::Unavailable, "rosterd is shutting down"),
        StartError::Store(store) => store.into(),
    }
}

/// Who a sync's task says asked for it.
fn trigger_of(principal: &Principal) -> sync::Trigger {
    match principal.account() {
        Some(account) => sync::Trigger::Console(account.name.clone()),
        None => sync::Trigger::Api(principal.client()),
    }
}

impl App {
    fn engine(&self) -> AppResult<&sync::Engine> {
        self.sync
            .as_ref()
            .ok_or_else(|| AppError::new(ErrorCode::Unavailable, "this rosterd process runs no sync engine"))
    }

    /// A batch Microsoft Graph delivered to `/graph/notifications` or `/graph/lifecycle`
    /// (`None`: its body could not be read within the limit). Nobody is authenticated here:
    /// the engine counts an entry only when its `subscriptionId` and `clientState` match a live
    /// subscription. Without notifications in this process the batch is dropped and counted.
    pub fn graph_notifications(&self, channel: sync::Channel, body: Option<Vec<u8>>) {
        let taken = match (&self.sync, body) {
            (Some(engine), Some(body)) => engine.accept_notifications(channel, body),
            _ => false,
        };
        if !taken {
            self.counters.notification_batch_dropped();
        }
    }

    /// What the notification endpoints and the engine counted.
    pub fn notification_figures(&self) -> sync::NotificationFigures {
        self.sync
            .as_ref()
            .map(sync::Engine::notification_figures)
            .unwrap_or_default()
    }

    /// Starts a sync of a customer in the background and answers its task id: the principal may
    /// change the customer, and the service can be synced (`may_sync_users`).
    pub async fn start_sync(&self, principal: &Principal, id: CustomerId, full: bool) -> AppResult<String> {
        let (grant, service) = self.authorize::<Write>(principal, id).await?;
        service.may_sync_users()?;
        let task = self
            .engine()?
            .start_by(grant, full, trigger_of(principal))
            .await
            .map_err(start_error)?;
        self.audit(
            principal,
            "users.sync",
            Some(service.id),
            format!("task {task}, full={full}"),
        )
        .await;
        Ok(task)
    }

    /// Runs one sync of a customer in the foreground, echoing progress to `echo`; recorded as a
    /// task like any other.
    pub async fn run_sync(
        &self,
        principal: &Principal,
        id: CustomerId,
        full: bool,
        echo: Option<Arc<dyn ProgressSink>>,
    ) -> AppResult<SyncOutcome> {
        let (grant, service) = self.authorize::<Write>(principal, id).await?;
        service.may_sync_users()?;
        let outcome = self.engine()?.run_now(grant, full, echo).await.map_err(start_error)?;
        self.audit(
            principal,
            "users.sync",
            Some(service.id),
            format!("task {}, full={full}", outcome.task_id),
        )
        .await;
        Ok(outcome)
    }

    /// A task the principal may see: one of a customer inside its scope, or a provider task for
    /// a provider-scoped Admin. Any other does not exist for it.
    pub async fn task(&self, principal: &Principal, id: &str) -> AppResult<TaskRecord> {
        let not_found = || {
            AppError::new(
                ErrorCode::TaskNotFound,
                format!(
                    "task '{}' does not exist or is not visible to this client",
                    id.chars().take(80).collect::<String>()
                ),
            )
        };
        let sealed = self.store.get_task(id).await?.ok_or_else(not_found)?;
        let grant = match sealed.owner() {
            Some(customer) => Some(
                self.authorize::<Read>(principal, customer)
                    .await
                    .map_err(|_| not_found())?
                    .0,
            ),
            None => None,
        };
        principal.open_owned(sealed, grant.as_ref()).map_err(|_| not_found())
    }
}
