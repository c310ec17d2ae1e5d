//! `executor sources add | list | remove | refresh` (docs/cli.md#sources):
//! the server's `/sources`, for a person at a terminal or a script.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{json, Value};

use super::{against, listing, out, Api, CliError, Exit, ServerArgs, Styles};

#[derive(clap::Subcommand, Debug)]
pub enum SourcesCommand {
    /// Add (or replace) a source in this scope.
    Add {
        #[command(subcommand)]
        kind: AddKind,
    },
    /// This scope's sources and every scope's: kind, state, tool count.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a source added through the API or the CLI.
    Remove { name: String },
    /// Load a source again (a changed document, a server back up).
    Refresh { name: String },
}

#[derive(clap::Subcommand, Debug)]
pub enum AddKind {
    /// An OpenAPI 3.0 or 3.1 document: each operation becomes a tool.
    Openapi {
        /// The namespace: tools.NAME.…
        name: String,
        /// The document: a local file (sent to the server) or an http(s) URL.
        spec: String,
        /// The API's URL, when the document names none or another.
        #[arg(long)]
        base_url: Option<String>,
        /// A header for every call, `Name: value`; values may hold {secret:NAME}.
        #[arg(long = "header", value_name = "NAME: VALUE")]
        headers: Vec<String>,
        /// A query value for every call, `name=value`; may hold {secret:NAME}.
        #[arg(long = "query", value_name = "NAME=VALUE")]
        query: Vec<String>,
    },
    /// An MCP server over streamable HTTP (--url) or stdio (--command … -- args).
    Mcp {
        name: String,
        #[arg(long, conflicts_with = "command", required_unless_present = "command")]
        url: Option<String>,
        /// A program to start (the server must allow stdio sources).
        #[arg(long)]
        command: Option<String>,
        /// The program's arguments, after `--`.
        #[arg(last = true)]
        args: Vec<String>,
        /// An environment variable for the program, `NAME=value`.
        #[arg(long = "env", value_name = "NAME=VALUE")]
        env: Vec<String>,
        /// A header for every request, `Name: value`.
        #[arg(long = "header", value_name = "NAME: VALUE")]
        headers: Vec<String>,
    },
}

pub async fn sources(server: &ServerArgs, command: SourcesCommand) -> Exit {
    against(server, |api| async move { run(&api, command).await }).await
}

async fn run(api: &Api, command: SourcesCommand) -> Result<Exit, CliError> {
    match command {
        SourcesCommand::Add { kind } => {
            let spec = spec(kind)?;
            Ok(loaded(
                &api.send_json(Method::POST, "/sources", Some(&spec)).await?,
            ))
        }
        SourcesCommand::List { json } => {
            let list: Value = api.get("/sources").await?;
            let header = format!(
                "{:<20} {:<8} {:<7} {:<7} {:>6}  {}",
                "NAME", "KIND", "ORIGIN", "STATE", "TOOLS", "TITLE / ERROR"
            );
            listing(
                list["sources"].as_array().map_or(&[], Vec::as_slice),
                json,
                "(no sources: add one with `executor sources add openapi|mcp …`)",
                &header,
                line,
            );
            Ok(Exit::Done)
        }
        SourcesCommand::Remove { name } => {
            let _: Value = api
                .send_json(Method::DELETE, &format!("/sources/{name}"), None)
                .await?;
            out(&format!("{name} removed\n"));
            Ok(Exit::Done)
        }
        SourcesCommand::Refresh { name } => {
            let path = format!("/sources/{name}/refresh");
            Ok(loaded(&api.send_json(Method::POST, &path, None).await?))
        }
    }
}

/// Prints a source the server answered with; exit 1 when it did not load.
fn loaded(view: &Value) -> Exit {
    out(&format!("{}\n", line(view)));
    if view["state"] == "failed" {
        Exit::RunFailed
    } else {
        Exit::Done
    }
}

/// A source in one line: name, kind, origin, state, tools, title or error.
fn line(s: &Value) -> String {
    let state = s["state"].as_str().unwrap_or("");
    let style = Styles::status(if state == "failed" {
        "failed"
    } else {
        "completed"
    });
    let tail = s["error"].as_str().or(s["title"].as_str()).unwrap_or("");
    format!(
        "{:<20} {:<8} {:<7} {style}{:<7}{style:#} {:>6}  {}",
        s["name"].as_str().unwrap_or(""),
        s["kind"].as_str().unwrap_or(""),
        s["origin"].as_str().unwrap_or(""),
        state,
        s["toolCount"].as_u64().unwrap_or(0),
        tail
    )
}

/// The API's body for `kind`: a local document is read here and sent.
fn spec(kind: AddKind) -> Result<Value, CliError> {
    match kind {
        AddKind::Openapi {
            name,
            spec,
            base_url,
            headers,
            query,
        } => {
            let mut body = json!({
                "kind": "openapi",
                "name": name,
                "headers": pairs(&headers, ':', "--header")?,
                "query": pairs(&query, '=', "--query")?,
            });
            if spec.starts_with("http://") || spec.starts_with("https://") {
                body["spec"] = json!(spec);
            } else {
                let text = std::fs::read_to_string(&spec)
                    .map_err(|e| CliError::Usage(format!("cannot read {spec}: {e}")))?;
                body["document"] = json!(text);
            }
            if let Some(base) = base_url {
                body["baseUrl"] = json!(base);
            }
            Ok(body)
        }
        AddKind::Mcp {
            name,
            url,
            command,
            args,
            env,
            headers,
        } => {
            let mut body = json!({
                "kind": "mcp",
                "name": name,
                "env": pairs(&env, '=', "--env")?,
                "headers": pairs(&headers, ':', "--header")?,
            });
            match (url, command) {
                (Some(url), _) => body["url"] = json!(url),
                (None, Some(command)) => {
                    body["command"] = json!(command);
                    body["args"] = json!(args);
                }
                (None, None) => return Err(CliError::Usage("give --url or --command".into())),
            }
            Ok(body)
        }
    }
}

/// `Name: value` or `name=value` pairs, each split at its first separator.
fn pairs(
    items: &[String],
    separator: char,
    flag: &str,
) -> Result<BTreeMap<String, String>, CliError> {
    items
        .iter()
        .map(|item| {
            item.split_once(separator)
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| {
                    CliError::Usage(format!("{flag} '{item}': write it as NAME{separator}VALUE"))
                })
        })
        .collect()
}
