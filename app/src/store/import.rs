//! `executor import --from <url>`: copies runs, tool calls and interactions
//! from another database laid out as this product's three tables or as the
//! reference system's (no `duration_ms`/`had_elicitation`, tool calls and
//! interactions without `scope_id`, PostgreSQL timestamps, interaction kinds
//! `FormElicitation`/`UrlElicitation`). Rows go through the writer, so every
//! derived structure counts them; runs already present (same scope and id)
//! are skipped, so an import can be repeated or resumed. The source is only
//! read.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;

use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::FromRow;

use super::db::{Db, Dialect, Sql};
use super::write_ops::{
    ExecutionPatch, InteractionResolution, NewExecution, NewInteraction, NewToolCall,
    ToolCallFinish, WriteOp,
};
use super::{Store, StoreError};
use crate::model::{EpochMs, ExecutionStatus, InteractionStatus, ToolCallStatus};

/// Runs read and written per step.
const PAGE: i64 = 500;
/// Refusal reasons kept for the report.
const REASONS_KEPT: usize = 10;

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Runs in the source.
    pub source_runs: u64,
    pub imported: u64,
    /// Already in this database (by scope and id).
    pub skipped: u64,
    /// Rows that are not valid runs here, with the first reasons.
    pub refused: u64,
    pub reasons: Vec<String>,
    pub reference_layout: bool,
}

/// How the source spells what this store needs.
struct Layout {
    reference: bool,
    /// SQL giving epoch ms from a time column (PostgreSQL may use timestamps).
    time: HashMap<(&'static str, &'static str), bool>,
}

impl Layout {
    fn ms(&self, table: &'static str, column: &'static str, alias: &str) -> String {
        let expr = format!("{alias}.{column}");
        if self.time.get(&(table, column)).copied().unwrap_or(false) {
            format!("CAST(EXTRACT(EPOCH FROM {expr}) * 1000 AS BIGINT)")
        } else {
            format!("CAST({expr} AS BIGINT)")
        }
    }

    /// One page of runs after (`scope`, `id`), in key order.
    fn runs_sql(&self, sql: &mut Sql, scope: &str, id: &str) {
        // The reference system has no sessions.
        let session = if self.reference {
            "NULL"
        } else {
            "e.session_id"
        };
        let (duration, elicited) = if self.reference {
            (
                format!(
                    "CASE WHEN e.completed_at IS NOT NULL AND e.started_at IS NOT NULL THEN {} - {} END",
                    self.ms("execution", "completed_at", "e"),
                    self.ms("execution", "started_at", "e")
                ),
                "EXISTS (SELECT 1 FROM execution_interaction i WHERE i.execution_id = e.id)".to_owned(),
            )
        } else {
            ("e.duration_ms".to_owned(), "e.had_elicitation".to_owned())
        };
        sql.push(&format!(
            "SELECT e.id, e.scope_id, e.status, e.code, e.result_json, e.error_text, e.logs_json, \
             e.trigger_kind, e.trigger_meta_json, {session} AS session_id, \
             CAST(e.tool_call_count AS BIGINT) AS tool_call_count, \
             {elicited} AS had_elicitation, {} AS created_at, {} AS started_at, {} AS completed_at, \
             CAST({duration} AS BIGINT) AS duration_ms FROM execution e WHERE (e.scope_id > ",
            self.ms("execution", "created_at", "e"),
            self.ms("execution", "started_at", "e"),
            self.ms("execution", "completed_at", "e"),
        ))
        .bind(scope)
        .push(" OR (e.scope_id = ")
        .bind(scope)
        .push(" AND e.id > ")
        .bind(id)
        .push(")) ORDER BY e.scope_id, e.id LIMIT ")
        .bind(PAGE);
    }

    fn tool_calls_sql(&self, sql: &mut Sql, ids: &[String]) {
        sql.push(&format!(
            "SELECT c.id, c.execution_id, c.status, c.tool_path, c.args_json, c.result_json, \
             c.error_text, {} AS started_at, {} AS completed_at, CAST(c.duration_ms AS BIGINT) AS duration_ms \
             FROM execution_tool_call c WHERE c.execution_id IN ",
            self.ms("execution_tool_call", "started_at", "c"),
            self.ms("execution_tool_call", "completed_at", "c"),
        ))
        .bind_list(ids.iter().map(String::as_str))
        .push(" ORDER BY c.execution_id, c.started_at, c.id");
    }

    fn interactions_sql(&self, sql: &mut Sql, ids: &[String]) {
        sql.push(&format!(
            "SELECT i.id, i.execution_id, i.status, i.kind, i.purpose, i.payload_json, i.response_json, \
             {} AS created_at, {} AS updated_at FROM execution_interaction i WHERE i.execution_id IN ",
            self.ms("execution_interaction", "created_at", "i"),
            self.ms("execution_interaction", "updated_at", "i"),
        ))
        .bind_list(ids.iter().map(String::as_str))
        .push(" ORDER BY i.execution_id, i.created_at, i.id");
    }
}

#[derive(FromRow)]
struct SourceRun {
    id: String,
    scope_id: String,
    status: String,
    code: String,
    result_json: Option<String>,
    error_text: Option<String>,
    logs_json: Option<String>,
    trigger_kind: Option<String>,
    trigger_meta_json: Option<String>,
    session_id: Option<String>,
    tool_call_count: i64,
    had_elicitation: bool,
    created_at: i64,
    started_at: Option<i64>,
    completed_at: Option<i64>,
    duration_ms: Option<i64>,
}

#[derive(FromRow)]
struct SourceCall {
    id: String,
    execution_id: String,
    status: String,
    tool_path: String,
    args_json: Option<String>,
    result_json: Option<String>,
    error_text: Option<String>,
    started_at: i64,
    completed_at: Option<i64>,
    duration_ms: Option<i64>,
}

#[derive(FromRow)]
struct SourceInteraction {
    id: String,
    execution_id: String,
    status: String,
    kind: String,
    purpose: Option<String>,
    payload_json: Option<String>,
    response_json: Option<String>,
    created_at: i64,
    updated_at: i64,
}

async fn open_source(url: &str) -> Result<Db, StoreError> {
    match Dialect::of_url(url) {
        Some(Dialect::Sqlite) => {
            let options = SqliteConnectOptions::from_str(url)?.read_only(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(2)
                .connect_with(options)
                .await?;
            Ok(Db::Sqlite(pool))
        }
        Some(Dialect::Postgres) => {
            let pool = PgPoolOptions::new().max_connections(2).connect(url).await?;
            Ok(Db::Postgres(pool))
        }
        None => Err(StoreError::UnsupportedUrl(url.to_owned())),
    }
}

async fn columns(db: &Db, table: &str) -> Result<Vec<(String, String)>, StoreError> {
    let mut sql = db.sql();
    match db.dialect() {
        Dialect::Sqlite => {
            sql.push("SELECT name, type FROM pragma_table_info(")
                .bind(table)
                .push(")");
        }
        Dialect::Postgres => {
            sql.push(
                "SELECT CAST(column_name AS TEXT), CAST(data_type AS TEXT) FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = ",
            )
            .bind(table);
        }
    }
    Ok(db.fetch_all(sql).await?)
}

async fn layout(db: &Db) -> Result<Layout, StoreError> {
    let mut time = HashMap::new();
    let mut reference = false;
    for (table, times) in [
        (
            "execution",
            &["created_at", "started_at", "completed_at"][..],
        ),
        ("execution_tool_call", &["started_at", "completed_at"][..]),
        ("execution_interaction", &["created_at", "updated_at"][..]),
    ] {
        let found = columns(db, table).await?;
        if found.is_empty() {
            return Err(StoreError::Corrupt(format!(
                "the source has no table {table}; expected this product's or the reference system's layout"
            )));
        }
        let has = |c: &str| found.iter().any(|(name, _)| name == c);
        if table == "execution" && !(has("duration_ms") && has("had_elicitation")) {
            reference = true;
        }
        for column in times {
            let is_timestamp = found
                .iter()
                .any(|(name, ty)| name == column && ty.to_lowercase().contains("timestamp"));
            time.insert((table, *column), is_timestamp);
        }
    }
    Ok(Layout { reference, time })
}

fn interaction_kind(kind: &str) -> String {
    match kind {
        "FormElicitation" => "form".to_owned(),
        "UrlElicitation" => "url".to_owned(),
        other => other.to_owned(),
    }
}

/// Source rows of one page, checked and turned into writes, one group per
/// run (with its id, to name it if the store refuses it).
struct Page {
    groups: Vec<(String, Vec<WriteOp>)>,
    refused: Vec<String>,
}

fn convert(
    runs: Vec<SourceRun>,
    mut calls: HashMap<String, Vec<SourceCall>>,
    mut interactions: HashMap<String, Vec<SourceInteraction>>,
) -> Page {
    let mut page = Page {
        groups: Vec::new(),
        refused: Vec::new(),
    };
    for run in runs {
        let calls = calls.remove(&run.id).unwrap_or_default();
        let interactions = interactions.remove(&run.id).unwrap_or_default();
        let id = format!("run {} (scope {})", run.id, run.scope_id);
        match convert_run(run, calls, interactions) {
            Ok(ops) => page.groups.push((id, ops)),
            Err(reason) => page.refused.push(reason),
        }
    }
    page
}

fn convert_run(
    run: SourceRun,
    calls: Vec<SourceCall>,
    interactions: Vec<SourceInteraction>,
) -> Result<Vec<WriteOp>, String> {
    let id = run.id.clone();
    let refuse = |what: String| format!("run {id} (scope {}): {what}", run.scope_id);
    let status: ExecutionStatus = run.status.parse().map_err(refuse)?;
    // Ids end up in cursors and URLs: 1-64 characters of visible ASCII.
    if run.id.is_empty() || run.id.len() > 64 || !run.id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(refuse(
            "its id is not 1 to 64 characters of visible ASCII".into(),
        ));
    }
    if let Some(kind) = &run.trigger_kind {
        crate::model::TriggerFilter::validate_kind(kind).map_err(refuse)?;
    }
    if let Some(session) = &run.session_id {
        crate::model::SessionId::parse(session).map_err(refuse)?;
    }
    if EpochMs::new(run.created_at).is_none() {
        return Err(refuse(format!(
            "created_at {} lies outside the years 1970 to 9999",
            run.created_at
        )));
    }
    let mut ops = vec![
        WriteOp::CreateExecution(NewExecution {
            id: run.id.clone(),
            scope_id: run.scope_id.clone(),
            status,
            code: run.code,
            trigger_kind: run.trigger_kind,
            trigger_meta_json: run.trigger_meta_json,
            session_id: run.session_id,
            created_at: run.created_at,
            started_at: run.started_at,
            lease: None,
        }),
        WriteOp::UpdateExecution {
            scope_id: run.scope_id.clone(),
            id: run.id.clone(),
            patch: ExecutionPatch {
                result_json: run.result_json,
                error_text: run.error_text,
                logs_json: run.logs_json,
                completed_at: run.completed_at,
                duration_ms: run.duration_ms.map(|d| d.max(0)),
                tool_call_count: Some(run.tool_call_count.max(calls.len() as i64)),
                had_elicitation: Some(run.had_elicitation || !interactions.is_empty()),
                ..ExecutionPatch::default()
            },
        },
    ];
    for call in calls {
        let status: ToolCallStatus = call.status.parse().map_err(refuse)?;
        ops.push(WriteOp::RecordToolCall(NewToolCall {
            id: call.id.clone(),
            execution_id: call.execution_id.clone(),
            scope_id: run.scope_id.clone(),
            tool_path: call.tool_path,
            args_json: call.args_json,
            started_at: call.started_at,
        }));
        if status != ToolCallStatus::Running {
            let completed_at = call.completed_at.unwrap_or(call.started_at);
            ops.push(WriteOp::FinishToolCall(ToolCallFinish {
                id: call.id,
                execution_id: call.execution_id,
                scope_id: run.scope_id.clone(),
                status,
                result_json: call.result_json,
                error_text: call.error_text,
                completed_at,
                duration_ms: call
                    .duration_ms
                    .unwrap_or(completed_at - call.started_at)
                    .max(0),
            }));
        }
    }
    for interaction in interactions {
        let status: InteractionStatus = interaction.status.parse().map_err(refuse)?;
        ops.push(WriteOp::RecordInteraction(NewInteraction {
            id: interaction.id.clone(),
            execution_id: interaction.execution_id.clone(),
            scope_id: run.scope_id.clone(),
            kind: interaction_kind(&interaction.kind),
            purpose: interaction.purpose,
            payload_json: interaction.payload_json,
            created_at: interaction.created_at,
        }));
        if status != InteractionStatus::Pending {
            ops.push(WriteOp::ResolveInteraction(InteractionResolution {
                id: interaction.id,
                execution_id: interaction.execution_id,
                scope_id: run.scope_id.clone(),
                status,
                response_json: interaction.response_json,
                updated_at: interaction.updated_at,
            }));
        }
    }
    Ok(ops)
}

impl Store {
    /// Copies every run of `source_url` that this database lacks. `progress`
    /// gets (runs done, runs in the source) after each page.
    pub async fn import_from(
        &self,
        source_url: &str,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<ImportReport, StoreError> {
        let source = open_source(source_url).await?;
        let layout = layout(&source).await?;
        let mut count = source.sql();
        count.push("SELECT CAST(count(*) AS BIGINT) FROM execution");
        let total: Option<(i64,)> = source.fetch_optional(count).await?;
        let mut report = ImportReport {
            source_runs: total.map_or(0, |t| t.0).max(0) as u64,
            reference_layout: layout.reference,
            ..ImportReport::default()
        };
        let (mut after_scope, mut after_id) = (String::new(), String::new());
        loop {
            let mut sql = source.sql();
            layout.runs_sql(&mut sql, &after_scope, &after_id);
            let runs: Vec<SourceRun> = source.fetch_all(sql).await?;
            let Some(last) = runs.last() else { break };
            (after_scope, after_id) = (last.scope_id.clone(), last.id.clone());
            let read = runs.len() as u64;
            let present = self.present(&runs).await?;
            let runs: Vec<SourceRun> = runs
                .into_iter()
                .filter(|r| !present.contains(&(r.scope_id.clone(), r.id.clone())))
                .collect();
            report.skipped += read - runs.len() as u64;
            let ids: Vec<String> = runs.iter().map(|r| r.id.clone()).collect();
            let mut calls: HashMap<String, Vec<SourceCall>> = HashMap::new();
            let mut asked: HashMap<String, Vec<SourceInteraction>> = HashMap::new();
            if !ids.is_empty() {
                let mut sql = source.sql();
                layout.tool_calls_sql(&mut sql, &ids);
                for call in source.fetch_all::<SourceCall>(sql).await? {
                    calls
                        .entry(call.execution_id.clone())
                        .or_default()
                        .push(call);
                }
                let mut sql = source.sql();
                layout.interactions_sql(&mut sql, &ids);
                for i in source.fetch_all::<SourceInteraction>(sql).await? {
                    asked.entry(i.execution_id.clone()).or_default().push(i);
                }
            }
            let mut page = convert(runs, calls, asked);
            // One group per run: the writer commits them together, and if
            // one fails (a tool call id taken by another run, say) it
            // retries them one by one, so only that run is refused.
            let mut pending = Vec::with_capacity(page.groups.len());
            for (id, ops) in page.groups {
                pending.push((id, self.enqueue_all(ops).await?));
            }
            for (id, write) in pending {
                match write.committed().await {
                    Ok(()) => report.imported += 1,
                    Err(StoreError::WriterGone) => return Err(StoreError::WriterGone),
                    Err(e) => page
                        .refused
                        .push(format!("{id}: the store refused it: {e}")),
                }
            }
            report.refused += page.refused.len() as u64;
            for reason in page.refused {
                if report.reasons.len() < REASONS_KEPT {
                    report.reasons.push(reason);
                }
            }
            progress(
                report.imported + report.skipped + report.refused,
                report.source_runs,
            );
        }
        source.close().await;
        self.analyze().await?;
        Ok(report)
    }

    /// Which of these runs this database already has.
    async fn present(&self, runs: &[SourceRun]) -> Result<HashSet<(String, String)>, StoreError> {
        let mut by_scope: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for r in runs {
            by_scope.entry(&r.scope_id).or_default().push(&r.id);
        }
        let mut found = HashSet::new();
        for (scope, ids) in by_scope {
            let mut sql = self.db().sql();
            sql.push("SELECT scope_id, id FROM execution WHERE scope_id = ")
                .bind(scope)
                .push(" AND id IN ")
                .bind_list(ids.iter().copied());
            let rows: Vec<(String, String)> = self.db().fetch_all(sql).await?;
            found.extend(rows);
        }
        Ok(found)
    }
}
