//! Client records and service rows read in the last moment, reused by the read path so that a
//! cached page costs no store round trip at all.
//!
//! The promises this keeps (README, "Freshness"): an entry is used for at most `ttl` (1 s by
//! default) after it was read, so a revocation or a commit made through *another* replica is
//! seen within that time; a write made through *this* process forgets the entry at once, so
//! what this replica acknowledged it serves on the next request. A read that raced with such a
//! write never puts its older copy back (see [`RecentRecords::remember`]). Bounded by entry
//! count; `ttl` zero turns it off.

use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::access::Unchecked;
use domain::{ClientId, CustomerId, Service};
use store::{ApiClientRecord, Store, StoreResult};
use sync::Clock;

use crate::telemetry::{Cache, Counters};

/// A value and when it was read.
#[derive(Clone)]
struct Stamped<T> {
    value: T,
    read_at: DateTime<Utc>,
}

/// One kind of record, by key.
struct Recent<K, V> {
    entries: moka::sync::Cache<K, Stamped<V>>,
    /// Bumped by every forget; a read that started before a forget does not store its copy.
    /// The lock also makes "check the epoch, then insert" one step against "bump, then remove".
    epoch: Mutex<u64>,
}

impl<K, V> Recent<K, V>
where
    K: Hash + Eq + Send + Sync + Copy + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn new(capacity: u64) -> Self {
        Self {
            entries: moka::sync::Cache::new(capacity),
            epoch: Mutex::new(0),
        }
    }

    fn epoch(&self) -> u64 {
        *self.epoch.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn fresh(&self, key: &K, now: DateTime<Utc>, ttl: chrono::Duration) -> Option<V> {
        let entry = self.entries.get(key)?;
        // A clock that went backwards makes the entry stale, never eternal.
        (entry.read_at <= now && now - entry.read_at < ttl).then_some(entry.value)
    }

    /// Keeps `value`, read at `read_at`, unless something was forgotten since `epoch`.
    fn remember(&self, key: K, value: V, read_at: DateTime<Utc>, epoch: u64) {
        let current = self.epoch.lock().unwrap_or_else(PoisonError::into_inner);
        if *current == epoch {
            self.entries.insert(key, Stamped { value, read_at });
        }
    }

    fn forget(&self, key: &K) {
        let mut current = self.epoch.lock().unwrap_or_else(PoisonError::into_inner);
        *current += 1;
        self.entries.invalidate(key);
    }
}

/// The recently read records of one process.
pub(crate) struct RecentRecords {
    ttl: chrono::Duration,
    clock: std::sync::RwLock<Arc<dyn Clock>>,
    clients: Recent<ClientId, Option<ApiClientRecord>>,
    services: Recent<CustomerId, Option<Unchecked<Service>>>,
}

impl RecentRecords {
    /// Reuses what was read for `ttl` (zero: never), keeping at most `capacity` records of each
    /// kind.
    pub(crate) fn new(ttl: Duration, capacity: u64, clock: Arc<dyn Clock>) -> Self {
        Self {
            ttl: chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::zero()),
            clock: std::sync::RwLock::new(clock),
            clients: Recent::new(capacity),
            services: Recent::new(capacity),
        }
    }

    /// Reads time from `clock` from now on (tests move it by hand).
    pub(crate) fn set_clock(&self, clock: Arc<dyn Clock>) {
        *self.clock.write().unwrap_or_else(PoisonError::into_inner) = clock;
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.read().unwrap_or_else(PoisonError::into_inner).now()
    }

    fn enabled(&self) -> bool {
        self.ttl > chrono::Duration::zero()
    }

    /// The client a token names, read within the last `ttl`.
    pub(crate) async fn client(
        &self,
        store: &dyn Store,
        id: ClientId,
        counters: &Counters,
    ) -> StoreResult<Option<ApiClientRecord>> {
        if !self.enabled() {
            return store.get_client(id).await;
        }
        let now = self.now();
        let found = self.clients.fresh(&id, now, self.ttl);
        counters.cache(Cache::ClientRecord, found.is_some());
        if let Some(found) = found {
            return Ok(found);
        }
        let epoch = self.clients.epoch();
        let found = store.get_client(id).await?;
        self.clients.remember(id, found.clone(), now, epoch);
        Ok(found)
    }

    /// A service row, read within the last `ttl`, sealed as the store gives it.
    pub(crate) async fn service(
        &self,
        store: &dyn Store,
        id: CustomerId,
        counters: &Counters,
    ) -> StoreResult<Option<Unchecked<Service>>> {
        if !self.enabled() {
            return store.find_service(id).await;
        }
        let now = self.now();
        let found = self.services.fresh(&id, now, self.ttl);
        counters.cache(Cache::ServiceRecord, found.is_some());
        if let Some(found) = found {
            return Ok(found);
        }
        let epoch = self.services.epoch();
        let found = store.find_service(id).await?;
        self.services.remember(id, found.clone(), now, epoch);
        Ok(found)
    }

    /// A client changed through this process (revoked): its next request reads the store.
    pub(crate) fn forget_client(&self, id: ClientId) {
        self.clients.forget(&id);
    }

    /// A service changed through this process (an import, a sync, a patch): read it again.
    pub(crate) fn forget_service(&self, id: CustomerId) {
        self.services.forget(&id);
    }
}

/// Makes `recent` forget a service each time the engine ends a round of it in this process, so
/// a sync this replica acknowledged is served by it at once.
pub(crate) fn forget_after_rounds(engine: &sync::Engine, recent: &Arc<RecentRecords>, counters: &Counters) {
    // Weak: the engine must not keep an application alive.
    let recent = Arc::downgrade(recent);
    let counters = counters.clone();
    engine.after_each_round(Arc::new(move |round: &sync::RoundEnd| {
        if let Some(recent) = recent.upgrade() {
            recent.forget_service(round.customer);
        }
        counters.sync_round(round.succeeded, round.took);
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap_or_default()
    }

    const TTL: i64 = 1;

    fn recent() -> Recent<u32, &'static str> {
        Recent::new(10)
    }

    #[test]
    fn an_entry_lives_for_the_ttl_only() {
        let r = recent();
        let epoch = r.epoch();
        r.remember(1, "a", at(0), epoch);
        let ttl = chrono::Duration::seconds(TTL);
        assert_eq!(r.fresh(&1, at(0), ttl), Some("a"));
        assert_eq!(r.fresh(&1, at(0) + chrono::Duration::milliseconds(999), ttl), Some("a"));
        assert_eq!(r.fresh(&1, at(1), ttl), None, "1 s after the read it is read again");
        assert_eq!(
            r.fresh(&1, at(-1), ttl),
            None,
            "a clock that went back does not keep it"
        );
    }

    #[test]
    fn a_read_that_raced_a_forget_is_not_kept() {
        let r = recent();
        let epoch = r.epoch();
        // The write lands (and forgets) while the read was under way with the old value.
        r.forget(&1);
        r.remember(1, "old", at(0), epoch);
        assert_eq!(r.fresh(&1, at(0), chrono::Duration::seconds(TTL)), None);
        let epoch = r.epoch();
        r.remember(1, "new", at(0), epoch);
        assert_eq!(r.fresh(&1, at(0), chrono::Duration::seconds(TTL)), Some("new"));
    }

    #[test]
    fn forget_drops_the_entry_at_once() {
        let r = recent();
        let epoch = r.epoch();
        r.remember(1, "a", at(0), epoch);
        r.forget(&1);
        assert_eq!(r.fresh(&1, at(0), chrono::Duration::seconds(TTL)), None);
    }
}
