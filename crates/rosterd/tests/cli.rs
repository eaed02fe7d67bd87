//! The real binary, end to end: the README quick start (`rosterd demo`) prints a request that
//! works; clients, import and serve work from the command line; SIGTERM stops gracefully.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::Write;
use std::process::Stdio;

use support::{parse_curl, read_until, rosterd, serve_base, stop};

#[tokio::test]
async fn demo_prints_a_request_that_returns_the_seed_page() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = rosterd(dir.path())
        .args(["demo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = read_until(&mut child, |l| l.contains("/oauth2/v2.0/token"));
    let curl = lines
        .iter()
        .find(|l| l.starts_with("curl -s -H 'Authorization: Bearer"))
        .unwrap();
    let (token, url) = parse_curl(curl);
    let http = reqwest::Client::new();
    let reply = http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(reply.status(), 200);
    let body: serde_json::Value = reply.json().await.unwrap();
    let expected: serde_json::Value = serde_json::from_str(domain::samples::SEED_PAGE).unwrap();
    assert_eq!(body, expected);
    assert_eq!(
        serde_json::to_string(&body).unwrap(),
        serde_json::to_string(&expected).unwrap(),
        "key order"
    );

    // The printed token request works too.
    let token_line = lines
        .iter()
        .find(|l| l.contains("grant_type=client_credentials"))
        .unwrap();
    let id = token_line
        .split("client_id=")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    let secret = token_line
        .split("client_secret=")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    let token_url = token_line.rsplit(' ').next().unwrap();
    let reply = http
        .post(token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    stop(child);

    // Running the demo again reuses the customer and still serves the seed page.
    let mut again = rosterd(dir.path())
        .args(["demo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = read_until(&mut again, |l| l.contains("/oauth2/v2.0/token"));
    let (token, url) = parse_curl(lines.iter().find(|l| l.starts_with("curl -s -H")).unwrap());
    let body: serde_json::Value = http
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, expected);
    stop(again);
}

#[tokio::test]
async fn clients_import_and_serve_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let migrate = rosterd(dir.path()).arg("migrate").output().unwrap();
    assert!(migrate.status.success());

    // The demo creates a customer; stop it and work on that customer offline.
    let mut demo = rosterd(dir.path())
        .args(["demo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    read_until(&mut demo, |l| l.contains("/oauth2/v2.0/token"));
    stop(demo);
    let customer = "3f2b8c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f";

    let created = rosterd(dir.path())
        .args(["client", "create", "--name", "ops", "--role", "Operator"])
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let created: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    let id = created["client_id"].as_str().unwrap().to_string();
    let secret = created["client_secret"].as_str().unwrap().to_string();
    let listed = rosterd(dir.path()).args(["client", "list"]).output().unwrap();
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert!(listed.contains(&id));
    assert!(!listed.contains(&secret), "secrets are never listed");
    let bad_role = rosterd(dir.path())
        .args(["client", "create", "--name", "x", "--role", "Boss"])
        .output()
        .unwrap();
    assert!(!bad_role.status.success());
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("role"));

    let csv = dir.path().join("users.csv");
    let mut file = std::fs::File::create(&csv).unwrap();
    writeln!(file, "Identity,DisplayName,UserPrincipalName,InterpretedUserType").unwrap();
    writeln!(
        file,
        "aaaaaaaa-0000-4000-8000-000000000001,One,one@contoso.test,PureOnlineTeamsOnlyUser"
    )
    .unwrap();
    writeln!(
        file,
        "aaaaaaaa-0000-4000-8000-000000000002,Two,two@contoso.test,PureOnlineUserWithNoService"
    )
    .unwrap();
    drop(file);
    let import = rosterd(dir.path())
        .args(["import", "--customer", customer])
        .arg(&csv)
        .output()
        .unwrap();
    assert!(import.status.success(), "{}", String::from_utf8_lossy(&import.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&import.stdout).unwrap();
    assert_eq!(summary["total"], 2);
    assert_eq!(summary["removed"], 37);

    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"[{"Identity":"nope"}]"#).unwrap();
    let rejected = rosterd(dir.path())
        .args(["import", "--customer", customer])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!rejected.status.success());
    assert!(String::from_utf8_lossy(&rejected.stderr).contains("Identity"));

    let database = format!("sqlite://{}/rosterd.db", dir.path().display());
    let (serve, base) = serve_base(dir.path(), &database, None);
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(format!("{base}/oauth2/v2.0/token"))
        .basic_auth(&id, Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap();
    let page: serde_json::Value = http
        .get(format!("{base}/tenantui/api/v3/customer/{customer}/user"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["totalRecords"], 2);
    assert_eq!(page["data"][0]["WebName"], "One");

    let revoke = rosterd(dir.path()).args(["client", "revoke", &id]).output().unwrap();
    assert!(revoke.status.success());
    // Revoked by another process: the server refuses the token within a second (README,
    // "Freshness"); polled, not timed.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let after = http
            .get(format!("{base}/api/v3/customer/{customer}/user"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        if after.status() == 401 {
            break;
        }
        assert_eq!(after.status(), 200);
        assert!(
            std::time::Instant::now() < deadline,
            "the revoked client is still served"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    stop(serve);
}

#[tokio::test]
async fn cli_clients_name_only_customers_that_exist() {
    let dir = tempfile::tempdir().unwrap();
    let unknown = "9b0c2a3e-1111-4222-8333-444455556666";
    let created = rosterd(dir.path())
        .args([
            "client",
            "create",
            "--name",
            "x",
            "--role",
            "Monitor",
            "--customer",
            unknown,
        ])
        .output()
        .unwrap();
    assert!(!created.status.success(), "a client for a customer that does not exist");
    assert!(String::from_utf8_lossy(&created.stderr).contains(unknown));
}

#[tokio::test]
async fn metrics_need_a_token_except_on_the_metrics_address() {
    use std::io::{BufRead, BufReader};

    let dir = tempfile::tempdir().unwrap();
    let mut child = rosterd(dir.path())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
            "--no-sync",
        ])
        .env("ROSTERD_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stderr.take().unwrap());
    let (mut main, mut metrics) = (None, None);
    let mut line = String::new();
    while main.is_none() || metrics.is_none() {
        line.clear();
        assert!(reader.read_line(&mut line).unwrap() > 0, "serve exited early");
        if let Some(rest) = line.split("bound to ").nth(1) {
            main = Some(format!("http://{}", rest.split_whitespace().next().unwrap()));
        }
        if let Some(rest) = line.split("metrics endpoint at ").nth(1) {
            metrics = Some(rest.split_whitespace().next().unwrap().to_string());
        }
    }
    std::thread::spawn(move || {
        let mut sink = String::new();
        while reader.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
            sink.clear();
        }
    });
    let (main, metrics) = (main.unwrap(), metrics.unwrap());
    let http = reqwest::Client::new();
    let refused = http.get(format!("{main}/metrics")).send().await.unwrap();
    assert_eq!(refused.status(), 401, "the main address wants a token");
    let scraped = http.get(&metrics).send().await.unwrap();
    assert_eq!(scraped.status(), 200);
    assert!(scraped.text().await.unwrap().contains("rosterd_services 0"));
    let other = http.get(metrics.replace("/metrics", "/healthz")).send().await.unwrap();
    assert_eq!(other.status(), 404, "the metrics address serves metrics only");
    stop(child);
}

/// A typo in a Graph or login URL must not send a client secret over the network in clear text.
#[test]
fn plain_http_graph_urls_are_refused_unless_loopback() {
    let dir = tempfile::tempdir().unwrap();
    for (flag, url) in [
        ("--graph-url", "http://graph.microsoft.com"),
        ("--login-url", "http://login.microsoftonline.com"),
    ] {
        let output = rosterd(dir.path())
            .args(["serve", "--listen", "127.0.0.1:0", flag, url])
            .output()
            .unwrap();
        assert!(!output.status.success(), "{flag} {url} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(flag) && stderr.contains("must be an https URL"),
            "{stderr}"
        );
    }
}
