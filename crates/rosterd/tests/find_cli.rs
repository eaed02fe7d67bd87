//! `rosterd users` and `rosterd number` (issue 11), on the demo customer: the same rules as the
//! API, as a table or the API's JSON.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::process::{Output, Stdio};

use domain::UserQuery;
use support::{read_until, rosterd, stop};

const CUSTOMER: &str = "3f2b8c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f";

fn run(dir: &std::path::Path, args: &[&str]) -> Output {
    rosterd(dir).args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// How many demo users the reference rule picks.
fn expected(search: Option<&str>, filters: &[(&str, &str)]) -> usize {
    let pairs: Vec<(String, String)> = filters.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
    let query = UserQuery::from_pairs(search, &pairs).unwrap();
    domain::samples::demo_users()
        .unwrap()
        .iter()
        .filter(|u| query.matches(u))
        .count()
}

#[tokio::test]
async fn users_and_number_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut demo = rosterd(dir.path())
        .args(["demo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    read_until(&mut demo, |l| l.contains("/oauth2/v2.0/token"));
    stop(demo);

    // A searched page as the API's JSON.
    let out = run(
        dir.path(),
        &["users", "--customer", CUSTOMER, "--search", "+1 425 555", "--json"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let page: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let want = expected(Some("+1 425 555"), &[]);
    assert!(want > 0);
    assert_eq!(page["totalRecords"], want);
    for user in page["data"].as_array().unwrap() {
        assert!(user["LineURI"].as_str().unwrap().starts_with("tel:+1425555"));
    }

    // Filters, as a table.
    let out = run(
        dir.path(),
        &[
            "users",
            "--customer",
            CUSTOMER,
            "--filter",
            "department=SALES",
            "--filter",
            "HasLineUri=false",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let want = expected(None, &[("Department", "sales"), ("HasLineUri", "false")]);
    assert!(want > 0);
    assert!(table.starts_with("IDENTITY"), "{table}");
    assert!(
        table.contains(&format!("{want} of {want} users (page 1 of 1)")),
        "{table}"
    );
    assert_eq!(
        table.lines().count(),
        want + 2,
        "header, one line a user, footer: {table}"
    );

    // No search or filter: the plain list, paged.
    let out = run(
        dir.path(),
        &["users", "--customer", CUSTOMER, "--page-size", "10", "--page", "2"],
    );
    assert!(text(&out.stdout).contains("10 of 37 users (page 2 of 4; --page for more)"));

    // Mistakes are named.
    for (args, needle) in [
        (vec!["--filter", "Colour=red"], "unknown filter"),
        (vec!["--filter", "Department"], "NAME=VALUE"),
        (
            vec!["--filter", "EnterpriseVoiceEnabled=maybe"],
            "EnterpriseVoiceEnabled",
        ),
        (vec!["--page-size", "1"], "page-size"),
    ] {
        let mut all = vec!["users", "--customer", CUSTOMER];
        all.extend(args.iter().copied());
        let out = run(dir.path(), &all);
        assert!(!out.status.success(), "{all:?}");
        assert!(text(&out.stderr).contains(needle), "{all:?}: {}", text(&out.stderr));
    }

    // The owner of a number, in any spelling.
    let out = run(dir.path(), &["number", "+1 (425) 555-0100", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let owner: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(owner["number"], "+14255550100");
    assert_eq!(owner["customerGuid"], CUSTOMER);
    assert_eq!(owner["user"]["LineURI"], "tel:+14255550100");
    let out = run(dir.path(), &["number", "tel:+14255550100"]);
    assert!(out.status.success());
    let lines = text(&out.stdout);
    assert!(lines.contains("number    +14255550100"), "{lines}");
    assert!(lines.contains(CUSTOMER), "{lines}");
    let out = run(dir.path(), &["number", "+19999999999"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("no user"), "{}", text(&out.stderr));
    let out = run(dir.path(), &["number", "not a number"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("telephone number"));
}
