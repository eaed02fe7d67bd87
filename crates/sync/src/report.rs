//! What a finished sync did: the task's `outputData`, the CLI's JSON summary and the benchmark's
//! source of numbers.

use domain::CustomerId;
use serde::Serialize;

/// How the users were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    /// Every user, from a fresh `/users/delta` round.
    Full,
    /// The changes since the stored delta link, merged into the stored Graph records.
    Delta,
}

/// Where the time went, in milliseconds. `fetch*` counts only time spent waiting for Graph
/// (user pages are fetched while the previous page is mapped).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Timings {
    pub fetch_configurations_ms: u64,
    pub fetch_users_ms: u64,
    /// Reading the stored users a delta round is merged into.
    pub read_stored_ms: u64,
    /// Merging, mapping, rendering and spooling users.
    pub map_ms: u64,
    /// Sorting, diffing, writing the new generation and switching to it.
    pub commit_ms: u64,
    pub total_ms: u64,
}

/// The outcome of a successful sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncReport {
    pub customer: CustomerId,
    pub mode: SyncMode,
    /// Why this mode (requested, no delta link yet, reconciliation due, delta link expired...).
    pub reason: String,
    /// Whether the Teams voice data (`/admin/teams/userConfigurations`) was read; false in the
    /// national clouds, which lack that API.
    pub teams_voice: bool,
    pub configurations: u64,
    pub configuration_pages: u64,
    /// Items read from `/users/delta`: every user in a full round, the changes in a delta round.
    pub user_items: u64,
    pub user_pages: u64,
    /// The generation served after the sync.
    pub generation: i64,
    /// False when nothing changed and the served generation was kept.
    pub committed: bool,
    pub total: i64,
    pub added: i64,
    pub changed: i64,
    pub removed: i64,
    pub unchanged: i64,
    pub throttle_waits: u32,
    pub throttled_ms: u64,
    pub retries: u32,
    pub timings: Timings,
}

/// Milliseconds of a duration, saturating.
pub(crate) fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
