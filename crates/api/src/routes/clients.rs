//! `/api/rosterd/clients`: API client administration over HTTP, for Admins, inside their own
//! scope (see `client_admin`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::{ClientId, CustomerId, Role};

use crate::caller::Caller;
use crate::client_admin::{self, ClientAdminError, ClientView, CreatedClient};
use crate::error::{ApiError, ApiResult};
use crate::json_body::JsonObject;
use crate::small_body::SmallBody;
use crate::state::AppState;

fn not_found() -> ApiError {
    ApiError::NotFound("client_not_found", "no API client has this id".into())
}

impl From<ClientAdminError> for ApiError {
    fn from(error: ClientAdminError) -> Self {
        match error {
            ClientAdminError::BadName => ApiError::invalid_field("name", error.to_string()),
            ClientAdminError::Denied(denied) => denied.into(),
            ClientAdminError::NotFound => not_found(),
            ClientAdminError::Store(store) => store.into(),
        }
    }
}

#[utoipa::path(
    get, path = "/api/rosterd/clients", tag = "Clients",
    summary = "List API clients",
    responses(
        (status = 200, description = "The clients inside the caller's scope, without secrets", body = [ClientView]),
        (status = 401, description = "Missing or invalid bearer token", body = crate::openapi::ProblemDoc, content_type = "application/problem+json"),
        (status = 403, description = "Only Admin clients manage clients", body = crate::openapi::ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<ClientView>>> {
    Ok(Json(
        client_admin::list_clients(state.store.as_ref(), &caller.principal).await?,
    ))
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
        (status = 403, description = "Only Admin clients manage clients, and only inside their own scope (`scope_too_wide`, `role_too_high`)", body = crate::openapi::ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "`client_exists`: the external app id is already registered", body = crate::openapi::ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(State(state): State<AppState>, caller: Caller, SmallBody(body): SmallBody) -> ApiResult<Response> {
    caller.principal.require_client_admin()?;
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
        let view =
            client_admin::register_external_client(state.store.as_ref(), &caller.principal, app_id, &name, role, scope)
                .await?;
        crate::audit::record(
            &state,
            caller.client(),
            "client.register_external",
            None,
            format!("client {}", view.client_id),
        )
        .await;
        return Ok((StatusCode::CREATED, Json(view)).into_response());
    }
    let created = client_admin::create_client(state.store.as_ref(), &caller.principal, &name, role, scope).await?;
    crate::audit::record(
        &state,
        caller.client(),
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
        (status = 404, description = "No such client inside the caller's scope", body = crate::openapi::ProblemDoc, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn revoke(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    caller.principal.require_client_admin()?;
    let client: ClientId = id.parse().map_err(|_| not_found())?;
    client_admin::revoke_client(state.store.as_ref(), &caller.principal, client).await?;
    crate::audit::record(
        &state,
        caller.client(),
        "client.revoke",
        None,
        format!("client {client}"),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
