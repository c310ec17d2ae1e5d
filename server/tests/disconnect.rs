//! A client that goes away mid-request frees what its request held (issue
//! 11 item 4): the server drops the request's future, which stops its
//! statements (SQLite: the progress handler; PostgreSQL: the connection is
//! closed, not returned, and the server ends the statement), so the
//! requests after it are not slowed.

#![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

mod common;

use std::time::{Duration, Instant};

use sqlx::Connection;

use app::test_support::TestDb;
use common::serve;

/// More abandoned requests than either database's pool has connections
/// (SQLite: 4 readers on 2 cores; PostgreSQL: 16).
const ABANDONED: usize = 18;

/// Counts every run's code: a two-character needle has no trigram, and
/// `exact=true` lifts the work budget.
const SLOW: &str = "/executions/meta?exact=true&code=x.";
/// Reads the runs table alone.
const LIGHT: &str = "/executions?limit=1&meta=false";

/// SQLite runs, each with half a kilobyte of code: counting them takes
/// most of a second in a debug build.
const SQLITE_RUNS: i64 = 200_000;

async fn timed(client: &reqwest::Client, url: &str) -> (Duration, u16) {
    let started = Instant::now();
    let status = client.get(url).send().await.unwrap().status().as_u16();
    (started.elapsed(), status)
}

/// Starts [`ABANDONED`] slow requests whose clients will go away when
/// their tasks are aborted.
fn impatient(base: &str) -> Vec<tokio::task::JoinHandle<()>> {
    (0..ABANDONED)
        .map(|_| {
            let url = format!("{base}{SLOW}");
            tokio::spawn(async move {
                let _ = reqwest::get(url).await;
            })
        })
        .collect()
}

/// Aborting a request's task drops its connection: its client is gone.
async fn go_away(requests: Vec<tokio::task::JoinHandle<()>>) {
    for request in requests {
        request.abort();
        assert!(
            request.await.unwrap_err().is_cancelled(),
            "a slow request got its answer"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_abandoned_requests_free_their_connections() {
    let test = TestDb::sqlite().await;
    // Completed runs written straight into the runs table, in seconds where
    // the store would take minutes: the roll-ups do not know them, which a
    // count of a code substring (read from the runs) does not need.
    let mut conn = sqlx::SqliteConnection::connect(&test.url).await.unwrap();
    sqlx::query(
        "INSERT INTO execution (id, scope_id, status, code, created_at, completed_at, \
         duration_ms, updated_at) \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
         SELECT printf('bulk-%08d', i), 'local', 'completed', \
         printf('return x.y%d; // %s', i, hex(randomblob(220))), $2 - i * 400, \
         $2 - i * 400 + 5, 5, $2 FROM n",
    )
    .bind(SQLITE_RUNS)
    .bind(app::store::now_ms())
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    let base = serve(&test.store).await;
    let client = reqwest::Client::new();

    let (slow, status) = timed(&client, &format!("{base}{SLOW}")).await;
    assert_eq!(status, 200);
    // Otherwise the test proves nothing: make the history heavier.
    assert!(
        slow >= Duration::from_millis(300),
        "the slow request took {slow:?}"
    );

    let requests = impatient(&base);
    tokio::time::sleep(Duration::from_millis(100)).await;
    go_away(requests).await;
    // Had the abandoned requests gone on, the four readers would be busy
    // for several times `slow`.
    let (light, status) = timed(&client, &format!("{base}{LIGHT}")).await;
    assert_eq!(status, 200);
    let (again, status) = timed(&client, &format!("{base}{SLOW}")).await;
    assert_eq!(status, 200);
    eprintln!("slow {slow:?}, light after abandoned {light:?}, slow again {again:?}");
    assert!(
        light < slow,
        "a light request waited {light:?} (a slow one takes {slow:?})"
    );
    assert!(
        again < slow * 2,
        "a slow request, alone, took {again:?}, not {slow:?}"
    );
    test.finish().await;
}

/// Backends of the test's database waiting for a lock.
async fn waiting_for_a_lock(conn: &mut sqlx::PgConnection) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND wait_event_type = 'Lock'",
    )
    .fetch_one(conn)
    .await
    .unwrap()
}

/// PostgreSQL counts the same history too fast for any one statement to
/// outlast its client, so the slow requests wait for a lock instead: until
/// their statements end (the 30 s limit), they hold every connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_abandoned_requests_free_their_connections() {
    let test = TestDb::postgres().await;
    let base = serve(&test.store).await;
    let client = reqwest::Client::new();
    let mut locker = sqlx::PgConnection::connect(&test.url).await.unwrap();
    let mut watcher = sqlx::PgConnection::connect(&test.url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut locker).await.unwrap();
    sqlx::query("LOCK TABLE execution_code_search IN ACCESS EXCLUSIVE MODE")
        .execute(&mut locker)
        .await
        .unwrap();

    let requests = impatient(&base);
    let mut waiting = 0;
    for _ in 0..200 {
        waiting = waiting_for_a_lock(&mut watcher).await;
        if waiting >= 16 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(waiting, 16, "the slow requests hold all of the pool");
    go_away(requests).await;

    // The lock is still held: only freed connections can answer.
    let (light, status) = timed(&client, &format!("{base}{LIGHT}")).await;
    assert_eq!(status, 200);
    assert!(
        light < Duration::from_secs(5),
        "a light request waited {light:?}"
    );
    // And the server ended the abandoned statements.
    for _ in 0..100 {
        waiting = waiting_for_a_lock(&mut watcher).await;
        if waiting == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(waiting, 0, "abandoned statements still waiting");
    eprintln!("light after abandoned {light:?}");
    sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();
    let (_, status) = timed(&client, &format!("{base}{SLOW}")).await;
    assert_eq!(status, 200);
    test.finish().await;
}
