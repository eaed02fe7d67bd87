//! WAL checkpoints on their own connection, beside the writer instead of inside its commits.
//!
//! By default SQLite checkpoints in the connection that commits, once the WAL passes 1,000
//! pages: a generation of 100,000 users (about 220 MB) then paid for copying its pages into the
//! database file inside its own commit, about 40% of the commit's time. Here the writer only
//! appends to the WAL, and this task copies the pages back with `PASSIVE` checkpoints (which
//! never block the writer or a reader) on a connection of its own, so both run at once on two
//! cores. The writer keeps a far automatic checkpoint as a backstop, so the WAL stays bounded
//! even if this task falls behind.

use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions as _, Connection as _};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often the WAL is copied back while the store is open. An idle checkpoint only reads the
/// WAL index header.
const INTERVAL: Duration = Duration::from_millis(100);

/// WAL pages after which the committing connection checkpoints by itself: the backstop for a
/// checkpointer that cannot keep up (a 1 GiB WAL at the default 4 KiB page).
pub(crate) const WRITER_AUTOCHECKPOINT_PAGES: u32 = 262_144;

/// Bytes a WAL file keeps after it has been reset; a large generation may have grown it.
pub(crate) const JOURNAL_SIZE_LIMIT_BYTES: u64 = 64 * 1024 * 1024;

/// The running checkpoint task; [`Checkpointer::stop`] ends it, and so does dropping it.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    stop: watch::Sender<bool>,
    task: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Checkpointer {
    /// Opens a connection of its own to the database `options` names and starts checkpointing.
    pub(crate) async fn start(options: &SqliteConnectOptions) -> Result<Self, sqlx::Error> {
        let connection = options.connect().await?;
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(connection, stopped));
        Ok(Self {
            stop,
            task: std::sync::Mutex::new(Some(task)),
        })
    }

    /// Ends the task and closes its connection (waiting for it).
    pub(crate) async fn stop(&self) {
        let _ = self.stop.send(true);
        let task = self.task.lock().ok().and_then(|mut task| task.take());
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn run(mut connection: SqliteConnection, mut stopped: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(INTERVAL) => {}
            _ = stopped.changed() => break,
        }
        if *stopped.borrow() {
            break;
        }
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&mut connection)
            .await
        {
            // The writer's own backstop checkpoint still bounds the WAL.
            tracing::warn!(%error, "background WAL checkpoint failed");
        }
    }
    let _ = connection.close().await;
}
