//! Checks of the provider-level records: API clients, signing keys, tasks and audit events.

use crate::grant;
use chrono::Duration;
use domain::access::Scope;
use domain::{ClientId, CustomerId, Role};
use store::{ApiClientRecord, AuditEvent, SigningKeyRecord, Store, StoreError, TaskMessage, TaskRecord, TaskStatus};

use crate::sample::{instant, micros_now, new_service};

fn client(name: &str, role: Role, scope: Scope, offset_secs: i64) -> ApiClientRecord {
    ApiClientRecord {
        id: ClientId::new_random(),
        name: name.to_string(),
        role,
        scope,
        secret_hash: format!("$argon2id$v=19$m=19456,t=2,p=1${name}"),
        created_at: instant(offset_secs),
        revoked_at: None,
    }
}

pub async fn clients_and_revocation(store: &dyn Store) {
    assert!(store.list_clients().await.unwrap().is_empty());
    let admin = client("admin", Role::Admin, Scope::Provider, 0);
    let reseller = client("reseller", Role::Operator, Scope::Channel { channel_id: 12 }, 10);
    let watcher = client(
        "watcher",
        Role::Monitor,
        Scope::Customers {
            customers: vec![CustomerId::new_random(), CustomerId::new_random()],
        },
        20,
    );
    // Inserted out of creation order; listed in it.
    for c in [&watcher, &admin, &reseller] {
        store.create_client(&grant(c.clone())).await.unwrap();
    }
    assert_eq!(
        store.list_clients().await.unwrap(),
        vec![admin.clone(), reseller.clone(), watcher.clone()]
    );
    assert_eq!(store.get_client(reseller.id).await.unwrap(), Some(reseller.clone()));
    assert_eq!(store.get_client(ClientId::new_random()).await.unwrap(), None);

    let duplicate = store.create_client(&grant(admin.clone())).await;
    assert!(
        matches!(duplicate, Err(StoreError::Taken(store::Taken::ClientId))),
        "{duplicate:?}"
    );

    let at = instant(100);
    store.revoke_client(&grant(reseller.id), at).await.unwrap();
    let revoked = store.get_client(reseller.id).await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(at));
    assert_eq!(
        ApiClientRecord {
            revoked_at: None,
            ..revoked
        },
        reseller
    );
    // Revoking again keeps the first time.
    store
        .revoke_client(&grant(reseller.id), at + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(
        store.get_client(reseller.id).await.unwrap().unwrap().revoked_at,
        Some(at)
    );
    assert_eq!(store.get_client(admin.id).await.unwrap().unwrap().revoked_at, None);

    let missing = store.revoke_client(&grant(ClientId::new_random()), at).await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))), "{missing:?}");
}

pub async fn signing_keys_idempotent(store: &dyn Store) {
    assert!(store.signing_keys().await.unwrap().is_empty());
    let first = SigningKeyRecord {
        kid: "k-2024-05".to_string(),
        algorithm: "EdDSA".to_string(),
        private_key_sealed: vec![9, 0, 8, 0, 0xff],
        public_key: (0u8..32).collect(),
        created_at: instant(0),
    };
    let second = SigningKeyRecord {
        kid: "k-2024-06".to_string(),
        created_at: instant(86_400 * 30),
        ..first.clone()
    };
    store.insert_signing_key(&second).await.unwrap();
    store.insert_signing_key(&first).await.unwrap();
    let impostor = SigningKeyRecord {
        private_key_sealed: vec![1],
        public_key: vec![2],
        created_at: instant(5),
        ..first.clone()
    };
    store.insert_signing_key(&impostor).await.unwrap();
    store.insert_signing_key(&first).await.unwrap();
    assert_eq!(store.signing_keys().await.unwrap(), vec![first, second]);
}

pub async fn tasks_roundtrip(store: &dyn Store) {
    let service = store.create_service(&grant(new_service("tasker"))).await.unwrap();
    let output = serde_json::json!({
        "zeta": 1,
        "alpha": {"nested": [1, 2.5, "three", null, true]},
        "middle": "ünïcode",
    });
    let mut task = TaskRecord {
        id: "7d1e6f4a-task".to_string(),
        customer: Some(service.id),
        kind: "sync".to_string(),
        status: TaskStatus::InProgress,
        details: vec!["Synchronizing users".to_string()],
        messages: vec![TaskMessage {
            level: "Info".to_string(),
            message: "started".to_string(),
        }],
        output: output.clone(),
        created_at: micros_now(),
        completed_at: None,
        cancellation_requested: false,
    };
    store.create_task(&task).await.unwrap();
    let stored = store
        .get_task(&task.id)
        .await
        .unwrap()
        .map(|t| crate::SYSTEM.open(t))
        .unwrap();
    assert_eq!(stored, task);
    // Key order of the output survives, so the API renders it the same on every backend.
    assert_eq!(
        serde_json::to_string(&stored.output).unwrap(),
        serde_json::to_string(&output).unwrap()
    );

    let duplicate = store.create_task(&task).await;
    assert!(matches!(duplicate, Err(StoreError::Conflict(_))), "{duplicate:?}");

    task.status = TaskStatus::CompletedSuccess;
    task.messages.push(TaskMessage {
        level: "Info".to_string(),
        message: "1,234 users, 12 changed".to_string(),
    });
    task.details.push("done".to_string());
    task.output = serde_json::json!({"added": 3, "changed": 12});
    task.completed_at = Some(task.created_at + Duration::milliseconds(1500));
    task.cancellation_requested = true;
    store.update_task(&task).await.unwrap();
    assert_eq!(
        store.get_task(&task.id).await.unwrap().map(|t| crate::SYSTEM.open(t)),
        Some(task.clone())
    );

    let orphan = TaskRecord {
        id: "no-customer".to_string(),
        customer: None,
        status: TaskStatus::Failed,
        output: serde_json::Value::Null,
        messages: vec![],
        details: vec![],
        ..task.clone()
    };
    store.create_task(&orphan).await.unwrap();
    assert_eq!(
        store
            .get_task("no-customer")
            .await
            .unwrap()
            .map(|t| crate::SYSTEM.open(t)),
        Some(orphan.clone())
    );
    let all = store.list_tasks(&crate::SYSTEM).await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.contains(&task) && all.contains(&orphan), "{all:?}");

    assert_eq!(
        store.get_task("unknown").await.unwrap().map(|t| crate::SYSTEM.open(t)),
        None
    );
    let ghost = TaskRecord {
        id: "unknown".to_string(),
        ..task
    };
    let missing = store.update_task(&ghost).await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))), "{missing:?}");
}

pub async fn audit_events_recorded(store: &dyn Store) {
    let service = store.create_service(&grant(new_service("audited"))).await.unwrap();
    let events = [
        AuditEvent {
            at: micros_now(),
            client: Some(ClientId::new_random()),
            action: "service.create".to_string(),
            customer: Some(service.id),
            detail: "shortName=audited".to_string(),
        },
        AuditEvent {
            at: micros_now(),
            client: None,
            action: "client.revoke".to_string(),
            customer: None,
            detail: String::new(),
        },
    ];
    assert_eq!(store.list_audit_events(&crate::SYSTEM).await.unwrap(), vec![]);
    for event in &events {
        store.record_audit(event).await.unwrap();
    }
    // The same event twice is two entries, not a conflict.
    store.record_audit(&events[0]).await.unwrap();
    // Read back exactly, in recording order (not time order: the second was recorded later
    // but is dated earlier).
    let earlier = AuditEvent {
        at: events[0].at - Duration::days(1),
        detail: "an older date, recorded last".to_string(),
        ..events[1].clone()
    };
    store.record_audit(&earlier).await.unwrap();
    assert_eq!(
        store.list_audit_events(&crate::SYSTEM).await.unwrap(),
        vec![events[0].clone(), events[1].clone(), events[0].clone(), earlier]
    );
}

/// `prune_tasks` deletes finished tasks of one kind completed before the cut-off, and nothing
/// else.
pub async fn prune_tasks_by_age(store: &dyn Store) {
    let now = micros_now();
    let task = |id: &str, kind: &str, completed: Option<i64>| TaskRecord {
        id: id.to_string(),
        customer: None,
        kind: kind.to_string(),
        status: if completed.is_some() {
            TaskStatus::CompletedSuccess
        } else {
            TaskStatus::InProgress
        },
        details: vec![],
        messages: vec![],
        output: serde_json::Value::Null,
        created_at: now - Duration::days(30),
        completed_at: completed.map(|days| now - Duration::days(days)),
        cancellation_requested: false,
    };
    let all = [
        task("old-sync", "user_sync", Some(20)),
        task("older-sync", "user_sync", Some(25)),
        task("recent-sync", "user_sync", Some(1)),
        task("running-sync", "user_sync", None),
        task("old-other", "other", Some(20)),
    ];
    for t in &all {
        store.create_task(t).await.unwrap();
    }
    let pruned = store.prune_tasks("user_sync", now - Duration::days(7)).await.unwrap();
    assert_eq!(pruned, 2);
    let mut left: Vec<String> = store
        .list_tasks(&crate::SYSTEM)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    left.sort();
    assert_eq!(left, vec!["old-other", "recent-sync", "running-sync"]);
    assert_eq!(
        store.prune_tasks("user_sync", now - Duration::days(7)).await.unwrap(),
        0
    );
}
