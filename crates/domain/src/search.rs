//! Finding users: the `Search` text and the exact filters of the end-users list, and the key of
//! one user (`Identity`, `UserPrincipalName` or `SipAddress`). Parsing and matching rules only;
//! the application layer keeps the index they run over.
//!
//! Rules (README, "Finding users"):
//! - `Search` is a case-insensitive substring of `WebName`, `UserPrincipalName` or `SipAddress`;
//!   when it reads as a number (digits with `+`, spaces, dashes, dots, parentheses, an optional
//!   `tel:`), it also matches the digits of `LineURI`, so `+1 425 555` finds
//!   `tel:+14255550123`. Blank `Search` is no search.
//! - Filters are exact and case-insensitive; an empty value matches `""` and `null`.
//!   `EnterpriseVoiceEnabled=false` also matches `null` (not enabled), `HasLineUri` is whether
//!   `LineURI` holds anything.
//! - Everything combines with AND.

use uuid::Uuid;

use crate::EndUser;

/// Longest `Search` text, in characters.
pub const MAX_SEARCH_CHARS: usize = 256;
/// Longest filter value, in characters.
pub const MAX_FILTER_CHARS: usize = 256;
/// Longest user key (a UPN or SIP address), in characters.
pub const MAX_KEY_CHARS: usize = 512;

/// The search parameter's wire name.
pub const SEARCH: &str = "Search";

/// The filters' wire names, in the order they are documented.
pub const FILTER_NAMES: [&str; 7] = [
    "EnterpriseVoiceEnabled",
    "HasLineUri",
    "UserType",
    "MsInterpretedUserType",
    "UsageLocation",
    "Department",
    "OnlineVoiceRoutingPolicy",
];

/// A text column a filter compares with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TextColumn {
    UserType,
    MsInterpretedUserType,
    UsageLocation,
    Department,
    OnlineVoiceRoutingPolicy,
}

impl TextColumn {
    pub const ALL: [TextColumn; 5] = [
        Self::UserType,
        Self::MsInterpretedUserType,
        Self::UsageLocation,
        Self::Department,
        Self::OnlineVoiceRoutingPolicy,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::UserType => "UserType",
            Self::MsInterpretedUserType => "MsInterpretedUserType",
            Self::UsageLocation => "UsageLocation",
            Self::Department => "Department",
            Self::OnlineVoiceRoutingPolicy => "OnlineVoiceRoutingPolicy",
        }
    }

    /// The user's value of this column (`None` for `null`).
    pub fn of(self, user: &EndUser) -> Option<&str> {
        match self {
            Self::UserType => user.user_type.as_deref(),
            Self::MsInterpretedUserType => user.ms_interpreted_user_type.as_deref(),
            Self::UsageLocation => user.usage_location.as_deref(),
            Self::Department => user.department.as_deref(),
            Self::OnlineVoiceRoutingPolicy => Some(user.online_voice_routing_policy.as_str()),
        }
    }
}

/// One exact filter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Filter {
    EnterpriseVoiceEnabled(bool),
    HasLineUri(bool),
    /// The column's value, folded (see [`fold`]); empty matches `""` and `null`.
    Text(TextColumn, String),
}

/// Why a parameter was refused; names the parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct QueryError {
    pub parameter: &'static str,
    pub message: String,
}

impl QueryError {
    fn new(parameter: &'static str, message: impl Into<String>) -> Self {
        Self {
            parameter,
            message: message.into(),
        }
    }
}

/// A normalized search and filter set. Two requests that mean the same thing (other case, other
/// order, blanks around the search) normalize to the same value, so they share cached results.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct UserQuery {
    /// Folded search text; `None` when there is no search.
    search: Option<String>,
    /// The digits of the search when it reads as a number.
    search_digits: Option<String>,
    /// At most one per filter name, sorted.
    filters: Vec<Filter>,
}

/// Case folding used on both sides of every comparison.
pub fn fold(text: &str) -> String {
    text.to_lowercase()
}

fn no_control(parameter: &'static str, value: &str) -> Result<(), QueryError> {
    if value.chars().any(char::is_control) {
        return Err(QueryError::new(
            parameter,
            format!("{parameter} must not hold control characters"),
        ));
    }
    Ok(())
}

fn boolean(parameter: &'static str, value: &str) -> Result<bool, QueryError> {
    match value.trim() {
        v if v.eq_ignore_ascii_case("true") => Ok(true),
        v if v.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(QueryError::new(
            parameter,
            format!(
                "{parameter} must be true or false; got '{}'",
                value.chars().take(32).collect::<String>()
            ),
        )),
    }
}

/// The digits of a search text that reads as a number (`+1 425 555`, `tel:+1425`, `(425) 555`).
fn number_digits(text: &str) -> Option<String> {
    let text = text.trim();
    let text = match text.get(..4) {
        Some(prefix) if prefix.eq_ignore_ascii_case("tel:") => &text[4..],
        _ => text,
    };
    let mut digits = String::new();
    for c in text.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' | '+' => {}
            _ => return None,
        }
    }
    (!digits.is_empty()).then_some(digits)
}

impl UserQuery {
    /// Reads the parameters as a lookup gives them: `get(name)` is the single raw value of that
    /// parameter (names matched case-insensitively by the caller), `None` when absent.
    pub fn parse<'a>(mut get: impl FnMut(&'static str) -> Option<&'a str>) -> Result<Self, QueryError> {
        let mut query = Self::default();
        if let Some(raw) = get(SEARCH) {
            if raw.chars().count() > MAX_SEARCH_CHARS {
                return Err(QueryError::new(
                    SEARCH,
                    format!("Search must be at most {MAX_SEARCH_CHARS} characters"),
                ));
            }
            no_control(SEARCH, raw)?;
            let trimmed = raw.trim();
            if !trimmed.is_empty() {
                query.search = Some(fold(trimmed));
                query.search_digits = number_digits(trimmed);
            }
        }
        for name in FILTER_NAMES {
            let Some(raw) = get(name) else { continue };
            if raw.chars().count() > MAX_FILTER_CHARS {
                return Err(QueryError::new(
                    name,
                    format!("{name} must be at most {MAX_FILTER_CHARS} characters"),
                ));
            }
            no_control(name, raw)?;
            let filter = match name {
                "EnterpriseVoiceEnabled" => Filter::EnterpriseVoiceEnabled(boolean(name, raw)?),
                "HasLineUri" => Filter::HasLineUri(boolean(name, raw)?),
                _ => {
                    let column = TextColumn::ALL
                        .into_iter()
                        .find(|c| c.name() == name)
                        .ok_or_else(|| QueryError::new(name, "unknown filter"))?;
                    Filter::Text(column, fold(raw.trim()))
                }
            };
            query.filters.push(filter);
        }
        query.filters.sort();
        Ok(query)
    }

    /// A query from `NAME=VALUE` pairs and a search (the command line).
    pub fn from_pairs(search: Option<&str>, pairs: &[(String, String)]) -> Result<Self, QueryError> {
        for (name, _) in pairs {
            if !FILTER_NAMES.iter().any(|n| n.eq_ignore_ascii_case(name)) && !name.eq_ignore_ascii_case(SEARCH) {
                return Err(QueryError::new(
                    "filter",
                    format!(
                        "unknown filter '{}'; filters are {}",
                        name.chars().take(64).collect::<String>(),
                        FILTER_NAMES.join(", ")
                    ),
                ));
            }
        }
        let mut repeated = None;
        let query = Self::parse(|name| {
            if name == SEARCH {
                if let Some(search) = search {
                    return Some(search);
                }
            }
            let mut found = pairs.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name));
            let first = found.next();
            if found.next().is_some() {
                repeated = Some(name);
            }
            first.map(|(_, v)| v.as_str())
        })?;
        if let Some(name) = repeated {
            return Err(QueryError::new(name, format!("{name} given more than once")));
        }
        Ok(query)
    }

    /// Neither a search nor a filter: the plain list.
    pub fn is_empty(&self) -> bool {
        self.search.is_none() && self.filters.is_empty()
    }

    /// The folded search text.
    pub fn search(&self) -> Option<&str> {
        self.search.as_deref()
    }

    /// The digits the search compares with `LineURI`, when it reads as a number.
    pub fn search_digits(&self) -> Option<&str> {
        self.search_digits.as_deref()
    }

    pub fn filters(&self) -> &[Filter] {
        &self.filters
    }

    /// Whether `user` is matched; the reference the index is tested against.
    pub fn matches(&self, user: &EndUser) -> bool {
        let text_hit = |needle: &str| {
            [
                user.web_name.as_deref(),
                user.user_principal_name.as_deref(),
                user.sip_address.as_deref(),
            ]
            .into_iter()
            .flatten()
            .any(|field| fold(field).contains(needle))
        };
        if let Some(search) = &self.search {
            let digit_hit = self
                .search_digits
                .as_deref()
                .is_some_and(|digits| line_digits(user.line_uri.as_deref()).is_some_and(|line| line.contains(digits)));
            if !text_hit(search) && !digit_hit {
                return false;
            }
        }
        self.filters.iter().all(|filter| match filter {
            Filter::EnterpriseVoiceEnabled(wanted) => user.enterprise_voice_enabled.unwrap_or(false) == *wanted,
            Filter::HasLineUri(wanted) => has_line_uri(user.line_uri.as_deref()) == *wanted,
            Filter::Text(column, value) => fold(column.of(user).unwrap_or("").trim()) == *value,
        })
    }
}

/// Whether a `LineURI` holds a number (not `null`, not blank).
pub fn has_line_uri(line_uri: Option<&str>) -> bool {
    line_uri.is_some_and(|l| !l.trim().is_empty())
}

/// The digits of a stored `LineURI` (`tel:+1 (425) 555-0123;ext=9` → `14255550123`), without
/// its extension; `None` when it holds none. Lenient, unlike [`crate::LineNumber::parse`]: a
/// stored value is searched by whatever digits it has.
pub fn line_digits(line_uri: Option<&str>) -> Option<String> {
    let line = line_uri?;
    let number = line.split(';').next().unwrap_or_default();
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    (!digits.is_empty()).then_some(digits)
}

/// How a user is named in `GET .../user/{key}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserKey {
    Identity(Uuid),
    /// A folded UPN or SIP address (without `sip:`): either may match.
    Name(String),
}

impl UserKey {
    /// An `Identity` GUID, else a UPN or SIP address (with or without `sip:`, any case).
    pub fn parse(raw: &str) -> Result<Self, QueryError> {
        let raw = raw.trim();
        if raw.is_empty() || raw.chars().count() > MAX_KEY_CHARS || raw.chars().any(char::is_control) {
            return Err(QueryError::new(
                "key",
                format!("the user key must be an Identity GUID, a UserPrincipalName or a SipAddress of at most {MAX_KEY_CHARS} characters"),
            ));
        }
        if let Ok(id) = Uuid::parse_str(raw) {
            return Ok(Self::Identity(id));
        }
        let folded = fold(raw);
        let name = folded.strip_prefix("sip:").unwrap_or(&folded).to_string();
        if name.is_empty() {
            return Err(QueryError::new("key", "the user key 'sip:' names no one"));
        }
        Ok(Self::Name(name))
    }

    /// Whether `user` is the one named; the reference the index is tested against.
    pub fn matches(&self, user: &EndUser) -> bool {
        match self {
            Self::Identity(id) => user.identity == *id,
            Self::Name(name) => {
                user.user_principal_name
                    .as_deref()
                    .is_some_and(|upn| fold(upn) == *name)
                    || user.sip_address.as_deref().is_some_and(|sip| {
                        let sip = fold(sip);
                        sip.strip_prefix("sip:").unwrap_or(&sip) == name
                    })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> Result<UserQuery, QueryError> {
        UserQuery::parse(|name| {
            pairs
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        })
    }

    fn user() -> EndUser {
        let mut user = EndUser::new(Uuid::from_u128(7));
        user.web_name = Some("Ada Lovelace".into());
        user.user_principal_name = Some("Ada@Contoso.com".into());
        user.sip_address = Some("sip:ada@contoso.com".into());
        user.line_uri = Some("tel:+14255550123;ext=77".into());
        user.department = Some("Sales".into());
        user.usage_location = None;
        user.enterprise_voice_enabled = None;
        user
    }

    #[test]
    fn search_is_a_case_insensitive_substring_of_names_and_line_digits() {
        let u = user();
        for text in [
            "lovelace",
            "ADA@",
            "contoso.COM",
            "+1 425 555",
            "1425555",
            "tel:+1425",
            "(425) 555-01",
            "0123",
        ] {
            assert!(query(&[("Search", text)]).unwrap().matches(&u), "{text}");
        }
        for text in ["lovelacex", "777", "+1 425 556", "ext=77"] {
            assert!(!query(&[("Search", text)]).unwrap().matches(&u), "{text}");
        }
    }

    #[test]
    fn blank_search_is_no_search() {
        assert!(query(&[("Search", "  ")]).unwrap().is_empty());
        assert!(query(&[]).unwrap().is_empty());
    }

    #[test]
    fn filters_are_exact_case_insensitive_and_empty_matches_null() {
        let u = user();
        let hit = |pairs: &[(&str, &str)]| query(pairs).unwrap().matches(&u);
        assert!(hit(&[("Department", "sales")]));
        assert!(!hit(&[("Department", "sale")]));
        assert!(hit(&[("UsageLocation", "")]), "null matches empty");
        assert!(hit(&[("OnlineVoiceRoutingPolicy", "")]), "\"\" matches empty");
        assert!(!hit(&[("Department", "")]));
        assert!(hit(&[("EnterpriseVoiceEnabled", "FALSE")]), "null is not enabled");
        assert!(!hit(&[("EnterpriseVoiceEnabled", "true")]));
        assert!(hit(&[("HasLineUri", "true")]));
        assert!(hit(&[
            ("HasLineUri", "true"),
            ("Department", "Sales"),
            ("Search", "ada")
        ]));
        assert!(!hit(&[
            ("HasLineUri", "true"),
            ("Department", "Sales"),
            ("Search", "bob")
        ]));
    }

    #[test]
    fn bad_values_name_their_parameter() {
        for (name, value) in [
            ("EnterpriseVoiceEnabled", "yes"),
            ("HasLineUri", ""),
            ("Search", "a\u{0}b"),
            ("Department", "x\ny"),
        ] {
            assert_eq!(query(&[(name, value)]).unwrap_err().parameter, name, "{name}={value:?}");
        }
        let long = "x".repeat(MAX_SEARCH_CHARS + 1);
        assert_eq!(query(&[("Search", &long)]).unwrap_err().parameter, "Search");
        assert!(query(&[("Search", &long[1..])]).is_ok());
        let long = "x".repeat(MAX_FILTER_CHARS + 1);
        assert_eq!(query(&[("UserType", &long)]).unwrap_err().parameter, "UserType");
    }

    #[test]
    fn equal_meaning_normalizes_equal() {
        let a = query(&[("Search", " Ada "), ("Department", "SALES"), ("HasLineUri", "true")]).unwrap();
        let b = query(&[("HasLineUri", "True"), ("department", "sales"), ("search", "ada")]).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn pairs_from_the_command_line() {
        let pairs = vec![("department".to_string(), "Sales".to_string())];
        let q = UserQuery::from_pairs(Some("ada"), &pairs).unwrap();
        assert!(q.matches(&user()));
        let bad = vec![("Colour".to_string(), "red".to_string())];
        assert_eq!(UserQuery::from_pairs(None, &bad).unwrap_err().parameter, "filter");
        let twice = vec![
            ("Department".to_string(), "a".to_string()),
            ("department".to_string(), "b".to_string()),
        ];
        assert_eq!(UserQuery::from_pairs(None, &twice).unwrap_err().parameter, "Department");
    }

    #[test]
    fn line_digits_are_lenient() {
        assert_eq!(
            line_digits(Some("tel:+1 (425) 555-0123;ext=9")).as_deref(),
            Some("14255550123")
        );
        assert_eq!(line_digits(Some("")), None);
        assert_eq!(line_digits(None), None);
        assert!(!has_line_uri(Some("  ")));
    }

    #[test]
    fn keys_are_identity_upn_or_sip() {
        let u = user();
        let id = u.identity.to_string();
        for key in [
            id.as_str(),
            "ada@contoso.com",
            "ADA@CONTOSO.COM",
            "sip:ada@contoso.com",
            "SIP:Ada@contoso.com",
        ] {
            assert!(UserKey::parse(key).unwrap().matches(&u), "{key}");
        }
        assert_eq!(
            UserKey::parse(&id.to_uppercase()).unwrap(),
            UserKey::Identity(u.identity)
        );
        assert!(!UserKey::parse("ada").unwrap().matches(&u));
        for bad in ["", "sip:", "a\u{7}b", &"x".repeat(MAX_KEY_CHARS + 1)] {
            assert!(UserKey::parse(bad).is_err(), "{bad:?}");
        }
    }
}
