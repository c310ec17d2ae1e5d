//! The MCP host (docs/mcp.md): `executor mcp` over stdio, with rmcp. Its
//! tools run code (`execute`, `resume`) and let an agent read its own
//! history (`runs_list`, `runs_get`, `runs_summary`, `runs_cancel`). This
//! first host forwards to a running server over the JSON API (the CLI's
//! client), so its runs are in the history the page shows.

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::service::RequestContext;
use rmcp::{tool, tool_handler, tool_router, ErrorData as McpError, RoleServer, ServerHandler};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

use app::model::{ExecutionEnvelope, ListMeta, ListPage, RunResponse, RunStatus, ToolCallList};

use crate::cli::{ascii_json, list_query, Api, CliError};

/// `runs_get`'s byte budget by default, and at most.
const DEFAULT_MAX_BYTES: usize = 20_000;
const MAX_MAX_BYTES: usize = 100_000;
/// How much of a code's or an error's first line a row keeps.
const LINE_CHARS: usize = 120;

/// The host: the server it forwards to and this process's session.
#[derive(Clone)]
pub struct Host {
    api: Api,
    /// One per process over stdio: `mine` means runs of this session.
    session: String,
    tool_router: ToolRouter<Self>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecuteArgs {
    /// JavaScript; top-level await works, `return` gives the result. Tools
    /// are under `tools.`: `await tools.search({ query })`, then
    /// `await tools.describe.tool({ path })`, then call `tools.<path>(args)`.
    pub code: String,
    /// Wall-time limit in milliseconds (1-300000; default: the server's).
    pub timeout_ms: Option<u64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResumeArgs {
    /// The paused run's id, as `execute` returned it.
    pub execution_id: String,
    /// accept, decline or cancel.
    pub action: String,
    /// What the person entered, for a form (a JSON object).
    pub content: Option<Value>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListArgs {
    /// Comma-separated statuses: pending, running, waiting, completed, failed, cancelled.
    pub status: Option<String>,
    /// Comma-separated trigger kinds (mcp, cli, http, ui, unknown).
    pub trigger: Option<String>,
    /// Comma-separated tool path patterns, such as `github.*`.
    pub tool: Option<String>,
    /// Created at or after: `15m`, `2h`, `3d`, `2026-11-01`, `2026-11-01T10:00` (UTC).
    pub since: Option<String>,
    /// Created before (same forms as since).
    pub until: Option<String>,
    /// A case-insensitive substring of the code.
    pub code: Option<String>,
    /// At most this many rows (1-50, default 20).
    pub limit: Option<u32>,
    /// The `nextCursor` of the previous answer.
    pub cursor: Option<String>,
    /// Only the runs of this MCP session.
    pub mine: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetArgs {
    pub execution_id: String,
    /// What to include besides the properties: any of code, result, logs,
    /// toolCalls, interactions (default: all).
    pub include: Option<Vec<String>>,
    /// The answer's budget in bytes (default 20000, at most 100000); what is
    /// cut is listed in `truncated`.
    pub max_bytes: Option<u32>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SummaryArgs {
    /// The window's start (same forms as runs_list's since; default 24h).
    pub since: Option<String>,
    /// Only the runs of this MCP session.
    pub mine: Option<bool>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CancelArgs {
    pub execution_id: String,
}

/// A result with structured content and a short text for people.
fn answer(text: impl Into<String>, value: Value, is_error: bool) -> CallToolResult {
    let mut result = if is_error {
        CallToolResult::structured_error(value)
    } else {
        CallToolResult::structured(value)
    };
    result.content = vec![ContentBlock::text(text.into())];
    result
}

/// A tool error the model can act on: what went wrong and what to do.
fn refused(message: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message)])
}

fn first_line(text: &str) -> String {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .chars()
        .take(LINE_CHARS)
        .collect()
}

/// A server's answer to a request about one run: a missing run says what
/// to do.
fn run_error(id: &str, e: CliError) -> CallToolResult {
    match e {
        CliError::Server(message) if message.starts_with("no execution with id") => refused(
            format!("{message}; runs_list lists the runs this session can see"),
        ),
        CliError::Server(message) => refused(message),
        other => refused(format!("run {id}: {other}")),
    }
}

#[tool_router]
impl Host {
    pub fn new(api: Api) -> Self {
        Self {
            api,
            session: format!("mcp:{}", uuid::Uuid::now_v7().simple()),
            tool_router: Self::tool_router(),
        }
    }

    /// Runs JavaScript in a sandbox whose tools are under `tools.`.
    /// Workflow: find tools with `await tools.search({ query: "issues" })`,
    /// read one with `await tools.describe.tool({ path })`, then call it:
    /// `return await tools.github.issues.list({ repo })`. A run that needs a
    /// person's approval returns status waiting_for_interaction with the
    /// question; answer it with `resume`.
    #[tool]
    async fn execute(
        &self,
        Parameters(args): Parameters<ExecuteArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let client = ctx
            .peer
            .peer_info()
            .map(|info| {
                json!({
                    "name": info.client_info.name,
                    "version": info.client_info.version,
                })
            })
            .unwrap_or(Value::Null);
        let meta = json!({ "client": client, "session": self.session });
        let mut body = json!({ "code": args.code });
        if let Some(ms) = args.timeout_ms {
            body["timeoutMs"] = json!(ms);
        }
        let headers = [
            ("x-executor-trigger", "mcp".to_owned()),
            ("x-executor-trigger-meta", ascii_json(&meta)),
            ("x-executor-session", self.session.clone()),
        ];
        match self
            .api
            .post::<RunResponse>("/executions", &body, &headers)
            .await
        {
            Ok(response) => Ok(outcome(response)),
            Err(e) => Ok(refused(e.to_string())),
        }
    }

    /// Answers a run that waits for a person (status
    /// waiting_for_interaction): accept (with `content` for a form),
    /// decline or cancel. The run then goes on.
    #[tool]
    async fn resume(
        &self,
        Parameters(args): Parameters<ResumeArgs>,
    ) -> Result<CallToolResult, McpError> {
        if !["accept", "decline", "cancel"].contains(&args.action.as_str()) {
            return Ok(refused(format!(
                "action '{}': use accept, decline or cancel",
                args.action
            )));
        }
        let mut body = json!({ "action": args.action });
        if let Some(content) = args.content {
            body["content"] = content;
        }
        let path = format!("/executions/{}/resume", args.execution_id);
        match self.api.post::<RunResponse>(&path, &body, &[]).await {
            Ok(response) => Ok(outcome(response)),
            Err(CliError::Server(m)) if m.contains("not waiting") => Ok(refused(format!(
                "{m}; only a run with status waiting_for_interaction can be resumed (runs_get shows a run's status)"
            ))),
            Err(e) => Ok(run_error(&args.execution_id, e)),
        }
    }

    /// Lists runs, newest first, as compact rows (id, status, trigger,
    /// times, duration, tool calls, the first line of the code and of the
    /// error) with the cursor of the next page. `mine: true` keeps this
    /// session's runs.
    #[tool(annotations(read_only_hint = true))]
    async fn runs_list(
        &self,
        Parameters(args): Parameters<ListArgs>,
    ) -> Result<CallToolResult, McpError> {
        let limit = args.limit.unwrap_or(20).clamp(1, 50);
        let mine = args
            .mine
            .unwrap_or(false)
            .then(|| format!("session:{}", self.session));
        let tokens = [
            ("status", args.status.map(|v| format!("status:{v}"))),
            ("trigger", args.trigger.map(|v| format!("trigger:{v}"))),
            ("tool", args.tool.map(|v| format!("tool:{v}"))),
            ("since", args.since.map(|v| format!("after:{v}"))),
            ("until", args.until.map(|v| format!("before:{v}"))),
            (
                "code",
                args.code
                    .map(|v| format!("code:\"{}\"", v.replace('"', "\\\""))),
            ),
            ("mine", mine),
        ];
        let query = match list_query(&tokens, "createdAt,desc") {
            Ok(q) => q,
            Err(e) => return Ok(refused(e.to_string())),
        };
        let mut path = format!("/executions?meta=false&limit={limit}");
        if !query.is_empty() {
            path.push('&');
            path.push_str(&query);
        }
        if let Some(cursor) = &args.cursor {
            let encoded: String = form_urlencoded::byte_serialize(cursor.as_bytes()).collect();
            path.push_str(&format!("&cursor={encoded}"));
        }
        let page: ListPage = match self.api.get(&path).await {
            Ok(page) => page,
            Err(e) => return Ok(refused(e.to_string())),
        };
        let rows: Vec<Value> = page.executions.iter().map(row).collect();
        let mut text: String = page
            .executions
            .iter()
            .map(|e| {
                let e = &e.execution;
                format!("{} {} {}\n", e.id, e.status.as_str(), first_line(&e.code))
            })
            .collect();
        if rows.is_empty() {
            text = "no runs\n".into();
        }
        Ok(answer(
            text,
            json!({ "runs": rows, "nextCursor": page.next_cursor }),
            false,
        ))
    }

    /// One run: its properties and, as asked by `include`, its code,
    /// result, logs, tool calls and interactions, within `maxBytes`; what
    /// did not fit is cut and listed in `truncated`.
    #[tool(annotations(read_only_hint = true))]
    async fn runs_get(
        &self,
        Parameters(args): Parameters<GetArgs>,
    ) -> Result<CallToolResult, McpError> {
        let id = &args.execution_id;
        let envelope: ExecutionEnvelope = match self.api.get(&format!("/executions/{id}")).await {
            Ok(e) => e,
            Err(e) => return Ok(run_error(id, e)),
        };
        let include = args.include.unwrap_or_else(|| {
            ["code", "result", "logs", "toolCalls", "interactions"]
                .map(str::to_owned)
                .to_vec()
        });
        let wants = |part: &str| include.iter().any(|i| i == part);
        let calls = if wants("toolCalls") {
            match self
                .api
                .get::<ToolCallList>(&format!("/executions/{id}/tool-calls"))
                .await
            {
                Ok(list) => Some(list.tool_calls),
                Err(e) => return Ok(run_error(id, e)),
            }
        } else {
            None
        };
        let e = &envelope.execution;
        let mut run = row(&envelope);
        let mut parts: Vec<(&str, Value)> = Vec::new();
        if wants("code") {
            parts.push(("code", json!(e.code)));
        }
        if wants("result") {
            parts.push(("result", json!(e.result_json)));
            parts.push(("error", json!(e.error_text)));
        }
        if wants("logs") {
            let logs: Vec<String> = e
                .logs_json
                .as_deref()
                .and_then(|l| serde_json::from_str(l).ok())
                .unwrap_or_default();
            parts.push(("logs", json!(logs)));
        }
        if let Some(calls) = calls {
            parts.push(("toolCalls", json!(calls)));
        }
        if wants("interactions") {
            parts.push(("pendingInteraction", json!(envelope.pending_interaction)));
        }
        let budget = args
            .max_bytes
            .map_or(DEFAULT_MAX_BYTES, |b| b as usize)
            .clamp(1_000, MAX_MAX_BYTES);
        let truncated = fit(&mut run, parts, budget);
        run["truncated"] = json!(truncated);
        let mut text = format!("{} {}", e.id, e.status.as_str());
        if !truncated.is_empty() {
            text.push_str(&format!(
                " (cut to fit {budget} bytes: {}; ask with a larger maxBytes or fewer include)",
                truncated.join(", ")
            ));
        }
        Ok(answer(text, run, false))
    }

    /// Counts for a window (default the last 24 hours): runs by status, by
    /// trigger and by tool. `mine: true` counts this session's runs.
    #[tool(annotations(read_only_hint = true))]
    async fn runs_summary(
        &self,
        Parameters(args): Parameters<SummaryArgs>,
    ) -> Result<CallToolResult, McpError> {
        let mine = args
            .mine
            .unwrap_or(false)
            .then(|| format!("session:{}", self.session));
        let since = Some(format!("after:{}", args.since.as_deref().unwrap_or("24h")));
        let query = match list_query(&[("since", since), ("mine", mine)], "createdAt,desc") {
            Ok(q) => q,
            Err(e) => return Ok(refused(e.to_string())),
        };
        let meta: ListMeta = match self.api.get(&format!("/executions/meta?{query}")).await {
            Ok(m) => m,
            Err(e) => return Ok(refused(e.to_string())),
        };
        let text = format!(
            "{} runs: {} completed, {} failed, {} waiting, {} running",
            meta.filter_row_count,
            meta.status_counts.completed,
            meta.status_counts.failed,
            meta.status_counts.waiting_for_interaction,
            meta.status_counts.running
        );
        let value = json!({
            "runs": meta.filter_row_count,
            "approximate": meta.approximate,
            "statusCounts": meta.status_counts,
            "triggerCounts": meta.trigger_counts,
            "toolCounts": meta.tool_facets,
        });
        Ok(answer(text, value, false))
    }

    /// Cancels a running run, or one waiting for a person.
    #[tool(annotations(destructive_hint = true))]
    async fn runs_cancel(
        &self,
        Parameters(args): Parameters<CancelArgs>,
    ) -> Result<CallToolResult, McpError> {
        let path = format!("/executions/{}/cancel", args.execution_id);
        match self.api.post::<RunResponse>(&path, &json!({}), &[]).await {
            Ok(response) => Ok(outcome(response)),
            Err(e) => Ok(run_error(&args.execution_id, e)),
        }
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Host {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("executor", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Run JavaScript with `execute` (its tools are under `tools.`: search, \
                 describe, call); answer a paused run with `resume`; read your own \
                 history with runs_list, runs_get and runs_summary (mine: true).",
            )
    }
}

/// A run's outcome as a tool result: a failed or cancelled run is an
/// error result, a pause says how to go on.
fn outcome(response: RunResponse) -> CallToolResult {
    let value = serde_json::to_value(&response).unwrap_or(Value::Null);
    let id = &response.execution_id;
    match response.status {
        RunStatus::Completed => {
            let text = match &response.result {
                Some(Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
                None => "completed (no value)".into(),
            };
            answer(text, value, false)
        }
        RunStatus::Failed | RunStatus::Cancelled => {
            let why = response.error.clone().unwrap_or_else(|| "cancelled".into());
            answer(format!("run {id} failed: {why}"), value, true)
        }
        RunStatus::WaitingForInteraction => {
            let question = response
                .interaction
                .as_ref()
                .map(|i| i.request.message().to_owned())
                .unwrap_or_default();
            answer(
                format!(
                    "run {id} waits for a person: {question}. Ask them, then call resume \
                     {{executionId: \"{id}\", action: \"accept\" | \"decline\" | \"cancel\"}}."
                ),
                value,
                false,
            )
        }
    }
}

/// A run as a compact row.
fn row(envelope: &ExecutionEnvelope) -> Value {
    let e = &envelope.execution;
    json!({
        "id": e.id,
        "status": e.status.as_str(),
        "trigger": e.trigger_kind,
        "session": e.session_id,
        "createdAt": e.created_at,
        "completedAt": e.completed_at,
        "durationMs": e.duration_ms,
        "toolCallCount": e.tool_call_count,
        "code": first_line(&e.code),
        "error": e.error_text.as_deref().map(first_line),
    })
}

/// Adds `parts` to `run` within `budget` bytes of JSON, cutting the
/// longest strings (and then arrays) of those that do not fit; answers the
/// names of the parts cut.
fn fit(run: &mut Value, parts: Vec<(&str, Value)>, budget: usize) -> Vec<String> {
    let mut truncated = Vec::new();
    let base = run.to_string().len();
    let mut room = budget.saturating_sub(base);
    for (name, value) in parts {
        let size = value.to_string().len() + name.len() + 4;
        if size <= room {
            room -= size;
            run[name] = value;
            continue;
        }
        truncated.push(name.to_owned());
        let keep = room.saturating_sub(name.len() + 40);
        run[name] = match value {
            Value::String(s) => {
                let cut: String = s.chars().take(keep).collect();
                room = room.saturating_sub(cut.len() + name.len() + 4);
                json!(format!("{cut}…"))
            }
            Value::Array(items) => {
                let mut kept = Vec::new();
                let mut used = 2;
                for item in items {
                    let n = item.to_string().len() + 1;
                    if used + n > keep {
                        break;
                    }
                    used += n;
                    kept.push(item);
                }
                room = room.saturating_sub(used + name.len() + 4);
                Value::Array(kept)
            }
            _ => Value::Null,
        };
    }
    truncated
}

/// `executor mcp`: serves the host on stdin and stdout until the client
/// closes them.
pub async fn serve_stdio(api: Api) -> Result<(), Box<dyn std::error::Error>> {
    use rmcp::ServiceExt;
    let service = Host::new(api).serve(rmcp::transport::stdio()).await?;
    service.waiting().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_does_not_fit_is_cut_and_named() {
        let mut run = json!({ "id": "x" });
        let parts = vec![
            ("code", json!("a".repeat(500))),
            ("logs", json!(vec!["line".repeat(10); 100])),
        ];
        let cut = fit(&mut run, parts, 1_000);
        assert!(run.to_string().len() <= 1_100, "{}", run.to_string().len());
        assert_eq!(cut, vec!["logs".to_owned()]);
        let mut run = json!({ "id": "x" });
        let cut = fit(&mut run, vec![("code", json!("b".repeat(5_000)))], 1_000);
        assert_eq!(cut, vec!["code".to_owned()]);
        assert!(run["code"].as_str().unwrap().ends_with('…'));
    }
}
