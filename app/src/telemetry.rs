//! What the server counts, named in one place: every metric the engine, the
//! store and the HTTP edge record goes through a function here, recorded into
//! the `metrics` facade (the server installs the Prometheus exporter; without
//! one, recording is a no-op). Labels take only bounded values, so a caller
//! cannot grow the series without limit.

use std::time::Duration;

use crate::model::{ExecutionStatus, ToolCallStatus, TriggerKind};

pub const RUNS_FINISHED: &str = "executor_runs_finished_total";
pub const RUN_DURATION: &str = "executor_run_duration_seconds";
pub const TOOL_CALLS: &str = "executor_tool_calls_total";
pub const ENGINE_RUNNING: &str = "executor_engine_running";
pub const ENGINE_QUEUED: &str = "executor_engine_queued";
pub const ENGINE_BUSY: &str = "executor_engine_busy_refusals_total";
pub const WRITER_BATCH_OPS: &str = "executor_writer_batch_ops";
pub const WRITER_COMMIT: &str = "executor_writer_commit_seconds";
pub const STORAGE_FAILURES: &str = "executor_storage_failures_total";
pub const HTTP_REQUESTS: &str = "executor_http_requests_total";
pub const HTTP_DURATION: &str = "executor_http_request_duration_seconds";

/// Registers each metric's help text (shown by the exporter).
pub fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(RUNS_FINISHED, "Runs that ended, by status and trigger");
    describe_histogram!(RUN_DURATION, Unit::Seconds, "Wall time of ended runs");
    describe_counter!(TOOL_CALLS, "Tool calls that ended, by status");
    describe_gauge!(ENGINE_RUNNING, "Runs executing or paused in this process");
    describe_gauge!(ENGINE_QUEUED, "Runs waiting for a sandbox slot");
    describe_counter!(ENGINE_BUSY, "Runs refused with 503 engine_busy");
    describe_histogram!(WRITER_BATCH_OPS, "Writes per writer transaction");
    describe_histogram!(WRITER_COMMIT, Unit::Seconds, "Writer transaction time");
    describe_counter!(STORAGE_FAILURES, "Writes of a run that could not be stored");
    describe_counter!(HTTP_REQUESTS, "HTTP requests by route, method and status");
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "HTTP request latency by route"
    );
}

/// The trigger label: the kinds this program names, every other one `other`
/// (hosts may name any kind; the label must stay bounded).
fn trigger_label(kind: Option<&str>) -> &'static str {
    match kind {
        Some(TriggerKind::HTTP) => TriggerKind::HTTP,
        Some(TriggerKind::CLI) => TriggerKind::CLI,
        Some(TriggerKind::MCP) => TriggerKind::MCP,
        Some(TriggerKind::UI) => TriggerKind::UI,
        Some(_) => "other",
        None => "unknown",
    }
}

pub fn run_finished(status: ExecutionStatus, trigger: Option<&str>, took: Duration) {
    metrics::counter!(RUNS_FINISHED, "status" => status.as_str(), "trigger" => trigger_label(trigger))
        .increment(1);
    metrics::histogram!(RUN_DURATION).record(took.as_secs_f64());
}

pub fn tool_call_finished(status: ToolCallStatus) {
    metrics::counter!(TOOL_CALLS, "status" => status.as_str()).increment(1);
}

pub fn engine_depth(running: usize, queued: usize) {
    metrics::gauge!(ENGINE_RUNNING).set(running as f64);
    metrics::gauge!(ENGINE_QUEUED).set(queued as f64);
}

pub fn engine_busy() {
    metrics::counter!(ENGINE_BUSY).increment(1);
}

pub fn writer_commit(ops: usize, took: Duration) {
    metrics::histogram!(WRITER_BATCH_OPS).record(ops as f64);
    metrics::histogram!(WRITER_COMMIT).record(took.as_secs_f64());
}

pub fn storage_failure() {
    metrics::counter!(STORAGE_FAILURES).increment(1);
}

/// `route` is the matched route template (`/executions/{id}`), never the
/// raw path, so ids do not become series.
pub fn http_request(route: &str, method: &str, status: u16, took: Duration) {
    let method = match method {
        "GET" => "GET",
        "POST" => "POST",
        "HEAD" => "HEAD",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    };
    let status = status.to_string();
    metrics::counter!(HTTP_REQUESTS, "route" => route.to_owned(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!(HTTP_DURATION, "route" => route.to_owned()).record(took.as_secs_f64());
}
