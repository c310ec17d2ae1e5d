//! Running code over HTTP: `POST /executions`, resume, cancel, rerun, and
//! the 503 of a full engine (faults of the real binary: `faults.rs`).

#![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

mod common;
use app::on_both_databases;

use std::time::Duration;

use serde_json::{json, Value};

use app::engine::EngineConfig;
use app::store::Store;
use common::{get, post, serve, serve_with};

on_both_databases!(
    post_runs_code_and_records_the_trigger,
    bad_bodies_and_headers_answer_400,
    pause_resume_over_http,
    cancel_and_rerun_over_http,
    a_full_engine_answers_503,
);

async fn post_runs_code_and_records_the_trigger(store: &Store) {
    let base = serve(store).await;
    let (status, body) = post(
        &format!("{base}/executions"),
        Some(r#"{"code": "console.log('hi'); return await tools.demo.echo({ x: 1 });"}"#),
        &[
            ("x-executor-trigger", "cli"),
            ("x-executor-trigger-meta", r#"{"host":"laptop"}"#),
            ("x-executor-session", "cli:7f3a"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "completed");
    assert_eq!(body["result"], json!({"x": 1}));
    assert_eq!(body["logs"], json!(["[log] hi"]));
    assert_eq!(body["error"], Value::Null);
    let id = body["executionId"].as_str().unwrap();
    let (status, got) = get(&format!("{base}/executions/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(got["execution"]["triggerKind"], "cli");
    assert_eq!(got["execution"]["triggerMetaJson"], r#"{"host":"laptop"}"#);
    assert_eq!(got["execution"]["sessionId"], "cli:7f3a");
    // The session finds its runs, in the list and the export.
    let (_, page) = get(&format!("{base}/executions?session=cli:7f3a")).await;
    assert_eq!(page["executions"].as_array().unwrap().len(), 1);
    assert_eq!(page["meta"]["filterRowCount"], 1);
    let csv = reqwest::get(format!(
        "{base}/executions/export?format=csv&session=cli:7f3a"
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.lines().next().unwrap().contains("sessionId"));
    assert!(csv.contains(",cli:7f3a,"), "{csv}");
    assert_eq!(got["execution"]["toolCallCount"], 1);

    // No header: trigger http. A failing run is still a 200 with its error.
    let (status, body) = post(
        &format!("{base}/executions"),
        Some(r#"{"code": "throw new TypeError('bad')"}"#),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "failed");
    assert!(body["error"]
        .as_str()
        .unwrap()
        .starts_with("TypeError: bad"));
    let id = body["executionId"].as_str().unwrap();
    let (_, got) = get(&format!("{base}/executions/{id}")).await;
    assert_eq!(got["execution"]["triggerKind"], "http");
    assert_eq!(got["execution"]["status"], "failed");

    // timeoutMs is honoured.
    let (_, body) = post(
        &format!("{base}/executions"),
        Some(r#"{"code": "while (true) {}", "timeoutMs": 100}"#),
        &[],
    )
    .await;
    assert_eq!(body["status"], "failed");
    assert!(body["error"].as_str().unwrap().contains("100 ms"), "{body}");
}

async fn bad_bodies_and_headers_answer_400(store: &Store) {
    let base = serve(store).await;
    let url = format!("{base}/executions");
    /// Body, headers, and the parameter the 400 must name.
    type Case<'a> = (Option<&'a str>, &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 11] = [
        (None, &[], "body"),
        (Some("{"), &[], "body"),
        (Some(r#"{"cod": "1"}"#), &[], "cod"),
        (Some(r#"{"timeoutMs": 5}"#), &[], "code"),
        (Some(r#"{"code": "   "}"#), &[], "code"),
        (Some(r#"{"code": "1", "timeoutMs": 0}"#), &[], "timeoutMs"),
        (Some(r#"{"code": "return 1 // \u0000"}"#), &[], "code"),
        (Some(r#"{"code": "1", "timeoutMs": 2.5}"#), &[], "timeoutMs"),
        (
            Some(r#"{"code": "1"}"#),
            &[("x-executor-trigger", "Bad Kind")],
            "x-executor-trigger",
        ),
        (
            Some(r#"{"code": "1"}"#),
            &[("x-executor-trigger-meta", "[1,2]")],
            "x-executor-trigger-meta",
        ),
        (
            Some(r#"{"code": "1"}"#),
            &[("x-executor-session", "has space")],
            "x-executor-session",
        ),
    ];
    for (body, headers, param) in cases {
        let (status, answer) = post(&url, body, headers).await;
        assert_eq!(status, 400, "{body:?} {headers:?}: {answer}");
        assert_eq!(answer["error"]["code"], "invalid_parameter");
        assert_eq!(answer["error"]["parameter"], param, "{answer}");
        assert!(answer["error"]["message"].as_str().unwrap().len() > 5);
    }
    let (status, answer) = post(
        &format!("{base}/executions/x/resume"),
        Some(r#"{"action": "maybe"}"#),
        &[],
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    // Nothing bad was recorded.
    let (_, page) = get(&url).await;
    assert_eq!(page["executions"], json!([]));
}

async fn pause_resume_over_http(store: &Store) {
    let base = serve(store).await;
    let (status, body) = post(
        &format!("{base}/executions"),
        Some(r#"{"code": "const r = await tools.demo.write({ n: 5 }); return r.args.n;"}"#),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "waiting_for_interaction", "{body}");
    assert_eq!(body["interaction"]["kind"], "form");
    assert_eq!(body["interaction"]["message"], "Approve demo.write?");
    let id = body["executionId"].as_str().unwrap().to_owned();

    let (_, got) = get(&format!("{base}/executions/{id}")).await;
    assert_eq!(got["execution"]["status"], "waiting_for_interaction");
    assert_eq!(got["pendingInteraction"]["status"], "pending");
    let (_, page) = get(&format!("{base}/executions?status=waiting_for_interaction")).await;
    assert_eq!(page["executions"][0]["execution"]["id"], id.as_str());

    let resume = format!("{base}/executions/{id}/resume");
    let (status, done) = post(&resume, Some(r#"{"action": "accept"}"#), &[]).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "completed");
    assert_eq!(done["result"], 5);
    assert!(done.get("interaction").is_none());

    let (status, again) = post(&resume, Some(r#"{"action": "accept"}"#), &[]).await;
    assert_eq!(status, 409, "{again}");
    assert_eq!(again["error"]["code"], "execution_not_waiting");
    let (status, unknown) = post(
        &format!("{base}/executions/nope/resume"),
        Some(r#"{"action": "decline"}"#),
        &[],
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(unknown["error"]["code"], "execution_not_found");
}

async fn cancel_and_rerun_over_http(store: &Store) {
    let base = serve(store).await;
    let (_, body) = post(
        &format!("{base}/executions"),
        Some(r#"{"code": "await tools.demo.login(); return 1;"}"#),
        &[],
    )
    .await;
    assert_eq!(body["interaction"]["kind"], "url");
    assert_eq!(body["interaction"]["url"], "https://demo.invalid/login");
    let id = body["executionId"].as_str().unwrap().to_owned();
    let cancel = format!("{base}/executions/{id}/cancel");
    let (status, done) = post(&cancel, None, &[]).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "cancelled");
    let (_, got) = get(&format!("{base}/executions/{id}")).await;
    assert_eq!(got["execution"]["status"], "cancelled");
    assert_eq!(got["pendingInteraction"], Value::Null);
    let (status, again) = post(&cancel, None, &[]).await;
    assert_eq!(status, 409);
    assert_eq!(again["error"]["code"], "execution_not_active");
    let (status, _) = post(&format!("{base}/executions/nope/cancel"), None, &[]).await;
    assert_eq!(status, 404);

    let (status, rerun) = post(&format!("{base}/executions/{id}/rerun"), None, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(rerun["status"], "waiting_for_interaction");
    let new_id = rerun["executionId"].as_str().unwrap();
    assert_ne!(new_id, id);
    let (_, got) = get(&format!("{base}/executions/{new_id}")).await;
    assert_eq!(got["execution"]["triggerKind"], "ui");
    assert_eq!(
        got["execution"]["triggerMetaJson"],
        json!({"rerunOf": id}).to_string()
    );
    let (status, _) = post(&format!("{base}/executions/nope/rerun"), None, &[]).await;
    assert_eq!(status, 404);
    post(&format!("{base}/executions/{new_id}/cancel"), None, &[]).await;
}

async fn a_full_engine_answers_503(store: &Store) {
    let config = EngineConfig {
        max_running: 1,
        max_queued: 0,
        ..EngineConfig::default()
    };
    let base = serve_with(store, config).await;
    let url = format!("{base}/executions");
    let slow = tokio::spawn({
        let url = url.clone();
        async move {
            post(
                &url,
                Some(r#"{"code": "await tools.demo.sleep({ ms: 1500 }); return 'slow';"}"#),
                &[],
            )
            .await
        }
    });
    // Wait until the slow run holds the only slot.
    for _ in 0..200 {
        let (_, page) = get(&url).await;
        if page["executions"].as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let response = reqwest::Client::new()
        .post(&url)
        .body(r#"{"code": "return 1"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let busy: Value = response.json().await.unwrap();
    assert_eq!(busy["error"]["code"], "engine_busy");
    assert!(
        busy["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at capacity"),
        "busy is not an internal error: {busy}"
    );
    let (status, slow) = slow.await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(slow["result"], "slow");
    let (status, _) = post(&url, Some(r#"{"code": "return 1"}"#), &[]).await;
    assert_eq!(status, 200);
}
