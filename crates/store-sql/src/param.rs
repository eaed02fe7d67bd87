//! Statement parameters as backend-neutral values. Each driver binds them in its own storage
//! classes (SQLite: GUIDs as text, times as integer microseconds; PostgreSQL: `uuid`,
//! `timestamptz`). A `None` keeps its type, because PostgreSQL types every parameter.

use chrono::{DateTime, Utc};
use domain::{ClientId, CustomerId};
use uuid::Uuid;

/// One bound value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Param<'a> {
    I64(Option<i64>),
    Bool(Option<bool>),
    Text(Option<&'a str>),
    Bytes(Option<&'a [u8]>),
    Uuid(Option<Uuid>),
    Time(Option<DateTime<Utc>>),
    /// A list of GUIDs, tested with [`Driver::id_in`](crate::Driver::id_in).
    Uuids(Option<&'a [Uuid]>),
}

/// `From` for a value and for its `Option`.
macro_rules! param_from {
    ($variant:ident: $($t:ty),+) => {$(
        impl<'a> From<$t> for Param<'a> {
            fn from(value: $t) -> Self {
                Self::$variant(Some(value))
            }
        }
        impl<'a> From<Option<$t>> for Param<'a> {
            fn from(value: Option<$t>) -> Self {
                Self::$variant(value)
            }
        }
    )+};
}

param_from!(I64: i64);
param_from!(Bool: bool);
param_from!(Text: &'a str);
param_from!(Bytes: &'a [u8]);
param_from!(Uuid: Uuid);
param_from!(Time: DateTime<Utc>);
param_from!(Uuids: &'a [Uuid]);

impl<'a> From<&'a String> for Param<'a> {
    fn from(value: &'a String) -> Self {
        Self::Text(Some(value))
    }
}

impl<'a> From<CustomerId> for Param<'a> {
    fn from(value: CustomerId) -> Self {
        Self::Uuid(Some(value.0))
    }
}

impl<'a> From<Option<CustomerId>> for Param<'a> {
    fn from(value: Option<CustomerId>) -> Self {
        Self::Uuid(value.map(|c| c.0))
    }
}

impl<'a> From<ClientId> for Param<'a> {
    fn from(value: ClientId) -> Self {
        Self::Uuid(Some(value.0))
    }
}

impl<'a> From<Option<ClientId>> for Param<'a> {
    fn from(value: Option<ClientId>) -> Self {
        Self::Uuid(value.map(|c| c.0))
    }
}

/// `[Param; N]` from values: `&params![id, name, at]`.
macro_rules! params {
    ($($value:expr),* $(,)?) => {
        [$($crate::param::Param::from($value)),*]
    };
}
pub(crate) use params;
