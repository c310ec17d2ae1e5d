//! Pages of runs: keyset pagination on (sort key, id) in the requested
//! direction, so every row appears exactly once and deep pages cost the same
//! as the first.

use std::collections::HashMap;
use std::future::Future;

use super::db::Sql;
use super::filter_sql::{push_filters, push_runs_from, resolve, Resolved, Skip, ToolPaths};
use super::rows::{EXECUTION_COLUMNS, INTERACTION_COLUMNS};
use super::text_search::{self, TextPlan};
use super::{Store, StoreError};
use crate::model::{
    Counts, Cursor, Execution, ExecutionEnvelope, Filters, Interaction, ListMeta, ListPage,
    ListQuery, Sort, SortDir, SortKey,
};

/// Runs a first page walks in list order, testing each one's texts, before
/// it semi-joins the trigram indexes' matches: a needle most runs contain
/// fills a page within a few dozen runs, where its matches are most of the
/// scope (materialising them took 0.6 s at a million runs).
const TEXT_WALK: i64 = 2_000;

/// ` AND (key, id) > (…)`: the rows after the cursor in list order.
fn push_cursor(sql: &mut Sql, cursor: Option<&Cursor>, (expr, id): (&str, &str), cmp: &str) {
    if let Some(cursor) = cursor {
        sql.push(" AND (")
            .push(expr)
            .push(", ")
            .push(id)
            .push(") ")
            .push(cmp)
            .push(" (")
            .bind(cursor.key)
            .push(", ")
            .bind(cursor.id.as_str())
            .push(")");
    }
}

/// ` ORDER BY key, id` in the list's direction.
fn push_order(sql: &mut Sql, (expr, id): (&str, &str), order: &str) {
    sql.push(" ORDER BY ")
        .push(expr)
        .push(" ")
        .push(order)
        .push(", ")
        .push(id)
        .push(" ")
        .push(order);
}

/// The SQL expression a sort orders by; it must match the index expression.
pub fn sort_expr(key: SortKey) -> &'static str {
    match key {
        SortKey::CreatedAt => "e.created_at",
        SortKey::DurationMs => "coalesce(e.duration_ms, -1)",
    }
}

fn sort_value(key: SortKey, e: &Execution) -> i64 {
    match key {
        SortKey::CreatedAt => e.created_at,
        SortKey::DurationMs => e.duration_ms.unwrap_or(-1),
    }
}

/// The cursor of the page that follows `last` in `sort`.
pub fn cursor_after(sort: Sort, last: &Execution) -> Cursor {
    Cursor {
        sort,
        key: sort_value(sort.key, last),
        id: last.id.clone(),
    }
}

impl Store {
    /// One page of runs, with facets and chart when it is the first page.
    #[tracing::instrument(skip(self, query), fields(scope))]
    pub async fn list(&self, scope: &str, query: &ListQuery) -> Result<ListPage, StoreError> {
        self.list_counted(scope, query, Counts::Bounded).await
    }

    /// [`Self::list`], with counts as exact as `counts` asks.
    pub async fn list_counted(
        &self,
        scope: &str,
        query: &ListQuery,
        counts: Counts,
    ) -> Result<ListPage, StoreError> {
        if query.cursor.is_some() {
            return self.list_without_meta(scope, query).await;
        }
        let (rows, meta) = self.list_parts(scope, query, counts).await?;
        let (mut page, meta) = tokio::try_join!(rows, meta)?;
        page.meta = Some(meta);
        Ok(page)
    }

    /// The first page of runs as two parts over filters resolved once: its
    /// rows (`meta: None`), and its meta as a future that owns what it
    /// needs, so that a caller can give the counts a budget of their own and
    /// let them finish after it has answered (the page renders its rows
    /// with the counts pending: `runs::counts_handoff`).
    pub async fn list_parts<'a>(
        &'a self,
        scope: &'a str,
        query: &'a ListQuery,
        counts: Counts,
    ) -> Result<
        (
            impl Future<Output = Result<ListPage, StoreError>> + 'a,
            impl Future<Output = Result<ListMeta, StoreError>> + Send + 'static,
        ),
        StoreError,
    > {
        let resolved = resolve(self.db(), scope, &query.filters).await?;
        let meta = {
            let (store, scope) = (self.clone(), scope.to_owned());
            let (filters, resolved) = (query.filters.clone(), resolved.clone());
            async move { store.meta(&scope, &filters, &resolved, counts).await }
        };
        let rows = async move {
            let (executions, next_cursor) = self.page(scope, query, &resolved).await?;
            Ok(ListPage {
                executions,
                next_cursor,
                meta: None,
            })
        };
        Ok((rows, meta))
    }

    /// The meta of the first page of runs matching `filters`, alone.
    #[tracing::instrument(skip(self, filters), fields(scope))]
    pub async fn list_meta(
        &self,
        scope: &str,
        filters: &Filters,
        counts: Counts,
    ) -> Result<ListMeta, StoreError> {
        let resolved = resolve(self.db(), scope, filters).await?;
        self.meta(scope, filters, &resolved, counts).await
    }

    /// One page of runs without facets, whatever the cursor.
    pub async fn list_without_meta(
        &self,
        scope: &str,
        query: &ListQuery,
    ) -> Result<ListPage, StoreError> {
        let resolved = resolve(self.db(), scope, &query.filters).await?;
        let (executions, next_cursor) = self.page(scope, query, &resolved).await?;
        Ok(ListPage {
            executions,
            next_cursor,
            meta: None,
        })
    }

    pub(super) async fn page(
        &self,
        scope: &str,
        query: &ListQuery,
        resolved: &Resolved,
    ) -> Result<(Vec<ExecutionEnvelope>, Option<String>), StoreError> {
        let rows = self.page_rows(scope, query, resolved).await?;
        let limit = query.limit as usize;
        let mut executions: Vec<Execution> = rows;
        let next_cursor = if executions.len() > limit {
            executions.truncate(limit);
            executions
                .last()
                .map(|last| cursor_after(query.sort, last).encode())
        } else {
            None
        };
        let envelopes = self.with_pending_interactions(scope, executions).await?;
        Ok((envelopes, next_cursor))
    }

    /// `limit + 1` rows, the extra one telling whether another page exists.
    pub(super) async fn page_rows(
        &self,
        scope: &str,
        query: &ListQuery,
        resolved: &Resolved,
    ) -> Result<Vec<Execution>, StoreError> {
        if resolved.matches_nothing() || query.filters.matches_nothing() {
            return Ok(Vec::new());
        }
        if query.filters.has_text_search() && resolved.text == TextPlan::Scan {
            // Many runs match: the first page is most likely among the
            // first runs in list order. If the walk fills it, it is the page.
            let walked = self
                .page_rows_within(scope, query, &resolved.row_by_row(), Some(TEXT_WALK))
                .await?;
            if walked.len() > query.limit as usize {
                return Ok(walked);
            }
        }
        self.page_rows_within(scope, query, resolved, None).await
    }

    /// [`Self::page_rows`]; with `walk` (a number of runs), among the first
    /// that many runs in list order that match every filter but the text
    /// filters, tested for their needles.
    async fn page_rows_within(
        &self,
        scope: &str,
        query: &ListQuery,
        resolved: &Resolved,
        walk: Option<i64>,
    ) -> Result<Vec<Execution>, StoreError> {
        let Sort { key, dir } = query.sort;
        let (cmp, order) = match dir {
            SortDir::Asc => (">", "ASC"),
            SortDir::Desc => ("<", "DESC"),
        };
        let mut sql = self.db().sql();
        sql.push("SELECT ").push(EXECUTION_COLUMNS);
        // One tool path, newest or oldest first: walk that path's runs in
        // time order instead of every run probing for the path, so a path
        // called once in a million runs costs what a common one does.
        let one_path = match (&resolved.tools, key, resolved.text) {
            (ToolPaths::OneOf(paths), SortKey::CreatedAt, TextPlan::Scan) if paths.len() == 1 => {
                paths.first()
            }
            _ => None,
        };
        let (expr, id) = if let Some(path) = one_path {
            sql.push(" FROM execution_tool_path tp CROSS JOIN execution e WHERE tp.scope_id = ")
                .bind(scope)
                .push(" AND tp.tool_path = ")
                .bind(path.as_str())
                .push(" AND e.scope_id = tp.scope_id AND e.id = tp.execution_id");
            if let Some(lower) = query.filters.lower_bound() {
                sql.push(" AND tp.created_at >= ").bind(lower.get());
            }
            if let Some(to) = query.filters.to {
                sql.push(" AND tp.created_at < ").bind(to.get());
            }
            let skip = Skip {
                tool: true,
                ..Skip::NONE
            };
            push_filters(&mut sql, &query.filters, resolved, skip);
            ("tp.created_at", "tp.execution_id")
        } else if let Some(walk) = walk {
            // The walked runs in list order (every filter but the texts),
            // then their texts tested; the cursor and order apply inside.
            sql.push(" FROM (SELECT e.* FROM execution e WHERE e.scope_id = ")
                .bind(scope);
            let untexted = query.filters.without_text_searches();
            push_filters(&mut sql, &untexted, resolved, Skip::NONE);
            let (expr, id) = (sort_expr(key), "e.id");
            push_cursor(&mut sql, query.cursor.as_ref(), (expr, id), cmp);
            push_order(&mut sql, (expr, id), order);
            sql.push(" LIMIT ").bind(walk).push(") e WHERE 1 = 1");
            text_search::push_filters(&mut sql, &query.filters, TextPlan::TestEachRow);
            (expr, id)
        } else {
            push_runs_from(&mut sql, &query.filters, resolved);
            sql.push(" WHERE e.scope_id = ").bind(scope);
            push_filters(&mut sql, &query.filters, resolved, Skip::NONE);
            (sort_expr(key), "e.id")
        };
        if walk.is_none() {
            push_cursor(&mut sql, query.cursor.as_ref(), (expr, id), cmp);
        }
        push_order(&mut sql, (expr, id), order);
        sql.push(" LIMIT ").bind(i64::from(query.limit) + 1);
        Ok(self.db().fetch_all(sql).await?)
    }

    /// Attaches each run's newest pending interaction. Only runs that ever
    /// elicited can have one, so most pages need no extra query.
    pub(super) async fn with_pending_interactions(
        &self,
        scope: &str,
        executions: Vec<Execution>,
    ) -> Result<Vec<ExecutionEnvelope>, StoreError> {
        let eliciting: Vec<&str> = executions
            .iter()
            .filter(|e| e.had_elicitation)
            .map(|e| e.id.as_str())
            .collect();
        let mut pending: HashMap<String, Interaction> = HashMap::new();
        if !eliciting.is_empty() {
            let mut sql = self.db().sql();
            sql.push("SELECT ")
                .push(INTERACTION_COLUMNS)
                .push(" FROM execution_interaction WHERE scope_id = ")
                .bind(scope)
                .push(" AND status = 'pending' AND execution_id IN ")
                .bind_list(eliciting)
                .push(" ORDER BY created_at ASC, id ASC");
            let rows: Vec<Interaction> = self.db().fetch_all(sql).await?;
            for interaction in rows {
                // Ascending order: the newest overwrites older ones.
                pending.insert(interaction.execution_id.clone(), interaction);
            }
        }
        Ok(executions
            .into_iter()
            .map(|execution| ExecutionEnvelope {
                pending_interaction: pending.remove(&execution.id),
                execution,
            })
            .collect())
    }
}
