//! WAL checkpoints mostly off the writer's path (SQLite only).
//!
//! SQLite's automatic checkpoint runs inside the committing connection: the
//! writer would copy the log back into the database file and wait for its
//! fsync every thousand pages, about a third of ingest time on these
//! machines. Instead every connection has `wal_autocheckpoint = 0`, and a
//! task beside the writer runs passive checkpoints on a pool connection
//! (another thread): one after a commit, then at most one per [`INTERVAL`]
//! while commits keep coming, and a last one after the last commit.
//!
//! The log only starts over when a write finds it wholly copied back, which
//! never happens while the writer keeps appending during those background
//! checkpoints; so once the log passes [`RESTART_FRAMES`], the writer copies
//! the little that is left itself, and its next commit starts the log anew.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::db::{Db, Dialect, WriterConn};

const INTERVAL: Duration = Duration::from_millis(250);
/// 64 MiB of 4 KiB pages.
const RESTART_FRAMES: i64 = 16_384;
const PRAGMA: &str = "PRAGMA wal_checkpoint(PASSIVE)";

pub struct Checkpointer {
    db: Db,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    /// A checkpoint task is alive.
    running: AtomicBool,
    /// A commit came after the task's last checkpoint started.
    dirty: AtomicBool,
    /// Frames in the log at the last checkpoint.
    log_frames: AtomicI64,
}

/// `PRAGMA wal_checkpoint`'s row.
type Outcome = (i64, i64, i64);

impl Checkpointer {
    /// The checkpointer for `db`; none for PostgreSQL, which checkpoints
    /// on its own.
    pub fn for_db(db: &Db) -> Option<Self> {
        (db.dialect() == Dialect::Sqlite).then(|| Self {
            db: db.clone(),
            shared: Arc::default(),
        })
    }

    /// Called after each commit.
    pub async fn after_commit(&mut self, conn: &mut Option<WriterConn>) {
        if self.shared.log_frames.load(Ordering::Acquire) > RESTART_FRAMES {
            if let Some(conn) = conn.as_mut() {
                match conn.fetch_all::<Outcome>(PRAGMA).await {
                    // Busy: the background checkpoint holds the lock; the
                    // next commit tries again.
                    Ok(rows) if rows.first().is_some_and(|(busy, _, _)| *busy == 0) => {
                        self.shared.log_frames.store(0, Ordering::Release);
                    }
                    Ok(_) => {}
                    Err(err) => tracing::warn!(error = %err, "WAL checkpoint failed"),
                }
            }
        }
        self.shared.dirty.store(true, Ordering::Release);
        if !self.shared.running.swap(true, Ordering::AcqRel) {
            tokio::spawn(checkpoints(self.db.clone(), self.shared.clone()));
        }
    }

    /// Waits for the checkpoint task to finish, so closing the pool does not
    /// cut a checkpoint off.
    pub async fn settle(&self) {
        while self.shared.running.load(Ordering::Acquire) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Checkpoints until a whole interval passes without a commit.
async fn checkpoints(db: Db, shared: Arc<Shared>) {
    loop {
        shared.dirty.store(false, Ordering::Release);
        let mut sql = db.sql();
        sql.push(PRAGMA);
        match db.fetch_all::<Outcome>(sql).await {
            Ok(rows) => {
                if let Some((_busy, log, _copied)) = rows.first() {
                    shared.log_frames.store(*log, Ordering::Release);
                }
            }
            Err(err) => tracing::warn!(error = %err, "WAL checkpoint failed"),
        }
        tokio::time::sleep(INTERVAL).await;
        if !shared.dirty.load(Ordering::Acquire) {
            shared.running.store(false, Ordering::Release);
            // A commit between the load and the store saw the task running
            // and left its checkpoint to us: take it back unless a new task
            // has already started.
            if !shared.dirty.load(Ordering::Acquire) || shared.running.swap(true, Ordering::AcqRel)
            {
                return;
            }
        }
    }
}
