//! The POST bodies and trigger headers: never a panic, and what validates
//! is within bounds.
#![no_main]

use app::model::{ResumeRequest, RunRequest, Trigger, MAX_TIMEOUT_MS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(run) = serde_json::from_slice::<RunRequest>(data) {
        if run.validate().is_ok() {
            assert!(run.timeout_ms.is_none_or(|ms| (1..=MAX_TIMEOUT_MS).contains(&ms)));
            assert!(!run.code.contains('\0'));
        }
    }
    let _ = serde_json::from_slice::<ResumeRequest>(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let (kind, meta) = text.split_once('\n').unwrap_or((text, ""));
        let _ = Trigger::from_headers(Some(kind), None, "http");
        let _ = Trigger::from_headers(None, Some(meta), "http");
    }
});
