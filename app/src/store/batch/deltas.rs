//! Roll-up deltas: the changes a batch makes to the roll-up tables
//! ([`ROLLUPS`]), gathered per row and written once per batch.

use std::collections::BTreeMap;

use super::statements::chunks;
use super::statements::push_values;
use crate::store::db::{Arg, Db, Tx};
use crate::store::rollup::{Field, Source, ROLLUPS};
use crate::store::StoreError;

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
pub(super) struct RollupDeltas {
    counts: BTreeMap<RollupKey, i64>,
    /// New runs per scope.
    pub(super) totals: BTreeMap<String, i64>,
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

    pub(super) fn add_run(
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

    pub(super) fn add_tool(
        &mut self,
        scope: &str,
        created_at: i64,
        path: &str,
        status: &str,
        delta: i64,
    ) {
        let row = Counted {
            status,
            trigger: None,
            elicited: false,
            tool_path: path,
        };
        self.add(Source::ToolPaths, scope, created_at, &row, delta);
    }

    pub(super) async fn apply(self, db: &Db, tx: &mut Tx<'_>) -> Result<(), StoreError> {
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
