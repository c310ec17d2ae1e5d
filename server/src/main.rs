//! `executor`: the command line. `serve` starts the web server.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use std::sync::Arc;
use std::time::Duration;

use app::engine::tools::demo::DemoSource;
use app::engine::{Engine, EngineConfig, Limits, Registry, MIB};
use app::runs::{CountsHandoff, DEFAULT_RENDER_BUDGET};
use app::store::{now_ms, DatabaseLock, Store};
use server::access::config::{config_entry, config_path, load_tokens, ConfigError};
use server::access::tokens::{random_secret, SecretHash, TOKEN_PREFIX};
use server::access::{Access, SessionPolicy, Tokens};
use server::sources::secrets::{KeySource, Secrets};
use server::sources::Sources;
use server::{maintenance, router, AppState};

/// The same allocator as the `executor` binary (see its Cargo.toml note).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Where every command keeps its runs unless told otherwise.
const DEFAULT_DATABASE: &str = "sqlite://executor.db";

#[derive(Parser)]
#[command(
    name = "executor",
    version,
    about = "Runs code for agents and keeps its history"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the web server (JSON API at /executions, page at /runs).
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:3000", env = "EXECUTOR_ADDR")]
        addr: SocketAddr,
        /// sqlite:PATH (created when missing) or postgres://…
        #[arg(long, default_value = DEFAULT_DATABASE, env = "DATABASE_URL")]
        database_url: String,
        /// Folder holding pkg/ with the page's WASM, JS and CSS.
        #[arg(long, default_value = "target/site", env = "LEPTOS_SITE_ROOT")]
        site_root: String,
        /// Delete runs older than this many days (checked hourly); 0 keeps everything.
        #[arg(long, default_value_t = 0, env = "EXECUTOR_RETENTION_DAYS")]
        retention_days: u32,
        /// On SIGTERM or SIGINT, how long running runs may go on before they
        /// are failed with "interrupted: server stopped".
        #[arg(long, default_value_t = 10, env = "EXECUTOR_SHUTDOWN_GRACE_SECS",
              value_parser = clap::value_parser!(u64).range(0..=3600))]
        shutdown_grace_secs: u64,
        /// How long the page's first render waits for a view's counts
        /// before it shows the rows with the counts pending (they fill in
        /// once the page has loaded); 0 never waits.
        #[arg(long, default_value_t = DEFAULT_RENDER_BUDGET.as_millis() as u64,
              env = "EXECUTOR_RENDER_BUDGET_MS",
              value_parser = clap::value_parser!(u64).range(0..=60_000))]
        render_budget_ms: u64,
        #[command(flatten)]
        engine: EngineArgs,
        #[command(flatten)]
        access: AccessArgs,
        #[command(flatten)]
        sources: SourceArgs,
    },
    /// Run code on a server and print its result (docs/cli.md).
    Call {
        #[command(flatten)]
        server: server::cli::ServerArgs,
        #[command(flatten)]
        args: server::cli::CallArgs,
    },
    /// Answer a run that waits for a person.
    Resume {
        #[command(flatten)]
        server: server::cli::ServerArgs,
        #[command(flatten)]
        args: server::cli::ResumeArgs,
    },
    /// The history: list, show, watch, cancel, rerun.
    Runs {
        #[command(flatten)]
        server: server::cli::ServerArgs,
        #[command(subcommand)]
        command: server::cli::RunsCommand,
    },
    /// The MCP host over stdio (docs/mcp.md): forwards to a server, or,
    /// when none answers at the default address and none was named, runs
    /// the engine in this process on --database-url.
    Mcp {
        #[command(flatten)]
        server: server::cli::ServerArgs,
        /// The database an in-process host records into.
        #[arg(long, default_value = DEFAULT_DATABASE, env = "DATABASE_URL")]
        database_url: String,
        #[command(flatten)]
        engine: EngineArgs,
        #[command(flatten)]
        config: ConfigArg,
        #[command(flatten)]
        sources: SourceArgs,
    },
    /// Find and describe tools, through the engine's built-ins.
    Tools {
        #[command(flatten)]
        server: server::cli::ServerArgs,
        #[command(subcommand)]
        command: server::cli::ToolsCommand,
    },
    /// Tool sources: OpenAPI documents and MCP servers (docs/sources.md).
    Sources {
        #[command(flatten)]
        server: server::cli::ServerArgs,
        #[command(subcommand)]
        command: server::cli::SourcesCommand,
    },
    /// Secrets the sources use as {secret:NAME}; values are never shown.
    Secrets {
        #[command(flatten)]
        server: server::cli::ServerArgs,
        #[command(subcommand)]
        command: server::cli::SecretsCommand,
    },
    /// The servers sharing the database, with their unfinished runs
    /// (docs/operations.md#many-servers).
    Servers {
        #[command(subcommand)]
        action: ServersAction,
        #[arg(
            long,
            default_value = DEFAULT_DATABASE,
            env = "DATABASE_URL",
            global = true
        )]
        database_url: String,
    },
    /// Print a shell completion script: bash, zsh or fish.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Make or list access tokens (docs/access.md).
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Fill a database with synthetic runs, to try the page or measure it.
    Seed {
        /// How many runs to add.
        #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
        runs: u64,
        /// Spread them over this many days before now.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=3650))]
        days: u32,
        #[arg(long, default_value = DEFAULT_DATABASE, env = "DATABASE_URL")]
        database_url: String,
    },
    /// Check or rebuild what the store derives from runs, tool calls and
    /// interactions (tool paths, roll-ups, totals, the text indexes).
    Store {
        #[command(subcommand)]
        action: StoreAction,
        #[arg(
            long,
            default_value = DEFAULT_DATABASE,
            env = "DATABASE_URL",
            global = true
        )]
        database_url: String,
    },
    /// Copy runs, tool calls and interactions from another database (this
    /// product's layout or the reference system's); runs already here are skipped.
    Import {
        /// The database to copy from: sqlite:PATH or postgres://… (only read).
        #[arg(long)]
        from: String,
        /// The database to copy into.
        #[arg(long, default_value = DEFAULT_DATABASE, env = "DATABASE_URL")]
        database_url: String,
    },
}

#[derive(Subcommand)]
enum TokenAction {
    /// Print a new random token once, and the line that adds it to the config.
    New {
        /// The scope whose runs the token sees.
        #[arg(long)]
        scope: String,
        /// A name for logs and `token list` (where it is used, who holds it).
        #[arg(long, default_value = "token")]
        label: String,
    },
    /// List the configured tokens: scope, label and hash prefix (never tokens).
    List {
        #[command(flatten)]
        config: ConfigArg,
    },
}

/// Where tokens are configured.
#[derive(clap::Args)]
struct ConfigArg {
    /// The config file with token hashes (default: ./executor.toml when
    /// present). EXECUTOR_TOKENS (scope:token,…) adds tokens too.
    #[arg(long, env = "EXECUTOR_CONFIG")]
    config: Option<std::path::PathBuf>,
}

impl ConfigArg {
    fn tokens(&self) -> Result<Tokens, ConfigError> {
        let env = std::env::var("EXECUTOR_TOKENS").ok();
        load_tokens(
            config_path(self.config.as_deref()).as_deref(),
            env.as_deref(),
        )
    }
}

/// Who may come in (docs/access.md).
#[derive(clap::Args)]
struct AccessArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Mark the session cookie Secure (set it when a TLS proxy in front
    /// does not send X-Forwarded-Proto: https).
    #[arg(long, env = "EXECUTOR_COOKIE_SECURE")]
    cookie_secure: bool,
    /// A login session unused this many hours ends.
    #[arg(long, default_value_t = 12, env = "EXECUTOR_SESSION_IDLE_HOURS",
          value_parser = clap::value_parser!(u64).range(1..=8_760))]
    session_idle_hours: u64,
    /// A login session ends this many days after the login, used or not.
    #[arg(long, default_value_t = 7, env = "EXECUTOR_SESSION_MAX_DAYS",
          value_parser = clap::value_parser!(u64).range(1..=365))]
    session_max_days: u64,
}

impl AccessArgs {
    fn policy(&self) -> SessionPolicy {
        SessionPolicy {
            idle: Duration::from_secs(self.session_idle_hours * 3_600),
            absolute: Duration::from_secs(self.session_max_days * 86_400),
            secure_cookie: self.cookie_secure,
        }
    }
}

#[derive(Subcommand)]
enum ServersAction {
    /// Each server: id, address, start, last heartbeat, unfinished runs.
    List,
}

#[derive(Subcommand)]
enum StoreAction {
    /// Compare every derived structure with the three tables; exit 1 on drift.
    Check,
    /// Recompute every derived structure from the three tables (safe to rerun).
    Rebuild,
}

/// How runs execute.
#[derive(clap::Args)]
struct EngineArgs {
    /// Default wall-time limit of a run, in milliseconds.
    #[arg(long, default_value_t = 5_000, env = "EXECUTOR_RUN_TIMEOUT_MS")]
    run_timeout_ms: u64,
    /// Memory limit of a run, in MiB.
    #[arg(long, default_value_t = 64, env = "EXECUTOR_RUN_MEMORY_MIB")]
    run_memory_mib: usize,
    /// Sandbox threads (default: one per core, at least two).
    #[arg(long, env = "EXECUTOR_WORKERS")]
    workers: Option<usize>,
    /// A run paused for a person is cancelled after this many seconds.
    #[arg(long, default_value_t = 3_600, env = "EXECUTOR_PAUSE_TTL_SECS")]
    pause_ttl_secs: u64,
    /// Seconds a run's claim by this server holds without a heartbeat:
    /// another server on the same PostgreSQL fails the runs of a server
    /// silent this long (docs/operations.md#many-servers).
    #[arg(long, default_value_t = 30.0, env = "EXECUTOR_LEASE_SECS",
          value_parser = lease_secs)]
    lease_secs: f64,
    /// A direct PostgreSQL connection for LISTEN (resume and cancel from
    /// other servers) when --database-url goes through PgBouncer in
    /// transaction mode, which cannot LISTEN.
    #[arg(long, env = "EXECUTOR_LISTEN_DATABASE_URL")]
    listen_database_url: Option<String>,
    /// Register the `demo` fixture tools (for tests and demos only).
    #[arg(long, hide = true, env = "EXECUTOR_DEMO_TOOLS")]
    demo_tools: bool,
}

impl EngineArgs {
    fn config(&self) -> EngineConfig {
        let defaults = EngineConfig::default();
        EngineConfig {
            limits: Limits {
                wall_time: Duration::from_millis(self.run_timeout_ms.max(1)),
                memory_bytes: self.run_memory_mib.max(1) * MIB,
                ..Limits::default()
            },
            workers: self.workers.unwrap_or(defaults.workers).max(1),
            pause_ttl: Duration::from_secs(self.pause_ttl_secs.max(1)),
            // Fresh at every start: a restarted server owns none of its
            // old runs.
            instance: Some(app::engine::Instance {
                id: uuid::Uuid::now_v7().to_string(),
                lease: Duration::from_secs_f64(self.lease_secs),
            }),
            ..defaults
        }
    }

    fn registry(&self) -> Arc<Registry> {
        let registry = Registry::new();
        if self.demo_tools {
            if let Err(e) = registry.register(Arc::new(DemoSource)) {
                tracing::warn!(error = %e, "could not register the demo tools");
            }
        }
        registry
    }
}

/// Tool sources and their secrets (docs/sources.md).
#[derive(clap::Args)]
struct SourceArgs {
    /// Let sources added through the API start programs (MCP over stdio).
    /// The config file's may always.
    #[arg(long, env = "EXECUTOR_ALLOW_STDIO_SOURCES")]
    allow_stdio_sources: bool,
    /// The key file secrets are sealed with, made (mode 0600) on first use
    /// when EXECUTOR_SECRET_KEY (64 hex digits) is not set.
    #[arg(long, default_value = "executor.key", env = "EXECUTOR_SECRET_KEY_FILE")]
    secret_key_file: std::path::PathBuf,
}

impl SourceArgs {
    /// The sources of the config file (and the stored ones), loading.
    async fn start(
        &self,
        config: Option<&std::path::Path>,
        registry: Arc<Registry>,
        store: Store,
    ) -> Result<Arc<Sources>, String> {
        let (configured, policies) = server::sources::config::read(config)?;
        let key = match std::env::var("EXECUTOR_SECRET_KEY") {
            Ok(key) if !key.trim().is_empty() => KeySource::Given(key),
            _ => KeySource::File(self.secret_key_file.clone()),
        };
        let secrets = Arc::new(Secrets::new(store.clone(), key));
        let sources = Sources::new(registry, store, secrets, self.allow_stdio_sources);
        sources.start(configured, policies).await;
        Ok(sources)
    }
}

/// A lease from 0.3 s (tests) to an hour.
fn lease_secs(text: &str) -> Result<f64, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("'{text}' is not a number of seconds"))?;
    if (0.3..=3_600.0).contains(&secs) {
        Ok(secs)
    } else {
        Err("must be from 0.3 to 3600 seconds".into())
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Maintenance commands run long set comparisons on purpose: sqlx's
    // slow-statement warnings would only bury their report.
    let default_filter = match cli.command {
        Command::Serve { .. } => "info",
        // Commands for people at a terminal say what they have to say
        // themselves; the log speaks only of trouble.
        Command::Call { .. }
        | Command::Resume { .. }
        | Command::Runs { .. }
        | Command::Tools { .. }
        | Command::Sources { .. }
        | Command::Secrets { .. }
        | Command::Mcp { .. }
        | Command::Servers { .. }
        | Command::Completions { .. } => "warn",
        _ => "info,sqlx::query=error,sqlx::postgres::notice=warn",
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter)),
        )
        .init();
    match cli.command {
        Command::Serve {
            addr,
            database_url,
            site_root,
            retention_days,
            shutdown_grace_secs,
            render_budget_ms,
            engine,
            access,
            sources,
        } => {
            let tokens = match access.config.tokens() {
                Ok(tokens) => tokens,
                Err(err) => {
                    tracing::error!(error = %err, "cannot read the tokens");
                    return ExitCode::from(2);
                }
            };
            if tokens.is_empty() && !addr.ip().is_loopback() {
                tracing::error!(
                    %addr,
                    "refusing to listen on a non-loopback address without tokens: anyone who \
                     reaches it could read every run and run code. Make a token with `executor \
                     token new --scope NAME` and add its line to executor.toml (or set \
                     EXECUTOR_TOKENS=scope:token), or listen on 127.0.0.1"
                );
                return ExitCode::from(2);
            }
            match serve(
                addr,
                &database_url,
                &site_root,
                retention_days,
                (
                    Duration::from_secs(shutdown_grace_secs),
                    Duration::from_millis(render_budget_ms),
                ),
                (&engine, &sources),
                (tokens, &access),
            )
            .await
            {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    tracing::error!(error = %err, "server stopped");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Token { action } => token_command(action),
        Command::Servers {
            action: ServersAction::List,
            database_url,
        } => servers_list(&database_url).await,
        Command::Call { server, args } => server::cli::call(&server, args).await.into(),
        Command::Resume { server, args } => server::cli::resume(&server, args).await.into(),
        Command::Runs { server, command } => server::cli::runs(&server, command).await.into(),
        Command::Tools { server, command } => server::cli::tools(&server, command).await.into(),
        Command::Sources { server, command } => server::cli::sources(&server, command).await.into(),
        Command::Secrets { server, command } => server::cli::secrets(&server, command).await.into(),
        Command::Mcp {
            server,
            database_url,
            engine,
            config,
            sources,
        } => {
            let api = match server::cli::Api::new(&server) {
                Ok(api) => api,
                Err(e) => return server::cli::fail(&e).into(),
            };
            // A desktop client configured with just `executor mcp` works
            // without a server, its runs in the history a server started
            // later on the same database shows.
            let outcome = if server.server.is_none() && !api.reachable().await {
                mcp_in_process(&database_url, &engine, (&sources, config.config.as_deref())).await
            } else {
                server::mcp::serve_stdio(server::mcp::Host::remote(api)).await
            };
            match outcome {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    tracing::error!(error = %err, "the MCP host stopped");
                    ExitCode::from(2)
                }
            }
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut command = Cli::command();
            // Into a buffer: clap_complete panics on a failed write (a
            // closed pipe), and `| head` is no reason to.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "executor", &mut script);
            server::cli::out(&String::from_utf8_lossy(&script));
            ExitCode::SUCCESS
        }
        Command::Seed {
            runs,
            days,
            database_url,
        } => report(
            maintenance::seed(runs, days, &database_url).await,
            "seeding failed",
        ),
        Command::Store {
            action: StoreAction::Check,
            database_url,
        } => match maintenance::check(&database_url).await {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(err) => report(Err(err), "store check failed"),
        },
        Command::Store {
            action: StoreAction::Rebuild,
            database_url,
        } => report(
            maintenance::rebuild(&database_url).await,
            "store rebuild failed",
        ),
        Command::Import { from, database_url } => report(
            maintenance::import(&from, &database_url).await,
            "import failed",
        ),
    }
}

/// `executor servers list`: read from the database, for an operator.
async fn servers_list(database_url: &str) -> ExitCode {
    let listed = async {
        let store = Store::connect(database_url).await?;
        let rows = store.instances().await;
        store.close().await;
        rows
    };
    match listed.await {
        Ok(rows) => {
            let now = now_ms();
            let mut text = format!(
                "{:<38} {:<22} {:<20} {:>10} {:>6}\n",
                "INSTANCE", "ADDRESS", "STARTED (UTC)", "HEARTBEAT", "RUNS"
            );
            for r in &rows {
                text.push_str(&format!(
                    "{:<38} {:<22} {:<20} {:>8.1}s {:>6}\n",
                    r.id,
                    r.address,
                    app::model::format_utc(r.started_at),
                    (now - r.heartbeat_at) as f64 / 1000.0,
                    r.runs
                ));
            }
            if rows.is_empty() {
                text.push_str("(no server is running on this database)\n");
            }
            server::cli::out(&text);
            ExitCode::SUCCESS
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot list the servers");
            ExitCode::from(2)
        }
    }
}

/// Exit 0, or log the error and exit 2 (1 is `store check`'s "drifted").
fn report(outcome: Result<(), maintenance::Failure>, what: &str) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "{what}");
            ExitCode::from(2)
        }
    }
}

/// `executor token …`: output on stdout, for a person or a script.
fn token_command(action: TokenAction) -> ExitCode {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let written = match action {
        TokenAction::New { scope, label } => {
            if let Err(e) = server::access::tokens::check_scope(&scope) {
                tracing::error!("{e}");
                return ExitCode::from(2);
            }
            let token = match random_secret(TOKEN_PREFIX) {
                Ok(token) => token,
                Err(e) => {
                    tracing::error!(error = %e, "no randomness for a token");
                    return ExitCode::from(2);
                }
            };
            let entry = config_entry(&scope, &label, &SecretHash::of(&token));
            writeln!(
                out,
                "{token}\n\nThe token above is shown this once: give it to whoever needs it.\n\
                 Add these lines to executor.toml (it keeps only the hash):\n\n{entry}"
            )
        }
        TokenAction::List { config } => match config.tokens() {
            Err(err) => {
                tracing::error!(error = %err, "cannot read the tokens");
                return ExitCode::from(2);
            }
            Ok(tokens) => {
                let mut text = format!("{:<24} {:<24} {}\n", "SCOPE", "LABEL", "SHA-256");
                for (hash, grant) in tokens.listed() {
                    text.push_str(&format!(
                        "{:<24} {:<24} {}…\n",
                        grant.scope,
                        grant.label,
                        hash.prefix()
                    ));
                }
                if tokens.is_empty() {
                    text.push_str("(no tokens: the server is open to its own machine only)\n");
                }
                write!(out, "{text}")
            }
        },
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`| head`) is not worth a message.
        Err(_) => ExitCode::from(2),
    }
}

async fn serve(
    addr: SocketAddr,
    database_url: &str,
    site_root: &str,
    retention_days: u32,
    (grace, render_budget): (Duration, Duration),
    (engine_args, source_args): (&EngineArgs, &SourceArgs),
    (tokens, access_args): (Tokens, &AccessArgs),
) -> Result<(), Box<dyn std::error::Error>> {
    let (policy, config) = (access_args.policy(), access_args.config.config.as_deref());
    // Before anything reads or writes: recovery would fail a live server's runs.
    let _lock = DatabaseLock::acquire(database_url, &format!("executor serve on http://{addr}"))?;
    let store = Store::connect(database_url).await?;
    let engine = Engine::start(store.clone(), engine_args.registry(), engine_args.config())?;
    if let Some(instance) = &engine.config().instance {
        server::metrics::set_instance(&instance.id);
    }
    let heartbeat = server::instance::start(
        &engine,
        &store,
        &addr.to_string(),
        engine_args.listen_database_url.clone(),
    )
    .await;
    match engine.recover().await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(runs = n, "failed runs a previous process left unfinished"),
        Err(e) => tracing::error!(error = %e, "could not finish runs left by a previous process"),
    }
    let sources = source_args
        .start(
            config_path(config).as_deref(),
            engine.registry().clone(),
            store.clone(),
        )
        .await?;
    // Sources other servers add, change or remove, followed at the pace of
    // the heartbeat.
    if let Some(instance) = &engine.config().instance {
        let (sources, every) = (sources.clone(), instance.beat_every());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                if let Err(e) = sources.sync().await {
                    tracing::warn!(error = %e, "following other servers' sources failed");
                }
            }
        });
    }
    let leptos_options = server::leptos_options(site_root, addr);
    server::bundle_check::check(site_root, &leptos_options.output_name);
    if retention_days > 0 {
        tokio::spawn(retention(store.clone(), retention_days));
    }
    let token_count = tokens.len();
    let access = Access::with_tokens(tokens, store.clone(), policy);
    if access.is_open() {
        tracing::info!("no tokens: every request is scope local (loopback only)");
    } else {
        tracing::info!(tokens = token_count, "tokens required (bearer or login)");
        tokio::spawn(upkeep(access.clone()));
    }
    let app = router(AppState {
        store: store.clone(),
        engine: engine.clone(),
        leptos_options,
        counts: CountsHandoff::new(render_budget),
        access,
        sources,
    });
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, database = %redact(database_url), "listening; open http://{addr}/runs");
    let (stopping, stop) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let signal = stop_signal().await;
        tracing::info!(%signal, grace_secs = grace.as_secs(), "stopping: no new requests; running runs may finish");
        let _ = stopping.send(true);
    });
    let stopped = |mut stop: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    // The listener closes at once; requests in flight (callers waiting for
    // their runs) are answered once the engine has ended those runs.
    let (served, interrupted) = tokio::join!(
        // Connection info gives the access layer each client's address (failed
        // tokens and logins are limited per address).
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>()
        )
        .with_graceful_shutdown(stopped(stop.clone())),
        async {
            stopped(stop).await;
            engine.shut_down(grace).await
        },
    );
    if interrupted > 0 {
        tracing::warn!(
            runs = interrupted,
            "failed runs that could not finish: {}",
            app::engine::INTERRUPTED_BY_STOP
        );
    }
    if let Some(heartbeat) = heartbeat {
        heartbeat.stop().await;
    }
    // Writes what is queued, lets the last checkpoint finish and closes the
    // pool (SQLite folds its log into the database file on the last close).
    store.close().await;
    served?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGTERM (a service manager or container stop) or SIGINT
/// (Ctrl-C); answers which one.
async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "SIGINT",
            },
            Err(error) => {
                tracing::warn!(%error, "cannot watch SIGTERM; stopping on Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

/// `executor mcp` with the engine in this process: the database's lock
/// (no server may use it meanwhile), restart recovery, then the host on
/// stdio; on the client's goodbye, runs still going end as a server's do.
async fn mcp_in_process(
    database_url: &str,
    engine_args: &EngineArgs,
    (source_args, config): (&SourceArgs, Option<&std::path::Path>),
) -> Result<(), Box<dyn std::error::Error>> {
    let _lock = DatabaseLock::acquire(database_url, "executor mcp (in-process)")?;
    let store = Store::connect(database_url).await?;
    let engine = Engine::start(store.clone(), engine_args.registry(), engine_args.config())?;
    let heartbeat = server::instance::start(
        &engine,
        &store,
        "executor mcp",
        engine_args.listen_database_url.clone(),
    )
    .await;
    if let Err(e) = engine.recover().await {
        tracing::error!(error = %e, "could not finish runs left by a previous process");
    }
    let _sources = source_args
        .start(
            config_path(config).as_deref(),
            engine.registry().clone(),
            store.clone(),
        )
        .await?;
    tracing::info!(database = %redact(database_url), "no server answered: the MCP host runs the engine in this process");
    let served =
        server::mcp::serve_stdio(server::mcp::Host::in_process(engine.clone(), store.clone()))
            .await;
    engine.shut_down(Duration::from_secs(2)).await;
    if let Some(heartbeat) = heartbeat {
        heartbeat.stop().await;
    }
    store.close().await;
    served
}

/// Deletes expired sessions and forgets idle client addresses, hourly.
async fn upkeep(access: Access) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tick.tick().await;
        access.sweep().await;
    }
}

/// Sweeps every scope once an hour.
async fn retention(store: Store, days: u32) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tick.tick().await;
        // One server sweeps at a time; the others skip this hour.
        match store
            .exclusively(app::store::Exclusive::Sweeper, sweep_once(&store, days))
            .await
        {
            Ok(Some(())) => {}
            Ok(None) => tracing::debug!("another server is sweeping"),
            Err(err) => tracing::warn!(error = %err, "retention sweep could not start"),
        }
    }
}

async fn sweep_once(store: &Store, days: u32) {
    let cutoff = now_ms() - i64::from(days) * 86_400_000;
    match store.scopes().await {
        Ok(scopes) => {
            for scope in scopes {
                match store.sweep(&scope, cutoff).await {
                    Ok(n) if n > 0 => tracing::info!(%scope, deleted = n, "retention sweep"),
                    Ok(_) => {}
                    Err(err) => tracing::warn!(%scope, error = %err, "retention sweep failed"),
                }
            }
        }
        Err(err) => tracing::warn!(error = %err, "retention sweep could not list scopes"),
    }
}

/// Hides a password in a database URL before logging it.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://…@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}
