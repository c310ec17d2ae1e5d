//! Estimated counts: the meta of a view that only the runs themselves can
//! answer (a code substring the trigram index cannot narrow, a duration
//! bound, a glob over many tool paths) over more runs than a meta may read.
//!
//! The window is cut into strata, one per chart bucket, whose run totals the
//! roll-ups give exactly. In each stratum a few short time slices, spread
//! over it with a deterministic jitter, are read run by run; a stratum small
//! enough is read whole. Each count is then the stratified ratio estimate
//! `Σ matches_b × runs_b / sampled_b`, and its error bound three standard
//! errors of that sum (with the finite-population correction, and one match
//! added per stratum so that a sample without matches does not claim
//! certainty). The bound assumes runs are exchangeable within a slice's
//! neighbourhood; many slices per bucket keep bursts from dominating.

use std::collections::{BTreeMap, HashMap};

use super::filter_sql::ToolPaths;
use super::rollup::DAY;
use crate::model::{ChartWindow, Estimate, Filters, ListMeta};

/// What a meta may read run by run, in units of about a microsecond of
/// SQLite's time here (see [`run_cost`]), for a window of up to a day: past
/// it the counts are estimated from a sample of about this cost. A longer
/// window gets [`LONG_WINDOW_BUDGET`]: the page's targets are 50 ms for a
/// day and 150 ms for 30 days, and a larger sample tightens the bounds.
pub const WORK_BUDGET: i64 = 24_000;
pub const LONG_WINDOW_BUDGET: i64 = 72_000;

/// The budget of a meta over `window`.
pub fn budget(window: &ChartWindow) -> i64 {
    if window.to.saturating_sub(window.from) <= DAY {
        WORK_BUDGET
    } else {
        LONG_WINDOW_BUDGET
    }
}

/// Fewest runs a stratum's slices aim to read, so that a sparse bucket is
/// still sampled.
const MIN_SAMPLED_PER_STRATUM: i64 = 4;

/// Time slices per stratum.
const SLICES_PER_STRATUM: i64 = 8;

/// Standard errors an error bound spans.
const BOUND_SIGMAS: f64 = 3.0;

/// Estimated counts are summed in fixed point: each sampled group weighs
/// `runs_b / sampled_b`, and rounding only the reported sums keeps the
/// rounding error below one run per count.
pub const FIXED_POINT: i64 = 1_000;

/// What reading one sampled run costs, in budget units (about a
/// microsecond each of SQLite's time here, measured at a million runs): its
/// index entry and its slice's share; a text filter reads its row and text;
/// a tool filter of several paths probes each; tool facets that the
/// roll-ups cannot answer read its ~5 tool paths.
pub fn run_cost(filters: &Filters, tools: &ToolPaths, tool_facets_sampled: bool) -> i64 {
    let mut cost = 3;
    for _ in filters.text_searches() {
        cost += 8;
    }
    if let ToolPaths::OneOf(paths) = tools {
        let paths = i64::try_from(paths.len()).unwrap_or(i64::MAX).min(1_000);
        cost += (5 * paths + 1) / 2;
    }
    if tool_facets_sampled {
        cost += 15;
    }
    cost
}

/// One stratum: a chart bucket's part of the window.
#[derive(Clone, Debug, PartialEq)]
pub struct Stratum {
    pub bucket: i64,
    /// The window's runs in it, from the roll-ups.
    pub runs: i64,
    /// `[from, to)`.
    pub from: i64,
    pub to: i64,
}

/// A time slice read run by run: `[from, to)` of a stratum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slice {
    pub from: i64,
    pub to: i64,
    pub bucket: i64,
}

/// Which slices to read, or `None` when the window's runs fit the budget and
/// the exact meta should answer.
pub fn plan(strata: &[Stratum], cost: i64, budget: i64) -> Option<Vec<Slice>> {
    let runs: i64 = strata.iter().map(|s| s.runs.max(0)).sum();
    if runs.saturating_mul(cost.max(1)) <= budget {
        return None;
    }
    let fraction = budget as f64 / (runs as f64 * cost.max(1) as f64);
    let mut slices = Vec::new();
    for s in strata.iter().filter(|s| s.runs > 0 && s.from < s.to) {
        let wanted = (fraction * s.runs as f64).max(MIN_SAMPLED_PER_STRATUM as f64);
        let share = wanted / s.runs as f64;
        let span = s.to - s.from;
        if share >= 0.5 || span < 2 * SLICES_PER_STRATUM {
            slices.push(Slice {
                from: s.from,
                to: s.to,
                bucket: s.bucket,
            });
            continue;
        }
        let period = span / SLICES_PER_STRATUM;
        let length = ((share * period as f64).round() as i64).clamp(1, period);
        for i in 0..SLICES_PER_STRATUM {
            let start = s.from + i * period;
            // Deterministic jitter: the same view samples the same slices,
            // and slices do not line up with a periodic workload (a job at
            // every full minute) the way evenly spaced ones would.
            let room = (period - length) as u64;
            let jitter = if room == 0 {
                0
            } else {
                (mix(s.bucket as u64 ^ (i as u64).wrapping_mul(0x9E37)) % (room + 1)) as i64
            };
            slices.push(Slice {
                from: start + jitter,
                to: (start + jitter + length).min(s.to),
                bucket: s.bucket,
            });
        }
    }
    Some(slices)
}

/// SplitMix64's finaliser.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// How a sample's matches in one stratum scale to the stratum.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Weight {
    /// Runs a sampled run stands for (`runs / sampled`).
    pub per_run: f64,
    /// `per_run² × (1 − sampled / runs)`: a match's share of the variance.
    pub variance_per_match: f64,
}

/// The strata's weights from what the sample read (`sampled`: runs read per
/// bucket, whatever they matched). A stratum with runs of which the slices
/// read none is `unread`: the caller scales it by the sample's overall rate
/// and adds its runs to the bound.
pub struct Weights {
    pub by_bucket: HashMap<i64, Weight>,
    pub unread: Vec<Stratum>,
    pub sampled_runs: i64,
}

pub fn weights(strata: &[Stratum], sampled: &HashMap<i64, i64>) -> Weights {
    let mut by_bucket = HashMap::new();
    let mut unread = Vec::new();
    let mut sampled_runs = 0;
    for s in strata.iter().filter(|s| s.runs > 0) {
        let read = sampled.get(&s.bucket).copied().unwrap_or(0);
        sampled_runs += read;
        if read == 0 {
            unread.push(s.clone());
            continue;
        }
        let per_run = s.runs as f64 / read as f64;
        let unread_share = (1.0 - read as f64 / s.runs as f64).max(0.0);
        by_bucket.insert(
            s.bucket,
            Weight {
                per_run,
                variance_per_match: per_run * per_run * unread_share,
            },
        );
    }
    Weights {
        by_bucket,
        unread,
        sampled_runs,
    }
}

/// An error bound for sums of sampled matches: every count summed from a
/// subset of the matches has a variance at most the sum over strata of
/// `variance_per_match × (matches_b + 1)`, so one bound holds for them all.
#[derive(Default)]
pub struct Bound {
    matches: BTreeMap<i64, i64>,
}

impl Bound {
    pub fn add(&mut self, bucket: i64, matches: i64) {
        *self.matches.entry(bucket).or_default() += matches;
    }

    /// Runs: `BOUND_SIGMAS` standard errors, the unread strata's runs, and
    /// one for rounding.
    pub fn runs(&self, weights: &Weights) -> i64 {
        let variance: f64 = weights
            .by_bucket
            .iter()
            .map(|(b, w)| {
                w.variance_per_match * (self.matches.get(b).copied().unwrap_or(0) + 1) as f64
            })
            .sum();
        let unread: i64 = weights.unread.iter().map(|s| s.runs).sum();
        (BOUND_SIGMAS * variance.sqrt()).ceil() as i64 + unread + 1
    }
}

/// Scales `matches` sampled in `bucket` to fixed point ([`FIXED_POINT`]).
pub fn scaled(matches: i64, weight: f64) -> i64 {
    (matches as f64 * weight * FIXED_POINT as f64).round() as i64
}

/// A fixed-point sum rounded to runs.
pub fn unscaled(sum: i64) -> i64 {
    (sum + FIXED_POINT / 2).div_euclid(FIXED_POINT)
}

/// The names of a meta's counts that an estimated meta estimates.
pub fn estimated_counts(tool_facets: bool) -> Vec<String> {
    let mut names = vec![
        "filterRowCount",
        "statusCounts",
        "triggerCounts",
        "interactionCounts",
        "chart",
    ];
    if tool_facets {
        names.push("toolFacets");
    }
    names.into_iter().map(str::to_owned).collect()
}

/// Marks `meta` as estimated.
pub fn mark(meta: &mut ListMeta, estimate: Estimate) {
    meta.approximate = true;
    meta.estimate = Some(estimate);
}

/// The strata of `window`: its buckets, clipped to it, with their runs.
pub fn strata(window: &ChartWindow, runs_by_bucket: &HashMap<i64, i64>) -> Vec<Stratum> {
    let width = window.width.ms();
    window
        .bucket_starts()
        .map(|bucket| Stratum {
            bucket,
            runs: runs_by_bucket.get(&bucket).copied().unwrap_or(0),
            from: bucket.max(window.from),
            to: bucket.saturating_add(width).min(window.to),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stratum(bucket: i64, runs: i64, width: i64) -> Stratum {
        Stratum {
            bucket,
            runs,
            from: bucket,
            to: bucket + width,
        }
    }

    #[test]
    fn a_window_within_the_budget_is_read_exactly() {
        let strata = vec![
            stratum(0, WORK_BUDGET / 2, 1000),
            stratum(1000, WORK_BUDGET / 2, 1000),
        ];
        assert_eq!(plan(&strata, 1, WORK_BUDGET), None);
        assert!(plan(&strata, 2, WORK_BUDGET).is_some());
    }

    #[test]
    fn slices_stay_inside_their_stratum_and_read_about_the_budget() {
        let width = 3_600_000;
        let strata: Vec<Stratum> = (0..100)
            .map(|i| stratum(i * width, 10_000, width))
            .collect();
        let slices = plan(&strata, 1, WORK_BUDGET).expect("over budget");
        let mut covered = 0.0;
        for s in &slices {
            let st = &strata[(s.bucket / width) as usize];
            assert!(st.from <= s.from && s.from < s.to && s.to <= st.to, "{s:?}");
            covered += (s.to - s.from) as f64 / width as f64 * st.runs as f64;
        }
        let expected = WORK_BUDGET as f64;
        assert!((covered - expected).abs() < expected * 0.05, "{covered}");
        assert_eq!(
            slices,
            plan(&strata, 1, WORK_BUDGET).expect("deterministic")
        );
    }

    #[test]
    fn a_sparse_stratum_is_read_whole() {
        let width = 3_600_000;
        let mut strata: Vec<Stratum> = (0..10)
            .map(|i| stratum(i * width, 100_000, width))
            .collect();
        strata.push(stratum(10 * width, 6, width));
        let slices = plan(&strata, 1, WORK_BUDGET).expect("over budget");
        let last: Vec<&Slice> = slices.iter().filter(|s| s.bucket == 10 * width).collect();
        assert_eq!(last.len(), 1);
        assert_eq!((last[0].from, last[0].to), (10 * width, 11 * width));
    }

    #[test]
    fn fixed_point_sums_round_to_runs() {
        assert_eq!(unscaled(scaled(3, 2.5)), 8);
        assert_eq!(unscaled(scaled(1, 0.4)), 0);
        assert_eq!(unscaled(-scaled(1, 2.0)), -2);
    }
}
