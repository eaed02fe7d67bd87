//! Soak: the real binary (`rosterd demo`) under 1,000 half-open connections (half a request
//! header, then silence; reopened as the server cuts them off) and 200 slow uploads (a byte
//! every 2 s), while a prober asks for `/healthz` and a page of users on a fresh connection
//! every 100 ms. Prints latency figures and fails if any probe took longer than 1 s or failed.
//!
//! `cargo bench -p rosterd --bench soak` (30 s; `ROSTERD_SOAK_SECS`, `ROSTERD_SOAK_IDLE`,
//! `ROSTERD_SOAK_UPLOADS` change the duration and the load; `ROSTERD_SOAK_BINARY` soaks
//! another build, e.g. an older release, for a before/after comparison). Not part of the test
//! run. The server inherits the shell's open-files limit, as it would from its service manager.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PROBE_LIMIT: Duration = Duration::from_secs(1);

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Demo {
    child: std::process::Child,
    addr: String,
    token: String,
    page_path: String,
    customer: String,
    _dir: tempfile::TempDir,
}

fn start_demo() -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let binary = std::env::var("ROSTERD_SOAK_BINARY").unwrap_or_else(|_| env!("CARGO_BIN_EXE_rosterd").to_string());
    let mut child = Command::new(binary)
        .current_dir(dir.path())
        .args(["demo", "--listen", "127.0.0.1:0"])
        .env("ROSTERD_LOG", "error")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let curl = loop {
        let line = lines.next().expect("demo printed its request").unwrap();
        if line.starts_with("curl -s -H 'Authorization: Bearer") {
            break line;
        }
    };
    let token = curl
        .split("Bearer ")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap()
        .to_string();
    let url = curl.rsplit(" '").next().unwrap().trim_end_matches('\'').to_string();
    let rest = url.trim_start_matches("http://");
    let (addr, path) = rest.split_at(rest.find('/').unwrap());
    let customer = path.split('/').nth(4).unwrap().to_string();
    std::thread::spawn(move || lines.for_each(drop));
    Demo {
        child,
        addr: addr.to_string(),
        token,
        page_path: path.to_string(),
        customer,
        _dir: dir,
    }
}

/// Holds one half-open connection for as long as `until`, reopening it whenever the server
/// cuts it off; counts the cut-offs.
async fn half_open(addr: String, until: Instant, cut_off: Arc<AtomicU64>) {
    while Instant::now() < until {
        let Ok(mut stream) = TcpStream::connect(&addr).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        if stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: soak\r\n")
            .await
            .is_err()
        {
            continue;
        }
        let mut sink = [0u8; 512];
        let left = until.saturating_duration_since(Instant::now());
        if let Ok(Ok(_)) = tokio::time::timeout(left, stream.read(&mut sink)).await {
            cut_off.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// One upload that sends a byte every 2 s, reopened when the server ends it.
async fn slow_upload(addr: String, path: String, token: String, until: Instant, ended: Arc<AtomicU64>) {
    while Instant::now() < until {
        let Ok(mut stream) = TcpStream::connect(&addr).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let head = format!(
            "PUT {path} HTTP/1.1\r\nHost: soak\r\nAuthorization: Bearer {token}\r\nContent-Type: text/csv\r\nContent-Length: 1000000\r\n\r\nIdentity,WebName\n"
        );
        if stream.write_all(head.as_bytes()).await.is_err() {
            continue;
        }
        let (mut read, mut write) = stream.into_split();
        let answered = tokio::spawn(async move {
            let mut sink = [0u8; 1024];
            read.read(&mut sink).await.map(|n| n > 0).unwrap_or(true)
        });
        while Instant::now() < until && !answered.is_finished() {
            if write.write_all(b"x").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        if answered.is_finished() {
            ended.fetch_add(1, Ordering::Relaxed);
        }
        answered.abort();
    }
}

#[derive(Default)]
struct Latencies {
    samples: Vec<Duration>,
    failures: Vec<String>,
}

impl Latencies {
    fn report(&mut self, name: &str) -> bool {
        self.samples.sort();
        let at = |q: f64| {
            let i = ((self.samples.len() as f64 - 1.0) * q).round() as usize;
            self.samples.get(i).copied().unwrap_or_default()
        };
        let max = self.samples.last().copied().unwrap_or_default();
        println!(
            "{name:<10} {:>6} probes  p50 {:>8.2} ms  p99 {:>8.2} ms  max {:>8.2} ms  failures {}",
            self.samples.len(),
            at(0.5).as_secs_f64() * 1e3,
            at(0.99).as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3,
            self.failures.len()
        );
        for failure in self.failures.iter().take(5) {
            println!("    {failure}");
        }
        self.failures.is_empty() && max <= PROBE_LIMIT && !self.samples.is_empty()
    }
}

async fn probe(client: &reqwest::Client, url: &str, token: Option<&str>, into: &mut Latencies) {
    let started = Instant::now();
    let mut request = client.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let outcome = tokio::time::timeout(Duration::from_secs(10), async {
        let reply = request.send().await.map_err(|e| e.to_string())?;
        let status = reply.status();
        reply.bytes().await.map_err(|e| e.to_string())?;
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("HTTP {status}"))
        }
    })
    .await
    .unwrap_or_else(|_| Err("no answer within 10 s".into()));
    match outcome {
        Ok(()) => into.samples.push(started.elapsed()),
        Err(error) => into.failures.push(format!("{url}: {error}")),
    }
}

#[tokio::main]
async fn main() {
    let seconds = setting("ROSTERD_SOAK_SECS", 30);
    let idle = setting("ROSTERD_SOAK_IDLE", 1000);
    let uploads = setting("ROSTERD_SOAK_UPLOADS", 200);
    let mut demo = start_demo();
    // Raised after the server started, so it keeps the limit it was given.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    println!(
        "soak: {idle} half-open connections, {uploads} slow uploads, {seconds} s, against {}",
        demo.addr
    );

    let until = Instant::now() + Duration::from_secs(seconds);
    let cut_off = Arc::new(AtomicU64::new(0));
    let uploads_ended = Arc::new(AtomicU64::new(0));
    let mut load = Vec::new();
    for _ in 0..idle {
        load.push(tokio::spawn(half_open(demo.addr.clone(), until, Arc::clone(&cut_off))));
    }
    let upload_path = format!("/api/v3/customer/{}/user", demo.customer);
    for _ in 0..uploads {
        load.push(tokio::spawn(slow_upload(
            demo.addr.clone(),
            upload_path.clone(),
            demo.token.clone(),
            until,
            Arc::clone(&uploads_ended),
        )));
    }
    // Let the attack take hold before measuring.
    tokio::time::sleep(Duration::from_secs(2)).await;

    // A fresh connection for every probe: accepting must keep working too.
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let health_url = format!("http://{}/healthz", demo.addr);
    let page_url = format!("http://{}{}", demo.addr, demo.page_path);
    let mut health = Latencies::default();
    let mut pages = Latencies::default();
    while Instant::now() < until {
        probe(&client, &health_url, None, &mut health).await;
        probe(&client, &page_url, Some(&demo.token), &mut pages).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for task in load {
        task.abort();
    }
    println!(
        "server cut off {} half-open connections and ended {} slow uploads",
        cut_off.load(Ordering::Relaxed),
        uploads_ended.load(Ordering::Relaxed)
    );
    let healthy = health.report("/healthz");
    let paged = pages.report("page");
    let _ = demo.child.kill();
    let _ = demo.child.wait();
    if healthy && paged {
        println!("PASS: every probe answered within {PROBE_LIMIT:?}");
    } else {
        println!("FAIL: a probe failed or took longer than {PROBE_LIMIT:?}");
        std::process::exit(1);
    }
}
