//! The OpenAPI document, generated from the handlers' annotations, plus schema-only types that
//! describe wire shapes produced without a Rust struct (pre-rendered user pages, problems).

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// One end user: the 21 keys in this order. `CallForward`, `OnlineVoiceRoutingPolicy` and
/// `OnlinePstnGateway` are `""` when empty; other empty values are `null`.
#[allow(dead_code, non_snake_case)]
#[derive(ToSchema)]
pub struct EndUserDoc {
    /// Entra object id, lower case.
    Identity: String,
    /// Always `----`.
    Status: String,
    SipAddress: Option<String>,
    LineURI: Option<String>,
    HostingProvider: Option<String>,
    HybridPstnSiteName: Option<String>,
    UsageLocation: Option<String>,
    RegistrarPool: Option<String>,
    CallForward: String,
    /// The Identity in upper case.
    ObjectId: String,
    WebName: Option<String>,
    UserType: Option<String>,
    PsCount: i64,
    IsManaged: Option<bool>,
    Department: Option<String>,
    TenantId: Option<String>,
    UserPrincipalName: Option<String>,
    MsInterpretedUserType: Option<String>,
    EnterpriseVoiceEnabled: Option<bool>,
    OnlineVoiceRoutingPolicy: String,
    OnlinePstnGateway: String,
}

/// A page of end users.
#[allow(dead_code)]
#[derive(ToSchema)]
#[schema(as = EndUserPage)]
pub struct EndUserPage {
    #[schema(rename = "currentPage")]
    current_page: i64,
    #[schema(rename = "pageSize")]
    page_size: i64,
    /// ceil(totalRecords / pageSize)
    #[schema(rename = "totalPages")]
    total_pages: i64,
    #[schema(rename = "totalRecords")]
    total_records: i64,
    data: Vec<EndUserDoc>,
}

/// `POST /api/v2/customer` body.
#[allow(dead_code, non_snake_case)]
#[derive(ToSchema)]
pub struct CreateServiceDoc {
    /// 3-15 characters; no blanks, dots or \ / : * ? " < > |; unique.
    shortName: String,
    /// Up to 200 characters; defaults to shortName.
    fullName: Option<String>,
    siteLocation: Option<SiteLocationInputDoc>,
    ovocCustomerType: Option<String>,
    msTenantId: Option<String>,
    channelId: Option<i64>,
    /// rosterd extension: 0-5, default 0 (Hosted Essentials).
    licenseType: Option<i64>,
    /// rosterd extension.
    licensedUsersCount: Option<i64>,
    /// rosterd extension.
    msDefaultDomain: Option<String>,
}

#[allow(dead_code, non_snake_case)]
#[derive(ToSchema)]
pub struct SiteLocationInputDoc {
    sbcId: Option<i64>,
    sbcOnboardingScript: Option<String>,
    sbcCleanupScript: Option<String>,
}

/// `PATCH /api/v3/customer/{guid}` body; absent fields are left unchanged.
#[allow(dead_code, non_snake_case)]
#[derive(ToSchema)]
pub struct PatchServiceDoc {
    customerFullName: Option<String>,
    /// Within its family only: Hosted 0-2 or Operator Connect 3-5.
    licenseType: Option<i64>,
    licensedUsersCount: Option<i64>,
    msTenantId: Option<String>,
    msDefaultDomain: Option<String>,
    applicationClientId: Option<String>,
    applicationClientSecret: Option<String>,
    /// RFC 3339 or `M/D/YYYY h:mm:ss AM`.
    clientSecretExpirationDate: Option<String>,
}

/// `POST /api/rosterd/clients` body.
#[allow(dead_code, non_snake_case)]
#[derive(ToSchema)]
pub struct CreateClientDoc {
    name: String,
    /// Admin, Operator or Monitor.
    role: String,
    /// Limit the client to these customers.
    customers: Option<Vec<String>>,
    /// Limit the client to one channel.
    channelId: Option<i64>,
    /// Register this external issuer's app id (token `azp`/`appid`) instead of making a secret.
    externalAppId: Option<String>,
}

/// Entra-shaped token request (form-urlencoded).
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct TokenRequestDoc {
    /// Must be `client_credentials`.
    grant_type: String,
    client_id: Option<String>,
    client_secret: Option<String>,
    /// Accepted and ignored.
    scope: Option<String>,
}

/// Entra-shaped token answer.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct TokenResponseDoc {
    token_type: String,
    expires_in: u64,
    ext_expires_in: u64,
    access_token: String,
}

/// Entra-shaped OAuth error.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct OAuthErrorDoc {
    /// invalid_client, invalid_request, unsupported_grant_type
    error: String,
    error_description: String,
    error_codes: Vec<u32>,
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "rosterd",
        description = "Microsoft 365 users of every customer tenant, served through the Live Platform v3 contract. Every `/api` route is also served under `/tenantui/api`."
    ),
    paths(
        crate::routes::end_users::list_users,
        crate::routes::end_users::replace_users,
        crate::routes::sync::start_sync,
        crate::routes::directory::list_v3,
        crate::routes::directory::get_v3,
        crate::routes::directory::list_v2,
        crate::routes::directory::get_v2,
        crate::routes::directory::create,
        crate::routes::directory::patch,
        crate::routes::tasks::get_task,
        crate::routes::clients::list,
        crate::routes::clients::create,
        crate::routes::clients::revoke,
        crate::routes::token::token,
        crate::routes::token::token_for_tenant,
        crate::routes::discovery::openid_configuration,
        crate::routes::discovery::tenant_openid_configuration,
        crate::routes::discovery::tenant_openid_configuration_unversioned,
        crate::routes::discovery::jwks,
        crate::routes::discovery::tenant_jwks,
        crate::routes::discovery::authorize_root,
        crate::routes::discovery::authorize_root_post,
        crate::routes::discovery::authorize,
        crate::routes::discovery::authorize_post,
    ),
    components(schemas(EndUserDoc, EndUserPage, crate::error::Problem)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

/// The document served at `/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
