//! The columns the domain types are read from. `Execution`, `ToolCall` and
//! `Interaction` decode straight from rows (`sqlx::FromRow`, derived on the
//! model types under `ssr`); a status text that is not one of theirs (the
//! tables' CHECK constraints keep them out) would be a decode error.

pub const EXECUTION_COLUMNS: &str = "e.id, e.scope_id, e.status, e.code, e.result_json, \
    e.error_text, e.logs_json, e.started_at, e.completed_at, e.duration_ms, e.trigger_kind, \
    e.trigger_meta_json, e.session_id, e.tool_call_count, e.had_elicitation, e.created_at, \
    e.updated_at";

pub const TOOL_CALL_COLUMNS: &str = "id, execution_id, scope_id, status, tool_path, namespace, \
    args_json, result_json, error_text, started_at, completed_at, duration_ms";

pub const INTERACTION_COLUMNS: &str = "id, execution_id, scope_id, status, kind, purpose, \
    payload_json, response_json, created_at, updated_at";
