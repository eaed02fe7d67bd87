//! Streaming: bodies of 200,000 users (set `ROSTERD_IMPORT_STREAM_USERS` for more), produced on
//! the fly by a reader that never holds more than one user, parse with memory that does not grow
//! with the body. Prints throughput; run with `--release -- --nocapture` to measure it.
//!
//! One test in this binary on purpose: the peak-memory check reads the process's high-water mark,
//! which a concurrently running test would disturb.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::convert::Infallible;
use std::io::{self, Read};
use std::time::Instant;

use domain::end_user::{object_id_of, FIELD_NAMES};
use domain::import::{parse_users, ImportFormat};
use domain::EndUser;
use uuid::Uuid;

#[derive(Clone, Copy, Debug)]
enum Form {
    LivePlatformJson,
    CsOnlineUserJson,
    ExportCsv,
}

/// Writes a body of `total` users, one user at a time, as the parser asks for bytes.
struct Generated {
    form: Form,
    total: u64,
    next: u64,
    chunk: Vec<u8>,
    pos: usize,
    done: bool,
    bytes: u64,
}

impl Generated {
    fn new(form: Form, total: u64) -> Self {
        let head = match form {
            Form::LivePlatformJson => r#"{"currentPage":1,"pageSize":10000,"data":["#.to_string(),
            Form::CsOnlineUserJson => "\u{FEFF}[\r\n".to_string(),
            Form::ExportCsv => format!(
                "#TYPE Microsoft.Teams.ConfigAPI.Cmdlets.Generated.Models.OnlineUser\r\n{}\r\n",
                CSV_COLUMNS
                    .iter()
                    .map(|c| format!("\"{c}\""))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        };
        Self {
            form,
            total,
            next: 0,
            chunk: head.into_bytes(),
            pos: 0,
            done: false,
            bytes: 0,
        }
    }

    fn refill(&mut self) {
        self.chunk.clear();
        self.pos = 0;
        if self.next == self.total {
            let tail = match self.form {
                Form::LivePlatformJson => "]}",
                Form::CsOnlineUserJson => "\r\n]\r\n",
                Form::ExportCsv => "",
            };
            self.chunk.extend_from_slice(tail.as_bytes());
            self.done = true;
            return;
        }
        let i = self.next;
        self.next += 1;
        let separator = if i == 0 { "" } else { "," };
        let text = match self.form {
            Form::LivePlatformJson => format!("{separator}{}", sample_user(i).render_json()),
            Form::CsOnlineUserJson => format!("{separator}\r\n{}", cs_online_user_json(i)),
            Form::ExportCsv => cs_online_user_csv(i),
        };
        self.chunk.extend_from_slice(text.as_bytes());
    }
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.chunk.len() {
            if self.done {
                return Ok(0);
            }
            self.refill();
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        self.bytes += n as u64;
        Ok(n)
    }
}

fn identity(i: u64) -> Uuid {
    Uuid::from_u128(0x04b6aa84_eb73_4f46_ba4a_000000000000 | u128::from(i))
}

fn sample_user(i: u64) -> EndUser {
    let mut user = EndUser::new(identity(i));
    user.sip_address = Some(format!("sip:user{i}@contoso.onmicrosoft.com"));
    user.line_uri = i.is_multiple_of(3).then(|| format!("tel:+1425555{:04}", i % 10_000));
    user.hosting_provider = Some("sipfed.online.lync.com".into());
    user.usage_location = Some("US".into());
    user.web_name = Some(format!("User Number {i}"));
    user.user_type = Some("TeamsOnly".into());
    user.tenant_id = Some("7e24d47c-eb72-439a-84e4-aea1bdb1eed9".into());
    user.user_principal_name = Some(format!("user{i}@contoso.onmicrosoft.com"));
    user.ms_interpreted_user_type = Some("PureOnlineTeamsOnlyUser".into());
    user.enterprise_voice_enabled = Some(i.is_multiple_of(2));
    user
}

/// A Get-CsOnlineUser object with the many properties the importer ignores, nested ones included.
fn cs_online_user_json(i: u64) -> String {
    format!(
        r#"  {{
    "AccountEnabled": true,
    "AccountType": "User",
    "AssignedPlan": [{{"AssignedTimestamp": "2024-01-05T10:00:00", "Capability": "MCOEV", "CapabilityStatus": "Enabled", "ServicePlanId": "4828c8ec-dc2e-4779-b502-87ac9ce28ab7"}}, {{"AssignedTimestamp": "2024-01-05T10:00:00", "Capability": "Teams", "CapabilityStatus": "Enabled"}}],
    "City": "Redmond",
    "CompanyName": null,
    "Country": "United States",
    "Department": "Sales",
    "DialPlan": null,
    "DisplayName": "User Number {i}",
    "EnterpriseVoiceEnabled": {ev},
    "FeatureTypes": ["Teams", "AudioConferencing", "PhoneSystem"],
    "GivenName": "User",
    "HostingProvider": "sipfed.online.lync.com",
    "Identity": "{id}",
    "InterpretedUserType": "PureOnlineTeamsOnlyUser",
    "LastName": "Number {i}",
    "LineURI": "tel:+1425555{line:04};ext={i}",
    "OnlineVoiceRoutingPolicy": "US-East",
    "ProvisionedPlan": [{{"Capability": "MCOEV", "CapabilityStatus": "Enabled"}}],
    "RegistrarPool": null,
    "SipAddress": "sip:user{i}@contoso.onmicrosoft.com",
    "SipProxyAddress": "user{i}@contoso.onmicrosoft.com",
    "SoftDeletionTimestamp": null,
    "TeamsUpgradeEffectiveMode": "TeamsOnly",
    "TeamsUpgradePolicy": {{"Name": "UpgradeToTeams", "Mode": "TeamsOnly"}},
    "TenantId": "7e24d47c-eb72-439a-84e4-aea1bdb1eed9",
    "UsageLocation": "US",
    "UserPrincipalName": "user{i}@contoso.onmicrosoft.com",
    "UserValidationErrors": [],
    "WhenChanged": "2024-03-01T12:00:00",
    "WhenCreated": "2023-11-02T08:15:00"
  }}"#,
        ev = i.is_multiple_of(2),
        id = identity(i),
        line = i % 10_000,
    )
}

const CSV_COLUMNS: [&str; 20] = [
    "AccountEnabled",
    "AccountType",
    "AssignedPlan",
    "City",
    "Department",
    "DisplayName",
    "EnterpriseVoiceEnabled",
    "FeatureTypes",
    "HostingProvider",
    "Identity",
    "InterpretedUserType",
    "LineURI",
    "OnlineVoiceRoutingPolicy",
    "RegistrarPool",
    "SipAddress",
    "TeamsUpgradeEffectiveMode",
    "TenantId",
    "UsageLocation",
    "UserPrincipalName",
    "WhenCreated",
];

fn cs_online_user_csv(i: u64) -> String {
    let fields = [
        "True".to_string(),
        "User".into(),
        "System.Collections.Generic.List`1[Microsoft.Teams.ConfigAPI.Cmdlets.Generated.Models.IAssignedPlan]".into(),
        "Redmond".into(),
        "Sales".into(),
        format!("User Number {i}"),
        if i.is_multiple_of(2) {
            "True".into()
        } else {
            "False".into()
        },
        "System.Collections.Generic.List`1[System.String]".into(),
        "sipfed.online.lync.com".into(),
        identity(i).to_string(),
        "PureOnlineTeamsOnlyUser".into(),
        format!("tel:+1425555{:04};ext={i}", i % 10_000),
        "US-East".into(),
        String::new(),
        format!("sip:user{i}@contoso.onmicrosoft.com"),
        "TeamsOnly".into(),
        "7e24d47c-eb72-439a-84e4-aea1bdb1eed9".into(),
        "US".into(),
        format!("user{i}@contoso.onmicrosoft.com"),
        "11/2/2023 8:15:00 AM".into(),
    ];
    let quoted: Vec<String> = fields.iter().map(|f| format!("\"{f}\"")).collect();
    format!("{}\r\n", quoted.join(","))
}

/// The process's peak resident memory in KiB, where Linux reports it.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Lowers the peak back to the current resident size (Linux ≥ 4.0), so that each body's peak
/// is measured on its own; `false` where that is not possible.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Parses a generated body, checking every user as it arrives; returns (users, bytes, seconds).
fn run(form: Form, total: u64) -> (u64, u64, f64) {
    let mut body = Generated::new(form, total);
    let started = Instant::now();
    let mut expected_row = 0u64;
    let count = parse_users(
        match form {
            Form::ExportCsv => ImportFormat::Csv,
            _ => ImportFormat::Json,
        },
        &mut body,
        |row, user| {
            expected_row += 1;
            assert_eq!(row, expected_row);
            let i = row - 1;
            assert_eq!(user.identity, identity(i));
            assert_eq!(user.object_id, object_id_of(identity(i)));
            let name = user.web_name.as_deref().unwrap_or_default();
            assert!(name.starts_with("User Number ") && name[12..].parse() == Ok(i));
            assert_eq!(user.enterprise_voice_enabled, Some(i.is_multiple_of(2)));
            assert_eq!(user.user_type.as_deref(), Some("TeamsOnly"));
            Ok::<(), Infallible>(())
        },
    )
    .unwrap_or_else(|e| panic!("{form:?}: {e}"));
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(count, total);
    (count, body.bytes, seconds)
}

#[test]
fn large_bodies_stream_in_bounded_memory() {
    let total: u64 = std::env::var("ROSTERD_IMPORT_STREAM_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    assert_eq!(FIELD_NAMES.len(), 21);
    let forms = [Form::LivePlatformJson, Form::CsOnlineUserJson, Form::ExportCsv];

    // Warm up every path on a small body, so the baseline includes the parsers' fixed buffers.
    for form in forms {
        run(form, 2_000);
    }
    let baseline = peak_rss_kib();

    // (form, body bytes, peak growth while parsing it, in KiB)
    let mut growth = Vec::new();
    for form in forms {
        // Unoptimised builds are ~10x slower: there, only the Live Platform JSON body keeps the
        // full size; the others are cut, and the memory limit below scales with what was read.
        let total = match form {
            Form::LivePlatformJson => total,
            _ if cfg!(debug_assertions) => total / 10,
            _ => total,
        };
        let isolated = reset_peak_rss();
        let before = peak_rss_kib();
        let (users, bytes, seconds) = run(form, total);
        if let (Some(before), Some(after)) = (before, peak_rss_kib()) {
            growth.push((form, bytes, after.saturating_sub(before), isolated));
        }
        // What producing the body alone costs, so the parser's share can be told apart.
        let started = Instant::now();
        let generated = io::copy(&mut Generated::new(form, total), &mut io::sink()).unwrap_or(0);
        let generating = started.elapsed().as_secs_f64();
        assert_eq!(generated, bytes);
        let parsing = (seconds - generating).max(f64::EPSILON);
        eprintln!(
            "{form:?}: {users} users, {:.1} MB in {seconds:.2} s ({generating:.2} s generating); \
             parser alone {:.0} users/s, {:.0} MB/s",
            bytes as f64 / 1e6,
            users as f64 / parsing,
            bytes as f64 / 1e6 / parsing
        );
    }

    // A parser that kept the body, or the users, would grow by at least the body's size; a
    // streaming one grows by its fixed buffers only. The limit is a quarter of each body, so
    // even the smallest body (10 MB of CSV in debug builds) would expose buffering. Without
    // per-body resets the peaks accumulate, so every body is held to the smallest's limit.
    let smallest = growth.iter().map(|(_, bytes, _, _)| *bytes).min().unwrap_or(0);
    for (form, bytes, grown_kib, isolated) in &growth {
        let limit_kib = if *isolated {
            bytes / 4 / 1024
        } else {
            smallest / 4 / 1024
        };
        eprintln!("{form:?}: peak memory +{grown_kib} KiB while parsing (limit {limit_kib} KiB)");
        assert!(
            *grown_kib < limit_kib,
            "{form:?}: peak memory grew by {grown_kib} KiB while parsing a {bytes}-byte body"
        );
    }
    if let (Some(before), Some(after)) = (baseline, peak_rss_kib()) {
        eprintln!("peak RSS {before} KiB -> {after} KiB");
    }
}
