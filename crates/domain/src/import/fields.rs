//! The input keys the importer understands (matched ASCII-case-insensitively, as ASP.NET and
//! PowerShell do), the cell of one key in a JSON object or CSV row, and the typed readers that turn
//! a cell into a value or a row error naming the field.

use serde_json::Value;
use uuid::Uuid;

use super::error::RowError;

/// Every key either input shape maps; anything else in a body is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    Identity,
    ObjectId,
    Status,
    SipAddress,
    LineUri,
    HostingProvider,
    HybridPstnSiteName,
    UsageLocation,
    RegistrarPool,
    CallForward,
    WebName,
    UserType,
    PsCount,
    IsManaged,
    Department,
    TenantId,
    UserPrincipalName,
    MsInterpretedUserType,
    EnterpriseVoiceEnabled,
    OnlineVoiceRoutingPolicy,
    OnlinePstnGateway,
    DisplayName,
    InterpretedUserType,
    FeatureTypes,
    TeamsUpgradeEffectiveMode,
}

impl Key {
    pub const COUNT: usize = 25;

    pub const ALL: [Key; Self::COUNT] = [
        Key::Identity,
        Key::ObjectId,
        Key::Status,
        Key::SipAddress,
        Key::LineUri,
        Key::HostingProvider,
        Key::HybridPstnSiteName,
        Key::UsageLocation,
        Key::RegistrarPool,
        Key::CallForward,
        Key::WebName,
        Key::UserType,
        Key::PsCount,
        Key::IsManaged,
        Key::Department,
        Key::TenantId,
        Key::UserPrincipalName,
        Key::MsInterpretedUserType,
        Key::EnterpriseVoiceEnabled,
        Key::OnlineVoiceRoutingPolicy,
        Key::OnlinePstnGateway,
        Key::DisplayName,
        Key::InterpretedUserType,
        Key::FeatureTypes,
        Key::TeamsUpgradeEffectiveMode,
    ];

    /// The key as Live Platform or Get-CsOnlineUser spells it; used in error messages.
    pub fn name(self) -> &'static str {
        match self {
            Key::Identity => "Identity",
            Key::ObjectId => "ObjectId",
            Key::Status => "Status",
            Key::SipAddress => "SipAddress",
            Key::LineUri => "LineURI",
            Key::HostingProvider => "HostingProvider",
            Key::HybridPstnSiteName => "HybridPstnSiteName",
            Key::UsageLocation => "UsageLocation",
            Key::RegistrarPool => "RegistrarPool",
            Key::CallForward => "CallForward",
            Key::WebName => "WebName",
            Key::UserType => "UserType",
            Key::PsCount => "PsCount",
            Key::IsManaged => "IsManaged",
            Key::Department => "Department",
            Key::TenantId => "TenantId",
            Key::UserPrincipalName => "UserPrincipalName",
            Key::MsInterpretedUserType => "MsInterpretedUserType",
            Key::EnterpriseVoiceEnabled => "EnterpriseVoiceEnabled",
            Key::OnlineVoiceRoutingPolicy => "OnlineVoiceRoutingPolicy",
            Key::OnlinePstnGateway => "OnlinePstnGateway",
            Key::DisplayName => "DisplayName",
            Key::InterpretedUserType => "InterpretedUserType",
            Key::FeatureTypes => "FeatureTypes",
            Key::TeamsUpgradeEffectiveMode => "TeamsUpgradeEffectiveMode",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// The key a body's property or column name stands for, if any. Runs for every property of
    /// every user, so it compares lengths before bytes.
    pub fn lookup(name: &str) -> Option<Key> {
        let name = name.trim().as_bytes();
        Self::ALL.iter().copied().find(|key| {
            let known = key.name().as_bytes();
            known.len() == name.len() && known.eq_ignore_ascii_case(name)
        })
    }
}

/// The value of one key in one user.
#[derive(Debug, Clone)]
pub(crate) enum Cell<'a> {
    /// The key is not in the object, or the CSV has no such column.
    Absent,
    /// A JSON value, typed: a string where a boolean belongs is an error. Owned, so that its
    /// strings move into the user instead of being copied.
    Json(Value),
    /// A CSV field: text only, and the empty string stands for null (as Export-Csv writes it).
    Text(&'a str),
}

impl Cell<'_> {
    /// The text of a JSON string or a CSV field; `None` for anything else.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Cell::Json(Value::String(s)) => Some(s),
            Cell::Text(s) => Some(s),
            _ => None,
        }
    }
}

/// One user's keys, whatever the body format. Each key is taken once by a mapper.
pub(crate) trait Fields<'a> {
    fn take(&mut self, key: Key) -> Cell<'a>;

    fn text(&mut self, key: Key) -> Result<Option<String>, RowError> {
        text(self.take(key), key)
    }

    /// A string field where the empty string means "no value".
    fn non_empty_text(&mut self, key: Key) -> Result<Option<String>, RowError> {
        Ok(self.text(key)?.filter(|s| !s.is_empty()))
    }

    fn boolean(&mut self, key: Key) -> Result<Option<bool>, RowError> {
        boolean(self.take(key), key)
    }

    fn integer(&mut self, key: Key) -> Result<Option<i64>, RowError> {
        integer(self.take(key), key)
    }
}

/// Which of the two record shapes a user is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// The 21 keys the endpoint serves (`WebName`, `MsInterpretedUserType`, ...).
    LivePlatform,
    /// Get-CsOnlineUser's properties (`DisplayName`, `InterpretedUserType`, `FeatureTypes`, ...).
    CsOnlineUser,
}

impl Shape {
    /// A record is Get-CsOnlineUser output when it carries one of the properties only that cmdlet
    /// has and none of the two Live Platform renames of them. Everything else, including a record
    /// with only the keys both shapes share (`Identity`, `SipAddress`, ...), is Live Platform.
    pub fn detect(has: impl Fn(Key) -> bool) -> Shape {
        let live = has(Key::WebName) || has(Key::MsInterpretedUserType);
        let cs = has(Key::DisplayName)
            || has(Key::InterpretedUserType)
            || has(Key::FeatureTypes)
            || has(Key::TeamsUpgradeEffectiveMode);
        if cs && !live {
            Shape::CsOnlineUser
        } else {
            Shape::LivePlatform
        }
    }
}

/// A short, safe rendering of a JSON value for messages.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => quote(s),
        Value::Array(_) => "an array".to_string(),
        Value::Object(_) => "an object".to_string(),
    }
}

/// `"text"`, cut at 60 characters so a runaway value cannot flood a message.
pub(crate) fn quote(text: &str) -> String {
    const MAX: usize = 60;
    let mut cut: String = text.chars().take(MAX).collect();
    if text.chars().nth(MAX).is_some() {
        cut.push('…');
    }
    serde_json::to_string(&cut).unwrap_or_default()
}

/// A string field: `None` for absent, null, or an empty CSV field; a JSON `""` stays `""`.
/// Longer than `MAX_FIELD_BYTES` is an error.
pub(crate) fn text(cell: Cell<'_>, key: Key) -> Result<Option<String>, RowError> {
    let value = match cell {
        Cell::Absent | Cell::Json(Value::Null) => None,
        Cell::Json(Value::String(s)) => Some(s),
        Cell::Json(other) => {
            return Err(RowError::field(
                key.name(),
                format!("must be a string or null, got {}", describe(&other)),
            ))
        }
        Cell::Text("") => None,
        Cell::Text(s) => Some(s.to_string()),
    };
    if let Some(text) = &value {
        bounded(text, key)?;
    }
    Ok(value)
}

/// `text` if it fits in `MAX_FIELD_BYTES`.
pub(crate) fn bounded(text: &str, key: Key) -> Result<&str, RowError> {
    if text.len() > super::MAX_FIELD_BYTES {
        Err(RowError::too_long(key.name(), text.len()))
    } else {
        Ok(text)
    }
}

/// A boolean: JSON `true`/`false`; CSV `True`/`False` in any case, as PowerShell writes them.
pub(crate) fn boolean(cell: Cell<'_>, key: Key) -> Result<Option<bool>, RowError> {
    match cell {
        Cell::Absent | Cell::Json(Value::Null) | Cell::Text("") => Ok(None),
        Cell::Json(Value::Bool(b)) => Ok(Some(b)),
        Cell::Json(other) => Err(RowError::field(
            key.name(),
            format!("must be true or false, got {}", describe(&other)),
        )),
        Cell::Text(s) => {
            let trimmed = s.trim();
            if trimmed.eq_ignore_ascii_case("true") {
                Ok(Some(true))
            } else if trimmed.eq_ignore_ascii_case("false") {
                Ok(Some(false))
            } else {
                Err(RowError::field(
                    key.name(),
                    format!("must be True or False, got {}", quote(s)),
                ))
            }
        }
    }
}

/// A whole number: a JSON integer, or CSV digits.
pub(crate) fn integer(cell: Cell<'_>, key: Key) -> Result<Option<i64>, RowError> {
    match cell {
        Cell::Absent | Cell::Json(Value::Null) | Cell::Text("") => Ok(None),
        Cell::Json(Value::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64()),
        Cell::Json(other) => Err(RowError::field(
            key.name(),
            format!("must be a whole number, got {}", describe(&other)),
        )),
        Cell::Text(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| RowError::field(key.name(), format!("must be a whole number, got {}", quote(s)))),
    }
}

/// Parses a GUID field's text; the error names the field.
pub(crate) fn parse_guid(text: &str, key: Key) -> Result<Uuid, RowError> {
    Uuid::parse_str(text.trim()).map_err(|_| {
        RowError::field(
            key.name(),
            format!(
                "must be a GUID such as 04b6aa84-eb73-4f46-ba4a-200f86a2563a, got {}",
                quote(text)
            ),
        )
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_matched_case_insensitively_and_indexed_in_order() {
        assert_eq!(Key::lookup("lineuri"), Some(Key::LineUri));
        assert_eq!(Key::lookup(" Identity "), Some(Key::Identity));
        assert_eq!(Key::lookup("SoftDeletionTimestamp"), None);
        for (i, key) in Key::ALL.iter().enumerate() {
            assert_eq!(key.index(), i);
            assert_eq!(Key::lookup(key.name()), Some(*key));
        }
    }

    #[test]
    fn shape_prefers_live_platform_when_ambiguous() {
        let only = |keys: &'static [Key]| move |k: Key| keys.contains(&k);
        assert_eq!(Shape::detect(only(&[Key::Identity])), Shape::LivePlatform);
        assert_eq!(
            Shape::detect(only(&[Key::Identity, Key::DisplayName])),
            Shape::CsOnlineUser
        );
        assert_eq!(
            Shape::detect(only(&[Key::WebName, Key::DisplayName])),
            Shape::LivePlatform
        );
    }

    #[test]
    fn typed_readers_accept_and_refuse() {
        let err = boolean(Cell::Json(json!("yes")), Key::EnterpriseVoiceEnabled).unwrap_err();
        assert_eq!(
            err.message,
            "field 'EnterpriseVoiceEnabled' must be true or false, got \"yes\""
        );
        assert_eq!(boolean(Cell::Text("TRUE"), Key::IsManaged).unwrap(), Some(true));
        assert_eq!(boolean(Cell::Text(""), Key::IsManaged).unwrap(), None);
        assert!(boolean(Cell::Text("1"), Key::IsManaged).is_err());
        assert_eq!(
            text(Cell::Json(json!(5)), Key::WebName).unwrap_err().message,
            "field 'WebName' must be a string or null, got number 5"
        );
        assert_eq!(text(Cell::Json(json!("")), Key::WebName).unwrap(), Some(String::new()));
        assert_eq!(integer(Cell::Text(" 3 "), Key::PsCount).unwrap(), Some(3));
        assert!(integer(Cell::Json(json!(1.5)), Key::PsCount).is_err());
    }

    #[test]
    fn quotes_are_cut() {
        let long = "x".repeat(100);
        assert_eq!(quote(&long).chars().count(), 63);
    }
}
