//! Applying one batch of writes in one transaction.
//!
//! Writes to rows created in the same batch are folded into their inserts
//! (a run created, updated and finished within one batch is one INSERT), so
//! under load most runs cost a handful of inserts and no updates. What is
//! left is written in phases: inserts of runs, then of tool calls and
//! interactions, then updates of rows from earlier batches. Each phase is a
//! few multi-row statements of fixed shapes.
//!
//! The per-run distinct tool paths and their hourly roll-up are maintained
//! here rather than by triggers: counted once per batch, a busy hour costs one
//! upsert per tool path instead of one per call.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sqlx::FromRow;

use super::code_search;
use super::db::{Arg, Db, Sql, Tx, WriterConn};
use super::rollup::{Field, Source, ROLLUPS};
use super::write_ops::{
    ExecutionPatch, InteractionResolution, NewExecution, NewInteraction, NewToolCall,
    ToolCallFinish, WriteOp,
};
use super::StoreError;
use crate::model::{ExecutionStatus, InteractionStatus, ToolCallStatus};

pub async fn write_all(
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
        // Not something the database said about our data (an I/O or
        // connection failure): start the next batch on a fresh connection.
        *conn = None;
    }
    result
}

type Key<'a> = (&'a str, &'a str);

/// A batch sorted into phases, with writes to rows born in the batch folded in.
#[derive(Default)]
struct Plan<'a> {
    executions: Vec<(&'a NewExecution, ExecutionPatch)>,
    execution_at: HashMap<Key<'a>, usize>,
    tool_calls: Vec<(&'a NewToolCall, Option<&'a ToolCallFinish>)>,
    tool_call_at: HashMap<(&'a str, &'a str, &'a str), usize>,
    interactions: Vec<(&'a NewInteraction, Option<&'a InteractionResolution>)>,
    interaction_at: HashMap<Key<'a>, usize>,
    /// Changes to rows written by earlier batches; the last write wins.
    finishes: BTreeMap<(&'a str, &'a str, &'a str), &'a ToolCallFinish>,
    resolutions: BTreeMap<Key<'a>, &'a InteractionResolution>,
    patches: BTreeMap<Key<'a>, ExecutionPatch>,
}

impl<'a> Plan<'a> {
    fn add(&mut self, op: &'a WriteOp) {
        match op {
            WriteOp::CreateExecution(new) => {
                self.execution_at
                    .insert((&new.scope_id, &new.id), self.executions.len());
                self.executions.push((new, ExecutionPatch::default()));
            }
            WriteOp::UpdateExecution {
                scope_id,
                id,
                patch,
            } => self.patch((scope_id, id), patch.clone()),
            WriteOp::RecordToolCall(new) => {
                self.tool_call_at.insert(
                    (&new.scope_id, &new.execution_id, &new.id),
                    self.tool_calls.len(),
                );
                self.tool_calls.push((new, None));
            }
            WriteOp::FinishToolCall(finish) => {
                let key = (
                    finish.scope_id.as_str(),
                    finish.execution_id.as_str(),
                    finish.id.as_str(),
                );
                match self.tool_call_at.get(&key) {
                    Some(&i) => self.tool_calls[i].1 = Some(finish),
                    None => {
                        self.finishes.insert(key, finish);
                    }
                }
            }
            WriteOp::RecordInteraction(new) => {
                self.interaction_at
                    .insert((&new.scope_id, &new.id), self.interactions.len());
                self.interactions.push((new, None));
                self.patch(
                    (&new.scope_id, &new.execution_id),
                    ExecutionPatch {
                        had_elicitation: Some(true),
                        ..Default::default()
                    },
                );
            }
            WriteOp::ResolveInteraction(resolution) => {
                let key = (resolution.scope_id.as_str(), resolution.id.as_str());
                match self.interaction_at.get(&key) {
                    Some(&i) => self.interactions[i].1 = Some(resolution),
                    None => {
                        self.resolutions.insert(key, resolution);
                    }
                }
            }
        }
    }

    fn patch(&mut self, key: Key<'a>, patch: ExecutionPatch) {
        if let Some(&i) = self.execution_at.get(&key) {
            self.executions[i].1.merge(patch);
        } else {
            self.patches.entry(key).or_default().merge(patch);
        }
    }

    async fn execute(&self, db: &Db, tx: &mut Tx<'_>) -> Result<(), StoreError> {
        let now = super::now_ms();
        let code_index = code_search::mark(db, tx, !self.executions.is_empty()).await?;
        insert_rows(
            db,
            tx,
            "INSERT INTO execution (id, scope_id, status, code, result_json, error_text, logs_json, \
             trigger_kind, trigger_meta_json, tool_call_count, had_elicitation, created_at, \
             started_at, completed_at, duration_ms, updated_at) VALUES ",
            &self.executions,
            |(e, p)| {
                let updated_at = if *p == ExecutionPatch::default() { e.created_at } else { now };
                vec![
                    e.id.clone().into(),
                    e.scope_id.clone().into(),
                    p.status.unwrap_or(e.status).as_str().into(),
                    e.code.clone().into(),
                    p.result_json.clone().into(),
                    p.error_text.clone().into(),
                    p.logs_json.clone().into(),
                    e.trigger_kind.clone().into(),
                    e.trigger_meta_json.clone().into(),
                    p.tool_call_count.unwrap_or(0).into(),
                    p.had_elicitation.unwrap_or(false).into(),
                    e.created_at.into(),
                    p.started_at.or(e.started_at).into(),
                    p.completed_at.into(),
                    p.duration_ms.into(),
                    updated_at.into(),
                ]
            },
        )
        .await?;
        let mut deltas = RollupDeltas::default();
        for (e, p) in &self.executions {
            *deltas.totals.entry(e.scope_id.clone()).or_default() += 1;
            deltas.add_run(
                &e.scope_id,
                e.created_at,
                p.status.unwrap_or(e.status).as_str(),
                e.trigger_kind.as_deref(),
                p.had_elicitation.unwrap_or(false),
                1,
            );
        }
        code_search::index_new_runs(db, tx, code_index, &self.executions).await?;
        insert_rows(
            db,
            tx,
            "INSERT INTO execution_tool_call (id, execution_id, scope_id, status, tool_path, \
             namespace, args_json, result_json, error_text, started_at, completed_at, duration_ms) VALUES ",
            &self.tool_calls,
            |(t, finish)| {
                let namespace = t.tool_path.split('.').next().unwrap_or_default();
                vec![
                    t.id.clone().into(),
                    t.execution_id.clone().into(),
                    t.scope_id.clone().into(),
                    finish.map_or(ToolCallStatus::Running, |f| f.status).as_str().into(),
                    t.tool_path.clone().into(),
                    namespace.into(),
                    t.args_json.clone().into(),
                    finish.and_then(|f| f.result_json.clone()).into(),
                    finish.and_then(|f| f.error_text.clone()).into(),
                    t.started_at.into(),
                    finish.map(|f| f.completed_at).into(),
                    finish.map(|f| f.duration_ms).into(),
                ]
            },
        )
        .await?;
        self.record_tool_paths(db, tx, &mut deltas).await?;
        insert_rows(
            db,
            tx,
            "INSERT INTO execution_interaction (id, execution_id, scope_id, status, kind, purpose, \
             payload_json, response_json, created_at, updated_at) VALUES ",
            &self.interactions,
            |(i, resolution)| {
                vec![
                    i.id.clone().into(),
                    i.execution_id.clone().into(),
                    i.scope_id.clone().into(),
                    resolution.map_or(InteractionStatus::Pending, |r| r.status).as_str().into(),
                    i.kind.clone().into(),
                    i.purpose.clone().into(),
                    i.payload_json.clone().into(),
                    resolution.and_then(|r| r.response_json.clone()).into(),
                    i.created_at.into(),
                    resolution.map_or(i.created_at, |r| r.updated_at).into(),
                ]
            },
        )
        .await?;
        let finishes: Vec<&ToolCallFinish> = self.finishes.values().copied().collect();
        update_rows(
            db,
            tx,
            "v(id, execution_id, scope_id, status, result_json, error_text, completed_at, duration_ms)",
            "UPDATE execution_tool_call SET status = v.status, result_json = v.result_json, \
             error_text = v.error_text, completed_at = v.completed_at, duration_ms = v.duration_ms \
             FROM v WHERE execution_tool_call.scope_id = v.scope_id \
             AND execution_tool_call.execution_id = v.execution_id AND execution_tool_call.id = v.id \
             AND execution_tool_call.status = 'running'",
            &finishes,
            |f| {
                vec![
                    f.id.clone().into(),
                    f.execution_id.clone().into(),
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
        let resolutions: Vec<&InteractionResolution> = self.resolutions.values().copied().collect();
        update_rows(
            db,
            tx,
            "v(id, scope_id, status, response_json, updated_at)",
            "UPDATE execution_interaction SET status = v.status, response_json = v.response_json, \
             updated_at = v.updated_at \
             FROM v WHERE execution_interaction.id = v.id AND execution_interaction.scope_id = v.scope_id \
             AND execution_interaction.status = 'pending'",
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
        let patches: Vec<(&Key<'a>, &ExecutionPatch)> = self.patches.iter().collect();
        let moved_statuses = self.move_patched_runs(db, tx, &mut deltas).await?;
        let update_unfinished = format!(
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
             FROM v WHERE execution.scope_id = v.scope_id AND execution.id = v.id \
             AND execution.status NOT IN {}",
            terminal_statuses()
        );
        update_rows(
            db,
            tx,
            "v(scope_id, id, status, result_json, error_text, logs_json, started_at, completed_at, \
             duration_ms, tool_call_count, had_elicitation, updated_at)",
            &update_unfinished,
            &patches,
            |((scope, id), p)| {
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
        update_rows(
            db,
            tx,
            "v(scope_id, execution_id, status)",
            "UPDATE execution_tool_path SET status = v.status FROM v \
             WHERE execution_tool_path.scope_id = v.scope_id \
             AND execution_tool_path.execution_id = v.execution_id",
            &moved_statuses,
            |(scope, id, status)| {
                vec![
                    scope.clone().into(),
                    id.clone().into(),
                    status.clone().into(),
                ]
            },
        )
        .await?;
        deltas.apply(db, tx).await?;
        if let [((scope, id), _)] = patches.as_slice() {
            if self.executions.is_empty()
                && self.tool_calls.is_empty()
                && self.interactions.is_empty()
            {
                // A lone update is the one case where we can tell the caller
                // the run does not exist; in a batch such an update is a no-op.
                let mut sql = db.sql();
                sql.push("SELECT count(*) FROM execution WHERE scope_id = ")
                    .bind(*scope)
                    .push(" AND id = ")
                    .bind(*id);
                if tx.fetch_one::<(i64,)>(sql).await?.0 == 0 {
                    return Err(StoreError::NotFound(format!("execution {id}")));
                }
            }
        }
        Ok(())
    }

    /// Moves the roll-up counts of runs from earlier batches whose status or
    /// elicitation this batch changes, reading their state before the
    /// update. Returns the runs whose status changes, so their per-run tool
    /// path rows can follow.
    async fn move_patched_runs(
        &self,
        db: &Db,
        tx: &mut Tx<'_>,
        deltas: &mut RollupDeltas,
    ) -> Result<Vec<(String, String, String)>, StoreError> {
        let keyed: Vec<&Key<'a>> = self
            .patches
            .iter()
            .filter(|(_, p)| p.status.is_some() || p.had_elicitation.is_some())
            .map(|(k, _)| k)
            .collect();
        let mut before: Vec<RunState> = Vec::new();
        for chunk in chunks(&keyed) {
            let mut sql = db.sql();
            sql.push("WITH v(scope_id, id) AS (VALUES ");
            push_values(&mut sql, chunk, &|(s, i): &&Key<'a>| {
                vec![(*s).into(), (*i).into()]
            });
            sql.push(
                ") SELECT e.scope_id, e.id, e.status, e.trigger_kind, e.had_elicitation, e.created_at \
                 FROM v JOIN execution e ON e.scope_id = v.scope_id AND e.id = v.id",
            );
            before.extend(tx.fetch_all::<RunState>(sql).await?);
        }
        let mut moved: Vec<(String, String, String)> = Vec::new();
        let mut created: HashMap<(String, String), (i64, String)> = HashMap::new();
        for old in before {
            let Some(patch) = self.patches.get(&(old.scope_id.as_str(), old.id.as_str())) else {
                continue;
            };
            // The update leaves a finished run as it is (see `terminal_statuses`).
            if old
                .status
                .parse::<ExecutionStatus>()
                .is_ok_and(ExecutionStatus::is_terminal)
            {
                continue;
            }
            let status = patch.status.map_or(old.status.as_str(), |s| s.as_str());
            let elicited = patch.had_elicitation.unwrap_or(old.had_elicitation);
            if status == old.status && elicited == old.had_elicitation {
                continue;
            }
            let trigger = old.trigger_kind.as_deref();
            deltas.add_run(
                &old.scope_id,
                old.created_at,
                &old.status,
                trigger,
                old.had_elicitation,
                -1,
            );
            deltas.add_run(&old.scope_id, old.created_at, status, trigger, elicited, 1);
            if status != old.status {
                moved.push((old.scope_id.clone(), old.id.clone(), status.to_owned()));
                created.insert((old.scope_id, old.id), (old.created_at, status.to_owned()));
            }
        }
        for chunk in chunks(&moved) {
            let mut sql = db.sql();
            sql.push("WITH v(scope_id, execution_id) AS (VALUES ");
            push_values(&mut sql, chunk, &|(s, e, _): &(String, String, String)| {
                vec![s.clone().into(), e.clone().into()]
            });
            sql.push(
                ") SELECT tp.scope_id, tp.execution_id, tp.tool_path, tp.created_at, tp.status \
                 FROM v JOIN execution_tool_path tp \
                 ON tp.scope_id = v.scope_id AND tp.execution_id = v.execution_id",
            );
            for tp in tx.fetch_all::<ToolPathState>(sql).await? {
                let Some((_, status)) =
                    created.get(&(tp.scope_id.clone(), tp.execution_id.clone()))
                else {
                    continue;
                };
                deltas.add_tool(&tp.scope_id, tp.created_at, &tp.tool_path, &tp.status, -1);
                deltas.add_tool(&tp.scope_id, tp.created_at, &tp.tool_path, status, 1);
            }
        }
        Ok(moved)
    }

    /// Adds the batch's new (run, tool path) pairs and counts each new pair
    /// once in the hourly tool roll-up and the scope's tool catalog.
    async fn record_tool_paths(
        &self,
        db: &Db,
        tx: &mut Tx<'_>,
        deltas: &mut RollupDeltas,
    ) -> Result<(), StoreError> {
        let pairs: BTreeSet<(&str, &str, &str)> = self
            .tool_calls
            .iter()
            .map(|(t, _)| {
                (
                    t.scope_id.as_str(),
                    t.execution_id.as_str(),
                    t.tool_path.as_str(),
                )
            })
            .collect();
        if pairs.is_empty() {
            return Ok(());
        }
        // Runs created in this batch: their created_at and status are known
        // here. Runs from earlier batches: read them by joining.
        let (known, earlier): (Vec<_>, Vec<_>) = pairs
            .into_iter()
            .partition(|(s, e, _)| self.execution_at.contains_key(&(*s, *e)));
        // A new run's pairs are all new: insert them without asking back.
        let mut added: Vec<NewToolPath> = known
            .into_iter()
            .filter_map(|(s, e, path)| {
                let (run, patch) = &self.executions[*self.execution_at.get(&(s, e))?];
                Some(NewToolPath {
                    scope_id: s.to_owned(),
                    execution_id: e.to_owned(),
                    tool_path: path.to_owned(),
                    created_at: run.created_at,
                    status: patch.status.unwrap_or(run.status).as_str().to_owned(),
                })
            })
            .collect();
        insert_rows(
            db,
            tx,
            "INSERT INTO execution_tool_path (scope_id, execution_id, tool_path, created_at, status) VALUES ",
            &added,
            |p| {
                vec![
                    p.scope_id.clone().into(),
                    p.execution_id.clone().into(),
                    p.tool_path.clone().into(),
                    p.created_at.into(),
                    p.status.clone().into(),
                ]
            },
        )
        .await?;
        for chunk in chunks(&earlier) {
            let mut sql = db.sql();
            sql.push("WITH v(scope_id, execution_id, tool_path) AS (VALUES ");
            push_values(&mut sql, chunk, &|(s, e, p): &(&str, &str, &str)| {
                vec![(*s).into(), (*e).into(), (*p).into()]
            });
            sql.push(
                ") INSERT INTO execution_tool_path (scope_id, execution_id, tool_path, created_at, status) \
                 SELECT v.scope_id, v.execution_id, v.tool_path, e.created_at, e.status FROM v \
                 JOIN execution e ON e.scope_id = v.scope_id AND e.id = v.execution_id \
                 WHERE true ON CONFLICT DO NOTHING \
                 RETURNING scope_id, execution_id, tool_path, created_at, status",
            );
            added.extend(tx.fetch_all::<NewToolPath>(sql).await?);
        }
        for row in &added {
            deltas.add_tool(
                &row.scope_id,
                row.created_at,
                &row.tool_path,
                &row.status,
                1,
            );
        }
        let catalog: BTreeSet<(&str, &str)> = added
            .iter()
            .map(|r| (r.scope_id.as_str(), r.tool_path.as_str()))
            .collect();
        let catalog: Vec<_> = catalog.into_iter().collect();
        for chunk in chunks(&catalog) {
            let mut sql = db.sql();
            sql.push("INSERT INTO tool_path_catalog (scope_id, tool_path) VALUES ");
            push_values(&mut sql, chunk, &|(s, p): &(&str, &str)| {
                vec![(*s).into(), (*p).into()]
            });
            sql.push(" ON CONFLICT DO NOTHING");
            tx.execute(sql).await?;
        }
        Ok(())
    }
}

#[derive(FromRow)]
struct RunState {
    scope_id: String,
    id: String,
    status: String,
    trigger_kind: Option<String>,
    had_elicitation: bool,
    created_at: i64,
}

#[derive(FromRow)]
struct ToolPathState {
    scope_id: String,
    execution_id: String,
    tool_path: String,
    created_at: i64,
    status: String,
}

/// One key value of a roll-up row.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum KeyValue {
    Text(String),
    Bool(bool),
}

impl From<&KeyValue> for Arg {
    fn from(v: &KeyValue) -> Self {
        match v {
            KeyValue::Text(t) => t.clone().into(),
            KeyValue::Bool(b) => (*b).into(),
        }
    }
}

/// A roll-up row: which roll-up (index into [`ROLLUPS`]), scope, slot, keys.
type RollupKey = (usize, String, i64, Vec<KeyValue>);

/// What a counted row says, for the roll-ups' keys.
struct Counted<'a> {
    status: &'a str,
    trigger: Option<&'a str>,
    elicited: bool,
    tool_path: &'a str,
}

impl Counted<'_> {
    fn value(&self, field: Field) -> KeyValue {
        match field {
            Field::Status => KeyValue::Text(self.status.to_owned()),
            Field::Trigger => KeyValue::Text(self.trigger.unwrap_or("").to_owned()),
            Field::Elicitation => KeyValue::Bool(self.elicited),
            Field::ToolPath => KeyValue::Text(self.tool_path.to_owned()),
        }
    }
}

/// Changes to the roll-up tables gathered over a batch and written once per
/// row: PostgreSQL leaves a row version behind at every update, so counting
/// run by run would update a busy hour's rows thousands of times.
#[derive(Default)]
struct RollupDeltas {
    counts: BTreeMap<RollupKey, i64>,
    /// New runs per scope.
    totals: BTreeMap<String, i64>,
}

impl RollupDeltas {
    fn add(&mut self, source: Source, scope: &str, created_at: i64, row: &Counted, delta: i64) {
        for (i, rollup) in ROLLUPS.iter().enumerate() {
            if rollup.source != source {
                continue;
            }
            let keys = rollup.keys.iter().map(|f| row.value(*f)).collect();
            let key = (i, scope.to_owned(), rollup.slot_start(created_at), keys);
            *self.counts.entry(key).or_default() += delta;
        }
    }

    fn add_run(
        &mut self,
        scope: &str,
        created_at: i64,
        status: &str,
        trigger: Option<&str>,
        elicited: bool,
        delta: i64,
    ) {
        let row = Counted {
            status,
            trigger,
            elicited,
            tool_path: "",
        };
        self.add(Source::Runs, scope, created_at, &row, delta);
    }

    fn add_tool(&mut self, scope: &str, created_at: i64, path: &str, status: &str, delta: i64) {
        let row = Counted {
            status,
            trigger: None,
            elicited: false,
            tool_path: path,
        };
        self.add(Source::ToolPaths, scope, created_at, &row, delta);
    }

    async fn apply(self, db: &Db, tx: &mut Tx<'_>) -> Result<(), StoreError> {
        add_counts(
            db,
            tx,
            "execution_scope_total",
            "scope_id",
            &self.totals,
            |s| vec![s.clone().into()],
        )
        .await?;
        // A status change moves a run between statuses, not in or out of
        // the status-free totals: its deltas cancel and nothing is written.
        for (i, rollup) in ROLLUPS.iter().enumerate() {
            let rows = self.counts.iter().filter(|(k, _)| k.0 == i);
            add_counts(
                db,
                tx,
                rollup.table,
                &rollup.key_columns(),
                rows,
                |(_, scope, slot, keys)| {
                    let mut args: Vec<Arg> = vec![scope.clone().into(), (*slot).into()];
                    args.extend(keys.iter().map(Arg::from));
                    args
                },
            )
            .await?;
        }
        Ok(())
    }
}

/// `('completed', 'failed', 'cancelled')`: a run in one of these statuses is
/// never written again, so no later or concurrent write (recovery by another
/// process, a late tool call) can leave a row that contradicts its end.
fn terminal_statuses() -> String {
    let quoted: Vec<String> = ExecutionStatus::ALL
        .into_iter()
        .filter(|s| s.is_terminal())
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    format!("({})", quoted.join(", "))
}

/// Adds the non-zero counts to a roll-up table keyed by `key_columns`
/// (whose count column is `runs`), as multi-row upserts of fixed sizes.
async fn add_counts<'a, K: 'a>(
    db: &Db,
    tx: &mut Tx<'_>,
    table: &str,
    key_columns: &str,
    counts: impl IntoIterator<Item = (&'a K, &'a i64)>,
    key_args: impl Fn(&K) -> Vec<Arg>,
) -> Result<(), StoreError> {
    let rows: Vec<(&K, i64)> = counts
        .into_iter()
        .filter(|(_, n)| **n != 0)
        .map(|(k, n)| (k, *n))
        .collect();
    for chunk in chunks(&rows) {
        let mut sql = db.sql();
        sql.push("INSERT INTO ")
            .push(table)
            .push(" (")
            .push(key_columns)
            .push(", runs) VALUES ");
        push_values(&mut sql, chunk, &|(k, n): &(&K, i64)| {
            let mut args = key_args(k);
            args.push((*n).into());
            args
        });
        sql.push(" ON CONFLICT (")
            .push(key_columns)
            .push(") DO UPDATE SET runs = ")
            .push(table)
            .push(".runs + excluded.runs");
        tx.execute(sql).await?;
    }
    Ok(())
}

#[derive(FromRow)]
struct NewToolPath {
    scope_id: String,
    execution_id: String,
    tool_path: String,
    created_at: i64,
    status: String,
}

/// `INSERT … VALUES (…), (…)` in chunks of fixed sizes.
pub(super) async fn insert_rows<T>(
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
/// hit that cache instead of preparing anew. 256 rows of the widest statement
/// (16 columns) stay far below both databases' parameter limits.
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

#[cfg(test)]
mod tests {
    use super::chunks;

    #[test]
    fn chunks_cover_every_row_once_in_fixed_sizes() {
        let rows: Vec<u32> = (0..345).collect();
        let sizes: Vec<usize> = chunks(&rows).map(<[u32]>::len).collect();
        assert_eq!(sizes, vec![256, 64, 16, 4, 4, 1]);
        let flat: Vec<u32> = chunks(&rows).flatten().copied().collect();
        assert_eq!(flat, rows);
    }
}
