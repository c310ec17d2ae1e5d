//! Tool sources, measured (issue 15; figures in docs/performance.md):
//! one OpenAPI tool call through the engine to a loopback server against
//! the same request made directly; one MCP tool call to server-everything
//! over streamable HTTP; `tools.search` over 5,000 tools of several
//! sources; GitHub's full REST description loaded into tools (time and
//! memory). Printed, never asserted.
//!
//! `cargo bench -p server --features app/ssr --bench sources`
//! (GitHub's description: `scripts/fetch-github-openapi.sh` first; the
//! MCP figure needs `scripts/setup.sh --test`'s server-everything.)

#![allow(clippy::unwrap_used, reason = "a benchmark should fail loudly")]

use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use app::engine::tools::{
    Elicit, ElicitationAnswer, Invocation, LocalFuture, SourceInfo, ToolDescriptor, ToolError,
    ToolSource,
};
use app::engine::{ElicitationMode, Engine, EngineConfig, ExecuteRequest, Registry};
use app::model::{ElicitationRequest, ResumeAction, Trigger, TriggerKind};
use app::store::Store;
use server::sources::openapi::document;
use server::sources::spec::{McpSpec, OpenApiSpec, SourceSpec};

/// The server's allocator, so the in-process figures are the server's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CALLS: usize = 300;
const PETSTORE: &str = include_str!("../tests/data/openapi/v3.0-petstore.yaml");

fn p(times: &mut [Duration], q: f64) -> f64 {
    times.sort();
    times[((times.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0
}

fn target_dir() -> std::path::PathBuf {
    std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| "target".into())
        .into()
}

/// A real `executor serve` with GitHub's description as a config-file
/// source (or none), once it answers: its (resident, peak resident) KB.
async fn server_memory(github: Option<&std::path::Path>) -> (u64, u64) {
    let dir = std::env::temp_dir().join(format!(
        "runs_sources_mem_{}",
        uuid::Uuid::now_v7().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("executor.toml");
    let text = match github {
        Some(path) => format!(
            "[[sources]]\nkind = \"openapi\"\nname = \"github\"\nspec = {:?}\n",
            path.display().to_string()
        ),
        None => String::new(),
    };
    std::fs::write(&config, text).unwrap();
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_executor"))
        .args(["serve", "--addr", &addr.to_string(), "--database-url"])
        .arg(format!("sqlite://{}", dir.join("m.db").display()))
        .arg("--config")
        .arg(&config)
        .args(["--secret-key-file", dir.join("k").to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..500 {
        if reqwest::get(format!("http://{addr}/healthz")).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sources: Value = reqwest::get(format!("http://{addr}/sources"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    if github.is_some() {
        assert_eq!(sources["sources"][0]["toolCount"], 1223, "{sources}");
    }
    // The allocator hands freed pages back after a moment.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let memory = rss_kb(&format!("/proc/{}/status", child.id()));
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    memory
}

/// Kilobytes of a process: (resident now, resident at most so far).
fn rss_kb(status_file: &str) -> (u64, u64) {
    let status = std::fs::read_to_string(status_file).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

async fn run(engine: &Engine, code: &str) -> Value {
    let out = engine
        .execute(ExecuteRequest {
            scope: app::model::LOCAL_SCOPE.into(),
            code: code.into(),
            trigger: Trigger::new(TriggerKind::known("http")),
            timeout: None,
            elicitation: ElicitationMode::Pause,
        })
        .await
        .unwrap();
    assert!(out.error.is_none(), "{:?}", out.error);
    out.result.unwrap_or(Value::Null)
}

async fn time_runs(engine: &Engine, code: &str) -> Vec<Duration> {
    for _ in 0..20 {
        run(engine, code).await;
    }
    let mut times = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let started = Instant::now();
        run(engine, code).await;
        times.push(started.elapsed());
    }
    times
}

/// A loopback API answering the petstore's list.
async fn loopback_api() -> String {
    let app = axum::Router::new().route(
        "/v1/pets",
        axum::routing::get(|| async { axum::Json(json!([{"id": 1, "name": "Rex"}])) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// `count` made-up tools, for a round 5,000.
struct Synthetic(usize);

impl ToolSource for Synthetic {
    fn info(&self) -> SourceInfo {
        SourceInfo {
            id: "synthetic".into(),
            name: "Synthetic".into(),
            kind: "fixture".into(),
            error: None,
        }
    }
    fn tools(&self) -> Vec<ToolDescriptor> {
        (0..self.0)
            .map(|i| {
                ToolDescriptor::new(
                    format!("synthetic.group{}.operation{i}", i % 7),
                    format!("Does thing {i} to a widget"),
                )
            })
            .collect()
    }
    fn invoke(&self, _call: Invocation) -> LocalFuture<Result<Value, ToolError>> {
        Box::pin(std::future::ready(Ok(Value::Null)))
    }
}

struct NoOne;

impl Elicit for NoOne {
    fn elicit(&self, _request: ElicitationRequest) -> LocalFuture<ElicitationAnswer> {
        Box::pin(std::future::ready(ElicitationAnswer {
            action: ResumeAction::Decline,
            content: None,
        }))
    }
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = std::env::temp_dir().join(format!("runs_sources_bench_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    runtime.block_on(async {
        let store = Store::connect(&url).await.unwrap();
        let engine = Engine::start(store.clone(), Registry::new(), EngineConfig::default()).unwrap();
        let sources = server::ephemeral_sources(&store, &engine);

        // 1. OpenAPI: through the engine, and the same request directly.
        let api = loopback_api().await;
        let spec = |name: &str| {
            SourceSpec::Openapi(OpenApiSpec {
                name: name.into(),
                spec: None,
                document: Some(PETSTORE.into()),
                base_url: Some(format!("{api}/v1")),
                headers: Default::default(),
                query: Default::default(),
            })
        };
        sources.add(app::model::LOCAL_SCOPE, spec("petstore")).await.unwrap();
        let client = reqwest::Client::new();
        let mut direct = Vec::with_capacity(CALLS);
        for i in 0..CALLS + 20 {
            let started = Instant::now();
            let body: Value = client.get(format!("{api}/v1/pets?limit=1")).send().await.unwrap().json().await.unwrap();
            assert_eq!(body[0]["name"], "Rex");
            if i >= 20 {
                direct.push(started.elapsed());
            }
        }
        let mut bare = time_runs(&engine, "return 1").await;
        let mut with_call = time_runs(&engine, "return await tools.petstore.pets.listPets({ limit: 1 })").await;
        let (direct, bare, call) = (p(&mut direct, 0.5), p(&mut bare, 0.5), p(&mut with_call, 0.5));
        println!(
            "openapi: a run calling petstore.pets.listPets p50 {call:.2} ms; a run of `return 1` p50 {bare:.2} ms; \
             the same GET made directly p50 {direct:.2} ms; the call through the engine costs {:.2} ms more than the request alone",
            call - bare - direct
        );

        // 2. MCP: server-everything over streamable HTTP.
        let bin = target_dir().join("mcp-everything/node_modules/.bin/mcp-server-everything");
        if bin.exists() {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let mut child = std::process::Command::new(&bin)
                .arg("streamableHttp")
                .env("PORT", port.to_string())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            for _ in 0..200 {
                if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let mcp = SourceSpec::Mcp(McpSpec {
                name: "everything".into(),
                url: Some(format!("http://127.0.0.1:{port}/mcp")),
                command: None,
                args: vec![],
                env: Default::default(),
                headers: Default::default(),
            });
            let view = sources.add(app::model::LOCAL_SCOPE, mcp).await.unwrap();
            assert_eq!(view.state, "loaded", "{view:?}");
            let mut echo = time_runs(&engine, "return await tools.everything.echo({ message: 'hi' })").await;
            let echo = p(&mut echo, 0.5);
            println!(
                "mcp: a run calling server-everything's echo over streamable HTTP p50 {echo:.2} ms; the call itself {:.2} ms",
                echo - bare
            );
            let _ = child.kill();
            let _ = child.wait();
        } else {
            println!("mcp: skipped (no {}: scripts/setup.sh --test installs it)", bin.display());
        }

        // 3 and 4. GitHub's REST description: loaded into tools, then
        // searched among 5,000 tools of several sources.
        let github = target_dir().join("github-openapi/package/generated/api.github.com.json");
        let Ok(text) = std::fs::read_to_string(&github) else {
            println!("github: skipped (no {}: run scripts/fetch-github-openapi.sh)", github.display());
            return;
        };
        let started = Instant::now();
        let doc = document::parse(&text).unwrap();
        let parsed = started.elapsed();
        let read = document::read("github", &doc).unwrap();
        let loaded = started.elapsed();
        drop(doc);
        drop(text);
        let (with, without) = (server_memory(Some(&github)).await, server_memory(None).await);
        println!(
            "github: {} operations into tools in {:.0} ms ({:.0} ms parsing the 13 MB JSON); \
             a server with them resident {} MB (peak {} MB) against {} MB (peak {} MB) without",
            read.operations.len(),
            loaded.as_secs_f64() * 1000.0,
            parsed.as_secs_f64() * 1000.0,
            with.0 / 1024,
            with.1 / 1024,
            without.0 / 1024,
            without.1 / 1024,
        );
        drop(read);

        let registry = Registry::new();
        let text = std::fs::read_to_string(&github).unwrap();
        let doc = document::parse(&text).unwrap();
        let mut total = 0;
        for name in ["github", "ghes", "ghec", "octo"] {
            let tools: Vec<ToolDescriptor> = document::read(name, &doc).unwrap().operations.into_iter().map(|o| o.tool).collect();
            total += tools.len();
            registry.register(Arc::new(Fixed(name.into(), tools))).unwrap();
        }
        let catalog_pets: Vec<ToolDescriptor> = document::read("petstore", &document::parse(PETSTORE).unwrap()).unwrap().operations.into_iter().map(|o| o.tool).collect();
        total += catalog_pets.len();
        registry.register(Arc::new(Fixed("petstore".into(), catalog_pets))).unwrap();
        let synthetic = 5_000usize.saturating_sub(total + 3);
        registry.register(Arc::new(Synthetic(synthetic))).unwrap();
        let count: usize = registry.sources("local").iter().map(|(_, n)| n).sum();
        let queries = ["list issues for a repository", "create a pull request review comment", "delete a gist", "get the authenticated user", "list pets"];
        let mut all = Vec::new();
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                for query in queries {
                    let mut times = Vec::new();
                    let mut first = String::new();
                    for i in 0..120 {
                        let started = Instant::now();
                        let out = registry
                            .invoke(
                                "local",
                                Invocation {
                                    scope: "local".into(),
                                    path: "search".into(),
                                    args: Some(json!({ "query": query, "limit": 10 })),
                                    elicit: Rc::new(NoOne),
                                },
                            )
                            .await
                            .unwrap();
                        if i >= 20 {
                            times.push(started.elapsed());
                        }
                        first = out[0]["path"].as_str().unwrap_or("").to_owned();
                    }
                    let median = p(&mut times, 0.5);
                    println!("search: {query:?} over {count} tools p50 {median:.2} ms; first: {first}");
                    all.extend(times);
                }
            })
            .await;
        println!("search: every query over {count} tools p50 {:.2} ms, p95 {:.2} ms (target p50 <= 5 ms)", p(&mut all, 0.5), p(&mut all, 0.95));
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// Tools already made (from a document read once).
struct Fixed(String, Vec<ToolDescriptor>);

impl ToolSource for Fixed {
    fn info(&self) -> SourceInfo {
        SourceInfo {
            id: self.0.clone(),
            name: self.0.clone(),
            kind: "openapi".into(),
            error: None,
        }
    }
    fn tools(&self) -> Vec<ToolDescriptor> {
        self.1.clone()
    }
    fn invoke(&self, _call: Invocation) -> LocalFuture<Result<Value, ToolError>> {
        Box::pin(std::future::ready(Ok(Value::Null)))
    }
}
