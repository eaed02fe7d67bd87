//! The atomicity check: readers paging while a writer keeps replacing the set must only ever see
//! one whole generation per page.

use crate::{grant, r};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use domain::EndUser;
use store::Store;

use crate::sample::{new_service, replace_users, user};

const ROUNDS: u64 = 12;
const READERS: usize = 3;
const PAGE: i64 = 25;

/// Round `k` has `size(k)` users, overlapping the previous round's, all tagged `round-k`.
fn size(round: u64) -> u64 {
    150 + round * 17
}

fn round_users(round: u64) -> Vec<EndUser> {
    (round * 40..round * 40 + size(round))
        .map(|n| user(n, &format!("round-{round}")))
        .collect()
}

fn round_of(body: &str) -> u64 {
    let user: EndUser = serde_json::from_str(body).unwrap();
    let tag = user.department.unwrap();
    tag.trim_start_matches("round-").parse().unwrap()
}

pub async fn concurrent_readers_never_see_mixed_generations(store: &dyn Store) {
    let service = store.create_service(&grant(new_service("busy"))).await.unwrap();
    replace_users(store, service.id, &round_users(0), None, false)
        .await
        .unwrap();

    let done = AtomicBool::new(false);
    let reads = AtomicUsize::new(0);
    let writer = async {
        for round in 1..=ROUNDS {
            replace_users(store, service.id, &round_users(round), None, false)
                .await
                .unwrap();
            tokio::task::yield_now().await;
        }
        done.store(true, Ordering::SeqCst);
    };
    let reader = |nth: usize| {
        let (done, reads) = (&done, &reads);
        async move {
            let mut last_generation = 0;
            let mut step = nth as i64;
            loop {
                let finished = done.load(Ordering::SeqCst);
                step += 1;
                let first = 1 + (step * 37) % 300;
                let slice = store
                    .read_page(&r(service.id), None, first, PAGE)
                    .await
                    .unwrap()
                    .unwrap();
                assert!(slice.generation >= last_generation, "generations never go back");
                last_generation = slice.generation;
                let rounds: Vec<u64> = slice.bodies.iter().map(|b| round_of(b)).collect();
                if let Some(&round) = rounds.first() {
                    assert!(rounds.iter().all(|&x| x == round), "a page mixes rounds: {rounds:?}");
                    assert_eq!(slice.total_records, size(round) as i64, "total of another generation");
                    let expected = (slice.total_records - first + 1).clamp(0, PAGE);
                    assert_eq!(slice.bodies.len() as i64, expected, "a short or long page");
                } else {
                    assert!(first > slice.total_records, "an empty page inside the set");
                }
                reads.fetch_add(1, Ordering::SeqCst);
                if finished {
                    break;
                }
                tokio::task::yield_now().await;
            }
        }
    };
    let readers = futures::future::join_all((0..READERS).map(reader));
    tokio::join!(writer, readers);

    assert!(reads.load(Ordering::SeqCst) >= READERS);
    let last = store.read_page(&r(service.id), None, 1, 1_000).await.unwrap().unwrap();
    assert_eq!(last.total_records, size(ROUNDS) as i64);
    assert!(last.bodies.iter().all(|b| round_of(b) == ROUNDS));
}
