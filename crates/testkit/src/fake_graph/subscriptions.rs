//! The fake's change notifications: `/v1.0/subscriptions` (create with Graph's validation
//! handshake to both URLs, renew, reauthorize, delete) and the test's switches that make
//! "Microsoft" deliver change notifications and lifecycle events to the subscriber.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use super::faults::Endpoint;
use super::routes::{json_reply, lock, log_request, Shared};
use super::state::Reply;

/// Graph's limit for subscriptions on `users`: 41,760 minutes.
const MAX_MINUTES: i64 = 41_760;
/// How long Graph waits for the validation answer.
const VALIDATION_TIMEOUT: Duration = Duration::from_secs(10);

/// A subscription the fake holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeSubscription {
    pub id: String,
    pub tenant: Uuid,
    pub resource: String,
    pub change_type: String,
    pub notification_url: String,
    pub lifecycle_url: Option<String>,
    pub client_state: Option<String>,
    pub expires_at: DateTime<Utc>,
    /// Times renewed (PATCH) and reauthorized.
    pub renewals: u32,
    pub reauthorizations: u32,
}

/// A lifecycle event Graph sends to `lifecycleNotificationUrl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleEvent {
    ReauthorizationRequired,
    SubscriptionRemoved,
    Missed,
}

impl LifecycleEvent {
    fn as_str(self) -> &'static str {
        match self {
            Self::ReauthorizationRequired => "reauthorizationRequired",
            Self::SubscriptionRemoved => "subscriptionRemoved",
            Self::Missed => "missed",
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct SubscriptionBoard {
    pub(crate) by_id: HashMap<String, FakeSubscription>,
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(VALIDATION_TIMEOUT)
        .build()
        .unwrap_or_default()
}

/// Graph's validation: POST `url?validationToken=<token>` with an empty body; the subscriber must
/// answer 200 `text/plain` with the token itself.
async fn validate(url: &str) -> Result<(), String> {
    let token = format!(
        "Validation: Testing client application reachability for subscription Request-Id: {}",
        Uuid::new_v4()
    );
    let mut target = reqwest::Url::parse(url).map_err(|e| format!("invalid notification URL: {e}"))?;
    target.query_pairs_mut().append_pair("validationToken", &token);
    let response = http()
        .post(target)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .send()
        .await
        .map_err(|e| format!("validation request failed: {e}"))?;
    let status = response.status().as_u16();
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    let body = response.text().await.map_err(|e| format!("validation answer: {e}"))?;
    if status == 200 && plain && body == token {
        Ok(())
    } else {
        Err(format!("validation answered HTTP {status} (text/plain: {plain})"))
    }
}

fn subscription_json(subscription: &FakeSubscription) -> Value {
    json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity",
        "id": subscription.id,
        "resource": subscription.resource,
        "applicationId": Uuid::nil(),
        "changeType": subscription.change_type,
        "clientState": subscription.client_state,
        "notificationUrl": subscription.notification_url,
        "lifecycleNotificationUrl": subscription.lifecycle_url,
        "expirationDateTime": subscription.expires_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        "creatorId": Uuid::nil(),
        "latestSupportedTlsVersion": "v1_2",
        "notificationUrlAppId": null,
    })
}

fn bad_request(message: &str) -> Reply {
    Reply::graph_error(400, "InvalidRequest", message)
}

fn expiry_of(body: &Value) -> Result<DateTime<Utc>, Reply> {
    let text = body
        .get("expirationDateTime")
        .and_then(Value::as_str)
        .ok_or_else(|| bad_request("expirationDateTime is required."))?;
    let at = DateTime::parse_from_rfc3339(text)
        .map_err(|_| bad_request("expirationDateTime is invalid."))?
        .with_timezone(&Utc);
    let now = Utc::now();
    if at <= now || at > now + chrono::Duration::minutes(MAX_MINUTES) {
        return Err(bad_request(&format!(
            "Subscription expiration can only be {MAX_MINUTES} minutes in the future."
        )));
    }
    Ok(at)
}

/// The tenant of the bearer token, or Graph's 401.
fn caller(shared: &Shared, headers: &HeaderMap) -> Result<Uuid, Reply> {
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    lock(shared).authenticate(authorization)
}

/// `POST /v1.0/subscriptions`.
pub(crate) async fn create(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let started = Instant::now();
    let fault = lock(&shared).faults.on_request(Endpoint::Subscriptions);
    let tenant = caller(&shared, &headers);
    let reply = match (&fault, &tenant) {
        (Some(_), _) => Reply::graph_error(503, "serviceNotAvailable", "An injected failure."),
        (None, Err(refusal)) => refusal.clone(),
        (None, Ok(tenant)) => create_for(&shared, *tenant, &body).await.unwrap_or_else(|r| r),
    };
    let response = json_reply(&reply);
    log_request(&shared, Endpoint::Subscriptions, tenant.ok(), started, &response);
    response
}

async fn create_for(shared: &Shared, tenant: Uuid, body: &[u8]) -> Result<Reply, Reply> {
    let body: Value = serde_json::from_slice(body).map_err(|_| bad_request("Invalid JSON body."))?;
    let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_string);
    let resource = text("resource").ok_or_else(|| bad_request("resource is required."))?;
    if !resource.eq_ignore_ascii_case("users") {
        return Err(bad_request("Only 'users' is supported by the fake."));
    }
    let change_type = text("changeType").ok_or_else(|| bad_request("changeType is required."))?;
    let notification_url = text("notificationUrl").ok_or_else(|| bad_request("notificationUrl is required."))?;
    let lifecycle_url = text("lifecycleNotificationUrl");
    let client_state = text("clientState");
    if client_state.as_ref().is_some_and(|s| s.chars().count() > 128) {
        return Err(bad_request("clientState must be at most 128 characters."));
    }
    let expires_at = expiry_of(&body)?;
    for url in std::iter::once(&notification_url).chain(lifecycle_url.as_ref()) {
        validate(url).await.map_err(|why| {
            bad_request(&format!(
                "Subscription validation request failed. Notification endpoint must respond with 200 OK to \
                 validation request: {why}"
            ))
        })?;
    }
    let subscription = FakeSubscription {
        id: Uuid::new_v4().to_string(),
        tenant,
        resource,
        change_type,
        notification_url,
        lifecycle_url,
        client_state,
        expires_at,
        renewals: 0,
        reauthorizations: 0,
    };
    let answer = subscription_json(&subscription);
    lock(shared)
        .subscriptions
        .by_id
        .insert(subscription.id.clone(), subscription);
    Ok(Reply {
        status: 201,
        body: answer,
    })
}

fn not_found() -> Reply {
    Reply::graph_error(404, "ResourceNotFound", "The object was not found.")
}

/// The tenant's subscription `id`, or Graph's 404 (also for another tenant's).
fn owned<'a>(
    state: &'a mut super::state::FakeState,
    id: &str,
    tenant: Uuid,
) -> Result<&'a mut FakeSubscription, Reply> {
    state
        .subscriptions
        .by_id
        .get_mut(id)
        .filter(|s| s.tenant == tenant)
        .ok_or_else(not_found)
}

/// `PATCH /v1.0/subscriptions/{id}`: a new expiry.
pub(crate) async fn renew(
    State(shared): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer_for(&shared, &headers, |state, tenant| {
        let body: Value = serde_json::from_slice(&body).map_err(|_| bad_request("Invalid JSON body."))?;
        let expires_at = expiry_of(&body)?;
        let subscription = owned(state, &id, tenant)?;
        subscription.expires_at = expires_at;
        subscription.renewals += 1;
        Ok(Reply::ok_json(subscription_json(subscription)))
    })
}

/// `POST /v1.0/subscriptions/{id}/reauthorize`.
pub(crate) async fn reauthorize(State(shared): State<Shared>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    answer_for(&shared, &headers, |state, tenant| {
        let subscription = owned(state, &id, tenant)?;
        subscription.reauthorizations += 1;
        Ok(Reply {
            status: 204,
            body: Value::Null,
        })
    })
}

/// `DELETE /v1.0/subscriptions/{id}`.
pub(crate) async fn delete(State(shared): State<Shared>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    answer_for(&shared, &headers, |state, tenant| {
        match state.subscriptions.by_id.get(&id) {
            Some(s) if s.tenant == tenant => {
                state.subscriptions.by_id.remove(&id);
                Ok(Reply {
                    status: 204,
                    body: Value::Null,
                })
            }
            _ => Err(not_found()),
        }
    })
}

fn answer_for(
    shared: &Shared,
    headers: &HeaderMap,
    act: impl FnOnce(&mut super::state::FakeState, Uuid) -> Result<Reply, Reply>,
) -> Response {
    let started = Instant::now();
    let tenant = caller(shared, headers);
    let reply = {
        let mut state = lock(shared);
        let fault = state.faults.on_request(Endpoint::Subscriptions);
        match (fault, &tenant) {
            (Some(_), _) => Reply::graph_error(503, "serviceNotAvailable", "An injected failure."),
            (None, Err(refusal)) => refusal.clone(),
            (None, Ok(tenant)) => act(&mut state, *tenant).unwrap_or_else(|r| r),
        }
    };
    let response = json_reply(&reply);
    log_request(shared, Endpoint::Subscriptions, tenant.ok(), started, &response);
    response
}

/// Delivers `body` to `url` as Graph does and answers the status (or `None` when it failed).
async fn deliver(url: &str, body: &Value) -> Option<u16> {
    let response = http().post(url).json(body).send().await.ok()?;
    Some(response.status().as_u16())
}

/// The tenant's subscriptions, for delivering notifications.
pub(crate) fn of_tenant(shared: &Shared, tenant: Uuid) -> Vec<FakeSubscription> {
    let state = lock(shared);
    let mut found: Vec<FakeSubscription> = state
        .subscriptions
        .by_id
        .values()
        .filter(|s| s.tenant == tenant)
        .cloned()
        .collect();
    found.sort_by(|a, b| a.id.cmp(&b.id));
    found
}

/// One change notification batch per subscription of the tenant, naming `users` (changeType
/// `updated`, as Graph reports creation, change and soft deletion of a user). Answers each
/// delivery's HTTP status.
pub(crate) async fn notify_changes(shared: &Shared, tenant: Uuid, users: &[Uuid]) -> Vec<Option<u16>> {
    let mut statuses = Vec::new();
    for subscription in of_tenant(shared, tenant) {
        let value: Vec<Value> = users
            .iter()
            .map(|id| {
                json!({
                    "subscriptionId": subscription.id,
                    "subscriptionExpirationDateTime": subscription.expires_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                    "changeType": "updated",
                    "resource": format!("Users/{id}"),
                    "resourceData": {
                        "@odata.type": "#Microsoft.Graph.User",
                        "@odata.id": format!("Users/{id}"),
                        "id": id,
                        "organizationId": tenant,
                    },
                    "clientState": subscription.client_state,
                    "tenantId": tenant,
                })
            })
            .collect();
        statuses.push(deliver(&subscription.notification_url, &json!({ "value": value })).await);
    }
    statuses
}

/// A lifecycle event to every subscription of the tenant (`subscriptionRemoved` also drops the
/// subscription, as Graph has by then).
pub(crate) async fn notify_lifecycle(shared: &Shared, tenant: Uuid, event: LifecycleEvent) -> Vec<Option<u16>> {
    let mut statuses = Vec::new();
    for subscription in of_tenant(shared, tenant) {
        if event == LifecycleEvent::SubscriptionRemoved {
            lock(shared).subscriptions.by_id.remove(&subscription.id);
        }
        let Some(url) = subscription.lifecycle_url.as_deref() else {
            continue;
        };
        let body = json!({"value": [{
            "subscriptionId": subscription.id,
            "subscriptionExpirationDateTime": subscription.expires_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            "tenantId": tenant,
            "clientState": subscription.client_state,
            "lifecycleEvent": event.as_str(),
        }]});
        statuses.push(deliver(url, &body).await);
    }
    statuses
}
