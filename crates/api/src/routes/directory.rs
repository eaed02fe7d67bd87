//! The service directory: list and read services (V2 and V3 shapes), create a service, and
//! change its license and secure connection.

use app::ServiceChange;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, NaiveDateTime, Utc};
use domain::service::{
    bounded_text, full_name_or_default, validate_full_name, APP_CLIENT_ID_MAX, APP_CLIENT_SECRET_MAX,
    CUSTOMER_TYPE_MAX, DEFAULT_DOMAIN_MAX,
};
use domain::{CustomerId, LicenseType, NewService, ShortName, SiteLocation};

use crate::caller::{Caller, CustomerGuid};
use crate::error::{ApiError, ApiResult};
use crate::json_body::JsonObject;
use crate::query::Query;
use crate::small_body::SmallBody;
use crate::state::AppState;
use crate::wire::{CustomerBriefV2, CustomerDetailV2, ServiceBriefV3, ServiceDetailV3};

#[utoipa::path(
    get, path = "/api/v3/customer", tag = "Services",
    summary = "Get Services Brief Details (V3)",
    params(
        ("allDetails" = Option<bool>, Query, description = "true: detail objects with SiteLocation"),
        ("X-Ovoc-Channel-Id" = Option<i64>, Header, description = "Only this channel's services"),
    ),
    responses(
        (status = 200, description = "Services visible to the caller, by short name", body = [ServiceBriefV3]),
        (status = 400, description = "Bad query or header", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_v3(State(state): State<AppState>, caller: Caller, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let all_details = Query::parse(raw.as_deref()).flag("allDetails")?;
    let services = state
        .app
        .list_services(&caller.principal, caller.channel_filter)
        .await?;
    Ok(if all_details {
        Json(
            services
                .iter()
                .map(|s| ServiceDetailV3::of(s, true))
                .collect::<Vec<_>>(),
        )
        .into_response()
    } else {
        Json(services.iter().map(ServiceBriefV3::of).collect::<Vec<_>>()).into_response()
    })
}

#[utoipa::path(
    get, path = "/api/v3/customer/{customerGuid}", tag = "Services",
    summary = "Get Service Details (V3)",
    params(
        ("customerGuid" = String, Path, description = "The service's UmpCustomerGuid"),
        ("allDetails" = Option<bool>, Query, description = "true: add SiteLocation"),
    ),
    responses(
        (status = 200, description = "The service", body = ServiceDetailV3),
        (status = 400, description = "Malformed GUID", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such customer in the caller's scope", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_v3(
    State(state): State<AppState>,
    caller: Caller,
    CustomerGuid(customer): CustomerGuid,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<ServiceDetailV3>> {
    let all_details = Query::parse(raw.as_deref()).flag("allDetails")?;
    let service = state.app.service(&caller.principal, customer).await?;
    Ok(Json(ServiceDetailV3::of(&service, all_details)))
}

#[utoipa::path(
    get, path = "/api/v2/customer", tag = "Services",
    summary = "Get Customers Brief Details (V2)",
    params(("X-Ovoc-Channel-Id" = Option<i64>, Header, description = "Only this channel's services")),
    responses(
        (status = 200, description = "Services visible to the caller, by short name", body = [CustomerBriefV2]),
        (status = 401, description = "Missing or invalid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_v2(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<CustomerBriefV2>>> {
    let services = state
        .app
        .list_services(&caller.principal, caller.channel_filter)
        .await?;
    Ok(Json(services.iter().map(CustomerBriefV2::of).collect()))
}

#[utoipa::path(
    get, path = "/api/v2/customer/{customerGuid}", tag = "Services",
    summary = "Get Customer Details (V2)",
    params(("customerGuid" = String, Path, description = "The service's UmpCustomerGuid")),
    responses(
        (status = 200, description = "The service", body = CustomerDetailV2),
        (status = 400, description = "Malformed GUID", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such customer in the caller's scope", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_v2(
    State(state): State<AppState>,
    caller: Caller,
    CustomerGuid(customer): CustomerGuid,
) -> ApiResult<Json<CustomerDetailV2>> {
    let service = state.app.service(&caller.principal, customer).await?;
    Ok(Json(CustomerDetailV2::of(&service)))
}

fn license_from(value: i64, field: &str) -> Result<LicenseType, ApiError> {
    LicenseType::try_from(value).map_err(|e| ApiError::invalid_field(field, e.to_string()))
}

/// A string field of a JSON body, at most `max` characters without control characters.
fn bounded(body: &JsonObject, field: &'static str, max: usize) -> Result<Option<String>, ApiError> {
    match body.string(field)? {
        None => Ok(None),
        Some(text) => {
            bounded_text(field, &text, max).map_err(|e| ApiError::invalid_field(e.field, e.message))?;
            Ok(Some(text))
        }
    }
}

/// Parses the create body. Field names are the reference's (camelCase); `licenseType`,
/// `licensedUsersCount` and `msDefaultDomain` are rosterd extensions (the original creates
/// Hosted Essentials only, which stays the default). Where the service may go (its channel) is
/// the authorization rule's to decide.
fn new_service_from(body: &JsonObject) -> Result<NewService, ApiError> {
    let short_raw = body
        .string("shortName")?
        .ok_or_else(|| ApiError::invalid_field("shortName", "shortName is required"))?;
    let short_name = ShortName::parse(&short_raw).map_err(|e| ApiError::invalid_field(e.field, e.message))?;
    let full_name = full_name_or_default(body.string("fullName")?.as_deref(), &short_name)
        .map_err(|e| ApiError::invalid_field("fullName", e.message))?;
    let license_type = match body.integer("licenseType")? {
        Some(v) => license_from(v, "licenseType")?,
        None => LicenseType::HostedEssentials,
    };
    let licensed_users_count = body.integer("licensedUsersCount")?;
    if licensed_users_count.is_some_and(|n| n < 0) {
        return Err(ApiError::invalid_field(
            "licensedUsersCount",
            "licensedUsersCount must not be negative",
        ));
    }
    let channel_id = body.integer("channelId")?;
    let site_locations = match body.object("siteLocation")? {
        None => Vec::new(),
        Some(site) => vec![SiteLocation {
            id: 1,
            name: short_name.as_str().to_string(),
            sbc_id: site.integer("sbcId")?,
            sbc_deployment_state: None,
            sbc_configuration_type: None,
        }],
    };
    Ok(NewService {
        id: CustomerId::new_random(),
        short_name,
        full_name,
        license_type,
        licensed_users_count,
        channel_id,
        ovoc_customer_type: bounded(body, "ovocCustomerType", CUSTOMER_TYPE_MAX)?,
        tenant_id: body.guid("msTenantId")?,
        default_domain: bounded(body, "msDefaultDomain", DEFAULT_DOMAIN_MAX)?,
        site_locations,
    })
}

#[utoipa::path(
    post, path = "/api/v2/customer", tag = "Services",
    summary = "Create a service",
    request_body(content = crate::openapi::CreateServiceDoc, content_type = "application/json"),
    responses(
        (status = 201, description = "Created; Location names the new service", body = ServiceDetailV3),
        (status = 400, description = "A field is invalid (named in `field`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The client cannot create services (role), or not in that channel (`scope_too_wide`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`short_name_taken` in the channel, or `tenant_in_use` by another service", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than 256 KiB", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(State(state): State<AppState>, caller: Caller, SmallBody(body): SmallBody) -> ApiResult<Response> {
    caller
        .principal
        .require(domain::Role::Operator)
        .map_err(app::AppError::from)?;
    let body = JsonObject::parse(&body)?;
    let service = state
        .app
        .create_service(&caller.principal, new_service_from(&body)?)
        .await?;
    let mut response = (StatusCode::CREATED, Json(ServiceDetailV3::of(&service, true))).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v3/customer/{}", service.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

fn invalid_license() -> ApiError {
    app::AppError::from(domain::LicenseChangeRefused).into()
}

fn parse_expiry(raw: &str) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Ok(at.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(raw, "%m/%d/%Y %I:%M:%S %p")
        .map(|naive| naive.and_utc())
        .map_err(|_| {
            ApiError::invalid_field(
                "clientSecretExpirationDate",
                "clientSecretExpirationDate must be RFC 3339 (2027-02-18T08:39:26Z) or M/D/YYYY h:mm:ss AM",
            )
        })
}

#[utoipa::path(
    patch, path = "/api/v3/customer/{customerGuid}", tag = "Services",
    summary = "Change license and secure connection",
    description = "Changes full name, license, licensed count, tenant id and app registration. Setting connection fields validates them by requesting a token from the customer's tenant; the outcome is in `Replication.connectionValid` and `connectionMessage`. `msTenantId`, `applicationClientId`, `applicationClientSecret`, `clientSecretExpirationDate`, `licenseType` and `licensedUsersCount` may be changed by provider- and channel-scoped Operators and Admins only. A new tenant id or app id drops the stored secret (unless a new one comes in the same request) and the replication state: the next sync is a full round.",
    params(("customerGuid" = String, Path, description = "The service's UmpCustomerGuid")),
    request_body(content = crate::openapi::PatchServiceDoc, content_type = "application/json"),
    responses(
        (status = 200, description = "The changed service", body = ServiceDetailV3),
        (status = 400, description = "A field is invalid, or `Invalid change for License Type!`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The client's role cannot write (`insufficient_role`), or a customer-scoped client named a connection field (`forbidden_field`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such customer in the caller's scope", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`tenant_in_use`: another service is connected to this tenant", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than 256 KiB", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    CustomerGuid(customer): CustomerGuid,
    SmallBody(body): SmallBody,
) -> ApiResult<Json<ServiceDetailV3>> {
    let body = JsonObject::parse(&body)?;
    let change = service_change_from(&body)?;
    let updated = state.app.change_service(&caller.principal, customer, change).await?;
    Ok(Json(ServiceDetailV3::of(&updated, true)))
}

/// Parses the patch body: each field valid on its own; the rules between them and the stored
/// service are the application's.
fn service_change_from(body: &JsonObject) -> Result<ServiceChange, ApiError> {
    let mut change = ServiceChange::default();
    if let Some(name) = body.string("customerFullName")? {
        change.full_name = Some(
            validate_full_name(name.trim())
                .map_err(|e| ApiError::invalid_field("customerFullName", e.message))?
                .to_string(),
        );
    }
    if body.has("licenseType") {
        let to = body
            .integer("licenseType")
            .map_err(|_| invalid_license())?
            .ok_or_else(invalid_license)?;
        change.license_type = Some(LicenseType::try_from(to).map_err(|_| invalid_license())?);
    }
    if let Some(count) = body.integer("licensedUsersCount")? {
        if count < 0 {
            return Err(ApiError::invalid_field(
                "licensedUsersCount",
                "licensedUsersCount must not be negative",
            ));
        }
        change.licensed_users_count = Some(count);
    }
    change.tenant_id = body.guid("msTenantId")?;
    change.default_domain = bounded(body, "msDefaultDomain", DEFAULT_DOMAIN_MAX)?;
    change.app_client_id = bounded(body, "applicationClientId", APP_CLIENT_ID_MAX)?.map(|s| s.trim().to_string());
    let secret = bounded(body, "applicationClientSecret", APP_CLIENT_SECRET_MAX)?;
    if secret.as_deref() == Some("") {
        return Err(ApiError::invalid_field(
            "applicationClientSecret",
            "applicationClientSecret must not be empty",
        ));
    }
    change.app_client_secret = secret;
    if let Some(raw) = body.string("clientSecretExpirationDate")? {
        change.secret_expires_at = Some(parse_expiry(&raw)?);
    }
    Ok(change)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_formats() {
        assert!(parse_expiry("2027-02-18T08:39:26Z").is_ok());
        assert!(parse_expiry("2/18/2027 8:39:26 AM").is_ok());
        assert!(parse_expiry("tomorrow").is_err());
    }
}
