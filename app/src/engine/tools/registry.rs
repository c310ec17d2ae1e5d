//! Routes a tool path to the source that provides it.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use serde_json::Value;

use super::builtin;
use super::{Invocation, LocalFuture, SourceInfo, ToolDescriptor, ToolError, ToolSource};

/// Every source the engine can call, by namespace (the first path segment).
#[derive(Default)]
pub struct Registry {
    sources: RwLock<BTreeMap<String, Arc<dyn ToolSource>>>,
}

impl Registry {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Adds a source; its namespace must be free and not a built-in's.
    pub fn register(&self, source: Arc<dyn ToolSource>) -> Result<(), String> {
        let id = source.info().id;
        if builtin::NAMESPACES.contains(&id.as_str()) {
            return Err(format!("'{id}' is reserved for built-in tools"));
        }
        if id.is_empty() || id.contains('.') {
            return Err(format!(
                "source id '{id}' must be one non-empty path segment"
            ));
        }
        let mut sources = self.sources.write().unwrap_or_else(|e| e.into_inner());
        if sources.contains_key(&id) {
            return Err(format!("a source named '{id}' is already registered"));
        }
        sources.insert(id, source);
        Ok(())
    }

    fn source_for(&self, path: &str) -> Option<Arc<dyn ToolSource>> {
        let namespace = path.split('.').next()?;
        self.sources
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(namespace)
            .cloned()
    }

    /// Sources with their tool counts, built-ins first.
    pub fn sources(&self) -> Vec<(SourceInfo, usize)> {
        let mut out = vec![(builtin::info(), builtin::descriptors().len())];
        let sources = self.sources.read().unwrap_or_else(|e| e.into_inner());
        out.extend(sources.values().map(|s| (s.info(), s.tools().len())));
        out
    }

    /// Every tool with the source that provides it.
    pub fn all_tools(&self) -> Vec<(SourceInfo, ToolDescriptor)> {
        let info = builtin::info();
        let mut out: Vec<_> = builtin::descriptors()
            .into_iter()
            .map(|t| (info.clone(), t))
            .collect();
        let sources = self.sources.read().unwrap_or_else(|e| e.into_inner());
        for source in sources.values() {
            let info = source.info();
            out.extend(source.tools().into_iter().map(|t| (info.clone(), t)));
        }
        out
    }

    pub fn describe(&self, path: &str) -> Option<ToolDescriptor> {
        builtin::descriptors()
            .into_iter()
            .find(|t| t.path == path)
            .or_else(|| self.source_for(path)?.describe(path))
    }

    /// Calls the tool at `call.path`; approval is the caller's business
    /// (the engine asks before it gets here).
    pub fn invoke(self: &Arc<Self>, call: Invocation) -> LocalFuture<Result<Value, ToolError>> {
        if let Some(result) = builtin::invoke(self, &call) {
            return Box::pin(std::future::ready(result));
        }
        match self.source_for(&call.path) {
            Some(source) if source.describe(&call.path).is_some() => source.invoke(call),
            _ => Box::pin(std::future::ready(Err(unknown_tool(&call.path)))),
        }
    }
}

pub fn unknown_tool(path: &str) -> ToolError {
    ToolError::new(format!("unknown tool: {path}"))
}
