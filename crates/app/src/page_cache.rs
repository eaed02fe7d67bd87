//! Rendered pages kept in memory, keyed by (customer, generation, page, size). A generation never
//! changes once committed, so an entry can never be stale: a new import or sync commits a new
//! generation, and requests ask for the generation they just read from the store. Bounded by
//! bytes; the oldest entries leave first.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use bytes::Bytes;
use domain::CustomerId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageKey {
    pub customer: CustomerId,
    pub generation: i64,
    pub number: i64,
    pub size: i64,
}

#[derive(Default)]
struct Entries {
    pages: HashMap<PageKey, Bytes>,
    order: VecDeque<PageKey>,
    bytes: usize,
}

pub struct PageCache {
    max_bytes: usize,
    entries: Mutex<Entries>,
}

impl PageCache {
    /// A cache holding at most `max_bytes` of page bodies; 0 disables it.
    pub fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            entries: Mutex::new(Entries::default()),
        }
    }

    pub fn get(&self, key: &PageKey) -> Option<Bytes> {
        if self.max_bytes == 0 {
            return None;
        }
        self.entries.lock().ok()?.pages.get(key).cloned()
    }

    pub fn put(&self, key: PageKey, body: Bytes) {
        // A page larger than a quarter of the cache would evict too much to be worth keeping.
        if body.len() > self.max_bytes / 4 {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.pages.contains_key(&key) {
            return;
        }
        entries.bytes += body.len();
        entries.pages.insert(key, body);
        entries.order.push_back(key);
        while entries.bytes > self.max_bytes {
            let Some(oldest) = entries.order.pop_front() else { break };
            if let Some(evicted) = entries.pages.remove(&oldest) {
                entries.bytes -= evicted.len();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(generation: i64, number: i64) -> PageKey {
        PageKey {
            customer: CustomerId(uuid::Uuid::nil()),
            generation,
            number,
            size: 10,
        }
    }

    #[test]
    fn evicts_oldest_beyond_the_budget() {
        let cache = PageCache::new(100);
        cache.put(key(1, 1), Bytes::from(vec![0; 20]));
        cache.put(key(1, 2), Bytes::from(vec![0; 20]));
        cache.put(key(1, 3), Bytes::from(vec![0; 20]));
        cache.put(key(1, 4), Bytes::from(vec![0; 20]));
        cache.put(key(1, 5), Bytes::from(vec![0; 25]));
        assert!(cache.get(&key(1, 1)).is_none());
        assert!(cache.get(&key(1, 5)).is_some());
        assert!(cache.get(&key(2, 5)).is_none(), "another generation is another page");
    }

    #[test]
    fn disabled_cache_keeps_nothing() {
        let cache = PageCache::new(0);
        cache.put(key(1, 1), Bytes::from_static(b"x"));
        assert!(cache.get(&key(1, 1)).is_none());
    }
}
