//! Change-notification subscriptions (`/v1.0/subscriptions`): create, renew, reauthorize and
//! delete, with the same throttling, retries and token refresh as the listings.
//!
//! Creating one makes Graph call the notification URLs with a validation token before it
//! answers, so the caller's HTTP server must already be serving them.

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::header::ACCEPT;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use crate::backoff::retry_after;
use crate::client::{read_body, TenantClient};
use crate::error::{GraphError, Resource};
use crate::retry::{Attempts, Failure};

/// Longest lifetime Graph grants a subscription on `users`: 41,760 minutes (29 days).
pub const USERS_SUBSCRIPTION_MAX_MINUTES: i64 = 41_760;
/// Longest `clientState` Graph accepts.
pub const CLIENT_STATE_MAX_CHARS: usize = 128;

/// What to subscribe to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewSubscription {
    /// `updated,deleted` for users (creation and soft deletion arrive as `updated`).
    pub change_type: String,
    pub notification_url: String,
    pub lifecycle_notification_url: String,
    /// `users`.
    pub resource: String,
    #[serde(serialize_with = "graph_time")]
    pub expiration_date_time: DateTime<Utc>,
    /// Echoed in every notification; at most [`CLIENT_STATE_MAX_CHARS`].
    pub client_state: String,
}

/// A subscription as Graph answers it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub id: String,
    pub expiration_date_time: DateTime<Utc>,
}

fn graph_time<S: serde::Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// Graph subscription ids are GUIDs; anything else never reaches a URL path.
fn checked_id(id: &str) -> Result<&str, GraphError> {
    let valid = !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if valid {
        Ok(id)
    } else {
        Err(GraphError::Config("a subscription id must be a GUID".into()))
    }
}

impl TenantClient {
    /// `POST /v1.0/subscriptions`. Graph validates both notification URLs before answering.
    pub async fn create_subscription(&self, request: &NewSubscription) -> Result<Subscription, GraphError> {
        let body = serde_json::to_value(request).map_err(|e| GraphError::Config(format!("subscription: {e}")))?;
        let url = self.graph_url("/v1.0/subscriptions")?;
        let answer = self
            .send_json(Resource::Subscriptions, Method::POST, url, Some(body))
            .await?;
        parse_subscription(&answer)
    }

    /// `PATCH /v1.0/subscriptions/{id}` with a new expiry.
    pub async fn renew_subscription(&self, id: &str, expires_at: DateTime<Utc>) -> Result<Subscription, GraphError> {
        let url = self.graph_url(&format!("/v1.0/subscriptions/{}", checked_id(id)?))?;
        let body = serde_json::json!({
            "expirationDateTime": expires_at.to_rfc3339_opts(SecondsFormat::Millis, true)
        });
        let answer = self
            .send_json(Resource::Subscriptions, Method::PATCH, url, Some(body))
            .await?;
        parse_subscription(&answer)
    }

    /// `POST /v1.0/subscriptions/{id}/reauthorize` (after `reauthorizationRequired`).
    pub async fn reauthorize_subscription(&self, id: &str) -> Result<(), GraphError> {
        let url = self.graph_url(&format!("/v1.0/subscriptions/{}/reauthorize", checked_id(id)?))?;
        self.send_json(Resource::Subscriptions, Method::POST, url, None)
            .await
            .map(|_| ())
    }

    /// `DELETE /v1.0/subscriptions/{id}`; a subscription Graph no longer has counts as deleted.
    pub async fn delete_subscription(&self, id: &str) -> Result<(), GraphError> {
        let url = self.graph_url(&format!("/v1.0/subscriptions/{}", checked_id(id)?))?;
        match self.send_json(Resource::Subscriptions, Method::DELETE, url, None).await {
            Ok(_) | Err(GraphError::Api { status: 404, .. }) => Ok(()),
            Err(other) => Err(other),
        }
    }

    /// One request for a single JSON object (subscriptions, one user's Teams configuration),
    /// with retries for throttling and transient failures and one token refresh on 401.
    /// Answers the body of a 2xx.
    pub(crate) async fn send_json(
        &self,
        resource: Resource,
        method: Method,
        url: Url,
        body: Option<Value>,
    ) -> Result<Vec<u8>, GraphError> {
        let inner = self.inner();
        let mut attempts = Attempts::new(&inner.config, inner.sleeper.as_ref(), self.observer(), resource);
        let mut token_refreshed = false;
        loop {
            attempts.start();
            let token = inner.token(self.credentials(), self.observer(), false).await?;
            let mut request = inner
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(token.expose())
                .header(ACCEPT, "application/json")
                .timeout(inner.config.request_timeout);
            if let Some(body) = &body {
                request = request.json(body);
            }
            if resource == Resource::UserConfigurations {
                request = request.header("Prefer", "include-unknown-enum-members");
            }
            let failure = match request.send().await {
                Err(error) => Failure::from_reqwest(error),
                Ok(response) => {
                    let status = response.status().as_u16();
                    let asked = retry_after(response.headers());
                    match read_body(response).await {
                        Err(failure) => failure,
                        Ok(bytes) if (200..300).contains(&status) => return Ok(bytes),
                        Ok(_) if status == 429 || status == 503 => Failure::Throttled {
                            status,
                            retry_after: asked,
                        },
                        Ok(_) if matches!(status, 500 | 502 | 504) => Failure::Server(status),
                        Ok(bytes) => {
                            let error = crate::client::api_error(resource, status, &bytes);
                            if status == 401 && !token_refreshed {
                                token_refreshed = true;
                                self.drop_refused_token(&token, resource, &attempts).await;
                                continue;
                            }
                            return Err(error);
                        }
                    }
                }
            };
            attempts.after_failure(failure).await?;
        }
    }
}

fn parse_subscription(body: &[u8]) -> Result<Subscription, GraphError> {
    serde_json::from_slice(body).map_err(|e| GraphError::InvalidJson {
        resource: Resource::Subscriptions,
        message: e.to_string(),
        attempts: 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_shaped_as_graph_documents_them() {
        let at = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let request = NewSubscription {
            change_type: "updated,deleted".into(),
            notification_url: "https://rosterd.example.net/graph/notifications".into(),
            lifecycle_notification_url: "https://rosterd.example.net/graph/lifecycle".into(),
            resource: "users".into(),
            expiration_date_time: at,
            client_state: "s".into(),
        };
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            serde_json::json!({
                "changeType": "updated,deleted",
                "notificationUrl": "https://rosterd.example.net/graph/notifications",
                "lifecycleNotificationUrl": "https://rosterd.example.net/graph/lifecycle",
                "resource": "users",
                "expirationDateTime": "2026-12-01T10:00:00.000Z",
                "clientState": "s",
            })
        );
        let answer = br#"{"id":"7f105c7d-2dc5-4530-97cd-4e7ae6534c07","resource":"users","expirationDateTime":"2026-12-01T10:00:00Z","clientState":"s"}"#;
        assert_eq!(
            parse_subscription(answer).unwrap().id,
            "7f105c7d-2dc5-4530-97cd-4e7ae6534c07"
        );
        assert!(checked_id("../users").is_err());
        assert!(checked_id("7f105c7d-2dc5-4530-97cd-4e7ae6534c07").is_ok());
    }
}
