//! The request timeout: a route that has not produced its answer within the configured time is
//! answered `503 request_timeout`, and its work is dropped (nothing half-committed: every write
//! commits in one transaction at its end). Streamed uploads are exempt (bounded by their stall
//! timeout instead); a download, once its head is sent, is bounded by the front door's stall
//! timeout.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use domain::ErrorCode;

use crate::error::ApiError;

/// Middleware: runs the rest of the request under `limit`.
pub async fn enforce(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            ErrorCode::RequestTimeout,
            format!(
                "the request did not complete within {} s; nothing it started was committed",
                limit.as_secs()
            ),
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;

    #[tokio::test(start_paused = true)]
    async fn a_slow_route_is_answered_503_request_timeout() {
        let app = Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(31)).await;
                    "late"
                }),
            )
            .route("/quick", get(|| async { "ok" }))
            .route_layer(axum::middleware::from_fn_with_state(Duration::from_secs(30), enforce));
        let slow = app
            .clone()
            .oneshot(Request::get("/slow").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(slow.status(), 503);
        assert_eq!(slow.headers()["content-type"], "application/problem+json");
        let body = axum::body::to_bytes(slow.into_body(), 1 << 16).await.unwrap();
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["code"], "request_timeout");
        let quick = app
            .oneshot(Request::get("/quick").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(quick.status(), 200);
    }
}
