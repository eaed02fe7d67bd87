//! The one-shot subcommands: client and console account administration, import and export,
//! through the application layer under a named system scope.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context};
use app::{App, AppConfig, NewAccount, NewClient};
use domain::access::SystemScope;
use domain::import::ImportFormat;
use domain::{ClientId, CustomerId, ExportFormat, PageRequest, Role, Scope, UserQuery};
use futures::StreamExt;
use rosterd::Installation;

use crate::cli::{AccountAction, ClientAction};
use crate::progress::{Progress, ReadProgress, Unit};

/// Whoever runs the command line has the database and the key file: it acts as rosterd itself,
/// under the same rules as an API caller with the widest scope (a client's customers must
/// exist, for instance).
const CLIENT_CLI: SystemScope = SystemScope::new("rosterd client (command line)");
const ACCOUNT_CLI: SystemScope = SystemScope::new("rosterd account (command line)");
const IMPORT_CLI: SystemScope = SystemScope::new("rosterd import (command line)");
const USERS_CLI: SystemScope = SystemScope::new("rosterd users (command line)");
const NUMBER_CLI: SystemScope = SystemScope::new("rosterd number (command line)");
const EXPORT_CLI: SystemScope = SystemScope::new("rosterd export (command line)");

/// Files at least this large show their import's progress (smaller ones are read at once).
const IMPORT_PROGRESS_FROM_BYTES: u64 = 1 << 20;

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
            let (role, scope) = role_and_scope(&role, &customers, channel)?;
            let external_app_id = external_app_id
                .map(|id| id.parse::<ClientId>())
                .transpose()
                .map_err(|e| anyhow::anyhow!("--external-app-id: {e}"))?;
            let new = NewClient {
                name,
                role,
                scope,
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

/// The role and scope the `--role`, `--customer` and `--channel` flags name.
fn role_and_scope(role: &str, customers: &[String], channel: Option<i64>) -> anyhow::Result<(Role, Scope)> {
    let role: Role = role.parse().map_err(|e| anyhow::anyhow!("--role: {e}"))?;
    let customers = customers
        .iter()
        .map(|c| c.parse::<CustomerId>().map_err(|e| anyhow::anyhow!("--customer: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok((role, Scope::requested(customers, channel)))
}

/// The first line of standard input, without its line ending.
fn password_from_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        bail!("no password on standard input");
    }
    Ok(password)
}

pub async fn account(app: &App, action: AccountAction) -> anyhow::Result<()> {
    let principal = ACCOUNT_CLI.principal();
    match action {
        AccountAction::Create {
            name,
            role,
            customers,
            channel,
            password_stdin: _,
        } => {
            let (role, scope) = role_and_scope(&role, &customers, channel)?;
            let password = password_from_stdin()?;
            let created = app
                .create_account(&principal, NewAccount { name, role, scope }, password)
                .await?;
            println!("{}", serde_json::to_string_pretty(&created)?);
        }
        AccountAction::List => {
            let accounts = app.list_accounts(&principal).await?;
            println!("{}", serde_json::to_string_pretty(&accounts)?);
        }
        AccountAction::Disable { name } => {
            app.disable_account(&principal, &name)
                .await
                .with_context(|| format!("disabling account {name}"))?;
            eprintln!("account {name} disabled; its sessions have ended");
        }
        AccountAction::Password {
            name,
            password_stdin: _,
        } => {
            let password = password_from_stdin()?;
            app.set_account_password(&principal, &name, password)
                .await
                .with_context(|| format!("setting the password of account {name}"))?;
            eprintln!("password of account {name} changed; its sessions have ended");
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
    let (reader, size): (Box<dyn Read + Send>, Option<u64>) = if file.as_os_str() == "-" {
        (Box::new(std::io::stdin()), None)
    } else {
        let opened = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
        let size = opened.metadata().ok().map(|m| m.len());
        (Box::new(opened), size)
    };
    eprintln!("reading users for customer {customer} ...");
    let reader: Box<dyn Read + Send> = match size {
        Some(size) if size < IMPORT_PROGRESS_FROM_BYTES => reader,
        _ => Box::new(ReadProgress::new(reader, Progress::new("import", size, Unit::Bytes))),
    };
    let summary = import
        .from_reader(format, reader, allow_empty)
        .await
        .map_err(|e| anyhow::anyhow!("{e}; nothing was changed"))?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}

/// `rosterd users`: a page of a customer's users, searched and filtered as the API does.
pub async fn users(
    app: &App,
    customer: &str,
    search: Option<&str>,
    filters: &[String],
    page: i64,
    page_size: i64,
    json: bool,
) -> anyhow::Result<()> {
    let customer: CustomerId = customer.parse().map_err(|e| anyhow::anyhow!("--customer: {e}"))?;
    let mut pairs = Vec::with_capacity(filters.len());
    for filter in filters {
        let (name, value) = filter
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--filter must be NAME=VALUE; got '{filter}'"))?;
        pairs.push((name.trim().to_string(), value.to_string()));
    }
    let query = UserQuery::from_pairs(search, &pairs).map_err(|e| anyhow::anyhow!("{}: {e}", e.parameter))?;
    let request = PageRequest::new(page, page_size).map_err(|e| {
        let flag = match e {
            domain::PagingError::PageNumber(_) => "--page",
            domain::PagingError::PageSize(_) => "--page-size",
        };
        anyhow::anyhow!("{flag}: {e}")
    })?;
    let principal = USERS_CLI.principal();
    let body = if query.is_empty() {
        app.users_page(&principal, customer, request).await?.body().await?.1
    } else {
        app.find_users(&principal, customer, &query, request).await?.body
    };
    if json {
        println!("{}", String::from_utf8_lossy(&body));
        return Ok(());
    }
    let page: serde_json::Value = serde_json::from_slice(&body)?;
    print!("{}", users_table(&page));
    Ok(())
}

/// The page as a table a person reads: the fields a support desk looks at first.
fn users_table(page: &serde_json::Value) -> String {
    const COLUMNS: [(&str, &str); 7] = [
        ("Identity", "IDENTITY"),
        ("WebName", "NAME"),
        ("UserPrincipalName", "UPN"),
        ("LineURI", "LINE URI"),
        ("EnterpriseVoiceEnabled", "VOICE"),
        ("OnlineVoiceRoutingPolicy", "ROUTING POLICY"),
        ("Department", "DEPARTMENT"),
    ];
    let cell = |user: &serde_json::Value, key: &str| -> String {
        let text = match &user[key] {
            serde_json::Value::Null => String::new(),
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        // One line per user, whatever a name holds.
        text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
    };
    let users = page["data"].as_array().cloned().unwrap_or_default();
    let rows: Vec<Vec<String>> = users
        .iter()
        .map(|u| COLUMNS.iter().map(|(key, _)| cell(u, key)).collect())
        .collect();
    let widths: Vec<usize> = COLUMNS
        .iter()
        .enumerate()
        .map(|(i, (_, title))| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([title.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}", w = *w))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(COLUMNS.iter().map(|(_, t)| t.to_string()).collect());
    for row in rows {
        out.push_str(&line(row));
    }
    let total = page["totalRecords"].as_i64().unwrap_or(0);
    let (number, pages) = (
        page["currentPage"].as_i64().unwrap_or(1),
        page["totalPages"].as_i64().unwrap_or(0),
    );
    out.push_str(&format!(
        "{} of {total} users (page {number} of {pages}{})\n",
        users.len(),
        if number < pages { "; --page for more" } else { "" }
    ));
    out
}

/// `rosterd number`: the owner of a number, across every customer.
pub async fn number(app: &App, number: &str, json: bool) -> anyhow::Result<()> {
    let owner = app.number_owner(&NUMBER_CLI.principal(), None, number).await?;
    if json {
        println!("{}", owner.to_json());
        return Ok(());
    }
    let user: serde_json::Value = serde_json::from_str(&owner.user)?;
    let text = |key: &str| user[key].as_str().unwrap_or("").to_string();
    println!("number    {}", owner.number);
    println!("customer  {} ({})", owner.customer_short_name, owner.customer);
    println!("user      {} <{}>", text("WebName"), text("UserPrincipalName"));
    println!("identity  {}", text("Identity"));
    println!("line      {}", text("LineURI"));
    println!("sip       {}", text("SipAddress"));
    println!("voice     {}", user["EnterpriseVoiceEnabled"]);
    println!("policy    {}", text("OnlineVoiceRoutingPolicy"));
    Ok(())
}

/// Writes a customer's users to `output` (standard output when absent or `-`), with progress on
/// standard error. A file is written under a temporary name next to it (mode 0600: it holds
/// personal data) and renamed once complete; a failed export removes it.
pub async fn export(app: &App, customer: &str, format: &str, output: Option<&Path>) -> anyhow::Result<()> {
    let customer: CustomerId = customer.parse().map_err(|e| anyhow::anyhow!("--customer: {e}"))?;
    let format = ExportFormat::parse(format)
        .ok_or_else(|| anyhow::anyhow!("--format must be csv, ndjson or json; got '{format}'"))?;
    let output = output.filter(|path| path.as_os_str() != "-");
    let mut file = match output {
        Some(path) => {
            let dir = match path.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent,
                _ => Path::new("."),
            };
            Some(
                tempfile::Builder::new()
                    .prefix(".rosterd-export-")
                    .tempfile_in(dir)
                    .with_context(|| format!("creating a file in {}", dir.display()))?,
            )
        }
        None => None,
    };
    let export = app
        .export_users(&EXPORT_CLI.principal(), customer, format)
        .await
        .with_context(|| format!("customer {customer}"))?;
    eprintln!(
        "exporting generation {} of customer {customer}: {} users as {format}",
        export.generation, export.user_count
    );
    let mut progress = Progress::new("export", Some(export.user_count.max(0) as u64), Unit::Users);
    let stdout = std::io::stdout();
    let mut sink: Box<dyn Write> = match &mut file {
        Some(file) => Box::new(std::io::BufWriter::with_capacity(1 << 20, file.as_file_mut())),
        None => Box::new(std::io::BufWriter::with_capacity(1 << 20, stdout.lock())),
    };
    let mut chunks = std::pin::pin!(export.into_chunks());
    while let Some(chunk) = chunks.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(error) => {
                progress.abandon();
                bail!(
                    "{error}; the export is incomplete{}",
                    if output.is_some() { " and was not written" } else { "" }
                );
            }
        };
        sink.write_all(&chunk.bytes).context("writing the export")?;
        progress.set(chunk.users);
    }
    sink.flush().context("writing the export")?;
    drop(sink);
    if let (Some(file), Some(path)) = (file, output) {
        file.as_file().sync_all().context("writing the export")?;
        file.persist(path)
            .with_context(|| format!("renaming the export to {}", path.display()))?;
    }
    progress.finish(&match output {
        Some(path) => format!("written to {}", path.display()),
        None => "written to standard output".to_string(),
    });
    Ok(())
}
