//! Page requests and paging math for the end-users list.
//!
//! Users of one generation carry a dense ordinal 1..=N in `Identity` order, so a page is an
//! ordinal window: its cost does not depend on how deep the page is.

use serde::Serialize;

pub const DEFAULT_PAGE_NUMBER: i64 = 1;
pub const DEFAULT_PAGE_SIZE: i64 = 10;
pub const MIN_PAGE_SIZE: i64 = 2;
pub const MAX_PAGE_SIZE: i64 = 10_000;
/// The original is ASP.NET and binds `int`; larger values could never address a page anyway.
pub const MAX_PAGE_NUMBER: i64 = i32::MAX as i64;

/// Which paging parameter was wrong, and what would have been right.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PagingError {
    #[error("PageNumber must be an integer from 1 to {MAX_PAGE_NUMBER}; got '{0}'")]
    PageNumber(String),
    #[error("PageSize must be an integer from {MIN_PAGE_SIZE} to {MAX_PAGE_SIZE}; got '{0}'")]
    PageSize(String),
}

impl PagingError {
    /// The wire name of the parameter at fault.
    pub fn parameter(&self) -> &'static str {
        match self {
            Self::PageNumber(_) => "PageNumber",
            Self::PageSize(_) => "PageSize",
        }
    }
}

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    number: i64,
    size: i64,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            number: DEFAULT_PAGE_NUMBER,
            size: DEFAULT_PAGE_SIZE,
        }
    }
}

impl PageRequest {
    pub fn new(number: i64, size: i64) -> Result<Self, PagingError> {
        if !(1..=MAX_PAGE_NUMBER).contains(&number) {
            return Err(PagingError::PageNumber(number.to_string()));
        }
        if !(MIN_PAGE_SIZE..=MAX_PAGE_SIZE).contains(&size) {
            return Err(PagingError::PageSize(size.to_string()));
        }
        Ok(Self { number, size })
    }

    /// Parses the raw query values (each `None` when absent), applying the defaults.
    pub fn parse(number: Option<&str>, size: Option<&str>) -> Result<Self, PagingError> {
        let number = match number {
            None => DEFAULT_PAGE_NUMBER,
            Some(raw) => parse_int(raw).ok_or_else(|| PagingError::PageNumber(raw.into()))?,
        };
        let size = match size {
            None => DEFAULT_PAGE_SIZE,
            Some(raw) => parse_int(raw).ok_or_else(|| PagingError::PageSize(raw.into()))?,
        };
        Self::new(number, size)
    }

    pub fn number(&self) -> i64 {
        self.number
    }

    pub fn size(&self) -> i64 {
        self.size
    }

    /// The first ordinal (1-based) on this page.
    pub fn first_ordinal(&self) -> i64 {
        // Cannot overflow: number <= 2^31 and size <= 10^4.
        (self.number - 1) * self.size + 1
    }

    /// The envelope for this page of a set of `total_records` users.
    pub fn envelope(&self, total_records: i64) -> PageEnvelope {
        PageEnvelope {
            current_page: self.number,
            page_size: self.size,
            total_pages: total_pages(total_records, self.size),
            total_records,
        }
    }
}

fn parse_int(raw: &str) -> Option<i64> {
    let trimmed = raw.trim();
    // Leading '+' is accepted by ASP.NET's int binder; we mirror it.
    trimmed.parse::<i64>().ok()
}

/// `ceil(total_records / page_size)`; zero records is zero pages.
pub fn total_pages(total_records: i64, page_size: i64) -> i64 {
    if total_records <= 0 || page_size <= 0 {
        return 0;
    }
    (total_records + page_size - 1) / page_size
}

/// The page envelope's scalar fields, in the wire order of the seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PageEnvelope {
    pub current_page: i64,
    pub page_size: i64,
    pub total_pages: i64,
    pub total_records: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn seed_example_math() {
        let page = PageRequest::default();
        let env = page.envelope(37);
        assert_eq!(
            (env.current_page, env.page_size, env.total_pages, env.total_records),
            (1, 10, 4, 37)
        );
    }

    #[test]
    fn rejects_out_of_range_values() {
        for (n, s) in [("0", "10"), ("-1", "10"), ("abc", "10"), ("1.5", "10")] {
            assert_eq!(
                PageRequest::parse(Some(n), Some(s)).unwrap_err().parameter(),
                "PageNumber"
            );
        }
        for s in ["0", "1", "10001", "-5", "x", ""] {
            assert_eq!(PageRequest::parse(None, Some(s)).unwrap_err().parameter(), "PageSize");
        }
        assert!(PageRequest::parse(Some("2147483648"), None).is_err());
    }

    #[test]
    fn accepts_bounds() {
        assert!(PageRequest::parse(Some("1"), Some("2")).is_ok());
        assert!(PageRequest::parse(Some("2147483647"), Some("10000")).is_ok());
    }

    proptest! {
        #[test]
        fn pages_cover_every_record_once(total in 0i64..100_000, size in MIN_PAGE_SIZE..=MAX_PAGE_SIZE) {
            let pages = total_pages(total, size);
            prop_assert!(pages * size >= total);
            prop_assert!(pages == 0 || (pages - 1) * size < total);
            if pages > 0 {
                let last = PageRequest::new(pages, size).unwrap();
                prop_assert!(last.first_ordinal() <= total);
                prop_assert!(last.first_ordinal() + size > total);
            }
        }

        #[test]
        fn windows_are_disjoint_and_adjacent(n in 1i64..1_000_000, size in MIN_PAGE_SIZE..=MAX_PAGE_SIZE) {
            let a = PageRequest::new(n, size).unwrap();
            let b = PageRequest::new(n + 1, size).unwrap();
            prop_assert_eq!(a.first_ordinal() + size, b.first_ordinal());
        }
    }
}
