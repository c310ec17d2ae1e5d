//! `executor store check`, `store rebuild` and `import`, run as the real
//! binary against SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

mod common;
use app::on_both_databases_with_url;
use app::test_support as support;

use std::process::{Command, Output};

use app::model::{ExecutionStatus, ListQuery};
use app::store::Store;
use support::{run, TestDb, SCOPE};

on_both_databases_with_url!(
    store_check_finds_rows_written_behind_the_store_and_rebuild_mends_them,
    import_copies_a_reference_database_once,
);

const T0: i64 = 1_767_225_600_000;

fn executor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_executor"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run the executor binary")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs raw SQL on a database (as a hand repair or a partial restore would).
async fn raw(url: &str, statements: &[&str]) {
    use sqlx::Connection;
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        for s in statements {
            sqlx::query(s).execute(&mut conn).await.unwrap();
        }
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        for s in statements {
            sqlx::query(s).execute(&mut conn).await.unwrap();
        }
    }
}

async fn count(store: &Store, pairs: &[(&str, &str)]) -> i64 {
    let query = ListQuery::parse(pairs.iter().copied(), &[]).unwrap();
    store
        .list(SCOPE, &query)
        .await
        .unwrap()
        .meta
        .unwrap()
        .filter_row_count
}

async fn store_check_finds_rows_written_behind_the_store_and_rebuild_mends_them(db: &TestDb) {
    for i in 0..20 {
        run(T0 + i * 60_000)
            .tools(&["github.issues.list"])
            .record(&db.store)
            .await;
    }
    db.store.close().await;
    let url = db.url.as_str();
    let clean = executor(&["store", "check", "--database-url", url]);
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean));

    raw(
        url,
        &[
            "INSERT INTO execution (id, scope_id, status, code, tool_call_count, had_elicitation, created_at, updated_at) \
             VALUES ('by-hand', 'local', 'failed', 'return zzqqxx()', 1, false, 1767225630000, 1767225630000)",
            "INSERT INTO execution_tool_call (id, execution_id, scope_id, status, tool_path, namespace, started_at) \
             VALUES ('by-hand-call', 'by-hand', 'local', 'completed', 'hand.made', 'hand', 1767225630000)",
        ],
    )
    .await;
    let drifted = executor(&["store", "check", "--database-url", url]);
    assert_eq!(drifted.status.code(), Some(1), "{}", text(&drifted));
    let report = text(&drifted);
    for structure in [
        "execution_tool_path",
        "execution_hourly",
        "tool_hourly",
        "execution_scope_total",
    ] {
        assert!(
            report.contains(&format!("{structure}: drifted")),
            "{structure} not reported: {report}"
        );
    }

    let store = Store::connect(url).await.unwrap();
    assert_eq!(
        count(&store, &[("tool", "hand.made")]).await,
        0,
        "invisible before"
    );
    store.close().await;
    let rebuilt = executor(&["store", "rebuild", "--database-url", url]);
    assert_eq!(rebuilt.status.code(), Some(0), "{}", text(&rebuilt));
    let again = executor(&["store", "rebuild", "--database-url", url]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "safe to rerun: {}",
        text(&again)
    );
    let clean = executor(&["store", "check", "--database-url", url]);
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean));

    let store = Store::connect(url).await.unwrap();
    assert_eq!(count(&store, &[("tool", "hand.made")]).await, 1);
    assert_eq!(count(&store, &[("tool", "hand.*")]).await, 1);
    assert_eq!(count(&store, &[("code", "ZZQQXX")]).await, 1);
    assert_eq!(count(&store, &[("status", "failed")]).await, 1);
    let page = store
        .list(
            SCOPE,
            &ListQuery::parse([("from", "1767225600000")], &[]).unwrap(),
        )
        .await
        .unwrap();
    let meta = page.meta.unwrap();
    assert_eq!(meta.total_row_count, 21);
    assert_eq!(meta.filter_row_count, 21);
    store.close().await;
}

/// The reference system's tables (docs/engine.md#import): no
/// duration or elicitation columns, tool calls and interactions without a
/// scope, interaction kinds named after the request type; PostgreSQL keeps
/// created/updated times as timestamps.
fn reference_schema(postgres: bool) -> Vec<String> {
    let time = if postgres { "timestamp" } else { "integer" };
    vec![
        format!(
            "CREATE TABLE execution (id text NOT NULL, scope_id text NOT NULL, status text NOT NULL, \
             code text NOT NULL, result_json text, error_text text, logs_json text, started_at bigint, \
             completed_at bigint, trigger_kind text, trigger_meta_json text, \
             tool_call_count bigint NOT NULL DEFAULT 0, created_at {time} NOT NULL, updated_at {time} NOT NULL, \
             PRIMARY KEY (scope_id, id))"
        ),
        format!(
            "CREATE TABLE execution_interaction (id text PRIMARY KEY, execution_id text NOT NULL, \
             status text NOT NULL, kind text NOT NULL, purpose text, payload_json text, response_json text, \
             response_private_json text, created_at {time} NOT NULL, updated_at {time} NOT NULL)"
        ),
        "CREATE TABLE execution_tool_call (id text PRIMARY KEY, execution_id text NOT NULL, \
         status text NOT NULL, tool_path text NOT NULL, namespace text, args_json text, result_json text, \
         error_text text, started_at bigint NOT NULL, completed_at bigint, duration_ms bigint)"
            .to_owned(),
    ]
}

async fn reference_source(postgres: bool) -> (String, Option<TestDb>) {
    let (url, holder) = if postgres {
        // An empty database of its own (the store's migrations not applied).
        let source = TestDb::postgres().await;
        let url = source.url.clone();
        raw(
            &url,
            &["DROP SCHEMA public CASCADE", "CREATE SCHEMA public"],
        )
        .await;
        (url, Some(source))
    } else {
        let dir = std::env::temp_dir().join(format!("runs_reference_{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        (
            format!("sqlite://{}?mode=rwc", dir.join("reference.db").display()),
            None,
        )
    };
    let time = |ms: i64| {
        if postgres {
            format!("to_timestamp({ms} / 1000.0)")
        } else {
            ms.to_string()
        }
    };
    let mut statements = reference_schema(postgres);
    for i in 0..30i64 {
        let status = ["completed", "failed", "running"][(i % 3) as usize];
        let created = T0 + i * 1_000;
        let completed = if status == "running" {
            "NULL".to_owned()
        } else {
            (created + 40).to_string()
        };
        statements.push(format!(
            "INSERT INTO execution (id, scope_id, status, code, result_json, started_at, completed_at, \
             trigger_kind, tool_call_count, created_at, updated_at) VALUES ('ref-{i}', 'local', '{status}', \
             'return tools.github.issues.list() // ref', '1', {created}, {completed}, \
             {}, 1, {}, {})",
            if i % 2 == 0 { "'cli'" } else { "NULL" },
            time(created),
            time(created + 40)
        ));
        statements.push(format!(
            "INSERT INTO execution_tool_call (id, execution_id, status, tool_path, namespace, started_at, \
             completed_at, duration_ms) VALUES ('ref-call-{i}', 'ref-{i}', 'completed', 'github.issues.list', \
             'github', {}, {}, 10)",
            created + 5,
            created + 15
        ));
    }
    statements.push(format!(
        "INSERT INTO execution_interaction (id, execution_id, status, kind, purpose, created_at, updated_at) \
         VALUES ('ref-ask', 'ref-0', 'resolved', 'FormElicitation', 'Approve?', {}, {})",
        time(T0 + 10),
        time(T0 + 20)
    ));
    // Not a valid run here: refused, and said so.
    statements.push(format!(
        "INSERT INTO execution (id, scope_id, status, code, created_at, updated_at) \
         VALUES ('ref-bad', 'local', 'exploded', 'x', {}, {})",
        time(T0),
        time(T0)
    ));
    let refs: Vec<&str> = statements.iter().map(String::as_str).collect();
    raw(&url, &refs).await;
    (url, holder)
}

async fn import_copies_a_reference_database_once(db: &TestDb) {
    db.store.close().await;
    let postgres = db.url.starts_with("postgres");
    let (source, holder) = reference_source(postgres).await;
    let target = db.url.as_str();
    let first = executor(&["import", "--from", &source, "--database-url", target]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let said = text(&first);
    assert!(
        said.contains("imported 30 runs (0 already here, 1 refused) of 31"),
        "{said}"
    );
    assert!(said.contains("reference layout"), "{said}");
    assert!(
        said.contains("ref-bad"),
        "the refusal names the run: {said}"
    );
    let second = executor(&["import", "--from", &source, "--database-url", target]);
    assert!(
        text(&second).contains("imported 0 runs (30 already here, 1 refused)"),
        "idempotent by id: {}",
        text(&second)
    );
    let check = executor(&["store", "check", "--database-url", target]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));

    let store = Store::connect(target).await.unwrap();
    assert_eq!(count(&store, &[]).await, 30);
    assert_eq!(count(&store, &[("status", "failed")]).await, 10);
    assert_eq!(count(&store, &[("trigger", "cli")]).await, 15);
    assert_eq!(count(&store, &[("tool", "github.*")]).await, 30);
    assert_eq!(count(&store, &[("elicitation", "true")]).await, 1);
    assert_eq!(
        count(&store, &[("minDurationMs", "40"), ("maxDurationMs", "40")]).await,
        20
    );
    let found = store.get(SCOPE, "ref-0").await.unwrap().unwrap().execution;
    assert_eq!(found.status, ExecutionStatus::Completed);
    assert_eq!(found.created_at, T0);
    let asked = store.interactions(SCOPE, "ref-0").await.unwrap().unwrap();
    assert_eq!(asked[0].kind, "form");
    store.close().await;
    if let Some(holder) = holder {
        holder.finish().await;
    }
}
