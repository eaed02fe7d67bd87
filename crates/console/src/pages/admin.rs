//! Administration (Admins): API clients (create with the secret shown once, list, revoke) and
//! console accounts (create, list, disable), under the application layer's rule that nobody
//! gives what they do not have.

use app::{AccountView, ClientView, Created, NewAccount, NewClient};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use domain::{ClientId, CustomerId, Role, Scope};
use maud::{html, Markup};
use serde::Deserialize;

use crate::render::{self, page, when, Nav};
use crate::session::Signed;
use crate::ConsoleState;

/// A name as one URL path segment (names may hold spaces, `?`, `#`, `%`).
fn path_segment(name: &str) -> String {
    url::form_urlencoded::byte_serialize(name.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// A one-button form that posts to `action` with the session's CSRF token.
fn danger_button(action: &str, csrf: &str, label: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf);
            button.danger type="submit" { (label) }
        }
    }
}

fn scope_text(scope: &Scope) -> String {
    match scope {
        Scope::Provider => "provider".to_string(),
        Scope::Channel { channel_id } => format!("channel {channel_id}"),
        Scope::Customers { customers } => format!(
            "customers {}",
            customers.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Role, channel and customers fields of a create form.
fn scope_fields() -> Markup {
    html! {
        label { "Role" select name="role" {
            @for role in Role::ALL { option value=(role) { (role) } }
        } }
        label { "Channel (optional)" input type="number" name="channel" min="0"; }
        label { "Customers (optional, GUIDs separated by spaces or commas; win over the channel)" input type="text" name="customers"; }
    }
}

#[derive(Deserialize)]
pub struct HolderForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    customers: String,
    #[serde(default)]
    password: String,
}

impl HolderForm {
    /// The role and scope a create form asks for, once its CSRF token checks out; the refusal
    /// page otherwise.
    fn checked(&self, signed: &Signed) -> Result<(Role, Scope), Response> {
        signed.check_csrf(&self.csrf)?;
        self.role_and_scope().map_err(|message| {
            render::message_page(Some(&signed.session), StatusCode::BAD_REQUEST, "Bad request", &message)
        })
    }

    fn role_and_scope(&self) -> Result<(Role, Scope), String> {
        let role: Role = self
            .role
            .parse()
            .map_err(|e: domain::access::UnknownRole| e.to_string())?;
        let channel = match self.channel.trim() {
            "" => None,
            text => Some(
                text.parse::<i64>()
                    .map_err(|_| "the channel must be a whole number".to_string())?,
            ),
        };
        let customers = self
            .customers
            .split([',', ' ', '\n'])
            .filter(|c| !c.trim().is_empty())
            .map(|c| c.parse::<CustomerId>().map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((role, Scope::requested(customers, channel)))
    }
}

fn clients_page(signed: &Signed, clients: &[ClientView], flash: Option<Markup>) -> Response {
    let csrf = &signed.session.csrf_token;
    let body = html! {
        h1 { "API clients" }
        @if let Some(flash) = flash { (flash) }
        details.card {
            summary { "Create a client" }
            form.stack method="post" action="/console/clients" id="create-client" {
                input type="hidden" name="csrf" value=(csrf);
                label { "Name" input type="text" name="name" required maxlength="100"; }
                (scope_fields())
                button type="submit" { "Create" }
            }
        }
        div.table-wrap {
            table id="clients" {
                thead { tr { th { "Name" } th { "Client id" } th { "Role" } th { "Scope" } th.hide-narrow { "Created" } th { "State" } } }
                tbody {
                    @for c in clients {
                        tr data-client=(c.client_id) {
                            td { (c.name) }
                            td { code { (c.client_id) } }
                            td { (c.role) }
                            td { (c.scope.get("kind").and_then(|k| k.as_str()).unwrap_or("?")) @if c.external { " · external" } }
                            td.hide-narrow { (when(Some(c.created_at))) }
                            td {
                                @if let Some(at) = c.revoked_at { span.badge.muted { "revoked " (when(Some(at))) } }
                                @else {
                                    (danger_button(&format!("/console/clients/{}/revoke", c.client_id), csrf, "Revoke"))
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    page(&signed.session, Nav::Clients, "API clients", body).into_response()
}

pub async fn clients(State(state): State<ConsoleState>, signed: Signed) -> Response {
    match state.app.list_clients(&signed.session.principal).await {
        Ok(clients) => clients_page(&signed, &clients, None),
        Err(error) => render::error_page(Some(&signed.session), &error),
    }
}

pub async fn create_client(
    State(state): State<ConsoleState>,
    signed: Signed,
    Form(form): Form<HolderForm>,
) -> Response {
    let (role, scope) = match form.checked(&signed) {
        Ok(pair) => pair,
        Err(refused) => return refused,
    };
    let principal = &signed.session.principal;
    let new = NewClient {
        name: form.name.clone(),
        role,
        scope,
        external_app_id: None,
    };
    let created = match state.app.create_client(principal, new).await {
        Ok(created) => created,
        Err(error) => return render::error_page(Some(&signed.session), &error),
    };
    let flash = match &created {
        Created::WithSecret(client) => html! {
            div.flash.ok id="created-client" {
                p { "Client " strong { (client.name) } " created. Copy the secret now: it is shown only this once." }
                dl.details {
                    dt { "client_id" } dd { code id="new-client-id" { (client.client_id) } }
                    dt { "client_secret" } dd { div.secret id="new-client-secret" { (client.client_secret) } }
                }
            }
        },
        Created::External(view) => html! { div.flash.ok { "Registered " (view.client_id) "." } },
    };
    match state.app.list_clients(principal).await {
        Ok(clients) => {
            let mut response = clients_page(&signed, &clients, Some(flash));
            *response.status_mut() = StatusCode::CREATED;
            response
        }
        Err(error) => render::error_page(Some(&signed.session), &error),
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

pub async fn revoke_client(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(raw): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused;
    }
    let Ok(id) = raw.parse::<ClientId>() else {
        return render::message_page(
            Some(&signed.session),
            StatusCode::NOT_FOUND,
            "No such client",
            "This address names no client.",
        );
    };
    match state.app.revoke_client(&signed.session.principal, id).await {
        Ok(()) => Redirect::to("/console/clients").into_response(),
        Err(error) => render::error_page(Some(&signed.session), &error),
    }
}

fn accounts_page(signed: &Signed, accounts: &[AccountView], flash: Option<Markup>) -> Response {
    let csrf = &signed.session.csrf_token;
    let body = html! {
        h1 { "Console accounts" }
        @if let Some(flash) = flash { (flash) }
        details.card {
            summary { "Create an account" }
            form.stack method="post" action="/console/accounts" id="create-account" {
                input type="hidden" name="csrf" value=(csrf);
                label { "Name" input type="text" name="name" required maxlength=(app::ACCOUNT_NAME_MAX); }
                label { "Password (at least 12 characters)" input type="password" name="password" required minlength="12" autocomplete="new-password"; }
                (scope_fields())
                button type="submit" { "Create" }
            }
        }
        div.table-wrap {
            table id="accounts" {
                thead { tr { th { "Name" } th { "Role" } th { "Scope" } th.hide-narrow { "Created" } th { "State" } } }
                tbody {
                    @for a in accounts {
                        tr {
                            td { (a.name) }
                            td { (a.role) }
                            td { (scope_text(&a.scope)) }
                            td.hide-narrow { (when(Some(a.created_at))) }
                            td {
                                @if let Some(at) = a.disabled_at { span.badge.muted { "disabled " (when(Some(at))) } }
                                @else if a.name == signed.session.name { span.muted { "you" } }
                                @else {
                                    (danger_button(&format!("/console/accounts/{}/disable", path_segment(&a.name)), csrf, "Disable"))
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    page(&signed.session, Nav::Accounts, "Console accounts", body).into_response()
}

pub async fn accounts(State(state): State<ConsoleState>, signed: Signed) -> Response {
    match state.app.list_accounts(&signed.session.principal).await {
        Ok(accounts) => accounts_page(&signed, &accounts, None),
        Err(error) => render::error_page(Some(&signed.session), &error),
    }
}

pub async fn create_account(
    State(state): State<ConsoleState>,
    signed: Signed,
    Form(form): Form<HolderForm>,
) -> Response {
    let (role, scope) = match form.checked(&signed) {
        Ok(pair) => pair,
        Err(refused) => return refused,
    };
    let principal = &signed.session.principal;
    let new = NewAccount {
        name: form.name.clone(),
        role,
        scope,
    };
    let created = match state.app.create_account(principal, new, form.password.clone()).await {
        Ok(created) => created,
        Err(error) => return render::error_page(Some(&signed.session), &error),
    };
    let flash = html! { div.flash.ok { "Account " strong { (created.name) } " created." } };
    match state.app.list_accounts(principal).await {
        Ok(accounts) => {
            let mut response = accounts_page(&signed, &accounts, Some(flash));
            *response.status_mut() = StatusCode::CREATED;
            response
        }
        Err(error) => render::error_page(Some(&signed.session), &error),
    }
}

pub async fn disable_account(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(name): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused;
    }
    match state.app.disable_account(&signed.session.principal, &name).await {
        Ok(()) => Redirect::to("/console/accounts").into_response(),
        Err(error) => render::error_page(Some(&signed.session), &error),
    }
}
