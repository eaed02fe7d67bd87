//! The front door against real sockets on loopback: header, idle and stall timeouts, the
//! connection limit, graceful shutdown, TLS with HTTP/2 and certificate reload. Timeouts are
//! shortened so the tests are quick; the bounds on waits only keep a broken server from
//! hanging the test, they measure nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use http_server::{ConnectionStats, ServeOptions, ServerLimits, TlsFiles, TlsSettings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

fn router() -> Router {
    Router::new()
        .route("/hello", get(|| async { "hello" }))
        .route("/big", get(|| async { vec![b'x'; 32 << 20] }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(600)).await;
                "done"
            }),
        )
}

fn limits() -> ServerLimits {
    ServerLimits {
        max_connections: 64,
        header_read_timeout: Duration::from_millis(400),
        idle_timeout: Duration::from_millis(1500),
        stall_timeout: Duration::from_millis(500),
        shutdown_grace: Duration::from_secs(5),
    }
}

struct Running {
    addr: SocketAddr,
    stats: Arc<ConnectionStats>,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
}

impl Running {
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(10), self.done)
            .await
            .expect("the server stops")
            .unwrap();
    }
}

async fn start(limits: ServerLimits, tls: Option<TlsSettings>) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stats = ConnectionStats::new();
    let options = ServeOptions {
        limits,
        tls,
        stats: Arc::clone(&stats),
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(http_server::serve(listener, router(), options, async move {
        let _ = stopped.await;
    }));
    Running {
        addr,
        stats,
        stop: Some(stop),
        done,
    }
}

/// Reads until the server closes the connection; returns what it sent.
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out))
        .await
        .expect("the server closes the connection")
        .ok();
    out
}

async fn get_on(stream: &mut TcpStream, path: &str) -> String {
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn half_a_header_is_cut_off_at_the_header_timeout() {
    let server = start(limits(), None).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let sent = read_to_close(&mut stream).await;
    assert!(sent.is_empty(), "no answer, just a close: {sent:?}");
    assert_eq!(server.stats.counts().timed_out, 1);

    // A connection that sends nothing at all is cut off the same way.
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    assert!(read_to_close(&mut silent).await.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn a_trickled_header_does_not_buy_time() {
    let server = start(limits(), None).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    // First request fine, then the next header one byte every 100 ms.
    assert!(get_on(&mut stream, "/hello").await.starts_with("HTTP/1.1 200"));
    let started = tokio::time::Instant::now();
    let mut closed = false;
    for byte in b"GET /hello HTTP/1.1\r\nHost: example.com\r\nX-Padding: aaaaaaaaaaaaaaaaaaaa\r\n" {
        if stream.write_all(&[*byte]).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if !closed {
        assert!(read_to_close(&mut stream).await.is_empty());
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the trickle was cut off by its header deadline"
    );
    assert_eq!(server.stats.counts().timed_out, 1);
    server.stop().await;
}

#[tokio::test]
async fn keep_alive_lasts_the_idle_timeout_not_the_header_timeout() {
    let server = start(limits(), None).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    assert!(get_on(&mut stream, "/hello").await.starts_with("HTTP/1.1 200"));
    // Longer than the header timeout, shorter than the idle timeout: still open.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(get_on(&mut stream, "/hello").await.starts_with("HTTP/1.1 200"));
    // Then idle past the idle timeout: closed.
    assert!(read_to_close(&mut stream).await.is_empty());
    assert_eq!(server.stats.counts().timed_out, 1);
    server.stop().await;
}

#[tokio::test]
async fn a_slow_handler_is_not_taken_for_an_idle_client() {
    let limits = ServerLimits {
        idle_timeout: Duration::from_millis(200),
        ..limits()
    };
    let server = start(limits, None).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let answer = get_on(&mut stream, "/slow").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("done"), "{answer}");
    server.stop().await;
}

#[tokio::test]
async fn a_response_nobody_reads_is_dropped_after_the_stall_timeout() {
    let server = start(limits(), None).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    // Read nothing; the 32 MiB answer cannot fit the socket buffers.
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if server.stats.counts().open == 0 {
            break;
        }
    }
    assert_eq!(server.stats.counts().open, 0, "the stalled connection was dropped");
    server.stop().await;
}

#[tokio::test]
async fn one_connection_over_the_limit_gets_a_503_and_a_close() {
    let limits = ServerLimits {
        max_connections: 2,
        header_read_timeout: Duration::from_secs(30),
        ..limits()
    };
    let server = start(limits, None).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        assert!(get_on(&mut stream, "/hello").await.starts_with("HTTP/1.1 200"));
        held.push(stream);
    }
    let mut third = TcpStream::connect(server.addr).await.unwrap();
    let answer = String::from_utf8(read_to_close(&mut third).await).unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    let body: serde_json::Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["code"], "too_many_connections");
    assert_eq!(server.stats.counts().rejected, 1);

    drop(held.pop());
    let mut again = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        if get_on(&mut stream, "/hello").await.starts_with("HTTP/1.1 200") {
            again = Some(stream);
            break;
        }
    }
    assert!(again.is_some(), "a freed slot serves the next connection");
    server.stop().await;
}

#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish() {
    let server = start(limits(), None).await;
    let addr = server.addr;
    let request = tokio::spawn(async move { reqwest::get(format!("http://{addr}/slow")).await?.text().await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.stop().await;
    assert_eq!(request.await.unwrap().unwrap(), "done");
}

/// A test CA and a certificate for 127.0.0.1 and localhost signed by it.
struct TestPki {
    ca_pem: String,
    ca: rcgen::CertifiedKey,
}

impl TestPki {
    fn new() -> Self {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "rosterd test CA");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Self {
            ca_pem: cert.pem(),
            ca: rcgen::CertifiedKey { cert, key_pair: key },
        }
    }

    /// Writes a fresh leaf certificate and key; returns the certificate's DER.
    fn issue(&self, files: &TlsFiles, common_name: &str) -> Vec<u8> {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        params.distinguished_name.push(rcgen::DnType::CommonName, common_name);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca.cert, &self.ca.key_pair).unwrap();
        std::fs::write(&files.key, key.serialize_pem()).unwrap();
        std::fs::write(&files.cert, cert.pem()).unwrap();
        cert.der().to_vec()
    }

    fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).unwrap())
            .tls_info(true)
            .build()
            .unwrap()
    }
}

fn presented(reply: &reqwest::Response) -> Vec<u8> {
    reply
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .unwrap()
        .to_vec()
}

#[tokio::test]
async fn tls_offers_http2_sends_hsts_and_follows_a_renewed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let files = TlsFiles {
        cert: dir.path().join("cert.pem"),
        key: dir.path().join("key.pem"),
    };
    let pki = TestPki::new();
    let first = pki.issue(&files, "first");
    let tls = TlsSettings::load(files.clone())
        .unwrap()
        .with_reload_interval(Duration::from_millis(100));
    let server = start(limits(), Some(tls)).await;
    let url = format!("https://127.0.0.1:{}/hello", server.addr.port());

    let reply = pki.client().get(&url).send().await.unwrap();
    assert_eq!(reply.version(), reqwest::Version::HTTP_2, "HTTP/2 through ALPN");
    assert_eq!(reply.headers()["strict-transport-security"], "max-age=31536000");
    assert_eq!(presented(&reply), first);
    assert_eq!(reply.text().await.unwrap(), "hello");

    let http1 = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap())
        .http1_only()
        .build()
        .unwrap();
    let reply = http1.get(&url).send().await.unwrap();
    assert_eq!(reply.version(), reqwest::Version::HTTP_11);
    assert!(reply.headers().contains_key("strict-transport-security"));

    // Renew: new files on disk, picked up without a restart by new connections.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second = pki.issue(&files, "second");
    let mut seen = Vec::new();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        seen = presented(&pki.client().get(&url).send().await.unwrap());
        if seen == second {
            break;
        }
    }
    assert_eq!(seen, second, "the renewed certificate is served");

    // A broken renewal keeps the last good certificate.
    std::fs::write(&files.cert, "not a certificate").unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(presented(&pki.client().get(&url).send().await.unwrap()), second);

    // Plain HTTP on the TLS port is refused, and a stuck handshake times out.
    let mut plain = TcpStream::connect(server.addr).await.unwrap();
    plain
        .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = read_to_close(&mut plain).await;
    assert!(!answer.starts_with(b"HTTP/1.1 200"));
    let mut stuck = TcpStream::connect(server.addr).await.unwrap();
    assert!(read_to_close(&mut stuck).await.is_empty());
    server.stop().await;
}

#[test]
fn unusable_tls_files_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let files = TlsFiles {
        cert: dir.path().join("cert.pem"),
        key: dir.path().join("key.pem"),
    };
    assert!(TlsSettings::load(files.clone()).is_err(), "missing files");
    let pki = TestPki::new();
    pki.issue(&files, "one");
    let other = TlsFiles {
        cert: dir.path().join("other.pem"),
        key: dir.path().join("other-key.pem"),
    };
    pki.issue(&other, "two");
    let mismatched = TlsFiles {
        cert: files.cert.clone(),
        key: other.key.clone(),
    };
    let error = TlsSettings::load(mismatched).unwrap_err();
    assert!(error.to_string().contains("do not go together"), "{error}");
    assert!(TlsSettings::load(files).is_ok());
}
