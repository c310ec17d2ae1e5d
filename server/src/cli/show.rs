//! `executor runs show ID`: a run for a terminal: properties, code,
//! result, error, logs (coloured by level), the tool calls as a text
//! waterfall, and what it asked of people (answered or waiting).

use anstyle::AnsiColor;
use serde_json::{json, Value};

use app::model::{format_utc, ExecutionEnvelope, InteractionList, InteractionStatus, ToolCallList};

use super::{out, Api, CliError, Exit, Styles};
use app::runs::format_duration as duration;

/// Characters of the waterfall's bar.
const BAR: usize = 40;

pub async fn show(api: &Api, id: &str, as_json: bool) -> Result<Exit, CliError> {
    let envelope: ExecutionEnvelope = api.get(&format!("/executions/{id}")).await?;
    let calls: ToolCallList = api.get(&format!("/executions/{id}/tool-calls")).await?;
    let asked: InteractionList = api.get(&format!("/executions/{id}/interactions")).await?;
    if as_json {
        let all = json!({
            "execution": envelope.execution,
            "pendingInteraction": envelope.pending_interaction,
            "toolCalls": calls.tool_calls,
            "interactions": asked.interactions,
        });
        out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&all).unwrap_or_default()
        ));
        return Ok(Exit::Done);
    }
    let e = &envelope.execution;
    let bold = Styles::bold();
    let status = Styles::status(e.status.as_str());
    let at = |ms: Option<i64>| {
        ms.map(|m| format!("{} UTC", format_utc(m)))
            .unwrap_or_else(|| "—".into())
    };
    let mut text = format!("{bold}run {}{bold:#}\n", e.id);
    let props = [
        ("status", format!("{status}{}{status:#}", e.status.as_str())),
        ("created", at(Some(e.created_at))),
        ("started", at(e.started_at)),
        ("completed", at(e.completed_at)),
        (
            "duration",
            e.duration_ms.map(duration).unwrap_or_else(|| "—".into()),
        ),
        (
            "trigger",
            e.trigger_kind.clone().unwrap_or_else(|| "unknown".into()),
        ),
        (
            "trigger meta",
            e.trigger_meta_json.clone().unwrap_or_else(|| "—".into()),
        ),
        (
            "session",
            e.session_id.clone().unwrap_or_else(|| "—".into()),
        ),
        ("tool calls", e.tool_call_count.to_string()),
        (
            "asked a person",
            if e.had_elicitation { "yes" } else { "no" }.into(),
        ),
    ];
    for (name, value) in props {
        text.push_str(&format!("  {name:<15} {value}\n"));
    }
    text.push_str(&format!("\n{bold}code{bold:#}\n{}\n", e.code.trim_end()));
    if let Some(result) = &e.result_json {
        let pretty = serde_json::from_str::<Value>(result)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_else(|| result.clone());
        text.push_str(&format!("\n{bold}result{bold:#}\n{pretty}\n"));
    }
    if let Some(error) = &e.error_text {
        let red = Styles::color(AnsiColor::Red);
        text.push_str(&format!("\n{bold}error{bold:#}\n{red}{error}{red:#}\n"));
    }
    out(&text);
    let logs: Vec<String> = e
        .logs_json
        .as_deref()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_default();
    if !logs.is_empty() {
        out(&format!("\n{bold}logs{bold:#}\n"));
        // On stdout here: they are what was asked for.
        for line in &logs {
            let style = Styles::log(line);
            out(&format!("{style}{line}{style:#}\n"));
        }
    }
    if !calls.tool_calls.is_empty() {
        let start = e.started_at.unwrap_or(e.created_at);
        let end = calls
            .tool_calls
            .iter()
            .map(|c| c.completed_at.unwrap_or(c.started_at))
            .chain(e.completed_at)
            // An unfinished run's calls run until now.
            .chain((!e.status.is_terminal()).then(app::store::now_ms))
            .max()
            .unwrap_or(start)
            .max(start + 1);
        let span = (end - start) as f64;
        let mut text = format!("\n{bold}tool calls{bold:#}\n");
        for c in &calls.tool_calls {
            let from = (((c.started_at - start) as f64 / span) * BAR as f64) as usize;
            let to = (((c.completed_at.unwrap_or(end) - start) as f64 / span) * BAR as f64).ceil()
                as usize;
            let from = from.min(BAR - 1);
            let to = to.clamp(from + 1, BAR);
            let bar = format!(
                "{}{}{}",
                " ".repeat(from),
                "█".repeat(to - from),
                " ".repeat(BAR - to)
            );
            let style = Styles::status(c.status.as_str());
            text.push_str(&format!(
                "  {:<24} {style}{bar}{style:#} {:>8} {}\n",
                c.tool_path,
                c.duration_ms.map(duration).unwrap_or_else(|| "…".into()),
                c.status.as_str()
            ));
        }
        out(&text);
    }
    if !asked.interactions.is_empty() {
        let mut text = format!("\n{bold}interactions{bold:#}\n");
        for i in &asked.interactions {
            // What the person did: the recorded action, or that it waits.
            let answer = match i.status {
                InteractionStatus::Pending => "waiting for a person".to_owned(),
                _ => i
                    .response_json
                    .as_deref()
                    .and_then(|r| serde_json::from_str::<Value>(r).ok())
                    .and_then(|r| r["action"].as_str().map(str::to_owned))
                    .unwrap_or_else(|| i.status.as_str().to_owned()),
            };
            text.push_str(&format!(
                "  {} {:<4} {:<22} {}\n",
                at(Some(i.created_at)),
                i.kind,
                answer,
                i.purpose.as_deref().unwrap_or_default()
            ));
        }
        out(&text);
    }
    Ok(Exit::Done)
}
