//! The one-shot subcommands: client administration, import, migrate.

use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context};
use domain::access::SystemScope;
use domain::import::ImportFormat;
use domain::{ClientId, CustomerId, Role};

use crate::cli::ClientAction;
use crate::serve::Installation;

/// Whoever runs the command line has the database and the key file: it acts as rosterd itself,
/// under the same rules as an API caller with the widest scope (a client's customers must
/// exist, for instance).
const CLIENT_CLI: SystemScope = SystemScope::new("rosterd client (command line)");
const IMPORT_CLI: SystemScope = SystemScope::new("rosterd import (command line)");

pub async fn client(installation: &Installation, action: ClientAction) -> anyhow::Result<()> {
    let store = installation.store.as_ref();
    let principal = CLIENT_CLI.principal();
    match action {
        ClientAction::Create {
            name,
            role,
            customers,
            channel,
            external_app_id,
        } => {
            let role: Role = role.parse().map_err(|e| anyhow::anyhow!("--role: {e}"))?;
            let customers = customers
                .iter()
                .map(|c| c.parse::<CustomerId>().map_err(|e| anyhow::anyhow!("--customer: {e}")))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let scope = api::client_admin::scope_from(customers, channel);
            if let Some(app_id) = external_app_id {
                let app_id: ClientId = app_id.parse().map_err(|e| anyhow::anyhow!("--external-app-id: {e}"))?;
                let view =
                    api::client_admin::register_external_client(store, &principal, app_id, &name, role, scope).await?;
                println!("{}", serde_json::to_string_pretty(&view)?);
                return Ok(());
            }
            let created = api::client_admin::create_client(store, &principal, &name, role, scope).await?;
            println!("{}", serde_json::to_string_pretty(&created)?);
        }
        ClientAction::List => {
            let views = api::client_admin::list_clients(store, &principal).await?;
            println!("{}", serde_json::to_string_pretty(&views)?);
        }
        ClientAction::Revoke { client_id } => {
            let id: ClientId = client_id.parse().map_err(|e| anyhow::anyhow!("client id: {e}"))?;
            api::client_admin::revoke_client(store, &principal, id)
                .await
                .with_context(|| format!("revoking client {id}"))?;
            eprintln!("client {id} revoked; its tokens no longer work");
        }
    }
    Ok(())
}

pub async fn import(
    installation: &Installation,
    customer: &str,
    format: Option<&str>,
    file: &Path,
    allow_empty: bool,
) -> anyhow::Result<()> {
    let customer: CustomerId = customer.parse().map_err(|e| anyhow::anyhow!("--customer: {e}"))?;
    let format = match format.map(str::to_ascii_lowercase).as_deref() {
        None => None,
        Some("json") => Some(ImportFormat::Json),
        Some("csv") => Some(ImportFormat::Csv),
        Some(other) => bail!("--format must be json or csv; got '{other}'"),
    };
    let found = installation
        .store
        .find_service(customer)
        .await?
        .with_context(|| format!("customer {customer} does not exist"))?;
    let (grant, service) = IMPORT_CLI
        .principal()
        .authorize::<domain::access::Write>(found)
        .map_err(|e| anyhow::anyhow!("customer {customer}: {e}"))?;
    if !service.license_type.has_end_users() {
        bail!(
            "service type {} has no end-user list: its users are managed in the customer's Teams admin center",
            service.license_type
        );
    }
    let reader: Box<dyn Read + Send> = if file.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?)
    };
    eprintln!("reading users for customer {customer} ...");
    let writer = tokio::task::spawn_blocking(move || api::import::ingest_blocking(format, reader))
        .await?
        .map_err(|e| anyhow::anyhow!("{e}; nothing was changed"))?;
    eprintln!("parsed {} users; committing ...", writer.len());
    let summary = api::import::commit(installation.store.as_ref(), &grant, writer, allow_empty)
        .await
        .map_err(|e| anyhow::anyhow!("{e}; nothing was changed"))?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}
