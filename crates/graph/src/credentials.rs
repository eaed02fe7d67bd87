//! A customer tenant's app registration, with the secret kept out of `Debug` output.

use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};

use uuid::Uuid;

/// An app registration's client secret. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(String);

impl ClientSecret {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, for the token request only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A process-local fingerprint, so a cached token is not reused after the secret changed.
    pub(crate) fn fingerprint(&self) -> u64 {
        let mut hasher = DefaultHasher::new();
        self.0.hash(&mut hasher);
        hasher.finish()
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(***)")
    }
}

/// What is needed to act as the provider's app inside one customer tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantCredentials {
    pub tenant_id: Uuid,
    pub client_id: String,
    pub client_secret: ClientSecret,
}

impl TenantCredentials {
    pub fn new(tenant_id: Uuid, client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            tenant_id,
            client_id: client_id.into(),
            client_secret: ClientSecret::new(client_secret),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_secret() {
        let creds = TenantCredentials::new(Uuid::nil(), "app", "s3cr3t-value");
        let text = format!("{creds:?}");
        assert!(!text.contains("s3cr3t"));
        assert!(text.contains("app"));
    }
}
