//! The real binary's front door: a half-sent header is cut off while the server keeps
//! answering, a connection over `--max-connections` is refused with a 503, and
//! `--tls-cert`/`--tls-key` serve HTTPS with HTTP/2 and HSTS.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use support::{rosterd, serve_with, stop};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(15), stream.read_to_end(&mut out))
        .await
        .expect("the server closes the connection")
        .ok();
    out
}

async fn healthz(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 2048];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn slow_headers_are_cut_off_and_extra_connections_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = rosterd(dir.path());
    command
        .env("ROSTERD_HEADER_READ_TIMEOUT_SECS", "1")
        .env("ROSTERD_MAX_CONNECTIONS", "4");
    let database = format!("sqlite://{}/rosterd.db", dir.path().display());
    let (child, base) = serve_with(command, &database, None);
    let addr = base.trim_start_matches("http://").to_string();

    let mut half = TcpStream::connect(&addr).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        assert!(healthz(&mut stream).await.starts_with("HTTP/1.1 200"));
        held.push(stream);
    }
    // Four open (one half-sent header, three idle keep-alives): the fifth is refused.
    let mut fifth = TcpStream::connect(&addr).await.unwrap();
    let refused = String::from_utf8(read_to_close(&mut fifth).await).unwrap();
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(refused.contains("too_many_connections"), "{refused}");

    // The half-sent header is cut off at its deadline, which frees its slot.
    assert!(read_to_close(&mut half).await.is_empty());
    let mut again = TcpStream::connect(&addr).await.unwrap();
    assert!(healthz(&mut again).await.starts_with("HTTP/1.1 200"));
    stop(child);
}

#[tokio::test]
async fn https_with_http2_and_hsts() {
    let dir = tempfile::tempdir().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca, &ca_key)
        .unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, leaf.pem()).unwrap();
    std::fs::write(&key, leaf_key.serialize_pem()).unwrap();

    let mut command = rosterd(dir.path());
    command.env("ROSTERD_TLS_CERT", &cert).env("ROSTERD_TLS_KEY", &key);
    let database = format!("sqlite://{}/rosterd.db", dir.path().display());
    let (child, base) = serve_with(command, &database, None);
    let https = base.replace("http://", "https://");
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let reply = client.get(format!("{https}/healthz")).send().await.unwrap();
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.version(), reqwest::Version::HTTP_2);
    assert_eq!(reply.headers()["strict-transport-security"], "max-age=31536000");
    // The token issuer is the https URL.
    let discovery: serde_json::Value = client
        .get(format!("{https}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], https.as_str());
    stop(child);
}
