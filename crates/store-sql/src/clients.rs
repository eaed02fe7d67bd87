//! API clients (secrets stored only as hashes) and JWT signing keys.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::access::{Authorized, Write};
use domain::{ClientId, Role};
use store::{ApiClientRecord, ClientStore, SigningKeyRecord, StoreError, StoreResult, Taken};

use crate::codec::{from_json, to_json};
use crate::driver::{Access, Driver};
use crate::param::params;
use crate::row::SqlRow;
use crate::SqlStore;

const CLIENT_COLUMNS: &str = "id, name, role, scope, secret_hash, created_at, revoked_at";

fn client_from_row(row: &dyn SqlRow) -> StoreResult<ApiClientRecord> {
    let role: String = row.get("role")?;
    let scope: String = row.get("scope")?;
    Ok(ApiClientRecord {
        id: ClientId(row.get("id")?),
        name: row.get("name")?,
        role: role
            .parse::<Role>()
            .map_err(|e| StoreError::Corrupt(format!("api_clients.role: {e}")))?,
        scope: from_json(&scope, "api_clients.scope")?,
        secret_hash: row.get("secret_hash")?,
        created_at: row.get("created_at")?,
        revoked_at: row.get("revoked_at")?,
    })
}

fn key_from_row(row: &dyn SqlRow) -> StoreResult<SigningKeyRecord> {
    Ok(SigningKeyRecord {
        kid: row.get("kid")?,
        algorithm: row.get("algorithm")?,
        private_key_sealed: row.get("private_key_sealed")?,
        public_key: row.get("public_key")?,
        created_at: row.get("created_at")?,
    })
}

#[async_trait]
impl<D: Driver> ClientStore for SqlStore<D> {
    async fn create_client(&self, client: &Authorized<ApiClientRecord, Write>) -> StoreResult<()> {
        let role = client.role.to_string();
        let scope = to_json(&client.scope)?;
        let params = params![
            client.id,
            &client.name,
            &role,
            &scope,
            &client.secret_hash,
            client.created_at,
            client.revoked_at,
        ];
        self.driver
            .execute(
                "INSERT INTO api_clients (id, name, role, scope, secret_hash, created_at, revoked_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &params,
            )
            .await
            .map_err(|e| match e.is_unique_violation(None) {
                true => StoreError::Taken(Taken::ClientId),
                false => e.into(),
            })?;
        Ok(())
    }

    async fn get_client(&self, id: ClientId) -> StoreResult<Option<ApiClientRecord>> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM api_clients WHERE id = $1");
        let rows = self
            .driver
            .fetch(Access::Read, &sql, &params![id], client_from_row)
            .await?;
        Ok(rows.into_iter().next())
    }

    async fn list_clients(&self) -> StoreResult<Vec<ApiClientRecord>> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM api_clients ORDER BY created_at, id");
        Ok(self.driver.fetch(Access::Read, &sql, &[], client_from_row).await?)
    }

    async fn revoke_client(&self, client: &Authorized<ClientId, Write>, at: DateTime<Utc>) -> StoreResult<()> {
        // The first revocation time is the one that counts.
        let id = **client;
        let done = self
            .driver
            .execute(
                "UPDATE api_clients SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
                &params![id, at],
            )
            .await?;
        if done == 0 {
            return Err(StoreError::NotFound(format!("client {id}")));
        }
        Ok(())
    }

    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        let sql = format!(
            "SELECT kid, algorithm, private_key_sealed, public_key, created_at \
             FROM signing_keys ORDER BY created_at, kid{}",
            D::BINARY_ORDER
        );
        Ok(self.driver.fetch(Access::Read, &sql, &[], key_from_row).await?)
    }

    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()> {
        let params = params![
            &key.kid,
            &key.algorithm,
            key.private_key_sealed.as_slice(),
            key.public_key.as_slice(),
            key.created_at,
        ];
        self.driver
            .execute(
                "INSERT INTO signing_keys (kid, algorithm, private_key_sealed, public_key, created_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (kid) DO NOTHING",
                &params,
            )
            .await?;
        Ok(())
    }
}
