//! The `executor` commands that talk to a server over the JSON API
//! (docs/cli.md): `call`, `resume`, `runs …`. Output for people on stdout
//! (coloured only on a terminal, `NO_COLOR` respected), diagnostics on
//! stderr, and exit codes a script can branch on ([`Exit`]).

mod call;
mod runs;
mod secrets;
mod show;
mod sources;
mod tools;

use std::io::Write;
use std::process::ExitCode;

use anstyle::{AnsiColor, Style};
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use call::{call, resume, CallArgs, ResumeArgs};
pub use runs::{list_query, runs, RunsCommand};
pub use secrets::{secrets, SecretsCommand};
pub use sources::{sources, SourcesCommand};
pub use tools::{tools, ToolsCommand};

/// The server the CLI talks to when none is named.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:3000";

/// Where the server is and who we are to it.
#[derive(clap::Args, Clone, Debug)]
pub struct ServerArgs {
    /// The server's base URL [default: http://127.0.0.1:3000].
    #[arg(long, env = "EXECUTOR_URL", global = true)]
    pub server: Option<String>,
    /// A token for a server that requires one (`executor token new`).
    #[arg(long, env = "EXECUTOR_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
}

/// How a command ends, as its exit code says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The run completed (or the command did what it was asked).
    Done = 0,
    /// The run failed or was cancelled.
    RunFailed = 1,
    /// Usage, connection or request errors.
    Error = 2,
    /// The run waits for a person (and nobody was asked here).
    Waiting = 3,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// What went wrong talking to the server.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(
        "cannot reach the server at {url} ({why}); start one with `executor serve`, or point --server or EXECUTOR_URL at one"
    )]
    Unreachable { url: String, why: String },
    /// The server's own error: its message, and its code when the body
    /// had the API's shape (`execution_not_found`, …).
    #[error("{message}")]
    Server {
        code: Option<String>,
        message: String,
    },
    #[error("{0}")]
    Usage(String),
    #[error("the server answered something unreadable: {0}")]
    Unreadable(String),
}

/// Prints `error: …` on stderr; the exit code for errors.
pub fn fail(error: &CliError) -> Exit {
    let mut err = anstream::stderr();
    let red = Style::new().fg_color(Some(AnsiColor::Red.into())).bold();
    let _ = writeln!(err, "{red}error:{red:#} {error}");
    Exit::Error
}

/// The JSON API, with the token if there is one.
#[derive(Clone)]
pub struct Api {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl ServerArgs {
    /// The server's URL, the default one when none was named.
    pub fn url(&self) -> &str {
        self.server.as_deref().unwrap_or(DEFAULT_SERVER)
    }
}

impl Api {
    pub fn new(args: &ServerArgs) -> Result<Self, CliError> {
        let base = args.url().trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(CliError::Usage(format!(
                "--server: '{base}' is not an http:// or https:// URL"
            )));
        }
        let http = reqwest::Client::builder()
            .build()
            .map_err(|e| CliError::Usage(e.to_string()))?;
        Ok(Self {
            base,
            token: args.token.clone().filter(|t| !t.is_empty()),
            http,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Whether a server answers at all (`/healthz`).
    pub async fn reachable(&self) -> bool {
        self.http
            .get(self.url("/healthz"))
            .timeout(std::time::Duration::from_secs(2))
            .send()
            .await
            .is_ok()
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, self.url(path));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, CliError> {
        self.send(self.request(reqwest::Method::GET, path)).await
    }

    /// Sends `body` (JSON) with `method`; an empty answer (204) is `null`.
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T, CliError> {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        self.send(request).await
    }

    /// POSTs `body` as JSON with extra headers.
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &Value,
        headers: &[(&str, String)],
    ) -> Result<T, CliError> {
        let mut request = self
            .request(reqwest::Method::POST, path)
            .header("content-type", "application/json")
            .body(body.to_string());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        self.send(request).await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, CliError> {
        let response = request.send().await.map_err(|e| CliError::Unreachable {
            url: self.base.clone(),
            why: reason(&e),
        })?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| CliError::Unreadable(e.to_string()))?;
        if !status.is_success() {
            // The API's error shape: {"error": {"code": …, "message": …}}.
            let body = serde_json::from_slice::<Value>(&bytes).unwrap_or_default();
            let text = |field: &str| body["error"][field].as_str().map(str::to_owned);
            return Err(CliError::Server {
                code: text("code"),
                message: text("message").unwrap_or_else(|| format!("HTTP {status}")),
            });
        }
        let bytes: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
        serde_json::from_slice(bytes).map_err(|e| CliError::Unreadable(e.to_string()))
    }
}

/// A connection error in a few words (the full chain is noise here).
fn reason(e: &reqwest::Error) -> String {
    if e.is_connect() {
        "connection refused".to_owned()
    } else if e.is_timeout() {
        "timed out".to_owned()
    } else {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            text = s.to_string();
            source = s.source();
        }
        text
    }
}

/// Styles, or none when stdout is not a terminal (anstream strips them).
pub struct Styles;

impl Styles {
    pub fn bold() -> Style {
        Style::new().bold()
    }
    pub fn dim() -> Style {
        Style::new().dimmed()
    }
    pub fn color(c: AnsiColor) -> Style {
        Style::new().fg_color(Some(c.into()))
    }
    /// A log line's colour, by its level (`[error] …`, `[warn] …`).
    pub fn log(line: &str) -> Style {
        if line.starts_with("[error]") {
            Self::color(AnsiColor::Red)
        } else if line.starts_with("[warn]") {
            Self::color(AnsiColor::Yellow)
        } else {
            Self::dim()
        }
    }
    /// A status's colour.
    pub fn status(status: &str) -> Style {
        Self::color(match status {
            "completed" => AnsiColor::Green,
            "failed" => AnsiColor::Red,
            "cancelled" => AnsiColor::Magenta,
            "waiting_for_interaction" => AnsiColor::Yellow,
            _ => AnsiColor::Cyan,
        })
    }
}

/// JSON text in visible ASCII, as a header value must be: every other
/// character as a `\u` escape (a surrogate pair past the BMP).
pub fn ascii_json(value: &Value) -> String {
    let mut out = String::new();
    for c in value.to_string().chars() {
        if c.is_ascii() && !c.is_ascii_control() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// A text's first line with something on it, trimmed (a run's code or
/// error in a row).
pub fn first_line(text: &str) -> &str {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}

/// Writes to stdout, ignoring a closed pipe (`| head`).
pub fn out(text: &str) {
    let mut stdout = anstream::stdout();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// Runs a command against the server's API: an unusable `--server` or a
/// failed request prints `error: …` and exits 2.
pub(crate) async fn against<Fut>(server: &ServerArgs, command: impl FnOnce(Api) -> Fut) -> Exit
where
    Fut: std::future::Future<Output = Result<Exit, CliError>>,
{
    match Api::new(server) {
        Ok(api) => command(api).await.unwrap_or_else(|e| fail(&e)),
        Err(e) => fail(&e),
    }
}

/// A list for a terminal: NDJSON with `--json`, else `empty` when there
/// is nothing, else the header line and a row each.
pub(crate) fn listing(
    items: &[Value],
    json: bool,
    empty: &str,
    header: &str,
    row: impl Fn(&Value) -> String,
) {
    if json {
        let lines: String = items.iter().map(|item| format!("{item}\n")).collect();
        out(&lines);
    } else if items.is_empty() {
        out(&format!("{empty}\n"));
    } else {
        let bold = Styles::bold();
        let mut text = format!("{bold}{header}{bold:#}\n");
        for item in items {
            text.push_str(&format!("{}\n", row(item)));
        }
        out(&text);
    }
}

/// Writes to stderr.
pub fn note(text: &str) {
    let mut stderr = anstream::stderr();
    let _ = stderr.write_all(text.as_bytes());
}
