//! Reading JSON request bodies field by field, so every mistake is answered with the name of
//! the field at fault instead of a generic deserializer message.

use axum::body::Bytes;
use serde_json::{Map, Value};

use domain::ErrorCode;

use crate::error::ApiError;

/// A JSON object body. Field names match ASCII-case-insensitively, like the original's binder.
pub struct JsonObject {
    fields: Map<String, Value>,
}

impl JsonObject {
    pub fn parse(bytes: &Bytes) -> Result<Self, ApiError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::new(
                ErrorCode::EmptyBody,
                "the request body is empty; send a JSON object",
            ));
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(fields)) => Ok(Self { fields }),
            Ok(_) => Err(ApiError::new(
                ErrorCode::MalformedBody,
                "the request body must be a JSON object",
            )),
            Err(e) => Err(ApiError::new(
                ErrorCode::MalformedBody,
                format!("the request body is not valid JSON: {e}"),
            )),
        }
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
            .filter(|v| !v.is_null())
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn string(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(type_error(name, "a string", other)),
        }
    }

    pub fn integer(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| type_error(name, "an integer", &Value::Number(n.clone()))),
            // The original's clients sometimes send numbers as strings; accept exact integers.
            Some(Value::String(s)) => s
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| type_error(name, "an integer", &Value::String(s.clone()))),
            Some(other) => Err(type_error(name, "an integer", other)),
        }
    }

    pub fn guid(&self, name: &str) -> Result<Option<uuid::Uuid>, ApiError> {
        match self.string(name)? {
            None => Ok(None),
            Some(s) if s.trim().is_empty() => Ok(None),
            Some(s) => uuid::Uuid::parse_str(s.trim())
                .map(Some)
                .map_err(|_| ApiError::invalid_field(name, format!("{name} must be a GUID; got '{}'", truncate(&s)))),
        }
    }

    pub fn object(&self, name: &str) -> Result<Option<JsonObject>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(JsonObject { fields: map.clone() })),
            Some(other) => Err(type_error(name, "an object", other)),
        }
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

fn type_error(name: &str, expected: &str, got: &Value) -> ApiError {
    let kind = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    ApiError::invalid_field(name, format!("{name} must be {expected}; got {kind}"))
}

impl JsonObject {
    /// A list of strings; absent is empty.
    pub fn string_list(&self, name: &str) -> Result<Vec<String>, ApiError> {
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(type_error(name, "a list of strings", other)),
                })
                .collect(),
            Some(other) => Err(type_error(name, "a list of strings", other)),
        }
    }
}
