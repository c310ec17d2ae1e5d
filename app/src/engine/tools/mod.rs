//! The tool model: sources provide tools under a namespace, a registry routes a
//! path such as `github.issues.list` to its source. Built-ins (`search`,
//! `describe.tool`, `executor.sources.list`) are a source like any other, so
//! OpenAPI and MCP sources are plain additions.

mod builtin;
pub mod catalog;
pub mod demo;
pub mod policy;
mod registry;
pub mod schema;

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use serde::Serialize;
use serde_json::Value;

use crate::model::{ElicitationRequest, ResumeAction};

pub use builtin::NAMESPACES as BUILTIN_NAMESPACES;
pub use policy::{Policy, PolicyAction, Verdict};
pub use registry::{check_namespace, unknown_tool, Registry, NAMESPACE_PATTERN};

/// A tool's failure, shown to the code as a rejected promise with this message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ToolError {
    pub message: String,
}

impl ToolError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// Whether a person must approve each call before it runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Approval {
    NotNeeded,
    /// `message` is what the person is asked; default "Approve <path>?".
    Required {
        message: Option<String>,
    },
}

/// What a source says about one of its tools.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolDescriptor {
    /// Full path, starting with the source's namespace (`github.issues.list`).
    pub path: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub approval: Approval,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_schema: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Value>,
}

impl ToolDescriptor {
    pub fn new(path: impl Into<String>, description: impl Into<String>) -> Self {
        let path = path.into();
        let name = path.rsplit('.').next().unwrap_or(&path).to_owned();
        Self {
            path,
            name,
            description: Some(description.into()),
            approval: Approval::NotNeeded,
            input_schema: None,
            output_schema: None,
        }
    }

    pub fn needing_approval(mut self) -> Self {
        self.approval = Approval::Required { message: None };
        self
    }

    pub fn approval_message(&self) -> Option<String> {
        match &self.approval {
            Approval::NotNeeded => None,
            Approval::Required { message } => Some(
                message
                    .clone()
                    .unwrap_or_else(|| format!("Approve {}?", self.path)),
            ),
        }
    }
}

/// A source as `tools.executor.sources.list` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceInfo {
    /// The namespace its tools live under.
    pub id: String,
    pub name: String,
    /// `builtin`, `openapi`, `mcp`, `fixture`, …
    pub kind: String,
    /// Why it has no tools, when it failed to load.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A person's answer to an elicitation.
#[derive(Clone, Debug, PartialEq)]
pub struct ElicitationAnswer {
    pub action: ResumeAction,
    pub content: Option<Value>,
}

pub type LocalFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// Lets a tool ask a person something in the middle of a call (a sign-in
/// URL, a form). The run pauses until the answer arrives.
pub trait Elicit {
    fn elicit(&self, request: ElicitationRequest) -> LocalFuture<ElicitationAnswer>;
}

/// One call as a source receives it.
pub struct Invocation {
    /// The run's scope: whose secrets the call may use.
    pub scope: String,
    pub path: String,
    /// The single JSON argument; `None` when the code passed nothing.
    pub args: Option<Value>,
    pub elicit: Rc<dyn Elicit>,
}

/// A provider of tools. Calls run on the sandbox worker thread of their run,
/// so their futures need not be `Send`.
pub trait ToolSource: Send + Sync {
    fn info(&self) -> SourceInfo;
    /// Its tools, read when it is registered (and again when it says they
    /// changed); the registry answers lookups from that catalog.
    fn tools(&self) -> Vec<ToolDescriptor>;
    fn invoke(&self, call: Invocation) -> LocalFuture<Result<Value, ToolError>>;
    /// What a person is asked before `tool` runs with `args`, when it needs
    /// approval; `None` keeps the descriptor's message.
    fn approval_prompt(&self, _tool: &ToolDescriptor, _args: Option<&Value>) -> Option<String> {
        None
    }
}

/// Reads an optional string field of a tool's argument object.
pub(crate) fn arg_str<'a>(args: Option<&'a Value>, key: &str) -> Option<&'a str> {
    args.and_then(|a| a.get(key)).and_then(Value::as_str)
}
