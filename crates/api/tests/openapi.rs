//! The OpenAPI document against its committed snapshot (`openapi.json` at the repository
//! root), and the README's error table against the error codes and their statuses.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use domain::ErrorCode;

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Any change to the routes, their parameters, bodies or answers changes the document; the
/// snapshot makes that change visible in review. `ROSTERD_UPDATE_OPENAPI=1` writes it anew.
#[test]
fn the_document_matches_its_snapshot() {
    let snapshot = repository().join("openapi.json");
    let current = serde_json::to_string_pretty(&api::openapi_document()).unwrap() + "\n";
    if std::env::var_os("ROSTERD_UPDATE_OPENAPI").is_some() {
        std::fs::write(&snapshot, &current).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&snapshot).unwrap_or_default();
    if committed != current {
        let first = committed
            .lines()
            .zip(current.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(committed.lines().count().min(current.lines().count()));
        panic!(
            "the OpenAPI document differs from openapi.json (first at line {}: {:?}). If the change is \
             intended, run `ROSTERD_UPDATE_OPENAPI=1 cargo test -p api --test openapi` and commit openapi.json.",
            first + 1,
            current.lines().nth(first).unwrap_or("<end>")
        );
    }
}

/// Every code is in the README's error table, in the row of its status, and the table names no
/// code that does not exist.
#[test]
fn readme_error_table_lists_every_code_at_its_status() {
    let readme = std::fs::read_to_string(repository().join("README.md")).unwrap();
    let rows: Vec<(Vec<u16>, &str)> = readme
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("| ")?;
            let (status, codes) = rest.split_once(" | ")?;
            let statuses: Vec<u16> = status
                .split(" / ")
                .map(|s| s.trim().parse().ok())
                .collect::<Option<_>>()?;
            Some((statuses, codes))
        })
        .collect();
    assert!(rows.len() >= 10, "the README's error table was not found");
    for code in ErrorCode::ALL {
        let status = api::status_of(*code).as_u16();
        let needle = format!("`{code}`");
        let row = rows
            .iter()
            .find(|(_, codes)| codes.contains(&needle))
            .unwrap_or_else(|| panic!("README's error table lacks {needle}"));
        assert!(
            row.0.contains(&status),
            "README lists {needle} under {:?}, but it is {status}",
            row.0
        );
    }
    for (_, codes) in &rows {
        // A snake_case name in backticks is a code (`field`, `row` and flags are not snake_case).
        for named in codes.split('`').skip(1).step_by(2) {
            let looks_like_code = named.contains('_') && named.chars().all(|c| c.is_ascii_lowercase() || c == '_');
            let known = ErrorCode::ALL.iter().any(|c| c.as_str() == named);
            assert!(!looks_like_code || known, "README names unknown code `{named}`");
        }
    }
}
