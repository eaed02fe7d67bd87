//! API clients (secrets stored only as hashes) and JWT signing keys.

use chrono::{DateTime, Utc};
use domain::access::{Authorized, Write};
use domain::{ClientId, Role};
use sqlx::sqlite::SqliteRow;
use store::{ApiClientRecord, SigningKeyRecord, StoreError, StoreResult, Taken};

use crate::codec::{from_json, get, guid, micros, opt_micros, opt_time, parse_guid, time, to_json};
use crate::connect::SqliteStore;
use crate::error::{db_error, is_unique_violation};

const CLIENT_COLUMNS: &str = "id, name, role, scope, secret_hash, created_at, revoked_at";

fn client_from_row(row: &SqliteRow) -> StoreResult<ApiClientRecord> {
    let id: String = get(row, "id")?;
    let role: String = get(row, "role")?;
    let scope: String = get(row, "scope")?;
    Ok(ApiClientRecord {
        id: ClientId(parse_guid(&id, "api_clients.id")?),
        name: get(row, "name")?,
        role: role
            .parse::<Role>()
            .map_err(|e| StoreError::Corrupt(format!("api_clients.role: {e}")))?,
        scope: from_json(&scope, "api_clients.scope")?,
        secret_hash: get(row, "secret_hash")?,
        created_at: time(get(row, "created_at")?, "api_clients.created_at")?,
        revoked_at: opt_time(get(row, "revoked_at")?, "api_clients.revoked_at")?,
    })
}

fn key_from_row(row: &SqliteRow) -> StoreResult<SigningKeyRecord> {
    Ok(SigningKeyRecord {
        kid: get(row, "kid")?,
        algorithm: get(row, "algorithm")?,
        private_key_sealed: get(row, "private_key_sealed")?,
        public_key: get(row, "public_key")?,
        created_at: time(get(row, "created_at")?, "signing_keys.created_at")?,
    })
}

impl SqliteStore {
    pub(crate) async fn create_client_impl(&self, client: &Authorized<ApiClientRecord, Write>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO api_clients (id, name, role, scope, secret_hash, created_at, revoked_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .bind(guid(client.id.0))
        .bind(&client.name)
        .bind(client.role.to_string())
        .bind(to_json(&client.scope)?)
        .bind(&client.secret_hash)
        .bind(micros(client.created_at))
        .bind(opt_micros(client.revoked_at))
        .execute(&self.writer)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Taken(Taken::ClientId)
            } else {
                db_error(e)
            }
        })?;
        Ok(())
    }

    pub(crate) async fn get_client_impl(&self, id: ClientId) -> StoreResult<Option<ApiClientRecord>> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM api_clients WHERE id = ?1");
        let row = sqlx::query(&sql)
            .bind(guid(id.0))
            .fetch_optional(&self.readers)
            .await
            .map_err(db_error)?;
        row.as_ref().map(client_from_row).transpose()
    }

    pub(crate) async fn list_clients_impl(&self) -> StoreResult<Vec<ApiClientRecord>> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM api_clients ORDER BY created_at, id");
        let rows = sqlx::query(&sql).fetch_all(&self.readers).await.map_err(db_error)?;
        rows.iter().map(client_from_row).collect()
    }

    pub(crate) async fn revoke_client_impl(&self, id: ClientId, at: DateTime<Utc>) -> StoreResult<()> {
        // The first revocation time is the one that counts.
        let done = sqlx::query("UPDATE api_clients SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1")
            .bind(guid(id.0))
            .bind(micros(at))
            .execute(&self.writer)
            .await
            .map_err(db_error)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("client {id}")));
        }
        Ok(())
    }

    pub(crate) async fn signing_keys_impl(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        let rows = sqlx::query(
            "SELECT kid, algorithm, private_key_sealed, public_key, created_at \
             FROM signing_keys ORDER BY created_at, kid",
        )
        .fetch_all(&self.readers)
        .await
        .map_err(db_error)?;
        rows.iter().map(key_from_row).collect()
    }

    pub(crate) async fn insert_signing_key_impl(&self, key: &SigningKeyRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, algorithm, private_key_sealed, public_key, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (kid) DO NOTHING",
        )
        .bind(&key.kid)
        .bind(&key.algorithm)
        .bind(key.private_key_sealed.as_slice())
        .bind(key.public_key.as_slice())
        .bind(micros(key.created_at))
        .execute(&self.writer)
        .await
        .map_err(db_error)?;
        Ok(())
    }
}
