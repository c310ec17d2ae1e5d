//! The discovery tools every run has: `search`, `describe.tool` and
//! `executor.sources.list` (docs/engine.md#built-in-tools). They are recorded like
//! any other tool call.

use std::sync::Arc;

use serde_json::{json, Value};

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
            "limit": {"type": "integer", "minimum": 1, "default": DEFAULT_SEARCH_LIMIT}
        }
    }));
    let mut describe = ToolDescriptor::new(
        "describe.tool",
        "Describe one tool: its description, whether it needs approval, its schemas.",
    );
    describe.input_schema = Some(json!({
        "type": "object",
        "required": ["path"],
        "properties": {"path": {"type": "string"}}
    }));
    let mut sources = ToolDescriptor::new(
        "executor.sources.list",
        "List the configured tool sources with their tool counts.",
    );
    sources.input_schema = Some(json!({
        "type": "object",
        "properties": {"query": {"type": "string"}, "limit": {"type": "integer", "minimum": 1}}
    }));
    vec![search, describe, sources]
}

/// `Some` when `call.path` is a built-in.
pub fn invoke(registry: &Arc<Registry>, call: &Invocation) -> Option<Result<Value, ToolError>> {
    let args = call.args.as_ref();
    match call.path.as_str() {
        "search" => Some(search(registry, args)),
        "describe.tool" => Some(describe(registry, args)),
        "executor.sources.list" => Some(sources_list(registry, args)),
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

fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Scores each query token over path, source, name and description with the
/// reference's weights (12/8/10/5).
fn search(registry: &Arc<Registry>, args: Option<&Value>) -> Result<Value, ToolError> {
    let query = tokens(arg_str(args, "query").unwrap_or(""));
    let namespace = arg_str(args, "namespace");
    let limit = limit(args, DEFAULT_SEARCH_LIMIT)?;
    let mut hits: Vec<(u32, Value)> = registry
        .all_tools()
        .into_iter()
        .filter(|(_, t)| {
            namespace.is_none_or(|ns| t.path == ns || t.path.starts_with(&format!("{ns}.")))
        })
        .filter_map(|(source, t)| {
            let fields = [
                (tokens(&t.path), 12),
                (tokens(&source.id), 8),
                (tokens(&t.name), 10),
                (tokens(t.description.as_deref().unwrap_or("")), 5),
            ];
            let score: u32 = query
                .iter()
                .map(|q| {
                    fields
                        .iter()
                        .filter(|(words, _)| words.iter().any(|w| w.contains(q.as_str())))
                        .map(|(_, weight)| weight)
                        .sum::<u32>()
                })
                .sum();
            (query.is_empty() || score > 0).then(|| {
                (
                    score,
                    json!({
                        "path": t.path,
                        "name": t.name,
                        "description": t.description,
                        "sourceId": source.id,
                        "score": score,
                    }),
                )
            })
        })
        .collect();
    hits.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| a.1["path"].as_str().cmp(&b.1["path"].as_str()))
    });
    Ok(Value::Array(
        hits.into_iter().take(limit).map(|(_, v)| v).collect(),
    ))
}

fn describe(registry: &Arc<Registry>, args: Option<&Value>) -> Result<Value, ToolError> {
    let path = arg_str(args, "path")
        .ok_or_else(|| ToolError::new("describe.tool needs {path: string}"))?;
    let tool = registry.describe(path).ok_or_else(|| unknown_tool(path))?;
    let requires_approval = tool.approval_message().is_some();
    let mut out = serde_json::to_value(&tool).map_err(|e| ToolError::new(e.to_string()))?;
    out["requiresApproval"] = json!(requires_approval);
    Ok(out)
}

fn sources_list(registry: &Arc<Registry>, args: Option<&Value>) -> Result<Value, ToolError> {
    let query = arg_str(args, "query").map(str::to_lowercase);
    let limit = limit(args, DEFAULT_SOURCES_LIMIT)?;
    let mut sources: Vec<_> = registry
        .sources()
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
                json!({"id": s.id, "name": s.name, "kind": s.kind, "toolCount": count})
            })
            .collect(),
    ))
}
