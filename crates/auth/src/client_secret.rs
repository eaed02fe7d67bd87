//! API client secrets: generating them, and keeping and checking them only as hashes.
//!
//! The hash is a plain SHA-256, not argon2 or bcrypt, on purpose. Slow password hashes defend
//! low-entropy, human-chosen passwords against dictionary guessing after a database leak. These
//! secrets are 256 random bits chosen by the server, so there is no dictionary to walk and
//! brute force is out of reach with any hash; meanwhile the check runs on every token request,
//! where a deliberately slow hash would only hand attackers a cheap way to burn CPU.

use std::fmt::Write;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Every secret starts with this, so leaked secrets are recognisable (secret scanners, logs).
pub const CLIENT_SECRET_PREFIX: &str = "rsd_";
/// Versioned prefix of stored hashes, so the scheme can change while old hashes still verify.
const HASH_SCHEME: &str = "sha256$";
const SECRET_BYTES: usize = 32;

/// A new secret: the prefix and 256 random bits in URL-safe base64 (safe in forms and headers).
pub fn generate_client_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    OsRng.fill_bytes(&mut bytes);
    format!("{CLIENT_SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The form a secret is stored in: `sha256$<64 lower-case hex digits>`.
pub fn hash_client_secret(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let mut hash = String::with_capacity(HASH_SCHEME.len() + 64);
    hash.push_str(HASH_SCHEME);
    for byte in digest {
        // Writing to a String cannot fail.
        let _ = write!(hash, "{byte:02x}");
    }
    hash
}

/// Whether `secret` is the one `stored_hash` was made from. Compares in constant time so the
/// answer time reveals nothing about how much of the hash matched. Unknown schemes never match.
pub fn verify_client_secret(secret: &str, stored_hash: &str) -> bool {
    if !stored_hash.starts_with(HASH_SCHEME) {
        return false;
    }
    let candidate = hash_client_secret(secret);
    candidate.as_bytes().ct_eq(stored_hash.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_url_safe_and_long() {
        let secret = generate_client_secret();
        let body = secret.strip_prefix(CLIENT_SECRET_PREFIX).unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(body).unwrap().len(), SECRET_BYTES);
        assert!(secret
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
        assert_ne!(secret, generate_client_secret());
    }

    #[test]
    fn hash_has_versioned_prefix_and_is_stable() {
        let hash = hash_client_secret("abc");
        assert_eq!(
            hash,
            "sha256$ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn verify_accepts_the_secret_and_rejects_others() {
        let secret = generate_client_secret();
        let stored = hash_client_secret(&secret);
        assert!(verify_client_secret(&secret, &stored));
        assert!(!verify_client_secret(&generate_client_secret(), &stored));
        assert!(!verify_client_secret("", &stored));
        let mut almost = secret.clone();
        almost.push('x');
        assert!(!verify_client_secret(&almost, &stored));
    }

    #[test]
    fn verify_rejects_unknown_or_damaged_hashes() {
        let secret = generate_client_secret();
        let stored = hash_client_secret(&secret);
        let hex = stored.strip_prefix(HASH_SCHEME).unwrap();
        assert!(!verify_client_secret(&secret, hex));
        assert!(!verify_client_secret(&secret, &format!("argon2${hex}")));
        assert!(!verify_client_secret(&secret, &stored.to_uppercase()));
        assert!(!verify_client_secret(&secret, &stored[..stored.len() - 1]));
        assert!(!verify_client_secret(&secret, ""));
    }
}
