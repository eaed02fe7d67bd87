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
        default_value = "sqlite://rosterd.db",
        global = true
    )]
    pub database: String,
    /// File holding the key that seals secrets at rest (created, mode 0600, when missing).
    #[arg(
        long = "secret-key-file",
        env = "ROSTERD_SECRET_KEY_FILE",
        default_value = "rosterd.key",
        global = true
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
    /// Also accept tokens of this external issuer (Entra ID), e.g.
    /// https://login.microsoftonline.com/{provider-tenant}/v2.0 — the exact `iss` of its tokens.
    #[arg(long = "external-issuer", env = "ROSTERD_EXTERNAL_ISSUER")]
    pub external_issuer: Option<String>,
    /// The `aud` the external issuer's tokens must carry (the provider app's ID URI or client id).
    #[arg(long = "external-audience", env = "ROSTERD_EXTERNAL_AUDIENCE")]
    pub external_audience: Option<String>,
    /// Where the external issuer publishes its keys, e.g.
    /// https://login.microsoftonline.com/{provider-tenant}/discovery/v2.0/keys
    #[arg(long = "external-jwks-url", env = "ROSTERD_EXTERNAL_JWKS_URL")]
    pub external_jwks_url: Option<String>,
    /// Memory for rendered pages, in MiB (0 disables the cache).
    #[arg(long = "page-cache-mb", env = "ROSTERD_PAGE_CACHE_MB", default_value_t = 256)]
    pub page_cache_mb: usize,
    /// Milliseconds the read path reuses a client record or service row it read (at most
    /// 1000; 0 reads them on every request). Changes made through this replica are seen at
    /// once, through another replica within this time.
    #[arg(long = "record-ttl-ms", env = "ROSTERD_RECORD_TTL_MS", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(0..=1000))]
    pub record_ttl_ms: u64,
    /// Client records and service rows kept for --record-ttl-ms, at most (each kind; about
    /// 1 KiB each).
    #[arg(
        long = "record-cache-entries",
        env = "ROSTERD_RECORD_CACHE_ENTRIES",
        default_value_t = 100_000
    )]
    pub record_cache_entries: u64,
    /// Users held in the in-memory search indexes, over every customer (about 120 bytes each;
    /// least recently used customer out first); a larger customer is indexed for each search.
    #[arg(
        long = "search-index-users",
        env = "ROSTERD_SEARCH_INDEX_USERS",
        default_value_t = 2_000_000
    )]
    pub search_index_users: usize,
    /// Seconds a superseded generation of a customer's users stays readable for clients that
    /// page through it (`Generation=N`) or ask what changed since it (`Since=N`); then it is
    /// reclaimed and such requests get 410 generation_expired.
    #[arg(
        long = "generation-retention",
        env = "ROSTERD_GENERATION_RETENTION_SECS",
        default_value_t = 900,
        value_parser = clap::value_parser!(u64).range(0..=7 * 24 * 3600)
    )]
    pub generation_retention_secs: u64,
    /// Lifetime of issued access tokens, in seconds.
    #[arg(long = "token-lifetime", env = "ROSTERD_TOKEN_LIFETIME_SECS", default_value_t = 3599)]
    pub token_lifetime_secs: u64,
    /// User imports (PUT .../user) this process runs at once; more get 429 import_busy.
    #[arg(
        long = "max-concurrent-imports",
        env = "ROSTERD_MAX_CONCURRENT_IMPORTS",
        default_value_t = 2
    )]
    pub max_concurrent_imports: usize,
    /// User exports (GET .../user/export) this process streams at once; more get 429
    /// export_busy.
    #[arg(
        long = "max-concurrent-exports",
        env = "ROSTERD_MAX_CONCURRENT_EXPORTS",
        default_value_t = 4
    )]
    pub max_concurrent_exports: usize,
    /// Also serve /metrics, without a token, on this address (for a scraper on a private
    /// network); on the main address /metrics needs a provider-scoped client's token.
    #[arg(long = "metrics-listen", env = "ROSTERD_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Seconds /metrics reuses its installation-wide gauges before reading them again.
    #[arg(long = "metrics-refresh", env = "ROSTERD_METRICS_REFRESH_SECS", default_value_t = 15)]
    pub metrics_refresh_secs: u64,
    /// Failed token requests allowed per client id and per source address before 429
    /// (AADSTS50196) for the rest of the window; 0 turns the limit off.
    #[arg(
        long = "token-failure-limit",
        env = "ROSTERD_TOKEN_FAILURE_LIMIT",
        default_value_t = 10
    )]
    pub token_failure_limit: u32,
    /// Seconds in which a burst of failed token requests drains again.
    #[arg(
        long = "token-failure-window",
        env = "ROSTERD_TOKEN_FAILURE_WINDOW_SECS",
        default_value_t = 60
    )]
    pub token_failure_window_secs: u64,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub limits: ConnectionLimitArgs,
}

/// HTTPS served by rosterd itself.
#[derive(Debug, Clone, Args)]
pub struct TlsArgs {
    /// PEM certificate chain (leaf first) to serve HTTPS with; re-read when the file changes.
    #[arg(long = "tls-cert", env = "ROSTERD_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long = "tls-key", env = "ROSTERD_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

/// How much of the server one client may hold, and for how long.
#[derive(Debug, Clone, Args)]
pub struct ConnectionLimitArgs {
    /// Open connections at most (lowered at start to fit the open-files limit); one more is
    /// answered 503 and closed.
    #[arg(long = "max-connections", env = "ROSTERD_MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: usize,
    /// Seconds a client has to send a request's header (and finish the TLS handshake).
    #[arg(
        long = "header-read-timeout",
        env = "ROSTERD_HEADER_READ_TIMEOUT_SECS",
        default_value_t = 10
    )]
    pub header_read_timeout_secs: u64,
    /// Seconds a keep-alive connection may wait for its next request.
    #[arg(long = "idle-timeout", env = "ROSTERD_IDLE_TIMEOUT_SECS", default_value_t = 60)]
    pub idle_timeout_secs: u64,
    /// Seconds any request but a streamed upload has to produce its answer.
    #[arg(long = "request-timeout", env = "ROSTERD_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// Seconds a streamed upload or download may go without a byte moving.
    #[arg(long = "stall-timeout", env = "ROSTERD_STALL_TIMEOUT_SECS", default_value_t = 60)]
    pub stall_timeout_secs: u64,
}

/// Where Microsoft Graph and Entra live, and how patient to be with them.
#[derive(Debug, Clone, Args)]
pub struct GraphArgs {
    /// Microsoft Graph base URL (national clouds: https://graph.microsoft.us, ...).
    #[arg(long = "graph-url", env = "ROSTERD_GRAPH_URL", default_value = graph::DEFAULT_GRAPH_URL)]
    pub graph_url: String,
    /// Entra authority that issues tokens for customer tenants.
    #[arg(long = "login-url", env = "ROSTERD_LOGIN_URL", default_value = graph::DEFAULT_LOGIN_URL)]
    pub login_url: String,
    /// Longest Retry-After honoured when Graph throttles (429/503), in seconds; longer requests
    /// are capped to this.
    #[arg(
        long = "max-retry-after",
        env = "ROSTERD_MAX_RETRY_AFTER_SECS",
        default_value_t = 300
    )]
    pub max_retry_after_secs: u64,
    /// Timeout of one Graph or token request, in seconds.
    #[arg(long = "graph-timeout", env = "ROSTERD_GRAPH_TIMEOUT_SECS", default_value_t = 60)]
    pub graph_timeout_secs: u64,
    /// Further attempts of a Graph request after a transient failure (throttling, 5xx, timeout).
    #[arg(long = "graph-retries", env = "ROSTERD_GRAPH_RETRIES", default_value_t = 6)]
    pub graph_retries: u32,
}

/// The background sync loop of `serve`.
#[derive(Debug, Clone, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub graph: GraphArgs,
    /// Seconds between quick (delta) syncs of each connected customer.
    #[arg(long = "sync-interval", env = "ROSTERD_SYNC_INTERVAL_SECS", default_value_t = 300)]
    pub sync_interval_secs: u64,
    /// Seconds between full reconciliations of each customer.
    #[arg(
        long = "full-sync-interval",
        env = "ROSTERD_FULL_SYNC_INTERVAL_SECS",
        default_value_t = 86_400
    )]
    pub full_sync_interval_secs: u64,
    /// Seconds a replica's claim on a customer lasts without renewal (renewed while its sync
    /// runs); after a crash, another replica takes the customer over once it expires.
    #[arg(long = "sync-lease", env = "ROSTERD_SYNC_LEASE_SECS", default_value_t = 600)]
    pub sync_lease_secs: u64,
    /// Customers synced at once by this process.
    #[arg(long = "sync-concurrency", env = "ROSTERD_SYNC_CONCURRENCY", default_value_t = 4)]
    pub sync_concurrency: usize,
    /// Run no background sync loop (a read replica, or syncs run elsewhere); on-demand syncs
    /// and connection checks still work.
    #[arg(long = "no-sync", env = "ROSTERD_NO_SYNC", value_parser = clap::builder::FalseyValueParser::new())]
    pub no_sync: bool,
    /// Subscribe to Microsoft Graph change notifications for every connected customer, so a
    /// change in a tenant is served within a minute; needs `--public-url` to be the public
    /// https:// URL Graph delivers to (`/graph/notifications`, `/graph/lifecycle`).
    #[arg(
        long = "graph-notifications",
        env = "ROSTERD_GRAPH_NOTIFICATIONS",
        value_parser = clap::builder::FalseyValueParser::new()
    )]
    pub graph_notifications: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve {
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        serve: ServeArgs,
        #[command(flatten)]
        sync: SyncArgs,
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
        #[command(flatten)]
        graph: GraphArgs,
    },
    /// Manage API clients.
    Client {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        action: ClientAction,
    },
    /// Manage web console accounts (people signing in at /console/).
    Account {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        action: AccountAction,
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
    /// Write a customer's users to a file or standard output: CSV as Export-Csv writes it (which
    /// `rosterd import` and PUT .../user read back), NDJSON or a JSON array; progress on stderr.
    Export {
        #[command(flatten)]
        store: StoreArgs,
        /// The customer's UmpCustomerGuid.
        #[arg(long)]
        customer: String,
        /// csv, ndjson or json.
        #[arg(long, default_value = "csv")]
        format: String,
        /// The file to write ('-' or absent: standard output). Written under a temporary name
        /// (mode 0600) and renamed once complete, so a failed export leaves no file behind.
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
    },
    /// Copy a whole installation (services, users, clients, keys, tasks) into another database.
    Copy {
        /// Source database URL.
        #[arg(long)]
        from: String,
        /// Target database URL (created and migrated; must be empty unless --force).
        #[arg(long)]
        to: String,
        /// Copy into a target that already holds data (existing records are updated).
        #[arg(long)]
        force: bool,
    },
    /// Sync one customer's users from Microsoft Graph now, showing progress; prints a JSON
    /// summary and exits non-zero when the sync fails.
    Sync {
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        graph: GraphArgs,
        /// The customer's UmpCustomerGuid.
        #[arg(long)]
        customer: String,
        /// Read the whole tenant instead of the changes since the last sync.
        #[arg(long)]
        full: bool,
    },
    /// List a customer's users, searched and filtered like the API's user list: a table, or
    /// the API's JSON page with --json.
    Users {
        #[command(flatten)]
        store: StoreArgs,
        /// The customer's UmpCustomerGuid.
        #[arg(long)]
        customer: String,
        /// Case-insensitive text in the name, UPN or SIP address, or digits of the number.
        #[arg(long)]
        search: Option<String>,
        /// NAME=VALUE, exact and case-insensitive (repeatable): EnterpriseVoiceEnabled,
        /// HasLineUri, UserType, MsInterpretedUserType, UsageLocation, Department,
        /// OnlineVoiceRoutingPolicy.
        #[arg(long = "filter")]
        filters: Vec<String>,
        /// Page to show.
        #[arg(long, default_value_t = 1)]
        page: i64,
        /// Users per page (2 to 10000).
        #[arg(long = "page-size", default_value_t = 100)]
        page_size: i64,
        /// Print the API's JSON page instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Who owns a telephone number, in any customer: +14255550123, tel:+14255550123;ext=1, ...
    Number {
        #[command(flatten)]
        store: StoreArgs,
        number: String,
        /// Print the API's JSON instead of lines.
        #[arg(long)]
        json: bool,
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
        /// Register the app id (`azp`/`appid`) of an external issuer's tokens (Entra) instead of
        /// creating a secret: its tokens are then accepted with this role and scope.
        #[arg(long = "external-app-id")]
        external_app_id: Option<String>,
    },
    /// List clients (never their secrets).
    List,
    /// Revoke a client: its tokens stop working at once.
    Revoke { client_id: String },
}

#[derive(Debug, Subcommand)]
pub enum AccountAction {
    /// Create a console account with the password read from standard input.
    Create {
        #[arg(long)]
        name: String,
        /// Admin, Operator or Monitor.
        #[arg(long)]
        role: String,
        /// Limit the account to this customer (repeatable).
        #[arg(long = "customer")]
        customers: Vec<String>,
        /// Limit the account to one channel.
        #[arg(long)]
        channel: Option<i64>,
        /// Read the password from standard input (its first line); required, so that a password
        /// never appears in the process list or the shell history.
        #[arg(long = "password-stdin", required = true)]
        password_stdin: bool,
    },
    /// List console accounts (never their password hashes).
    List,
    /// Disable an account: it cannot sign in, and its sessions end at once.
    Disable { name: String },
    /// Set an account's password (read from standard input); its sessions end.
    Password {
        name: String,
        #[arg(long = "password-stdin", required = true)]
        password_stdin: bool,
    },
}
