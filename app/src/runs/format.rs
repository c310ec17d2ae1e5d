//! How values read on the page.

use crate::model::{format_utc, ExecutionStatus};

/// The browser's clock in epoch milliseconds (the server's when rendering):
/// what relative times (`after:1h`, "2 min ago") and live polls count from.
#[cfg(feature = "hydrate")]
pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

#[cfg(all(feature = "ssr", not(feature = "hydrate")))]
pub fn now_ms() -> i64 {
    crate::store::now_ms()
}

#[cfg(not(any(feature = "ssr", feature = "hydrate")))]
pub fn now_ms() -> i64 {
    0
}

/// "waiting" for `waiting_for_interaction`, the status name otherwise.
pub fn status_label(status: ExecutionStatus) -> &'static str {
    match status {
        ExecutionStatus::WaitingForInteraction => "waiting",
        other => other.as_str(),
    }
}

/// `1 run`, `3 runs`: a count with its noun, for words on the page.
pub fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// A count as the page shows it: exact as it is, an estimate rounded to
/// three figures behind `≈` (`≈ 12.3k`), since its last digits mean nothing.
pub fn count(n: i64, estimated: bool) -> String {
    if !estimated {
        return n.to_string();
    }
    let (value, suffix) = match n.unsigned_abs() {
        a if a >= 1_000_000 => (n as f64 / 1_000_000.0, "M"),
        a if a >= 1_000 => (n as f64 / 1_000.0, "k"),
        _ => return format!("≈ {n}"),
    };
    let digits = if value.abs() >= 100.0 {
        0
    } else if value.abs() >= 10.0 {
        1
    } else {
        2
    };
    format!("≈ {value:.digits$}{suffix}")
}

/// `850ms`, `4.2s`, `3.1m`.
pub fn duration(ms: i64) -> String {
    if ms < 1_000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1_000.0)
    } else {
        format!("{:.1}m", ms as f64 / 60_000.0)
    }
}

/// An instant as `<time datetime>` wants it: ISO 8601 in UTC, to the
/// millisecond (`2026-11-27T16:00:00.250Z`).
pub fn iso(ms: i64) -> String {
    format!(
        "{}.{:03}Z",
        format_utc(ms).replace(' ', "T"),
        ms.rem_euclid(1000)
    )
}

/// A run's log lines from its `logs_json`.
pub fn log_lines(logs_json: Option<&str>) -> Vec<String> {
    logs_json
        .and_then(|j| serde_json::from_slice(j.as_bytes()).ok())
        .unwrap_or_default()
}

/// Errors and warnings among a run's log lines.
pub fn log_counts(logs_json: Option<&str>) -> (usize, usize) {
    let lines = log_lines(logs_json);
    let errors = lines.iter().filter(|l| l.starts_with("[error]")).count();
    let warnings = lines.iter().filter(|l| l.starts_with("[warn]")).count();
    (errors, warnings)
}

/// The first 160 characters of code on one line.
pub fn code_preview(code: &str) -> String {
    code.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(160)
        .collect()
}

/// Pretty JSON, unwrapping JSON-in-JSON strings a few levels deep.
pub fn pretty_json(text: &str) -> String {
    let mut value: serde_json::Value = match serde_json::from_slice(text.as_bytes()) {
        Ok(v) => v,
        Err(_) => return text.to_owned(),
    };
    for _ in 0..4 {
        match &value {
            serde_json::Value::String(inner) => match serde_json::from_slice(inner.as_bytes()) {
                Ok(v @ (serde_json::Value::Object(_) | serde_json::Value::Array(_))) => value = v,
                _ => break,
            },
            _ => break,
        }
    }
    serde_json::to_string_pretty(&value).unwrap_or_else(|_| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_instants_are_utc_to_the_millisecond() {
        assert_eq!(iso(1_767_225_600_250), "2026-01-01T00:00:00.250Z");
        assert_eq!(iso(0), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn estimates_show_three_figures_behind_an_approximately_sign() {
        assert_eq!(count(12_345, false), "12345");
        assert_eq!(count(12_345, true), "≈ 12.3k");
        assert_eq!(count(950, true), "≈ 950");
        assert_eq!(count(1_234_567, true), "≈ 1.23M");
        assert_eq!(count(123_456, true), "≈ 123k");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(850), "850ms");
        assert_eq!(duration(4_200), "4.2s");
        assert_eq!(duration(186_000), "3.1m");
    }

    #[test]
    fn json_in_json_is_unwrapped() {
        assert_eq!(pretty_json(r#""{\"a\":1}""#), "{\n  \"a\": 1\n}");
        assert_eq!(pretty_json("not json"), "not json");
        assert_eq!(
            log_counts(Some(r#"["[error] x","[warn] y","[warn] z"]"#)),
            (1, 2)
        );
    }
}
