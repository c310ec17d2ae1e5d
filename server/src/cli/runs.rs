//! `executor runs list | show | watch | cancel | rerun`: the history from
//! a terminal. Filters are the page's filter command under the hood, so
//! `--since 1h` and `--min-duration 2s` mean what `after:1h` and
//! `duration:>=2s` mean there.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::Duration;

use app::model::filter_command;
use app::model::{
    format_utc, Execution, ExecutionEnvelope, ListPage, RunResponse, RunStatus, RunsView, Sort,
};

use super::show::show;
use super::{fail, first_line, out, Api, CliError, Exit, ServerArgs, Styles};
use app::runs::format_duration as duration;

#[derive(clap::Subcommand, Debug)]
pub enum RunsCommand {
    /// List runs, newest first: a table, or NDJSON with --json.
    List {
        #[command(flatten)]
        filters: FilterArgs,
        /// Sort: createdAt or durationMs, optionally ,asc or ,desc.
        #[arg(long, default_value = "createdAt,desc")]
        sort: String,
        /// Runs per page (1-100).
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100))]
        limit: u32,
        /// Follow the cursor to the end of the history.
        #[arg(long)]
        all: bool,
        /// One JSON object per run and line.
        #[arg(long)]
        json: bool,
    },
    /// One run: properties, code, result, error, logs, tool calls, and what
    /// it waits for.
    Show {
        id: String,
        /// The run, its tool calls and its pending interaction as JSON.
        #[arg(long)]
        json: bool,
    },
    /// New runs and status changes as they happen, until Ctrl-C.
    Watch {
        #[command(flatten)]
        filters: FilterArgs,
    },
    /// Cancel a running or paused run.
    Cancel { id: String },
    /// Run a run's code again (a new run).
    Rerun {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

/// The filters `list` and `watch` take.
#[derive(clap::Args, Debug, Default)]
pub struct FilterArgs {
    /// Comma-separated statuses (waiting = waiting_for_interaction).
    #[arg(long)]
    status: Option<String>,
    /// Comma-separated trigger kinds (`unknown`: runs without one).
    #[arg(long)]
    trigger: Option<String>,
    /// Comma-separated tool path patterns (`github.*`).
    #[arg(long)]
    tool: Option<String>,
    /// Comma-separated sessions.
    #[arg(long)]
    session: Option<String>,
    /// Created at or after: `15m`, `2h`, `3d`, `2026-11-01`, `2026-11-01T10:00`.
    #[arg(long)]
    since: Option<String>,
    /// Created before (same forms as --since).
    #[arg(long)]
    until: Option<String>,
    /// A case-insensitive substring of the code.
    #[arg(long)]
    code: Option<String>,
    /// A case-insensitive substring of the error.
    #[arg(long)]
    error: Option<String>,
    /// Lasted at least this long: `500ms`, `2s`, `1.5m`.
    #[arg(long)]
    min_duration: Option<String>,
}

impl FilterArgs {
    /// The list's query for these filters, through the filter command's
    /// grammar; a bad value is a usage error naming the flag.
    fn query(&self, sort: &str) -> Result<String, CliError> {
        let quote = |v: &str| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""));
        let tokens = [
            (
                "--status",
                self.status.as_ref().map(|v| format!("status:{v}")),
            ),
            (
                "--trigger",
                self.trigger.as_ref().map(|v| format!("trigger:{v}")),
            ),
            (
                "--tool",
                self.tool.as_ref().map(|v| format!("tool:{}", quote(v))),
            ),
            (
                "--session",
                self.session.as_ref().map(|v| format!("session:{v}")),
            ),
            ("--since", self.since.as_ref().map(|v| format!("after:{v}"))),
            (
                "--until",
                self.until.as_ref().map(|v| format!("before:{v}")),
            ),
            (
                "--code",
                self.code.as_ref().map(|v| format!("code:{}", quote(v))),
            ),
            (
                "--error",
                self.error.as_ref().map(|v| format!("error:{}", quote(v))),
            ),
            (
                "--min-duration",
                self.min_duration
                    .as_ref()
                    .map(|v| format!("duration:>={v}")),
            ),
        ];
        list_query(&tokens, sort)
    }
}

/// The list's query string for filter-command tokens, each with the name
/// of what it came from (a flag, a tool argument) for its error.
pub fn list_query(tokens: &[(&str, Option<String>)], sort: &str) -> Result<String, CliError> {
    let now = app::store::now_ms();
    let mut view = RunsView::default();
    for (flag, token) in tokens {
        let Some(token) = token else { continue };
        let parsed = filter_command::parse(token, now);
        if let Some(bad) = parsed.errors.first() {
            return Err(CliError::Usage(format!("{flag}: {}", bad.message)));
        }
        merge(&mut view.filters, parsed.filters);
    }
    view.sort = sort
        .parse::<Sort>()
        .map_err(|e| CliError::Usage(format!("--sort: {e}")))?;
    // The page's URL without its page-only parameters is the list's.
    let pairs: Vec<(&str, String)> = view
        .to_pairs()
        .into_iter()
        .filter(|(k, _)| *k != "range")
        .collect();
    Ok(form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish())
}

/// Adds what one flag set to the filters.
fn merge(into: &mut app::model::Filters, from: app::model::Filters) {
    into.statuses.extend(from.statuses);
    into.triggers.extend(from.triggers);
    into.tools.extend(from.tools);
    into.sessions.extend(from.sessions);
    into.from = into.from.or(from.from);
    into.to = into.to.or(from.to);
    into.code = into.code.take().or(from.code);
    into.error = into.error.take().or(from.error);
    into.min_duration_ms = into.min_duration_ms.or(from.min_duration_ms);
}

pub async fn runs(server: &ServerArgs, command: RunsCommand) -> Exit {
    let api = match Api::new(server) {
        Ok(api) => api,
        Err(e) => return fail(&e),
    };
    let done = match command {
        RunsCommand::List {
            filters,
            sort,
            limit,
            all,
            json,
        } => list(&api, &filters, &sort, limit, all, json).await,
        RunsCommand::Show { id, json } => show(&api, &id, json).await,
        RunsCommand::Watch { filters } => watch(&api, &filters).await,
        RunsCommand::Cancel { id } => {
            let response: Result<RunResponse, _> = api
                .post(
                    &format!("/executions/{id}/cancel"),
                    &serde_json::json!({}),
                    &[],
                )
                .await;
            response.map(|r| {
                out(&format!("{} {}\n", r.execution_id, status_text(r.status)));
                Exit::Done
            })
        }
        RunsCommand::Rerun { id, json } => {
            let response: Result<RunResponse, _> = api
                .post(
                    &format!("/executions/{id}/rerun"),
                    &serde_json::json!({}),
                    &[("x-executor-trigger", "cli".to_owned())],
                )
                .await;
            response.map(|r| {
                if json {
                    out(&format!(
                        "{}\n",
                        serde_json::to_string_pretty(&r).unwrap_or_default()
                    ));
                } else {
                    out(&format!("{} {}\n", r.execution_id, status_text(r.status)));
                }
                match r.status {
                    RunStatus::Completed => Exit::Done,
                    RunStatus::Failed | RunStatus::Cancelled => Exit::RunFailed,
                    RunStatus::WaitingForInteraction => Exit::Waiting,
                }
            })
        }
    };
    done.unwrap_or_else(|e| fail(&e))
}

fn status_text(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Completed => "completed",
        RunStatus::Failed => "failed",
        RunStatus::Cancelled => "cancelled",
        RunStatus::WaitingForInteraction => "waiting_for_interaction",
    }
}

async fn list(
    api: &Api,
    filters: &FilterArgs,
    sort: &str,
    limit: u32,
    all: bool,
    json: bool,
) -> Result<Exit, CliError> {
    let query = filters.query(sort)?;
    let and = if query.is_empty() { "" } else { "&" };
    let mut cursor: Option<String> = None;
    let width = width();
    let mut first = true;
    loop {
        let mut path = format!("/executions?meta=false&limit={limit}{and}{query}");
        if let Some(c) = &cursor {
            // The cursor carries the sort (the `sort` beside it is only
            // checked) and is URL-safe as issued.
            path.push_str(&format!("&cursor={c}"));
        }
        let page: ListPage = api.get(&path).await?;
        if json {
            let mut text = String::new();
            for envelope in &page.executions {
                text.push_str(&serde_json::to_string(&envelope.execution).unwrap_or_default());
                text.push('\n');
            }
            out(&text);
        } else {
            out(&table(&page.executions, width, first));
        }
        first = false;
        match (all, page.next_cursor) {
            (true, Some(next)) => cursor = Some(next),
            _ => break,
        }
    }
    Ok(Exit::Done)
}

/// The terminal's width, or none (no truncation) when not on a terminal.
fn width() -> Option<usize> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    terminal_size::terminal_size()
        .map(|(w, _)| usize::from(w.0))
        .or(Some(100))
}

/// Rows as a table: id, status, created (UTC), trigger, tools, duration
/// and as much of the code's first line as the width leaves.
fn table(runs: &[ExecutionEnvelope], width: Option<usize>, header: bool) -> String {
    let mut text = String::new();
    if header {
        let bold = Styles::bold();
        text.push_str(&format!(
            "{bold}{:<36}  {:<11}  {:<19}  {:<8}  {:>5}  {:>8}  CODE{bold:#}\n",
            "ID", "STATUS", "CREATED (UTC)", "TRIGGER", "TOOLS", "DURATION"
        ));
    }
    if runs.is_empty() && header {
        text.push_str("(no runs)\n");
    }
    // 36 + 11 + 19 + 8 + 5 + 8 and the gaps.
    let fixed = 36 + 11 + 19 + 8 + 5 + 8 + 2 * 6;
    for envelope in runs {
        let e: &Execution = &envelope.execution;
        let status = e.status.as_str();
        let shown = if status == "waiting_for_interaction" {
            "waiting"
        } else {
            status
        };
        let style = Styles::status(status);
        let code = first_line(&e.code).to_owned();
        let code = match width {
            Some(w) => code.chars().take(w.saturating_sub(fixed).max(10)).collect(),
            None => code,
        };
        text.push_str(&format!(
            "{:<36}  {style}{:<11}{style:#}  {:<19}  {:<8}  {:>5}  {:>8}  {}\n",
            e.id,
            shown,
            format_utc(e.created_at),
            e.trigger_kind.as_deref().unwrap_or("unknown"),
            e.tool_call_count,
            e.duration_ms.map(duration).unwrap_or_default(),
            code
        ));
    }
    text
}

/// Polls for new runs (`after` the newest seen) and for the state of the
/// unfinished ones it has shown, once a second, until Ctrl-C.
async fn watch(api: &Api, filters: &FilterArgs) -> Result<Exit, CliError> {
    let query = filters.query("createdAt,desc")?;
    let and = if query.is_empty() { "" } else { "&" };
    let width = width();
    let mut after = app::store::now_ms();
    let mut unfinished: HashMap<String, String> = HashMap::new();
    out(&table(&[], width, true).replace("(no runs)\n", ""));
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    loop {
        let page: ListPage = api
            .get(&format!(
                "/executions?meta=false&limit=100&after={after}{and}{query}"
            ))
            .await?;
        let mut fresh = page.executions;
        fresh.reverse();
        for envelope in &fresh {
            after = after.max(envelope.execution.created_at);
            if !envelope.execution.status.is_terminal() {
                unfinished.insert(
                    envelope.execution.id.clone(),
                    envelope.execution.status.as_str().to_owned(),
                );
            }
        }
        out(&table(&fresh, width, false));
        let ids: Vec<String> = unfinished.keys().take(100).cloned().collect();
        for id in ids {
            let Ok(envelope) = api
                .get::<ExecutionEnvelope>(&format!("/executions/{id}"))
                .await
            else {
                unfinished.remove(&id);
                continue;
            };
            let now = envelope.execution.status.as_str().to_owned();
            if unfinished.get(&id) != Some(&now) {
                out(&table(std::slice::from_ref(&envelope), width, false));
                if envelope.execution.status.is_terminal() {
                    unfinished.remove(&id);
                } else {
                    unfinished.insert(id, now);
                }
            }
        }
        tokio::select! {
            _ = &mut stop => return Ok(Exit::Done),
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_become_the_lists_query() {
        let args = FilterArgs {
            status: Some("failed,waiting".into()),
            tool: Some("github.*".into()),
            session: Some("cli:1".into()),
            code: Some("two \"words\"".into()),
            min_duration: Some("2s".into()),
            ..FilterArgs::default()
        };
        let q = args.query("durationMs").unwrap();
        assert!(q.contains("status=failed%2Cwaiting_for_interaction"), "{q}");
        assert!(q.contains("tool=github.*"), "{q}");
        assert!(q.contains("session=cli%3A1"), "{q}");
        assert!(q.contains("code=two+%22words%22"), "{q}");
        assert!(q.contains("minDurationMs=2000"), "{q}");
        assert!(q.contains("sort=durationMs"), "{q}");
        let bad = FilterArgs {
            since: Some("yesterday".into()),
            ..FilterArgs::default()
        };
        let err = bad.query("createdAt").unwrap_err().to_string();
        assert!(err.starts_with("--since:"), "{err}");
        assert_eq!(duration(850), "850ms");
        assert_eq!(duration(4_250), "4.2s");
        assert_eq!(duration(186_000), "3.1m");
    }
}
