//! Row shapes as the databases return them, and their conversion into domain
//! types. Status text is parsed here so a bad value surfaces as `Corrupt`.

use sqlx::FromRow;

use super::StoreError;
use crate::model::{Execution, Interaction, ToolCall};

pub const EXECUTION_COLUMNS: &str = "e.id, e.scope_id, e.status, e.code, e.result_json, \
    e.error_text, e.logs_json, e.started_at, e.completed_at, e.duration_ms, e.trigger_kind, \
    e.trigger_meta_json, e.tool_call_count, e.had_elicitation, e.created_at, e.updated_at";

pub const TOOL_CALL_COLUMNS: &str = "id, execution_id, scope_id, status, tool_path, namespace, \
    args_json, result_json, error_text, started_at, completed_at, duration_ms";

pub const INTERACTION_COLUMNS: &str = "id, execution_id, scope_id, status, kind, purpose, \
    payload_json, response_json, created_at, updated_at";

#[derive(FromRow)]
pub struct ExecutionRow {
    id: String,
    scope_id: String,
    status: String,
    code: String,
    result_json: Option<String>,
    error_text: Option<String>,
    logs_json: Option<String>,
    started_at: Option<i64>,
    completed_at: Option<i64>,
    duration_ms: Option<i64>,
    trigger_kind: Option<String>,
    trigger_meta_json: Option<String>,
    tool_call_count: i64,
    had_elicitation: bool,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<ExecutionRow> for Execution {
    type Error = StoreError;

    fn try_from(r: ExecutionRow) -> Result<Self, StoreError> {
        Ok(Execution {
            status: r
                .status
                .parse()
                .map_err(|e| StoreError::Corrupt(format!("execution {}: status {e}", r.id)))?,
            id: r.id,
            scope_id: r.scope_id,
            code: r.code,
            result_json: r.result_json,
            error_text: r.error_text,
            logs_json: r.logs_json,
            started_at: r.started_at,
            completed_at: r.completed_at,
            duration_ms: r.duration_ms,
            trigger_kind: r.trigger_kind,
            trigger_meta_json: r.trigger_meta_json,
            tool_call_count: r.tool_call_count,
            had_elicitation: r.had_elicitation,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(FromRow)]
pub struct ToolCallRow {
    id: String,
    execution_id: String,
    scope_id: String,
    status: String,
    tool_path: String,
    namespace: String,
    args_json: Option<String>,
    result_json: Option<String>,
    error_text: Option<String>,
    started_at: i64,
    completed_at: Option<i64>,
    duration_ms: Option<i64>,
}

impl TryFrom<ToolCallRow> for ToolCall {
    type Error = StoreError;

    fn try_from(r: ToolCallRow) -> Result<Self, StoreError> {
        Ok(ToolCall {
            status: r
                .status
                .parse()
                .map_err(|e| StoreError::Corrupt(format!("tool call {}: status {e}", r.id)))?,
            id: r.id,
            execution_id: r.execution_id,
            scope_id: r.scope_id,
            tool_path: r.tool_path,
            namespace: r.namespace,
            args_json: r.args_json,
            result_json: r.result_json,
            error_text: r.error_text,
            started_at: r.started_at,
            completed_at: r.completed_at,
            duration_ms: r.duration_ms,
        })
    }
}

#[derive(FromRow)]
pub struct InteractionRow {
    id: String,
    execution_id: String,
    scope_id: String,
    status: String,
    kind: String,
    purpose: Option<String>,
    payload_json: Option<String>,
    response_json: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<InteractionRow> for Interaction {
    type Error = StoreError;

    fn try_from(r: InteractionRow) -> Result<Self, StoreError> {
        Ok(Interaction {
            status: r
                .status
                .parse()
                .map_err(|e| StoreError::Corrupt(format!("interaction {}: status {e}", r.id)))?,
            id: r.id,
            execution_id: r.execution_id,
            scope_id: r.scope_id,
            kind: r.kind,
            purpose: r.purpose,
            payload_json: r.payload_json,
            response_json: r.response_json,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

pub fn convert_all<R, T>(rows: Vec<R>) -> Result<Vec<T>, StoreError>
where
    T: TryFrom<R, Error = StoreError>,
{
    rows.into_iter().map(T::try_from).collect()
}
