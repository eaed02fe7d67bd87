//! Microsoft Graph change notifications end to end (issue 9): rosterd served on a real port,
//! the engine subscribing at the fake Graph (which validates both URLs against rosterd), the
//! fake delivering a change notification, and the change served through `GET .../user` — the
//! time from notification to served is measured and printed. A forged notification (wrong
//! clientState, unknown subscription) changes nothing and is only counted; lifecycle events
//! reauthorize, recreate and catch up; re-pointing a service replaces its subscription.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Reply, TestApp};
use domain::CustomerId;
use serde_json::{json, Value};
use sync::{Engine, NotificationConfig, SyncConfig};
use testkit::fake_graph::{Endpoint, FakeGraph, FakeTenant, LifecycleEvent};

both_backends!(
    a_notified_change_is_served_within_a_minute_and_a_forged_one_changes_nothing,
    lifecycle_events_and_re_pointing_keep_one_live_subscription,
);

struct Served {
    app: TestApp,
    fake: FakeGraph,
    engine: Engine,
    public: String,
}

/// rosterd on a loopback port with an engine whose notifications go to that port.
async fn served(app: TestApp) -> Served {
    let fake = FakeGraph::start().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public = format!("http://{}", listener.local_addr().unwrap());
    let graph = graph::GraphClient::with_sleeper(
        graph::GraphConfig {
            max_retries: 2,
            base_backoff: Duration::from_millis(50),
            ..graph::GraphConfig::for_base_url(fake.url())
        },
        Arc::new(graph::RecordingSleeper::new()),
    )
    .unwrap();
    let engine = Engine::new(
        Arc::clone(&app.installation.store),
        graph,
        Arc::clone(&app.installation.secret_key),
        Arc::new(sync::SystemClock),
        SyncConfig {
            flush_every: Duration::from_millis(50),
            notifications: Some(NotificationConfig::new(public.clone())),
            ..SyncConfig::default()
        },
    )
    .unwrap();
    let app = app.with_engine(engine.clone()).await;
    let router = app.router.clone();
    tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .await
            .unwrap();
    });
    Served {
        app,
        fake,
        engine,
        public,
    }
}

async fn patch(app: &TestApp, customer: CustomerId, body: Value) -> Reply {
    app.patch_service(customer, &body).await
}

/// A Hosted Pro service connected to `tenant` through PATCH, synced once.
async fn connected(s: &Served, short: &str, tenant: &FakeTenant) -> CustomerId {
    let customer = s.app.service(short, 2, false, None).await;
    let reply = patch(
        &s.app,
        customer,
        json!({
            "msTenantId": tenant.tenant_id.to_string(),
            "applicationClientId": tenant.client_id,
            "applicationClientSecret": tenant.client_secret,
        }),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.json());
    let outcome = s
        .engine
        .run_now(domain::access::SystemScope::new("test").grant(customer), false, None)
        .await
        .unwrap();
    assert_eq!(
        outcome.status,
        store::TaskStatus::CompletedSuccess,
        "{:?}",
        outcome.error
    );
    customer
}

async fn users_page(app: &TestApp, customer: CustomerId) -> String {
    let reply = app
        .get(&format!("/api/v3/customer/{customer}/user?PageSize=10000"))
        .await;
    assert_eq!(reply.status, 200);
    String::from_utf8(reply.body).unwrap()
}

async fn until<T>(what: &str, limit: Duration, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(Instant::now() < deadline, "{what} did not happen within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn post(url: &str, body: &Value) -> u16 {
    reqwest::Client::new()
        .post(url)
        .json(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn a_notified_change_is_served_within_a_minute_and_a_forged_one_changes_nothing(app: TestApp) {
    let s = served(app).await;
    let tenant = s.fake.add_generated_tenant(71, 300);
    let customer = connected(&s, "notified", &tenant).await;

    // The validation handshake, as Graph sends it.
    let echo = reqwest::Client::new()
        .post(format!(
            "{}/graph/notifications?validationToken=Validation%3A%20Testing%20client%20application",
            s.public
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(echo.status().as_u16(), 200);
    assert!(echo.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert_eq!(echo.text().await.unwrap(), "Validation: Testing client application");

    s.engine.reconcile_subscriptions().await;
    let subscriptions = s.fake.subscriptions(tenant.tenant_id);
    assert_eq!(subscriptions.len(), 1, "one subscription per connected customer");
    let subscription = subscriptions[0].clone();
    assert_eq!(subscription.resource, "users");
    assert_eq!(subscription.change_type, "updated,deleted");
    assert_eq!(
        subscription.notification_url,
        format!("{}/graph/notifications", s.public)
    );
    assert_eq!(
        subscription.lifecycle_url.as_deref(),
        Some(format!("{}/graph/lifecycle", s.public).as_str())
    );
    let client_state = subscription.client_state.clone().unwrap();
    assert_eq!(client_state.len(), 64);
    let days = (subscription.expires_at - chrono::Utc::now()).num_hours();
    assert!((167..=168).contains(&days), "7-day subscriptions: {days} h");
    // Not stored in clear.
    let stored = s
        .app
        .store()
        .subscription_by_id(&subscription.id)
        .await
        .unwrap()
        .unwrap();
    let stored = common::SYSTEM.open(stored);
    assert!(!stored
        .client_state_sealed
        .windows(client_state.len())
        .any(|w| w == client_state.as_bytes()));
    // A second pass changes nothing.
    s.engine.reconcile_subscriptions().await;
    assert_eq!(s.fake.subscriptions(tenant.tenant_id), subscriptions);

    let _loop = s.engine.spawn_notifications(false).unwrap();
    let changed = s.fake.users(tenant.tenant_id).unwrap()[17].id();
    s.fake
        .update_user(tenant.tenant_id, changed, |u| {
            u.user.display_name = Some("Renamed In Entra".into())
        })
        .unwrap();
    let before = users_page(&s.app, customer).await;
    assert!(!before.contains("Renamed In Entra"));

    // A forged notification: the real subscription id with another clientState, and an unknown
    // subscription. Answered 202 like any batch; nothing is synced.
    let forged = json!({"value": [
        {"subscriptionId": subscription.id, "clientState": "0".repeat(64), "changeType": "updated",
         "resource": format!("Users/{changed}"), "tenantId": tenant.tenant_id},
        {"subscriptionId": uuid::Uuid::new_v4(), "clientState": client_state, "changeType": "updated",
         "resource": format!("Users/{changed}"), "tenantId": tenant.tenant_id},
    ]});
    assert_eq!(post(&format!("{}/graph/notifications", s.public), &forged).await, 202);
    assert_eq!(
        post(&format!("{}/graph/notifications", s.public), &json!("garbage")).await,
        202
    );
    until("the forged entries are counted", Duration::from_secs(10), async || {
        (s.engine.notification_figures().unmatched >= 3).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let figures = s.engine.notification_figures();
    assert_eq!((figures.matched, figures.rounds), (0, 0), "{figures:?}");
    assert_eq!(
        users_page(&s.app, customer).await,
        before,
        "a forged notification changes nothing"
    );

    // The real notification, as the fake Graph delivers it: served within a minute.
    s.fake.reset_request_counts();
    let notified = Instant::now();
    let delivered = s.fake.notify_user_changes(tenant.tenant_id, &[changed]).await;
    let answered = notified.elapsed();
    assert_eq!(delivered, vec![Some(202)]);
    assert!(answered < Duration::from_secs(3), "answered in {answered:?}");
    let latency = until("the change is served", Duration::from_secs(60), async || {
        users_page(&s.app, customer)
            .await
            .contains("Renamed In Entra")
            .then(|| notified.elapsed())
    })
    .await;
    println!("freshness: Graph change notification -> served by GET .../user in {latency:?} (notification answered 202 in {answered:?})");
    assert!(latency < Duration::from_secs(60));
    // The notified round read users/delta only: the Teams data keeps its polling cycle.
    assert_eq!(s.fake.requests(Endpoint::UsersDelta), 1);
    assert_eq!(s.fake.requests(Endpoint::UserConfigurations), 0);
    let figures = s.engine.notification_figures();
    assert_eq!((figures.matched, figures.rounds), (1, 1), "{figures:?}");

    // Several notifications within the debounce window make one round.
    for _ in 0..3 {
        s.fake.notify_user_changes(tenant.tenant_id, &[changed]).await;
    }
    until("one debounced round", Duration::from_secs(10), async || {
        (s.engine.notification_figures().rounds == 2).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(s.engine.notification_figures().rounds, 2);

    // The figures are on /metrics, without any notification content.
    let metrics = s.app.get("/metrics").await;
    let text = String::from_utf8(metrics.body).unwrap();
    assert!(
        text.contains("rosterd_graph_notifications_total{result=\"unmatched\"} 3"),
        "{text}"
    );
    assert!(
        text.contains("rosterd_graph_notifications_total{result=\"matched\"} 4"),
        "{text}"
    );
    assert!(!text.contains(&subscription.id));
}

async fn lifecycle_events_and_re_pointing_keep_one_live_subscription(app: TestApp) {
    let s = served(app).await;
    let tenant = s.fake.add_generated_tenant(72, 50);
    let other = s.fake.add_generated_tenant(73, 20);
    let customer = connected(&s, "lifecycle", &tenant).await;
    s.engine.reconcile_subscriptions().await;
    let first = s.fake.subscriptions(tenant.tenant_id)[0].clone();
    let _loop = s.engine.spawn_notifications(false).unwrap();

    assert_eq!(
        s.fake
            .notify_lifecycle(tenant.tenant_id, LifecycleEvent::ReauthorizationRequired)
            .await,
        vec![Some(202)]
    );
    until("reauthorized", Duration::from_secs(10), async || {
        (s.fake.subscriptions(tenant.tenant_id)[0].reauthorizations == 1).then_some(())
    })
    .await;

    s.fake
        .notify_lifecycle(tenant.tenant_id, LifecycleEvent::SubscriptionRemoved)
        .await;
    let recreated = until("recreated", Duration::from_secs(10), async || {
        s.fake.subscriptions(tenant.tenant_id).first().cloned()
    })
    .await;
    assert_ne!(recreated.id, first.id);

    let rounds = s.engine.notification_figures().rounds;
    s.fake.notify_lifecycle(tenant.tenant_id, LifecycleEvent::Missed).await;
    until("a catch-up round", Duration::from_secs(10), async || {
        (s.engine.notification_figures().rounds > rounds).then_some(())
    })
    .await;

    // Subscription work waits for the customer's sync lease: let the catch-up round finish.
    until("the catch-up round ends", Duration::from_secs(30), async || {
        s.engine.running_task(customer).is_none().then_some(())
    })
    .await;

    // Renewal: a subscription close to its expiry is renewed with PATCH, not recreated.
    let stored = common::SYSTEM.open(s.app.store().subscription_by_id(&recreated.id).await.unwrap().unwrap());
    let soon = store::SubscriptionRecord {
        expires_at: chrono::Utc::now() + chrono::Duration::hours(1),
        ..stored
    };
    s.app
        .store()
        .put_subscription(&common::SYSTEM.grant(soon))
        .await
        .unwrap();
    s.engine.reconcile_subscriptions().await;
    let renewed = s.fake.subscriptions(tenant.tenant_id)[0].clone();
    assert_eq!((renewed.id.as_str(), renewed.renewals), (recreated.id.as_str(), 1));
    assert!(renewed.expires_at > chrono::Utc::now() + chrono::Duration::days(6));

    // Re-pointed to another tenant: the old subscription is deleted at Graph, the new tenant
    // gets one.
    let reply = patch(
        &s.app,
        customer,
        json!({
            "msTenantId": other.tenant_id.to_string(),
            "applicationClientId": other.client_id,
            "applicationClientSecret": other.client_secret,
        }),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert!(s.fake.subscriptions(tenant.tenant_id).is_empty(), "deleted at Graph");
    s.engine.reconcile_subscriptions().await;
    assert_eq!(s.fake.subscriptions(other.tenant_id).len(), 1);

    // No longer synced (a license without users): deleted at Graph, and not created again.
    let reply = patch(&s.app, customer, json!({"licenseType": 0})).await;
    assert_eq!(reply.status, 200, "{}", reply.json());
    assert!(s.fake.subscriptions(other.tenant_id).is_empty(), "deleted at Graph");
    s.engine.reconcile_subscriptions().await;
    assert!(s.fake.subscriptions(other.tenant_id).is_empty());
    assert!(s
        .app
        .store()
        .list_subscriptions(&common::SYSTEM)
        .await
        .unwrap()
        .is_empty());
}
