//! Scheduling rules: which kind of round a cycle runs, when the next one is due, how far a
//! failing customer backs off, and the replication state written after a sync.

use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::SyncState;
use rand::Rng;

use uuid::Uuid;

use crate::config::SyncConfig;
use crate::delta_link::StoredLink;
use crate::report::SyncMode;

/// The round a sync of `tenant` starts with, and why.
pub(crate) fn choose_mode(
    state: &SyncState,
    tenant: Uuid,
    full_requested: bool,
    now: DateTime<Utc>,
    config: &SyncConfig,
) -> (SyncMode, String) {
    if full_requested {
        return (SyncMode::Full, "a full sync was requested".to_string());
    }
    let Some(text) = state.delta_link.as_deref() else {
        return (SyncMode::Full, "no delta link stored yet".to_string());
    };
    let Some(link) = StoredLink::parse(text) else {
        return (SyncMode::Full, "the stored delta link is unreadable".to_string());
    };
    if let Some(why) = link.unusable_for(tenant) {
        return (SyncMode::Full, why);
    }
    match state.last_full_sync_at {
        None => (SyncMode::Full, "no full reconciliation recorded yet".to_string()),
        Some(last) if now.signed_duration_since(last) >= chrono_duration(config.full_interval) => (
            SyncMode::Full,
            format!(
                "the daily full reconciliation is due (last one {})",
                last.format("%Y-%m-%d %H:%M:%S UTC")
            ),
        ),
        Some(_) => (SyncMode::Delta, "changes since the stored delta link".to_string()),
    }
}

pub(crate) fn chrono_duration(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

/// The next quick cycle after a success: the interval, stretched by up to a tenth so that
/// customers synced together drift apart instead of staying in lockstep.
pub(crate) fn next_after_success(now: DateTime<Utc>, config: &SyncConfig) -> DateTime<Utc> {
    let spread = rand::thread_rng().gen_range(0.0..=0.1);
    now + chrono_duration(config.interval.mul_f64(1.0 + spread))
}

/// Backoff after the `failures`-th failure in a row (≥ 1): the interval doubled per failure,
/// capped at `max_failure_backoff`, drawn from the upper half of that so failing tenants do
/// not retry in lockstep.
pub(crate) fn failure_backoff(failures: i64, config: &SyncConfig) -> Duration {
    let exponent = u32::try_from(failures.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    let ceiling = config
        .interval
        .saturating_mul(1u32 << exponent)
        .min(config.max_failure_backoff);
    let floor = ceiling / 2;
    let nanos = rand::thread_rng().gen_range(floor.as_nanos()..=ceiling.as_nanos());
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// The replication state after a successful sync, based on the latest stored state (so a
/// connection check recorded meanwhile is kept).
pub(crate) fn success_state(
    current: &SyncState,
    delta_link: Option<String>,
    mode: SyncMode,
    started: DateTime<Utc>,
    now: DateTime<Utc>,
    config: &SyncConfig,
    credentials_unchanged: bool,
) -> SyncState {
    let mut state = current.clone();
    state.delta_link = delta_link;
    state.last_attempt_at = Some(started);
    state.last_success_at = Some(now);
    if mode == SyncMode::Full {
        state.last_full_sync_at = Some(started);
    }
    state.last_error = None;
    state.consecutive_failures = 0;
    state.next_sync_at = Some(next_after_success(now, config));
    if credentials_unchanged && state.connection_ok != Some(true) {
        // The sync got a token: the secure connection works.
        state.connection_ok = Some(true);
        state.connection_message = Some("token obtained from the customer's tenant".to_string());
    }
    state
}

/// The replication state after a failed sync: the error, one more failure, and the backoff.
pub(crate) fn failure_state(
    current: &SyncState,
    message: &str,
    credentials_refused: bool,
    started: DateTime<Utc>,
    now: DateTime<Utc>,
    config: &SyncConfig,
) -> SyncState {
    let mut state = current.clone();
    state.last_attempt_at = Some(started);
    state.last_error = Some(message.to_string());
    state.consecutive_failures = current.consecutive_failures.saturating_add(1);
    state.next_sync_at = Some(now + chrono_duration(failure_backoff(state.consecutive_failures, config)));
    if credentials_refused {
        state.connection_ok = Some(false);
        state.connection_message = Some(message.to_string());
    }
    state
}

/// The replication state after Graph asked to wait `retry_after` (longer than the client
/// waits): not a broken tenant, so no failure is counted; the error is shown and the next sync
/// is due only after the requested time (plus up to a tenth, so throttled customers do not all
/// come back at the same instant).
pub(crate) fn retry_later_state(
    current: &SyncState,
    message: &str,
    retry_after: Duration,
    started: DateTime<Utc>,
    now: DateTime<Utc>,
) -> SyncState {
    let mut state = current.clone();
    state.last_attempt_at = Some(started);
    state.last_error = Some(message.to_string());
    let spread = rand::thread_rng().gen_range(0.0..=0.1);
    state.next_sync_at = Some(now + chrono_duration(retry_after.mul_f64(1.0 + spread)));
    state
}

/// The replication state after a sync interrupted by shutdown: not the tenant's fault, so no
/// failure is counted, and it is due again at once.
pub(crate) fn interrupted_state(current: &SyncState, started: DateTime<Utc>, now: DateTime<Utc>) -> SyncState {
    let mut state = current.clone();
    state.last_attempt_at = Some(started);
    state.next_sync_at = Some(now);
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SyncConfig {
        SyncConfig {
            interval: Duration::from_secs(300),
            full_interval: Duration::from_secs(86_400),
            max_failure_backoff: Duration::from_secs(6 * 3600),
            ..SyncConfig::default()
        }
    }

    #[test]
    fn modes() {
        let now = Utc::now();
        let tenant = Uuid::from_u128(1);
        let mut state = SyncState::default();
        assert_eq!(choose_mode(&state, tenant, false, now, &config()).0, SyncMode::Full);
        state.delta_link = Some(StoredLink::current(tenant, "https://graph/delta".into()).to_text());
        assert_eq!(choose_mode(&state, tenant, false, now, &config()).0, SyncMode::Full);
        state.last_full_sync_at = Some(now - chrono::Duration::hours(2));
        assert_eq!(choose_mode(&state, tenant, false, now, &config()).0, SyncMode::Delta);
        assert_eq!(choose_mode(&state, tenant, true, now, &config()).0, SyncMode::Full);
        let (mode, reason) = choose_mode(&state, Uuid::from_u128(2), false, now, &config());
        assert_eq!(mode, SyncMode::Full);
        assert!(reason.contains("another tenant"), "{reason}");
        state.delta_link = Some("https://graph/delta".into());
        let (mode, reason) = choose_mode(&state, tenant, false, now, &config());
        assert_eq!(mode, SyncMode::Full);
        assert!(reason.contains("older $select"), "{reason}");
        state.delta_link = Some(StoredLink::current(tenant, "https://graph/delta".into()).to_text());
        state.last_full_sync_at = Some(now - chrono::Duration::hours(25));
        let (mode, reason) = choose_mode(&state, tenant, false, now, &config());
        assert_eq!(mode, SyncMode::Full);
        assert!(reason.contains("daily full reconciliation"), "{reason}");
    }

    #[test]
    fn backoff_doubles_is_jittered_and_capped() {
        let config = config();
        for _ in 0..50 {
            let first = failure_backoff(1, &config);
            assert!(
                first >= Duration::from_secs(150) && first <= Duration::from_secs(300),
                "{first:?}"
            );
            let third = failure_backoff(3, &config);
            assert!(
                third >= Duration::from_secs(600) && third <= Duration::from_secs(1200),
                "{third:?}"
            );
            let many = failure_backoff(40, &config);
            assert!(many >= Duration::from_secs(3 * 3600) && many <= Duration::from_secs(6 * 3600));
        }
    }

    #[test]
    fn failure_counts_and_success_resets() {
        let config = config();
        let now = Utc::now();
        let failed = failure_state(&SyncState::default(), "boom", true, now, now, &config);
        assert_eq!(failed.consecutive_failures, 1);
        assert_eq!(failed.connection_ok, Some(false));
        assert!(failed.next_sync_at.unwrap() >= now + chrono::Duration::seconds(150));
        let again = failure_state(&failed, "boom", false, now, now, &config);
        assert_eq!(again.consecutive_failures, 2);
        let ok = success_state(&again, Some("link".into()), SyncMode::Delta, now, now, &config, true);
        assert_eq!((ok.consecutive_failures, ok.last_error.clone()), (0, None));
        assert_eq!(ok.connection_ok, Some(true));
        assert_eq!(ok.last_full_sync_at, None);
        let next = ok.next_sync_at.unwrap();
        assert!(next >= now + chrono::Duration::seconds(300) && next <= now + chrono::Duration::seconds(331));
    }
}
