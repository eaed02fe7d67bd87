//! What the application counts for `/metrics`, as prometheus-client metrics: cache hits and
//! misses (pages, client records, service rows, verified tokens), audit write failures, sync
//! rounds (outcome, duration) and Microsoft Graph responses (status, throttling waits). Only
//! aggregates: no customer ids, tenant ids or personal data in any label.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use graph::{GraphEvent, GraphObserver};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// The caches the read path keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cache {
    Page,
    ClientRecord,
    ServiceRecord,
    VerifiedToken,
    /// Results of a search or filter (per customer, generation and query).
    Search,
}

impl Cache {
    fn label(self) -> &'static str {
        match self {
            Self::Page => "page",
            Self::ClientRecord => "client_record",
            Self::ServiceRecord => "service_record",
            Self::VerifiedToken => "verified_token",
            Self::Search => "search",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CacheLabels {
    cache: &'static str,
    result: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StatusLabels {
    status: u16,
}

/// The application's counters. Cheap to clone: clones count into the same metrics.
#[derive(Clone)]
pub struct Counters {
    cache_requests: Family<CacheLabels, Counter>,
    audit_write_failures: Counter,
    sync_rounds: Family<OutcomeLabels, Counter>,
    sync_round_seconds: Histogram,
    graph_responses: Family<StatusLabels, Counter>,
    graph_throttle_wait_seconds: Counter<f64, AtomicU64>,
    /// Graph notification batches dropped unread: too large, notifications off in this process,
    /// or too many being matched at once.
    notifications_dropped: Counter,
}

impl Default for Counters {
    fn default() -> Self {
        Self {
            cache_requests: Family::default(),
            audit_write_failures: Counter::default(),
            sync_rounds: Family::default(),
            // 50 ms .. ~27 min: a small delta round to a million-user full round.
            sync_round_seconds: Histogram::new(exponential_buckets(0.05, 2.0, 16)),
            graph_responses: Family::default(),
            graph_throttle_wait_seconds: Counter::default(),
            notifications_dropped: Counter::default(),
        }
    }
}

impl Counters {
    /// Counts a lookup in `cache`.
    pub fn cache(&self, cache: Cache, hit: bool) {
        self.cache_requests
            .get_or_create(&CacheLabels {
                cache: cache.label(),
                result: if hit { "hit" } else { "miss" },
            })
            .inc();
    }

    /// Lookups in `cache` so far: (hits, misses).
    pub fn cache_lookups(&self, cache: Cache) -> (u64, u64) {
        let count = |result| {
            self.cache_requests
                .get_or_create(&CacheLabels {
                    cache: cache.label(),
                    result,
                })
                .get()
        };
        (count("hit"), count("miss"))
    }

    pub(crate) fn notification_batch_dropped(&self) {
        self.notifications_dropped.inc();
    }

    /// Notification batches dropped unread so far.
    pub fn notification_batches_dropped(&self) -> u64 {
        self.notifications_dropped.get()
    }

    pub(crate) fn audit_write_failed(&self) {
        self.audit_write_failures.inc();
    }

    /// A sync round of this process ended.
    pub(crate) fn sync_round(&self, succeeded: bool, took: Duration) {
        let outcome = if succeeded { "success" } else { "failure" };
        self.sync_rounds.get_or_create(&OutcomeLabels { outcome }).inc();
        self.sync_round_seconds.observe(took.as_secs_f64());
    }

    /// Adds every metric to `registry` (once per registry).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "rosterd_cache_requests",
            "Lookups in the read path's caches (page, client_record, service_record, verified_token) by result.",
            self.cache_requests.clone(),
        );
        registry.register(
            "rosterd_audit_write_failures",
            "Audit events that could not be recorded (see the log).",
            self.audit_write_failures.clone(),
        );
        registry.register(
            "rosterd_sync_rounds",
            "Sync rounds run by this process, by outcome.",
            self.sync_rounds.clone(),
        );
        registry.register(
            "rosterd_sync_round_duration_seconds",
            "How long the sync rounds of this process took.",
            self.sync_round_seconds.clone(),
        );
        registry.register(
            "rosterd_graph_responses",
            "Microsoft Graph answers to this process's page requests, by HTTP status.",
            self.graph_responses.clone(),
        );
        registry.register(
            "rosterd_graph_throttle_wait_seconds",
            "Time spent waiting because Microsoft Graph throttled (429) or was unavailable (503).",
            self.graph_throttle_wait_seconds.clone(),
        );
    }
}

/// Counts the Graph client's events (every sync's client reports here too).
impl GraphObserver for Counters {
    fn on_event(&self, event: &GraphEvent) {
        match event {
            GraphEvent::Responded { status, .. } => {
                self.graph_responses
                    .get_or_create(&StatusLabels { status: *status })
                    .inc();
            }
            GraphEvent::Throttled { wait, .. } => {
                self.graph_throttle_wait_seconds.inc_by(wait.as_secs_f64());
            }
            _ => {}
        }
    }
}

/// The counters as a Graph observer for the sync engine.
pub(crate) fn graph_observer(counters: &Counters) -> Arc<dyn GraphObserver> {
    Arc::new(counters.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_render_without_customer_data() {
        let counters = Counters::default();
        counters.cache(Cache::Page, true);
        counters.cache(Cache::Page, false);
        counters.cache(Cache::Page, true);
        counters.sync_round(true, Duration::from_millis(120));
        counters.on_event(&GraphEvent::Responded {
            resource: graph::Resource::UsersDelta,
            status: 429,
        });
        assert_eq!(counters.cache_lookups(Cache::Page), (2, 1));
        let mut registry = Registry::default();
        counters.register(&mut registry);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap_or_default();
        assert!(
            text.contains("rosterd_cache_requests_total{cache=\"page\",result=\"hit\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("rosterd_sync_rounds_total{outcome=\"success\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("rosterd_graph_responses_total{status=\"429\"} 1"),
            "{text}"
        );
        assert!(text.contains("rosterd_sync_round_duration_seconds_count 1"), "{text}");
    }
}
