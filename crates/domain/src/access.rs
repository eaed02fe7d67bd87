//! Roles and scopes of API clients: what a caller may do, and to which customers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::CustomerId;

/// What a client may do. Ordered by power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Read only.
    Monitor,
    /// Read and write inside its scope.
    Operator,
    /// Everything, including API clients.
    Admin,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role '{0}'; expected Admin, Operator or Monitor")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "admin" => Ok(Self::Admin),
            "operator" => Ok(Self::Operator),
            "monitor" => Ok(Self::Monitor),
            _ => Err(UnknownRole(s.to_string())),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Admin => "Admin",
            Self::Operator => "Operator",
            Self::Monitor => "Monitor",
        })
    }
}

impl Role {
    pub fn can_write(self) -> bool {
        self >= Role::Operator
    }
    pub fn can_manage_clients(self) -> bool {
        self == Role::Admin
    }
}

/// Which customers a client can see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scope {
    /// Every customer of the provider.
    Provider,
    /// The customers of one channel (reseller).
    Channel { channel_id: i64 },
    /// An explicit list of customers.
    Customers { customers: Vec<CustomerId> },
}

impl Scope {
    /// Whether a customer with this id and channel lies inside the scope.
    pub fn allows(&self, customer: CustomerId, channel_id: Option<i64>) -> bool {
        match self {
            Scope::Provider => true,
            Scope::Channel { channel_id: mine } => channel_id == Some(*mine),
            Scope::Customers { customers } => customers.contains(&customer),
        }
    }
}

/// A caller's view of the customer list: its scope, optionally narrowed by `X-Ovoc-Channel-Id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visibility {
    pub scope: Scope,
    pub channel_filter: Option<i64>,
}

impl Visibility {
    pub fn everything() -> Self {
        Self {
            scope: Scope::Provider,
            channel_filter: None,
        }
    }

    pub fn allows(&self, customer: CustomerId, channel_id: Option<i64>) -> bool {
        self.scope.allows(customer, channel_id) && self.channel_filter.is_none_or(|c| channel_id == Some(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_power() {
        assert!(Role::Admin.can_manage_clients());
        assert!(!Role::Operator.can_manage_clients());
        assert!(Role::Operator.can_write());
        assert!(!Role::Monitor.can_write());
        assert_eq!("operator".parse::<Role>().unwrap(), Role::Operator);
    }

    #[test]
    fn scopes() {
        let a = CustomerId::new_random();
        let b = CustomerId::new_random();
        assert!(Scope::Provider.allows(a, None));
        assert!(Scope::Channel { channel_id: 7 }.allows(a, Some(7)));
        assert!(!Scope::Channel { channel_id: 7 }.allows(a, Some(8)));
        assert!(!Scope::Channel { channel_id: 7 }.allows(a, None));
        let list = Scope::Customers { customers: vec![a] };
        assert!(list.allows(a, None));
        assert!(!list.allows(b, None));
        let narrowed = Visibility {
            scope: Scope::Provider,
            channel_filter: Some(3),
        };
        assert!(narrowed.allows(a, Some(3)));
        assert!(!narrowed.allows(a, Some(4)));
    }
}
