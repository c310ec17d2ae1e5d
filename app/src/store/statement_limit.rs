//! Every statement's time limit, and how each database enforces it. A query
//! that runs away (a plan gone bad, a filter no index serves) must not hold
//! a connection and a core for minutes after its caller has given up:
//! PostgreSQL ends it with `statement_timeout`; SQLite, which has no such
//! setting, with a progress handler that also ends it as soon as the request
//! that asked for it is dropped (its client went away). On PostgreSQL an
//! abandoned read's connection is closed instead of returned ([`PgLease`]),
//! and the server ends the statement once it sees its client gone.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgPool};
use sqlx::{Postgres, Sqlite};

/// How long one statement of a request may run. Generous for reads that
/// take milliseconds, short enough that a runaway one gives its connection
/// back. Migrations and maintenance commands (check, rebuild) lift it.
pub const STATEMENT_LIMIT: Duration = Duration::from_secs(30);

/// Longest an exact meta (`exact=true`) may take, all its statements
/// together: the one request that is allowed to read every run of a view.
pub const EXACT_META_LIMIT: Duration = Duration::from_secs(60);

/// `statement_timeout` for PostgreSQL connection options, in milliseconds.
pub fn postgres_statement_timeout() -> String {
    STATEMENT_LIMIT.as_millis().to_string()
}

/// SQLite virtual machine instructions between two checks of the limit:
/// a check costs a clock read, a thousand instructions a few microseconds.
const CHECK_EVERY_OPS: i32 = 1_000;

/// Ends a SQLite connection's statements past [`STATEMENT_LIMIT`] or once
/// the guard is dropped, whichever is first. Arm it before the statement and
/// keep it alive across the `.await`: dropping the future drops the guard.
pub struct SqliteLimit {
    abandoned: Arc<AtomicBool>,
}

impl SqliteLimit {
    pub async fn arm(conn: &mut PoolConnection<Sqlite>) -> Result<Self, sqlx::Error> {
        let abandoned = Arc::new(AtomicBool::new(false));
        let deadline = Instant::now() + STATEMENT_LIMIT;
        let flag = abandoned.clone();
        conn.lock_handle()
            .await?
            .set_progress_handler(CHECK_EVERY_OPS, move || {
                // true goes on; false interrupts (SQLITE_INTERRUPT).
                !flag.load(Ordering::Relaxed) && Instant::now() < deadline
            });
        Ok(Self { abandoned })
    }

    /// Removes a connection's handler: every use of a pooled connection
    /// starts without one (the writer's batches must never be interrupted
    /// by the limit of the read that used the connection before).
    pub async fn disarm(conn: &mut sqlx::SqliteConnection) -> Result<(), sqlx::Error> {
        conn.lock_handle().await?.remove_progress_handler();
        Ok(())
    }
}

impl Drop for SqliteLimit {
    fn drop(&mut self) {
        self.abandoned.store(true, Ordering::Relaxed);
    }
}

/// How often a PostgreSQL server checks, during a long statement, whether
/// its client is still there (`client_connection_check_interval`, 14 and
/// later): a closed [`PgLease`] ends its statement within this long.
pub const POSTGRES_CLIENT_CHECK: &str = "1s";

/// A pooled PostgreSQL connection for one read ([`Self::read`]). Dropped
/// before the read has answered (its request was abandoned), it is closed
/// rather than returned: returned, sqlx would first wait for the abandoned statement to
/// end (up to [`STATEMENT_LIMIT`]), holding a slot of the pool all along,
/// so a few abandoned reads stalled every request after them. Closing frees
/// the slot at once, and the server, checking its client every
/// [`POSTGRES_CLIENT_CHECK`], cancels the statement.
pub struct PgLease(Option<PoolConnection<Postgres>>);

impl PgLease {
    /// Runs `read` on a pooled connection: returned to the pool once `read`
    /// has its answer, closed if the future is dropped before.
    pub async fn read<R>(
        pool: &PgPool,
        read: impl AsyncFnOnce(&mut PgConnection) -> Result<R, sqlx::Error>,
    ) -> Result<R, sqlx::Error> {
        let mut lease = Self(Some(pool.acquire().await?));
        // Just filled: only the line after the read and `drop` empty it.
        let Some(conn) = lease.0.as_deref_mut() else {
            return Err(sqlx::Error::PoolClosed);
        };
        let answer = read(conn).await;
        // The read has its answer: the connection goes back to the pool.
        drop(lease.0.take());
        answer
    }
}

impl Drop for PgLease {
    fn drop(&mut self) {
        if let Some(abandoned) = self.0.take() {
            // Out of the pool (which may open another in its place), then
            // closed with its socket when the detached connection drops.
            drop(abandoned.detach());
        }
    }
}

/// True when the database ended a statement for its limit (or because its
/// caller went away): SQLite's SQLITE_INTERRUPT, PostgreSQL's
/// query_canceled (57014).
pub fn is_limit(error: &sqlx::Error) -> bool {
    let Some(db) = error.as_database_error() else {
        return false;
    };
    matches!(db.code().as_deref(), Some("9") | Some("57014"))
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use std::time::Duration;

    use crate::store::db::Sql;
    use crate::test_support::TestDb;

    /// Seconds of work for SQLite: counting to ten billion.
    const ENDLESS: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
                           WHERE x < 10000000000) SELECT count(*) FROM c";

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_abandoned_sqlite_read_stops_and_frees_its_connection() {
        let test = TestDb::sqlite().await;
        let db = test.store.db().clone();
        // More abandoned reads than the pool has connections: if they kept
        // running, the read after them would wait for minutes.
        for _ in 0..20 {
            let mut sql = Sql::new(db.dialect());
            sql.push(ENDLESS);
            let abandoned =
                tokio::time::timeout(Duration::from_millis(50), db.fetch_all::<(i64,)>(sql)).await;
            assert!(abandoned.is_err(), "the endless read was still running");
        }
        let mut sql = Sql::new(db.dialect());
        sql.push("SELECT 1");
        let next = tokio::time::timeout(Duration::from_secs(20), db.fetch_all::<(i64,)>(sql))
            .await
            .expect("a read after abandoned ones gets a connection")
            .expect("and answers");
        assert_eq!(next, vec![(1,)]);
        // The connections the abandoned reads used go on to serve writes,
        // uninterrupted.
        crate::test_support::run(1).record(&test.store).await;
        test.finish().await;
    }

    /// Past the pool's 16 connections, each held for 20 s if returned.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_abandoned_postgres_read_frees_its_connection_and_its_statement_ends() {
        let test = TestDb::postgres().await;
        let db = test.store.db().clone();
        for _ in 0..20 {
            let mut sql = Sql::new(db.dialect());
            sql.push("SELECT 1 FROM pg_sleep(20) -- abandoned");
            let abandoned =
                tokio::time::timeout(Duration::from_millis(100), db.fetch_all::<(i32,)>(sql)).await;
            assert!(abandoned.is_err(), "the sleeping read was still running");
        }
        let mut sql = Sql::new(db.dialect());
        sql.push("SELECT 1");
        let next = tokio::time::timeout(Duration::from_secs(10), db.fetch_all::<(i32,)>(sql))
            .await
            .expect("a read after abandoned ones gets a connection")
            .expect("and answers");
        assert_eq!(next, vec![(1,)]);
        // The server noticed its clients gone and ended their statements.
        let mut still = i64::MAX;
        for _ in 0..100 {
            let mut sql = Sql::new(db.dialect());
            sql.push(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' \
                 AND query LIKE '%-- abandoned' AND pid <> pg_backend_pid() \
                 AND datname = current_database()",
            );
            let (n,): (i64,) = db.fetch_optional(sql).await.unwrap().unwrap();
            still = n;
            if still == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(still, 0, "abandoned statements still running");
        test.finish().await;
    }

    #[tokio::test]
    async fn postgres_connections_carry_the_statement_timeout() {
        let test = TestDb::postgres().await;
        let mut sql = Sql::new(test.store.db().dialect());
        sql.push(
            "SELECT current_setting('statement_timeout') \
             || ' ' || current_setting('client_connection_check_interval')",
        );
        let (setting,): (String,) = test.store.db().fetch_optional(sql).await.unwrap().unwrap();
        assert_eq!(setting, "30s 1s");
        test.finish().await;
    }
}
