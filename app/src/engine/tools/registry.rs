//! Routes a tool path to the source that provides it, in the caller's
//! scope: sources registered for every scope (the config file's, the demo
//! fixtures) and each scope's own (added through the API or the CLI).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use serde_json::Value;

use super::builtin;
use super::catalog::Catalog;
use super::policy::{Policies, Policy, Verdict};
use super::{Invocation, LocalFuture, SourceInfo, ToolDescriptor, ToolError, ToolSource};

/// A source and its tools as registered (searched without asking it again).
#[derive(Clone)]
struct Entry {
    source: Arc<dyn ToolSource>,
    catalog: Arc<Catalog>,
}

/// `None`: every scope's.
type Key = (Option<String>, String);

pub struct Registry {
    sources: RwLock<BTreeMap<Key, Entry>>,
    policies: RwLock<Policies>,
    builtins: Arc<Catalog>,
}

impl Registry {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            sources: RwLock::default(),
            policies: RwLock::default(),
            builtins: Arc::new(Catalog::new(builtin::info(), builtin::descriptors())),
        })
    }

    /// Adds a source for every scope; its namespace must be free. Each of
    /// these answers the source's tool count.
    pub fn register(&self, source: Arc<dyn ToolSource>) -> Result<usize, String> {
        self.insert(None, source, false)
    }

    /// Adds or replaces a scope's source (a refresh replaces).
    pub fn register_in(&self, scope: &str, source: Arc<dyn ToolSource>) -> Result<usize, String> {
        self.insert(Some(scope.to_owned()), source, true)
    }

    /// Adds or replaces a source for every scope.
    pub fn replace(&self, source: Arc<dyn ToolSource>) -> Result<usize, String> {
        self.insert(None, source, true)
    }

    fn insert(
        &self,
        scope: Option<String>,
        source: Arc<dyn ToolSource>,
        replace: bool,
    ) -> Result<usize, String> {
        let info = source.info();
        check_namespace(&info.id)?;
        let mut sources = self.sources.write().unwrap_or_else(|e| e.into_inner());
        let clash = match &scope {
            // A scope's source may not hide one every scope has.
            Some(_) => sources.contains_key(&(None, info.id.clone())),
            None => sources.keys().any(|(s, id)| s.is_some() && *id == info.id),
        };
        let key = (scope, info.id.clone());
        if clash || (!replace && sources.contains_key(&key)) {
            return Err(format!(
                "a source named '{}' is already registered",
                info.id
            ));
        }
        let catalog = Arc::new(Catalog::new(info, source.tools()));
        let count = catalog.tools.len();
        sources.insert(key, Entry { source, catalog });
        Ok(count)
    }

    /// A source's tools changed (an MCP server said so): its catalog is
    /// made again; the new tool count, if the source is there.
    pub fn recatalog(&self, scope: Option<&str>, id: &str) -> Option<usize> {
        let mut sources = self.sources.write().unwrap_or_else(|e| e.into_inner());
        let entry = sources.get_mut(&(scope.map(str::to_owned), id.to_owned()))?;
        let catalog = Catalog::new(entry.source.info(), entry.source.tools());
        let count = catalog.tools.len();
        entry.catalog = Arc::new(catalog);
        Some(count)
    }

    /// Removes a scope's source; whether it was there.
    pub fn remove_in(&self, scope: &str, id: &str) -> bool {
        self.sources
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(Some(scope.to_owned()), id.to_owned()))
            .is_some()
    }

    /// The policies of every scope (the config file's), replacing any.
    pub fn set_policies(&self, policies: Vec<Policy>) {
        *self.policies.write().unwrap_or_else(|e| e.into_inner()) = Policies::new(policies);
    }

    /// What the policies say of a call to `path` in `scope`.
    pub fn verdict(&self, scope: &str, path: &str) -> Option<Verdict> {
        self.policies
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .verdict(scope, path)
    }

    /// The catalogs a scope sees: the built-ins first, then by namespace.
    pub fn catalogs(&self, scope: &str) -> Vec<Arc<Catalog>> {
        let sources = self.sources.read().unwrap_or_else(|e| e.into_inner());
        let mut own: Vec<Arc<Catalog>> = sources
            .iter()
            .filter(|((s, _), _)| s.as_deref().is_none_or(|s| s == scope))
            .map(|(_, e)| e.catalog.clone())
            .collect();
        own.sort_by(|a, b| a.info.id.cmp(&b.info.id));
        let mut out = Vec::with_capacity(own.len() + 1);
        out.push(self.builtins.clone());
        out.extend(own);
        out
    }

    fn entry_for(&self, scope: &str, path: &str) -> Option<Entry> {
        let namespace = path.split('.').next()?;
        let sources = self.sources.read().unwrap_or_else(|e| e.into_inner());
        sources
            .get(&(Some(scope.to_owned()), namespace.to_owned()))
            .or_else(|| sources.get(&(None, namespace.to_owned())))
            .cloned()
    }

    /// Sources with their tool counts, built-ins first.
    pub fn sources(&self, scope: &str) -> Vec<(SourceInfo, usize)> {
        self.catalogs(scope)
            .into_iter()
            .map(|c| (c.info.clone(), c.tools.len()))
            .collect()
    }

    pub fn describe(&self, scope: &str, path: &str) -> Option<ToolDescriptor> {
        if let Some(tool) = self.builtins.get(path) {
            return Some(tool.clone());
        }
        self.entry_for(scope, path)?.catalog.get(path).cloned()
    }

    /// What a person is asked before `path` runs with `args`, when it
    /// needs approval: the source's own words (an HTTP method and URL) or
    /// the descriptor's.
    pub fn approval_prompt(
        &self,
        scope: &str,
        tool: &ToolDescriptor,
        args: Option<&Value>,
    ) -> String {
        self.entry_for(scope, &tool.path)
            .and_then(|e| e.source.approval_prompt(tool, args))
            .or_else(|| tool.approval_message())
            .unwrap_or_else(|| format!("Approve {}?", tool.path))
    }

    /// Calls the tool at `call.path`; approval is the caller's business
    /// (the engine asks before it gets here).
    pub fn invoke(
        self: &Arc<Self>,
        scope: &str,
        call: Invocation,
    ) -> LocalFuture<Result<Value, ToolError>> {
        if let Some(result) = builtin::invoke(self, scope, &call) {
            return Box::pin(std::future::ready(result));
        }
        match self.entry_for(scope, &call.path) {
            Some(entry) if entry.catalog.get(&call.path).is_some() => entry.source.invoke(call),
            _ => Box::pin(std::future::ready(Err(unknown_tool(&call.path)))),
        }
    }
}

/// What [`check_namespace`] accepts, for JSON schemas (built-ins' names
/// aside).
pub const NAMESPACE_PATTERN: &str = "^[A-Za-z][A-Za-z0-9_]{0,63}$";

/// A source's namespace: one path segment, not a built-in's.
pub fn check_namespace(id: &str) -> Result<(), String> {
    if builtin::NAMESPACES.contains(&id) {
        return Err(format!("'{id}' is reserved for built-in tools"));
    }
    let mut chars = id.chars();
    let well_formed = id.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    // `tools.<name>.…` must read as plain property access in the code.
    if !well_formed {
        return Err(format!(
            "source name '{id}' must be 1-64 letters, digits or '_', starting with a letter"
        ));
    }
    Ok(())
}

pub fn unknown_tool(path: &str) -> ToolError {
    ToolError::new(format!("unknown tool: {path}"))
}
