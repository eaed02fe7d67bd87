//! rosterd: the one binary. Parses the command line, sets up logging and dispatches.

mod cli;
mod commands;
mod copy;
mod demo;
mod metrics_listener;
mod progress;
mod serve;
mod sync_wiring;

use std::sync::Arc;

use clap::Parser;
use cli::{Cli, Command, StoreArgs};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_env("ROSTERD_LOG").unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { store, serve, sync } => {
            let shutdown = serve::Shutdown::install()?;
            let installation = serve::open(&store).await?;
            let front_door = serve::front_door(&serve)?;
            let listener = serve::bind(serve.listen).await?;
            let base = serve::public_url(&serve, listener.local_addr()?);
            let sync_config = sync_wiring::sync_config(&sync, &base)?;
            let engine = sync_wiring::engine(&installation, &sync.graph, sync_config)?;
            let keys = serve::key_ring(&installation, &base, &serve).await?;
            let bound = listener.local_addr()?;
            tracing::info!(
                backend = installation.store.backend(),
                "rosterd listening on {base}, bound to {bound}"
            );
            if sync.no_sync {
                tracing::info!("background sync disabled (--no-sync); on-demand syncs still run here");
            } else {
                engine.spawn_scheduler();
            }
            // Debounced rounds run on every replica Graph delivers to; subscriptions are
            // reconciled where the scheduler runs.
            if engine.spawn_notifications(!sync.no_sync).is_some() {
                tracing::info!("Microsoft Graph change notifications on: {base}/graph/notifications");
            }
            let state = serve::app_state(&installation, keys, &serve, Some(engine.clone()))
                .with_connections(Arc::clone(&front_door.stats));
            let metrics = metrics_listener::spawn(serve.metrics_listen, &state, &front_door).await?;
            let served = serve::run(listener, front_door, state, Some(engine), shutdown, &base, &serve).await;
            if let Some(metrics) = metrics {
                metrics.abort();
            }
            served
        }
        Command::Demo {
            database,
            secret_key_file,
            serve,
            graph,
        } => {
            let shutdown = serve::Shutdown::install()?;
            let installation = serve::open(&StoreArgs {
                database,
                secret_key_file,
            })
            .await?;
            let front_door = serve::front_door(&serve)?;
            let listener = serve::bind(serve.listen).await?;
            let base = serve::public_url(&serve, listener.local_addr()?);
            let keys = serve::key_ring(&installation, &base, &serve).await?;
            // The demo tenant is fictional: no background sync loop, but on-demand syncs and
            // connection checks work for customers connected to a real tenant.
            let engine = sync_wiring::engine(&installation, &graph, sync::SyncConfig::default())?;
            let state = serve::app_state(&installation, keys, &serve, Some(engine.clone()))
                .with_connections(Arc::clone(&front_door.stats));
            let client = demo::prepare(&installation, &state.app).await?;
            let account_password = demo::prepare_account(&state.app).await?;
            let client_id = client.client_id.parse()?;
            let token = state.app.keys().issue(client_id, chrono::Utc::now())?;
            println!("rosterd demo is listening on {base}");
            println!(
                "Demo customer {} (short name 'demo', LicenseType 1, 37 users)",
                demo::DEMO_CUSTOMER
            );
            println!(
                "Demo client {} (Admin), secret {}",
                client.client_id, client.client_secret
            );
            println!();
            println!("List page 1 of the demo customer's users:");
            println!();
            println!(
                "curl -s -H 'Authorization: Bearer {}' '{base}/api/v3/customer/{}/user?PageNumber=1&PageSize=10'",
                token.access_token,
                demo::DEMO_CUSTOMER
            );
            println!();
            println!("The token expires in {} s. Get a new one:", token.expires_in);
            println!(
                "curl -s -d grant_type=client_credentials -d client_id={} -d client_secret={} {base}/oauth2/v2.0/token",
                client.client_id, client.client_secret
            );
            println!();
            println!(
                "Web console: {base}/console/ (sign in as '{}', password {})",
                demo::DEMO_ACCOUNT_NAME,
                account_password
            );
            println!();
            println!("Press Ctrl-C to stop.");
            serve::run(listener, front_door, state, Some(engine), shutdown, &base, &serve).await
        }
        Command::Client { store, action } => {
            let installation = serve::open(&store).await?;
            commands::client(&*commands::cli_app(&installation, None).await?, action).await
        }
        Command::Account { store, action } => {
            let installation = serve::open(&store).await?;
            commands::account(&*commands::cli_app(&installation, None).await?, action).await
        }
        Command::Import {
            store,
            customer,
            format,
            allow_empty,
            file,
        } => {
            let installation = serve::open(&store).await?;
            let app = commands::cli_app(&installation, None).await?;
            commands::import(&app, &customer, format.as_deref(), &file, allow_empty).await
        }
        Command::Users {
            store,
            customer,
            search,
            filters,
            page,
            page_size,
            json,
        } => {
            let installation = serve::open(&store).await?;
            let app = commands::cli_app(&installation, None).await?;
            commands::users(&app, &customer, search.as_deref(), &filters, page, page_size, json).await
        }
        Command::Number { store, number, json } => {
            let installation = serve::open(&store).await?;
            let app = commands::cli_app(&installation, None).await?;
            commands::number(&app, &number, json).await
        }
        Command::Export {
            store,
            customer,
            format,
            output,
        } => {
            let installation = serve::open(&store).await?;
            let app = commands::cli_app(&installation, None).await?;
            commands::export(&app, &customer, &format, output.as_deref()).await
        }
        Command::Copy { from, to, force } => copy::run(&from, &to, force).await,
        Command::Sync {
            store,
            graph,
            customer,
            full,
        } => {
            let installation = serve::open(&store).await?;
            sync_wiring::run_once(&installation, &graph, &customer, full).await
        }
        Command::Migrate { store } => {
            let installation = serve::open(&store).await?;
            eprintln!("database schema is up to date ({})", installation.store.backend());
            Ok(())
        }
    }
}
