//! A duration filter cut into whole duration classes, which the duration
//! roll-ups count, and the parts of the classes its bounds fall in, which
//! are read from the runs: the duration counterpart of the time tiling in
//! `meta`.

use super::rollup::{duration_class, duration_class_range, DURATION_BOUNDS};

/// Whether a part's runs are added (`1`) or subtracted (`-1`).
pub type Sign = i64;

/// Durations `[lo, hi)` in ms, both finite.
pub type Part = (i64, i64);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DurationTiling {
    /// The whole classes `[first, end)` counted from the roll-ups (empty
    /// when `first >= end`).
    pub classes: (usize, usize),
    /// The parts read from rows, each with its sign.
    pub parts: [Option<(Part, Sign)>; 2],
}

/// `b - a` where `b = None` is unbounded, as a width that cannot overflow.
fn width(a: i64, b: Option<i64>) -> i128 {
    b.map_or(i128::MAX, |b| i128::from(b) - i128::from(a))
}

fn class_index(d: i64) -> usize {
    // Every duration has a class (the first one starts at i64::MIN).
    usize::try_from(duration_class(Some(d))).unwrap_or(0)
}

impl DurationTiling {
    /// The tiling of the durations `min..=max` (either open), or `None`
    /// when that is no duration at all. A bound inside a class takes the
    /// smaller part of it to the rows: the class whole and its part outside
    /// the bound subtracted, or the classes past it and its part inside
    /// added, whichever part is narrower.
    pub fn of(min: Option<i64>, max: Option<i64>) -> Option<Self> {
        let lo = min.unwrap_or(i64::MIN);
        // `max` is inclusive; `None` is unbounded.
        let hi = max.and_then(|m| m.checked_add(1));
        if hi.is_some_and(|h| h <= lo) {
            return None;
        }
        let last = DURATION_BOUNDS.len() - 1;
        let low_class = class_index(lo);
        let (low_a, low_b) = duration_class_range(low_class);
        let (first, low_part) = if lo == low_a {
            (low_class, None)
        } else if i128::from(lo) - i128::from(low_a) < width(lo, low_b) {
            (low_class, Some(((low_a, lo), -1)))
        } else {
            // The part inside is the narrower, so it is bounded.
            let b = low_b.unwrap_or(i64::MAX);
            (low_class + 1, Some(((lo, b), 1)))
        };
        let (end, high_part, high_class) = match hi {
            None => (last + 1, None, last),
            Some(h) => {
                let high_class = class_index(h - 1);
                let (high_a, high_b) = duration_class_range(high_class);
                if Some(h) == high_b {
                    (high_class + 1, None, high_class)
                } else if width(h, high_b) < i128::from(h) - i128::from(high_a) {
                    let b = high_b.unwrap_or(i64::MAX);
                    (high_class + 1, Some(((h, b), -1)), high_class)
                } else {
                    (high_class, Some(((high_a, h), 1)), high_class)
                }
            }
        };
        // Both bounds in one class, each adding its part inside: those parts
        // overlap, and what matches is just the durations between the bounds.
        if let (Some((_, 1)), Some((_, 1)), Some(h)) = (low_part, high_part, hi) {
            if low_class == high_class {
                return Some(Self {
                    classes: (low_class, low_class),
                    parts: [Some(((lo, h), 1)), None],
                });
            }
        }
        Some(Self {
            classes: (first, end),
            parts: [low_part, high_part],
        })
    }

    pub fn has_classes(&self) -> bool {
        self.classes.0 < self.classes.1
    }

    /// The durations the whole classes span, as a filter's inclusive
    /// bounds (`None`: open), for the rows that the time tiling leaves.
    pub fn whole_bounds(&self) -> (Option<i64>, Option<i64>) {
        let (first, end) = self.classes;
        let min = (first > 0).then(|| DURATION_BOUNDS[first]);
        let max = DURATION_BOUNDS.get(end).map(|b| b - 1);
        (min, max)
    }

    pub fn parts(&self) -> impl Iterator<Item = (Part, Sign)> + '_ {
        self.parts.iter().flatten().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many times the tiling counts a run of duration `d`.
    fn coverage(t: &DurationTiling, d: i64) -> i64 {
        let class = class_index(d);
        let whole = i64::from(t.classes.0 <= class && class < t.classes.1);
        let parts: i64 = t
            .parts()
            .filter(|((a, b), _)| *a <= d && d < *b)
            .map(|(_, sign)| sign)
            .sum();
        whole + parts
    }

    #[test]
    fn round_thresholds_need_no_rows() {
        let t = DurationTiling::of(Some(1_000), None).unwrap();
        assert_eq!(t.classes, (10, DURATION_BOUNDS.len()));
        assert_eq!(t.parts().count(), 0);
        assert_eq!(t.whole_bounds(), (Some(1_000), None));
        let t = DurationTiling::of(Some(100), Some(4_999)).unwrap();
        assert_eq!(t.parts().count(), 0);
        assert_eq!(t.whole_bounds(), (Some(100), Some(4_999)));
    }

    #[test]
    fn a_bound_inside_a_class_reads_its_narrower_part() {
        // 1,100 in [1,000, 2,000): subtract [1,000, 1,100).
        let t = DurationTiling::of(Some(1_100), None).unwrap();
        assert_eq!(t.classes.0, 10);
        assert_eq!(t.parts[0], Some(((1_000, 1_100), -1)));
        // 1,900: add [1,900, 2,000) to the classes from 2,000.
        let t = DurationTiling::of(Some(1_900), None).unwrap();
        assert_eq!(t.classes.0, 11);
        assert_eq!(t.parts[0], Some(((1_900, 2_000), 1)));
        // Inside the last class: the class, minus what lies below.
        let t = DurationTiling::of(Some(90_000_000), None).unwrap();
        assert_eq!(t.parts[0], Some(((86_400_000, 90_000_000), -1)));
        assert_eq!(DurationTiling::of(Some(5), Some(4)), None);
        assert_eq!(DurationTiling::of(Some(i64::MAX), Some(i64::MAX - 1)), None);
    }

    proptest::proptest! {
        /// Every duration is counted once when it lies within the bounds and
        /// not at all otherwise, and parts are never wider than the class.
        #[test]
        fn the_tiling_counts_exactly_the_matching_durations(
            min in proptest::option::of(-10i64..100_000_000),
            max in proptest::option::of(-10i64..100_000_000),
            probes in proptest::collection::vec(-20i64..200_000_000, 60),
        ) {
            let Some(t) = DurationTiling::of(min, max) else {
                proptest::prop_assert!(matches!((min, max), (Some(a), Some(b)) if b < a));
                return Ok(());
            };
            let edges = [min, max].into_iter().flatten().flat_map(|b| [b - 1, b, b + 1]);
            for d in probes.into_iter().chain(edges).chain([i64::MIN, i64::MAX]) {
                let want = i64::from(min.is_none_or(|m| m <= d) && max.is_none_or(|m| d <= m));
                proptest::prop_assert_eq!(coverage(&t, d), want, "d = {}, {:?}", d, t);
            }
        }
    }
}
