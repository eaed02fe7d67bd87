//! Real Entra clients against the real binary over HTTPS: MSAL for Python's
//! `acquire_token_for_client` with authority `https://host/{tenant}` (and with
//! `oidc_authority`), a page read with its token, and PyJWT verifying the token through the
//! tenant's discovery document and JWKS. The Python environment comes from
//! `scripts/python-env` (`ROSTERD_TEST_PYTHON`, set by `scripts/test`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::{Command, Stdio};

use support::{read_until, rosterd, stop};

/// The interpreter with MSAL and PyJWT, or `None` (with a loud note) outside CI.
fn python() -> Option<String> {
    match std::env::var("ROSTERD_TEST_PYTHON") {
        Ok(path) if !path.is_empty() => Some(path),
        _ if std::env::var_os("CI").is_some() => {
            panic!("ROSTERD_TEST_PYTHON is not set; run the tests with ./scripts/test (it runs scripts/python-env)")
        }
        _ => {
            eprintln!("SKIPPED: the MSAL and PyJWT test needs ROSTERD_TEST_PYTHON=$(scripts/python-env)");
            None
        }
    }
}

/// Writes a test CA and a certificate for 127.0.0.1 it signed; returns (ca, cert, key) paths.
fn test_pki(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "rosterd test CA");
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca, &ca_key)
        .unwrap();
    let paths = (dir.join("ca.pem"), dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, leaf.pem()).unwrap();
    std::fs::write(&paths.2, leaf_key.serialize_pem()).unwrap();
    paths
}

#[test]
fn msal_and_pyjwt_work_against_rosterd_over_https() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = test_pki(dir.path());
    let mut child = rosterd(dir.path())
        .args(["demo", "--listen", "127.0.0.1:0"])
        .env(
            "ROSTERD_DATABASE_URL",
            format!("sqlite://{}/demo.db", dir.path().display()),
        )
        .env("ROSTERD_TLS_CERT", &cert)
        .env("ROSTERD_TLS_KEY", &key)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = read_until(&mut child, |l| l.contains("/oauth2/v2.0/token"));
    let client = lines.iter().find(|l| l.starts_with("Demo client ")).unwrap();
    let client_id = client.split_whitespace().nth(2).unwrap();
    let secret = client.rsplit("secret ").next().unwrap().trim();
    let curl = lines.iter().find(|l| l.starts_with("curl -s -H")).unwrap();
    let page_url = curl.rsplit(" '").next().unwrap().trim_end_matches('\'');
    assert!(page_url.starts_with("https://127.0.0.1:"), "{page_url}");
    let base = page_url.split("/api/").next().unwrap();
    let authority = format!("{base}/7e24d47c-eb72-439a-84e4-aea1bdb1eed9");

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/entra_clients.py");
    let output = Command::new(&python)
        .arg(&script)
        .args([&authority, client_id, secret, page_url, ca.to_str().unwrap()])
        .env("REQUESTS_CA_BUNDLE", &ca)
        .output()
        .unwrap();
    stop(child);
    assert!(
        output.status.success(),
        "the Python clients failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(seen["msal_token_type"], "Bearer");
    assert_eq!(seen["page_total_records"], 37);
    assert_eq!(seen["page_first_identity"], "04b6aa84-eb73-4f46-ba4a-200f86a2563a");
    assert_eq!(seen["oidc_authority_token"], true);
    assert_eq!(seen["claims_azp"], client_id);
    assert_eq!(seen["authorize_status"], 400);
    assert_eq!(seen["authorize_error"], "unsupported_response_type");
    let discovery = &seen["discovery"];
    assert_eq!(discovery["issuer"], base);
    assert_eq!(
        discovery["token_endpoint"],
        format!("{authority}/oauth2/v2.0/token").as_str()
    );
    assert_eq!(
        discovery["authorization_endpoint"],
        format!("{authority}/oauth2/v2.0/authorize").as_str()
    );
}
