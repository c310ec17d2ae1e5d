//! The one query builder for filters: list, facets, chart and export all
//! narrow runs through [`push_filters`], so a filter means the same everywhere.
//! Runs are aliased `e`.

use super::db::{Db, Dialect, Sql};
use super::StoreError;
use crate::model::{Filters, TriggerFilter};

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

/// How a code filter is answered (SQLite; PostgreSQL always scans through its
/// trigram index).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodePlan {
    /// No code filter, or a predicate on each row.
    Scan,
    /// Few runs match: start from the trigram index's matches, then order
    /// them. Walking the list order and probing each run would read the
    /// whole window to find a handful of rows.
    DriveFromIndex,
}

/// Matches at most this many runs and the code filter drives the query.
const DRIVE_FROM_INDEX_BELOW: i64 = 5_000;

/// Filters resolved against the database once per request.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub tools: ToolPaths,
    pub code: CodePlan,
}

impl Resolved {
    pub fn matches_nothing(&self) -> bool {
        self.tools.matches_nothing()
    }

    /// The same filters for a query whose FROM clause is not the runs table.
    pub fn scanning(&self) -> Self {
        Self {
            tools: self.tools.clone(),
            code: CodePlan::Scan,
        }
    }
}

pub async fn resolve(db: &Db, scope: &str, filters: &Filters) -> Result<Resolved, StoreError> {
    let tools = resolve_tools(db, scope, filters).await?;
    let code = match code_match_count_sql(db, scope, filters) {
        Some(sql) => {
            let (n,): (i64,) = db.fetch_optional(sql).await?.unwrap_or((0,));
            if n < DRIVE_FROM_INDEX_BELOW {
                CodePlan::DriveFromIndex
            } else {
                CodePlan::Scan
            }
        }
        None => CodePlan::Scan,
    };
    Ok(Resolved { tools, code })
}

/// Counts the code filter's matches in the trigram index, up to the
/// threshold; `None` when there is no code filter the index can answer.
fn code_match_count_sql(db: &Db, scope: &str, filters: &Filters) -> Option<Sql> {
    let needle = filters.code.as_deref()?;
    let mut sql = db.sql();
    match db.dialect() {
        Dialect::Sqlite if needle.chars().count() >= 3 => {
            sql.push("SELECT count(*) FROM (SELECT rowid FROM execution_code WHERE execution_code MATCH ")
                .bind(fts_phrase(needle));
        }
        Dialect::Sqlite => return None,
        Dialect::Postgres => {
            sql.push("SELECT count(*) FROM (SELECT 1 FROM execution_code_search WHERE scope_id = ")
                .bind(scope)
                .push(" AND code ILIKE ")
                .bind(ilike_pattern(needle))
                .push(" ESCAPE '\\'");
        }
    }
    sql.push(" LIMIT ")
        .bind(DRIVE_FROM_INDEX_BELOW)
        .push(") matches");
    Some(sql)
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

/// ` FROM execution e`, or the trigram matches joined to their runs.
pub fn push_runs_from(sql: &mut Sql, filters: &Filters, resolved: &Resolved) {
    match (&filters.code, resolved.code) {
        (Some(needle), CodePlan::DriveFromIndex) if sql.dialect == Dialect::Sqlite => {
            // CROSS JOIN fixes the join order in SQLite: matches first.
            sql.push(" FROM (SELECT rowid AS rid FROM execution_code WHERE execution_code MATCH ")
                .bind(fts_phrase(needle))
                .push(") m CROSS JOIN execution e ON e.rowid = m.rid");
        }
        (Some(needle), CodePlan::DriveFromIndex) => {
            sql.push(" FROM (SELECT scope_id, execution_id FROM execution_code_search WHERE code ILIKE ")
                .bind(ilike_pattern(needle))
                .push(" ESCAPE '\\') m JOIN execution e ON e.scope_id = m.scope_id AND e.id = m.execution_id");
        }
        _ => {
            sql.push(" FROM execution e");
        }
    }
}

/// `%needle%` with ILIKE's wildcards escaped, so they match literally.
fn ilike_pattern(needle: &str) -> String {
    let escaped = needle
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// A quoted FTS5 phrase: with the trigram tokenizer, an exact substring.
fn fts_phrase(needle: &str) -> String {
    format!("\"{}\"", needle.replace('"', "\"\""))
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
    if !skip.status && !filters.statuses.is_empty() {
        sql.push(" AND e.status IN ")
            .bind_list(filters.statuses.iter().map(|s| s.as_str()));
    }
    if !skip.trigger && !filters.triggers.is_empty() {
        push_trigger_filter(sql, &filters.triggers);
    }
    if !skip.elicitation {
        if let Some(had) = filters.elicitation {
            sql.push(" AND e.had_elicitation = ").bind(had);
        }
    }
    if let Some(min) = filters.min_duration_ms {
        sql.push(" AND e.duration_ms >= ").bind(min);
    }
    if let Some(max) = filters.max_duration_ms {
        sql.push(" AND e.duration_ms <= ").bind(max);
    }
    if let (Some(code), CodePlan::Scan) = (&filters.code, resolved.code) {
        push_code_filter(sql, code);
    }
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
                .bind_list(paths.iter().map(String::as_str))
                .push(")");
            }
        }
    }
}

fn push_trigger_filter(sql: &mut Sql, triggers: &[TriggerFilter]) {
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
        sql.push("e.trigger_kind IN ").bind_list(kinds);
        if unknown {
            sql.push(" OR ");
        }
    }
    if unknown {
        sql.push("e.trigger_kind IS NULL");
    }
    sql.push(")");
}

/// Case-insensitive substring. SQLite answers from the FTS5 trigram index for
/// three characters or more (a quoted phrase of trigrams is an exact substring
/// match); shorter needles scan. PostgreSQL uses ILIKE over the pg_trgm index
/// of `execution_code_search`.
fn push_code_filter(sql: &mut Sql, needle: &str) {
    match sql.dialect {
        Dialect::Sqlite if needle.chars().count() >= 3 => {
            sql.push(
                " AND e.rowid IN (SELECT rowid FROM execution_code WHERE execution_code MATCH ",
            )
            .bind(fts_phrase(needle))
            .push(")");
        }
        Dialect::Sqlite => {
            sql.push(" AND instr(lower(e.code), lower(")
                .bind(needle)
                .push(")) > 0");
        }
        Dialect::Postgres => {
            sql.push(
                " AND e.id IN (SELECT c.execution_id FROM execution_code_search c \
                 WHERE c.scope_id = e.scope_id AND c.code ILIKE ",
            )
            .bind(ilike_pattern(needle))
            .push(" ESCAPE '\\')");
        }
    }
}
