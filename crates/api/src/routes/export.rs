//! `GET /api/v3/customer/{customerGuid}/user/export`: every user of the served generation, as
//! CSV (what `Export-Csv -NoTypeInformation` writes), NDJSON or a JSON array, streamed.

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum::response::Response;
use domain::{EndUser, ErrorCode, ExportFormat};
use futures::StreamExt;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::Required;
use utoipa::IntoParams;

use crate::caller::{Caller, CustomerGuid};
use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use crate::routes::user_changes::GENERATION_HEADER;
use crate::state::AppState;

/// How many users an export holds: a client can tell a complete file from a cut one.
pub const USER_COUNT_HEADER: &str = "rosterd-user-count";

#[utoipa::path(
    get,
    path = "/api/v3/customer/{customerGuid}/user/export",
    tag = "End users",
    summary = "Export every user of the service",
    description = "Streams every user of the served generation, in `Identity` order, from that one generation (named in `Rosterd-Generation`) whatever imports or syncs commit meanwhile. \
`format` chooses the format (`csv`, `ndjson`, `json`); without it the `Accept` header does (`text/csv`, `application/x-ndjson`, `application/json`; `*/*` or none: CSV), and an `Accept` naming none of them is 406. \
CSV is what PowerShell's `Export-Csv -NoTypeInformation` writes for the same objects (quoted header of the 21 fields, every value quoted, `\"\"` inside values, `True`/`False`, nothing for null, CRLF), so `PUT .../user` takes the file back unchanged. \
NDJSON is one user object per line; JSON one array of them. \
A response that cannot be completed (its generation stopped being stored while it was read) is cut off: the connection is closed before the end of the chunked body, never ended as if complete.",
    params(CustomerGuid, FormatParam),
    responses(
        (
            status = 200,
            description = "The users, streamed",
            headers(
                ("Rosterd-Generation" = i64, description = "The generation every user comes from"),
                ("Rosterd-User-Count" = i64, description = "How many users the export holds"),
                ("Content-Disposition" = String, description = "attachment; filename=\"users-{customerGuid}-g{generation}.{format}\""),
            ),
            content(
                (String = "text/csv"),
                (String = "application/x-ndjson"),
                (Vec<EndUser> = "application/json"),
            )
        ),
    ),
    security(("bearer" = []))
)]
pub async fn export_users(
    State(state): State<AppState>,
    caller: Caller,
    CustomerGuid(customer): CustomerGuid,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let format = requested_format(&Query::parse(raw.as_deref()), &headers)?;
    let export = state.app.export_users(&caller.principal, customer, format).await?;
    let filename = format!(
        "users-{}-g{}.{}",
        export.customer,
        export.generation,
        format.extension()
    );
    let generation = export.generation;
    let user_count = export.user_count;
    let body = Body::from_stream(export.into_chunks().map(|chunk| chunk.map(|c| c.bytes)));
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        HeaderName::from_static(GENERATION_HEADER),
        HeaderValue::from(generation),
    );
    headers.insert(
        HeaderName::from_static(USER_COUNT_HEADER),
        HeaderValue::from(user_count),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Ok(response)
}

/// `format` when given (400 `invalid_parameter` for an unknown one), else the `Accept` header's
/// choice (406 `not_acceptable` when it names no format).
fn requested_format(query: &Query, headers: &HeaderMap) -> ApiResult<ExportFormat> {
    if let Some(name) = query.single("format")? {
        return ExportFormat::parse(name).ok_or_else(|| {
            ApiError::at(
                ErrorCode::InvalidParameter,
                "format",
                format!(
                    "format must be csv, ndjson or json; got '{}'",
                    name.chars().take(40).collect::<String>()
                ),
            )
        });
    }
    let mut accept = headers.get_all(header::ACCEPT).iter().peekable();
    let joined = match accept.peek() {
        None => None,
        Some(_) => Some(accept.map(|v| v.to_str().unwrap_or("")).collect::<Vec<_>>().join(",")),
    };
    ExportFormat::negotiate(joined.as_deref()).ok_or_else(|| {
        ApiError::at(
            ErrorCode::NotAcceptable,
            "Accept",
            "the export is served as text/csv, application/x-ndjson or application/json \
             (or choose with format=csv|ndjson|json)",
        )
    })
}

/// `format`: which format to export in.
pub struct FormatParam;

impl IntoParams for FormatParam {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let names: Vec<serde_json::Value> = ExportFormat::ALL.iter().map(|f| f.name().into()).collect();
        vec![ParameterBuilder::new()
            .name("format")
            .parameter_in(ParameterIn::Query)
            .required(Required::False)
            .description(Some(
                "csv, ndjson or json; wins over the Accept header (without both: csv)",
            ))
            .schema(Some(
                ObjectBuilder::new().schema_type(Type::String).enum_values(Some(names)),
            ))
            .build()]
    }
}
