//! Roll-up deltas: the changes a batch makes to the roll-up tables
//! ([`ROLLUPS`]), gathered per row and written once per batch.

use std::collections::BTreeMap;

use super::statements::chunks;
use super::statements::push_values;
use crate::store::db::{Arg, Db, Tx};
use crate::store::rollup::{Field, Pairs, Source, ROLLUPS};
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
    /// The tool path or namespace of a pair.
    name: &'a str,
}

impl Counted<'_> {
    fn value(&self, field: Field) -> KeyValue {
        match field {
            Field::Status => KeyValue::Text(self.status.to_owned()),
            Field::Trigger => KeyValue::Text(self.trigger.unwrap_or("").to_owned()),
            Field::Elicitation => KeyValue::Bool(self.elicited),
            Field::ToolPath | Field::Namespace => KeyValue::Text(self.name.to_owned()),
        }
    }
}

/// A row of a per-run pair table (`execution_tool_path`,
/// `execution_tool_namespace`): a run and what it is paired with (`name`: a
/// tool path, a namespace), with what the roll-ups key it by (the run's
/// created_at, status, trigger, elicitation).
#[derive(Clone, Debug, sqlx::FromRow)]
pub(super) struct RunPair {
    pub(super) scope_id: String,
    pub(super) execution_id: String,
    pub(super) name: String,
    pub(super) created_at: i64,
    pub(super) status: String,
    pub(super) trigger_kind: Option<String>,
    pub(super) had_elicitation: bool,
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
            name: "",
        };
        self.add(Source::Runs, scope, created_at, &row, delta);
    }

    /// Counts a pair of `pairs`, as its table keeps it.
    pub(super) fn add_pair(&mut self, pairs: Pairs, pair: &RunPair, delta: i64) {
        let row = Counted {
            status: &pair.status,
            trigger: pair.trigger_kind.as_deref(),
            elicited: pair.had_elicitation,
            name: &pair.name,
        };
        self.add(
            Source::Pairs(pairs),
            &pair.scope_id,
            pair.created_at,
            &row,
            delta,
        );
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
