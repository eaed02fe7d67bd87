//! Full and delta rounds against the fake Graph: a 25,000-user tenant across many pages is
//! served exactly as the mapping expects; delta rounds apply adds, changes and removals (and
//! Teams configuration changes that delta does not report); expired delta links, imported users
//! and the daily reconciliation fall back to full rounds.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::Duration;
use common::{has_message, messages, Backend, Harness};
use domain::graph_mapping::AssignedTelephoneNumber;
use store::{GenerationWriter, TaskStatus};
use sync::{Clock, SyncMode};
use testkit::fake_graph::{Endpoint, Fault, PageSizes, RemovalReason};

both_backends!(
    full_sync_of_25000_users_matches_the_mapping,
    delta_round_applies_adds_changes_and_removals,
    expired_delta_link_falls_back_to_a_full_round,
    imported_users_are_replaced_by_a_full_round,
    daily_reconciliation_reads_everything_again,
    full_rounds_apply_repeated_and_removed_items_in_order,
);

/// Graph may list a user twice in a round, and users may leave while a full round is read
/// (`@removed` for users already listed, and for one never listed): the round is still one
/// consistent tenant, without the users that left.
async fn full_rounds_apply_repeated_and_removed_items_in_order(backend: Backend) {
    let Some(h) = Harness::new(backend).await else { return };
    let tenant = h.fake.add_generated_tenant(11, 600);
    h.fake.set_page_sizes(PageSizes {
        delta: 50,
        ..PageSizes::default()
    });
    let customer = h.connect("replayed", &tenant).await;
    // Page 2 lists the first 20 users again; page 5 reports that 5 users of pages 1 to 4 left.
    h.fake.inject(Endpoint::UsersDelta, Fault::Pass, 1);
    h.fake.inject(Endpoint::UsersDelta, Fault::RepeatItems(20), 1);
    h.fake.inject(Endpoint::UsersDelta, Fault::Pass, 2);
    h.fake.inject(Endpoint::UsersDelta, Fault::RemoveListedUsers(5), 1);
    let outcome = h.round(customer, false).await;
    assert_eq!(outcome.status, TaskStatus::CompletedSuccess, "{:?}", outcome.error);
    let report = outcome.report.unwrap();
    assert_eq!(report.mode, SyncMode::Full);
    assert_eq!(report.user_items, 600 + 20 + 6);
    assert_eq!((report.total, report.added), (595, 595));
    let served = h.served(customer).await;
    assert_eq!(served.len(), 595);
    common::assert_same_users(&served, &h.expected(&tenant));
    let never = testkit::fake_graph::NEVER_LISTED_USER.to_string();
    assert!(!served.iter().any(|body| body.contains(&never)));
    assert!(
        has_message(&h.task(&outcome.task_id).await, "(6 @removed items"),
        "{:?}",
        messages(&h.task(&outcome.task_id).await)
    );

    // The next delta round reports those removals again: nothing changes.
    let next = h.report(customer, false).await;
    assert_eq!(next.mode, SyncMode::Delta);
    assert!(!next.committed, "{next:?}");
    h.assert_serves(customer, &tenant).await;
}

async fn full_sync_of_25000_users_matches_the_mapping(backend: Backend) {
    let Some(h) = Harness::new(backend).await else { return };
    let tenant = h.fake.add_generated_tenant(25, 25_000);
    h.fake.set_page_sizes(PageSizes {
        delta: 200,
        configurations_default: 500,
        ..PageSizes::default()
    });
    let customer = h.connect("big", &tenant).await;

    let outcome = h.round(customer, false).await;
    assert_eq!(outcome.status, TaskStatus::CompletedSuccess, "{:?}", outcome.error);
    let report = outcome.report.unwrap();
    assert_eq!(report.mode, SyncMode::Full);
    assert_eq!(report.reason, "no delta link stored yet");
    assert_eq!(
        (report.total, report.added, report.changed, report.removed),
        (25_000, 25_000, 0, 0)
    );
    assert_eq!((report.user_items, report.user_pages), (25_000, 125));
    assert!(report.configuration_pages > 1);
    assert!(report.committed);

    // Every served body, in order, is exactly the mapping of the fake's users.
    let expected = h.expected(&tenant);
    assert_eq!(expected.len(), 25_000);
    let served = h.served(customer).await;
    assert_eq!(served.len(), expected.len());
    for (i, (got, want)) in served.iter().zip(&expected).enumerate() {
        assert_eq!(got, want, "user {i}");
    }

    let task = h.task(&outcome.task_id).await;
    assert_eq!(task.status, TaskStatus::CompletedSuccess);
    assert_eq!(task.kind, sync::TASK_KIND);
    assert!(task.completed_at.is_some());
    assert!(
        has_message(&task, "read 25000 users from users/delta in 125 pages"),
        "{:?}",
        messages(&task)
    );
    assert!(has_message(&task, "committed generation"), "{:?}", messages(&task));
    assert_eq!(task.output["total"], 25_000);
    assert_eq!(task.output["mode"], "full");

    let state = h.state(customer).await;
    assert!(state.delta_link.is_some());
    assert_eq!(state.consecutive_failures, 0);
    assert_eq!(state.last_error, None);
    assert!(state.last_full_sync_at.is_some() && state.last_success_at.is_some());
    assert!(state.next_sync_at.unwrap() > h.clock.now() + Duration::seconds(299));
    assert_eq!(state.connection_ok, Some(true));
}

async fn delta_round_applies_adds_changes_and_removals(backend: Backend) {
    let Some(h) = Harness::new(backend).await else { return };
    let tenant = h.fake.add_generated_tenant(7, 600);
    h.fake.set_page_sizes(PageSizes {
        delta: 50,
        ..PageSizes::default()
    });
    let customer = h.connect("delta", &tenant).await;
    let first = h.round(customer, false).await;
    assert_eq!(first.status, TaskStatus::CompletedSuccess);
    let link_before = h.state(customer).await.delta_link.unwrap();

    let users = h.fake.users(tenant.tenant_id).unwrap();
    let with_config: Vec<_> = users.iter().filter(|u| u.config.is_some()).collect();
    let renamed = users[10].id();
    let renumbered = with_config[20].id();
    let deleted = users[30].id();
    let soft_deleted = users[40].id();
    h.fake
        .update_user(tenant.tenant_id, renamed, |u| {
            u.user.display_name = Some("Renamed Person".into());
            u.user.department = None;
        })
        .unwrap();
    // A Teams change only: /users/delta does not report it, the configurations listing does.
    h.fake
        .update_user(tenant.tenant_id, renumbered, |u| {
            let config = u.config.as_mut().unwrap();
            config.telephone_numbers = vec![AssignedTelephoneNumber {
                telephone_number: Some("+31201234567".into()),
                assignment_category: Some("primary".into()),
            }];
        })
        .unwrap();
    h.fake
        .remove_user(tenant.tenant_id, deleted, RemovalReason::Deleted)
        .unwrap();
    h.fake
        .remove_user(tenant.tenant_id, soft_deleted, RemovalReason::Changed)
        .unwrap();
    h.fake.add_generated_users(tenant.tenant_id, 3).unwrap();

    h.clock.advance(Duration::minutes(5));
    let second = h.round(customer, false).await;
    assert_eq!(second.status, TaskStatus::CompletedSuccess, "{:?}", second.error);
    let report = second.report.unwrap();
    assert_eq!(report.mode, SyncMode::Delta);
    assert_eq!(
        (
            report.total,
            report.added,
            report.changed,
            report.removed,
            report.unchanged
        ),
        (601, 3, 2, 2, 596)
    );
    assert_eq!(report.user_items, 6, "1 change, 2 removals, 3 additions");
    h.assert_serves(customer, &tenant).await;
    let served = h.served(customer).await.join("\n");
    assert!(served.contains("\"LineURI\":\"tel:+31201234567\""));
    assert!(served.contains("Renamed Person"));
    let task = h.task(&second.task_id).await;
    assert!(
        has_message(&task, "delta round: changes since the stored delta link"),
        "{:?}",
        messages(&task)
    );
    assert!(
        has_message(&task, "read 6 changes to 6 users from users/delta in 1 pages"),
        "{:?}",
        messages(&task)
    );
    assert!(
        has_message(&task, "(3 added, 2 changed, 2 removed, 596 unchanged)"),
        "{:?}",
        messages(&task)
    );
    let state = h.state(customer).await;
    assert_ne!(state.delta_link.unwrap(), link_before, "the new delta link is stored");

    // A later change merges into the merged records: the rename survives a second change.
    h.fake
        .update_user(tenant.tenant_id, renamed, |u| u.user.usage_location = Some("FR".into()))
        .unwrap();
    let third = h.report(customer, false).await;
    assert_eq!(
        (third.mode, third.changed, third.added, third.removed),
        (SyncMode::Delta, 1, 0, 0)
    );
    h.assert_serves(customer, &tenant).await;

    // Nothing changed: nothing is written and the generation stays.
    let generation = h
        .store
        .get_service(&testkit::connected::read(customer))
        .await
        .unwrap()
        .unwrap()
        .generation;
    let idle = h.round(customer, false).await;
    let report = idle.report.unwrap();
    assert!(!report.committed);
    assert_eq!((report.generation, report.user_items), (generation, 0));
    assert!(has_message(&h.task(&idle.task_id).await, "no change: 601 users"));
}

async fn expired_delta_link_falls_back_to_a_full_round(backend: Backend) {
    let Some(h) = Harness::new(backend).await else { return };
    let tenant = h.fake.add_generated_tenant(8, 300);
    let customer = h.connect("expired", &tenant).await;
    assert_eq!(h.round(customer, false).await.status, TaskStatus::CompletedSuccess);
    let changed = h.fake.users(tenant.tenant_id).unwrap()[5].id();
    h.fake
        .update_user(tenant.tenant_id, changed, |u| {
            u.user.display_name = Some("After expiry".into())
        })
        .unwrap();
    h.fake.expire_delta_links(tenant.tenant_id).unwrap();

    let outcome = h.round(customer, false).await;
    assert_eq!(outcome.status, TaskStatus::CompletedSuccess, "{:?}", outcome.error);
    let report = outcome.report.unwrap();
    assert_eq!(report.mode, SyncMode::Full);
    assert!(report.reason.contains("expired"), "{}", report.reason);
    assert_eq!((report.changed, report.total), (1, 300));
    h.assert_serves(customer, &tenant).await;
    let task = h.task(&outcome.task_id).await;
    assert!(
        task.messages
            .iter()
            .any(|m| m.level == "Warning" && m.message.contains("410 Gone")),
        "{:?}",
        messages(&task)
    );
    // The new round's link works: the next cycle is a delta round again.
    let next = h.report(customer, false).await;
    assert_eq!(next.mode, SyncMode::Delta);
}

async fn imported_users_are_replaced_by_a_full_round(backend: Backend) {
    let Some(h) = Harness::new(backend).await else { return };
    let tenant = h.fake.add_generated_tenant(9, 120);
    let customer = h.connect("imported", &tenant).await;
    h.round(customer, false).await;
    // An import replaces the synced users with records that carry no Graph source.
    let mut writer = GenerationWriter::new().unwrap();
    for (i, user) in h
        .fake
        .expected_end_users(tenant.tenant_id)
        .unwrap()
        .iter()
        .take(50)
        .enumerate()
    {
        writer.push(i as u64 + 1, user).unwrap();
    }
    writer
        .commit(h.store.as_ref(), &testkit::connected::write(customer), None, false)
        .await
        .unwrap();
    assert_eq!(h.served(customer).await.len(), 50);

    let outcome = h.round(customer, false).await;
    let report = outcome.report.unwrap();
    // The import forgot the delta link (its users have no Graph records to merge into).
    assert_eq!(report.mode, SyncMode::Full);
    assert!(report.reason.contains("no delta link"), "{}", report.reason);
    h.assert_serves(customer, &tenant).await;
}

async fn daily_reconciliation_reads_everything_again(backend: Backend) {
    let Some(h) = Harness::new(backend).await else { return };
    let tenant = h.fake.add_generated_tenant(10, 40);
    let customer = h.connect("daily", &tenant).await;
    let first = h.report(customer, false).await;
    assert_eq!(first.mode, SyncMode::Full);
    h.clock.advance(Duration::hours(3));
    let quick = h.report(customer, false).await;
    assert_eq!(quick.mode, SyncMode::Delta);
    let requested = h.report(customer, true).await;
    assert_eq!(
        (requested.mode, requested.reason.as_str()),
        (SyncMode::Full, "a full sync was requested")
    );
    h.clock.advance(Duration::hours(23));
    let quick = h.report(customer, false).await;
    assert_eq!(
        quick.mode,
        SyncMode::Delta,
        "the requested full round counts as the reconciliation"
    );
    h.clock.advance(Duration::hours(2));
    let daily = h.report(customer, false).await;
    assert_eq!(daily.mode, SyncMode::Full);
    assert!(
        daily.reason.contains("daily full reconciliation is due"),
        "{}",
        daily.reason
    );
    assert!(!daily.committed, "nothing changed in the tenant");
    assert_eq!(daily.unchanged, 40);
}
