//! Who is calling: a bearer token becomes a [`Principal`] (its client record decides role, scope
//! and revocation on every request, never the token's claims), and client credentials become a
//! token (the token endpoint's checks).

use auth::{OAuthError, TokenResponse};
use chrono::Utc;
use domain::access::{ClientPrincipal, Principal};
use domain::ClientId;

use crate::error::{AppError, AppResult};
use crate::keyring::TokenSource;
use crate::App;

impl App {
    /// The principal a bearer token speaks for: its signature and claims check out, its client
    /// exists, is not revoked and is registered for the issuer that signed it.
    pub async fn authenticate(&self, token: &str) -> AppResult<Principal> {
        let verified = self.keys.verify(token, Utc::now()).await?;
        if let Some(hit) = verified.remembered {
            self.counters.cache(crate::Cache::VerifiedToken, hit);
        }
        let client = self
            .recent
            .client(self.store.as_ref(), verified.client, &self.counters)
            .await?
            .ok_or_else(|| AppError::invalid_token("the token's client no longer exists"))?;
        if client.revoked_at.is_some() {
            return Err(AppError::invalid_token("the token's client has been revoked"));
        }
        // An external issuer's token must not act as a local client that happens to have the
        // same id (nor the other way round).
        let external = verified.source == TokenSource::External;
        if external != client.is_external() {
            return Err(AppError::invalid_token(if external {
                "the token's app is not registered as an external app of this installation"
            } else {
                "the token's client is registered for an external issuer's tokens only"
            }));
        }
        Ok(Principal::Client(ClientPrincipal {
            client: client.id,
            role: client.role,
            scope: client.scope,
        }))
    }

    /// A token for a client that proves its secret (OAuth client credentials); refusals are
    /// Entra-shaped.
    pub async fn issue_token(&self, client_id: &str, client_secret: &str) -> Result<TokenResponse, OAuthError> {
        let id: ClientId = client_id.parse().map_err(|_| OAuthError::unknown_client(client_id))?;
        let record = self.store.get_client(id).await.map_err(|error| {
            tracing::error!(%error, "client lookup failed");
            OAuthError::server_error()
        })?;
        let record = record.ok_or_else(|| OAuthError::unknown_client(client_id))?;
        if !auth::verify_client_secret(client_secret, &record.secret_hash) {
            return Err(OAuthError::invalid_client_secret(client_id));
        }
        if record.revoked_at.is_some() {
            return Err(OAuthError::disabled_client(client_id));
        }
        let issued = self
            .keys
            .issue(id, Utc::now())
            .map_err(|_| OAuthError::server_error())?;
        Ok(issued.into())
    }
}
