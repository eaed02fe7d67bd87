//! Throttling of failed token requests, per client id and per source address, so a loop
//! guessing secrets costs the guesser: after a burst of failures, the token endpoint answers 429
//! (Entra's `AADSTS50196`) until the burst has drained, without evaluating the request.
//!
//! Each key has a bucket of `burst` failures that refills at `burst` per `window`. Successful
//! requests cost nothing. Both maps are bounded: a flood of made-up client ids cannot grow them
//! without limit (and is throttled by its source address anyway).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Keys tracked per map before refilled buckets are dropped (and, if still full, new keys go
/// untracked: the other map still limits them).
const MAX_TRACKED: usize = 100_000;
/// Longest client id kept as a key (real ones are 36-character GUIDs).
const MAX_KEY_CHARS: usize = 64;

/// How many failures a client id or an address may have in how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureLimit {
    /// Failures allowed in a row before throttling; 0 turns throttling off.
    pub burst: u32,
    /// Time in which a whole burst drains again.
    pub window: Duration,
}

impl Default for FailureLimit {
    fn default() -> Self {
        Self {
            burst: 10,
            window: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Failures still allowed, refilled over time.
    tokens: f64,
    at: Instant,
}

struct Buckets<K> {
    map: Mutex<HashMap<K, Bucket>>,
}

impl<K: Eq + Hash> Buckets<K> {
    fn new() -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
        }
    }

    /// Seconds until `key` may try again, if it is throttled now.
    fn wait(&self, key: &K, limit: FailureLimit, now: Instant) -> Option<u64> {
        let map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        let bucket = map.get(key)?;
        let tokens = refilled(bucket, limit, now);
        (tokens < 1.0).then(|| {
            let per_second = f64::from(limit.burst) / limit.window.as_secs_f64().max(0.001);
            ((1.0 - tokens) / per_second).ceil().max(1.0) as u64
        })
    }

    fn fail(&self, key: K, limit: FailureLimit, now: Instant) {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_TRACKED && !map.contains_key(&key) {
            map.retain(|_, bucket| refilled(bucket, limit, now) < f64::from(limit.burst));
            if map.len() >= MAX_TRACKED {
                return;
            }
        }
        let bucket = map.entry(key).or_insert(Bucket {
            tokens: f64::from(limit.burst),
            at: now,
        });
        bucket.tokens = (refilled(bucket, limit, now) - 1.0).max(0.0);
        bucket.at = now;
    }
}

fn refilled(bucket: &Bucket, limit: FailureLimit, now: Instant) -> f64 {
    let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
    let per_second = f64::from(limit.burst) / limit.window.as_secs_f64().max(0.001);
    (bucket.tokens + elapsed * per_second).min(f64::from(limit.burst))
}

fn client_key(client_id: &str) -> String {
    client_id
        .trim()
        .chars()
        .take(MAX_KEY_CHARS)
        .collect::<String>()
        .to_ascii_lowercase()
}

/// The failure record of the token endpoint.
pub struct TokenFailures {
    limit: FailureLimit,
    clients: Buckets<String>,
    addresses: Buckets<IpAddr>,
}

impl TokenFailures {
    pub fn new(limit: FailureLimit) -> Self {
        Self {
            limit,
            clients: Buckets::new(),
            addresses: Buckets::new(),
        }
    }

    /// `Some(seconds)` when the client id or the address has failed too often lately.
    pub fn throttled(&self, client_id: Option<&str>, address: Option<IpAddr>) -> Option<u64> {
        if self.limit.burst == 0 {
            return None;
        }
        let now = Instant::now();
        let by_client = client_id.and_then(|id| self.clients.wait(&client_key(id), self.limit, now));
        let by_address = address.and_then(|ip| self.addresses.wait(&ip, self.limit, now));
        by_client.max(by_address)
    }

    /// Records a failed request.
    pub fn failed(&self, client_id: Option<&str>, address: Option<IpAddr>) {
        if self.limit.burst == 0 {
            return;
        }
        let now = Instant::now();
        if let Some(id) = client_id.filter(|id| !id.trim().is_empty()) {
            self.clients.fail(client_key(id), self.limit, now);
        }
        if let Some(ip) = address {
            self.addresses.fail(ip, self.limit, now);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_failures_throttles_the_key_until_it_drains() {
        let limit = FailureLimit {
            burst: 3,
            window: Duration::from_secs(30),
        };
        let buckets = Buckets::new();
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(buckets.wait(&"a", limit, start), None);
            buckets.fail("a", limit, start);
        }
        assert_eq!(buckets.wait(&"a", limit, start), Some(10), "one failure drains in 10 s");
        assert_eq!(buckets.wait(&"b", limit, start), None, "other keys are not affected");
        assert_eq!(buckets.wait(&"a", limit, start + Duration::from_secs(10)), None);
    }

    #[test]
    fn off_when_burst_is_zero() {
        let failures = TokenFailures::new(FailureLimit {
            burst: 0,
            window: Duration::from_secs(1),
        });
        for _ in 0..100 {
            failures.failed(Some("x"), None);
        }
        assert_eq!(failures.throttled(Some("x"), None), None);
    }

    #[test]
    fn client_ids_are_compared_without_case() {
        let failures = TokenFailures::new(FailureLimit {
            burst: 1,
            window: Duration::from_secs(60),
        });
        failures.failed(Some("ABC"), None);
        assert!(failures.throttled(Some("abc"), None).is_some());
    }
}
