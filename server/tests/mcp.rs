//! The MCP host (docs/mcp.md) as a client written elsewhere sees it: the
//! official Python SDK (`mcp` from PyPI, installed by scripts/setup.sh)
//! drives `executor mcp` over stdio against a real server, and the server's
//! own `/mcp` over streamable HTTP behind a token.

#![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

mod common;
use app::on_both_databases;

use std::process::Command;

use serde_json::Value;

use app::store::Store;
use common::{get, serve};

on_both_databases!(
    an_sdk_client_runs_code_answers_pauses_and_reads_its_own_history,
    over_http_the_host_is_in_the_tokens_scope_and_each_session_sees_its_own,
    an_rmcp_client_lists_the_tools_and_runs_code,
);

/// The host's tools, by name.
const TOOLS: [&str; 6] = [
    "execute",
    "resume",
    "runs_cancel",
    "runs_get",
    "runs_list",
    "runs_summary",
];

/// The virtualenv's Python with the `mcp` SDK (`MCP_PYTHON` names another).
fn python() -> String {
    if let Ok(p) = std::env::var("MCP_PYTHON") {
        return p;
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").to_owned());
    let python = format!("{target}/mcp-venv/bin/python");
    assert!(
        std::path::Path::new(&python).exists(),
        "no {python}: scripts/setup.sh --test installs the Python MCP SDK there"
    );
    python
}

/// One client session over stdio, start to end; its report.
fn client(base: &str) -> Value {
    run_client(&["stdio", env!("CARGO_BIN_EXE_executor"), base])
}

fn run_client(args: &[&str]) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp_client.py");
    let output = Command::new(python())
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

async fn an_sdk_client_runs_code_answers_pauses_and_reads_its_own_history(store: &Store) {
    let base = serve(store).await;
    let (one, two) = tokio::join!(
        tokio::task::spawn_blocking({
            let base = base.clone();
            move || client(&base)
        }),
        tokio::task::spawn_blocking({
            let base = base.clone();
            move || client(&base)
        }),
    );
    let (one, two) = (one.unwrap(), two.unwrap());
    for report in [&one, &two] {
        judge(report);
        let id = report["inline"]["executionId"].as_str().unwrap().to_owned();
        judge_inline(report, async {
            get(&format!("{base}/executions/{id}")).await.1
        })
        .await;
    }
    assert_ne!(one["mine"], two["mine"]);
    // Recorded with trigger mcp, the client and the session.
    let id = one["ids"][0].as_str().unwrap();
    let (_, got) = get(&format!("{base}/executions/{id}")).await;
    let e = &got["execution"];
    assert_eq!(e["triggerKind"], "mcp");
    let meta: Value = serde_json::from_str(e["triggerMetaJson"].as_str().unwrap()).unwrap();
    assert_eq!(meta["client"]["name"], "pytest-client");
    assert_eq!(meta["client"]["version"], "9.1");
    assert!(e["sessionId"].as_str().unwrap().starts_with("mcp:"));
    assert_eq!(meta["session"], e["sessionId"]);
}

/// The strings `pick` finds in each item of a JSON array, sorted.
fn sorted<'a>(items: &'a Value, pick: impl Fn(&'a Value) -> &'a Value) -> Vec<&'a str> {
    let mut all: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|item| pick(item).as_str().unwrap())
        .collect();
    all.sort();
    all
}

/// A client that declared elicitation was asked inline, and the run went
/// on to its end in one call; its interaction is answered (none pending).
async fn judge_inline(report: &Value, get_run: impl std::future::Future<Output = Value>) {
    assert_eq!(
        report["inline"]["asked"],
        serde_json::json!(["Approve demo.write?"])
    );
    assert_eq!(
        report["inline"]["status"], "completed",
        "{}",
        report["inline"]
    );
    assert_eq!(report["inline"]["result"], 9);
    let run = get_run.await;
    assert_eq!(run["execution"]["hadElicitation"], true);
    assert_eq!(run["pendingInteraction"], Value::Null);
}

/// What every session's report must show.
fn judge(report: &Value) {
    let tools: Vec<&str> = report["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(tools, TOOLS);
    // execute's description names what its code can call.
    let described = report["executeDescription"].as_str().unwrap();
    assert!(
        described.contains("Namespaces: demo (fixture, 7 tools).")
            && described.contains("Built-in: tools.search"),
        "{described}"
    );
    assert_eq!(
        report["readOnly"],
        serde_json::json!(["runs_get", "runs_list", "runs_summary"])
    );
    assert_eq!(report["destructive"], serde_json::json!(["runs_cancel"]));
    assert_eq!(report["four"]["isError"], false);
    assert_eq!(report["four"]["result"], 4);
    assert_eq!(report["four"]["text"], "4");
    assert_eq!(report["paused"]["status"], "waiting_for_interaction");
    assert!(report["paused"]["text"]
        .as_str()
        .unwrap()
        .contains("resume"));
    assert_eq!(report["resumed"]["status"], "completed");
    assert_eq!(report["resumed"]["result"], 3);
    // The answered interaction is in the run's story; a second answer is
    // refused with what to do.
    assert_eq!(report["answered"], serde_json::json!(["resolved"]));
    assert_eq!(report["again"]["isError"], true);
    let again = report["again"]["text"].as_str().unwrap();
    assert!(
        again.contains("not waiting") && again.contains("only a run with status"),
        "{again}"
    );
    assert_eq!(report["failed"]["isError"], true);
    assert!(report["failed"]["text"].as_str().unwrap().contains("broke"));
    assert_eq!(report["unknown"]["isError"], true);
    let unknown = report["unknown"]["text"].as_str().unwrap();
    assert!(
        unknown.contains("no execution with id 'no-such-run'") && unknown.contains("runs_list"),
        "{unknown}"
    );
    assert!(
        !report["get"]["truncated"].as_array().unwrap().is_empty(),
        "{}",
        report["get"]
    );
    assert!(report["get"]["text"]
        .as_str()
        .unwrap()
        .contains("cut to fit"));
    // `mine` is this session's runs, all of them and no other's.
    assert_eq!(
        sorted(&report["mine"], |v| v),
        sorted(&report["ids"], |v| v)
    );
    assert_eq!(report["summary"]["runs"], 4);
    assert_eq!(report["summary"]["statusCounts"]["failed"], 1);
}

async fn over_http_the_host_is_in_the_tokens_scope_and_each_session_sees_its_own(store: &Store) {
    const TOKEN: &str = "exr_mcp-http-token-00000001";
    let base = common::serve_with_tokens(
        store,
        &format!("acme:{TOKEN},beta:exr_mcp-http-token-00000002"),
        Default::default(),
    )
    .await;
    let url = format!("{base}/mcp");
    // No token, no host.
    let refused = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let (one, two) = tokio::join!(
        tokio::task::spawn_blocking({
            let url = url.clone();
            move || run_client(&["http", &url, TOKEN])
        }),
        tokio::task::spawn_blocking({
            let url = url.clone();
            move || run_client(&["http", &url, TOKEN])
        }),
    );
    let (one, two) = (one.unwrap(), two.unwrap());
    judge(&one);
    judge(&two);
    assert_ne!(one["mine"], two["mine"]);
    // A run as a token's holder sees it: status and body.
    let as_token = |id: String, token: &'static str| {
        let url = format!("{base}/executions/{id}");
        async move {
            let response = reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let inline = one["inline"]["executionId"].as_str().unwrap().to_owned();
    judge_inline(&one, async { as_token(inline, TOKEN).await.1 }).await;
    // In the token's scope, with the client and the MCP session.
    let id = one["ids"][0].as_str().unwrap().to_owned();
    let (beta, _) = as_token(id.clone(), "exr_mcp-http-token-00000002").await;
    assert_eq!(beta, 404, "another scope's token does not see it");
    let (_, acme) = as_token(id, TOKEN).await;
    let e = &acme["execution"];
    assert_eq!(e["scopeId"], "acme");
    assert_eq!(e["triggerKind"], "mcp");
    assert!(e["sessionId"].as_str().unwrap().starts_with("mcp:"));
    let meta: Value = serde_json::from_str(e["triggerMetaJson"].as_str().unwrap()).unwrap();
    assert_eq!(meta["client"]["name"], "pytest-client");
}

/// With no server at the default address and none named, `executor mcp`
/// runs the engine in-process on its database; a server started on that
/// database afterwards has the runs.
#[tokio::test]
async fn with_no_server_the_host_runs_in_process_and_a_later_server_has_its_runs() {
    assert!(
        std::net::TcpStream::connect("127.0.0.1:3000").is_err(),
        "something listens on 127.0.0.1:3000, the default server: stop it to run this test"
    );
    let dir =
        std::env::temp_dir().join(format!("runs_mcp_local_{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("local.db").display());
    let report = tokio::task::spawn_blocking({
        let url = url.clone();
        move || run_client(&["local", env!("CARGO_BIN_EXE_executor"), &url])
    })
    .await
    .unwrap();
    judge(&report);
    // The host has let go of the database: a server takes it.
    let store = Store::connect(&url).await.unwrap();
    let base = serve(&store).await;
    let (_, listed) = get(&format!("{base}/executions?trigger=mcp&limit=100")).await;
    assert_eq!(
        sorted(&listed["executions"], |e| &e["execution"]["id"]),
        sorted(&report["ids"], |v| v)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// rmcp's own client, over `executor mcp` as a child process.
async fn an_rmcp_client_lists_the_tools_and_runs_code(store: &Store) {
    use rmcp::model::CallToolRequestParams;
    use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
    use rmcp::ServiceExt;
    let base = serve(store).await;
    let command = tokio::process::Command::new(env!("CARGO_BIN_EXE_executor")).configure(|c| {
        c.args(["mcp", "--server", &base]);
    });
    let client = ().serve(TokioChildProcess::new(command).unwrap()).await.unwrap();
    let mut names: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    names.sort();
    assert_eq!(names, TOOLS);
    let arguments = serde_json::json!({ "code": "return 6 * 7" });
    let result = client
        .call_tool(
            CallToolRequestParams::new("execute")
                .with_arguments(arguments.as_object().unwrap().clone()),
        )
        .await
        .unwrap();
    let structured = result.structured_content.unwrap();
    assert_eq!(structured["status"], "completed");
    assert_eq!(structured["result"], 42);
    client.cancel().await.unwrap();
}
