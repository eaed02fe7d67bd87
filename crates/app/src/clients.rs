//! Creating, listing and revoking API clients, under the rule that nobody gives what they do
//! not have: a principal sees, creates and revokes only clients whose scope lies inside its own,
//! with a role no higher than its own.

use std::collections::HashSet;

use chrono::Utc;
use domain::access::{Denied, Principal};
use domain::{ClientId, CustomerId, Role, Scope};
use serde::Serialize;
use store::{ApiClientRecord, StoreError, EXTERNAL_CLIENT};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};
use crate::App;

/// Longest client name, in characters.
pub const CLIENT_NAME_MAX: usize = 100;

/// A client as listed: never its secret or hash.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    /// `Admin`, `Operator` or `Monitor`.
    pub role: String,
    #[schema(value_type = Object)]
    pub scope: serde_json::Value,
    /// Registered for an external issuer's tokens (no secret).
    pub external: bool,
    pub created_at: chrono::DateTime<Utc>,
    pub revoked_at: Option<chrono::DateTime<Utc>>,
}

impl ClientView {
    fn of(record: &ApiClientRecord) -> Self {
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

/// A client to create: with a secret of its own, or (with `external_app_id`) registered for the
/// tokens an external issuer (Entra) gives that app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewClient {
    pub name: String,
    pub role: Role,
    pub scope: Scope,
    pub external_app_id: Option<ClientId>,
}

/// What creating a client answers.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Created {
    /// A client with a secret, shown this once.
    WithSecret(CreatedClient),
    /// An external app's registration: no secret.
    External(ClientView),
}

impl Created {
    pub fn client_id(&self) -> &str {
        match self {
            Self::WithSecret(created) => &created.client_id,
            Self::External(view) => &view.client_id,
        }
    }
}

/// The customers `principal` can see, when a rule needs to know (a channel's customers); `None`
/// for a provider-scoped principal that names no customers, which sees everything anyway.
pub(crate) async fn visible_customers(
    store: &dyn store::Store,
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

pub(crate) fn inside(visible: &Option<HashSet<CustomerId>>) -> impl Fn(CustomerId) -> bool + '_ {
    move |customer| visible.as_ref().is_none_or(|set| set.contains(&customer))
}

fn checked_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > CLIENT_NAME_MAX || name.chars().any(char::is_control) {
        return Err(AppError::invalid_field(
            "name",
            format!("name must be 1 to {CLIENT_NAME_MAX} characters, without control characters"),
        ));
    }
    Ok(name.to_string())
}

fn client_not_found(denied: Denied) -> AppError {
    match denied {
        Denied::NotVisible => AppError::client_not_found(),
        other => other.into(),
    }
}

impl App {
    /// Creates a client (only the hash of its secret is stored), or registers an external app.
    pub async fn create_client(&self, principal: &Principal, new: NewClient) -> AppResult<Created> {
        principal.require_client_admin()?;
        let name = checked_name(&new.name)?;
        let secret = new.external_app_id.is_none().then(auth::generate_client_secret);
        let record = ApiClientRecord {
            id: new.external_app_id.unwrap_or_else(ClientId::new_random),
            name,
            role: new.role,
            scope: new.scope,
            secret_hash: match &secret {
                Some(secret) => auth::hash_client_secret(secret),
                None => EXTERNAL_CLIENT.to_string(),
            },
            created_at: Utc::now(),
            revoked_at: None,
        };
        let view = ClientView::of(&record);
        let visible = visible_customers(self.store.as_ref(), principal, Some(&record.scope)).await?;
        let (role, scope) = (record.role, record.scope.clone());
        let grant = principal.authorize_new_client(role, &scope, inside(&visible), record)?;
        self.store.create_client(&grant).await?;
        // An external app's tokens may have been refused a moment ago ("no such client"): this
        // replica accepts them from the next request on.
        self.recent.forget_client(grant.id);
        let created = match secret {
            Some(client_secret) => {
                self.audit(
                    principal,
                    "client.create",
                    None,
                    format!("client {} ({})", view.client_id, view.role),
                )
                .await;
                Created::WithSecret(CreatedClient {
                    client_id: view.client_id,
                    client_secret,
                    name: view.name,
                    role: view.role,
                    scope: view.scope,
                })
            }
            None => {
                self.audit(
                    principal,
                    "client.register_external",
                    None,
                    format!("client {}", view.client_id),
                )
                .await;
                Created::External(view)
            }
        };
        Ok(created)
    }

    /// The clients inside the principal's scope.
    pub async fn list_clients(&self, principal: &Principal) -> AppResult<Vec<ClientView>> {
        principal.require_client_admin()?;
        let visible = visible_customers(self.store.as_ref(), principal, None).await?;
        let clients = self.store.list_clients().await?;
        Ok(clients
            .iter()
            .filter(|client| principal.covers(&client.scope, inside(&visible)))
            .map(ClientView::of)
            .collect())
    }

    /// Revokes a client inside the principal's scope (its tokens stop working at once); any
    /// other is `client_not_found`.
    pub async fn revoke_client(&self, principal: &Principal, id: ClientId) -> AppResult<()> {
        principal.require_client_admin()?;
        let client = self
            .store
            .get_client(id)
            .await?
            .ok_or_else(AppError::client_not_found)?;
        let visible = visible_customers(self.store.as_ref(), principal, None).await?;
        let grant = principal
            .authorize_client(client.id, &client.scope, inside(&visible))
            .map_err(client_not_found)?;
        self.store
            .revoke_client(&grant, Utc::now())
            .await
            .map_err(|e| match e {
                StoreError::NotFound(_) => AppError::client_not_found(),
                other => other.into(),
            })?;
        // Its next request through this replica is refused (others follow within record_ttl).
        self.recent.forget_client(id);
        self.audit(principal, "client.revoke", None, format!("client {id}"))
            .await;
        Ok(())
    }
}
