//! `rosterd account`: console accounts from the command line — created with the password on
//! standard input (weak ones refused), listed without hashes, names unique without case,
//! disabled, given a new password; the same scope rules as clients (customers must exist).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

use support::rosterd;

fn account(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = rosterd(dir)
        .arg("account")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        writeln!(input, "{text}").unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn account_commands() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let created = account(
        dir,
        &["create", "--name", "Alice", "--role", "Admin", "--password-stdin"],
        Some("a long enough password"),
    );
    assert!(created.status.success(), "{}", stderr(&created));
    let view: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    assert_eq!(view["name"], "Alice");
    assert_eq!(view["role"], "Admin");
    assert_eq!(view["scope"]["kind"], "provider");

    let weak = account(
        dir,
        &["create", "--name", "bob", "--role", "Monitor", "--password-stdin"],
        Some("short"),
    );
    assert!(!weak.status.success());
    assert!(stderr(&weak).contains("at least 12 characters"), "{}", stderr(&weak));
    let twin = account(
        dir,
        &["create", "--name", "ALICE", "--role", "Monitor", "--password-stdin"],
        Some("another long password"),
    );
    assert!(stderr(&twin).contains("already exists"), "{}", stderr(&twin));
    let unknown = account(
        dir,
        &[
            "create",
            "--name",
            "carol",
            "--role",
            "Monitor",
            "--customer",
            "3f2b8c1e-5d4a-4e6b-9c7d-000000000000",
            "--password-stdin",
        ],
        Some("another long password"),
    );
    assert!(!unknown.status.success());
    assert!(stderr(&unknown).contains("does not exist"), "{}", stderr(&unknown));
    let no_flag = account(dir, &["create", "--name", "dave", "--role", "Monitor"], Some("x"));
    assert!(!no_flag.status.success(), "the password is only ever read from stdin");

    let listed = account(dir, &["list"], None);
    let text = String::from_utf8_lossy(&listed.stdout).into_owned();
    let list: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(!text.contains("argon2"), "no hashes in the listing: {text}");

    let changed = account(
        dir,
        &["password", "alice", "--password-stdin"],
        Some("a brand new password"),
    );
    assert!(changed.status.success(), "{}", stderr(&changed));
    let disabled = account(dir, &["disable", "alice"], None);
    assert!(disabled.status.success(), "{}", stderr(&disabled));
    let list: serde_json::Value = serde_json::from_slice(&account(dir, &["list"], None).stdout).unwrap();
    assert!(list[0]["disabled_at"].is_string(), "{list}");
    let missing = account(dir, &["disable", "nobody"], None);
    assert!(!missing.status.success());
    assert!(stderr(&missing).contains("no console account"), "{}", stderr(&missing));
}
