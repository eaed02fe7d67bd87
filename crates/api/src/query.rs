//! Query-string access the way ASP.NET binds it: names match ASCII-case-insensitively, and a
//! parameter given twice is an error rather than a silent pick.

use domain::ErrorCode;

use crate::error::ApiError;

/// Parsed query pairs of one request.
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        Self { pairs }
    }

    /// The single value of `name`, `None` when absent, 400 `repeated_parameter` when repeated.
    pub fn single(&self, name: &str) -> Result<Option<&str>, ApiError> {
        let mut found = self.pairs.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name));
        let first = found.next();
        if found.next().is_some() {
            return Err(ApiError::at(
                ErrorCode::RepeatedParameter,
                name,
                format!("query parameter {name} must be given at most once"),
            ));
        }
        Ok(first.map(|(_, v)| v.as_str()))
    }

    /// A boolean flag such as `allDetails=true`; absent is false.
    pub fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.single(name)? {
            None => Ok(false),
            Some(v) if v.eq_ignore_ascii_case("true") || v == "1" => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") || v == "0" || v.is_empty() => Ok(false),
            Some(v) => Err(ApiError::at(
                ErrorCode::InvalidParameter,
                name,
                format!("query parameter {name} must be true or false; got '{v}'"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_case_insensitive() {
        let q = Query::parse(Some("pagenumber=2&PAGESIZE=5"));
        assert_eq!(q.single("PageNumber").unwrap(), Some("2"));
        assert_eq!(q.single("PageSize").unwrap(), Some("5"));
        assert_eq!(q.single("Other").unwrap(), None);
    }

    #[test]
    fn repeats_are_refused() {
        let q = Query::parse(Some("PageSize=5&pageSize=6"));
        assert_eq!(q.single("PageSize").unwrap_err().code(), "repeated_parameter");
    }
}
