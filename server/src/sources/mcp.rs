//! An MCP server as a tool source, with rmcp's client: over streamable HTTP
//! (a URL) or stdio (a command). One long-lived connection per source,
//! made again when it is found broken; `tools/list` followed page by page
//! (up to [`MAX_TOOLS`]) and again on `list_changed`. Tools become
//! `<source>.<tool>`; those annotated destructive need approval. The
//! server's elicitation requests become the calling run's interaction.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rmcp::model::{
    CallToolRequest, CallToolRequestParams, ClientCapabilities, ClientConfig, ClientRequest,
    ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationCapability,
    FormElicitationCapability, Implementation, PaginatedRequestParams, ProtocolVersion, RequestId,
    ServerResult, Tool,
};
use rmcp::service::{
    InboundStreamOrigin, NotificationContext, PeerRequestOptions, RequestContext, RoleClient,
    RunningService,
};
use rmcp::{ClientHandler, ErrorData as McpError, ServiceExt};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};

use app::engine::tools::{
    Approval, ElicitationAnswer, Invocation, LocalFuture, SourceInfo, ToolDescriptor, ToolError,
    ToolSource,
};
use app::model::{ElicitationRequest, ResumeAction};

use super::secrets::Mask;
use super::spec::McpSpec;
use super::Context;

/// At most this many tools are taken from one server.
const MAX_TOOLS: usize = 5_000;
/// A call that gets no answer in this long fails.
const CALL_TIMEOUT: Duration = Duration::from_secs(300);

/// Tells the sources that this one's tools changed.
pub type OnChange = Arc<dyn Fn() + Send + Sync>;

/// A question from the server for the run whose call it is about.
type Ask = (ElicitationRequest, oneshot::Sender<ElicitationAnswer>);

/// Calls in flight, so an elicitation finds its run: by the request it
/// arrived for (streamable HTTP says), else the oldest call (stdio cannot
/// say which; one call at a time is exact).
/// A call in flight: its ticket, its request id once sent, where its
/// questions go.
type Call = (u64, Option<RequestId>, mpsc::UnboundedSender<Ask>);

#[derive(Default)]
struct InFlight {
    calls: Mutex<Vec<Call>>,
    next: std::sync::atomic::AtomicU64,
}

impl InFlight {
    fn asker(&self, origin: Option<&RequestId>) -> Option<mpsc::UnboundedSender<Ask>> {
        let calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        origin
            .and_then(|id| calls.iter().find(|(_, r, _)| r.as_ref() == Some(id)))
            .or_else(|| calls.first())
            .map(|(_, _, tx)| tx.clone())
    }
}

/// The client side of the connection: answers elicitations through the
/// calling run, and hears of tool list changes.
struct Handler {
    in_flight: Arc<InFlight>,
    on_list_changed: mpsc::UnboundedSender<()>,
}

impl ClientHandler for Handler {
    fn get_info(&self) -> ClientConfig {
        let mut capabilities = ClientCapabilities::default();
        capabilities.elicitation =
            Some(ElicitationCapability::new().with_form(FormElicitationCapability::default()));
        // 2025-11-25: elicitations are requests of their own, which any
        // call can be waiting on (later versions fold them into results).
        ClientConfig::new(
            capabilities,
            Implementation::new("executor", env!("CARGO_PKG_VERSION")),
        )
        .with_protocol_version(ProtocolVersion::V_2025_11_25)
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, McpError> {
        let origin = match context.extensions.get::<InboundStreamOrigin>() {
            Some(InboundStreamOrigin::OutboundRequest(id)) => Some(id.clone()),
            _ => None,
        };
        let asked = match request {
            ElicitRequestParams::FormElicitationParams {
                message,
                requested_schema,
                ..
            } => ElicitationRequest::Form {
                message,
                requested_schema: serde_json::to_value(&requested_schema)
                    .unwrap_or_else(|_| json!({"type": "object"})),
            },
            ElicitRequestParams::UrlElicitationParams { message, url, .. } => {
                ElicitationRequest::Url { message, url }
            }
            _ => return Ok(ElicitResult::new(ElicitationAction::Decline)),
        };
        let Some(asker) = self.in_flight.asker(origin.as_ref()) else {
            // No run is calling: nobody to ask.
            return Ok(ElicitResult::new(ElicitationAction::Decline));
        };
        let (tx, rx) = oneshot::channel();
        if asker.send((asked, tx)).is_err() {
            return Ok(ElicitResult::new(ElicitationAction::Cancel));
        }
        let answer = rx.await.unwrap_or(ElicitationAnswer {
            action: ResumeAction::Cancel,
            content: None,
        });
        let action = match answer.action {
            ResumeAction::Accept => ElicitationAction::Accept,
            ResumeAction::Decline => ElicitationAction::Decline,
            ResumeAction::Cancel => ElicitationAction::Cancel,
        };
        let accepted = answer.action == ResumeAction::Accept;
        let mut result = ElicitResult::new(action);
        if let Some(content) = answer.content.filter(|_| accepted) {
            result = result.with_content(content);
        }
        Ok(result)
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        let _ = self.on_list_changed.send(());
    }
}

type Client = RunningService<RoleClient, Handler>;

/// The connection, made again when found broken.
struct Connection {
    spec: McpSpec,
    /// Whose secrets fill the headers and environment: the source's scope
    /// (`local` for a source of every scope).
    secret_scope: String,
    context: Context,
    client: tokio::sync::Mutex<Option<Arc<Client>>>,
    in_flight: Arc<InFlight>,
    tools: RwLock<Vec<(ToolDescriptor, String)>>,
    on_change: OnChange,
}

pub struct McpSource {
    info: SourceInfo,
    connection: Arc<Connection>,
}

impl McpSource {
    /// Connects and lists the tools; an error if the server cannot be
    /// reached or spoken to.
    pub async fn connect(
        spec: &McpSpec,
        secret_scope: &str,
        context: Context,
        on_change: OnChange,
    ) -> Result<Arc<dyn ToolSource>, String> {
        let connection = Arc::new(Connection {
            spec: spec.clone(),
            secret_scope: secret_scope.to_owned(),
            context,
            client: tokio::sync::Mutex::new(None),
            in_flight: Arc::default(),
            tools: RwLock::new(Vec::new()),
            on_change,
        });
        let client = connection.client().await?;
        let title = client
            .peer_info()
            .and_then(|i| i.server_info.as_ref().map(|s| s.name.clone()))
            .unwrap_or_else(|| spec.name.clone());
        Ok(Arc::new(Self {
            info: SourceInfo {
                id: spec.name.clone(),
                name: title,
                kind: "mcp".into(),
                error: None,
            },
            connection,
        }))
    }
}

impl Connection {
    /// The live client, connecting (and listing the tools) if there is none
    /// or the last one broke.
    async fn client(self: &Arc<Self>) -> Result<Arc<Client>, String> {
        let mut slot = self.client.lock().await;
        if let Some(client) = slot.as_ref() {
            if !client.peer().is_transport_closed() {
                return Ok(client.clone());
            }
            tracing::warn!(source = %self.spec.name, "the MCP server's connection closed; connecting again");
        }
        let (changed_tx, mut changed_rx) = mpsc::unbounded_channel();
        let handler = Handler {
            in_flight: self.in_flight.clone(),
            on_list_changed: changed_tx,
        };
        let client = Arc::new(self.open(handler).await?);
        let tools = list_tools(&client, &self.spec.name).await?;
        *self.tools.write().unwrap_or_else(|e| e.into_inner()) = tools;
        *slot = Some(client.clone());
        drop(slot);
        (self.on_change)();
        // `list_changed`: list again, tell the registry.
        let weak = Arc::downgrade(self);
        let listed = Arc::downgrade(&client);
        tokio::spawn(async move {
            while changed_rx.recv().await.is_some() {
                let (Some(this), Some(client)) = (weak.upgrade(), listed.upgrade()) else {
                    break;
                };
                match list_tools(&client, &this.spec.name).await {
                    Ok(tools) => {
                        *this.tools.write().unwrap_or_else(|e| e.into_inner()) = tools;
                        (this.on_change)();
                    }
                    Err(e) => {
                        tracing::warn!(source = %this.spec.name, error = %e, "listing tools again failed")
                    }
                }
            }
        });
        Ok(client)
    }

    async fn open(&self, handler: Handler) -> Result<Client, String> {
        let mut mask = Mask::default();
        let scope = self.secret_scope.as_str();
        match (&self.spec.url, &self.spec.command) {
            (Some(url), _) => {
                use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
                use rmcp::transport::StreamableHttpClientTransport;
                let mut headers = HashMap::new();
                let filled = self
                    .context
                    .secrets
                    .fill_all(scope, &self.spec.headers, &mut mask)
                    .await
                    .map_err(|e| e.to_string())?;
                for (name, value) in filled {
                    let name = axum::http::HeaderName::try_from(name.as_str())
                        .map_err(|e| format!("header '{name}': {e}"))?;
                    let value = axum::http::HeaderValue::try_from(value)
                        .map_err(|_| format!("header '{name}' has a value that cannot be sent"))?;
                    headers.insert(name, value);
                }
                let mut config = StreamableHttpClientTransportConfig::with_uri(url.clone())
                    .custom_headers(headers);
                // A dead server should fail the call, not be retried forever.
                let mut retry =
                    rmcp::transport::common::client_side_sse::ExponentialBackoff::default();
                retry.max_times = Some(1);
                config.retry_config = Arc::new(retry);
                let transport = StreamableHttpClientTransport::from_config(config);
                handler
                    .serve(transport)
                    .await
                    .map_err(|e| mask.apply(&format!("cannot connect to {url}: {e}")))
            }
            (None, Some(command)) => {
                use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
                let env = self
                    .context
                    .secrets
                    .fill_all(scope, &self.spec.env, &mut mask)
                    .await
                    .map_err(|e| e.to_string())?;
                let args = self.spec.args.clone();
                let cmd = tokio::process::Command::new(command).configure(|c| {
                    c.args(&args).envs(env.iter().map(|(k, v)| (k, v)));
                    c.kill_on_drop(true);
                });
                let (transport, stderr) = TokioChildProcess::builder(cmd)
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .map_err(|e| format!("cannot start {command}: {e}"))?;
                // The program's own messages go to the log, as its lines,
                // with the secrets it was given masked.
                if let Some(stderr) = stderr {
                    let (source, mask) = (self.spec.name.clone(), mask.clone());
                    tokio::spawn(async move {
                        use tokio::io::AsyncBufReadExt;
                        let mut lines = tokio::io::BufReader::new(stderr).lines();
                        while let Ok(Some(line)) = lines.next_line().await {
                            tracing::info!(%source, "mcp server: {}", mask.apply(&line));
                        }
                    });
                }
                handler.serve(transport).await.map_err(|e| {
                    mask.apply(&format!("cannot start an MCP session with {command}: {e}"))
                })
            }
            (None, None) => Err("an mcp source needs url or command".into()),
        }
    }

    /// Forgets a broken client so the next call connects again.
    async fn broken(&self, client: &Arc<Client>) {
        let mut slot = self.client.lock().await;
        if slot.as_ref().is_some_and(|c| Arc::ptr_eq(c, client)) {
            *slot = None;
        }
    }
}

/// Every page of `tools/list`, up to [`MAX_TOOLS`], as descriptors with
/// the server's own names.
async fn list_tools(
    client: &Client,
    source: &str,
) -> Result<Vec<(ToolDescriptor, String)>, String> {
    let mut out = Vec::new();
    let mut taken = std::collections::HashSet::new();
    let mut cursor = None;
    loop {
        let page = client
            .list_tools(Some(PaginatedRequestParams::default().with_cursor(cursor)))
            .await
            .map_err(|e| format!("tools/list failed: {e}"))?;
        for tool in page.tools {
            if out.len() >= MAX_TOOLS {
                tracing::warn!(
                    source,
                    "the MCP server lists more than {MAX_TOOLS} tools; the rest are left out"
                );
                return Ok(out);
            }
            let descriptor = descriptor(source, &tool, &mut taken);
            out.push((descriptor, tool.name.to_string()));
        }
        cursor = page.next_cursor;
        if cursor.is_none() {
            return Ok(out);
        }
    }
}

/// `<source>.<tool>`, the name made a path segment code can write
/// (`get-sum` is `getSum`), a clash numbered.
fn descriptor(
    source: &str,
    tool: &Tool,
    taken: &mut std::collections::HashSet<String>,
) -> ToolDescriptor {
    let mut name = super::openapi::document::camel(&tool.name);
    if name.is_empty() {
        name = "tool".into();
    }
    let mut candidate = name.clone();
    let mut n = 2;
    while !taken.insert(candidate.clone()) {
        candidate = format!("{name}{n}");
        n += 1;
    }
    let description = tool
        .description
        .as_deref()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("The MCP tool {}", tool.name));
    let mut out = ToolDescriptor::new(format!("{source}.{candidate}"), description);
    let root = Value::Object((*tool.input_schema).clone());
    out.input_schema = Some(app::engine::tools::schema::inline_refs(&root, &root));
    out.output_schema = tool
        .output_schema
        .as_ref()
        .map(|s| Value::Object((**s).clone()));
    let destructive = tool
        .annotations
        .as_ref()
        .is_some_and(|a| a.destructive_hint == Some(true));
    if destructive {
        out.approval = Approval::Required { message: None };
    }
    out
}

impl ToolSource for McpSource {
    fn info(&self) -> SourceInfo {
        self.info.clone()
    }

    fn tools(&self) -> Vec<ToolDescriptor> {
        self.connection
            .tools
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(t, _)| t.clone())
            .collect()
    }

    fn invoke(&self, call: Invocation) -> LocalFuture<Result<Value, ToolError>> {
        let name = self
            .connection
            .tools
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(t, _)| t.path == call.path)
            .map(|(_, n)| n.clone());
        let Some(name) = name else {
            return Box::pin(std::future::ready(Err(app::engine::tools::unknown_tool(
                &call.path,
            ))));
        };
        let arguments = match call.args {
            None | Some(Value::Null) => None,
            Some(Value::Object(map)) => Some(map),
            Some(_) => {
                return Box::pin(std::future::ready(Err(ToolError::new(
                    "the argument of an MCP tool must be an object",
                ))))
            }
        };
        let connection = self.connection.clone();
        let (ask_tx, mut ask_rx) = mpsc::unbounded_channel::<Ask>();
        // The exchange runs on the server's runtime; questions come back
        // here, to the run's own thread, where its interaction is made.
        let task = connection
            .context
            .runtime
            .clone()
            .spawn(async move { call_tool(&connection, name, arguments, ask_tx).await });
        let abort = task.abort_handle();
        let elicit = call.elicit;
        Box::pin(async move {
            let _guard = AbortOnDrop(abort);
            let mut task = task;
            loop {
                tokio::select! {
                    done = &mut task => {
                        return done.unwrap_or_else(|e| Err(ToolError::new(format!("the call was stopped: {e}"))));
                    }
                    Some((request, reply)) = ask_rx.recv() => {
                        let answer = elicit.elicit(request).await;
                        let _ = reply.send(answer);
                    }
                }
            }
        })
    }
}

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One `tools/call`, registered as in flight so elicitations find it.
async fn call_tool(
    connection: &Arc<Connection>,
    name: String,
    arguments: Option<serde_json::Map<String, Value>>,
    ask: mpsc::UnboundedSender<Ask>,
) -> Result<Value, ToolError> {
    let client = connection.client().await.map_err(ToolError::new)?;
    let mut params = CallToolRequestParams::new(name.clone());
    if let Some(arguments) = arguments {
        params = params.with_arguments(arguments);
    }
    let ticket = connection
        .in_flight
        .next
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    connection
        .in_flight
        .calls
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((ticket, None, ask));
    let outcome = async {
        let handle = client
            .peer()
            .send_request_with_option(
                ClientRequest::CallToolRequest(CallToolRequest::new(params)),
                PeerRequestOptions::with_timeout(CALL_TIMEOUT),
            )
            .await?;
        if let Some(entry) = connection
            .in_flight
            .calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter_mut()
            .find(|(t, _, _)| *t == ticket)
        {
            entry.1 = Some(handle.id.clone());
        }
        handle.await_response().await
    }
    .await;
    connection
        .in_flight
        .calls
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|(t, _, _)| *t != ticket);
    let response = match outcome {
        Ok(response) => response,
        Err(e) => {
            // A JSON-RPC error is the server's answer; anything else (a
            // closed pipe, a refused POST, a session the server forgot)
            // means the connection is no longer to be trusted.
            let lost = !matches!(e, rmcp::ServiceError::McpError(_));
            if lost {
                connection.broken(&client).await;
                return Err(ToolError::new(format!(
                    "the MCP server of '{}' was lost during the call ({e}); the next call connects again",
                    connection.spec.name
                )));
            }
            return Err(ToolError::new(format!("{name}: {e}")));
        }
    };
    let ServerResult::CallToolResult(result) = response else {
        return Err(ToolError::new(format!(
            "{name}: the server answered something other than a tool result"
        )));
    };
    let text: Vec<&str> = result
        .content
        .iter()
        .filter_map(|c| c.as_text())
        .map(|t| t.text.as_str())
        .collect();
    let text = text.join("\n");
    if result.is_error.unwrap_or(false) {
        return Err(ToolError::new(if text.is_empty() {
            format!("{name} failed")
        } else {
            text
        }));
    }
    // Structured content when the tool gives it, else its text (parsed
    // when it is JSON).
    Ok(match result.structured_content {
        Some(value) => value,
        None => serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_path_segments_and_destructive_tools_ask() {
        let schema: serde_json::Map<String, Value> =
            serde_json::from_value(json!({"type": "object"})).unwrap();
        let mut wipe = Tool::new("wipe-disk", "Wipes a disk", Arc::new(schema.clone()));
        wipe.annotations = Some(rmcp::model::ToolAnnotations::new().destructive(true));
        let echo = Tool::new("echo", "Echoes", Arc::new(schema));
        let mut taken = std::collections::HashSet::new();
        let wipe = descriptor("box", &wipe, &mut taken);
        let echo = descriptor("box", &echo, &mut taken);
        assert_eq!(
            (wipe.path.as_str(), echo.path.as_str()),
            ("box.wipeDisk", "box.echo")
        );
        assert!(wipe.approval_message().is_some());
        assert!(echo.approval_message().is_none());
    }
}
