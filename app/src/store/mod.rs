//! The execution store: one API over SQLite and PostgreSQL. Reads go straight
//! to the pool; writes go through a single batching writer task (see
//! [`writer`]) so that many concurrent runs share few transactions. Every
//! statement takes the scope as a parameter.

mod batch;
mod checkpoint;
mod db;
mod derived;
mod duration_tiling;
mod estimate;
mod export;
mod file_lock;
mod filter_sql;
mod import;
mod instances;
mod list;
mod meta;
mod read;
mod recover;
mod requests;
mod rollup;
mod rows;
mod sampled;
mod sessions;
mod sources;
mod statement_limit;
mod sweep;
pub mod synthetic;
mod text_search;
mod write_ops;
mod writer;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::Connection;

use db::Db;
pub use db::Dialect;
pub use derived::{rebuild_steps, Drift};
pub use file_lock::{DatabaseLock, LockError};
pub use import::ImportReport;
pub use instances::{Exclusive, InstanceRow};
pub use requests::{RunRequestRow, RUN_REQUESTS_CHANNEL};
pub use sessions::SessionRow;
pub use sources::{SecretRow, SourceRow};
pub use write_ops::{
    ExecutionPatch, InteractionResolution, Lease, NewExecution, NewInteraction, NewToolCall,
    ToolCallFinish, WriteOp,
};
pub use writer::PendingWrite;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL '{0}'; expected sqlite:PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("stored row is not valid: {0}")]
    Corrupt(String),
    #[error("the store's writer has stopped")]
    WriterGone,
    /// Refused by the fence: another server took the run over after this
    /// one's lease ran out (`batch::fence`).
    #[error("the run was taken over by another server")]
    TakenOver,
    #[error("no such row: {0}")]
    NotFound(String),
    /// A statement ran past its limit (or its caller went away).
    #[error("a query took longer than {}s and was stopped", statement_limit::STATEMENT_LIMIT.as_secs())]
    TimedOut,
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if statement_limit::is_limit(&error) {
            Self::TimedOut
        } else {
            Self::Database(error)
        }
    }
}

/// Why the store cannot serve (`/readyz`).
#[derive(Debug, thiserror::Error)]
pub enum NotReady {
    #[error("database unreachable: {0}")]
    Unreachable(sqlx::Error),
    #[error("migrations behind: {applied} applied, {expected} expected")]
    MigrationsBehind { applied: i64, expected: i64 },
}

impl NotReady {
    /// What a probe may be told: no driver text (it can name hosts).
    pub fn public_reason(&self) -> String {
        match self {
            Self::Unreachable(_) => "database unreachable".to_owned(),
            behind => behind.to_string(),
        }
    }
}

/// Cheap to clone: every clone shares the pool and the writer.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

struct Inner {
    db: Db,
    writer: writer::WriterHandle,
}

impl Store {
    /// Connects, applies migrations and starts the writer. `url` is
    /// `sqlite:PATH` / `sqlite://PATH` (created when missing) or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let db = match Dialect::of_url(url) {
            Some(Dialect::Sqlite) => {
                let options = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(5))
                    .foreign_keys(true)
                    .pragma("cache_size", "-65536")
                    .pragma("temp_store", "memory")
                    .pragma("mmap_size", "1073741824")
                    // Checkpoints run beside the writer, not in it (checkpoint.rs).
                    .pragma("wal_autocheckpoint", "0");
                // One connection is the writer's; the rest read. Each reader is
                // a thread of its own, and a first page runs ~10 queries at once:
                // on 2 cores, 3 readers answered /runs faster than 7 (less
                // switching between threads that all want the CPU).
                let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
                let pool = SqlitePoolOptions::new()
                    .max_connections(u32::try_from(2 * cores).unwrap_or(8).clamp(4, 16))
                    .before_acquire(|conn, _| {
                        Box::pin(async move {
                            statement_limit::SqliteLimit::disarm(conn).await?;
                            Ok(true)
                        })
                    })
                    .connect_with(options)
                    .await?;
                SQLITE_MIGRATIONS.run(&pool).await?;
                Db::Sqlite(pool)
            }
            Some(Dialect::Postgres) => {
                // Migrations may rewrite millions of rows: on a connection
                // of their own, without the statement limit.
                let mut migrating = PgConnection::connect(url).await?;
                POSTGRES_MIGRATIONS.run(&mut migrating).await?;
                // Older servers refuse a connection that sets a parameter
                // they do not know.
                let checks_client = migrating.server_version_num().is_some_and(|v| v >= 140_000);
                migrating.close().await?;
                let timeout = statement_limit::postgres_statement_timeout();
                // jit off: the store's queries read few rows, but some
                // (an estimate's slices) look costly to the planner, which
                // then spent 250 ms compiling one that ran in 60 ms.
                let mut options = PgConnectOptions::from_str(url)?
                    .options([("statement_timeout", timeout.as_str()), ("jit", "off")]);
                if checks_client {
                    options = options.options([(
                        "client_connection_check_interval",
                        statement_limit::POSTGRES_CLIENT_CHECK,
                    )]);
                }
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .connect_with(options)
                    .await?;
                Db::Postgres(pool)
            }
            None => return Err(StoreError::UnsupportedUrl(url.to_owned())),
        };
        let writer = writer::spawn(db.clone());
        Ok(Self {
            inner: Arc::new(Inner { db, writer }),
        })
    }

    pub fn dialect(&self) -> Dialect {
        self.inner.db.dialect()
    }

    /// Refreshes the planner's statistics after bulk work: PostgreSQL may
    /// run without autovacuum, and plans made without statistics turn
    /// index scans into full ones. SQLite's plans here do not depend on them.
    pub async fn analyze(&self) -> Result<(), StoreError> {
        if self.dialect() == Dialect::Postgres {
            self.flush().await;
            let mut sql = self.db().sql();
            sql.push("ANALYZE");
            self.db().execute(sql).await?;
        }
        Ok(())
    }

    /// For `/readyz`: the database answers and has every migration this
    /// build knows applied (a newer server on an older database is not).
    pub async fn ready(&self) -> Result<(), NotReady> {
        let known = match self.dialect() {
            Dialect::Sqlite => &SQLITE_MIGRATIONS,
            Dialect::Postgres => &POSTGRES_MIGRATIONS,
        };
        let newest = known.iter().map(|m| m.version).max().unwrap_or(0);
        let mut sql = self.db().sql();
        sql.push(
            "SELECT CAST(coalesce(max(version), 0) AS BIGINT) FROM _sqlx_migrations WHERE success",
        );
        let applied: Option<(i64,)> = self
            .db()
            .fetch_optional(sql)
            .await
            .map_err(NotReady::Unreachable)?;
        let applied = applied.map_or(0, |r| r.0);
        if applied < newest {
            return Err(NotReady::MigrationsBehind {
                applied,
                expected: newest,
            });
        }
        Ok(())
    }

    fn db(&self) -> &Db {
        &self.inner.db
    }

    /// Waits for queued writes, stops the writer, then closes the pool.
    pub async fn close(&self) {
        self.inner.writer.shut_down().await;
        if self.dialect() == Dialect::Sqlite {
            // Fold the whole log into the database file and empty it: the
            // last connection to close would try too, but the pool closes
            // its connections at once and each may see the others open.
            let mut sql = self.db().sql();
            sql.push("PRAGMA wal_checkpoint(TRUNCATE)");
            if let Err(error) = self.db().execute(sql).await {
                tracing::warn!(%error, "final WAL checkpoint failed");
            }
        }
        self.inner.db.close().await;
    }

    /// Queues a write without waiting for it to be stored. Writes are stored
    /// in the order they are queued, so awaiting the last write of a run
    /// proves all of them stored; the engine uses this to record a run
    /// without a round trip per tool call.
    pub async fn enqueue(&self, op: WriteOp) -> Result<PendingWrite, StoreError> {
        self.inner.writer.enqueue(op).await
    }

    /// Queues writes stored in one transaction, all or none (a run's
    /// buffered writes).
    pub async fn enqueue_all(&self, ops: Vec<WriteOp>) -> Result<PendingWrite, StoreError> {
        self.inner.writer.enqueue_all(ops).await
    }

    /// Queues an owner's writes to its runs, stored only while they are
    /// still its own (see [`writer::WriterHandle::enqueue_as`]).
    pub async fn enqueue_as(
        &self,
        owner: Option<Arc<str>>,
        ops: Vec<WriteOp>,
    ) -> Result<PendingWrite, StoreError> {
        self.inner.writer.enqueue_as(owner, ops).await
    }

    /// Waits until every write queued so far is stored.
    pub async fn flush(&self) {
        self.inner.writer.flush().await;
    }

    /// Queues a write and waits until it is stored.
    pub async fn write(&self, op: WriteOp) -> Result<(), StoreError> {
        self.enqueue(op).await?.committed().await
    }

    pub async fn create_execution(&self, new: NewExecution) -> Result<(), StoreError> {
        self.write(WriteOp::CreateExecution(new)).await
    }

    /// Writes only the fields the patch sets; `updated_at` is always bumped.
    pub async fn update_execution(
        &self,
        scope: &str,
        id: &str,
        patch: ExecutionPatch,
    ) -> Result<(), StoreError> {
        self.write(WriteOp::UpdateExecution {
            scope_id: scope.to_owned(),
            id: id.to_owned(),
            patch,
        })
        .await
    }

    pub async fn record_tool_call(&self, new: NewToolCall) -> Result<(), StoreError> {
        self.write(WriteOp::RecordToolCall(new)).await
    }

    pub async fn finish_tool_call(&self, finish: ToolCallFinish) -> Result<(), StoreError> {
        self.write(WriteOp::FinishToolCall(finish)).await
    }

    /// Records a pending interaction and marks its run as having used elicitation.
    pub async fn record_interaction(&self, new: NewInteraction) -> Result<(), StoreError> {
        self.write(WriteOp::RecordInteraction(new)).await
    }

    pub async fn resolve_interaction(
        &self,
        resolution: InteractionResolution,
    ) -> Result<(), StoreError> {
        self.write(WriteOp::ResolveInteraction(resolution)).await
    }
}

/// Wall-clock time in epoch milliseconds, the unit of every stored time.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
