//! Checks of sync work claiming: which services are due, leases, and exclusivity under
//! concurrent claimers.

use crate::{grant, w};
use chrono::Duration;
use domain::service::SecretChange;
use domain::{CustomerId, LicenseType, ServicePatch, SyncState};
use store::{Store, StoreError};
use uuid::Uuid;

use crate::sample::{instant, new_service};

/// The patch that gives a service a secure connection.
fn connection() -> ServicePatch {
    ServicePatch {
        // A tenant belongs to one service.
        tenant_id: Some(Uuid::new_v4()),
        app_client_id: Some("0b1c2d3e-app".to_string()),
        secret: SecretChange::Set {
            sealed: vec![1, 2, 3],
            hint: "abc".to_string(),
        },
        ..ServicePatch::default()
    }
}

async fn service(
    store: &dyn Store,
    name: &str,
    license: LicenseType,
    patch: ServicePatch,
    next_sync_in: Option<i64>,
) -> CustomerId {
    let mut new = new_service(name);
    new.license_type = license;
    let id = store.create_service(&grant(new.clone())).await.unwrap().id;
    store.update_service(&w(id), &patch).await.unwrap();
    if let Some(secs) = next_sync_in {
        let state = SyncState {
            next_sync_at: Some(instant(secs)),
            ..SyncState::default()
        };
        store.update_sync_state(&w(id), &state).await.unwrap();
    }
    id
}

pub async fn claim_and_lease(store: &dyn Store) {
    let now = instant(0);
    let pro = LicenseType::HostedPro;
    let never = service(store, "never", pro, connection(), None).await;
    let overdue = service(store, "overdue", LicenseType::OcEssentialsPlus, connection(), Some(-60)).await;
    let exact = service(store, "exact", LicenseType::OcPro, connection(), Some(0)).await;
    let later = service(
        store,
        "later",
        LicenseType::HostedEssentialsPlus,
        connection(),
        Some(3600),
    )
    .await;
    // Not connected: wrong license, missing secret, empty app id, missing tenant.
    service(store, "essentials", LicenseType::HostedEssentials, connection(), None).await;
    service(store, "ocess", LicenseType::OcEssentials, connection(), None).await;
    let mut no_secret = connection();
    no_secret.secret = SecretChange::Keep;
    service(store, "nosecret", pro, no_secret, None).await;
    let mut empty_app = connection();
    empty_app.app_client_id = Some(String::new());
    service(store, "emptyapp", pro, empty_app, None).await;
    let mut no_tenant = connection();
    no_tenant.tenant_id = None;
    service(store, "notenant", pro, no_tenant, None).await;

    let lease = now + Duration::minutes(5);
    // Never-synced first, then the most overdue.
    assert_eq!(store.claim_due_sync(now, "w1", lease).await.unwrap(), Some(never));
    assert_eq!(store.claim_due_sync(now, "w1", lease).await.unwrap(), Some(overdue));
    assert_eq!(store.claim_due_sync(now, "w2", lease).await.unwrap(), Some(exact));
    assert_eq!(store.claim_due_sync(now, "w2", lease).await.unwrap(), None);

    // A live lease blocks other owners, not its own; an expired one blocks nobody.
    assert!(!store.lease_sync(&w(never), now, "w2", lease).await.unwrap());
    assert!(store
        .lease_sync(&w(never), now, "w1", lease + Duration::minutes(1))
        .await
        .unwrap());
    assert!(
        store.lease_sync(&w(later), now, "w3", lease).await.unwrap(),
        "on-demand lease of a service not due"
    );
    assert!(!store.lease_sync(&w(later), now, "w2", lease).await.unwrap());

    // Releasing by a stranger does nothing; by the owner frees the service.
    store.release_sync(&w(later), "w2").await.unwrap();
    assert!(!store.lease_sync(&w(later), now, "w2", lease).await.unwrap());
    store.release_sync(&w(later), "w3").await.unwrap();
    assert!(store.lease_sync(&w(later), now, "w2", lease).await.unwrap());
    store.release_sync(&w(later), "w2").await.unwrap();

    store.release_sync(&w(overdue), "w1").await.unwrap();
    assert_eq!(store.claim_due_sync(now, "w4", lease).await.unwrap(), Some(overdue));

    // Two hours on every lease has expired and every connected service is due.
    let much_later = now + Duration::hours(2);
    let mut claimed = Vec::new();
    while let Some(id) = store
        .claim_due_sync(much_later, "w5", much_later + Duration::minutes(5))
        .await
        .unwrap()
    {
        claimed.push(id);
        assert!(claimed.len() <= 4, "claimed more services than are connected");
    }
    assert_eq!(claimed, vec![never, overdue, exact, later]);

    // A lease is live through its last instant and free one microsecond later.
    let edge = much_later + Duration::minutes(5);
    let next = edge + Duration::minutes(5);
    assert!(!store.lease_sync(&w(later), edge, "w6", next).await.unwrap());
    assert!(store
        .lease_sync(&w(later), edge + Duration::microseconds(1), "w6", next)
        .await
        .unwrap());

    let missing = store.lease_sync(&w(CustomerId::new_random()), now, "w1", lease).await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))), "{missing:?}");
    store.release_sync(&w(CustomerId::new_random()), "w1").await.unwrap();
}

pub async fn concurrent_claims_are_exclusive(store: &dyn Store) {
    const SERVICES: usize = 12;
    let mut expected = Vec::new();
    for i in 0..SERVICES {
        expected.push(
            service(
                store,
                &format!("due{i:02}"),
                LicenseType::HostedPro,
                connection(),
                Some(-(i as i64)),
            )
            .await,
        );
    }
    let now = instant(0);
    let claimers = (0..6).map(|w| async move {
        let owner = format!("worker-{w}");
        let mut mine = Vec::new();
        while let Some(id) = store
            .claim_due_sync(now, &owner, now + Duration::minutes(5))
            .await
            .unwrap()
        {
            mine.push(id);
        }
        mine
    });
    let mut all: Vec<CustomerId> = futures::future::join_all(claimers)
        .await
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(all.len(), SERVICES, "every due service is claimed exactly once");
    all.sort();
    all.dedup();
    assert_eq!(all.len(), SERVICES);
    expected.sort();
    assert_eq!(all, expected);
}
