//! The storage role of Microsoft Graph change-notification subscriptions (issue 9): one
//! subscription on `users` per connected customer, with its `clientState` sealed, so that any
//! replica can match an incoming notification, renew the subscription before it expires and
//! delete it when the customer is disconnected.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::access::{Authorized, SystemScope, Unchecked, Write};
use domain::CustomerId;
use uuid::Uuid;

use crate::error::StoreResult;

/// A customer's Graph subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionRecord {
    pub customer: CustomerId,
    /// Graph's subscription id.
    pub subscription_id: String,
    /// The tenant and app registration it was created with: a re-pointed service's
    /// subscription belongs to the old tenant and is replaced.
    pub tenant_id: Uuid,
    pub app_client_id: String,
    /// The random `clientState` every notification must echo, sealed with the installation key.
    pub client_state_sealed: Vec<u8>,
    /// `expirationDateTime` as Graph granted it.
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Where subscriptions are kept. Every backend implements it (in its own `subscriptions`
/// module); `Store` requires it.
#[async_trait]
pub trait SubscriptionStore: Send + Sync {
    /// Stores the customer's subscription, replacing the one it had.
    async fn put_subscription(&self, record: &Authorized<SubscriptionRecord, Write>) -> StoreResult<()>;

    /// The subscription Graph names in a notification, if rosterd holds it; unchecked until the
    /// `clientState` matches.
    async fn subscription_by_id(&self, subscription_id: &str) -> StoreResult<Option<Unchecked<SubscriptionRecord>>>;

    /// Every stored subscription (renewal and clean-up by the engine).
    async fn list_subscriptions(&self, system: &SystemScope) -> StoreResult<Vec<SubscriptionRecord>>;

    /// Forgets the customer's subscription `subscription_id`; false if it was not stored.
    async fn delete_subscription(
        &self,
        customer: &Authorized<CustomerId, Write>,
        subscription_id: &str,
    ) -> StoreResult<bool>;
}
