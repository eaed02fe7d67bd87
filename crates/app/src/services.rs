//! The service directory: list and read services within the principal's scope, create one, and
//! change its license and secure connection (proven at once by requesting a token from the
//! customer's tenant).

use chrono::{DateTime, Utc};
use domain::access::{Access, Authorized, Principal, Write, CONNECTION_FIELDS};
use domain::service::{secret_hint, SecretChange};
use domain::{CustomerId, LicenseType, NewService, Role, Service, ServicePatch};
use sync::ConnectionOutcome;

use crate::error::{AppError, AppResult};
use crate::App;

/// A change to a service as a request asks for it: `None` leaves a field as it is. Every value
/// is already valid on its own (lengths, formats); the rules between them and the stored service
/// are applied here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceChange {
    pub full_name: Option<String>,
    pub license_type: Option<LicenseType>,
    pub licensed_users_count: Option<i64>,
    pub tenant_id: Option<uuid::Uuid>,
    pub default_domain: Option<String>,
    pub app_client_id: Option<String>,
    /// A new application client secret, in clear (sealed before it is stored).
    pub app_client_secret: Option<String>,
    pub secret_expires_at: Option<DateTime<Utc>>,
}

impl ServiceChange {
    /// The wire names of the fields this change sets, in the API's order.
    pub fn named_fields(&self) -> Vec<&'static str> {
        [
            ("customerFullName", self.full_name.is_some()),
            ("licenseType", self.license_type.is_some()),
            ("licensedUsersCount", self.licensed_users_count.is_some()),
            ("msTenantId", self.tenant_id.is_some()),
            ("msDefaultDomain", self.default_domain.is_some()),
            ("applicationClientId", self.app_client_id.is_some()),
            ("applicationClientSecret", self.app_client_secret.is_some()),
            ("clientSecretExpirationDate", self.secret_expires_at.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }

    fn touches_connection(&self) -> bool {
        self.tenant_id.is_some() || self.app_client_id.is_some() || self.app_client_secret.is_some()
    }
}

impl App {
    /// Access `A` to one customer, and the customer: not found outside the principal's scope
    /// (so existence never leaks), `insufficient_role` for a role too weak.
    pub(crate) async fn authorize<A: Access>(
        &self,
        principal: &Principal,
        id: CustomerId,
    ) -> AppResult<(Authorized<CustomerId, A>, Service)> {
        let found = self
            .store
            .find_service(id)
            .await?
            .ok_or_else(AppError::customer_not_found)?;
        Ok(principal.authorize::<A>(found)?)
    }

    /// The services the principal sees, narrowed to one channel by `channel_filter`, by short
    /// name.
    pub async fn list_services(&self, principal: &Principal, channel_filter: Option<i64>) -> AppResult<Vec<Service>> {
        Ok(self.store.list_services(&principal.visibility(channel_filter)).await?)
    }

    /// One service inside the principal's scope.
    pub async fn service(&self, principal: &Principal, id: CustomerId) -> AppResult<Service> {
        Ok(self.authorize::<domain::access::Read>(principal, id).await?.1)
    }

    /// Creates a service: Operators and Admins, in their own channel when channel-scoped.
    pub async fn create_service(&self, principal: &Principal, new: NewService) -> AppResult<Service> {
        principal.require(Role::Operator)?;
        let new = principal.authorize_new_service(new)?;
        let service = self.store.create_service(&new).await?;
        self.audit(
            principal,
            "service.create",
            Some(service.id),
            format!("short name {}", service.short_name),
        )
        .await;
        Ok(service)
    }

    /// Changes a service. Connection and billing fields need a provider- or channel-scoped
    /// principal; a license moves within its family only; a new tenant or app drops the old
    /// secret and replication state. A change to the connection is checked at once and its
    /// outcome recorded in the service's replication state (a refusal is the operator's to fix,
    /// not a failure of the change).
    pub async fn change_service(
        &self,
        principal: &Principal,
        id: CustomerId,
        change: ServiceChange,
    ) -> AppResult<Service> {
        let (grant, service) = self.authorize::<Write>(principal, id).await?;
        let named = change.named_fields();
        principal.may_change_fields(named.iter().copied().filter(|field| CONNECTION_FIELDS.contains(field)))?;
        if let Some(to) = change.license_type {
            service.license_type.may_change_to(to)?;
        }
        let connection_touched = change.touches_connection();
        let mut patch = ServicePatch {
            full_name: change.full_name,
            license_type: change.license_type,
            licensed_users_count: change.licensed_users_count,
            tenant_id: change.tenant_id,
            default_domain: change.default_domain,
            app_client_id: change.app_client_id,
            secret: SecretChange::Keep,
            secret_expires_at: change.secret_expires_at,
            reset_sync: false,
        };
        if let Some(secret) = &change.app_client_secret {
            patch.secret = SecretChange::Set {
                sealed: self.keys.seal(secret.as_bytes())?,
                hint: secret_hint(secret),
            };
        }
        // A new tenant or app: the old secret and the old tenant's sync state must not carry over.
        let patch = patch.with_connection_rules(&service);
        if patch.reset_sync || patch.license_type.is_some_and(|license| !license.has_end_users()) {
            // Re-pointed or no longer synced: delete its Graph subscription while the old
            // credentials still work (the engine's reconciliation subscribes anew).
            if let Some(engine) = &self.sync {
                engine.unsubscribe(&service).await;
            }
        }
        let mut updated = self.store.update_service(&grant, &patch).await?;
        self.recent.forget_service(*grant);
        if connection_touched {
            updated = self
                .check_connection(&grant, updated, change.app_client_secret.as_deref())
                .await?;
        }
        let mut detail = format!("changed {}", named.join(", "));
        if patch.reset_sync {
            detail.push_str("; new tenant or app: replication state reset");
            if patch.secret == SecretChange::Clear {
                detail.push_str(", stored secret dropped");
            }
        }
        self.audit(principal, "service.patch", Some(service.id), detail).await;
        Ok(updated)
    }

    /// Proves a (possibly partly) new secure connection by requesting a token, and records the
    /// outcome in the service's replication state.
    async fn check_connection(
        &self,
        grant: &Authorized<CustomerId, Write>,
        service: Service,
        new_secret: Option<&str>,
    ) -> AppResult<Service> {
        let Some(engine) = &self.sync else {
            return Ok(service);
        };
        let (Some(tenant), Some(client_id)) = (service.tenant_id, service.app_client_id.clone()) else {
            return Ok(service);
        };
        let secret = match new_secret {
            Some(s) => s.to_string(),
            None => match &service.app_client_secret_sealed {
                Some(sealed) => String::from_utf8(self.keys.open(sealed)?).map_err(AppError::internal)?,
                None => return Ok(service),
            },
        };
        let (ok, message) = match engine.check_connection(tenant, &client_id, &secret).await {
            ConnectionOutcome::Ok => (true, "token obtained from the customer's tenant".to_string()),
            ConnectionOutcome::Refused(m) => (false, format!("the customer's tenant refused the credentials: {m}")),
            ConnectionOutcome::Unreachable(m) => (false, format!("the customer's tenant could not be reached: {m}")),
        };
        let mut sync_state = service.sync.clone();
        sync_state.connection_ok = Some(ok);
        sync_state.connection_message = Some(message);
        self.store.update_sync_state(grant, &sync_state).await?;
        self.recent.forget_service(**grant);
        Ok(Service {
            sync: sync_state,
            ..service
        })
    }
}
