//! Faults with the real `executor` binary: `kill -9` in the middle of a burst
//! (what callers were told is what the history keeps), SIGTERM (running runs
//! drain, the rest fail with the stop message, exit 0), a second server on
//! one SQLite file (refused), and restart recovery.

#![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

mod common;
use app::on_both_databases_with_url;
use app::test_support as support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use app::engine::{INTERRUPTED_BY_LOSS, INTERRUPTED_BY_RESTART, INTERRUPTED_BY_STOP};
use common::get;
use common::process::{free_addr, RealServer};
use support::TestDb;

on_both_databases_with_url!(
    answers_survive_kill_9_mid_burst,
    sigterm_drains_running_runs_then_fails_the_rest,
    restart_recovery_fails_what_a_killed_server_left_running,
);

/// Every id of the database, with its status and error, through the API.
/// A short lease, so a killed server's runs on PostgreSQL are reaped soon.
const LEASE: &[&str] = &["--lease-secs", "1"];

/// What a killed server's unfinished runs end with: on SQLite the next
/// server (the file's only one) fails them at start; on PostgreSQL another
/// server fails them once their lease runs out.
fn interrupted(url: &str) -> &'static str {
    if url.starts_with("postgres") {
        INTERRUPTED_BY_LOSS
    } else {
        INTERRUPTED_BY_RESTART
    }
}

/// Every run, once none is unfinished (or after 10 s).
async fn settled_runs(base: &str) -> HashMap<String, (String, Value)> {
    let started = std::time::Instant::now();
    loop {
        let runs = all_runs(base).await;
        let open = runs
            .values()
            .any(|(s, _)| !["completed", "failed", "cancelled"].contains(&s.as_str()));
        if !open || started.elapsed() > Duration::from_secs(10) {
            return runs;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn all_runs(base: &str) -> HashMap<String, (String, Value)> {
    let mut runs = HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{base}/executions?limit=100&cursor={c}"),
            None => format!("{base}/executions?limit=100"),
        };
        let (status, page) = get(&url).await;
        assert_eq!(status, 200, "{page}");
        for e in page["executions"].as_array().unwrap() {
            let e = &e["execution"];
            runs.insert(
                e["id"].as_str().unwrap().to_owned(),
                (
                    e["status"].as_str().unwrap().to_owned(),
                    e["errorText"].clone(),
                ),
            );
        }
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return runs,
        }
    }
}

/// 64 clients post short runs with a tool call; the server is killed with
/// SIGKILL while they do. After a restart every answered run is in the
/// history exactly as answered (status, result, its tool call), and nothing
/// is left unfinished: runs nobody was answered for ended as they ended or
/// were failed by the restart.
async fn answers_survive_kill_9_mid_burst(db: &TestDb) {
    // The binary is the database's only user, as in production.
    db.store.close().await;
    let addr = free_addr();
    let mut server = RealServer::start(&db.url, &addr, LEASE).ready().await;
    let base = server.base.clone();
    let answered: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let client = reqwest::Client::new();
    let mut clients = Vec::new();
    for c in 0..64 {
        let (client, base, answered) = (client.clone(), base.clone(), answered.clone());
        clients.push(tokio::spawn(async move {
            for i in 0.. {
                let code =
                    format!("const r = await tools.demo.echo({{ c: {c}, i: {i} }}); return r;");
                let sent = client
                    .post(format!("{base}/executions"))
                    .json(&json!({ "code": code }))
                    .send()
                    .await;
                let Ok(response) = sent else { return };
                let Ok(body) = response.json::<Value>().await else {
                    return;
                };
                let id = body["executionId"].as_str().unwrap().to_owned();
                answered.lock().unwrap().push((id, body));
            }
        }));
    }
    // Kill in the middle of the burst, once it is well under way.
    for _ in 0..1_500 {
        if answered.lock().unwrap().len() >= 300 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill9();
    for c in clients {
        c.await.unwrap();
    }
    let answered = std::mem::take(&mut *answered.lock().unwrap());
    assert!(
        answered.len() >= 300,
        "only {} answers before the kill",
        answered.len()
    );

    let server = RealServer::start(&db.url, &addr, LEASE).ready().await;
    let history = settled_runs(&server.base).await;
    for (id, told) in &answered {
        assert_eq!(told["status"], "completed", "{told}");
        let (status, error) = history
            .get(id)
            .unwrap_or_else(|| panic!("answered run {id} is missing"));
        assert_eq!(status, "completed", "{id} was answered completed: {error}");
        let (_, one) = get(&format!("{}/executions/{id}", server.base)).await;
        assert_eq!(
            one["execution"]["resultJson"]
                .as_str()
                .and_then(|j| serde_json::from_str::<Value>(j).ok()),
            Some(told["result"].clone()),
            "{id}"
        );
        let (_, calls) = get(&format!("{}/executions/{id}/tool-calls", server.base)).await;
        let calls = calls["toolCalls"].as_array().unwrap();
        assert_eq!(calls.len(), 1, "{id}");
        assert_eq!(calls[0]["status"], "completed", "{id}");
    }
    let told: HashMap<&str, ()> = answered.iter().map(|(id, _)| (id.as_str(), ())).collect();
    for (id, (status, error)) in &history {
        assert!(
            ["completed", "failed"].contains(&status.as_str()),
            "{id} left {status}"
        );
        if !told.contains_key(id.as_str()) && status == "failed" {
            assert_eq!(error, interrupted(&db.url), "{id}");
        }
    }
    drop(server);
}

/// SIGTERM: the listener closes, a short run finishes and is answered, a
/// run past the grace and a paused run end failed with the stop message,
/// the process exits 0, and (SQLite) the log is folded into the database.
async fn sigterm_drains_running_runs_then_fails_the_rest(db: &TestDb) {
    // The binary is the database's only user, as in production.
    db.store.close().await;
    let addr = free_addr();
    let server = RealServer::start(&db.url, &addr, &["--shutdown-grace-secs", "2"])
        .ready()
        .await;
    let base = server.base.clone();
    let post = |code: &'static str| {
        let base = base.clone();
        tokio::spawn(async move {
            let response = reqwest::Client::new()
                .post(format!("{base}/executions"))
                .json(&json!({ "code": code, "timeoutMs": 60000 }))
                .send()
                .await
                .unwrap();
            response.json::<Value>().await.unwrap()
        })
    };
    let paused = post("return await tools.demo.write({ x: 1 });")
        .await
        .unwrap();
    assert_eq!(paused["status"], "waiting_for_interaction", "{paused}");
    let short = post("await tools.demo.sleep({ ms: 800 }); return 'drained';");
    let long = post("await tools.demo.sleep({ ms: 30000 }); return 'never';");
    // Both are running before the signal.
    for _ in 0..500 {
        let (_, page) = get(&format!("{base}/executions?status=running")).await;
        if page["executions"].as_array().is_some_and(|a| a.len() == 2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut server = server;
    server.signal("TERM");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        reqwest::get(format!("{base}/healthz")).await.is_err(),
        "a stopping server takes no new connections"
    );
    let short = short.await.unwrap();
    assert_eq!(short["status"], "completed", "{short}");
    assert_eq!(short["result"], "drained");
    let long = long.await.unwrap();
    assert_eq!(long["status"], "failed", "{long}");
    assert_eq!(long["error"], INTERRUPTED_BY_STOP);
    let exit = server.exit_within(Duration::from_secs(15)).await;
    assert_eq!(exit.map(|s| s.code()), Some(Some(0)), "{}", server.log());
    if let Some(path) = db.url.strip_prefix("sqlite://") {
        let wal = std::fs::metadata(format!("{path}-wal")).map_or(0, |m| m.len());
        assert_eq!(wal, 0, "the WAL was checkpointed into the database");
    }

    let server = RealServer::start(&db.url, &addr, LEASE).ready().await;
    let paused_id = paused["executionId"].as_str().unwrap();
    let (_, got) = get(&format!("{}/executions/{paused_id}", server.base)).await;
    assert_eq!(got["execution"]["status"], "failed", "{got}");
    assert_eq!(got["execution"]["errorText"], INTERRUPTED_BY_STOP);
    assert!(got["pendingInteraction"].is_null(), "{got}");
    let long_id = long["executionId"].as_str().unwrap();
    let (_, got) = get(&format!("{}/executions/{long_id}", server.base)).await;
    assert_eq!(got["execution"]["errorText"], INTERRUPTED_BY_STOP);
    let (_, calls) = get(&format!("{}/executions/{long_id}/tool-calls", server.base)).await;
    assert_eq!(calls["toolCalls"][0]["status"], "failed");
    drop(server);
}

/// Kills the real server in the middle of a run and starts it again: the
/// run is failed with the restart message, its open tool call closed.
async fn restart_recovery_fails_what_a_killed_server_left_running(db: &TestDb) {
    // The binary is the database's only user, as in production.
    db.store.close().await;
    let addr = free_addr();
    let mut server = RealServer::start(&db.url, &addr, LEASE).ready().await;
    let base = server.base.clone();
    let running = tokio::spawn({
        let base = base.clone();
        async move {
            let _ = reqwest::Client::new()
                .post(format!("{base}/executions"))
                .body(r#"{"code": "await tools.demo.sleep({ ms: 30000 });", "timeoutMs": 60000}"#)
                .send()
                .await;
        }
    });
    let mut id = None;
    for _ in 0..300 {
        let (_, page) = get(&format!("{base}/executions?status=running")).await;
        if let Some(first) = page["executions"].get(0) {
            let run_id = first["execution"]["id"].as_str().unwrap().to_owned();
            let (_, calls) = get(&format!("{base}/executions/{run_id}/tool-calls")).await;
            if calls["toolCalls"].as_array().is_some_and(|c| !c.is_empty()) {
                id = Some(run_id);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let id = id.expect("the run was recorded as running");
    server.kill9();
    let _ = running.await;

    let server = RealServer::start(&db.url, &addr, LEASE).ready().await;
    settled_runs(&server.base).await;
    let (_, got) = get(&format!("{}/executions/{id}", server.base)).await;
    assert_eq!(got["execution"]["status"], "failed", "{got}");
    assert_eq!(got["execution"]["errorText"], interrupted(&db.url));
    let (_, calls) = get(&format!("{}/executions/{id}/tool-calls", server.base)).await;
    assert_eq!(calls["toolCalls"][0]["status"], "failed");
}

/// A second server on the same SQLite file refuses to start, naming the
/// file and the holder; the first one's run ends as it should, with no
/// restart error written over it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_on_one_sqlite_file_refuses_to_start() {
    let db = TestDb::sqlite().await;
    db.store.close().await;
    let first_addr = free_addr();
    let first = RealServer::start(&db.url, &first_addr, &[]).ready().await;
    let run = tokio::spawn({
        let base = first.base.clone();
        async move {
            reqwest::Client::new()
                .post(format!("{base}/executions"))
                .json(&json!({"code": "await tools.demo.sleep({ ms: 2000 }); return 7;"}))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut second = RealServer::start(&db.url, &free_addr(), &[]);
    let exit = second.exit_within(Duration::from_secs(15)).await;
    assert!(
        exit.is_some_and(|s| !s.success()),
        "the second server must not run"
    );
    let log = second.log();
    assert!(log.contains("executor.db"), "names the file: {log}");
    assert!(log.contains("in use by another executor"), "{log}");
    assert!(
        log.contains(&format!("pid {}", first.pid())),
        "names the holder: {log}"
    );
    assert!(
        log.contains(&first_addr),
        "names the holder's address: {log}"
    );

    let answer = run.await.unwrap();
    assert_eq!(answer["status"], "completed", "{answer}");
    assert_eq!(answer["result"], 7);
    let id = answer["executionId"].as_str().unwrap();
    let (_, got) = get(&format!("{}/executions/{id}", first.base)).await;
    assert_eq!(got["execution"]["status"], "completed");
    assert!(got["execution"]["errorText"].is_null(), "{got}");
    drop(first);
    db.finish().await;
}
