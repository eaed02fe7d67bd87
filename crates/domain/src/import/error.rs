//! Why an import body was refused, with the row, field and position a provider engineer needs to
//! fix the file, and a stable code for problem+json.

use std::fmt;

use crate::error_code::ErrorCode;

/// Why a body could not be imported. `E` is the sink's own error, passed through untouched.
#[derive(Debug, thiserror::Error)]
pub enum ImportError<E> {
    /// One user has a bad value. `row` is the 1-based position of the user in the JSON array
    /// (1 for a single object), or the 1-based CSV data row (the header and a `#TYPE` line do not
    /// count); the message says which, and names the field as the body spells it.
    #[error("{message}")]
    Row {
        row: u64,
        field: Option<String>,
        message: String,
        /// `InvalidUserRow`, `FieldTooLong` or `RowTooLarge`.
        code: ErrorCode,
    },
    /// The body is not well-formed JSON or CSV, or it ends early. `line` is 1-based; `column` is
    /// known for JSON only.
    #[error("{message} (line {line}{})", column.map(|c| format!(", column {c}")).unwrap_or_default())]
    Syntax {
        line: u64,
        column: Option<u64>,
        message: String,
    },
    /// No body, or only whitespace (and maybe a byte-order mark).
    #[error(
        "the body is empty: send users as a JSON array, a page envelope, Get-CsOnlineUser JSON or Export-Csv output"
    )]
    Empty,
    /// Well-formed, but not users: a JSON number, an object with neither user keys nor `data`, a
    /// CSV without an `Identity` column, ...
    #[error("{message}")]
    NotUsers { message: String },
    /// The sink refused a user; nothing after it was parsed.
    #[error("{0}")]
    Sink(E),
    /// Reading the body failed.
    #[error("reading the body failed: {0}")]
    Io(#[source] std::io::Error),
}

impl<E> ImportError<E> {
    /// A stable snake_case code for problem+json.
    /// `None` for the sink's own error, which has codes of its own.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Row { code, .. } => Some(*code),
            Self::Syntax { .. } => Some(ErrorCode::MalformedBody),
            Self::Empty => Some(ErrorCode::EmptyBody),
            Self::NotUsers { .. } => Some(ErrorCode::UnsupportedBody),
            Self::Sink(_) => None,
            Self::Io(_) => Some(ErrorCode::BodyReadFailed),
        }
    }

    /// The offending field, as the body spells it (`EnterpriseVoiceEnabled`, `DisplayName`, ...).
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Row { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    /// The 1-based row of the offending user, for row errors.
    pub fn row(&self) -> Option<u64> {
        match self {
            Self::Row { row, .. } => Some(*row),
            _ => None,
        }
    }

    /// The 1-based line of a syntax error.
    pub fn line(&self) -> Option<u64> {
        match self {
            Self::Syntax { line, .. } => Some(*line),
            _ => None,
        }
    }
}

/// A bad value in one user, before the parser knows where the user sits in the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RowError {
    pub field: Option<&'static str>,
    /// Reads after "row N (...): ", e.g. `field 'WebName' must be a string or null, got number 5`.
    pub message: String,
    pub code: ErrorCode,
}

impl RowError {
    pub fn field(field: &'static str, message: impl fmt::Display) -> Self {
        Self {
            field: Some(field),
            message: format!("field '{field}' {message}"),
            code: ErrorCode::InvalidUserRow,
        }
    }

    pub fn whole(message: impl Into<String>) -> Self {
        Self {
            field: None,
            message: message.into(),
            code: ErrorCode::InvalidUserRow,
        }
    }

    /// A field longer than [`MAX_FIELD_BYTES`](super::MAX_FIELD_BYTES).
    pub fn too_long(field: &'static str, bytes: usize) -> Self {
        Self {
            field: Some(field),
            message: format!(
                "field '{field}' is {bytes} bytes long; the limit is {} bytes",
                super::MAX_FIELD_BYTES
            ),
            code: ErrorCode::FieldTooLong,
        }
    }

    /// A user larger than [`MAX_ROW_BYTES`](super::MAX_ROW_BYTES); `field` is the one being read
    /// when the limit was reached, when known.
    pub fn too_large(field: Option<&'static str>) -> Self {
        let within = field.map(|f| format!(" (reached in field '{f}')")).unwrap_or_default();
        Self {
            field,
            message: format!(
                "the user is larger than the limit of {} bytes{within}",
                super::MAX_ROW_BYTES
            ),
            code: ErrorCode::RowTooLarge,
        }
    }

    /// Places the error at `row` of a body, described by `location`.
    pub fn at<E>(self, row: u64, location: Location) -> ImportError<E> {
        let place = match location {
            Location::JsonArray => format!("user #{row} in the JSON array"),
            Location::JsonObject => "the single user object".to_string(),
            Location::Csv { line } => format!("CSV data row {row}, line {line}"),
        };
        ImportError::Row {
            row,
            field: self.field.map(str::to_string),
            message: format!("row {row} ({place}): {}", self.message),
            code: self.code,
        }
    }
}

/// Where a user sits in the body, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Location {
    JsonArray,
    JsonObject,
    Csv { line: u64 },
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn row_errors_name_row_field_and_location() {
        let err: ImportError<String> =
            RowError::field("EnterpriseVoiceEnabled", "must be true or false, got \"yes\"").at(17, Location::JsonArray);
        assert_eq!(err.code(), Some(ErrorCode::InvalidUserRow));
        assert_eq!(err.field(), Some("EnterpriseVoiceEnabled"));
        assert_eq!(err.row(), Some(17));
        assert_eq!(
            err.to_string(),
            "row 17 (user #17 in the JSON array): field 'EnterpriseVoiceEnabled' must be true or false, got \"yes\""
        );
        let csv: ImportError<String> = RowError::whole("x").at(3, Location::Csv { line: 5 });
        assert_eq!(csv.to_string(), "row 3 (CSV data row 3, line 5): x");
    }

    #[test]
    fn syntax_errors_show_position() {
        let err: ImportError<String> = ImportError::Syntax {
            line: 2,
            column: Some(7),
            message: "bad".into(),
        };
        assert_eq!(err.to_string(), "bad (line 2, column 7)");
        assert_eq!(err.code(), Some(ErrorCode::MalformedBody));
        let csv: ImportError<String> = ImportError::Syntax {
            line: 4,
            column: None,
            message: "bad".into(),
        };
        assert_eq!(csv.to_string(), "bad (line 4)");
    }
}
