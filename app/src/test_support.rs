//! Shared fixtures for the store, engine and server tests (feature
//! `test-support`): a fresh database per test (a SQLite file in a temp dir,
//! or a new PostgreSQL database), removed when the test ends, also when it
//! fails, and a builder that records runs through the public store API.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::model::{ExecutionStatus, ListPage, ListQuery, ToolCallStatus};
use crate::store::{
    ExecutionPatch, NewExecution, NewInteraction, NewToolCall, Store, ToolCallFinish,
};

pub const SCOPE: &str = "local";

pub fn pg_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub struct TestDb {
    pub store: Store,
    /// Where the store lives, for tests that reach the database directly.
    pub url: String,
    /// Removes the database when the test ends (see its `Drop`).
    _cleanup: Cleanup,
}

enum Cleanup {
    Dir(std::path::PathBuf),
    Pg(String),
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        uuid::Uuid::now_v7().simple()
    )
}

impl TestDb {
    pub async fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(unique("runs_store_test"));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let url = format!("sqlite://{}", dir.join("executor.db").display());
        let store = Store::connect(&url).await.expect("sqlite store");
        Self {
            store,
            url,
            _cleanup: Cleanup::Dir(dir),
        }
    }

    pub async fn postgres() -> Self {
        use sqlx::Connection;
        let name = unique("runs_test");
        let admin = pg_admin_url();
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .expect("PostgreSQL at TEST_POSTGRES_URL");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create database");
        conn.close().await.ok();
        let base = admin
            .rsplit_once('/')
            .map(|(b, _)| b)
            .unwrap_or(&admin)
            .to_owned();
        let url = format!("{base}/{name}");
        let store = Store::connect(&url).await.expect("postgres store");
        Self {
            store,
            url,
            _cleanup: Cleanup::Pg(name),
        }
    }

    /// Closes the store; the database goes when `self` drops.
    pub async fn finish(self) {
        self.store.close().await;
    }
}

/// Removes the test's database when the test ends, also when it fails: a
/// panicking test unwinds through this drop, so no database is left behind.
impl Drop for Cleanup {
    fn drop(&mut self) {
        match self {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Pg(name) => {
                // Drop cannot await; a thread of its own runs the statement
                // (WITH (FORCE) ends connections the test left open).
                let name = name.clone();
                let dropped = std::thread::spawn(move || {
                    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return;
                    };
                    runtime.block_on(async {
                        use sqlx::Connection;
                        if let Ok(mut conn) = sqlx::PgConnection::connect(&pg_admin_url()).await {
                            let _ = sqlx::query(&format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            ))
                            .execute(&mut conn)
                            .await;
                        }
                    });
                });
                let _ = dropped.join();
            }
        }
    }
}

/// Runs one async test body against SQLite and PostgreSQL.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::test_support::TestDb::sqlite().await;
                    super::$name(&db.store).await;
                    db.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::test_support::TestDb::postgres().await;
                    super::$name(&db.store).await;
                    db.finish().await;
                }
            )*
        }
    };
}

/// Like `on_both_databases!`, for bodies that need the database itself too.
#[macro_export]
macro_rules! on_both_databases_with_url {
    ($($name:ident),* $(,)?) => {
        mod sqlite_with_url {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::test_support::TestDb::sqlite().await;
                    super::$name(&db).await;
                    db.finish().await;
                }
            )*
        }
        mod postgres_with_url {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::test_support::TestDb::postgres().await;
                    super::$name(&db).await;
                    db.finish().await;
                }
            )*
        }
    };
}

/// Describes one run to record.
#[derive(Clone, Debug)]
pub struct Run {
    pub scope: String,
    pub id: String,
    pub status: ExecutionStatus,
    pub code: String,
    pub trigger: Option<String>,
    pub meta: Option<String>,
    pub created_at: i64,
    pub duration_ms: Option<i64>,
    pub tools: Vec<String>,
    pub elicitation: bool,
    pub result_json: Option<String>,
    pub error_text: Option<String>,
    pub session: Option<String>,
}

pub fn run(created_at: i64) -> Run {
    Run {
        scope: SCOPE.into(),
        id: uuid::Uuid::now_v7().to_string(),
        status: ExecutionStatus::Completed,
        code: "return 1".into(),
        trigger: Some("http".into()),
        meta: None,
        created_at,
        duration_ms: Some(10),
        tools: Vec::new(),
        elicitation: false,
        result_json: Some("1".into()),
        error_text: None,
        session: None,
    }
}

impl Run {
    pub fn status(mut self, s: ExecutionStatus) -> Self {
        self.status = s;
        if !s.is_terminal() {
            self.duration_ms = None;
        }
        self
    }
    pub fn code(mut self, c: &str) -> Self {
        self.code = c.into();
        self
    }
    /// Fails the run with this error.
    pub fn error(mut self, text: &str) -> Self {
        self.status = ExecutionStatus::Failed;
        self.result_json = None;
        self.error_text = Some(text.into());
        self
    }
    pub fn trigger(mut self, t: Option<&str>) -> Self {
        self.trigger = t.map(Into::into);
        self
    }
    pub fn duration(mut self, d: Option<i64>) -> Self {
        self.duration_ms = d;
        self
    }
    pub fn tools(mut self, tools: &[&str]) -> Self {
        self.tools = tools.iter().map(|t| t.to_string()).collect();
        self
    }
    pub fn elicitation(mut self) -> Self {
        self.elicitation = true;
        self
    }
    pub fn session(mut self, s: &str) -> Self {
        self.session = Some(s.into());
        self
    }
    pub fn scope(mut self, s: &str) -> Self {
        self.scope = s.into();
        self
    }
    pub fn id(mut self, id: &str) -> Self {
        self.id = id.into();
        self
    }

    /// Records the run through the store the way the engine does.
    pub async fn record(self, store: &Store) -> String {
        store
            .create_execution(NewExecution {
                id: self.id.clone(),
                scope_id: self.scope.clone(),
                status: ExecutionStatus::Running,
                code: self.code.clone(),
                trigger_kind: self.trigger.clone(),
                trigger_meta_json: self.meta.clone(),
                session_id: self.session.clone(),
                created_at: self.created_at,
                started_at: Some(self.created_at),
                lease: None,
            })
            .await
            .expect("create");
        for (i, path) in self.tools.iter().enumerate() {
            let call_id = uuid::Uuid::now_v7().to_string();
            store
                .record_tool_call(NewToolCall {
                    id: call_id.clone(),
                    execution_id: self.id.clone(),
                    scope_id: self.scope.clone(),
                    tool_path: path.clone(),
                    args_json: Some(format!("{{\"i\":{i}}}")),
                    started_at: self.created_at + i as i64,
                })
                .await
                .expect("tool call");
            store
                .finish_tool_call(ToolCallFinish {
                    id: call_id,
                    execution_id: self.id.clone(),
                    scope_id: self.scope.clone(),
                    status: ToolCallStatus::Completed,
                    result_json: Some("{}".into()),
                    error_text: None,
                    completed_at: self.created_at + i as i64 + 1,
                    duration_ms: 1,
                })
                .await
                .expect("finish tool call");
        }
        if self.elicitation {
            store
                .record_interaction(NewInteraction {
                    id: uuid::Uuid::now_v7().to_string(),
                    execution_id: self.id.clone(),
                    scope_id: self.scope.clone(),
                    kind: "form".into(),
                    purpose: Some("Approve?".into()),
                    payload_json: Some("{}".into()),
                    created_at: self.created_at,
                })
                .await
                .expect("interaction");
        }
        if self.status != ExecutionStatus::Running {
            store
                .update_execution(
                    &self.scope,
                    &self.id,
                    ExecutionPatch {
                        status: Some(self.status),
                        result_json: self.result_json.clone(),
                        error_text: self.error_text.clone(),
                        completed_at: self.duration_ms.map(|d| self.created_at + d),
                        duration_ms: self.duration_ms,
                        tool_call_count: Some(self.tools.len() as i64),
                        ..Default::default()
                    },
                )
                .await
                .expect("update");
        }
        self.id
    }
}

pub fn query(pairs: &[(&str, &str)]) -> ListQuery {
    ListQuery::parse(pairs.iter().copied(), &[]).expect("valid query")
}

pub async fn list(store: &Store, pairs: &[(&str, &str)]) -> ListPage {
    store.list(SCOPE, &query(pairs)).await.expect("list")
}

/// Ids of a page, in page order.
pub fn ids(page: &ListPage) -> Vec<String> {
    page.executions
        .iter()
        .map(|e| e.execution.id.clone())
        .collect()
}
