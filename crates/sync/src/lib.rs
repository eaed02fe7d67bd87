//! rosterd's sync engine: keeps the users of every connected customer current from Microsoft
//! Graph — a quick delta cycle per customer, a daily full reconciliation, and syncs on demand —
//! committing each result as one new generation, so readers see the old set or the new one.
//!
//! - [`Engine`] owns the shared handles (store, Graph client, secret key, clock) and starts
//!   syncs: on demand ([`Engine::start`]), in the foreground ([`Engine::run_now`], the CLI) and
//!   from the scheduler loop ([`Engine::spawn_scheduler`]).
//! - The parts share one `context::Context` (handles, settings, slots) and depend on it, not
//!   on each other: `engine` (public API) → `launch` (one sync's execution: task, lease, slot,
//!   outcome) → `run` (the round itself); `scheduler` (the loop) → `launch`.
//! - One sync of one customer lives in `run` (full round, or delta merge into the stored Graph
//!   records), its execution log in `task_log`, scheduling rules in `schedule`.
//! - Time comes from a [`Clock`]; waits between Graph attempts from the Graph client's `Sleeper`.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod clock;
mod config;
mod context;
mod delta_link;
mod engine;
mod error;
mod launch;
mod merge;
mod notifications;
mod pages;
mod progress;
mod report;
mod run;
mod schedule;
mod scheduler;
mod task_log;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{SyncConfig, TASK_KIND};
pub use context::{RoundEnd, RoundListener};
pub use engine::{ConnectionOutcome, Engine};
pub use error::SyncError;
pub use launch::{StartError, SyncOutcome, Trigger};
pub use notifications::{Channel, NotificationConfig, NotificationCounters, NotificationFigures};
pub use progress::{Level, ProgressSink, StderrProgress};
pub use report::{SyncMode, SyncReport, Timings};
