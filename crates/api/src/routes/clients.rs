//! `/api/rosterd/clients`: API client administration over HTTP, for Admins, inside their own
//! scope (the rules are the application's).

use app::{ClientView, Created, NewClient, CLIENT_NAME_MAX};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::{ClientId, CustomerId, Role, Scope};
use serde::Deserialize;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;
use utoipa::ToSchema;

use crate::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::json_body::{self, int_schema, Int, GUID_PATTERN};
use crate::small_body::SmallBody;
use crate::state::AppState;

#[utoipa::path(
    get, path = "/api/rosterd/clients", tag = "Clients",
    summary = "List API clients",
    responses(
        (status = 200, description = "The clients inside the caller's scope, without secrets", body = [ClientView]),
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
    request_body(content = CreateClientBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Created; the secret is shown once", body = Created),
    ),
    security(("bearer" = []))
)]
pub async fn create(State(state): State<AppState>, caller: Caller, SmallBody(body): SmallBody) -> ApiResult<Response> {
    caller.principal.require_client_admin().map_err(app::AppError::from)?;
    let body: CreateClientBody = json_body::parse(&body)?;
    let new = body.into_new_client()?;
    let created = state.app.create_client(&caller.principal, new).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

fn name_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(CLIENT_NAME_MAX))
        .pattern(Some(
            r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$",
        ))
        .description(Some("A name for people (not blank)"))
        .into()
}

fn role_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(Role::ALL.iter().rev().map(|r| r.to_string())))
        .description(Some("Admin, Operator or Monitor (matched case-insensitively)"))
        .into()
}

fn customers_schema() -> RefOr<Schema> {
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(GUID_PATTERN)),
        )
        .description(Some(
            "Limit the client to these customers (each must exist inside the caller's scope)",
        ))
        .into()
}

fn channel_schema() -> RefOr<Schema> {
    int_schema(None, None, "Limit the client to one channel")
}

fn app_id_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .pattern(Some(GUID_PATTERN))
        .description(Some(
            "Register this external issuer's app id (token `azp`/`appid`) instead of making a secret",
        ))
        .into()
}

/// `POST /api/rosterd/clients` body; field names match case-insensitively.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateClientBody {
    #[schema(schema_with = name_schema, required = true)]
    name: Option<String>,
    #[schema(schema_with = role_schema, required = true)]
    role: Option<String>,
    #[schema(schema_with = customers_schema)]
    customers: Option<Vec<String>>,
    #[schema(schema_with = channel_schema)]
    channel_id: Option<Int>,
    #[schema(schema_with = app_id_schema)]
    external_app_id: Option<String>,
}

impl CreateClientBody {
    fn into_new_client(self) -> Result<NewClient, ApiError> {
        let name = self
            .name
            .ok_or_else(|| ApiError::invalid_field("name", "name is required"))?;
        let role: Role = self
            .role
            .ok_or_else(|| ApiError::invalid_field("role", "role is required"))?
            .parse()
            .map_err(|e: domain::access::UnknownRole| ApiError::invalid_field("role", e.to_string()))?;
        let customers = self
            .customers
            .unwrap_or_default()
            .iter()
            .map(|c| {
                c.parse::<CustomerId>()
                    .map_err(|e| ApiError::invalid_field("customers", e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let external_app_id = self
            .external_app_id
            .map(|id| id.parse::<ClientId>())
            .transpose()
            .map_err(|_| ApiError::invalid_field("externalAppId", "externalAppId must be the app's GUID"))?;
        Ok(NewClient {
            name,
            role,
            scope: Scope::requested(customers, self.channel_id.map(|Int(c)| c)),
            external_app_id,
        })
    }
}

#[utoipa::path(
    delete, path = "/api/rosterd/clients/{clientId}", tag = "Clients",
    summary = "Revoke an API client",
    params(("clientId" = String, Path, description = "The client's id")),
    responses(
        (status = 204, description = "Revoked: its tokens stop working at once"),
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
