//! Executing a [`Plan`]: inserts of runs, then of tool calls and
//! interactions, then updates of rows from earlier batches, each phase a
//! few multi-row statements of fixed shapes; the roll-up deltas they imply
//! are gathered on the way and written once at the end.

use std::collections::{BTreeSet, HashMap};

use sqlx::FromRow;

use super::deltas::{RollupDeltas, RunKeys, RunPair};
use super::plan::{Key, Plan};
use super::statements::{execute_chunks, fetch_chunks, insert_rows, push_values, update_rows};
use crate::model::{ExecutionStatus, InteractionStatus, ToolCallStatus};
use crate::store::db::{Arg, Db, Tx};
use crate::store::rollup::Pairs;
use crate::store::text_search;
use crate::store::write_ops::{ExecutionPatch, InteractionResolution, ToolCallFinish};
use crate::store::StoreError;

impl<'a> Plan<'a> {
    pub(super) async fn execute(&self, db: &Db, tx: &mut Tx<'_>) -> Result<(), StoreError> {
        let now = crate::store::now_ms();
        let code_index = text_search::mark(db, tx, !self.executions.is_empty()).await?;
        insert_rows(
            db,
            tx,
            "INSERT INTO execution (id, scope_id, status, code, result_json, error_text, logs_json, \
             trigger_kind, trigger_meta_json, session_id, tool_call_count, had_elicitation, \
             created_at, started_at, completed_at, duration_ms, updated_at, owner_id, \
             lease_expires_at) VALUES ",
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
                    e.session_id.clone().into(),
                    p.tool_call_count.unwrap_or(0).into(),
                    p.had_elicitation.unwrap_or(false).into(),
                    e.created_at.into(),
                    p.started_at.or(e.started_at).into(),
                    p.completed_at.into(),
                    p.duration_ms.into(),
                    updated_at.into(),
                    e.lease.as_ref().map(|l| l.owner_id.clone()).into(),
                    e.lease.as_ref().map(|l| l.expires_at).into(),
                ]
            },
        )
        .await?;
        let mut deltas = RollupDeltas::default();
        for (e, p) in &self.executions {
            *deltas.totals.entry(e.scope_id.clone()).or_default() += 1;
            let run = RunKeys {
                status: p.status.unwrap_or(e.status).as_str(),
                trigger: e.trigger_kind.as_deref(),
                elicited: p.had_elicitation.unwrap_or(false),
                duration_ms: p.duration_ms,
            };
            deltas.add_run(&e.scope_id, e.created_at, run, 1);
        }
        text_search::index_new_runs(db, tx, code_index, &self.executions).await?;
        insert_rows(
            db,
            tx,
            "INSERT INTO execution_tool_call (id, execution_id, scope_id, status, tool_path, \
             namespace, args_json, result_json, error_text, started_at, completed_at, duration_ms) VALUES ",
            &self.tool_calls,
            |(t, finish)| {
                let namespace = crate::model::namespace_of(&t.tool_path);
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
        let moved_runs = self.move_patched_runs(db, tx, &mut deltas).await?;
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
        for pairs in Pairs::ALL {
            let table = pairs.table();
            update_rows(
                db,
                tx,
                "v(scope_id, execution_id, status, had_elicitation)",
                &format!(
                    "UPDATE {table} SET status = v.status, had_elicitation = v.had_elicitation \
                     FROM v WHERE {table}.scope_id = v.scope_id \
                     AND {table}.execution_id = v.execution_id"
                ),
                &moved_runs,
                |(scope, id, status, elicited)| {
                    vec![
                        scope.clone().into(),
                        id.clone().into(),
                        status.clone().into(),
                        (*elicited).into(),
                    ]
                },
            )
            .await?;
        }
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
    /// update. Returns the runs whose status or elicitation changes, so
    /// their per-run tool path rows can follow.
    async fn move_patched_runs(
        &self,
        db: &Db,
        tx: &mut Tx<'_>,
        deltas: &mut RollupDeltas,
    ) -> Result<Vec<(String, String, String, bool)>, StoreError> {
        let keyed: Vec<&Key<'a>> = self
            .patches
            .iter()
            .filter(|(_, p)| {
                p.status.is_some() || p.had_elicitation.is_some() || p.duration_ms.is_some()
            })
            .map(|(k, _)| k)
            .collect();
        let before: Vec<RunState> = fetch_chunks(tx, &keyed, |chunk| {
            let mut sql = db.sql();
            sql.push("WITH v(scope_id, id) AS (VALUES ");
            push_values(&mut sql, chunk, &|(s, i): &&Key<'a>| {
                vec![(*s).into(), (*i).into()]
            });
            sql.push(
                ") SELECT e.scope_id, e.id, e.status, e.trigger_kind, e.had_elicitation, e.created_at, \
                 e.duration_ms \
                 FROM v JOIN execution e ON e.scope_id = v.scope_id AND e.id = v.id",
            );
            sql
        })
        .await?;
        // Runs whose status or elicitation changes, with both: their tool
        // path rows follow them, in the table and in the roll-ups.
        let mut moved: HashMap<RunKey, (String, bool)> = HashMap::new();
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
            let duration = patch.duration_ms.or(old.duration_ms);
            let class_moves = status != old.status || elicited != old.had_elicitation;
            if !class_moves && duration == old.duration_ms {
                continue;
            }
            let trigger = old.trigger_kind.as_deref();
            let before = RunKeys {
                status: &old.status,
                trigger,
                elicited: old.had_elicitation,
                duration_ms: old.duration_ms,
            };
            let after = RunKeys {
                status,
                trigger,
                elicited,
                duration_ms: duration,
            };
            deltas.add_run(&old.scope_id, old.created_at, before, -1);
            deltas.add_run(&old.scope_id, old.created_at, after, 1);
            // The pair tables do not hold durations.
            if class_moves {
                moved.insert((old.scope_id, old.id), (status.to_owned(), elicited));
            }
        }
        let runs: Vec<&RunKey> = moved.keys().collect();
        for pairs in Pairs::ALL {
            let paired: Vec<RunPair> = fetch_chunks(tx, &runs, |chunk| {
                let mut sql = db.sql();
                sql.push("WITH v(scope_id, execution_id) AS (VALUES ");
                push_values(&mut sql, chunk, &|(s, e): &&RunKey| {
                    vec![s.clone().into(), e.clone().into()]
                });
                sql.push(") SELECT ")
                    .push(&pairs.columns("p.", AS_NAME))
                    .push(" FROM v JOIN ")
                    .push(pairs.table())
                    .push(" p ON p.scope_id = v.scope_id AND p.execution_id = v.execution_id");
                sql
            })
            .await?;
            for pair in paired {
                let Some((status, elicited)) =
                    moved.get(&(pair.scope_id.clone(), pair.execution_id.clone()))
                else {
                    continue;
                };
                deltas.add_pair(pairs, &pair, -1);
                let now = RunPair {
                    status: status.clone(),
                    had_elicitation: *elicited,
                    ..pair
                };
                deltas.add_pair(pairs, &now, 1);
            }
        }
        Ok(moved
            .into_iter()
            .map(|((scope, id), (status, elicited))| (scope, id, status, elicited))
            .collect())
    }

    /// Adds the batch's new (run, tool path) and (run, namespace) pairs,
    /// counts each new pair once in its roll-ups, and adds new paths to the
    /// scope's tool catalog.
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
        let mut added: Vec<RunPair> = known
            .into_iter()
            .filter_map(|(s, e, path)| {
                let (run, patch) = &self.executions[*self.execution_at.get(&(s, e))?];
                Some(RunPair {
                    scope_id: s.to_owned(),
                    execution_id: e.to_owned(),
                    name: path.to_owned(),
                    created_at: run.created_at,
                    status: patch.status.unwrap_or(run.status).as_str().to_owned(),
                    trigger_kind: run.trigger_kind.clone(),
                    had_elicitation: patch.had_elicitation.unwrap_or(false),
                })
            })
            .collect();
        let known_count = added.len();
        let paths = Pairs::ToolPaths;
        insert_pairs(db, tx, paths, &added).await?;
        let earlier_added: Vec<RunPair> = fetch_chunks(tx, &earlier, |chunk| {
            let mut sql = db.sql();
            sql.push("WITH v(scope_id, execution_id, tool_path) AS (VALUES ");
            push_values(&mut sql, chunk, &|(s, e, p): &(&str, &str, &str)| {
                vec![(*s).into(), (*e).into(), (*p).into()]
            });
            sql.push(") INSERT INTO ")
                .push(paths.table())
                .push(" (")
                .push(&paths.columns("", ""))
                .push(
                    ") SELECT v.scope_id, v.execution_id, v.tool_path, e.created_at, e.status, \
                     e.trigger_kind, e.had_elicitation FROM v \
                     JOIN execution e ON e.scope_id = v.scope_id AND e.id = v.execution_id \
                     WHERE true ON CONFLICT DO NOTHING RETURNING ",
                )
                .push(&paths.columns("", AS_NAME));
            sql
        })
        .await?;
        added.extend(earlier_added);
        for row in &added {
            deltas.add_pair(paths, row, 1);
        }
        // A run's namespaces, from its new paths. A run created in this
        // batch has no earlier pairs: its namespaces are inserted without
        // asking back, like its paths (reading rows back costs more than
        // writing them). A namespace is new to an earlier run unless an
        // earlier batch paired them.
        let (fresh, later) = added.split_at(known_count);
        let spaces = Pairs::ToolNamespaces;
        let fresh = namespaces_of(fresh);
        insert_pairs(db, tx, spaces, &fresh).await?;
        for row in &fresh {
            deltas.add_pair(spaces, row, 1);
        }
        let later_spaces: Vec<RunPair> = fetch_chunks(tx, &namespaces_of(later), |chunk| {
            let mut sql = db.sql();
            sql.push("INSERT INTO ")
                .push(spaces.table())
                .push(" (")
                .push(&spaces.columns("", ""))
                .push(") VALUES ");
            push_values(&mut sql, chunk, &pair_args);
            sql.push(" ON CONFLICT DO NOTHING RETURNING ")
                .push(&spaces.columns("", AS_NAME));
            sql
        })
        .await?;
        for row in &later_spaces {
            deltas.add_pair(spaces, row, 1);
        }
        let catalog: BTreeSet<(&str, &str)> = added
            .iter()
            .map(|r| (r.scope_id.as_str(), r.name.as_str()))
            .collect();
        let catalog: Vec<_> = catalog.into_iter().collect();
        execute_chunks(tx, &catalog, |chunk| {
            let mut sql = db.sql();
            sql.push("INSERT INTO tool_path_catalog (scope_id, tool_path) VALUES ");
            push_values(&mut sql, chunk, &|(s, p): &(&str, &str)| {
                vec![(*s).into(), (*p).into()]
            });
            sql.push(" ON CONFLICT DO NOTHING");
            sql
        })
        .await
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
    duration_ms: Option<i64>,
}

/// Inserts pairs known to be new (of runs created in this batch) into
/// their table, without asking back.
async fn insert_pairs(
    db: &Db,
    tx: &mut Tx<'_>,
    pairs: Pairs,
    rows: &[RunPair],
) -> Result<(), StoreError> {
    let head = format!(
        "INSERT INTO {} ({}) VALUES ",
        pairs.table(),
        pairs.columns("", "")
    );
    insert_rows(db, tx, &head, rows, pair_args).await
}

/// The distinct (run, namespace) pairs of (run, path) pairs.
fn namespaces_of(paths: &[RunPair]) -> Vec<RunPair> {
    let mut seen: BTreeSet<(&str, &str, &str)> = BTreeSet::new();
    paths
        .iter()
        .filter(|p| {
            seen.insert((
                p.scope_id.as_str(),
                p.execution_id.as_str(),
                crate::model::namespace_of(&p.name),
            ))
        })
        .map(|p| RunPair {
            name: crate::model::namespace_of(&p.name).to_owned(),
            ..p.clone()
        })
        .collect()
}

/// A run: its scope and id.
type RunKey = (String, String);

/// What a pair table's name column is read as, into a [`RunPair`].
const AS_NAME: &str = " AS name";

fn pair_args(p: &RunPair) -> Vec<Arg> {
    vec![
        p.scope_id.clone().into(),
        p.execution_id.clone().into(),
        p.name.clone().into(),
        p.created_at.into(),
        p.status.clone().into(),
        p.trigger_kind.clone().into(),
        p.had_elicitation.into(),
    ]
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
