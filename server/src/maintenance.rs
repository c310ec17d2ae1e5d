//! The commands that work on a database rather than serve it: `seed`,
//! `store check`, `store rebuild` and `import`. Each takes the database's
//! writer lock (a server must not write it meanwhile) and shows a progress
//! bar on a terminal, nothing otherwise.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use app::store::{now_ms, rebuild_steps, DatabaseLock, Store};

pub type Failure = Box<dyn std::error::Error>;

/// A bar on stderr when it is a terminal; hidden (free) otherwise.
fn bar(len: u64, what: &'static str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template(
        "{msg:>10} [{bar:40}] {human_pos}/{human_len} ({per_sec}, {eta} left)",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(what);
    bar
}

async fn open(database_url: &str, holder: &str) -> Result<(Option<DatabaseLock>, Store), Failure> {
    let lock = DatabaseLock::acquire(database_url, holder)?;
    Ok((lock, Store::connect(database_url).await?))
}

pub async fn seed(runs: u64, days: u32, database_url: &str) -> Result<(), Failure> {
    use app::store::synthetic::{record_history_counting, SyntheticSpec};
    let (_lock, store) = open(database_url, "executor seed").await?;
    let spec = SyntheticSpec {
        scope: app::model::LOCAL_SCOPE.to_owned(),
        runs,
        end_ms: now_ms(),
        span_ms: i64::from(days.max(1)) * 86_400_000,
        tool_paths: 200,
        mean_tool_calls: 5,
        rare_every: 100_000,
        settled: true,
    };
    let done = Arc::new(AtomicU64::new(0));
    let progress = bar(runs, "seeding");
    let ticker = tokio::spawn({
        let (done, progress) = (done.clone(), progress.clone());
        async move {
            loop {
                progress.set_position(done.load(Ordering::Relaxed));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    let started = Instant::now();
    // In parts growing fourfold, refreshing statistics between them: on a
    // PostgreSQL without autovacuum, plans made for an empty database turned
    // 2,300 runs/s into 130 by 72,000 runs.
    let mut recorded = Ok(());
    let mut start = 0;
    let mut part = 2_000;
    while start < runs && recorded.is_ok() {
        let end = (start + part).min(runs);
        recorded = record_history_counting(&store, &spec, start..end, 256, done.clone()).await;
        if recorded.is_ok() {
            recorded = store.analyze().await;
        }
        (start, part) = (end, part * 4);
    }
    ticker.abort();
    progress.finish_and_clear();
    recorded?;
    store.close().await;
    tracing::info!(runs, days, secs = started.elapsed().as_secs_f64(), "seeded");
    Ok(())
}

/// `store check`: true when every derived structure matches the three tables.
pub async fn check(database_url: &str) -> Result<bool, Failure> {
    let (_lock, store) = open(database_url, "executor store check").await?;
    let drift = store.check_derived().await?;
    store.close().await;
    let mut clean = true;
    for d in &drift {
        // The report is the command's output (stdout), not a log line.
        write_line(&d.to_string());
        clean &= !d.drifted();
    }
    write_line(if clean {
        "derived data matches the runs, tool calls and interactions"
    } else {
        "derived data drifted; `executor store rebuild` recomputes it"
    });
    Ok(clean)
}

pub async fn rebuild(database_url: &str) -> Result<(), Failure> {
    let (_lock, store) = open(database_url, "executor store rebuild").await?;
    let progress = bar(rebuild_steps(store.dialect()) as u64, "rebuilding");
    let started = Instant::now();
    store
        .rebuild_derived(|name| {
            progress.inc(1);
            tracing::debug!(structure = name, "rebuilt");
        })
        .await?;
    progress.finish_and_clear();
    store.close().await;
    write_line(&format!(
        "rebuilt derived data in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

pub async fn import(from: &str, database_url: &str) -> Result<(), Failure> {
    let (_lock, store) = open(database_url, "executor import").await?;
    let progress = bar(0, "importing");
    let started = Instant::now();
    let report = store
        .import_from(from, |done, total| {
            progress.set_length(total);
            progress.set_position(done);
        })
        .await?;
    progress.finish_and_clear();
    store.close().await;
    write_line(&format!(
        "imported {} runs ({} already here, {} refused) of {} in the source ({} layout) in {:.1} s",
        report.imported,
        report.skipped,
        report.refused,
        report.source_runs,
        if report.reference_layout {
            "reference"
        } else {
            "this product's"
        },
        started.elapsed().as_secs_f64()
    ));
    for reason in &report.reasons {
        write_line(&format!("  refused: {reason}"));
    }
    Ok(())
}

/// A line of a command's own output (its report) on stdout.
fn write_line(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}
