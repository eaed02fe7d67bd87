//! The authorization matrix, generated from the router's own route list (`api::route_table`):
//! every route, under `/api` and `/tenantui/api`, × role (Admin, Operator, Monitor) × scope kind
//! (provider, channel, customer) × target (inside, outside the caller's scope), with the status
//! each must answer, plus every route without a token. A route added without a row here fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::http::Method;
use chrono::Utc;
use common::{users, TestApp};
use domain::{CustomerId, Role, Scope};
use serde_json::json;
use store::{TaskRecord, TaskStatus};
use testkit::fake_graph::FakeGraph;

const CHANNEL: i64 = 7;
const OTHER_CHANNEL: i64 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Provider,
    Channel,
    Customer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Inside,
    Outside,
}

struct Caller {
    role: Role,
    kind: Kind,
    client_id: String,
    secret: String,
    token: String,
}

/// Everything the rows point at.
struct World {
    app: TestApp,
    /// The real engine, syncing against a fake Graph that knows none of the test tenants: a
    /// started sync fails at once, so the next start of the same customer is not refused.
    engine: sync::Engine,
    _graph: FakeGraph,
    callers: Vec<Caller>,
    /// The customer inside every test scope (channel 7, listed by the customer scope), and one
    /// outside the channel and customer scopes.
    inside: CustomerId,
    outside: CustomerId,
    tasks: HashMap<CustomerId, String>,
    /// Clients scoped to `inside` / `outside`, for the client administration routes.
    inside_client: String,
    outside_client: String,
    counter: AtomicU64,
}

/// What a request must answer; for lists, whether the target shows up in them.
struct Expect {
    status: u16,
    lists_target: Option<bool>,
}

fn status(status: u16) -> Expect {
    Expect {
        status,
        lists_target: None,
    }
}

fn listing(shows: bool) -> Expect {
    Expect {
        status: 200,
        lists_target: Some(shows),
    }
}

/// A request to send: method, path (with parameters filled in), body.
struct Call {
    uri: String,
    body: Option<(&'static str, String)>,
    /// What a listing must contain (or not) when the target is listed.
    needle: Option<String>,
}

impl World {
    async fn new(app: TestApp) -> Self {
        let graph = FakeGraph::start().await.unwrap();
        let engine = app.engine(graph.url());
        let app = app.with_engine(engine.clone()).await;
        let inside = app.service("inside", 1, true, Some(CHANNEL)).await;
        let outside = app.service("outside", 1, true, Some(OTHER_CHANNEL)).await;
        for (i, customer) in [inside, outside].into_iter().enumerate() {
            app.load(customer, &roster(i)).await;
        }
        let mut tasks = HashMap::new();
        for customer in [inside, outside] {
            let task = TaskRecord {
                id: format!("sync_{}", uuid::Uuid::new_v4().simple()),
                customer: Some(customer),
                kind: "sync".into(),
                status: TaskStatus::CompletedSuccess,
                details: vec![],
                messages: vec![],
                output: json!({}),
                created_at: Utc::now(),
                completed_at: Some(Utc::now()),
                cancellation_requested: false,
            };
            app.store().create_task(&task).await.unwrap();
            tasks.insert(customer, task.id);
        }
        let mut callers = Vec::new();
        for role in Role::ALL {
            for kind in [Kind::Provider, Kind::Channel, Kind::Customer] {
                let scope = match kind {
                    Kind::Provider => Scope::Provider,
                    Kind::Channel => Scope::Channel { channel_id: CHANNEL },
                    Kind::Customer => Scope::Customers {
                        customers: vec![inside],
                    },
                };
                let created = app.create_client("m", role, scope).await;
                let token = app.token_of(&created.client_id);
                callers.push(Caller {
                    role,
                    kind,
                    client_id: created.client_id,
                    secret: created.client_secret,
                    token,
                });
            }
        }
        let inside_client = Self::client_of(&app, inside).await;
        let outside_client = Self::client_of(&app, outside).await;
        Self {
            app,
            engine,
            _graph: graph,
            callers,
            inside,
            outside,
            tasks,
            inside_client,
            outside_client,
            counter: AtomicU64::new(0),
        }
    }

    async fn client_of(app: &TestApp, customer: CustomerId) -> String {
        let scope = Scope::Customers {
            customers: vec![customer],
        };
        app.create_client("target", Role::Monitor, scope).await.client_id
    }

    fn customer(&self, target: Target) -> CustomerId {
        match target {
            Target::Inside => self.inside,
            Target::Outside => self.outside,
        }
    }

    /// Waits until no sync this test started is running.
    async fn settle(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while [self.inside, self.outside]
            .iter()
            .any(|customer| self.engine.running_task(*customer).is_some())
        {
            assert!(std::time::Instant::now() < deadline, "a sync is still running");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    fn unique(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }
}

/// The users of the inside (0) and outside (1) customer: three each, with numbers of their own.
fn roster(which: usize) -> Vec<domain::EndUser> {
    let mut set = users(3, "m");
    for (i, user) in set.iter_mut().enumerate() {
        user.line_uri = Some(format!("tel:+1555{which}00000{i}"));
    }
    set
}

/// Whether `target` lies inside a `kind` scope (the provider's holds everything).
fn inside(kind: Kind, target: Target) -> bool {
    kind == Kind::Provider || target == Target::Inside
}

/// The row of a route: the request for (caller, target) and what it must answer. `None`: the
/// route has no row.
async fn row(world: &World, method: &Method, path: &str, caller: &Caller, target: Target) -> Option<(Call, Expect)> {
    let customer = world.customer(target);
    let visible = inside(caller.kind, target);
    let role = caller.role;
    let call = |uri: String| Call {
        uri,
        body: None,
        needle: None,
    };
    // Reads: in scope or 404. Writes: then Operator or 403. Client administration: Admin, then
    // the scope. Machine endpoints: public, except metrics (provider scope).
    let read = || status(if visible { 200 } else { 404 });
    let write = |ok: u16| {
        status(if !visible {
            404
        } else if role < Role::Operator {
            403
        } else {
            ok
        })
    };
    Some(match (method.as_str(), path) {
        ("GET", "/v3/customer") | ("GET", "/v2/customer") => (
            Call {
                needle: Some(customer.to_string()),
                ..call(path.to_string())
            },
            listing(visible),
        ),
        ("GET", "/v3/customer/{customerGuid}") | ("GET", "/v2/customer/{customerGuid}") => {
            (call(path.replace("{customerGuid}", &customer.to_string())), read())
        }
        ("GET", "/v3/customer/{customerGuid}/user") => (call(format!("/v3/customer/{customer}/user")), read()),
        ("GET", "/v3/customer/{customerGuid}/user/{key}") => {
            let key = users(3, "m")[1].user_principal_name.clone().unwrap();
            (call(format!("/v3/customer/{customer}/user/{key}")), read())
        }
        // Every caller asks for a number of the target customer: found inside the scope,
        // unknown (404) outside it.
        ("GET", "/rosterd/numbers/{number}") => {
            let which = match target {
                Target::Inside => 0,
                Target::Outside => 1,
            };
            let number = roster(which)[2].line_uri.clone().unwrap();
            (call(format!("/rosterd/numbers/{number}")), read())
        }
        ("GET", "/v3/customer/{customerGuid}/user/changes") => {
            (call(format!("/v3/customer/{customer}/user/changes?Since=0")), read())
        }
        // Same rule as the list: whoever may read the customer may export its users.
        ("GET", "/v3/customer/{customerGuid}/user/export") => {
            (call(format!("/v3/customer/{customer}/user/export")), read())
        }
        ("PATCH", "/v3/customer/{customerGuid}") => (
            Call {
                body: Some(("application/json", json!({"customerFullName": "Renamed"}).to_string())),
                ..call(format!("/v3/customer/{customer}"))
            },
            write(200),
        ),
        ("PUT", "/v3/customer/{customerGuid}/user") => (
            Call {
                body: Some((
                    "application/json",
                    serde_json::to_string(&roster(usize::from(target == Target::Outside))).unwrap(),
                )),
                ..call(format!("/v3/customer/{customer}/user"))
            },
            write(200),
        ),
        ("POST", "/v3/customer/{customerGuid}/user/sync") => {
            (call(format!("/v3/customer/{customer}/user/sync")), write(202))
        }
        ("POST", "/v2/customer") => {
            let channel = match target {
                Target::Inside => CHANNEL,
                Target::Outside => OTHER_CHANNEL,
            };
            let expected = match (role, caller.kind) {
                (Role::Monitor, _) | (_, Kind::Customer) => 403,
                (_, Kind::Channel) if target == Target::Outside => 403,
                _ => 201,
            };
            (
                Call {
                    body: Some((
                        "application/json",
                        json!({"shortName": format!("new{}", world.unique()), "channelId": channel}).to_string(),
                    )),
                    ..call(path.to_string())
                },
                status(expected),
            )
        }
        ("GET", "/v2/task/{taskId}") => (call(format!("/v2/task/{}", world.tasks[&customer])), read()),
        ("GET", "/rosterd/clients") => {
            let target_client = match target {
                Target::Inside => &world.inside_client,
                Target::Outside => &world.outside_client,
            };
            let expect = if role == Role::Admin {
                listing(visible)
            } else {
                status(403)
            };
            (
                Call {
                    needle: Some(target_client.clone()),
                    ..call(path.to_string())
                },
                expect,
            )
        }
        ("POST", "/rosterd/clients") => {
            let expected = match role {
                Role::Admin if visible => 201,
                _ => 403,
            };
            (
                Call {
                    body: Some((
                        "application/json",
                        json!({"name": "made", "role": "Monitor", "customers": [customer]}).to_string(),
                    )),
                    ..call(path.to_string())
                },
                status(expected),
            )
        }
        ("DELETE", "/rosterd/clients/{clientId}") => {
            let victim = World::client_of(&world.app, customer).await;
            let expected = match role {
                Role::Admin if visible => 204,
                Role::Admin => 404,
                _ => 403,
            };
            (call(format!("/rosterd/clients/{victim}")), status(expected))
        }
        ("POST", "/oauth2/v2.0/token") | ("POST", "/{tenant}/oauth2/v2.0/token") => (
            Call {
                body: Some((
                    "application/x-www-form-urlencoded",
                    format!(
                        "grant_type=client_credentials&client_id={}&client_secret={}",
                        caller.client_id, caller.secret
                    ),
                )),
                ..call(path.replace("{tenant}", "organizations"))
            },
            status(200),
        ),
        ("GET", "/{tenant}/v2.0/.well-known/openid-configuration")
        | ("GET", "/{tenant}/.well-known/openid-configuration")
        | ("GET", "/{tenant}/discovery/v2.0/keys") => (call(path.replace("{tenant}", "organizations")), status(200)),
        // Named by the discovery documents; only the client credentials grant is offered.
        ("GET" | "POST", "/oauth2/v2.0/authorize") | ("GET" | "POST", "/{tenant}/oauth2/v2.0/authorize") => {
            (call(path.replace("{tenant}", "common")), status(400))
        }
        ("GET", "/.well-known/openid-configuration")
        | ("GET", "/discovery/v2.0/keys")
        | ("GET", "/healthz")
        | ("GET", "/readyz")
        | ("GET", "/openapi.json") => (call(path.to_string()), status(200)),
        // Microsoft Graph's deliveries: no bearer token (Graph sends none), authenticated per
        // entry by the subscription's clientState; any batch is taken with 202 whoever calls,
        // and a forged one changes nothing (tests/notifications.rs).
        ("POST", "/graph/notifications") | ("POST", "/graph/lifecycle") => (
            Call {
                body: Some(("application/json", json!({"value": []}).to_string())),
                ..call(path.to_string())
            },
            status(202),
        ),
        ("GET", "/metrics") => (
            call(path.to_string()),
            status(if caller.kind == Kind::Provider { 200 } else { 403 }),
        ),
        _ => return None,
    })
}

/// Whether a route answers without a token.
fn public(path: &str) -> bool {
    !path.starts_with("/v") && !path.starts_with("/rosterd") && path != "/metrics"
}

async fn every_route_answers_its_row_for_every_caller(app: TestApp) {
    let world = World::new(app).await;
    let mut checked = 0;
    for route in api::route_table() {
        for caller in &world.callers {
            for target in [Target::Inside, Target::Outside] {
                for (prefix, path) in prefixed(&route) {
                    let Some((call, expect)) = row(&world, &route.method, &route.path, caller, target).await else {
                        panic!(
                            "route {} {} has no row in the authorization matrix: add one",
                            route.method, route.path
                        );
                    };
                    let uri = format!("{prefix}{}", call.uri);
                    let headers: Vec<(&str, &str)> = call.body.iter().map(|(ct, _)| ("content-type", *ct)).collect();
                    let body = call.body.as_ref().map_or(Body::empty(), |(_, b)| Body::from(b.clone()));
                    let token = (!path.contains("oauth2")).then_some(caller.token.as_str());
                    let reply = world.app.send(route.method.clone(), &uri, token, &headers, body).await;
                    world.settle().await;
                    let context = format!(
                        "{} {uri} as {:?} {:?}-scoped, target {target:?}: {}",
                        route.method,
                        caller.role,
                        caller.kind,
                        String::from_utf8_lossy(&reply.body)
                            .chars()
                            .take(300)
                            .collect::<String>()
                    );
                    assert_eq!(reply.status.as_u16(), expect.status, "{context}");
                    if let (Some(shows), Some(needle)) = (expect.lists_target, &call.needle) {
                        let text = String::from_utf8_lossy(&reply.body);
                        assert_eq!(text.contains(needle.as_str()), shows, "listing: {context}");
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 500, "only {checked} cases ran");

    // Without a token, every route but the public machine endpoints is 401.
    for route in api::route_table() {
        for (prefix, path) in prefixed(&route) {
            let caller = &world.callers[0];
            let (call, _) = row(&world, &route.method, &route.path, caller, Target::Inside)
                .await
                .unwrap();
            let uri = format!("{prefix}{}", call.uri);
            let reply = world
                .app
                .send(route.method.clone(), &uri, None, &[], Body::empty())
                .await;
            if public(&route.path) {
                assert_ne!(reply.status.as_u16(), 401, "{} {uri} is public", route.method);
            } else {
                assert_eq!(reply.status.as_u16(), 401, "{} {uri} without a token", route.method);
                assert!(reply.header("www-authenticate").starts_with("Bearer"), "{uri}");
            }
            let _ = path;
        }
    }
}

/// (prefix, path) pairs a route is served at: `/api` and `/tenantui/api` for API routes.
fn prefixed(route: &api::Route) -> Vec<(&'static str, String)> {
    if route.api {
        api::API_PREFIXES
            .iter()
            .map(|prefix| (*prefix, format!("{prefix}{}", route.path)))
            .collect()
    } else {
        vec![("", route.path.to_string())]
    }
}

/// The OpenAPI document describes every route of the table, and nothing else; every error
/// answer it documents is problem+json with codes of the table.
async fn openapi_lists_every_route(app: TestApp) {
    let document = app.get("/openapi.json").await.json();
    let mut documented: Vec<String> = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    let mut expected: Vec<String> = api::route_table()
        .iter()
        .map(|r| format!("{} {}", r.method, r.documented_path()))
        .collect();
    documented.sort();
    expected.sort();
    assert_eq!(documented, expected);
}

both_backends!(every_route_answers_its_row_for_every_caller, openapi_lists_every_route);
