//! Server-side render of the /runs page (issue 4), printed, never asserted:
//! p50/p95 of `GET /runs` (50 rows, facets, chart) over loopback on a large
//! SQLite history whose newest runs are recent, so the default 24-hour view
//! is full.
//!
//! `cargo bench -p server --features app/ssr --bench page -- [--runs N] [--bare]`
//! (the history is kept in target/bench/page_N.db; `--fresh` rebuilds it;
//! `--bare` serves the routes without the layers every request goes
//! through, panic catching, body limit and the /metrics counting, to
//! measure what they cost).
//! `--token` serves behind a bearer token and sends it with every request,
//! to measure what authentication costs (issue 13).
//! `-- --matrix [--database-url URL]` (issue 11) measures every filtered
//! view instead, at 24 h, 7 d and 30 d: the page with its counts and chart,
//! and the rows alone (`GET /executions?meta=false`), p50 of a few requests
//! each, printed as a table; with `--database-url` over a history seeded by
//! `executor seed` (SQLite or PostgreSQL) instead of the bench's own file.
//! Never point `executor serve` at that file: a third of the synthetic runs
//! are unfinished, and a server fails those at start.

#![allow(clippy::unwrap_used, reason = "a benchmark should fail loudly")]

use std::time::{Duration, Instant};

use app::engine::{Engine, EngineConfig, Registry};
use app::model::{ListQuery, LOCAL_SCOPE};
use app::store::synthetic::{record_history, SyntheticSpec};
use app::store::{now_ms, Store};

/// The same allocator as the `executor` binary (see its Cargo.toml note).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut runs: u64 = 1_000_000;
    let mut fresh = false;
    let mut only: Option<String> = None;
    let mut bare = false;
    let mut matrix = false;
    let mut database_url: Option<String> = None;
    let mut token = false;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--runs" => runs = it.next().and_then(|v| v.parse().ok()).unwrap_or(runs),
            "--fresh" => fresh = true,
            "--bare" => bare = true,
            "--matrix" => matrix = true,
            "--token" => token = true,
            "--database-url" => database_url = it.next(),
            "--only" => only = it.next(),
            "--bench" => {}
            other => {
                eprintln!("page bench: unknown argument '{other}'; expected --runs N, --fresh, --bare, --token, --only PATH|LABEL-WORD, --matrix, --database-url URL");
                std::process::exit(2);
            }
        }
    }
    // RUST_LOG=sqlx::query=debug shows each statement with its time.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(bench(
        runs,
        fresh,
        only,
        (bare, token),
        matrix,
        database_url,
    ));
}

async fn bench(
    runs: u64,
    fresh: bool,
    only: Option<String>,
    (bare, token): (bool, bool),
    matrix: bool,
    database_url: Option<String>,
) {
    // The workspace's target dir, wherever cargo runs the bench from.
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    std::fs::create_dir_all(format!("{root}/target/bench")).unwrap();
    let path = format!("{root}/target/bench/page_{runs}.db");
    if fresh {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{path}{suffix}"));
        }
    }
    let url = database_url.unwrap_or_else(|| format!("sqlite://{path}"));
    let store = Store::connect(&url).await.unwrap();
    let existing = store
        .list(LOCAL_SCOPE, &ListQuery::default())
        .await
        .unwrap()
        .meta
        .map_or(0, |m| m.total_row_count);
    if existing == 0 {
        let started = Instant::now();
        let spec = SyntheticSpec {
            scope: LOCAL_SCOPE.into(),
            runs,
            end_ms: now_ms(),
            span_ms: 30 * 86_400_000,
            tool_paths: 200,
            mean_tool_calls: 5,
            rare_every: 100_000,
            settled: false,
        };
        record_history(&store, &spec, 4096).await.unwrap();
        println!(
            "history: {runs} runs over 30 days ending now, in {:.0} s",
            started.elapsed().as_secs_f64()
        );
    } else {
        println!("history: {existing} runs already in {url} (--fresh rebuilds it)");
    }

    let engine = Engine::start(store.clone(), Registry::new(), EngineConfig::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = server::AppState {
        sources: server::ephemeral_sources(&store, &engine),
        store: store.clone(),
        engine,
        leptos_options: server::leptos_options(&format!("{root}/target/site"), addr),
        // The matrix times whole views: the page waits for its counts.
        counts: app::runs::CountsHandoff::new(std::time::Duration::from_secs(3_600)),
        access: if token {
            let mut tokens = server::access::Tokens::default();
            tokens
                .add_env(&format!("{LOCAL_SCOPE}:{BENCH_TOKEN}"))
                .unwrap();
            server::access::Access::with_tokens(tokens, store.clone(), Default::default())
        } else {
            server::access::Access::open()
        },
    };
    let app = if bare {
        server::routes(state)
    } else {
        server::router(state)
    };
    println!(
        "serving {}{}",
        if bare {
            "bare routes"
        } else {
            "with layers (metrics counted)"
        },
        if token {
            ", behind a bearer token"
        } else {
            ", open (no tokens)"
        }
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut headers = reqwest::header::HeaderMap::new();
    if token {
        // What a bearer request adds, alone: hashing the token and looking
        // the hash up (the HTTP figures below bury it in their noise).
        let mut tokens = server::access::Tokens::default();
        tokens
            .add_env(&format!("{LOCAL_SCOPE}:{BENCH_TOKEN}"))
            .unwrap();
        let checks = 200_000;
        let started = Instant::now();
        for _ in 0..checks {
            std::hint::black_box(tokens.lookup(std::hint::black_box(BENCH_TOKEN)));
        }
        println!(
            "token check (SHA-256 and lookup): {:.0} ns per request ({checks} checks)",
            started.elapsed().as_secs_f64() * 1e9 / f64::from(checks)
        );
        let value = format!("Bearer {BENCH_TOKEN}");
        headers.insert(reqwest::header::AUTHORIZATION, value.parse().unwrap());
    }
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap();
    if matrix {
        view_matrix(&client, &format!("http://{addr}")).await;
        store.close().await;
        return;
    }
    // The drawer opens the newest run, with its tool calls.
    let newest = store
        .list_without_meta(LOCAL_SCOPE, &ListQuery::default())
        .await
        .unwrap()
        .executions
        .first()
        .map(|r| r.execution.id.clone())
        .unwrap_or_default();
    let drawer = format!("/runs?executionId={newest}");
    let day_ago = now_ms() - 86_400_000;
    let api = format!("/executions?from={day_ago}");
    // The roll-ups' worst hour: a 24 h window whose ends both cut their day
    // in the middle, so each end needs 12 hourly slots (the default window
    // needs as many only at noon).
    let noon = now_ms().div_euclid(86_400_000) * 86_400_000 + 43_200_000;
    let noon_window = format!("/runs?from={}&to={noon}", noon - 86_400_000);
    for (label, path) in [
        (
            "GET /executions/{unknown id} (a 404: the request path alone, access included)",
            "/executions/00000000-0000-0000-0000-000000000000",
        ),
        (
            "GET /executions, 24 h (the same list + meta as JSON, for comparison)",
            api.as_str(),
        ),
        ("/runs (24 h, 50 rows, facets, chart)", "/runs"),
        ("/runs?status=failed", "/runs?status=failed"),
        ("/runs?range=7d", "/runs?range=7d"),
        ("/runs?range=30d", "/runs?range=30d"),
        (
            "/runs with the drawer open on the newest run",
            drawer.as_str(),
        ),
        ("/runs?range=15m", "/runs?range=15m"),
        (
            "/runs, 24 h from noon to noon (worst case for the roll-ups)",
            noon_window.as_str(),
        ),
    ] {
        if only
            .as_deref()
            .is_some_and(|o| o != path && !label.contains(o))
        {
            continue;
        }
        let url = format!("http://{addr}{path}");
        let mut times: Vec<Duration> = Vec::new();
        let mut rows = 0;
        for i in 0..205 {
            let started = Instant::now();
            let body = client.get(&url).send().await.unwrap().text().await.unwrap();
            if i >= 5 {
                times.push(started.elapsed());
            }
            rows = body.matches("data-status=").count();
        }
        times.sort();
        let ms =
            |p: f64| times[((times.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1000.0;
        println!(
            "SSR {label}: p50 {:.2} ms, p95 {:.2} ms ({rows} rows; target p50 <= 20 ms for /runs)",
            ms(0.5),
            ms(0.95)
        );
    }
    store.close().await;
}

/// The token `--token` serves behind (scope `local`, the history's).
const BENCH_TOKEN: &str = "exr_bench-token-0000000000000000";

/// Every filter of issue 11's table, two-filter combinations, issue 12's
/// error search (a needle most failed runs hold, one a few hold, and one
/// with a trigger), and issue 14's session filter (one session of about a
/// dozen runs, within the last day, alone and with a status).
const MATRIX_FILTERS: [&str; 24] = [
    "",
    "status=failed",
    "trigger=cli",
    "trigger=cli&status=failed",
    "tool=ns3.resource.op7",
    "tool=ns3.*",
    "tool=*.op7",
    "code=resource",
    "code=ZqXv",
    "error=undefined",
    "error=4711",
    "error=timed+out&trigger=cli",
    "session=s19500",
    "session=s19500&status=completed",
    "elicitation=true",
    "minDurationMs=1000",
    "trigger=cli&elicitation=true",
    "tool=ns3.resource.op7&trigger=cli",
    "tool=ns3.*&status=failed",
    "status=failed&minDurationMs=1000",
    "minDurationMs=1500",
    "minDurationMs=200&maxDurationMs=2000",
    "trigger=cli&minDurationMs=1000",
    "tool=ns3.*&minDurationMs=1000",
];
const MATRIX_RANGES: [(&str, i64); 3] = [("24h", 1), ("7d", 7), ("30d", 30)];
/// Requests per cell after one warm-up; slow cells get fewer.
const MATRIX_SAMPLES: usize = 5;
const MATRIX_TIMEOUT: Duration = Duration::from_secs(60);

/// What the counts of the view at `url` (a JSON list with meta) are: `≈`
/// when its counts are estimates, `†` when only its tool facets are, ``
/// when exact.
async fn estimated_mark(client: &reqwest::Client, url: &str) -> &'static str {
    let Ok(response) = client.get(url).timeout(MATRIX_TIMEOUT).send().await else {
        return "?";
    };
    let Ok(body) = response.json::<serde_json::Value>().await else {
        return "?";
    };
    let estimated = &body["meta"]["estimate"]["estimated"];
    let names: Vec<&str> = estimated
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    match names.as_slice() {
        [] => "",
        ["toolFacets"] => "†",
        _ => "≈",
    }
}

/// p50 in ms of GETs of `url`, or None past [`MATRIX_TIMEOUT`].
async fn p50(client: &reqwest::Client, url: &str) -> Option<f64> {
    let mut times = Vec::new();
    for i in 0..=MATRIX_SAMPLES {
        let started = Instant::now();
        let sent = client.get(url).timeout(MATRIX_TIMEOUT).send().await;
        let ok = match sent {
            Ok(response) => response.status().is_success() && response.text().await.is_ok(),
            Err(_) => false,
        };
        if !ok {
            return None;
        }
        let took = started.elapsed();
        if i > 0 {
            times.push(took);
        }
        // A view of seconds says what it is in three samples.
        if took > Duration::from_secs(2) && times.len() >= 2 {
            break;
        }
    }
    times.sort();
    times.get(times.len() / 2).map(|t| t.as_secs_f64() * 1000.0)
}

async fn view_matrix(client: &reqwest::Client, base: &str) {
    let cell = |v: Option<f64>| v.map_or_else(|| "> 60 s".to_owned(), |ms| format!("{ms:.1}"));
    println!(
        "view matrix (p50 ms; page = /runs with counts and chart, rows = /executions?meta=false; \
         ≈ marks estimated counts, † estimated tool facets alone)"
    );
    let mut header = format!("{:<38}", "filter");
    for (range, _) in MATRIX_RANGES {
        header.push_str(&format!(" {:>10} {:>9}", format!("page {range}"), "rows"));
    }
    println!("{header}");
    for filter in MATRIX_FILTERS {
        let mut line = format!("{:<38}", if filter.is_empty() { "none" } else { filter });
        for (range, days) in MATRIX_RANGES {
            let and = if filter.is_empty() { "" } else { "&" };
            let page = p50(client, &format!("{base}/runs?range={range}{and}{filter}")).await;
            let from = now_ms() - days * 86_400_000;
            let mark = estimated_mark(
                client,
                &format!("{base}/executions?limit=1&from={from}{and}{filter}"),
            )
            .await;
            let rows = p50(
                client,
                &format!("{base}/executions?meta=false&from={from}{and}{filter}"),
            )
            .await;
            let page = format!("{mark}{}", cell(page));
            line.push_str(&format!(" {:>10} {:>9}", page, cell(rows)));
        }
        println!("{line}");
    }
}
