//! Times as the reader wants them: in the browser's time zone by default,
//! in UTC at a switch (kept with the columns, `list::load_fields`), with days
//! and relative times (docs/page.md#time). The server knows no reader's zone
//! and renders UTC; the browser renders again in its own zone once hydrated.

use crate::model::format_utc;
const DAY_MS: i64 = 86_400_000;
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];

/// The zone times are shown in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Zone {
    /// What the server renders, and what the switch chooses.
    #[default]
    Utc,
    /// The browser's own zone (its offset at each instant, so summer time
    /// is right on both sides of a change).
    Local,
}

impl Zone {
    /// Milliseconds to add to an instant to read its wall clock here.
    pub fn offset_ms(self, ms: i64) -> i64 {
        match self {
            Zone::Utc => 0,
            Zone::Local => local_offset_ms(ms),
        }
    }

    /// `UTC`, or the local offset as `UTC−08:00`.
    pub fn label(self, ms: i64) -> String {
        if self == Zone::Utc {
            return "UTC".to_owned();
        }
        let offset = self.offset_ms(ms);
        let minutes = offset.abs() / 60_000;
        let sign = if offset < 0 { '−' } else { '+' };
        format!("UTC{sign}{:02}:{:02}", minutes / 60, minutes % 60)
    }

    /// `2026-11-27 16:53:36` on this zone's wall clock.
    fn wall(self, ms: i64) -> String {
        format_utc(ms + self.offset_ms(ms))
    }

    /// `16:53:36`.
    pub fn clock(self, ms: i64) -> String {
        self.wall(ms)[11..].to_owned()
    }

    /// `27 Nov 16:53:36`: for lists not in time order, where no day
    /// separator says which day a row is.
    pub fn day_and_clock(self, ms: i64) -> String {
        let wall = self.wall(ms);
        format!("{} {}", self.short_date(ms), &wall[11..])
    }

    /// `27 Nov`.
    pub fn short_date(self, ms: i64) -> String {
        let wall = self.wall(ms);
        let month = wall[5..7]
            .parse::<usize>()
            .map_or(0, |m| m.saturating_sub(1));
        let day = wall[8..10].trim_start_matches('0');
        format!("{day} {}", MONTHS[month.min(11)])
    }

    /// `2026-11-27 16:53:36.250 UTC−08:00`: the exact instant.
    pub fn exact(self, ms: i64) -> String {
        format!(
            "{}.{:03} {}",
            self.wall(ms),
            ms.rem_euclid(1000),
            self.label(ms)
        )
    }

    /// The day an instant falls on here, as a number (for separators).
    pub fn day(self, ms: i64) -> i64 {
        (ms + self.offset_ms(ms)).div_euclid(DAY_MS)
    }

    /// `Today`, `Yesterday`, or `Fri 27 Nov 2026`.
    pub fn day_label(self, ms: i64, now_ms: i64) -> String {
        let (day, today) = (self.day(ms), self.day(now_ms));
        match today - day {
            0 => "Today".to_owned(),
            1 => "Yesterday".to_owned(),
            _ => {
                let weekday = WEEKDAYS[day.rem_euclid(7) as usize];
                format!("{weekday} {} {}", self.short_date(ms), &self.wall(ms)[..4])
            }
        }
    }
}

/// `12 s ago`, `5 min ago`, `3 h ago`, `2 days ago` (`in 4 s` for the future,
/// which a clock a little behind the server's can show).
pub fn relative(ms: i64, now_ms: i64) -> String {
    let delta = now_ms - ms;
    let (ago, span) = (delta >= 0, delta.unsigned_abs() / 1000);
    let text = match span {
        0..=59 => format!("{span} s"),
        60..=3_599 => format!("{} min", span / 60),
        3_600..=86_399 => format!("{} h", span / 3_600),
        _ if span < 2 * 86_400 => "1 day".to_owned(),
        _ => format!("{} days", span / 86_400),
    };
    if ago {
        format!("{text} ago")
    } else {
        format!("in {text}")
    }
}

#[cfg(feature = "hydrate")]
fn local_offset_ms(ms: i64) -> i64 {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    // Minutes to add to local time to get UTC: west of Greenwich positive.
    -(date.get_timezone_offset() as i64) * 60_000
}

#[cfg(not(feature = "hydrate"))]
fn local_offset_ms(_ms: i64) -> i64 {
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-27 16:53:36.250 UTC, a Friday.
    const T: i64 = 1_795_798_416_250;

    #[test]
    fn utc_reads_the_same_as_the_server_renders() {
        assert_eq!(Zone::Utc.clock(T), "16:53:36");
        assert_eq!(Zone::Utc.day_and_clock(T), "27 Nov 16:53:36");
        assert_eq!(Zone::Utc.exact(T), "2026-11-27 16:53:36.250 UTC");
        assert_eq!(Zone::Utc.label(T), "UTC");
    }

    #[test]
    fn days_read_as_today_yesterday_or_a_date() {
        assert_eq!(Zone::Utc.day_label(T, T + 1_000), "Today");
        assert_eq!(Zone::Utc.day_label(T, T + DAY_MS), "Yesterday");
        assert_eq!(Zone::Utc.day_label(T, T + 3 * DAY_MS), "Fri 27 Nov 2026");
        assert_eq!(Zone::Utc.day(T), Zone::Utc.day(T - 16 * 3_600_000));
        assert_ne!(Zone::Utc.day(T), Zone::Utc.day(T - 17 * 3_600_000));
    }

    #[test]
    fn relative_times_round_down_to_their_unit() {
        assert_eq!(relative(T, T), "0 s ago");
        assert_eq!(relative(T, T + 59_999), "59 s ago");
        assert_eq!(relative(T, T + 125_000), "2 min ago");
        assert_eq!(relative(T, T + 3 * 3_600_000 + 5), "3 h ago");
        assert_eq!(relative(T, T + DAY_MS + 1), "1 day ago");
        assert_eq!(relative(T, T + 9 * DAY_MS), "9 days ago");
        assert_eq!(relative(T + 4_000, T), "in 4 s");
    }
}
