//! Synthetic history for benchmarks, demos and browser tests: deterministic
//! runs spread over a time span, recorded through the public store API the way
//! the engine records real runs.

use super::{
    ExecutionPatch, NewExecution, NewToolCall, Store, StoreError, ToolCallFinish, WriteOp,
};
use crate::model::{ExecutionStatus, ToolCallStatus};

/// Shape of the generated history.
#[derive(Clone, Debug)]
pub struct SyntheticSpec {
    pub scope: String,
    pub runs: u64,
    /// Created times are spread evenly over `[end - span_ms, end)`.
    pub end_ms: i64,
    pub span_ms: i64,
    /// Distinct tool paths (namespaces of ten operations each).
    pub tool_paths: u64,
    /// Tool calls per run are uniform in `0..=2 * mean`.
    pub mean_tool_calls: u64,
    /// Every `rare_every`-th run carries the rare code marker.
    pub rare_every: u64,
    /// Only finished runs (completed, failed, cancelled). Otherwise a third
    /// are pending, running or waiting, which measures those filters but is
    /// history no live server has: one fails them at start.
    pub settled: bool,
}

/// Text that appears only in the code of every `rare_every`-th run.
pub const RARE_MARKER: &str = "needle-7f3a";
const TRIGGERS: [Option<&str>; 4] = [Some("http"), Some("cli"), Some("mcp"), None];
const WORDS: [&str; 16] = [
    "issues", "list", "create", "repo", "search", "fetch", "filter", "map", "result", "user",
    "comment", "label", "merge", "branch", "status", "report",
];

/// SplitMix64: tiny, deterministic and good enough for spreading test data.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub fn tool_path(spec: &SyntheticSpec, n: u64) -> String {
    let n = n % spec.tool_paths.max(1);
    format!("ns{}.resource.op{}", n / 10, n % 10)
}

/// Records run number `i` of the history.
pub async fn record_run(store: &Store, spec: &SyntheticSpec, i: u64) -> Result<(), StoreError> {
    let r = mix(i);
    let step = (spec.span_ms / spec.runs.max(1) as i64).max(1);
    let created_at = spec.end_ms - spec.span_ms + i as i64 * step + (r % step as u64) as i64;
    let status = if spec.settled {
        [
            ExecutionStatus::Completed,
            ExecutionStatus::Failed,
            ExecutionStatus::Cancelled,
        ][(r % 3) as usize]
    } else {
        ExecutionStatus::ALL[(r % 6) as usize]
    };
    let trigger = TRIGGERS[((r >> 8) % 4) as usize];
    let calls = (r >> 16) % (2 * spec.mean_tool_calls + 1);
    let mut code = format!(
        "const items = await tools.{}({{ q: \"{} {}\" }});\nreturn items.{}(x => x.{});",
        tool_path(spec, r >> 24),
        WORDS[((r >> 32) % 16) as usize],
        WORDS[((r >> 36) % 16) as usize],
        WORDS[((r >> 40) % 16) as usize],
        WORDS[((r >> 44) % 16) as usize],
    );
    if spec.rare_every > 0 && i.is_multiple_of(spec.rare_every) {
        code.push_str(&format!("\n// {RARE_MARKER}"));
    }
    let id = uuid::Uuid::now_v7().to_string();
    // A run's writes go to the store as one group, the way the engine
    // hands over a short run's buffered writes.
    let mut ops = Vec::with_capacity(2 + 2 * calls as usize);
    ops.push(WriteOp::CreateExecution(NewExecution {
        id: id.clone(),
        scope_id: spec.scope.clone(),
        status: ExecutionStatus::Running,
        code,
        trigger_kind: trigger.map(str::to_owned),
        trigger_meta_json: None,
        // MCP runs come in sessions of about a dozen (50 consecutive runs,
        // a quarter of them MCP): `session=s…` finds one.
        session_id: (trigger == Some("mcp")).then(|| format!("s{}", i / 50)),
        created_at,
        started_at: Some(created_at),
        lease: None,
    }));
    let mut t = created_at;
    for c in 0..calls {
        let call_id = uuid::Uuid::now_v7().to_string();
        let duration = (mix(r ^ c) % 400) as i64;
        ops.push(WriteOp::RecordToolCall(NewToolCall {
            id: call_id.clone(),
            execution_id: id.clone(),
            scope_id: spec.scope.clone(),
            tool_path: tool_path(spec, mix(r.wrapping_add(c))),
            args_json: Some(format!("{{\"page\":{c}}}")),
            started_at: t,
        }));
        let failed = mix(r ^ (c << 3)).is_multiple_of(10);
        ops.push(WriteOp::FinishToolCall(ToolCallFinish {
            id: call_id,
            execution_id: id.clone(),
            scope_id: spec.scope.clone(),
            status: if failed {
                ToolCallStatus::Failed
            } else {
                ToolCallStatus::Completed
            },
            result_json: (!failed).then(|| "{\"items\":[]}".to_owned()),
            error_text: failed.then(|| "upstream returned 502".to_owned()),
            completed_at: t + duration,
            duration_ms: duration,
        }));
        t += duration + 1;
    }
    let terminal = status.is_terminal();
    let duration = t - created_at + (r % 50) as i64;
    ops.push(WriteOp::UpdateExecution {
        scope_id: spec.scope.clone(),
        id,
        patch: ExecutionPatch {
            status: Some(status),
            result_json: (status == ExecutionStatus::Completed).then(|| "{\"count\":3}".to_owned()),
            error_text: (status == ExecutionStatus::Failed).then(|| synthetic_error(r)),
            logs_json: Some("[\"[log] fetched\",\"[warn] slow page\"]".to_owned()),
            completed_at: terminal.then_some(created_at + duration),
            duration_ms: terminal.then_some(duration),
            tool_call_count: Some(calls as i64),
            had_elicitation: (status == ExecutionStatus::WaitingForInteraction
                || (r >> 50).is_multiple_of(20))
            .then_some(true),
            ..Default::default()
        },
    });
    store.enqueue_all(ops).await?.committed().await
}

/// Records runs `0..spec.runs` with `concurrency` writers in flight.
pub async fn record_history(
    store: &Store,
    spec: &SyntheticSpec,
    concurrency: u64,
) -> Result<(), StoreError> {
    record_history_counting(store, spec, 0..spec.runs, concurrency, Default::default()).await
}

/// Records runs `range` of `spec` (a part of [`record_history`], so a
/// caller can refresh statistics between parts), counting them into `done`.
pub async fn record_history_counting(
    store: &Store,
    spec: &SyntheticSpec,
    range: std::ops::Range<u64>,
    concurrency: u64,
    done: std::sync::Arc<std::sync::atomic::AtomicU64>,
) -> Result<(), StoreError> {
    let end = range.end.min(spec.runs);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(range.start));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (store, spec, next, done) = (store.clone(), spec.clone(), next.clone(), done.clone());
        workers.spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= end {
                    return Ok::<(), StoreError>(());
                }
                record_run(&store, &spec, i).await?;
                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        });
    }
    while let Some(joined) = workers.join_next().await {
        joined.map_err(|e| StoreError::Corrupt(format!("writer task panicked: {e}")))??;
    }
    Ok(())
}

/// A failed run's error: a few kinds, as real histories have, one of them
/// naming the run's own number so that some needles match a single run.
fn synthetic_error(r: u64) -> String {
    match (r >> 56) % 4 {
        0 | 1 => "TypeError: x is undefined\n    at run (sandbox.js:3:7)".to_owned(),
        2 => format!("Error: upstream returned 502 (request {})", r % 1_000_003),
        _ => "Timed out after 30000 ms".to_owned(),
    }
}
