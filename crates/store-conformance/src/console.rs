//! Checks of the console's records: accounts (names unique without regard to case, disabling
//! and password changes end sessions), sessions (idle and absolute pruning) and a customer's
//! recent tasks.

use chrono::Duration;
use domain::access::Scope;
use domain::{AccountId, CustomerId, Role};
use store::{AccountRecord, SessionRecord, Store, StoreError, Taken, TaskRecord, TaskStatus};

use crate::sample::{instant, new_service};
use crate::{grant, r, w, SYSTEM};

fn account(name: &str, role: Role, scope: Scope, offset_secs: i64) -> AccountRecord {
    AccountRecord {
        id: AccountId::new_random(),
        name: name.to_string(),
        role,
        scope,
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1${name}"),
        created_at: instant(offset_secs),
        disabled_at: None,
    }
}

fn session(hash: &str, account: AccountId, offset_secs: i64) -> SessionRecord {
    SessionRecord {
        id_hash: hash.to_string(),
        account,
        csrf_token: format!("csrf-{hash}"),
        created_at: instant(offset_secs),
        last_seen_at: instant(offset_secs),
    }
}

pub async fn accounts_and_sessions(store: &dyn Store) {
    assert!(store.list_accounts().await.unwrap().is_empty());
    let alice = account("Alice", Role::Admin, Scope::Provider, 0);
    let bob = account("bob", Role::Monitor, Scope::Channel { channel_id: 3 }, 10);
    for a in [&bob, &alice] {
        store.create_account(&grant(a.clone())).await.unwrap();
    }
    assert_eq!(store.list_accounts().await.unwrap(), vec![alice.clone(), bob.clone()]);
    assert_eq!(store.find_account("ALICE").await.unwrap(), Some(alice.clone()));
    assert_eq!(store.get_account(bob.id).await.unwrap(), Some(bob.clone()));
    assert_eq!(store.find_account("carol").await.unwrap(), None);
    let twin = account("alice", Role::Monitor, Scope::Provider, 20);
    assert!(matches!(
        store.create_account(&grant(twin)).await,
        Err(StoreError::Taken(Taken::AccountName))
    ));

    // Sessions: stored under their hash, touched, deleted.
    store.create_session(&session("a1", alice.id, 0)).await.unwrap();
    store.create_session(&session("a2", alice.id, 0)).await.unwrap();
    store.create_session(&session("b1", bob.id, 0)).await.unwrap();
    store.touch_session("a1", instant(600)).await.unwrap();
    store.touch_session("a1", instant(300)).await.unwrap();
    let a1 = store.get_session("a1").await.unwrap().unwrap();
    assert_eq!(a1.last_seen_at, instant(600), "activity never goes back in time");
    assert_eq!(a1.csrf_token, "csrf-a1");
    store.delete_session("a2").await.unwrap();
    assert_eq!(store.get_session("a2").await.unwrap(), None);

    // A new password ends the account's sessions; disabling does too, and keeps the first time.
    store.create_session(&session("a3", alice.id, 0)).await.unwrap();
    store
        .set_account_password(&SYSTEM.grant(alice.id), "$argon2id$new")
        .await
        .unwrap();
    assert_eq!(store.get_session("a1").await.unwrap(), None);
    assert_eq!(store.get_session("a3").await.unwrap(), None);
    assert_eq!(
        store.get_account(alice.id).await.unwrap().unwrap().password_hash,
        "$argon2id$new"
    );
    assert!(
        store.get_session("b1").await.unwrap().is_some(),
        "other accounts keep theirs"
    );
    store
        .disable_account(&SYSTEM.grant(bob.id), instant(100))
        .await
        .unwrap();
    store
        .disable_account(&SYSTEM.grant(bob.id), instant(200))
        .await
        .unwrap();
    assert_eq!(
        store.get_account(bob.id).await.unwrap().unwrap().disabled_at,
        Some(instant(100))
    );
    assert_eq!(store.get_session("b1").await.unwrap(), None);
    assert!(matches!(
        store
            .disable_account(&SYSTEM.grant(AccountId::new_random()), instant(0))
            .await,
        Err(StoreError::NotFound(_))
    ));

    // Pruning: too old or idle too long.
    store.create_session(&session("old", alice.id, 0)).await.unwrap();
    store.create_session(&session("idle", alice.id, 3000)).await.unwrap();
    store.create_session(&session("live", alice.id, 3000)).await.unwrap();
    store.touch_session("live", instant(5000)).await.unwrap();
    let pruned = store.prune_sessions(instant(1000), instant(4000)).await.unwrap();
    assert_eq!(pruned, 2);
    assert!(store.get_session("live").await.unwrap().is_some());
    assert_eq!(store.get_session("old").await.unwrap(), None);
}

pub async fn recent_tasks_of_a_customer(store: &dyn Store) {
    let one = store.create_service(&grant(new_service("one"))).await.unwrap().id;
    let two = store.create_service(&grant(new_service("two"))).await.unwrap().id;
    let task = |n: i64, customer: CustomerId| TaskRecord {
        id: format!("sync_{n:03}_{}", customer.0.simple()),
        customer: Some(customer),
        kind: "sync".into(),
        status: TaskStatus::CompletedSuccess,
        details: vec![format!("task {n}")],
        messages: vec![],
        output: serde_json::json!({"n": n}),
        created_at: instant(0) + Duration::seconds(n),
        completed_at: None,
        cancellation_requested: false,
    };
    for n in 0..5 {
        store.create_task(&task(n, one)).await.unwrap();
    }
    store.create_task(&task(9, two)).await.unwrap();
    let recent = store.recent_tasks(&r(one), 3).await.unwrap();
    let numbers: Vec<_> = recent.iter().map(|t| t.output["n"].as_i64().unwrap()).collect();
    assert_eq!(
        numbers,
        vec![4, 3, 2],
        "newest first, at most the limit, only this customer's"
    );
    assert_eq!(recent[0], task(4, one));
    assert!(store.recent_tasks(&w(two).read(), 10).await.unwrap().len() == 1);
}
