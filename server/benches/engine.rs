//! Engine benchmarks (issue 3), printed, never asserted:
//! - recording overhead: one run making 20 tool calls, recorded vs not;
//! - `POST /executions` of `return 1` over loopback: p50/p95 one at a time,
//!   then throughput with 64 concurrent clients, every run recorded.
//!
//! `cargo bench -p server --bench engine -- [--db sqlite|postgres] [--seconds N] [--clients N]`

#![allow(clippy::unwrap_used, reason = "a benchmark should fail loudly")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::engine::tools::demo::DemoSource;
use app::engine::{ElicitationMode, Engine, EngineConfig, ExecuteRequest, Registry};
use app::model::{RunStatus, Trigger, TriggerKind, LOCAL_SCOPE};
use app::store::Store;

struct Args {
    db: String,
    seconds: u64,
    clients: usize,
}

fn args() -> Args {
    let mut a = Args {
        db: "sqlite".into(),
        seconds: 5,
        clients: 64,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--db" => a.db = it.next().unwrap_or_default(),
            "--seconds" => a.seconds = it.next().and_then(|v| v.parse().ok()).unwrap_or(5),
            "--clients" => a.clients = it.next().and_then(|v| v.parse().ok()).unwrap_or(64),
            "--bench" => {}
            other => {
                eprintln!("engine bench: unknown argument '{other}'; expected --db sqlite|postgres, --seconds N, --clients N");
                std::process::exit(2);
            }
        }
    }
    a
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

async fn fresh_store(db: &str) -> Store {
    let url = if db == "postgres" {
        use sqlx::Connection;
        let admin = std::env::var("TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let name = format!("runs_engine_bench_{}", std::process::id());
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        let base = admin.rsplit_once('/').map(|(b, _)| b.to_owned()).unwrap();
        format!("{base}/{name}")
    } else {
        let dir = std::env::temp_dir().join(format!("runs_engine_bench_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        format!("sqlite://{}", dir.join("executor.db").display())
    };
    Store::connect(&url).await.unwrap()
}

fn engine(store: &Store, record: bool) -> Engine {
    let registry = Registry::new();
    registry.register(Arc::new(DemoSource)).unwrap();
    Engine::start(
        store.clone(),
        registry,
        EngineConfig {
            record,
            ..EngineConfig::default()
        },
    )
    .unwrap()
}

async fn time_runs(engine: &Engine, code: &str, n: usize) -> Vec<Duration> {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let out = engine
            .execute(ExecuteRequest {
                scope: LOCAL_SCOPE.into(),
                code: code.into(),
                trigger: Trigger::new(TriggerKind::known("http")),
                timeout: None,
                elicitation: ElicitationMode::Pause,
            })
            .await
            .unwrap();
        assert_eq!(out.status, RunStatus::Completed, "{out:?}");
        times.push(started.elapsed());
    }
    times.sort();
    times
}

async fn recording_overhead(store: &Store) {
    let code = "let s = 0; for (let i = 0; i < 20; i++) { const r = await tools.demo.echo({ i }); s += r.i; } return s;";
    let with = engine(store, true);
    let without = engine(store, false);
    // Warm both, then alternate single runs so drift hits both alike.
    time_runs(&with, code, 50).await;
    time_runs(&without, code, 50).await;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..1_000 {
        a.extend(time_runs(&with, code, 1).await);
        b.extend(time_runs(&without, code, 1).await);
    }
    a.sort();
    b.sort();
    let (pa, pb) = (percentile(&a, 0.5), percentile(&b, 0.5));
    println!(
        "recording overhead, 1 run x 20 tool calls: recorded p50 {pa:.3} ms, unrecorded p50 {pb:.3} ms, ratio {:.3} (target <= 1.25)",
        pa / pb
    );
}

async fn serve(store: &Store, engine: Engine) -> String {
    let addr = server::serve_loopback(store.clone(), engine, "target/site")
        .await
        .unwrap();
    format!("http://{addr}/executions")
}

async fn post_one(client: &reqwest::Client, url: &str) {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(r#"{"code":"return 1"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body = response.bytes().await.unwrap();
    assert!(body.starts_with(br#"{"status":"completed""#));
}

async fn post_latency_and_throughput(store: &Store, seconds: u64, clients: usize) {
    let engine = engine(store, true);
    let url = serve(store, engine.clone()).await;
    let client = reqwest::Client::new();
    for _ in 0..200 {
        post_one(&client, &url).await;
    }
    let mut times = Vec::new();
    for _ in 0..2_000 {
        let started = Instant::now();
        post_one(&client, &url).await;
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "POST /executions 'return 1', one client: p50 {:.3} ms, p95 {:.3} ms (target p50 <= 2 ms)",
        percentile(&times, 0.5),
        percentile(&times, 0.95)
    );

    let before = count(store).await;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (client, url) = (client.clone(), url.clone());
        tasks.spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                post_one(&client, &url).await;
                n += 1;
            }
            n
        });
    }
    let mut done = 0;
    while let Some(n) = tasks.join_next().await {
        done += n.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    let recorded = count(store).await - before;
    println!(
        "POST /executions 'return 1', {clients} clients for {secs:.1} s: {done} runs = {:.0} runs/s, {recorded} recorded, {} storage failures (target >= 1000 runs/s, all recorded)",
        done as f64 / secs,
        engine.storage_failures()
    );
}

async fn count(store: &Store) -> i64 {
    store.flush().await;
    store
        .list(LOCAL_SCOPE, &app::model::ListQuery::default())
        .await
        .unwrap()
        .meta
        .map_or(0, |m| m.total_row_count)
}

fn main() {
    let args = args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = fresh_store(&args.db).await;
        println!("== engine on {} ==", args.db);
        recording_overhead(&store).await;
        post_latency_and_throughput(&store, args.seconds, args.clients).await;
        store.close().await;
    });
}
