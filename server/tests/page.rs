//! The `/runs` document as the server renders it: the URL's rows before any
//! WASM runs, the same data embedded for hydration (and unable to break out
//! of its script element), the open run's drawer, `/` and unknown paths.

#![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

mod common;
use app::on_both_databases;

use serde_json::Value;

use app::store::Store;
use common::{get, post, serve};

on_both_databases!(
    the_page_renders_the_urls_runs_and_embeds_them,
    the_open_run_renders_in_the_drawer,
    root_redirects_and_unknown_paths_are_404,
    server_functions_answer_at_fixed_routes,
);

/// Runs `code` through the engine; answers the run's id.
async fn run(base: &str, code: &str) -> String {
    let body = serde_json::json!({ "code": code }).to_string();
    let (status, answer) = post(&format!("{base}/executions"), Some(&body), &[]).await;
    assert_eq!(status, 200, "{answer}");
    answer["executionId"].as_str().unwrap().to_owned()
}

/// The page's HTML for `path_and_query`.
async fn page(base: &str, path_and_query: &str) -> String {
    let (status, body) = get(&format!("{base}{path_and_query}")).await;
    assert_eq!(status, 200, "{body}");
    body.as_str().unwrap().to_owned()
}

/// The JSON the page embeds for hydration.
fn embedded_state(html: &str) -> Value {
    let open = r#"<script id="runs-state" type="application/json">"#;
    let start = html.find(open).expect("state script") + open.len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

fn count(html: &str, needle: &str) -> usize {
    html.matches(needle).count()
}

const HOSTILE: &str = r#"throw new Error("boom </script><script>alert(1)</script>")"#;

async fn the_page_renders_the_urls_runs_and_embeds_them(store: &Store) {
    let base = serve(store).await;
    for i in 0..3 {
        run(&base, &format!("return {i}")).await;
    }
    run(&base, HOSTILE).await;
    run(&base, r#"throw new Error("plain")"#).await;
    // Lists read what is committed; the runs' last writes may still queue.
    store.flush().await;

    let html = page(&base, "/runs?status=failed").await;
    assert!(html.starts_with("<!DOCTYPE html>"), "{}", &html[..80]);
    assert_eq!(count(&html, r#"data-status="failed""#), 2, "failed rows");
    assert_eq!(count(&html, r#"data-status="completed""#), 0);
    assert!(html.contains("2 loaded · 2 matching · 5 total"));
    // The hostile code is text in the row, never markup.
    assert!(!html.contains("<script>alert(1)"));

    let state = embedded_state(&html);
    assert_eq!(state["query"], "status=failed");
    let rows = state["data"]["Ok"]["page"]["executions"]
        .as_array()
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows
        .iter()
        .any(|r| r["execution"]["code"].as_str() == Some(HOSTILE)));
    assert_eq!(state["detail"]["Ok"], Value::Null);

    // A bad parameter is ignored and said so; the rest of the URL applies.
    let html = page(&base, "/runs?status=nope&code=plain").await;
    assert!(html.contains("Ignored in the URL"), "problems shown");
    assert_eq!(count(&html, r#"data-status="failed""#), 1);
}

async fn the_open_run_renders_in_the_drawer(store: &Store) {
    let base = serve(store).await;
    run(&base, "return 1").await;
    let id = run(&base, r#"console.warn("careful"); throw new Error("boom")"#).await;
    store.flush().await;

    let html = page(&base, &format!("/runs?executionId={id}")).await;
    assert!(html.contains(r#"class="drawer""#));
    assert!(html.contains(&format!(r#"<code class="run-id">{id}</code>"#)));
    assert!(html.contains("Error: boom"));
    let state = embedded_state(&html);
    assert_eq!(state["detail"]["Ok"]["run"]["execution"]["id"], id.as_str());

    // An id the scope does not have: the list, and a drawer that says so.
    let html = page(&base, "/runs?executionId=no-such-run").await;
    assert!(html.contains("No such run."));
    assert_eq!(count(&html, r#"data-status="#), 2);
}

async fn root_redirects_and_unknown_paths_are_404(store: &Store) {
    let base = serve(store).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let root = client.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(root.status().as_u16(), 307);
    assert_eq!(root.headers()["location"], "/runs");
    let (status, body) = get(&format!("{base}/nope")).await;
    assert_eq!(status, 404, "{body}");
}

/// The page's server functions live at `/api/<name>`, with no hash of the
/// build directory in the route: a bundle built in another checkout of the
/// same commit still reaches them.
async fn server_functions_answer_at_fixed_routes(store: &Store) {
    let base = serve(store).await;
    run(&base, "return 1").await;
    let response = reqwest::Client::new()
        .post(format!("{base}/api/load_runs"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("query=status%3Dcompleted")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["page"]["executions"].as_array().unwrap().len(),
        1,
        "{body}"
    );
}
