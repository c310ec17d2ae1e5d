//! Many `executor serve` processes on one PostgreSQL (issue 16,
//! docs/operations.md#many-servers): a server's start never touches
//! another live server's runs; a server killed with SIGKILL has its
//! unfinished runs failed "interrupted: server lost" by another, after its
//! lease and not before, and only those (also mid-burst, with the others
//! working on); a restarted server adopts nothing; a server
//! frozen past its lease (SIGSTOP) finds its runs taken over when it wakes,
//! writes nothing more to them and stops them, its callers told the
//! recorded failure.

#![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

mod common;

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use app::test_support::TestDb;
use common::process::{free_addr, RealServer};
use common::{get, post};

const LEASE_SECS: f64 = 1.5;

async fn start(url: &str, addr: &str) -> RealServer {
    RealServer::start(url, addr, &["--lease-secs", &LEASE_SECS.to_string()])
        .ready()
        .await
}

/// A run paused for approval on `base`; its id.
async fn paused(base: &str) -> String {
    let body = json!({"code": "return (await tools.demo.write({})).written"}).to_string();
    let (status, out) = post(&format!("{base}/executions"), Some(&body), &[]).await;
    assert_eq!(
        (status, out["status"].as_str()),
        (200, Some("waiting_for_interaction")),
        "{out}"
    );
    out["executionId"].as_str().unwrap().to_owned()
}

async fn run(base: &str, id: &str) -> Value {
    let (status, got) = get(&format!("{base}/executions/{id}")).await;
    assert_eq!(status, 200, "{got}");
    got["execution"].clone()
}

fn servers(url: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_executor"))
        .args(["servers", "list", "--database-url", url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_servers_runs_fail_after_its_lease_and_no_live_servers_do() {
    let db = TestDb::postgres().await;
    let mut a = start(&db.url, &free_addr()).await;
    let on_a = paused(&a.base).await;
    // B starts while A lives: its recovery leaves A's run alone.
    let b = start(&db.url, &free_addr()).await;
    let on_b = paused(&b.base).await;
    assert_eq!(
        run(&b.base, &on_a).await["status"],
        "waiting_for_interaction"
    );
    let listed = servers(&db.url);
    assert_eq!(
        listed.lines().count(),
        3,
        "a header and two servers: {listed}"
    );
    // Each server's metrics carry its instance id.
    let metrics = reqwest::get(format!("{}/metrics", a.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let label = metrics
        .split("instance=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("");
    assert!(
        !label.is_empty() && listed.contains(label),
        "'{label}' is not a listed instance"
    );
    assert!(
        listed.contains(&a.addr) && listed.contains(&b.addr),
        "{listed}"
    );

    a.kill9();
    let killed = Instant::now();
    // Not before its lease: A's run still waits just after the kill.
    assert_eq!(
        run(&b.base, &on_a).await["status"],
        "waiting_for_interaction"
    );
    let failed = loop {
        let e = run(&b.base, &on_a).await;
        if e["status"] == "failed" {
            break e;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(10),
            "A's run was never reaped: {e}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let after = killed.elapsed().as_secs_f64();
    assert_eq!(failed["errorText"], "interrupted: server lost");
    // Its lease was renewed by A's last beat at most a third of a lease
    // before the kill; B reaps within a third of a lease after expiry.
    assert!(
        after >= LEASE_SECS * 2.0 / 3.0 - 0.1,
        "reaped {after:.2} s after the kill, before the lease ran out"
    );
    assert!(
        after <= LEASE_SECS * 2.0 + 1.0,
        "reaped only {after:.2} s after the kill"
    );
    let (_, asked) = get(&format!("{}/executions/{on_a}/interactions", b.base)).await;
    assert_eq!(asked["interactions"][0]["status"], "cancelled", "{asked}");
    // B's own paused run is untouched, and still answerable.
    assert_eq!(
        run(&b.base, &on_b).await["status"],
        "waiting_for_interaction"
    );

    // A comes back on the same address: a new instance, owning nothing.
    let a2 = start(&db.url, &a.addr).await;
    tokio::time::sleep(Duration::from_secs_f64(LEASE_SECS * 1.5)).await;
    assert_eq!(
        run(&a2.base, &on_b).await["status"],
        "waiting_for_interaction"
    );
    let (status, done) = accept(&b.base, &on_b).await;
    assert_eq!(
        (status, done["result"].as_bool()),
        (200, Some(true)),
        "{done}"
    );
    let listed = servers(&db.url);
    assert!(
        !listed.contains(&format!(" {} ", a.addr)) || listed.lines().count() == 3,
        "{listed}"
    );
    drop((a2, b));
    db.finish().await;
}

/// Starts `code` on `base` (its caller waiting in a task, for up to a
/// minute) and finds the run, the only one running, through `other`.
async fn busy(
    base: &str,
    other: &str,
    code: &str,
) -> (tokio::task::JoinHandle<(u16, Value)>, String) {
    let body = json!({"code": code, "timeoutMs": 60000}).to_string();
    let url = format!("{base}/executions");
    let caller = tokio::spawn(async move { post(&url, Some(&body), &[]).await });
    loop {
        let (_, page) = get(&format!("{other}/executions?status=running")).await;
        if let Some(id) = page["executions"][0]["execution"]["id"].as_str() {
            return (caller, id.to_owned());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Accepts the run's pending interaction through `base`.
async fn accept(base: &str, id: &str) -> (u16, Value) {
    let url = format!("{base}/executions/{id}/resume");
    post(&url, Some(r#"{"action":"accept"}"#), &[]).await
}

/// The answer to a run that waits for nothing (any more).
fn not_waiting((status, body): (u16, Value)) {
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("execution_not_waiting")),
        "{body}"
    );
}

/// The tool calls recorded for a run, as (id, status).
async fn tool_calls(base: &str, id: &str) -> Vec<(String, String)> {
    let (status, got) = get(&format!("{base}/executions/{id}/tool-calls")).await;
    assert_eq!(status, 200, "{got}");
    got["toolCalls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_frozen_past_its_lease_writes_nothing_more_to_its_taken_runs() {
    let db = TestDb::postgres().await;
    let a = start(&db.url, &free_addr()).await;
    let b = start(&db.url, &free_addr()).await;
    let on_a = paused(&a.base).await;
    // A run on A that makes a tool call a second, for as long as it may.
    let (busy, id) = busy(
        &a.base,
        &b.base,
        "for (;;) { await tools.demo.sleep({ ms: 1000 }); }",
    )
    .await;
    // Freeze A just after its second call is recorded: its writer is then
    // idle for most of a second, holding no row locks while it is stopped.
    let asked = Instant::now();
    while tool_calls(&b.base, &id).await.len() < 2 {
        assert!(asked.elapsed() < Duration::from_secs(10), "no second call");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    a.signal("STOP");
    let frozen = Instant::now();
    // B takes A's runs over once A's lease has run out.
    for run_id in [&id, &on_a] {
        loop {
            let e = run(&b.base, run_id).await;
            if e["status"] == "failed" {
                assert_eq!(e["errorText"], "interrupted: server lost", "{e}");
                break;
            }
            assert!(
                frozen.elapsed() < Duration::from_secs(15),
                "A's run was never taken over: {e}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let calls = tool_calls(&b.base, &id).await;
    let row = run(&b.base, &id).await;
    assert!(
        calls.iter().all(|(_, status)| status != "running"),
        "{calls:?}"
    );

    // A wakes: its caller hears the failure the history has, at once.
    a.signal("CONT");
    let woke = Instant::now();
    let (status, told) = tokio::time::timeout(Duration::from_secs(10), busy)
        .await
        .expect("A's caller was never answered")
        .unwrap();
    let answered = woke.elapsed();
    assert_eq!(
        (status, told["status"].as_str(), told["error"].as_str()),
        (200, Some("failed"), Some("interrupted: server lost")),
        "{told}"
    );
    // Nothing A did after the takeover reached the history: not the calls
    // its code went on to make, nor the run's end as A saw it.
    tokio::time::sleep(Duration::from_secs_f64(LEASE_SECS)).await;
    assert_eq!(tool_calls(&b.base, &id).await, calls);
    assert_eq!(run(&b.base, &id).await, row);
    let paused_row = run(&b.base, &on_a).await;
    assert_eq!(paused_row["errorText"], "interrupted: server lost");
    // The paused run is gone from A too: answering it is refused anywhere.
    not_waiting(accept(&a.base, &on_a).await);
    assert!(
        a.log().contains("another server took"),
        "A's log does not say why it stopped its runs"
    );
    // A works on: a new run there completes and is A's.
    let (status, fresh) = post(
        &format!("{}/executions", a.base),
        Some(r#"{"code":"return 7"}"#),
        &[],
    )
    .await;
    assert_eq!(
        (status, fresh["result"].as_u64()),
        (200, Some(7)),
        "{fresh}"
    );
    println!("a woken server's caller answered {answered:?} after SIGCONT");
    drop((a, b));
    db.finish().await;
}

/// Each run's owner, status, error and result, read from the database.
async fn stored_runs(url: &str) -> std::collections::HashMap<String, StoredRun> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let rows: Vec<StoredRun> = sqlx::query_as(
        "SELECT id, coalesce(owner_id, '') AS owner, status, error_text, result_json FROM execution",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    rows.into_iter().map(|r| (r.id.clone(), r)).collect()
}

#[derive(Debug, sqlx::FromRow)]
struct StoredRun {
    id: String,
    owner: String,
    status: String,
    error_text: Option<String>,
    result_json: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_burst_costs_only_its_unfinished_runs() {
    let db = TestDb::postgres().await;
    let a = start(&db.url, &free_addr()).await;
    let mut b = start(&db.url, &free_addr()).await;
    let c = start(&db.url, &free_addr()).await;
    let listed = servers(&db.url);
    let b_instance = listed
        .lines()
        .find(|l| l.contains(b.addr.as_str()))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_owned();
    let waiting_on_b = paused(&b.base).await;
    // Three clients per server post short runs (each a 20 ms tool call)
    // until told to stop or their server stops answering.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..9)
        .map(|k| {
            let base = [&a.base, &b.base, &c.base][k % 3].clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut answered = Vec::new();
                let mut failed = false;
                for i in 0.. {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let n = k * 100_000 + i;
                    let code = format!("await tools.demo.sleep({{ ms: 20 }}); return {n}");
                    let sent = client
                        .post(format!("{base}/executions"))
                        .json(&json!({ "code": code }))
                        .send()
                        .await;
                    let out = match sent {
                        Ok(response) => response.json::<Value>().await.ok(),
                        Err(_) => None,
                    };
                    let Some(out) = out else {
                        failed = true;
                        break;
                    };
                    answered.push((out["executionId"].as_str().unwrap().to_owned(), out));
                }
                (k % 3, answered, failed)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    b.kill9();
    let killed = Instant::now();
    // Not before its lease: B's paused run still waits just after the kill.
    assert_eq!(
        run(&a.base, &waiting_on_b).await["status"],
        "waiting_for_interaction"
    );
    // B's unfinished runs are failed within its lease (and a beat).
    let reaped = loop {
        let runs = stored_runs(&db.url).await;
        let left = runs
            .values()
            .filter(|r| r.owner == b_instance)
            .filter(|r| {
                matches!(
                    r.status.as_str(),
                    "pending" | "running" | "waiting_for_interaction"
                )
            })
            .count();
        if left == 0 {
            break killed.elapsed().as_secs_f64();
        }
        assert!(
            killed.elapsed() < Duration::from_secs(15),
            "{left} of B's runs were never reaped"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        reaped >= LEASE_SECS * 2.0 / 3.0 - 0.1,
        "reaped {reaped:.2} s after the kill, before the lease ran out"
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut answered = Vec::new();
    let mut per_server = [0usize; 3];
    for client in clients {
        let (server, runs, failed) = client.await.unwrap();
        // A's and C's clients were answered until they stopped asking.
        assert!(!failed || server == 1, "a client of server {server} failed");
        per_server[server] += runs.len();
        answered.extend(runs.into_iter().map(|(id, out)| (server, id, out)));
    }
    assert!(per_server.iter().all(|n| *n > 0), "{per_server:?}");
    let runs = stored_runs(&db.url).await;
    // Every answer any server gave, B's before it died included, is the
    // history's; A and C answered every run they were sent.
    for (server, id, out) in &answered {
        let stored = &runs[id];
        assert_eq!(
            (out["status"].as_str(), stored.status.as_str()),
            (Some("completed"), "completed"),
            "server {server}: {out} / {stored:?}"
        );
        assert_eq!(
            stored
                .result_json
                .as_deref()
                .and_then(|r| serde_json::from_str::<Value>(r).ok()),
            Some(out["result"].clone())
        );
    }
    // A's and C's runs are all completed; only B's unfinished ones failed,
    // each as lost, and the owner that lost them stays on record.
    let lost: Vec<&StoredRun> = runs.values().filter(|r| r.status != "completed").collect();
    assert!(lost.iter().any(|r| r.id == waiting_on_b), "{lost:?}");
    for r in &lost {
        assert_eq!(
            (r.owner.as_str(), r.status.as_str(), r.error_text.as_deref()),
            (
                b_instance.as_str(),
                "failed",
                Some("interrupted: server lost")
            ),
            "{r:?}"
        );
    }
    // A and C work on.
    for base in [&a.base, &c.base] {
        let (status, out) = post(
            &format!("{base}/executions"),
            Some(r#"{"code":"return 1"}"#),
            &[],
        )
        .await;
        assert_eq!((status, out["result"].as_u64()), (200, Some(1)), "{out}");
    }
    println!(
        "kill -9 mid-burst: {} runs answered, {} lost with B, reaped {reaped:.2} s after the kill",
        answered.len(),
        lost.len()
    );
    drop((a, c));
    db.finish().await;
}

/// Each run's owner, read from the database.
async fn owners_of_runs(url: &str) -> std::collections::HashMap<String, String> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let rows: Vec<(String, Option<String>)> = sqlx::query_as("SELECT id, owner_id FROM execution")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    rows.into_iter()
        .map(|(id, owner)| (id, owner.unwrap_or_default()))
        .collect()
}

/// Kills the servers' LISTEN connections, as a network fault would;
/// how many there were.
async fn kill_listeners(url: &str) -> i64 {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query_scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_and_cancel_work_through_any_server() {
    let db = TestDb::postgres().await;
    let a = start(&db.url, &free_addr()).await;
    let b = start(&db.url, &free_addr()).await;
    let c = start(&db.url, &free_addr()).await;

    // 300 runs posted round robin: all recorded once, each owned by the
    // server that ran it.
    let bases = [a.base.clone(), b.base.clone(), c.base.clone()];
    let posted = futures_util::future::join_all((0..300).map(|i| {
        let base = bases[i % 3].clone();
        async move {
            let body = json!({ "code": format!("return {i}") }).to_string();
            let (status, out) = post(&format!("{base}/executions"), Some(&body), &[]).await;
            assert_eq!(
                (status, out["result"].as_u64()),
                (200, Some(i as u64)),
                "{out}"
            );
            (i % 3, out["executionId"].as_str().unwrap().to_owned())
        }
    }))
    .await;
    let listed = servers(&db.url);
    let owner_of = |server: usize| {
        let addr = [&a.addr, &b.addr, &c.addr][server];
        listed
            .lines()
            .find(|l| l.contains(addr.as_str()))
            .and_then(|l| l.split_whitespace().next())
            .unwrap()
            .to_owned()
    };
    let owners = [owner_of(0), owner_of(1), owner_of(2)];
    let recorded = owners_of_runs(&db.url).await;
    assert_eq!(recorded.len(), 300, "every run recorded once");
    for (server, id) in &posted {
        assert_eq!(recorded.get(id), Some(&owners[*server]), "{id}");
    }

    // A source added through A is loaded by C; removed through C, A drops it.
    let source = json!({
        "kind": "openapi", "name": "shared",
        "document": "openapi: 3.0.0\ninfo: {title: Shared, version: '1'}\npaths:\n  /x:\n    get: {operationId: getX}\n",
        "baseUrl": "http://127.0.0.1:9"
    })
    .to_string();
    let (status, _) = post(&format!("{}/sources", a.base), Some(&source), &[]).await;
    assert_eq!(status, 201);
    let has = |base: String| async move {
        let (_, listed) = get(&format!("{base}/sources")).await;
        listed.to_string().contains("\"shared\"")
    };
    let asked = Instant::now();
    while !has(c.base.clone()).await {
        assert!(
            asked.elapsed() < Duration::from_secs(5),
            "C never loaded the source"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let removed = reqwest::Client::new()
        .delete(format!("{}/sources/shared", c.base))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    while has(a.base.clone()).await {
        assert!(
            asked.elapsed() < Duration::from_secs(10),
            "A never dropped the source"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Paused on A, answered through B: A runs it on, B's caller gets the end.
    let on_a = paused(&a.base).await;
    let (status, done) = accept(&b.base, &on_a).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(
        (done["status"].as_str(), done["result"].as_bool()),
        (Some("completed"), Some(true)),
        "{done}"
    );
    assert_eq!(run(&a.base, &on_a).await["status"], "completed");
    // A second answer, anywhere, is refused as on one server.
    not_waiting(accept(&c.base, &on_a).await);

    // A busy run on A, cancelled through C: it stops within the wake-up.
    let (busy, id) = busy(
        &a.base,
        &c.base,
        "await tools.demo.sleep({ ms: 20000 }); return 1",
    )
    .await;
    let asked = Instant::now();
    let (status, cancelled) = post(&format!("{}/executions/{id}/cancel", c.base), None, &[]).await;
    let took = asked.elapsed();
    assert_eq!(
        (status, cancelled["status"].as_str()),
        (200, Some("cancelled")),
        "{cancelled}"
    );
    assert!(
        took < Duration::from_millis(1_000),
        "the cancel took {took:?}"
    );
    let (_, told) = busy.await.unwrap();
    assert_eq!(
        told["status"], "cancelled",
        "A's own caller hears it too: {told}"
    );
    println!("cancel through another server: {took:?}");

    // A lost notification (the listeners' connections killed) only delays
    // a resume by the owner's sweep (2 s).
    let on_a = paused(&a.base).await;
    let killed = kill_listeners(&db.url).await;
    assert!(killed >= 1, "no LISTEN connection was found");
    let asked = Instant::now();
    let (status, done) = accept(&b.base, &on_a).await;
    assert_eq!(
        (status, done["status"].as_str()),
        (200, Some("completed")),
        "{done}"
    );
    assert!(
        asked.elapsed() < Duration::from_secs(4),
        "the resume took {:?}",
        asked.elapsed()
    );
    drop((a, b, c));
    db.finish().await;
}
