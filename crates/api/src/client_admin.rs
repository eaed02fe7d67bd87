//! Creating, listing and revoking API clients, under the rule that nobody gives what they do
//! not have: a principal sees, creates and revokes only clients whose scope lies inside its own,
//! with a role no higher than its own. Shared by the HTTP routes and the CLI (which acts under a
//! named system scope).

use std::collections::HashSet;

use chrono::Utc;
use domain::access::{Denied, Principal};
use domain::{ClientId, CustomerId, Role, Scope};
use serde::Serialize;
use store::{ApiClientRecord, Store, StoreError, EXTERNAL_CLIENT};
use utoipa::ToSchema;

/// Longest client name, in characters.
pub const NAME_MAX: usize = 100;

/// A client as listed: never its secret or hash.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    pub role: String,
    #[schema(value_type = Object)]
    pub scope: serde_json::Value,
    /// Registered for an external issuer's tokens (no secret).
    pub external: bool,
    pub created_at: chrono::DateTime<Utc>,
    pub revoked_at: Option<chrono::DateTime<Utc>>,
}

impl ClientView {
    pub fn of(record: &ApiClientRecord) -> Self {
        Self {
            client_id: record.id.to_string(),
            name: record.name.clone(),
            role: record.role.to_string(),
            scope: serde_json::to_value(&record.scope).unwrap_or_default(),
            external: record.is_external(),
            created_at: record.created_at,
            revoked_at: record.revoked_at,
        }
    }
}

/// A new client with its secret, which is shown exactly once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedClient {
    pub client_id: String,
    pub client_secret: String,
    pub name: String,
    pub role: String,
    #[schema(value_type = Object)]
    pub scope: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientAdminError {
    #[error("name must be 1 to {NAME_MAX} characters, without control characters")]
    BadName,
    #[error(transparent)]
    Denied(#[from] Denied),
    /// No such client, or one outside the principal's scope.
    #[error("no API client has this id")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The customers `principal` can see, when a rule needs to know (a channel's customers); `None`
/// for a provider-scoped principal that names no customers, which sees everything anyway.
async fn visible_customers(
    store: &dyn Store,
    principal: &Principal,
    requested: Option<&Scope>,
) -> Result<Option<HashSet<CustomerId>>, StoreError> {
    let needs = !matches!(principal.scope(), Scope::Provider) || matches!(requested, Some(Scope::Customers { .. }));
    if !needs {
        return Ok(None);
    }
    let services = store.list_services(&principal.visibility(None)).await?;
    Ok(Some(services.into_iter().map(|s| s.id).collect()))
}

fn inside(visible: &Option<HashSet<CustomerId>>) -> impl Fn(CustomerId) -> bool + '_ {
    move |customer| visible.as_ref().is_none_or(|set| set.contains(&customer))
}

fn checked_name(name: &str) -> Result<String, ClientAdminError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX || name.chars().any(char::is_control) {
        return Err(ClientAdminError::BadName);
    }
    Ok(name.to_string())
}

async fn authorize_new(
    store: &dyn Store,
    principal: &Principal,
    record: ApiClientRecord,
) -> Result<(), ClientAdminError> {
    principal.require_client_admin()?;
    let visible = visible_customers(store, principal, Some(&record.scope)).await?;
    let (role, scope) = (record.role, record.scope.clone());
    let grant = principal.authorize_new_client(role, &scope, inside(&visible), record)?;
    store.create_client(&grant).await?;
    Ok(())
}

/// Creates a client; only the hash of its secret is stored.
pub async fn create_client(
    store: &dyn Store,
    principal: &Principal,
    name: &str,
    role: Role,
    scope: Scope,
) -> Result<CreatedClient, ClientAdminError> {
    let secret = auth::generate_client_secret();
    let record = ApiClientRecord {
        id: ClientId::new_random(),
        name: checked_name(name)?,
        role,
        scope,
        secret_hash: auth::hash_client_secret(&secret),
        created_at: Utc::now(),
        revoked_at: None,
    };
    let view = ClientView::of(&record);
    authorize_new(store, principal, record).await?;
    Ok(CreatedClient {
        client_id: view.client_id,
        client_secret: secret,
        name: view.name,
        role: view.role,
        scope: view.scope,
    })
}

/// Registers the app of an external issuer (the `azp`/`appid` of its tokens) as a client, so its
/// tokens are accepted with this role and scope.
pub async fn register_external_client(
    store: &dyn Store,
    principal: &Principal,
    app_id: ClientId,
    name: &str,
    role: Role,
    scope: Scope,
) -> Result<ClientView, ClientAdminError> {
    let record = ApiClientRecord {
        id: app_id,
        name: checked_name(name)?,
        role,
        scope,
        secret_hash: EXTERNAL_CLIENT.to_string(),
        created_at: Utc::now(),
        revoked_at: None,
    };
    let view = ClientView::of(&record);
    authorize_new(store, principal, record).await?;
    Ok(view)
}

/// The clients inside the principal's scope.
pub async fn list_clients(store: &dyn Store, principal: &Principal) -> Result<Vec<ClientView>, ClientAdminError> {
    principal.require_client_admin()?;
    let visible = visible_customers(store, principal, None).await?;
    let clients = store.list_clients().await?;
    Ok(clients
        .iter()
        .filter(|client| principal.covers(&client.scope, inside(&visible)))
        .map(ClientView::of)
        .collect())
}

/// Revokes a client inside the principal's scope; any other is `NotFound`.
pub async fn revoke_client(store: &dyn Store, principal: &Principal, id: ClientId) -> Result<(), ClientAdminError> {
    principal.require_client_admin()?;
    let client = store.get_client(id).await?.ok_or(ClientAdminError::NotFound)?;
    let visible = visible_customers(store, principal, None).await?;
    let grant = principal
        .authorize_client(client.id, &client.scope, inside(&visible))
        .map_err(|denied| match denied {
            Denied::NotVisible => ClientAdminError::NotFound,
            other => other.into(),
        })?;
    store.revoke_client(&grant, Utc::now()).await.map_err(|e| match e {
        StoreError::NotFound(_) => ClientAdminError::NotFound,
        other => other.into(),
    })
}

/// Builds a scope from the CLI/HTTP options: customers win over a channel; neither is provider-wide.
pub fn scope_from(customers: Vec<domain::CustomerId>, channel: Option<i64>) -> Scope {
    if !customers.is_empty() {
        Scope::Customers { customers }
    } else if let Some(channel_id) = channel {
        Scope::Channel { channel_id }
    } else {
        Scope::Provider
    }
}
