//! Epoch-millisecond formatting without a date library: the page renders the
//! same text on the server and in the browser, so hydration never differs.

/// `2026-11-27 16:53:36` in UTC.
pub fn format_utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Proleptic Gregorian date to days since 1970-01-01 (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM`, `…:SS` or `…:SS.sss`, with or without a
/// trailing `Z`; always UTC. `None` for anything else.
pub fn parse_utc(text: &str) -> Option<i64> {
    let text = text.strip_suffix('Z').unwrap_or(text);
    let (date, time) = match text.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let mut parts = date.splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let d: u32 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || date.len() != 10 {
        return None;
    }
    let mut ms = days_from_civil(y, m, d) * 86_400_000;
    if let Some(time) = time {
        let (hms, frac) = match time.split_once('.') {
            Some((hms, frac)) => (hms, Some(frac)),
            None => (time, None),
        };
        let fields: Vec<&str> = hms.split(':').collect();
        if !(2..=3).contains(&fields.len()) || fields.iter().any(|f| f.len() != 2) {
            return None;
        }
        let h: i64 = fields[0].parse().ok()?;
        let min: i64 = fields[1].parse().ok()?;
        let sec: i64 = fields.get(2).map_or(Some(0), |s| s.parse().ok())?;
        if h > 23 || min > 59 || sec > 59 {
            return None;
        }
        ms += ((h * 60 + min) * 60 + sec) * 1000;
        if let Some(frac) = frac {
            if frac.len() != 3 || fields.len() != 3 {
                return None;
            }
            ms += frac.parse::<i64>().ok()?;
        }
    }
    (format_utc(ms).get(..10) == Some(date)).then_some(ms)
}

/// The shortest of `YYYY-MM-DDTHH:MM`, `…:SS`, `…:SS.sss` that says `ms` exactly.
pub fn format_iso_short(ms: i64) -> String {
    let full = format_utc(ms).replace(' ', "T");
    let millis = ms.rem_euclid(1000);
    if millis != 0 {
        format!("{full}.{millis:03}")
    } else if ms.rem_euclid(60_000) != 0 {
        full
    } else {
        full[..16].to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_it_prints() {
        for ms in [
            0,
            1_767_225_600_000,
            951_782_400_000,
            1_795_796_016_999,
            1_795_796_016_000,
            1_795_796_040_000,
        ] {
            assert_eq!(
                parse_utc(&format_iso_short(ms)),
                Some(ms),
                "{}",
                format_iso_short(ms)
            );
        }
        assert_eq!(parse_utc("2026-01-01"), Some(1_767_225_600_000));
        assert_eq!(parse_utc("2026-01-01T00:00Z"), Some(1_767_225_600_000));
        assert_eq!(parse_utc("2026-02-30"), None);
        assert_eq!(parse_utc("yesterday"), None);
        assert_eq!(parse_utc("2026-01-01T25:00"), None);
    }

    #[test]
    fn formats_known_instants_in_utc() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00");
        assert_eq!(format_utc(1_767_225_600_000), "2026-01-01 00:00:00");
        assert_eq!(format_utc(951_782_400_000), "2000-02-29 00:00:00");
        assert_eq!(format_utc(1_795_796_016_999), "2026-11-27 16:13:36");
    }
}
