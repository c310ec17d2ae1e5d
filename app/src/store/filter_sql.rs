//! The one query builder for filters: list, facets, chart and export all
//! narrow runs through [`push_filters`], so a filter means the same everywhere.
//! Runs are aliased `e`.

use super::db::{Db, Dialect, Sql};
use super::rollup::Pairs;
use super::text_search::{self, TextPlan};
use super::StoreError;
use crate::model::{Filters, SessionId, TriggerFilter};

/// Dimensions that disjunctive facet counting leaves out of the WHERE clause.
#[derive(Clone, Copy, Debug, Default)]
pub struct Skip {
    pub status: bool,
    pub trigger: bool,
    pub tool: bool,
    pub elicitation: bool,
}

impl Skip {
    pub const NONE: Skip = Skip {
        status: false,
        trigger: false,
        tool: false,
        elicitation: false,
    };
}

/// Filters resolved against the database once per request.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub tools: ToolPaths,
    pub text: TextPlan,
    pub tool_probe: ToolProbe,
    pub duration_parts: DurationParts,
}

/// Whether the grouped counts of a duration filter read the runs of the
/// classes its bounds cut (see `meta::Basis::Durations`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DurationParts {
    #[default]
    Read,
    /// Left out: an estimate of them is added instead.
    Estimated,
}

/// How a tool filter of several paths tests a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ToolProbe {
    /// As the planner likes: over many runs, PostgreSQL hashes the paths'
    /// pairs once (a semi-join), which beats probing each run.
    #[default]
    Planned,
    /// Probe each run's own pairs: for queries that read few runs (an
    /// estimate's sample), where hashing every pair of the paths cost
    /// PostgreSQL 290 ms of a 356 ms sample that probing read in 28.
    EachRun,
}

impl Resolved {
    pub fn matches_nothing(&self) -> bool {
        self.tools.matches_nothing()
    }

    /// The same filters for a query whose FROM clause is not the runs table
    /// (the index's matches cannot drive it), or that reads few runs: a
    /// text filter is tested on each run's text. Semi-joined to the index's
    /// matches instead, SQLite let the matches drive a join with the tool
    /// pairs and read the window's pairs once per match (30 s for 12,000).
    pub fn row_by_row(&self) -> Self {
        Self {
            tools: self.tools.clone(),
            text: TextPlan::TestEachRow,
            tool_probe: ToolProbe::EachRun,
            duration_parts: self.duration_parts,
        }
    }
}

pub async fn resolve(db: &Db, scope: &str, filters: &Filters) -> Result<Resolved, StoreError> {
    let tools = resolve_tools(db, scope, filters).await?;
    let text = text_search::plan(db, scope, filters).await?;
    Ok(Resolved {
        tools,
        text,
        tool_probe: ToolProbe::Planned,
        duration_parts: DurationParts::Read,
    })
}

/// Follows `execution_tool_path [alias]` in queries that read a time window
/// of it. SQLite, without statistics, would rather walk the whole path index
/// (`execution_tool_path_path_idx`) to save the GROUP BY a sort.
pub fn tool_paths_by_time(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => " INDEXED BY execution_tool_path_created_idx",
        Dialect::Postgres => "",
    }
}

/// Follows `execution e` in queries that read short time ranges of the runs
/// (an estimate's slices): SQLite would rather take the duration index under
/// a duration filter and read every run of it.
pub fn runs_by_time(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => " INDEXED BY execution_scope_created_idx",
        Dialect::Postgres => "",
    }
}

/// Follows a pair table in queries that read one name's time range of it
/// (one tool path, one namespace): SQLite would rather take another index
/// and read every name's pairs.
pub fn pairs_by_name(dialect: Dialect, pairs: Pairs) -> &'static str {
    match (dialect, pairs) {
        (Dialect::Sqlite, Pairs::ToolPaths) => " INDEXED BY execution_tool_path_path_idx",
        (Dialect::Sqlite, Pairs::ToolNamespaces) => " INDEXED BY execution_tool_namespace_idx",
        (Dialect::Postgres, _) => "",
    }
}

/// Ends a correlated subquery that must run once per outer row: PostgreSQL
/// does not pull a subquery with an OFFSET up into a join. SQLite runs
/// such subqueries per row anyway (and has no OFFSET without LIMIT).
pub fn per_run_subquery(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "",
        Dialect::Postgres => " OFFSET 0",
    }
}

/// ` FROM execution e`, or the trigram matches joined to their runs.
pub fn push_runs_from(sql: &mut Sql, filters: &Filters, resolved: &Resolved) {
    let driver = filters
        .text_searches()
        .find(|(field, _)| resolved.text == TextPlan::DriveFromIndex(*field));
    match driver {
        Some((field, needle)) => text_search::push_from_matches(sql, field, needle),
        None => {
            sql.push(" FROM execution e");
        }
    }
}

/// Tool patterns resolved to the concrete paths a scope has called.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToolPaths {
    Any,
    OneOf(Vec<String>),
}

impl ToolPaths {
    /// True when a tool filter is set but no path of the scope matches it.
    pub fn matches_nothing(&self) -> bool {
        matches!(self, ToolPaths::OneOf(paths) if paths.is_empty())
    }
}

/// Resolves the `tool` patterns against the scope's catalog of called paths.
/// Exact patterns need no lookup; wildcards are matched in Rust so SQLite and
/// PostgreSQL agree to the letter.
async fn resolve_tools(db: &Db, scope: &str, filters: &Filters) -> Result<ToolPaths, StoreError> {
    if filters.tools.is_empty() {
        return Ok(ToolPaths::Any);
    }
    let mut paths: Vec<String> = filters
        .tools
        .iter()
        .filter(|p| p.is_exact())
        .map(|p| p.as_str().to_owned())
        .collect();
    if filters.tools.iter().any(|p| !p.is_exact()) {
        let mut sql = db.sql();
        sql.push("SELECT tool_path FROM tool_path_catalog WHERE scope_id = ")
            .bind(scope);
        let catalog: Vec<(String,)> = db.fetch_all(sql).await?;
        for (path,) in catalog {
            if filters.tools.iter().any(|p| p.matches(&path)) && !paths.contains(&path) {
                paths.push(path);
            }
        }
    }
    Ok(ToolPaths::OneOf(paths))
}

/// Appends ` AND …` for every filter not skipped. The time window uses
/// `from`/`after` as inclusive/exclusive lower bounds and `to` as exclusive.
pub fn push_filters(sql: &mut Sql, filters: &Filters, resolved: &Resolved, skip: Skip) {
    let tools = &resolved.tools;
    if let Some(lower) = filters.lower_bound() {
        sql.push(" AND e.created_at >= ").bind(lower.get());
    }
    if let Some(to) = filters.to {
        sql.push(" AND e.created_at < ").bind(to.get());
    }
    push_class_filters(sql, filters, ("e.", NoTrigger::Null), skip);
    if !filters.sessions.is_empty() {
        // Answered from the session index (scope, session, time): a
        // session's runs are few, wherever the window lies.
        sql.push(" AND e.session_id IN ")
            .bind_list(filters.sessions.iter().map(SessionId::as_str));
    }
    if let Some(min) = filters.min_duration_ms {
        sql.push(" AND e.duration_ms >= ").bind(min);
    }
    if let Some(max) = filters.max_duration_ms {
        sql.push(" AND e.duration_ms <= ").bind(max);
    }
    text_search::push_filters(sql, filters, resolved.text);
    if !skip.tool {
        match tools {
            ToolPaths::Any => {}
            ToolPaths::OneOf(paths) if paths.is_empty() => {
                sql.push(" AND 1 = 0");
            }
            ToolPaths::OneOf(paths) => {
                sql.push(
                    " AND EXISTS (SELECT 1 FROM execution_tool_path tp \
                     WHERE tp.scope_id = e.scope_id AND tp.execution_id = e.id AND tp.tool_path IN ",
                )
                .bind_list(paths.iter().map(String::as_str));
                if resolved.tool_probe == ToolProbe::EachRun {
                    sql.push(per_run_subquery(sql.dialect));
                }
                sql.push(")");
            }
        }
    }
}

/// How a table spells a run without a trigger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoTrigger {
    /// `NULL`, as the runs and their tool paths keep it.
    Null,
    /// `''`, as the roll-ups key it (a key column cannot be NULL).
    Empty,
}

/// Appends ` AND …` for the status, trigger and elicitation filters not
/// skipped, over columns `status`, `trigger_kind` and `had_elicitation`
/// prefixed by `prefix` (the runs `e.`; a roll-up or a pair table, nothing)
/// in a table that spells "no trigger" as `no_trigger`.
pub fn push_class_filters(
    sql: &mut Sql,
    filters: &Filters,
    (prefix, no_trigger): (&str, NoTrigger),
    skip: Skip,
) {
    if !skip.status && !filters.statuses.is_empty() {
        sql.push(" AND ")
            .push(prefix)
            .push("status IN ")
            .bind_list(filters.statuses.iter().map(|s| s.as_str()));
    }
    if !skip.trigger && !filters.triggers.is_empty() {
        let column = format!("{prefix}trigger_kind");
        push_trigger_filter(sql, &column, no_trigger, &filters.triggers);
    }
    if !skip.elicitation {
        if let Some(had) = filters.elicitation {
            sql.push(" AND ")
                .push(prefix)
                .push("had_elicitation = ")
                .bind(had);
        }
    }
}

fn push_trigger_filter(
    sql: &mut Sql,
    column: &str,
    no_trigger: NoTrigger,
    triggers: &[TriggerFilter],
) {
    let kinds: Vec<&str> = triggers
        .iter()
        .filter_map(|t| match t {
            TriggerFilter::Kind(k) => Some(k.as_str()),
            TriggerFilter::Unknown => None,
        })
        .collect();
    let unknown = triggers.contains(&TriggerFilter::Unknown);
    sql.push(" AND (");
    if !kinds.is_empty() {
        sql.push(column).push(" IN ").bind_list(kinds);
        if unknown {
            sql.push(" OR ");
        }
    }
    if unknown {
        sql.push(column).push(match no_trigger {
            NoTrigger::Null => " IS NULL",
            NoTrigger::Empty => " = ''",
        });
    }
    sql.push(")");
}
