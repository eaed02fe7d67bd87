//! The behaviour every rosterd store backend must show, written once against the `Store` and
//! `ConsoleStore` traits,
//! plus helpers that give each test a fresh SQLite file or PostgreSQL database.
//!
//! A backend runs the whole suite with one line in its `tests/conformance.rs`:
//! ```ignore
//! async fn fixture() -> Option<store_conformance::Fixture> { /* open a fresh store */ }
//! store_conformance::conformance_tests!(sqlite, fixture());
//! ```
//! Each check becomes its own `#[tokio::test]` in a module named after the backend (the
//! backend crate needs `tokio` as a dev-dependency). For `postgres` the tests are ignored
//! unless the crate's build script set `cfg(postgres_tests)` (`build/postgres_tests.rs`).
//! Checks assert and panic: this is test support code.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod bench;
mod claims;
mod concurrency;
mod console;
mod databases;
mod generations;
mod records;
pub mod sample;
mod services;
mod subscriptions;

pub use bench::{write_users_bench, BenchReport};
pub use claims::{claim_and_lease, concurrent_claims_are_exclusive};
pub use concurrency::concurrent_readers_never_see_mixed_generations;
pub use console::{accounts_and_sessions, recent_tasks_of_a_customer};
pub use databases::{fresh_postgres_url, fresh_sqlite_url, POSTGRES_URL_VAR};
pub use generations::{
    abandoned_generations_are_reclaimed, begin_generation_numbers_grow, bodies_roundtrip_exactly,
    commit_applies_sync_state, commit_conflict, discard_refuses_served, duplicate_identity_leaves_data_unchanged,
    generation_replace_and_diff, large_generation_pages, patches_page_like_whole_sets, read_page_windows,
    skip_if_unchanged, user_sources_roundtrip, users_after_keyset, users_by_identity_finds_exactly_the_named_users,
    users_with_line_digits_finds_owners_in_visible_customers,
};
pub use records::{
    audit_events_recorded, clients_and_revocation, prune_tasks_by_age, signing_keys_idempotent, tasks_roundtrip,
};
pub use sample::{micros_now, new_service, replace_users, user};
pub use services::{
    list_services_visibility, ping_and_backend, services_crud, short_name_conflicts, sync_state_roundtrip,
    tenant_belongs_to_one_service,
};
pub use subscriptions::subscriptions_roundtrip;

use domain::access::{Authorized, Read, SystemScope, Write};
use domain::CustomerId;
use store::Store;

/// The suite acts as rosterd itself: every check below is about storage, not authorization.
pub const SYSTEM: SystemScope = SystemScope::new("store conformance");

/// Read access to a customer, under [`SYSTEM`].
pub fn r(customer: CustomerId) -> Authorized<CustomerId, Read> {
    SYSTEM.grant(customer).read()
}

/// Write access to a customer, under [`SYSTEM`].
pub fn w(customer: CustomerId) -> Authorized<CustomerId, Write> {
    SYSTEM.grant(customer)
}

/// Anything (a new service, a new client), authorized under [`SYSTEM`].
pub fn grant<T>(value: T) -> Authorized<T, Write> {
    SYSTEM.grant(value)
}

/// A store under test, plus whatever must outlive it (the temporary directory of a SQLite file).
pub struct Fixture {
    // Declared first so it is dropped (and its pools closed) before the directory goes.
    store: Box<dyn Store>,
    _keep: Option<tempfile::TempDir>,
}

impl Fixture {
    pub fn new(store: impl Store, keep: Option<tempfile::TempDir>) -> Self {
        Self {
            store: Box::new(store),
            _keep: keep,
        }
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }
}

/// Emits one `#[tokio::test]` per check, in `mod sqlite` or `mod postgres`. `$fixture` is an
/// expression evaluated once per test that yields `Option<Fixture>`; `None` skips the test
/// (the helper that decided so has said why).
#[macro_export]
macro_rules! conformance_tests {
    (sqlite, $fixture:expr) => {
        mod sqlite {
            use super::*;
            $crate::__conformance_checks!($fixture; []);
        }
    };
    (postgres, $fixture:expr) => {
        mod postgres {
            use super::*;
            $crate::__conformance_checks!($fixture; [cfg_attr(
                not(postgres_tests),
                ignore = "needs PostgreSQL: set ROSTERD_TEST_POSTGRES_URL (./scripts/test sets it)"
            )]);
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_checks {
    ($fixture:expr; $attrs:tt) => {
        $crate::__conformance_tests!(
            $fixture; $attrs;
            ping_and_backend,
            services_crud,
            short_name_conflicts,
            tenant_belongs_to_one_service,
            list_services_visibility,
            sync_state_roundtrip,
            generation_replace_and_diff,
            read_page_windows,
            bodies_roundtrip_exactly,
            duplicate_identity_leaves_data_unchanged,
            skip_if_unchanged,
            commit_conflict,
            commit_applies_sync_state,
            begin_generation_numbers_grow,
            discard_refuses_served,
            abandoned_generations_are_reclaimed,
            users_after_keyset,
            users_by_identity_finds_exactly_the_named_users,
            users_with_line_digits_finds_owners_in_visible_customers,
            user_sources_roundtrip,
            large_generation_pages,
            patches_page_like_whole_sets,
            clients_and_revocation,
            signing_keys_idempotent,
            tasks_roundtrip,
            prune_tasks_by_age,
            audit_events_recorded,
            claim_and_lease,
            concurrent_claims_are_exclusive,
            concurrent_readers_never_see_mixed_generations,
            accounts_and_sessions,
            recent_tasks_of_a_customer,
            subscriptions_roundtrip,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($fixture:expr; $attrs:tt; $($check:ident),* $(,)?) => {
        $( $crate::__conformance_test!($fixture; $attrs; $check); )*
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_test {
    ($fixture:expr; [$($attr:meta)?]; $check:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $(#[$attr])?
        async fn $check() {
            if let Some(fixture) = $fixture.await {
                $crate::$check(fixture.store()).await;
            }
        }
    };
}
