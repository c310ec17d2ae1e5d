//! The execution store, specified by behaviour. Every test runs against a
//! fresh SQLite file and a fresh PostgreSQL database.

#![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

use app::on_both_databases;
use app::test_support as support;

use std::collections::HashSet;

use app::model::{ExecutionStatus, InteractionStatus, ListQuery, ToolCallStatus};
use app::store::{
    ExecutionPatch, InteractionResolution, Lease, NewExecution, NewInteraction, NewToolCall, Store,
    StoreError, ToolCallFinish, WriteOp,
};
use support::{ids, list, query, run, SCOPE};

/// 2026-01-01T00:00:00Z: day- and hour-aligned.
const T0: i64 = 1_767_225_600_000;
const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;

on_both_databases!(
    create_then_get_round_trips_the_run,
    update_sets_terminal_fields,
    a_terminal_status_is_never_overwritten,
    text_with_nul_is_stored_with_a_replacement_character,
    tool_calls_are_listed_in_call_order_with_namespace_and_duration,
    pending_interaction_shows_until_resolved,
    status_and_trigger_filters_select_matching_runs,
    first_page_meta_counts_the_scope,
    unknown_trigger_matches_runs_without_a_trigger,
    tool_patterns_match_exact_prefix_and_suffix,
    from_is_inclusive_and_to_is_exclusive,
    after_is_exclusive,
    code_search_is_a_case_insensitive_substring,
    error_search_is_a_case_insensitive_substring_of_the_error,
    paging_an_error_filter_visits_every_match_once,
    the_session_filter_finds_a_sessions_runs_and_counts_them,
    duration_bounds_are_inclusive,
    elicitation_filter_splits_runs_by_interaction,
    filters_combine_with_and,
    cursor_pages_visit_every_row_once_for_every_sort,
    facet_counts_are_disjunctive,
    chart_is_dense_over_the_requested_range,
    rollup_answers_match_row_answers_after_updates,
    scopes_never_see_each_other,
    sweep_deletes_old_runs_with_their_children,
    export_streams_every_matching_run,
    batched_writes_from_many_tasks_are_all_recorded,
    queued_writes_of_a_run_are_all_stored_once_the_last_commits,
    sessions_are_kept_by_hash_touched_and_expired,
    an_owners_writes_are_refused_once_its_run_is_taken_over,
);

async fn create_then_get_round_trips_the_run(store: &Store) {
    let id = uuid::Uuid::now_v7().to_string();
    store
        .create_execution(NewExecution {
            id: id.clone(),
            scope_id: SCOPE.into(),
            status: ExecutionStatus::Running,
            code: "return 1".into(),
            trigger_kind: Some("cli".into()),
            trigger_meta_json: Some(r#"{"argv":["call"]}"#.into()),
            session_id: Some("cli:1".into()),
            created_at: T0,
            started_at: Some(T0),
            lease: None,
        })
        .await
        .unwrap();
    let got = store.get(SCOPE, &id).await.unwrap().expect("run exists");
    let e = got.execution;
    assert_eq!(
        (e.id.as_str(), e.status, e.code.as_str()),
        (id.as_str(), ExecutionStatus::Running, "return 1")
    );
    assert_eq!(e.trigger_kind.as_deref(), Some("cli"));
    assert_eq!(e.trigger_meta_json.as_deref(), Some(r#"{"argv":["call"]}"#));
    assert_eq!(e.session_id.as_deref(), Some("cli:1"));
    assert_eq!(
        (e.tool_call_count, e.had_elicitation, e.duration_ms),
        (0, false, None)
    );
    assert_eq!((e.created_at, e.started_at), (T0, Some(T0)));
    assert!(got.pending_interaction.is_none());
    assert!(store.get(SCOPE, "no-such-id").await.unwrap().is_none());
}

async fn update_sets_terminal_fields(store: &Store) {
    let id = run(T0).status(ExecutionStatus::Running).record(store).await;
    store
        .update_execution(
            SCOPE,
            &id,
            ExecutionPatch {
                status: Some(ExecutionStatus::Completed),
                result_json: Some(r#"{"ok":true}"#.into()),
                logs_json: Some(r#"["[log] hello"]"#.into()),
                completed_at: Some(T0 + 250),
                duration_ms: Some(250),
                tool_call_count: Some(2),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let e = store.get(SCOPE, &id).await.unwrap().unwrap().execution;
    assert_eq!(e.status, ExecutionStatus::Completed);
    assert_eq!(e.result_json.as_deref(), Some(r#"{"ok":true}"#));
    assert_eq!(e.logs_json.as_deref(), Some(r#"["[log] hello"]"#));
    assert_eq!(
        (e.completed_at, e.duration_ms, e.tool_call_count),
        (Some(T0 + 250), Some(250), 2)
    );
    assert!(e.updated_at >= e.created_at);
    let missing = store
        .update_execution(
            SCOPE,
            "missing",
            ExecutionPatch {
                status: Some(ExecutionStatus::Failed),
                ..Default::default()
            },
        )
        .await;
    assert!(missing.is_err(), "updating a missing run is reported");
}

/// Once a run has ended, nothing changes it: not a later patch (in its own
/// batch or folded into the batch that finished it), not restart recovery,
/// and its finished tool calls and answered interactions stay as they are.
async fn a_terminal_status_is_never_overwritten(store: &Store) {
    let id = run(T0).status(ExecutionStatus::Running).record(store).await;
    let finish = |status, error: Option<&str>| WriteOp::UpdateExecution {
        scope_id: SCOPE.into(),
        id: id.clone(),
        patch: ExecutionPatch {
            status: Some(status),
            result_json: error.is_none().then(|| "7".to_owned()),
            error_text: error.map(str::to_owned),
            ..Default::default()
        },
    };
    // Finished and contradicted in one transaction, then again alone.
    let both = store
        .enqueue_all(vec![
            finish(ExecutionStatus::Completed, None),
            finish(
                ExecutionStatus::Failed,
                Some("interrupted: server restarted"),
            ),
        ])
        .await
        .unwrap();
    both.committed().await.unwrap();
    store
        .write(finish(ExecutionStatus::Cancelled, Some("cancelled")))
        .await
        .unwrap();
    assert_eq!(
        store
            .fail_unfinished("interrupted: server restarted", T0 + 9)
            .await
            .unwrap(),
        0
    );
    let e = store.get(SCOPE, &id).await.unwrap().unwrap().execution;
    assert_eq!(e.status, ExecutionStatus::Completed);
    assert_eq!(e.result_json.as_deref(), Some("7"));
    assert_eq!(e.error_text, None, "no error contradicts a completed run");
    // The roll-ups count it once, as completed.
    let page = list(store, &[]).await;
    let meta = page.meta.unwrap();
    assert_eq!(meta.status_counts.completed, 1);
    assert_eq!(meta.status_counts.failed + meta.status_counts.cancelled, 0);

    // A finished tool call is not finished again.
    store
        .record_tool_call(NewToolCall {
            id: "call".into(),
            execution_id: id.clone(),
            scope_id: SCOPE.into(),
            tool_path: "a.b".into(),
            args_json: None,
            started_at: T0,
        })
        .await
        .unwrap();
    let call_end = |status, error: Option<&str>| {
        WriteOp::FinishToolCall(ToolCallFinish {
            id: "call".into(),
            execution_id: id.clone(),
            scope_id: SCOPE.into(),
            status,
            result_json: None,
            error_text: error.map(str::to_owned),
            completed_at: T0 + 5,
            duration_ms: 5,
        })
    };
    store
        .write(call_end(ToolCallStatus::Completed, None))
        .await
        .unwrap();
    store
        .write(call_end(ToolCallStatus::Failed, Some("late")))
        .await
        .unwrap();
    let calls = store.tool_calls(SCOPE, &id).await.unwrap().unwrap();
    assert_eq!(calls[0].status, ToolCallStatus::Completed);
    assert_eq!(calls[0].error_text, None);
}

/// PostgreSQL cannot store NUL: a run whose error text holds one (a thrown
/// `"\0"`) is still recorded, on both databases alike, with U+FFFD.
async fn text_with_nul_is_stored_with_a_replacement_character(store: &Store) {
    let id = run(T0).status(ExecutionStatus::Running).record(store).await;
    store
        .update_execution(
            SCOPE,
            &id,
            ExecutionPatch {
                status: Some(ExecutionStatus::Failed),
                error_text: Some("Error: a\0b".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let e = store.get(SCOPE, &id).await.unwrap().unwrap().execution;
    assert_eq!(e.status, ExecutionStatus::Failed);
    assert_eq!(e.error_text.as_deref(), Some("Error: a\u{FFFD}b"));
}

async fn tool_calls_are_listed_in_call_order_with_namespace_and_duration(store: &Store) {
    let id = run(T0).status(ExecutionStatus::Running).record(store).await;
    for (i, path) in ["ns.doThing", "other.a.b"].iter().enumerate() {
        let call = format!("call-{i}");
        store
            .record_tool_call(NewToolCall {
                id: call.clone(),
                execution_id: id.clone(),
                scope_id: SCOPE.into(),
                tool_path: path.to_string(),
                args_json: Some("{}".into()),
                started_at: T0 + i as i64 * 10,
            })
            .await
            .unwrap();
        store
            .finish_tool_call(ToolCallFinish {
                id: call,
                execution_id: id.clone(),
                scope_id: SCOPE.into(),
                status: if i == 0 {
                    ToolCallStatus::Completed
                } else {
                    ToolCallStatus::Failed
                },
                result_json: (i == 0).then(|| r#"{"r":1}"#.into()),
                error_text: (i == 1).then(|| "boom".into()),
                completed_at: T0 + 250,
                duration_ms: 250,
            })
            .await
            .unwrap();
    }
    let calls = store
        .tool_calls(SCOPE, &id)
        .await
        .unwrap()
        .expect("run exists");
    assert_eq!(calls.len(), 2);
    assert_eq!(
        (calls[0].namespace.as_str(), calls[0].status),
        ("ns", ToolCallStatus::Completed)
    );
    assert_eq!(
        (calls[0].duration_ms, calls[0].result_json.as_deref()),
        (Some(250), Some(r#"{"r":1}"#))
    );
    assert_eq!(
        (calls[1].namespace.as_str(), calls[1].status),
        ("other", ToolCallStatus::Failed)
    );
    assert_eq!(calls[1].error_text.as_deref(), Some("boom"));
    assert!(store.tool_calls(SCOPE, "missing").await.unwrap().is_none());
}

async fn pending_interaction_shows_until_resolved(store: &Store) {
    let id = run(T0)
        .status(ExecutionStatus::WaitingForInteraction)
        .record(store)
        .await;
    store
        .record_interaction(NewInteraction {
            id: "i-1".into(),
            execution_id: id.clone(),
            scope_id: SCOPE.into(),
            kind: "form".into(),
            purpose: Some("Approve demo.write?".into()),
            payload_json: Some(r#"{"requestedSchema":{}}"#.into()),
            created_at: T0 + 5,
        })
        .await
        .unwrap();
    let got = store.get(SCOPE, &id).await.unwrap().unwrap();
    assert!(got.execution.had_elicitation);
    let pending = got.pending_interaction.expect("pending interaction");
    assert_eq!(
        (pending.id.as_str(), pending.status),
        ("i-1", InteractionStatus::Pending)
    );
    assert_eq!(pending.purpose.as_deref(), Some("Approve demo.write?"));
    let listed = list(store, &[]).await;
    assert_eq!(
        listed.executions[0]
            .pending_interaction
            .as_ref()
            .map(|i| i.id.as_str()),
        Some("i-1")
    );
    store
        .resolve_interaction(InteractionResolution {
            id: "i-1".into(),
            execution_id: id.clone(),
            scope_id: SCOPE.into(),
            status: InteractionStatus::Resolved,
            response_json: Some(r#"{"action":"accept","content":null}"#.into()),
            updated_at: T0 + 9,
        })
        .await
        .unwrap();
    let got = store.get(SCOPE, &id).await.unwrap().unwrap();
    assert!(got.pending_interaction.is_none());
    assert!(
        got.execution.had_elicitation,
        "having elicited stays true after resolution"
    );
}

async fn status_and_trigger_filters_select_matching_runs(store: &Store) {
    let a = run(T0).trigger(Some("cli")).record(store).await;
    let b = run(T0 + 1).trigger(Some("cli")).record(store).await;
    let c = run(T0 + 2)
        .trigger(Some("http"))
        .status(ExecutionStatus::Failed)
        .record(store)
        .await;
    let completed = list(store, &[("status", "completed")]).await;
    assert_eq!(ids(&completed), vec![b.clone(), a.clone()]);
    let http = list(store, &[("trigger", "http")]).await;
    assert_eq!(ids(&http), vec![c]);
}

async fn first_page_meta_counts_the_scope(store: &Store) {
    run(T0).trigger(Some("cli")).record(store).await;
    run(T0 + 1).trigger(Some("cli")).record(store).await;
    run(T0 + 2)
        .trigger(Some("mcp"))
        .status(ExecutionStatus::Failed)
        .record(store)
        .await;
    let meta = list(store, &[]).await.meta.expect("first page has meta");
    assert_eq!((meta.total_row_count, meta.filter_row_count), (3, 3));
    assert_eq!(
        (meta.status_counts.completed, meta.status_counts.failed),
        (2, 1)
    );
    let count = |kind: &str| {
        meta.trigger_counts
            .iter()
            .find(|t| t.trigger_kind.as_deref() == Some(kind))
            .map(|t| t.count)
    };
    assert_eq!((count("cli"), count("mcp")), (Some(2), Some(1)));
    let filtered = list(store, &[("status", "failed")]).await.meta.unwrap();
    assert_eq!(
        (filtered.total_row_count, filtered.filter_row_count),
        (3, 1)
    );
}

async fn unknown_trigger_matches_runs_without_a_trigger(store: &Store) {
    let none = run(T0).trigger(None).record(store).await;
    let cli = run(T0 + 1).trigger(Some("cli")).record(store).await;
    run(T0 + 2).trigger(Some("mcp")).record(store).await;
    assert_eq!(
        ids(&list(store, &[("trigger", "unknown")]).await),
        vec![none.clone()]
    );
    assert_eq!(
        ids(&list(store, &[("trigger", "unknown,cli")]).await),
        vec![cli, none]
    );
    let meta = list(store, &[]).await.meta.unwrap();
    assert!(meta
        .trigger_counts
        .iter()
        .any(|t| t.trigger_kind.is_none() && t.count == 1));
}

async fn tool_patterns_match_exact_prefix_and_suffix(store: &Store) {
    let bare = run(T0).tools(&["github"]).record(store).await;
    let deep = run(T0 + 1).tools(&["github.a.b"]).record(store).await;
    let create = run(T0 + 2)
        .tools(&["gitlab.issues.create"])
        .record(store)
        .await;
    let none = run(T0 + 3).record(store).await;
    let _ = none;
    let set = |p: &[(&str, &str)]| {
        let store = store.clone();
        let p: Vec<(String, String)> = p
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        async move {
            let pairs: Vec<(&str, &str)> =
                p.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            ids(&list(&store, &pairs).await)
                .into_iter()
                .collect::<HashSet<_>>()
        }
    };
    assert_eq!(
        set(&[("tool", "github.*")]).await,
        HashSet::from([bare.clone(), deep.clone()])
    );
    assert_eq!(
        set(&[("tool", "*.create")]).await,
        HashSet::from([create.clone()])
    );
    assert_eq!(
        set(&[("tool", "github.a.b")]).await,
        HashSet::from([deep.clone()])
    );
    assert_eq!(
        set(&[("tool", "github")]).await,
        HashSet::from([bare.clone()])
    );
    assert_eq!(
        set(&[("tool", "github.a.b,*.create")]).await,
        HashSet::from([deep, create])
    );
    assert!(set(&[("tool", "nothing.*")]).await.is_empty());
    let meta = list(store, &[("tool", "nothing.*")]).await.meta.unwrap();
    assert_eq!(meta.filter_row_count, 0);
    assert_eq!(meta.total_row_count, 4);
}

async fn from_is_inclusive_and_to_is_exclusive(store: &Store) {
    let before = run(T0 - 1).record(store).await;
    let at_from = run(T0).record(store).await;
    let inside = run(T0 + 5).record(store).await;
    let at_to = run(T0 + 10).record(store).await;
    let _ = (before, at_to);
    let from = T0.to_string();
    let to = (T0 + 10).to_string();
    let page = list(store, &[("from", &from), ("to", &to)]).await;
    assert_eq!(ids(&page), vec![inside, at_from]);
}

async fn after_is_exclusive(store: &Store) {
    run(T0).record(store).await;
    let newer = run(T0 + 1).record(store).await;
    let after = T0.to_string();
    assert_eq!(ids(&list(store, &[("after", &after)]).await), vec![newer]);
}

async fn code_search_is_a_case_insensitive_substring(store: &Store) {
    let fetch = run(T0)
        .code("await tools.github.Fetch({ q: \"50%_off\" })")
        .record(store)
        .await;
    let other = run(T0 + 1).code("return 42").record(store).await;
    assert_eq!(
        ids(&list(store, &[("code", "fetch")]).await),
        vec![fetch.clone()]
    );
    assert_eq!(
        ids(&list(store, &[("code", "GITHUB.FETCH")]).await),
        vec![fetch.clone()]
    );
    assert_eq!(
        ids(&list(store, &[("code", "42")]).await),
        vec![other.clone()],
        "short needles work too"
    );
    assert_eq!(
        ids(&list(store, &[("code", "%_")]).await),
        vec![fetch.clone()],
        "wildcards are literal"
    );
    assert_eq!(
        ids(&list(store, &[("code", "50%_off\"")]).await),
        vec![fetch],
        "quotes are literal"
    );
    assert!(list(store, &[("code", "50%x")]).await.executions.is_empty());
}

async fn error_search_is_a_case_insensitive_substring_of_the_error(store: &Store) {
    let timeout = run(T0)
        .code("await tools.github.fetch({})")
        .error("Error: Upstream TIMED OUT after 30s\n    at fetch (tool.js:1)")
        .record(store)
        .await;
    let refused = run(T0 + 1)
        .code("await tools.github.fetch({})")
        .error("connect ECONNREFUSED 127.0.0.1:80 (100%_sure)")
        .record(store)
        .await;
    // Fails later: indexed as it finishes, not as it starts.
    let later = run(T0 + 2)
        .status(ExecutionStatus::Running)
        .record(store)
        .await;
    // Its code holds the needle; it has no error.
    run(T0 + 3).code("timed out").record(store).await;
    let search =
        |needle: &'static str| async move { ids(&list(store, &[("error", needle)]).await) };
    assert_eq!(search("timed out").await, vec![timeout.clone()]);
    assert_eq!(search("UPSTREAM").await, vec![timeout.clone()]);
    assert_eq!(
        search("at fetch").await,
        vec![timeout.clone()],
        "past the first line"
    );
    assert_eq!(
        search("%_").await,
        vec![refused.clone()],
        "wildcards are literal"
    );
    assert_eq!(
        search("80").await,
        vec![refused.clone()],
        "short needles work too"
    );
    assert!(
        search("return 1").await.is_empty(),
        "the code is not the error"
    );
    assert!(search("nowhere").await.is_empty());
    store
        .update_execution(
            SCOPE,
            &later,
            ExecutionPatch {
                status: Some(ExecutionStatus::Failed),
                error_text: Some("Timed out waiting for approval".into()),
                completed_at: Some(T0 + 10),
                duration_ms: Some(8),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        search("timed out").await,
        vec![later.clone(), timeout.clone()]
    );
    // With the code filter too: both must hold, whichever drives.
    let both = list(store, &[("error", "timed out"), ("code", "github")]).await;
    assert_eq!(ids(&both), vec![timeout.clone()]);
    let both = list(store, &[("error", "TIMED"), ("code", "timed")]).await;
    assert!(ids(&both).is_empty(), "{:?}", ids(&both));
    // Counts and facets agree with the rows.
    let meta = list(store, &[("error", "timed out")]).await.meta.unwrap();
    assert_eq!(meta.filter_row_count, 2);
    assert_eq!(meta.status_counts.failed, 2);
    assert!(!ids(&list(store, &[]).await).is_empty());
    assert!(ids(&list(store, &[("error", "timed out"), ("status", "completed")]).await).is_empty());
    assert_derived_match(store, "the error index drifted").await;
}

/// Pages of an error filter visit each match once, in order.
async fn paging_an_error_filter_visits_every_match_once(store: &Store) {
    let mut failed = Vec::new();
    for i in 0..120 {
        let r = run(T0 + i * MIN);
        failed.push(if i % 3 == 0 {
            r.error(&format!("upstream returned 502 ({i})"))
                .record(store)
                .await
        } else {
            r.record(store).await
        });
    }
    let wanted: Vec<String> = failed
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 == 0)
        .map(|(_, id)| id.clone())
        .rev()
        .collect();
    let first = list(store, &[("error", "RETURNED 502"), ("limit", "25")]).await;
    let cursor = first.next_cursor.clone().unwrap();
    let second = list(store, &[("error", "returned 502"), ("cursor", &cursor)]).await;
    let mut all = ids(&first);
    all.extend(ids(&second));
    assert_eq!(all, wanted);
    assert_eq!(first.meta.unwrap().filter_row_count, 40);
}

async fn the_session_filter_finds_a_sessions_runs_and_counts_them(store: &Store) {
    let mut mine = Vec::new();
    for i in 0..30 {
        let r = run(T0 + i * HOUR).tools(&["demo.echo"]);
        let r = match i % 3 {
            0 => r.session("mcp:a"),
            1 => r.session("cli:b").error("boom"),
            _ => r,
        };
        let id = r.record(store).await;
        if i % 3 == 0 {
            mine.push(id);
        }
    }
    // Another scope's runs of a session with the same name stay its own.
    run(T0).scope("other").session("mcp:a").record(store).await;
    mine.reverse();
    let first = list(store, &[("session", "mcp:a"), ("limit", "4")]).await;
    let cursor = first.next_cursor.clone().unwrap();
    let mut all = ids(&first);
    let rest = list(store, &[("session", "mcp:a"), ("cursor", &cursor)]).await;
    all.extend(ids(&rest));
    assert_eq!(all, mine, "newest first, every run once");
    let meta = first.meta.unwrap();
    assert_eq!((meta.filter_row_count, meta.total_row_count), (10, 30));
    assert!(!meta.approximate);
    assert_eq!(meta.status_counts.completed, 10);
    assert_eq!(meta.tool_facets[0].count, 10);
    let chart_runs: i64 = meta.chart.buckets.iter().map(|b| b.counts.completed).sum();
    assert_eq!(chart_runs, 10);
    // Several sessions, and with other filters.
    let both = list(store, &[("session", "mcp:a,cli:b"), ("limit", "100")]).await;
    assert_eq!(both.executions.len(), 20);
    let failed = list(store, &[("session", "mcp:a,cli:b"), ("status", "failed")]).await;
    assert_eq!(failed.meta.unwrap().filter_row_count, 10);
    assert!(list(store, &[("session", "nobody")])
        .await
        .executions
        .is_empty());
    let got = store.get(SCOPE, &mine[0]).await.unwrap().unwrap();
    assert_eq!(got.execution.session_id.as_deref(), Some("mcp:a"));
}

async fn duration_bounds_are_inclusive(store: &Store) {
    let fast = run(T0).duration(Some(10)).record(store).await;
    let mid = run(T0 + 1).duration(Some(500)).record(store).await;
    let slow = run(T0 + 2).duration(Some(5000)).record(store).await;
    run(T0 + 3)
        .status(ExecutionStatus::Running)
        .record(store)
        .await;
    assert_eq!(
        ids(&list(store, &[("minDurationMs", "500")]).await),
        vec![slow.clone(), mid.clone()]
    );
    assert_eq!(
        ids(&list(store, &[("maxDurationMs", "500")]).await),
        vec![mid.clone(), fast]
    );
    assert_eq!(
        ids(&list(store, &[("minDurationMs", "500"), ("maxDurationMs", "500")]).await),
        vec![mid]
    );
}

async fn elicitation_filter_splits_runs_by_interaction(store: &Store) {
    let asked = run(T0).elicitation().record(store).await;
    let plain = run(T0 + 1).record(store).await;
    assert_eq!(
        ids(&list(store, &[("elicitation", "true")]).await),
        vec![asked]
    );
    assert_eq!(
        ids(&list(store, &[("elicitation", "false")]).await),
        vec![plain]
    );
    let meta = list(store, &[]).await.meta.unwrap();
    assert_eq!(
        (
            meta.interaction_counts.with_elicitation,
            meta.interaction_counts.without_elicitation
        ),
        (1, 1)
    );
}

async fn filters_combine_with_and(store: &Store) {
    let hit = run(T0)
        .status(ExecutionStatus::Failed)
        .trigger(Some("mcp"))
        .tools(&["github.issues.create"])
        .code("createIssue()")
        .duration(Some(700))
        .elicitation()
        .record(store)
        .await;
    run(T0 + 1)
        .status(ExecutionStatus::Failed)
        .trigger(Some("mcp"))
        .tools(&["github.issues.create"])
        .code("createIssue()")
        .duration(Some(700))
        .record(store)
        .await;
    run(T0 + 2)
        .status(ExecutionStatus::Completed)
        .trigger(Some("mcp"))
        .tools(&["github.issues.create"])
        .code("createIssue()")
        .duration(Some(700))
        .elicitation()
        .record(store)
        .await;
    run(T0 + 3)
        .status(ExecutionStatus::Failed)
        .trigger(Some("cli"))
        .tools(&["github.issues.create"])
        .code("createIssue()")
        .duration(Some(700))
        .elicitation()
        .record(store)
        .await;
    run(T0 + 4)
        .status(ExecutionStatus::Failed)
        .trigger(Some("mcp"))
        .tools(&["slack.post"])
        .code("createIssue()")
        .duration(Some(700))
        .elicitation()
        .record(store)
        .await;
    run(T0 + 5)
        .status(ExecutionStatus::Failed)
        .trigger(Some("mcp"))
        .tools(&["github.issues.create"])
        .code("other()")
        .duration(Some(700))
        .elicitation()
        .record(store)
        .await;
    run(T0 + 6)
        .status(ExecutionStatus::Failed)
        .trigger(Some("mcp"))
        .tools(&["github.issues.create"])
        .code("createIssue()")
        .duration(Some(7))
        .elicitation()
        .record(store)
        .await;
    let from = T0.to_string();
    let to = (T0 + 100).to_string();
    let page = list(
        store,
        &[
            ("status", "failed"),
            ("trigger", "mcp"),
            ("tool", "github.*"),
            ("code", "createissue"),
            ("minDurationMs", "100"),
            ("elicitation", "true"),
            ("from", &from),
            ("to", &to),
        ],
    )
    .await;
    assert_eq!(ids(&page), vec![hit]);
    assert_eq!(page.meta.unwrap().filter_row_count, 1);
}

async fn cursor_pages_visit_every_row_once_for_every_sort(store: &Store) {
    // 1,000 runs on 37 distinct timestamps and 11 distinct durations (plus
    // running ones without a duration), so ties are everywhere. A third call
    // `x.one`, which a one-path filter lists from the path's own index.
    let mut all = HashSet::new();
    let mut with_one = HashSet::new();
    let mut recorders = Vec::new();
    for i in 0..1_000i64 {
        let r = run(T0 + (i % 37) * 1_000);
        let r = if i % 13 == 0 {
            r.status(ExecutionStatus::Running)
        } else {
            r.duration(Some((i % 11) * 100))
        };
        let r = if i % 3 == 0 {
            with_one.insert(r.id.clone());
            r.tools(&["x.one", "x.two"])
        } else {
            r.tools(&["x.two"])
        };
        all.insert(r.id.clone());
        let store = store.clone();
        recorders.push(tokio::spawn(async move { r.record(&store).await }));
    }
    for r in recorders {
        r.await.unwrap();
    }
    let sorts = [
        "createdAt,desc",
        "createdAt,asc",
        "durationMs,desc",
        "durationMs,asc",
    ];
    let filters = [(None, &all), (Some("x.one"), &with_one)];
    for ((tool, expected), sort) in filters
        .iter()
        .flat_map(|f| sorts.iter().map(move |s| (*f, *s)))
    {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut keys: Vec<(i64, String)> = Vec::new();
        loop {
            let mut pairs = vec![("sort", sort), ("limit", "37")];
            if let Some(tool) = tool {
                pairs.push(("tool", tool));
            }
            if let Some(c) = &cursor {
                pairs.push(("cursor", c.as_str()));
            }
            let page = list(store, &pairs).await;
            for e in &page.executions {
                let key = if sort.starts_with("created") {
                    e.execution.created_at
                } else {
                    e.execution.duration_ms.unwrap_or(-1)
                };
                keys.push((key, e.execution.id.clone()));
            }
            seen.extend(ids(&page));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(
            seen.len(),
            expected.len(),
            "{sort} {tool:?}: every row once"
        );
        assert_eq!(
            &seen.iter().cloned().collect::<HashSet<_>>(),
            expected,
            "{sort} {tool:?}: no row missing"
        );
        let mut sorted = keys.clone();
        sorted.sort();
        if sort.ends_with("desc") {
            sorted.reverse();
        }
        assert_eq!(keys, sorted, "{sort} {tool:?}: pages come in order");
    }
}

async fn facet_counts_are_disjunctive(store: &Store) {
    for i in 0..3 {
        run(T0 + i)
            .status(ExecutionStatus::Completed)
            .trigger(Some("cli"))
            .tools(&["a.x"])
            .record(store)
            .await;
    }
    for i in 3..5 {
        run(T0 + i)
            .status(ExecutionStatus::Failed)
            .trigger(Some("mcp"))
            .tools(&["b.y"])
            .record(store)
            .await;
    }
    run(T0 + 5)
        .status(ExecutionStatus::Running)
        .trigger(Some("cli"))
        .elicitation()
        .record(store)
        .await;
    let all = list(store, &[]).await.meta.unwrap();
    let failed = list(store, &[("status", "failed")]).await.meta.unwrap();
    assert_eq!(
        failed.status_counts, all.status_counts,
        "choosing a status keeps the other status counts"
    );
    assert_eq!(failed.filter_row_count, 2);
    assert_eq!(
        failed.trigger_counts.len(),
        1,
        "other dimensions are narrowed by the status filter"
    );
    assert_eq!(
        failed.trigger_counts[0].trigger_kind.as_deref(),
        Some("mcp")
    );
    let by_tool = list(store, &[("tool", "a.x")]).await.meta.unwrap();
    assert_eq!(
        by_tool.tool_facets, all.tool_facets,
        "choosing a tool keeps the other tool counts"
    );
    assert_eq!(by_tool.status_counts.completed, 3);
    assert_eq!(by_tool.status_counts.failed, 0);
    let cli = list(store, &[("trigger", "cli")]).await.meta.unwrap();
    assert_eq!(cli.trigger_counts, all.trigger_counts);
    let elicited = list(store, &[("elicitation", "true")]).await.meta.unwrap();
    assert_eq!(elicited.interaction_counts, all.interaction_counts);
    assert_eq!(elicited.filter_row_count, 1);
}

async fn chart_is_dense_over_the_requested_range(store: &Store) {
    run(T0 + 2 * HOUR + 5).record(store).await;
    run(T0 + 2 * HOUR + 7)
        .status(ExecutionStatus::Failed)
        .record(store)
        .await;
    run(T0 + 20 * HOUR).record(store).await;
    let from = T0.to_string();
    let to = (T0 + DAY).to_string();
    let chart = list(store, &[("from", &from), ("to", &to)])
        .await
        .meta
        .unwrap()
        .chart;
    assert_eq!(chart.bucket_ms, 15 * MIN);
    assert_eq!(
        chart.buckets.len(),
        96,
        "every bucket of the day is present"
    );
    assert_eq!(chart.buckets[0].bucket_start, T0);
    let at = |t: i64| {
        chart
            .buckets
            .iter()
            .find(|b| b.bucket_start == t)
            .unwrap()
            .counts
    };
    assert_eq!(
        (at(T0 + 2 * HOUR).completed, at(T0 + 2 * HOUR).failed),
        (1, 1)
    );
    assert_eq!(at(T0 + 20 * HOUR).completed, 1);
    assert_eq!(
        chart.buckets.iter().map(|b| b.counts.total()).sum::<i64>(),
        3
    );
    let week = list(
        store,
        &[("from", &from), ("to", &(T0 + 7 * DAY).to_string())],
    )
    .await
    .meta
    .unwrap()
    .chart;
    assert_eq!(week.bucket_ms, 2 * HOUR);
    assert_eq!(week.buckets.len(), 84);
}

async fn rollup_answers_match_row_answers_after_updates(store: &Store) {
    // Runs over ten days, some changing status after creation; a window over
    // whole hours answers from roll-ups, and adding a code filter that every
    // run matches forces the row path. Both must agree.
    let mut ids_by_index = Vec::new();
    // Durations on class bounds, inside classes, at both ends (coprime to
    // the status and trigger cycles).
    let durations = [
        0,
        3,
        10,
        150,
        999,
        1_000,
        1_250,
        1_500,
        4_999,
        5_000,
        70_000,
        100_000_000,
        7,
    ];
    for i in 0..240i64 {
        let status = ExecutionStatus::ALL[(i % 6) as usize];
        let trigger = [Some("cli"), Some("mcp"), Some("http"), None][(i % 4) as usize];
        let mut r = run(T0 + i * HOUR + (i * 7919) % HOUR)
            .duration(Some(durations[(i % 13) as usize]))
            .status(status)
            .trigger(trigger)
            .code("shared-marker");
        // Some runs call a path twice, or two paths of a namespace: a view
        // of one path or namespace counts each run once.
        r = r.tools(match i % 5 {
            0 => &["a.one"],
            1 => &["b.two", "a.one", "a.one"],
            2 => &["c.three"],
            3 => &["a.one", "a.uno"],
            _ => &["b.two"],
        });
        if i % 7 == 0 {
            r = r.elicitation();
        }
        ids_by_index.push(r.record(store).await);
    }
    for (n, id) in ids_by_index.iter().step_by(4).enumerate() {
        // Half of the cancelled runs get a duration as they finish: they
        // move between duration classes too.
        store
            .update_execution(
                SCOPE,
                id,
                ExecutionPatch {
                    status: Some(ExecutionStatus::Cancelled),
                    duration_ms: (n % 2 == 0).then_some(1_234),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }
    // Nine days: hourly roll-ups (2 h buckets). One day: minutely (15 min buckets).
    for (from, to, width) in [
        (T0 + 3 * HOUR + 123, T0 + 9 * DAY + 17, 2 * HOUR),
        (
            T0 + 2 * DAY + 7 * MIN + 5,
            T0 + 3 * DAY + 7 * MIN + 5,
            15 * MIN,
        ),
    ] {
        let (from, to) = (from.to_string(), to.to_string());
        for extra in [
            vec![],
            vec![("status", "cancelled,failed")],
            vec![("trigger", "mcp")],
            vec![("trigger", "unknown,cli")],
            vec![("elicitation", "false")],
            vec![("elicitation", "true")],
            vec![("tool", "a.one")],
            vec![("tool", "a.*")],
            vec![("status", "cancelled,failed"), ("trigger", "mcp")],
            vec![("trigger", "cli"), ("elicitation", "true")],
            vec![("status", "completed"), ("elicitation", "false")],
            vec![("tool", "a.one"), ("status", "cancelled")],
            vec![("tool", "a.one"), ("trigger", "unknown")],
            vec![("tool", "b.two"), ("elicitation", "true")],
            vec![("tool", "b.*"), ("status", "cancelled,failed")],
            vec![
                ("tool", "a.*"),
                ("trigger", "mcp"),
                ("elicitation", "false"),
            ],
            vec![("tool", "a.one,c.three")],
            vec![("tool", "*.one")],
            // Duration bounds: on class bounds, inside a class (either part
            // nearer), both in one class, open at either end, with the
            // other dimensions and with a tool filter (no roll-up keys both).
            vec![("minDurationMs", "1000")],
            vec![("minDurationMs", "1100")],
            vec![("minDurationMs", "1900")],
            vec![("maxDurationMs", "4999")],
            vec![("maxDurationMs", "1300")],
            vec![("minDurationMs", "0")],
            vec![("maxDurationMs", "0")],
            vec![("minDurationMs", "3"), ("maxDurationMs", "150")],
            vec![("minDurationMs", "1200"), ("maxDurationMs", "1300")],
            vec![("minDurationMs", "1001"), ("maxDurationMs", "1999")],
            vec![("minDurationMs", "90000000")],
            vec![("minDurationMs", "1000"), ("status", "cancelled,failed")],
            vec![("minDurationMs", "1100"), ("trigger", "unknown,cli")],
            vec![("maxDurationMs", "1500"), ("elicitation", "true")],
            vec![
                ("minDurationMs", "5"),
                ("status", "completed"),
                ("trigger", "mcp"),
            ],
            vec![("minDurationMs", "1000"), ("tool", "a.one")],
            vec![("maxDurationMs", "1000"), ("tool", "a.*")],
        ] {
            let mut rollup: Vec<(&str, &str)> = vec![("from", &from), ("to", &to)];
            rollup.extend(extra.iter().copied());
            let mut rows = rollup.clone();
            rows.push(("code", "shared-marker"));
            let a = list(store, &rollup).await.meta.unwrap();
            let b = list(store, &rows).await.meta.unwrap();
            assert_eq!(a.chart.bucket_ms, width);
            assert!(a.filter_row_count > 0, "{extra:?}");
            assert_eq!(a.status_counts, b.status_counts, "{extra:?}");
            assert_eq!(a.trigger_counts, b.trigger_counts, "{extra:?}");
            assert_eq!(a.interaction_counts, b.interaction_counts, "{extra:?}");
            assert_eq!(a.filter_row_count, b.filter_row_count, "{extra:?}");
            assert_eq!(a.chart, b.chart, "{extra:?}");
            assert_eq!(a.tool_facets, b.tool_facets, "{extra:?}");
        }
    }
    assert_derived_match(store, "the writer's roll-ups drifted").await;
}

/// Every derived structure (roll-ups, pair tables, totals) is what the runs
/// imply; `what` says what a drift would mean.
async fn assert_derived_match(store: &Store, what: &str) {
    let drift: Vec<_> = store
        .check_derived()
        .await
        .unwrap()
        .into_iter()
        .filter(|d| d.drifted())
        .collect();
    assert!(drift.is_empty(), "{what}: {drift:?}");
}

async fn scopes_never_see_each_other(store: &Store) {
    let mine = run(T0).tools(&["a.b"]).record(store).await;
    let theirs = run(T0 + 1)
        .scope("other")
        .tools(&["secret.tool"])
        .code("secret")
        .record(store)
        .await;
    let page = list(store, &[]).await;
    assert_eq!(ids(&page), vec![mine.clone()]);
    let meta = page.meta.unwrap();
    assert_eq!((meta.total_row_count, meta.filter_row_count), (1, 1));
    assert!(meta
        .tool_facets
        .iter()
        .all(|f| f.tool_path != "secret.tool"));
    assert!(list(store, &[("code", "secret")])
        .await
        .executions
        .is_empty());
    assert!(list(store, &[("tool", "secret.*")])
        .await
        .executions
        .is_empty());
    assert!(store.get(SCOPE, &theirs).await.unwrap().is_none());
    assert!(store.tool_calls(SCOPE, &theirs).await.unwrap().is_none());
    assert!(store.get("other", &theirs).await.unwrap().is_some());
    assert!(store.get("other", &mine).await.unwrap().is_none());
}

async fn sweep_deletes_old_runs_with_their_children(store: &Store) {
    let old = run(T0)
        .tools(&["a.b", "c.d"])
        .elicitation()
        .record(store)
        .await;
    let new = run(T0 + 10 * DAY).tools(&["a.b"]).record(store).await;
    let deleted = store.sweep(SCOPE, T0 + DAY).await.unwrap();
    assert_eq!(deleted, 1);
    assert!(store.get(SCOPE, &old).await.unwrap().is_none());
    assert!(store.tool_calls(SCOPE, &old).await.unwrap().is_none());
    assert!(store.get(SCOPE, &new).await.unwrap().is_some());
    let meta = list(store, &[]).await.meta.unwrap();
    assert_eq!(meta.total_row_count, 1);
    assert_eq!(
        meta.tool_facets.len(),
        1,
        "tool counts of deleted runs are gone"
    );
    assert_eq!(meta.tool_facets[0].count, 1);
    let counts = list(
        store,
        &[
            ("from", &T0.to_string()),
            ("to", &(T0 + 20 * DAY).to_string()),
        ],
    )
    .await
    .meta
    .unwrap();
    assert_eq!(counts.status_counts.completed, 1);
    assert_eq!(counts.interaction_counts.with_elicitation, 0);
    // Over the deleted run's day too, from the roll-ups without and with
    // the status.
    for extra in [vec![], vec![("status", "completed")]] {
        let (from, to) = (T0.to_string(), (T0 + 20 * DAY).to_string());
        let mut params = vec![("from", from.as_str()), ("to", to.as_str())];
        params.extend(extra);
        let meta = list(store, &params).await.meta.unwrap();
        let facets: Vec<(&str, i64)> = meta
            .tool_facets
            .iter()
            .map(|f| (f.tool_path.as_str(), f.count))
            .collect();
        assert_eq!(facets, vec![("a.b", 1)], "{params:?}");
    }
    // Runs of many duration classes, swept: the delete triggers count every
    // roll-up down to what the remaining runs imply.
    for (i, d) in [
        Some(0),
        Some(7),
        Some(1_500),
        Some(70_000),
        None,
        Some(90_000_000),
    ]
    .into_iter()
    .enumerate()
    {
        let status = if d.is_some() {
            ExecutionStatus::Completed
        } else {
            ExecutionStatus::Running
        };
        let at = T0 + 2 * DAY + i as i64 * (DAY / 2);
        run(at).duration(d).status(status).record(store).await;
    }
    assert_eq!(store.sweep(SCOPE, T0 + 3 * DAY).await.unwrap(), 2);
    assert_derived_match(store, "a sweep left roll-ups behind").await;
}

async fn export_streams_every_matching_run(store: &Store) {
    use futures_util::StreamExt;
    for i in 0..2_500 {
        let status = if i % 2 == 0 {
            ExecutionStatus::Completed
        } else {
            ExecutionStatus::Failed
        };
        run(T0 + i).status(status).record(store).await;
    }
    let q: ListQuery = query(&[("status", "failed"), ("sort", "createdAt,asc")]);
    let rows: Vec<_> = store.export(SCOPE, &q).collect().await;
    assert_eq!(rows.len(), 1_250);
    let rows: Vec<_> = rows.into_iter().map(|r| r.unwrap()).collect();
    assert!(rows.iter().all(|e| e.status == ExecutionStatus::Failed));
    assert!(rows.windows(2).all(|w| w[0].created_at < w[1].created_at));
}

async fn batched_writes_from_many_tasks_are_all_recorded(store: &Store) {
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                run(T0 + i)
                    .tools(&["x.y", "x.z", "x.y"])
                    .record(&store)
                    .await
            })
        })
        .collect();
    let mut created = Vec::new();
    for t in tasks {
        created.push(t.await.unwrap());
    }
    for id in &created {
        let e = store.get(SCOPE, id).await.unwrap().unwrap().execution;
        assert_eq!(
            (e.status, e.tool_call_count),
            (ExecutionStatus::Completed, 3)
        );
        let calls = store.tool_calls(SCOPE, id).await.unwrap().unwrap();
        assert!(calls
            .iter()
            .all(|c| c.status == ToolCallStatus::Completed && c.duration_ms == Some(1)));
    }
    let meta = list(store, &[]).await.meta.unwrap();
    assert_eq!(meta.total_row_count, 200);
    let y = meta
        .tool_facets
        .iter()
        .find(|f| f.tool_path == "x.y")
        .unwrap();
    assert_eq!(
        y.count, 200,
        "a tool called twice in a run counts the run once"
    );
}

async fn queued_writes_of_a_run_are_all_stored_once_the_last_commits(store: &Store) {
    // The engine queues a run's writes and awaits only the last: writes to a
    // row created in the same batch fold into its insert, and the rest land
    // in later batches; either way the final commit proves them all stored.
    for round in 0..2 {
        let id = format!("queued-{round}");
        let t = T0 + round;
        let mut ops = vec![WriteOp::CreateExecution(NewExecution {
            id: id.clone(),
            scope_id: SCOPE.into(),
            status: ExecutionStatus::Running,
            code: "await tools.demo.write({})".into(),
            trigger_kind: Some("mcp".into()),
            trigger_meta_json: None,
            session_id: None,
            created_at: t,
            started_at: Some(t),
            lease: None,
        })];
        for (i, path) in ["demo.write", "demo.read", "demo.write"].iter().enumerate() {
            let call = format!("{id}-call-{i}");
            ops.push(WriteOp::RecordToolCall(NewToolCall {
                id: call.clone(),
                execution_id: id.clone(),
                scope_id: SCOPE.into(),
                tool_path: path.to_string(),
                args_json: None,
                started_at: t + i as i64,
            }));
            ops.push(WriteOp::FinishToolCall(ToolCallFinish {
                id: call,
                execution_id: id.clone(),
                scope_id: SCOPE.into(),
                status: ToolCallStatus::Failed,
                result_json: None,
                error_text: Some("declined".into()),
                completed_at: t + i as i64 + 2,
                duration_ms: 2,
            }));
        }
        ops.push(WriteOp::RecordInteraction(NewInteraction {
            id: format!("{id}-ask"),
            execution_id: id.clone(),
            scope_id: SCOPE.into(),
            kind: "form".into(),
            purpose: Some("Approve demo.write?".into()),
            payload_json: None,
            created_at: t,
        }));
        ops.push(WriteOp::ResolveInteraction(InteractionResolution {
            id: format!("{id}-ask"),
            execution_id: id.clone(),
            scope_id: SCOPE.into(),
            status: InteractionStatus::Cancelled,
            response_json: Some(r#"{"action":"cancel","content":null}"#.into()),
            updated_at: t + 1,
        }));
        ops.push(WriteOp::UpdateExecution {
            scope_id: SCOPE.into(),
            id: id.clone(),
            patch: ExecutionPatch {
                status: Some(ExecutionStatus::Failed),
                error_text: Some("declined".into()),
                completed_at: Some(t + 9),
                duration_ms: Some(9),
                tool_call_count: Some(3),
                ..Default::default()
            },
        });
        let mut last = None;
        for (i, op) in ops.into_iter().enumerate() {
            // Round 1 commits the create first, so later writes become updates.
            let queued = store.enqueue(op).await.unwrap();
            if round == 1 && i == 0 {
                queued.committed().await.unwrap();
            } else {
                last = Some(queued);
            }
        }
        last.unwrap().committed().await.unwrap();
        let got = store.get(SCOPE, &id).await.unwrap().unwrap();
        let e = &got.execution;
        assert_eq!(
            (e.status, e.duration_ms, e.tool_call_count),
            (ExecutionStatus::Failed, Some(9), 3),
            "round {round}"
        );
        assert!(
            e.had_elicitation && got.pending_interaction.is_none(),
            "round {round}"
        );
        let calls = store.tool_calls(SCOPE, &id).await.unwrap().unwrap();
        assert_eq!(calls.len(), 3);
        assert!(calls
            .iter()
            .all(|c| c.status == ToolCallStatus::Failed
                && c.error_text.as_deref() == Some("declined")));
    }
    let meta = list(store, &[]).await.meta.unwrap();
    let facet = |p: &str| {
        meta.tool_facets
            .iter()
            .find(|f| f.tool_path == p)
            .map(|f| f.count)
    };
    assert_eq!(
        (facet("demo.write"), facet("demo.read")),
        (Some(2), Some(2)),
        "each run counted once per path"
    );
    assert_eq!(meta.status_counts.failed, 2);
    assert_eq!(meta.interaction_counts.with_elicitation, 2);
}

/// SQLite's automatic checkpoints are off (they ran inside the writer's
/// commits); the store's own checkpoints must still carry committed runs
/// from the log into the database file while the store stays open.
#[tokio::test]
async fn sqlite_checkpoints_carry_commits_into_the_database_file() {
    use sqlx::Connection;
    let db = support::TestDb::sqlite().await;
    for i in 0..10 {
        run(T0 + i).record(&db.store).await;
    }
    let path = db.url.trim_start_matches("sqlite://").to_owned();
    let copy = format!("{path}.copy");
    let mut in_file = 0;
    for _ in 0..100 {
        // The database file alone, without its log: only checkpointed
        // pages are in it. A copy taken mid-checkpoint may be torn; retry.
        let _ = std::fs::remove_file(format!("{copy}-wal"));
        std::fs::copy(&path, &copy).unwrap();
        if let Ok(mut conn) = sqlx::SqliteConnection::connect(&format!("sqlite://{copy}")).await {
            if let Ok((n,)) = sqlx::query_as::<_, (i64,)>("SELECT count(*) FROM execution")
                .fetch_one(&mut conn)
                .await
            {
                in_file = n;
            }
            conn.close().await.ok();
        }
        if in_file == 10 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(in_file, 10, "committed runs reach the database file");
    db.finish().await;
}

async fn sessions_are_kept_by_hash_touched_and_expired(store: &Store) {
    use app::store::SessionRow;
    store.create_session("h-old", "acme", T0).await.unwrap();
    store
        .create_session("h-new", "beta", T0 + HOUR)
        .await
        .unwrap();
    assert_eq!(
        store.session("h-old").await.unwrap(),
        Some(SessionRow {
            scope_id: "acme".into(),
            created_at: T0,
            last_seen_at: T0
        })
    );
    assert!(store.session("h-missing").await.unwrap().is_none());
    store.touch_session("h-old", T0 + 2 * HOUR).await.unwrap();
    assert_eq!(
        store.session("h-old").await.unwrap().unwrap().last_seen_at,
        T0 + 2 * HOUR
    );
    // Idle past the cutoff: h-new (seen at T0 + 1 h) goes, h-old stays.
    let n = store
        .delete_expired_sessions(T0 + 90 * MIN, T0 - DAY)
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert!(store.session("h-new").await.unwrap().is_none());
    // Created before the absolute cutoff: goes whatever its last use.
    let n = store.delete_expired_sessions(T0, T0 + 1).await.unwrap();
    assert_eq!(n, 1);
    store.create_session("h-3", "acme", T0).await.unwrap();
    store.delete_session("h-3").await.unwrap();
    assert!(store.session("h-3").await.unwrap().is_none());
}

/// Fencing (docs/operations.md#many-servers): once a run is taken from its
/// owner (its lease ran out and a reaper failed it), the owner's writes to
/// it are refused whole; its writes to runs it still owns, and anyone's
/// unfenced writes, go on, in the same batch too.
async fn an_owners_writes_are_refused_once_its_run_is_taken_over(store: &Store) {
    let now = app::store::now_ms();
    for (id, expires_at) in [("mine", now + 60_000), ("lost", now - 1)] {
        store
            .create_execution(NewExecution {
                id: id.into(),
                scope_id: SCOPE.into(),
                status: ExecutionStatus::Running,
                code: "return 1".into(),
                trigger_kind: None,
                trigger_meta_json: None,
                session_id: None,
                created_at: now,
                started_at: Some(now),
                lease: Some(Lease {
                    owner_id: "a".into(),
                    expires_at,
                }),
            })
            .await
            .unwrap();
    }
    assert_eq!(
        store
            .reap_expired("interrupted: server lost", now)
            .await
            .unwrap(),
        1
    );
    let call = |run: &str, id: &str| {
        WriteOp::RecordToolCall(NewToolCall {
            id: id.into(),
            execution_id: run.into(),
            scope_id: SCOPE.into(),
            tool_path: "demo.echo".into(),
            args_json: None,
            started_at: now,
        })
    };
    let owner = |name: &str| Some(std::sync::Arc::<str>::from(name));
    // Queued together, so they share a batch: only the lost run's is refused.
    let refused = store
        .enqueue_as(
            owner("a"),
            vec![call("lost", "late"), call("mine", "with-it")],
        )
        .await
        .unwrap();
    let stored = store
        .enqueue_as(owner("a"), vec![call("mine", "on-time")])
        .await
        .unwrap();
    assert!(matches!(
        refused.committed().await,
        Err(StoreError::TakenOver)
    ));
    stored.committed().await.unwrap();
    let calls = |run: &'static str| async move {
        let calls = store.tool_calls(SCOPE, run).await.unwrap().unwrap();
        calls.into_iter().map(|c| c.id).collect::<Vec<_>>()
    };
    assert!(calls("lost").await.is_empty());
    assert_eq!(calls("mine").await, vec!["on-time"]);
    // Nobody else's fence opens a run: not another server's.
    let other = store
        .enqueue_as(owner("b"), vec![call("mine", "intruder")])
        .await
        .unwrap();
    assert!(matches!(
        other.committed().await,
        Err(StoreError::TakenOver)
    ));
    // The reaper's failure stands; unfenced writes (imports, the reaper) pass.
    let lost = store.get(SCOPE, "lost").await.unwrap().unwrap().execution;
    assert_eq!(lost.status, ExecutionStatus::Failed);
    assert_eq!(lost.error_text.as_deref(), Some("interrupted: server lost"));
    store
        .enqueue_as(None, vec![call("lost", "imported")])
        .await
        .unwrap()
        .committed()
        .await
        .unwrap();
    // The heartbeat's check names the lost run only (not unknown ones).
    let runs = [(SCOPE, "mine"), (SCOPE, "lost"), (SCOPE, "never-stored")];
    assert_eq!(store.taken_over("a", runs).await.unwrap(), vec!["lost"]);
}

/// Work one server does at a time (the retention sweep, the reaper) is
/// skipped by a second server while the first does it, and each kind of
/// work has its own lock (PostgreSQL: on SQLite one server has the file).
#[tokio::test]
async fn two_servers_never_sweep_at_once() {
    use app::store::Exclusive;
    let db = support::TestDb::postgres().await;
    let other = Store::connect(&db.url).await.unwrap();
    let (started, sweeping) = tokio::sync::oneshot::channel();
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let first = tokio::spawn({
        let store = db.store.clone();
        async move {
            let work = async {
                started.send(()).unwrap();
                released.await.unwrap();
                1
            };
            store.exclusively(Exclusive::Sweeper, work).await.unwrap()
        }
    });
    sweeping.await.unwrap();
    let sweep = |n| other.exclusively(Exclusive::Sweeper, async move { n });
    assert_eq!(sweep(2).await.unwrap(), None, "two sweeps at once");
    let reap = other.exclusively(Exclusive::Reaper, async { 3 }).await;
    assert_eq!(reap.unwrap(), Some(3));
    release.send(()).unwrap();
    assert_eq!(first.await.unwrap(), Some(1));
    assert_eq!(
        sweep(4).await.unwrap(),
        Some(4),
        "the lock was not released"
    );
    other.close().await;
    db.finish().await;
}
