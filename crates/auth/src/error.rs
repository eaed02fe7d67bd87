//! Errors of key handling (token problems are `TokenError`, token endpoint ones `OAuthError`).

use std::path::PathBuf;

/// Why a key or key document could not be loaded, created or used.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("cannot {action} the secret key file {path}: {source}")]
    KeyFileIo {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the secret key file {path} does not hold a valid key: {reason}. It must contain 32 bytes as \
         base64 text. Restore the original file; moving it away creates a new key, and secrets \
         sealed with the old one can no longer be read"
    )]
    InvalidKeyFile { path: PathBuf, reason: &'static str },
    #[error("cannot seal data: {0}")]
    Seal(&'static str),
    #[error("cannot open sealed data: {0}")]
    Unseal(&'static str),
    #[error("signing key '{kid}' is unusable: {reason}")]
    InvalidSigningKey { kid: String, reason: &'static str },
    #[error("no signing key is available")]
    NoSigningKey,
    #[error("the JWKS document is invalid: {0}")]
    InvalidJwks(&'static str),
}
