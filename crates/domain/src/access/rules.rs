//! The authorization rules, in one place: who (a `Principal`) may read or change which customer,
//! create services where, change which fields of a service, and see, create or revoke which API
//! clients. Each rule answers `Authorized` or says why not (`Denied`).

use super::grant::{Access, Authorized, SystemScope, Unchecked, Write};
use super::{Role, Scope, Visibility};
use crate::ids::{AccountId, ClientId, CustomerId};
use crate::service::{NewService, Service};

/// The fields of a service that connect it to a Microsoft 365 tenant or bill it: changed only by
/// provider- or channel-scoped Operators and Admins. A customer-scoped client re-pointing its own
/// service at another tenant would copy that tenant's users (one multi-tenant app registration
/// often serves every customer); the expiry date belongs to the secret it describes.
pub const CONNECTION_FIELDS: [&str; 6] = [
    "msTenantId",
    "applicationClientId",
    "applicationClientSecret",
    "clientSecretExpirationDate",
    "licenseType",
    "licensedUsersCount",
];

/// Why a principal may not do something.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// Outside the principal's scope: answered as if it did not exist, so nothing leaks.
    #[error("not visible to this client")]
    NotVisible,
    #[error("this operation needs the {needed} role; the client has {has}")]
    Role { needed: Role, has: Role },
    /// What was asked for reaches outside the principal's own scope.
    #[error("{message}")]
    ScopeTooWide {
        field: Option<&'static str>,
        message: String,
    },
    /// A field only provider- or channel-scoped clients may change.
    #[error("only provider- or channel-scoped Operators and Admins may change {field}")]
    Field { field: &'static str },
    /// A client with a role above the principal's own.
    #[error("a {has} client cannot create a client with the {asked} role")]
    RoleTooHigh { asked: Role, has: Role },
    /// Provider-wide figures or records need a provider-scoped client.
    #[error("this needs a provider-scoped client; the client is {kind}-scoped")]
    ProviderScopeNeeded { kind: &'static str },
}

/// An authenticated API client, as its stored record describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientPrincipal {
    pub client: ClientId,
    pub role: Role,
    pub scope: Scope,
}

/// A person signed in to the web console, as their stored account describes them: the same
/// roles and scopes as an API client, decided by the same rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountPrincipal {
    pub account: AccountId,
    pub name: String,
    pub role: Role,
    pub scope: Scope,
}

/// Whoever acts: an API client, a console account, or rosterd itself under a named system scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Client(ClientPrincipal),
    Account(AccountPrincipal),
    System(SystemScope),
}

static PROVIDER: Scope = Scope::Provider;

impl Principal {
    pub fn role(&self) -> Role {
        match self {
            Principal::Client(client) => client.role,
            Principal::Account(account) => account.role,
            Principal::System(_) => Role::Admin,
        }
    }

    pub fn scope(&self) -> &Scope {
        match self {
            Principal::Client(client) => &client.scope,
            Principal::Account(account) => &account.scope,
            Principal::System(_) => &PROVIDER,
        }
    }

    /// The API client acting, if any (for audit records).
    pub fn client(&self) -> Option<ClientId> {
        match self {
            Principal::Client(client) => Some(client.client),
            Principal::Account(_) | Principal::System(_) => None,
        }
    }

    /// The console account acting, if any (for audit records).
    pub fn account(&self) -> Option<&AccountPrincipal> {
        match self {
            Principal::Account(account) => Some(account),
            Principal::Client(_) | Principal::System(_) => None,
        }
    }

    /// The customers this principal may list, narrowed to one channel by `channel_filter`.
    pub fn visibility(&self, channel_filter: Option<i64>) -> Visibility {
        Visibility {
            scope: self.scope().clone(),
            channel_filter,
        }
    }

    /// At least `needed`.
    pub fn require(&self, needed: Role) -> Result<(), Denied> {
        let has = self.role();
        if has >= needed {
            Ok(())
        } else {
            Err(Denied::Role { needed, has })
        }
    }

    /// Provider scope.
    pub fn require_provider_scope(&self) -> Result<(), Denied> {
        match self.scope() {
            Scope::Provider => Ok(()),
            other => Err(Denied::ProviderScopeNeeded { kind: other.kind() }),
        }
    }

    /// Access `A` to a stored service: first the scope (outside it, the service does not exist
    /// for this principal), then the role.
    pub fn authorize<A: Access>(
        &self,
        service: Unchecked<Service>,
    ) -> Result<(Authorized<CustomerId, A>, Service), Denied> {
        let visible = {
            let service = service.peek();
            self.scope().allows(service.id, service.channel_id)
        };
        if !visible {
            return Err(Denied::NotVisible);
        }
        self.require(A::NEEDS)?;
        let service = service.open();
        Ok((Authorized::new(service.id), service))
    }

    /// Creating a service: Operators and Admins, in their own channel when channel-scoped
    /// (a missing channel becomes theirs); customer-scoped clients create none.
    pub fn authorize_new_service(&self, mut new: NewService) -> Result<Authorized<NewService, Write>, Denied> {
        self.require(Role::Operator)?;
        match self.scope() {
            Scope::Provider => {}
            Scope::Channel { channel_id: mine } => match new.channel_id {
                Some(asked) if asked != *mine => {
                    return Err(Denied::ScopeTooWide {
                        field: Some("channelId"),
                        message: format!("this client may only create services in channel {mine}"),
                    })
                }
                _ => new.channel_id = Some(*mine),
            },
            Scope::Customers { .. } => {
                return Err(Denied::ScopeTooWide {
                    field: None,
                    message: "a customer-scoped client cannot create services".to_string(),
                })
            }
        }
        Ok(Authorized::new(new))
    }

    /// Whether the principal may change the service fields named in `fields` (wire names); the
    /// first refused one otherwise. Role and scope of the service itself are checked by
    /// [`authorize`](Self::authorize).
    pub fn may_change_fields<'a>(&self, fields: impl IntoIterator<Item = &'a str>) -> Result<(), Denied> {
        if !matches!(self.scope(), Scope::Customers { .. }) {
            return Ok(());
        }
        for field in fields {
            if let Some(guarded) = CONNECTION_FIELDS.iter().find(|g| g.eq_ignore_ascii_case(field)) {
                return Err(Denied::Field { field: guarded });
            }
        }
        Ok(())
    }

    /// Client administration at all: Admins only.
    pub fn require_client_admin(&self) -> Result<(), Denied> {
        self.require(Role::Admin)
    }

    /// Whether a client with `scope` lies inside this principal's scope (see [`Scope::covers`]);
    /// `in_scope` tells whether a customer lies inside this principal's scope.
    pub fn covers(&self, scope: &Scope, in_scope: impl Fn(CustomerId) -> bool) -> bool {
        self.scope().covers(scope, in_scope)
    }

    /// Creating (or registering) a client with `role` and `scope`: an Admin, a role no higher
    /// than its own, a scope inside its own whose customers all exist (`in_scope` answers false
    /// for a customer this principal cannot see, existing or not). Only a provider-scoped
    /// principal creates provider-scoped clients.
    pub fn authorize_new_client<T>(
        &self,
        role: Role,
        scope: &Scope,
        in_scope: impl Fn(CustomerId) -> bool,
        value: T,
    ) -> Result<Authorized<T, Write>, Denied> {
        self.require_client_admin()?;
        let has = self.role();
        if role > has {
            return Err(Denied::RoleTooHigh { asked: role, has });
        }
        let unknown = match scope {
            Scope::Customers { customers } => customers.iter().find(|c| !in_scope(**c)).copied(),
            _ => None,
        };
        if let Some(customer) = unknown {
            return Err(Denied::ScopeTooWide {
                field: Some("customers"),
                message: format!("customer {customer} does not exist or lies outside this client's scope"),
            });
        }
        if !self.covers(scope, &in_scope) {
            let field = match (scope, self.scope()) {
                (Scope::Customers { .. }, _) => "customers",
                (_, Scope::Channel { .. }) | (Scope::Channel { .. }, _) => "channelId",
                _ => "customers",
            };
            return Err(Denied::ScopeTooWide {
                field: Some(field),
                message: format!(
                    "a {}-scoped client can only create clients inside its own scope; this one asked for a {} scope",
                    self.scope().kind(),
                    scope.kind()
                ),
            });
        }
        Ok(Authorized::new(value))
    }

    /// Revoking an existing client with `scope`: an Admin whose scope covers it; any other client
    /// does not exist for this principal.
    pub fn authorize_client(
        &self,
        client: ClientId,
        scope: &Scope,
        in_scope: impl Fn(CustomerId) -> bool,
    ) -> Result<Authorized<ClientId, Write>, Denied> {
        self.authorize_holder(client, scope, in_scope)
    }

    /// Changing an existing holder of a role and scope (an API client, a console account):
    /// an Admin whose scope covers it; any other does not exist for this principal.
    pub fn authorize_holder<T>(
        &self,
        holder: T,
        scope: &Scope,
        in_scope: impl Fn(CustomerId) -> bool,
    ) -> Result<Authorized<T, Write>, Denied> {
        self.require_client_admin()?;
        if self.covers(scope, in_scope) {
            Ok(Authorized::new(holder))
        } else {
            Err(Denied::NotVisible)
        }
    }

    /// Opens a stored record owned by one customer (a task) for a principal authorized for that
    /// customer, or, when it belongs to the provider, for a provider-scoped Admin.
    pub fn open_owned<T: Owned, A: Access>(
        &self,
        record: Unchecked<T>,
        customer: Option<&Authorized<CustomerId, A>>,
    ) -> Result<T, Denied> {
        match (record.peek().owner(), customer) {
            (Some(owner), Some(grant)) if owner == **grant => Ok(record.open()),
            (Some(_), _) => Err(Denied::NotVisible),
            (None, _) => {
                self.require_provider_scope().map_err(|_| Denied::NotVisible)?;
                self.require(Role::Admin).map_err(|_| Denied::NotVisible)?;
                Ok(record.open())
            }
        }
    }
}

/// A stored record that belongs to one customer, or (owner `None`) to the provider.
pub trait Owned {
    fn owner(&self) -> Option<CustomerId>;
}

impl<T: Owned> Unchecked<T> {
    /// The customer the record belongs to: what an authorization needs to look at, nothing else.
    pub fn owner(&self) -> Option<CustomerId> {
        self.peek().owner()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::license::LicenseType;
    use crate::service::ShortName;

    fn client(role: Role, scope: Scope) -> Principal {
        Principal::Client(ClientPrincipal {
            client: ClientId::new_random(),
            role,
            scope,
        })
    }

    fn service(channel: Option<i64>) -> Service {
        Service {
            id: CustomerId::new_random(),
            short_name: "svc".into(),
            full_name: "svc".into(),
            license_type: LicenseType::HostedPro,
            licensed_users_count: None,
            channel_id: channel,
            ovoc_customer_type: None,
            tenant_id: None,
            default_domain: None,
            app_client_id: None,
            app_client_secret_sealed: None,
            app_client_secret_hint: None,
            secret_expires_at: None,
            site_locations: Vec::new(),
            generation: 0,
            user_count: 0,
            created_at: chrono::Utc::now(),
            sync: Default::default(),
        }
    }

    #[test]
    fn scope_before_role() {
        let monitor = client(Role::Monitor, Scope::Channel { channel_id: 7 });
        let outside = service(Some(8));
        assert_eq!(
            monitor.authorize::<Write>(Unchecked::new(outside)).unwrap_err(),
            Denied::NotVisible
        );
        let inside = service(Some(7));
        let id = inside.id;
        assert!(matches!(
            monitor.authorize::<Write>(Unchecked::new(inside.clone())),
            Err(Denied::Role { .. })
        ));
        let (grant, _) = monitor.authorize::<super::super::Read>(Unchecked::new(inside)).unwrap();
        assert_eq!(*grant, id);
    }

    #[test]
    fn accounts_follow_the_same_rules_as_clients() {
        let account = Principal::Account(AccountPrincipal {
            account: AccountId::new_random(),
            name: "noc".into(),
            role: Role::Monitor,
            scope: Scope::Channel { channel_id: 7 },
        });
        assert_eq!(account.role(), Role::Monitor);
        assert_eq!(account.client(), None);
        assert_eq!(
            account
                .authorize::<Write>(Unchecked::new(service(Some(8))))
                .unwrap_err(),
            Denied::NotVisible
        );
        assert!(matches!(
            account.authorize::<Write>(Unchecked::new(service(Some(7)))),
            Err(Denied::Role { .. })
        ));
        assert!(account
            .authorize::<super::super::Read>(Unchecked::new(service(Some(7))))
            .is_ok());
        assert!(account.require_client_admin().is_err());
    }

    #[test]
    fn connection_fields_need_a_wider_scope() {
        let customer = client(Role::Admin, Scope::Customers { customers: vec![] });
        assert_eq!(
            customer.may_change_fields(["customerFullName", "MSTENANTID"]),
            Err(Denied::Field { field: "msTenantId" })
        );
        assert!(customer
            .may_change_fields(["customerFullName", "msDefaultDomain"])
            .is_ok());
        let channel = client(Role::Operator, Scope::Channel { channel_id: 1 });
        assert!(channel.may_change_fields(CONNECTION_FIELDS).is_ok());
    }

    #[test]
    fn new_services_stay_in_the_channel() {
        let new = NewService {
            id: CustomerId::new_random(),
            short_name: ShortName::parse("abc").unwrap(),
            full_name: "abc".into(),
            license_type: LicenseType::HostedPro,
            licensed_users_count: None,
            channel_id: None,
            ovoc_customer_type: None,
            tenant_id: None,
            default_domain: None,
            site_locations: Vec::new(),
        };
        let channel = client(Role::Operator, Scope::Channel { channel_id: 7 });
        assert_eq!(channel.authorize_new_service(new.clone()).unwrap().channel_id, Some(7));
        let elsewhere = NewService {
            channel_id: Some(8),
            ..new.clone()
        };
        assert!(matches!(
            channel.authorize_new_service(elsewhere),
            Err(Denied::ScopeTooWide { .. })
        ));
        let customer = client(Role::Admin, Scope::Customers { customers: vec![] });
        assert!(customer.authorize_new_service(new.clone()).is_err());
        assert!(client(Role::Monitor, Scope::Provider)
            .authorize_new_service(new)
            .is_err());
    }

    #[test]
    fn clients_are_created_inside_the_scope_only() {
        let a = CustomerId::new_random();
        let b = CustomerId::new_random();
        let channel_admin = client(Role::Admin, Scope::Channel { channel_id: 7 });
        let in_seven = |c: CustomerId| c == a;
        let ok = |scope: Scope| {
            channel_admin
                .authorize_new_client(Role::Admin, &scope, in_seven, ())
                .is_ok()
        };
        assert!(ok(Scope::Channel { channel_id: 7 }));
        assert!(ok(Scope::Customers { customers: vec![a] }));
        assert!(!ok(Scope::Provider));
        assert!(!ok(Scope::Channel { channel_id: 8 }));
        assert!(!ok(Scope::Customers { customers: vec![a, b] }));
        let operator = client(Role::Operator, Scope::Provider);
        assert!(matches!(
            operator.authorize_new_client(Role::Monitor, &Scope::Provider, |_| true, ()),
            Err(Denied::Role { .. })
        ));
        // A provider admin cannot name customers that do not exist either.
        let provider = client(Role::Admin, Scope::Provider);
        assert!(provider
            .authorize_new_client(Role::Admin, &Scope::Customers { customers: vec![b] }, in_seven, ())
            .is_err());
        assert_eq!(
            channel_admin
                .authorize_client(ClientId::new_random(), &Scope::Provider, in_seven)
                .unwrap_err(),
            Denied::NotVisible
        );
    }
}
