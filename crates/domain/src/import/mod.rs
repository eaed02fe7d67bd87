//! Streaming parsers for the bodies that replace a customer's users (`PUT
//! /api/v3/customer/{guid}/user`, `rosterd import`): Live Platform JSON (an array or a saved page
//! envelope), `Get-CsOnlineUser | ConvertTo-Json` output, and `Export-Csv` output.
//!
//! Each user is handed to a sink as soon as it is parsed; nothing is collected, so a
//! million-user body parses in bounded memory. The parsers stop at the first bad user and say
//! which row and field; deciding what to do with the users already handed out (nothing is
//! committed before the parse succeeds) and detecting duplicate identities is the caller's job.
//!
//! Both formats accept both record shapes, told apart per JSON object or by the CSV header (see
//! [`fields::Shape::detect`]); keys are matched ASCII-case-insensitively and unknown keys are
//! ignored. A UTF-8 byte-order mark is dropped and UTF-16 is transcoded.

mod body;
mod budget;
mod cs_online_user;
mod csv_rows;
mod error;
mod fields;
mod json_stream;
mod live_platform;

use std::io::Read;

pub use error::ImportError;

use crate::end_user::EndUser;
use body::{significant_bytes, Body};
use error::RowError;
use fields::{Fields, Shape};

/// Longest value of one field of one user, in bytes (UTF-8): ample for every one of the 21
/// fields (Entra caps display names at 256 characters), small enough that no page re-renders
/// megabytes for one user.
pub const MAX_FIELD_BYTES: usize = 4 * 1024;

/// Largest user record in a body, in bytes as sent (a JSON object, a CSV line), ignored
/// properties included: the parsers hold at most about this much of the body at once.
pub const MAX_ROW_BYTES: usize = 64 * 1024;

/// The syntax of an import body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    Json,
    Csv,
}

impl ImportFormat {
    /// The format a `Content-Type` names: `application/json`, `text/json`, any `+json` type;
    /// `text/csv`, `application/csv`, `text/comma-separated-values`. Parameters (`charset`) and
    /// case are ignored. `None` for anything else (`text/plain`, `application/octet-stream`):
    /// sniff the body then.
    pub fn from_content_type(content_type: Option<&str>) -> Option<Self> {
        let essence = content_type?.split(';').next()?.trim().to_ascii_lowercase();
        match essence.as_str() {
            "application/json" | "text/json" => Some(Self::Json),
            "text/csv" | "application/csv" | "text/comma-separated-values" => Some(Self::Csv),
            other if other.starts_with("application/") && other.ends_with("+json") => Some(Self::Json),
            _ => None,
        }
    }

    /// Guesses the format from the first bytes of a body (after any byte-order mark and
    /// whitespace): `[` or `{` is JSON; `"`, `#` (a `#TYPE` line) or a letter is a CSV header.
    /// `None` when the bytes are only whitespace or start otherwise.
    pub fn sniff(first_bytes: &[u8]) -> Option<Self> {
        let first = significant_bytes(first_bytes).find(|b| !b.is_ascii_whitespace())?;
        match first {
            b'[' | b'{' => Some(Self::Json),
            b'"' | b'#' | b'_' => Some(Self::Csv),
            b if b.is_ascii_alphabetic() => Some(Self::Csv),
            _ => None,
        }
    }
}

/// Parses a whole body, calling `sink(row, user)` for each user as soon as it is parsed. `row` is
/// the 1-based position of the user in the JSON array (1 for a single object) or the 1-based CSV
/// data row. Returns the number of users handed to the sink.
///
/// Memory is bounded by the largest single user, not by the body: a 1,000,000-user body parses
/// as well as a ten-user one.
pub fn parse_users<R, E>(
    format: ImportFormat,
    reader: R,
    mut sink: impl FnMut(u64, EndUser) -> Result<(), E>,
) -> Result<u64, ImportError<E>>
where
    R: Read,
{
    let body = Body::new(reader);
    match format {
        ImportFormat::Json => json_stream::parse(body, &mut sink),
        ImportFormat::Csv => csv_rows::parse(body, &mut sink),
    }
}

/// Like [`parse_users`], choosing the format from `content_type` or, when that names none, from
/// the body's first bytes (see [`ImportFormat::sniff`]).
pub fn parse_users_detect<R, E>(
    content_type: Option<&str>,
    reader: R,
    mut sink: impl FnMut(u64, EndUser) -> Result<(), E>,
) -> Result<u64, ImportError<E>>
where
    R: Read,
{
    const SNIFF_LIMIT: usize = 64 * 1024;
    let mut body = Body::new(reader);
    let format = match ImportFormat::from_content_type(content_type) {
        Some(format) => format,
        None => {
            let head = body
                .peek(SNIFF_LIMIT, |bytes| ImportFormat::sniff(bytes).is_some())
                .map_err(ImportError::Io)?;
            match ImportFormat::sniff(head) {
                Some(format) => format,
                None if !body.saw_content() && body.decoded_all() => return Err(ImportError::Empty),
                None => {
                    return Err(ImportError::NotUsers {
                        message: "cannot tell whether the body is JSON or CSV from its start: \
                                  send it with Content-Type application/json or text/csv"
                            .to_string(),
                    })
                }
            }
        }
    };
    match format {
        ImportFormat::Json => json_stream::parse(body, &mut sink),
        ImportFormat::Csv => csv_rows::parse(body, &mut sink),
    }
}

/// Maps one user in the given shape.
fn map_user<'a>(shape: Shape, user: &mut impl Fields<'a>) -> Result<EndUser, RowError> {
    match shape {
        Shape::LivePlatform => live_platform::to_end_user(user),
        Shape::CsOnlineUser => cs_online_user::to_end_user(user),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        let ct = |s| ImportFormat::from_content_type(Some(s));
        assert_eq!(ct("application/json"), Some(ImportFormat::Json));
        assert_eq!(ct("Application/JSON; charset=utf-8"), Some(ImportFormat::Json));
        assert_eq!(ct("application/problem+json"), Some(ImportFormat::Json));
        assert_eq!(ct("text/csv; charset=utf-8"), Some(ImportFormat::Csv));
        assert_eq!(ct("application/csv"), Some(ImportFormat::Csv));
        assert_eq!(ct("text/plain"), None);
        assert_eq!(ct("application/octet-stream"), None);
        assert_eq!(ImportFormat::from_content_type(None), None);
    }

    #[test]
    fn sniffing() {
        assert_eq!(ImportFormat::sniff(b" \r\n[{}]"), Some(ImportFormat::Json));
        assert_eq!(ImportFormat::sniff(b"\xEF\xBB\xBF{"), Some(ImportFormat::Json));
        assert_eq!(ImportFormat::sniff(b"\xFF\xFE[\0{\0"), Some(ImportFormat::Json));
        assert_eq!(ImportFormat::sniff(b"#TYPE x\n"), Some(ImportFormat::Csv));
        assert_eq!(ImportFormat::sniff(b"\"Identity\",\"x\""), Some(ImportFormat::Csv));
        assert_eq!(ImportFormat::sniff(b"Identity,WebName"), Some(ImportFormat::Csv));
        assert_eq!(ImportFormat::sniff(b"  \n"), None);
        assert_eq!(ImportFormat::sniff(b"42"), None);
        assert_eq!(ImportFormat::sniff(b""), None);
    }
}
