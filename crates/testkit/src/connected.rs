//! Services connected to fake tenants, written straight into a store with the secret sealed,
//! as `PATCH /api/v3/customer/{guid}` would leave them.

use domain::access::{Authorized, SystemScope, Write};
use domain::service::SecretChange;
use domain::{CustomerId, LicenseType, NewService, ServiceError, ServicePatch, ShortName};
use store::{Store, StoreError};

/// Test fixtures are written as rosterd itself.
pub const TESTKIT: SystemScope = SystemScope::new("test kit");

/// Read access to a customer, for a test's checks.
pub fn read(customer: CustomerId) -> Authorized<CustomerId> {
    TESTKIT.grant(customer).read()
}

/// Write access to a customer, for a test's fixtures.
pub fn write(customer: CustomerId) -> Authorized<CustomerId, Write> {
    TESTKIT.grant(customer)
}

use crate::fake_graph::FakeTenant;

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    ShortName(#[from] ServiceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Seal(#[from] auth::AuthError),
}

/// A Hosted Pro service connected to `tenant` with its app registration and `secret` (pass the
/// tenant's own secret, or a wrong one to test refusals).
pub async fn connect_service(
    store: &dyn Store,
    key: &auth::SecretKey,
    short: &str,
    tenant: &FakeTenant,
    secret: &str,
) -> Result<CustomerId, ConnectError> {
    let id = CustomerId::new_random();
    store
        .create_service(&TESTKIT.grant(NewService {
            id,
            short_name: ShortName::parse(short)?,
            full_name: format!("{short} Inc"),
            license_type: LicenseType::HostedPro,
            licensed_users_count: None,
            channel_id: None,
            ovoc_customer_type: None,
            tenant_id: Some(tenant.tenant_id),
            default_domain: None,
            site_locations: Vec::new(),
        }))
        .await?;
    set_secret(store, key, id, &tenant.client_id, secret).await?;
    Ok(id)
}

/// Replaces a service's app registration and sealed secret.
pub async fn set_secret(
    store: &dyn Store,
    key: &auth::SecretKey,
    id: CustomerId,
    client_id: &str,
    secret: &str,
) -> Result<(), ConnectError> {
    let patch = ServicePatch {
        app_client_id: Some(client_id.to_string()),
        secret: SecretChange::Set {
            sealed: key.seal(secret.as_bytes())?,
            hint: domain::service::secret_hint(secret),
        },
        ..ServicePatch::default()
    };
    store.update_service(&write(id), &patch).await?;
    Ok(())
}
