//! The page frame (navigation, the signed-in account, sign-out), error pages, and small
//! formatting helpers shared by the pages.

use app::{AppError, ConsoleSession};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use domain::Role;
use maud::{html, Markup, DOCTYPE};

/// Which navigation entry a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Services,
    Clients,
    Accounts,
    None,
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            // htmx would otherwise add an inline style element, which the CSP refuses.
            meta name="htmx-config" content=(r#"{"includeIndicatorStyles":false}"#);
            title { (title) " · rosterd" }
            link rel="stylesheet" href="/console/assets/console.css";
            script src="/console/assets/htmx.min.js" defer {}
        }
    }
}

/// A page for a signed-in account.
pub fn page(session: &ConsoleSession, nav: Nav, title: &str, body: Markup) -> Markup {
    let current = |n: Nav| if n == nav { Some("page") } else { None };
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header.top {
                    a.brand href="/console/services" { "rosterd" }
                    nav {
                        a href="/console/services" aria-current=[current(Nav::Services)] { "Services" }
                        @if session.role == Role::Admin {
                            a href="/console/clients" aria-current=[current(Nav::Clients)] { "API clients" }
                            a href="/console/accounts" aria-current=[current(Nav::Accounts)] { "Accounts" }
                        }
                    }
                    div.who {
                        span { (session.name) " · " (session.role) }
                        form.inline method="post" action="/console/logout" {
                            input type="hidden" name="csrf" value=(session.csrf_token);
                            button type="submit" id="sign-out" { "Sign out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// A page without a session (sign-in).
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body { main { (body) } }
        }
    }
}

/// A page with a status and a short explanation.
pub fn message_page(session: Option<&ConsoleSession>, status: StatusCode, title: &str, message: &str) -> Response {
    let body = html! {
        h1 { (title) }
        div.flash.bad { (message) }
        p { a href="/console/services" { "Back to the services" } }
    };
    let markup = match session {
        Some(session) => page(session, Nav::None, title, body),
        None => bare(title, body),
    };
    (status, markup).into_response()
}

/// An operation's refusal or failure as a page, with the API's status for its code. Internal
/// errors say nothing about their cause (it is logged).
pub fn error_page(session: Option<&ConsoleSession>, error: &AppError) -> Response {
    let status = api::status_of(error.code());
    if error.is_internal() {
        tracing::error!(error = %error.message(), "console operation failed");
        return message_page(
            session,
            status,
            "Something went wrong",
            "The server could not complete this request; it has been logged.",
        );
    }
    message_page(
        session,
        status,
        status.canonical_reason().unwrap_or("Refused"),
        error.message(),
    )
}

/// A time, or a dash.
pub fn when(at: Option<DateTime<Utc>>) -> String {
    at.map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "—".to_string())
}

/// An optional text, or a dash.
pub fn or_dash(value: Option<&str>) -> &str {
    value.filter(|v| !v.is_empty()).unwrap_or("—")
}
