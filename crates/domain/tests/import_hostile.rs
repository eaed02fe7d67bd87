//! Hostile bodies: memory while importing stays bounded by the largest row whatever the body
//! holds (millions of blank lines, a gigantic value in a known key, an endless row), for every
//! format; oversized rows and fields are refused with their row and field.
//!
//! One test in this binary on purpose: the check reads the process's peak memory, which a
//! concurrently running test would disturb.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::convert::Infallible;
use std::io::{self, Read};

use domain::import::{parse_users, ImportError, ImportFormat, MAX_ROW_BYTES};

/// `head`, then `filler` repeated until `total` bytes, then `tail`; never held in memory.
struct Repeated {
    parts: Vec<(Vec<u8>, u64)>,
    part: usize,
    offset: u64,
}

impl Repeated {
    fn new(head: &str, filler: &str, total: u64, tail: &str) -> Self {
        Self::bytes(head.as_bytes(), filler.as_bytes(), total, tail.as_bytes())
    }

    fn bytes(head: &[u8], filler: &[u8], total: u64, tail: &[u8]) -> Self {
        let repeats = total / filler.len() as u64;
        Self {
            parts: vec![(head.to_vec(), 1), (filler.to_vec(), repeats), (tail.to_vec(), 1)],
            part: 0,
            offset: 0,
        }
    }
}

impl Read for Repeated {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut written = 0;
        while written < buf.len() && self.part < self.parts.len() {
            let (bytes, repeats) = &self.parts[self.part];
            let len = bytes.len() as u64 * repeats;
            if self.offset == len {
                self.part += 1;
                self.offset = 0;
                continue;
            }
            let at = (self.offset % bytes.len() as u64) as usize;
            let n = (bytes.len() - at).min(buf.len() - written);
            buf[written..written + n].copy_from_slice(&bytes[at..at + n]);
            written += n;
            self.offset += n as u64;
        }
        Ok(written)
    }
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

const USER: &str = "04b6aa84-eb73-4f46-ba4a-200f86a2563a";
const BIG: u64 = 16 << 20;

/// Parses `body`, counting users; the outcome and how much the peak memory grew meanwhile.
fn parse(format: ImportFormat, body: Repeated) -> (Result<u64, ImportError<Infallible>>, u64) {
    let before = peak_rss_kib().unwrap_or(0);
    let outcome = parse_users(format, body, |_, _| Ok::<(), Infallible>(()));
    (outcome, peak_rss_kib().unwrap_or(0).saturating_sub(before))
}

fn row_error(outcome: Result<u64, ImportError<Infallible>>) -> (&'static str, Option<u64>, Option<String>) {
    let error = outcome.unwrap_err();
    (
        error.code().unwrap().as_str(),
        error.row(),
        error.field().map(str::to_string),
    )
}

#[test]
fn hostile_bodies_parse_in_bounded_memory() {
    const LIMIT_KIB: u64 = 16 * 1024;
    assert_eq!(MAX_ROW_BYTES, 64 * 1024);
    // Warm up both parsers so fixed buffers are part of the baseline.
    let warm = format!("Identity\n{USER}\n");
    parse(ImportFormat::Csv, Repeated::new(&warm, " ", 1, "")).0.unwrap();
    parse(
        ImportFormat::Json,
        Repeated::new(&format!("[{{\"Identity\":\"{USER}\"}}"), " ", 1, "]"),
    )
    .0
    .unwrap();

    // A header, then tens of MB of whitespace-only lines, then one user.
    let tail = format!("{USER},x\r\n");
    for filler in [" \n", "\t\r\n", "   \n"] {
        let (outcome, grew) = parse(
            ImportFormat::Csv,
            Repeated::new("Identity,DisplayName\r\n", filler, BIG, &tail),
        );
        assert_eq!(outcome.unwrap(), 1);
        assert!(
            grew < LIMIT_KIB,
            "blank CSV lines {filler:?}: peak memory grew by {grew} KiB"
        );
    }
    // The same in UTF-16, as Windows PowerShell writes it.
    let utf16 = |text: &str| -> Vec<u8> { text.encode_utf16().flat_map(u16::to_le_bytes).collect() };
    let mut head = vec![0xFF, 0xFE];
    head.extend(utf16("Identity,DisplayName\r\n"));
    let (outcome, grew) = parse(
        ImportFormat::Csv,
        Repeated::bytes(&head, &utf16(" \r\n"), BIG, &utf16(&tail)),
    );
    assert_eq!(outcome.unwrap(), 1);
    assert!(
        grew < LIMIT_KIB,
        "blank UTF-16 CSV lines: peak memory grew by {grew} KiB"
    );

    // JSON: whitespace between users costs nothing.
    let (outcome, grew) = parse(
        ImportFormat::Json,
        Repeated::new(&format!("[{{\"Identity\":\"{USER}\"}}"), " \r\n", BIG, "]"),
    );
    assert_eq!(outcome.unwrap(), 1);
    assert!(grew < LIMIT_KIB, "JSON whitespace: peak memory grew by {grew} KiB");

    // A known key holding an endless array, an endless string, an endless ignored value, an
    // endless key name: refused at the row limit, with the row and the field when known.
    let head = format!("[{{\"Identity\":\"{USER}\"}},{{\"Identity\":\"{USER}\",\"FeatureTypes\":[");
    let (outcome, grew) = parse(ImportFormat::Json, Repeated::new(&head, "0,", BIG, "0]}]"));
    assert_eq!(
        row_error(outcome),
        ("row_too_large", Some(2), Some("FeatureTypes".into()))
    );
    assert!(grew < LIMIT_KIB, "endless array: peak memory grew by {grew} KiB");

    let head = format!("{{\"data\":[{{\"Identity\":\"{USER}\",\"WebName\":\"");
    let (outcome, grew) = parse(ImportFormat::Json, Repeated::new(&head, "x", BIG, "\"}]}"));
    assert_eq!(row_error(outcome), ("row_too_large", Some(1), Some("WebName".into())));
    assert!(grew < LIMIT_KIB, "endless string: peak memory grew by {grew} KiB");

    let head = format!("[{{\"Identity\":\"{USER}\",\"Unknown\":\"");
    let (outcome, grew) = parse(ImportFormat::Json, Repeated::new(&head, "x", BIG, "\"}]"));
    assert_eq!(row_error(outcome).0, "row_too_large");
    assert!(
        grew < LIMIT_KIB,
        "endless ignored value: peak memory grew by {grew} KiB"
    );

    let head = format!("[{{\"Identity\":\"{USER}\",\"");
    let (outcome, grew) = parse(ImportFormat::Json, Repeated::new(&head, "k", BIG, "\":1}]"));
    assert_eq!(row_error(outcome).0, "row_too_large");
    assert!(grew < LIMIT_KIB, "endless key: peak memory grew by {grew} KiB");

    // CSV: an endless quoted field, an endless line of bare fields.
    let head = format!("Identity,DisplayName\n{USER},ok\n{USER},\"");
    let (outcome, grew) = parse(ImportFormat::Csv, Repeated::new(&head, "d", BIG, "\"\n"));
    assert_eq!(
        row_error(outcome),
        ("row_too_large", Some(2), Some("DisplayName".into()))
    );
    assert!(grew < LIMIT_KIB, "endless CSV field: peak memory grew by {grew} KiB");

    let (outcome, grew) = parse(
        ImportFormat::Csv,
        Repeated::new("Identity,DisplayName\n", "a,", BIG, "\n"),
    );
    assert_eq!(row_error(outcome).0, "row_too_large");
    assert!(grew < LIMIT_KIB, "endless CSV row: peak memory grew by {grew} KiB");

    // An endless header line.
    let (outcome, grew) = parse(ImportFormat::Csv, Repeated::new("Identity,", "Column,", BIG, "\n"));
    assert!(outcome.is_err());
    assert!(grew < LIMIT_KIB, "endless CSV header: peak memory grew by {grew} KiB");
}
