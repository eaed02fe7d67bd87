//! Opening a SQLite database: URL parsing, connection settings, pools and migrations.

use std::fs::{OpenOptions, Permissions};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use store::{StoreError, StoreResult};
use store_sql::db_error;

use crate::checkpoint::{Checkpointer, JOURNAL_SIZE_LIMIT_BYTES, WRITER_AUTOCHECKPOINT_PAGES};

/// How long a statement waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// Upper bound of concurrent reader connections.
const MAX_READERS: u32 = 8;

/// The database and its `-wal`/`-shm` files hold every customer's users and sealed secrets: they
/// are readable by their owner only (0600), like the key file. Creates the database file that way
/// when `create` and it is missing; tightens an existing file's mode.
fn restrict(path: &Path, create: bool) -> StoreResult<()> {
    let io_error = |e: std::io::Error| StoreError::backend(format!("{}: {e}", path.display()));
    if create && !path.exists() {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(io_error)?;
    }
    match std::fs::metadata(path) {
        Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
            tracing::warn!(file = %path.display(), "the database file was readable by others; restricting it to its owner (0600)");
            std::fs::set_permissions(path, Permissions::from_mode(0o600)).map_err(io_error)
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error(e)),
    }
}

/// The SQLite driver of the SQL core. Cheap to clone: clones share the pools.
///
/// Writes go through a single connection, so writers in this process queue in the pool instead
/// of spinning on SQLite's lock; reads use a separate pool and, thanks to WAL, never wait for the
/// writer. A file database's WAL is checkpointed by a task of its own (see `checkpoint`).
#[derive(Debug, Clone)]
pub struct SqliteDriver {
    pub(crate) writer: SqlitePool,
    pub(crate) readers: SqlitePool,
    checkpointer: Option<Arc<Checkpointer>>,
}

impl SqliteDriver {
    /// Opens (creating it if missing) the database at `url` (`sqlite://path.db`, `sqlite:path.db`
    /// or `sqlite::memory:`) and applies pending migrations.
    pub(crate) async fn open(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::backend(format!("invalid SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let file = (!in_memory).then(|| options.get_filename().to_path_buf());
        if let Some(file) = &file {
            restrict(file, true)?;
        }

        // The writer keeps its connection forever: an in-memory database lives only as long as
        // one connection to it does.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(BUSY_TIMEOUT * 2)
            .connect_with(if in_memory {
                options.clone()
            } else {
                options
                    .clone()
                    .pragma("wal_autocheckpoint", WRITER_AUTOCHECKPOINT_PAGES.to_string())
                    .pragma("journal_size_limit", JOURNAL_SIZE_LIMIT_BYTES.to_string())
            })
            .await
            .map_err(db_error)?;
        sqlx::migrate!("./migrations")
            .run(&writer)
            .await
            .map_err(|e| StoreError::backend(format!("migrating SQLite database: {e}")))?;

        let readers = if in_memory {
            // A shared-cache memory database locks tables between connections; one is simpler.
            writer.clone()
        } else {
            let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
            let max = u32::try_from(cores * 2).unwrap_or(MAX_READERS).clamp(2, MAX_READERS);
            SqlitePoolOptions::new()
                .max_connections(max)
                .acquire_timeout(BUSY_TIMEOUT * 2)
                .connect_with(options.clone().pragma("query_only", "ON"))
                .await
                .map_err(db_error)?
        };
        if let Some(file) = &file {
            // SQLite creates these with the database's mode; files left by an older version may
            // be wider.
            for suffix in ["-wal", "-shm"] {
                let mut name = file.clone().into_os_string();
                name.push(suffix);
                restrict(Path::new(&name), false)?;
            }
        }
        let checkpointer = match in_memory {
            true => None,
            false => Some(Arc::new(Checkpointer::start(&options).await.map_err(db_error)?)),
        };
        Ok(Self {
            writer,
            readers,
            checkpointer,
        })
    }

    /// Closes every connection (WAL checkpoint included); later calls fail.
    pub(crate) async fn close_pools(&self) {
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.stop().await;
        }
        self.readers.close().await;
        self.writer.close().await;
    }
}

#[cfg(test)]
mod tests {
    use domain::access::SystemScope;
    use domain::{CustomerId, LicenseType, NewService, ShortName};
    use store::{ServiceStore, StoreError, StoreInfo};

    use super::*;
    use crate::SqliteStore;

    const SYSTEM: SystemScope = SystemScope::new("sqlite tests");

    fn service(name: &str) -> domain::Authorized<NewService, domain::access::Write> {
        SYSTEM.grant(NewService {
            id: CustomerId::new_random(),
            short_name: ShortName::parse(name).unwrap(),
            full_name: name.to_string(),
            license_type: LicenseType::HostedPro,
            licensed_users_count: None,
            channel_id: None,
            ovoc_customer_type: None,
            tenant_id: None,
            default_domain: None,
            site_locations: Vec::new(),
        })
    }

    /// A database written before storage v2 (migration 0006): its served generation carries
    /// over, pages read the same, and the numbers of the carried users are found.
    #[tokio::test]
    async fn users_stored_before_versions_carry_over() {
        use store::UserStore;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("old.db").display());
        let options = SqliteConnectOptions::from_str(&url).unwrap().create_if_missing(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .unwrap();
        let mut before = sqlx::migrate!("./migrations");
        before.migrations = before
            .migrations
            .iter()
            .filter(|m| m.version < 6)
            .cloned()
            .collect::<Vec<_>>()
            .into();
        before.run(&pool).await.unwrap();
        let customer = "3f2b8c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f";
        sqlx::query(
            "INSERT INTO services (id, short_name, full_name, license_type, generation, next_generation, \
             user_count, created_at) VALUES (?1, 'old', 'Old', 1, 7, 7, 200, 0)",
        )
        .bind(customer)
        .execute(&pool)
        .await
        .unwrap();
        let mut bodies = Vec::new();
        for generation in [6i64, 7] {
            for ordinal in 1..=200i64 {
                let identity = uuid::Uuid::from_u128(ordinal as u128 * 1_000 + 5).to_string();
                let mut user = domain::EndUser::new(identity.parse().unwrap());
                user.line_uri = Some(format!("tel:+1425555{ordinal:04}"));
                user.department = Some(format!("generation {generation}"));
                let body = user.render_json();
                sqlx::query(
                    "INSERT INTO end_users (customer_id, generation, ordinal, identity, fingerprint, body) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .bind(customer)
                .bind(generation)
                .bind(ordinal)
                .bind(&identity)
                .bind(domain::EndUser::fingerprint_of(&body))
                .bind(&body)
                .execute(&pool)
                .await
                .unwrap();
                if generation == 7 {
                    bodies.push(body);
                }
            }
        }
        pool.close().await;

        let store = SqliteStore::connect(&url).await.unwrap();
        let id: CustomerId = customer.parse().unwrap();
        let read = SYSTEM.grant(id).read();
        for (first, limit) in [(1i64, 10i64), (120, 20), (195, 10)] {
            let page = store.read_page(&read, None, first, limit).await.unwrap().unwrap();
            assert_eq!((page.generation, page.total_records), (7, 200));
            let start = first as usize - 1;
            assert_eq!(page.bodies, bodies[start..(start + limit as usize).min(200)].to_vec());
        }
        let owners = store
            .users_with_line_digits(&SYSTEM.principal().visibility(None), "14255550150")
            .await
            .unwrap();
        assert_eq!(owners.len(), 1, "the carried users' numbers are indexed");
        assert_eq!(owners[0].1.body, bodies[149]);
        let info = store.generation_info(&read, 7).await.unwrap().unwrap();
        assert_eq!((info.user_count, info.superseded_at), (200, None));
        assert_eq!(store.stored_generations(&read).await.unwrap(), vec![7]);
    }

    #[tokio::test]
    async fn both_url_forms_create_the_file_and_reopen_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested-name.db");
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        assert!(path.exists());
        store.create_service(&service("kept")).await.unwrap();
        store.close().await;

        // Reopening applies no migration twice and finds the data.
        let again = SqliteStore::connect(&format!("sqlite:{}", path.display()))
            .await
            .unwrap();
        let all = again.list_services(&SYSTEM.principal().visibility(None)).await.unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].short_name, "kept");
    }

    #[tokio::test]
    async fn connections_are_configured() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::connect(&format!("sqlite:{}", dir.path().join("p.db").display()))
            .await
            .unwrap();
        for pool in [&store.driver().writer, &store.driver().readers] {
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(pool).await.unwrap();
            assert_eq!(mode, "wal");
            let sync: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(pool).await.unwrap();
            assert_eq!(sync, 1, "NORMAL");
            let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(pool).await.unwrap();
            assert_eq!(fk, 1);
            let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout").fetch_one(pool).await.unwrap();
            assert_eq!(busy, 30_000);
        }
        let readonly = sqlx::query("DELETE FROM services")
            .execute(&store.driver().readers)
            .await;
        assert!(readonly.is_err(), "reader connections refuse writes");
    }

    #[tokio::test]
    async fn database_files_are_readable_by_their_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("private.db");
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        store.create_service(&service("private")).await.unwrap();
        let mut checked = 0;
        for suffix in ["", "-wal", "-shm"] {
            let file = dir.path().join(format!("private.db{suffix}"));
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", file.display());
            checked += 1;
        }
        assert_eq!(checked, 3);
        store.close().await;

        // A database left world-readable by an older version is tightened when opened.
        std::fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        let again = SqliteStore::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        again.close().await;
    }

    #[tokio::test]
    async fn in_memory_database_works() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        store.create_service(&service("memory")).await.unwrap();
        assert_eq!(
            store
                .list_services(&SYSTEM.principal().visibility(None))
                .await
                .unwrap()
                .len(),
            1
        );
        store.ping().await.unwrap();
    }

    #[tokio::test]
    async fn bad_urls_are_backend_errors() {
        let bad = SqliteStore::connect("sqlite://x.db?mode=bogus").await;
        assert!(matches!(bad, Err(StoreError::Backend(_))), "{bad:?}");
        let dir = tempfile::tempdir().unwrap();
        let missing_dir = format!("sqlite://{}/no/such/dir/x.db", dir.path().display());
        assert!(matches!(
            SqliteStore::connect(&missing_dir).await,
            Err(StoreError::Backend(_))
        ));
    }
}
