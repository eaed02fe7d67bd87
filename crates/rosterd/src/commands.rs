//! The one-shot subcommands: client administration and import, through the application layer
//! under a named system scope.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context};
use app::{App, AppConfig, NewClient};
use domain::access::SystemScope;
use domain::import::ImportFormat;
use domain::{ClientId, CustomerId, Role, Scope};
use rosterd::Installation;

use crate::cli::ClientAction;

/// Whoever runs the command line has the database and the key file: it acts as rosterd itself,
/// under the same rules as an API caller with the widest scope (a client's customers must
/// exist, for instance).
const CLIENT_CLI: SystemScope = SystemScope::new("rosterd client (command line)");
const IMPORT_CLI: SystemScope = SystemScope::new("rosterd import (command line)");

/// The application for a command (its token keys are the installation's; it issues none).
pub async fn cli_app(installation: &Installation, engine: Option<sync::Engine>) -> anyhow::Result<Arc<App>> {
    let keys = installation
        .key_ring(rosterd::token_settings("http://localhost", 1), None)
        .await?;
    Ok(installation.app(keys, engine, AppConfig::default()))
}

pub async fn client(app: &App, action: ClientAction) -> anyhow::Result<()> {
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
            let external_app_id = external_app_id
                .map(|id| id.parse::<ClientId>())
                .transpose()
                .map_err(|e| anyhow::anyhow!("--external-app-id: {e}"))?;
            let new = NewClient {
                name,
                role,
                scope: Scope::requested(customers, channel),
                external_app_id,
            };
            let created = app.create_client(&principal, new).await?;
            println!("{}", serde_json::to_string_pretty(&created)?);
        }
        ClientAction::List => {
            let views = app.list_clients(&principal).await?;
            println!("{}", serde_json::to_string_pretty(&views)?);
        }
        ClientAction::Revoke { client_id } => {
            let id: ClientId = client_id.parse().map_err(|e| anyhow::anyhow!("client id: {e}"))?;
            app.revoke_client(&principal, id)
                .await
                .with_context(|| format!("revoking client {id}"))?;
            eprintln!("client {id} revoked; its tokens no longer work");
        }
    }
    Ok(())
}

pub async fn import(
    app: &App,
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
    let import = app
        .begin_import(&IMPORT_CLI.principal(), customer)
        .await
        .with_context(|| format!("customer {customer}"))?;
    let reader: Box<dyn Read + Send> = if file.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?)
    };
    eprintln!("reading users for customer {customer} ...");
    let summary = import
        .from_reader(format, reader, allow_empty)
        .await
        .map_err(|e| anyhow::anyhow!("{e}; nothing was changed"))?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}
