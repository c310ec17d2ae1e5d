//! Restart recovery: runs live in the process that executes them, so rows a
//! dead process left `pending`, `running` or `waiting_for_interaction` can
//! never finish. At start they are failed, with their open tool calls and
//! pending interactions closed, through the writer so roll-ups stay right.
//! Three reads find everything, however many runs were left.

use super::write_ops::{ExecutionPatch, InteractionResolution, ToolCallFinish, WriteOp};
use super::{Dialect, Store, StoreError};
use crate::model::{ExecutionStatus, InteractionStatus, ToolCallStatus};

impl Store {
    /// Fails every unfinished run with `message`; returns how many there were.
    /// Only for a server that is the single writer of its runs (the
    /// embedded SQLite default, where the file lock makes it so).
    pub async fn fail_unfinished(&self, message: &str, now_ms: i64) -> Result<u64, StoreError> {
        self.flush().await;
        let mut sql = self.db().sql();
        sql.push("SELECT scope_id, id, started_at FROM execution WHERE status IN ('pending', 'running', 'waiting_for_interaction')");
        let runs: Vec<(String, String, Option<i64>)> = self.db().fetch_all(sql).await?;
        // With no process alive, every open tool call and pending question is stale.
        let mut calls = self.db().sql();
        calls.push(
            "SELECT scope_id, execution_id, id, started_at FROM execution_tool_call WHERE status = 'running'",
        );
        let calls: Vec<(String, String, String, i64)> = self.db().fetch_all(calls).await?;
        let mut pending = self.db().sql();
        pending.push(
            "SELECT scope_id, execution_id, id FROM execution_interaction WHERE status = 'pending'",
        );
        let pending: Vec<(String, String, String)> = self.db().fetch_all(pending).await?;
        self.fail_runs(message, now_ms, runs, calls, pending).await
    }

    /// Fails the unfinished runs whose lease expired before `now_ms` (or
    /// that never had one): their owners are dead. A live server's runs,
    /// renewed by its heartbeat, are never touched.
    ///
    /// The runs are first taken from their owners in one statement that
    /// checks the lease as it clears it, so a lease renewed a moment ago
    /// keeps its run. A run with an owner and no lease is taken: its owner
    /// is kept (which server lost it), but its heartbeat no longer renews
    /// it and its writes are refused (`batch::fence`), should it turn out
    /// to be alive after all.
    pub async fn reap_expired(&self, message: &str, now_ms: i64) -> Result<u64, StoreError> {
        let mut sql = self.db().sql();
        sql.push("UPDATE execution SET lease_expires_at = NULL WHERE (scope_id, id) IN (SELECT scope_id, id FROM execution WHERE status IN ('pending', 'running', 'waiting_for_interaction') AND (lease_expires_at IS NULL OR lease_expires_at < ")
            .bind(now_ms)
            .push(")");
        if self.dialect() == Dialect::Postgres {
            // A run whose row a writer has locked is being written by its
            // owner right now (or by one frozen mid-transaction): the next
            // beat takes it, and the reaper never waits on anyone.
            sql.push(" FOR UPDATE SKIP LOCKED");
        }
        sql.push(") RETURNING scope_id, id, started_at");
        let runs: Vec<(String, String, Option<i64>)> = self.db().fetch_all(sql).await?;
        let mut calls = Vec::new();
        let mut pending = Vec::new();
        for chunk in runs.chunks(500) {
            let ids = chunk.iter().map(|(_, id, _)| id.as_str());
            let mut sql = self.db().sql();
            sql.push("SELECT scope_id, execution_id, id, started_at FROM execution_tool_call WHERE status = 'running' AND execution_id IN ")
                .bind_list(ids.clone());
            calls.extend(
                self.db()
                    .fetch_all::<(String, String, String, i64)>(sql)
                    .await?,
            );
            let mut sql = self.db().sql();
            sql.push("SELECT scope_id, execution_id, id FROM execution_interaction WHERE status = 'pending' AND execution_id IN ")
                .bind_list(ids);
            pending.extend(self.db().fetch_all::<(String, String, String)>(sql).await?);
        }
        self.fail_runs(message, now_ms, runs, calls, pending).await
    }

    async fn fail_runs(
        &self,
        message: &str,
        now_ms: i64,
        runs: Vec<(String, String, Option<i64>)>,
        calls: Vec<(String, String, String, i64)>,
        pending: Vec<(String, String, String)>,
    ) -> Result<u64, StoreError> {
        let mut ops = Vec::with_capacity(runs.len() + calls.len() + pending.len());
        ops.extend(
            calls
                .into_iter()
                .map(|(scope_id, execution_id, id, started)| {
                    WriteOp::FinishToolCall(ToolCallFinish {
                        id,
                        execution_id,
                        scope_id,
                        status: ToolCallStatus::Failed,
                        result_json: None,
                        error_text: Some(message.to_owned()),
                        completed_at: now_ms,
                        duration_ms: (now_ms - started).max(0),
                    })
                }),
        );
        ops.extend(pending.into_iter().map(|(scope_id, execution_id, id)| {
            WriteOp::ResolveInteraction(InteractionResolution {
                id,
                execution_id,
                scope_id,
                status: InteractionStatus::Cancelled,
                response_json: None,
                updated_at: now_ms,
            })
        }));
        let count = runs.len() as u64;
        ops.extend(
            runs.into_iter()
                .map(|(scope_id, id, started_at)| WriteOp::UpdateExecution {
                    scope_id,
                    id,
                    patch: ExecutionPatch {
                        status: Some(ExecutionStatus::Failed),
                        error_text: Some(message.to_owned()),
                        completed_at: Some(now_ms),
                        duration_ms: Some((now_ms - started_at.unwrap_or(now_ms)).max(0)),
                        ..ExecutionPatch::default()
                    },
                }),
        );
        // In slices, so a large backlog is many moderate transactions.
        let mut queued = Vec::new();
        for chunk in ops.chunks(4_096) {
            queued.push(self.enqueue_all(chunk.to_vec()).await?);
        }
        for write in queued {
            write.committed().await?;
        }
        Ok(count)
    }
}
