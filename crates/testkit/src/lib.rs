//! rosterd's test kit: fakes and fixtures shared by the crates' integration tests.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod connected;
pub mod fake_graph;
pub mod stores;
