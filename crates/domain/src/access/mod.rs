//! Authorization, decided once: roles and scopes of API clients and console accounts, the rules for who may read or
//! change which customer, which fields of a service and which API clients, and the proof of a
//! decision (`Authorized`) that every store operation on one customer's data requires. Pure: the
//! callers load what the rules look at. Shared by every adapter (HTTP, CLI, sync engine).

mod grant;
mod rules;

pub use grant::{Access, Authorized, Read, SystemScope, Unchecked, Write};
pub use rules::{AccountPrincipal, ClientPrincipal, Denied, Owned, Principal, CONNECTION_FIELDS};

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
    /// Every role, weakest first.
    pub const ALL: [Role; 3] = [Role::Monitor, Role::Operator, Role::Admin];
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
    /// The scope a request names: a list of customers wins over a channel; neither is the whole
    /// provider. (Whether the requester may hand it out is [`Principal::authorize_new_client`]'s
    /// question.)
    pub fn requested(customers: Vec<CustomerId>, channel_id: Option<i64>) -> Scope {
        if !customers.is_empty() {
            Scope::Customers { customers }
        } else if let Some(channel_id) = channel_id {
            Scope::Channel { channel_id }
        } else {
            Scope::Provider
        }
    }

    /// Whether a customer with this id and channel lies inside the scope.
    pub fn allows(&self, customer: CustomerId, channel_id: Option<i64>) -> bool {
        match self {
            Scope::Provider => true,
            Scope::Channel { channel_id: mine } => channel_id == Some(*mine),
            Scope::Customers { customers } => customers.contains(&customer),
        }
    }

    /// Whether `other` lies inside this scope: nobody hands out what it does not hold. Only the
    /// provider scope covers the provider scope; a channel covers itself and lists of its own
    /// customers; a customer list covers its sub-lists. `in_scope` tells whether a customer lies
    /// inside this scope (for a channel, that needs the customer's channel, which the caller
    /// looks up); an empty customer list is covered by nothing but the provider.
    pub fn covers(&self, other: &Scope, in_scope: impl Fn(CustomerId) -> bool) -> bool {
        match (self, other) {
            (Scope::Provider, _) => true,
            (_, Scope::Provider) => false,
            (Scope::Channel { channel_id: mine }, Scope::Channel { channel_id: theirs }) => mine == theirs,
            (Scope::Customers { .. }, Scope::Channel { .. }) => false,
            (_, Scope::Customers { customers }) => {
                !customers.is_empty() && customers.iter().all(|customer| in_scope(*customer))
            }
        }
    }

    /// The kind of scope, for messages and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Scope::Provider => "provider",
            Scope::Channel { .. } => "channel",
            Scope::Customers { .. } => "customer",
        }
    }
}

/// A caller's view of the customer list: its scope, optionally narrowed by `X-Ovoc-Channel-Id`.
/// Made only by [`Principal::visibility`], so a store listing is always some principal's view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visibility {
    scope: Scope,
    channel_filter: Option<i64>,
}

impl Visibility {
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    pub fn channel_filter(&self) -> Option<i64> {
        self.channel_filter
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
        let narrowed = SystemScope::new("test").principal().visibility(Some(3));
        assert!(narrowed.allows(a, Some(3)));
        assert!(!narrowed.allows(a, Some(4)));
    }

    #[test]
    fn requested_scopes() {
        let a = CustomerId::new_random();
        assert_eq!(
            Scope::requested(vec![a], Some(7)),
            Scope::Customers { customers: vec![a] }
        );
        assert_eq!(Scope::requested(vec![], Some(7)), Scope::Channel { channel_id: 7 });
        assert_eq!(Scope::requested(vec![], None), Scope::Provider);
    }

    #[test]
    fn scope_coverage() {
        let a = CustomerId::new_random();
        let b = CustomerId::new_random();
        let seven = Scope::Channel { channel_id: 7 };
        let only_a = Scope::Customers { customers: vec![a] };
        let both = Scope::Customers { customers: vec![a, b] };
        let in_seven = |c: CustomerId| c == a;
        assert!(Scope::Provider.covers(&Scope::Provider, |_| false));
        assert!(Scope::Provider.covers(&both, |_| false));
        assert!(!seven.covers(&Scope::Provider, |_| true));
        assert!(seven.covers(&seven, in_seven));
        assert!(!seven.covers(&Scope::Channel { channel_id: 8 }, in_seven));
        assert!(seven.covers(&only_a, in_seven));
        assert!(!seven.covers(&both, in_seven), "b is in another channel");
        assert!(!only_a.covers(&seven, |_| true));
        assert!(only_a.covers(&only_a, |c| c == a));
        assert!(!only_a.covers(&both, |c| c == a));
        assert!(!only_a.covers(&Scope::Customers { customers: vec![] }, |_| true));
    }
}
