//! Estimated counts: past the meta's work budget, a view only the runs can
//! answer gets counts from a sample, marked approximate, each within the
//! error bound it states of the exact count; `Counts::Exact` answers exactly.
//! On a fresh SQLite file and a fresh PostgreSQL database.

#![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

use app::model::{Counts, ListMeta};
use app::on_both_databases;
use app::store::synthetic::{record_history, SyntheticSpec};
use app::store::Store;
use app::test_support::{query, SCOPE};

const T0: i64 = 1_767_225_600_000;
const HOUR: i64 = 3_600_000;

on_both_databases!(
    estimates_hold_their_bounds_and_exact_asks_answer_exactly,
    a_cut_duration_class_too_large_to_read_is_estimated,
);

/// Every count of `estimate` within `bound` of `exact`'s.
fn assert_within(view: &str, estimate: &ListMeta, exact: &ListMeta, bound: i64) {
    let close = |what: &str, a: i64, b: i64| {
        assert!(
            (a - b).abs() <= bound,
            "{view}: {what} estimated {a}, exactly {b}, bound {bound}"
        );
    };
    assert_eq!(estimate.total_row_count, exact.total_row_count, "{view}");
    close(
        "matching",
        estimate.filter_row_count,
        exact.filter_row_count,
    );
    for s in app::model::ExecutionStatus::ALL {
        close(
            s.as_str(),
            estimate.status_counts.get(s),
            exact.status_counts.get(s),
        );
    }
    for t in &exact.trigger_counts {
        let e = estimate
            .trigger_counts
            .iter()
            .find(|x| x.trigger_kind == t.trigger_kind)
            .map_or(0, |x| x.count);
        close("trigger", e, t.count);
    }
    let (ei, xi) = (&estimate.interaction_counts, &exact.interaction_counts);
    close("elicited", ei.with_elicitation, xi.with_elicitation);
    close(
        "not elicited",
        ei.without_elicitation,
        xi.without_elicitation,
    );
    assert_eq!(
        estimate.chart.buckets.len(),
        exact.chart.buckets.len(),
        "{view}"
    );
    for (e, x) in estimate.chart.buckets.iter().zip(&exact.chart.buckets) {
        assert_eq!(e.bucket_start, x.bucket_start);
        close("bucket", e.counts.total(), x.counts.total());
    }
    for t in &exact.tool_facets {
        if let Some(e) = estimate
            .tool_facets
            .iter()
            .find(|x| x.tool_path == t.tool_path)
        {
            close(&t.tool_path, e.count, t.count);
        }
    }
}

/// `runs` synthetic runs over the `span_ms` after T0, with statistics.
async fn seed(store: &Store, runs: u64, span_ms: i64, tool_paths: u64, mean_tool_calls: u64) {
    let spec = SyntheticSpec {
        scope: SCOPE.into(),
        runs,
        end_ms: T0 + span_ms,
        span_ms,
        tool_paths,
        mean_tool_calls,
        rare_every: 0,
        settled: true,
    };
    record_history(store, &spec, 256).await.unwrap();
    store.analyze().await.unwrap();
}

/// The meta of the view `pairs`, within the budget and exactly.
async fn bounded_and_exact(store: &Store, pairs: &[(&str, &str)]) -> (ListMeta, ListMeta) {
    let filters = query(pairs).filters;
    let bounded = store
        .list_meta(SCOPE, &filters, Counts::Bounded)
        .await
        .unwrap();
    let exact = store
        .list_meta(SCOPE, &filters, Counts::Exact)
        .await
        .unwrap();
    (bounded, exact)
}

/// The runs a view lists, page by page without meta.
async fn count_by_paging(store: &Store, pairs: &[(&str, &str)]) -> i64 {
    let mut q = query(pairs);
    q.limit = app::model::MAX_LIMIT;
    let mut n = 0;
    loop {
        let page = store.list_without_meta(SCOPE, &q).await.unwrap();
        n += page.executions.len() as i64;
        let Some(next) = page.next_cursor else {
            return n;
        };
        let mut with_cursor = pairs.to_vec();
        with_cursor.push(("cursor", next.as_str()));
        let limit = q.limit;
        q = query(&with_cursor);
        q.limit = limit;
    }
}

async fn estimates_hold_their_bounds_and_exact_asks_answer_exactly(store: &Store) {
    // Enough runs that a code filter every run matches is past the budget,
    // and past what the trigram index narrows.
    seed(store, 12_000, 48 * HOUR, 40, 2).await;
    let (from, to) = (T0.to_string(), (T0 + 48 * HOUR).to_string());
    let window = [("from", from.as_str()), ("to", to.as_str())];
    for extra in [
        vec![("code", "resource")],
        vec![("code", "ch")],
        vec![("code", "resource"), ("status", "failed")],
        vec![
            ("code", "resource"),
            ("trigger", "cli"),
            ("elicitation", "false"),
        ],
        vec![("code", "resource"), ("tool", "*.op7")],
        vec![("code", "resource"), ("minDurationMs", "300")],
    ] {
        let mut pairs = window.to_vec();
        pairs.extend(extra.iter().copied());
        let view = format!("{extra:?}");
        let (estimate, exact) = bounded_and_exact(store, &pairs).await;
        assert!(!exact.approximate && exact.estimate.is_none(), "{view}");
        assert!(estimate.approximate, "{view}: expected an estimate");
        let how = estimate
            .estimate
            .clone()
            .expect("an approximate meta says how");
        assert_eq!(how.window_runs, 12_000, "{view}");
        assert!(
            how.sampled_runs > 0 && how.sampled_runs < 12_000,
            "{view}: {how:?}"
        );
        assert!(
            how.estimated.iter().any(|f| f == "filterRowCount"),
            "{view}"
        );
        // A bound that says something: well under the window's runs.
        assert!(
            how.error_bound > 0 && how.error_bound < 1_500,
            "{view}: {how:?}"
        );
        assert_within(&view, &estimate, &exact, how.error_bound);
        if extra.len() > 1 {
            // The exact answer is what paging through every match finds.
            assert_eq!(
                exact.filter_row_count,
                count_by_paging(store, &pairs).await,
                "{view}"
            );
        }
    }
    // Error filters, alone and beside the code filter, in any case: exact
    // when their matches drive, within their bound when estimated, and
    // paging finds what is counted exactly.
    for extra in [
        vec![("error", "UNDEFINED")],
        vec![("error", "timed out"), ("trigger", "cli")],
        vec![("error", "undefined"), ("code", "resource")],
        vec![("error", "at run"), ("tool", "*.op7")],
    ] {
        let mut pairs = window.to_vec();
        pairs.extend(extra.iter().copied());
        let view = format!("{extra:?}");
        let (bounded, exact) = bounded_and_exact(store, &pairs).await;
        assert!(exact.filter_row_count > 0, "{view}");
        assert_eq!(exact.status_counts.failed, exact.filter_row_count, "{view}");
        match &bounded.estimate {
            // PostgreSQL drives from the error index below 500 matches
            // only: past that, a window this large is estimated.
            Some(how) => assert_within(&view, &bounded, &exact, how.error_bound),
            None => {
                assert!(!bounded.approximate, "{view}");
                assert_eq!(bounded.filter_row_count, exact.filter_row_count, "{view}");
                assert_eq!(bounded.status_counts, exact.status_counts, "{view}");
            }
        }
        assert_eq!(
            exact.filter_row_count,
            count_by_paging(store, &pairs).await,
            "{view}"
        );
    }
    // A duration filter: the duration roll-ups count the runs exactly; only
    // the tool facets, which no roll-up keys by duration, are estimated.
    for extra in [
        vec![("minDurationMs", "300")],
        vec![("minDurationMs", "1000"), ("status", "failed")],
        vec![("maxDurationMs", "450"), ("trigger", "cli")],
    ] {
        let mut pairs = window.to_vec();
        pairs.extend(extra.iter().copied());
        let view = format!("{extra:?}");
        let (estimate, exact) = bounded_and_exact(store, &pairs).await;
        let how = estimate.estimate.clone().expect("tool facets estimated");
        assert_eq!(how.estimated, vec!["toolFacets".to_owned()], "{view}");
        assert!(exact.filter_row_count > 0, "{view}");
        assert_eq!(estimate.filter_row_count, exact.filter_row_count, "{view}");
        assert_eq!(estimate.status_counts, exact.status_counts, "{view}");
        assert_eq!(estimate.trigger_counts, exact.trigger_counts, "{view}");
        assert_eq!(estimate.chart, exact.chart, "{view}");
        assert!(!estimate.tool_facets.is_empty(), "{view}");
        assert_within(&view, &estimate, &exact, how.error_bound);
    }
    // A window within the budget is counted exactly without being asked.
    let small = [
        ("from", from.as_str()),
        ("to", &*(T0 + HOUR).to_string()),
        ("code", "resource"),
    ]
    .map(|(k, v)| (k, v.to_owned()));
    let pairs: Vec<(&str, &str)> = small.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let meta = store
        .list_meta(SCOPE, &query(&pairs).filters, Counts::Bounded)
        .await
        .unwrap();
    assert!(!meta.approximate, "an hour of 250 runs is read exactly");
}

async fn a_cut_duration_class_too_large_to_read_is_estimated(store: &Store) {
    // Runs without tool calls last 0-49 ms: three in five fall in the class
    // [20, 50), and a bound of 35 cuts it in halves of 9,000 runs, more than
    // a day's budget reads.
    seed(store, 30_000, 24 * HOUR, 10, 0).await;
    let (from, to) = (T0.to_string(), (T0 + 24 * HOUR).to_string());
    for (extra, cut) in [
        (vec![("minDurationMs", "35")], true),
        (vec![("minDurationMs", "35"), ("status", "failed")], true),
        (vec![("maxDurationMs", "34"), ("trigger", "cli")], true),
        // On class bounds: nothing is cut, the counts are exact.
        (vec![("minDurationMs", "20")], false),
    ] {
        let mut pairs = vec![("from", from.as_str()), ("to", to.as_str())];
        pairs.extend(extra.iter().copied());
        let view = format!("{extra:?}");
        let (estimate, exact) = bounded_and_exact(store, &pairs).await;
        assert!(!exact.approximate, "{view}");
        assert!(exact.filter_row_count > 1_000, "{view}");
        let how = estimate.estimate.clone().expect("tool facets estimated");
        assert_eq!(
            how.estimated.iter().any(|f| f == "filterRowCount"),
            cut,
            "{view}"
        );
        if cut {
            assert!(
                how.error_bound > 0 && how.error_bound < 3_000,
                "{view}: {how:?}"
            );
            assert_within(&view, &estimate, &exact, how.error_bound);
        } else {
            assert_eq!(estimate.filter_row_count, exact.filter_row_count, "{view}");
            assert_eq!(estimate.chart, exact.chart, "{view}");
        }
    }
}
