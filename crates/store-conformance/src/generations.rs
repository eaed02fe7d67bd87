//! Checks of the end-user generations: the writer end to end, page windows, compare-and-set
//! commits, discarding, keyset scans.

use crate::{grant, r, w, SYSTEM};
use domain::{CustomerId, EndUser};
use store::{
    GenerationCommit, GenerationTicket, GenerationWriter, PageSlice, ReplaceOutcome, Store, StoreError, UserRow,
    WriteError,
};
use uuid::Uuid;

use crate::sample::{busy_sync_state, new_service, rendered_in_order, replace_users, user};

/// Users `range` tagged `tag`, in an order unlike identity order.
fn users(range: std::ops::Range<u64>, tag: &str) -> Vec<EndUser> {
    let mut list: Vec<EndUser> = range.map(|n| user(n, tag)).collect();
    // Interleave from both ends so the push order is neither sorted nor reverse-sorted.
    let mut mixed = Vec::with_capacity(list.len());
    while !list.is_empty() {
        mixed.push(list.remove(0));
        if let Some(last) = list.pop() {
            mixed.push(last);
        }
    }
    mixed
}

async fn page(store: &dyn Store, id: CustomerId, first: i64, limit: i64) -> PageSlice {
    store
        .read_page(&r(id), None, first, limit)
        .await
        .unwrap()
        .expect("service exists")
}

fn counts(o: &ReplaceOutcome) -> (i64, i64, i64, i64, i64) {
    (o.total, o.added, o.changed, o.removed, o.unchanged)
}

pub async fn generation_replace_and_diff(store: &dyn Store) {
    let service = store.create_service(&grant(new_service("gens"))).await.unwrap();
    let first = users(0..30, "Sales");
    let outcome = replace_users(store, service.id, &first, None, false).await.unwrap();
    assert!(outcome.committed);
    assert_eq!(counts(&outcome), (30, 30, 0, 0, 0));
    assert!(outcome.generation > 0);
    let stored = store.get_service(&r(service.id)).await.unwrap().unwrap();
    assert_eq!((stored.generation, stored.user_count), (outcome.generation, 30));

    let slice = page(store, service.id, 1, 100).await;
    assert_eq!(slice.generation, outcome.generation);
    assert_eq!(slice.total_records, 30);
    assert_eq!(slice.bodies, rendered_in_order(&first));

    // Second set: drop 0..5, change 5..12, keep 12..30, add 100..104.
    let mut second: Vec<EndUser> = users(12..30, "Sales");
    second.extend(users(5..12, "Marketing"));
    second.extend(users(100..104, "Sales"));
    second.reverse();
    let again = replace_users(store, service.id, &second, None, false).await.unwrap();
    assert!(again.committed);
    assert_eq!(counts(&again), (29, 4, 7, 5, 18));
    assert!(again.generation > outcome.generation);
    let slice = page(store, service.id, 1, 100).await;
    assert_eq!(slice.generation, again.generation);
    assert_eq!(slice.total_records, 29);
    assert_eq!(slice.bodies, rendered_in_order(&second));

    // The replaced generation is retained as it was (and read pinned); the new one is intact
    // and in identity order.
    assert_eq!(
        store
            .fingerprints(&r(service.id), outcome.generation)
            .await
            .unwrap()
            .len(),
        30
    );
    let old = store
        .read_page(&r(service.id), Some(outcome.generation), 1, 100)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((old.generation, old.total_records), (outcome.generation, 30));
    assert_eq!(old.bodies, rendered_in_order(&first));
    let info = store
        .generation_info(&r(service.id), outcome.generation)
        .await
        .unwrap()
        .unwrap();
    assert!(info.superseded_at.is_some());
    let info = store
        .generation_info(&r(service.id), again.generation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((info.user_count, info.superseded_at), (29, None));
    let prints = store.fingerprints(&r(service.id), again.generation).await.unwrap();
    let mut expected: Vec<(Uuid, i64)> = second
        .iter()
        .map(|u| (u.identity, EndUser::fingerprint_of(&u.render_json())))
        .collect();
    expected.sort();
    assert_eq!(
        prints.iter().map(|p| (p.identity, p.fingerprint)).collect::<Vec<_>>(),
        expected
    );

    // An empty set is a valid replacement.
    let emptied = replace_users(store, service.id, &[], None, false).await.unwrap();
    assert_eq!(counts(&emptied), (0, 0, 0, 29, 0));
    let slice = page(store, service.id, 1, 10).await;
    assert_eq!((slice.generation, slice.total_records), (emptied.generation, 0));
    assert!(slice.bodies.is_empty());
    assert_eq!(store.get_service(&r(service.id)).await.unwrap().unwrap().user_count, 0);
}

pub async fn read_page_windows(store: &dyn Store) {
    assert_eq!(
        store
            .read_page(&r(CustomerId::new_random()), None, 1, 10)
            .await
            .unwrap(),
        None
    );

    let service = store.create_service(&grant(new_service("pages"))).await.unwrap();
    let empty = page(store, service.id, 1, 10).await;
    assert_eq!(
        empty,
        PageSlice {
            generation: 0,
            total_records: 0,
            bodies: vec![]
        }
    );

    let list = users(0..25, "Support");
    let outcome = replace_users(store, service.id, &list, None, false).await.unwrap();
    let all = rendered_in_order(&list);
    for (first, limit, range) in [
        (1, 10, 0..10),
        (11, 10, 10..20),
        (21, 10, 20..25),
        (26, 10, 25..25),
        (1000, 10, 25..25),
        (1, 25, 0..25),
        (1, 10_000, 0..25),
        (5, 1, 4..5),
        (25, 2, 24..25),
    ] {
        let slice = page(store, service.id, first, limit).await;
        assert_eq!(slice.generation, outcome.generation, "page {first}+{limit}");
        assert_eq!(slice.total_records, 25, "page {first}+{limit}");
        assert_eq!(slice.bodies, all[range].to_vec(), "page {first}+{limit}");
    }
}

pub async fn bodies_roundtrip_exactly(store: &dyn Store) {
    let service = store.create_service(&grant(new_service("bytes"))).await.unwrap();
    let mut odd = vec![
        user(1, "Ünïcödé — 日本語 🚀"),
        user(2, "quote \" backslash \\ tab \t newline \n"),
    ];
    let mut long = user(3, &"x".repeat(20_000));
    long.web_name = Some("NUL-free but control \u{1} char".to_string());
    odd.push(long);
    let mut empty = user(4, "");
    empty.department = None;
    empty.line_uri = None;
    empty.is_managed = Some(true);
    empty.ps_count = -7;
    odd.push(empty);
    replace_users(store, service.id, &odd, None, false).await.unwrap();
    let slice = page(store, service.id, 1, 10).await;
    assert_eq!(slice.bodies, rendered_in_order(&odd));
    for body in &slice.bodies {
        let parsed: EndUser = serde_json::from_str(body).unwrap();
        assert!(odd.contains(&parsed));
    }
}

pub async fn duplicate_identity_leaves_data_unchanged(store: &dyn Store) {
    let service = store.create_service(&grant(new_service("dupes"))).await.unwrap();
    let original = users(0..10, "Sales");
    let committed = replace_users(store, service.id, &original, None, false).await.unwrap();
    let before = page(store, service.id, 1, 100).await;

    let mut bad = users(20..30, "Other");
    bad.insert(3, user(25, "Other twin"));
    let error = replace_users(store, service.id, &bad, None, false).await.unwrap_err();
    match error {
        WriteError::DuplicateIdentity {
            identity,
            first_row,
            second_row,
        } => {
            assert_eq!(identity, user(25, "").identity);
            assert!(first_row < second_row, "{first_row} < {second_row}");
            assert!(second_row == 4 || first_row == 4, "row 4 is one of the pair");
        }
        other => panic!("expected DuplicateIdentity, got {other}"),
    }
    assert_eq!(page(store, service.id, 1, 100).await, before);
    let stored = store.get_service(&r(service.id)).await.unwrap().unwrap();
    assert_eq!((stored.generation, stored.user_count), (committed.generation, 10));
}

pub async fn skip_if_unchanged(store: &dyn Store) {
    let service = store.create_service(&grant(new_service("skipper"))).await.unwrap();
    let list = users(0..10, "Ops");
    // The very first set always commits, even when empty of differences to "nothing".
    let first = replace_users(store, service.id, &list, None, true).await.unwrap();
    assert!(first.committed);
    assert_eq!(counts(&first), (10, 10, 0, 0, 0));

    let state = busy_sync_state(60);
    let mut reordered = list.clone();
    reordered.reverse();
    let skipped = replace_users(store, service.id, &reordered, Some(state.clone()), true)
        .await
        .unwrap();
    assert!(!skipped.committed);
    assert_eq!(skipped.generation, first.generation);
    assert_eq!(counts(&skipped), (10, 0, 0, 0, 10));
    let stored = store.get_service(&r(service.id)).await.unwrap().unwrap();
    assert_eq!(stored.generation, first.generation);
    assert_eq!(
        stored.sync, state,
        "sync state is stored even when nothing is committed"
    );
    assert_eq!(page(store, service.id, 1, 100).await.bodies, rendered_in_order(&list));

    let forced = replace_users(store, service.id, &list, None, false).await.unwrap();
    assert!(forced.committed);
    assert!(forced.generation > first.generation);
    assert_eq!(counts(&forced), (10, 0, 0, 0, 10));
    assert_eq!(
        store.get_service(&r(service.id)).await.unwrap().unwrap().sync,
        domain::SyncState {
            delta_link: None,
            ..state
        },
        "users that did not come from a sync replace synced ones: the next sync is a full round"
    );

    // A real difference commits despite skip_if_unchanged.
    let mut changed = list.clone();
    changed[0].department = Some("Moved".to_string());
    let moved = replace_users(store, service.id, &changed, None, true).await.unwrap();
    assert!(moved.committed);
    assert_eq!(counts(&moved), (10, 0, 1, 0, 9));
}

/// What a commit written directly (without the writer) records: a count, a sync state, and
/// nothing closed (the tests that use it write onto an empty generation).
fn commit_of(user_count: i64, sync: Option<domain::SyncState>) -> GenerationCommit {
    GenerationCommit {
        user_count,
        sync,
        closed: Vec::new(),
        committed_at: chrono::Utc::now(),
    }
}

/// Appends rows (identity order, ordinals from 1) and their chunk index to a ticket, as the
/// writer does.
async fn append_with_chunks(store: &dyn Store, ticket: &GenerationTicket, rows: &[UserRow]) {
    store.append_users(ticket, rows).await.unwrap();
    let chunks: Vec<store::ChunkStart> = rows
        .iter()
        .filter(|row| (row.ordinal - 1) % store::CHUNK_USERS == 0)
        .map(|row| store::ChunkStart {
            start_ordinal: row.ordinal,
            first_identity: row.identity,
        })
        .collect();
    store.append_chunks(ticket, &chunks).await.unwrap();
}

/// Rows for a ticket written directly, without the writer.
fn rows_for(list: &[EndUser]) -> Vec<UserRow> {
    let mut sorted: Vec<&EndUser> = list.iter().collect();
    sorted.sort_by_key(|u| u.identity);
    sorted
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let body = u.render_json();
            UserRow {
                ordinal: i as i64 + 1,
                identity: u.identity,
                fingerprint: EndUser::fingerprint_of(&body),
                body,
                source: None,
            }
        })
        .collect()
}

pub async fn commit_conflict(store: &dyn Store) {
    let service = store.create_service(&grant(new_service("racers"))).await.unwrap();
    let a = store.begin_generation(&w(service.id)).await.unwrap();
    let b = store.begin_generation(&w(service.id)).await.unwrap();
    assert_eq!((a.base_generation, b.base_generation), (0, 0));
    assert!(b.generation > a.generation && a.generation > 0);

    let rows_a = rows_for(&users(0..5, "A"));
    let rows_b = rows_for(&users(10..17, "B"));
    append_with_chunks(store, &a, &rows_a).await;
    append_with_chunks(store, &b, &rows_b).await;
    store.commit_generation(&a, &commit_of(5, None)).await.unwrap();
    let lost = store
        .commit_generation(&b, &commit_of(7, Some(busy_sync_state(0))))
        .await;
    assert!(matches!(lost, Err(StoreError::Conflict(_))), "{lost:?}");

    let stored = store.get_service(&r(service.id)).await.unwrap().unwrap();
    assert_eq!((stored.generation, stored.user_count), (a.generation, 5));
    assert_eq!(
        stored.sync,
        domain::SyncState::default(),
        "a failed commit stores no sync state"
    );
    let slice = page(store, service.id, 1, 100).await;
    assert_eq!(slice.bodies, rows_a.iter().map(|r| r.body.clone()).collect::<Vec<_>>());
    store.discard_generation(&w(service.id), b.generation).await.unwrap();
    assert!(store
        .users_after(&r(service.id), b.generation, 0, 100)
        .await
        .unwrap()
        .is_empty());

    let nobody = CustomerId::new_random();
    let missing = store.begin_generation(&w(nobody)).await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))), "{missing:?}");
    let ghost = GenerationTicket {
        customer: w(nobody),
        base_generation: 0,
        generation: 1,
    };
    let missing = store.commit_generation(&ghost, &commit_of(0, None)).await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))), "{missing:?}");
}

pub async fn commit_applies_sync_state(store: &dyn Store) {
    let service = store.create_service(&grant(new_service("synced"))).await.unwrap();
    let state = busy_sync_state(120);
    let outcome = replace_users(store, service.id, &users(0..3, "X"), Some(state.clone()), false)
        .await
        .unwrap();
    let stored = store.get_service(&r(service.id)).await.unwrap().unwrap();
    assert_eq!(stored.sync, state);
    assert_eq!((stored.generation, stored.user_count), (outcome.generation, 3));

    // A commit without sync state (an import) leaves the stored one alone, but forgets the
    // delta link: a delta round must not merge into users that did not come from Graph.
    replace_users(store, service.id, &users(0..4, "X"), None, false)
        .await
        .unwrap();
    let stored = store.get_service(&r(service.id)).await.unwrap().unwrap();
    assert_eq!(
        stored.sync,
        domain::SyncState {
            delta_link: None,
            ..state
        }
    );
    assert_eq!(stored.user_count, 4);
}

pub async fn begin_generation_numbers_grow(store: &dyn Store) {
    let service = store.create_service(&grant(new_service("counter"))).await.unwrap();
    let mut last = 0;
    for _ in 0..3 {
        let ticket = store.begin_generation(&w(service.id)).await.unwrap();
        assert_eq!(*ticket.customer, service.id);
        assert_eq!(ticket.base_generation, 0);
        assert!(ticket.generation > last);
        last = ticket.generation;
    }
    let ticket = store.begin_generation(&w(service.id)).await.unwrap();
    let rows = rows_for(&users(0..2, "N"));
    append_with_chunks(store, &ticket, &rows).await;
    store.commit_generation(&ticket, &commit_of(2, None)).await.unwrap();
    let next = store.begin_generation(&w(service.id)).await.unwrap();
    assert_eq!(next.base_generation, ticket.generation);
    assert!(next.generation > ticket.generation);
    assert_eq!(
        store.get_service(&r(service.id)).await.unwrap().unwrap().generation,
        ticket.generation
    );
    // Tickets of one service do not affect another.
    let other = store.create_service(&grant(new_service("counter2"))).await.unwrap();
    assert_eq!(store.begin_generation(&w(other.id)).await.unwrap().base_generation, 0);
}

pub async fn discard_refuses_served(store: &dyn Store) {
    let service = store.create_service(&grant(new_service("keeper"))).await.unwrap();
    let list = users(0..8, "Keep");
    let served = replace_users(store, service.id, &list, None, false).await.unwrap();
    let refused = store.discard_generation(&w(service.id), served.generation).await;
    assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
    assert_eq!(page(store, service.id, 1, 100).await.bodies, rendered_in_order(&list));

    // An abandoned ticket's rows can be discarded.
    let abandoned = store.begin_generation(&w(service.id)).await.unwrap();
    append_with_chunks(store, &abandoned, &rows_for(&users(50..60, "Gone"))).await;
    assert_eq!(
        store.stored_generations(&r(service.id)).await.unwrap(),
        vec![served.generation, abandoned.generation]
    );
    store
        .discard_generation(&w(service.id), abandoned.generation)
        .await
        .unwrap();
    assert_eq!(
        store.stored_generations(&r(service.id)).await.unwrap(),
        vec![served.generation]
    );
    assert_eq!(page(store, service.id, 1, 100).await.total_records, 8);

    // Discarding a generation that has no rows is fine; an unknown service is not.
    store.discard_generation(&w(service.id), 9_999).await.unwrap();
    let missing = store.discard_generation(&w(CustomerId::new_random()), 1).await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))), "{missing:?}");

    // After a replacement the old generation is retained: discarding it leaves it to its
    // retention, and it still reads as it was.
    let next = replace_users(store, service.id, &users(0..3, "New"), None, false)
        .await
        .unwrap();
    store
        .discard_generation(&w(service.id), served.generation)
        .await
        .unwrap();
    assert_eq!(
        all_rows(store, service.id, served.generation).await.len(),
        8,
        "a superseded generation reads as it was"
    );
    let refused = store.discard_generation(&w(service.id), next.generation).await;
    assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
    assert_eq!(page(store, service.id, 1, 100).await.total_records, 3);
}

pub async fn users_after_keyset(store: &dyn Store) {
    let service = store.create_service(&grant(new_service("keyset"))).await.unwrap();
    let list = users(0..50, "Keyset");
    let outcome = replace_users(store, service.id, &list, None, false).await.unwrap();
    let expected = rows_for(&list);

    let mut collected = Vec::new();
    let mut after = 0;
    loop {
        let rows = store
            .users_after(&r(service.id), outcome.generation, after, 7)
            .await
            .unwrap();
        assert!(rows.len() <= 7);
        let Some(last) = rows.last() else { break };
        after = last.ordinal;
        collected.extend(rows);
    }
    assert_eq!(collected, expected);
    assert!(store
        .users_after(&r(service.id), outcome.generation, 0, 0)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .users_after(&r(service.id), outcome.generation, 50, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .users_after(&r(service.id), outcome.generation, 48, 10)
            .await
            .unwrap(),
        expected[48..].to_vec()
    );
}

pub async fn users_by_identity_finds_exactly_the_named_users(store: &dyn Store) {
    let service = store.create_service(&grant(new_service("byid"))).await.unwrap();
    let list = users(0..20, "Named");
    let outcome = replace_users(store, service.id, &list, None, false).await.unwrap();
    let expected = rows_for(&list);
    let wanted = [
        expected[17].identity,
        expected[3].identity,
        uuid::Uuid::from_u128(7),
        expected[9].identity,
    ];
    let found = store
        .users_by_identity(&r(service.id), outcome.generation, &wanted)
        .await
        .unwrap();
    // A lookup by identity knows no ordinals: they read 0.
    let unnumbered = |row: &UserRow| UserRow {
        ordinal: 0,
        ..row.clone()
    };
    assert_eq!(
        found,
        vec![
            unnumbered(&expected[3]),
            unnumbered(&expected[9]),
            unnumbered(&expected[17])
        ]
    );
    assert!(store
        .users_by_identity(&r(service.id), outcome.generation, &[])
        .await
        .unwrap()
        .is_empty());
    let other = store.create_service(&grant(new_service("byid2"))).await.unwrap();
    assert!(
        store
            .users_by_identity(&r(other.id), outcome.generation, &wanted)
            .await
            .unwrap()
            .is_empty(),
        "another customer's users are never found"
    );
}

pub async fn users_with_line_digits_finds_owners_in_visible_customers(store: &dyn Store) {
    use domain::access::{ClientPrincipal, Principal, Scope};
    let a = store.create_service(&grant(new_service("numa"))).await.unwrap();
    let b = store.create_service(&grant(new_service("numb"))).await.unwrap();
    let mut owner_a = users(0..1, "Owner")[0].clone();
    owner_a.line_uri = Some("tel:+14255550123;ext=7".into());
    let mut owner_b = users(1..2, "Owner")[0].clone();
    owner_b.line_uri = Some("tel:+1 425 555 0123".into());
    let mut other = users(2..3, "Other")[0].clone();
    other.line_uri = Some("tel:+14255550124".into());
    replace_users(store, a.id, &[owner_a.clone(), other], None, false)
        .await
        .unwrap();
    replace_users(store, b.id, &[owner_b.clone()], None, false)
        .await
        .unwrap();

    let everyone = SYSTEM.principal().visibility(None);
    let found = store.users_with_line_digits(&everyone, "14255550123").await.unwrap();
    let mut expected = vec![(a.id, owner_a.identity), (b.id, owner_b.identity)];
    expected.sort();
    let got: Vec<_> = found.iter().map(|(c, row)| (*c, row.identity)).collect();
    assert_eq!(got, expected);

    let only_b = Principal::Client(ClientPrincipal {
        client: domain::ClientId::new_random(),
        role: domain::Role::Monitor,
        scope: Scope::Customers { customers: vec![b.id] },
    })
    .visibility(None);
    let found = store.users_with_line_digits(&only_b, "14255550123").await.unwrap();
    assert_eq!(
        found.iter().map(|(c, row)| (*c, row.identity)).collect::<Vec<_>>(),
        vec![(b.id, owner_b.identity)]
    );
    assert!(store
        .users_with_line_digits(&only_b, "14255550124")
        .await
        .unwrap()
        .is_empty());

    // The number leaves a when a's next generation no longer has it.
    replace_users(store, a.id, &[], None, false).await.unwrap();
    let found = store.users_with_line_digits(&everyone, "14255550123").await.unwrap();
    assert_eq!(found.iter().map(|(c, _)| *c).collect::<Vec<_>>(), vec![b.id]);
}

pub async fn large_generation_pages(store: &dyn Store) {
    // More rows than one writer batch and than one SQLite statement, so batching seams show.
    const N: u64 = 5_003;
    let service = store.create_service(&grant(new_service("large"))).await.unwrap();
    let list = users(0..N, "Bulk");
    let outcome = replace_users(store, service.id, &list, None, false).await.unwrap();
    assert_eq!(counts(&outcome), (N as i64, N as i64, 0, 0, 0));
    let all = rendered_in_order(&list);
    for (first, limit) in [
        (1i64, 10i64),
        (995, 10),
        (1995, 10),
        (1999, 4),
        (4001, 1000),
        (5001, 10),
        (5003, 1),
    ] {
        let slice = page(store, service.id, first, limit).await;
        let start = (first - 1) as usize;
        let end = (start + limit as usize).min(all.len());
        assert_eq!(slice.total_records, N as i64);
        assert_eq!(slice.bodies, all[start..end].to_vec(), "page {first}+{limit}");
    }
    let prints = store.fingerprints(&r(service.id), outcome.generation).await.unwrap();
    assert_eq!(prints.len(), N as usize);
    assert!(prints.windows(2).all(|w| w[0].identity < w[1].identity));

    // Replace with a shifted set: the diff must see every kind of change at scale.
    let mut shifted = users(1_000..N + 1_000, "Bulk");
    shifted[0].department = Some("Changed".to_string());
    let again = replace_users(store, service.id, &shifted, None, false).await.unwrap();
    assert_eq!(counts(&again), (N as i64, 1_000, 1, 1_000, N as i64 - 1_001));
    let slice = page(store, service.id, N as i64 - 2, 10).await;
    assert_eq!(slice.bodies, rendered_in_order(&shifted)[N as usize - 3..].to_vec());
}

/// Successive patches (users added before the first one and inside chunks, the first user of a
/// chunk removed, a whole chunk removed, users changed) are planned from what they touch; every
/// page of every patched generation reads exactly what a whole set would.
pub async fn patches_page_like_whole_sets(store: &dyn Store) {
    let service = store.create_service(&grant(new_service("patched"))).await.unwrap();
    let mut current: Vec<EndUser> = (0..1_000).map(|n| user(n, "Base")).collect();
    replace_users(store, service.id, &current, None, false).await.unwrap();
    let mut sorted: Vec<Uuid> = current.iter().map(|u| u.identity).collect();
    sorted.sort();
    let chunk = store::CHUNK_USERS as usize;
    // Each step: users to add or change, identities to remove.
    let steps: Vec<(Vec<EndUser>, Vec<Uuid>)> = vec![
        (
            (1_000..1_040).map(|n| user(n, "Added")).collect(),
            vec![sorted[0], sorted[chunk], sorted[chunk + 1]],
        ),
        (
            vec![user(5, "Changed"), user(1_001, "Changed")],
            sorted[2 * chunk..3 * chunk].to_vec(),
        ),
        ((2_000..2_100).map(|n| user(n, "More")).collect(), vec![sorted[999]]),
    ];
    for (step, (upserts, removals)) in steps.into_iter().enumerate() {
        let base = store.get_service(&r(service.id)).await.unwrap().unwrap().generation;
        let mut patch = GenerationWriter::patch_of(base).unwrap();
        let mut row = 0;
        for upsert in &upserts {
            row += 1;
            patch.push(row, upsert).unwrap();
        }
        for identity in &removals {
            row += 1;
            patch.push_removal(row, *identity);
        }
        let outcome = patch.commit(store, &w(service.id), None, false).await.unwrap();
        current.retain(|u| !removals.contains(&u.identity) && !upserts.iter().any(|x| x.identity == u.identity));
        current.extend(upserts.iter().cloned());
        assert_eq!(outcome.total, current.len() as i64, "step {step}");
        let all = rendered_in_order(&current);
        for size in [7i64, 100, 10_000] {
            let mut read = Vec::new();
            let mut first = 1;
            while first <= all.len() as i64 {
                let slice = page(store, service.id, first, size).await;
                assert_eq!(
                    (slice.generation, slice.total_records),
                    (outcome.generation, all.len() as i64)
                );
                read.extend(slice.bodies);
                first += size;
            }
            assert_eq!(read, all, "step {step}, pages of {size}");
        }
    }
}

/// The source record of a synced user (`push_with_source`): stored next to the body, returned
/// by `users_after`, copied by `append_users`, never served by `read_page`, and part of the
/// change detection.
pub async fn user_sources_roundtrip(store: &dyn Store) {
    // More rows than a writer batch and than one SQLite INSERT, so batching seams show.
    const N: u64 = 2_503;
    let service = store.create_service(&grant(new_service("sources"))).await.unwrap();
    let list = users(0..N, "Synced");
    let source_of = |u: &EndUser, tag: &str| -> Option<String> {
        matches!(u.identity.as_u128() % 3, 1 | 2)
            .then(|| format!("{{\"id\":\"{}\",\"displayName\":\"Zoë \\\"{tag}\\\" ✓\"}}", u.identity))
    };
    let write = |list: Vec<EndUser>, tag: &'static str, skip: bool| async move {
        let mut writer = GenerationWriter::new().unwrap();
        for (i, u) in list.iter().enumerate() {
            writer
                .push_with_source(i as u64 + 1, u, source_of(u, tag).as_deref())
                .unwrap();
        }
        writer.commit(store, &w(service.id), None, skip).await.unwrap()
    };
    let first = write(list.clone(), "v1", false).await;
    assert_eq!(counts(&first), (N as i64, N as i64, 0, 0, 0));

    let stored = all_rows(store, service.id, first.generation).await;
    let mut sorted = list.clone();
    sorted.sort_by_key(|u| u.identity);
    assert_eq!(stored.len(), sorted.len());
    for (row, user) in stored.iter().zip(&sorted) {
        assert_eq!(row.identity, user.identity);
        assert_eq!(row.body, user.render_json());
        assert_eq!(row.source, source_of(user, "v1"), "source of {}", user.identity);
    }
    assert!(stored.iter().any(|r| r.source.is_none()) && stored.iter().any(|r| r.source.is_some()));
    let slice = page(store, service.id, 1, 10_000).await;
    assert_eq!(slice.bodies, rendered_in_order(&list), "pages serve bodies only");

    // Identical bodies and sources: nothing to commit.
    let same = write(list.clone(), "v1", true).await;
    assert!(!same.committed);
    // Identical bodies, new sources: a change, committed, and the new sources are stored.
    let resourced = write(list.clone(), "v2", true).await;
    assert!(resourced.committed);
    let with_source = stored.iter().filter(|r| r.source.is_some()).count() as i64;
    assert_eq!(
        (resourced.changed, resourced.unchanged),
        (with_source, N as i64 - with_source)
    );
    let stored = all_rows(store, service.id, resourced.generation).await;
    assert!(stored
        .iter()
        .zip(&sorted)
        .all(|(row, u)| row.source == source_of(u, "v2")));
    assert_eq!(
        page(store, service.id, 1, 10_000).await.bodies,
        rendered_in_order(&list)
    );

    // Rows read with users_after and appended elsewhere keep their sources (rosterd copy).
    let other = store.create_service(&grant(new_service("sourcecopy"))).await.unwrap();
    let ticket = store.begin_generation(&w(other.id)).await.unwrap();
    append_with_chunks(store, &ticket, &stored).await;
    store
        .commit_generation(&ticket, &commit_of(N as i64, None))
        .await
        .unwrap();
    assert_eq!(all_rows(store, other.id, ticket.generation).await, stored);

    // A repeated identity keeps its last push when asked to; the writer refuses it otherwise.
    let target = sorted[7].clone();
    let mut writer = GenerationWriter::new().unwrap();
    writer.last_push_wins();
    writer.push_with_source(1, &target, Some("first")).unwrap();
    let mut moved = target.clone();
    moved.department = Some("Replayed".to_string());
    writer.push_with_source(2, &moved, Some("second")).unwrap();
    let replayed = writer.commit(store, &w(other.id), None, false).await.unwrap();
    assert_eq!(replayed.total, 1);
    let rows = all_rows(store, other.id, replayed.generation).await;
    assert_eq!(
        (rows[0].body.clone(), rows[0].source.as_deref()),
        (moved.render_json(), Some("second"))
    );

    // A writer that expects a generation that is no longer served commits nothing.
    let mut writer = GenerationWriter::new().unwrap();
    writer.expect_base_generation(ticket.generation);
    writer.push_with_source(1, &target, Some("stale")).unwrap();
    let stale = writer.commit(store, &w(other.id), None, false).await;
    assert!(
        matches!(stale, Err(WriteError::Store(StoreError::Conflict(_)))),
        "{stale:?}"
    );
    let served = store.get_service(&r(other.id)).await.unwrap().unwrap();
    assert_eq!(served.generation, replayed.generation);
}

async fn all_rows(store: &dyn Store, id: CustomerId, generation: i64) -> Vec<UserRow> {
    let mut rows = Vec::new();
    loop {
        let after = rows.last().map_or(0, |r: &UserRow| r.ordinal);
        let batch = store.users_after(&r(id), generation, after, 1_000).await.unwrap();
        if batch.is_empty() {
            return rows;
        }
        rows.extend(batch);
    }
}

/// Rows of a writer that died before committing are reclaimed by the next successful commit.
pub async fn abandoned_generations_are_reclaimed(store: &dyn Store) {
    let service = store.create_service(&grant(new_service("reclaim"))).await.unwrap();
    let first = replace_users(store, service.id, &users(0..5, "One"), None, false)
        .await
        .unwrap();
    assert_eq!(
        store.stored_generations(&r(service.id)).await.unwrap(),
        vec![first.generation]
    );

    // A writer takes a ticket, writes rows and dies.
    let dead = store.begin_generation(&w(service.id)).await.unwrap();
    store
        .append_users(&dead, &rows_for(&users(10..20, "Dead")))
        .await
        .unwrap();
    assert_eq!(
        store.stored_generations(&r(service.id)).await.unwrap(),
        vec![first.generation, dead.generation]
    );

    let next = replace_users(store, service.id, &users(0..7, "Two"), None, false)
        .await
        .unwrap();
    assert_eq!(
        store.stored_generations(&r(service.id)).await.unwrap(),
        vec![first.generation, next.generation],
        "the dead writer's rows are gone; the superseded generation is retained"
    );
    assert_eq!(page(store, service.id, 1, 100).await.bodies.len(), 7);
    let reclaimed = store
        .reclaim_generations(&SYSTEM, chrono::Utc::now() + chrono::Duration::seconds(1))
        .await
        .unwrap();
    assert!(reclaimed >= 1);
    assert_eq!(
        store.stored_generations(&r(service.id)).await.unwrap(),
        vec![next.generation]
    );
    assert_eq!(page(store, service.id, 1, 100).await.bodies.len(), 7);
}
