//! Bounded numbers. Every instant and duration that comes from outside (a
//! query string, a cursor, the filter command, a database row written by
//! something else) is one of these before any arithmetic touches it, so time
//! computations in the store, the chart and the tiling cannot overflow.

use std::fmt;

/// 9999-12-31T23:59:59.999Z: no calendar date the page can print lies later.
pub const MAX_EPOCH_MS: i64 = 253_402_300_799_999;

/// Longest duration a filter may name: nothing lasts longer than the span
/// of instants there are.
pub const MAX_DURATION_MS: i64 = MAX_EPOCH_MS;

/// An instant in epoch milliseconds, from 1970-01-01 to the end of year 9999.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EpochMs(i64);

impl EpochMs {
    pub const MIN: Self = Self(0);
    pub const MAX: Self = Self(MAX_EPOCH_MS);

    /// `None` outside `0 ..= MAX_EPOCH_MS`.
    pub const fn new(ms: i64) -> Option<Self> {
        if ms >= 0 && ms <= MAX_EPOCH_MS {
            Some(Self(ms))
        } else {
            None
        }
    }

    /// The nearest bounded instant: for values computed from bounded ones
    /// (now minus a range) or read from rows others wrote.
    pub const fn clamped(ms: i64) -> Self {
        if ms < 0 {
            Self::MIN
        } else if ms > MAX_EPOCH_MS {
            Self::MAX
        } else {
            Self(ms)
        }
    }

    pub const fn get(self) -> i64 {
        self.0
    }

    /// Parses a decimal integer in range; the message names the bounds.
    pub fn parse(text: &str) -> Result<Self, String> {
        text.trim()
            .parse::<i64>()
            .ok()
            .and_then(Self::new)
            .ok_or_else(|| {
                format!(
                    "expected epoch milliseconds from 0 to {MAX_EPOCH_MS} (years 1970 to 9999); got '{text}'"
                )
            })
    }
}

impl fmt::Display for EpochMs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Parses a non-negative duration in milliseconds up to [`MAX_DURATION_MS`].
pub fn parse_duration_ms(text: &str) -> Result<i64, String> {
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| (0..=MAX_DURATION_MS).contains(n))
        .ok_or_else(|| {
            format!("expected an integer number of milliseconds from 0 to {MAX_DURATION_MS}; got '{text}'")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bounds_are_the_first_and_last_millisecond_of_the_calendar() {
        assert_eq!(crate::model::format_utc(0), "1970-01-01 00:00:00");
        assert_eq!(
            crate::model::format_utc(MAX_EPOCH_MS),
            "9999-12-31 23:59:59"
        );
        assert_eq!(
            crate::model::parse_utc("9999-12-31T23:59:59.999"),
            Some(MAX_EPOCH_MS)
        );
    }

    #[test]
    fn out_of_range_values_are_refused_or_clamped() {
        assert_eq!(EpochMs::new(-1), None);
        assert_eq!(EpochMs::new(MAX_EPOCH_MS + 1), None);
        assert_eq!(EpochMs::new(5).map(EpochMs::get), Some(5));
        assert_eq!(EpochMs::clamped(i64::MIN), EpochMs::MIN);
        assert_eq!(EpochMs::clamped(i64::MAX), EpochMs::MAX);
        assert!(EpochMs::parse("900000000000000000").is_err());
        assert!(EpochMs::parse("9223372036854775807").is_err());
        assert!(EpochMs::parse("-5").is_err());
        assert!(EpochMs::parse("1e3").is_err());
        assert!(parse_duration_ms("253402300800000").is_err());
        assert_eq!(parse_duration_ms("0"), Ok(0));
    }
}
