//! `/metrics` through prometheus-client: request latency by route template, method and status
//! class (and responses by class), the application's counters (caches, audit, syncs, Graph),
//! open connections and the installation-wide gauges. Only aggregates: route *templates*, never
//! a customer id or personal data.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::state::AppState;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    /// The route template (`/api/v3/customer/{customer_guid}/user`), or `unmatched`.
    route: String,
    method: String,
    class: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ClassLabels {
    class: &'static str,
}

/// Counters kept elsewhere (the engine's notification figures), copied in at each scrape and
/// encoded as they are.
#[derive(Debug, Default, Clone)]
struct Snapshot(Arc<std::sync::Mutex<(app::NotificationFigures, u64)>>);

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let (figures, dropped) = *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut family = encoder.encode_descriptor(
            "rosterd_graph_notifications",
            "Microsoft Graph notification entries by result: matched (a live subscription and its clientState), unmatched (dropped), lifecycle events, and batches dropped unread.",
            None,
            MetricType::Counter,
        )?;
        for (result, value) in [
            ("matched", figures.matched),
            ("unmatched", figures.unmatched),
            ("lifecycle", figures.lifecycle),
            ("batch_dropped", figures.dropped_busy + dropped),
        ] {
            ConstCounter::new(value).encode(family.encode_family(&[("result", result)])?)?;
        }
        let rounds = encoder.encode_descriptor(
            "rosterd_graph_notification_rounds",
            "Delta rounds started because of Microsoft Graph notifications.",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(figures.rounds).encode(rounds)?;
        let mut family = encoder.encode_descriptor(
            "rosterd_graph_subscriptions",
            "Microsoft Graph subscriptions created, renewed and deleted by this process.",
            None,
            MetricType::Counter,
        )?;
        for (action, value) in [
            ("created", figures.created),
            ("renewed", figures.renewed),
            ("deleted", figures.deleted),
        ] {
            ConstCounter::new(value).encode(family.encode_family(&[("action", action)])?)?;
        }
        Ok(())
    }
}

/// The registry of one HTTP state and the metrics counted at the edge.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Histogram, fn() -> Histogram>,
    responses: Family<ClassLabels, Counter>,
    open_connections: Gauge,
    services: Gauge,
    connected: Gauge,
    failing: Gauge,
    users: Gauge,
    up: Gauge,
    notifications: Snapshot,
}

fn latency_histogram() -> Histogram {
    // 0.1 ms .. ~6.5 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 17))
}

const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

impl Metrics {
    /// Registers the edge's metrics and `app`'s counters.
    pub fn new(app: &app::Counters) -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let responses = Family::<ClassLabels, Counter>::default();
        registry.register(
            "rosterd_http_request_duration_seconds",
            "Time to the response head, by route template, method and status class.",
            requests.clone(),
        );
        registry.register(
            "rosterd_http_responses",
            "HTTP responses by status class.",
            responses.clone(),
        );
        app.register(&mut registry);
        let gauge = |registry: &mut Registry, name: &str, help: &str| {
            let gauge = Gauge::default();
            registry.register(name, help, gauge.clone());
            gauge
        };
        let open_connections = gauge(
            &mut registry,
            "rosterd_open_connections",
            "Connections open now on the main listener.",
        );
        let services = gauge(
            &mut registry,
            "rosterd_services",
            "Services (customers) in this installation.",
        );
        let connected = gauge(
            &mut registry,
            "rosterd_services_connected",
            "Services with a secure connection to their tenant.",
        );
        let failing = gauge(
            &mut registry,
            "rosterd_services_sync_failing",
            "Services whose last sync failed.",
        );
        let users = gauge(
            &mut registry,
            "rosterd_users_served",
            "Users served across all services.",
        );
        let up = gauge(&mut registry, "rosterd_up", "Whether the database answered.");
        let notifications = Snapshot::default();
        registry.register_collector(Box::new(notifications.clone()));
        // Every class is listed from the start, so rates work from the first scrape.
        for class in CLASSES {
            responses.get_or_create(&ClassLabels { class }).inc_by(0);
        }
        Self {
            registry,
            requests,
            responses,
            open_connections,
            services,
            connected,
            failing,
            users,
            up,
            notifications,
        }
    }

    fn observe(&self, route: String, method: String, status: u16, started: Instant) {
        let class = CLASSES[usize::from((status / 100).clamp(1, 5)) - 1];
        self.responses.get_or_create(&ClassLabels { class }).inc();
        self.requests
            .get_or_create(&RequestLabels { route, method, class })
            .observe(started.elapsed().as_secs_f64());
    }
}

/// Middleware: times every response (to its head) by route template, method and class.
pub async fn count(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |path| path.as_str().to_string());
    let method = request.method().as_str().to_string();
    let response = next.run(request).await;
    state
        .metrics
        .observe(route, method, response.status().as_u16(), started);
    response
}

/// The whole exposition (OpenMetrics text), with the gauges read now (or `rosterd_up 0` when
/// the store is down).
pub async fn render(state: &AppState) -> String {
    let metrics: &Arc<Metrics> = &state.metrics;
    if let Some(connections) = &state.connections {
        metrics
            .open_connections
            .set(i64::try_from(connections.counts().open).unwrap_or(i64::MAX));
    }
    *metrics
        .notifications
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = (
        state.app.notification_figures(),
        state.app.counters().notification_batches_dropped(),
    );
    match state.app.fleet().await {
        Ok(fleet) => {
            metrics.services.set(fleet.services);
            metrics.connected.set(fleet.connected);
            metrics.failing.set(fleet.failing);
            metrics.users.set(fleet.users);
            metrics.up.set(1);
        }
        Err(error) => {
            tracing::warn!(%error, "metrics: store unavailable");
            metrics.up.set(0);
        }
    }
    let mut out = String::new();
    if let Err(error) = prometheus_client::encoding::text::encode(&mut out, &metrics.registry) {
        tracing::warn!(%error, "metrics: encoding failed");
    }
    out
}
