//! The fake's memory: tenants and their users, the change log behind `/users/delta`, issued
//! tokens, opaque paging links, the request log, and the answers computed from them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::faults::{Fault, FaultBoard};
use super::generator::{FakeUser, UserGenerator};
pub(crate) use super::wire::ListingOptions;
use super::wire::{configuration_json, removed_item, user_properties, Selection};
use super::RequestRecord;

/// The id a `Fault::RemoveListedUsers` page reports `@removed` though no user ever had it.
pub const NEVER_LISTED_USER: Uuid = Uuid::from_u128(0x0bad_0000_0000_4000_8000_0000_0000_0001);

/// Why a user left the directory, as `@removed.reason` tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovalReason {
    /// Soft-deleted (restorable) or moved out of scope.
    Changed,
    /// Permanently deleted.
    Deleted,
}

impl RemovalReason {
    fn as_str(self) -> &'static str {
        match self {
            Self::Changed => "changed",
            Self::Deleted => "deleted",
        }
    }
}

/// Page sizes the fake uses when the client sends no `$top` (and always for delta).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSizes {
    pub users_default: usize,
    pub delta: usize,
    pub configurations_default: usize,
}

impl Default for PageSizes {
    fn default() -> Self {
        Self {
            users_default: 100,
            delta: 200,
            configurations_default: 100,
        }
    }
}

/// An HTTP answer before faults are applied.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Value,
}

impl Reply {
    fn ok(body: Value) -> Self {
        Self { status: 200, body }
    }

    pub(crate) fn ok_json(body: Value) -> Self {
        Self::ok(body)
    }

    pub(crate) fn graph_error(status: u16, code: &str, message: &str) -> Self {
        Self {
            status,
            body: json!({"error": {"code": code, "message": message,
                "innerError": {"date": "2025-01-01T00:00:00", "request-id": Uuid::nil()}}}),
        }
    }

    pub(crate) fn token_error(status: u16, error: &str, description: &str, code: i64) -> Self {
        Self {
            status,
            body: json!({
                "error": error,
                "error_description": description,
                "error_codes": [code],
                "timestamp": "2025-01-01 00:00:00Z",
                "trace_id": Uuid::nil(),
                "correlation_id": Uuid::nil(),
            }),
        }
    }
}

#[derive(Debug, Clone)]
enum Change {
    Added(Uuid),
    Updated(Uuid, BTreeSet<String>),
    Removed(Uuid, RemovalReason),
}

pub(crate) struct TenantState {
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) generator: UserGenerator,
    pub(crate) next_index: u64,
    pub(crate) users: BTreeMap<Uuid, FakeUser>,
    log: Vec<Change>,
    /// Bumped to invalidate every delta link handed out so far.
    delta_generation: u64,
}

impl TenantState {
    pub(crate) fn new(
        client_id: String,
        client_secret: String,
        generator: UserGenerator,
        users: Vec<FakeUser>,
    ) -> Self {
        let next_index = users.len() as u64;
        Self {
            client_id,
            client_secret,
            generator,
            next_index,
            users: users.into_iter().map(|u| (u.id(), u)).collect(),
            log: Vec::new(),
            delta_generation: 0,
        }
    }

    pub(crate) fn add(&mut self, user: FakeUser) {
        let id = user.id();
        self.users.insert(id, user);
        self.log.push(Change::Added(id));
    }

    /// Applies `change` and logs the user properties it touched; `false` if there is no such
    /// user. Configuration changes are not logged: `/users/delta` does not report them.
    pub(crate) fn update(&mut self, id: Uuid, change: impl FnOnce(&mut FakeUser)) -> bool {
        let Some(user) = self.users.get_mut(&id) else {
            return false;
        };
        let before = user_properties(&user.user);
        change(user);
        user.user.id = id;
        if let Some(config) = user.config.as_mut() {
            config.id = id;
        }
        let after = user_properties(&user.user);
        let changed: BTreeSet<String> = after
            .iter()
            .filter(|(key, value)| before.get(*key) != Some(*value))
            .map(|(key, _)| key.clone())
            .collect();
        if !changed.is_empty() {
            self.log.push(Change::Updated(id, changed));
        }
        true
    }

    pub(crate) fn remove(&mut self, id: Uuid, reason: RemovalReason) -> bool {
        if self.users.remove(&id).is_none() {
            return false;
        }
        self.log.push(Change::Removed(id, reason));
        true
    }

    pub(crate) fn expire_delta_links(&mut self) {
        self.delta_generation += 1;
    }

    /// The delta items for log entries `from..to`: one per user, in order of first change, with
    /// the selected properties.
    fn changes(&self, from: usize, to: usize, selection: &Selection) -> Vec<Value> {
        struct Summary {
            added: bool,
            properties: BTreeSet<String>,
            removed: Option<RemovalReason>,
        }
        let mut order = Vec::new();
        let mut summaries: HashMap<Uuid, Summary> = HashMap::new();
        for change in self.log.get(from..to).unwrap_or_default() {
            let id = match change {
                Change::Added(id) | Change::Updated(id, _) | Change::Removed(id, _) => *id,
            };
            let summary = summaries.entry(id).or_insert_with(|| {
                order.push(id);
                Summary {
                    added: false,
                    properties: BTreeSet::new(),
                    removed: None,
                }
            });
            match change {
                Change::Added(_) => {
                    summary.added = true;
                    summary.removed = None;
                }
                Change::Updated(_, properties) => summary.properties.extend(properties.iter().cloned()),
                Change::Removed(_, reason) => summary.removed = Some(*reason),
            }
        }
        order
            .into_iter()
            .filter_map(|id| {
                let summary = summaries.get(&id)?;
                match self.users.get(&id) {
                    None => {
                        let reason = summary.removed.unwrap_or(RemovalReason::Deleted);
                        Some(removed_item(id, reason.as_str()))
                    }
                    Some(user) if summary.added => Some(Value::Object(selection.project(&user_properties(&user.user)))),
                    Some(user) => {
                        // Graph sends the id plus (at least) the changed properties it was asked
                        // for; a change of unselected properties only is not reported.
                        let full = user_properties(&user.user);
                        let mut partial = Map::new();
                        partial.insert("id".into(), json!(id));
                        for key in summary.properties.iter().filter(|k| selection.contains(k)) {
                            partial.insert(key.clone(), full.get(key).cloned().unwrap_or(Value::Null));
                        }
                        (partial.len() > 1).then_some(Value::Object(partial))
                    }
                }
            })
            .collect()
    }
}

/// What an opaque `$skiptoken` / `$deltatoken` stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "k")]
enum Cursor {
    Users {
        t: Uuid,
        after: Uuid,
        top: usize,
        sel: String,
    },
    Configurations {
        t: Uuid,
        after: Uuid,
        top: usize,
        #[serde(default)]
        sel: Option<String>,
    },
    DeltaFull {
        t: Uuid,
        after: Uuid,
        seq: usize,
        g: u64,
        sel: String,
    },
    DeltaChanges {
        t: Uuid,
        from: usize,
        to: usize,
        offset: usize,
        g: u64,
        sel: String,
    },
    DeltaLink {
        t: Uuid,
        seq: usize,
        g: u64,
        sel: String,
    },
}

impl Cursor {
    fn encode(&self) -> String {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn decode(text: &str) -> Option<Self> {
        let bytes = text
            .as_bytes()
            .chunks(2)
            .map(|pair| match pair {
                [high, low] => Some(hex_value(*high)? << 4 | hex_value(*low)?),
                _ => None,
            })
            .collect::<Option<Vec<u8>>>()?;
        serde_json::from_slice(&bytes).ok()
    }

    fn tenant(&self) -> Uuid {
        match self {
            Self::Users { t, .. }
            | Self::Configurations { t, .. }
            | Self::DeltaFull { t, .. }
            | Self::DeltaChanges { t, .. }
            | Self::DeltaLink { t, .. } => *t,
        }
    }
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

struct IssuedToken {
    tenant: Uuid,
    expires_at: Instant,
}

/// Whether the Teams administration API (`/admin/teams/userConfigurations`) exists, as in the
/// global cloud, or not, as in US Government L4/L5 and 21Vianet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TeamsAdminApi {
    #[default]
    Available,
    /// 404 `Request_ResourceNotFound`: the segment does not exist in this cloud.
    NotFound,
    /// 400 `BadRequest` saying the API is not supported in this cloud.
    Unsupported,
}

pub(crate) struct FakeState {
    pub(crate) base_url: String,
    pub(crate) teams_admin: TeamsAdminApi,
    /// `expires_in` sent verbatim instead of the lifetime (a hostile or broken Entra).
    pub(crate) expires_in_override: Option<Value>,
    /// The query string of the last request to each endpoint.
    pub(crate) last_queries: HashMap<super::faults::Endpoint, String>,
    pub(crate) subscriptions: super::subscriptions::SubscriptionBoard,
    pub(crate) tenants: HashMap<Uuid, TenantState>,
    tokens: HashMap<String, IssuedToken>,
    pub(crate) token_lifetime: Duration,
    pub(crate) tokens_issued: u64,
    pub(crate) faults: FaultBoard,
    pub(crate) sizes: PageSizes,
    pub(crate) requests: Vec<RequestRecord>,
}

type Query = HashMap<String, String>;

impl FakeState {
    pub(crate) fn new(base_url: String) -> Self {
        Self {
            base_url,
            teams_admin: TeamsAdminApi::Available,
            expires_in_override: None,
            last_queries: HashMap::new(),
            subscriptions: super::subscriptions::SubscriptionBoard::default(),
            tenants: HashMap::new(),
            tokens: HashMap::new(),
            token_lifetime: Duration::from_secs(3599),
            tokens_issued: 0,
            faults: FaultBoard::default(),
            sizes: PageSizes::default(),
            requests: Vec::new(),
        }
    }

    pub(crate) fn revoke_tokens(&mut self) {
        self.tokens.clear();
    }

    /// `POST /{tenant}/oauth2/v2.0/token`, checked like Entra checks it.
    pub(crate) fn issue_token(&mut self, tenant: &str, form: &Query) -> Reply {
        let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
        if field("grant_type") != "client_credentials" {
            return Reply::token_error(
                400,
                "unsupported_grant_type",
                "AADSTS70003: The app requested an unsupported grant type.",
                70003,
            );
        }
        if !field("scope").ends_with("/.default") {
            return Reply::token_error(
                400,
                "invalid_scope",
                "AADSTS1002012: The provided value for scope is not valid. Client credential flows must have a \
                 scope value with /.default suffixed to the resource identifier.",
                1002012,
            );
        }
        let Some(state) = Uuid::parse_str(tenant)
            .ok()
            .and_then(|id| self.tenants.get(&id).map(|t| (id, t)))
        else {
            return Reply::token_error(
                400,
                "invalid_request",
                &format!("AADSTS90002: Tenant '{tenant}' not found."),
                90002,
            );
        };
        let (tenant_id, tenant) = state;
        if field("client_id") != tenant.client_id {
            return Reply::token_error(
                400,
                "unauthorized_client",
                "AADSTS700016: Application was not found in the directory. This can happen if the application \
                 has not been installed by the administrator of the tenant.",
                700016,
            );
        }
        if field("client_secret") != tenant.client_secret {
            return Reply::token_error(
                401,
                "invalid_client",
                "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is \
                 the client secret value, not the client secret ID.",
                7000215,
            );
        }
        self.tokens_issued += 1;
        let token = format!("fake.{tenant_id}.{}", self.tokens_issued);
        self.tokens.insert(
            token.clone(),
            IssuedToken {
                tenant: tenant_id,
                expires_at: Instant::now() + self.token_lifetime,
            },
        );
        Reply::ok(json!({
            "token_type": "Bearer",
            "expires_in": self.expires_in_override.clone().unwrap_or_else(|| json!(self.token_lifetime.as_secs())),
            "ext_expires_in": self.token_lifetime.as_secs(),
            "access_token": token,
        }))
    }

    /// The tenant a bearer token belongs to, or Graph's 401.
    pub(crate) fn authenticate(&self, authorization: Option<&str>) -> Result<Uuid, Reply> {
        let token = authorization
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .unwrap_or("");
        if token.is_empty() {
            return Err(Reply::graph_error(
                401,
                "InvalidAuthenticationToken",
                "Access token is empty.",
            ));
        }
        match self.tokens.get(token) {
            Some(issued) if issued.expires_at > Instant::now() => Ok(issued.tenant),
            Some(_) => Err(Reply::graph_error(
                401,
                "InvalidAuthenticationToken",
                "Lifetime validation failed, the token is expired.",
            )),
            None => Err(Reply::graph_error(401, "InvalidAuthenticationToken", "Invalid token.")),
        }
    }

    fn cursor(&self, tenant: Uuid, query: &Query, name: &str) -> Result<Option<Cursor>, Reply> {
        let Some(text) = query.get(name) else {
            return Ok(None);
        };
        match Cursor::decode(text) {
            Some(cursor) if cursor.tenant() == tenant => Ok(Some(cursor)),
            _ => Err(Reply::graph_error(400, "Request_BadRequest", "Invalid paging token.")),
        }
    }

    fn top(query: &Query, default: usize) -> Result<usize, Reply> {
        match query.get("$top") {
            None => Ok(default),
            Some(text) => match text.parse::<usize>() {
                Ok(top @ 1..=999) => Ok(top),
                _ => Err(Reply::graph_error(
                    400,
                    "Request_UnsupportedQuery",
                    &format!("Invalid page size specified: '{text}'. Must be between 1 and 999 inclusive."),
                )),
            },
        }
    }

    fn link(&self, path: &str, parameter: &str, cursor: &Cursor) -> String {
        format!("{}{path}?{parameter}={}", self.base_url, cursor.encode())
    }

    fn tenant_state(&self, tenant: Uuid) -> Result<&TenantState, Reply> {
        self.tenants
            .get(&tenant)
            .ok_or_else(|| Reply::graph_error(404, "Request_ResourceNotFound", "Unknown tenant."))
    }

    /// `GET /v1.0/users`.
    pub(crate) fn users(&self, tenant: Uuid, query: &Query) -> Reply {
        self.users_page(tenant, query).unwrap_or_else(|reply| reply)
    }

    fn users_page(&self, tenant: Uuid, query: &Query) -> Result<Reply, Reply> {
        let state = self.tenant_state(tenant)?;
        let (after, top, selection) = match self.cursor(tenant, query, "$skiptoken")? {
            Some(Cursor::Users { after, top, sel, .. }) => (Some(after), top, Selection::parse(Some(&sel))?),
            Some(_) => return Err(Reply::graph_error(400, "Request_BadRequest", "Invalid paging token.")),
            None => (
                None,
                Self::top(query, self.sizes.users_default)?,
                Selection::parse(query.get("$select").map(String::as_str))?,
            ),
        };
        let (value, last) = page_after(&state.users, after, top, |u| {
            Some(Value::Object(selection.project(&user_properties(&u.user))))
        });
        let next = last.map(|after| {
            let cursor = Cursor::Users {
                t: tenant,
                after,
                top,
                sel: selection.text(),
            };
            self.link("/v1.0/users", "$skiptoken", &cursor)
        });
        Ok(Reply::ok(self.page_body(
            &format!("users({})", selection.text()),
            next,
            None,
            value,
        )))
    }

    /// A collection page: `@odata.context`, then the next or delta link, then `value`.
    fn page_body(&self, context: &str, next: Option<String>, delta: Option<String>, value: Vec<Value>) -> Value {
        let mut body = Map::new();
        body.insert(
            "@odata.context".into(),
            json!(format!("{}/v1.0/$metadata#{context}", self.base_url)),
        );
        if let Some(next) = next {
            body.insert("@odata.nextLink".into(), json!(next));
        }
        if let Some(delta) = delta {
            body.insert("@odata.deltaLink".into(), json!(delta));
        }
        body.insert("value".into(), Value::Array(value));
        Value::Object(body)
    }

    /// `GET /v1.0/admin/teams/userConfigurations`.
    pub(crate) fn configurations(&self, tenant: Uuid, query: &Query, options: ListingOptions) -> Reply {
        self.configurations_page(tenant, query, options)
            .unwrap_or_else(|reply| reply)
    }

    fn configurations_page(&self, tenant: Uuid, query: &Query, options: ListingOptions) -> Result<Reply, Reply> {
        self.teams_admin_available()?;
        let state = self.tenant_state(tenant)?;
        let (after, top, sel) = match self.cursor(tenant, query, "$skiptoken")? {
            Some(Cursor::Configurations { after, top, sel, .. }) => (Some(after), top, sel),
            Some(_) => return Err(Reply::graph_error(400, "Request_BadRequest", "Invalid paging token.")),
            None => (
                None,
                Self::top(query, self.sizes.configurations_default)?,
                query.get("$select").cloned(),
            ),
        };
        let selected = configuration_selection(sel.as_deref())?;
        let (value, last) = page_after(&state.users, after, top, |u| {
            u.config
                .as_ref()
                .map(|c| project_configuration(configuration_json(c, options), selected.as_deref()))
        });
        let next = last.map(|after| {
            let cursor = Cursor::Configurations {
                t: tenant,
                after,
                top,
                sel: sel.clone(),
            };
            self.link("/v1.0/admin/teams/userConfigurations", "$skiptoken", &cursor)
        });
        Ok(Reply::ok(self.page_body(
            "admin/teams/userConfigurations",
            next,
            None,
            value,
        )))
    }

    /// The Teams administration API's absence in a national cloud, as Graph answers it.
    fn teams_admin_available(&self) -> Result<(), Reply> {
        match self.teams_admin {
            TeamsAdminApi::Available => Ok(()),
            TeamsAdminApi::NotFound => Err(Reply::graph_error(
                404,
                "Request_ResourceNotFound",
                "Resource not found for the segment 'teams'.",
            )),
            TeamsAdminApi::Unsupported => Err(Reply::graph_error(
                400,
                "BadRequest",
                "This API is not supported in this cloud environment.",
            )),
        }
    }

    /// `GET /v1.0/admin/teams/userConfigurations/{id}`.
    pub(crate) fn configuration(&self, tenant: Uuid, id: &str, query: &Query, options: ListingOptions) -> Reply {
        self.configuration_of(tenant, id, query, options)
            .unwrap_or_else(|reply| reply)
    }

    fn configuration_of(&self, tenant: Uuid, id: &str, query: &Query, options: ListingOptions) -> Result<Reply, Reply> {
        self.teams_admin_available()?;
        let state = self.tenant_state(tenant)?;
        let selected = configuration_selection(query.get("$select").map(String::as_str))?;
        let config = Uuid::parse_str(id)
            .ok()
            .and_then(|id| state.users.get(&id))
            .and_then(|u| u.config.as_ref())
            .ok_or_else(|| Reply::graph_error(404, "NotFound", "The user configuration was not found."))?;
        Ok(Reply::ok(project_configuration(
            configuration_json(config, options),
            selected.as_deref(),
        )))
    }

    /// `GET /v1.0/users/delta`, with `fault` shaping the page's items.
    pub(crate) fn delta(&mut self, tenant: Uuid, query: &Query, fault: Option<&Fault>) -> Reply {
        self.delta_page(tenant, query, fault).unwrap_or_else(|reply| reply)
    }

    fn delta_page(&mut self, tenant: Uuid, query: &Query, fault: Option<&Fault>) -> Result<Reply, Reply> {
        let gone = || {
            Reply::graph_error(
                410,
                "syncStateNotFound",
                "The delta token has expired; resync required.",
            )
        };
        let cursor = {
            let state = self.tenant_state(tenant)?;
            match self.cursor(tenant, query, "$deltatoken")? {
                Some(Cursor::DeltaLink { seq, g, sel, .. }) => {
                    if g != state.delta_generation {
                        return Err(gone());
                    }
                    Cursor::DeltaChanges {
                        t: tenant,
                        from: seq,
                        to: state.log.len(),
                        offset: 0,
                        g,
                        sel,
                    }
                }
                Some(_) => return Err(Reply::graph_error(400, "Request_BadRequest", "Invalid delta token.")),
                None => match self.cursor(tenant, query, "$skiptoken")? {
                    Some(cursor @ (Cursor::DeltaFull { .. } | Cursor::DeltaChanges { .. })) => cursor,
                    Some(_) => return Err(Reply::graph_error(400, "Request_BadRequest", "Invalid paging token.")),
                    None => Cursor::DeltaFull {
                        t: tenant,
                        after: Uuid::nil(),
                        seq: state.log.len(),
                        g: state.delta_generation,
                        sel: Selection::parse(query.get("$select").map(String::as_str))?.text(),
                    },
                },
            }
        };
        let size = self.sizes.delta.max(1);
        let state = self.tenant_state(tenant)?;
        let (mut value, next, end_seq, generation, sel, listed_up_to) = match cursor {
            Cursor::DeltaFull { after, seq, g, sel, .. } => {
                if g != state.delta_generation {
                    return Err(gone());
                }
                let selection = Selection::parse(Some(&sel))?;
                let after = (!after.is_nil()).then_some(after);
                let (value, last) = page_after(&state.users, after, size, |u| {
                    Some(Value::Object(selection.project(&user_properties(&u.user))))
                });
                let next = last.map(|after| Cursor::DeltaFull {
                    t: tenant,
                    after,
                    seq,
                    g,
                    sel: sel.clone(),
                });
                (value, next, seq, g, sel, Some(after))
            }
            Cursor::DeltaChanges {
                from,
                to,
                offset,
                g,
                sel,
                ..
            } => {
                if g != state.delta_generation {
                    return Err(gone());
                }
                let all = state.changes(from, to, &Selection::parse(Some(&sel))?);
                let value: Vec<Value> = all.iter().skip(offset).take(size).cloned().collect();
                let next = (offset + size < all.len()).then_some(Cursor::DeltaChanges {
                    t: tenant,
                    from,
                    to,
                    offset: offset + size,
                    g,
                    sel: sel.clone(),
                });
                (value, next, to, g, sel, None)
            }
            _ => return Err(Reply::graph_error(400, "Request_BadRequest", "Invalid delta token.")),
        };
        let selection = Selection::parse(Some(&sel))?;
        match fault {
            Some(Fault::RepeatItems(n)) => {
                let (again, _) = page_after(&state.users, None, *n, |u| {
                    Some(Value::Object(selection.project(&user_properties(&u.user))))
                });
                value.extend(again);
            }
            // Only a full round's later pages have users listed before them.
            Some(Fault::RemoveListedUsers(n)) => {
                if let Some(Some(listed)) = listed_up_to {
                    let leaving: Vec<Uuid> = state.users.range(..=listed).map(|(id, _)| *id).take(*n).collect();
                    if let Some(state) = self.tenants.get_mut(&tenant) {
                        for id in &leaving {
                            state.remove(*id, RemovalReason::Deleted);
                        }
                    }
                    for id in leaving.into_iter().chain([NEVER_LISTED_USER]) {
                        value.push(removed_item(id, RemovalReason::Deleted.as_str()));
                    }
                }
            }
            _ => {}
        }
        let (next, delta) = match next {
            Some(cursor) => (Some(self.link("/v1.0/users/delta", "$skiptoken", &cursor)), None),
            None => {
                let link = Cursor::DeltaLink {
                    t: tenant,
                    seq: end_seq,
                    g: generation,
                    sel,
                };
                (None, Some(self.link("/v1.0/users/delta", "$deltatoken", &link)))
            }
        };
        Ok(Reply::ok(self.page_body(
            &format!("users({})", selection.text()),
            next,
            delta,
            value,
        )))
    }
}

/// The `selected` properties of a configuration (all without a `$select`).
fn project_configuration(all: Value, selected: Option<&[&'static str]>) -> Value {
    match selected {
        None => all,
        Some(names) => Value::Object(
            names
                .iter()
                .filter_map(|name| Some(((*name).to_string(), all.get(*name)?.clone())))
                .collect(),
        ),
    }
}

/// Every `teamsUserConfiguration` property, by Graph name.
const CONFIGURATION_PROPERTIES: [&str; 10] = [
    "id",
    "userPrincipalName",
    "tenantId",
    "accountType",
    "createdDateTime",
    "modifiedDateTime",
    "featureTypes",
    "isEnterpriseVoiceEnabled",
    "telephoneNumbers",
    "effectivePolicyAssignments",
];

/// The configuration properties a `$select` asks for (`id` always), or `None` for all; an
/// unknown property is Graph's 400.
fn configuration_selection(select: Option<&str>) -> Result<Option<Vec<&'static str>>, Reply> {
    let Some(select) = select else { return Ok(None) };
    let mut names = vec!["id"];
    for asked in select.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some(known) = CONFIGURATION_PROPERTIES.iter().find(|p| p.eq_ignore_ascii_case(asked)) else {
            return Err(Reply::graph_error(
                400,
                "BadRequest",
                &format!("Could not find a property named '{asked}' on type 'microsoft.graph.teamsAdministration.teamsUserConfiguration'."),
            ));
        };
        if !names.contains(known) {
            names.push(known);
        }
    }
    Ok(Some(names))
}

/// Up to `top` rendered items after `after` (keyset order by id), and the id to continue after
/// when more remain. Users `render` skips (returns `None` for) do not count.
fn page_after(
    users: &BTreeMap<Uuid, FakeUser>,
    after: Option<Uuid>,
    top: usize,
    render: impl Fn(&FakeUser) -> Option<Value>,
) -> (Vec<Value>, Option<Uuid>) {
    let lower = match after {
        Some(id) => Bound::Excluded(id),
        None => Bound::Unbounded,
    };
    let mut value = Vec::new();
    let mut last = None;
    for (id, user) in users.range((lower, Bound::Unbounded)) {
        if value.len() == top {
            return (value, last);
        }
        if let Some(item) = render(user) {
            value.push(item);
            last = Some(*id);
        }
    }
    (value, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = Cursor::DeltaChanges {
            t: Uuid::nil(),
            from: 3,
            to: 9,
            offset: 200,
            g: 1,
            sel: "id,displayName".into(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        assert_eq!(Cursor::decode("zz"), None);
        assert_eq!(Cursor::decode("abc"), None);
    }
}
