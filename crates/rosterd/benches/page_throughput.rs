//! Page throughput: requests per second for one page of a 100,000-user customer (override with
//! `ROSTERD_BENCH_USERS`) at PageSize 10, 100 and 10000, served by the real binary
//! (`rosterd serve`, default settings, a client's bearer token on every request), against the
//! identical body served as a static file by nginx on the same machine in the same run (when
//! nginx is installed; otherwise by a minimal in-memory HTTP server, which the table says).
//! Prints `rosterd / static` per page size; the targets are ≥ 0.3 (10), ≥ 0.5 (100), ≥ 1.0
//! (10000).
//!
//! `cargo bench -p rosterd --bench page_throughput` (SQLite); with `ROSTERD_BENCH_BACKEND=postgres`
//! and `ROSTERD_TEST_POSTGRES_URL`, on a fresh PostgreSQL database. The load generator is `wrk
//! -t2 -c32 -d{ROSTERD_BENCH_SECS}s` when installed, else a built-in one with 32 keep-alive
//! connections. `ROSTERD_BENCH_BINARY` benchmarks another build (an older release) for a
//! before/after comparison. Not part of the test run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::{AppConfig, Created, NewClient};
use domain::{CustomerId, LicenseType, NewService, Role, Scope, ShortName};
use rosterd::Installation;
use store::GenerationWriter;

const SIZES: [i64; 3] = [10, 100, 10_000];
const CONNECTIONS: usize = 32;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn installed(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Stops a child with SIGTERM (nginx and rosterd both shut down cleanly on it) and waits.
struct Stopped(Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        if let Some(pid) = rustix::process::Pid::from_raw(self.0.id() as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let _ = self.0.wait();
    }
}

async fn wait_ready(url: &str) {
    let http = reqwest::Client::new();
    for _ in 0..600 {
        if let Ok(response) = http.get(url).send().await {
            if response.status().is_success() || response.status().as_u16() == 404 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} did not come up");
}

/// nginx serving `dir` on a free port, as an unprivileged-looking static file server: two
/// workers (one per core, as rosterd's runtime), sendfile, keep-alive, no access log.
fn start_nginx(dir: &Path) -> (Stopped, String) {
    let port = free_port();
    let user = if rustix::process::geteuid().is_root() {
        "user root;"
    } else {
        ""
    };
    let conf = format!(
        "{user}\nworker_processes 2;\npid {dir}/nginx.pid;\nerror_log {dir}/nginx-error.log;\ndaemon off;\n\
         events {{ worker_connections 1024; }}\n\
         http {{\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n  keepalive_requests 1000000;\n\
         client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy; fastcgi_temp_path {dir}/fcgi;\n\
         uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;\n\
         types {{ application/json json; }}\n\
         server {{ listen 127.0.0.1:{port}; root {dir}/www; }}\n}}\n",
        dir = dir.display()
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let child = Command::new("nginx")
        .args([
            "-c",
            &dir.join("nginx.conf").display().to_string(),
            "-p",
            &dir.display().to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (Stopped(child), format!("http://127.0.0.1:{port}"))
}

/// The fallback reference: the body held in memory, answered by a bare hyper-on-axum server.
async fn start_memory_static(pages: Vec<(String, bytes::Bytes)>) -> String {
    let mut router = axum::Router::new();
    for (path, body) in pages {
        router = router.route(
            &path,
            axum::routing::get(move || {
                let body = body.clone();
                async move { ([("content-type", "application/json")], body) }
            }),
        );
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

/// Requests per second for `url` (every answer must be 200).
async fn load(url: &str, token: Option<&str>, secs: u64) -> f64 {
    if installed("wrk") {
        let mut args = vec!["-t2".to_string(), format!("-c{CONNECTIONS}"), format!("-d{secs}s")];
        if let Some(token) = token {
            args.push("-H".into());
            args.push(format!("Authorization: Bearer {token}"));
        }
        args.push(url.to_string());
        let out = Command::new("wrk").args(&args).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains("Non-2xx"), "{url} answered errors under load:\n{text}");
        return text
            .lines()
            .find_map(|l| l.strip_prefix("Requests/sec:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no rate in wrk output:\n{text}"));
    }
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()
        .unwrap();
    let done = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (http, done, url, token) = (
                http.clone(),
                Arc::clone(&done),
                url.to_string(),
                token.map(str::to_string),
            );
            tokio::spawn(async move {
                while Instant::now() < until {
                    let mut request = http.get(&url);
                    if let Some(token) = &token {
                        request = request.bearer_auth(token);
                    }
                    let response = request.send().await.unwrap();
                    assert_eq!(response.status(), 200);
                    response.bytes().await.unwrap();
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let users = setting("ROSTERD_BENCH_USERS", 100_000);
    let secs = setting("ROSTERD_BENCH_SECS", 5);
    let fresh = testkit::stores::fresh_bench_database().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("rosterd.key");
    let installation = Installation::open(&fresh.url, &key_file).await.unwrap();
    let store = Arc::clone(&installation.store);

    let customer = CustomerId::new_random();
    store
        .create_service(&testkit::connected::TESTKIT.grant(NewService {
            id: customer,
            short_name: ShortName::parse("bench").unwrap(),
            full_name: "Bench".into(),
            license_type: LicenseType::HostedPro,
            licensed_users_count: None,
            channel_id: None,
            ovoc_customer_type: None,
            tenant_id: None,
            default_domain: None,
            site_locations: Vec::new(),
        }))
        .await
        .unwrap();
    let mut writer = GenerationWriter::new().unwrap();
    for n in 0..users {
        writer
            .push(n + 1, &store_conformance::sample::user(n, "bench"))
            .unwrap();
    }
    writer
        .commit(store.as_ref(), &testkit::connected::write(customer), None, false)
        .await
        .unwrap();
    let keys = installation
        .key_ring(rosterd::token_settings("http://bench", 3600), None)
        .await
        .unwrap();
    let app = installation.app(keys, None, AppConfig::default());
    let created = app
        .create_client(
            &testkit::connected::TESTKIT.principal(),
            NewClient {
                name: "bench".into(),
                role: Role::Monitor,
                scope: Scope::Provider,
                external_app_id: None,
            },
        )
        .await
        .unwrap();
    let Created::WithSecret(client) = created else {
        panic!("a client with a secret")
    };
    drop(app);
    drop(store);
    drop(installation);

    let binary = std::env::var("ROSTERD_BENCH_BINARY").unwrap_or_else(|_| env!("CARGO_BIN_EXE_rosterd").to_string());
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let _server = Stopped(
        Command::new(&binary)
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--database",
                &fresh.url,
            ])
            .arg("--secret-key-file")
            .arg(&key_file)
            .env("ROSTERD_LOG", "error")
            .env_remove("ROSTERD_PUBLIC_URL")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_ready(&format!("{base}/healthz")).await;
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(format!("{base}/oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client.client_id.as_str()),
            ("client_secret", client.client_secret.as_str()),
            ("scope", "api://rosterd/.default"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().expect("a token").to_string();

    let www = dir.path().join("www");
    std::fs::create_dir_all(&www).unwrap();
    let mut pages = Vec::new();
    for size in SIZES {
        let url = format!("{base}/api/v3/customer/{customer}/user?PageNumber=1&PageSize={size}");
        let response = http.get(&url).bearer_auth(&token).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let body = response.bytes().await.unwrap();
        std::fs::write(www.join(format!("page{size}.json")), &body).unwrap();
        pages.push((format!("/page{size}.json"), body));
    }
    let (_nginx, static_base, reference) = if installed("nginx") {
        let (nginx, base) = start_nginx(dir.path());
        wait_ready(&format!("{base}/page10.json")).await;
        (Some(nginx), base, "nginx static file")
    } else {
        (
            None,
            start_memory_static(pages.clone()).await,
            "in-memory static (nginx not installed)",
        )
    };
    let generator = if installed("wrk") {
        "wrk -t2 -c32"
    } else {
        "built-in, 32 connections"
    };
    let healthz = load(&format!("{base}/healthz"), None, secs).await;

    println!(
        "backend {}: {users} users; load {generator}, {secs} s per run; reference: {reference}; /healthz {healthz:.0} req/s",
        fresh.backend
    );
    println!("| page | body | rosterd req/s | static req/s | rosterd / static |");
    println!("|---|---|---|---|---|");
    for (size, (path, body)) in SIZES.iter().zip(&pages) {
        let rosterd = load(
            &format!("{base}/api/v3/customer/{customer}/user?PageNumber=1&PageSize={size}"),
            Some(&token),
            secs,
        )
        .await;
        let reference = load(&format!("{static_base}{path}"), None, secs).await;
        println!(
            "| PageSize {size} | {:.1} KB | {rosterd:.0} | {reference:.0} | {:.2} |",
            body.len() as f64 / 1000.0,
            rosterd / reference
        );
    }
}
