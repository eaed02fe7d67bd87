//! `GET /api/v3/customer/{guid}/user/export`: the three formats, how a request chooses one,
//! CSV as `Export-Csv -NoTypeInformation` writes it and back through `PUT .../user` unchanged,
//! one generation from start to end, and a cut-off instead of a truncated file when that
//! generation goes while it is read.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use api::ApiConfig;
use app::AppConfig;
use axum::body::Body;
use axum::http::{Method, Request};
use common::{Backend, Reply, TestApp};
use domain::{CustomerId, EndUser};
use http_body_util::BodyExt;
use tower::ServiceExt;

const CSV_HEADER: &str = "\"Identity\",\"Status\",\"SipAddress\",\"LineURI\",\"HostingProvider\",\
\"HybridPstnSiteName\",\"UsageLocation\",\"RegistrarPool\",\"CallForward\",\"ObjectId\",\"WebName\",\
\"UserType\",\"PsCount\",\"IsManaged\",\"Department\",\"TenantId\",\"UserPrincipalName\",\
\"MsInterpretedUserType\",\"EnterpriseVoiceEnabled\",\"OnlineVoiceRoutingPolicy\",\"OnlinePstnGateway\"\r\n";

/// The demo tenant's 37 users and one whose values need quoting, in no particular order.
fn roster() -> Vec<EndUser> {
    let mut users = domain::samples::demo_users().unwrap();
    let mut odd = EndUser::new(uuid::Uuid::parse_str("00000000-0000-4000-8000-0000000000aa").unwrap());
    odd.web_name = Some("O'Neil, \"Bob\" Jr. 😀".into());
    odd.department = Some("Sales\r\nNorth".into());
    odd.line_uri = Some("tel:+14255550100;ext=100".into());
    odd.ps_count = 2;
    odd.is_managed = Some(true);
    odd.enterprise_voice_enabled = Some(true);
    odd.online_voice_routing_policy = "Unrestricted".into();
    users.push(odd);
    users.reverse();
    users
}

/// The line `Export-Csv -NoTypeInformation` writes for the odd user, written out by hand.
const ODD_LINE: &str = "\"00000000-0000-4000-8000-0000000000aa\",\"----\",,\"tel:+14255550100;ext=100\",,,,,\"\",\
\"00000000-0000-4000-8000-0000000000AA\",\"O'Neil, \"\"Bob\"\" Jr. 😀\",,\"2\",\"True\",\"Sales\r\nNorth\",,,,\
\"True\",\"Unrestricted\",\"\"\r\n";

async fn export(app: &TestApp, customer: CustomerId, query: &str, accept: Option<&str>) -> Reply {
    let headers: Vec<(&str, &str)> = accept.iter().map(|a| ("accept", *a)).collect();
    app.send(
        Method::GET,
        &format!("/api/v3/customer/{customer}/user/export{query}"),
        Some(&app.admin.clone()),
        &headers,
        Body::empty(),
    )
    .await
}

fn text(reply: &Reply) -> String {
    String::from_utf8(reply.body.clone()).unwrap()
}

/// The `data` array of the whole list, byte for byte as the page serves it.
async fn listed_data(app: &TestApp, customer: CustomerId) -> String {
    let page = app
        .get(&format!("/api/v3/customer/{customer}/user?PageSize=10000"))
        .await;
    let page = text(&page);
    let start = page.find("\"data\":").unwrap() + "\"data\":".len();
    page[start..page.len() - 1].to_string()
}

async fn every_format_holds_the_served_generation(app: TestApp) {
    let customer = app.service("exporter", 1, true, None).await;
    app.load(customer, &roster()).await;
    let generation = app.stored(customer).await.generation;

    let csv = export(&app, customer, "?format=csv", None).await;
    assert_eq!(csv.status, 200, "{}", text(&csv));
    assert_eq!(csv.header("content-type"), "text/csv; charset=utf-8");
    assert_eq!(csv.header("rosterd-generation"), generation.to_string());
    assert_eq!(csv.header("rosterd-user-count"), "38");
    assert_eq!(
        csv.header("content-disposition"),
        format!("attachment; filename=\"users-{customer}-g{generation}.csv\"")
    );
    assert_eq!(csv.header("cache-control"), "private, no-store");
    let body = text(&csv);
    assert!(body.starts_with(CSV_HEADER), "{body}");
    // The odd user sorts first by Identity; the seed's first user follows.
    assert!(body[CSV_HEADER.len()..].starts_with(ODD_LINE), "{body}");
    let megan = "\"04b6aa84-eb73-4f46-ba4a-200f86a2563a\",\"----\",\"sip:meganb@m365x33712745.onmicrosoft.com\",,\
\"sipfed.online.lync.com\",,\"US\",,\"\",\"04B6AA84-EB73-4F46-BA4A-200F86A2563A\",\"Megan Bowen\",\"TeamsOnly\",\
\"0\",,,\"7e24d47c-eb72-439a-84e4-aea1bdb1eed9\",\"MeganB@M365x33712745.OnMicrosoft.com\",\
\"PureOnlineTeamsOnlyUser\",\"False\",\"\",\"\"\r\n";
    assert!(body[CSV_HEADER.len() + ODD_LINE.len()..].starts_with(megan), "{body}");
    assert_eq!(
        body.matches("\r\n").count(),
        1 + 38 + 1,
        "header, users, the odd user's department"
    );

    // JSON is the list's data, byte for byte; NDJSON the same objects, one per line.
    let json = export(&app, customer, "?format=json", None).await;
    assert_eq!(json.status, 200);
    assert_eq!(json.header("content-type"), "application/json; charset=utf-8");
    let data = listed_data(&app, customer).await;
    assert_eq!(text(&json), data);
    let ndjson = export(&app, customer, "?format=ndjson", None).await;
    assert_eq!(ndjson.header("content-type"), "application/x-ndjson");
    let items: Vec<serde_json::Value> = serde_json::from_str(&data).unwrap();
    let lines: Vec<String> = items.iter().map(|i| format!("{}\n", i)).collect();
    assert_eq!(text(&ndjson), lines.concat());
    assert_eq!(lines.len(), 38);

    // Exports are recorded: a bulk read of personal data.
    let events = app.store().list_audit_events(&common::SYSTEM).await.unwrap();
    let exports: Vec<_> = events.iter().filter(|e| e.action == "users.export").collect();
    assert_eq!(exports.len(), 3);
    assert_eq!(exports[0].customer, Some(customer));
    assert!(exports.iter().any(|e| e.detail.contains("38 users as ndjson")));
}

async fn csv_and_json_come_back_through_put_unchanged(app: TestApp) {
    let source = app.service("source", 1, true, None).await;
    app.load(source, &roster()).await;
    let csv = text(&export(&app, source, "", Some("text/csv")).await);
    let json = text(&export(&app, source, "", Some("application/json")).await);

    let from_csv = app.service("fromcsv", 2, true, None).await;
    let put = app.put_users(from_csv, "text/csv", csv.clone()).await;
    assert_eq!(put.status, 200, "{}", text(&put));
    assert_eq!(put.json()["added"], 38);
    assert_eq!(text(&export(&app, from_csv, "?format=csv", None).await), csv);
    assert_eq!(text(&export(&app, from_csv, "?format=json", None).await), json);

    let from_json = app.service("fromjson", 4, true, None).await;
    let put = app.put_users(from_json, "application/json", json.clone()).await;
    assert_eq!(put.status, 200, "{}", text(&put));
    assert_eq!(text(&export(&app, from_json, "?format=json", None).await), json);

    // Putting a customer's own export back changes nothing.
    let again = app.put_users(source, "text/csv", csv).await.json();
    assert_eq!(
        (again["unchanged"].as_i64(), again["changed"].as_i64()),
        (Some(38), Some(0))
    );
}

async fn the_format_is_chosen_by_name_then_accept(app: TestApp) {
    let customer = app.service("chooser", 1, true, None).await;
    app.load(customer, &roster()[..3]).await;
    let kind = |reply: &Reply| reply.header("content-type").to_string();
    assert_eq!(kind(&export(&app, customer, "", None).await), "text/csv; charset=utf-8");
    assert_eq!(
        kind(&export(&app, customer, "", Some("*/*")).await),
        "text/csv; charset=utf-8"
    );
    assert_eq!(
        kind(&export(&app, customer, "", Some("application/x-ndjson")).await),
        "application/x-ndjson"
    );
    assert_eq!(
        kind(&export(&app, customer, "", Some("text/csv;q=0.2, application/json")).await),
        "application/json; charset=utf-8"
    );
    // format wins over Accept, whatever its case.
    let reply = export(&app, customer, "?Format=JSON", Some("text/csv")).await;
    assert_eq!(kind(&reply), "application/json; charset=utf-8");
    let reply = export(&app, customer, "?format=json", Some("image/png")).await;
    assert_eq!(reply.status, 200);

    let refused = export(&app, customer, "", Some("image/png")).await;
    assert_eq!(refused.status, 406);
    assert_eq!(refused.header("content-type"), "application/problem+json");
    assert_eq!(refused.code(), "not_acceptable");
    let unknown = export(&app, customer, "?format=xml", None).await;
    assert_eq!(unknown.status, 400);
    assert_eq!(
        (unknown.code(), unknown.json()["field"].clone()),
        ("invalid_parameter".into(), "format".into())
    );
    let twice = export(&app, customer, "?format=csv&format=json", None).await;
    assert_eq!(twice.code(), "repeated_parameter");

    // Under /tenantui too, and only for services that have users to list.
    let mirrored = app
        .get(&format!(
            "/tenantui/api/v3/customer/{customer}/user/export?format=ndjson"
        ))
        .await;
    assert_eq!(text(&mirrored).lines().count(), 3);
    let essentials = app.service("essentials", 0, false, None).await;
    let refused = export(&app, essentials, "", None).await;
    assert_eq!(
        (refused.status.as_u16(), refused.code()),
        (400, "unsupported_service_type".into())
    );
    let nobody = export(&app, CustomerId::new_random(), "", None).await;
    assert_eq!(
        (nobody.status.as_u16(), nobody.code()),
        (404, "customer_not_found".into())
    );

    // A connected service that never synced exports an empty set of generation 0.
    let fresh = app.service("fresh", 1, true, None).await;
    let empty = export(&app, fresh, "", None).await;
    assert_eq!((empty.status.as_u16(), empty.header("rosterd-generation")), (200, "0"));
    assert_eq!(text(&empty), CSV_HEADER);
    assert_eq!(text(&export(&app, fresh, "?format=json", None).await), "[]");
    assert_eq!(text(&export(&app, fresh, "?format=ndjson", None).await), "");
}

/// The export's literal segment wins over the `{key}` segment at the same place (one user by
/// Identity, UPN or SIP address).
async fn the_export_segment_wins_over_a_user_key(app: TestApp) {
    let customer = app.service("keyed", 1, true, None).await;
    app.load(customer, &roster()[..2]).await;
    let router = api::router(app.state.clone());
    let request = Request::get(format!("/api/v3/customer/{customer}/user/export?format=ndjson"))
        .header("authorization", format!("Bearer {}", app.admin))
        .body(Body::empty())
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(String::from_utf8_lossy(&body).lines().count(), 2);
}

both_backends!(
    every_format_holds_the_served_generation,
    csv_and_json_come_back_through_put_unchanged,
    the_format_is_chosen_by_name_then_accept,
    the_export_segment_wins_over_a_user_key,
);

/// The export reads the generation it named at the start, in batches of two here, while new
/// generations are committed. The body is exactly that generation while it is retained, and an
/// error once it is reclaimed mid-stream — never a shorter body that ends like a complete one.
async fn a_generation_that_goes_mid_stream_cuts_the_body_off(app: TestApp) {
    let customer = app.service("moving", 1, true, None).await;
    app.load(customer, &common::users(40, "first")).await;
    let first = app.stored(customer).await.generation;
    let whole = text(&export(&app, customer, "?format=json", None).await);
    assert_eq!(
        serde_json::from_str::<Vec<serde_json::Value>>(&whole).unwrap().len(),
        40
    );

    let request = Request::get(format!("/api/v3/customer/{customer}/user/export?format=json"))
        .header("authorization", format!("Bearer {}", app.admin))
        .body(Body::empty())
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.headers()["rosterd-generation"], first.to_string().as_str());
    let mut body = response.into_body();
    let head = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert!(head.starts_with(b"["));

    // Two imports land while the export is read.
    for tag in ["second", "third"] {
        let put = app
            .put_users(
                customer,
                "application/json",
                serde_json::to_string(&common::users(40, tag)).unwrap(),
            )
            .await;
        assert_eq!(put.status, 200);
    }
    // The superseded generation is retained: the export finishes from it, whole.
    let rest = body.collect().await.unwrap();
    let mut all = head.to_vec();
    all.extend_from_slice(&rest.to_bytes());
    assert_eq!(String::from_utf8(all).unwrap(), whole);

    // Once the generation is reclaimed mid-stream, the body is cut off with an error.
    let second = app.stored(customer).await.generation;
    let whole_second = text(&export(&app, customer, "?format=json", None).await);
    let request = Request::get(format!("/api/v3/customer/{customer}/user/export?format=json"))
        .header("authorization", format!("Bearer {}", app.admin))
        .body(Body::empty())
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.headers()["rosterd-generation"], second.to_string().as_str());
    let mut body = response.into_body();
    let head = body.frame().await.unwrap().unwrap().into_data().unwrap();
    let put = app
        .put_users(
            customer,
            "application/json",
            serde_json::to_string(&common::users(40, "fourth")).unwrap(),
        )
        .await;
    assert_eq!(put.status, 200);
    app.store()
        .reclaim_generations(&common::SYSTEM, chrono::Utc::now() + chrono::Duration::seconds(1))
        .await
        .unwrap();
    assert!(!app
        .store()
        .stored_generations(&common::SYSTEM.grant(customer).read())
        .await
        .unwrap()
        .contains(&second));
    match body.collect().await {
        Ok(rest) => {
            let mut all = head.to_vec();
            all.extend_from_slice(&rest.to_bytes());
            panic!(
                "a body was completed from a generation that is gone ({} of {} bytes)",
                all.len(),
                whole_second.len()
            );
        }
        Err(error) => assert!(error.to_string().contains("no longer stored whole"), "{error}"),
    }
    // Exports of the new generation are whole again.
    let after = export(&app, customer, "?format=ndjson", None).await;
    assert!(text(&after).contains("fourth user 39"));
}

/// Exports beyond the limit are refused cheaply until one ends.
async fn exports_beyond_the_limit_are_busy(app: TestApp) {
    let customer = app.service("busy", 1, true, None).await;
    app.load(customer, &common::users(5, "b")).await;
    let request = || {
        Request::get(format!("/api/v3/customer/{customer}/user/export"))
            .header("authorization", format!("Bearer {}", app.admin))
            .body(Body::empty())
            .unwrap()
    };
    let held = app.router.clone().oneshot(request()).await.unwrap();
    assert_eq!(held.status(), 200);
    let busy = export(&app, customer, "", None).await;
    assert_eq!((busy.status.as_u16(), busy.code()), (429, "export_busy".into()));
    assert_eq!(busy.header("retry-after"), "5");
    drop(held);
    assert_eq!(export(&app, customer, "", None).await.status, 200);
}

async fn tiny_batches(backend: Backend) -> Option<TestApp> {
    let config = AppConfig {
        export_batch: 2,
        max_concurrent_exports: 1,
        ..AppConfig::default()
    };
    TestApp::with_config(backend, config, ApiConfig::default()).await
}

mod tiny_batches {
    use super::*;

    macro_rules! with_tiny_batches {
        ($($name:ident),*) => {
            mod sqlite {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        let app = super::tiny_batches(super::Backend::Sqlite).await.unwrap();
                        super::super::$name(app).await;
                    }
                )*
            }
            mod postgres {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    #[cfg_attr(not(postgres_tests), ignore = "needs PostgreSQL: set ROSTERD_TEST_POSTGRES_URL (./scripts/test sets it)")]
                    async fn $name() {
                        let Some(app) = super::tiny_batches(super::Backend::Postgres).await else { return };
                        super::super::$name(app).await;
                    }
                )*
            }
        };
    }

    with_tiny_batches!(
        a_generation_that_goes_mid_stream_cuts_the_body_off,
        exports_beyond_the_limit_are_busy
    );
}
