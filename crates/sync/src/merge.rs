//! Turning Graph records into the next generation: mapping users with their Teams
//! configuration, and merging a delta round's changes into the stored Graph records.
//!
//! Pure CPU and spool-file work, run on the blocking pool by the caller.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use domain::graph_mapping::{map_user, GraphDataError, GraphUser, TeamsUserConfiguration, UserDelta};
use graph::{GraphError, Resource};
use store::{GenerationWriter, UserRow};
use uuid::Uuid;

use crate::error::SyncError;

/// Teams configurations by user id.
pub(crate) type Configurations = Arc<HashMap<Uuid, TeamsUserConfiguration>>;

/// Why a delta round cannot be merged into the stored users; a full round is run instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum MergeBlocked {
    #[error("stored user {0} has no Graph record (it was imported, not synced)")]
    NoSource(Uuid),
    #[error("the stored Graph record of user {0} is unreadable")]
    BadSource(Uuid),
    #[error("the stored record of user {0} keeps no Teams configuration")]
    NoStoredConfiguration(Uuid),
    #[error("{0} new users")]
    ManyNewUsers(usize),
}

/// Maps Graph users to `EndUser`s and pushes them, with their Graph record, into a writer.
pub(crate) struct Mapper {
    tenant: Uuid,
    configurations: Configurations,
    pub(crate) writer: GenerationWriter,
    rows: u64,
    mapped: usize,
}

impl Mapper {
    pub(crate) fn new(tenant: Uuid, configurations: Configurations) -> Result<Self, SyncError> {
        let mut writer = GenerationWriter::new()?;
        // Graph may return a user more than once in a round; the last copy is the latest.
        writer.last_push_wins();
        Ok(Self {
            tenant,
            configurations,
            writer,
            rows: 0,
            mapped: 0,
        })
    }

    /// A mapper whose writer patches `base_generation` (see [`GenerationWriter::patch_of`]):
    /// only changed users are pushed, removed ones through [`Mapper::remove`].
    pub(crate) fn patch_of(
        tenant: Uuid,
        configurations: Configurations,
        base_generation: i64,
    ) -> Result<Self, SyncError> {
        Ok(Self {
            tenant,
            configurations,
            writer: GenerationWriter::patch_of(base_generation)?,
            rows: 0,
            mapped: 0,
        })
    }

    /// Records that a stored user is gone. A patch removes it; a whole new set simply does not
    /// have it, and the removal marker changes nothing there.
    pub(crate) fn remove(&mut self, id: Uuid) {
        self.rows += 1;
        self.writer.push_removal(self.rows, id);
    }

    /// Maps `user` with its configuration from this mapper's configurations.
    pub(crate) fn push(&mut self, user: &GraphUser) -> Result<(), SyncError> {
        let configurations = Arc::clone(&self.configurations);
        self.push_with(user, configurations.get(&user.id))
    }

    /// Maps `user` with `configuration`; both are stored as the row's source, so that a round
    /// of users only (after a change notification) can map it again without re-reading every
    /// Teams configuration.
    pub(crate) fn push_with(
        &mut self,
        user: &GraphUser,
        configuration: Option<&TeamsUserConfiguration>,
    ) -> Result<(), SyncError> {
        let mapped = map_user(user, configuration, self.tenant);
        let source = source_of(user, configuration)?;
        self.rows += 1;
        self.mapped += 1;
        self.writer.push_with_source(self.rows, &mapped, Some(&source))?;
        Ok(())
    }

    /// Replaces the configurations `push` maps with.
    pub(crate) fn set_configurations(&mut self, configurations: Configurations) {
        self.configurations = configurations;
    }

    /// Maps the items of one page of a full `/users/delta` round, in order: a user listed again
    /// replaces its earlier copy, and an `@removed` item drops the user if it was listed earlier
    /// in the round (it left the directory while the round was read; a later listing brings it
    /// back). Returns how many `@removed` items there were.
    pub(crate) fn push_full_page(&mut self, items: Vec<UserDelta>) -> Result<u64, SyncError> {
        let mut removed = 0;
        for item in items {
            match item {
                UserDelta::Upsert { properties, .. } => {
                    // A full round carries whole objects: read them directly (unknown properties
                    // and annotations are ignored), which is what merging into an empty user
                    // would give, without the JSON round trip.
                    let user: GraphUser = serde_json::from_value(properties)
                        .map_err(|e| invalid_item(GraphDataError::InvalidProperty(e.to_string())))?;
                    self.push(&user)?;
                }
                UserDelta::Removed { id, .. } => {
                    self.rows += 1;
                    self.writer.push_removal(self.rows, id);
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    /// Users mapped so far (removals not counted).
    pub(crate) fn len(&self) -> usize {
        self.mapped
    }
}

/// The key under which a row's source keeps the user's Teams configuration (`null`: Teams
/// returned none). A source without it was stored before configurations were kept.
const TEAMS_KEY: &str = "@rosterd.teams";

/// A row's source: the Graph user's properties, plus its Teams configuration under
/// [`TEAMS_KEY`] (an annotation-like key, which reading a `GraphUser` ignores).
///
/// Written directly (the user's object with the key appended before its closing brace), which
/// gives the bytes a `Value` round trip would (the key goes last), without building one per user.
fn source_of(user: &GraphUser, configuration: Option<&TeamsUserConfiguration>) -> Result<String, SyncError> {
    let encode = |e: serde_json::Error| SyncError::Internal(format!("encoding a Graph user: {e}"));
    let mut text = serde_json::to_string(user).map_err(encode)?;
    if text.pop() != Some('}') {
        return Err(SyncError::Internal("a Graph user did not encode as an object".into()));
    }
    if text.len() > 1 {
        text.push(',');
    }
    text.push('"');
    text.push_str(TEAMS_KEY);
    text.push_str("\":");
    text.push_str(&serde_json::to_string(&configuration).map_err(encode)?);
    text.push('}');
    Ok(text)
}

/// The Teams configuration kept in a row's source: `None` when the source predates it (or is
/// unreadable), `Some(None)` when Teams had none for the user.
fn stored_configuration(source: &str) -> Option<Option<TeamsUserConfiguration>> {
    let value: serde_json::Value = serde_json::from_str(source).ok()?;
    match value.get(TEAMS_KEY)? {
        serde_json::Value::Null => Some(None),
        teams => serde_json::from_value(teams.clone()).ok().map(Some),
    }
}

fn invalid_item(source: GraphDataError) -> SyncError {
    SyncError::Graph(GraphError::InvalidItem {
        resource: Resource::UsersDelta,
        source,
    })
}

/// A delta round's changes by user, each user's items in arrival order.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    by_user: BTreeMap<Uuid, Vec<UserDelta>>,
}

impl Changes {
    pub(crate) fn add(&mut self, item: UserDelta) {
        self.by_user.entry(item.id()).or_default().push(item);
    }

    pub(crate) fn users(&self) -> usize {
        self.by_user.len()
    }

    /// The users this round has items for, in identity order.
    pub(crate) fn identities(&self) -> Vec<Uuid> {
        self.by_user.keys().copied().collect()
    }

    /// Applies `items` in order to `before` (`None`: unknown or gone).
    fn apply(items: &[UserDelta], mut user: Option<GraphUser>) -> Result<Option<GraphUser>, SyncError> {
        for item in items {
            user = item.apply(user).map_err(invalid_item)?;
        }
        Ok(user)
    }

    /// Merges one batch of stored users (in identity order) with their changes and pushes the
    /// result; changed users are taken out of `self`. With `stored_teams`, each user is mapped
    /// with the Teams configuration kept in its row instead of the mapper's.
    pub(crate) fn merge_stored(
        &mut self,
        mapper: &mut Mapper,
        rows: Vec<UserRow>,
        stored_teams: bool,
    ) -> Result<Result<(), MergeBlocked>, SyncError> {
        for row in rows {
            let Some(source) = row.source.as_deref() else {
                return Ok(Err(MergeBlocked::NoSource(row.identity)));
            };
            let stored: GraphUser = match serde_json::from_str(source) {
                Ok(user) => user,
                Err(_) => return Ok(Err(MergeBlocked::BadSource(row.identity))),
            };
            if stored.id != row.identity {
                return Ok(Err(MergeBlocked::BadSource(row.identity)));
            }
            let current = match self.by_user.remove(&row.identity) {
                Some(items) => Self::apply(&items, Some(stored))?,
                None => Some(stored),
            };
            let Some(user) = current else {
                mapper.remove(row.identity);
                continue;
            };
            if stored_teams {
                let Some(configuration) = stored_configuration(source) else {
                    return Ok(Err(MergeBlocked::NoStoredConfiguration(row.identity)));
                };
                mapper.push_with(&user, configuration.as_ref())?;
            } else {
                mapper.push(&user)?;
            }
        }
        Ok(Ok(()))
    }

    /// The users this round adds (not stored, not removed): after `merge_stored`, whatever is
    /// left that ends as a user.
    pub(crate) fn new_users(&self) -> Result<Vec<Uuid>, SyncError> {
        let mut found = Vec::new();
        for (id, items) in &self.by_user {
            if Self::apply(items, None)?.is_some() {
                found.push(*id);
            }
        }
        Ok(found)
    }

    /// Pushes the users the stored generation did not have (new in this round); removals of
    /// users that were never stored are dropped.
    pub(crate) fn push_new(self, mapper: &mut Mapper) -> Result<(), SyncError> {
        for items in self.by_user.values() {
            if let Some(user) = Self::apply(items, None)? {
                mapper.push(&user)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::EndUser;
    use serde_json::json;
    use store::{ServiceStore, UserStore};

    const TENANT: Uuid = Uuid::from_u128(0xabc);

    fn user(n: u128, name: &str) -> GraphUser {
        let mut user = GraphUser::new(Uuid::from_u128(n));
        user.display_name = Some(name.to_string());
        user.department = Some("Sales".to_string());
        user
    }

    fn row(ordinal: i64, user: &GraphUser) -> UserRow {
        let body = map_user(user, None, TENANT).render_json();
        UserRow {
            ordinal,
            identity: user.id,
            fingerprint: EndUser::fingerprint_of(&body),
            body,
            source: Some(serde_json::to_string(user).unwrap()),
        }
    }

    fn mapper() -> Mapper {
        Mapper::new(TENANT, Arc::new(HashMap::new())).unwrap()
    }

    fn upsert(n: u128, properties: serde_json::Value) -> UserDelta {
        let mut properties = properties;
        properties["id"] = json!(Uuid::from_u128(n));
        UserDelta::from_value(properties).unwrap()
    }

    #[test]
    fn changes_merge_into_stored_users_and_new_users_are_added() {
        let stored = vec![
            row(1, &user(1, "One")),
            row(2, &user(2, "Two")),
            row(3, &user(3, "Three")),
        ];
        let mut changes = Changes::default();
        changes.add(upsert(2, json!({"displayName": "Two renamed"})));
        changes.add(upsert(2, json!({"department": null})));
        changes
            .add(UserDelta::from_value(json!({"id": Uuid::from_u128(3), "@removed": {"reason": "deleted"}})).unwrap());
        changes.add(upsert(9, json!({"displayName": "Nine", "userPrincipalName": "nine@x"})));
        changes
            .add(UserDelta::from_value(json!({"id": Uuid::from_u128(7), "@removed": {"reason": "changed"}})).unwrap());
        assert_eq!(changes.users(), 4);
        let mut mapper = mapper();
        changes.merge_stored(&mut mapper, stored, false).unwrap().unwrap();
        changes.push_new(&mut mapper).unwrap();
        assert_eq!(mapper.len(), 3, "1, 2 and 9; 3 removed, 7 never stored");
    }

    /// A full round read in order: repeats replace, removals drop what came before them.
    #[tokio::test]
    async fn a_full_round_applies_repeats_and_removals_in_order() {
        let (dir, url) = store_conformance::fresh_sqlite_url().await;
        let store = store_sqlite::SqliteStore::connect(&url).await.unwrap();
        let service = store
            .create_service(&store_conformance::grant(store_conformance::new_service("fullround")))
            .await
            .unwrap();
        let item = |n: u128, name: &str| upsert(n, json!({"displayName": name}));
        let gone = |n: u128| {
            UserDelta::from_value(json!({"id": Uuid::from_u128(n), "@removed": {"reason": "deleted"}})).unwrap()
        };
        let mut mapper = mapper();
        let first = vec![item(1, "One"), item(2, "Two"), item(3, "Three")];
        assert_eq!(mapper.push_full_page(first).unwrap(), 0);
        let second = vec![item(2, "Two again"), gone(3), gone(9), gone(1), item(1, "One back")];
        assert_eq!(mapper.push_full_page(second).unwrap(), 3);
        let customer = store_conformance::grant(service.id);
        let outcome = mapper.writer.commit(&store, &customer, None, false).await.unwrap();
        assert_eq!((outcome.total, outcome.added), (2, 2));
        let page = store.read_page(&customer.read(), None, 1, 10).await.unwrap().unwrap();
        let names: Vec<String> = page
            .bodies
            .iter()
            .map(|b| serde_json::from_str::<serde_json::Value>(b).unwrap()["WebName"].to_string())
            .collect();
        assert_eq!(names, ["\"One back\"", "\"Two again\""]);
        drop(store);
        drop(dir);
    }

    /// Rows keep the user's Teams configuration; a round of users only maps with it, and a row
    /// stored before configurations were kept blocks such a round.
    #[test]
    fn rows_keep_their_teams_configuration() {
        let one = user(1, "One");
        let mut teams = TeamsUserConfiguration::new(one.id);
        teams.is_enterprise_voice_enabled = Some(true);
        let source = source_of(&one, Some(&teams)).unwrap();
        assert_eq!(stored_configuration(&source), Some(Some(teams.clone())));
        assert_eq!(serde_json::from_str::<GraphUser>(&source).unwrap(), one);
        assert_eq!(stored_configuration(&source_of(&one, None).unwrap()), Some(None));
        let mut stored = row(1, &one);
        stored.source = Some(source);
        let mut changes = Changes::default();
        changes.add(upsert(1, json!({"displayName": "One renamed"})));
        let mut mapper = mapper();
        changes.merge_stored(&mut mapper, vec![stored], true).unwrap().unwrap();
        assert_eq!(mapper.len(), 1);
        let old = row(2, &user(2, "Two"));
        let blocked = Changes::default().merge_stored(&mut mapper, vec![old], true).unwrap();
        assert_eq!(blocked, Err(MergeBlocked::NoStoredConfiguration(Uuid::from_u128(2))));
    }

    /// The source is written directly, byte for byte what the earlier `Value` round trip wrote
    /// (a change of bytes would count every stored user as changed once).
    #[test]
    fn sources_keep_their_bytes() {
        let through_value = |user: &GraphUser, teams: Option<&TeamsUserConfiguration>| {
            let mut value = serde_json::to_value(user).unwrap();
            value
                .as_object_mut()
                .unwrap()
                .insert(TEAMS_KEY.to_string(), serde_json::to_value(teams).unwrap());
            serde_json::to_string(&value).unwrap()
        };
        let mut full = user(3, "Ã\"quoted\" \u{1F600}");
        full.user_principal_name = Some("a@b.example".into());
        full.im_addresses = vec!["sip:a@b.example".into()];
        full.on_premises_sync_enabled = Some(true);
        let mut teams = TeamsUserConfiguration::new(full.id);
        teams.is_enterprise_voice_enabled = Some(false);
        for user in [GraphUser::new(Uuid::from_u128(9)), full] {
            for configuration in [None, Some(&teams)] {
                assert_eq!(
                    source_of(&user, configuration).unwrap(),
                    through_value(&user, configuration)
                );
            }
        }
    }

    #[test]
    fn imported_users_block_the_merge() {
        let mut imported = row(1, &user(1, "One"));
        imported.source = None;
        let blocked = Changes::default()
            .merge_stored(&mut mapper(), vec![imported], false)
            .unwrap();
        assert_eq!(blocked, Err(MergeBlocked::NoSource(Uuid::from_u128(1))));
        let mut garbled = row(2, &user(2, "Two"));
        garbled.source = Some("{not json".into());
        let blocked = Changes::default()
            .merge_stored(&mut mapper(), vec![garbled], false)
            .unwrap();
        assert_eq!(blocked, Err(MergeBlocked::BadSource(Uuid::from_u128(2))));
    }

    #[test]
    fn a_bad_property_fails_with_the_resource() {
        let mut changes = Changes::default();
        changes.add(upsert(1, json!({"accountEnabled": "yes"})));
        let error = changes
            .merge_stored(&mut mapper(), vec![row(1, &user(1, "One"))], false)
            .unwrap_err();
        assert!(error.to_string().starts_with("users/delta: invalid item"), "{error}");
    }
}
