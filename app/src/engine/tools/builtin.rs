//! The discovery tools every run has: `search`, `describe.tool` and
//! `executor.sources.list` (docs/engine.md#built-in-tools). They are recorded like
//! any other tool call.

use std::sync::Arc;

use serde_json::{json, Value};

use super::catalog::{query_words, suggestions};
use super::schema::signature;
use super::unknown_tool;
use super::{arg_str, Invocation, Registry, SourceInfo, ToolDescriptor, ToolError};

/// First path segments that belong to built-ins.
pub const NAMESPACES: [&str; 3] = ["search", "describe", "executor"];
const DEFAULT_SEARCH_LIMIT: usize = 12;
const DEFAULT_SOURCES_LIMIT: usize = 50;

pub fn info() -> SourceInfo {
    SourceInfo {
        id: "executor".into(),
        name: "Built-in tools".into(),
        kind: "builtin".into(),
        error: None,
    }
}

pub fn descriptors() -> Vec<ToolDescriptor> {
    let mut search = ToolDescriptor::new(
        "search",
        "Find tools by words in their path, name or description.",
    );
    search.input_schema = Some(json!({
        "type": "object",
        "properties": {
            "query": {"type": "string"},
            "namespace": {"type": "string"},
            "limit": {"type": "integer", "minimum": 1, "default": DEFAULT_SEARCH_LIMIT},
            "offset": {"type": "integer", "minimum": 0, "default": 0}
        }
    }));
    let mut describe = ToolDescriptor::new(
        "describe.tool",
        "Describe one tool: its description, whether it needs approval, its schemas and a TypeScript-style signature.",
    );
    describe.input_schema = Some(json!({
        "type": "object",
        "required": ["path"],
        "properties": {"path": {"type": "string"}}
    }));
    let mut sources = ToolDescriptor::new(
        "executor.sources.list",
        "List the tool sources with their kind, tool count and load state.",
    );
    sources.input_schema = Some(json!({
        "type": "object",
        "properties": {"query": {"type": "string"}, "limit": {"type": "integer", "minimum": 1}}
    }));
    vec![search, describe, sources]
}

/// `Some` when `call.path` is a built-in.
pub fn invoke(
    registry: &Arc<Registry>,
    scope: &str,
    call: &Invocation,
) -> Option<Result<Value, ToolError>> {
    let args = call.args.as_ref();
    match call.path.as_str() {
        "search" => Some(search(registry, scope, args)),
        "describe.tool" => Some(describe(registry, scope, args)),
        "executor.sources.list" => Some(sources_list(registry, scope, args)),
        _ => None,
    }
}

fn limit(args: Option<&Value>, default: usize) -> Result<usize, ToolError> {
    match args.and_then(|a| a.get("limit")) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v
            .as_u64()
            .filter(|n| *n >= 1)
            .map(|n| n.min(1_000) as usize)
            .ok_or_else(|| ToolError::new("limit must be a positive integer")),
    }
}

/// Ranks the scope's tools for the query (docs/engine.md#built-in-tools).
fn search(registry: &Arc<Registry>, scope: &str, args: Option<&Value>) -> Result<Value, ToolError> {
    let query = query_words(arg_str(args, "query").unwrap_or(""));
    let namespace = arg_str(args, "namespace");
    let limit = limit(args, DEFAULT_SEARCH_LIMIT)?;
    let offset = match args.and_then(|a| a.get("offset")) {
        None | Some(Value::Null) => 0,
        Some(v) => v
            .as_u64()
            .map(|n| n.min(1_000_000) as usize)
            .ok_or_else(|| ToolError::new("offset must be a non-negative integer"))?,
    };
    let in_namespace =
        |path: &str| namespace.is_none_or(|ns| path == ns || path.starts_with(&format!("{ns}.")));
    let catalogs = registry.catalogs(scope);
    let mut hits: Vec<(u32, &ToolDescriptor, &str)> = Vec::new();
    for catalog in &catalogs {
        let source = catalog.info.id.as_str();
        if query.is_empty() {
            hits.extend(catalog.tools.iter().map(|t| (0, t, source)));
        } else {
            hits.extend(catalog.scores(&query).map(|(score, t)| (score, t, source)));
        }
    }
    hits.retain(|(_, t, _)| in_namespace(&t.path));
    // At a tie the shorter path: fewer words the query did not ask for.
    hits.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| a.1.path.len().cmp(&b.1.path.len()))
            .then_with(|| a.1.path.cmp(&b.1.path))
    });
    Ok(Value::Array(
        hits.into_iter()
            .skip(offset)
            .take(limit)
            .map(|(score, t, source)| {
                json!({
                    "path": t.path,
                    "name": t.name,
                    "description": t.description,
                    "sourceId": source,
                    "score": score,
                })
            })
            .collect(),
    ))
}

fn describe(
    registry: &Arc<Registry>,
    scope: &str,
    args: Option<&Value>,
) -> Result<Value, ToolError> {
    let path = arg_str(args, "path")
        .ok_or_else(|| ToolError::new("describe.tool needs {path: string}"))?;
    let Some(tool) = registry.describe(scope, path) else {
        let catalogs = registry.catalogs(scope);
        let near = suggestions(catalogs.iter().map(|c| c.as_ref()), path, 5);
        let mut message = unknown_tool(path).message;
        if !near.is_empty() {
            message.push_str(&format!("; did you mean {}?", near.join(", ")));
        }
        return Err(ToolError::new(message));
    };
    let requires_approval = tool.approval_message().is_some();
    let mut out = serde_json::to_value(&tool).map_err(|e| ToolError::new(e.to_string()))?;
    out["requiresApproval"] = json!(requires_approval);
    out["signature"] = json!(format!(
        "tools.{}{}",
        tool.path,
        signature(tool.input_schema.as_ref(), tool.output_schema.as_ref())
    ));
    Ok(out)
}

fn sources_list(
    registry: &Arc<Registry>,
    scope: &str,
    args: Option<&Value>,
) -> Result<Value, ToolError> {
    let query = arg_str(args, "query").map(str::to_lowercase);
    let limit = limit(args, DEFAULT_SOURCES_LIMIT)?;
    let mut sources: Vec<_> = registry
        .sources(scope)
        .into_iter()
        .filter(|(s, _)| {
            query.as_deref().is_none_or(|q| {
                s.id.to_lowercase().contains(q) || s.name.to_lowercase().contains(q)
            })
        })
        .collect();
    sources.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    Ok(Value::Array(
        sources
            .into_iter()
            .take(limit)
            .map(|(s, count)| {
                let state = if s.error.is_some() { "failed" } else { "loaded" };
                let mut out = json!({"id": s.id, "name": s.name, "kind": s.kind, "toolCount": count, "state": state});
                if let Some(error) = s.error {
                    out["error"] = json!(error);
                }
                out
            })
            .collect(),
    ))
}
