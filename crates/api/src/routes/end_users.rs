//! `GET /api/v3/customer/{customerGuid}/user`: one page of a customer's users, in the Live
//! Platform envelope; and `PUT` on the same path, which replaces the whole set from an export.

use app::{ImportSummary, PageKey};
use axum::body::Body;
use axum::extract::{RawPathParams, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::import::ImportFormat;
use domain::paging::PageEnvelope;
use domain::paging::{DEFAULT_PAGE_NUMBER, DEFAULT_PAGE_SIZE, MAX_PAGE_NUMBER, MAX_PAGE_SIZE, MIN_PAGE_SIZE};
use domain::search::{FILTER_NAMES, MAX_FILTER_CHARS, MAX_SEARCH_CHARS, SEARCH};
use domain::{EndUser, ErrorCode, PageRequest, UserKey, UserQuery};
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{
    AllOfBuilder, ArrayBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{Ref, RefOr, Required};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use crate::caller::{Caller, CustomerGuid};
use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use crate::routes::user_changes::{generation_parameter, GENERATION_HEADER};
use crate::state::AppState;

#[utoipa::path(
    get,
    path = "/api/v3/customer/{customerGuid}/user",
    tag = "End users",
    summary = "Get List of End Users for Service",
    description = "One page of the customer's users, ordered by Identity. With `Search` or any filter, only the matching users are paged and counted (`totalRecords`, `totalPages`); filters combine with AND. Without them the answer is the Live Platform's, byte for byte.",
    params(
        CustomerGuid,
        PageParams,
        FindParams,
        ("If-None-Match" = Option<String>, Header, description = "ETag of a page already held (unfiltered pages only)"),
        ("Generation" = Option<i64>, Query, minimum = 0, description = "Read this generation (from a `Rosterd-Generation` header) instead of the served one, so that every page of a walk comes from one generation; 410 `generation_expired` once it is no longer retained (`--generation-retention`)"),
        ("If-None-Match" = Option<String>, Header, description = "ETag of a page already held"),
    ),
    responses(
        (status = 200, description = "One page of users ordered by Identity; `Rosterd-Generation` names the generation it was read from", body = UsersPageBody,
         headers(("Rosterd-Generation" = i64, description = "The generation this page was read from"))),
        (status = 304, description = "The page is unchanged (ETag matched)"),
    ),
    security(("bearer" = []))
)]
pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
    CustomerGuid(customer): CustomerGuid,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let query = Query::parse(raw.as_deref());
    let page = PageRequest::parse(query.single("PageNumber")?, query.single("PageSize")?).map_err(|e| {
        let code = match e {
            domain::PagingError::PageNumber(_) => ErrorCode::InvalidPageNumber,
            domain::PagingError::PageSize(_) => ErrorCode::InvalidPageSize,
        };
        ApiError::at(code, e.parameter(), e.to_string())
    })?;
    let find = find_query(&query)?;
    if !find.is_empty() {
        // A filtered page: counted over the matches, read from one generation; no ETag (the
        // query would have to be part of it).
        let found = state.app.find_users(&caller.principal, customer, &find, page).await?;
        let mut response = json_response(found.body, "private, no-cache");
        response
            .headers_mut()
            .insert(GENERATION_HEADER, HeaderValue::from(found.generation));
        return Ok(response);
    }
    let pinned = generation_parameter(&query, "Generation")?;
    let page = state
        .app
        .users_page_at(&caller.principal, customer, page, pinned)
        .await?;
    let mut etag = etag_of(&page.key());
    let mut generation = page.key().generation;
    let mut response = if if_none_match(&headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let (key, body) = page.body().await?;
        etag = etag_of(&key);
        generation = key.generation;
        let mut response = Response::new(Body::from(body));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        response
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(GENERATION_HEADER, HeaderValue::from(generation));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    Ok(response)
}

/// `Search` and the filters, each at most once, names matched case-insensitively; a bad value
/// is a 400 naming its parameter.
fn find_query(query: &Query) -> ApiResult<UserQuery> {
    let mut given = Vec::with_capacity(FILTER_NAMES.len() + 1);
    for name in std::iter::once(SEARCH).chain(FILTER_NAMES) {
        given.push((name, query.single(name)?));
    }
    UserQuery::parse(|name| given.iter().find(|(n, _)| *n == name).and_then(|(_, v)| *v))
        .map_err(|e| ApiError::at(ErrorCode::InvalidParameter, e.parameter, e.message))
}

fn json_response(body: impl Into<Body>, cache_control: &'static str) -> Response {
    let mut response = Response::new(body.into());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control));
    response
}

/// `Search` and the exact filters of the user list.
pub struct FindParams;

impl IntoParams for FindParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let text = |name: &str, max: usize, description: &str| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(description))
                .schema(Some(
                    ObjectBuilder::new().schema_type(Type::String).max_length(Some(max)),
                ))
                .build()
        };
        let boolean = |name: &str, description: &str| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(description))
                .schema(Some(ObjectBuilder::new().schema_type(Type::Boolean)))
                .build()
        };
        let exact = |name: &str| {
            text(
                name,
                MAX_FILTER_CHARS,
                &format!("Only users whose {name} equals this, ignoring case; empty matches \"\" and null"),
            )
        };
        vec![
            text(
                SEARCH,
                MAX_SEARCH_CHARS,
                "Case-insensitive substring of WebName, UserPrincipalName or SipAddress; a number (`+1 425 555`, `1425555`) also matches the digits of LineURI. Blank is no search",
            ),
            boolean(
                "EnterpriseVoiceEnabled",
                "Only users with Enterprise Voice on (true) or off (false; null counts as off)",
            ),
            boolean("HasLineUri", "Only users with (true) or without (false) a LineURI"),
            exact("UserType"),
            exact("MsInterpretedUserType"),
            exact("UsageLocation"),
            exact("Department"),
            exact("OnlineVoiceRoutingPolicy"),
        ]
    }
}

#[utoipa::path(
    get,
    path = "/api/v3/customer/{customerGuid}/user/{key}",
    tag = "End users",
    summary = "Get one end user by Identity, UserPrincipalName or SipAddress",
    description = "The user whose Identity (GUID), UserPrincipalName or SipAddress (with or without `sip:`) is `key`, ignoring case, from the generation served now.",
    params(
        CustomerGuid,
        ("key" = String, Path, description = "Identity GUID, UserPrincipalName or SipAddress (at most 512 characters)"),
    ),
    responses(
        (status = 200, description = "The user (the 21 fields)", body = EndUser),
    ),
    security(("bearer" = []))
)]
pub async fn get_user(
    State(state): State<AppState>,
    caller: Caller,
    CustomerGuid(customer): CustomerGuid,
    params: RawPathParams,
) -> ApiResult<Response> {
    let raw = params.iter().find(|(name, _)| *name == "key").map_or("", |(_, v)| v);
    let key = UserKey::parse(raw).map_err(|e| ApiError::at(ErrorCode::InvalidParameter, e.parameter, e.message))?;
    let body = state.app.find_user(&caller.principal, customer, &key).await?;
    Ok(json_response(body, "private, no-cache"))
}

/// `PageNumber` and `PageSize`, as `PageRequest::parse` reads them (names matched
/// case-insensitively, each at most once).
pub struct PageParams;

impl IntoParams for PageParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let int = |name: &str, min: i64, max: i64, default: i64, description: &str| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(description))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                        .minimum(Some(min as f64))
                        .maximum(Some(max as f64))
                        .default(Some(default.into())),
                ))
                .build()
        };
        vec![
            int(
                "PageNumber",
                1,
                MAX_PAGE_NUMBER,
                DEFAULT_PAGE_NUMBER,
                "1-based page number; past the last page the data is empty",
            ),
            int(
                "PageSize",
                MIN_PAGE_SIZE,
                MAX_PAGE_SIZE,
                DEFAULT_PAGE_SIZE,
                "Users per page",
            ),
        ]
    }
}

/// A JSON import body: an array of users, a page envelope whose `data` is that array, or one
/// user object (Live Platform or Get-CsOnlineUser field names); the parser reads each user.
pub struct UsersJson;

impl PartialSchema for UsersJson {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::Array, Type::Object]))
            .description(Some(
                "An array of users, a page envelope whose `data` is that array, or one user (Live Platform or Get-CsOnlineUser fields)",
            ))
            .into()
    }
}

impl ToSchema for UsersJson {}

/// The page `app` renders: the envelope (`domain::paging::PageEnvelope`) around the users
/// (`domain::EndUser`, the 21 keys in the original's order).
pub struct UsersPageBody;

impl PartialSchema for UsersPageBody {
    fn schema() -> RefOr<Schema> {
        let data = ArrayBuilder::new().items(RefOr::Ref(Ref::from_schema_name(EndUser::name())));
        AllOfBuilder::new()
            .item(RefOr::Ref(Ref::from_schema_name(PageEnvelope::name())))
            .item(ObjectBuilder::new().property("data", data).required("data"))
            .into()
    }
}

impl ToSchema for UsersPageBody {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((EndUser::name().into(), EndUser::schema()));
        schemas.push((PageEnvelope::name().into(), PageEnvelope::schema()));
    }
}

fn etag_of(key: &PageKey) -> String {
    format!("\"g{}-p{}-s{}\"", key.generation, key.number, key.size)
}

fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|candidate| candidate == etag || candidate == "*")
}

#[utoipa::path(
    put,
    path = "/api/v3/customer/{customerGuid}/user",
    tag = "End users",
    summary = "Replace the customer's users from an export",
    description = "Replaces the whole user set atomically with the body: a JSON array (or page envelope) of users in the Live Platform shape, `Get-CsOnlineUser | ConvertTo-Json` output, or `Export-Csv` output (`Content-Type: text/csv`). Readers see the old set until the new one is committed. A bad row rejects the whole body.",
    params(
        CustomerGuid,
        ("allowEmpty" = Option<bool>, Query, description = "true: accept a body with no users (removes every user)"),
    ),
    request_body(
        description = "Users as JSON (a Live Platform array or page, or Get-CsOnlineUser output) or as Export-Csv output",
        content(
            (UsersJson = "application/json"),
            (String = "text/csv"),
        )
    ),
    responses(
        (status = 200, description = "The new generation was committed", body = ImportSummary),
    ),
    security(("bearer" = []))
)]
pub async fn replace_users(
    State(state): State<AppState>,
    caller: Caller,
    CustomerGuid(customer): CustomerGuid,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<ImportSummary>> {
    let import = state.app.begin_import(&caller.principal, customer).await?;
    let limit = state.app.config().max_import_bytes;
    let declared_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared_length.is_some_and(|len| len > limit) {
        return Err(ApiError::too_large(limit));
    }
    let allow_empty = Query::parse(raw.as_deref()).flag("allowEmpty")?;
    let format = match headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        None => None,
        Some(ct) => Some(ImportFormat::from_content_type(Some(ct)).ok_or_else(|| {
            ApiError::new(
                ErrorCode::UnsupportedMediaType,
                format!("Content-Type '{ct}' is not supported; send application/json or text/csv"),
            )
        })?),
    };
    let summary = import.from_stream(format, body.into_data_stream(), allow_empty).await?;
    Ok(Json(summary))
}
