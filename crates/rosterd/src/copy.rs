//! `rosterd copy`: moves a whole installation — services with their users, API clients, console
//! accounts (not their sessions), signing keys, tasks — from one database to another (typically the embedded SQLite to PostgreSQL) and
//! verifies the counts. Sealed secrets are copied as they are, so the target must be used with the
//! same secret key file. Stop writers (imports, syncs) on the source while copying.

use std::sync::Arc;

use anyhow::{bail, ensure, Context};
use domain::access::{Authorized, Read, SystemScope, Write};
use domain::service::SecretChange;
use domain::{CustomerId, NewService, Service, ServicePatch, ShortName};
use store::{GenerationWriter, Store, StoreError};

use rosterd::{open_store, redact};

const BATCH: i64 = 5_000;

/// A copy moves every customer's data: it acts as rosterd itself.
const COPY: SystemScope = SystemScope::new("rosterd copy");

fn read(customer: CustomerId) -> Authorized<CustomerId, Read> {
    COPY.grant(customer).read()
}

fn write(customer: CustomerId) -> Authorized<CustomerId, Write> {
    COPY.grant(customer)
}

/// What was copied, for the summary line and the verification.
#[derive(Debug, Default, serde::Serialize)]
pub struct CopyReport {
    pub services: usize,
    pub users: i64,
    pub clients: usize,
    pub accounts: usize,
    pub signing_keys: usize,
    pub tasks: usize,
    pub subscriptions: usize,
}

pub async fn run(from: &str, to: &str, force: bool) -> anyhow::Result<()> {
    ensure!(from != to, "--from and --to name the same database");
    let source = open_store(from).await?;
    let target = open_store(to).await?;
    if !force && !is_empty(target.as_ref()).await? {
        bail!(
            "the target database {} already holds data; refusing to overwrite it (use --force to merge into it)",
            redact(to)
        );
    }
    let report = copy_installation(&source, &target).await?;
    verify(source.as_ref(), target.as_ref(), &report).await?;
    eprintln!(
        "copied {} services ({} users), {} clients, {} console accounts, {} signing keys, {} tasks from {} to {}; counts verified",
        report.services,
        report.users,
        report.clients,
        report.accounts,
        report.signing_keys,
        report.tasks,
        redact(from),
        redact(to)
    );
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

async fn is_empty(store: &dyn Store) -> anyhow::Result<bool> {
    Ok(store
        .list_services(&COPY.principal().visibility(None))
        .await?
        .is_empty()
        && store.list_clients().await?.is_empty()
        && store.signing_keys().await?.is_empty()
        && store.list_tasks(&COPY).await?.is_empty())
}

pub async fn copy_installation(source: &Arc<dyn Store>, target: &Arc<dyn Store>) -> anyhow::Result<CopyReport> {
    let mut report = CopyReport::default();
    for key in source.signing_keys().await? {
        target.insert_signing_key(&key).await?;
        report.signing_keys += 1;
    }
    for client in source.list_clients().await? {
        match target.get_client(client.id).await? {
            Some(_) => {
                if let Some(at) = client.revoked_at {
                    target.revoke_client(&COPY.grant(client.id), at).await?;
                }
            }
            None => target.create_client(&COPY.grant(client.clone())).await?,
        }
        report.clients += 1;
    }
    for account in source.list_accounts().await? {
        match target.get_account(account.id).await? {
            Some(_) => {
                if let Some(at) = account.disabled_at {
                    target.disable_account(&COPY.grant(account.id), at).await?;
                }
            }
            None => target.create_account(&COPY.grant(account.clone())).await?,
        }
        report.accounts += 1;
    }
    for service in source.list_services(&COPY.principal().visibility(None)).await? {
        copy_service(source.as_ref(), target.as_ref(), &service)
            .await
            .with_context(|| format!("copying service {} ({})", service.short_name, service.id))?;
        report.services += 1;
        report.users += service.user_count;
    }
    // Graph subscriptions point at the same public URL: the target matches their
    // notifications and renews them instead of creating second ones.
    for subscription in source.list_subscriptions(&COPY).await? {
        target.put_subscription(&COPY.grant(subscription)).await?;
        report.subscriptions += 1;
    }
    for task in source.list_tasks(&COPY).await? {
        match target.create_task(&task).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_) | StoreError::Taken(_)) => target.update_task(&task).await?,
            Err(other) => return Err(other.into()),
        }
        report.tasks += 1;
    }
    Ok(report)
}

async fn copy_service(source: &dyn Store, target: &dyn Store, service: &Service) -> anyhow::Result<()> {
    if target.get_service(&read(service.id)).await?.is_none() {
        let new = NewService {
            id: service.id,
            short_name: ShortName::parse(&service.short_name).map_err(|e| anyhow::anyhow!(e))?,
            full_name: service.full_name.clone(),
            license_type: service.license_type,
            licensed_users_count: service.licensed_users_count,
            channel_id: service.channel_id,
            ovoc_customer_type: service.ovoc_customer_type.clone(),
            tenant_id: service.tenant_id,
            default_domain: service.default_domain.clone(),
            site_locations: service.site_locations.clone(),
        };
        target.create_service(&COPY.grant(new.clone())).await?;
    }
    let patch = ServicePatch {
        full_name: Some(service.full_name.clone()),
        license_type: Some(service.license_type),
        licensed_users_count: service.licensed_users_count,
        tenant_id: service.tenant_id,
        default_domain: service.default_domain.clone(),
        app_client_id: service.app_client_id.clone(),
        secret: match (&service.app_client_secret_sealed, &service.app_client_secret_hint) {
            (Some(sealed), hint) => SecretChange::Set {
                sealed: sealed.clone(),
                hint: hint.clone().unwrap_or_default(),
            },
            (None, _) => SecretChange::Keep,
        },
        secret_expires_at: service.secret_expires_at,
        reset_sync: false,
    };
    target.update_service(&write(service.id), &patch).await?;
    if service.generation == 0 {
        target.update_sync_state(&write(service.id), &service.sync).await?;
        return Ok(());
    }

    // Bodies, sources and fingerprints are copied byte for byte through the generation writer,
    // which writes them as the target's new generation (with its chunk index) in one commit.
    let mut writer = GenerationWriter::new()?;
    let mut after = 0;
    let mut copied = 0u64;
    loop {
        let rows = source
            .users_after(&read(service.id), service.generation, after, BATCH)
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.ordinal;
        for row in &rows {
            copied += 1;
            writer.push_stored(copied, row)?;
        }
    }
    if copied as i64 != service.user_count {
        bail!(
            "read {copied} users but the source serves {}: the source changed during the copy; stop imports and syncs and run again",
            service.user_count
        );
    }
    writer
        .commit(target, &write(service.id), Some(service.sync.clone()), false)
        .await?;
    Ok(())
}

/// Every copied record is in the target, and each service serves as many users as the source.
async fn verify(source: &dyn Store, target: &dyn Store, report: &CopyReport) -> anyhow::Result<()> {
    for service in source.list_services(&COPY.principal().visibility(None)).await? {
        let copied = target
            .get_service(&read(service.id))
            .await?
            .with_context(|| format!("service {} missing in the target", service.id))?;
        ensure!(
            copied.user_count == service.user_count,
            "service {}: {} users in the target, {} in the source",
            service.id,
            copied.user_count,
            service.user_count
        );
        let page = target
            .read_page(&read(service.id), None, 1, 1)
            .await?
            .unwrap_or(store::PageSlice {
                generation: 0,
                total_records: 0,
                bodies: Vec::new(),
            });
        ensure!(
            page.total_records == service.user_count,
            "service {}: served total differs",
            service.id
        );
    }
    ensure!(
        target.list_clients().await?.len() >= report.clients,
        "clients missing in the target"
    );
    ensure!(
        target.list_accounts().await?.len() >= report.accounts,
        "console accounts missing in the target"
    );
    ensure!(
        target.signing_keys().await?.len() >= report.signing_keys,
        "signing keys missing in the target"
    );
    ensure!(
        target.list_tasks(&COPY).await?.len() >= report.tasks,
        "tasks missing in the target"
    );
    Ok(())
}
