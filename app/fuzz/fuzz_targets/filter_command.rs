//! The page's filter command: never a panic; a command without errors
//! prints to text that parses back to the same filters (parse, print, parse).
#![no_main]

use app::model::filter_command::{parse, print, suggest};
use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_795_796_016_000;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let first = parse(text, NOW);
    let _ = suggest(text, None);
    if first.errors.is_empty() {
        let printed = print(&first.filters);
        let second = parse(&printed, NOW);
        assert!(second.errors.is_empty(), "{printed}: {:?}", second.errors);
        assert_eq!(second.filters, first.filters, "{printed}");
    }
});
