//! Many servers on one PostgreSQL (issue 16; figures in
//! docs/performance.md): 64 clients spread over 1, 2 and 3 real `executor
//! serve` processes (runs per second, every run recorded, CPU per run);
//! resume through the owner against through another server (p50); the
//! heartbeat's lease renewal with 1,000 paused runs. Printed, never
//! asserted. Needs PostgreSQL at TEST_POSTGRES_URL (as the tests do).
//!
//! `cargo bench -p server --features app/ssr --bench cluster`

#![allow(clippy::unwrap_used, reason = "a benchmark should fail loudly")]

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use app::test_support::TestDb;

const CLIENTS: usize = 64;
const WINDOW: Duration = Duration::from_secs(8);

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start(url: &str) -> Server {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_executor"))
        .args([
            "serve",
            "--demo-tools",
            "--addr",
            &addr.to_string(),
            "--database-url",
            url,
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server {
        child,
        base: format!("http://{addr}"),
    };
    for _ in 0..500 {
        if reqwest::get(format!("{}/healthz", server.base))
            .await
            .is_ok()
        {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("a server did not start");
}

/// CPU seconds used so far by the whole machine (every core), from /proc/stat.
fn machine_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let line = stat.lines().next().unwrap_or("");
    let ticks: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user, nice, system (idle and waits are not work); 100 ticks a second.
    (ticks.first().unwrap_or(&0.0) + ticks.get(1).unwrap_or(&0.0) + ticks.get(2).unwrap_or(&0.0))
        / 100.0
}

/// CPU seconds a process used so far.
fn process_cpu(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    // After the name: state is field 3, so utime (14) and stime (15) are
    // the 12th and 13th.
    let field = |i: usize| {
        after
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (field(11) + field(12)) / 100.0
}

async fn post(client: &reqwest::Client, url: &str, body: &Value) -> Value {
    client
        .post(url)
        .json(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn p50(times: &mut [Duration]) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1000.0
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        for n in 1..=3 {
            let db = TestDb::postgres().await;
            let servers: Vec<Server> = futures_util::future::join_all((0..n).map(|_| start(&db.url))).await;
            let bases: Arc<Vec<String>> = Arc::new(servers.iter().map(|s| s.base.clone()).collect());
            let done = Arc::new(AtomicU64::new(0));
            let (machine0, servers0) = (machine_cpu(), servers.iter().map(|s| process_cpu(s.child.id())).sum::<f64>());
            let started = Instant::now();
            let clients: Vec<_> = (0..CLIENTS)
                .map(|i| {
                    let (bases, done) = (bases.clone(), done.clone());
                    tokio::spawn(async move {
                        let client = reqwest::Client::new();
                        let url = format!("{}/executions", bases[i % bases.len()]);
                        while started.elapsed() < WINDOW {
                            let out = post(&client, &url, &json!({"code": "return 1"})).await;
                            if out["status"] == "completed" {
                                done.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    })
                })
                .collect();
            futures_util::future::join_all(clients).await;
            let secs = started.elapsed().as_secs_f64();
            let (machine, server_cpu) = (
                machine_cpu() - machine0,
                servers.iter().map(|s| process_cpu(s.child.id())).sum::<f64>() - servers0,
            );
            let runs = done.load(Ordering::Relaxed);
            let (_, meta): (u16, Value) = {
                let r = reqwest::get(format!("{}/executions/meta?exact=true&after=0", bases[0])).await.unwrap();
                (r.status().as_u16(), r.json().await.unwrap())
            };
            println!(
                "{n} server(s), {CLIENTS} clients: {:.0} runs/s ({runs} answered, {} recorded); CPU per run {:.2} ms in the servers, {:.2} ms on the whole machine (PostgreSQL included; 2 cores)",
                runs as f64 / secs,
                meta["totalRowCount"],
                server_cpu * 1000.0 / runs as f64,
                machine * 1000.0 / runs as f64,
            );
            drop(servers);
            db.finish().await;
        }

        // Resume through the owner and through another server.
        let db = TestDb::postgres().await;
        let (a, b) = (start(&db.url).await, start(&db.url).await);
        let client = reqwest::Client::new();
        let mut via_owner = Vec::new();
        let mut via_other = Vec::new();
        for i in 0..200 {
            let paused = post(&client, &format!("{}/executions", a.base), &json!({"code": "return (await tools.demo.write({})).written"})).await;
            let id = paused["executionId"].as_str().unwrap();
            let via = if i % 2 == 0 { &a.base } else { &b.base };
            let started = Instant::now();
            let out = post(&client, &format!("{via}/executions/{id}/resume"), &json!({"action": "accept"})).await;
            assert_eq!(out["status"], "completed", "{out}");
            if i % 2 == 0 { via_owner.push(started.elapsed()) } else { via_other.push(started.elapsed()) }
        }
        println!(
            "resume: through the owner p50 {:.2} ms; through another server p50 {:.2} ms (100 each)",
            p50(&mut via_owner),
            p50(&mut via_other)
        );

        // The heartbeat's renewal with 1,000 paused runs of one server.
        for _ in 0..1_000 {
            post(&client, &format!("{}/executions", a.base), &json!({"code": "return (await tools.demo.write({})).written"})).await;
        }
        let instances = db.store.instances().await.unwrap();
        let owner = instances.iter().find(|i| i.runs >= 1_000).unwrap();
        let mut beats = Vec::new();
        let mut renewed = 0;
        for _ in 0..30 {
            let now = app::store::now_ms();
            let started = Instant::now();
            renewed = db.store.heartbeat(&owner.id, now, now + 30_000).await.unwrap();
            beats.push(started.elapsed());
        }
        println!(
            "heartbeat: renewing {renewed} paused runs' leases p50 {:.2} ms (one statement, every 10 s by default)",
            p50(&mut beats)
        );
        drop((a, b));
        db.finish().await;
    });
}
