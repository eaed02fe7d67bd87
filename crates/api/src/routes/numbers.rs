//! `GET /api/rosterd/numbers/{number}`: who owns a telephone number, across every customer the
//! caller may see — what a provider's SBC or billing system asks before it routes or charges a
//! call. A number in a customer outside the caller's scope is not found (404), like any other.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::Response;
use domain::EndUser;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::caller::Caller;
use crate::error::ApiResult;
use crate::state::AppState;

#[utoipa::path(
    get,
    path = "/api/rosterd/numbers/{number}",
    tag = "End users",
    summary = "Find the owner of a telephone number",
    description = "The user whose LineURI is this number, in any customer the caller may see (narrowed by `X-Ovoc-Channel-Id`). The number may be written `+14255550123`, `tel:+14255550123`, `14255550123`, with spaces, dashes, dots or parentheses, and with `;ext=123`: a stored number with an extension matches only that extension; a number asked with an extension that no user has falls back to the user holding it without one (the main line). Several owners: the first by customer GUID, then Identity.",
    params(
        ("number" = String, Path, description = "The number, e.g. +14255550123 or tel:+14255550123;ext=123 (at most 64 characters)"),
    ),
    responses(
        (status = 200, description = "The owner", body = NumberOwnerBody),
    ),
    security(("bearer" = []))
)]
pub async fn number_owner(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
) -> ApiResult<Response> {
    let owner = state
        .app
        .number_owner(&caller.principal, caller.channel_filter, &number)
        .await?;
    let mut response = Response::new(owner.to_json().into());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    Ok(response)
}

/// `{"number", "customerGuid", "customerShortName", "user"}`.
pub struct NumberOwnerBody;

impl PartialSchema for NumberOwnerBody {
    fn schema() -> RefOr<Schema> {
        let string = |description: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(description))
        };
        ObjectBuilder::new()
            .property(
                "number",
                string("+digits, with ;ext=N when the owner's number has an extension"),
            )
            .required("number")
            .property("customerGuid", string("The owner's customer (UmpCustomerGuid)"))
            .required("customerGuid")
            .property("customerShortName", string("The customer's short name"))
            .required("customerShortName")
            .property("user", RefOr::Ref(Ref::from_schema_name(EndUser::name())))
            .required("user")
            .into()
    }
}

impl ToSchema for NumberOwnerBody {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((EndUser::name().into(), EndUser::schema()));
    }
}
