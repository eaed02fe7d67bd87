//! rosterd's authentication primitives: secrets at rest, client secrets, token issuing and
//! verification, and the Entra-shaped OAuth token endpoint bodies. No HTTP server code: the api
//! crate wires these into routes.

// Tests may unwrap: a panic there is a failed test, not a crashed server.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod client_secret;
pub mod credentials;
pub mod error;
pub mod external;
pub mod issuer;
pub mod jwt;
pub mod oauth;
pub mod password;
pub mod secret_key;
pub mod signing_key;

pub use client_secret::{generate_client_secret, hash_client_secret, verify_client_secret, CLIENT_SECRET_PREFIX};
pub use credentials::{client_credentials, AuthMethod, ClientCredentials, TokenForm};
pub use error::AuthError;
pub use external::ExternalIssuer;
pub use issuer::{IssuedToken, TokenIssuer, AUTHORIZE_PATH, JWKS_PATH, OPENID_CONFIGURATION_PATH, TOKEN_PATH};
pub use jwt::{unverified_issuer, TokenError, VerifiedToken, CLOCK_SKEW_SECS};
pub use oauth::{OAuthError, TokenResponse};
pub use password::{check_new_password, hash_password, verify_password, PasswordError};
pub use secret_key::SecretKey;
pub use signing_key::{SigningKey, VerificationKey, EDDSA};
