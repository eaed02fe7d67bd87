//! Graph change-notification subscriptions (`SubscriptionStore`, issue 9): one per customer,
//! found by Graph's subscription id, replaced, listed and deleted.

use chrono::Duration;
use store::{Store, SubscriptionRecord};
use uuid::Uuid;

use crate::{grant, micros_now, new_service, w, SYSTEM};

fn record(customer: domain::CustomerId, id: &str, sealed: &[u8]) -> SubscriptionRecord {
    let now = micros_now();
    SubscriptionRecord {
        customer,
        subscription_id: id.to_string(),
        tenant_id: Uuid::from_u128(0x5b5_0001),
        app_client_id: "11111111-2222-4333-8444-555555555555".to_string(),
        client_state_sealed: sealed.to_vec(),
        expires_at: now + Duration::days(7),
        created_at: now,
        updated_at: now,
    }
}

pub async fn subscriptions_roundtrip(store: &dyn Store) {
    let first = store.create_service(&grant(new_service("subscribed"))).await.unwrap();
    let second = store.create_service(&grant(new_service("subscribed2"))).await.unwrap();
    let one = record(first.id, "7f105c7d-2dc5-4530-97cd-4e7ae6534c07", &[0, 1, 2, 255]);
    store.put_subscription(&grant(one.clone())).await.unwrap();
    let found = store.subscription_by_id(&one.subscription_id).await.unwrap().unwrap();
    assert_eq!(SYSTEM.open(found), one);
    assert!(store.subscription_by_id("unknown").await.unwrap().is_none());

    // A customer has one subscription: putting another replaces it.
    let replaced = SubscriptionRecord {
        subscription_id: "0b6f6f2e-1111-4222-8333-444455556666".into(),
        expires_at: one.expires_at + Duration::days(1),
        ..one.clone()
    };
    store.put_subscription(&grant(replaced.clone())).await.unwrap();
    assert!(store.subscription_by_id(&one.subscription_id).await.unwrap().is_none());
    let two = record(second.id, "9c1d0e2f-aaaa-4bbb-8ccc-dddddddddddd", b"sealed");
    store.put_subscription(&grant(two.clone())).await.unwrap();
    let mut listed = store.list_subscriptions(&SYSTEM).await.unwrap();
    listed.sort_by(|a, b| a.subscription_id.cmp(&b.subscription_id));
    let mut expected = vec![replaced.clone(), two.clone()];
    expected.sort_by(|a, b| a.subscription_id.cmp(&b.subscription_id));
    assert_eq!(listed, expected);

    // Deleting needs the right customer and id.
    assert!(!store
        .delete_subscription(&w(second.id), &replaced.subscription_id)
        .await
        .unwrap());
    assert!(store
        .delete_subscription(&w(first.id), &replaced.subscription_id)
        .await
        .unwrap());
    assert!(!store
        .delete_subscription(&w(first.id), &replaced.subscription_id)
        .await
        .unwrap());
    assert_eq!(store.list_subscriptions(&SYSTEM).await.unwrap(), vec![two]);
}
