//! Build script shared by the crates whose tests need PostgreSQL (their `Cargo.toml` names it
//! as `build`): it sets `cfg(postgres_tests)` when those tests can run or must run —
//! `ROSTERD_TEST_POSTGRES_URL` names a server, or `CI` is set (CI must never skip them; there
//! a missing URL fails the tests). Without either, the PostgreSQL tests are compiled as
//! `#[ignore]`d with the reason, so a plain `cargo test` reports them as skipped instead of
//! letting them pass without running.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(postgres_tests)");
    println!("cargo::rerun-if-env-changed=ROSTERD_TEST_POSTGRES_URL");
    println!("cargo::rerun-if-env-changed=CI");
    let set = |name: &str| std::env::var_os(name).is_some_and(|value| !value.is_empty());
    if set("ROSTERD_TEST_POSTGRES_URL") || set("CI") {
        println!("cargo::rustc-cfg=postgres_tests");
    }
}
