//! Issue 9: the sync is right in every cloud and in the cases a review against Microsoft's
//! documentation found wrong — one test per defect, against the fake Graph: national clouds
//! without the Teams administration API, re-pointing a service, 410 during a full round, long
//! `Retry-After`, hybrid users, group-inherited policies, delta links made with an older
//! `$select`, and soft-deleted users.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration as StdDuration;

use chrono::Duration;
use common::{has_message, messages, Backend, Harness};
use domain::graph_mapping::{EffectivePolicyAssignment, PolicyAssignment};
use domain::ServicePatch;
use serde_json::Value;
use store::TaskStatus;
use sync::{Clock, SyncMode};
use testkit::fake_graph::{Endpoint, FakeTenant, Fault, PageSizes, RemovalReason, TeamsAdminApi, UserKind};

both_backends!(
    national_cloud_syncs_from_the_user_records_alone,
    re_pointing_makes_the_next_sync_a_full_round_of_the_new_tenant,
    gone_during_a_full_round_restarts_it_once,
    long_retry_after_ends_the_round_and_reschedules,
    hybrid_users_get_the_dir_sync_prefix,
    only_direct_voice_routing_policies_are_served,
    a_delta_link_made_with_an_older_select_starts_a_full_round,
    soft_deleted_users_leave_and_return_in_delta_and_full_rounds,
);

fn bodies(served: &[String]) -> Vec<Value> {
    served.iter().map(|b| serde_json::from_str(b).unwrap()).collect()
}

/// Defect 1: where `/admin/teams/userConfigurations` answers 404 (or 400 "not supported"), the
/// sync completes from the user records alone and says why.
async fn national_cloud_syncs_from_the_user_records_alone(backend: Backend) {
    let Some(h) = Harness::new(backend).await else { return };
    let tenant = h.fake.add_generated_tenant(91, 300);
    let customer = h.connect("gcchigh", &tenant).await;
    for (api, status) in [(TeamsAdminApi::NotFound, 404), (TeamsAdminApi::Unsupported, 400)] {
        h.fake.set_teams_admin_api(api);
        let outcome = h.round(customer, true).await;
        assert_eq!(outcome.status, TaskStatus::CompletedSuccess, "{:?}", outcome.error);
        let report = outcome.report.unwrap();
        assert!(!report.teams_voice);
        assert_eq!((report.total, report.configurations), (300, 0));
        let task = h.task(&outcome.task_id).await;
        assert!(
            has_message(&task, "Teams voice data is not available in this cloud")
                && has_message(&task, &format!("answered HTTP {status}")),
            "{:?}",
            messages(&task)
        );
        let served = bodies(&h.served(customer).await);
        assert_eq!(served.len(), 300);
        for user in &served {
            assert_eq!(user["EnterpriseVoiceEnabled"], false, "{user}");
            assert_eq!(user["LineURI"], Value::Null, "{user}");
            assert_eq!(user["OnlineVoiceRoutingPolicy"], "", "{user}");
        }
    }
    // Back in the global cloud the voice data returns.
    h.fake.set_teams_admin_api(TeamsAdminApi::Available);
    let outcome = h.round(customer, false).await;
    assert!(outcome.report.unwrap().teams_voice);
    h.assert_serves(customer, &tenant).await;
}

/// A patch as `PATCH /api/v3/customer/{guid}` applies it: the connection rules included.
async fn re_point(h: &Harness, customer: domain::CustomerId, to: &FakeTenant) {
    let current = h
        .store
        .get_service(&testkit::connected::read(customer))
        .await
        .unwrap()
        .unwrap();
    let patch = ServicePatch {
        tenant_id: Some(to.tenant_id),
        app_client_id: Some(to.client_id.clone()),
        secret: domain::service::SecretChange::Set {
            sealed: h.secrets.seal(to.client_secret.as_bytes()).unwrap(),
            hint: domain::service::secret_hint(&to.client_secret),
        },
        ..ServicePatch::default()
    }
    .with_connection_rules(&current);
    h.store
        .update_service(&testkit::connected::write(customer), &patch)
        .await
        .unwrap();
}

/// Defect 2: a re-pointed service forgets the old tenant's delta link, and its next sync is a
/// full round of the new tenant; a round read while the service was re-pointed commits nothing,
/// fails with a clear message, and the cycle after it is a full round of the new tenant.
async fn re_pointing_makes_the_next_sync_a_full_round_of_the_new_tenant(backend: Backend) {
    let Some(h) = Harness::new(backend).await else { return };
    let first = h.fake.add_generated_tenant(92, 120);
    let second = h.fake.add_generated_tenant(93, 80);
    let customer = h.connect("moving", &first).await;
    assert_eq!(h.round(customer, false).await.status, TaskStatus::CompletedSuccess);
    h.clock.advance(Duration::minutes(5));
    assert_eq!(h.round(customer, false).await.report.unwrap().mode, SyncMode::Delta);

    re_point(&h, customer, &second).await;
    assert_eq!(h.state(customer).await.delta_link, None);
    let outcome = h.round(customer, false).await;
    let report = outcome.report.unwrap();
    assert_eq!(report.mode, SyncMode::Full);
    assert_eq!((report.total, report.removed, report.added), (80, 120, 80));
    h.assert_serves(customer, &second).await;

    // Re-pointed back while a round of `second` is being read.
    h.clock.advance(Duration::minutes(5));
    h.fake
        .inject(Endpoint::UsersDelta, Fault::Delay(StdDuration::from_millis(800)), 1);
    let engine = h.engine.clone();
    let running = tokio::spawn(async move { engine.run_now(testkit::connected::write(customer), false, None).await });
    tokio::time::sleep(StdDuration::from_millis(250)).await;
    re_point(&h, customer, &first).await;
    let outcome = running.await.unwrap().unwrap();
    assert_eq!(outcome.status, TaskStatus::Failed);
    assert!(
        outcome.error.as_deref().unwrap().contains("another tenant"),
        "{:?}",
        outcome.error
    );
    h.assert_serves(customer, &second).await;
    let state = h.state(customer).await;
    assert_eq!(state.delta_link, None, "no delta link of the old tenant");
    assert_eq!(state.consecutive_failures, 0);
    assert!(state.next_sync_at.unwrap() <= h.clock.now(), "due at once");
    let task = h.task(&outcome.task_id).await;
    assert!(
        has_message(&task, "the next sync is a full round of the newly connected tenant"),
        "{:?}",
        messages(&task)
    );
    let report = h.round(customer, false).await.report.unwrap();
    assert_eq!(report.mode, SyncMode::Full);
    h.assert_serves(customer, &first).await;
}

/// Defect 3: 410 Gone (`syncStateNotFound`) on a page of a full round restarts the full round
/// once; a second one fails it, and nothing is committed.
async fn gone_during_a_full_round_restarts_it_once(backend: Backend) {
    let Some(h) = Harness::new(backend).await else { return };
    let tenant = h.fake.add_generated_tenant(94, 400);
    h.fake.set_page_sizes(PageSizes {
        delta: 50,
        ..PageSizes::default()
    });
    let customer = h.connect("gone", &tenant).await;
    h.fake.inject(Endpoint::UsersDelta, Fault::Pass, 2);
    h.fake.inject(Endpoint::UsersDelta, Fault::Gone, 1);
    let outcome = h.round(customer, false).await;
    assert_eq!(outcome.status, TaskStatus::CompletedSuccess, "{:?}", outcome.error);
    let report = outcome.report.unwrap();
    assert_eq!((report.mode, report.total), (SyncMode::Full, 400));
    assert_eq!(
        h.fake.requests(Endpoint::UsersDelta),
        3 + 8,
        "2 pages, the 410, then 8 pages"
    );
    h.assert_serves(customer, &tenant).await;
    let task = h.task(&outcome.task_id).await;
    assert!(
        has_message(&task, "starting the full round again from the beginning (once)"),
        "{:?}",
        messages(&task)
    );

    // Twice in one sync: the sync fails and the served users stay.
    let before = h.served(customer).await;
    h.fake.add_generated_users(tenant.tenant_id, 5).unwrap();
    for _ in 0..2 {
        h.fake.inject(Endpoint::UsersDelta, Fault::Pass, 1);
        h.fake.inject(Endpoint::UsersDelta, Fault::Gone, 1);
    }
    let outcome = h.round(customer, true).await;
    assert_eq!(outcome.status, TaskStatus::Failed);
    assert!(outcome.error.unwrap().contains("expired"));
    assert_eq!(h.served(customer).await, before);
}

/// Defect 4: Graph asks to wait an hour, more than `--max-retry-after` (30 s here): the client
/// neither waits early nor burns its retries; the round ends, the users stay served, and the
/// customer is due after the hour.
async fn long_retry_after_ends_the_round_and_reschedules(backend: Backend) {
    let Some(h) = Harness::new(backend).await else { return };
    let tenant = h.fake.add_generated_tenant(95, 400);
    h.fake.set_page_sizes(PageSizes {
        delta: 100,
        ..PageSizes::default()
    });
    let customer = h.connect("patient", &tenant).await;
    assert_eq!(h.round(customer, false).await.status, TaskStatus::CompletedSuccess);
    let before = h.served(customer).await;
    h.fake.add_generated_users(tenant.tenant_id, 7).unwrap();
    h.fake.reset_request_counts();
    h.fake.inject(Endpoint::UsersDelta, Fault::Pass, 1);
    h.fake.inject(
        Endpoint::UsersDelta,
        Fault::TooManyRequests {
            retry_after_secs: Some(3600),
        },
        1,
    );
    let waits_before = h.sleeper.waits().len();
    let now = h.clock.now();
    let outcome = h.round(customer, true).await;
    assert_eq!(outcome.status, TaskStatus::Failed);
    assert_eq!(h.sleeper.waits().len(), waits_before, "no wait, no early retry");
    assert_eq!(h.fake.requests(Endpoint::UsersDelta), 2, "page 1, then the 429 once");
    assert_eq!(h.served(customer).await, before, "the data stays served");
    let state = h.state(customer).await;
    assert_eq!(state.consecutive_failures, 0, "throttling is not a broken tenant");
    let next = state.next_sync_at.unwrap();
    assert!(
        next >= now + Duration::seconds(3600) && next <= now + Duration::seconds(3960),
        "{next} vs {now}"
    );
    assert!(state.last_error.unwrap().contains("asked to wait 3600 s"));
    let task = h.task(&outcome.task_id).await;
    assert!(
        has_message(
            &task,
            "this round ended without changes and the previous users stay served; the next sync of this customer is at"
        ),
        "{:?}",
        messages(&task)
    );
    // Not due before the hour: the scheduler's claim skips it.
    assert!(h
        .store
        .claim_due_sync(now + Duration::minutes(30), "probe", now + Duration::hours(2))
        .await
        .unwrap()
        .is_none());
}

/// Defect 5: users synced from on-premises AD (`onPremisesSyncEnabled`) get the
/// `DirSyncEnabledOnline` prefix, through full and delta rounds.
async fn hybrid_users_get_the_dir_sync_prefix(backend: Backend) {
    let Some(h) = Harness::new(backend).await else { return };
    let tenant = h.fake.add_generated_tenant(96, 300);
    let customer = h.connect("hybrid", &tenant).await;
    assert_eq!(h.round(customer, false).await.status, TaskStatus::CompletedSuccess);
    let users = h.fake.users(tenant.tenant_id).unwrap();
    let mut synced = Vec::new();
    for kind in [
        UserKind::TeamsUser,
        UserKind::Disabled,
        UserKind::LapsedLicence,
        UserKind::Unlicensed,
        UserKind::ResourceAccount,
    ] {
        let user = users.iter().find(|u| u.kind == kind).unwrap();
        h.fake
            .update_user(tenant.tenant_id, user.id(), |u| {
                u.user.on_premises_sync_enabled = Some(true)
            })
            .unwrap();
        synced.push(user.id());
    }
    h.clock.advance(Duration::minutes(5));
    let report = h.round(customer, false).await.report.unwrap();
    // Five stored Graph records changed; the resource account keeps its served value.
    assert_eq!((report.mode, report.changed), (SyncMode::Delta, 5));
    let resource = bodies(&h.served(customer).await)
        .into_iter()
        .find(|u| u["Identity"] == synced[4].to_string())
        .unwrap();
    assert_eq!(resource["MsInterpretedUserType"], "PureOnlineApplicationInstance");
    h.assert_serves(customer, &tenant).await;
    let served = h.served(customer).await.join("\n");
    for value in [
        "\"DirSyncEnabledOnlineTeamsOnlyUser\"",
        "\"DirSyncEnabledOnlineActiveDirectoryDisabledUser\"",
        "\"DirSyncEnabledOnlineTeamsOnlyUserNotLicensedForService\"",
        "\"DirSyncEnabledOnlineUserWithNoService\"",
    ] {
        assert!(served.contains(value), "{value}");
    }
    // A full round gives the same.
    let report = h.round(customer, true).await.report.unwrap();
    assert_eq!((report.mode, report.committed), (SyncMode::Full, false));
    h.assert_serves(customer, &tenant).await;
}

/// Defect 6: `OnlineVoiceRoutingPolicy` is the policy assigned to the user directly, as
/// Get-CsOnlineUser shows it; a group-inherited one is not served.
async fn only_direct_voice_routing_policies_are_served(backend: Backend) {
    let Some(h) = Harness::new(backend).await else { return };
    let tenant = h.fake.add_generated_tenant(97, 300);
    let customer = h.connect("policies", &tenant).await;
    let users = h.fake.users(tenant.tenant_id).unwrap();
    let voice: Vec<_> = users.iter().filter(|u| u.kind == UserKind::VoiceUser).collect();
    let (inherited, both) = (voice[0].id(), voice[1].id());
    let assignment = |name: &str, kind: &str| EffectivePolicyAssignment {
        policy_type: Some("OnlineVoiceRoutingPolicy".into()),
        policy_assignment: Some(PolicyAssignment {
            display_name: Some(name.into()),
            assignment_type: Some(kind.into()),
            policy_id: Some(format!("Tag:{name}")),
            group_id: (kind == "group").then(|| "9d0a7f3c-0000-4000-8000-000000000001".into()),
        }),
    };
    let assign = |user: uuid::Uuid, assignments: Vec<EffectivePolicyAssignment>| {
        h.fake
            .update_user(tenant.tenant_id, user, |u| {
                let config = u.config.as_mut().unwrap();
                config
                    .effective_policy_assignments
                    .retain(|a| a.policy_type.as_deref() != Some("OnlineVoiceRoutingPolicy"));
                config.effective_policy_assignments.extend(assignments);
            })
            .unwrap();
    };
    assign(inherited, vec![assignment("FromGroup", "group")]);
    assign(
        both,
        vec![assignment("FromGroup", "group"), assignment("Direct-EU", "direct")],
    );
    assert_eq!(h.round(customer, false).await.status, TaskStatus::CompletedSuccess);
    h.assert_serves(customer, &tenant).await;
    let served = bodies(&h.served(customer).await);
    let policy_of = |id: uuid::Uuid| {
        served.iter().find(|u| u["Identity"] == id.to_string()).unwrap()["OnlineVoiceRoutingPolicy"].clone()
    };
    assert_eq!(policy_of(inherited), "");
    assert_eq!(policy_of(both), "Direct-EU");
}

/// Defect 7: a delta link stored with an older `$select` (here: one stored before versions
/// were recorded, i.e. without `onPremisesSyncEnabled`) is not replayed: the next cycle is a
/// full round, whose `$select` carries every property, and the link stored after it is current.
async fn a_delta_link_made_with_an_older_select_starts_a_full_round(backend: Backend) {
    let Some(h) = Harness::new(backend).await else { return };
    let tenant = h.fake.add_generated_tenant(98, 200);
    let customer = h.connect("frozen", &tenant).await;
    assert_eq!(h.round(customer, false).await.status, TaskStatus::CompletedSuccess);
    let query = h.fake.last_query(Endpoint::UsersDelta).unwrap();
    assert!(query.contains("onPremisesSyncEnabled"), "{query}");
    let stored = h.state(customer).await;
    let link = stored.delta_link.clone().unwrap();
    assert!(link.starts_with("rosterd-delta select=2 tenant="), "{link}");
    // The form rosterd stored before issue 9: Graph's link alone.
    let mut old = stored.clone();
    old.delta_link = Some(link.rsplit(' ').next().unwrap().to_string());
    h.store
        .update_sync_state(&testkit::connected::write(customer), &old)
        .await
        .unwrap();
    h.clock.advance(Duration::minutes(5));
    let outcome = h.round(customer, false).await;
    let report = outcome.report.unwrap();
    assert_eq!(report.mode, SyncMode::Full);
    assert!(
        report.reason.contains("older $select (version 1, now 2)"),
        "{}",
        report.reason
    );
    assert!(h
        .state(customer)
        .await
        .delta_link
        .unwrap()
        .starts_with("rosterd-delta select=2 "));
    h.clock.advance(Duration::minutes(5));
    assert_eq!(h.round(customer, false).await.report.unwrap().mode, SyncMode::Delta);
}

/// Defect 9: a soft-deleted user (`@removed` with reason `changed`) is not served — in a delta
/// round and in a full round alike — and is served again once restored.
async fn soft_deleted_users_leave_and_return_in_delta_and_full_rounds(backend: Backend) {
    let Some(h) = Harness::new(backend).await else { return };
    let tenant = h.fake.add_generated_tenant(99, 200);
    let customer = h.connect("softdelete", &tenant).await;
    assert_eq!(h.round(customer, false).await.status, TaskStatus::CompletedSuccess);
    let users = h.fake.users(tenant.tenant_id).unwrap();
    let (first, second) = (users[3].clone(), users[4].clone());
    h.fake
        .remove_user(tenant.tenant_id, first.id(), RemovalReason::Changed)
        .unwrap();
    h.clock.advance(Duration::minutes(5));
    let report = h.round(customer, false).await.report.unwrap();
    assert_eq!((report.mode, report.removed, report.total), (SyncMode::Delta, 1, 199));
    h.fake
        .remove_user(tenant.tenant_id, second.id(), RemovalReason::Changed)
        .unwrap();
    let report = h.round(customer, true).await.report.unwrap();
    assert_eq!((report.mode, report.removed, report.total), (SyncMode::Full, 1, 198));
    let served = h.served(customer).await.join("\n");
    assert!(!served.contains(&first.id().to_string()) && !served.contains(&second.id().to_string()));
    h.assert_serves(customer, &tenant).await;

    // Restored from the recycle bin: Graph reports the user again in full.
    h.fake.add_user(tenant.tenant_id, first.clone()).unwrap();
    h.clock.advance(Duration::minutes(5));
    let report = h.round(customer, false).await.report.unwrap();
    assert_eq!((report.mode, report.added, report.total), (SyncMode::Delta, 1, 199));
    h.assert_serves(customer, &tenant).await;
}
