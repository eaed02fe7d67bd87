//! The sync engine inside the binary: the Graph client and engine settings from the command
//! line, and `rosterd sync`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use domain::access::SystemScope;
use domain::CustomerId;
use graph::{GraphClient, GraphConfig};
use rosterd::Installation;
use store::TaskStatus;
use sync::{Engine, NotificationConfig, StderrProgress, SyncConfig, SystemClock};

use crate::cli::{GraphArgs, SyncArgs};

const SYNC_CLI: SystemScope = SystemScope::new("rosterd sync (command line)");

fn graph_client(args: &GraphArgs) -> anyhow::Result<GraphClient> {
    if args.graph_timeout_secs == 0 {
        bail!("--graph-timeout must be at least 1 second");
    }
    let config = GraphConfig {
        graph_url: args.graph_url.clone(),
        login_url: args.login_url.clone(),
        max_retry_after: Duration::from_secs(args.max_retry_after_secs),
        request_timeout: Duration::from_secs(args.graph_timeout_secs),
        max_retries: args.graph_retries,
        ..GraphConfig::default()
    };
    GraphClient::new(config)
        .context("configuring the Microsoft Graph client (--graph-url, --login-url, --max-retry-after)")
}

/// The engine's settings from `serve`'s flags; `public_url` is where Graph delivers change
/// notifications when they are on.
pub fn sync_config(args: &SyncArgs, public_url: &str) -> anyhow::Result<SyncConfig> {
    if args.sync_interval_secs == 0 || args.full_sync_interval_secs == 0 {
        bail!("--sync-interval and --full-sync-interval must be at least 1 second");
    }
    if args.sync_lease_secs < 3 {
        bail!("--sync-lease must be at least 3 seconds");
    }
    if args.sync_concurrency == 0 {
        bail!("--sync-concurrency must be at least 1");
    }
    let notifications = if args.graph_notifications {
        Some(notification_config(public_url)?)
    } else {
        None
    };
    Ok(SyncConfig {
        notifications,
        interval: Duration::from_secs(args.sync_interval_secs),
        full_interval: Duration::from_secs(args.full_sync_interval_secs),
        max_concurrent: args.sync_concurrency,
        lease: Duration::from_secs(args.sync_lease_secs),
        ..SyncConfig::default()
    })
}

/// Change notifications to `{public_url}/graph/...`: Graph delivers only to a public HTTPS URL,
/// so anything else is refused (plain `http` only to a loopback host, for tests and local fakes).
fn notification_config(public_url: &str) -> anyhow::Result<NotificationConfig> {
    let url = url::Url::parse(public_url).with_context(|| format!("--public-url {public_url}"))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
        bail!(
            "--graph-notifications needs --public-url to be the public https:// URL Microsoft Graph can reach \
             (it delivers notifications only over HTTPS); got {public_url}"
        );
    }
    Ok(NotificationConfig::new(public_url))
}

pub fn engine(installation: &Installation, graph: &GraphArgs, config: SyncConfig) -> anyhow::Result<Engine> {
    Engine::new(
        installation.store.clone(),
        graph_client(graph)?,
        Arc::clone(&installation.secret_key),
        Arc::new(SystemClock),
        config,
    )
    .context("starting the sync engine")
}

/// `rosterd sync --customer GUID [--full]`: one sync in the foreground, progress on stderr,
/// the JSON summary on stdout.
pub async fn run_once(
    installation: &Installation,
    graph: &GraphArgs,
    customer: &str,
    full: bool,
) -> anyhow::Result<()> {
    let customer: CustomerId = customer.parse().map_err(|e| anyhow::anyhow!("--customer: {e}"))?;
    // The command line acts as rosterd itself: it has the database and the key file anyway.
    let engine = engine(installation, graph, SyncConfig::default())?;
    let app = crate::commands::cli_app(installation, Some(engine.clone())).await?;
    let mut sync = tokio::spawn(async move {
        app.run_sync(&SYNC_CLI.principal(), customer, full, Some(Arc::new(StderrProgress)))
            .await
    });
    let finished = tokio::select! {
        finished = &mut sync => finished,
        _ = tokio::signal::ctrl_c() => {
            // Stop at a safe point, so nothing is half-written and the lease is released
            // instead of blocking other syncs of the customer until it expires.
            eprintln!("interrupted; stopping the sync");
            engine.shutdown().await;
            sync.await
        }
    };
    let outcome = finished
        .context("the sync task ended abnormally")?
        .with_context(|| format!("cannot sync customer {customer}"))?;
    let summary = serde_json::json!({
        "taskId": outcome.task_id,
        "status": outcome.status.as_str(),
        "report": outcome.report,
        "error": outcome.error,
    });
    println!("{}", serde_json::to_string_pretty(&summary)?);
    if outcome.status != TaskStatus::CompletedSuccess {
        bail!(
            "sync failed: {}; the previous users stay served",
            outcome.error.as_deref().unwrap_or("unknown error")
        );
    }
    Ok(())
}
