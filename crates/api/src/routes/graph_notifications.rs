//! Where Microsoft Graph delivers change notifications and lifecycle events (issue 9):
//! `POST /graph/notifications` and `POST /graph/lifecycle`.
//!
//! Not authenticated by a bearer token — Graph sends none — but by the `clientState` each
//! entry must echo, which the engine compares with the stored (sealed) one of the subscription
//! the entry names. So the answers reveal nothing: a validation request is echoed, any batch is
//! answered 202 at once (matching happens in the background), and unmatched entries are only
//! counted in `/metrics`, never logged with their content.

use app::NotificationChannel as Channel;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::small_body;
use crate::state::AppState;

/// Longest validation token echoed (Graph's are about a hundred characters).
const MAX_VALIDATION_TOKEN: usize = 4096;

/// `?validationToken=...`, decoded, if the request carries one.
fn validation_token(query: Option<&str>) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(name, _)| name == "validationToken")
        .map(|(_, value)| value.into_owned())
}

async fn deliver(state: AppState, channel: Channel, query: Option<String>, body: Body) -> Response {
    if let Some(token) = validation_token(query.as_deref()) {
        if token.len() > MAX_VALIDATION_TOKEN {
            return StatusCode::BAD_REQUEST.into_response();
        }
        let mut response = token.into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        return response;
    }
    let body = small_body::read(body).await.ok();
    state.app.graph_notifications(channel, body.map(|b| b.to_vec()));
    StatusCode::ACCEPTED.into_response()
}

/// Change notifications of the `users` subscriptions.
#[utoipa::path(
    post, path = "/graph/notifications", tag = "Graph notifications",
    summary = "Microsoft Graph change notifications",
    description = "Called by Microsoft Graph, not by clients. With `validationToken`: answers the token \
        as text/plain (the subscription handshake). Otherwise a batch of change notifications (at most \
        256 KiB; larger batches are dropped and counted): answered 202 at once; each entry counts only \
        when its `subscriptionId` and `clientState` match a live subscription, and triggers a debounced \
        delta round of that customer. No bearer token: the clientState authenticates each entry.",
    params(("validationToken" = Option<String>, Query, description = "Graph's validation token, echoed")),
    request_body(content = String, description = "`{\"value\":[...]}` as Graph sends it; empty on a validation request; any body is taken (answered 202)", content_type = "application/json"),
    responses(
        (status = 200, description = "The validation token", content_type = "text/plain", body = String),
        (status = 202, description = "The batch was taken"),
        (status = 400, description = "A validation token over 4096 bytes"),
    )
)]
pub async fn notifications(State(state): State<AppState>, RawQuery(query): RawQuery, body: Body) -> Response {
    deliver(state, Channel::Changes, query, body).await
}

/// Lifecycle events of the `users` subscriptions.
#[utoipa::path(
    post, path = "/graph/lifecycle", tag = "Graph notifications",
    summary = "Microsoft Graph lifecycle notifications",
    description = "Called by Microsoft Graph, not by clients: `reauthorizationRequired`, \
        `subscriptionRemoved` and `missed` events, authenticated like change notifications by their \
        `clientState`. With `validationToken`: answers the token as text/plain.",
    params(("validationToken" = Option<String>, Query, description = "Graph's validation token, echoed")),
    request_body(content = String, description = "`{\"value\":[...]}` as Graph sends it; empty on a validation request; any body is taken (answered 202)", content_type = "application/json"),
    responses(
        (status = 200, description = "The validation token", content_type = "text/plain", body = String),
        (status = 202, description = "The batch was taken"),
        (status = 400, description = "A validation token over 4096 bytes"),
    )
)]
pub async fn lifecycle(State(state): State<AppState>, RawQuery(query): RawQuery, body: Body) -> Response {
    deliver(state, Channel::Lifecycle, query, body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_tokens_are_decoded() {
        assert_eq!(
            validation_token(Some("validationToken=Validation%3A+Testing%20client")).as_deref(),
            Some("Validation: Testing client")
        );
        assert_eq!(validation_token(Some("other=1")), None);
        assert_eq!(validation_token(None), None);
    }
}
