//! The engine, specified by behaviour: real QuickJS, real tools (the `demo`
//! fixture source), every run recorded in a fresh SQLite file and a fresh
//! PostgreSQL database.

#![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

use app::on_both_databases;
use app::on_both_databases_with_url;
use app::test_support as support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::engine::tools::demo::DemoSource;
use app::engine::{
    ElicitationAnswer, ElicitationMode, Engine, EngineConfig, EngineError, ExecuteRequest,
    InlineElicitor, Registry, INTERRUPTED_BY_RESTART,
};
use app::model::{
    ElicitationRequest, ExecutionStatus, InteractionStatus, ResumeAction, RunResponse, RunStatus,
    ToolCallStatus, Trigger, TriggerKind,
};
use app::store::{NewExecution, Store};
use serde_json::json;
use support::{TestDb, SCOPE};

fn engine_with(store: &Store, config: EngineConfig) -> Engine {
    let registry = Registry::new();
    registry.register(Arc::new(DemoSource)).unwrap();
    Engine::start(store.clone(), registry, config).unwrap()
}

fn engine(store: &Store) -> Engine {
    engine_with(store, EngineConfig::default())
}

fn request(code: &str) -> ExecuteRequest {
    ExecuteRequest {
        scope: SCOPE.into(),
        code: code.into(),
        trigger: Trigger::new(TriggerKind::known("http")),
        timeout: None,
        elicitation: ElicitationMode::Pause,
    }
}

async fn run(engine: &Engine, code: &str) -> RunResponse {
    engine.execute(request(code)).await.unwrap()
}

async fn calls(store: &Store, id: &str) -> Vec<app::model::ToolCall> {
    store.tool_calls(SCOPE, id).await.unwrap().unwrap()
}

async fn stored(store: &Store, id: &str) -> app::model::Execution {
    store.get(SCOPE, id).await.unwrap().unwrap().execution
}

on_both_databases!(
    a_run_with_two_tool_calls_is_recorded_completely,
    a_thrown_error_fails_the_run_with_its_message,
    a_panicking_tool_fails_its_run_and_the_engine_goes_on,
    trigger_meta_is_persisted,
    a_tool_error_is_catchable_and_recorded_as_failed,
    an_unknown_tool_rejects_and_is_recorded,
    approval_pauses_and_accept_resumes,
    decline_makes_the_tool_fail_catchably,
    resume_with_cancel_cancels_the_interaction,
    a_run_can_pause_twice,
    inline_elicitation_records_the_same_rows,
    resume_of_unknown_or_not_waiting_runs_is_refused,
    cancel_stops_running_javascript,
    cancel_stops_a_waiting_run,
    cancel_stops_a_slow_tool_call,
    unanswered_pauses_expire,
    restart_recovery_fails_unfinished_runs,
    sandbox_faults_fail_only_their_run,
    built_in_tools_work_and_are_recorded,
    console_and_timers_work,
    a_hundred_runs_at_once_keep_separate_records,
    a_slow_tool_call_does_not_block_other_runs,
    rerun_repeats_the_code_with_a_new_trigger,
);

on_both_databases_with_url!(a_storage_failure_never_fails_the_run);

async fn a_run_with_two_tool_calls_is_recorded_completely(store: &Store) {
    let engine = engine(store);
    let mut req = request(
        r#"console.log("hello");
           const a = await tools.demo.echo({ n: 1 });
           const b = await tools.demo.echo({ n: 2 });
           return { ok: a.n + b.n === 3 };"#,
    );
    req.trigger = Trigger::new(TriggerKind::parse("test").unwrap());
    let out = engine.execute(req).await.unwrap();
    assert_eq!(out.status, RunStatus::Completed, "{out:?}");
    assert_eq!(out.result, Some(json!({"ok": true})));
    assert_eq!(out.logs, vec!["[log] hello".to_owned()]);

    let row = stored(store, &out.execution_id).await;
    assert_eq!(row.status, ExecutionStatus::Completed);
    assert_eq!(row.trigger_kind.as_deref(), Some("test"));
    assert_eq!(row.tool_call_count, 2);
    assert_eq!(row.result_json.as_deref(), Some(r#"{"ok":true}"#));
    assert_eq!(row.logs_json.as_deref(), Some(r#"["[log] hello"]"#));
    assert!(row.completed_at.is_some() && row.duration_ms.is_some());
    assert!(row.started_at.is_some());

    let calls = calls(store, &out.execution_id).await;
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].args_json.as_deref(), Some(r#"{"n":1}"#));
    assert_eq!(calls[1].args_json.as_deref(), Some(r#"{"n":2}"#));
    for call in &calls {
        assert_eq!(call.status, ToolCallStatus::Completed);
        assert_eq!(call.tool_path, "demo.echo");
        assert_eq!(call.namespace, "demo");
        assert!(call.duration_ms.is_some());
    }
}

async fn a_thrown_error_fails_the_run_with_its_message(store: &Store) {
    let engine = engine(store);
    let out = run(
        &engine,
        r#"await tools.demo.echo({}); throw new Error("boom");"#,
    )
    .await;
    assert_eq!(out.status, RunStatus::Failed);
    let error = out.error.unwrap();
    assert!(error.starts_with("Error: boom"), "{error}");
    let row = stored(store, &out.execution_id).await;
    assert_eq!(row.status, ExecutionStatus::Failed);
    assert!(row.error_text.unwrap().starts_with("Error: boom"));
    assert_eq!(row.tool_call_count, 1);
}

/// A bug in a tool (a panic) fails only that run: its caller is answered,
/// its row ends failed, and the next run works.
async fn a_panicking_tool_fails_its_run_and_the_engine_goes_on(store: &Store) {
    let engine = engine(store);
    let out = tokio::time::timeout(
        Duration::from_secs(10),
        run(&engine, "return await tools.demo.panic();"),
    )
    .await
    .expect("the caller is answered");
    assert_eq!(out.status, RunStatus::Failed);
    assert_eq!(
        out.error.as_deref(),
        Some("internal error: the run's worker stopped")
    );
    assert!(!engine.is_live(SCOPE, &out.execution_id));
    let mut row = stored(store, &out.execution_id).await;
    for _ in 0..100 {
        if row.status.is_terminal() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        row = stored(store, &out.execution_id).await;
    }
    assert_eq!(row.status, ExecutionStatus::Failed);
    let next = run(&engine, "return 2").await;
    assert_eq!(next.status, RunStatus::Completed);
}

async fn trigger_meta_is_persisted(store: &Store) {
    let engine = engine(store);
    let mut req = request("return 1");
    req.trigger = Trigger::from_headers(
        Some("mcp"),
        Some(r#"{"client":"x"}"#),
        Some("mcp:abc-123"),
        "http",
    )
    .unwrap();
    let out = engine.execute(req).await.unwrap();
    let row = stored(store, &out.execution_id).await;
    assert_eq!(row.trigger_kind.as_deref(), Some("mcp"));
    assert_eq!(row.trigger_meta_json.as_deref(), Some(r#"{"client":"x"}"#));
    assert_eq!(row.session_id.as_deref(), Some("mcp:abc-123"));
}

async fn a_tool_error_is_catchable_and_recorded_as_failed(store: &Store) {
    let engine = engine(store);
    let out = run(
        &engine,
        r#"try { await tools.demo.fail({ message: "nope" }); return "not reached"; }
           catch (e) { return e.name + "/" + e.message; }"#,
    )
    .await;
    assert_eq!(out.status, RunStatus::Completed);
    assert_eq!(out.result, Some(json!("ToolError/nope")));
    let calls = calls(store, &out.execution_id).await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].status, ToolCallStatus::Failed);
    assert_eq!(calls[0].error_text.as_deref(), Some("nope"));
}

async fn an_unknown_tool_rejects_and_is_recorded(store: &Store) {
    let engine = engine(store);
    let out = run(&engine, "return await tools.nope.missing({});").await;
    assert_eq!(out.status, RunStatus::Failed);
    assert_eq!(
        out.error.as_deref(),
        Some("ToolError: unknown tool: nope.missing")
    );
    let calls = calls(store, &out.execution_id).await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].status, ToolCallStatus::Failed);
    assert_eq!(calls[0].tool_path, "nope.missing");
}

async fn approval_pauses_and_accept_resumes(store: &Store) {
    let engine = engine(store);
    let out = run(
        &engine,
        r#"console.log("before"); const r = await tools.demo.write({ a: 1 }); return r;"#,
    )
    .await;
    assert_eq!(out.status, RunStatus::WaitingForInteraction, "{out:?}");
    assert_eq!(out.logs, vec!["[log] before".to_owned()]);
    let pending = out.interaction.clone().unwrap();
    assert_eq!(
        pending.request,
        ElicitationRequest::Form {
            message: "Approve demo.write?".into(),
            requested_schema: json!({"type": "object", "properties": {}}),
        }
    );
    let seen = store.get(SCOPE, &out.execution_id).await.unwrap().unwrap();
    assert_eq!(
        seen.execution.status,
        ExecutionStatus::WaitingForInteraction
    );
    assert!(seen.execution.had_elicitation);
    // The call waiting for approval counts: the history says what the run
    // has done so far, not 0 until it ends.
    assert_eq!(seen.execution.tool_call_count, 1);
    let interaction = seen.pending_interaction.unwrap();
    assert_eq!(interaction.id, pending.id);
    assert_eq!(interaction.kind, "form");
    assert_eq!(interaction.status, InteractionStatus::Pending);

    let done = engine
        .resume(SCOPE, &out.execution_id, ResumeAction::Accept, None)
        .await
        .unwrap();
    assert_eq!(done.status, RunStatus::Completed, "{done:?}");
    assert_eq!(
        done.result,
        Some(json!({"written": true, "args": {"a": 1}}))
    );
    let row = store.get(SCOPE, &out.execution_id).await.unwrap().unwrap();
    assert_eq!(row.execution.status, ExecutionStatus::Completed);
    assert!(row.pending_interaction.is_none());
    let all = store
        .interactions(SCOPE, &out.execution_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].status, InteractionStatus::Resolved);
    assert_eq!(
        all[0].response_json.as_deref(),
        Some(r#"{"action":"accept","content":null}"#)
    );
}

async fn decline_makes_the_tool_fail_catchably(store: &Store) {
    let engine = engine(store);
    let out = run(
        &engine,
        r#"try { await tools.demo.write({}); return "written"; } catch (e) { return e.message; }"#,
    )
    .await;
    assert_eq!(out.status, RunStatus::WaitingForInteraction);
    let done = engine
        .resume(SCOPE, &out.execution_id, ResumeAction::Decline, None)
        .await
        .unwrap();
    assert_eq!(done.status, RunStatus::Completed);
    assert_eq!(
        done.result,
        Some(json!("declined: demo.write was not approved"))
    );
    let all = store
        .interactions(SCOPE, &out.execution_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(all[0].status, InteractionStatus::Resolved);
    assert!(all[0].response_json.as_deref().unwrap().contains("decline"));
    let calls = calls(store, &out.execution_id).await;
    assert_eq!(calls[0].status, ToolCallStatus::Failed);
}

async fn resume_with_cancel_cancels_the_interaction(store: &Store) {
    let engine = engine(store);
    let out = run(
        &engine,
        "return await tools.demo.ask({ question: 'Name?' });",
    )
    .await;
    assert_eq!(out.status, RunStatus::WaitingForInteraction);
    let done = engine
        .resume(SCOPE, &out.execution_id, ResumeAction::Cancel, None)
        .await
        .unwrap();
    assert_eq!(done.status, RunStatus::Failed);
    assert!(done.error.unwrap().contains("cancelled the request"));
    let all = store
        .interactions(SCOPE, &out.execution_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(all[0].status, InteractionStatus::Cancelled);
}

async fn a_run_can_pause_twice(store: &Store) {
    let engine = engine(store);
    let out = run(
        &engine,
        r#"const name = await tools.demo.ask({ question: "Name?" });
           await tools.demo.write({ name });
           return name;"#,
    )
    .await;
    let first = out.interaction.unwrap();
    assert_eq!(first.request.message(), "Name?");
    let second = engine
        .resume(
            SCOPE,
            &out.execution_id,
            ResumeAction::Accept,
            Some(json!({"answer": "Ada"})),
        )
        .await
        .unwrap();
    assert_eq!(second.status, RunStatus::WaitingForInteraction);
    let second_interaction = second.interaction.unwrap();
    assert_ne!(second_interaction.id, first.id);
    assert_eq!(second_interaction.request.message(), "Approve demo.write?");
    let done = engine
        .resume(SCOPE, &out.execution_id, ResumeAction::Accept, None)
        .await
        .unwrap();
    assert_eq!(done.status, RunStatus::Completed);
    assert_eq!(done.result, Some(json!({"answer": "Ada"})));
    let all = store
        .interactions(SCOPE, &out.execution_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|i| i.status == InteractionStatus::Resolved));
    assert_eq!(stored(store, &out.execution_id).await.tool_call_count, 2);
}

/// Answers at once, after checking the run is shown as waiting meanwhile.
struct Answering(Store);

impl InlineElicitor for Answering {
    fn elicit(
        &self,
        execution_id: &str,
        _request: ElicitationRequest,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ElicitationAnswer> + Send>> {
        let store = self.0.clone();
        let id = execution_id.to_owned();
        Box::pin(async move {
            let seen = store.get(SCOPE, &id).await.unwrap().unwrap();
            let waiting = seen.execution.status == ExecutionStatus::WaitingForInteraction
                && seen.pending_interaction.is_some();
            ElicitationAnswer {
                action: ResumeAction::Accept,
                content: Some(
                    json!({ "answer": if waiting { "seen waiting" } else { "not waiting" } }),
                ),
            }
        })
    }
}

async fn inline_elicitation_records_the_same_rows(store: &Store) {
    let engine = engine(store);
    let mut req = request("return await tools.demo.ask({ question: 'Go?' });");
    req.elicitation = ElicitationMode::Inline(Arc::new(Answering(store.clone())));
    let out = engine.execute(req).await.unwrap();
    assert_eq!(out.status, RunStatus::Completed, "{out:?}");
    assert_eq!(out.result, Some(json!({"answer": "seen waiting"})));
    let row = stored(store, &out.execution_id).await;
    assert!(row.had_elicitation);
    let all = store
        .interactions(SCOPE, &out.execution_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].status, InteractionStatus::Resolved);
}

async fn resume_of_unknown_or_not_waiting_runs_is_refused(store: &Store) {
    let engine = engine(store);
    let unknown = engine
        .resume(SCOPE, "no-such-run", ResumeAction::Accept, None)
        .await
        .unwrap_err();
    assert!(matches!(unknown, EngineError::NotFound(_)), "{unknown:?}");
    let done = run(&engine, "return 1").await;
    let err = engine
        .resume(SCOPE, &done.execution_id, ResumeAction::Accept, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, EngineError::NotWaiting { status, .. } if status == "completed"),
        "{err:?}"
    );
    // Another scope's run is unknown, not "not waiting".
    let paused = run(&engine, "return await tools.demo.write({});").await;
    let other = engine
        .resume("other", &paused.execution_id, ResumeAction::Accept, None)
        .await
        .unwrap_err();
    assert!(matches!(other, EngineError::NotFound(_)), "{other:?}");
    engine.cancel(SCOPE, &paused.execution_id).await.unwrap();
}

/// Starts `code` in the background and waits until its row exists.
async fn start_in_background(
    engine: &Engine,
    store: &Store,
    code: &str,
) -> (String, tokio::task::JoinHandle<RunResponse>) {
    let mut req = request(code);
    req.timeout = Some(Duration::from_secs(60));
    let handle = tokio::spawn({
        let engine = engine.clone();
        async move { engine.execute(req).await.unwrap() }
    });
    for _ in 0..500 {
        let page = store
            .list(SCOPE, &app::model::ListQuery::default())
            .await
            .unwrap();
        if let Some(first) = page.executions.first() {
            return (first.execution.id.clone(), handle);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the run never appeared in the store");
}

async fn cancel_stops_running_javascript(store: &Store) {
    let engine = engine(store);
    let (id, handle) = start_in_background(&engine, store, "while (true) {}").await;
    let asked = Instant::now();
    let out = engine.cancel(SCOPE, &id).await.unwrap();
    eprintln!("cancel of a busy loop took {:?}", asked.elapsed());
    assert_eq!(out.status, RunStatus::Cancelled);
    assert_eq!(handle.await.unwrap().status, RunStatus::Cancelled);
    let row = stored(store, &id).await;
    assert_eq!(row.status, ExecutionStatus::Cancelled);
    assert_eq!(row.error_text.as_deref(), Some("cancelled"));
    // A finished run cannot be cancelled again.
    let again = engine.cancel(SCOPE, &id).await.unwrap_err();
    assert!(matches!(again, EngineError::NotActive { .. }), "{again:?}");
    let unknown = engine.cancel(SCOPE, "nope").await.unwrap_err();
    assert!(matches!(unknown, EngineError::NotFound(_)));
}

async fn cancel_stops_a_waiting_run(store: &Store) {
    let engine = engine(store);
    let out = run(&engine, "return await tools.demo.write({});").await;
    assert_eq!(out.status, RunStatus::WaitingForInteraction);
    let done = engine.cancel(SCOPE, &out.execution_id).await.unwrap();
    assert_eq!(done.status, RunStatus::Cancelled);
    let row = store.get(SCOPE, &out.execution_id).await.unwrap().unwrap();
    assert_eq!(row.execution.status, ExecutionStatus::Cancelled);
    assert!(row.pending_interaction.is_none());
    let all = store
        .interactions(SCOPE, &out.execution_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(all[0].status, InteractionStatus::Cancelled);
    let calls = calls(store, &out.execution_id).await;
    assert_eq!(calls[0].status, ToolCallStatus::Failed);
    assert_eq!(
        calls[0].error_text.as_deref(),
        Some("interrupted: cancelled")
    );
}

async fn cancel_stops_a_slow_tool_call(store: &Store) {
    let engine = engine(store);
    let (id, handle) =
        start_in_background(&engine, store, "await tools.demo.sleep({ ms: 60000 });").await;
    // Wait for the tool call to be recorded as running.
    for _ in 0..500 {
        let calls = store.tool_calls(SCOPE, &id).await.unwrap().unwrap();
        if !calls.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let out = engine.cancel(SCOPE, &id).await.unwrap();
    assert_eq!(out.status, RunStatus::Cancelled);
    handle.await.unwrap();
    let calls = store.tool_calls(SCOPE, &id).await.unwrap().unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].status, ToolCallStatus::Failed);
    assert!(calls[0].completed_at.is_some());
}

async fn unanswered_pauses_expire(store: &Store) {
    let config = EngineConfig {
        pause_ttl: Duration::from_millis(200),
        ..EngineConfig::default()
    };
    let engine = engine_with(store, config);
    let out = run(&engine, "return await tools.demo.write({});").await;
    assert_eq!(out.status, RunStatus::WaitingForInteraction);
    for _ in 0..300 {
        if stored(store, &out.execution_id).await.status.is_terminal() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let row = stored(store, &out.execution_id).await;
    assert_eq!(row.status, ExecutionStatus::Cancelled);
    assert!(row.error_text.unwrap().contains("nobody answered"));
    let all = store
        .interactions(SCOPE, &out.execution_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(all[0].status, InteractionStatus::Cancelled);
    let err = engine
        .resume(SCOPE, &out.execution_id, ResumeAction::Accept, None)
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::NotWaiting { .. }));
}

async fn restart_recovery_fails_unfinished_runs(store: &Store) {
    // Rows a dead process left behind: one running with an open tool call,
    // one waiting with a pending interaction, one finished.
    let t = app::store::now_ms() - 1_000;
    let create = |id: &str, status, lease| {
        store.create_execution(NewExecution {
            id: id.into(),
            scope_id: SCOPE.into(),
            status,
            code: "return 1".into(),
            trigger_kind: Some("http".into()),
            trigger_meta_json: None,
            session_id: None,
            created_at: t,
            started_at: Some(t),
            lease,
        })
    };
    for (id, status) in [
        ("dead-running", ExecutionStatus::Running),
        ("dead-waiting", ExecutionStatus::WaitingForInteraction),
        ("finished", ExecutionStatus::Completed),
    ] {
        create(id, status, None).await.unwrap();
    }
    store
        .record_tool_call(app::store::NewToolCall {
            id: "open-call".into(),
            execution_id: "dead-running".into(),
            scope_id: SCOPE.into(),
            tool_path: "demo.sleep".into(),
            args_json: None,
            started_at: t,
        })
        .await
        .unwrap();
    store
        .record_interaction(app::store::NewInteraction {
            id: "open-question".into(),
            execution_id: "dead-waiting".into(),
            scope_id: SCOPE.into(),
            kind: "form".into(),
            purpose: Some("Approve?".into()),
            payload_json: None,
            created_at: t,
        })
        .await
        .unwrap();

    // A live server's run: its lease holds for another minute.
    let lease = app::store::Lease {
        owner_id: "another-server".into(),
        expires_at: t + 60_000,
    };
    create("alive-elsewhere", ExecutionStatus::Running, Some(lease))
        .await
        .unwrap();

    let engine = engine(store);
    // SQLite: one server per file, so whatever is unfinished is dead.
    // PostgreSQL: only runs whose lease ran out (or that never had one).
    let (expected, message) = match store.dialect() {
        app::store::Dialect::Sqlite => (3, INTERRUPTED_BY_RESTART),
        app::store::Dialect::Postgres => (2, app::engine::INTERRUPTED_BY_LOSS),
    };
    assert_eq!(engine.recover().await.unwrap(), expected);
    let alive = stored(store, "alive-elsewhere").await.status;
    match store.dialect() {
        app::store::Dialect::Sqlite => assert_eq!(alive, ExecutionStatus::Failed),
        app::store::Dialect::Postgres => assert_eq!(alive, ExecutionStatus::Running),
    }
    for id in ["dead-running", "dead-waiting"] {
        let row = stored(store, id).await;
        assert_eq!(row.status, ExecutionStatus::Failed);
        assert_eq!(row.error_text.as_deref(), Some(message));
        assert!(row.completed_at.is_some());
    }
    assert_eq!(
        stored(store, "finished").await.status,
        ExecutionStatus::Completed
    );
    let calls = store
        .tool_calls(SCOPE, "dead-running")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(calls[0].status, ToolCallStatus::Failed);
    let all = store
        .interactions(SCOPE, "dead-waiting")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(all[0].status, InteractionStatus::Cancelled);
    // Counts follow: nothing is left running.
    let meta = store
        .list(SCOPE, &app::model::ListQuery::default())
        .await
        .unwrap()
        .meta
        .unwrap();
    // The live server's run is the only one left running (PostgreSQL).
    assert_eq!(meta.status_counts.running, 3 - expected as i64);
    assert_eq!(meta.status_counts.waiting_for_interaction, 0);
    assert_eq!(meta.status_counts.failed, expected as i64);
}

async fn sandbox_faults_fail_only_their_run(store: &Store) {
    let config = EngineConfig {
        limits: app::engine::Limits {
            wall_time: Duration::from_millis(300),
            ..app::engine::Limits::default()
        },
        ..EngineConfig::default()
    };
    let engine = engine_with(store, config);
    let cases: [(&str, &str); 7] = [
        ("return 1 +;", "SyntaxError"),
        ("while (true) {}", "time limit exceeded"),
        (
            "const keep = []; while (true) keep.push(new Array(100000).fill(1));",
            "memory limit exceeded",
        ),
        (
            "function f(n) { return f(n + 1) + 1; } return f(0);",
            "stack limit exceeded",
        ),
        ("return 'x'.repeat(10 * 1024 * 1024);", "result too large"),
        (
            "for (let i = 0; i < 5000; i++) console.log('y'.repeat(1000)); return 1;",
            "logs too large",
        ),
        ("await new Promise(() => {});", "time limit exceeded"),
    ];
    for (code, expected) in cases {
        let out = run(&engine, code).await;
        assert_eq!(out.status, RunStatus::Failed, "{code}: {out:?}");
        let error = out.error.clone().unwrap();
        assert!(
            error.contains(expected),
            "{code}: expected '{expected}' in '{error}'"
        );
        let row = stored(store, &out.execution_id).await;
        assert_eq!(row.status, ExecutionStatus::Failed);
        assert_eq!(row.error_text.as_deref(), Some(error.as_str()));
    }
    // The engine is still fine.
    let ok = run(&engine, "return 2 + 2").await;
    assert_eq!(ok.result, Some(json!(4)));
}

async fn built_in_tools_work_and_are_recorded(store: &Store) {
    let engine = engine(store);
    let out = run(
        &engine,
        r#"const found = await tools.search({ query: "write" });
           const described = await tools.describe.tool({ path: "demo.write" });
           const sources = await tools.executor.sources.list();
           return { first: found[0].path, approval: described.requiresApproval,
                    sources: sources.map(s => s.id + ":" + s.toolCount) };"#,
    )
    .await;
    assert_eq!(out.status, RunStatus::Completed, "{out:?}");
    assert_eq!(
        out.result,
        Some(json!({"first": "demo.write", "approval": true, "sources": ["executor:3", "demo:7"]}))
    );
    let calls = calls(store, &out.execution_id).await;
    let paths: Vec<_> = calls.iter().map(|c| c.tool_path.as_str()).collect();
    assert_eq!(paths, ["search", "describe.tool", "executor.sources.list"]);
}

async fn console_and_timers_work(store: &Store) {
    let engine = engine(store);
    let out = run(
        &engine,
        r#"console.info("i", 1); console.warn({ a: 1 }); console.error(new Error("e"));
           const cleared = setTimeout(() => console.log("never"), 5);
           clearTimeout(cleared);
           await new Promise(resolve => setTimeout(resolve, 20));
           return [typeof require, typeof process, typeof fetch, JSON.stringify(new Date(0))];"#,
    )
    .await;
    assert_eq!(out.status, RunStatus::Completed, "{out:?}");
    assert_eq!(
        out.logs,
        vec![
            "[info] i 1".to_owned(),
            "[warn] {\"a\":1}".to_owned(),
            "[error] Error: e".to_owned()
        ]
    );
    assert_eq!(
        out.result,
        Some(json!([
            "undefined",
            "undefined",
            "undefined",
            "\"1970-01-01T00:00:00.000Z\""
        ]))
    );
}

async fn a_hundred_runs_at_once_keep_separate_records(store: &Store) {
    let engine = engine(store);
    let mut runs = tokio::task::JoinSet::new();
    for n in 0..100 {
        let engine = engine.clone();
        runs.spawn(async move {
            let code = format!(
                "for (let i = 0; i < {calls}; i++) await tools.demo.echo({{ i }}); return {n};",
                calls = n % 4
            );
            (n, engine.execute(request(&code)).await.unwrap())
        });
    }
    let mut ids = std::collections::HashSet::new();
    while let Some(done) = runs.join_next().await {
        let (n, out) = done.unwrap();
        assert_eq!(out.status, RunStatus::Completed);
        assert_eq!(out.result, Some(json!(n)));
        let row = stored(store, &out.execution_id).await;
        assert_eq!(row.result_json, Some(n.to_string()));
        assert_eq!(row.tool_call_count, i64::from(n % 4));
        let calls = calls(store, &out.execution_id).await;
        assert_eq!(calls.len() as i64, i64::from(n % 4));
        assert!(ids.insert(out.execution_id));
    }
    assert_eq!(ids.len(), 100);
}

async fn a_slow_tool_call_does_not_block_other_runs(store: &Store) {
    // One worker thread, so the quick runs share it with the slow one.
    let engine = engine_with(
        store,
        EngineConfig {
            workers: 1,
            ..EngineConfig::default()
        },
    );
    let slow = tokio::spawn({
        let engine = engine.clone();
        async move {
            let mut req = request("await tools.demo.sleep({ ms: 3000 }); return 'slow';");
            req.timeout = Some(Duration::from_secs(10));
            engine.execute(req).await.unwrap()
        }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    for n in 0..10 {
        let out = run(&engine, &format!("return await tools.demo.echo({n});")).await;
        assert_eq!(out.result, Some(json!(n)));
    }
    assert!(
        !slow.is_finished(),
        "the quick runs waited for the slow one"
    );
    assert_eq!(slow.await.unwrap().result, Some(json!("slow")));
}

async fn rerun_repeats_the_code_with_a_new_trigger(store: &Store) {
    let engine = engine(store);
    let first = run(&engine, "return 40 + 2").await;
    let again = engine
        .rerun(SCOPE, &first.execution_id, None)
        .await
        .unwrap();
    assert_ne!(again.execution_id, first.execution_id);
    assert_eq!(again.result, Some(json!(42)));
    let row = stored(store, &again.execution_id).await;
    assert_eq!(row.trigger_kind.as_deref(), Some("ui"));
    let meta: serde_json::Value = serde_json::from_str(&row.trigger_meta_json.unwrap()).unwrap();
    assert_eq!(meta, json!({"rerunOf": first.execution_id}));
    assert!(matches!(
        engine.rerun(SCOPE, "missing", None).await,
        Err(EngineError::NotFound(_))
    ));
}

/// Breaks writes for real (a trigger that makes the database refuse every
/// change to runs), then runs code: the caller still gets its result.
async fn a_storage_failure_never_fails_the_run(db: &TestDb) {
    let store = &db.store;
    let engine = engine(store);
    let before = run(&engine, "return 0").await;
    assert_eq!(before.status, RunStatus::Completed);
    if db.url.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
        for (name, table, event) in [
            ("no_insert_execution", "execution", "INSERT"),
            ("no_update_execution", "execution", "UPDATE"),
            ("no_insert_tool_call", "execution_tool_call", "INSERT"),
        ] {
            sqlx::query(&format!(
                "CREATE TRIGGER {name} BEFORE {event} ON {table} BEGIN SELECT RAISE(ABORT, 'disk says no'); END"
            ))
            .execute(&pool)
            .await
            .unwrap();
        }
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
        sqlx::query(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk says no'; END $$",
        )
        .execute(&pool)
        .await
        .unwrap();
        for table in ["execution", "execution_tool_call"] {
            sqlx::query(&format!(
                "CREATE TRIGGER refuse_{table} BEFORE INSERT OR UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION refuse()"
            ))
            .execute(&pool)
            .await
            .unwrap();
        }
        pool.close().await;
    }
    let out = run(
        &engine,
        "const r = await tools.demo.echo({ v: 7 }); return r.v * 6;",
    )
    .await;
    assert_eq!(out.status, RunStatus::Completed, "{out:?}");
    assert_eq!(out.result, Some(json!(42)));
    assert!(store.get(SCOPE, &out.execution_id).await.unwrap().is_none());
    // Failures are counted as the writer reports them, after the answer.
    for _ in 0..500 {
        if engine.storage_failures() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(engine.storage_failures() > 0);
}
