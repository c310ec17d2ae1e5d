//! Store benchmark: builds a synthetic history (default 1,000,000 runs with
//! about 5,000,000 tool calls over 30 days) through the store, then prints p50
//! and p95 of the list queries the page and the API make.
//!
//! cargo bench -p app --features ssr --bench store -- [--runs N] [--db sqlite|postgres|both] [--fresh]
//!
//! The database is kept between invocations (target/bench/) so queries can be
//! re-measured without re-ingesting; --fresh rebuilds it.

use std::time::{Duration, Instant};

use app::model::{ListQuery, LOCAL_SCOPE};
use app::store::synthetic::{record_history, SyntheticSpec, RARE_MARKER};
use app::store::Store;

const DAY: i64 = 86_400_000;
/// 2026-11-01T00:00:00Z: the history ends here, so runs are reproducible.
const END: i64 = 1_793_491_200_000;
const ITERATIONS: usize = 40;

struct Args {
    ingest_only: bool,
    schema_only: bool,
    runs: u64,
    dbs: Vec<&'static str>,
    fresh: bool,
}

fn args() -> Args {
    let mut a = Args {
        ingest_only: false,
        schema_only: false,
        runs: 1_000_000,
        dbs: vec!["sqlite", "postgres"],
        fresh: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--runs" => a.runs = it.next().and_then(|v| v.parse().ok()).unwrap_or(a.runs),
            "--db" => {
                a.dbs = match it.next().as_deref() {
                    Some("sqlite") => vec!["sqlite"],
                    Some("postgres") => vec!["postgres"],
                    _ => vec!["sqlite", "postgres"],
                }
            }
            "--fresh" => a.fresh = true,
            "--ingest-only" => a.ingest_only = true,
            "--schema-only" => a.schema_only = true,
            "--bench" => {} // cargo bench passes it
            other => {
                eprintln!("store bench: unknown argument '{other}'; expected --runs N, --db sqlite|postgres|both, --fresh, --ingest-only, --schema-only");
                std::process::exit(2);
            }
        }
    }
    a
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = args();
    for db in &args.dbs {
        if let Err(err) = bench(db, &args).await {
            eprintln!("{db}: benchmark failed: {err}");
            std::process::exit(1);
        }
    }
}

async fn bench(db: &str, args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let name = format!("runs_bench_{}", args.runs);
    let url = match db {
        "sqlite" => {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
            std::fs::create_dir_all(&dir)?;
            let path = dir.join(format!("{name}.db"));
            if args.fresh {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            format!("sqlite://{}", path.display())
        }
        _ => {
            use sqlx::Connection;
            let admin = std::env::var("TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
            let mut conn = sqlx::PgConnection::connect(&admin).await?;
            if args.fresh {
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await?;
            }
            let exists: Option<(i32,)> =
                sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
                    .bind(&name)
                    .fetch_optional(&mut conn)
                    .await?;
            if exists.is_none() {
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await?;
            }
            let base = admin
                .rsplit_once('/')
                .map(|(b, _)| b.to_owned())
                .unwrap_or(admin);
            format!("{base}/{name}")
        }
    };
    let store = Store::connect(&url).await?;
    if args.schema_only {
        store.close().await;
        return Ok(());
    }
    let spec = SyntheticSpec {
        scope: LOCAL_SCOPE.into(),
        runs: args.runs,
        end_ms: END,
        span_ms: 30 * DAY,
        tool_paths: 200,
        mean_tool_calls: 5,
        rare_every: 100_000,
        settled: false,
    };
    let existing = store
        .list(LOCAL_SCOPE, &ListQuery::default())
        .await?
        .meta
        .map_or(0, |m| m.total_row_count);
    println!("\n== {db}: {} runs over 30 days ==", args.runs);
    if existing == 0 {
        let started = Instant::now();
        record_history(&store, &spec, 4096).await?;
        let secs = started.elapsed().as_secs_f64();
        println!(
            "ingest: {} runs (~{} tool calls) in {secs:.1} s = {:.0} runs/s",
            args.runs,
            args.runs * spec.mean_tool_calls,
            args.runs as f64 / secs
        );
        if db == "postgres" {
            store_analyze(&url).await?;
        }
    } else {
        println!("ingest: skipped, {existing} runs already there (pass --fresh to rebuild)");
    }

    if args.ingest_only {
        store.close().await;
        return Ok(());
    }
    let q =
        |pairs: &[(&str, &str)]| ListQuery::parse(pairs.iter().copied(), &[]).expect("valid query");
    let day_from = (END - DAY).to_string();
    let month_from = (END - 30 * DAY).to_string();
    let end = END.to_string();
    let cases: Vec<(&str, ListQuery, bool)> = vec![
        ("first page, no filter", q(&[]), false),
        (
            "first page, status=failed",
            q(&[("status", "failed")]),
            false,
        ),
        (
            "first page, tool=ns3.resource.op7",
            q(&[("tool", "ns3.resource.op7")]),
            false,
        ),
        ("first page, tool=ns3.*", q(&[("tool", "ns3.*")]), false),
        (
            "first page, rare code substring",
            q(&[("code", RARE_MARKER)]),
            false,
        ),
        (
            "first page, sort=durationMs,desc",
            q(&[("sort", "durationMs,desc")]),
            false,
        ),
        (
            "first page + meta, 24 h",
            q(&[("from", &day_from), ("to", &end)]),
            true,
        ),
        (
            "first page + meta, 30 days",
            q(&[("from", &month_from), ("to", &end)]),
            true,
        ),
        ("first page + meta, all time", q(&[]), true),
        (
            "first page + meta, 24 h, status=failed",
            q(&[("from", &day_from), ("to", &end), ("status", "failed")]),
            true,
        ),
        (
            "first page + meta, 30 days, status=failed",
            q(&[("from", &month_from), ("to", &end), ("status", "failed")]),
            true,
        ),
        (
            "first page + meta, 24 h, tool=ns3.*",
            q(&[("from", &day_from), ("to", &end), ("tool", "ns3.*")]),
            true,
        ),
    ];
    println!("{:<46} {:>10} {:>10}", "query", "p50 ms", "p95 ms");
    for (label, query, meta) in &cases {
        let (p50, p95) = measure(|| async {
            if *meta {
                store.list(LOCAL_SCOPE, query).await.map(|_| ())
            } else {
                store
                    .list_without_meta(LOCAL_SCOPE, query)
                    .await
                    .map(|_| ())
            }
        })
        .await?;
        println!("{label:<46} {p50:>10.2} {p95:>10.2}");
    }

    // The page 1,000 pages deep: walk there once, then time that request.
    let mut query = q(&[]);
    for _ in 0..1_000 {
        let page = store.list_without_meta(LOCAL_SCOPE, &query).await?;
        let Some(next) = page.next_cursor else { break };
        query = q(&[("cursor", &next)]);
    }
    let (p50, p95) = measure(|| store.list_without_meta(LOCAL_SCOPE, &query)).await?;
    println!("{:<46} {p50:>10.2} {p95:>10.2}", "page 1,000 deep (cursor)");
    store.close().await;
    Ok(())
}

async fn store_analyze(url: &str) -> Result<(), sqlx::Error> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await?;
    sqlx::query("VACUUM ANALYZE").execute(&mut conn).await?;
    Ok(())
}

async fn measure<F, Fut, T, E>(mut f: F) -> Result<(f64, f64), E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    for _ in 0..3 {
        f().await?;
    }
    let mut samples: Vec<Duration> = Vec::with_capacity(ITERATIONS);
    for _ in 0..ITERATIONS {
        let started = Instant::now();
        f().await?;
        samples.push(started.elapsed());
    }
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    Ok((
        ms(samples[ITERATIONS / 2]),
        ms(samples[ITERATIONS * 95 / 100]),
    ))
}
