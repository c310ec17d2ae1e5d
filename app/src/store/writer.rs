//! The single writer task. Callers submit write operations and await their
//! outcome; the task drains whatever is queued and applies it in one
//! transaction, using one multi-row statement per kind of operation. A busy
//! server thus commits thousands of writes per transaction, which is what
//! makes SQLite ingest fast, while an idle one commits each write at once.
//!
//! Within a batch, operations are applied in phases (inserts of runs, then tool
//! calls and interactions, then their updates, then run updates), which keeps
//! the order any single caller can observe: a caller awaits each write before
//! issuing the next one for the same row.

use std::collections::HashMap;

use tokio::sync::{mpsc, oneshot};

use super::db::{Arg, Db, Dialect, Sql, Tx, WriterConn};
use super::StoreError;
use crate::model::{ExecutionStatus, InteractionStatus, ToolCallStatus};

/// Most operations taken into one transaction.
const MAX_BATCH: usize = 4_096;
/// Queue bound: past it, submitters wait (back-pressure instead of memory growth).
const QUEUE: usize = 16_384;

#[derive(Clone, Debug)]
pub struct NewExecution {
    pub id: String,
    pub scope_id: String,
    pub status: ExecutionStatus,
    pub code: String,
    pub trigger_kind: Option<String>,
    pub trigger_meta_json: Option<String>,
    pub created_at: i64,
    pub started_at: Option<i64>,
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
    /// Later writes win field by field.
    fn merge(&mut self, later: ExecutionPatch) {
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

type Reply = oneshot::Sender<Result<(), StoreError>>;

enum Msg {
    Write(WriteOp, Reply),
    Flush(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct WriterHandle {
    tx: mpsc::Sender<Msg>,
}

impl WriterHandle {
    pub async fn submit(&self, op: WriteOp) -> Result<(), StoreError> {
        let (reply, done) = oneshot::channel();
        self.tx
            .send(Msg::Write(op, reply))
            .await
            .map_err(|_| StoreError::WriterGone)?;
        done.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Resolves once everything submitted before it is written.
    pub async fn flush(&self) {
        let (reply, done) = oneshot::channel();
        if self.tx.send(Msg::Flush(reply)).await.is_ok() {
            let _ = done.await;
        }
    }
}

pub fn spawn(db: Db) -> WriterHandle {
    let (tx, rx) = mpsc::channel(QUEUE);
    tokio::spawn(run(db, rx));
    WriterHandle { tx }
}

async fn run(db: Db, mut rx: mpsc::Receiver<Msg>) {
    let mut conn: Option<WriterConn> = None;
    let mut batch: Vec<(WriteOp, Reply)> = Vec::new();
    let mut flushes: Vec<oneshot::Sender<()>> = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Write(op, reply) => batch.push((op, reply)),
                Msg::Flush(done) => flushes.push(done),
            }
            if batch.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            apply_batch(&db, &mut conn, std::mem::take(&mut batch)).await;
        }
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
    }
}

async fn apply_batch(db: &Db, conn: &mut Option<WriterConn>, batch: Vec<(WriteOp, Reply)>) {
    let ops: Vec<&WriteOp> = batch.iter().map(|(op, _)| op).collect();
    match write_all(db, conn, &ops).await {
        Ok(()) => {
            for (_, reply) in batch {
                let _ = reply.send(Ok(()));
            }
        }
        Err(err) if batch.len() == 1 => {
            if let Some((_, reply)) = batch.into_iter().next() {
                let _ = reply.send(Err(err));
            }
        }
        Err(err) => {
            // One bad operation must not fail its neighbours: retry each alone
            // so every caller gets its own answer.
            tracing::debug!(error = %err, size = batch.len(), "batch failed; retrying one by one");
            for (op, reply) in batch {
                let result = write_all(db, conn, &[&op]).await;
                let _ = reply.send(result);
            }
        }
    }
}

async fn write_all(
    db: &Db,
    conn: &mut Option<WriterConn>,
    ops: &[&WriteOp],
) -> Result<(), StoreError> {
    let mut plan = Plan::default();
    for op in ops {
        plan.add(op);
    }
    let result = async {
        if conn.is_none() {
            *conn = Some(WriterConn::acquire(db).await?);
        }
        let Some(c) = conn.as_mut() else {
            return Err(StoreError::WriterGone);
        };
        let mut tx = Tx::begin(c).await?;
        plan.execute(db, &mut tx).await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    if matches!(&result, Err(StoreError::Database(e)) if e.as_database_error().is_none()) {
        // Not an error the database reported about our data (an I/O or
        // connection failure): start the next batch on a fresh connection.
        *conn = None;
    }
    result
}

/// A batch sorted into phases, with run updates merged per run.
#[derive(Default)]
struct Plan<'a> {
    executions: Vec<&'a NewExecution>,
    tool_calls: Vec<&'a NewToolCall>,
    interactions: Vec<&'a NewInteraction>,
    finishes: HashMap<(&'a str, &'a str), &'a ToolCallFinish>,
    resolutions: HashMap<(&'a str, &'a str), &'a InteractionResolution>,
    patches: HashMap<(&'a str, &'a str), ExecutionPatch>,
    /// Keeps the first-seen order of patched runs so statements are deterministic.
    patch_order: Vec<(&'a str, &'a str)>,
}

impl<'a> Plan<'a> {
    fn add(&mut self, op: &'a WriteOp) {
        match op {
            WriteOp::CreateExecution(new) => self.executions.push(new),
            WriteOp::RecordToolCall(new) => self.tool_calls.push(new),
            WriteOp::RecordInteraction(new) => {
                self.interactions.push(new);
                self.patch(
                    &new.scope_id,
                    &new.execution_id,
                    ExecutionPatch {
                        had_elicitation: Some(true),
                        ..Default::default()
                    },
                );
            }
            WriteOp::FinishToolCall(f) => {
                self.finishes
                    .insert((f.scope_id.as_str(), f.id.as_str()), f);
            }
            WriteOp::ResolveInteraction(r) => {
                self.resolutions
                    .insert((r.scope_id.as_str(), r.id.as_str()), r);
            }
            WriteOp::UpdateExecution {
                scope_id,
                id,
                patch,
            } => self.patch(scope_id, id, patch.clone()),
        }
    }

    fn patch(&mut self, scope: &'a str, id: &'a str, patch: ExecutionPatch) {
        match self.patches.get_mut(&(scope, id)) {
            Some(existing) => existing.merge(patch),
            None => {
                self.patch_order.push((scope, id));
                self.patches.insert((scope, id), patch);
            }
        }
    }

    async fn execute(&self, db: &Db, tx: &mut Tx<'_>) -> Result<(), StoreError> {
        let now = super::now_ms();
        // SQLite's code index is fed from the rows this transaction adds: the
        // single writer makes every new rowid larger than the current maximum.
        let code_index_from = if db.dialect() == Dialect::Sqlite && !self.executions.is_empty() {
            let mut sql = db.sql();
            sql.push("SELECT coalesce(max(rowid), 0) FROM execution");
            Some(tx.fetch_i64(sql).await?)
        } else {
            None
        };
        insert_rows(
            db,
            tx,
            "INSERT INTO execution (id, scope_id, status, code, trigger_kind, trigger_meta_json, \
             tool_call_count, had_elicitation, created_at, started_at, updated_at) VALUES ",
            &self.executions,
            |e| {
                vec![
                    e.id.clone().into(),
                    e.scope_id.clone().into(),
                    e.status.as_str().into(),
                    e.code.clone().into(),
                    e.trigger_kind.clone().into(),
                    e.trigger_meta_json.clone().into(),
                    0i64.into(),
                    false.into(),
                    e.created_at.into(),
                    e.started_at.into(),
                    e.created_at.into(),
                ]
            },
        )
        .await?;
        if let Some(from) = code_index_from {
            let mut sql = db.sql();
            sql.push("INSERT INTO execution_code (rowid, code) SELECT rowid, code FROM execution WHERE rowid > ")
                .bind(from);
            tx.execute(sql).await?;
        }
        insert_rows(
            db,
            tx,
            "INSERT INTO execution_tool_call (id, execution_id, scope_id, status, tool_path, \
             namespace, args_json, started_at) VALUES ",
            &self.tool_calls,
            |t| {
                let namespace = t.tool_path.split('.').next().unwrap_or_default();
                vec![
                    t.id.clone().into(),
                    t.execution_id.clone().into(),
                    t.scope_id.clone().into(),
                    ToolCallStatus::Running.as_str().into(),
                    t.tool_path.clone().into(),
                    namespace.into(),
                    t.args_json.clone().into(),
                    t.started_at.into(),
                ]
            },
        )
        .await?;
        insert_rows(
            db,
            tx,
            "INSERT INTO execution_interaction (id, execution_id, scope_id, status, kind, purpose, \
             payload_json, created_at, updated_at) VALUES ",
            &self.interactions,
            |i| {
                vec![
                    i.id.clone().into(),
                    i.execution_id.clone().into(),
                    i.scope_id.clone().into(),
                    InteractionStatus::Pending.as_str().into(),
                    i.kind.clone().into(),
                    i.purpose.clone().into(),
                    i.payload_json.clone().into(),
                    i.created_at.into(),
                    i.created_at.into(),
                ]
            },
        )
        .await?;
        let finishes: Vec<&&ToolCallFinish> = self.finishes.values().collect();
        update_rows(
            db,
            tx,
            "v(id, scope_id, status, result_json, error_text, completed_at, duration_ms)",
            "UPDATE execution_tool_call SET status = v.status, result_json = v.result_json, \
             error_text = v.error_text, completed_at = v.completed_at, duration_ms = v.duration_ms \
             FROM v WHERE execution_tool_call.id = v.id AND execution_tool_call.scope_id = v.scope_id",
            &finishes,
            |f| {
                vec![
                    f.id.clone().into(),
                    f.scope_id.clone().into(),
                    f.status.as_str().into(),
                    f.result_json.clone().into(),
                    f.error_text.clone().into(),
                    f.completed_at.into(),
                    f.duration_ms.into(),
                ]
            },
        )
        .await?;
        let resolutions: Vec<&&InteractionResolution> = self.resolutions.values().collect();
        update_rows(
            db,
            tx,
            "v(id, scope_id, status, response_json, updated_at)",
            "UPDATE execution_interaction SET status = v.status, response_json = v.response_json, \
             updated_at = v.updated_at \
             FROM v WHERE execution_interaction.id = v.id AND execution_interaction.scope_id = v.scope_id",
            &resolutions,
            |r| {
                vec![
                    r.id.clone().into(),
                    r.scope_id.clone().into(),
                    r.status.as_str().into(),
                    r.response_json.clone().into(),
                    r.updated_at.into(),
                ]
            },
        )
        .await?;
        let patches: Vec<(&str, &str, &ExecutionPatch)> = self
            .patch_order
            .iter()
            .filter_map(|key| self.patches.get(key).map(|p| (key.0, key.1, p)))
            .collect();
        update_rows(
            db,
            tx,
            "v(scope_id, id, status, result_json, error_text, logs_json, started_at, completed_at, \
             duration_ms, tool_call_count, had_elicitation, updated_at)",
            "UPDATE execution SET \
             status = coalesce(v.status, execution.status), \
             result_json = coalesce(v.result_json, execution.result_json), \
             error_text = coalesce(v.error_text, execution.error_text), \
             logs_json = coalesce(v.logs_json, execution.logs_json), \
             started_at = coalesce(v.started_at, execution.started_at), \
             completed_at = coalesce(v.completed_at, execution.completed_at), \
             duration_ms = coalesce(v.duration_ms, execution.duration_ms), \
             tool_call_count = coalesce(v.tool_call_count, execution.tool_call_count), \
             had_elicitation = coalesce(v.had_elicitation, execution.had_elicitation), \
             updated_at = v.updated_at \
             FROM v WHERE execution.scope_id = v.scope_id AND execution.id = v.id",
            &patches,
            |(scope, id, p)| {
                vec![
                    (*scope).into(),
                    (*id).into(),
                    Arg::Text(p.status.map(|s| s.as_str().to_owned())),
                    p.result_json.clone().into(),
                    p.error_text.clone().into(),
                    p.logs_json.clone().into(),
                    p.started_at.into(),
                    p.completed_at.into(),
                    p.duration_ms.into(),
                    p.tool_call_count.into(),
                    p.had_elicitation.into(),
                    now.into(),
                ]
            },
        )
        .await?;
        if self.patches.len() == 1 && self.executions.is_empty() && self.tool_calls.is_empty() {
            // A lone update is the one case where we can tell the caller that
            // the run did not exist; batched updates of missing runs are no-ops.
            let (scope, id) = self.patch_order[0];
            let found = count_execution(tx, db, scope, id).await?;
            if !found {
                return Err(StoreError::NotFound(format!("execution {id}")));
            }
        }
        Ok(())
    }
}

async fn count_execution(
    tx: &mut Tx<'_>,
    db: &Db,
    scope: &str,
    id: &str,
) -> Result<bool, StoreError> {
    let mut sql = db.sql();
    sql.push("UPDATE execution SET updated_at = updated_at WHERE scope_id = ")
        .bind(scope)
        .push(" AND id = ")
        .bind(id);
    Ok(tx.execute(sql).await? > 0)
}

/// `INSERT … VALUES (…), (…)` in chunks that respect the parameter limit.
async fn insert_rows<T>(
    db: &Db,
    tx: &mut Tx<'_>,
    head: &str,
    rows: &[T],
    to_args: impl Fn(&T) -> Vec<Arg>,
) -> Result<(), StoreError> {
    for chunk in chunks(rows) {
        let mut sql = db.sql();
        sql.push(head);
        push_values(&mut sql, chunk, &to_args);
        tx.execute(sql).await?;
    }
    Ok(())
}

/// `WITH v(…) AS (VALUES …) UPDATE … FROM v …`: one statement updates many rows
/// on both SQLite (3.33+) and PostgreSQL.
async fn update_rows<T>(
    db: &Db,
    tx: &mut Tx<'_>,
    cte: &str,
    update: &str,
    rows: &[T],
    to_args: impl Fn(&T) -> Vec<Arg>,
) -> Result<(), StoreError> {
    for chunk in chunks(rows) {
        let mut sql = db.sql();
        sql.push("WITH ").push(cte).push(" AS (VALUES ");
        push_values(&mut sql, chunk, &to_args);
        sql.push(") ").push(update);
        tx.execute(sql).await?;
    }
    Ok(())
}

fn push_values<T>(sql: &mut Sql, rows: &[T], to_args: &impl Fn(&T) -> Vec<Arg>) {
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind_list(to_args(row));
    }
}

/// Splits rows into chunks whose sizes come from a fixed set, so each kind of
/// statement has only a handful of distinct texts. Preparing a statement that
/// fires triggers is expensive (SQLite compiles the triggers into it), and the
/// driver caches prepared statements by text: fixed shapes make every batch
/// hit that cache instead of preparing anew.
fn chunks<T>(rows: &[T]) -> impl Iterator<Item = &[T]> {
    const SIZES: [usize; 5] = [256, 64, 16, 4, 1];
    let mut rest = rows;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let size = SIZES.into_iter().find(|s| *s <= rest.len()).unwrap_or(1);
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        Some(chunk)
    })
}
