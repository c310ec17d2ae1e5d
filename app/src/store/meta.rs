//! Facets and the timeline chart for the first page.
//!
//! One grouped query counts runs by (status, trigger, elicitation, bucket) with
//! only the non-facet filters applied; the disjunctive facet counts, the
//! filtered total and the chart are then folded from those few thousand groups
//! in Rust. Over whole hours, and when no filter needs the run rows, the groups
//! come from the hourly roll-ups instead of the runs, with the partial hours at
//! the window's edges read from the runs. Tool facets work the same way over
//! the per-run distinct tool paths and their own roll-up.

use std::collections::{BTreeMap, HashMap};

use sqlx::FromRow;

use super::db::{Dialect, Sql};
use super::estimate::FIXED_POINT;
use super::filter_sql::{
    pairs_by_name, push_class_filters, push_filters, push_runs_from, runs_by_time,
    tool_paths_by_time, DurationParts, NoTrigger, Resolved, Skip, ToolPaths,
};
use super::statement_limit::EXACT_META_LIMIT;
use super::text_search::TextPlan;
use super::{now_ms, Store, StoreError};
use crate::model::{
    Chart, ChartBucket, ChartWindow, Counts, EpochMs, ExecutionStatus, Filters, InteractionCounts,
    ListMeta, StatusCounts, ToolFacet, TriggerCount,
};

use super::duration_tiling::DurationTiling;
use super::rollup::{
    Pairs, Rollup, DAY, DURATION_HOURLY, DURATION_QUARTER_HOURLY, HOUR, HOURLY,
    NAMESPACE_CLASS_DAILY, NAMESPACE_CLASS_HOURLY, QUARTER_HOURLY, TOOL_CLASS_DAILY,
    TOOL_CLASS_HOURLY, TOOL_DAILY, TOOL_DAILY_TOTAL, TOOL_HOURLY, TOOL_HOURLY_TOTAL,
};
const TOP_TOOLS: usize = 20;

#[derive(FromRow)]
pub(super) struct GroupRow {
    pub(super) status: String,
    pub(super) trigger_kind: Option<String>,
    pub(super) had_elicitation: bool,
    pub(super) bucket: i64,
    pub(super) n: i64,
}

#[derive(FromRow)]
struct ToolRow {
    tool_path: String,
    n: i64,
}

#[derive(FromRow)]
struct SpanRow {
    lo: Option<i64>,
    hi: Option<i64>,
}

/// Whether an exact meta counts its tool facets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ToolCounts {
    Exact,
    Skipped,
}

/// Which dimensions a grouping keeps besides the status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum GroupBy {
    /// Trigger, elicitation and bucket: facets and chart from one grouping.
    All,
    /// Trigger and elicitation (bucket -1): the facets.
    Facets,
    /// Bucket (no trigger, no elicitation): the chart.
    Chart,
}

impl GroupBy {
    fn group_by(self) -> &'static str {
        match self {
            Self::All => " GROUP BY 1, 2, 3, 4",
            Self::Facets => " GROUP BY 1, 2, 3",
            // Bucket first: over a roll-up whose slots are the buckets this
            // follows the key order, and SQLite groups without sorting.
            Self::Chart => " GROUP BY 4, 1",
        }
    }
}

/// The trigger, elicitation and bucket columns of a grouping; the ones it
/// drops are constants of the right type. `time` is bucketed by `width`,
/// unless its values are already whole buckets (a roll-up slot as wide as a
/// bucket): then it is the bucket as it is, which keeps its index order.
fn push_dimensions(
    sql: &mut Sql,
    by: GroupBy,
    trigger: &str,
    elicitation: &str,
    (time, time_step): (&str, i64),
    width: i64,
) {
    let (keep_facets, keep_bucket) = match by {
        GroupBy::All => (true, true),
        GroupBy::Facets => (true, false),
        GroupBy::Chart => (false, true),
    };
    if keep_facets {
        sql.push(trigger)
            .push(" AS trigger_kind, ")
            .push(elicitation)
            .push(" AS had_elicitation, ");
    } else {
        sql.push("CAST(NULL AS TEXT) AS trigger_kind, (1 = 0) AS had_elicitation, ");
    }
    if keep_bucket && time_step == width {
        sql.push(time).push(" AS bucket");
    } else if keep_bucket {
        sql.push("(")
            .push(time)
            .push(" / ")
            .bind(width)
            .push(") * ")
            .bind(width)
            .push(" AS bucket");
    } else {
        sql.push("CAST(-1 AS BIGINT) AS bucket");
    }
}

/// `SELECT` the grouping `by` of runs (`e`) counted, before their `FROM`.
fn push_run_groups(sql: &mut Sql, by: GroupBy, width: i64) {
    sql.push("SELECT e.status AS status, ");
    push_dimensions(
        sql,
        by,
        "e.trigger_kind",
        "e.had_elicitation",
        ("e.created_at", 1),
        width,
    );
    sql.push(", count(*) AS n");
}

/// What a view's run counts (facets and chart) are read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Basis<'a> {
    /// The run roll-ups, with the window's edges from the runs.
    Runs,
    /// The class roll-ups of the one tool path or namespace the tool filter
    /// names, with the edges from its pair table: a run is paired with a
    /// path or namespace at most once, so its pairs count runs.
    Pairs(Pairs, &'a str),
    /// The duration roll-ups, for the whole duration classes of a duration
    /// filter; the window's edges, and the parts of the classes its bounds
    /// cut, from the runs.
    Durations(DurationTiling),
    /// The runs alone: a filter no roll-up keys (code, error, session,
    /// several tool paths, a glob that is not a namespace, any tool filter
    /// with a duration).
    Rows,
}

impl<'a> Basis<'a> {
    pub(super) fn of(filters: &'a Filters, resolved: &'a Resolved) -> Self {
        if filters.has_text_search() || !filters.sessions.is_empty() {
            return Self::Rows;
        }
        if filters.min_duration_ms.is_some() || filters.max_duration_ms.is_some() {
            return match (&resolved.tools, filters.tools.is_empty()) {
                (ToolPaths::Any, true) => {
                    DurationTiling::of(filters.min_duration_ms, filters.max_duration_ms)
                        .map_or(Self::Rows, Self::Durations)
                }
                _ => Self::Rows,
            };
        }
        if let [pattern] = filters.tools.as_slice() {
            if let Some(namespace) = pattern.namespace() {
                return Self::Pairs(Pairs::ToolNamespaces, namespace);
            }
        }
        match &resolved.tools {
            ToolPaths::Any => Self::Runs,
            ToolPaths::OneOf(paths) => match paths.as_slice() {
                [path] => Self::Pairs(Pairs::ToolPaths, path),
                _ => Self::Rows,
            },
        }
    }

    /// The roll-ups that can answer, coarsest first.
    fn ladder(self) -> &'static [&'static Rollup] {
        match self {
            Self::Runs => &[&HOURLY, &QUARTER_HOURLY],
            Self::Pairs(Pairs::ToolPaths, _) => &[&TOOL_CLASS_DAILY, &TOOL_CLASS_HOURLY],
            Self::Pairs(Pairs::ToolNamespaces, _) => {
                &[&NAMESPACE_CLASS_DAILY, &NAMESPACE_CLASS_HOURLY]
            }
            Self::Durations(tiling) if tiling.has_classes() => {
                &[&DURATION_HOURLY, &DURATION_QUARTER_HOURLY]
            }
            Self::Durations(_) | Self::Rows => &[],
        }
    }

    /// The levels that tile a grouping: facets have no buckets, so every
    /// level of the ladder (whole days from the daily one, the days' edges
    /// from the hourly one, …); a chart needs slots that tile its buckets,
    /// so the coarsest level whose slots do.
    fn levels(self, by: GroupBy, width: i64) -> Vec<&'static Rollup> {
        let ladder = self.ladder();
        match by {
            GroupBy::Facets => ladder.to_vec(),
            GroupBy::All | GroupBy::Chart => ladder
                .iter()
                .find(|r| width % r.slot_ms == 0)
                .map(|r| vec![*r])
                .unwrap_or_default(),
        }
    }
}

/// Most slots a roll-up read seeks one by one (a 30-day window has 720
/// hourly slots); past it, the read scans the slots' range instead.
const MAX_SEEKED_SLOTS: i64 = 2_000;

/// A duration part is read from the duration index when the window is at
/// least this share (1/n) of the scope's history. The duration index reads
/// the part's runs over all of the history (at most half a class), the
/// time index every run of the window; past an eighth of the history the
/// window's runs are the more, for any class of less than a quarter of the
/// runs. (Past the budget, a large part is estimated instead: `sampled`.)
const DURATION_INDEX_SHARE: i64 = 8;

/// Where the duration index sorts a run without a duration
/// (`coalesce(duration_ms, -1)`, see migration 0001).
const NO_DURATION_SORT_KEY: i64 = -1;

/// ` AND slot_start …` for one name's rows in the slots of `[from, to)`.
/// The class roll-ups are keyed slot first, so that a batch's counts land
/// side by side in the table (keyed by name first, every batch wrote into
/// as many places of a large table as it had names); one name's rows are
/// then one seek per slot, not a scan of every name's rows.
fn push_slots(sql: &mut Sql, (from, to): Range, slot_ms: i64) {
    let count = (to - from) / slot_ms;
    if count <= MAX_SEEKED_SLOTS {
        sql.push(" AND slot_start IN ")
            .bind_list((0..count).map(|i| from + i * slot_ms));
    } else {
        push_slot_range(sql, (from, to));
    }
}

/// ` AND slot_start …` for every slot of `[from, to)`.
fn push_slot_range(sql: &mut Sql, (from, to): Range) {
    sql.push(" AND slot_start >= ")
        .bind(from)
        .push(" AND slot_start < ")
        .bind(to);
}

/// A time range `[from, to)` in epoch ms.
type Range = (i64, i64);

/// Whether a piece's counts are added (`1`) or subtracted (`-1`).
type Sign = i64;

/// A time range cut into roll-up slots and rows.
#[derive(Debug, PartialEq)]
struct Tiling<T> {
    /// Whole slots: their level's tag, the range, the sign.
    slots: Vec<(T, Range, Sign)>,
    /// What no level tiles, answered by rows.
    rows: Vec<(Range, Sign)>,
}

/// Tiles `[from, to)` with whole slots, coarsest level first; each level
/// tiles what the coarser ones left at the edges. A slot that an edge cuts
/// is taken whole, and its part outside the edge subtracted, when that part
/// is the shorter one: counts are sums, so the difference counts the same
/// runs with fewer finer slots (a day-long window starting at 00:30 is one
/// daily slot minus half an hour, not 23 hourly ones). Never past `to`
/// itself: past the end of an open window is where new runs land, and a
/// difference read in two snapshots could miscount them.
fn tile<T: Copy>(from: i64, to: i64, levels: &[(T, i64)]) -> Tiling<T> {
    let mut edges = vec![((from, to), 1)];
    let mut slots = Vec::new();
    for &(tag, slot) in levels {
        let mut finer = Vec::new();
        for ((a, b), sign) in edges {
            match whole_slots(a, b, to, slot) {
                Some((start, end)) => {
                    slots.push((tag, (start, end), sign));
                    for (piece, piece_sign) in [
                        ((a, start), sign),
                        ((start, a), -sign),
                        ((end, b), sign),
                        ((b, end), -sign),
                    ] {
                        if piece.0 < piece.1 {
                            finer.push((piece, piece_sign));
                        }
                    }
                }
                // No whole slot worth taking, or its boundaries would not
                // fit in an i64: finer levels (at worst rows) answer it.
                None => finer.push(((a, b), sign)),
            }
        }
        edges = finer;
    }
    Tiling { slots, rows: edges }
}

/// The whole slots of width `slot` that best cover `[a, b)`: each cut end is
/// covered from inside (finer pieces up to the boundary) or from outside
/// (the whole slot, minus what lies beyond the end), whichever leaves less to
/// finer levels; `end` never grows past `to`. Checked arithmetic throughout.
fn whole_slots(a: i64, b: i64, to: i64, slot: i64) -> Option<Range> {
    let a_floor = a.div_euclid(slot).checked_mul(slot)?;
    let a_ceil = if a == a_floor {
        a
    } else {
        a_floor.checked_add(slot)?
    };
    let b_floor = b.div_euclid(slot).checked_mul(slot)?;
    let b_ceil = if b == b_floor {
        b
    } else {
        b_floor.checked_add(slot)?
    };
    let b_may_grow = b != to;
    let start = if a.checked_sub(a_floor)? < a_ceil.checked_sub(a)? {
        a_floor
    } else {
        a_ceil
    };
    let end = if b_may_grow && b_ceil.checked_sub(b)? < b.checked_sub(b_floor)? {
        b_ceil
    } else {
        b_floor
    };
    (start < end).then_some((start, end))
}

impl Store {
    pub(super) async fn meta(
        &self,
        scope: &str,
        filters: &Filters,
        resolved: &Resolved,
        counts: Counts,
    ) -> Result<ListMeta, StoreError> {
        let window = self.chart_window(scope, filters).await?;
        if filters.matches_nothing() {
            // An empty window or duration range: zero counts, a dense chart.
            let total = self.total(scope).await?;
            return Ok(fold(filters, window, total, Vec::new(), None, Vec::new()));
        }
        // A text filter the index cannot narrow to few runs is tested run by
        // run: within the budget the window has few runs, where semi-joining
        // the index's matches would read all of the scope's; and an exact
        // request gets plans with no join the matches could drive (see
        // `Resolved::row_by_row`).
        let counted = match resolved.text {
            TextPlan::Scan => resolved.row_by_row(),
            _ => resolved.clone(),
        };
        match counts {
            Counts::Bounded => {
                match self
                    .estimated_meta(scope, filters, resolved, window)
                    .await?
                {
                    Some(meta) => Ok(meta),
                    None => {
                        self.exact_meta(scope, filters, &counted, window, ToolCounts::Exact)
                            .await
                    }
                }
            }
            Counts::Exact => tokio::time::timeout(
                EXACT_META_LIMIT,
                self.exact_meta(scope, filters, &counted, window, ToolCounts::Exact),
            )
            .await
            .map_err(|_| StoreError::TimedOut)?,
        }
    }

    /// The meta counted exactly: from the roll-ups where they answer, from
    /// the runs where not; without tool facets if `tools` says so (an
    /// estimate fills them in).
    pub(super) async fn exact_meta(
        &self,
        scope: &str,
        filters: &Filters,
        resolved: &Resolved,
        window: ChartWindow,
        tools: ToolCounts,
    ) -> Result<ListMeta, StoreError> {
        // Without trigger or elicitation filters the chart needs neither
        // dimension and the facets need no buckets: two small groupings
        // instead of their product. That pays when the roll-ups answer and
        // returned rows are what costs (a few days); when the runs must be
        // scanned, or the window is long, scanning twice costs more.
        let split = filters.triggers.is_empty()
            && filters.elicitation.is_none()
            && !filters.needs_row_filters()
            && window.to - window.from <= 8 * DAY;
        let (total, facet_groups, chart_groups, tool_facets) = tokio::try_join!(
            self.total(scope),
            self.groups(
                scope,
                filters,
                resolved,
                window,
                if split { GroupBy::Facets } else { GroupBy::All }
            ),
            async {
                if split {
                    self.groups(scope, filters, resolved, window, GroupBy::Chart)
                        .await
                        .map(Some)
                } else {
                    Ok(None)
                }
            },
            async {
                match tools {
                    ToolCounts::Exact => self.tool_facets(scope, filters, resolved, window).await,
                    ToolCounts::Skipped => Ok(Vec::new()),
                }
            },
        )?;
        Ok(fold(
            filters,
            window,
            total,
            facet_groups,
            chart_groups,
            tool_facets,
        ))
    }

    /// [`Self::exact_meta`] without tool facets, plus `estimated` groups in
    /// fixed point (see `estimate::FIXED_POINT`): the exact counts are
    /// scaled to it, added, folded and rounded back.
    pub(super) async fn exact_meta_plus(
        &self,
        scope: &str,
        filters: &Filters,
        resolved: &Resolved,
        window: ChartWindow,
        estimated: Vec<GroupRow>,
    ) -> Result<ListMeta, StoreError> {
        let (total, mut groups) = tokio::try_join!(
            self.total(scope),
            self.groups(scope, filters, resolved, window, GroupBy::All),
        )?;
        for g in &mut groups {
            g.n *= FIXED_POINT;
        }
        groups.extend(estimated);
        let mut meta = fold(filters, window, total, groups, None, Vec::new());
        // A subtracted part's estimate can exceed what it is taken from.
        meta.map_counts(|n| super::estimate::unscaled(n).max(0));
        Ok(meta)
    }

    /// The requested window, or the scope's data span when it is open.
    async fn chart_window(
        &self,
        scope: &str,
        filters: &Filters,
    ) -> Result<ChartWindow, StoreError> {
        if let (Some(from), Some(to)) = (filters.lower_bound(), filters.to) {
            return Ok(ChartWindow::new(from, to));
        }
        let SpanRow { lo, hi } = self.span(scope).await?;
        // Rows may have been written by something else (an import, a hand
        // repair): their instants are clamped like any outside number.
        let to = filters
            .to
            .or(hi.map(|h| EpochMs::clamped(h.saturating_add(1))))
            .unwrap_or_else(|| EpochMs::clamped(now_ms()));
        // Never widen past a bound the filters set: the window doubles as the
        // time filter of the grouped queries.
        let from = match filters.lower_bound() {
            Some(bound) => bound,
            None => {
                let lo = lo.map_or(EpochMs::clamped(to.get() - HOUR), EpochMs::clamped);
                lo.min(EpochMs::clamped(to.get() - 1))
            }
        };
        Ok(ChartWindow::new(from, to))
    }

    pub(super) async fn total(&self, scope: &str) -> Result<i64, StoreError> {
        let mut sql = self.db().sql();
        sql.push("SELECT CAST(runs AS BIGINT) FROM execution_scope_total WHERE scope_id = ")
            .bind(scope);
        let row: Option<(i64,)> = self.db().fetch_optional(sql).await?;
        Ok(row.map_or(0, |r| r.0))
    }

    pub(super) async fn groups(
        &self,
        scope: &str,
        filters: &Filters,
        resolved: &Resolved,
        window: ChartWindow,
        by: GroupBy,
    ) -> Result<Vec<GroupRow>, StoreError> {
        if resolved.matches_nothing() {
            return Ok(Vec::new());
        }
        let width = window.width.ms();
        let skip = Skip {
            status: true,
            trigger: true,
            tool: false,
            elicitation: true,
        };
        let basis = Basis::of(filters, resolved);
        let levels: Vec<(&'static Rollup, i64)> = basis
            .levels(by, width)
            .into_iter()
            .map(|r| (r, r.slot_ms))
            .collect();
        let Tiling { slots, rows } = match basis {
            // No whole duration class: the parts of one class are all.
            Basis::Durations(tiling) if !tiling.has_classes() => Tiling {
                slots: Vec::new(),
                rows: Vec::new(),
            },
            _ => tile(window.from, window.to, &levels),
        };
        let mut out = Vec::new();
        let mut add = |found: Vec<GroupRow>, sign: Sign| {
            out.extend(found.into_iter().map(|r| GroupRow { n: r.n * sign, ..r }));
        };
        for ((from, to), sign) in rows {
            let mut sql = self.db().sql();
            if let Basis::Pairs(pairs, name) = basis {
                let hint = pairs_by_name(sql.dialect, pairs);
                sql.push("SELECT status, ");
                push_dimensions(
                    &mut sql,
                    by,
                    "trigger_kind",
                    "had_elicitation",
                    ("created_at", 1),
                    width,
                );
                sql.push(", count(*) AS n FROM ")
                    .push(pairs.table())
                    .push(hint)
                    .push(" WHERE scope_id = ")
                    .bind(scope)
                    .push(" AND ")
                    .push(pairs.name_column())
                    .push(" = ")
                    .bind(name)
                    .push(" AND created_at >= ")
                    .bind(from)
                    .push(" AND created_at < ")
                    .bind(to)
                    .push(by.group_by());
                add(self.db().fetch_all(sql).await?, sign);
                continue;
            }
            push_run_groups(&mut sql, by, width);
            push_runs_from(&mut sql, filters, resolved);
            let mut windowed = filters.clone();
            if let Basis::Durations(tiling) = basis {
                // The edges of the whole classes; the parts cut from them
                // are counted below, over the whole window.
                (windowed.min_duration_ms, windowed.max_duration_ms) = tiling.whole_bounds();
                sql.push(runs_by_time(sql.dialect));
            }
            sql.push(" WHERE e.scope_id = ").bind(scope);
            // Pieces lie inside the bounded window, or a slot of it.
            windowed.from = Some(EpochMs::clamped(from));
            windowed.after = None;
            windowed.to = Some(EpochMs::clamped(to));
            push_filters(&mut sql, &windowed, resolved, skip);
            sql.push(by.group_by());
            add(self.db().fetch_all(sql).await?, sign);
        }
        for (rollup, (s1, s2), sign) in slots {
            let mut sql = self.db().sql();
            sql.push("SELECT status, ");
            push_dimensions(
                &mut sql,
                by,
                "CASE WHEN trigger_kind = '' THEN NULL ELSE trigger_kind END",
                "had_elicitation",
                ("slot_start", rollup.slot_ms),
                width,
            );
            sql.push(", CAST(sum(runs) AS BIGINT) AS n FROM ")
                .push(rollup.table)
                .push(" WHERE scope_id = ")
                .bind(scope);
            match basis {
                Basis::Pairs(pairs, name) => {
                    sql.push(" AND ")
                        .push(pairs.name_column())
                        .push(" = ")
                        .bind(name);
                    push_slots(&mut sql, (s1, s2), rollup.slot_ms);
                }
                Basis::Durations(tiling) => {
                    push_slot_range(&mut sql, (s1, s2));
                    let (first, end) = tiling.classes;
                    sql.push(" AND duration_class >= ")
                        .bind(first as i64)
                        .push(" AND duration_class < ")
                        .bind(end as i64);
                }
                Basis::Runs | Basis::Rows => push_slot_range(&mut sql, (s1, s2)),
            }
            sql.push(by.group_by());
            add(self.db().fetch_all(sql).await?, sign);
        }
        if let (Basis::Durations(tiling), DurationParts::Read) = (basis, resolved.duration_parts) {
            if tiling.parts().next().is_some() {
                let hint = self.duration_part_index(scope, window).await?;
                for (part, sign) in tiling.parts() {
                    add(
                        self.duration_part(scope, window, part, by, hint).await?,
                        sign,
                    );
                }
            }
        }
        Ok(out)
    }

    /// Which index reads the parts of cut duration classes over `window`:
    /// the duration index (which carries what is counted) when the window
    /// is a good share of the scope's history, since the parts' runs over
    /// all of it are then fewer than the window's runs; the time index
    /// otherwise. PostgreSQL chooses for itself, by statistics.
    async fn duration_part_index(
        &self,
        scope: &str,
        window: ChartWindow,
    ) -> Result<&'static str, StoreError> {
        if self.dialect() == Dialect::Postgres {
            return Ok("");
        }
        let span = self.span(scope).await?;
        let history = span
            .hi
            .zip(span.lo)
            .map_or(0, |(hi, lo)| hi.saturating_sub(lo));
        let long = window
            .to
            .saturating_sub(window.from)
            .saturating_mul(DURATION_INDEX_SHARE)
            >= history;
        Ok(if long {
            " INDEXED BY execution_scope_duration_idx"
        } else {
            " INDEXED BY execution_scope_created_idx"
        })
    }

    /// The window's runs whose durations lie in `part` (of one class), by
    /// `by`, read through the index `hint` names (see
    /// [`Self::duration_part_index`]).
    async fn duration_part(
        &self,
        scope: &str,
        window: ChartWindow,
        (lo, hi): (i64, i64),
        by: GroupBy,
        hint: &str,
    ) -> Result<Vec<GroupRow>, StoreError> {
        let mut sql = self.db().sql();
        push_run_groups(&mut sql, by, window.width.ms());
        sql.push(" FROM execution e")
            .push(hint)
            .push(" WHERE e.scope_id = ")
            .bind(scope)
            .push(" AND coalesce(e.duration_ms, -1) >= ")
            .bind(lo)
            .push(" AND coalesce(e.duration_ms, -1) < ")
            .bind(hi);
        if lo <= NO_DURATION_SORT_KEY {
            // Only a part of the first class reaches down to where runs
            // without a duration sort. Elsewhere the index's expression
            // alone excludes them: naming the column would read every
            // run's row, which the index does not carry.
            sql.push(" AND e.duration_ms IS NOT NULL");
        }
        sql.push(" AND e.created_at >= ")
            .bind(window.from)
            .push(" AND e.created_at < ")
            .bind(window.to)
            .push(by.group_by());
        Ok(self.db().fetch_all(sql).await?)
    }

    /// The oldest and newest run of the scope.
    async fn span(&self, scope: &str) -> Result<SpanRow, StoreError> {
        let mut sql = self.db().sql();
        sql.push("SELECT (SELECT min(created_at) FROM execution WHERE scope_id = ")
            .bind(scope)
            .push(") AS lo, (SELECT max(created_at) FROM execution WHERE scope_id = ")
            .bind(scope)
            .push(") AS hi");
        let span: Option<SpanRow> = self.db().fetch_optional(sql).await?;
        Ok(span.unwrap_or(SpanRow { lo: None, hi: None }))
    }

    /// Top tool paths by matching runs, with every filter but `tool` applied.
    pub(super) async fn tool_facets(
        &self,
        scope: &str,
        filters: &Filters,
        resolved: &Resolved,
        window: ChartWindow,
    ) -> Result<Vec<ToolFacet>, StoreError> {
        let rollups_answer = tool_rollups_answer(filters);
        let by_class = !filters.triggers.is_empty() || filters.elicitation.is_some();
        let from = window.from;
        // An open window ends after the newest run, so nothing lies between
        // its end and the end of that day: the trailing partial day can come
        // whole from the daily roll-up instead of hour by hour.
        let to = if filters.to.is_none() {
            window
                .to
                .div_euclid(DAY)
                .checked_mul(DAY)
                .and_then(|day| day.checked_add(DAY))
                .unwrap_or(window.to)
        } else {
            window.to
        };
        let mut counts: HashMap<String, i64> = HashMap::new();
        let mut add = |found: Vec<ToolRow>, sign: Sign| {
            for r in found {
                *counts.entry(r.tool_path).or_default() += r.n * sign;
            }
        };
        if rollups_answer {
            // Whole days from a daily roll-up, whole hours left at either
            // end from the hourly one, and the partial hours from the
            // (run, path) pairs. The narrowest roll-up that keys what is
            // filtered: without filters the ones that sum the classes (a
            // sixth of the rows), with a status filter the ones by status,
            // with a trigger or elicitation filter the ones by class.
            let [daily, hourly] = if by_class {
                [&TOOL_CLASS_DAILY, &TOOL_CLASS_HOURLY]
            } else if filters.statuses.is_empty() {
                [&TOOL_DAILY_TOTAL, &TOOL_HOURLY_TOTAL]
            } else {
                [&TOOL_DAILY, &TOOL_HOURLY]
            };
            let levels = [(daily, daily.slot_ms), (hourly, hourly.slot_ms)];
            let Tiling { slots, rows } = tile(from, to, &levels);
            for (rollup, (a, b), sign) in slots {
                let mut sql = self.db().sql();
                sql.push("SELECT tool_path, CAST(sum(runs) AS BIGINT) AS n FROM ")
                    .push(rollup.table)
                    .push(" WHERE scope_id = ")
                    .bind(scope);
                push_slot_range(&mut sql, (a, b));
                push_class_filters(&mut sql, filters, ("", NoTrigger::Empty), Skip::NONE);
                sql.push(" GROUP BY tool_path");
                add(self.db().fetch_all(sql).await?, sign);
            }
            for ((a, b), sign) in rows {
                let mut sql = self.db().sql();
                let hint = tool_paths_by_time(sql.dialect);
                sql.push("SELECT tool_path, count(*) AS n FROM execution_tool_path")
                    .push(hint)
                    .push(" WHERE scope_id = ")
                    .bind(scope)
                    .push(" AND created_at >= ")
                    .bind(a)
                    .push(" AND created_at < ")
                    .bind(b);
                push_class_filters(&mut sql, filters, ("", NoTrigger::Null), Skip::NONE);
                sql.push(" GROUP BY tool_path");
                add(self.db().fetch_all(sql).await?, sign);
            }
        } else if resolved.text.drives() || !filters.sessions.is_empty() {
            // Few runs match a text filter or the sessions: their pairs,
            // from those runs (a needle that matches nothing reads nothing).
            let mut sql = self.db().sql();
            sql.push("SELECT tp.tool_path AS tool_path, count(*) AS n");
            push_runs_from(&mut sql, filters, resolved);
            // The window on the runs, not the pairs: given the run, SQLite
            // would take the pairs' time index over their key and read the
            // window's pairs once per match (7.6 s for 20 matches in 30
            // days at a million runs). And once: the window lies within the
            // filters' bounds, and a second range on `created_at` led SQLite
            // to the time index over the session's (211 ms for a session of
            // a dozen runs in 30 days, against 3).
            sql.push(
                " CROSS JOIN execution_tool_path tp WHERE tp.scope_id = e.scope_id \
                 AND tp.execution_id = e.id AND e.scope_id = ",
            )
            .bind(scope);
            let windowed = Filters {
                from: Some(EpochMs::clamped(from)),
                after: None,
                to: Some(EpochMs::clamped(to)),
                ..filters.clone()
            };
            let skip = Skip {
                tool: true,
                ..Skip::NONE
            };
            push_filters(&mut sql, &windowed, resolved, skip);
            sql.push(" GROUP BY tp.tool_path");
            add(self.db().fetch_all(sql).await?, 1);
        } else {
            let mut sql = self.db().sql();
            let hint = tool_paths_by_time(sql.dialect);
            // CROSS JOIN: the pairs drive. SQLite would otherwise let a
            // filter on the runs drive and read the window's pairs once per
            // run (27 s for 12,000 runs under a trigger filter).
            sql.push("SELECT tp.tool_path AS tool_path, count(*) AS n FROM execution_tool_path tp")
                .push(hint)
                .push(
                    " CROSS JOIN execution e WHERE e.scope_id = tp.scope_id \
                     AND e.id = tp.execution_id",
                );
            push_pairs_window(&mut sql, scope, (from, to));
            push_filters(
                &mut sql,
                filters,
                &resolved.row_by_row(),
                Skip {
                    tool: true,
                    ..Skip::NONE
                },
            );
            sql.push(" GROUP BY tp.tool_path");
            add(self.db().fetch_all(sql).await?, 1);
        }
        Ok(top_tools(
            counts
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|(tool_path, count)| ToolFacet { tool_path, count })
                .collect(),
        ))
    }
}

/// The [`TOP_TOOLS`] paths by count, then path.
pub(super) fn top_tools(mut facets: Vec<ToolFacet>) -> Vec<ToolFacet> {
    facets.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.tool_path.cmp(&b.tool_path))
    });
    facets.truncate(TOP_TOOLS);
    facets
}

/// ` AND tp.scope_id = … AND tp.created_at …`: the scope's pairs in `[from, to)`.
fn push_pairs_window(sql: &mut Sql, scope: &str, (from, to): Range) {
    sql.push(" AND tp.scope_id = ")
        .bind(scope)
        .push(" AND tp.created_at >= ")
        .bind(from)
        .push(" AND tp.created_at < ")
        .bind(to);
}

/// Whether the tool roll-ups answer the tool facets of `filters`: they key
/// runs by status, trigger and elicitation, so those filters and time can be
/// answered from them; text and duration filters need the runs.
pub(super) fn tool_rollups_answer(filters: &Filters) -> bool {
    !filters.has_text_search()
        && filters.sessions.is_empty()
        && filters.min_duration_ms.is_none()
        && filters.max_duration_ms.is_none()
}

/// Folds grouped counts into disjunctive facets, the filtered total and the
/// dense chart.
pub(super) fn fold(
    filters: &Filters,
    window: ChartWindow,
    total: i64,
    groups: Vec<GroupRow>,
    chart_groups: Option<Vec<GroupRow>>,
    tool_facets: Vec<ToolFacet>,
) -> ListMeta {
    let mut status_counts = StatusCounts::default();
    let mut triggers: BTreeMap<Option<String>, i64> = BTreeMap::new();
    let mut interactions = InteractionCounts::default();
    let mut filter_row_count = 0;
    let mut buckets: BTreeMap<i64, StatusCounts> = window
        .bucket_starts()
        .map(|b| (b, StatusCounts::default()))
        .collect();
    for g in groups {
        let Ok(status) = g.status.parse::<ExecutionStatus>() else {
            tracing::warn!(status = %g.status, "skipping unknown status in facet counts");
            continue;
        };
        if g.n == 0 {
            continue;
        }
        let status_ok = filters.status_ok(status);
        let trigger_ok = filters.trigger_ok(g.trigger_kind.as_deref());
        let elicitation_ok = filters.elicitation_ok(g.had_elicitation);
        if trigger_ok && elicitation_ok {
            status_counts.add(status, g.n);
        }
        if status_ok && elicitation_ok {
            *triggers.entry(g.trigger_kind.clone()).or_default() += g.n;
        }
        if status_ok && trigger_ok {
            if g.had_elicitation {
                interactions.with_elicitation += g.n;
            } else {
                interactions.without_elicitation += g.n;
            }
        }
        if status_ok && trigger_ok && elicitation_ok {
            filter_row_count += g.n;
            if chart_groups.is_none() {
                if let Some(counts) = buckets.get_mut(&g.bucket) {
                    counts.add(status, g.n);
                }
            }
        }
    }
    // Chart groupings carry no trigger or elicitation: they exist only when
    // neither is filtered on.
    for g in chart_groups.into_iter().flatten() {
        let Ok(status) = g.status.parse::<ExecutionStatus>() else {
            continue;
        };
        if filters.status_ok(status) {
            if let Some(counts) = buckets.get_mut(&g.bucket) {
                counts.add(status, g.n);
            }
        }
    }
    let mut trigger_counts: Vec<TriggerCount> = triggers
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(trigger_kind, count)| TriggerCount {
            trigger_kind,
            count,
        })
        .collect();
    trigger_counts.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.trigger_kind.cmp(&b.trigger_kind))
    });
    ListMeta {
        total_row_count: total,
        filter_row_count,
        status_counts,
        trigger_counts,
        tool_facets,
        interaction_counts: interactions,
        chart: Chart {
            bucket_ms: window.width.ms(),
            buckets: buckets
                .into_iter()
                .map(|(bucket_start, counts)| ChartBucket {
                    bucket_start,
                    counts,
                })
                .collect(),
        },
        approximate: false,
        estimate: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::rollup::QUARTER_HOUR;

    const MINUTE: i64 = 60_000;

    /// How many times the signed pieces count instant `t`.
    fn coverage<T>(t: i64, tiling: &Tiling<T>) -> i64 {
        let inside = |(a, b): Range| a <= t && t < b;
        let slots: i64 = tiling
            .slots
            .iter()
            .filter(|p| inside(p.1))
            .map(|p| p.2)
            .sum();
        let rows: i64 = tiling
            .rows
            .iter()
            .filter(|p| inside(p.0))
            .map(|p| p.1)
            .sum();
        slots + rows
    }

    #[test]
    fn whole_slots_go_to_rollups_and_partial_slots_to_rows() {
        let pieces = tile(HOUR + 5, 4 * HOUR + 7, &[((), HOUR)]);
        assert_eq!(pieces.slots, vec![((), (HOUR, 4 * HOUR), 1)]);
        assert_eq!(
            pieces.rows,
            vec![((HOUR, HOUR + 5), -1), ((4 * HOUR, 4 * HOUR + 7), 1)]
        );
        let late = tile(HOUR + 50 * MINUTE, 4 * HOUR, &[((), HOUR)]);
        assert_eq!(late.slots, vec![((), (2 * HOUR, 4 * HOUR), 1)]);
        assert_eq!(late.rows, vec![((HOUR + 50 * MINUTE, 2 * HOUR), 1)]);
        let aligned = tile(HOUR, 3 * HOUR, &[((), HOUR)]);
        assert_eq!(aligned.slots, vec![((), (HOUR, 3 * HOUR), 1)]);
        assert!(aligned.rows.is_empty());
        let inside = tile(HOUR + 1, HOUR + 50, &[((), HOUR)]);
        assert!(inside.slots.is_empty());
        assert_eq!(inside.rows, vec![((HOUR + 1, HOUR + 50), 1)]);
    }

    #[test]
    fn a_day_starting_just_after_midnight_is_a_day_minus_the_start() {
        let from = DAY + 30 * MINUTE;
        let Tiling { slots, rows } = tile(from, 3 * DAY, &[((), DAY), ((), HOUR)]);
        assert_eq!(slots, vec![((), (DAY, 3 * DAY), 1)]);
        assert_eq!(rows, vec![((DAY, from), -1)]);
        // 00:45: the subtracted 45 minutes are an hour minus 15 minutes.
        let from = DAY + 45 * MINUTE;
        let Tiling { slots, rows } = tile(from, 3 * DAY, &[((), DAY), ((), HOUR)]);
        assert_eq!(
            slots,
            vec![((), (DAY, 3 * DAY), 1), ((), (DAY, DAY + HOUR), -1)]
        );
        assert_eq!(rows, vec![((from, DAY + HOUR), 1)]);
    }

    #[test]
    fn the_end_of_the_window_is_never_grown_past() {
        let to = 3 * DAY - MINUTE;
        let Tiling { slots, rows } = tile(DAY, to, &[((), DAY), ((), HOUR)]);
        assert_eq!(
            slots,
            vec![((), (DAY, 2 * DAY), 1), ((), (2 * DAY, 3 * DAY - HOUR), 1)]
        );
        assert_eq!(rows, vec![((3 * DAY - HOUR, to), 1)]);
    }

    proptest::proptest! {
        /// Over the whole `i64` range, with slots as wide as the ladder's:
        /// nothing overflows, and the pieces count the window's ends and
        /// its neighbours exactly.
        #[test]
        fn tiling_any_i64_window_never_overflows(
            a in proptest::num::i64::ANY,
            b in proptest::num::i64::ANY,
            near_edge in proptest::bool::ANY,
        ) {
            let (from, to) = if near_edge {
                (i64::MAX - a.rem_euclid(3 * DAY) - 1, i64::MAX - b.rem_euclid(DAY))
            } else {
                (a.min(b), a.max(b))
            };
            proptest::prop_assume!(from < to);
            let levels = [(DAY, DAY), (HOUR, HOUR), (QUARTER_HOUR, QUARTER_HOUR)];
            let pieces = tile(from, to, &levels);
            for t in [from, to - 1, from.saturating_sub(1), to, from / 2 + to / 2] {
                let want = i64::from(from <= t && t < to);
                proptest::prop_assert_eq!(coverage(t, &pieces), want, "t = {}", t);
            }
        }

        /// Whatever the window and levels, the signed pieces count every
        /// instant inside it once and every instant outside it not at all,
        /// and every slot piece is whole slots of its level.
        #[test]
        fn signed_pieces_cover_the_window_exactly(
            from in 0i64..10 * DAY,
            len in 1i64..10 * DAY,
            probes in proptest::collection::vec(0i64..21 * DAY, 50),
        ) {
            let to = from + len;
            // Each level tagged with its slot width.
            let levels = [(DAY, DAY), (HOUR, HOUR), (QUARTER_HOUR, QUARTER_HOUR)];
            let pieces = tile(from, to, &levels);
            for &(slot, (a, b), _) in &pieces.slots {
                proptest::prop_assert!(a < b);
                proptest::prop_assert_eq!(a % slot, 0);
                proptest::prop_assert_eq!(b % slot, 0);
            }
            for t in probes.into_iter().chain([from - 1, from, to - 1, to]) {
                let want = i64::from(from <= t && t < to);
                proptest::prop_assert_eq!(coverage(t, &pieces), want, "t = {}", t);
            }
        }
    }

    #[test]
    fn buckets_use_the_coarsest_rollup_that_tiles_them() {
        let chart = |basis: Basis, width| basis.levels(GroupBy::Chart, width);
        assert_eq!(chart(Basis::Runs, 6 * HOUR), vec![&HOURLY]);
        assert_eq!(chart(Basis::Runs, 15 * MINUTE), vec![&QUARTER_HOURLY]);
        assert!(chart(Basis::Runs, 5 * MINUTE).is_empty());
        let path = Basis::Pairs(Pairs::ToolPaths, "a.b");
        assert_eq!(chart(path, 2 * DAY), vec![&TOOL_CLASS_DAILY]);
        assert_eq!(chart(path, 2 * HOUR), vec![&TOOL_CLASS_HOURLY]);
        assert!(chart(path, 15 * MINUTE).is_empty());
        let namespace = Basis::Pairs(Pairs::ToolNamespaces, "a");
        assert_eq!(chart(namespace, 2 * HOUR), vec![&NAMESPACE_CLASS_HOURLY]);
        assert!(chart(Basis::Rows, DAY).is_empty());
        // Facets have no buckets: the whole ladder, whatever the width.
        assert_eq!(
            Basis::Runs.levels(GroupBy::Facets, 5 * MINUTE),
            vec![&HOURLY, &QUARTER_HOURLY]
        );
    }
}
