//! The console's authorization matrix, generated from its own route list
//! (`console::route_table`): every route × role (Admin, Operator, Monitor) × scope kind
//! (provider, channel, customer) × target (inside, outside the account's scope), with the
//! status each must answer; every route without a session; every state-changing route with a
//! wrong CSRF token; and the Content-Security-Policy on every answer. A route added without a
//! row here fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use app::{App, AppConfig, NewAccount};
use axum::body::Body;
use axum::http::{Method, Request};
use axum::Router;
use chrono::Utc;
use domain::access::SystemScope;
use domain::service::SecretChange;
use domain::{CustomerId, EndUser, LicenseType, NewService, Role, Scope, ServicePatch, ShortName};
use http_body_util::BodyExt;
use rosterd::Installation;
use store::{GenerationWriter, TaskRecord, TaskStatus};
use tower::ServiceExt;

const SYSTEM: SystemScope = SystemScope::new("console matrix");
const PASSWORD: &str = "matrix password 1234";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

struct World {
    app: Arc<App>,
    router: Router,
    inside: CustomerId,
    outside: CustomerId,
    tasks: [(CustomerId, String); 2],
    counter: AtomicU64,
    _dir: tempfile::TempDir,
}

struct Answer {
    status: u16,
    location: Option<String>,
    body: String,
}

fn scope_of(kind: Kind, inside: CustomerId) -> Scope {
    match kind {
        Kind::Provider => Scope::Provider,
        Kind::Channel => Scope::Channel { channel_id: 7 },
        Kind::Customer => Scope::Customers {
            customers: vec![inside],
        },
    }
}

impl World {
    async fn new() -> Self {
        let (dir, url) = store_conformance::fresh_sqlite_url().await;
        let store = rosterd::open_store(&url).await.unwrap();
        let installation = Installation::with(store, Arc::new(auth::SecretKey::generate()));
        let keys = installation
            .key_ring(rosterd::token_settings("http://rosterd.test", 3600), None)
            .await
            .unwrap();
        let app = installation.app(keys, None, AppConfig::default());
        let mut ids = Vec::new();
        for (short, channel) in [("inside", 7), ("outside", 8)] {
            let id = CustomerId::new_random();
            let new = NewService {
                id,
                short_name: ShortName::parse(short).unwrap(),
                full_name: format!("{short} Inc"),
                license_type: LicenseType::HostedEssentialsPlus,
                licensed_users_count: None,
                channel_id: Some(channel),
                ovoc_customer_type: None,
                tenant_id: Some(uuid::Uuid::new_v4()),
                default_domain: None,
                site_locations: Vec::new(),
            };
            installation.store.create_service(&SYSTEM.grant(new)).await.unwrap();
            let patch = ServicePatch {
                app_client_id: Some("11111111-2222-4333-8444-555555555555".into()),
                secret: SecretChange::Set {
                    sealed: installation.secret_key.seal(b"abc~secret").unwrap(),
                    hint: "abc".into(),
                },
                ..ServicePatch::default()
            };
            installation
                .store
                .update_service(&SYSTEM.grant(id), &patch)
                .await
                .unwrap();
            let mut writer = GenerationWriter::new().unwrap();
            for i in 0..3u128 {
                let mut user = EndUser::new(uuid::Uuid::from_u128(0x1000_0000_0000_4000_8000_0000_0000_0000 + i));
                user.web_name = Some(format!("{short} user {i}"));
                writer.push(i as u64 + 1, &user).unwrap();
            }
            writer
                .commit(installation.store.as_ref(), &SYSTEM.grant(id), None, false)
                .await
                .unwrap();
            ids.push(id);
        }
        let (inside, outside) = (ids[0], ids[1]);
        let mut tasks = Vec::new();
        for customer in [inside, outside] {
            let task = TaskRecord {
                id: format!("sync_{}", uuid::Uuid::new_v4().simple()),
                customer: Some(customer),
                kind: "sync".into(),
                status: TaskStatus::CompletedSuccess,
                details: vec![],
                messages: vec![],
                output: serde_json::json!({}),
                created_at: Utc::now(),
                completed_at: Some(Utc::now()),
                cancellation_requested: false,
            };
            installation.store.create_task(&task).await.unwrap();
            tasks.push((customer, task.id));
        }
        let config = console::ConsoleConfig::for_public_url(
            "http://rosterd.test",
            api::FailureLimit {
                burst: 0,
                window: std::time::Duration::from_secs(1),
            },
        );
        let router = console::router(console::ConsoleState::new(Arc::clone(&app), config));
        Self {
            app,
            router,
            inside,
            outside,
            tasks: [tasks[0].clone(), tasks[1].clone()],
            counter: AtomicU64::new(0),
            _dir: dir,
        }
    }

    fn unique(&self, prefix: &str) -> String {
        format!("{prefix}{}", self.counter.fetch_add(1, Ordering::Relaxed))
    }

    /// A signed-in session (id, CSRF token) of a new account with this role and scope.
    async fn session(&self, role: Role, scope: Scope) -> (String, String) {
        let name = self.unique("person");
        let new = NewAccount {
            name: name.clone(),
            role,
            scope,
        };
        self.app
            .create_account(&SYSTEM.principal(), new, PASSWORD.into())
            .await
            .unwrap();
        let signed = self.app.sign_in(&name, PASSWORD).await.unwrap();
        let csrf = self.app.console_session(&signed.session_id).await.unwrap().csrf_token;
        (signed.session_id, csrf)
    }

    async fn call(&self, method: Method, uri: &str, session: Option<&str>, form: Option<String>) -> Answer {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(session) = session {
            request = request.header("cookie", format!("rosterd_session={session}"));
        }
        let request = match form {
            Some(form) => request
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(form)),
            None => request.body(Body::empty()),
        }
        .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        assert_eq!(
            response
                .headers()
                .get("content-security-policy")
                .and_then(|v| v.to_str().ok()),
            Some(console::CSP),
            "{uri}: every answer carries the CSP"
        );
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        let body = String::from_utf8_lossy(&response.into_body().collect().await.unwrap().to_bytes()).into_owned();
        Answer { status, location, body }
    }

    fn target(&self, target: Target) -> CustomerId {
        match target {
            Target::Inside => self.inside,
            Target::Outside => self.outside,
        }
    }

    fn task_of(&self, customer: CustomerId) -> &str {
        &self.tasks.iter().find(|(c, _)| *c == customer).unwrap().1
    }

    /// The request a route's row sends for a target, filled in; `csrf` for the form.
    async fn request(&self, method: &Method, path: &str, target: Target, csrf: &str) -> (String, Option<String>) {
        let id = self.target(target);
        let form = |extra: &str| Some(format!("csrf={csrf}{extra}"));
        match path {
            "/console/login" if method == Method::POST => (path.to_string(), form("&username=nobody&password=x")),
            "/console/clients" | "/console/accounts" if method == Method::POST => (
                path.to_string(),
                form(&format!(
                    "&name={}&role=Monitor&customers={id}&password=a+long+password+here",
                    self.unique("new")
                )),
            ),
            "/console" | "/console/" | "/console/login" | "/console/services" | "/console/clients"
            | "/console/accounts" => (path.to_string(), None),
            "/console/assets/{file}" => ("/console/assets/console.css".into(), None),
            "/console/logout" => (path.to_string(), form("")),
            "/console/services/{id}" => (format!("/console/services/{id}"), None),
            "/console/services/{id}/users" => (format!("/console/services/{id}/users?page=1&size=2"), None),
            "/console/services/{id}/tasks/{task}" => {
                (format!("/console/services/{id}/tasks/{}", self.task_of(id)), None)
            }
            "/console/services/{id}/sync" => (format!("/console/services/{id}/sync"), form("")),
            "/console/services/{id}/connection" => {
                let day = 1 + self.counter.fetch_add(1, Ordering::Relaxed) % 28;
                (
                    format!("/console/services/{id}/connection"),
                    form(&format!("&clientSecretExpirationDate=2030-01-{day:02}")),
                )
            }
            "/console/clients/{id}/revoke" => {
                let new = app::NewClient {
                    name: self.unique("client"),
                    role: Role::Monitor,
                    scope: Scope::Customers { customers: vec![id] },
                    external_app_id: None,
                };
                let created = self.app.create_client(&SYSTEM.principal(), new).await.unwrap();
                (format!("/console/clients/{}/revoke", created.client_id()), form(""))
            }
            "/console/accounts/{name}/disable" => {
                let name = self.unique("victim");
                let new = NewAccount {
                    name: name.clone(),
                    role: Role::Monitor,
                    scope: Scope::Customers { customers: vec![id] },
                };
                self.app
                    .create_account(&SYSTEM.principal(), new, PASSWORD.into())
                    .await
                    .unwrap();
                (format!("/console/accounts/{name}/disable"), form(""))
            }
            other => panic!("no row for console route {other}: add one to crates/console/tests/matrix.rs"),
        }
    }
}

/// What a signed-in account must get: (status, whether the target's name shows in the page).
fn expected(method: &Method, path: &str, role: Role, kind: Kind, target: Target) -> u16 {
    let visible = kind == Kind::Provider || target == Target::Inside;
    let admin = role == Role::Admin;
    let writer = role >= Role::Operator;
    match (method.as_str(), path) {
        ("GET", "/console" | "/console/") => 303,
        ("GET", "/console/assets/{file}" | "/console/login" | "/console/services") => 200,
        ("POST", "/console/login") => 403, // no sign-in form cookie: refused before anything
        ("POST", "/console/logout") => 303,
        ("GET", "/console/services/{id}" | "/console/services/{id}/users" | "/console/services/{id}/tasks/{task}") => {
            if visible {
                200
            } else {
                404
            }
        }
        ("POST", "/console/services/{id}/sync") => match (visible, writer) {
            (false, _) => 404,
            (true, false) => 403,
            (true, true) => 503, // authorized; this process runs no sync engine
        },
        ("POST", "/console/services/{id}/connection") => match (visible, writer, kind) {
            (false, _, _) => 404,
            (true, false, _) => 403,
            (true, true, Kind::Customer) => 403, // a connection field: provider or channel scope only
            (true, true, _) => 200,
        },
        ("GET", "/console/clients" | "/console/accounts") => {
            if admin {
                200
            } else {
                403
            }
        }
        ("POST", "/console/clients" | "/console/accounts") => {
            if admin && visible {
                201
            } else {
                403
            }
        }
        ("POST", "/console/clients/{id}/revoke" | "/console/accounts/{name}/disable") => match (admin, visible) {
            (false, _) => 403,
            (true, false) => 404,
            (true, true) => 303,
        },
        (method, path) => panic!("no expectation for {method} {path}: add one to crates/console/tests/matrix.rs"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_console_route_by_role_scope_and_target() {
    let world = World::new().await;
    let routes = console::route_table();
    let mut checked = 0;
    for role in Role::ALL {
        for kind in [Kind::Provider, Kind::Channel, Kind::Customer] {
            let (session, csrf) = world.session(role, scope_of(kind, world.inside)).await;
            for target in [Target::Inside, Target::Outside] {
                for route in &routes {
                    let want = expected(&route.method, route.path, role, kind, target);
                    let (uri, form) = world.request(&route.method, route.path, target, &csrf).await;
                    // Signing out ends the session: use a throwaway one.
                    let (session, form) = if route.path == "/console/logout" {
                        let (s, c) = world.session(role, scope_of(kind, world.inside)).await;
                        (s, Some(format!("csrf={c}")))
                    } else {
                        (session.clone(), form)
                    };
                    let answer = world.call(route.method.clone(), &uri, Some(&session), form).await;
                    assert_eq!(
                        answer.status,
                        want,
                        "{} {uri} as {role} {kind:?}-scoped, target {target:?}: {}",
                        route.method,
                        answer.body.chars().take(400).collect::<String>()
                    );
                    if route.path == "/console/services" {
                        let shows = answer
                            .body
                            .contains(&format!("/console/services/{}", world.target(target)));
                        assert_eq!(
                            shows,
                            kind == Kind::Provider || target == Target::Inside,
                            "{role} {kind:?} listing {target:?}"
                        );
                    }
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, routes.len() * 18);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_session_or_with_a_wrong_csrf_token() {
    let world = World::new().await;
    let (session, _) = world.session(Role::Admin, Scope::Provider).await;
    for route in console::route_table() {
        let (uri, form) = world.request(&route.method, route.path, Target::Inside, "wrong").await;
        let anonymous = world.call(route.method.clone(), &uri, None, form.clone()).await;
        match route.needs {
            console::Needs::Nobody => assert_ne!(anonymous.location.as_deref(), Some("/console/services"), "{uri}"),
            console::Needs::Session | console::Needs::SessionAndCsrf => {
                assert_eq!(anonymous.status, 303, "{uri} without a session");
                assert_eq!(anonymous.location.as_deref(), Some("/console/login"), "{uri}");
            }
        }
        if route.needs == console::Needs::SessionAndCsrf {
            let forged = world.call(route.method.clone(), &uri, Some(&session), form).await;
            assert_eq!(forged.status, 403, "{uri} with a wrong CSRF token");
            assert!(forged.body.contains("Form expired"), "{uri}");
        }
    }
    // A session that was signed out, or whose account was disabled, ends at once.
    let (other, _) = world.session(Role::Operator, Scope::Provider).await;
    assert_eq!(
        world
            .call(Method::GET, "/console/services", Some(&other), None)
            .await
            .status,
        200
    );
    let name = world.app.console_session(&other).await.unwrap().name;
    world.app.disable_account(&SYSTEM.principal(), &name).await.unwrap();
    let ended = world.call(Method::GET, "/console/services", Some(&other), None).await;
    assert_eq!((ended.status, ended.location.as_deref()), (303, Some("/console/login")));
}
