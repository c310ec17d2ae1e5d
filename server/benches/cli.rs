//! `executor call 'return 1'` as a person or a script runs it: the whole
//! process, start to exit, against a server on loopback (issue 14's target:
//! p50 ≤ 25 ms). Printed, never asserted.
//!
//! `cargo bench -p server --features app/ssr --bench cli`

#![allow(clippy::unwrap_used, reason = "a benchmark should fail loudly")]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use app::engine::{Engine, EngineConfig, Registry};
use app::store::Store;

const RUNS: usize = 200;

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = std::env::temp_dir().join(format!("runs_cli_bench_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    let base = runtime.block_on(async {
        let store = Store::connect(&url).await.unwrap();
        let engine =
            Engine::start(store.clone(), Registry::new(), EngineConfig::default()).unwrap();
        let addr = server::serve_loopback(store, engine, "target/site")
            .await
            .unwrap();
        format!("http://{addr}")
    });
    let call = || {
        let started = Instant::now();
        let status = Command::new(env!("CARGO_BIN_EXE_executor"))
            .args(["call", "return 1"])
            .env("EXECUTOR_URL", &base)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        started.elapsed()
    };
    for _ in 0..5 {
        call();
    }
    let mut times: Vec<Duration> = (0..RUNS).map(|_| call()).collect();
    times.sort();
    let ms = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1000.0;
    println!(
        "executor call 'return 1', whole process: p50 {:.1} ms, p95 {:.1} ms ({RUNS} calls; target p50 <= 25 ms)",
        ms(0.5),
        ms(0.95)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
