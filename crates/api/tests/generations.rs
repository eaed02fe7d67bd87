//! Following a roster over time (issue 12): every user-list answer names its generation
//! (`Rosterd-Generation`), a client can page through one generation while others are committed
//! (`Generation=N`), ask what changed since a generation (`/user/changes?Since=N`), and gets 410
//! `generation_expired` once the retention is over (time moved by hand, never slept).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::Utc;
use common::{users, TestApp};
use domain::{CustomerId, EndUser};
use serde_json::Value;
use sync::ManualClock;

/// Imports `list` through the API, as a client would (the replica then serves it at once).
async fn import(app: &TestApp, customer: CustomerId, list: &[EndUser]) {
    let reply = app
        .put_users(customer, "application/json", serde_json::to_string(list).unwrap())
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", String::from_utf8_lossy(&reply.body));
}

fn page_uri(customer: CustomerId, number: i64, size: i64, generation: Option<i64>) -> String {
    let pinned = generation.map(|g| format!("&Generation={g}")).unwrap_or_default();
    format!("/api/v3/customer/{customer}/user?PageNumber={number}&PageSize={size}{pinned}")
}

fn generation_of(reply: &common::Reply) -> i64 {
    reply.header("rosterd-generation").parse().unwrap()
}

fn identities(list: &[EndUser]) -> BTreeSet<String> {
    list.iter().map(|u| u.identity.to_string()).collect()
}

fn ids_in(values: &Value) -> Vec<String> {
    values
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            v["Identity"]
                .as_str()
                .map_or_else(|| v.as_str().unwrap().to_string(), str::to_string)
        })
        .collect()
}

/// A client pages through generation N with `Generation=N` while imports land between its
/// requests: every page comes from N, and together they are exactly N's users, once each.
async fn a_pinned_walk_sees_exactly_one_generation(app: TestApp) {
    let customer = app.service("pinned", 1, false, None).await;
    let first = users(37, "first");
    import(&app, customer, &first).await;
    let reply = app.get(&page_uri(customer, 1, 5, None)).await;
    assert_eq!(reply.status.as_u16(), 200);
    let generation = generation_of(&reply);
    assert!(reply.header("etag").contains(&format!("g{generation}-")));

    let mut seen = Vec::new();
    for number in 1..=8 {
        // Another import lands before every page: a mix of first, shifted and renamed users.
        let mut next: Vec<EndUser> = users(37 + number as usize * 3, &format!("import {number}"));
        next.drain(..number as usize * 2);
        import(&app, customer, &next).await;
        let reply = app.get(&page_uri(customer, number, 5, Some(generation))).await;
        assert_eq!(reply.status.as_u16(), 200, "{}", String::from_utf8_lossy(&reply.body));
        assert_eq!(generation_of(&reply), generation);
        let body = reply.json();
        assert_eq!(body["totalRecords"], 37);
        for user in body["data"].as_array().unwrap() {
            assert!(user["WebName"].as_str().unwrap().starts_with("first "));
            seen.push(user["Identity"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(seen.len(), 37, "each user once");
    assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), identities(&first));
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "in Identity order");

    // Without Generation the served one is read, and it is newer.
    let now = app.get(&page_uri(customer, 1, 5, None)).await;
    assert!(generation_of(&now) > generation);
    // A generation that never was is not retained.
    let never = app
        .get(&page_uri(customer, 1, 5, Some(generation_of(&now) + 100)))
        .await;
    assert_eq!(
        (never.status.as_u16(), never.code().as_str()),
        (410, "generation_expired")
    );
    assert_eq!(never.json()["field"], "Generation");
    let bad = app.get(&format!("/api/v3/customer/{customer}/user?Generation=x")).await;
    assert_eq!((bad.status.as_u16(), bad.code().as_str()), (400, "invalid_parameter"));
    assert_eq!(bad.json()["field"], "Generation");
}

/// `Since` answers exactly the difference, across one generation and across several, and
/// nothing when the client is current.
async fn changes_are_exactly_the_difference(app: TestApp) {
    let customer = app.service("changes", 1, false, None).await;
    let base = users(30, "base");
    import(&app, customer, &base).await;
    let g1 = generation_of(&app.get(&page_uri(customer, 1, 2, None)).await);

    // g2: 0..3 removed, 3..6 renamed, 30..34 added.
    let mut second: Vec<EndUser> = base[3..].to_vec();
    for user in &mut second[..3] {
        user.web_name = Some(format!("renamed {}", user.identity));
    }
    second.extend(users(34, "base")[30..].iter().cloned());
    import(&app, customer, &second).await;
    let g2 = generation_of(&app.get(&page_uri(customer, 1, 2, None)).await);

    let reply = app
        .get(&format!("/api/v3/customer/{customer}/user/changes?Since={g1}"))
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(generation_of(&reply), g2);
    let body = reply.json();
    assert_eq!((body["from"].as_i64(), body["to"].as_i64()), (Some(g1), Some(g2)));
    let sorted = |list: &[EndUser]| {
        let mut ids: Vec<String> = list.iter().map(|u| u.identity.to_string()).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids_in(&body["added"]), sorted(&users(34, "base")[30..]));
    assert_eq!(ids_in(&body["changed"]), sorted(&second[..3]));
    assert!(body["changed"][0]["WebName"].as_str().unwrap().starts_with("renamed "));
    assert_eq!(ids_in(&body["removed"]), sorted(&base[..3]));

    // g3: one of the renamed users is renamed back, one added user leaves again, one more
    // base user leaves. Since g1 that is: 2 changed, 3 added, 4 removed.
    let mut third = second.clone();
    third[0] = base[3].clone();
    third.retain(|u| u.identity != users(34, "base")[33].identity && u.identity != base[10].identity);
    import(&app, customer, &third).await;
    let g3 = generation_of(&app.get(&page_uri(customer, 1, 2, None)).await);
    let body = app
        .get(&format!("/api/v3/customer/{customer}/user/changes?since={g1}"))
        .await
        .json();
    assert_eq!(body["to"].as_i64(), Some(g3));
    assert_eq!(ids_in(&body["added"]), sorted(&users(34, "base")[30..33]));
    assert_eq!(
        ids_in(&body["changed"]),
        sorted(&second[1..3]),
        "renamed back is no change"
    );
    let mut removed = base[..3].to_vec();
    removed.push(base[10].clone());
    assert_eq!(ids_in(&body["removed"]), sorted(&removed));

    // Current: empty lists. From 0: everything is added.
    let body = app
        .get(&format!("/api/v3/customer/{customer}/user/changes?Since={g3}"))
        .await
        .json();
    assert_eq!(
        body,
        serde_json::json!({"from": g3, "to": g3, "added": [], "changed": [], "removed": []})
    );
    let body = app
        .get(&format!("/api/v3/customer/{customer}/user/changes?Since=0"))
        .await
        .json();
    assert_eq!(ids_in(&body["added"]), sorted(&third));

    for (query, code) in [
        ("", "invalid_parameter"),
        ("?Since=-1", "invalid_parameter"),
        ("?Since=1&since=2", "repeated_parameter"),
    ] {
        let reply = app
            .get(&format!("/api/v3/customer/{customer}/user/changes{query}"))
            .await;
        assert_eq!(
            (reply.status.as_u16(), reply.code()),
            (400, code.to_string()),
            "{query}"
        );
    }
    let future = app
        .get(&format!("/api/v3/customer/{customer}/user/changes?Since={}", g3 + 1))
        .await;
    assert_eq!(
        (future.status.as_u16(), future.code().as_str()),
        (410, "generation_expired")
    );
}

/// A superseded generation stays readable for the retention and no longer after it, whether or
/// not its rows are reclaimed yet; the served one always is.
async fn retention_ends_with_410(app: TestApp) {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    app.app.set_record_clock(clock.clone());
    let customer = app.service("retained", 1, false, None).await;
    import(&app, customer, &users(12, "old")).await;
    let old = generation_of(&app.get(&page_uri(customer, 1, 5, None)).await);
    import(&app, customer, &users(12, "new")).await;
    let new = generation_of(&app.get(&page_uri(customer, 1, 5, None)).await);

    let retention = chrono::Duration::from_std(app.app.config().generation_retention).unwrap();
    clock.advance(retention - chrono::Duration::seconds(5));
    let reply = app.get(&page_uri(customer, 2, 5, Some(old))).await;
    assert_eq!(reply.status.as_u16(), 200);
    assert!(reply.json()["data"][0]["WebName"].as_str().unwrap().starts_with("old "));
    let since = app
        .get(&format!("/api/v3/customer/{customer}/user/changes?Since={old}"))
        .await;
    assert_eq!(since.status.as_u16(), 200);
    // Nothing is reclaimed before the retention is over.
    assert_eq!(app.app.reclaim_generations().await.unwrap(), 0);

    clock.advance(chrono::Duration::seconds(10));
    let reply = app.get(&page_uri(customer, 2, 5, Some(old))).await;
    assert_eq!(
        (reply.status.as_u16(), reply.code().as_str()),
        (410, "generation_expired"),
        "before reclaim"
    );
    let since = app
        .get(&format!("/api/v3/customer/{customer}/user/changes?Since={old}"))
        .await;
    assert_eq!(
        (since.status.as_u16(), since.code().as_str()),
        (410, "generation_expired")
    );
    assert_eq!(since.json()["field"], "Since");
    assert_eq!(app.app.reclaim_generations().await.unwrap(), 1);
    let reply = app.get(&page_uri(customer, 2, 5, Some(old))).await;
    assert_eq!(
        (reply.status.as_u16(), reply.code().as_str()),
        (410, "generation_expired"),
        "after reclaim"
    );
    // The served generation is never expired, pinned or not.
    let reply = app.get(&page_uri(customer, 2, 5, Some(new))).await;
    assert_eq!(reply.status.as_u16(), 200);
    assert!(reply.json()["data"][0]["WebName"].as_str().unwrap().starts_with("new "));
    assert_eq!(
        app.get(&page_uri(customer, 3, 5, None)).await.json()["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

both_backends!(
    a_pinned_walk_sees_exactly_one_generation,
    changes_are_exactly_the_difference,
    retention_ends_with_410,
);
