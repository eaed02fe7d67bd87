//! Console account passwords: argon2id hashes (PHC strings with their own salt and parameters),
//! checked in constant time. Unlike client secrets, passwords are chosen by people, so a slow,
//! memory-hard hash is what defends them after a database leak; callers run these on a blocking
//! thread and throttle failed sign-ins.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// Shortest accepted password, in characters.
pub const PASSWORD_MIN_CHARS: usize = 12;
/// Longest accepted password, in bytes (hashing cost grows with the input).
pub const PASSWORD_MAX_BYTES: usize = 1024;

/// Why a password was refused or could not be hashed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password must have at least {PASSWORD_MIN_CHARS} characters, at most {PASSWORD_MAX_BYTES} bytes, and no control characters")]
    Unacceptable,
    #[error("hashing the password failed: {0}")]
    Hash(String),
}

/// Whether a new password is acceptable: long enough, not huge, no control characters.
pub fn check_new_password(password: &str) -> Result<(), PasswordError> {
    let ok = password.chars().count() >= PASSWORD_MIN_CHARS
        && password.len() <= PASSWORD_MAX_BYTES
        && !password.chars().any(char::is_control);
    ok.then_some(()).ok_or(PasswordError::Unacceptable)
}

/// The argon2id hash of an acceptable password (default parameters: 19 MiB, 2 passes).
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    check_new_password(password)?;
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches the stored hash. An unreadable hash matches nothing.
pub fn verify_password(password: &str, hash: &str) -> bool {
    if password.len() > PASSWORD_MAX_BYTES {
        return false;
    }
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// A valid hash of a password nobody knows: verified against when an account does not exist,
/// so that a sign-in takes as long whether the name exists or not.
pub fn decoy_hash() -> &'static str {
    "$argon2id$v=19$m=19456,t=2,p=1$c2lnbi1pbi1kZWNveQ$wL4T4k6bTtWkSP3cJ8Q4f0YQ0Ww8qk3Y7s0pS8fQb0E"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert_ne!(hash, hash_password("correct horse battery").unwrap(), "salted");
    }

    #[test]
    fn weak_or_odd_passwords_are_refused() {
        assert_eq!(hash_password("short"), Err(PasswordError::Unacceptable));
        assert_eq!(hash_password("twelve chars\n"), Err(PasswordError::Unacceptable));
        assert!(hash_password(&"x".repeat(PASSWORD_MAX_BYTES + 1)).is_err());
    }

    #[test]
    fn the_decoy_parses_and_matches_nothing() {
        assert!(PasswordHash::new(decoy_hash()).is_ok());
        assert!(!verify_password("", decoy_hash()));
        assert!(!verify_password("anything at all", decoy_hash()));
        assert!(!verify_password("x", "not a hash"));
    }
}
