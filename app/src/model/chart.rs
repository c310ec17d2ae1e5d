//! Timeline chart geometry: the window a chart spans and the bucket width
//! picked from a fixed ladder so that the window holds 30–120 buckets, and
//! never more than 120 for any window of bounded instants.

use super::EpochMs;

pub const SECOND: i64 = 1_000;
pub const MINUTE: i64 = 60 * SECOND;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;

const YEAR: i64 = 365 * DAY;

/// Widths a bucket may have. Every width up to a day divides the next larger
/// "round" unit, so epoch-aligned buckets line up with UTC minutes, hours and
/// days. Widths above a day exist only so that long "all" ranges stay near
/// 120 buckets; the last one puts the whole calendar (1970 to 9999, about
/// 8,030 years) in 81.
const LADDER: [i64; 27] = [
    SECOND,
    2 * SECOND,
    5 * SECOND,
    10 * SECOND,
    15 * SECOND,
    30 * SECOND,
    MINUTE,
    2 * MINUTE,
    5 * MINUTE,
    10 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    2 * HOUR,
    3 * HOUR,
    6 * HOUR,
    12 * HOUR,
    DAY,
    7 * DAY,
    30 * DAY,
    YEAR,
    2 * YEAR,
    5 * YEAR,
    10 * YEAR,
    20 * YEAR,
    50 * YEAR,
    100 * YEAR,
];

pub const MAX_BUCKETS: i64 = 120;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BucketWidth(i64);

impl BucketWidth {
    pub fn ms(self) -> i64 {
        self.0
    }

    pub fn floor(self, t: i64) -> i64 {
        t.div_euclid(self.0) * self.0
    }
}

/// A half-open time window `[from, to)` in epoch ms with its bucket width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChartWindow {
    pub from: i64,
    pub to: i64,
    pub width: BucketWidth,
}

impl ChartWindow {
    /// Picks the smallest ladder width that keeps the window within
    /// [`MAX_BUCKETS`]; an empty or inverted window becomes one millisecond
    /// wide. Bounded ends keep every computation here far from overflow.
    pub fn new(from: EpochMs, to: EpochMs) -> Self {
        let from = from.get();
        let to = to.get().max(from + 1);
        let width = LADDER
            .iter()
            .copied()
            .find(|w| bucket_count(from, to, *w) <= MAX_BUCKETS)
            .unwrap_or(LADDER[LADDER.len() - 1]);
        Self {
            from,
            to,
            width: BucketWidth(width),
        }
    }

    /// Start of every bucket, oldest first; the first starts at or before `from`.
    pub fn bucket_starts(&self) -> impl Iterator<Item = i64> {
        let w = self.width.ms();
        let first = self.width.floor(self.from);
        let last = self.width.floor(self.to - 1);
        (0..=((last - first) / w)).map(move |i| first + i * w)
    }

    pub fn bucket_count(&self) -> i64 {
        bucket_count(self.from, self.to, self.width.ms())
    }
}

fn bucket_count(from: i64, to: i64, width: i64) -> i64 {
    let first = from.div_euclid(width);
    let last = (to - 1).div_euclid(width);
    last - first + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MAX_EPOCH_MS;

    fn window(from: i64, to: i64) -> ChartWindow {
        ChartWindow::new(EpochMs::clamped(from), EpochMs::clamped(to))
    }

    #[test]
    fn the_whole_calendar_fits_in_120_buckets() {
        let w = window(0, MAX_EPOCH_MS);
        assert!(w.bucket_count() <= MAX_BUCKETS, "{}", w.bucket_count());
        assert_eq!(w.bucket_starts().count() as i64, w.bucket_count());
    }

    /// Numbers a request could carry: any `i64`, mostly near the bounds.
    fn any_instant() -> impl proptest::strategy::Strategy<Value = i64> {
        use proptest::prelude::*;
        prop_oneof![
            any::<i64>(),
            0..=MAX_EPOCH_MS,
            (MAX_EPOCH_MS - 10 * YEAR)..=(MAX_EPOCH_MS + 10),
            -10i64..=10 * DAY,
            Just(i64::MIN),
            Just(i64::MAX),
        ]
    }

    proptest::proptest! {
        /// Any pair of numbers either is refused as instants or gives a
        /// window of 1–120 buckets that covers it.
        #[test]
        fn no_window_has_more_than_120_buckets(a in any_instant(), b in any_instant()) {
            let (Some(from), Some(to)) = (EpochMs::new(a), EpochMs::new(b)) else {
                proptest::prop_assert!(!(0..=MAX_EPOCH_MS).contains(&a) || !(0..=MAX_EPOCH_MS).contains(&b));
                return Ok(());
            };
            let w = ChartWindow::new(from, to);
            let n = w.bucket_count();
            proptest::prop_assert!((1..=MAX_BUCKETS).contains(&n), "{} buckets", n);
            let starts: Vec<i64> = w.bucket_starts().collect();
            proptest::prop_assert_eq!(starts.len() as i64, n);
            proptest::prop_assert!(starts[0] <= w.from);
            proptest::prop_assert!(starts[starts.len() - 1] + w.width.ms() >= w.to);
        }
    }

    #[test]
    fn a_day_gets_quarter_hour_buckets() {
        let w = window(0, DAY);
        assert_eq!(w.width.ms(), 15 * MINUTE);
        assert_eq!(w.bucket_count(), 96);
    }

    #[test]
    fn thirty_days_get_six_hour_buckets() {
        let w = window(0, 30 * DAY);
        assert_eq!(w.width.ms(), 6 * HOUR);
        assert_eq!(w.bucket_count(), 120);
    }

    #[test]
    fn common_ranges_land_between_30_and_120_buckets() {
        for span in [15 * MINUTE, HOUR, DAY, 7 * DAY, 30 * DAY] {
            for offset in [0, 12_345, 7 * MINUTE + 3] {
                let w = window(
                    1_700_000_000_000 + offset,
                    1_700_000_000_000 + offset + span,
                );
                let n = w.bucket_count();
                assert!((30..=120).contains(&n), "span {span}: {n} buckets");
                assert_eq!(w.bucket_starts().count() as i64, n);
            }
        }
    }

    #[test]
    fn buckets_are_epoch_aligned_and_cover_the_window() {
        let w = window(1_000_500, 1_000_500 + HOUR);
        let starts: Vec<i64> = w.bucket_starts().collect();
        assert!(starts[0] <= w.from && starts[0] % w.width.ms() == 0);
        assert!(*starts.last().unwrap() + w.width.ms() >= w.to);
    }
}
