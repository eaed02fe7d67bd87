//! Ed25519 token signing keys: generation, their `kid`, their public JWK, and their sealed
//! form in the store.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use ed25519_dalek::Signer;
use rand::rngs::OsRng;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use store::SigningKeyRecord;
use zeroize::Zeroize;

use crate::error::AuthError;
use crate::secret_key::SecretKey;

/// The JOSE name of the only algorithm rosterd signs with (RFC 8037).
pub const EDDSA: &str = "EdDSA";

/// A private signing key with its id. `Debug` never shows the private half.
pub struct SigningKey {
    kid: String,
    key: ed25519_dalek::SigningKey,
}

impl SigningKey {
    /// A new random key; its `kid` is its RFC 7638 thumbprint, so it is stable and unique.
    pub fn generate() -> Self {
        Self::from_dalek(ed25519_dalek::SigningKey::generate(&mut OsRng))
    }

    fn from_dalek(key: ed25519_dalek::SigningKey) -> Self {
        Self {
            kid: thumbprint(&key.verifying_key()),
            key,
        }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half, for verifying and publishing.
    pub fn verification_key(&self) -> VerificationKey {
        VerificationKey {
            kid: self.kid.clone(),
            key: self.key.verifying_key(),
        }
    }

    /// The store's form: the 32-byte private seed sealed with the installation key.
    pub fn to_record(&self, secret: &SecretKey, created_at: DateTime<Utc>) -> Result<SigningKeyRecord, AuthError> {
        let mut seed = self.key.to_bytes();
        let sealed = secret.seal(&seed);
        seed.zeroize();
        Ok(SigningKeyRecord {
            kid: self.kid.clone(),
            algorithm: EDDSA.to_string(),
            private_key_sealed: sealed?,
            public_key: self.key.verifying_key().to_bytes().to_vec(),
            created_at,
        })
    }

    /// Opens a stored key; refuses one whose halves disagree or that another key sealed.
    pub fn from_record(record: &SigningKeyRecord, secret: &SecretKey) -> Result<Self, AuthError> {
        let public = VerificationKey::from_record(record)?;
        let mut opened = secret
            .open(&record.private_key_sealed)
            .map_err(|_| AuthError::InvalidSigningKey {
                kid: record.kid.clone(),
                reason: "its private half cannot be opened with this installation's secret key",
            })?;
        let seed = <[u8; 32]>::try_from(opened.as_slice());
        opened.zeroize();
        let mut seed = seed.map_err(|_| AuthError::InvalidSigningKey {
            kid: record.kid.clone(),
            reason: "its private half is not 32 bytes long",
        })?;
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        seed.zeroize();
        if key.verifying_key() != public.key {
            return Err(AuthError::InvalidSigningKey {
                kid: record.kid.clone(),
                reason: "its private and public halves do not match",
            });
        }
        Ok(Self {
            kid: record.kid.clone(),
            key,
        })
    }

    /// An Ed25519 signature of `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The public half of a signing key: enough to verify tokens and publish the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationKey {
    kid: String,
    key: ed25519_dalek::VerifyingKey,
}

impl VerificationKey {
    /// Reads the public half of a stored key (no secret needed: retired keys only verify).
    pub fn from_record(record: &SigningKeyRecord) -> Result<Self, AuthError> {
        let invalid = |reason| AuthError::InvalidSigningKey {
            kid: record.kid.clone(),
            reason,
        };
        if record.algorithm != EDDSA {
            return Err(invalid("its algorithm is not EdDSA"));
        }
        let bytes = <[u8; 32]>::try_from(record.public_key.as_slice())
            .map_err(|_| invalid("its public key is not 32 bytes long"))?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map_err(|_| invalid("its public key is not a valid Ed25519 point"))?;
        Ok(Self {
            kid: record.kid.clone(),
            key,
        })
    }

    pub(crate) fn new(kid: String, key: ed25519_dalek::VerifyingKey) -> Self {
        Self { kid, key }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn public_key_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    pub(crate) fn dalek(&self) -> &ed25519_dalek::VerifyingKey {
        &self.key
    }

    /// The key as an RFC 8037 JWK, as published in the JWKS.
    pub fn to_jwk(&self) -> Value {
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(self.key.as_bytes()),
            "kid": self.kid,
            "use": "sig",
            "alg": EDDSA,
        })
    }
}

/// RFC 7638 JWK thumbprint: SHA-256 over the required members in lexicographic order.
fn thumbprint(key: &ed25519_dalek::VerifyingKey) -> String {
    let canonical = format!(
        r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(key.as_bytes())
    );
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Verifier;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    #[test]
    fn kid_is_the_rfc7638_thumbprint() {
        // RFC 8037 appendix A.3: the thumbprint of the example Ed25519 key.
        let x = URL_SAFE_NO_PAD
            .decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
            .unwrap();
        let key = ed25519_dalek::VerifyingKey::from_bytes(&x.try_into().unwrap()).unwrap();
        assert_eq!(thumbprint(&key), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }

    #[test]
    fn keys_differ_and_sign_verifiably() {
        let a = SigningKey::generate();
        let b = SigningKey::generate();
        assert_ne!(a.kid(), b.kid());
        let signature = ed25519_dalek::Signature::from_bytes(&a.sign(b"message"));
        assert!(a.verification_key().dalek().verify(b"message", &signature).is_ok());
        assert!(b.verification_key().dalek().verify(b"message", &signature).is_err());
    }

    #[test]
    fn record_roundtrip_keeps_the_key() {
        let secret = SecretKey::generate();
        let key = SigningKey::generate();
        let record = key.to_record(&secret, now()).unwrap();
        assert_eq!(record.kid, key.kid());
        assert_eq!(record.algorithm, "EdDSA");
        assert_eq!(record.public_key, key.verification_key().public_key_bytes());
        assert_eq!(record.created_at, now());
        assert!(!record.private_key_sealed.windows(32).any(|w| w == key.key.to_bytes()));
        let reopened = SigningKey::from_record(&record, &secret).unwrap();
        assert_eq!(reopened.kid(), key.kid());
        assert_eq!(reopened.sign(b"m"), key.sign(b"m"));
    }

    #[test]
    fn records_are_checked() {
        let secret = SecretKey::generate();
        let record = SigningKey::generate().to_record(&secret, now()).unwrap();

        let other_secret = SecretKey::generate();
        assert!(matches!(
            SigningKey::from_record(&record, &other_secret),
            Err(AuthError::InvalidSigningKey { .. })
        ));

        let mut mismatched = record.clone();
        mismatched.public_key = SigningKey::generate().verification_key().public_key_bytes().to_vec();
        let error = SigningKey::from_record(&mismatched, &secret).unwrap_err();
        assert!(error.to_string().contains("do not match"), "{error}");

        let mut wrong_alg = record.clone();
        wrong_alg.algorithm = "RS256".into();
        assert!(VerificationKey::from_record(&wrong_alg).is_err());

        let mut short = record;
        short.public_key.pop();
        assert!(VerificationKey::from_record(&short).is_err());
    }

    #[test]
    fn jwk_has_the_rfc8037_shape() {
        let key = SigningKey::generate().verification_key();
        let jwk = key.to_jwk();
        assert_eq!(jwk["kty"], "OKP");
        assert_eq!(jwk["crv"], "Ed25519");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["alg"], "EdDSA");
        assert_eq!(jwk["kid"], key.kid());
        let x = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap();
        assert_eq!(x, key.public_key_bytes());
    }

    #[test]
    fn debug_hides_the_private_key() {
        let key = SigningKey::generate();
        let shown = format!("{key:?}");
        assert!(shown.contains(key.kid()));
        assert!(!shown.contains("secret"));
        assert!(!shown.contains(&format!("{:?}", key.key.to_bytes())));
    }
}
