//! External token issuers (Microsoft Entra ID in production): verifying their tokens against a
//! JWKS document the caller fetched. No HTTP here: fetching and refreshing the document (for
//! instance when `verify` answers `UnknownKey` after Entra rotated its keys) is the caller's job.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use jsonwebtoken::DecodingKey;
use serde_json::{Map, Value};

use crate::error::AuthError;
use crate::jwt::{self, Expected, TokenError, TrustedKey, VerifiedToken};
use crate::signing_key::VerificationKey;

/// A trusted external issuer: its exact `iss`, the audience our tokens must carry, and its keys.
#[derive(Debug, Clone)]
pub struct ExternalIssuer {
    issuer: String,
    audience: String,
    keys: Vec<TrustedKey>,
}

impl ExternalIssuer {
    /// Reads the usable signing keys of a JWKS document: RSA keys (RS256, as Entra signs) and
    /// Ed25519 keys (EdDSA, as another rosterd signs). Keys of other types, encryption keys and
    /// keys without a `kid` are skipped rather than refused, so a document that grows new kinds
    /// of keys keeps working; a document without a `keys` array is refused.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>, jwks: &Value) -> Result<Self, AuthError> {
        let keys = jwks
            .get("keys")
            .and_then(Value::as_array)
            .ok_or(AuthError::InvalidJwks("it has no 'keys' array"))?
            .iter()
            .filter_map(Value::as_object)
            .filter_map(usable_key)
            .collect();
        Ok(Self {
            issuer: issuer.into(),
            audience: audience.into(),
            keys,
        })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The ids of the keys in use, e.g. to tell whether a refetched document changed anything.
    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.kid.as_str())
    }

    /// Verifies signature, `iss`, `aud`, lifetime (with `CLOCK_SKEW_SECS`) and the client
    /// (`azp` in v2 tokens, `appid` in v1 tokens).
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<VerifiedToken, TokenError> {
        let expected = Expected {
            issuer: &self.issuer,
            audience: &self.audience,
        };
        jwt::verify(token, &self.keys, &expected, now)
    }
}

fn usable_key(jwk: &Map<String, Value>) -> Option<TrustedKey> {
    let text = |name: &str| jwk.get(name).and_then(Value::as_str);
    let kid = text("kid")?.to_string();
    if text("use").is_some_and(|u| u != "sig") {
        return None;
    }
    match (text("kty")?, text("alg")) {
        ("RSA", None | Some("RS256")) => {
            let key = DecodingKey::from_rsa_components(text("n")?, text("e")?).ok()?;
            Some(TrustedKey::rs256(kid, key))
        }
        ("OKP", None | Some("EdDSA")) if text("crv") == Some("Ed25519") => {
            let x = URL_SAFE_NO_PAD.decode(text("x")?).ok()?;
            let key = ed25519_dalek::VerifyingKey::from_bytes(&x.try_into().ok()?).ok()?;
            Some(TrustedKey::ed25519(&VerificationKey::new(kid, key)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
    use serde_json::json;

    use super::*;
    use crate::issuer::TokenIssuer;
    use crate::signing_key::SigningKey;

    const RSA_KEY_PEM: &str = include_str!("../testdata/rsa-test-key.pem");
    const RSA_JWKS: &str = include_str!("../testdata/rsa-test-jwks.json");
    const RSA_KID: &str = "test-rsa-1";
    const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const APP: &str = "0b8f2e1c-7a44-4c1e-9d3f-5e6a7b8c9d0e";
    const AUDIENCE: &str = "api://0b8f2e1c-7a44-4c1e-9d3f-5e6a7b8c9d0e";

    fn issuer_url() -> String {
        format!("https://sts.windows.net/{TENANT}/")
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    fn jwks() -> Value {
        serde_json::from_str(RSA_JWKS).unwrap()
    }

    fn entra() -> ExternalIssuer {
        ExternalIssuer::new(issuer_url(), AUDIENCE, &jwks()).unwrap()
    }

    /// A v1 Entra app-only token shape, signed with the fixture's RSA key.
    fn entra_claims() -> Value {
        json!({
            "aud": AUDIENCE, "iss": issuer_url(), "iat": 1000, "nbf": 1000, "exp": 4600,
            "aio": "E2ZgYJg", "appid": APP, "appidacr": "1", "idp": issuer_url(),
            "oid": "1c7a3b5e-0000-4000-8000-000000000001", "rh": "0.AAAA", "roles": [],
            "sub": "1c7a3b5e-0000-4000-8000-000000000001", "tid": TENANT, "uti": "abc", "ver": "1.0",
        })
    }

    fn rs256(claims: &Value, kid: &str) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_string());
        let key = EncodingKey::from_rsa_pem(RSA_KEY_PEM.as_bytes()).unwrap();
        encode(&header, claims, &key).unwrap()
    }

    #[test]
    fn entra_v1_token_verifies() {
        let token = rs256(&entra_claims(), RSA_KID);
        let verified = entra().verify(&token, at(2000)).unwrap();
        assert_eq!(verified.client_id.to_string(), APP);
        assert_eq!(verified.tenant_id.as_deref(), Some(TENANT));
        assert_eq!(verified.issuer, issuer_url());
        assert_eq!(verified.key_id, RSA_KID);
        assert_eq!(verified.expires_at, at(4600));
    }

    #[test]
    fn entra_v2_token_uses_azp() {
        let mut claims = entra_claims();
        let map = claims.as_object_mut().unwrap();
        map.remove("appid");
        map.insert("azp".into(), json!(APP.to_uppercase()));
        map.insert("ver".into(), json!("2.0"));
        let verified = entra().verify(&rs256(&claims, RSA_KID), at(2000)).unwrap();
        assert_eq!(verified.client_id.to_string(), APP);
    }

    #[test]
    fn entra_token_failures() {
        let issuer = entra();
        let token = rs256(&entra_claims(), RSA_KID);
        assert_eq!(issuer.verify(&token, at(4600 + 60)), Err(TokenError::Expired));
        assert_eq!(issuer.verify(&token, at(900)), Err(TokenError::NotYetValid));

        let other = ExternalIssuer::new("https://login.microsoftonline.com/x/v2.0", AUDIENCE, &jwks()).unwrap();
        assert_eq!(other.verify(&token, at(2000)), Err(TokenError::WrongIssuer));
        let other = ExternalIssuer::new(issuer_url(), "api://someone-else", &jwks()).unwrap();
        assert_eq!(other.verify(&token, at(2000)), Err(TokenError::WrongAudience));

        let unknown = rs256(&entra_claims(), "rotated-away");
        assert_eq!(issuer.verify(&unknown, at(2000)), Err(TokenError::UnknownKey));

        let (input, signature) = token.rsplit_once('.').unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
        bytes[0] ^= 0x80;
        let tampered = format!("{input}.{}", URL_SAFE_NO_PAD.encode(bytes));
        assert_eq!(issuer.verify(&tampered, at(2000)), Err(TokenError::BadSignature));

        let mut claims = entra_claims();
        claims.as_object_mut().unwrap().remove("appid");
        assert!(matches!(
            issuer.verify(&rs256(&claims, RSA_KID), at(2000)),
            Err(TokenError::Malformed(_))
        ));
    }

    #[test]
    fn hs256_with_the_public_key_as_secret_is_refused() {
        // The classic algorithm confusion: an HMAC "signed" with the RSA key's public bytes.
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(RSA_KID.to_string());
        let n = jwks()["keys"][0]["n"].as_str().unwrap().to_string();
        let token = encode(&header, &entra_claims(), &EncodingKey::from_secret(n.as_bytes())).unwrap();
        assert_eq!(entra().verify(&token, at(2000)), Err(TokenError::WrongAlgorithm));
    }

    #[test]
    fn jwks_parsing_skips_unusable_keys() {
        let ed = SigningKey::generate();
        let mut ed_jwk = ed.verification_key().to_jwk();
        ed_jwk["kid"] = json!("ed-1");
        let mut doc = jwks();
        let rsa = doc["keys"][0].clone();
        let keys = doc["keys"].as_array_mut().unwrap();
        keys.push(ed_jwk);
        let mut enc = rsa.clone();
        enc["kid"] = json!("enc");
        enc["use"] = json!("enc");
        keys.push(enc);
        let mut no_kid = rsa.clone();
        no_kid.as_object_mut().unwrap().remove("kid");
        keys.push(no_kid);
        let mut ps256 = rsa.clone();
        ps256["kid"] = json!("ps");
        ps256["alg"] = json!("PS256");
        keys.push(ps256);
        keys.push(json!({"kty": "EC", "crv": "P-256", "kid": "ec", "x": "AA", "y": "AA"}));
        keys.push(json!({"kty": "OKP", "crv": "Ed25519", "kid": "short", "x": "AAAA"}));
        keys.push(json!("not an object"));

        let issuer = ExternalIssuer::new(issuer_url(), AUDIENCE, &doc).unwrap();
        assert_eq!(issuer.key_ids().collect::<Vec<_>>(), [RSA_KID, "ed-1"]);

        assert!(matches!(
            ExternalIssuer::new(issuer_url(), AUDIENCE, &json!({"nokeys": []})),
            Err(AuthError::InvalidJwks(_))
        ));
        let empty = ExternalIssuer::new(issuer_url(), AUDIENCE, &json!({"keys": []})).unwrap();
        let token = rs256(&entra_claims(), RSA_KID);
        assert_eq!(empty.verify(&token, at(2000)), Err(TokenError::UnknownKey));
    }

    #[test]
    fn another_rosterd_can_be_trusted_through_its_jwks() {
        let upstream = TokenIssuer::new("https://upstream", "api://rosterd", SigningKey::generate(), Vec::new());
        let trusted = ExternalIssuer::new("https://upstream", "api://rosterd", &upstream.jwks()).unwrap();
        let client = domain::ClientId::new_random();
        let token = upstream.issue(client, at(1000)).access_token;
        assert_eq!(trusted.verify(&token, at(1001)).unwrap().client_id, client);
    }
}
