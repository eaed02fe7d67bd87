//! Sessions on the wire: the cookie (`HttpOnly`, `SameSite=Strict`, `Path=/console`, `Secure`
//! behind https), the extractor that turns it into the signed-in account's session (or sends the
//! browser to the sign-in page), CSRF checks of state-changing forms, and the source address
//! sign-in failures are throttled by.

use std::net::{IpAddr, SocketAddr};

use app::ConsoleSession;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use crate::render;
use crate::ConsoleState;

pub const SESSION_COOKIE: &str = "rosterd_session";
/// The pre-session CSRF token of the sign-in form (double submit).
pub const LOGIN_COOKIE: &str = "rosterd_login";

/// The value of cookie `name`, if the request carries it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A `Set-Cookie` value for the console's path; `max_age` 0 deletes it.
pub fn set_cookie(state: &ConsoleState, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.config.secure_cookies { "; Secure" } else { "" };
    let text = format!("{name}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("rosterd_session=; Max-Age=0"))
}

/// The signed-in account's live session, with the session id it came from.
pub struct Signed {
    pub session: ConsoleSession,
    pub session_id: String,
}

impl FromRequestParts<ConsoleState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &ConsoleState) -> Result<Self, Self::Rejection> {
        let to_login = || Redirect::to("/console/login").into_response();
        let Some(session_id) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login());
        };
        match state.app.console_session(session_id).await {
            Ok(session) => Ok(Signed {
                session,
                session_id: session_id.to_string(),
            }),
            Err(error) if error.is_internal() => Err(render::error_page(None, &error)),
            Err(_) => {
                let mut response = to_login();
                response
                    .headers_mut()
                    .append(header::SET_COOKIE, set_cookie(state, SESSION_COOKIE, "", 0));
                Err(response)
            }
        }
    }
}

impl Signed {
    /// Refuses a state-changing form whose CSRF token is not this session's.
    pub fn check_csrf(&self, token: &str) -> Result<(), Response> {
        if same(token, &self.session.csrf_token) {
            Ok(())
        } else {
            Err(render::message_page(
                Some(&self.session),
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form does not belong to your current session (it was opened before you signed in again, or came from another site). Reload the page and try again.",
            ))
        }
    }
}

/// Constant-time comparison of two tokens.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The source address of the request, when the server recorded it.
pub struct PeerIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for PeerIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let address = ConnectInfo::<SocketAddr>::from_request_parts(parts, state).await.ok();
        Ok(Self(address.map(|ConnectInfo(address)| address.ip())))
    }
}

impl ConsoleState {
    /// Seconds until a sign-in for `name` from `ip` may be tried again, if throttled now.
    pub(crate) fn sign_in_throttled(&self, name: &str, ip: Option<IpAddr>) -> Option<u64> {
        self.failures.throttled(Some(name), ip)
    }

    pub(crate) fn sign_in_failed(&self, name: &str, ip: Option<IpAddr>) {
        self.failures.failed(Some(name), ip);
    }
}
