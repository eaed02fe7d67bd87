//! `/api/rosterd/clients`: API client administration over HTTP, for Admins, inside their own
//! scope (the rules are the application's).

use app::{ClientView, CreatedClient, NewClient};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::{ClientId, CustomerId, Role, Scope};

use crate::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::json_body::JsonObject;
use crate::small_body::SmallBody;
use crate::state::AppState;

#[utoipa::path(
    get, path = "/api/rosterd/clients", tag = "Clients",
    summary = "List API clients",
    responses(
        (status = 200, description = "The clients inside the caller's scope, without secrets", body = [ClientView]),
        (status = 401, description = "Missing or invalid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only Admin clients manage clients", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<ClientView>>> {
    Ok(Json(state.app.list_clients(&caller.principal).await?))
}

#[utoipa::path(
    post, path = "/api/rosterd/clients", tag = "Clients",
    summary = "Create an API client",
    description = "Body: `{\"name\": \"...\", \"role\": \"Admin|Operator|Monitor\", \"customers\": [\"<guid>\", ...], \"channelId\": 7}`. The secret is in this answer only. With `externalAppId`, registers the app id of an external issuer's tokens (Entra) instead: no secret is made.",
    request_body(content = crate::openapi::CreateClientDoc, content_type = "application/json"),
    responses(
        (status = 201, description = "Created; the secret is shown once", body = CreatedClient),
        (status = 400, description = "A field is invalid", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only Admin clients manage clients, and only inside their own scope (`scope_too_wide`, `role_too_high`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`client_exists`: the external app id is already registered", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(State(state): State<AppState>, caller: Caller, SmallBody(body): SmallBody) -> ApiResult<Response> {
    caller.principal.require_client_admin().map_err(app::AppError::from)?;
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
    let scope = Scope::requested(customers, body.integer("channelId")?);
    let external_app_id = match body.string("externalAppId")? {
        None => None,
        Some(app_id) => Some(
            app_id
                .parse::<ClientId>()
                .map_err(|_| ApiError::invalid_field("externalAppId", "externalAppId must be the app's GUID"))?,
        ),
    };
    let new = NewClient {
        name,
        role,
        scope,
        external_app_id,
    };
    let created = state.app.create_client(&caller.principal, new).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

#[utoipa::path(
    delete, path = "/api/rosterd/clients/{clientId}", tag = "Clients",
    summary = "Revoke an API client",
    params(("clientId" = String, Path, description = "The client's id")),
    responses(
        (status = 204, description = "Revoked: its tokens stop working at once"),
        (status = 401, description = "Missing or invalid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only Admin clients manage clients", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such client inside the caller's scope", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn revoke(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    caller.principal.require_client_admin().map_err(app::AppError::from)?;
    let client: ClientId = id
        .parse()
        .map_err(|_| ApiError::new(domain::ErrorCode::ClientNotFound, "no API client has this id"))?;
    state.app.revoke_client(&caller.principal, client).await?;
    Ok(StatusCode::NO_CONTENT)
}
