//! `executor tools search | describe`: the engine's built-in discovery
//! tools, run as code on the server, so they are recorded like any run
//! (trigger `cli`) and see exactly the tools a run would.

use serde_json::{json, Value};

use app::model::{RunResponse, RunStatus};

use super::{fail, out, Api, CliError, Exit, ServerArgs, Styles};

#[derive(clap::Subcommand, Debug)]
pub enum ToolsCommand {
    /// Find tools by words of their path, name and description.
    Search {
        query: String,
        /// Only tools under this namespace (`github`, `github.issues`).
        #[arg(long)]
        namespace: Option<String>,
        /// At most this many (1-1000).
        #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// A tool's descriptor: description, approval, input and output schemas.
    Describe {
        path: String,
        #[arg(long)]
        json: bool,
    },
}

pub async fn tools(server: &ServerArgs, command: ToolsCommand) -> Exit {
    let api = match Api::new(server) {
        Ok(api) => api,
        Err(e) => return fail(&e),
    };
    let (code, json) = match &command {
        ToolsCommand::Search {
            query,
            namespace,
            limit,
            json,
        } => {
            let mut args = json!({ "query": query, "limit": limit });
            if let Some(ns) = namespace {
                args["namespace"] = json!(ns);
            }
            (format!("return await tools.search({args});"), *json)
        }
        ToolsCommand::Describe { path, json } => (
            format!(
                "return await tools.describe.tool({});",
                json!({ "path": path })
            ),
            *json,
        ),
    };
    let response: RunResponse = match api
        .post(
            "/executions",
            &json!({ "code": code }),
            &[("x-executor-trigger", "cli".to_owned())],
        )
        .await
    {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    if response.status != RunStatus::Completed {
        let why = response
            .error
            .unwrap_or_else(|| "the run did not complete".into());
        return fail(&CliError::Server {
            code: None,
            message: why,
        });
    }
    let result = response.result.unwrap_or(Value::Null);
    if json {
        out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&result).unwrap_or_default()
        ));
        return Exit::Done;
    }
    match command {
        ToolsCommand::Search { .. } => out(&found(&result)),
        ToolsCommand::Describe { .. } => out(&described(&result)),
    }
    Exit::Done
}

/// Search results, a line each: path and the description's first line.
fn found(result: &Value) -> String {
    let Some(tools) = result.as_array().filter(|t| !t.is_empty()) else {
        return "(no tools match)\n".to_owned();
    };
    let bold = Styles::bold();
    let width = tools
        .iter()
        .filter_map(|t| t["path"].as_str())
        .map(str::len)
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    for tool in tools {
        let path = tool["path"].as_str().unwrap_or("");
        let description = tool["description"]
            .as_str()
            .and_then(|d| d.lines().next())
            .unwrap_or("");
        text.push_str(&format!("{bold}{path:<width$}{bold:#}  {description}\n"));
    }
    text
}

/// A descriptor for a terminal; the schemas pretty-printed.
fn described(tool: &Value) -> String {
    let bold = Styles::bold();
    let mut text = format!("{bold}{}{bold:#}\n", tool["path"].as_str().unwrap_or(""));
    if let Some(d) = tool["description"].as_str() {
        text.push_str(&format!("{d}\n"));
    }
    let approval = match tool["approval"]["kind"].as_str() {
        Some("required") => format!(
            "required: {}",
            tool["approval"]["message"].as_str().unwrap_or("")
        ),
        _ => "not needed".to_owned(),
    };
    text.push_str(&format!("\napproval: {approval}\n"));
    for (name, key) in [("input", "inputSchema"), ("output", "outputSchema")] {
        if !tool[key].is_null() {
            let schema = serde_json::to_string_pretty(&tool[key]).unwrap_or_default();
            text.push_str(&format!("\n{bold}{name}{bold:#}\n{schema}\n"));
        }
    }
    text
}
