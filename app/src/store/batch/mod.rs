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
//!
//! Split in four: [`fence`] refuses the writes of servers that lost their
//! runs, [`plan`] sorts a batch (pure, unit-tested), [`execute`] writes it,
//! [`deltas`] gathers and writes what it changes in the roll-ups.

mod deltas;
mod execute;
mod fence;
mod plan;
mod statements;

pub(in crate::store) use statements::{insert_rows, push_values};

use std::sync::Arc;

use super::db::{Db, Tx, WriterConn};
use super::write_ops::WriteOp;
use super::StoreError;
use plan::Plan;

/// Writes that are stored together, all or none; with an `owner`, only
/// while the runs they touch are that owner's ([`fence`]).
pub struct Group {
    pub ops: Vec<WriteOp>,
    pub owner: Option<Arc<str>>,
}

/// Writes the groups in one transaction; answers, for each group, whether
/// it was refused because another server took its run over.
pub async fn write_all(
    db: &Db,
    conn: &mut Option<WriterConn>,
    groups: &[&Group],
) -> Result<Vec<bool>, StoreError> {
    let result = async {
        if conn.is_none() {
            *conn = Some(WriterConn::acquire(db).await?);
        }
        let Some(c) = conn.as_mut() else {
            return Err(StoreError::WriterGone);
        };
        let mut tx = Tx::begin(c).await?;
        let refused = fence::refused(db, &mut tx, groups).await?;
        let mut plan = Plan::default();
        for (group, _) in groups.iter().zip(&refused).filter(|(_, r)| !**r) {
            for op in &group.ops {
                plan.add(op);
            }
        }
        plan.execute(db, &mut tx).await?;
        tx.commit().await?;
        Ok(refused)
    }
    .await;
    if matches!(&result, Err(StoreError::Database(e)) if e.as_database_error().is_none()) {
        // Not something the database said about our data (an I/O or
        // connection failure): start the next batch on a fresh connection.
        *conn = None;
    }
    result
}
