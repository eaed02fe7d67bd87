//! Services: the list (failing first, searchable), one service's details with its connection
//! form, "Sync now" and recent tasks, and a task's live progress (htmx polls the task while it
//! runs; without JavaScript, reloading shows the same).

use app::ServiceChange;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{NaiveDate, Utc};
use domain::access::CONNECTION_FIELDS;
use domain::{CustomerId, LicenseType, Service};
use maud::{html, Markup};
use serde::Deserialize;
use store::{TaskRecord, TaskStatus};

use crate::render::{self, or_dash, page, when, Nav};
use crate::session::Signed;
use crate::ConsoleState;

/// Recent tasks shown on a service's page.
const RECENT_TASKS: i64 = 10;

fn failing(service: &Service) -> bool {
    service.sync.last_error.is_some()
        || service.sync.consecutive_failures > 0
        || service.sync.connection_ok == Some(false)
}

fn last_sync(service: &Service) -> Markup {
    let sync = &service.sync;
    html! {
        @match (&sync.last_error, sync.last_attempt_at) {
            (Some(error), at) => {
                span.badge.bad title=(error) { "failed" } " " span.muted { (when(at)) }
            }
            (None, Some(at)) => { span.badge.ok { "ok" } " " span.muted { (when(Some(at))) } }
            (None, None) => { span.muted { "never" } }
        }
    }
}

fn connected(service: &Service) -> Markup {
    html! {
        @if !service.license_type.has_end_users() {
            span.muted { "no users here" }
        } @else if !service.has_secure_connection() {
            span.badge.muted { "not connected" }
        } @else {
            @match service.sync.connection_ok {
                Some(false) => span.badge.bad title=[service.sync.connection_message.as_deref()] { "refused" },
                Some(true) => span.badge.ok { "connected" },
                None => span.badge.warn { "unchecked" },
            }
        }
    }
}

fn customer_id(raw: &str, signed: &Signed) -> Result<CustomerId, Response> {
    raw.parse().map_err(|_| {
        render::message_page(
            Some(&signed.session),
            StatusCode::NOT_FOUND,
            "No such service",
            "This address names no service.",
        )
    })
}

#[derive(Deserialize)]
pub struct Search {
    #[serde(default)]
    q: String,
}

pub async fn list(State(state): State<ConsoleState>, signed: Signed, Query(search): Query<Search>) -> Response {
    let principal = &signed.session.principal;
    let mut services = match state.app.list_services(principal, None).await {
        Ok(services) => services,
        Err(error) => return render::error_page(Some(&signed.session), &error),
    };
    let needle = search.q.trim().to_lowercase();
    if !needle.is_empty() {
        services
            .retain(|s| s.short_name.to_lowercase().contains(&needle) || s.full_name.to_lowercase().contains(&needle));
    }
    // Failing first, then by short name (the store's order).
    services.sort_by_key(|s| !failing(s));
    let failing_count = services.iter().filter(|s| failing(s)).count();
    let body = html! {
        h1 { "Services" }
        form.row method="get" action="/console/services" role="search" {
            label { "Search by name" input type="search" name="q" value=(search.q) placeholder="short or full name"; }
            button.secondary type="submit" { "Search" }
            @if !needle.is_empty() { a href="/console/services" { "Clear" } }
        }
        p.muted {
            (services.len()) " services"
            @if failing_count > 0 { ", " span.bad { (failing_count) " failing" } }
        }
        div.table-wrap {
            table id="services" {
                thead { tr {
                    th { "Short name" } th { "Full name" } th.hide-narrow { "License" } th { "Connection" }
                    th { "Users" } th { "Last sync" } th.hide-narrow { "Next sync" }
                } }
                tbody {
                    @for s in &services {
                        tr data-failing=(failing(s)) {
                            td { a href={ "/console/services/" (s.id) } { (s.short_name) } }
                            td { (s.full_name) }
                            td.hide-narrow { (s.license_type.display_name()) " (" (s.license_type.code()) ")" }
                            td { (connected(s)) }
                            td.num { (s.user_count) }
                            td { (last_sync(s)) }
                            td.hide-narrow { (when(s.sync.next_sync_at)) }
                        }
                    }
                    @if services.is_empty() { tr { td colspan="7" { span.muted { "No services match." } } } }
                }
            }
        }
    };
    page(&signed.session, Nav::Services, "Services", body).into_response()
}

fn task_status(status: TaskStatus) -> Markup {
    html! {
        @match status {
            TaskStatus::InProgress => span.badge.warn { "in progress" },
            TaskStatus::CompletedSuccess => span.badge.ok { "succeeded" },
            TaskStatus::Failed => span.badge.bad { "failed" },
        }
    }
}

fn messages(task: &TaskRecord) -> Markup {
    html! {
        ul.messages {
            @for m in &task.messages {
                li class=(match m.level.as_str() { "Error" => "bad", "Warning" => "warn", _ => "" }) { (m.message) }
            }
        }
    }
}

pub async fn detail(State(state): State<ConsoleState>, signed: Signed, Path(raw): Path<String>) -> Response {
    let id = match customer_id(&raw, &signed) {
        Ok(id) => id,
        Err(response) => return response,
    };
    render_detail(&state, &signed, id, None).await
}

async fn render_detail(state: &ConsoleState, signed: &Signed, id: CustomerId, flash: Option<Markup>) -> Response {
    let principal = &signed.session.principal;
    let service = match state.app.service(principal, id).await {
        Ok(service) => service,
        Err(error) => return render::error_page(Some(&signed.session), &error),
    };
    let tasks = match state.app.recent_tasks(principal, id, RECENT_TASKS).await {
        Ok(tasks) => tasks,
        Err(error) => return render::error_page(Some(&signed.session), &error),
    };
    let writer = signed.session.role.can_write();
    // The connection form only for those the field rule lets change it (not customer-scoped).
    let may_connect = writer && principal.may_change_fields(CONNECTION_FIELDS).is_ok();
    let csrf = &signed.session.csrf_token;
    let sync = &service.sync;
    let body = html! {
        p { a href="/console/services" { "← Services" } }
        h1 { (service.full_name) " " span.muted { "(" (service.short_name) ")" } }
        @if let Some(flash) = flash { (flash) }
        div.card {
            dl.details {
                dt { "UmpCustomerGuid" } dd { code { (service.id) } }
                dt { "License type" } dd { (service.license_type.display_name()) " (" (service.license_type.code()) ")" }
                dt { "Licensed users" } dd { (service.licensed_users_count.map(|c| c.to_string()).unwrap_or_else(|| "—".into())) }
                dt { "Channel" } dd { (service.channel_id.map(|c| c.to_string()).unwrap_or_else(|| "—".into())) }
                dt { "Tenant id" } dd { (service.tenant_id.map(|t| t.to_string()).unwrap_or_else(|| "—".into())) }
                dt { "Default domain" } dd { (or_dash(service.default_domain.as_deref())) }
                dt { "App registration" } dd { (or_dash(service.app_client_id.as_deref())) }
                dt { "Client secret" } dd {
                    @if let Some(hint) = &service.app_client_secret_hint { code { (hint) "…" } } @else { "—" }
                    " · expires " (when(service.secret_expires_at))
                }
                dt { "Connection" } dd { (connected(&service)) " " span.muted { (or_dash(sync.connection_message.as_deref())) } }
                dt { "Users served" } dd {
                    (service.user_count) " (generation " (service.generation) ")"
                    @if service.may_list_users().is_ok() { " · " a href={ "/console/services/" (service.id) "/users" } { "Browse users" } }
                }
                dt { "Last sync" } dd { (last_sync(&service)) }
                dt { "Last success" } dd { (when(sync.last_success_at)) }
                dt { "Next sync" } dd { (when(sync.next_sync_at)) }
                @if sync.consecutive_failures > 0 { dt { "Failures in a row" } dd.bad { (sync.consecutive_failures) } }
            }
        }
        @if writer {
            @if service.may_sync_users().is_ok() {
                form.row method="post" action={ "/console/services/" (service.id) "/sync" } {
                    input type="hidden" name="csrf" value=(csrf);
                    button type="submit" id="sync-now" { "Sync now" }
                    span.muted { "Reads the tenant from Microsoft Graph and commits a new generation if anything changed." }
                }
            }
        }
        @if may_connect {
            details.card open[!service.has_secure_connection()] {
                summary { "Change license and app registration" }
                form.stack method="post" action={ "/console/services/" (service.id) "/connection" } {
                    input type="hidden" name="csrf" value=(csrf);
                    label { "License type" select name="licenseType" {
                        @for code in 0..=5_i64 {
                            @if let Ok(license) = LicenseType::try_from(code) {
                                option value=(code) selected[license == service.license_type] { (license.display_name()) " (" (code) ")" }
                            }
                        }
                    } }
                    label { "Microsoft 365 tenant id" input type="text" name="msTenantId" value=[service.tenant_id.map(|t| t.to_string())] placeholder="GUID"; }
                    label { "Application (client) id" input type="text" name="applicationClientId" value=[service.app_client_id.as_deref()]; }
                    label { "Client secret (leave empty to keep)" input type="password" name="applicationClientSecret" autocomplete="off"; }
                    label { "Secret expires on" input type="date" name="clientSecretExpirationDate" value=[service.secret_expires_at.map(|d| d.format("%Y-%m-%d").to_string())]; }
                    button type="submit" { "Save and check the connection" }
                }
            }
        }
        h2 { "Recent tasks" }
        div.table-wrap {
            table id="tasks" {
                thead { tr { th { "Started" } th { "Status" } th { "Messages" } } }
                tbody {
                    @for task in &tasks {
                        tr {
                            td { a href={ "/console/services/" (service.id) "/tasks/" (task.id) } { (when(Some(task.created_at))) } }
                            td { (task_status(task.status)) }
                            td { details { summary { (task.messages.len()) " messages · " (task.details.last().map(String::as_str).unwrap_or("")) } (messages(task)) } }
                        }
                    }
                    @if tasks.is_empty() { tr { td colspan="3" { span.muted { "No tasks yet." } } } }
                }
            }
        }
    };
    page(&signed.session, Nav::Services, &service.short_name, body).into_response()
}

#[derive(Deserialize)]
pub struct ConnectionForm {
    #[serde(default)]
    csrf: String,
    #[serde(rename = "licenseType")]
    license_type: Option<String>,
    #[serde(rename = "msTenantId", default)]
    tenant_id: String,
    #[serde(rename = "applicationClientId", default)]
    app_client_id: String,
    #[serde(rename = "applicationClientSecret", default)]
    app_client_secret: String,
    #[serde(rename = "clientSecretExpirationDate", default)]
    secret_expires: String,
}

impl ConnectionForm {
    /// The change the form asks for; empty fields leave things as they are.
    fn change(&self, service: &Service) -> Result<ServiceChange, String> {
        let mut change = ServiceChange::default();
        if let Some(code) = self.license_type.as_deref().filter(|c| !c.is_empty()) {
            let license = code
                .parse::<i64>()
                .ok()
                .and_then(|c| LicenseType::try_from(c).ok())
                .ok_or("unknown license type")?;
            if license != service.license_type {
                change.license_type = Some(license);
            }
        }
        let tenant = self.tenant_id.trim();
        if !tenant.is_empty() {
            let tenant = uuid::Uuid::parse_str(tenant).map_err(|_| "the tenant id must be a GUID")?;
            if Some(tenant) != service.tenant_id {
                change.tenant_id = Some(tenant);
            }
        }
        let app_id = self.app_client_id.trim();
        if !app_id.is_empty() && Some(app_id) != service.app_client_id.as_deref() {
            if app_id.chars().count() > domain::service::APP_CLIENT_ID_MAX {
                return Err(format!(
                    "the application id has at most {} characters",
                    domain::service::APP_CLIENT_ID_MAX
                ));
            }
            change.app_client_id = Some(app_id.to_string());
        }
        if !self.app_client_secret.is_empty() {
            if self.app_client_secret.chars().count() > domain::service::APP_CLIENT_SECRET_MAX {
                return Err(format!(
                    "the secret has at most {} characters",
                    domain::service::APP_CLIENT_SECRET_MAX
                ));
            }
            change.app_client_secret = Some(self.app_client_secret.clone());
        }
        let expires = self.secret_expires.trim();
        if !expires.is_empty() {
            let date =
                NaiveDate::parse_from_str(expires, "%Y-%m-%d").map_err(|_| "the expiry must be a date (YYYY-MM-DD)")?;
            let at = date.and_hms_opt(0, 0, 0).ok_or("the expiry must be a date")?.and_utc();
            if Some(at) != service.secret_expires_at {
                change.secret_expires_at = Some(at);
            }
        }
        Ok(change)
    }
}

pub async fn change_connection(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(raw): Path<String>,
    Form(form): Form<ConnectionForm>,
) -> Response {
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused;
    }
    let id = match customer_id(&raw, &signed) {
        Ok(id) => id,
        Err(response) => return response,
    };
    let principal = &signed.session.principal;
    let service = match state.app.service(principal, id).await {
        Ok(service) => service,
        Err(error) => return render::error_page(Some(&signed.session), &error),
    };
    let change = match form.change(&service) {
        Ok(change) => change,
        Err(message) => {
            let flash = html! { div.flash.bad role="alert" { (message) } };
            let mut response = render_detail(&state, &signed, id, Some(flash)).await;
            *response.status_mut() = StatusCode::BAD_REQUEST;
            return response;
        }
    };
    if change == ServiceChange::default() {
        let flash = html! { div.flash.warn { "Nothing changed." } };
        return render_detail(&state, &signed, id, Some(flash)).await;
    }
    let touches_connection =
        change.tenant_id.is_some() || change.app_client_id.is_some() || change.app_client_secret.is_some();
    match state.app.change_service(principal, id, change).await {
        Ok(changed) => {
            let flash = match (touches_connection, changed.sync.connection_ok) {
                (true, Some(true)) => {
                    html! { div.flash.ok role="status" { "Saved. Connection check: the tenant accepted the app registration." } }
                }
                (true, Some(false)) => {
                    html! { div.flash.bad role="alert" { "Saved, but the connection check failed: " (or_dash(changed.sync.connection_message.as_deref())) } }
                }
                (true, None) => {
                    html! { div.flash.warn role="status" { "Saved. The connection is incomplete, so it was not checked." } }
                }
                (false, _) => html! { div.flash.ok role="status" { "Saved." } },
            };
            render_detail(&state, &signed, id, Some(flash)).await
        }
        Err(error) => render::error_page(Some(&signed.session), &error),
    }
}

#[derive(Deserialize)]
pub struct SyncForm {
    #[serde(default)]
    csrf: String,
}

pub async fn sync_now(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(raw): Path<String>,
    Form(form): Form<SyncForm>,
) -> Response {
    if let Err(refused) = signed.check_csrf(&form.csrf) {
        return refused;
    }
    let id = match customer_id(&raw, &signed) {
        Ok(id) => id,
        Err(response) => return response,
    };
    match state.app.start_sync(&signed.session.principal, id, false).await {
        Ok(task) => Redirect::to(&format!("/console/services/{id}/tasks/{task}")).into_response(),
        Err(error) => render::error_page(Some(&signed.session), &error),
    }
}

pub async fn task(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path((raw, task_id)): Path<(String, String)>,
) -> Response {
    let id = match customer_id(&raw, &signed) {
        Ok(id) => id,
        Err(response) => return response,
    };
    let task = match state.app.task(&signed.session.principal, &task_id).await {
        Ok(task) if task.customer == Some(id) => task,
        Ok(_) => {
            return render::message_page(
                Some(&signed.session),
                StatusCode::NOT_FOUND,
                "No such task",
                "This service has no such task.",
            )
        }
        Err(error) => return render::error_page(Some(&signed.session), &error),
    };
    let running = task.status == TaskStatus::InProgress;
    let url = format!("/console/services/{id}/tasks/{}", task.id);
    let elapsed = task.completed_at.unwrap_or_else(Utc::now) - task.created_at;
    let body = html! {
        p { a href={ "/console/services/" (id) } { "← Service" } }
        h1 { "Sync task" }
        // While the task runs, htmx fetches this page every second and swaps in this block.
        div.card id="task" data-status=(task.status.as_str())
            hx-get=[running.then_some(url.as_str())] hx-trigger=[running.then_some("every 1s")]
            hx-select=[running.then_some("#task")] hx-swap=[running.then_some("outerHTML")] {
            dl.details {
                dt { "Task" } dd { code { (task.id) } }
                dt { "Status" } dd id="task-status" { (task_status(task.status)) }
                dt { "Started" } dd { (when(Some(task.created_at))) }
                dt { "Finished" } dd { (when(task.completed_at)) }
                dt { "Elapsed" } dd { (elapsed.num_seconds().max(0)) " s" }
                @for detail in &task.details { dt { "Detail" } dd { (detail) } }
            }
            h2 { "Messages" }
            (messages(&task))
            @if running { p.muted { "Updating live; without JavaScript, reload the page." } }
        }
    };
    page(&signed.session, Nav::Services, "Sync task", body).into_response()
}
