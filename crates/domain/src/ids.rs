//! Identifier newtypes, parsed once at the boundary.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Why a textual id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{value}' is not a valid GUID")]
pub struct IdError {
    pub value: String,
}

fn parse_guid(text: &str) -> Result<Uuid, IdError> {
    Uuid::parse_str(text.trim()).map_err(|_| IdError {
        value: text.chars().take(64).collect(),
    })
}

macro_rules! guid_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn new_random() -> Self {
                Self(Uuid::new_v4())
            }
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_guid(s).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // Lower-case hyphenated, as the Live Platform prints GUIDs.
                write!(f, "{}", self.0.hyphenated())
            }
        }
    };
}

guid_newtype!(
    /// A service's `UmpCustomerGuid`.
    CustomerId
);
guid_newtype!(
    /// An API client's id (the OAuth `client_id`).
    ClientId
);
guid_newtype!(
    /// A console account's id (a person signing in to the web console).
    AccountId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_any_case_and_prints_lower() {
        let id: CustomerId = "04B6AA84-EB73-4F46-BA4A-200F86A2563A".parse().unwrap();
        assert_eq!(id.to_string(), "04b6aa84-eb73-4f46-ba4a-200f86a2563a");
    }

    #[test]
    fn rejects_garbage() {
        assert!("not-a-guid".parse::<CustomerId>().is_err());
        assert!("".parse::<CustomerId>().is_err());
    }
}
