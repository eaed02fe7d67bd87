//! rosterd: the one binary. Parses the command line, sets up logging and dispatches.

mod backend;
mod cli;
mod commands;
mod demo;
mod serve;

use clap::Parser;
use cli::{Cli, Command, StoreArgs};
use serve::Installation;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_env("ROSTERD_LOG").unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
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
        Command::Serve { store, serve } => {
            let installation = Installation::open(&store).await?;
            let listener = serve::bind(serve.listen).await?;
            let base = serve::public_url(&serve, listener.local_addr()?);
            let keys = installation.key_ring(&base, &serve).await?;
            tracing::info!(backend = installation.store.backend(), "rosterd listening on {base}");
            serve::run(listener, serve::app_state(&installation, keys, &serve)).await
        }
        Command::Demo {
            database,
            secret_key_file,
            serve,
        } => {
            let installation = Installation::open(&StoreArgs {
                database,
                secret_key_file,
            })
            .await?;
            let listener = serve::bind(serve.listen).await?;
            let base = serve::public_url(&serve, listener.local_addr()?);
            let keys = installation.key_ring(&base, &serve).await?;
            let sealer = std::sync::Arc::clone(&installation.secret_key);
            let client = demo::prepare(&installation.store, |plain| {
                sealer.seal(plain).map_err(anyhow::Error::from)
            })
            .await?;
            let client_id = client.client_id.parse()?;
            let token = keys.issue(client_id, chrono::Utc::now())?;
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
            println!("Press Ctrl-C to stop.");
            serve::run(listener, serve::app_state(&installation, keys, &serve)).await
        }
        Command::Client { store, action } => {
            let installation = Installation::open(&store).await?;
            commands::client(&installation, action).await
        }
        Command::Import {
            store,
            customer,
            format,
            file,
        } => {
            let installation = Installation::open(&store).await?;
            commands::import(&installation, &customer, format.as_deref(), &file, allow_empty).await
        }
        Command::Migrate { store } => {
            let installation = Installation::open(&store).await?;
            eprintln!("database schema is up to date ({})", installation.store.backend());
            Ok(())
        }
    }
}
