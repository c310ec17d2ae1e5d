//! `executor secrets set | list | remove` (docs/cli.md#secrets): the value
//! is read from a prompt that does not echo, or from stdin, and sent to
//! the server once; nothing ever prints it.

use std::io::{IsTerminal, Read};

use reqwest::Method;
use serde_json::{json, Value};

use super::{against, listing, out, Api, CliError, Exit, ServerArgs};

#[derive(clap::Subcommand, Debug)]
pub enum SecretsCommand {
    /// Set a secret; the value comes from a prompt, or from stdin when piped.
    Set {
        name: String,
    },
    /// This scope's secret names (never values).
    List {
        #[arg(long)]
        json: bool,
    },
    Remove {
        name: String,
    },
}

pub async fn secrets(server: &ServerArgs, command: SecretsCommand) -> Exit {
    against(server, |api| async move { run(&api, command).await }).await
}

async fn run(api: &Api, command: SecretsCommand) -> Result<Exit, CliError> {
    match command {
        SecretsCommand::Set { name } => {
            let value = read_value(&name)?;
            let _: Value = api
                .send_json(
                    Method::PUT,
                    &format!("/secrets/{name}"),
                    Some(&json!({ "value": value })),
                )
                .await?;
            out(&format!("{name} set; use it as {{secret:{name}}}\n"));
            Ok(Exit::Done)
        }
        SecretsCommand::List { json } => {
            let list: Value = api.get("/secrets").await?;
            listing(
                list["secrets"].as_array().map_or(&[], Vec::as_slice),
                json,
                "(no secrets: set one with `executor secrets set NAME`)",
                &format!("{:<32} SET", "NAME"),
                |s| {
                    let at = s["updatedAt"]
                        .as_i64()
                        .map(|ms| format!("{} UTC", app::model::format_utc(ms)))
                        .unwrap_or_default();
                    format!("{:<32} {at}", s["name"].as_str().unwrap_or(""))
                },
            );
            Ok(Exit::Done)
        }
        SecretsCommand::Remove { name } => {
            let _: Value = api
                .send_json(Method::DELETE, &format!("/secrets/{name}"), None)
                .await?;
            out(&format!("{name} removed\n"));
            Ok(Exit::Done)
        }
    }
}

/// The value: typed at a prompt that does not echo, or piped in (one
/// trailing newline dropped).
fn read_value(name: &str) -> Result<String, CliError> {
    let value = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("value of {name} (not shown): "))
            .map_err(|e| CliError::Usage(format!("cannot read the value: {e}")))?
    } else {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError::Usage(format!("cannot read the value from stdin: {e}")))?;
        text.strip_suffix('\n')
            .map(|t| t.strip_suffix('\r').unwrap_or(t))
            .unwrap_or(&text)
            .to_owned()
    };
    if value.is_empty() {
        return Err(CliError::Usage("the value is empty".into()));
    }
    Ok(value)
}
