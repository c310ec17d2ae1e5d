//! Fencing: a server writes to a run only while it owns it.
//!
//! A server frozen or cut off for longer than its lease has its runs taken
//! over by the reaper of another (`reap_expired` clears their lease, keeping
//! the owner on record, and fails them). When it comes back, its queued writes to those runs must
//! not land: they would contradict the failure the others already see. So
//! a group written on behalf of an owner is checked, in the batch's own
//! transaction, against the owner and lease the runs it touches have now; on
//! PostgreSQL the checked rows stay locked until the batch commits, so no
//! reaper takes them between the check and the writes. A group that
//! touches a run with another owner (or none), or whose lease a reaper
//! cleared, is refused whole, and its writer learns it
//! (`StoreError::TakenOver`) and stops the run.
//!
//! Runs born in the batch are the writer's own; runs not found (their
//! creation failed to store) have no owner to protect and are not refused.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::statements::{fetch_chunks, push_values};
use super::Group;
use crate::store::db::{Db, Dialect, Tx};
use crate::store::write_ops::WriteOp;
use crate::store::StoreError;

/// For each group, whether it is refused.
pub(super) async fn refused(
    db: &Db,
    tx: &mut Tx<'_>,
    groups: &[&Group],
) -> Result<Vec<bool>, StoreError> {
    let born: HashSet<(&str, &str)> = groups
        .iter()
        .flat_map(|g| &g.ops)
        .filter_map(|op| match op {
            WriteOp::CreateExecution(e) => Some((e.scope_id.as_str(), e.id.as_str())),
            _ => None,
        })
        .collect();
    // In key order: every writer locks rows in the same order.
    let checked: BTreeSet<(&str, &str)> = groups
        .iter()
        .filter(|g| g.owner.is_some())
        .flat_map(|g| g.ops.iter().map(WriteOp::run))
        .filter(|run| !born.contains(run))
        .collect();
    if checked.is_empty() {
        return Ok(vec![false; groups.len()]);
    }
    let checked: Vec<(&str, &str)> = checked.into_iter().collect();
    let rows: Vec<(String, String, Option<String>, Option<i64>)> =
        fetch_chunks(tx, &checked, |chunk| {
            let mut sql = db.sql();
            sql.push("WITH v(scope_id, id) AS (VALUES ");
            push_values(&mut sql, chunk, &|(scope, id)| {
                vec![(*scope).into(), (*id).into()]
            });
            sql.push(
                ") SELECT execution.scope_id, execution.id, execution.owner_id, \
             execution.lease_expires_at FROM execution \
             JOIN v ON execution.scope_id = v.scope_id AND execution.id = v.id",
            );
            if db.dialect() == Dialect::Postgres {
                sql.push(" ORDER BY execution.scope_id, execution.id FOR UPDATE OF execution");
            }
            sql
        })
        .await?;
    // Whose each run is now: nobody's once a reaper cleared its lease.
    let owners: HashMap<(String, String), Option<String>> = rows
        .into_iter()
        .map(|(scope, id, owner, lease)| ((scope, id), owner.filter(|_| lease.is_some())))
        .collect();
    Ok(groups
        .iter()
        .map(|group| {
            let Some(me) = group.owner.as_deref() else {
                return false;
            };
            let lost = group.ops.iter().map(WriteOp::run).find(|(scope, id)| {
                owners
                    .get(&((*scope).to_owned(), (*id).to_owned()))
                    .is_some_and(|now| now.as_deref() != Some(me))
            });
            if let Some((_, id)) = lost {
                tracing::warn!(
                    execution_id = %id,
                    "writes refused: another server took the run over after this one's lease ran out"
                );
            }
            lost.is_some()
        })
        .collect())
}
