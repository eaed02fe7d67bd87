//! Signing in and out. The sign-in form carries a pre-session CSRF token (double submit: a
//! cookie and a field); failures are throttled per account name and per source address.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::html;
use serde::Deserialize;

use crate::render;
use crate::session::{cookie, same, set_cookie, PeerIp, Signed, LOGIN_COOKIE, SESSION_COOKIE};
use crate::ConsoleState;

/// `/console/`: the services when signed in, else the sign-in page.
pub async fn home(headers: HeaderMap) -> Redirect {
    match cookie(&headers, SESSION_COOKIE) {
        Some(_) => Redirect::to("/console/services"),
        None => Redirect::to("/console/login"),
    }
}

fn login_page(state: &ConsoleState, status: StatusCode, error: Option<&str>, name: &str) -> Response {
    let token = auth::generate_client_secret();
    let body = html! {
        div.login.card {
            h1 { "Sign in to rosterd" }
            @if let Some(error) = error {
                div.flash.bad role="alert" { (error) }
            }
            form.stack method="post" action="/console/login" {
                input type="hidden" name="csrf" value=(token);
                label { "Name" input type="text" name="username" value=(name) autocomplete="username" required autofocus; }
                label { "Password" input type="password" name="password" autocomplete="current-password" required; }
                button type="submit" id="sign-in" { "Sign in" }
            }
            p.muted { "Accounts are created with " code { "rosterd account create" } "." }
        }
    };
    let mut response = (status, render::bare("Sign in", body)).into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie(state, LOGIN_COOKIE, &token, 3600));
    response
}

pub async fn form(State(state): State<ConsoleState>) -> Response {
    login_page(&state, StatusCode::OK, None, "")
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

pub async fn sign_in(
    State(state): State<ConsoleState>,
    PeerIp(ip): PeerIp,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let name = form.username.trim().chars().take(200).collect::<String>();
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !same(&form.csrf, expected) {
        return login_page(
            &state,
            StatusCode::FORBIDDEN,
            Some("The sign-in form expired; try again."),
            &name,
        );
    }
    if let Some(wait) = state.sign_in_throttled(&name, ip) {
        let message = format!("Too many failed sign-ins; try again in {wait} s.");
        let mut response = login_page(&state, StatusCode::TOO_MANY_REQUESTS, Some(&message), &name);
        if let Ok(value) = wait.to_string().parse() {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    match state.app.sign_in(&name, &form.password).await {
        Ok(signed) => {
            let mut response = Redirect::to("/console/services").into_response();
            let lifetime = app::SESSION_LIFETIME.num_seconds();
            let headers = response.headers_mut();
            headers.append(
                header::SET_COOKIE,
                set_cookie(&state, SESSION_COOKIE, &signed.session_id, lifetime),
            );
            headers.append(header::SET_COOKIE, set_cookie(&state, LOGIN_COOKIE, "", 0));
            response
        }
        Err(error) if error.is_internal() => render::error_page(None, &error),
        Err(error) => {
            state.sign_in_failed(&name, ip);
            login_page(&state, StatusCode::UNAUTHORIZED, Some(error.message()), &name)
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

pub async fn sign_out(State(state): State<ConsoleState>, signed: Signed, Form(form): Form<CsrfForm>) -> Response {
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused;
    }
    if let Err(error) = state.app.sign_out(&signed.session_id).await {
        return render::error_page(Some(&signed.session), &error);
    }
    let mut response = Redirect::to("/console/login").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie(&state, SESSION_COOKIE, "", 0));
    response
}
