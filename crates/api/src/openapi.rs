//! The OpenAPI document, built from the route table: each route's own annotation (parameters,
//! request body, success answers, taken from the types the handler really parses and returns),
//! plus its error answers, generated from the error codes the table lists for it and the one
//! status table of `error::status_of`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use domain::ErrorCode;
use utoipa::openapi::path::{HttpMethod, Parameter, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::Required;
use utoipa::openapi::{ContentBuilder, OpenApi, RefOr, Response, ResponseBuilder};
use utoipa::{OpenApi as _, ToSchema};

use crate::error::{status_of, Problem, PROBLEM_JSON};
use crate::route_table::{route_table, Route, TimeLimit};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "rosterd",
        description = "Microsoft 365 users of every customer tenant, served through the Live Platform v3 contract. Every `/api` route is also served under `/tenantui/api`. Errors are RFC 9457 problem+json bodies with a stable `code`; each answer lists the codes it may carry."
    ),
    components(schemas(Problem))
)]
struct Base;

/// The document served at `/openapi.json` (built once).
pub fn document() -> OpenApi {
    static DOCUMENT: OnceLock<OpenApi> = OnceLock::new();
    DOCUMENT.get_or_init(build).clone()
}

fn build() -> OpenApi {
    let mut doc = Base::openapi();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .build(),
        ),
    );
    for route in route_table() {
        add(&mut doc, route);
    }
    doc
}

fn add(doc: &mut OpenApi, route: Route) {
    let components = doc.components.get_or_insert_with(Default::default);
    for (name, schema) in route.schemas.iter().cloned() {
        components.schemas.entry(name).or_insert(schema);
    }
    let mut operation = route.operation.clone();
    for parameter in operation.parameters.iter_mut().flatten() {
        not_null(parameter);
    }
    if route.errors.contains(&ErrorCode::InvalidChannelId) {
        operation.parameters.get_or_insert_with(Vec::new).push(channel_header());
    }
    for (status, response) in error_responses(&route) {
        operation.responses.responses.entry(status).or_insert(response.into());
    }
    let method = match route.method.as_str() {
        "GET" => HttpMethod::Get,
        "PUT" => HttpMethod::Put,
        "POST" => HttpMethod::Post,
        "DELETE" => HttpMethod::Delete,
        _ => HttpMethod::Patch,
    };
    let path = route.documented_path();
    let item = PathItem::new(method, operation);
    match doc.paths.paths.get_mut(&path) {
        Some(existing) => existing.merge_operations(item),
        None => {
            doc.paths.paths.insert(path, item);
        }
    }
}

/// A query parameter or header is absent or has a value: an optional one is not "nullable" (a
/// client sending the text `null` gets a 400 like for any other bad value).
fn not_null(parameter: &mut Parameter) {
    if let Some(RefOr::T(Schema::Object(object))) = parameter.schema.as_mut() {
        if let SchemaType::Array(types) = &object.schema_type {
            let kept: Vec<Type> = types.iter().filter(|t| **t != Type::Null).cloned().collect();
            if let [only] = kept.as_slice() {
                object.schema_type = SchemaType::Type(only.clone());
            }
        }
    }
}

/// `X-Ovoc-Channel-Id`, which every authenticated route reads (it narrows lists).
fn channel_header() -> Parameter {
    ParameterBuilder::new()
        .name("X-Ovoc-Channel-Id")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some("Narrows lists to this channel's services"))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64))),
        ))
        .build()
}

/// One problem+json answer per status the route's error codes map to, naming the codes.
fn error_responses(route: &Route) -> BTreeMap<String, Response> {
    let mut codes = route.errors.clone();
    if route.time_limit == TimeLimit::Request {
        codes.push(ErrorCode::RequestTimeout);
    }
    codes.push(ErrorCode::InternalError);
    let mut by_status: BTreeMap<u16, Vec<ErrorCode>> = BTreeMap::new();
    for code in codes {
        let listed = by_status.entry(status_of(code).as_u16()).or_default();
        if !listed.contains(&code) {
            listed.push(code);
        }
    }
    by_status
        .into_iter()
        .map(|(status, codes)| {
            let names: Vec<String> = codes.iter().map(|c| format!("`{c}`")).collect();
            let response = ResponseBuilder::new()
                .description(format!("Problem: {}", names.join(", ")))
                .content(
                    PROBLEM_JSON,
                    ContentBuilder::new()
                        .schema(Some(RefOr::Ref(
                            utoipa::openapi::Ref::from_schema_name(Problem::name()),
                        )))
                        .build(),
                )
                .build();
            (status.to_string(), response)
        })
        .collect()
}
