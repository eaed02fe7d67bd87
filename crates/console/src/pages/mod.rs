//! The console's pages, one module per area, and the embedded assets.

pub mod admin;
pub mod login;
pub mod services;
pub mod users;

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

const CSS: &str = include_str!("../../assets/console.css");
/// htmx 2 as published in the `htmx.org` npm package (`dist/htmx.min.js`, BSD-2-Clause, see
/// `assets/htmx.LICENSE`).
const HTMX: &str = include_str!("../../assets/htmx.min.js");

/// `/console/assets/{file}`: the stylesheet and htmx, cached for a day.
pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "console.css" => (CSS, "text/css; charset=utf-8"),
        "htmx.min.js" => (HTMX, "text/javascript; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}
