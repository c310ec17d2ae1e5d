//! Restart recovery: runs live in the process that executes them, so rows a
//! dead process left `pending`, `running` or `waiting_for_interaction` can
//! never finish. At start they are failed, with their open tool calls and
//! pending interactions closed, through the writer so roll-ups stay right.

use super::write_ops::{ExecutionPatch, InteractionResolution, ToolCallFinish, WriteOp};
use super::{Store, StoreError};
use crate::model::{ExecutionStatus, InteractionStatus, ToolCallStatus};

impl Store {
    /// Fails every unfinished run with `message`; returns how many there were.
    /// Only for a server that is the single writer of its runs (the
    /// embedded SQLite default, or one server per PostgreSQL database).
    pub async fn fail_unfinished(&self, message: &str, now_ms: i64) -> Result<u64, StoreError> {
        let mut sql = self.db().sql();
        sql.push("SELECT scope_id, id, started_at FROM execution WHERE status IN ('pending', 'running', 'waiting_for_interaction')");
        let runs: Vec<(String, String, Option<i64>)> = self.db().fetch_all(sql).await?;
        let mut last = None;
        for (scope, id, started_at) in &runs {
            let mut calls = self.db().sql();
            calls
                .push("SELECT id, started_at FROM execution_tool_call WHERE scope_id = ")
                .bind(scope.as_str())
                .push(" AND execution_id = ")
                .bind(id.as_str())
                .push(" AND status = 'running'");
            let calls: Vec<(String, i64)> = self.db().fetch_all(calls).await?;
            for (call_id, call_started) in calls {
                let _queued = self
                    .enqueue(WriteOp::FinishToolCall(ToolCallFinish {
                        id: call_id,
                        execution_id: id.clone(),
                        scope_id: scope.clone(),
                        status: ToolCallStatus::Failed,
                        result_json: None,
                        error_text: Some(message.to_owned()),
                        completed_at: now_ms,
                        duration_ms: (now_ms - call_started).max(0),
                    }))
                    .await?;
            }
            let mut pending = self.db().sql();
            pending
                .push("SELECT id FROM execution_interaction WHERE scope_id = ")
                .bind(scope.as_str())
                .push(" AND execution_id = ")
                .bind(id.as_str())
                .push(" AND status = 'pending'");
            let pending: Vec<(String,)> = self.db().fetch_all(pending).await?;
            for (interaction_id,) in pending {
                let _queued = self
                    .enqueue(WriteOp::ResolveInteraction(InteractionResolution {
                        id: interaction_id,
                        scope_id: scope.clone(),
                        status: InteractionStatus::Cancelled,
                        response_json: None,
                        updated_at: now_ms,
                    }))
                    .await?;
            }
            let started = started_at.unwrap_or(now_ms);
            last = Some(
                self.enqueue(WriteOp::UpdateExecution {
                    scope_id: scope.clone(),
                    id: id.clone(),
                    patch: ExecutionPatch {
                        status: Some(ExecutionStatus::Failed),
                        error_text: Some(message.to_owned()),
                        completed_at: Some(now_ms),
                        duration_ms: Some((now_ms - started).max(0)),
                        ..ExecutionPatch::default()
                    },
                })
                .await?,
            );
        }
        if let Some(last) = last {
            last.committed().await?;
        }
        Ok(runs.len() as u64)
    }
}
