//! What operators rely on: `/healthz`, `/readyz`, `/metrics`, a panicking
//! handler that answers 500 while the server lives on, and oversized bodies
//! answered in the JSON error shape.

#![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

mod common;
use app::on_both_databases;

use std::sync::Arc;

use axum::routing::get as route_get;
use serde_json::Value;

use app::engine::tools::demo::DemoSource;
use app::engine::{Engine, EngineConfig, Registry};
use app::store::Store;
use common::{get, post, serve};

on_both_databases!(
    health_and_readiness_answer,
    metrics_count_runs_by_status_and_requests_by_route,
    a_panicking_handler_answers_500_and_the_server_lives,
    oversized_bodies_answer_413_in_the_json_shape,
);

async fn health_and_readiness_answer(store: &Store) {
    let base = serve(store).await;
    let (status, body) = get(&format!("{base}/healthz")).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, body) = get(&format!("{base}/readyz")).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("ready")),
        "{body}"
    );
}

/// The value of one series in the Prometheus text, 0 when absent.
fn series(text: &str, name_and_labels: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name_and_labels))
        .and_then(|rest| rest.trim().parse().ok())
        .unwrap_or(0.0)
}

async fn metrics_text(base: &str) -> String {
    let response = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    response.text().await.unwrap()
}

async fn metrics_count_runs_by_status_and_requests_by_route(store: &Store) {
    let base = serve(store).await;
    // Other tests in this process record too: compare before and after.
    let completed = r#"executor_runs_finished_total{status="completed",trigger="cli"}"#;
    let failed = r#"executor_runs_finished_total{status="failed",trigger="cli"}"#;
    let calls = r#"executor_tool_calls_total{status="completed"}"#;
    let before = metrics_text(&base).await;
    let cli = [("x-executor-trigger", "cli")];
    let (status, _) = post(
        &format!("{base}/executions"),
        Some(r#"{"code": "return await tools.demo.echo(1)"}"#),
        &cli,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = post(
        &format!("{base}/executions"),
        Some(r#"{"code": "throw new Error('no')"}"#),
        &cli,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = get(&format!("{base}/executions/not-a-run")).await;
    assert_eq!(status, 404);
    let after = metrics_text(&base).await;
    assert!(
        series(&after, completed) >= series(&before, completed) + 1.0,
        "{after}"
    );
    assert!(
        series(&after, failed) >= series(&before, failed) + 1.0,
        "{after}"
    );
    assert!(
        series(&after, calls) >= series(&before, calls) + 1.0,
        "{after}"
    );
    assert!(
        after.contains(r#"route="/executions/{id}""#) && after.contains(r#"status="404""#),
        "requests are counted by route template, never by raw path: {after}"
    );
    assert!(!after.contains("not-a-run"), "ids never become series");
    for name in [
        "executor_run_duration_seconds_bucket",
        "executor_writer_commit_seconds_bucket",
        "executor_writer_batch_ops_bucket",
        "executor_http_request_duration_seconds_bucket",
        "executor_engine_running",
    ] {
        assert!(after.contains(name), "{name} missing: {after}");
    }
}

/// A handler with a bug.
async fn boom() -> &'static str {
    panic!("a bug in a handler")
}

async fn a_panicking_handler_answers_500_and_the_server_lives(store: &Store) {
    let registry = Registry::new();
    registry.register(Arc::new(DemoSource)).unwrap();
    let engine = Engine::start(store.clone(), registry, EngineConfig::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = server::AppState {
        sources: server::ephemeral_sources(store, &engine),
        store: store.clone(),
        engine,
        leptos_options: server::leptos_options("target/site", addr),
        counts: app::runs::CountsHandoff::default(),
        access: server::access::Access::open(),
    };
    let routes = server::routes(state).route("/boom", route_get(boom));
    tokio::spawn(async move {
        axum::serve(listener, server::with_layers(routes))
            .await
            .unwrap();
    });
    let base = format!("http://{addr}");
    let (status, body) = get(&format!("{base}/boom")).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["error"]["code"], "internal_error");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("trace id"), "{message}");
    assert!(
        !message.contains("a bug in a handler"),
        "panic text stays in the log"
    );
    let (status, _) = get(&format!("{base}/executions")).await;
    assert_eq!(status, 200, "the next request succeeds");
}

async fn oversized_bodies_answer_413_in_the_json_shape(store: &Store) {
    let base = serve(store).await;
    let code = "x".repeat(3 * 1024 * 1024);
    let body = serde_json::json!({ "code": code }).to_string();
    let (status, answer) = post(&format!("{base}/executions"), Some(&body), &[]).await;
    assert_eq!(status, 413);
    assert_eq!(answer["error"]["code"], "payload_too_large", "{answer}");
    let (status, answer): (u16, Value) = post(
        &format!("{base}/executions/some-id/resume"),
        Some(&body),
        &[],
    )
    .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (413, Some("payload_too_large"))
    );
}

/// At start the server reads its page bundle and names the server functions
/// the bundle calls that this binary lacks: a bundle from another commit,
/// whose every call would otherwise answer 400.
#[tokio::test]
async fn a_bundle_from_another_commit_is_named_at_start() {
    let dir = std::env::temp_dir().join(format!("runs_site_{}", uuid::Uuid::now_v7().simple()));
    let pkg = dir.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("bundle.txt"), "runs.old\n").unwrap();
    std::fs::write(
        pkg.join("runs.old_bg.wasm"),
        b"\0asm\0/api/load_runs\0/api/load_runs_before_rename\0",
    )
    .unwrap();
    let url = format!("sqlite://{}", dir.join("executor.db").display());
    let addr = common::process::free_addr();
    let site = dir.to_str().unwrap();
    let server = common::process::RealServer::start(&url, &addr, &["--site-root", site])
        .ready()
        .await;
    let log = server.log();
    assert!(log.contains("does not have"), "{log}");
    assert!(log.contains("load_runs_before_rename"), "{log}");
    // The line names the one function the server lacks, and only it.
    let line = log
        .lines()
        .find(|l| l.contains("does not have"))
        .unwrap_or_default();
    // Without its colours: each escape runs from ESC to its `m`.
    let mut parts = line.split('\x1b');
    let mut named = parts.next().unwrap_or_default().to_owned();
    for part in parts {
        named.push_str(part.split_once('m').map_or(part, |(_, text)| text));
    }
    assert!(
        named.ends_with("missing=load_runs_before_rename"),
        "{named}"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
