//! The command line: every subcommand and flag, with their environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "rosterd",
    version,
    about = "Microsoft 365 users of every customer tenant, through the Live Platform v3 API"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Where the data lives; every command takes it.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Database URL: sqlite://FILE (embedded) or postgres://USER@HOST/DB.
    #[arg(
        long = "database",
        env = "ROSTERD_DATABASE_URL",
        default_value = "sqlite://rosterd.db"
    )]
    pub database: String,
    /// File holding the key that seals secrets at rest (created, mode 0600, when missing).
    #[arg(
        long = "secret-key-file",
        env = "ROSTERD_SECRET_KEY_FILE",
        default_value = "rosterd.key"
    )]
    pub secret_key_file: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "ROSTERD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The URL clients use to reach this server (token issuer); defaults to http://LISTEN.
    #[arg(long = "public-url", env = "ROSTERD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Largest accepted user import body, in bytes.
    #[arg(long = "max-import-bytes", env = "ROSTERD_MAX_IMPORT_BYTES", default_value_t = 1 << 30)]
    pub max_import_bytes: u64,
    /// Lifetime of issued access tokens, in seconds.
    #[arg(long = "token-lifetime", env = "ROSTERD_TOKEN_LIFETIME_SECS", default_value_t = 3599)]
    pub token_lifetime_secs: u64,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve {
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Run the server with a demo customer of 37 users and print a ready-to-paste request.
    Demo {
        #[arg(
            long = "database",
            env = "ROSTERD_DATABASE_URL",
            default_value = "sqlite://rosterd-demo.db"
        )]
        database: String,
        #[arg(
            long = "secret-key-file",
            env = "ROSTERD_SECRET_KEY_FILE",
            default_value = "rosterd.key"
        )]
        secret_key_file: PathBuf,
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Manage API clients.
    Client {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        action: ClientAction,
    },
    /// Replace a customer's users from a file (Live Platform JSON, Get-CsOnlineUser JSON or CSV).
    Import {
        #[command(flatten)]
        store: StoreArgs,
        /// The customer's UmpCustomerGuid.
        #[arg(long)]
        customer: String,
        /// json or csv; guessed from the content when absent.
        #[arg(long)]
        format: Option<String>,
        /// Accept a file with no users (removes every user of the customer).
        #[arg(long = "allow-empty")]
        allow_empty: bool,
        /// The file to load ('-' for standard input).
        file: PathBuf,
    },
    /// Create or upgrade the database schema, then exit.
    Migrate {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientAction {
    /// Create a client; prints its id and secret (shown only this once).
    Create {
        #[arg(long)]
        name: String,
        /// Admin, Operator or Monitor.
        #[arg(long)]
        role: String,
        /// Limit the client to this customer (repeatable).
        #[arg(long = "customer")]
        customers: Vec<String>,
        /// Limit the client to one channel.
        #[arg(long)]
        channel: Option<i64>,
    },
    /// List clients (never their secrets).
    List,
    /// Revoke a client: its tokens stop working at once.
    Revoke { client_id: String },
}
