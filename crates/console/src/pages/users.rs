//! A service's users: a page of the 21 Live Platform fields, the most useful columns first and
//! the rest of each user on demand, with a page size choice. Read through the same operation
//! (and page cache) as `GET /api/v3/customer/{guid}/user`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::end_user::FIELD_NAMES;
use domain::{CustomerId, PageRequest};
use maud::html;
use serde::Deserialize;

use crate::render::{self, page, Nav};
use crate::session::Signed;
use crate::ConsoleState;

/// The columns shown first; the other fields of each user are behind a disclosure.
const MAIN_COLUMNS: [(&str, &str); 6] = [
    ("WebName", "Name"),
    ("UserPrincipalName", "User principal name"),
    ("LineURI", "Line URI"),
    ("EnterpriseVoiceEnabled", "Voice"),
    ("OnlineVoiceRoutingPolicy", "Voice routing policy"),
    ("UserType", "User type"),
];
/// Page sizes offered.
const SIZES: [i64; 4] = [10, 25, 50, 100];

#[derive(Deserialize)]
pub struct Paging {
    page: Option<String>,
    size: Option<String>,
}

fn cell(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "—".to_string(),
        serde_json::Value::String(s) if s.is_empty() => "—".to_string(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub async fn page_of_users(state: &ConsoleState, signed: &Signed, id: CustomerId, paging: &Paging) -> Response {
    let request = match PageRequest::parse(paging.page.as_deref(), paging.size.as_deref()) {
        Ok(request) => request,
        Err(error) => {
            return render::message_page(
                Some(&signed.session),
                StatusCode::BAD_REQUEST,
                "Bad page",
                &error.to_string(),
            )
        }
    };
    let principal = &signed.session.principal;
    let service = match state.app.service(principal, id).await {
        Ok(service) => service,
        Err(error) => return render::error_page(Some(&signed.session), &error),
    };
    let body = match state.app.users_page(principal, id, request).await {
        Ok(users) => users.body().await,
        Err(error) => Err(error),
    };
    let (_, body) = match body {
        Ok(body) => body,
        Err(error) => return render::error_page(Some(&signed.session), &error),
    };
    let envelope: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(error) => return render::error_page(Some(&signed.session), &app::AppError::internal(error)),
    };
    let users = envelope["data"].as_array().cloned().unwrap_or_default();
    let total_pages = envelope["totalPages"].as_i64().unwrap_or(0);
    let total = envelope["totalRecords"].as_i64().unwrap_or(0);
    let (number, size) = (request.number(), request.size());
    let link = |n: i64| format!("/console/services/{id}/users?page={n}&size={size}");
    let body = html! {
        p { a href={ "/console/services/" (id) } { "← " (service.short_name) } }
        h1 { "Users of " (service.full_name) }
        form.row method="get" action={ "/console/services/" (id) "/users" } {
            input type="hidden" name="page" value="1";
            label { "Page size" select name="size" {
                @for s in SIZES { option value=(s) selected[s == size] { (s) } }
            } }
            button.secondary type="submit" { "Show" }
        }
        div.pager {
            span id="page-info" { "Page " (number) " of " (total_pages.max(1)) " · " (total) " users" }
            @if number > 1 { a href=(link(number - 1)) rel="prev" id="prev-page" { "← Previous" } }
            @if number < total_pages { a href=(link(number + 1)) rel="next" id="next-page" { "Next →" } }
        }
        div.table-wrap {
            table id="users" {
                thead { tr {
                    @for (_, title) in MAIN_COLUMNS { th { (title) } }
                    th { "All 21 fields" }
                } }
                tbody {
                    @for user in &users {
                        tr {
                            @for (key, _) in MAIN_COLUMNS { td { (cell(&user[key])) } }
                            td { details { summary { "more" }
                                dl.details { @for key in FIELD_NAMES { dt { (key) } dd { (cell(&user[key])) } } }
                            } }
                        }
                    }
                    @if users.is_empty() { tr { td colspan="7" { span.muted { "No users on this page." } } } }
                }
            }
        }
    };
    page(&signed.session, Nav::Services, "Users", body).into_response()
}

pub async fn list(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(raw): Path<String>,
    Query(paging): Query<Paging>,
) -> Response {
    match raw.parse::<CustomerId>() {
        Ok(id) => page_of_users(&state, &signed, id, &paging).await,
        Err(_) => render::message_page(
            Some(&signed.session),
            StatusCode::NOT_FOUND,
            "No such service",
            "This address names no service.",
        ),
    }
}
