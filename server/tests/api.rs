//! The JSON API over real HTTP on loopback, against SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

mod common;
use app::on_both_databases;
use app::test_support as support;

use serde_json::Value;

use app::store::Store;
use common::{get, serve};
use support::run;

const T0: i64 = 1_767_225_600_000;

on_both_databases!(
    list_answers_pages_with_meta_and_cursor,
    rows_and_meta_can_be_asked_for_apart,
    bad_parameters_answer_400_naming_the_parameter,
    unknown_ids_answer_404,
    one_run_and_its_tool_calls_are_served,
    export_streams_ndjson_and_csv_with_filters,
    openapi_document_describes_the_routes,
    instants_past_the_calendar_answer_400_and_any_window_120_buckets,
);

async fn list_answers_pages_with_meta_and_cursor(store: &Store) {
    for i in 0..5 {
        run(T0 + i)
            .tools(&["github.issues.list"])
            .record(store)
            .await;
    }
    let base = serve(store).await;
    let (status, body) = get(&format!("{base}/executions?limit=2")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["executions"].as_array().unwrap().len(), 2);
    assert_eq!(body["meta"]["totalRowCount"], 5);
    assert_eq!(body["meta"]["statusCounts"]["completed"], 5);
    assert_eq!(
        body["meta"]["toolFacets"][0]["toolPath"],
        "github.issues.list"
    );
    assert!(body["executions"][0]["pendingInteraction"].is_null());
    assert_eq!(body["executions"][0]["execution"]["createdAt"], T0 + 4);
    let cursor = body["nextCursor"].as_str().expect("a next page");
    let (status, page2) = get(&format!("{base}/executions?limit=2&cursor={cursor}")).await;
    assert_eq!(status, 200);
    assert!(page2.get("meta").is_none(), "meta only on the first page");
    assert_eq!(page2["executions"][0]["execution"]["createdAt"], T0 + 2);
}

async fn rows_and_meta_can_be_asked_for_apart(store: &Store) {
    for i in 0..4 {
        run(T0 + i)
            .trigger(Some(if i % 2 == 0 { "cli" } else { "mcp" }))
            .tools(&["github.issues.list"])
            .record(store)
            .await;
    }
    let base = serve(store).await;
    let (status, rows) = get(&format!("{base}/executions?trigger=cli&meta=false")).await;
    assert_eq!(status, 200, "{rows}");
    assert_eq!(rows["executions"].as_array().unwrap().len(), 2);
    assert!(rows.get("meta").is_none(), "meta=false leaves the meta out");
    let (_, whole) = get(&format!("{base}/executions?trigger=cli&meta=true")).await;
    let (_, empty) = get(&format!("{base}/executions?trigger=cli&meta=")).await;
    assert_eq!(
        empty["meta"], whole["meta"],
        "an empty meta counts as absent"
    );
    let (status, meta) = get(&format!("{base}/executions/meta?trigger=cli&limit=1")).await;
    assert_eq!(status, 200, "{meta}");
    assert_eq!(meta, whole["meta"], "the meta alone is the first page's");
    assert_eq!(meta["filterRowCount"], 2);
    assert_eq!(meta["totalRowCount"], 4);
    for bad in ["meta=no", "meta=false&meta=true"] {
        let (status, body) = get(&format!("{base}/executions?{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"]["parameter"], "meta", "{bad}: {body}");
    }
    let (status, body) = get(&format!("{base}/executions/meta?meta=false")).await;
    assert_eq!(status, 400, "the meta route has no meta switch: {body}");
    // Exact counts on request, on both routes; a view this small is exact
    // anyway, so the answers agree and none is marked approximate.
    for url in [
        format!("{base}/executions/meta?trigger=cli&exact=true"),
        format!("{base}/executions?trigger=cli&exact=true"),
    ] {
        let (status, body) = get(&url).await;
        assert_eq!(status, 200, "{url}: {body}");
        let exact = body.get("meta").unwrap_or(&body);
        assert_eq!(exact, &whole["meta"], "{url}");
        assert_eq!(exact["approximate"], false, "{url}");
    }
    for bad in ["exact=yes", "exact=true&exact=false"] {
        for route in ["executions", "executions/meta"] {
            let (status, body) = get(&format!("{base}/{route}?{bad}")).await;
            assert_eq!(status, 400, "{route}?{bad}: {body}");
            assert_eq!(body["error"]["parameter"], "exact", "{route}?{bad}: {body}");
        }
    }
    let (status, body) = get(&format!("{base}/executions/meta?status=nope")).await;
    assert_eq!(
        (status, &body["error"]["parameter"]),
        (400, &Value::from("status"))
    );
}

async fn bad_parameters_answer_400_naming_the_parameter(store: &Store) {
    run(T0).code("return 'ab'").record(store).await;
    let base = serve(store).await;
    let other_sort_cursor = app::model::Cursor {
        sort: "createdAt,asc".parse().unwrap(),
        key: 1,
        id: "x".into(),
    }
    .encode();
    let long_error = format!("error={}", "x".repeat(1_001));
    let cases = [
        (long_error.as_str(), "error"),
        ("error=a&error=b", "error"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=abc", "limit"),
        ("status=waiting", "status"),
        ("status=completed,nope", "status"),
        ("trigger=Bad%20Kind", "trigger"),
        ("tool=a%20b", "tool"),
        ("from=yesterday", "from"),
        ("to=-5", "to"),
        ("limit=05", "limit"),
        ("status=failed,%20running", "status"),
        ("after=x", "after"),
        ("minDurationMs=-1", "minDurationMs"),
        ("maxDurationMs=1.5", "maxDurationMs"),
        ("elicitation=maybe", "elicitation"),
        ("sort=duration", "sort"),
        ("sort=createdAt,sideways", "sort"),
        ("cursor=%%%", "cursor"),
        ("cursor=bm90LWpzb24", "cursor"),
        ("stauts=failed", "stauts"),
        ("from=0&to=900000000000000000", "to"),
        ("from=0&to=9223372036854775807", "to"),
        ("from=253402300800000", "from"),
        ("after=99999999999999999999", "after"),
        ("minDurationMs=9223372036854775807", "minDurationMs"),
    ];
    for (query, param) in cases {
        let (status, body) = get(&format!("{base}/executions?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"]["code"], "invalid_parameter", "{query}");
        assert_eq!(body["error"]["parameter"], param, "{query}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("{param}:")),
            "{query}: {message}"
        );
    }
    // A cursor continues the listing it came from, in its own sort.
    let (status, body) = get(&format!(
        "{base}/executions?cursor={other_sort_cursor}&sort=durationMs,desc"
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    // Empty sets are valid questions with empty answers.
    for empty in ["from=10&to=5", "minDurationMs=9&maxDurationMs=3"] {
        let (status, body) = get(&format!("{base}/executions?{empty}")).await;
        assert_eq!(status, 200, "{empty}: {body}");
        assert_eq!(body["executions"].as_array().unwrap().len(), 0, "{empty}");
        assert_eq!(body["meta"]["filterRowCount"], 0, "{empty}");
    }
    // NUL cannot be stored or searched for on PostgreSQL, nor in SQLite's
    // code index: searching for it answers, and finds nothing.
    for search in ["code=ab%00cd", "error=ab%00cd"] {
        let (status, body) = get(&format!("{base}/executions?{search}")).await;
        assert_eq!(status, 200, "{search}: {body}");
    }
    let (status, body) = get(&format!("{base}/executions/export?format=xml")).await;
    assert_eq!(
        (status, body["error"]["parameter"].as_str()),
        (400, Some("format"))
    );
    let (status, body) = get(&format!(
        "{base}/executions/export?format=csv&format=ndjson"
    ))
    .await;
    assert_eq!(
        (status, body["error"]["parameter"].as_str()),
        (400, Some("format"))
    );
    let (status, _) = get(&format!("{base}/executions/export?status=nope")).await;
    assert_eq!(status, 400);
}

async fn unknown_ids_answer_404(store: &Store) {
    let theirs = run(T0).scope("someone-else").record(store).await;
    let base = serve(store).await;
    for path in [
        "/executions/not-a-run".to_owned(),
        "/executions/not-a-run/tool-calls".to_owned(),
        format!("/executions/{theirs}"),
        format!("/executions/{theirs}/tool-calls"),
        "/executions/not-a-run/interactions".to_owned(),
        format!("/executions/{theirs}/interactions"),
    ] {
        let (status, body) = get(&format!("{base}{path}")).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["error"]["code"], "execution_not_found", "{path}");
        assert!(
            !body.to_string().contains("return 1"),
            "another scope's data never leaks"
        );
    }
    let (status, body) = get(&format!("{base}/no-such-route")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
}

async fn one_run_and_its_tool_calls_are_served(store: &Store) {
    let id = run(T0).tools(&["a.b", "c.d"]).record(store).await;
    let base = serve(store).await;
    let (status, body) = get(&format!("{base}/executions/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(body["execution"]["id"], id.as_str());
    assert_eq!(body["execution"]["toolCallCount"], 2);
    assert!(body["execution"].get("responsePrivateJson").is_none());
    let (status, body) = get(&format!("{base}/executions/{id}/tool-calls")).await;
    assert_eq!(status, 200);
    let calls = body["toolCalls"].as_array().unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        (
            calls[0]["toolPath"].as_str(),
            calls[0]["namespace"].as_str()
        ),
        (Some("a.b"), Some("a"))
    );
    assert_eq!(calls[1]["toolPath"], "c.d");
    let (status, body) = get(&format!("{base}/executions/{id}/interactions")).await;
    assert_eq!(
        (status, body),
        (200, serde_json::json!({ "interactions": [] }))
    );
}

async fn export_streams_ndjson_and_csv_with_filters(store: &Store) {
    for i in 0..30 {
        let status = if i % 3 == 0 {
            app::model::ExecutionStatus::Failed
        } else {
            app::model::ExecutionStatus::Completed
        };
        run(T0 + i)
            .status(status)
            .code("line one,\n\"two\"")
            .record(store)
            .await;
    }
    let base = serve(store).await;
    let response = reqwest::get(format!("{base}/executions/export?status=failed"))
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let text = response.text().await.unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 10);
    assert!(lines.iter().all(|l| l["status"] == "failed"));
    let csv_text = reqwest::get(format!(
        "{base}/executions/export?format=csv&sort=createdAt,asc"
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "id");
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(records.len(), 30);
    let code_col = headers.iter().position(|h| h == "code").unwrap();
    assert_eq!(
        &records[0][code_col], "line one,\n\"two\"",
        "CSV quoting round-trips"
    );
    let created = headers.iter().position(|h| h == "createdAt").unwrap();
    assert_eq!(&records[0][created], T0.to_string());
}

async fn openapi_document_describes_the_routes(store: &Store) {
    let base = serve(store).await;
    let (status, doc) = get(&format!("{base}/openapi.json")).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/executions",
        "/executions/{id}",
        "/executions/{id}/tool-calls",
        "/executions/export",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
    // Every list parameter, and each route's own, documented.
    let list: Vec<&str> = app::model::params::LIST_PARAMS
        .iter()
        .map(|p| p.name)
        .collect();
    for (path, own) in [
        ("/executions", &["meta", "exact"][..]),
        ("/executions/meta", &["exact"][..]),
        ("/executions/export", &["format"][..]),
    ] {
        let documented: Vec<&str> = doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        for name in list.iter().chain(own) {
            assert!(documented.contains(name), "{path}: {name} documented");
        }
    }
    assert!(doc["components"]["schemas"].get("Execution").is_some());
}

/// The requests that once aborted or overflowed the server answer 400, and
/// the widest window there is still has at most 120 chart buckets.
async fn instants_past_the_calendar_answer_400_and_any_window_120_buckets(store: &Store) {
    run(T0).record(store).await;
    let base = serve(store).await;
    let (status, body) = get(&format!("{base}/executions?from=0&to=9000000000000000")).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["parameter"], "to");
    for window in [
        "from=0&to=253402300799999",
        "from=0&to=1",
        "from=253402300799998&to=253402300799999",
        "after=253402300799999",
        "from=0",
        "to=253402300799999",
    ] {
        let (status, body) = get(&format!("{base}/executions?{window}")).await;
        assert_eq!(status, 200, "{window}: {body}");
        let buckets = body["meta"]["chart"]["buckets"].as_array().unwrap().len();
        assert!((1..=120).contains(&buckets), "{window}: {buckets} buckets");
    }
    let page = reqwest::get(format!("{base}/runs?from=0&to=253402300799999"))
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = reqwest::get(format!("{base}/runs?from=0&to=9223372036854775807"))
        .await
        .unwrap();
    assert_eq!(page.status(), 200, "a page renders whatever link it gets");
    let (status, _) = get(&format!("{base}/executions")).await;
    assert_eq!(status, 200, "the server lives on");
}
