//! Checks of the service directory: create, read, patch, list with visibility, sync state.

use crate::{grant, r, w, SYSTEM};
use chrono::{Duration, Utc};
use domain::access::{ClientPrincipal, Principal, Scope};
use domain::service::SecretChange;
use domain::{CustomerId, LicenseType, ServicePatch, SiteLocation, SyncState};
use store::{Store, StoreError, Taken};
use uuid::Uuid;

use crate::sample::{busy_sync_state, instant, new_service};

pub async fn ping_and_backend(store: &dyn Store) {
    store.ping().await.unwrap();
    assert!(
        ["sqlite", "postgres"].contains(&store.backend()),
        "unexpected backend name {}",
        store.backend()
    );
}

pub async fn services_crud(store: &dyn Store) {
    let before = Utc::now() - Duration::seconds(5);
    let mut new = new_service("acme");
    new.full_name = "Acme Ünïcode \"Quoted\" B.V.".to_string();
    new.channel_id = Some(7);
    new.ovoc_customer_type = Some("Direct".to_string());
    new.tenant_id = Some(Uuid::parse_str("8E2B1C3D-0000-4000-8000-0000000000AA").unwrap());
    new.default_domain = Some("acme.onmicrosoft.com".to_string());
    new.site_locations = vec![
        SiteLocation {
            id: 1,
            name: "Amsterdam".to_string(),
            sbc_id: Some(42),
            sbc_deployment_state: Some("Deployed".to_string()),
            sbc_configuration_type: None,
        },
        SiteLocation {
            id: 2,
            name: "Zürich".to_string(),
            sbc_id: None,
            sbc_deployment_state: None,
            sbc_configuration_type: Some("Shared".to_string()),
        },
    ];
    let created = store.create_service(&grant(new.clone())).await.unwrap();
    assert_eq!(created.id, new.id);
    assert_eq!(created.short_name, "acme");
    assert_eq!(created.full_name, new.full_name);
    assert_eq!(created.license_type, LicenseType::HostedPro);
    assert_eq!(created.licensed_users_count, Some(100));
    assert_eq!(created.channel_id, Some(7));
    assert_eq!(created.ovoc_customer_type.as_deref(), Some("Direct"));
    assert_eq!(created.tenant_id, new.tenant_id);
    assert_eq!(created.default_domain, new.default_domain);
    assert_eq!(created.app_client_id, None);
    assert_eq!(created.app_client_secret_sealed, None);
    assert_eq!(created.app_client_secret_hint, None);
    assert_eq!(created.secret_expires_at, None);
    assert_eq!(created.site_locations, new.site_locations);
    assert_eq!(created.generation, 0);
    assert_eq!(created.user_count, 0);
    assert_eq!(created.sync, SyncState::default());
    assert!(created.created_at >= before && created.created_at <= Utc::now() + Duration::seconds(5));
    assert_eq!(
        created.created_at.timestamp_subsec_nanos() % 1_000,
        0,
        "stored at microsecond precision"
    );

    assert_eq!(store.get_service(&r(new.id)).await.unwrap(), Some(created.clone()));
    assert_eq!(store.get_service(&r(CustomerId::new_random())).await.unwrap(), None);

    let unchanged = store
        .update_service(&w(new.id), &ServicePatch::default())
        .await
        .unwrap();
    assert_eq!(unchanged, created);

    let patch = ServicePatch {
        full_name: Some("Acme Corporation".to_string()),
        license_type: Some(LicenseType::OcPro),
        licensed_users_count: Some(250),
        tenant_id: Some(Uuid::from_u128(0xfeed)),
        default_domain: Some("acme.example".to_string()),
        app_client_id: Some("11111111-2222-3333-4444-555555555555".to_string()),
        secret: SecretChange::Set {
            sealed: vec![0, 1, 2, 0xfe, 0xff, 0],
            hint: "~-6".to_string(),
        },
        secret_expires_at: Some(instant(3600)),
        reset_sync: false,
    };
    let updated = store.update_service(&w(new.id), &patch).await.unwrap();
    assert_eq!(updated.full_name, "Acme Corporation");
    assert_eq!(updated.license_type, LicenseType::OcPro);
    assert_eq!(updated.licensed_users_count, Some(250));
    assert_eq!(updated.tenant_id, patch.tenant_id);
    assert_eq!(updated.default_domain, patch.default_domain);
    assert_eq!(updated.app_client_id, patch.app_client_id);
    assert_eq!(updated.app_client_secret_sealed, Some(vec![0, 1, 2, 0xfe, 0xff, 0]));
    assert_eq!(updated.app_client_secret_hint.as_deref(), Some("~-6"));
    assert_eq!(updated.secret_expires_at, Some(instant(3600)));
    assert_eq!(updated.short_name, created.short_name);
    assert_eq!(updated.created_at, created.created_at);
    assert_eq!(updated.channel_id, created.channel_id);
    assert_eq!(updated.site_locations, created.site_locations);
    assert!(updated.has_secure_connection());
    assert_eq!(store.get_service(&r(new.id)).await.unwrap(), Some(updated.clone()));

    let partial = ServicePatch {
        licensed_users_count: Some(5),
        ..ServicePatch::default()
    };
    let after_partial = store.update_service(&w(new.id), &partial).await.unwrap();
    assert_eq!(after_partial.licensed_users_count, Some(5));
    assert_eq!(without_count(after_partial), without_count(updated));

    let missing = store.update_service(&w(CustomerId::new_random()), &patch).await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))), "{missing:?}");

    // Re-pointing: the secret (with its expiry) and the replication state go, in one update.
    let synced = SyncState {
        delta_link: Some("https://graph/delta?token=1".into()),
        last_full_sync_at: Some(instant(-60)),
        last_success_at: Some(instant(-60)),
        next_sync_at: Some(instant(600)),
        last_error: Some("boom".into()),
        consecutive_failures: 2,
        connection_ok: Some(true),
        connection_message: Some("ok".into()),
        ..SyncState::default()
    };
    store.update_sync_state(&w(new.id), &synced).await.unwrap();
    let moved = ServicePatch {
        tenant_id: Some(Uuid::from_u128(0xbeef)),
        secret: SecretChange::Clear,
        reset_sync: true,
        ..ServicePatch::default()
    };
    let moved = store.update_service(&w(new.id), &moved).await.unwrap();
    assert_eq!(moved.tenant_id, Some(Uuid::from_u128(0xbeef)));
    assert_eq!(
        (
            moved.app_client_secret_sealed,
            moved.app_client_secret_hint,
            moved.secret_expires_at
        ),
        (None, None, None)
    );
    assert_eq!(moved.sync.delta_link, None);
    assert_eq!(moved.sync.last_full_sync_at, None);
    assert_eq!(moved.sync.next_sync_at, None);
    assert_eq!(moved.sync.last_error, None);
    assert_eq!(moved.sync.consecutive_failures, 0);
    assert_eq!(moved.sync.connection_ok, None);
    assert_eq!(moved.sync.last_success_at, synced.last_success_at, "history stays");
}

pub async fn tenant_belongs_to_one_service(store: &dyn Store) {
    let tenant = Uuid::from_u128(0x7e7a_0001);
    let mut first = new_service("first");
    first.tenant_id = Some(tenant);
    let first = store.create_service(&grant(first)).await.unwrap();
    let mut second = new_service("second");
    second.tenant_id = Some(tenant);
    let refused = store.create_service(&grant(second.clone())).await;
    assert!(
        matches!(refused, Err(StoreError::Taken(Taken::TenantId))),
        "{refused:?}"
    );
    second.tenant_id = None;
    let second = store.create_service(&grant(second)).await.unwrap();
    let patch = ServicePatch {
        tenant_id: Some(tenant),
        ..ServicePatch::default()
    };
    let refused = store.update_service(&w(second.id), &patch).await;
    assert!(
        matches!(refused, Err(StoreError::Taken(Taken::TenantId))),
        "{refused:?}"
    );
    assert_eq!(store.get_service(&r(second.id)).await.unwrap().unwrap().tenant_id, None);
    // The owner may set it again, and other tenants are free.
    store.update_service(&w(first.id), &patch).await.unwrap();
    let other = ServicePatch {
        tenant_id: Some(Uuid::from_u128(0x7e7a_0002)),
        ..ServicePatch::default()
    };
    store.update_service(&w(second.id), &other).await.unwrap();
}

fn without_count(mut service: domain::Service) -> domain::Service {
    service.licensed_users_count = None;
    service
}

pub async fn short_name_conflicts(store: &dyn Store) {
    let first = store.create_service(&grant(new_service("Acme"))).await.unwrap();

    let same_name = store.create_service(&grant(new_service("ACME"))).await;
    assert!(
        matches!(same_name, Err(StoreError::Taken(Taken::ShortName))),
        "{same_name:?}"
    );

    let mut same_id = new_service("other");
    same_id.id = first.id;
    let refused = store.create_service(&grant(same_id)).await;
    assert!(
        matches!(refused, Err(StoreError::Taken(Taken::ServiceId))),
        "{refused:?}"
    );

    let all = store.list_services(&SYSTEM.principal().visibility(None)).await.unwrap();
    assert_eq!(all, vec![first]);
    // A different name is still welcome after the failures.
    store.create_service(&grant(new_service("Acme2"))).await.unwrap();

    // Names are unique per channel: another channel may use one, the same channel may not.
    let in_channel = |name: &str, channel: i64| {
        let mut new = new_service(name);
        new.channel_id = Some(channel);
        grant(new)
    };
    store.create_service(&in_channel("Acme", 7)).await.unwrap();
    store.create_service(&in_channel("acme", 8)).await.unwrap();
    let refused = store.create_service(&in_channel("ACME", 7)).await;
    assert!(
        matches!(refused, Err(StoreError::Taken(Taken::ShortName))),
        "{refused:?}"
    );
}

pub async fn list_services_visibility(store: &dyn Store) {
    let mut ids = std::collections::HashMap::new();
    for (name, channel) in [
        ("delta", Some(1)),
        ("Alpha", Some(2)),
        ("bravo", Some(1)),
        ("charlie", None),
    ] {
        let mut new = new_service(name);
        new.channel_id = channel;
        let created = store.create_service(&grant(new.clone())).await.unwrap();
        ids.insert(name, created.id);
    }
    let names = |services: Vec<domain::Service>| services.into_iter().map(|s| s.short_name).collect::<Vec<_>>();
    let list = |scope: Scope, channel_filter: Option<i64>| {
        let visibility = Principal::Client(ClientPrincipal {
            client: domain::ClientId::new_random(),
            role: domain::Role::Monitor,
            scope,
        })
        .visibility(channel_filter);
        async move { store.list_services(&visibility).await.unwrap() }
    };

    let everything = store.list_services(&SYSTEM.principal().visibility(None)).await.unwrap();
    assert_eq!(names(everything.clone()), ["Alpha", "bravo", "charlie", "delta"]);
    for service in &everything {
        assert_eq!(store.get_service(&r(service.id)).await.unwrap().as_ref(), Some(service));
    }

    assert_eq!(
        names(list(Scope::Channel { channel_id: 1 }, None).await),
        ["bravo", "delta"]
    );
    assert!(list(Scope::Channel { channel_id: 9 }, None).await.is_empty());
    let some = Scope::Customers {
        customers: vec![ids["delta"], ids["charlie"], CustomerId::new_random()],
    };
    assert_eq!(names(list(some, None).await), ["charlie", "delta"]);
    assert!(list(Scope::Customers { customers: vec![] }, None).await.is_empty());
    assert_eq!(names(list(Scope::Provider, Some(2)).await), ["Alpha"]);
    assert!(list(Scope::Channel { channel_id: 1 }, Some(2)).await.is_empty());
    let pair = Scope::Customers {
        customers: vec![ids["Alpha"], ids["bravo"]],
    };
    assert_eq!(names(list(pair, Some(1)).await), ["bravo"]);
}

pub async fn sync_state_roundtrip(store: &dyn Store) {
    let service = store.create_service(&grant(new_service("syncer"))).await.unwrap();
    let state = busy_sync_state(0);
    store.update_sync_state(&w(service.id), &state).await.unwrap();
    let stored = store.get_service(&r(service.id)).await.unwrap().unwrap();
    assert_eq!(stored.sync, state);
    assert_eq!(stored.generation, 0);
    assert_eq!(stored.user_count, 0);

    let failed = SyncState {
        connection_ok: Some(false),
        last_error: Some("AADSTS7000215: invalid client secret".to_string()),
        ..SyncState::default()
    };
    store.update_sync_state(&w(service.id), &failed).await.unwrap();
    assert_eq!(store.get_service(&r(service.id)).await.unwrap().unwrap().sync, failed);

    let missing = store.update_sync_state(&w(CustomerId::new_random()), &state).await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))), "{missing:?}");
}
