//! What can be written: new rows and changes to them. Each write is one
//! [`WriteOp`]; the writer batches them (see `writer.rs`).

use crate::model::{ExecutionStatus, InteractionStatus, ToolCallStatus};

#[derive(Clone, Debug)]
pub struct NewExecution {
    pub id: String,
    pub scope_id: String,
    pub status: ExecutionStatus,
    pub code: String,
    pub trigger_kind: Option<String>,
    pub trigger_meta_json: Option<String>,
    pub session_id: Option<String>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    /// The instance running it and until when its claim holds; `None` for
    /// runs recorded finished (imports, fixtures).
    pub lease: Option<Lease>,
}

/// A run's owner and the end of its lease (epoch ms).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub owner_id: String,
    pub expires_at: i64,
}

/// Fields to set on a run; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExecutionPatch {
    pub status: Option<ExecutionStatus>,
    pub result_json: Option<String>,
    pub error_text: Option<String>,
    pub logs_json: Option<String>,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub duration_ms: Option<i64>,
    pub tool_call_count: Option<i64>,
    pub had_elicitation: Option<bool>,
}

impl ExecutionPatch {
    /// Later writes win field by field, until a terminal status: a run's
    /// end, once written, is final (nothing may contradict it).
    pub(super) fn merge(&mut self, later: ExecutionPatch) {
        if self.status.is_some_and(ExecutionStatus::is_terminal) {
            return;
        }
        macro_rules! take {
            ($($f:ident),+) => { $( if later.$f.is_some() { self.$f = later.$f; } )+ };
        }
        take!(
            status,
            result_json,
            error_text,
            logs_json,
            started_at,
            completed_at,
            duration_ms,
            tool_call_count,
            had_elicitation
        );
    }
}

#[derive(Clone, Debug)]
pub struct NewToolCall {
    pub id: String,
    pub execution_id: String,
    pub scope_id: String,
    pub tool_path: String,
    pub args_json: Option<String>,
    pub started_at: i64,
}

#[derive(Clone, Debug)]
pub struct ToolCallFinish {
    pub id: String,
    pub execution_id: String,
    pub scope_id: String,
    pub status: ToolCallStatus,
    pub result_json: Option<String>,
    pub error_text: Option<String>,
    pub completed_at: i64,
    pub duration_ms: i64,
}

#[derive(Clone, Debug)]
pub struct NewInteraction {
    pub id: String,
    pub execution_id: String,
    pub scope_id: String,
    /// `form` or `url`.
    pub kind: String,
    pub purpose: Option<String>,
    pub payload_json: Option<String>,
    pub created_at: i64,
}

#[derive(Clone, Debug)]
pub struct InteractionResolution {
    pub id: String,
    /// The run it belongs to: writes are fenced by the run's owner.
    pub execution_id: String,
    pub scope_id: String,
    pub status: InteractionStatus,
    pub response_json: Option<String>,
    pub updated_at: i64,
}

#[derive(Clone, Debug)]
pub enum WriteOp {
    CreateExecution(NewExecution),
    UpdateExecution {
        scope_id: String,
        id: String,
        patch: ExecutionPatch,
    },
    RecordToolCall(NewToolCall),
    FinishToolCall(ToolCallFinish),
    RecordInteraction(NewInteraction),
    ResolveInteraction(InteractionResolution),
}

impl WriteOp {
    /// The run this write belongs to, as (scope, run id).
    pub fn run(&self) -> (&str, &str) {
        match self {
            WriteOp::CreateExecution(e) => (&e.scope_id, &e.id),
            WriteOp::UpdateExecution { scope_id, id, .. } => (scope_id, id),
            WriteOp::RecordToolCall(c) => (&c.scope_id, &c.execution_id),
            WriteOp::FinishToolCall(f) => (&f.scope_id, &f.execution_id),
            WriteOp::RecordInteraction(i) => (&i.scope_id, &i.execution_id),
            WriteOp::ResolveInteraction(r) => (&r.scope_id, &r.execution_id),
        }
    }
}
