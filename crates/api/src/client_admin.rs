//! Creating, listing and revoking API clients; shared by the HTTP routes and the CLI.

use chrono::Utc;
use domain::{ClientId, Role, Scope};
use serde::Serialize;
use store::{ApiClientRecord, Store, StoreError};
use utoipa::ToSchema;

/// A client as listed: never its secret or hash.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    pub role: String,
    #[schema(value_type = Object)]
    pub scope: serde_json::Value,
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
    #[error("name must be 1 to 100 characters")]
    BadName,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Creates a client; only the hash of its secret is stored.
pub async fn create_client(
    store: &dyn Store,
    name: &str,
    role: Role,
    scope: Scope,
) -> Result<CreatedClient, ClientAdminError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ClientAdminError::BadName);
    }
    let secret = auth::generate_client_secret();
    let record = ApiClientRecord {
        id: ClientId::new_random(),
        name: name.to_string(),
        role,
        scope,
        secret_hash: auth::hash_client_secret(&secret),
        created_at: Utc::now(),
        revoked_at: None,
    };
    store.create_client(&record).await?;
    let view = ClientView::of(&record);
    Ok(CreatedClient {
        client_id: view.client_id,
        client_secret: secret,
        name: view.name,
        role: view.role,
        scope: view.scope,
    })
}

/// The stored "hash" of a client that authenticates with an external issuer's tokens: it matches
/// no secret, so the built-in token endpoint never issues tokens for it.
pub const EXTERNAL_CLIENT: &str = "external$";

/// Registers the app of an external issuer (the `azp`/`appid` of its tokens) as a client, so its
/// tokens are accepted with this role and scope.
pub async fn register_external_client(
    store: &dyn Store,
    app_id: ClientId,
    name: &str,
    role: Role,
    scope: Scope,
) -> Result<ClientView, ClientAdminError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ClientAdminError::BadName);
    }
    let record = ApiClientRecord {
        id: app_id,
        name: name.to_string(),
        role,
        scope,
        secret_hash: EXTERNAL_CLIENT.to_string(),
        created_at: Utc::now(),
        revoked_at: None,
    };
    store.create_client(&record).await?;
    Ok(ClientView::of(&record))
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
