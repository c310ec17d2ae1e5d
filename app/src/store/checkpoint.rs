//! WAL checkpoints mostly off the writer's path (SQLite only).
//!
//! SQLite's automatic checkpoint runs inside the committing connection: the
//! writer would copy the log back into the database file and wait for its
//! fsync every thousand pages, about a third of ingest time on these
//! machines. Instead every connection has `wal_autocheckpoint = 0`; after a
//! commit this starts a passive checkpoint on a pool connection (another
//! thread) unless one is running or one started less than [`INTERVAL`] ago.
//!
//! The log only starts over when a write finds it wholly copied back, which
//! never happens while the writer keeps appending during those background
//! checkpoints; so once the log passes [`RESTART_FRAMES`], the writer copies
//! the little that is left itself, and its next commit starts the log anew.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::db::{Db, Dialect, WriterConn};

const INTERVAL: Duration = Duration::from_millis(250);
/// 64 MiB of 4 KiB pages.
const RESTART_FRAMES: i64 = 16_384;
const PRAGMA: &str = "PRAGMA wal_checkpoint(PASSIVE)";

pub struct Checkpointer {
    db: Db,
    shared: Arc<Shared>,
    last_started: Option<Instant>,
}

#[derive(Default)]
struct Shared {
    running: AtomicBool,
    /// Frames in the log at the last checkpoint.
    log_frames: AtomicI64,
}

impl Checkpointer {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            shared: Arc::default(),
            last_started: None,
        }
    }

    /// Called after each commit.
    pub async fn after_commit(&mut self, conn: &mut Option<WriterConn>) {
        if self.db.dialect() != Dialect::Sqlite {
            return;
        }
        if self.shared.log_frames.load(Ordering::Acquire) > RESTART_FRAMES {
            self.settle().await;
            if let Some(conn) = conn.as_mut() {
                match conn.fetch_all::<(i64, i64, i64)>(PRAGMA).await {
                    Ok(_) => self.shared.log_frames.store(0, Ordering::Release),
                    Err(err) => tracing::warn!(error = %err, "WAL checkpoint failed"),
                }
            }
            return;
        }
        if self.last_started.is_some_and(|at| at.elapsed() < INTERVAL)
            || self.shared.running.swap(true, Ordering::AcqRel)
        {
            return;
        }
        self.last_started = Some(Instant::now());
        let (db, shared) = (self.db.clone(), self.shared.clone());
        tokio::spawn(async move {
            let mut sql = db.sql();
            sql.push(PRAGMA);
            match db.fetch_all::<(i64, i64, i64)>(sql).await {
                Ok(rows) => {
                    if let Some((_busy, log, _copied)) = rows.first() {
                        shared.log_frames.store(*log, Ordering::Release);
                    }
                }
                Err(err) => tracing::warn!(error = %err, "WAL checkpoint failed"),
            }
            shared.running.store(false, Ordering::Release);
        });
    }

    /// Waits for a running checkpoint, so closing the pool does not cut it off.
    pub async fn settle(&self) {
        while self.shared.running.load(Ordering::Acquire) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}
