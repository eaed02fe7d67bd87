//! `/users/delta` against the fake: a full round, then rounds of adds, changes and removals
//! merged into the replica, and expiry.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::Setup;
use domain::graph_mapping::{GraphUser, UserDelta};
use graph::{GraphError, TenantClient};
use testkit::fake_graph::{Endpoint, Fault, PageSizes, RemovalReason};
use uuid::Uuid;

/// Runs one delta round and applies it to `replica`; returns the items and the next link.
async fn round(
    tenant: &TenantClient,
    link: Option<&str>,
    replica: &mut BTreeMap<Uuid, GraphUser>,
) -> Result<(Vec<UserDelta>, String), GraphError> {
    let mut pager = tenant.users_delta(link);
    let mut items = Vec::new();
    while let Some(page) = pager.next_page().await? {
        for item in page.items {
            let after = item.apply(replica.remove(&item.id())).unwrap();
            if let Some(user) = after {
                replica.insert(user.id, user);
            }
            items.push(item);
        }
    }
    let link = pager.delta_link().unwrap().to_string();
    Ok((items, link))
}

fn held(setup: &Setup) -> BTreeMap<Uuid, GraphUser> {
    setup
        .fake
        .users(setup.tenant.tenant_id)
        .unwrap()
        .into_iter()
        .map(|u| (u.id(), u.user))
        .collect()
}

#[tokio::test]
async fn full_round_then_only_changes() {
    let setup = Setup::new(11, 1_000).await;
    setup.fake.set_page_sizes(PageSizes {
        delta: 150,
        ..PageSizes::default()
    });
    let tenant = setup.tenant_client();
    let tenant_id = setup.tenant.tenant_id;

    let mut replica = BTreeMap::new();
    let (first, link) = round(&tenant, None, &mut replica).await.unwrap();
    assert_eq!(first.len(), 1_000);
    assert!(first.iter().all(|i| matches!(i, UserDelta::Upsert { .. })));
    assert_eq!(replica, held(&setup));
    assert_eq!(setup.fake.requests(Endpoint::UsersDelta), 7);

    // Nothing changed: an empty round with a new link.
    let (none, link) = round(&tenant, Some(&link), &mut replica).await.unwrap();
    assert!(none.is_empty());

    let users = setup.fake.users(tenant_id).unwrap();
    let added = setup.fake.add_generated_users(tenant_id, 3).unwrap();
    let renamed = users[10].id();
    let cleared = users[20].id();
    setup
        .fake
        .update_user(tenant_id, renamed, |u| {
            u.user.display_name = Some("Renamed Person".into())
        })
        .unwrap();
    setup
        .fake
        .update_user(tenant_id, cleared, |u| {
            u.user.department = None;
            u.user.usage_location = Some("NZ".into());
        })
        .unwrap();
    setup
        .fake
        .remove_user(tenant_id, users[30].id(), RemovalReason::Deleted)
        .unwrap();
    setup
        .fake
        .remove_user(tenant_id, users[40].id(), RemovalReason::Changed)
        .unwrap();
    // Added then removed within one round: reported as removed, which the replica tolerates.
    let transient = setup.fake.add_generated_users(tenant_id, 1).unwrap()[0].id();
    setup
        .fake
        .remove_user(tenant_id, transient, RemovalReason::Deleted)
        .unwrap();

    let (changes, _link) = round(&tenant, Some(&link), &mut replica).await.unwrap();
    assert_eq!(changes.len(), 3 + 2 + 2 + 1);
    assert_eq!(replica, held(&setup));

    let by_id: BTreeMap<Uuid, &UserDelta> = changes.iter().map(|c| (c.id(), c)).collect();
    for user in &added {
        let UserDelta::Upsert { properties, .. } = by_id[&user.id()] else {
            panic!("an added user must be an upsert");
        };
        assert_eq!(GraphUser::from_partial(properties).unwrap(), user.user);
    }
    let UserDelta::Upsert { properties, .. } = by_id[&renamed] else {
        panic!("a changed user must be an upsert");
    };
    let keys: Vec<&String> = properties.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["id", "displayName"], "only the id and the changed property");
    let UserDelta::Upsert { properties, .. } = by_id[&cleared] else {
        panic!("a changed user must be an upsert");
    };
    assert!(properties["department"].is_null());
    assert_eq!(replica[&cleared].department, None);
    assert_eq!(replica[&cleared].usage_location.as_deref(), Some("NZ"));
    assert_eq!(
        by_id[&users[30].id()],
        &UserDelta::Removed {
            id: users[30].id(),
            reason: Some("deleted".into())
        }
    );
    assert_eq!(
        by_id[&users[40].id()],
        &UserDelta::Removed {
            id: users[40].id(),
            reason: Some("changed".into())
        }
    );
    assert!(matches!(by_id[&transient], UserDelta::Removed { .. }));
}

#[tokio::test]
async fn replaying_a_round_is_harmless() {
    let setup = Setup::new(12, 50).await;
    let tenant = setup.tenant_client();
    let tenant_id = setup.tenant.tenant_id;
    let mut replica = BTreeMap::new();
    let (_, link) = round(&tenant, None, &mut replica).await.unwrap();
    let victim = setup.fake.users(tenant_id).unwrap()[0].id();
    setup
        .fake
        .update_user(tenant_id, victim, |u| u.user.im_addresses.clear())
        .unwrap();
    setup
        .fake
        .remove_user(
            tenant_id,
            setup.fake.users(tenant_id).unwrap()[1].id(),
            RemovalReason::Deleted,
        )
        .unwrap();
    round(&tenant, Some(&link), &mut replica).await.unwrap();
    let once = replica.clone();
    // The same link again (e.g. the commit after the first attempt failed).
    round(&tenant, Some(&link), &mut replica).await.unwrap();
    assert_eq!(replica, once);
    assert_eq!(replica, held(&setup));
}

#[tokio::test]
async fn gone_means_delta_expired() {
    let setup = Setup::new(13, 20).await;
    let tenant = setup.tenant_client();
    let mut replica = BTreeMap::new();
    let (_, link) = round(&tenant, None, &mut replica).await.unwrap();

    setup.fake.inject(Endpoint::UsersDelta, Fault::Gone, 1);
    let error = round(&tenant, Some(&link), &mut replica).await.unwrap_err();
    assert_eq!(error, GraphError::DeltaExpired);
    assert!(!error.is_transient());

    setup.fake.expire_delta_links(setup.tenant.tenant_id).unwrap();
    let error = round(&tenant, Some(&link), &mut replica).await.unwrap_err();
    assert_eq!(error, GraphError::DeltaExpired);

    // The remedy: a full round from scratch.
    let mut fresh = BTreeMap::new();
    let (items, _) = round(&tenant, None, &mut fresh).await.unwrap();
    assert_eq!(items.len(), 20);
    assert!(setup.sleeper.waits().is_empty(), "expiry is not retried");
}

#[tokio::test]
async fn a_link_from_another_graph_counts_as_expired() {
    let setup = Setup::new(14, 5).await;
    let tenant = setup.tenant_client();
    let foreign = "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=abc";
    let error = tenant.users_delta(Some(foreign)).next_page().await.unwrap_err();
    assert_eq!(error, GraphError::DeltaExpired);
    assert_eq!(setup.fake.requests(Endpoint::UsersDelta), 0);
}
