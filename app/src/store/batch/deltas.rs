//! Roll-up deltas: the changes a batch makes to the roll-up tables
//! ([`ROLLUPS`]), gathered per row and written once per batch.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use rustc_hash::FxHashMap as HashMap;

use super::statements::execute_chunks;
use super::statements::push_values;
use crate::store::db::{Arg, Db, Tx};
use crate::store::rollup::{duration_class, Field, Pairs, Rollup, Source, NO_DURATION, ROLLUPS};
use crate::store::StoreError;

/// The strings a batch's roll-up keys name, each held once, so that a key is
/// a few integers: a batch of thousands of runs touches each roll-up row
/// once per pair, and building string keys for every touch cost more than
/// writing the rows.
#[derive(Default)]
struct Names {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Names {
    fn id(&mut self, name: &str) -> u32 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.names.push(name.to_owned());
        self.ids.insert(name.to_owned(), id);
        id
    }

    fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", String::as_str)
    }
}

/// A roll-up row: which roll-up (index into [`ROLLUPS`]), scope, slot, and
/// its keys in the roll-up's order, each a name's id (a text key) or 0/1 (a
/// flag); unused places are 0.
type RollupKey = (usize, u32, i64, [u32; MAX_KEYS]);

/// Most key columns of a roll-up besides scope and slot.
const MAX_KEYS: usize = 4;
const _: () = {
    let mut i = 0;
    while i < ROLLUPS.len() {
        assert!(
            ROLLUPS[i].keys.len() <= MAX_KEYS,
            "a roll-up has more keys than MAX_KEYS"
        );
        i += 1;
    }
};

/// What a counted row says, for the roll-ups' keys.
struct Counted<'a> {
    status: &'a str,
    trigger: Option<&'a str>,
    elicited: bool,
    /// The tool path or namespace of a pair.
    name: &'a str,
    /// A run's duration class (pairs are not keyed by it).
    duration_class: i64,
}

impl Counted<'_> {
    /// The row's key values, each text looked up once for all roll-ups.
    fn ids(&self, names: &mut Names) -> CountedIds {
        CountedIds {
            status: names.id(self.status),
            trigger: names.id(self.trigger.unwrap_or("")),
            elicited: u32::from(self.elicited),
            name: names.id(self.name),
            // Shifted past 0: the classes start at -1 (no duration).
            duration_class: u32::try_from(self.duration_class - NO_DURATION).unwrap_or(0),
        }
    }
}

/// A [`Counted`] row's key values as ids (see [`Names`]).
struct CountedIds {
    status: u32,
    trigger: u32,
    elicited: u32,
    name: u32,
    duration_class: u32,
}

impl CountedIds {
    fn value(&self, field: Field) -> u32 {
        match field {
            Field::Status => self.status,
            Field::Trigger => self.trigger,
            Field::Elicitation => self.elicited,
            Field::ToolPath | Field::Namespace => self.name,
            Field::DurationClass => self.duration_class,
        }
    }
}

/// A key value as its column holds it.
fn key_arg(field: Field, value: u32, names: &Names) -> Arg {
    match field {
        Field::Elicitation => (value != 0).into(),
        Field::DurationClass => (i64::from(value) + NO_DURATION).into(),
        _ => names.name(value).to_owned().into(),
    }
}

/// Each name's place in byte order, so that ordering keys compares
/// integers: a batch sorts thousands of roll-up rows, and comparing their
/// texts byte by byte cost more than the sort's own work.
fn name_ranks(names: &Names) -> Vec<u32> {
    let mut by_text: Vec<u32> = (0..names.names.len() as u32).collect();
    by_text.sort_unstable_by(|a, b| names.name(*a).as_bytes().cmp(names.name(*b).as_bytes()));
    let mut ranks = vec![0; by_text.len()];
    for (rank, id) in by_text.into_iter().enumerate() {
        ranks[id as usize] = rank as u32;
    }
    ranks
}

/// Orders two rows of `rollup` as its primary key does (bytes of text, then
/// false before true, classes by number), so a batch writes each table
/// front to back. `ranks` is [`name_ranks`].
fn key_order(rollup: &Rollup, ranks: &[u32], a: &RollupKey, b: &RollupKey) -> Ordering {
    let text = |id: u32| ranks.get(id as usize).copied().unwrap_or(u32::MAX);
    text(a.1).cmp(&text(b.1)).then(a.2.cmp(&b.2)).then_with(|| {
        for (i, field) in rollup.keys.iter().enumerate() {
            let order = match field {
                Field::Elicitation | Field::DurationClass => a.3[i].cmp(&b.3[i]),
                _ => text(a.3[i]).cmp(&text(b.3[i])),
            };
            if order != Ordering::Equal {
                return order;
            }
        }
        Ordering::Equal
    })
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

/// What the run roll-ups key a run by.
pub(super) struct RunKeys<'a> {
    pub(super) status: &'a str,
    pub(super) trigger: Option<&'a str>,
    pub(super) elicited: bool,
    pub(super) duration_ms: Option<i64>,
}

/// Changes to the roll-up tables gathered over a batch and written once per
/// row: PostgreSQL leaves a row version behind at every update, so counting
/// run by run would update a busy hour's rows thousands of times.
#[derive(Default)]
pub(super) struct RollupDeltas {
    names: Names,
    counts: HashMap<RollupKey, i64>,
    /// New runs per scope.
    pub(super) totals: BTreeMap<String, i64>,
}

impl RollupDeltas {
    fn add(&mut self, source: Source, scope: &str, created_at: i64, row: &Counted, delta: i64) {
        let ids = row.ids(&mut self.names);
        let scope = self.names.id(scope);
        for (i, rollup) in ROLLUPS.iter().enumerate() {
            if rollup.source != source {
                continue;
            }
            let mut keys = [0; MAX_KEYS];
            for (k, field) in keys.iter_mut().zip(rollup.keys) {
                *k = ids.value(*field);
            }
            let key = (i, scope, rollup.slot_start(created_at), keys);
            *self.counts.entry(key).or_default() += delta;
        }
    }

    pub(super) fn add_run(&mut self, scope: &str, created_at: i64, run: RunKeys, delta: i64) {
        let row = Counted {
            status: run.status,
            trigger: run.trigger,
            elicited: run.elicited,
            name: "",
            duration_class: duration_class(run.duration_ms),
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
            duration_class: NO_DURATION,
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
        let names = &self.names;
        let ranks = name_ranks(names);
        for (i, rollup) in ROLLUPS.iter().enumerate() {
            let mut rows: Vec<(&RollupKey, &i64)> =
                self.counts.iter().filter(|(k, _)| k.0 == i).collect();
            rows.sort_unstable_by(|a, b| key_order(rollup, &ranks, a.0, b.0));
            add_counts(
                db,
                tx,
                rollup.table,
                &rollup.key_columns(),
                rows,
                |(_, scope, slot, keys)| {
                    let mut args: Vec<Arg> =
                        vec![names.name(*scope).to_owned().into(), (*slot).into()];
                    args.extend(
                        rollup
                            .keys
                            .iter()
                            .zip(keys)
                            .map(|(field, value)| key_arg(*field, *value, names)),
                    );
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
    execute_chunks(tx, &rows, |chunk| {
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
        sql
    })
    .await
}
