//! The `executor` CLI (docs/cli.md) as people and scripts use it: the real
//! binary as a subprocess against a real server, its output and exit codes.

#![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

mod common;
use app::on_both_databases;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use app::store::Store;
use common::{get, serve, serve_with_tokens};

on_both_databases!(
    call_prints_results_and_exits_by_the_runs_outcome,
    a_paused_call_prints_resume_commands_that_work_as_printed,
    runs_list_show_cancel_and_rerun,
    a_server_with_tokens_takes_the_token_and_never_records_it,
    tools_search_and_describe_run_the_built_ins,
    on_a_terminal_a_pause_is_asked_and_the_run_goes_on,
    watch_prints_new_runs_until_interrupted,
    sources_and_secrets_from_the_terminal,
);

/// Runs `executor args…` against `base` with `stdin` piped in.
fn executor(base: &str, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
    let mut child = piped(env!("CARGO_BIN_EXE_executor"), args, base)
        .envs(env.iter().copied())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

/// `program args…` with the server at `base`, no colour, no token from
/// the environment, and every stream piped.
fn piped(program: &str, args: &[&str], base: &str) -> Command {
    let mut command = Command::new(program);
    command
        .args(args)
        .env("EXECUTOR_URL", base)
        .env_remove("EXECUTOR_TOKEN")
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

async fn call_prints_results_and_exits_by_the_runs_outcome(store: &Store) {
    let base = serve(store).await;
    let run = |args: &[&str], stdin: Option<&str>| executor(&base, args, stdin, &[]);

    let done = run(&["call", "console.log('hi'); return { n: 2 + 2 }"], None);
    assert_eq!(code(&done), 0, "{}", text(&done.stderr));
    let result: Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!(result, serde_json::json!({ "n": 4 }));
    assert!(text(&done.stderr).contains("[log] hi"), "logs go to stderr");

    let raw = run(&["call", "return 'plain text'"], None);
    assert_eq!(text(&raw.stdout), "plain text\n", "strings print raw");

    let piped = run(&["call"], Some("return 40 + 2"));
    assert_eq!((code(&piped), text(&piped.stdout)), (0, "42\n".to_owned()));
    let dash = run(&["call", "-"], Some("return 'from stdin'"));
    assert_eq!(text(&dash.stdout), "from stdin\n");
    let file = std::env::temp_dir().join(format!("runs_cli_{}.js", uuid::Uuid::now_v7().simple()));
    std::fs::write(&file, "return 'from a file'").unwrap();
    let from_file = run(&["call", "--file", file.to_str().unwrap()], None);
    assert_eq!(text(&from_file.stdout), "from a file\n");
    let _ = std::fs::remove_file(&file);

    let failed = run(&["call", "throw new Error('nope')"], None);
    assert_eq!(code(&failed), 1);
    assert!(
        text(&failed.stderr).contains("run failed: Error: nope"),
        "{}",
        text(&failed.stderr)
    );

    let json = run(&["call", "--json", "return 1"], None);
    let whole: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(whole["status"], "completed");
    let id = whole["executionId"].as_str().unwrap().to_owned();

    // The history knows who ran it: trigger cli, the command line, a session.
    let (_, got) = get(&format!("{base}/executions/{id}")).await;
    let e = &got["execution"];
    assert_eq!(e["triggerKind"], "cli");
    let meta: Value = serde_json::from_str(e["triggerMetaJson"].as_str().unwrap()).unwrap();
    assert_eq!(meta["argv"][1], "call");
    assert!(meta["cwd"].as_str().is_some() && meta["host"].as_str().is_some());
    let session = e["sessionId"].as_str().unwrap();
    assert!(session.starts_with("cli:"), "{session}");
    let (_, mine) = get(&format!("{base}/executions?session={session}")).await;
    assert_eq!(
        mine["executions"].as_array().unwrap().len(),
        1,
        "a session per invocation"
    );

    // Mistakes: a bad flag, no code, an unreachable server.
    let usage = run(&["call", "--timeout-ms", "0", "return 1"], None);
    assert_eq!(code(&usage), 2);
    let unreachable = executor("http://127.0.0.1:9", &["call", "return 1"], None, &[]);
    assert_eq!(code(&unreachable), 2);
    let said = text(&unreachable.stderr);
    assert!(
        said.contains("http://127.0.0.1:9") && said.contains("executor serve"),
        "{said}"
    );
    assert_eq!(said.lines().count(), 1, "one line: {said}");
}

/// Splits a printed command line the way a shell would (single quotes).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in line.trim().chars() {
        match c {
            '\'' => quoted = !quoted,
            ' ' if !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            _ => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

async fn a_paused_call_prints_resume_commands_that_work_as_printed(store: &Store) {
    let base = serve(store).await;
    let paused = executor(
        &base,
        &[
            "call",
            "const r = await tools.demo.write({ n: 5 }); return r.args.n;",
        ],
        None,
        &[],
    );
    assert_eq!(code(&paused), 3, "{}", text(&paused.stderr));
    let printed = text(&paused.stdout);
    assert!(
        printed.contains("The run waits for a person: Approve demo.write?"),
        "{printed}"
    );
    let accept = printed
        .lines()
        .find(|l| l.contains("--action accept"))
        .expect("an accept command");
    let words = shell_words(accept);
    assert_eq!(words[0], "executor");
    // As printed, but without EXECUTOR_URL: the command names its server.
    let answered = Command::new(env!("CARGO_BIN_EXE_executor"))
        .args(&words[1..])
        .env_remove("EXECUTOR_URL")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(code(&answered), 0, "{}", text(&answered.stderr));
    assert_eq!(text(&answered.stdout), "5\n");
    // Answering again: the server's error, as one line.
    let again = executor(
        &base,
        &words[1..].iter().map(String::as_str).collect::<Vec<_>>(),
        None,
        &[],
    );
    assert_eq!(code(&again), 2);
    assert!(
        text(&again.stderr).starts_with("error: execution '"),
        "{}",
        text(&again.stderr)
    );
}

async fn runs_list_show_cancel_and_rerun(store: &Store) {
    let base = serve(store).await;
    let run = |args: &[&str]| executor(&base, args, None, &[]);
    for n in 0..3 {
        run(&[
            "call",
            &format!("await tools.demo.echo({{ n: {n} }}); return {n}"),
        ]);
    }
    let waiting = run(&[
        "call",
        "--json",
        "const r = await tools.demo.write({}); return r;",
    ]);
    let waiting: Value = serde_json::from_slice(&waiting.stdout).unwrap();
    let waiting_id = waiting["executionId"].as_str().unwrap().to_owned();

    let table = run(&["runs", "list"]);
    assert_eq!(code(&table), 0);
    let table = text(&table.stdout);
    assert!(table.starts_with("ID "), "{table}");
    assert_eq!(table.lines().count(), 5, "a header and four runs: {table}");
    assert!(table.contains(&waiting_id) && table.contains("waiting"));

    let ndjson = run(&["runs", "list", "--json", "--all", "--limit", "1"]);
    let rows: Vec<Value> = text(&ndjson.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 4, "--all follows the cursor page by page");
    let waiting_only = run(&["runs", "list", "--json", "--status", "waiting"]);
    assert_eq!(text(&waiting_only.stdout).lines().count(), 1);
    let bad = run(&["runs", "list", "--since", "yesterday"]);
    assert_eq!(code(&bad), 2);
    assert!(text(&bad.stderr).contains("--since"));

    let shown = run(&["runs", "show", &waiting_id]);
    assert_eq!(code(&shown), 0);
    let shown = text(&shown.stdout);
    for part in [
        "status          waiting_for_interaction",
        "code",
        "tool calls",
        "demo.write",
        "waiting for a person",
    ] {
        assert!(shown.contains(part), "{part}: {shown}");
    }
    let missing = run(&["runs", "show", "no-such-run"]);
    assert_eq!(code(&missing), 2);
    assert!(text(&missing.stderr).contains("no execution with id 'no-such-run'"));

    let cancelled = run(&["runs", "cancel", &waiting_id]);
    assert_eq!(
        (code(&cancelled), text(&cancelled.stdout)),
        (0, format!("{waiting_id} cancelled\n"))
    );
    // The answered interaction stays in the run's story.
    let after = text(&run(&["runs", "show", &waiting_id]).stdout);
    assert!(
        after.contains("interactions") && !after.contains("waiting for a person"),
        "{after}"
    );
    assert!(after.contains("Approve demo.write?"), "{after}");
    let as_json = run(&["runs", "show", "--json", &waiting_id]);
    let as_json: Value = serde_json::from_slice(&as_json.stdout).unwrap();
    assert_eq!(as_json["interactions"][0]["status"], "cancelled");
    let rerun = run(&["runs", "rerun", rows[3]["id"].as_str().unwrap()]);
    assert_eq!(code(&rerun), 0, "{}", text(&rerun.stderr));
    assert!(text(&rerun.stdout).ends_with(" completed\n"));

    let completions = run(&["completions", "bash"]);
    assert!(text(&completions.stdout).contains("executor"));
}

async fn a_server_with_tokens_takes_the_token_and_never_records_it(store: &Store) {
    const TOKEN: &str = "exr_cli-test-token-0000000001";
    let base = serve_with_tokens(store, &format!("acme:{TOKEN}"), Default::default()).await;
    let refused = executor(&base, &["call", "return 1"], None, &[]);
    assert_eq!(code(&refused), 2);
    assert!(text(&refused.stderr).contains("error: this server needs a token"));
    let by_env = executor(
        &base,
        &["call", "return 1"],
        None,
        &[("EXECUTOR_TOKEN", TOKEN)],
    );
    assert_eq!(code(&by_env), 0, "{}", text(&by_env.stderr));
    let by_flag = executor(
        &base,
        &["call", "--token", TOKEN, "--json", "return 2"],
        None,
        &[],
    );
    let by_flag = executor_output_json(&by_flag);
    let id = by_flag["executionId"].as_str().unwrap();
    let listed = executor(
        &base,
        &["runs", "list", "--json"],
        None,
        &[("EXECUTOR_TOKEN", TOKEN)],
    );
    let listed = text(&listed.stdout);
    assert!(listed.contains(id));
    assert!(
        !listed.contains(TOKEN),
        "the token is not in the history: {listed}"
    );
}

fn executor_output_json(output: &Output) -> Value {
    assert_eq!(code(output), 0, "{}", text(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

async fn tools_search_and_describe_run_the_built_ins(store: &Store) {
    let base = serve(store).await;
    let found = executor(&base, &["tools", "search", "write"], None, &[]);
    assert_eq!(code(&found), 0, "{}", text(&found.stderr));
    assert!(
        text(&found.stdout).contains("demo.write"),
        "{}",
        text(&found.stdout)
    );
    let listed = executor(
        &base,
        &["tools", "search", "demo", "--namespace", "demo", "--json"],
        None,
        &[],
    );
    let tools: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert!(tools
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["path"].as_str().unwrap().starts_with("demo.")));
    let described = executor(&base, &["tools", "describe", "demo.write"], None, &[]);
    let said = text(&described.stdout);
    assert!(
        said.starts_with("demo.write") && said.contains("approval: required"),
        "{said}"
    );
    let unknown = executor(&base, &["tools", "describe", "no.such"], None, &[]);
    assert_eq!(code(&unknown), 2);
    assert!(
        text(&unknown.stderr).contains("unknown tool"),
        "{}",
        text(&unknown.stderr)
    );
    // Recorded like any run.
    let (_, runs) = get(&format!("{base}/executions?trigger=cli&tool=describe.tool")).await;
    assert_eq!(runs["executions"].as_array().unwrap().len(), 2);
}

/// `script` gives the CLI a pseudo-terminal, so it asks as it would a
/// person: accept, then the run goes on to its result.
async fn on_a_terminal_a_pause_is_asked_and_the_run_goes_on(store: &Store) {
    let base = serve(store).await;
    let command = format!(
        "{} call 'const r = await tools.demo.write({{ n: 7 }}); return r.args.n * 6'",
        env!("CARGO_BIN_EXE_executor")
    );
    let mut child = piped("script", &["-qec", &command, "/dev/null"], &base)
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // The answer arrives once the question is asked (the terminal holds it).
    input.write_all(b"accept\n").unwrap();
    let output = tokio::task::spawn_blocking(move || {
        let out = child.wait_with_output().unwrap();
        drop(input);
        out
    })
    .await
    .unwrap();
    let said = text(&output.stdout);
    assert_eq!(code(&output), 0, "{said}");
    assert!(said.contains("The run asks: Approve demo.write?"), "{said}");
    assert!(said.contains("Accept, decline or cancel?"), "{said}");
    assert!(said.contains("42"), "{said}");
    let (_, runs) = get(&format!("{base}/executions?elicitation=true")).await;
    assert_eq!(runs["executions"][0]["execution"]["status"], "completed");
}

async fn watch_prints_new_runs_until_interrupted(store: &Store) {
    let base = serve(store).await;
    let child = piped(
        env!("CARGO_BIN_EXE_executor"),
        &["runs", "watch", "--trigger", "http"],
        &base,
    )
    .spawn()
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let (_, ran) = common::post(
        &format!("{base}/executions"),
        Some(r#"{"code": "return 1"}"#),
        &[],
    )
    .await;
    let id = ran["executionId"].as_str().unwrap().to_owned();
    // Not shown: another trigger.
    common::post(
        &format!("{base}/executions"),
        Some(r#"{"code": "return 2"}"#),
        &[("x-executor-trigger", "cli")],
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(code(&output), 0, "Ctrl-C ends it cleanly");
    let output = text(&output.stdout);
    assert!(output.starts_with("ID "), "{output}");
    assert!(output.contains(&id), "{output}");
    assert_eq!(
        output.lines().count(),
        2,
        "the header and the one http run: {output}"
    );
}

async fn sources_and_secrets_from_the_terminal(store: &Store) {
    let base = serve(store).await;
    let run = |args: &[&str], stdin: Option<&str>| executor(&base, args, stdin, &[]);
    let set = run(&["secrets", "set", "pets"], Some("pets-secret-value\n"));
    assert_eq!(code(&set), 0, "{}", text(&set.stderr));
    let listed = run(&["secrets", "list"], None);
    assert!(text(&listed.stdout).contains("pets"));
    assert!(!text(&listed.stdout).contains("pets-secret-value"));
    let short = run(&["secrets", "set", "tiny"], Some("ab"));
    assert_eq!(code(&short), 2);
    assert!(
        text(&short.stderr).contains("4 to 4096 characters"),
        "{}",
        text(&short.stderr)
    );

    let doc = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/openapi/v3.0-petstore.yaml"
    );
    let added = run(
        &[
            "sources",
            "add",
            "openapi",
            "petstore",
            doc,
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--header",
            "Authorization: Bearer {secret:pets}",
        ],
        None,
    );
    assert_eq!(code(&added), 0, "{}", text(&added.stderr));
    let line = text(&added.stdout);
    assert!(
        line.starts_with("petstore")
            && line.contains("loaded")
            && line.contains("Swagger Petstore"),
        "{line}"
    );
    let table = text(&run(&["sources", "list"], None).stdout);
    assert!(
        table.starts_with("NAME") && table.contains("petstore"),
        "{table}"
    );
    let rows = text(&run(&["sources", "list", "--json"], None).stdout);
    let row: Value = rows
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["name"] == "petstore")
        .unwrap();
    assert_eq!(
        row["spec"]["headers"]["Authorization"],
        "Bearer {secret:pets}"
    );
    let found = text(&run(&["tools", "search", "list pets"], None).stdout);
    assert!(found.starts_with("petstore.pets.listPets"), "{found}");

    let broken = run(
        &[
            "sources",
            "add",
            "openapi",
            "broken",
            "--base-url",
            "http://127.0.0.1:9",
            "/no/such/file.yaml",
        ],
        None,
    );
    assert_eq!(code(&broken), 2);
    assert!(text(&broken.stderr).contains("cannot read /no/such/file.yaml"));
    let stdio = run(
        &["sources", "add", "mcp", "local", "--command", "true"],
        None,
    );
    assert_eq!(code(&stdio), 2);
    assert!(
        text(&stdio.stderr).contains("--allow-stdio-sources"),
        "{}",
        text(&stdio.stderr)
    );
    assert_eq!(code(&run(&["sources", "refresh", "petstore"], None)), 0);
    let removed = run(&["sources", "remove", "petstore"], None);
    assert_eq!(
        (code(&removed), text(&removed.stdout)),
        (0, "petstore removed\n".to_owned())
    );
    let again = run(&["sources", "remove", "petstore"], None);
    assert_eq!(code(&again), 2);
    assert_eq!(text(&again.stderr), "error: no source named 'petstore'\n");
}
