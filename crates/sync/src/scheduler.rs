//! The scheduler loop: every tick, while slots are free, claim a customer whose sync is due
//! (safe across replicas: the store's claim is atomic and leased) and run its sync; now and then,
//! prune old sync tasks.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::TASK_KIND;
use crate::context::{Context, ENGINE};
use crate::launch::{execute, new_task_id, record, Trigger};
use crate::schedule::chrono_duration;

/// How often finished sync tasks past their retention are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

pub(crate) async fn run_loop(inner: Arc<Context>) {
    tracing::info!(
        replica = %inner.config.replica_id,
        interval_secs = inner.config.interval.as_secs(),
        max_concurrent = inner.config.max_concurrent,
        "sync scheduler started"
    );
    let mut next_prune = Instant::now();
    loop {
        if inner.cancel.is_cancelled() {
            break;
        }
        if Instant::now() >= next_prune {
            next_prune = Instant::now() + PRUNE_EVERY;
            let before = inner.clock.now() - chrono_duration(inner.config.task_retention);
            match inner.store.prune_tasks(TASK_KIND, before).await {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(pruned, "deleted old sync tasks"),
                Err(error) => tracing::warn!(%error, "could not prune old sync tasks"),
            }
        }
        claim_while_free(&inner).await;
        tokio::select! {
            () = inner.cancel.cancelled() => break,
            () = tokio::time::sleep(inner.config.tick) => {}
        }
    }
    tracing::info!("sync scheduler stopped");
}

/// Claims and starts due customers until none is due or every slot is taken.
async fn claim_while_free(inner: &Arc<Context>) {
    while !inner.cancel.is_cancelled() {
        let Ok(permit) = Arc::clone(&inner.slots).try_acquire_owned() else {
            return;
        };
        let task_id = new_task_id();
        let owner = format!("{}/{task_id}", inner.config.replica_id);
        let now = inner.clock.now();
        let lease_until = now + chrono_duration(inner.config.lease);
        // Nobody asked for this sync: the engine acts under its own system scope.
        let customer = match inner.store.claim_due_sync(now, &owner, lease_until).await {
            Ok(Some(customer)) => ENGINE.grant(customer),
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, "could not look for due syncs");
                return;
            }
        };
        match record(inner, customer, task_id, owner.clone(), false, Trigger::Scheduled, None).await {
            Ok(launch) => {
                inner.tracker.spawn(execute(Arc::clone(inner), launch, Some(permit)));
            }
            Err(error) => {
                tracing::warn!(customer = %*customer, %error, "could not record a scheduled sync; retrying next tick");
                if let Err(error) = inner.store.release_sync(&customer, &owner).await {
                    tracing::warn!(customer = %*customer, %error, "could not release a sync lease; it expires on its own");
                }
                return;
            }
        }
    }
}
