//! Finding users (issue 11): `Search` and the filters of the user list, one user by key, the
//! owner of a number across customers — on both backends, with the rules checked against the
//! reference (`domain::UserQuery::matches`) and the plain list left byte-identical.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{users, TestApp};
use domain::{EndUser, Role, Scope, UserQuery};
use serde_json::Value;
use uuid::Uuid;

/// 60 users spread over every filter value: numbers in several spellings, departments in
/// several cases, nulls and empties.
fn varied() -> Vec<EndUser> {
    (0..60u128)
        .map(|i| {
            let mut user = EndUser::new(Uuid::from_u128(0x2000_0000_0000_4000_8000_0000_0000_0000 + i * 104_729));
            user.web_name = Some(format!("{} {}", ["Ada", "Bob", "Carol", "Émile"][i as usize % 4], i));
            user.user_principal_name = Some(format!("person{i}@Contoso.com"));
            user.sip_address = (i % 5 != 0).then(|| format!("sip:person{i}@contoso.com"));
            user.line_uri = match i % 6 {
                0 => None,
                1 => Some(format!("tel:+1425555{i:04}")),
                2 => Some(format!("tel:+1 425 555 {i:04};ext=9")),
                3 => Some(String::new()),
                4 => Some(format!("tel:+3120{i:07}")),
                _ => Some(format!("+44-20-7946-{i:04}")),
            };
            user.department = match i % 4 {
                0 => None,
                1 => Some("Sales".into()),
                2 => Some("SALES".into()),
                _ => Some(String::new()),
            };
            user.usage_location = [None, Some("US".to_string()), Some("nl".to_string())][i as usize % 3].clone();
            user.user_type = Some(["TeamsOnly", "NoService"][i as usize % 2].into());
            user.ms_interpreted_user_type =
                Some(["PureOnlineTeamsOnlyUser", "PureOnlineApplicationInstance"][i as usize % 2].into());
            user.enterprise_voice_enabled = [Some(true), Some(false), None][i as usize % 3];
            user.online_voice_routing_policy = ["", "Global", "US Only"][i as usize % 3].into();
            user
        })
        .collect()
}

fn query(pairs: &[(&str, &str)]) -> UserQuery {
    UserQuery::parse(|name| {
        pairs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    })
    .unwrap()
}

fn encode(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().copied())
        .finish()
}

fn identities(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["Identity"].as_str().unwrap().to_string())
        .collect()
}

/// The identities the reference rule picks, in identity order.
fn expected(set: &[EndUser], pairs: &[(&str, &str)]) -> Vec<String> {
    let q = query(pairs);
    let mut found: Vec<Uuid> = set.iter().filter(|u| q.matches(u)).map(|u| u.identity).collect();
    found.sort();
    found.iter().map(Uuid::to_string).collect()
}

async fn listed(app: &TestApp, customer: domain::CustomerId, pairs: &[(&str, &str)]) -> Value {
    let reply = app
        .get(&format!(
            "/api/v3/customer/{customer}/user?PageSize=10000&{}",
            encode(pairs)
        ))
        .await;
    assert_eq!(reply.status, 200, "{pairs:?}: {}", String::from_utf8_lossy(&reply.body));
    reply.json()
}

async fn every_filter_and_the_search_follow_the_rules(app: TestApp) {
    let customer = app.service("finder", 1, true, None).await;
    let set = varied();
    app.load(customer, &set).await;
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![("EnterpriseVoiceEnabled", "true")],
        vec![("EnterpriseVoiceEnabled", "false")],
        vec![("enterprisevoiceenabled", "FALSE")],
        vec![("HasLineUri", "true")],
        vec![("HasLineUri", "false")],
        vec![("UserType", "teamsonly")],
        vec![("MsInterpretedUserType", "PureOnlineApplicationInstance")],
        vec![("UsageLocation", "us")],
        vec![("UsageLocation", "")],
        vec![("Department", "sales")],
        vec![("DEPARTMENT", "")],
        vec![("Department", "nobody")],
        vec![("OnlineVoiceRoutingPolicy", "us only")],
        vec![("OnlineVoiceRoutingPolicy", "")],
        vec![("Search", "ada")],
        vec![("search", "ÉMILE")],
        vec![("Search", "@contoso.COM")],
        vec![("Search", "sip:person1")],
        vec![("Search", "+1 425 555")],
        vec![("Search", "1425555")],
        vec![("Search", "tel:+44 20")],
        vec![("Search", "0007")],
        vec![("Search", "no such text")],
        vec![("Search", "carol"), ("Department", "SALES"), ("HasLineUri", "true")],
        vec![
            ("Search", "person"),
            ("EnterpriseVoiceEnabled", "true"),
            ("UsageLocation", "NL"),
        ],
    ];
    for pairs in &cases {
        let page = listed(&app, customer, pairs).await;
        let want = expected(&set, pairs);
        assert_eq!(identities(&page), want, "{pairs:?}");
        assert_eq!(page["totalRecords"], want.len(), "{pairs:?}");
    }
    // Sanity: the cases are not all empty or all full.
    let sizes: Vec<usize> = cases.iter().map(|p| expected(&set, p).len()).collect();
    assert!(sizes.contains(&0) && sizes.iter().any(|n| *n > 0 && *n < set.len()));
    // A number with separators finds the users whose LineURI has those digits.
    let found = identities(&listed(&app, customer, &[("Search", "+1 425 555")]).await);
    assert_eq!(found.len(), 20, "lines 1 and 2 of every 6 are +1 425 555 numbers");
}

async fn filtered_paging_counts_the_matches(app: TestApp) {
    let customer = app.service("pager", 2, true, None).await;
    let set = varied();
    app.load(customer, &set).await;
    let pairs = [("HasLineUri", "true")];
    let want = expected(&set, &pairs);
    assert_eq!(want.len(), 40);
    let mut seen = Vec::new();
    for page in 1..=6 {
        let reply = app
            .get(&format!(
                "/api/v3/customer/{customer}/user?HasLineUri=true&PageNumber={page}&PageSize=7"
            ))
            .await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("etag"), "", "filtered pages carry no ETag");
        let body = reply.json();
        assert_eq!(body["currentPage"], page);
        assert_eq!(body["pageSize"], 7);
        assert_eq!(body["totalRecords"], 40);
        assert_eq!(body["totalPages"], 6);
        seen.extend(identities(&body));
    }
    assert_eq!(seen, want, "every match once, in Identity order");
    let past = app
        .get(&format!(
            "/api/v3/customer/{customer}/user?HasLineUri=true&PageNumber=7&PageSize=7"
        ))
        .await
        .json();
    assert_eq!(past["data"], serde_json::json!([]));
    assert_eq!(past["totalRecords"], 40);
    // The same under /tenantui.
    let tenantui = app
        .get(&format!(
            "/tenantui/api/v3/customer/{customer}/user?hasLineUri=true&PageSize=7"
        ))
        .await;
    assert_eq!(identities(&tenantui.json()), want[..7]);
}

async fn without_a_filter_the_list_is_byte_identical(app: TestApp) {
    let customer = app.service("plain", 1, true, None).await;
    app.load(customer, &domain::samples::demo_users().unwrap()).await;
    let plain = app.get(&format!("/api/v3/customer/{customer}/user")).await;
    assert_eq!(plain.status, 200);
    assert!(!plain.header("etag").is_empty());
    for extra in ["Search=", "search=%20%20", "Unknown=1", "Search=&Other=x"] {
        let reply = app.get(&format!("/api/v3/customer/{customer}/user?{extra}")).await;
        assert_eq!(reply.body, plain.body, "{extra}");
        assert_eq!(reply.header("etag"), plain.header("etag"), "{extra}");
    }
    // A filter matching everyone gives the same users and figures, from the filtered path.
    let all = app.get(&format!("/api/v3/customer/{customer}/user?Search=%40")).await;
    assert_eq!(all.json(), plain.json());
    assert_eq!(app.app.search_index_size().0, 37, "the customer is indexed");
}

async fn bad_values_name_their_parameter(app: TestApp) {
    let customer = app.service("refuser", 1, true, None).await;
    app.load(customer, &users(5, "r")).await;
    let long = "x".repeat(257);
    let cases = [
        (
            "EnterpriseVoiceEnabled=yes".to_string(),
            "EnterpriseVoiceEnabled",
            "invalid_parameter",
        ),
        ("hasLineUri=".to_string(), "HasLineUri", "invalid_parameter"),
        (format!("Search={long}"), "Search", "invalid_parameter"),
        (format!("Department={long}"), "Department", "invalid_parameter"),
        ("Search=a%00b".to_string(), "Search", "invalid_parameter"),
        ("UserType=a%0Ab".to_string(), "UserType", "invalid_parameter"),
        ("Search=a&SEARCH=b".to_string(), "Search", "repeated_parameter"),
        (
            "Department=a&department=b".to_string(),
            "Department",
            "repeated_parameter",
        ),
    ];
    for (query, field, code) in cases {
        let reply = app.get(&format!("/api/v3/customer/{customer}/user?{query}")).await;
        assert_eq!(reply.status, 400, "{query}");
        assert_eq!(reply.header("content-type"), "application/problem+json", "{query}");
        assert_eq!(reply.code(), code, "{query}");
        assert_eq!(reply.json()["field"], field, "{query}");
    }
    // At the limit is fine.
    let reply = app
        .get(&format!("/api/v3/customer/{customer}/user?Search={}", "x".repeat(256)))
        .await;
    assert_eq!(reply.status, 200);
    // The service rules still come first for a customer outside the scope.
    let other = app.service("hidden", 1, true, Some(99)).await;
    let token = app.token_for(Role::Monitor, Scope::Channel { channel_id: 1 }).await;
    let reply = app
        .get_as(&token, &format!("/api/v3/customer/{other}/user?Search=x"))
        .await;
    assert_eq!(reply.status, 404);
}

async fn a_new_generation_is_searched_and_a_repeat_is_not_rescanned(app: TestApp) {
    let customer = app.service("moving", 1, true, None).await;
    app.load(customer, &users(20, "old")).await;
    let uri = format!("/api/v3/customer/{customer}/user?Search=new%20user&PageSize=100");
    assert_eq!(app.get(&uri).await.json()["totalRecords"], 0);
    let (hits, misses) = app.app.counters().cache_lookups(app::Cache::Search);
    // The same query, spelled differently: answered from the cached results.
    let again = app
        .get(&format!(
            "/api/v3/customer/{customer}/user?search=NEW%20USER%20&PageSize=100"
        ))
        .await;
    assert_eq!(again.json()["totalRecords"], 0);
    assert_eq!(
        app.app.counters().cache_lookups(app::Cache::Search),
        (hits + 1, misses),
        "a repeated query is not scanned again"
    );
    // An import commits a new generation: the next search reads it.
    let put = app
        .put_users(
            customer,
            "application/json",
            serde_json::to_string(&users(12, "new")).unwrap(),
        )
        .await;
    assert_eq!(put.status, 200);
    let page = app.get(&uri).await.json();
    assert_eq!(page["totalRecords"], 12);
    assert!(page["data"][0]["WebName"].as_str().unwrap().starts_with("new user"));
    assert_eq!(app.app.search_index_size().0, 12, "the old generation's index is gone");
}

async fn one_user_by_identity_upn_or_sip(app: TestApp) {
    let customer = app.service("keys", 1, true, None).await;
    let set = varied();
    app.load(customer, &set).await;
    let user = &set[7];
    let base = format!("/api/v3/customer/{customer}/user");
    let id = user.identity.to_string();
    for key in [
        id.clone(),
        id.to_uppercase(),
        "person7@contoso.com".to_string(),
        "PERSON7@Contoso.COM".to_string(),
        "sip:person7@contoso.com".to_string(),
        "SIP:Person7@contoso.com".to_string(),
    ] {
        let reply = app.get(&format!("{base}/{key}")).await;
        assert_eq!(reply.status, 200, "{key}: {}", String::from_utf8_lossy(&reply.body));
        assert_eq!(reply.header("content-type"), "application/json; charset=utf-8");
        assert_eq!(
            reply.body,
            user.render_json().as_bytes(),
            "{key}: the 21 fields as served"
        );
    }
    // Under /tenantui too.
    let reply = app.get(&format!("/tenantui{base}/person7@contoso.com")).await;
    assert_eq!(reply.status, 200);
    for missing in [
        Uuid::from_u128(1).to_string(),
        "person7@contoso".into(),
        "nobody@contoso.com".into(),
        "sip:person700@contoso.com".into(),
    ] {
        let reply = app.get(&format!("{base}/{missing}")).await;
        assert_eq!(reply.status, 404, "{missing}");
        assert_eq!(reply.code(), "user_not_found", "{missing}");
    }
    let reply = app.get(&format!("{base}/{}", "x".repeat(513))).await;
    assert_eq!(
        (reply.status.as_u16(), reply.code().as_str()),
        (400, "invalid_parameter")
    );
    assert_eq!(reply.json()["field"], "key");
    let reply = app.get(&format!("{base}/a%07b")).await;
    assert_eq!(reply.status, 400);
    // Another customer's user is not found in this one; a customer outside the scope is 404.
    let other = app.service("keys2", 1, true, Some(5)).await;
    app.load(other, &users(3, "o")).await;
    let reply = app.get(&format!("{base}/user1@example.test")).await;
    assert_eq!(reply.code(), "user_not_found");
    let token = app
        .token_for(
            Role::Monitor,
            Scope::Customers {
                customers: vec![customer],
            },
        )
        .await;
    let reply = app
        .get_as(&token, &format!("/api/v3/customer/{other}/user/user1@example.test"))
        .await;
    assert_eq!(
        (reply.status.as_u16(), reply.code().as_str()),
        (404, "customer_not_found")
    );
}

/// A literal segment after `/user/` (`sync` today, `export` and `changes` with issue 12) is its
/// own route, never a key.
async fn literal_segments_win_over_the_key(app: TestApp) {
    let customer = app.service("literal", 1, true, None).await;
    app.load(customer, &users(3, "l")).await;
    let mut literals = 0;
    for route in api::route_table() {
        let Some(rest) = route.path.strip_prefix("/v3/customer/{customerGuid}/user/") else {
            continue;
        };
        if rest.starts_with('{') {
            continue;
        }
        literals += 1;
        let reply = app.get(&format!("/api/v3/customer/{customer}/user/{rest}")).await;
        let problem: serde_json::Value = serde_json::from_slice(&reply.body).unwrap_or_default();
        assert!(
            problem["code"] != "user_not_found" && problem["field"] != "key",
            "GET .../user/{rest} reached the key route: {} {problem}",
            reply.status
        );
    }
    assert!(literals >= 1, "the sync route is a literal segment");
    let reply = app.get(&format!("/api/v3/customer/{customer}/user/sync")).await;
    assert_eq!(
        reply.status, 405,
        "GET of the sync route is that route's 405, not a key lookup"
    );
}

async fn number_owner_in_every_spelling(app: TestApp) {
    let a = app.service("numa", 1, true, Some(1)).await;
    let b = app.service("numb", 4, true, Some(2)).await;
    let mut left = users(4, "a");
    left[1].line_uri = Some("tel:+14255550123".into());
    left[2].line_uri = Some("tel:+14255550199;ext=123".into());
    left[3].line_uri = Some("tel:+14255550199".into());
    app.load(a, &left).await;
    let mut right = users(2, "b");
    right[0].line_uri = Some("tel:+3120555000".into());
    app.load(b, &right).await;

    for spelling in [
        "+14255550123",
        "tel:+14255550123",
        "TEL:+14255550123",
        "14255550123",
        "+1 425 555 0123",
        "+1-425-555-0123",
        "+1.425.555.0123",
        "+1 (425) 555-0123",
    ] {
        let uri = format!("/api/rosterd/numbers/{}", spelling.replace(' ', "%20"));
        let reply = app.get(&uri).await;
        assert_eq!(
            reply.status,
            200,
            "{spelling}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        let body = reply.json();
        assert_eq!(body["number"], "+14255550123", "{spelling}");
        assert_eq!(body["customerGuid"], a.to_string());
        assert_eq!(body["customerShortName"], "numa");
        assert_eq!(body["user"]["Identity"], left[1].identity.to_string());
        let keys: Vec<&String> = body["user"].as_object().unwrap().keys().collect();
        assert_eq!(keys, domain::end_user::FIELD_NAMES.iter().collect::<Vec<_>>());
    }
    // Extensions: a stored extension must match; asked with one no user has, the main line.
    let ext = app.get("/api/rosterd/numbers/tel:+14255550199;ext=123").await.json();
    assert_eq!(ext["user"]["Identity"], left[2].identity.to_string());
    assert_eq!(ext["number"], "+14255550199;ext=123");
    let main = app.get("/api/rosterd/numbers/+14255550199").await.json();
    assert_eq!(main["user"]["Identity"], left[3].identity.to_string());
    assert_eq!(main["number"], "+14255550199");
    let other_ext = app.get("/api/rosterd/numbers/+14255550199;ext=5").await.json();
    assert_eq!(other_ext["user"]["Identity"], left[3].identity.to_string());
    // Only an extension, no main line: an unknown extension is not found.
    let only_ext = app.get("/api/rosterd/numbers/+14255550123;ext=1").await.json();
    assert_eq!(
        only_ext["user"]["Identity"],
        left[1].identity.to_string(),
        "the main line +14255550123"
    );
    // Unknown and malformed numbers.
    for (number, status, code) in [
        ("+14255550100", 404, "number_not_found"),
        ("+1425555012", 404, "number_not_found"),
        ("abc", 400, "invalid_number"),
        ("+1425x555", 400, "invalid_number"),
        ("1;ext=x", 400, "invalid_number"),
    ] {
        let reply = app.get(&format!("/api/rosterd/numbers/{number}")).await;
        assert_eq!(
            (reply.status.as_u16(), reply.code().as_str()),
            (status, code),
            "{number}"
        );
        assert_eq!(reply.json()["field"], "number");
    }
    let long = format!("/api/rosterd/numbers/{}", "1".repeat(65));
    assert_eq!(app.get(&long).await.code(), "invalid_number");

    // Scopes: a customer-scoped client never learns of another customer's number.
    let only_b = app
        .token_for(Role::Monitor, Scope::Customers { customers: vec![b] })
        .await;
    let reply = app.get_as(&only_b, "/api/rosterd/numbers/+14255550123").await;
    assert_eq!(
        (reply.status.as_u16(), reply.code().as_str()),
        (404, "number_not_found")
    );
    let reply = app.get_as(&only_b, "/api/rosterd/numbers/+3120555000").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["customerShortName"], "numb");
    // Channel scope, and the channel header narrowing a provider-scoped client.
    let channel_two = app.token_for(Role::Operator, Scope::Channel { channel_id: 2 }).await;
    assert_eq!(
        app.get_as(&channel_two, "/api/rosterd/numbers/+14255550123")
            .await
            .status,
        404
    );
    let narrowed = app
        .send(
            axum::http::Method::GET,
            "/api/rosterd/numbers/+14255550123",
            Some(&app.admin.clone()),
            &[("x-ovoc-channel-id", "2")],
            axum::body::Body::empty(),
        )
        .await;
    assert_eq!(narrowed.status, 404);

    // The number moves to the other customer: found there once that generation is served.
    left[1].line_uri = None;
    app.load(a, &left).await;
    right[1].line_uri = Some("tel:+1 425 555 0123".into());
    app.load(b, &right).await;
    let moved = app.get("/api/rosterd/numbers/+14255550123").await.json();
    assert_eq!(moved["customerGuid"], b.to_string());
    assert_eq!(moved["user"]["Identity"], right[1].identity.to_string());
    assert_eq!(
        app.get_as(&only_b, "/api/rosterd/numbers/+14255550123").await.status,
        200
    );
}

both_backends!(
    every_filter_and_the_search_follow_the_rules,
    filtered_paging_counts_the_matches,
    without_a_filter_the_list_is_byte_identical,
    bad_values_name_their_parameter,
    a_new_generation_is_searched_and_a_repeat_is_not_rescanned,
    one_user_by_identity_upn_or_sip,
    literal_segments_win_over_the_key,
    number_owner_in_every_spelling,
);
