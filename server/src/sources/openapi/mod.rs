//! An OpenAPI document as a tool source: each operation a tool, called over
//! HTTP with the source's headers and query values (secrets filled per
//! call), the response JSON as the result (text when it is not JSON), and
//! a non-2xx status a rejection with the status and a body excerpt.

pub mod document;
pub mod request;

use std::collections::BTreeMap;

use serde_json::{json, Value};

use app::engine::tools::{
    Invocation, LocalFuture, SourceInfo, ToolDescriptor, ToolError, ToolSource,
};

use super::secrets::Mask;
use super::spec::OpenApiSpec;
use super::Context;
use document::{cut, Operation};

/// The longest response body read; more fails the call.
const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;
/// How much of a failed response's body the error quotes.
const EXCERPT_CHARS: usize = 300;
/// How much of the arguments an approval shows.
const PREVIEW_CHARS: usize = 600;

pub struct OpenApiSource {
    info: SourceInfo,
    operations: BTreeMap<String, Operation>,
    base_url: Option<String>,
    headers: BTreeMap<String, String>,
    query: BTreeMap<String, String>,
    context: Context,
}

impl OpenApiSource {
    /// Reads the document (a URL, a file, or the text given) and makes its
    /// tools.
    pub async fn load(spec: &OpenApiSpec, context: Context) -> Result<Self, String> {
        let text = match (&spec.document, &spec.spec) {
            (Some(text), _) => text.clone(),
            (None, Some(location)) => fetch_text(&context, location).await?,
            (None, None) => return Err("no document".into()),
        };
        let started = std::time::Instant::now();
        let doc = document::parse(&text)?;
        drop(text);
        let read = document::read(&spec.name, &doc)?;
        tracing::info!(
            source = %spec.name,
            tools = read.operations.len(),
            ms = started.elapsed().as_millis() as u64,
            "read an OpenAPI document"
        );
        let base_url = spec.base_url.clone().or_else(|| {
            read.server_url
                .as_deref()
                .and_then(|u| absolute(u, spec.spec.as_deref()))
        });
        Ok(Self {
            info: SourceInfo {
                id: spec.name.clone(),
                name: read.title,
                kind: "openapi".into(),
                error: None,
            },
            operations: document::by_path(read.operations),
            base_url,
            headers: spec.headers.clone(),
            query: spec.query.clone(),
            context,
        })
    }
}

/// A server URL relative to the document's own (`/v1`) made absolute.
fn absolute(server: &str, document_url: Option<&str>) -> Option<String> {
    if server.starts_with("http://") || server.starts_with("https://") {
        return Some(server.to_owned());
    }
    let base = reqwest::Url::parse(document_url?).ok()?;
    base.join(server).ok().map(|u| u.to_string())
}

async fn fetch_text(context: &Context, location: &str) -> Result<String, String> {
    if location.starts_with("http://") || location.starts_with("https://") {
        let response = context
            .http
            .get(location)
            .send()
            .await
            .map_err(|e| format!("cannot fetch {location}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!(
                "cannot fetch {location}: HTTP {}",
                response.status()
            ));
        }
        let bytes = read_capped(response, 64 * 1024 * 1024).await?;
        String::from_utf8(bytes).map_err(|_| format!("{location} is not UTF-8 text"))
    } else {
        tokio::fs::read_to_string(location)
            .await
            .map_err(|e| format!("cannot read {location}: {e}"))
    }
}

async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > cap {
            return Err(format!("the response is larger than {cap} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

impl ToolSource for OpenApiSource {
    fn info(&self) -> SourceInfo {
        self.info.clone()
    }

    fn tools(&self) -> Vec<ToolDescriptor> {
        self.operations.values().map(|o| o.tool.clone()).collect()
    }

    fn approval_prompt(&self, tool: &ToolDescriptor, args: Option<&Value>) -> Option<String> {
        let op = self.operations.get(&tool.path)?;
        let base = self.base_url.as_deref().unwrap_or("");
        let target = match request::build(op, base, args) {
            Ok(r) => format!("{} {}", r.method, r.url),
            Err(_) => format!("{} {}{}", op.method, base, op.path),
        };
        let preview = args.map(|a| cut(&a.to_string(), PREVIEW_CHARS));
        Some(match preview {
            Some(p) => format!("Approve {target}?\n{}\narguments: {p}", tool.path),
            None => format!("Approve {target}?\n{}", tool.path),
        })
    }

    fn invoke(&self, call: Invocation) -> LocalFuture<Result<Value, ToolError>> {
        let Some(op) = self.operations.get(&call.path).cloned() else {
            return Box::pin(std::future::ready(Err(app::engine::tools::unknown_tool(
                &call.path,
            ))));
        };
        let Some(base) = self.base_url.clone() else {
            return Box::pin(std::future::ready(Err(ToolError::new(format!(
                "source '{}' has no server URL: its document names none; set baseUrl",
                self.info.id
            )))));
        };
        let (headers, query, context) = (
            self.headers.clone(),
            self.query.clone(),
            self.context.clone(),
        );
        let scope = call.scope.clone();
        let args = call.args;
        // The HTTP exchange runs on the server's runtime (the sandbox
        // thread's own is for the run); dropping the run aborts it.
        let runtime = context.runtime.clone();
        let task = runtime.spawn(async move {
            let mut mask = Mask::default();
            let outcome = exchange(
                &context,
                &op,
                &base,
                args.as_ref(),
                &headers,
                &query,
                &scope,
                &mut mask,
            )
            .await;
            match outcome {
                Ok(value) => Ok(mask.apply_json(value)),
                Err(message) => Err(ToolError::new(mask.apply(&message))),
            }
        });
        let guard = AbortOnDrop(task.abort_handle());
        Box::pin(async move {
            let result = task.await;
            drop(guard);
            result.unwrap_or_else(|e| Err(ToolError::new(format!("the call was stopped: {e}"))))
        })
    }
}

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[allow(clippy::too_many_arguments)]
async fn exchange(
    context: &Context,
    op: &Operation,
    base: &str,
    args: Option<&Value>,
    headers: &BTreeMap<String, String>,
    query: &BTreeMap<String, String>,
    scope: &str,
    mask: &mut Mask,
) -> Result<Value, String> {
    let built = request::build(op, base, args)?;
    let method = reqwest::Method::from_bytes(built.method.as_bytes()).map_err(|e| e.to_string())?;
    let mut url =
        reqwest::Url::parse(&built.url).map_err(|e| format!("bad URL {}: {e}", built.url))?;
    let secrets = &context.secrets;
    let query = secrets.fill_all(scope, query, mask).await;
    for (name, value) in query.map_err(|e| e.to_string())? {
        url.query_pairs_mut().append_pair(&name, &value);
    }
    let mut request = context.http.request(method, url);
    let headers = secrets.fill_all(scope, headers, mask).await;
    for (name, value) in headers.map_err(|e| e.to_string())? {
        request = request.header(name, value);
    }
    for (name, value) in built.headers {
        request = request.header(name, value);
    }
    if let Some((media_type, bytes)) = built.body {
        request = request.header("content-type", media_type).body(bytes);
    }
    let response = request
        .send()
        .await
        .map_err(|e| format!("{} {}: {}", op.method, built.url, reason(&e)))?;
    let status = response.status();
    let is_json = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.contains("json"));
    let bytes = read_capped(response, MAX_RESPONSE_BYTES).await?;
    let text = String::from_utf8_lossy(&bytes);
    if !status.is_success() {
        let excerpt = cut(text.trim(), EXCERPT_CHARS);
        return Err(if excerpt.is_empty() {
            format!("HTTP {status}")
        } else {
            format!("HTTP {status}: {excerpt}")
        });
    }
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    match serde_json::from_str::<Value>(&text) {
        Ok(value) => Ok(value),
        Err(_) if is_json => Err(format!("HTTP {status}: the response is not valid JSON")),
        Err(_) => Ok(json!(text)),
    }
}

/// A connection error in a few words.
fn reason(e: &reqwest::Error) -> String {
    if e.is_connect() {
        "connection refused".into()
    } else if e.is_timeout() {
        "timed out".into()
    } else {
        e.to_string()
    }
}
