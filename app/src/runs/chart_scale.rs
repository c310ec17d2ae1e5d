//! The chart's scales: time ticks on round instants of the reader's zone,
//! with dates once the window crosses a day, and a count axis on round
//! numbers for the gridlines (docs/page.md#timeline-chart). Pure, so both
//! are tested without a browser.

use super::zone::Zone;
use crate::model::{DAY, HOUR, MINUTE, SECOND};

/// Tick spacings a person counts in, smallest first.
const STEPS: [i64; 20] = [
    SECOND,
    5 * SECOND,
    15 * SECOND,
    30 * SECOND,
    MINUTE,
    5 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    2 * HOUR,
    3 * HOUR,
    6 * HOUR,
    12 * HOUR,
    DAY,
    2 * DAY,
    7 * DAY,
    14 * DAY,
    30 * DAY,
    90 * DAY,
    365 * DAY,
];

/// A tick under the chart.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeTick {
    /// Where it stands across the window, 0 to 1.
    pub at: f64,
    /// `16:00`, `16:00:30`, or for day steps `27 Nov`.
    pub label: String,
    /// `27 Nov` on the first tick of each day, when the window crosses one
    /// and the label does not say it already.
    pub date: Option<String>,
}

/// At most `most` ticks on round instants of `zone` inside `[from, to]`.
pub fn time_ticks(from: i64, to: i64, zone: Zone, most: usize) -> Vec<TimeTick> {
    let span = (to - from).max(1);
    let most = most.max(1) as i64;
    let step = STEPS
        .iter()
        .copied()
        .find(|s| span / s < most)
        .unwrap_or(365 * DAY);
    // Round on the zone's wall clock: 00:00 local, not 00:00 UTC.
    let offset = zone.offset_ms(from);
    let first = (from + offset).div_euclid(step) * step - offset;
    let first = if first < from { first + step } else { first };
    let crosses_day = zone.day(from) != zone.day(to - 1);
    let mut ticks = Vec::new();
    let mut previous_day = None;
    let mut at = first;
    while at <= to {
        let day = zone.day(at);
        let label = if step >= DAY {
            zone.short_date(at)
        } else if step < MINUTE {
            zone.clock(at)
        } else {
            zone.clock(at)[..5].to_owned()
        };
        let date =
            (step < DAY && crosses_day && previous_day != Some(day)).then(|| zone.short_date(at));
        previous_day = Some(day);
        ticks.push(TimeTick {
            at: (at - from) as f64 / span as f64,
            label,
            date,
        });
        at += step;
    }
    ticks
}

/// The count axis for a tallest bucket of `max` runs: its top and the
/// gridlines under it, all round (1, 2 or 5 times a power of ten), about
/// three of them.
pub fn count_scale(max: i64) -> (i64, Vec<i64>) {
    let max = max.max(1);
    let step = round_up(max.saturating_add(2) / 3);
    let top = (max / step + i64::from(max % step != 0)).saturating_mul(step);
    (top, (1..=top / step).map(|k| k * step).collect())
}

/// The least of 1, 2, 5, 10, 20, 50, … at or above `n`.
fn round_up(n: i64) -> i64 {
    let mut power = 1i64;
    loop {
        for m in [1, 2, 5] {
            if let Some(v) = power.checked_mul(m) {
                if v >= n {
                    return v;
                }
            }
        }
        match power.checked_mul(10) {
            Some(p) => power = p,
            None => return i64::MAX,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-27 09:47:12 UTC.
    const T: i64 = 1_795_772_832_000;

    fn labels(ticks: &[TimeTick]) -> Vec<(String, Option<String>)> {
        ticks
            .iter()
            .map(|t| (t.label.clone(), t.date.clone()))
            .collect()
    }

    #[test]
    fn a_day_reads_on_round_hours_with_the_date_where_a_day_starts() {
        let ticks = time_ticks(T - DAY, T, Zone::Utc, 6);
        let l = labels(&ticks);
        assert_eq!(l.len(), 4, "{l:?}");
        assert_eq!(l[0], ("12:00".into(), Some("26 Nov".into())));
        assert_eq!(l[1], ("18:00".into(), None));
        assert_eq!(l[2], ("00:00".into(), Some("27 Nov".into())));
        assert_eq!(l[3], ("06:00".into(), None));
        // Never past the window's end, never before its start.
        assert!(ticks.iter().all(|t| (0.0..=1.0).contains(&t.at)));
    }

    #[test]
    fn a_week_and_a_month_read_in_days() {
        let week = labels(&time_ticks(T - 7 * DAY, T, Zone::Utc, 6));
        assert_eq!(week[0], ("21 Nov".into(), None));
        assert_eq!(week.len(), 4, "{week:?}");
        let month = labels(&time_ticks(T - 30 * DAY, T, Zone::Utc, 6));
        assert!(month.len() <= 6 && month.len() >= 2, "{month:?}");
        assert!(month
            .iter()
            .all(|(l, d)| (l.ends_with("Nov") || l.ends_with("Oct")) && d.is_none()));
    }

    #[test]
    fn an_hour_within_one_day_carries_no_dates() {
        let hour = labels(&time_ticks(T - HOUR, T, Zone::Utc, 6));
        assert_eq!(hour.first(), Some(&("09:00".into(), None)));
        assert!(hour.iter().all(|(_, d)| d.is_none()));
        let minute = labels(&time_ticks(T - MINUTE, T, Zone::Utc, 6));
        assert_eq!(minute.first(), Some(&("09:46:15".into(), None)));
    }

    #[test]
    fn counts_scale_to_round_tops_with_round_gridlines() {
        assert_eq!(count_scale(0), (1, vec![1]));
        assert_eq!(count_scale(1), (1, vec![1]));
        assert_eq!(count_scale(3), (3, vec![1, 2, 3]));
        assert_eq!(count_scale(43), (60, vec![20, 40, 60]));
        assert_eq!(count_scale(100), (100, vec![50, 100]));
        assert_eq!(count_scale(1_234), (1_500, vec![500, 1_000, 1_500]));
        assert_eq!(count_scale(i64::MAX).1.len(), 1);
    }
}
