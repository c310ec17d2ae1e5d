//! `executor call` runs code on a server and prints its result; `executor
//! resume` answers a paused run. A run that waits for a person is asked
//! about at the terminal (`--interactive`, the default when stdin and stdout
//! are terminals), or its interaction is printed with the exact `executor
//! resume` commands that answer it (exit 3).

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::PathBuf;

use anstyle::AnsiColor;
use serde_json::{json, Map, Value};

use app::model::{ElicitationRequest, ResumeAction, RunResponse, RunStatus};

use super::{ascii_json, fail, note, out, Api, CliError, Exit, ServerArgs, Styles};

#[derive(clap::Args, Debug)]
pub struct CallArgs {
    /// The code to run; `-`, or nothing with piped input, reads stdin.
    pub code: Option<String>,
    /// Read the code from this file.
    #[arg(long, short, conflicts_with = "code")]
    pub file: Option<PathBuf>,
    /// Wall-time limit of the run, in milliseconds (default: the server's).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=300_000))]
    pub timeout_ms: Option<u64>,
    /// Print the whole response as JSON.
    #[arg(long)]
    pub json: bool,
    /// Ask here when the run waits for a person (default when stdin and
    /// stdout are terminals).
    #[arg(long, overrides_with = "no_interactive")]
    pub interactive: bool,
    /// Never ask: print the interaction and the commands that answer it.
    #[arg(long)]
    pub no_interactive: bool,
}

#[derive(clap::Args, Debug)]
pub struct ResumeArgs {
    /// The paused run's id.
    pub id: String,
    #[arg(long, value_enum)]
    pub action: Action,
    /// What the person entered, as JSON (for a form).
    #[arg(long)]
    pub content: Option<String>,
    /// Print the whole response as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Action {
    Accept,
    Decline,
    Cancel,
}

impl From<Action> for ResumeAction {
    fn from(a: Action) -> Self {
        match a {
            Action::Accept => ResumeAction::Accept,
            Action::Decline => ResumeAction::Decline,
            Action::Cancel => ResumeAction::Cancel,
        }
    }
}

/// Longest argument kept in the trigger meta, and most arguments kept: the
/// meta is bounded (8 KiB) and code given as an argument is in the run anyway.
const MAX_ARG_CHARS: usize = 200;
const MAX_ARGS: usize = 20;

pub async fn call(server: &ServerArgs, args: CallArgs) -> Exit {
    let code = match read_code(&args) {
        Ok(code) => code,
        Err(e) => return fail(&e),
    };
    let api = match Api::new(server) {
        Ok(api) => api,
        Err(e) => return fail(&e),
    };
    // One session per invocation: the run, and any rerun it makes, are
    // found together with `runs list --session`.
    let session = format!("cli:{}", uuid::Uuid::now_v7().simple());
    let meta = json!({ "argv": argv(), "cwd": cwd(), "host": host() });
    let mut body = json!({ "code": code });
    if let Some(ms) = args.timeout_ms {
        body["timeoutMs"] = json!(ms);
    }
    let headers = [
        ("x-executor-trigger", "cli".to_owned()),
        ("x-executor-trigger-meta", ascii_json(&meta)),
        ("x-executor-session", session),
    ];
    let response = match api
        .post::<RunResponse>("/executions", &body, &headers)
        .await
    {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let interactive = !args.no_interactive
        && (args.interactive
            || (std::io::stdin().is_terminal() && std::io::stdout().is_terminal()));
    finish(&api, server, response, args.json, interactive).await
}

pub async fn resume(server: &ServerArgs, args: ResumeArgs) -> Exit {
    let api = match Api::new(server) {
        Ok(api) => api,
        Err(e) => return fail(&e),
    };
    let content = match args.content.as_deref().map(serde_json::from_str::<Value>) {
        None => None,
        Some(Ok(v)) => Some(v),
        Some(Err(e)) => {
            return fail(&CliError::Usage(format!("--content is not JSON: {e}")));
        }
    };
    let response = match answer(&api, &args.id, args.action.into(), content).await {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    finish(&api, server, response, args.json, false).await
}

async fn answer(
    api: &Api,
    id: &str,
    action: ResumeAction,
    content: Option<Value>,
) -> Result<RunResponse, CliError> {
    let mut body = json!({ "action": action.as_str() });
    if let Some(content) = content {
        body["content"] = content;
    }
    api.post(&format!("/executions/{id}/resume"), &body, &[])
        .await
}

/// Prints a run's outcome; asks about a pause when `interactive`, then
/// goes on with the run.
async fn finish(
    api: &Api,
    server: &ServerArgs,
    mut response: RunResponse,
    as_json: bool,
    interactive: bool,
) -> Exit {
    loop {
        print_logs(&response.logs);
        if response.status == RunStatus::WaitingForInteraction && interactive {
            let Some(pending) = &response.interaction else {
                break;
            };
            let (action, content) = match ask(&pending.request) {
                Ok(answer) => answer,
                Err(e) => return fail(&CliError::Usage(format!("cannot read the answer: {e}"))),
            };
            response = match answer(api, &response.execution_id, action, content).await {
                Ok(r) => r,
                Err(e) => return fail(&e),
            };
            continue;
        }
        break;
    }
    if as_json {
        out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&response).unwrap_or_default()
        ));
    }
    match response.status {
        RunStatus::Completed => {
            if !as_json {
                print_result(response.result.as_ref());
            }
            Exit::Done
        }
        RunStatus::Failed | RunStatus::Cancelled => {
            if !as_json {
                let what = response.error.as_deref().unwrap_or("cancelled");
                let red = Styles::color(AnsiColor::Red).bold();
                note(&format!(
                    "{red}run {}:{red:#} {what}\n",
                    status_word(response.status)
                ));
            }
            Exit::RunFailed
        }
        RunStatus::WaitingForInteraction => {
            if !as_json {
                print_pause(server, &response);
            }
            Exit::Waiting
        }
    }
}

fn status_word(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Completed => "completed",
        RunStatus::Failed => "failed",
        RunStatus::Cancelled => "cancelled",
        RunStatus::WaitingForInteraction => "waiting for a person",
    }
}

/// Strings raw, other JSON pretty, nothing for no value.
fn print_result(result: Option<&Value>) {
    match result {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => out(&format!("{s}\n")),
        Some(other) => out(&format!(
            "{}\n",
            serde_json::to_string_pretty(other).unwrap_or_default()
        )),
    }
}

/// The run's log lines on stderr, coloured by level on a terminal.
pub fn print_logs(lines: &[String]) {
    for line in lines {
        let style = Styles::log(line);
        note(&format!("{style}{line}{style:#}\n"));
    }
}

/// The pause, and the commands that answer it, exactly as they would run.
fn print_pause(server: &ServerArgs, response: &RunResponse) {
    let id = &response.execution_id;
    let bold = Styles::bold();
    let mut text = String::new();
    if let Some(pending) = &response.interaction {
        text.push_str(&format!(
            "{bold}The run waits for a person:{bold:#} {}\n",
            pending.request.message()
        ));
        match &pending.request {
            ElicitationRequest::Form {
                requested_schema, ..
            } => {
                let schema = serde_json::to_string(requested_schema).unwrap_or_default();
                text.push_str(&format!("form: {schema}\n"));
            }
            ElicitationRequest::Url { url, .. } => text.push_str(&format!("url: {url}\n")),
        }
    }
    let server_arg = if server.url() == super::DEFAULT_SERVER {
        String::new()
    } else {
        format!(" --server {}", shell_quote(server.url()))
    };
    text.push_str("Answer it with one of:\n");
    text.push_str(&format!(
        "  executor resume {id}{server_arg} --action accept --content '{{}}'\n"
    ));
    text.push_str(&format!(
        "  executor resume {id}{server_arg} --action decline\n"
    ));
    text.push_str(&format!(
        "  executor resume {id}{server_arg} --action cancel\n"
    ));
    out(&text);
}

fn shell_quote(s: &str) -> String {
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/:._-".contains(&b))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Asks the person at the terminal: accept (filling a form's fields one
/// by one), decline or cancel.
fn ask(request: &ElicitationRequest) -> std::io::Result<(ResumeAction, Option<Value>)> {
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let mut prompt = |question: &str| -> std::io::Result<String> {
        let mut stdout = anstream::stdout();
        write!(stdout, "{question}")?;
        stdout.flush()?;
        match lines.next() {
            Some(line) => Ok(line?.trim().to_owned()),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "stdin closed",
            )),
        }
    };
    let bold = Styles::bold();
    out(&format!(
        "{bold}The run asks:{bold:#} {}\n",
        request.message()
    ));
    if let ElicitationRequest::Url { url, .. } = request {
        out(&format!("Open {url}\n"));
    }
    let action = loop {
        match prompt("Accept, decline or cancel? [a/d/c] ")?
            .to_ascii_lowercase()
            .as_str()
        {
            "a" | "accept" | "y" | "yes" => break ResumeAction::Accept,
            "d" | "decline" | "n" | "no" => break ResumeAction::Decline,
            "c" | "cancel" => break ResumeAction::Cancel,
            _ => out("Type a, d or c.\n"),
        }
    };
    let ElicitationRequest::Form {
        requested_schema, ..
    } = request
    else {
        return Ok((action, None));
    };
    if action != ResumeAction::Accept {
        return Ok((action, None));
    }
    let Some(properties) = requested_schema["properties"].as_object() else {
        return Ok((action, Some(json!({}))));
    };
    let required: Vec<&str> = requested_schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut content = Map::new();
    for (name, field) in properties {
        let kind = field["type"].as_str().unwrap_or("string");
        let label = field["title"].as_str().unwrap_or(name);
        let optional = !required.contains(&name.as_str());
        loop {
            let hint = match field["enum"].as_array() {
                Some(values) => format!(
                    " [{}]",
                    values
                        .iter()
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                        .collect::<Vec<_>>()
                        .join("/")
                ),
                None if kind == "boolean" => " [y/n]".to_owned(),
                None => format!(" ({kind})"),
            };
            let skip = if optional { ", empty to skip" } else { "" };
            let text = prompt(&format!("{label}{hint}{skip}: "))?;
            if text.is_empty() && optional {
                break;
            }
            match field_value(kind, &text) {
                Some(value) => {
                    content.insert(name.clone(), value);
                    break;
                }
                None => out(&format!("Not a {kind}; try again.\n")),
            }
        }
    }
    Ok((action, Some(Value::Object(content))))
}

/// A typed answer to one form field.
fn field_value(kind: &str, text: &str) -> Option<Value> {
    match kind {
        "boolean" => match text.to_ascii_lowercase().as_str() {
            "y" | "yes" | "true" => Some(json!(true)),
            "n" | "no" | "false" => Some(json!(false)),
            _ => None,
        },
        "integer" => text.parse::<i64>().ok().map(|n| json!(n)),
        "number" => text
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(|n| json!(n)),
        _ => (!text.is_empty()).then(|| json!(text)),
    }
}

/// The code: `--file`, the argument, or stdin (`-`, or no argument with
/// piped input).
fn read_code(args: &CallArgs) -> Result<String, CliError> {
    if let Some(path) = &args.file {
        return std::fs::read_to_string(path)
            .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())));
    }
    match args.code.as_deref() {
        Some("-") => read_stdin(),
        Some(code) => Ok(code.to_owned()),
        None if !std::io::stdin().is_terminal() => read_stdin(),
        None => Err(CliError::Usage(
            "no code: give it as an argument, with --file F, or on stdin (`-`)".to_owned(),
        )),
    }
}

fn read_stdin() -> Result<String, CliError> {
    let mut code = String::new();
    std::io::stdin()
        .read_to_string(&mut code)
        .map_err(|e| CliError::Usage(format!("cannot read stdin: {e}")))?;
    Ok(code)
}

/// The command line, bounded, with any token taken out: the trigger meta is
/// kept in the history, and a token never may be.
fn argv() -> Vec<String> {
    let mut out = Vec::new();
    let mut hide_next = false;
    for arg in std::env::args().take(MAX_ARGS) {
        if hide_next {
            out.push("…".to_owned());
            hide_next = false;
            continue;
        }
        if arg == "--token" {
            hide_next = true;
            out.push(arg);
            continue;
        }
        if arg.starts_with("--token=") {
            out.push("--token=…".to_owned());
            continue;
        }
        out.push(arg.chars().take(MAX_ARG_CHARS).collect());
    }
    out
}

fn cwd() -> String {
    std::env::current_dir()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_answers_are_typed() {
        assert_eq!(field_value("boolean", "Y"), Some(json!(true)));
        assert_eq!(field_value("integer", "42"), Some(json!(42)));
        assert_eq!(field_value("integer", "4.2"), None);
        assert_eq!(field_value("number", "4.5"), Some(json!(4.5)));
        assert_eq!(field_value("number", "inf"), None);
        assert_eq!(field_value("string", ""), None);
        assert_eq!(field_value("string", "hi"), Some(json!("hi")));
        assert_eq!(shell_quote("http://h:3000"), "http://h:3000");
        assert_eq!(shell_quote("http://h/?a=b"), "'http://h/?a=b'");
        let meta = json!({ "argv": ["…", "é😀"] });
        let ascii = ascii_json(&meta);
        assert!(ascii.is_ascii(), "{ascii}");
        assert_eq!(serde_json::from_str::<Value>(&ascii).unwrap(), meta);
    }
}
