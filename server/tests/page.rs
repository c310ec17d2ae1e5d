//! The `/runs` document as the server renders it: the URL's rows before any
//! WASM runs, the same data embedded for hydration (and unable to break out
//! of its script element), the open run's drawer, `/` and unknown paths.

#![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

mod common;
use app::on_both_databases;

use serde_json::Value;

use app::store::Store;
use common::{get, post, serve, serve_counts_pending};

on_both_databases!(
    the_page_renders_the_urls_runs_and_embeds_them,
    the_open_run_renders_in_the_drawer,
    root_redirects_and_unknown_paths_are_404,
    server_functions_answer_at_fixed_routes,
    past_the_render_budget_the_rows_render_and_the_counts_follow,
    responses_are_compressed_for_clients_that_accept_it,
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

/// A server function's answer to a form-encoded call.
async fn server_fn(base: &str, name: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{base}/api/{name}"))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Counts that miss the render budget: the page renders the rows with the
/// counts pending (no JavaScript needed for the rows), and the ticket it
/// carries claims the counts that went on being counted.
async fn past_the_render_budget_the_rows_render_and_the_counts_follow(store: &Store) {
    let base = serve_counts_pending(store).await;
    for i in 0..3 {
        run(&base, &format!("return {i}")).await;
    }
    run(&base, r#"throw new Error("boom")"#).await;
    store.flush().await;

    let html = page(&base, "/runs?status=completed").await;
    assert_eq!(count(&html, r#"data-status="completed""#), 3, "the rows");
    assert!(html.contains("3 loaded · counting…"), "counts pending");
    assert!(!html.contains("matching"));
    assert!(
        html.contains(r#"class="timeline pending""#),
        "the chart's place"
    );
    // Selected values show in the rail without their counts.
    assert!(html.contains(r#"<li class="facet checked">"#));

    let state = embedded_state(&html);
    let data = &state["data"]["Ok"];
    assert_eq!(data["page"]["meta"], Value::Null);
    let ticket = data["counts_later"]["Pending"].as_str().unwrap().to_owned();
    let now_ms = data["now_ms"].as_i64().unwrap().to_string();
    let form = [
        ("query", "status=completed"),
        ("now_ms", now_ms.as_str()),
        ("ticket", ticket.as_str()),
    ];
    let (status, meta) = server_fn(&base, "load_counts", &form).await;
    assert_eq!(status, 200, "{meta}");
    assert_eq!(meta["filterRowCount"], 3);
    assert_eq!(meta["totalRowCount"], 4);
    assert_eq!(meta["statusCounts"]["failed"], 1, "disjunctive: {meta}");
    // A ticket is claimed once; after that (or from another server) the
    // same view is counted again, with the same answer.
    let (status, again) = server_fn(&base, "load_counts", &form).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again, meta);

    // The page's own navigations come the same way.
    let (status, data) = server_fn(&base, "load_runs", &[("query", "status=failed")]).await;
    assert_eq!(status, 200, "{data}");
    assert_eq!(data["page"]["executions"].as_array().unwrap().len(), 1);
    assert!(data["counts_later"]["Pending"].is_string(), "{data}");
}

/// HTML and JSON go out compressed to a client that accepts it (brotli
/// first, gzip otherwise), and as they are to one that does not; either way
/// the same document.
async fn responses_are_compressed_for_clients_that_accept_it(store: &Store) {
    use std::io::Read;
    let base = serve(store).await;
    let id = run(&base, "return 41 + 1").await;
    store.flush().await;
    let client = reqwest::Client::new();
    let fetch = |path: String, accept: Option<&'static str>| {
        let mut request = client.get(format!("{base}{path}"));
        if let Some(accept) = accept {
            request = request.header("accept-encoding", accept);
        }
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status().as_u16(), 200);
            let encoding = response
                .headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap().to_owned());
            (encoding, response.bytes().await.unwrap().to_vec())
        }
    };
    let json = format!("/executions/{id}");
    let (encoding, plain) = fetch(json.clone(), None).await;
    assert_eq!(encoding, None);
    assert!(String::from_utf8_lossy(&plain).contains(&id));
    let (encoding, gzipped) = fetch(json.clone(), Some("gzip")).await;
    assert_eq!(encoding.as_deref(), Some("gzip"));
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&gzipped[..])
        .read_to_end(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, plain);
    let (encoding, brotlied) = fetch(json, Some("gzip, br")).await;
    assert_eq!(encoding.as_deref(), Some("br"));
    let mut unbrotlied = Vec::new();
    brotli::Decompressor::new(&brotlied[..], 4096)
        .read_to_end(&mut unbrotlied)
        .unwrap();
    assert_eq!(unbrotlied, plain);
    // The page: a large document, compressed to a fraction.
    let (encoding, html) = fetch("/runs".to_owned(), Some("br")).await;
    assert_eq!(encoding.as_deref(), Some("br"));
    let mut page = Vec::new();
    brotli::Decompressor::new(&html[..], 4096)
        .read_to_end(&mut page)
        .unwrap();
    let page = String::from_utf8(page).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"), "{}", &page[..40]);
    assert!(page.contains(&id));
    assert!(
        html.len() * 3 < page.len(),
        "{} of {}",
        html.len(),
        page.len()
    );
}
