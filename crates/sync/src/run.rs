//! One sync of one customer: read the Teams configurations, read the users (a full
//! `/users/delta` round, or the changes since the stored delta link merged into the stored
//! Graph records), map every user, and commit the new generation together with the new
//! replication state. Any error before the commit leaves the served generation untouched.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use domain::access::{Authorized, Write};
use domain::{CustomerId, Service};
use graph::{GraphError, Resource, TenantClient};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::context::Context;
use crate::delta_link::StoredLink;
use crate::error::SyncError;
use crate::merge::{Changes, Configurations, Mapper, MergeBlocked};
use crate::pages::{or_cancelled, PageStream, Step};
use crate::progress::human;
use crate::report::{millis, SyncMode, SyncReport, Timings};
use crate::schedule::{choose_mode, success_state};
use crate::task_log::TaskLog;

/// What a sync needs besides the engine's shared handles.
pub(crate) struct RunInput<'a> {
    pub(crate) inner: &'a Context,
    pub(crate) customer: &'a Authorized<CustomerId, Write>,
    pub(crate) full_requested: bool,
    /// A round after a change notification: when it is a delta round, the Teams configurations
    /// are taken from the stored rows (only new users' are read) instead of re-read.
    pub(crate) users_only: bool,
    pub(crate) log: &'a Arc<TaskLog>,
    pub(crate) cancel: &'a CancellationToken,
    pub(crate) started: DateTime<Utc>,
}

/// The users of one round, mapped and spooled, ready to commit. Only a listing read to its
/// last page yields the delta link, so a round cannot exist for part of a tenant.
struct Round {
    mapper: Mapper,
    delta_link: String,
    items: u64,
    pages: u64,
}

/// Accumulated wall-clock time per phase.
#[derive(Default)]
struct Clocks {
    configurations: Duration,
    users: Duration,
    read_stored: Duration,
    map: Duration,
}

pub(crate) async fn run(input: RunInput<'_>) -> Result<SyncReport, SyncError> {
    let begun = Instant::now();
    let RunInput {
        inner,
        customer,
        full_requested,
        users_only,
        log,
        cancel,
        started,
    } = input;
    let store = inner.store.as_ref();
    let service = store
        .get_service(&customer.read())
        .await?
        .ok_or(SyncError::NotFound(**customer))?;
    let tenant = tenant_client(inner, &service, log)?;
    let tenant_id = tenant.credentials().tenant_id;

    let (mut mode, mut reason) = choose_mode(&service.sync, tenant_id, full_requested, started, &inner.config);
    log.info(format!("{} round: {reason}", mode_name(mode)));
    let mut clocks = Clocks::default();
    let stored_link = service.sync.delta_link.as_deref().and_then(StoredLink::parse);
    // After a change notification, a delta round keeps the stored Teams configurations: the
    // Teams data keeps its polling cycle, and one notified change costs a request or two
    // instead of every configuration page.
    let mut users_only = users_only && mode == SyncMode::Delta;
    let (mut configurations, mut configuration_pages, mut teams_voice) = if users_only {
        log.info("users only: the Teams configurations are kept from the stored users (they are re-read every polling cycle)");
        (Arc::new(HashMap::new()), 0, true)
    } else {
        teams_configurations(inner, &tenant, log, cancel, &mut clocks).await?
    };

    let mut round = None;
    if let (SyncMode::Delta, Some(link)) = (mode, stored_link.as_ref().map(|l| l.url.as_str())) {
        let mut merged = None;
        if users_only {
            match delta_round(
                inner,
                customer,
                &service,
                &tenant,
                link,
                TeamsSource::Stored,
                log,
                cancel,
                &mut clocks,
            )
            .await
            {
                // Rows stored before configurations were kept, or many new users: read the
                // configurations after all and merge again from the same delta link.
                Ok(Err(blocked)) => log.info(format!("{blocked}: reading the Teams configurations after all")),
                other => merged = Some(other),
            }
        }
        let merged = match merged {
            Some(done) => done,
            None => {
                if users_only {
                    users_only = false;
                    (configurations, configuration_pages, teams_voice) =
                        teams_configurations(inner, &tenant, log, cancel, &mut clocks).await?;
                }
                let fresh = TeamsSource::Fresh(Arc::clone(&configurations));
                delta_round(
                    inner,
                    customer,
                    &service,
                    &tenant,
                    link,
                    fresh,
                    log,
                    cancel,
                    &mut clocks,
                )
                .await
            }
        };
        let fallback = match merged {
            Ok(Ok(merged)) => {
                round = Some(merged);
                None
            }
            Ok(Err(blocked)) => Some(format!("{blocked}; reading the whole tenant instead")),
            Err(SyncError::Graph(GraphError::DeltaExpired)) => Some(
                "the stored delta link expired (Graph answered 410 Gone); reading the whole tenant instead".to_string(),
            ),
            Err(other) => return Err(other),
        };
        if let Some(why) = fallback {
            log.warn(why.clone());
            reason = why;
        }
    }
    let round = match round {
        Some(round) => round,
        None => {
            mode = SyncMode::Full;
            if users_only {
                (configurations, configuration_pages, teams_voice) =
                    teams_configurations(inner, &tenant, log, cancel, &mut clocks).await?;
            }
            match full_round(&tenant, tenant_id, &configurations, log, cancel, &mut clocks).await {
                // The round's own paging state expired (410 Gone / syncStateNotFound while the
                // round was read): start it once more from scratch instead of failing.
                Err(SyncError::Graph(GraphError::DeltaExpired)) => {
                    log.warn(
                        "Graph answered 410 Gone (syncStateNotFound) during the full round; starting the full \
                         round again from the beginning (once)",
                    );
                    full_round(&tenant, tenant_id, &configurations, log, cancel, &mut clocks).await?
                }
                other => other?,
            }
        }
    };
    if cancel.is_cancelled() {
        return Err(SyncError::Interrupted);
    }

    // Based on the latest stored state, so a connection check recorded meanwhile survives.
    let fresh = same_connection(inner, customer, &service).await?;
    let credentials_unchanged = fresh.tenant_id == service.tenant_id
        && fresh.app_client_id == service.app_client_id
        && fresh.app_client_secret_sealed == service.app_client_secret_sealed;
    let state = success_state(
        &fresh.sync,
        Some(StoredLink::current(tenant_id, round.delta_link.clone()).to_text()),
        mode,
        started,
        inner.clock.now(),
        &inner.config,
        credentials_unchanged,
    );
    log.info(format!("writing {} users", round.mapper.len()));
    let commit_started = Instant::now();
    let outcome = round.mapper.writer.commit(store, customer, Some(state), true).await?;
    let commit = commit_started.elapsed();
    // A re-pointing that landed between the check above and the commit: its reset of the
    // replication state was overwritten by this round's (old tenant's) delta link. Fail the
    // task; recording the failure drops that link again, so the next cycle is a full round of
    // the new tenant (which then replaces these users, as after any re-pointing).
    same_connection(inner, customer, &service).await?;

    if outcome.committed {
        log.info(format!(
            "committed generation {}: {} users ({} added, {} changed, {} removed, {} unchanged)",
            outcome.generation, outcome.total, outcome.added, outcome.changed, outcome.removed, outcome.unchanged
        ));
    } else {
        log.info(format!(
            "no change: {} users, generation {} stays served",
            outcome.total, outcome.generation
        ));
    }
    let waits = log.waits();
    if waits.throttle_waits > 0 {
        log.info(format!(
            "Graph throttled {} times; waited {} in total as it asked",
            waits.throttle_waits,
            human(waits.throttled)
        ));
    }
    Ok(SyncReport {
        customer: **customer,
        mode,
        reason,
        teams_voice,
        configurations: configurations.len() as u64,
        configuration_pages,
        user_items: round.items,
        user_pages: round.pages,
        generation: outcome.generation,
        committed: outcome.committed,
        total: outcome.total,
        added: outcome.added,
        changed: outcome.changed,
        removed: outcome.removed,
        unchanged: outcome.unchanged,
        throttle_waits: waits.throttle_waits,
        throttled_ms: millis(waits.throttled),
        retries: waits.retries,
        timings: Timings {
            fetch_configurations_ms: millis(clocks.configurations),
            fetch_users_ms: millis(clocks.users),
            read_stored_ms: millis(clocks.read_stored),
            map_ms: millis(clocks.map),
            commit_ms: millis(commit),
            total_ms: millis(begun.elapsed()),
        },
    })
}

/// Every Teams configuration of the tenant, or none where the Teams administration API does
/// not exist (national clouds), saying so in the task: the configurations, their pages, and
/// whether the Teams voice data was read.
async fn teams_configurations(
    inner: &Context,
    tenant: &TenantClient,
    log: &TaskLog,
    cancel: &CancellationToken,
    clocks: &mut Clocks,
) -> Result<(Configurations, u64, bool), SyncError> {
    if !inner.graph.offers_teams_admin_api() {
        log.warn(format!(
            "{NO_TEAMS_VOICE}: the configured Graph is a national cloud (US Government or 21Vianet), \
             which has no {}. {NO_TEAMS_VOICE_EFFECT}",
            Resource::UserConfigurations
        ));
        return Ok((Arc::new(HashMap::new()), 0, false));
    }
    match read_configurations(tenant, log, cancel, clocks).await {
        Ok((configurations, pages)) => Ok((configurations, pages, true)),
        Err(SyncError::Graph(GraphError::NotInThisCloud { status, .. })) => {
            log.warn(format!(
                "{NO_TEAMS_VOICE}: {} answered HTTP {status}. {NO_TEAMS_VOICE_EFFECT}",
                Resource::UserConfigurations
            ));
            Ok((Arc::new(HashMap::new()), 0, false))
        }
        Err(other) => Err(other),
    }
}

/// Where a delta round's Teams configurations come from.
enum TeamsSource {
    /// Every configuration, just read.
    Fresh(Configurations),
    /// Kept in each stored user's row; new users' are read one by one.
    Stored,
}

/// New users a round of users only reads the configurations of one by one; more, and the
/// whole listing is read instead.
const MAX_SINGLE_CONFIGURATIONS: usize = 20;

/// The task message when the Teams administration API is missing.
const NO_TEAMS_VOICE: &str = "Teams voice data is not available in this cloud";
const NO_TEAMS_VOICE_EFFECT: &str = "The users are synced from their user records alone: EnterpriseVoiceEnabled \
                                     false, LineURI null, OnlineVoiceRoutingPolicy empty";

/// The service as stored now, if it still names the tenant and app registration `read_with`
/// did (the round was read with those); `ConnectionChanged` otherwise.
async fn same_connection(
    inner: &Context,
    customer: &Authorized<CustomerId, Write>,
    read_with: &Service,
) -> Result<Service, SyncError> {
    let now = inner
        .store
        .get_service(&customer.read())
        .await?
        .ok_or(SyncError::NotFound(**customer))?;
    if now.tenant_id != read_with.tenant_id || !same_app(&now, read_with) {
        return Err(SyncError::ConnectionChanged);
    }
    Ok(now)
}

/// Whether two reads of a service name the same app registration (app ids compare
/// case-insensitively, as the re-pointing rule does).
fn same_app(a: &Service, b: &Service) -> bool {
    match (a.app_client_id.as_deref(), b.app_client_id.as_deref()) {
        (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
        (x, y) => x == y,
    }
}

fn mode_name(mode: SyncMode) -> &'static str {
    match mode {
        SyncMode::Full => "full",
        SyncMode::Delta => "delta",
    }
}

/// The customer's tenant, with the app secret opened and the task log observing the client.
fn tenant_client(inner: &Context, service: &Service, log: &Arc<TaskLog>) -> Result<TenantClient, SyncError> {
    let credentials = inner.credentials_of(service)?;
    let observer: Arc<dyn graph::GraphObserver> = match inner.graph_observer.get() {
        Some(process) => Arc::new(graph::Both(log.observer(), Arc::clone(process))),
        None => log.observer(),
    };
    Ok(inner.graph.tenant(credentials).with_observer(observer))
}

/// Every Teams user configuration of the tenant. Re-read every cycle: `/users/delta` does not
/// report changes of Teams settings (numbers, policies, features).
async fn read_configurations(
    tenant: &TenantClient,
    log: &TaskLog,
    cancel: &CancellationToken,
    clocks: &mut Clocks,
) -> Result<(Configurations, u64), SyncError> {
    log.listing_started(Resource::UserConfigurations);
    let begun = Instant::now();
    let mut pager = tenant.user_configurations();
    let mut map = HashMap::new();
    while let Some(page) = or_cancelled(cancel, pager.next_page()).await?? {
        for configuration in page.items {
            map.insert(configuration.id, configuration);
        }
    }
    clocks.configurations += begun.elapsed();
    log.listing_done(
        Resource::UserConfigurations,
        format!(
            "read {} Teams user configurations in {} pages",
            pager.items_read(),
            pager.pages_read()
        ),
    );
    Ok((Arc::new(map), pager.pages_read()))
}

/// Runs `work` on the blocking pool (mapping renders JSON and writes the spool file).
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, SyncError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| SyncError::Internal(format!("mapping task: {e}")))
}

/// Every user of the tenant, from a fresh `/users/delta` round (which ends with the delta link
/// for the next quick cycle).
async fn full_round(
    tenant: &TenantClient,
    tenant_id: Uuid,
    configurations: &Configurations,
    log: &TaskLog,
    cancel: &CancellationToken,
    clocks: &mut Clocks,
) -> Result<Round, SyncError> {
    log.listing_started(Resource::UsersDelta);
    let mut stream = PageStream::spawn(tenant.users_delta(None));
    let mut mapper = Mapper::new(tenant_id, Arc::clone(configurations))?;
    let (mut pages, mut items, mut removed) = (0u64, 0u64, 0u64);
    let end = loop {
        let page = match stream.next(cancel).await? {
            Step::Page(page) => page,
            Step::End(end) => break end,
        };
        pages += 1;
        items += page.items.len() as u64;
        let begun = Instant::now();
        let (back, skipped) = blocking(move || {
            let skipped = mapper.push_full_page(page.items);
            (mapper, skipped)
        })
        .await?;
        clocks.map += begun.elapsed();
        mapper = back;
        removed += skipped?;
    };
    clocks.users += stream.waited;
    let delta_link = end.into_delta_link()?;
    let mut text = format!("read {items} users from users/delta in {pages} pages");
    if removed > 0 {
        text.push_str(&format!(
            " ({removed} @removed items: users that left during the round)"
        ));
    }
    log.listing_done(Resource::UsersDelta, text);
    Ok(Round {
        mapper,
        delta_link,
        items,
        pages,
    })
}

/// The changes since `link`, merged into the served generation's Graph records; every user is
/// mapped again with the fresh Teams configurations. `Ok(Err(_))` when the stored users cannot
/// be merged into (imported users): the caller runs a full round.
#[allow(clippy::too_many_arguments)]
async fn delta_round(
    inner: &Context,
    customer: &Authorized<CustomerId, Write>,
    service: &Service,
    tenant: &TenantClient,
    link: &str,
    teams: TeamsSource,
    log: &TaskLog,
    cancel: &CancellationToken,
    clocks: &mut Clocks,
) -> Result<Result<Round, MergeBlocked>, SyncError> {
    log.listing_started(Resource::UsersDelta);
    let mut stream = PageStream::spawn(tenant.users_delta(Some(link)));
    let mut changes = Changes::default();
    let (mut pages, mut items) = (0u64, 0u64);
    let end = loop {
        let page = match stream.next(cancel).await? {
            Step::Page(page) => page,
            Step::End(end) => break end,
        };
        pages += 1;
        items += page.items.len() as u64;
        for item in page.items {
            changes.add(item);
        }
    };
    clocks.users += stream.waited;
    let delta_link = end.into_delta_link()?;
    log.listing_done(
        Resource::UsersDelta,
        format!(
            "read {items} changes to {} users from users/delta in {pages} pages",
            changes.users()
        ),
    );

    let tenant_id = tenant.credentials().tenant_id;
    let stored_teams = matches!(teams, TeamsSource::Stored);
    let configurations = match teams {
        TeamsSource::Fresh(configurations) => configurations,
        TeamsSource::Stored => Arc::new(HashMap::new()),
    };
    // Data derived from this generation must not replace a newer one (an import meanwhile).
    let mut mapper = if stored_teams {
        // Users only (after a change notification): every user keeps its stored row except
        // those the round changed, so only those are read back and written.
        Mapper::patch_of(tenant_id, configurations, service.generation)?
    } else {
        // Fresh Teams configurations: every user is mapped again.
        let mut mapper = Mapper::new(tenant_id, configurations)?;
        mapper.writer.expect_base_generation(service.generation);
        mapper
    };
    let changed = changes.identities();
    let batch = usize::try_from(inner.config.merge_batch).unwrap_or(1).max(1);
    let mut after = 0;
    let mut next_changed = 0;
    loop {
        if cancel.is_cancelled() {
            return Err(SyncError::Interrupted);
        }
        let begun = Instant::now();
        let rows = if stored_teams {
            let ids = &changed[next_changed..(next_changed + batch).min(changed.len())];
            next_changed += ids.len();
            if ids.is_empty() {
                Vec::new()
            } else {
                inner
                    .store
                    .users_by_identity(&customer.read(), service.generation, ids)
                    .await?
            }
        } else {
            inner
                .store
                .users_after(&customer.read(), service.generation, after, inner.config.merge_batch)
                .await?
        };
        clocks.read_stored += begun.elapsed();
        let more = if stored_teams {
            next_changed < changed.len()
        } else {
            !rows.is_empty()
        };
        if !more && rows.is_empty() {
            break;
        }
        if let Some(last) = rows.last() {
            after = last.ordinal;
        }
        let begun = Instant::now();
        let (back_mapper, back_changes, merged) = blocking(move || {
            let merged = changes.merge_stored(&mut mapper, rows, stored_teams);
            (mapper, changes, merged)
        })
        .await?;
        clocks.map += begun.elapsed();
        mapper = back_mapper;
        changes = back_changes;
        if let Err(blocked) = merged? {
            return Ok(Err(blocked));
        }
        if !more {
            break;
        }
    }
    if stored_teams {
        let new = changes.new_users()?;
        if new.len() > MAX_SINGLE_CONFIGURATIONS {
            return Ok(Err(MergeBlocked::ManyNewUsers(new.len())));
        }
        let mut found = HashMap::new();
        for id in &new {
            if let Some(configuration) = or_cancelled(cancel, tenant.user_configuration(*id)).await?? {
                found.insert(*id, configuration);
            }
        }
        if !new.is_empty() {
            log.info(format!(
                "read the Teams configurations of {} new users one by one ({} found)",
                new.len(),
                found.len()
            ));
        }
        mapper.set_configurations(Arc::new(found));
    }
    let begun = Instant::now();
    let (mapper, pushed) = blocking(move || {
        let pushed = changes.push_new(&mut mapper);
        (mapper, pushed)
    })
    .await?;
    clocks.map += begun.elapsed();
    pushed?;
    Ok(Ok(Round {
        mapper,
        delta_link,
        items,
        pages,
    }))
}
