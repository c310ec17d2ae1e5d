//! The reads of an estimated meta (see [`super::estimate`]): the window's
//! exact run totals per bucket from the roll-ups, then the sample's slices
//! run by run, with every filter applied.

use std::collections::{BTreeMap, HashMap};

use sqlx::FromRow;

use super::db::{Dialect, Sql};
use super::duration_tiling::DurationTiling;
use super::estimate::{self, Bound, Slice, Stratum, Weights};
use super::filter_sql::{
    per_run_subquery, push_filters, runs_by_time, DurationParts, Resolved, Skip, ToolPaths,
    ToolProbe,
};
use super::meta::{fold, top_tools, Basis, GroupBy, GroupRow, ToolCounts};
use super::text_search::TextPlan;
use super::{Store, StoreError};
use crate::model::{ChartWindow, EpochMs, Estimate, Filters, ListMeta, ToolFacet};

#[derive(FromRow)]
struct BucketRow {
    bucket: i64,
    n: i64,
}

#[derive(FromRow)]
struct ToolBucketRow {
    tool_path: String,
    bucket: i64,
    n: i64,
}

/// What reading one run of a cut duration class costs, in budget units
/// (see `estimate::run_cost`): its entry in the duration index, which
/// carries all that is counted. Parts that would cost more than the
/// window's budget are estimated too.
const PART_RUN_COST: i64 = 3;

/// An estimated meta's tool facets: from the sample, or exact from the tool
/// roll-ups when they answer (a glob), read beside the sample.
enum Tools {
    Sampled(Vec<ToolBucketRow>),
    Exact(Vec<ToolFacet>),
}

/// `WITH s(a, b, bucket) AS (VALUES …)`: the slices, as a table.
fn push_slices(sql: &mut Sql, slices: &[Slice]) {
    sql.push("WITH s(a, b, bucket) AS (VALUES ");
    for (i, s) in slices.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push("(")
            .bind(s.from)
            .push(", ")
            .bind(s.to)
            .push(", ")
            .bind(s.bucket)
            .push(")");
    }
    sql.push(")");
}

/// ` FROM s … WHERE` the runs created in a slice, then `also` (more tables
/// joined to each run, their conditions after). Each slice must be one
/// index range read: SQLite keeps the slices outside under CROSS JOIN (it
/// would rather scan the scope's runs against every slice); PostgreSQL
/// joined the slices to a scan of every run (3.5–17.6 s at 300,000 runs)
/// until each slice became a LATERAL subquery that `OFFSET 0` keeps from
/// being flattened back into that join.
fn push_runs_in_slices(sql: &mut Sql, scope: &str, also: &str) {
    match sql.dialect {
        Dialect::Sqlite => {
            let hint = runs_by_time(sql.dialect);
            sql.push(" FROM s CROSS JOIN execution e")
                .push(hint)
                .push(also)
                .push(" WHERE e.scope_id = ")
                .bind(scope)
                .push(" AND e.created_at >= s.a AND e.created_at < s.b");
        }
        Dialect::Postgres => {
            sql.push(" FROM s CROSS JOIN LATERAL (SELECT * FROM execution r WHERE r.scope_id = ")
                .bind(scope)
                .push(" AND r.created_at >= s.a AND r.created_at < s.b")
                .push(per_run_subquery(Dialect::Postgres))
                .push(") e")
                .push(also)
                .push(" WHERE true");
        }
    }
}

/// The filters without their time bounds: the slices lie inside them.
fn untimed(filters: &Filters) -> Filters {
    Filters {
        from: None,
        after: None,
        to: None,
        ..filters.clone()
    }
}

impl Store {
    /// The meta estimated from a sample, or `None` when the exact meta is
    /// cheap enough: the roll-ups answer the view, the trigram index narrows
    /// its code filter to few runs, or its window holds few runs.
    pub(super) async fn estimated_meta(
        &self,
        scope: &str,
        filters: &Filters,
        resolved: &Resolved,
        window: ChartWindow,
    ) -> Result<Option<ListMeta>, StoreError> {
        let basis = Basis::of(filters, resolved);
        if let Basis::Durations(tiling) = basis {
            return self
                .duration_meta_estimated(scope, filters, resolved, window, tiling)
                .await;
        }
        // Few runs: counted exactly. A driving text filter has few matches,
        // and a session few runs, read from its index.
        let few = resolved.text.drives() || !filters.sessions.is_empty();
        if basis != Basis::Rows || few || resolved.matches_nothing() {
            return Ok(None);
        }
        let strata = self.strata(scope, window).await?;
        let tools_sampled = !super::meta::tool_rollups_answer(filters);
        let cost = estimate::run_cost(filters, &resolved.tools, tools_sampled);
        let Some(slices) = estimate::plan(&strata, cost, estimate::budget(&window)) else {
            return Ok(None);
        };
        let (total, matches, read, tools) = tokio::try_join!(
            self.total(scope),
            self.sampled_groups(scope, filters, resolved, &slices),
            self.sampled_runs(scope, &slices),
            async {
                Ok(if tools_sampled {
                    Tools::Sampled(
                        self.sampled_tool_rows(scope, filters, resolved, &slices)
                            .await?,
                    )
                } else {
                    Tools::Exact(self.tool_facets(scope, filters, resolved, window).await?)
                })
            },
        )?;
        let weights = estimate::weights(&strata, &read);
        let mut bound = Bound::default();
        let mut groups = Vec::with_capacity(matches.len());
        let mut by_class: BTreeMap<(String, Option<String>, bool), i64> = BTreeMap::new();
        for g in matches {
            let Some(w) = weights.by_bucket.get(&g.bucket) else {
                continue;
            };
            bound.add(g.bucket, g.n);
            *by_class
                .entry((g.status.clone(), g.trigger_kind.clone(), g.had_elicitation))
                .or_default() += g.n;
            groups.push(GroupRow {
                n: estimate::scaled(g.n, w.per_run),
                ..g
            });
        }
        // Strata the slices read nothing of: scaled by the sample's overall
        // rate (their runs are in the bound).
        for s in &weights.unread {
            let rate = s.runs as f64 / weights.sampled_runs.max(1) as f64;
            for ((status, trigger_kind, had_elicitation), m) in &by_class {
                groups.push(GroupRow {
                    status: status.clone(),
                    trigger_kind: trigger_kind.clone(),
                    had_elicitation: *had_elicitation,
                    bucket: s.bucket,
                    n: estimate::scaled(*m, rate),
                });
            }
        }
        let (tool_facets, tool_bound) = match tools {
            Tools::Sampled(rows) => estimated_tool_facets(rows, &weights),
            Tools::Exact(exact) => {
                let fixed = exact
                    .into_iter()
                    .map(|t| ToolFacet {
                        count: t.count * estimate::FIXED_POINT,
                        ..t
                    })
                    .collect();
                (fixed, 0)
            }
        };
        let mut meta = fold(filters, window, total, groups, None, tool_facets);
        meta.map_counts(estimate::unscaled);
        estimate::mark(
            &mut meta,
            Estimate {
                estimated: estimate::estimated_counts(tools_sampled),
                error_bound: bound.runs(&weights).max(tool_bound),
                sampled_runs: weights.sampled_runs,
                window_runs: strata.iter().map(|s| s.runs).sum(),
            },
        );
        Ok(Some(meta))
    }

    /// Under a duration filter the roll-ups count the runs of whole duration
    /// classes exactly, but not the tool paths they called, nor the runs of
    /// the classes a bound cuts (a class of typical durations can hold
    /// most of a window's runs). Past the budget, the tool facets are
    /// estimated from a sample; the cut classes' parts too, when the sample
    /// says reading them would cost more than the budget (see
    /// [`PART_RUN_COST`]).
    async fn duration_meta_estimated(
        &self,
        scope: &str,
        filters: &Filters,
        resolved: &Resolved,
        window: ChartWindow,
        tiling: DurationTiling,
    ) -> Result<Option<ListMeta>, StoreError> {
        let strata = self.strata(scope, window).await?;
        let cost = estimate::run_cost(filters, &resolved.tools, true);
        let Some(slices) = estimate::plan(&strata, cost, estimate::budget(&window)) else {
            return Ok(None);
        };
        let (rows, read, parts) = tokio::try_join!(
            self.sampled_tool_rows(scope, filters, resolved, &slices),
            self.sampled_runs(scope, &slices),
            self.sampled_parts(scope, filters, resolved, tiling, &slices),
        )?;
        let weights = estimate::weights(&strata, &read);
        let mut bound = Bound::default();
        let mut part_groups = Vec::with_capacity(parts.len());
        let mut part_runs = 0;
        for (g, sign) in parts {
            let Some(w) = weights.by_bucket.get(&g.bucket) else {
                continue;
            };
            bound.add(g.bucket, g.n);
            let n = estimate::scaled(g.n, w.per_run);
            part_runs += n;
            part_groups.push(GroupRow { n: n * sign, ..g });
        }
        let estimate_parts =
            estimate::unscaled(part_runs) * PART_RUN_COST > estimate::budget(&window);
        let mut meta = if estimate_parts {
            let without_parts = Resolved {
                duration_parts: DurationParts::Estimated,
                ..resolved.clone()
            };
            self.exact_meta_plus(scope, filters, &without_parts, window, part_groups)
                .await?
        } else {
            self.exact_meta(scope, filters, resolved, window, ToolCounts::Skipped)
                .await?
        };
        let (mut facets, tool_bound) = estimated_tool_facets(rows, &weights);
        for t in &mut facets {
            t.count = estimate::unscaled(t.count);
        }
        meta.tool_facets = facets;
        let (estimated, error_bound) = if estimate_parts {
            (
                estimate::estimated_counts(true),
                bound.runs(&weights).max(tool_bound),
            )
        } else {
            (vec!["toolFacets".to_owned()], tool_bound)
        };
        estimate::mark(
            &mut meta,
            Estimate {
                estimated,
                error_bound,
                sampled_runs: weights.sampled_runs,
                window_runs: strata.iter().map(|s| s.runs).sum(),
            },
        );
        Ok(Some(meta))
    }

    /// The sample's runs in each part of `tiling` by class and bucket, with
    /// the part's sign.
    async fn sampled_parts(
        &self,
        scope: &str,
        filters: &Filters,
        resolved: &Resolved,
        tiling: DurationTiling,
        slices: &[Slice],
    ) -> Result<Vec<(GroupRow, i64)>, StoreError> {
        let mut out = Vec::new();
        for ((lo, hi), sign) in tiling.parts() {
            let part = Filters {
                min_duration_ms: Some(lo),
                max_duration_ms: Some(hi - 1),
                ..filters.clone()
            };
            let found = self.sampled_groups(scope, &part, resolved, slices).await?;
            out.extend(found.into_iter().map(|g| (g, sign)));
        }
        Ok(out)
    }

    /// The window's strata with their runs, exactly, from the roll-ups.
    async fn strata(&self, scope: &str, window: ChartWindow) -> Result<Vec<Stratum>, StoreError> {
        let all = Filters {
            from: Some(EpochMs::clamped(window.from)),
            to: Some(EpochMs::clamped(window.to)),
            ..Filters::default()
        };
        let any = Resolved {
            tools: ToolPaths::Any,
            text: TextPlan::Scan,
            tool_probe: ToolProbe::Planned,
            duration_parts: DurationParts::Read,
        };
        let mut runs: HashMap<i64, i64> = HashMap::new();
        for g in self
            .groups(scope, &all, &any, window, GroupBy::Chart)
            .await?
        {
            *runs.entry(g.bucket).or_default() += g.n;
        }
        Ok(estimate::strata(&window, &runs))
    }

    /// The sample's matching runs by class and bucket.
    async fn sampled_groups(
        &self,
        scope: &str,
        filters: &Filters,
        resolved: &Resolved,
        slices: &[Slice],
    ) -> Result<Vec<GroupRow>, StoreError> {
        let mut sql = self.db().sql();
        push_slices(&mut sql, slices);
        sql.push(
            " SELECT e.status AS status, e.trigger_kind AS trigger_kind, \
             e.had_elicitation AS had_elicitation, s.bucket AS bucket, count(*) AS n",
        );
        push_runs_in_slices(&mut sql, scope, "");
        let skip = Skip {
            status: true,
            trigger: true,
            tool: false,
            elicitation: true,
        };
        push_filters(&mut sql, &untimed(filters), &resolved.row_by_row(), skip);
        sql.push(" GROUP BY e.status, e.trigger_kind, e.had_elicitation, s.bucket");
        Ok(self.db().fetch_all(sql).await?)
    }

    /// Runs the sample read per bucket, whatever they matched.
    async fn sampled_runs(
        &self,
        scope: &str,
        slices: &[Slice],
    ) -> Result<HashMap<i64, i64>, StoreError> {
        let mut sql = self.db().sql();
        push_slices(&mut sql, slices);
        sql.push(" SELECT s.bucket AS bucket, count(*) AS n");
        push_runs_in_slices(&mut sql, scope, "");
        sql.push(" GROUP BY s.bucket");
        let rows: Vec<BucketRow> = self.db().fetch_all(sql).await?;
        Ok(rows.into_iter().map(|r| (r.bucket, r.n)).collect())
    }

    /// The sample's (run, tool path) pairs matching every filter but the
    /// tool filter, by path and bucket.
    async fn sampled_tool_rows(
        &self,
        scope: &str,
        filters: &Filters,
        resolved: &Resolved,
        slices: &[Slice],
    ) -> Result<Vec<ToolBucketRow>, StoreError> {
        // Each sampled run, then its pairs by the run (one seek a run); the
        // pairs by time, each joined to its run, cost five seeks a run.
        let mut sql = self.db().sql();
        push_slices(&mut sql, slices);
        sql.push(" SELECT tp.tool_path AS tool_path, s.bucket AS bucket, count(*) AS n");
        push_runs_in_slices(&mut sql, scope, " CROSS JOIN execution_tool_path tp");
        sql.push(" AND tp.scope_id = e.scope_id AND tp.execution_id = e.id");
        let skip = Skip {
            tool: true,
            ..Skip::NONE
        };
        push_filters(&mut sql, &untimed(filters), &resolved.row_by_row(), skip);
        sql.push(" GROUP BY tp.tool_path, s.bucket");
        Ok(self.db().fetch_all(sql).await?)
    }
}

/// The top tool paths by estimated runs (in fixed point), with the largest
/// error bound among them.
fn estimated_tool_facets(rows: Vec<ToolBucketRow>, weights: &Weights) -> (Vec<ToolFacet>, i64) {
    let mut by_path: HashMap<String, (i64, Bound)> = HashMap::new();
    for r in rows {
        let Some(w) = weights.by_bucket.get(&r.bucket) else {
            continue;
        };
        let (sum, bound) = by_path.entry(r.tool_path).or_default();
        *sum += estimate::scaled(r.n, w.per_run);
        bound.add(r.bucket, r.n);
    }
    let worst = by_path
        .values()
        .map(|(_, b)| b.runs(weights))
        .max()
        .unwrap_or(0);
    let facets = by_path
        .into_iter()
        .map(|(tool_path, (count, _))| ToolFacet { tool_path, count })
        .filter(|t| estimate::unscaled(t.count) > 0)
        .collect();
    (top_tools(facets), worst)
}
