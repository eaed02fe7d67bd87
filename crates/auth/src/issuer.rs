//! The built-in token issuer: issues client-credentials access tokens signed with the active
//! Ed25519 key, verifies them with every published key, and describes itself (JWKS, OpenID
//! discovery document).

use std::num::NonZeroU32;

use chrono::{DateTime, Utc};
use domain::ClientId;
use serde_json::{json, Value};
use store::SigningKeyRecord;
use uuid::Uuid;

use crate::error::AuthError;
use crate::jwt::{self, Expected, TokenError, TrustedKey, VerifiedToken};
use crate::secret_key::SecretKey;
use crate::signing_key::{SigningKey, VerificationKey, EDDSA};

/// The token endpoint, as Entra's (also served under `/{tenant}` by the api crate).
pub const TOKEN_PATH: &str = "/oauth2/v2.0/token";
/// Where the signing keys are published, as Entra's `jwks_uri`.
pub const JWKS_PATH: &str = "/discovery/v2.0/keys";
pub const OPENID_CONFIGURATION_PATH: &str = "/.well-known/openid-configuration";
/// The interactive authorization endpoint named by the discovery document (answers an error).
pub const AUTHORIZE_PATH: &str = "/oauth2/v2.0/authorize";

const DEFAULT_LIFETIME_SECS: u32 = 3600;

/// A freshly issued access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub access_token: String,
    /// Seconds until expiry, as the token response reports it.
    pub expires_in: u64,
    pub expires_at: DateTime<Utc>,
}

/// Issues and verifies rosterd's own tokens.
#[derive(Debug)]
pub struct TokenIssuer {
    issuer: String,
    audience: String,
    lifetime: NonZeroU32,
    active: SigningKey,
    /// Every published key, the active one first: retired keys keep verifying the tokens they
    /// signed until those expire (and the caller drops the key).
    published: Vec<VerificationKey>,
    trusted: Vec<TrustedKey>,
}

impl TokenIssuer {
    /// An issuer signing with `active` and also trusting `retired` (duplicates of the active
    /// key are ignored). Tokens live one hour unless `with_lifetime` says otherwise.
    pub fn new(
        issuer: impl Into<String>,
        audience: impl Into<String>,
        active: SigningKey,
        retired: Vec<VerificationKey>,
    ) -> Self {
        let mut published = vec![active.verification_key()];
        for key in retired {
            if published.iter().all(|k| k.kid() != key.kid()) {
                published.push(key);
            }
        }
        let trusted = published.iter().map(TrustedKey::ed25519).collect();
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            lifetime: NonZeroU32::new(DEFAULT_LIFETIME_SECS).unwrap_or(NonZeroU32::MIN),
            active,
            published,
            trusted,
        }
    }

    /// An issuer from the stored keys: the newest signs, all verify. Only the newest one's
    /// private half is opened.
    pub fn from_records(
        issuer: impl Into<String>,
        audience: impl Into<String>,
        records: &[SigningKeyRecord],
        secret: &SecretKey,
    ) -> Result<Self, AuthError> {
        let newest = records
            .iter()
            .max_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.kid.cmp(&b.kid)))
            .ok_or(AuthError::NoSigningKey)?;
        let active = SigningKey::from_record(newest, secret)?;
        let retired = records
            .iter()
            .filter(|r| r.kid != newest.kid)
            .map(VerificationKey::from_record)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(issuer, audience, active, retired))
    }

    /// Sets how long issued tokens live.
    pub fn with_lifetime(mut self, seconds: NonZeroU32) -> Self {
        self.lifetime = seconds;
        self
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }

    pub fn lifetime_secs(&self) -> u32 {
        self.lifetime.get()
    }

    pub fn active_kid(&self) -> &str {
        self.active.kid()
    }

    /// An access token for `client_id`: `iss`, `aud`, `sub`/`azp`/`appid` (the client, under
    /// both names Entra uses in v2 and v1 tokens), `iat`, `nbf`, `exp`, `jti`.
    pub fn issue(&self, client_id: ClientId, now: DateTime<Utc>) -> IssuedToken {
        let issued_at = now.timestamp();
        let lifetime = u64::from(self.lifetime.get());
        let expires_at_secs = issued_at.saturating_add(i64::from(self.lifetime.get()));
        let client = client_id.to_string();
        let claims = json!({
            "iss": self.issuer,
            "aud": self.audience,
            "sub": client,
            "azp": client,
            "appid": client,
            "iat": issued_at,
            "nbf": issued_at,
            "exp": expires_at_secs,
            "jti": Uuid::new_v4().to_string(),
        });
        IssuedToken {
            access_token: jwt::sign(&self.active, &claims),
            expires_in: lifetime,
            // The same instant as the `exp` claim (whole seconds).
            expires_at: DateTime::from_timestamp(expires_at_secs, 0).unwrap_or(DateTime::<Utc>::MAX_UTC),
        }
    }

    /// Verifies one of our tokens (any published key, this issuer, this audience, in time).
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<VerifiedToken, TokenError> {
        let expected = Expected {
            issuer: &self.issuer,
            audience: &self.audience,
        };
        jwt::verify(token, &self.trusted, &expected, now)
    }

    /// The JWKS document (RFC 7517) with every published key, the active one first.
    pub fn jwks(&self) -> Value {
        json!({ "keys": self.published.iter().map(VerificationKey::to_jwk).collect::<Vec<_>>() })
    }

    /// The OpenID discovery document, its URLs built on `base_url` (the server's public URL)
    /// and, for a tenant document (`{tenant}/v2.0/.well-known/openid-configuration`, where
    /// MSAL looks), qualified by the tenant segment as Entra's are. `issuer` is always this
    /// issuer's `iss`, so a validator that checks tokens against the document accepts them.
    pub fn openid_configuration(&self, base_url: &str, tenant: Option<&str>) -> Value {
        let base = base_url.trim_end_matches('/');
        let prefix = match tenant {
            Some(tenant) => format!("{base}/{tenant}"),
            None => base.to_string(),
        };
        json!({
            "issuer": self.issuer,
            "token_endpoint": format!("{prefix}{TOKEN_PATH}"),
            "jwks_uri": format!("{prefix}{JWKS_PATH}"),
            // Required by OpenID Connect Discovery (and MSAL); it answers an Entra-shaped
            // error, since only the client credentials grant is offered.
            "authorization_endpoint": format!("{prefix}{AUTHORIZE_PATH}"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "grant_types_supported": ["client_credentials"],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "form_post"],
            "scopes_supported": [".default"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [EDDSA],
            "claims_supported": ["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "azp", "appid", "idtyp", "ver"],
            "request_uri_parameter_supported": false,
            "tenant_region_scope": null,
        })
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    use super::*;

    const ISSUER: &str = "https://rosterd.example/tenantui";
    const AUDIENCE: &str = "api://rosterd";

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    fn issuer() -> TokenIssuer {
        TokenIssuer::new(ISSUER, AUDIENCE, SigningKey::generate(), Vec::new())
    }

    fn claims_of(token: &str) -> Value {
        let payload = token.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    }

    #[test]
    fn issued_token_verifies() {
        let issuer = issuer();
        let client = ClientId::new_random();
        let issued = issuer.issue(client, at(1_700_000_000));
        assert_eq!(issued.expires_in, 3600);
        assert_eq!(issued.expires_at, at(1_700_003_600));
        let verified = issuer.verify(&issued.access_token, at(1_700_000_100)).unwrap();
        assert_eq!(verified.client_id, client);
        assert_eq!(verified.expires_at, at(1_700_003_600));
        assert_eq!(verified.key_id, issuer.active_kid());
    }

    #[test]
    fn claims_have_the_documented_shape() {
        let issuer = issuer();
        let client = ClientId::new_random();
        let claims = claims_of(&issuer.issue(client, at(1_700_000_000)).access_token);
        let keys: Vec<&str> = claims.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["iss", "aud", "sub", "azp", "appid", "iat", "nbf", "exp", "jti"]);
        assert_eq!(claims["iss"], ISSUER);
        assert_eq!(claims["aud"], AUDIENCE);
        for name in ["sub", "azp", "appid"] {
            assert_eq!(claims[name], client.to_string());
        }
        assert_eq!(claims["iat"], 1_700_000_000);
        assert_eq!(claims["nbf"], 1_700_000_000);
        assert_eq!(claims["exp"], 1_700_003_600);
        let other = claims_of(&issuer.issue(client, at(1_700_000_000)).access_token);
        assert_ne!(claims["jti"], other["jti"]);
    }

    #[test]
    fn expiry_and_lifetime() {
        let issuer = issuer().with_lifetime(NonZeroU32::new(300).unwrap());
        let issued = issuer.issue(ClientId::new_random(), at(10_000));
        assert_eq!(issued.expires_in, 300);
        let token = &issued.access_token;
        assert!(issuer.verify(token, at(10_299)).is_ok());
        assert!(issuer.verify(token, at(10_300 + jwt::CLOCK_SKEW_SECS - 1)).is_ok());
        assert_eq!(
            issuer.verify(token, at(10_300 + jwt::CLOCK_SKEW_SECS)),
            Err(TokenError::Expired)
        );
        assert_eq!(issuer.verify(token, at(9_000)), Err(TokenError::NotYetValid));
    }

    #[test]
    fn wrong_issuer_or_audience_is_refused() {
        let key = SigningKey::generate();
        let record_secret = SecretKey::generate();
        let record = key.to_record(&record_secret, at(0)).unwrap();
        let ours = TokenIssuer::from_records(ISSUER, AUDIENCE, std::slice::from_ref(&record), &record_secret).unwrap();
        let token = ours.issue(ClientId::new_random(), at(1000)).access_token;

        let other_issuer =
            TokenIssuer::from_records("https://other", AUDIENCE, std::slice::from_ref(&record), &record_secret)
                .unwrap();
        assert_eq!(other_issuer.verify(&token, at(1000)), Err(TokenError::WrongIssuer));
        let other_audience = TokenIssuer::from_records(ISSUER, "api://other", &[record], &record_secret).unwrap();
        assert_eq!(other_audience.verify(&token, at(1000)), Err(TokenError::WrongAudience));
    }

    #[test]
    fn unknown_kid_and_tampering() {
        let a = issuer();
        let b = issuer();
        let token = b.issue(ClientId::new_random(), at(1000)).access_token;
        assert_eq!(a.verify(&token, at(1000)), Err(TokenError::UnknownKey));

        let token = a.issue(ClientId::new_random(), at(1000)).access_token;
        let mut chars: Vec<char> = token.chars().collect();
        let last = chars.len() - 2;
        chars[last] = if chars[last] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        assert_eq!(a.verify(&tampered, at(1000)), Err(TokenError::BadSignature));
    }

    #[test]
    fn rotation_keeps_old_tokens_valid() {
        let secret = SecretKey::generate();
        let old = SigningKey::generate();
        let old_record = old.to_record(&secret, at(0)).unwrap();
        let before = TokenIssuer::from_records(ISSUER, AUDIENCE, std::slice::from_ref(&old_record), &secret).unwrap();
        let old_token = before.issue(ClientId::new_random(), at(1000)).access_token;

        let new = SigningKey::generate();
        let new_record = new.to_record(&secret, at(500)).unwrap();
        let after = TokenIssuer::from_records(ISSUER, AUDIENCE, &[old_record, new_record], &secret).unwrap();
        assert_eq!(after.active_kid(), new.kid());
        assert!(after.verify(&old_token, at(1100)).is_ok());
        let new_token = after.issue(ClientId::new_random(), at(1100)).access_token;
        assert_eq!(after.verify(&new_token, at(1100)).unwrap().key_id, new.kid());
        assert_eq!(before.verify(&new_token, at(1100)), Err(TokenError::UnknownKey));

        let jwks = after.jwks();
        let kids: Vec<&str> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap())
            .collect();
        assert_eq!(kids, [new.kid(), old.kid()]);
    }

    #[test]
    fn from_records_needs_a_key_and_the_right_secret() {
        let secret = SecretKey::generate();
        assert!(matches!(
            TokenIssuer::from_records(ISSUER, AUDIENCE, &[], &secret),
            Err(AuthError::NoSigningKey)
        ));
        let record = SigningKey::generate().to_record(&secret, at(0)).unwrap();
        assert!(TokenIssuer::from_records(ISSUER, AUDIENCE, &[record], &SecretKey::generate()).is_err());
    }

    #[test]
    fn duplicate_retired_keys_are_published_once() {
        let key = SigningKey::generate();
        let public = key.verification_key();
        let issuer = TokenIssuer::new(ISSUER, AUDIENCE, key, vec![public.clone(), public]);
        assert_eq!(issuer.jwks()["keys"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn jwks_shape() {
        let issuer = issuer();
        let jwks = issuer.jwks();
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 1);
        let key = keys[0].as_object().unwrap();
        let names: Vec<&str> = key.keys().map(String::as_str).collect();
        assert_eq!(names, ["kty", "crv", "x", "kid", "use", "alg"]);
        assert_eq!(key["kty"], "OKP");
        assert_eq!(key["crv"], "Ed25519");
        assert_eq!(key["kid"], issuer.active_kid());
        assert_eq!(key["use"], "sig");
        assert_eq!(key["alg"], "EdDSA");
        assert_eq!(URL_SAFE_NO_PAD.decode(key["x"].as_str().unwrap()).unwrap().len(), 32);
    }

    #[test]
    fn openid_configuration_shape() {
        let doc = issuer().openid_configuration("https://rosterd.example/tenantui/", None);
        assert_eq!(doc["issuer"], ISSUER);
        assert_eq!(
            doc["token_endpoint"],
            "https://rosterd.example/tenantui/oauth2/v2.0/token"
        );
        assert_eq!(doc["jwks_uri"], "https://rosterd.example/tenantui/discovery/v2.0/keys");
        assert_eq!(
            doc["token_endpoint_auth_methods_supported"],
            json!(["client_secret_post", "client_secret_basic"])
        );
        assert_eq!(doc["grant_types_supported"], json!(["client_credentials"]));
        assert_eq!(doc["id_token_signing_alg_values_supported"], json!(["EdDSA"]));
        assert_eq!(
            doc["authorization_endpoint"],
            "https://rosterd.example/tenantui/oauth2/v2.0/authorize"
        );
    }

    #[test]
    fn tenant_documents_qualify_endpoints_and_keep_the_issuer() {
        let doc = issuer().openid_configuration("https://rosterd.example/tenantui", Some("contoso.onmicrosoft.com"));
        assert_eq!(doc["issuer"], ISSUER, "the tokens' iss, whatever the tenant");
        assert_eq!(
            doc["token_endpoint"],
            "https://rosterd.example/tenantui/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert_eq!(
            doc["authorization_endpoint"],
            "https://rosterd.example/tenantui/contoso.onmicrosoft.com/oauth2/v2.0/authorize"
        );
        assert_eq!(
            doc["jwks_uri"],
            "https://rosterd.example/tenantui/contoso.onmicrosoft.com/discovery/v2.0/keys"
        );
    }
}
