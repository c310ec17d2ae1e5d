//! The list's query string, as `GET /executions` and the export read it:
//! never a panic, and whatever parses is within the declared bounds.
#![no_main]

use app::model::{params, ListQuery, MAX_DURATION_MS, MAX_LIMIT};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(data).into_owned().collect();
    let parsed = ListQuery::parse(
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        &[params::FORMAT.name],
    );
    if let Ok(q) = parsed {
        assert!((1..=MAX_LIMIT).contains(&q.limit));
        for d in [q.filters.min_duration_ms, q.filters.max_duration_ms].into_iter().flatten() {
            assert!((0..=MAX_DURATION_MS).contains(&d));
        }
        let _ = q.filters.matches_nothing();
        let _ = q.filters.lower_bound();
    }
});
