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
    CUSTOMER_TYPE_MAX, DEFAULT_DOMAIN_MAX, FULL_NAME_MAX, SHORT_NAME_MAX, SHORT_NAME_MIN,
};
use domain::{CustomerId, LicenseType, NewService, ShortName, SiteLocation};
use serde::Deserialize;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;
use utoipa::ToSchema;

use crate::caller::{Caller, CustomerGuid};
use crate::error::{ApiError, ApiResult};
use crate::json_body::{self, guid_schema, int_schema, text_schema, truncate, Int};
use crate::query::Query;
use crate::small_body::SmallBody;
use crate::state::AppState;
use crate::wire::{CustomerBriefV2, CustomerDetailV2, ServiceBriefV3, ServiceDetailV3};

#[utoipa::path(
    get, path = "/api/v3/customer", tag = "Services",
    summary = "Get Services Brief Details (V3)",
    params(
        ("allDetails" = Option<bool>, Query, description = "true: detail objects with SiteLocation"),
    ),
    responses(
        (status = 200, description = "Services visible to the caller, by short name", body = [ServiceBriefV3]),
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
        CustomerGuid,
        ("allDetails" = Option<bool>, Query, description = "true: add SiteLocation"),
    ),
    responses(
        (status = 200, description = "The service", body = ServiceDetailV3),
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
    responses(
        (status = 200, description = "Services visible to the caller, by short name", body = [CustomerBriefV2]),
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
    params(CustomerGuid),
    responses(
        (status = 200, description = "The service", body = CustomerDetailV2),
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

/// A free-text field: at most `max` characters without control characters.
fn bounded(field: &'static str, value: Option<String>, max: usize) -> Result<Option<String>, ApiError> {
    match value {
        None => Ok(None),
        Some(text) => {
            bounded_text(field, &text, max).map_err(|e| ApiError::invalid_field(e.field, e.message))?;
            Ok(Some(text))
        }
    }
}

/// A GUID field; blank is none.
fn guid(field: &str, value: Option<String>) -> Result<Option<uuid::Uuid>, ApiError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => uuid::Uuid::parse_str(text)
            .map(Some)
            .map_err(|_| ApiError::invalid_field(field, format!("{field} must be a GUID; got '{}'", truncate(text)))),
    }
}

fn short_name_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(SHORT_NAME_MIN))
        .max_length(Some(SHORT_NAME_MAX))
        .pattern(Some(r#"^[^\s.\\/:*?"<>|\u0000-\u001F\u007F-\u009F]*$"#))
        .description(Some(
            "Unique in its channel (case-insensitively); no blanks, dots or \\ / : * ? \" < > |",
        ))
        .into()
}

fn full_name_schema() -> RefOr<Schema> {
    text_schema(None, FULL_NAME_MAX, "Defaults to the short name")
}

fn customer_full_name_schema() -> RefOr<Schema> {
    text_schema(Some(1), FULL_NAME_MAX, "Surrounding blanks are dropped")
}

fn customer_type_schema() -> RefOr<Schema> {
    text_schema(None, CUSTOMER_TYPE_MAX, "Free text")
}

fn default_domain_schema() -> RefOr<Schema> {
    text_schema(
        None,
        DEFAULT_DOMAIN_MAX,
        "rosterd extension: the tenant's default domain",
    )
}

fn app_client_id_schema() -> RefOr<Schema> {
    text_schema(
        None,
        APP_CLIENT_ID_MAX,
        "The app registration's application (client) id",
    )
}

fn app_client_secret_schema() -> RefOr<Schema> {
    text_schema(
        Some(1),
        APP_CLIENT_SECRET_MAX,
        "The app registration's client secret; stored sealed, shown only as a 3-character prefix",
    )
}

fn tenant_schema() -> RefOr<Schema> {
    guid_schema("The customer's Microsoft 365 tenant id; blank for none")
}

fn license_schema() -> RefOr<Schema> {
    int_schema(
        Some(0),
        Some(5),
        "0 Hosted Essentials, 1 Hosted Essentials Plus, 2 Hosted Pro, 3 OC Essentials, 4 OC Essentials Plus, 5 OC Pro",
    )
}

fn count_schema() -> RefOr<Schema> {
    int_schema(Some(0), None, "Licensed users")
}

fn channel_schema() -> RefOr<Schema> {
    int_schema(None, None, "The channel (reseller) the service belongs to")
}

fn sbc_schema() -> RefOr<Schema> {
    int_schema(None, None, "The SBC's id")
}

fn expiry_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .description(Some("RFC 3339 (2027-02-18T08:39:26Z) or M/D/YYYY h:mm:ss AM"))
        .into()
}

/// `siteLocation` of a create body.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SiteLocationBody {
    #[schema(schema_with = sbc_schema)]
    sbc_id: Option<Int>,
}

/// `POST /api/v2/customer` body. Field names are the reference's (camelCase), matched
/// case-insensitively; `licenseType`, `licensedUsersCount` and `msDefaultDomain` are rosterd
/// extensions (the original creates Hosted Essentials only, which stays the default).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateServiceBody {
    #[schema(schema_with = short_name_schema, required = true)]
    short_name: Option<String>,
    #[schema(schema_with = full_name_schema)]
    full_name: Option<String>,
    #[schema(nullable)]
    site_location: Option<SiteLocationBody>,
    #[schema(schema_with = customer_type_schema)]
    ovoc_customer_type: Option<String>,
    #[schema(schema_with = tenant_schema)]
    ms_tenant_id: Option<String>,
    #[schema(schema_with = channel_schema)]
    channel_id: Option<Int>,
    #[schema(schema_with = license_schema)]
    license_type: Option<Int>,
    #[schema(schema_with = count_schema)]
    licensed_users_count: Option<Int>,
    #[schema(schema_with = default_domain_schema)]
    ms_default_domain: Option<String>,
}

impl CreateServiceBody {
    /// The new service, each field checked. Where it may go (its channel) is the authorization
    /// rule's to decide.
    fn into_new_service(self) -> Result<NewService, ApiError> {
        let short_raw = self
            .short_name
            .ok_or_else(|| ApiError::invalid_field("shortName", "shortName is required"))?;
        let short_name = ShortName::parse(&short_raw).map_err(|e| ApiError::invalid_field(e.field, e.message))?;
        let full_name = full_name_or_default(self.full_name.as_deref(), &short_name)
            .map_err(|e| ApiError::invalid_field("fullName", e.message))?;
        let license_type = match self.license_type {
            Some(Int(v)) => license_from(v, "licenseType")?,
            None => LicenseType::HostedEssentials,
        };
        let licensed_users_count = self.licensed_users_count.map(|Int(n)| n);
        if licensed_users_count.is_some_and(|n| n < 0) {
            return Err(ApiError::invalid_field(
                "licensedUsersCount",
                "licensedUsersCount must not be negative",
            ));
        }
        let site_locations = match self.site_location {
            None => Vec::new(),
            Some(site) => vec![SiteLocation {
                id: 1,
                name: short_name.as_str().to_string(),
                sbc_id: site.sbc_id.map(|Int(id)| id),
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
            channel_id: self.channel_id.map(|Int(c)| c),
            ovoc_customer_type: bounded("ovocCustomerType", self.ovoc_customer_type, CUSTOMER_TYPE_MAX)?,
            tenant_id: guid("msTenantId", self.ms_tenant_id)?,
            default_domain: bounded("msDefaultDomain", self.ms_default_domain, DEFAULT_DOMAIN_MAX)?,
            site_locations,
        })
    }
}

/// `PATCH /api/v3/customer/{guid}` body; absent (or `null`) fields are left unchanged. Field
/// names match case-insensitively.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PatchServiceBody {
    #[schema(schema_with = customer_full_name_schema)]
    customer_full_name: Option<String>,
    /// Within its family only: Hosted 0-2 or Operator Connect 3-5 (`Invalid change for License Type!`).
    #[schema(schema_with = license_schema)]
    license_type: Option<Int>,
    #[schema(schema_with = count_schema)]
    licensed_users_count: Option<Int>,
    #[schema(schema_with = tenant_schema)]
    ms_tenant_id: Option<String>,
    #[schema(schema_with = default_domain_schema)]
    ms_default_domain: Option<String>,
    #[schema(schema_with = app_client_id_schema)]
    application_client_id: Option<String>,
    #[schema(schema_with = app_client_secret_schema)]
    application_client_secret: Option<String>,
    #[schema(schema_with = expiry_schema)]
    client_secret_expiration_date: Option<String>,
}

impl PatchServiceBody {
    /// The change, each field valid on its own; the rules between them and the stored service
    /// are the application's.
    fn into_change(self) -> Result<ServiceChange, ApiError> {
        let mut change = ServiceChange::default();
        if let Some(name) = self.customer_full_name {
            change.full_name = Some(
                validate_full_name(name.trim())
                    .map_err(|e| ApiError::invalid_field("customerFullName", e.message))?
                    .to_string(),
            );
        }
        if let Some(Int(to)) = self.license_type {
            change.license_type = Some(LicenseType::try_from(to).map_err(|_| invalid_license())?);
        }
        if let Some(Int(count)) = self.licensed_users_count {
            if count < 0 {
                return Err(ApiError::invalid_field(
                    "licensedUsersCount",
                    "licensedUsersCount must not be negative",
                ));
            }
            change.licensed_users_count = Some(count);
        }
        change.tenant_id = guid("msTenantId", self.ms_tenant_id)?;
        change.default_domain = bounded("msDefaultDomain", self.ms_default_domain, DEFAULT_DOMAIN_MAX)?;
        change.app_client_id = bounded("applicationClientId", self.application_client_id, APP_CLIENT_ID_MAX)?
            .map(|s| s.trim().to_string());
        let secret = bounded(
            "applicationClientSecret",
            self.application_client_secret,
            APP_CLIENT_SECRET_MAX,
        )?;
        if secret.as_deref() == Some("") {
            return Err(ApiError::invalid_field(
                "applicationClientSecret",
                "applicationClientSecret must not be empty",
            ));
        }
        change.app_client_secret = secret;
        if let Some(raw) = self.client_secret_expiration_date {
            change.secret_expires_at = Some(parse_expiry(&raw)?);
        }
        Ok(change)
    }
}

#[utoipa::path(
    post, path = "/api/v2/customer", tag = "Services",
    summary = "Create a service",
    request_body(content = CreateServiceBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Created; Location names the new service", body = ServiceDetailV3),
    ),
    security(("bearer" = []))
)]
pub async fn create(State(state): State<AppState>, caller: Caller, SmallBody(body): SmallBody) -> ApiResult<Response> {
    caller
        .principal
        .require(domain::Role::Operator)
        .map_err(app::AppError::from)?;
    let body: CreateServiceBody = json_body::parse(&body)?;
    let service = state
        .app
        .create_service(&caller.principal, body.into_new_service()?)
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
    params(CustomerGuid),
    request_body(content = PatchServiceBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The changed service", body = ServiceDetailV3),
    ),
    security(("bearer" = []))
)]
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    CustomerGuid(customer): CustomerGuid,
    SmallBody(body): SmallBody,
) -> ApiResult<Json<ServiceDetailV3>> {
    let body: PatchServiceBody = json_body::parse(&body).map_err(|error| {
        // Whatever is wrong with a license type is the original's one message.
        if error.field() == Some("licenseType") {
            invalid_license()
        } else {
            error
        }
    })?;
    let change = body.into_change()?;
    let updated = state.app.change_service(&caller.principal, customer, change).await?;
    Ok(Json(ServiceDetailV3::of(&updated, true)))
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
