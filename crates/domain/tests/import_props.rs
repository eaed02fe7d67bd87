//! Properties of the import parsers: no input makes them panic, and users rendered in any
//! supported form parse back to the same users.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::convert::Infallible;

use domain::end_user::{object_id_of, FIELD_NAMES};
use domain::import::{parse_users, parse_users_detect, ImportError, ImportFormat};
use domain::EndUser;
use proptest::prelude::*;
use uuid::Uuid;

fn parse(format: ImportFormat, body: &[u8]) -> Result<Vec<EndUser>, ImportError<Infallible>> {
    let mut users = Vec::new();
    parse_users(format, body, |_, user| {
        users.push(user);
        Ok(())
    })?;
    Ok(users)
}

/// Any text, including control characters, quotes and non-ASCII.
fn any_text() -> BoxedStrategy<String> {
    prop_oneof![".{0,12}", "[\"\\\\,;\r\n\t a-zé😀]{0,12}", Just(String::new())].boxed()
}

/// Text that is never empty: CSV writes null as the empty field, so "" cannot round-trip there.
fn some_text() -> BoxedStrategy<String> {
    any_text()
        .prop_map(|s| if s.is_empty() { "x".to_string() } else { s })
        .boxed()
}

fn user(text: BoxedStrategy<String>) -> impl Strategy<Value = EndUser> {
    let opt = move || proptest::option::of(text.clone());
    (
        (any::<u128>(), opt(), opt(), opt(), opt(), opt(), opt(), opt()),
        (opt(), opt(), opt(), any::<i64>(), any::<Option<bool>>(), opt()),
        (opt(), opt(), opt(), any::<Option<bool>>(), opt(), opt()),
    )
        .prop_map(|(a, b, c)| {
            let identity = Uuid::from_u128(a.0);
            EndUser {
                identity,
                status: a.1.unwrap_or_else(|| "----".into()),
                sip_address: a.2,
                line_uri: a.3,
                hosting_provider: a.4,
                hybrid_pstn_site_name: a.5,
                usage_location: a.6,
                registrar_pool: a.7,
                call_forward: b.0.unwrap_or_default(),
                object_id: object_id_of(identity),
                web_name: b.1,
                user_type: b.2,
                ps_count: b.3,
                is_managed: b.4,
                department: b.5,
                tenant_id: c.0,
                user_principal_name: c.1,
                ms_interpreted_user_type: c.2,
                enterprise_voice_enabled: c.3,
                online_voice_routing_policy: c.4.unwrap_or_default(),
                online_pstn_gateway: c.5.unwrap_or_default(),
            }
        })
}

fn json_array(users: &[EndUser]) -> String {
    let rendered: Vec<String> = users.iter().map(EndUser::render_json).collect();
    format!("[{}]", rendered.join(","))
}

fn csv_body(users: &[EndUser]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(FIELD_NAMES).unwrap_or_default();
    for user in users {
        let value: serde_json::Value = serde_json::from_str(&user.render_json()).unwrap_or_default();
        let row: Vec<String> = FIELD_NAMES
            .iter()
            .map(|key| match &value[*key] {
                serde_json::Value::Null => String::new(),
                serde_json::Value::Bool(true) => "True".into(),
                serde_json::Value::Bool(false) => "False".into(),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        writer.write_record(&row).unwrap_or_default();
    }
    writer.into_inner().unwrap_or_default()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse(ImportFormat::Json, &bytes);
        let _ = parse(ImportFormat::Csv, &bytes);
        let _ = parse_users_detect(None, &bytes[..], |_, _| Ok::<(), Infallible>(()));
    }

    #[test]
    fn json_like_noise_never_panics(text in "[\\[\\]{}\",:0-9a-zA-Z \\n\\\\-]{0,200}") {
        let _ = parse(ImportFormat::Json, text.as_bytes());
        let _ = parse(ImportFormat::Csv, text.as_bytes());
    }

    #[test]
    fn mutated_valid_bodies_never_panic(
        users in proptest::collection::vec(user(any_text()), 1..4),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        for mut body in [json_array(&users).into_bytes(), csv_body(&users)] {
            let i = at.index(body.len());
            body[i] = byte;
            let _ = parse(ImportFormat::Json, &body);
            let _ = parse(ImportFormat::Csv, &body);
        }
    }

    #[test]
    fn json_round_trips(users in proptest::collection::vec(user(any_text()), 0..8)) {
        let body = json_array(&users);
        prop_assert_eq!(&parse(ImportFormat::Json, body.as_bytes()).unwrap(), &users);
        let envelope = format!(r#"{{"currentPage":1,"pageSize":10,"totalPages":1,"totalRecords":{},"data":{body}}}"#, users.len());
        prop_assert_eq!(&parse(ImportFormat::Json, envelope.as_bytes()).unwrap(), &users);
    }

    #[test]
    fn csv_round_trips(users in proptest::collection::vec(user(some_text()), 0..8)) {
        let body = csv_body(&users);
        prop_assert_eq!(&parse(ImportFormat::Csv, &body).unwrap(), &users);
    }

    #[test]
    fn truncated_json_is_never_accepted(
        users in proptest::collection::vec(user(any_text()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let body = json_array(&users);
        let cut = cut.index(body.len());
        let result = parse(ImportFormat::Json, &body.as_bytes()[..cut]);
        let is_empty_or_syntax = matches!(result, Err(ImportError::Empty | ImportError::Syntax { .. }));
        prop_assert!(is_empty_or_syntax, "{:?}", result);
    }
}
