//! Full listings against the fake: `/users` and `/admin/teams/userConfigurations`, page by
//! page, and the mapping of what was read.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, HashSet};

use common::{credentials_of, Setup};
use domain::graph_mapping::map_user;
use graph::{GraphEvent, Resource};
use testkit::fake_graph::{Endpoint, FakeTenant, PageSizes};
use uuid::Uuid;

#[tokio::test]
async fn lists_25000_users_page_by_page() {
    let setup = Setup::new(25, 25_000).await;
    let tenant = setup.tenant_client();
    let mut pager = tenant.users();
    let mut seen = HashSet::new();
    let mut numbers = Vec::new();
    while let Some(page) = pager.next_page().await.unwrap() {
        assert!(page.items.len() <= 999);
        assert_eq!(page.is_last, page.number == 26);
        assert_eq!(page.delta_link, None);
        numbers.push(page.number);
        for user in page.items {
            assert!(seen.insert(user.id), "user {} listed twice", user.id);
        }
    }
    assert_eq!(numbers, (1..=26).collect::<Vec<u64>>());
    assert_eq!(pager.pages_read(), 26);
    assert_eq!(pager.items_read(), 25_000);
    assert!(pager.is_done());
    assert!(pager.next_page().await.unwrap().is_none());

    let expected: HashSet<Uuid> = setup.tenant.users.iter().map(|u| u.id()).collect();
    assert_eq!(seen, expected);
    assert_eq!(setup.fake.requests(Endpoint::Users), 26);
    assert_eq!(setup.fake.requests(Endpoint::Token), 1);

    let pages: Vec<(u64, usize, u64)> = setup
        .observer
        .events()
        .into_iter()
        .filter_map(|e| match e {
            GraphEvent::PageRead {
                resource: Resource::Users,
                number,
                items,
                items_total,
            } => Some((number, items, items_total)),
            _ => None,
        })
        .collect();
    assert_eq!(pages.len(), 26);
    assert_eq!(pages[0], (1, 999, 999));
    assert_eq!(pages[25], (26, 25_000 - 25 * 999, 25_000));
    assert!(setup.sleeper.waits().is_empty());
}

#[tokio::test]
async fn reads_users_exactly_as_the_fake_holds_them() {
    let setup = Setup::with_config(3, 1_234, |config| config.users_page_size = 100).await;
    let listing = setup.tenant_client().users().collect_all().await.unwrap();
    assert_eq!(listing.pages, 13);
    let mut read = listing.items;
    read.sort_by_key(|u| u.id);
    let held: Vec<_> = setup
        .fake
        .users(setup.tenant.tenant_id)
        .unwrap()
        .into_iter()
        .map(|u| u.user)
        .collect();
    assert_eq!(read, held);
}

#[tokio::test]
async fn reads_teams_configurations_paged_and_maps_like_the_generator() {
    let setup = Setup::with_config(4, 2_000, |config| config.configurations_page_size = Some(150)).await;
    let tenant = setup.tenant_client();
    let users = tenant.users().collect_all().await.unwrap().items;
    let configurations = tenant.user_configurations().collect_all().await.unwrap();
    let with_config = setup.tenant.users.iter().filter(|u| u.config.is_some()).count();
    assert_eq!(configurations.items.len(), with_config);
    assert!(configurations.pages >= (with_config as u64).div_ceil(150));
    assert!(with_config < 2_000, "some generated users have no configuration");
    // The client asks for evolvable enum members (`Prefer: include-unknown-enum-members`), so
    // unlicensed users read as `ineligibleUser`, not as `unknownFutureValue`.
    let account_types: HashSet<_> = configurations
        .items
        .iter()
        .filter_map(|c| c.account_type.as_deref())
        .collect();
    assert!(account_types.contains("ineligibleUser"), "{account_types:?}");
    assert!(!account_types.contains("unknownFutureValue"), "{account_types:?}");

    let by_id: BTreeMap<Uuid, _> = configurations.items.iter().map(|c| (c.id, c)).collect();
    let mut mapped: Vec<_> = users
        .iter()
        .map(|u| map_user(u, by_id.get(&u.id).copied(), setup.tenant.tenant_id))
        .collect();
    mapped.sort_by_key(|u| u.identity);
    assert_eq!(mapped, setup.tenant.expected_end_users());
}

#[tokio::test]
async fn server_default_page_size_and_empty_tenants() {
    let setup = Setup::new(5, 0).await;
    setup.fake.set_page_sizes(PageSizes {
        configurations_default: 7,
        ..PageSizes::default()
    });
    let tenant = setup.tenant_client();
    let listing = tenant.users().collect_all().await.unwrap();
    assert_eq!((listing.items.len(), listing.pages), (0, 1));
    setup.fake.add_generated_users(setup.tenant.tenant_id, 30).unwrap();
    let configurations = tenant.user_configurations().collect_all().await.unwrap();
    assert!(configurations.pages >= 3);
}

#[tokio::test]
async fn tenants_are_kept_apart() {
    let setup = Setup::new(6, 40).await;
    let other: FakeTenant = setup.fake.add_generated_tenant(7, 25);
    let first = setup.tenant_client().users().collect_all().await.unwrap().items;
    let second = setup
        .client
        .tenant(credentials_of(&other))
        .users()
        .collect_all()
        .await
        .unwrap()
        .items;
    assert_eq!(first.len(), 40);
    assert_eq!(second.len(), 25);
    let second_ids: HashSet<Uuid> = second.iter().map(|u| u.id).collect();
    assert!(first.iter().all(|u| !second_ids.contains(&u.id)));
    assert_eq!(setup.fake.requests(Endpoint::Token), 2);
}

/// Issue 9, defect 8: Teams configurations are read with a `$select` of only the properties
/// the mapping uses, on every page, and still parse into complete configurations.
#[tokio::test]
async fn configurations_are_read_with_a_select_of_the_mapped_properties() {
    let setup = Setup::with_config(48, 250, |config| config.configurations_page_size = Some(100)).await;
    let configurations = setup.tenant_client().user_configurations().collect_all().await.unwrap();
    let expected: Vec<_> = setup.tenant.users.iter().filter_map(|u| u.config.clone()).collect();
    assert_eq!(configurations.items.len(), expected.len());
    let query = setup.fake.last_query(Endpoint::UserConfigurations).unwrap();
    assert!(
        query.contains("skiptoken"),
        "the last page follows a next link: {query}"
    );
    let first = setup
        .tenant_client()
        .user_configurations()
        .next_page()
        .await
        .unwrap()
        .unwrap();
    let query = setup.fake.last_query(Endpoint::UserConfigurations).unwrap();
    assert_eq!(
        query,
        "$select=id,accountType,featureTypes,isEnterpriseVoiceEnabled,telephoneNumbers,effectivePolicyAssignments&$top=100"
    );
    // What the mapping reads arrives; what it does not read is not asked for.
    let by_id: std::collections::HashMap<_, _> = expected.iter().map(|c| (c.id, c)).collect();
    for got in &first.items {
        let want = by_id[&got.id];
        assert_eq!(got.feature_types, want.feature_types);
        assert_eq!(got.telephone_numbers, want.telephone_numbers);
        assert_eq!(got.effective_policy_assignments, want.effective_policy_assignments);
        assert_eq!(got.is_enterprise_voice_enabled, want.is_enterprise_voice_enabled);
        assert_eq!(got.user_principal_name, None, "not selected");
    }
}
