//! JSON request bodies, read into the request types the handlers declare (and the OpenAPI
//! document describes): field names match ASCII-case-insensitively, like the original's binder;
//! `null` is the same as absent; a body that is empty, not JSON or not an object gets its own
//! code, and a field of the wrong type is `invalid_field` naming that field.

use axum::body::Bytes;
use domain::ErrorCode;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde_json::{Map, Value};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, SchemaType, Type};
use utoipa::openapi::RefOr;
use utoipa::PartialSchema;

use crate::error::ApiError;

/// Reads a JSON object body into `T`.
pub fn parse<T: DeserializeOwned + PartialSchema>(bytes: &Bytes) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(
            ErrorCode::EmptyBody,
            "the request body is empty; send a JSON object",
        ));
    }
    let fields = match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(fields)) => fields,
        Ok(_) => {
            return Err(ApiError::new(
                ErrorCode::MalformedBody,
                "the request body must be a JSON object",
            ))
        }
        Err(e) => {
            return Err(ApiError::new(
                ErrorCode::MalformedBody,
                format!("the request body is not valid JSON: {e}"),
            ))
        }
    };
    let canonical = canonical_names(fields, &field_names(&T::schema()));
    serde_path_to_error::deserialize(Value::Object(canonical)).map_err(|error| {
        let field = error.path().iter().next().map(|segment| segment.to_string());
        let message = error.inner().to_string();
        match field {
            Some(field) => ApiError::invalid_field(&field, format!("{field}: {message}")),
            None => ApiError::new(ErrorCode::InvalidField, message),
        }
    })
}

/// The property names of an object schema.
fn field_names(schema: &RefOr<Schema>) -> Vec<String> {
    match schema {
        RefOr::T(Schema::Object(object)) => object.properties.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// Renames every key that matches a field name ignoring ASCII case to that name (the first of
/// such keys wins) and drops `null`s.
fn canonical_names(fields: Map<String, Value>, names: &[String]) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in fields {
        if value.is_null() {
            continue;
        }
        let name = names
            .iter()
            .find(|name| name.eq_ignore_ascii_case(&key))
            .cloned()
            .unwrap_or(key);
        out.entry(name).or_insert(value);
    }
    out
}

/// An integer that may come as a JSON number or as a string of digits (the original's clients
/// send both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Int(pub i64);

impl<'de> de::Deserialize<'de> for Int {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IntVisitor;
        impl Visitor<'_> for IntVisitor {
            type Value = Int;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an integer")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Int, E> {
                Ok(Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Int, E> {
                i64::try_from(v).map(Int).map_err(|_| E::custom("must be an integer"))
            }
            /// JSON Schema counts `3.0` as an integer, so it is one here too.
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Int, E> {
                let integral = v.fract() == 0.0 && v.abs() < 1e18;
                integral
                    .then_some(Int(v as i64))
                    .ok_or_else(|| E::custom(format!("must be an integer; got {v}")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Int, E> {
                let digits = v.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\u{b}');
                let unsigned = digits.strip_prefix(['+', '-']).unwrap_or(digits);
                let plain = (1..=MAX_DIGITS).contains(&unsigned.len()) && unsigned.bytes().all(|b| b.is_ascii_digit());
                match plain.then(|| digits.parse::<i64>().ok()).flatten() {
                    Some(n) => Ok(Int(n)),
                    None => Err(E::custom(format!("must be an integer; got '{}'", truncate(v)))),
                }
            }
        }
        deserializer.deserialize_any(IntVisitor)
    }
}

/// Digits of an integer sent as a string (so it always fits an i64).
const MAX_DIGITS: usize = 18;

/// The pattern of an integer sent as a string: ASCII blanks around an optional sign and at most
/// 18 digits (`Int` reads exactly these), narrowed to what `minimum..=maximum` allows where a
/// pattern can say it.
fn integer_text(minimum: Option<i64>, maximum: Option<i64>) -> String {
    const BLANKS: &str = r"[ \t\n\r\f\v]*";
    let number = match (minimum, maximum) {
        (Some(0), Some(max)) if (0..=9).contains(&max) => format!(r"\+?0{{0,17}}[0-{max}]"),
        (Some(min), _) if min >= 0 => r"\+?[0-9]{1,18}".to_string(),
        _ => r"[+-]?[0-9]{1,18}".to_string(),
    };
    format!("^{BLANKS}{number}{BLANKS}$")
}

/// `Int` in `minimum..=maximum` (either bound optional), as a number or a string of digits; or
/// `null`, which is the same as absent.
pub fn int_schema(minimum: Option<i64>, maximum: Option<i64>, description: &str) -> RefOr<Schema> {
    let number = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(minimum.map(|m| m as f64))
        .maximum(maximum.map(|m| m as f64));
    OneOfBuilder::new()
        .item(number)
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(integer_text(minimum, maximum))),
        )
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .description(Some(description))
        .into()
}

/// A string (or `null`) of `min..=max` characters, without control characters.
pub fn text_schema(min: Option<usize>, max: usize, description: &str) -> RefOr<Schema> {
    nullable_string()
        .min_length(min)
        .max_length(Some(max))
        .pattern(Some(r"^[^\u0000-\u001F\u007F-\u009F]*$"))
        .description(Some(description))
        .into()
}

/// A GUID as `uuid` parses it: 32 hex digits, hyphenated or not.
pub const GUID_PATTERN: &str =
    r"^([0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$";

/// A GUID, or blank (or `null`) for none.
pub fn guid_schema(description: &str) -> RefOr<Schema> {
    nullable_string()
        .pattern(Some(
            r"^\s*([0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?\s*$",
        ))
        .description(Some(description))
        .into()
}

fn nullable_string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Null]))
}

pub fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}
