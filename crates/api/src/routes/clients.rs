//! `/api/rosterd/clients`: API client administration over HTTP (Admin only).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use domain::{ClientId, CustomerId, Role};

use crate::caller::Caller;
use crate::client_admin::{self, ClientAdminError, ClientView, CreatedClient};
use crate::error::{ApiError, ApiResult};
use crate::json_body::JsonObject;
use crate::state::AppState;

#[utoipa::path(
    get, path = "/api/rosterd/clients", tag = "Clients",
    summary = "List API clients",
    responses(
        (status = 200, description = "All clients, without secrets", body = [ClientView]),
        (status = 401, description = "Missing or invalid bearer token", body = crate::openapi::ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "Only Admin clients manage clients", body = crate::openapi::ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<ClientView>>> {
    caller.require(Role::Admin)?;
    let clients = state.store.list_clients().await?;
    Ok(Json(clients.iter().map(ClientView::of).collect()))
}

#[utoipa::path(
    post, path = "/api/rosterd/clients", tag = "Clients",
    summary = "Create an API client",
    description = "Body: `{\"name\": \"...\", \"role\": \"Admin|Operator|Monitor\", \"customers\": [\"<guid>\", ...], \"channelId\": 7}`. The secret is in this answer only. With `externalAppId`, registers the app id of an external issuer's tokens (Entra) instead: no secret is made.",
    request_body(content = crate::openapi::CreateClientDoc, content_type = "application/json"),
    responses(
        (status = 201, description = "Created; the secret is shown once", body = CreatedClient),
        (status = 400, description = "A field is invalid", body = crate::openapi::ProblemDoc, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid bearer token", body = crate::openapi::ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "Only Admin clients manage clients", body = crate::openapi::ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(State(state): State<AppState>, caller: Caller, body: Bytes) -> ApiResult<Response> {
    caller.require(Role::Admin)?;
    let body = JsonObject::parse(&body)?;
    let name = body
        .string("name")?
        .ok_or_else(|| ApiError::invalid_field("name", "name is required"))?;
    let role_text = body
        .string("role")?
        .ok_or_else(|| ApiError::invalid_field("role", "role is required"))?;
    let role: Role = role_text
        .parse()
        .map_err(|e: domain::access::UnknownRole| ApiError::invalid_field("role", e.to_string()))?;
    let customers = body
        .string_list("customers")?
        .iter()
        .map(|c| {
            c.parse::<CustomerId>()
                .map_err(|e| ApiError::invalid_field("customers", e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let scope = client_admin::scope_from(customers, body.integer("channelId")?);
    if let Some(app_id) = body.string("externalAppId")? {
        let app_id: ClientId = app_id
            .parse()
            .map_err(|_| ApiError::invalid_field("externalAppId", "externalAppId must be the app's GUID"))?;
        let view = client_admin::register_external_client(state.store.as_ref(), app_id, &name, role, scope)
            .await
            .map_err(|e| match e {
                ClientAdminError::BadName => ApiError::invalid_field("name", e.to_string()),
                ClientAdminError::Store(store::StoreError::Conflict(_)) => ApiError::Conflict {
                    code: "client_exists",
                    message: "a client with this id is already registered".into(),
                },
                ClientAdminError::Store(s) => s.into(),
            })?;
        crate::audit::record(
            &state,
            Some(caller.client),
            "client.register_external",
            None,
            format!("client {}", view.client_id),
        )
        .await;
        return Ok((StatusCode::CREATED, Json(view)).into_response());
    }
    let created = client_admin::create_client(state.store.as_ref(), &name, role, scope)
        .await
        .map_err(|e| match e {
            ClientAdminError::BadName => ApiError::invalid_field("name", e.to_string()),
            ClientAdminError::Store(s) => s.into(),
        })?;
    crate::audit::record(
        &state,
        Some(caller.client),
        "client.create",
        None,
        format!("client {} ({})", created.client_id, created.role),
    )
    .await;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

#[utoipa::path(
    delete, path = "/api/rosterd/clients/{clientId}", tag = "Clients",
    summary = "Revoke an API client",
    params(("clientId" = String, Path, description = "The client's id")),
    responses(
        (status = 204, description = "Revoked: its tokens stop working at once"),
        (status = 401, description = "Missing or invalid bearer token", body = crate::openapi::ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "Only Admin clients manage clients", body = crate::openapi::ProblemDoc, content_type = "application/problem+json"),
        (status = 404, description = "No such client", body = crate::openapi::ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn revoke(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    caller.require(Role::Admin)?;
    let missing = || ApiError::NotFound("client_not_found", "no API client has this id".into());
    let client: ClientId = id.parse().map_err(|_| missing())?;
    state
        .store
        .revoke_client(client, Utc::now())
        .await
        .map_err(|e| match e {
            store::StoreError::NotFound(_) => missing(),
            other => other.into(),
        })?;
    crate::audit::record(
        &state,
        Some(caller.client),
        "client.revoke",
        None,
        format!("client {client}"),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
