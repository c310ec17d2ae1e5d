//! MCP servers as tool sources (docs/sources.md#mcp), against
//! `@modelcontextprotocol/server-everything` from npm (scripts/setup.sh
//! installs it), over stdio and over streamable HTTP: its tools called,
//! its elicitation answered through `resume`, a server killed mid-call.

#![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use app::engine::{Engine, EngineConfig, Registry};
use app::test_support::TestDb;
use common::process::free_addr;
use common::{get, post};
use server::sources::Sources;

fn everything() -> String {
    let dir = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let bin =
        std::path::Path::new(&dir).join("mcp-everything/node_modules/.bin/mcp-server-everything");
    assert!(
        bin.exists(),
        "no {}: scripts/setup.sh --test installs server-everything there",
        bin.display()
    );
    bin.canonicalize().unwrap().to_string_lossy().into_owned()
}

/// An engine and its sources over the test's store; `stdio_allowed` as
/// `--allow-stdio-sources` sets it.
fn engine_with_sources(db: &TestDb, stdio_allowed: bool) -> (Engine, Arc<Sources>) {
    let engine = Engine::start(db.store.clone(), Registry::new(), EngineConfig::default()).unwrap();
    let secrets = server::sources::secrets::Secrets::new(
        db.store.clone(),
        server::sources::secrets::KeySource::Given("00".repeat(32)),
    );
    let sources = Sources::new(
        engine.registry().clone(),
        db.store.clone(),
        Arc::new(secrets),
        stdio_allowed,
    );
    (engine, sources)
}

/// A server with stdio sources allowed (as `--allow-stdio-sources` does).
async fn serve(db: &TestDb) -> String {
    let (engine, sources) = engine_with_sources(db, true);
    common::serve_sources(&db.store, engine, sources).await
}

/// A server-everything process, killed when dropped (a failing test
/// leaves none behind).
struct Everything(Child);

impl Everything {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Everything {
    fn drop(&mut self) {
        self.kill();
    }
}

/// server-everything over streamable HTTP on `port`, up.
/// One test with server-everything at a time: with two of its Node
/// processes starting together next to the test servers, a busy 2-core
/// machine now and then took over 10 s to start one, or lost the HTTP
/// connection mid-call ("Transport closed"); one at a time, it did not.
static ONE_EVERYTHING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn http_everything(port: u16) -> Everything {
    let child = Command::new(everything())
        .arg("streamableHttp")
        .env("PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let child = Everything(child);
    // Up to 30 s: Node starts slowly on a busy machine.
    for _ in 0..600 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server-everything did not listen on {port}");
}

async fn run(base: &str, code: &str) -> Value {
    let body = json!({ "code": code, "timeoutMs": 20_000 }).to_string();
    let (status, answer) = post(&format!("{base}/executions"), Some(&body), &[]).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

/// Waits until `path` is one of the source's tools (server-everything adds
/// its elicitation tool after the session starts, with `list_changed`).
async fn wait_for_tool(base: &str, source: &str, path: &str) {
    for _ in 0..100 {
        let found = run(base, &format!("return (await tools.search({{ namespace: '{source}', limit: 100 }})).map((t) => t.path)")).await;
        if found["result"]
            .as_array()
            .is_some_and(|a| a.iter().any(|p| p == path))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{path} never appeared");
}

/// What every transport must do: call, ask through `resume`.
async fn tools_and_elicitation(base: &str, name: &str) {
    let echo = run(
        base,
        &format!("return await tools.{name}.echo({{ message: 'hi there' }})"),
    )
    .await;
    assert_eq!(echo["result"], "Echo: hi there", "{echo}");
    let sum = run(
        base,
        &format!("return await tools.{name}.getSum({{ a: 2, b: 3 }})"),
    )
    .await;
    assert!(sum["result"].as_str().unwrap().contains('5'), "{sum}");
    let path = format!("{name}.triggerElicitationRequest");
    wait_for_tool(base, name, &path).await;
    let paused = run(base, &format!("return await tools.{path}()")).await;
    assert_eq!(paused["status"], "waiting_for_interaction", "{paused}");
    assert_eq!(paused["interaction"]["kind"], "form", "{paused}");
    assert!(
        paused["interaction"]["requestedSchema"]["properties"]["name"].is_object(),
        "{paused}"
    );
    let id = paused["executionId"].as_str().unwrap();
    let answer = json!({"action": "accept", "content": {"name": "Ada"}}).to_string();
    let (status, done) = post(
        &format!("{base}/executions/{id}/resume"),
        Some(&answer),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(done["status"], "completed", "{done}");
    assert!(
        done["result"].as_str().unwrap().contains("Name: Ada"),
        "{done}"
    );
    let (_, asked) = get(&format!("{base}/executions/{id}/interactions")).await;
    assert_eq!(asked["interactions"][0]["status"], "resolved", "{asked}");
    // Declined, the server hears it, and says so.
    let paused = run(base, &format!("return await tools.{path}()")).await;
    assert_eq!(paused["status"], "waiting_for_interaction", "{paused}");
    let id = paused["executionId"].as_str().unwrap();
    let (_, done) = post(
        &format!("{base}/executions/{id}/resume"),
        Some(r#"{"action":"decline"}"#),
        &[],
    )
    .await;
    assert!(
        done["result"]
            .as_str()
            .is_some_and(|r| r.contains("declined")),
        "{done}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_everything_over_stdio() {
    let _one_at_a_time = ONE_EVERYTHING.lock().await;
    let db = TestDb::sqlite().await;
    let base = serve(&db).await;
    let (status, added) = post(
        &format!("{base}/sources"),
        Some(&json!({"kind": "mcp", "name": "everything", "command": everything(), "args": ["stdio"]}).to_string()),
        &[],
    )
    .await;
    assert_eq!(
        (status, added["state"].as_str()),
        (201, Some("loaded")),
        "{added}"
    );
    assert!(added["toolCount"].as_u64().unwrap() >= 10, "{added}");
    assert_eq!(added["title"], "mcp-servers/everything", "{added}");
    tools_and_elicitation(&base, "everything").await;
    // Killed mid-call: that call fails, the next run starts it again.
    let pid = std::process::id().to_string();
    let long = tokio::spawn({
        let base = base.clone();
        async move {
            run(&base, "return await tools.everything.triggerLongRunningOperation({ duration: 10, steps: 2 })").await
        }
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    let killed = Command::new("pkill")
        .args(["-9", "-P", &pid, "-f", "everything"])
        .status()
        .unwrap();
    assert!(killed.success(), "the stdio server was running");
    let failed = long.await.unwrap();
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("was lost during the call"),
        "{failed}"
    );
    let again = run(
        &base,
        "return await tools.everything.echo({ message: 'back' })",
    )
    .await;
    assert_eq!(again["result"], "Echo: back", "{again}");
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_everything_over_streamable_http() {
    let _one_at_a_time = ONE_EVERYTHING.lock().await;
    let db = TestDb::sqlite().await;
    let base = serve(&db).await;
    let port: u16 = free_addr().rsplit(':').next().unwrap().parse().unwrap();
    let mut child = http_everything(port).await;
    let url = format!("http://127.0.0.1:{port}/mcp");
    let (status, added) = post(
        &format!("{base}/sources"),
        Some(&json!({"kind": "mcp", "name": "remote", "url": url}).to_string()),
        &[],
    )
    .await;
    assert_eq!(
        (status, added["state"].as_str()),
        (201, Some("loaded")),
        "{added}"
    );
    tools_and_elicitation(&base, "remote").await;
    // Killed mid-call: that call fails; started again, the next run
    // connects again.
    let long = tokio::spawn({
        let base = base.clone();
        async move {
            run(
                &base,
                "return await tools.remote.triggerLongRunningOperation({ duration: 10, steps: 2 })",
            )
            .await
        }
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    child.kill();
    let failed = long.await.unwrap();
    assert_eq!(failed["status"], "failed", "{failed}");
    let _child = http_everything(port).await;
    let again = run(&base, "return await tools.remote.echo({ message: 'back' })").await;
    assert_eq!(again["result"], "Echo: back", "{again}");
    db.finish().await;
}

/// A stored stdio source is held to the server's rules when it is loaded
/// again: a server without stdio sources lists it failed, starts nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_stdio_source_does_not_start_where_stdio_is_off() {
    let db = TestDb::sqlite().await;
    let base = serve(&db).await;
    let body =
        json!({"kind": "mcp", "name": "everything", "command": everything(), "args": ["stdio"]});
    let (status, _) = post(&format!("{base}/sources"), Some(&body.to_string()), &[]).await;
    assert_eq!(status, 201);
    let (_engine, strict) = engine_with_sources(&db, false);
    strict.start(vec![], vec![]).await;
    let listed = strict.get(app::model::LOCAL_SCOPE, "everything").unwrap();
    assert_eq!((listed.state.as_str(), listed.tool_count), ("failed", 0));
    assert!(listed.error.unwrap().contains("stdio sources"));
    db.finish().await;
}
