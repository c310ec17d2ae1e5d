//! The MCP host (docs/mcp.md), with rmcp: `executor mcp` over stdio, and
//! `/mcp` over streamable HTTP on the server. Its tools run code
//! (`execute`, `resume`) and let an agent read its own history
//! (`runs_list`, `runs_get`, `runs_summary`, `runs_cancel`). One host over
//! one seam ([`Backend`]): on stdio it forwards to a running server over
//! the JSON API; in the server it calls the engine and store directly, in
//! the scope the access layer decided for the request.

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, ContentBlock, ElicitRequestParams, ElicitationAction, ElicitationSchema,
    Implementation, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{tool, tool_handler, tool_router, ErrorData as McpError, RoleServer, ServerHandler};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};

use app::engine::{ElicitationMode, Engine, EngineError, ExecuteRequest};
use app::model::{
    Counts, ExecutionEnvelope, Interaction, InteractionList, ListMeta, ListPage, ListQuery,
    ResumeAction, RunResponse, RunStatus, SessionId, ToolCall, ToolCallList, Trigger, TriggerKind,
};
use app::store::Store;

use crate::access::Principal;
use crate::cli::{ascii_json, list_query, Api, CliError};
use crate::http::codes;

/// `runs_get`'s byte budget by default, and at most.
const DEFAULT_MAX_BYTES: usize = 20_000;
const MAX_MAX_BYTES: usize = 100_000;
/// How much of a code's or an error's first line a row keeps.
const LINE_CHARS: usize = 120;

/// The host: where its runs go, and (over stdio) this process's session.
#[derive(Clone)]
pub struct Host {
    backend: Backend,
    /// One per process over stdio; over HTTP each request names its own
    /// (`mcp-session-id`).
    session: Option<String>,
    /// In-process on stdio: scope `local`; over HTTP the access layer says.
    scope: Option<String>,
    tool_router: ToolRouter<Self>,
}

/// Where the host's tools act.
#[derive(Clone)]
pub enum Backend {
    /// A running server, over the JSON API (`executor mcp`).
    Remote(Api),
    /// The server's own engine and store (`/mcp`).
    Local { engine: Engine, store: Store },
}

/// Who is asking: the scope (the server's access layer decided it; a
/// remote server decides for itself) and the MCP session.
struct Caller {
    scope: Option<String>,
    session: Option<String>,
}

/// Why a tool could not act, by kind, whichever backend answered: the
/// kinds a model can act on differently are told apart by the engine's
/// error or the API's error code, never by their wording.
#[derive(Debug)]
enum Failure {
    /// The scope has no such run.
    Missing(String),
    /// The run is not waiting for a person.
    NotWaiting(String),
    /// Anything else, in words the caller may see.
    Other(String),
}

impl Failure {
    /// A tool error that says what went wrong and what to do.
    fn refusal(self) -> CallToolResult {
        refused(match self {
            Self::Missing(m) => format!("{m}; runs_list lists the runs this session can see"),
            Self::NotWaiting(m) => format!(
                "{m}; only a run with status waiting_for_interaction can be resumed (runs_get shows a run's status)"
            ),
            Self::Other(m) => m,
        })
    }
}

impl From<EngineError> for Failure {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::NotFound(_) => Self::Missing(e.to_string()),
            EngineError::NotWaiting { .. } => Self::NotWaiting(e.to_string()),
            // A caller's mistake keeps its message; a fault of ours is
            // logged and answered with a trace id.
            e if e.kind().shows_message() => Self::Other(e.to_string()),
            e => internal(e),
        }
    }
}

impl From<CliError> for Failure {
    fn from(e: CliError) -> Self {
        match &e {
            CliError::Server {
                code: Some(code),
                message,
            } if code == codes::EXECUTION_NOT_FOUND => Self::Missing(message.clone()),
            CliError::Server {
                code: Some(code),
                message,
            } if code == codes::EXECUTION_NOT_WAITING => Self::NotWaiting(message.clone()),
            _ => Self::Other(e.to_string()),
        }
    }
}

fn internal(e: impl std::fmt::Display) -> Failure {
    let trace_id = uuid::Uuid::now_v7().to_string();
    tracing::error!(%trace_id, error = %e, "an MCP tool failed");
    Failure::Other(format!("internal error; trace id {trace_id}"))
}

impl Backend {
    fn scope<'a>(&self, caller: &'a Caller) -> Result<&'a str, Failure> {
        caller
            .scope
            .as_deref()
            .ok_or_else(|| Failure::Other("not authenticated".to_owned()))
    }

    async fn run(
        &self,
        caller: &Caller,
        body: Value,
        trigger: Trigger,
    ) -> Result<RunResponse, Failure> {
        match self {
            Self::Remote(api) => {
                let mut headers = vec![
                    ("x-executor-trigger", trigger.kind.as_str().to_owned()),
                    (
                        "x-executor-trigger-meta",
                        ascii_json(&Value::Object(trigger.meta.unwrap_or_default())),
                    ),
                ];
                if let Some(session) = &trigger.session {
                    headers.push(("x-executor-session", session.as_str().to_owned()));
                }
                api.post("/executions", &body, &headers)
                    .await
                    .map_err(Failure::from)
            }
            Self::Local { engine, .. } => {
                let code = body["code"].as_str().unwrap_or_default().to_owned();
                let request = app::model::RunRequest {
                    code,
                    timeout_ms: body["timeoutMs"].as_u64(),
                };
                request
                    .validate()
                    .map_err(|e| Failure::Other(e.to_string()))?;
                engine
                    .execute(ExecuteRequest {
                        scope: self.scope(caller)?.to_owned(),
                        code: request.code,
                        trigger,
                        timeout: request.timeout_ms.map(std::time::Duration::from_millis),
                        elicitation: ElicitationMode::Pause,
                    })
                    .await
                    .map_err(Failure::from)
            }
        }
    }

    async fn resume(
        &self,
        caller: &Caller,
        id: &str,
        action: ResumeAction,
        content: Option<Value>,
    ) -> Result<RunResponse, Failure> {
        match self {
            Self::Remote(api) => {
                let mut body = json!({ "action": action.as_str() });
                if let Some(content) = content {
                    body["content"] = content;
                }
                api.post(&format!("/executions/{id}/resume"), &body, &[])
                    .await
                    .map_err(Failure::from)
            }
            Self::Local { engine, .. } => engine
                .resume(self.scope(caller)?, id, action, content)
                .await
                .map_err(Failure::from),
        }
    }

    async fn cancel(&self, caller: &Caller, id: &str) -> Result<RunResponse, Failure> {
        match self {
            Self::Remote(api) => api
                .post(&format!("/executions/{id}/cancel"), &json!({}), &[])
                .await
                .map_err(Failure::from),
            Self::Local { engine, .. } => engine
                .cancel(self.scope(caller)?, id)
                .await
                .map_err(Failure::from),
        }
    }

    /// A page of the list for `query` (list parameters, form-encoded).
    async fn list(&self, caller: &Caller, query: &str) -> Result<ListPage, Failure> {
        match self {
            Self::Remote(api) => api
                .get(&format!("/executions?meta=false&{query}"))
                .await
                .map_err(Failure::from),
            Self::Local { store, .. } => {
                let list = parse_query(query).map_err(Failure::Other)?;
                store
                    .list_without_meta(self.scope(caller)?, &list)
                    .await
                    .map_err(internal)
            }
        }
    }

    async fn meta(&self, caller: &Caller, query: &str) -> Result<ListMeta, Failure> {
        match self {
            Self::Remote(api) => api
                .get(&format!("/executions/meta?{query}"))
                .await
                .map_err(Failure::from),
            Self::Local { store, .. } => {
                let list = parse_query(query).map_err(Failure::Other)?;
                store
                    .list_meta(self.scope(caller)?, &list.filters, Counts::Bounded)
                    .await
                    .map_err(internal)
            }
        }
    }

    async fn get(&self, caller: &Caller, id: &str) -> Result<ExecutionEnvelope, Failure> {
        match self {
            Self::Remote(api) => api
                .get(&format!("/executions/{id}"))
                .await
                .map_err(Failure::from),
            Self::Local { store, .. } => store
                .get(self.scope(caller)?, id)
                .await
                .map_err(internal)?
                .ok_or_else(|| EngineError::NotFound(id.to_owned()).into()),
        }
    }

    async fn tool_calls(&self, caller: &Caller, id: &str) -> Result<Vec<ToolCall>, Failure> {
        match self {
            Self::Remote(api) => api
                .get::<ToolCallList>(&format!("/executions/{id}/tool-calls"))
                .await
                .map(|l| l.tool_calls)
                .map_err(Failure::from),
            Self::Local { store, .. } => store
                .tool_calls(self.scope(caller)?, id)
                .await
                .map_err(internal)?
                .ok_or_else(|| EngineError::NotFound(id.to_owned()).into()),
        }
    }

    /// The scope's tool sources (the built-ins aside).
    async fn namespaces(&self, caller: &Caller) -> Result<Vec<Namespace>, Failure> {
        match self {
            Self::Remote(api) => {
                let list: Value = api.get("/sources").await.map_err(Failure::from)?;
                Ok(list["sources"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|s| Namespace {
                        name: s["name"].as_str().unwrap_or_default().to_owned(),
                        kind: s["kind"].as_str().unwrap_or_default().to_owned(),
                        tools: s["toolCount"].as_u64().unwrap_or(0) as usize,
                        error: s["error"].as_str().map(str::to_owned),
                    })
                    .collect())
            }
            Self::Local { engine, .. } => Ok(engine
                .registry()
                .sources(self.scope(caller)?)
                .into_iter()
                .filter(|(info, _)| info.kind != "builtin")
                .map(|(info, tools)| Namespace {
                    name: info.id,
                    kind: info.kind,
                    tools,
                    error: info.error,
                })
                .collect()),
        }
    }

    async fn interactions(&self, caller: &Caller, id: &str) -> Result<Vec<Interaction>, Failure> {
        match self {
            Self::Remote(api) => api
                .get::<InteractionList>(&format!("/executions/{id}/interactions"))
                .await
                .map(|l| l.interactions)
                .map_err(Failure::from),
            Self::Local { store, .. } => store
                .interactions(self.scope(caller)?, id)
                .await
                .map_err(internal)?
                .ok_or_else(|| EngineError::NotFound(id.to_owned()).into()),
        }
    }
}

/// A namespace `execute`'s code can call: its name, kind and tool count,
/// or why it has no tools.
struct Namespace {
    name: String,
    kind: String,
    tools: usize,
    error: Option<String>,
}

/// At most this many namespaces are named in `execute`'s description.
const MAX_NAMESPACES: usize = 40;

fn namespaces_text(namespaces: &Result<Vec<Namespace>, Failure>) -> String {
    let builtins = "Built-in: tools.search, tools.describe.tool, tools.executor.sources.list.";
    let Ok(namespaces) = namespaces else {
        return format!("{builtins} (The sources could not be read just now: list them with tools.executor.sources.list().)");
    };
    let mut listed: Vec<String> = namespaces
        .iter()
        .take(MAX_NAMESPACES)
        .map(|n| match &n.error {
            Some(error) => format!(
                "{} ({}, failed to load: {})",
                n.name,
                n.kind,
                first_line(error)
            ),
            None => format!("{} ({}, {} tools)", n.name, n.kind, n.tools),
        })
        .collect();
    if namespaces.len() > MAX_NAMESPACES {
        listed.push(format!("and {} more", namespaces.len() - MAX_NAMESPACES));
    }
    if listed.is_empty() {
        format!("{builtins} No tool sources are configured.")
    } else {
        format!("Namespaces: {}. {builtins}", listed.join(", "))
    }
}

fn parse_query(query: &str) -> Result<ListQuery, String> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    ListQuery::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())), &[])
        .map_err(|e| e.to_string())
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

/// A row's first line of code or error, cut to [`LINE_CHARS`].
fn first_line(text: &str) -> String {
    crate::cli::first_line(text)
        .chars()
        .take(LINE_CHARS)
        .collect()
}

#[tool_router]
impl Host {
    /// A host on stdio, forwarding to a server: one session per process.
    pub fn remote(api: Api) -> Self {
        Self {
            backend: Backend::Remote(api),
            session: Some(format!("mcp:{}", uuid::Uuid::now_v7().simple())),
            scope: None,
            tool_router: Self::tool_router(),
        }
    }

    /// A host on stdio running the engine in this process (no server
    /// answered): scope `local`, as a server without tokens has it.
    pub fn in_process(engine: Engine, store: Store) -> Self {
        Self {
            backend: Backend::Local { engine, store },
            session: Some(format!("mcp:{}", uuid::Uuid::now_v7().simple())),
            scope: Some(app::model::LOCAL_SCOPE.to_owned()),
            tool_router: Self::tool_router(),
        }
    }

    /// A host inside the server (`/mcp`).
    pub fn local(engine: Engine, store: Store) -> Self {
        Self {
            backend: Backend::Local { engine, store },
            session: None,
            scope: None,
            tool_router: Self::tool_router(),
        }
    }

    /// The scope and session of a tool call: over HTTP from the request
    /// (the access layer's decision, the `mcp-session-id`), never from the
    /// client's arguments.
    fn caller(&self, ctx: &RequestContext<RoleServer>) -> Caller {
        let parts = ctx.extensions.get::<axum::http::request::Parts>();
        let scope = parts
            .and_then(|p| p.extensions.get::<Principal>())
            .map(|p| p.scope.clone())
            .or_else(|| self.scope.clone());
        let session = self.session.clone().or_else(|| {
            parts
                .and_then(|p| p.headers.get("mcp-session-id"))
                .and_then(|v| v.to_str().ok())
                .map(|id| format!("mcp:{id}"))
                .filter(|s| SessionId::parse(s).is_ok())
        });
        Caller { scope, session }
    }

    /// Runs JavaScript in a sandbox whose tools are under `tools.`.
    /// Workflow: find tools with `await tools.search({ query: "issues" })`,
    /// read one with `await tools.describe.tool({ path })`, then call it:
    /// `return await tools.github.issues.list({ repo })`. When a run needs a
    /// person (an approval, a form), a client that supports elicitation is
    /// asked and the run goes on; otherwise it returns status
    /// waiting_for_interaction with the question: answer it with `resume`.
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
        let caller = self.caller(&ctx);
        let meta = json!({ "client": client, "session": caller.session });
        let mut body = json!({ "code": args.code });
        if let Some(ms) = args.timeout_ms {
            body["timeoutMs"] = json!(ms);
        }
        let trigger = Trigger {
            kind: TriggerKind::known(TriggerKind::MCP),
            meta: meta.as_object().cloned(),
            session: caller
                .session
                .as_deref()
                .and_then(|s| SessionId::parse(s).ok()),
        };
        let mut response = match self.backend.run(&caller, body, trigger).await {
            Ok(response) => response,
            Err(e) => return Ok(e.refusal()),
        };
        // A client that declared elicitation is asked inline, and the run
        // goes on: the history records the pause and the answer exactly as
        // for `resume`. Otherwise the pause is the result.
        let asks = ctx
            .peer
            .peer_info()
            .is_some_and(|info| info.capabilities.elicitation.is_some());
        while asks && response.status == RunStatus::WaitingForInteraction {
            let Some(params) = response
                .interaction
                .as_ref()
                .and_then(|i| elicit_params(&i.request))
            else {
                break;
            };
            let Ok(answer) = ctx.peer.create_elicitation(params).await else {
                // The client could not ask: the pause stands, `resume` goes on.
                break;
            };
            let (action, content) = match answer.action {
                ElicitationAction::Accept => (ResumeAction::Accept, answer.content),
                ElicitationAction::Decline => (ResumeAction::Decline, None),
                // Cancel, and any action a later protocol adds.
                _ => (ResumeAction::Cancel, None),
            };
            response = match self
                .backend
                .resume(&caller, &response.execution_id, action, content)
                .await
            {
                Ok(r) => r,
                Err(e) => return Ok(e.refusal()),
            };
        }
        Ok(outcome(response))
    }

    /// Answers a run that waits for a person (status
    /// waiting_for_interaction): accept (with `content` for a form),
    /// decline or cancel. The run then goes on.
    #[tool]
    async fn resume(
        &self,
        Parameters(args): Parameters<ResumeArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let action = match args.action.as_str() {
            "accept" => ResumeAction::Accept,
            "decline" => ResumeAction::Decline,
            "cancel" => ResumeAction::Cancel,
            other => {
                return Ok(refused(format!(
                    "action '{other}': use accept, decline or cancel"
                )))
            }
        };
        let caller = self.caller(&ctx);
        match self
            .backend
            .resume(&caller, &args.execution_id, action, args.content)
            .await
        {
            Ok(response) => Ok(outcome(response)),
            Err(e) => Ok(e.refusal()),
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
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let caller = self.caller(&ctx);
        let limit = args.limit.unwrap_or(20).clamp(1, 50);
        let mine = match mine_token(args.mine, &caller) {
            Ok(token) => token,
            Err(refusal) => return Ok(refusal),
        };
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
        let mut full = format!("limit={limit}");
        if !query.is_empty() {
            full.push('&');
            full.push_str(&query);
        }
        if let Some(cursor) = &args.cursor {
            let encoded: String = form_urlencoded::byte_serialize(cursor.as_bytes()).collect();
            full.push_str(&format!("&cursor={encoded}"));
        }
        let page = match self.backend.list(&caller, &full).await {
            Ok(page) => page,
            Err(e) => return Ok(e.refusal()),
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
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let caller = self.caller(&ctx);
        let id = &args.execution_id;
        let envelope = match self.backend.get(&caller, id).await {
            Ok(e) => e,
            Err(e) => return Ok(e.refusal()),
        };
        let include = args.include.unwrap_or_else(|| {
            ["code", "result", "logs", "toolCalls", "interactions"]
                .map(str::to_owned)
                .to_vec()
        });
        let wants = |part: &str| include.iter().any(|i| i == part);
        let calls = if wants("toolCalls") {
            match self.backend.tool_calls(&caller, id).await {
                Ok(calls) => Some(calls),
                Err(e) => return Ok(e.refusal()),
            }
        } else {
            None
        };
        // Answered ones too: what a person was asked, and what they did.
        let asked = if wants("interactions") {
            match self.backend.interactions(&caller, id).await {
                Ok(asked) => Some(asked),
                Err(e) => return Ok(e.refusal()),
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
        if let Some(asked) = asked {
            parts.push(("interactions", json!(asked)));
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
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let caller = self.caller(&ctx);
        let mine = match mine_token(args.mine, &caller) {
            Ok(token) => token,
            Err(refusal) => return Ok(refusal),
        };
        let since = Some(format!("after:{}", args.since.as_deref().unwrap_or("24h")));
        let query = match list_query(&[("since", since), ("mine", mine)], "createdAt,desc") {
            Ok(q) => q,
            Err(e) => return Ok(refused(e.to_string())),
        };
        let meta = match self.backend.meta(&caller, &query).await {
            Ok(m) => m,
            Err(e) => return Ok(e.refusal()),
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
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let caller = self.caller(&ctx);
        match self.backend.cancel(&caller, &args.execution_id).await {
            Ok(response) => Ok(outcome(response)),
            Err(e) => Ok(e.refusal()),
        }
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Host {
    /// The tools, `execute`'s description naming the namespaces this
    /// caller's runs can call (its scope's sources, read when asked).
    async fn list_tools(
        &self,
        _request: Option<rmcp::model::PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListToolsResult, McpError> {
        let mut tools = self.tool_router.list_all();
        let namespaces = self.backend.namespaces(&self.caller(&ctx)).await;
        if let Some(execute) = tools.iter_mut().find(|t| t.name == "execute") {
            let text = execute.description.as_deref().unwrap_or_default();
            execute.description =
                Some(format!("{text}\n\n{}", namespaces_text(&namespaces)).into());
        }
        Ok(rmcp::model::ListToolsResult {
            result_type: Some(rmcp::model::ResultType::COMPLETE),
            tools,
            meta: None,
            next_cursor: None,
            // The list changes with the scope's sources: not for caching.
            ttl_ms: None,
            cache_scope: None,
        })
    }

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

/// A form interaction as an MCP elicitation request; `None` for what MCP
/// forms cannot carry (a URL to visit, a schema beyond flat primitives),
/// which stays a pause.
fn elicit_params(request: &app::model::ElicitationRequest) -> Option<ElicitRequestParams> {
    match request {
        app::model::ElicitationRequest::Form {
            message,
            requested_schema,
        } => {
            let schema: ElicitationSchema =
                serde_json::from_value(requested_schema.clone()).ok()?;
            Some(ElicitRequestParams::FormElicitationParams {
                meta: None,
                message: message.clone(),
                requested_schema: schema,
            })
        }
        app::model::ElicitationRequest::Url { .. } => None,
    }
}

/// The `session:` token for `mine: true`, from the caller's session.
fn mine_token(mine: Option<bool>, caller: &Caller) -> Result<Option<String>, CallToolResult> {
    if !mine.unwrap_or(false) {
        return Ok(None);
    }
    match &caller.session {
        Some(session) => Ok(Some(format!("session:{session}"))),
        None => Err(refused(
            "mine needs an MCP session (this connection has none)".to_owned(),
        )),
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

/// `executor mcp`: serves `host` on stdin and stdout until the client
/// closes them.
pub async fn serve_stdio(host: Host) -> Result<(), Box<dyn std::error::Error>> {
    use rmcp::ServiceExt;
    let service = host.serve(rmcp::transport::stdio()).await?;
    service.waiting().await?;
    Ok(())
}

/// `/mcp`: the host over streamable HTTP, one per MCP session, behind the
/// router's access layer. Without tokens rmcp's own check keeps to
/// loopback names; with tokens any name reaching the server is its own.
pub fn http_service(
    engine: Engine,
    store: Store,
    open: bool,
) -> rmcp::transport::streamable_http_server::StreamableHttpService<
    Host,
    rmcp::transport::streamable_http_server::session::local::LocalSessionManager,
> {
    use rmcp::transport::streamable_http_server::{
        session::local::LocalSessionManager, StreamableHttpServerConfig, StreamableHttpService,
    };
    let config = StreamableHttpServerConfig::default();
    let config = if open {
        config
    } else {
        config.disable_allowed_hosts()
    };
    StreamableHttpService::new(
        move || Ok(Host::local(engine.clone(), store.clone())),
        std::sync::Arc::new(LocalSessionManager::default()),
        config,
    )
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
