//! The `/runs` page's URL: any query string renders (bad values are dropped
//! and reported, never fatal), and the canonical URL of what was read
//! reads back as the same view.
#![no_main]

use app::model::RunsView;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (view, _problems) = RunsView::from_query(text);
    let href = view.href();
    let query = href.strip_prefix("/runs").unwrap_or(&href);
    let (again, problems) = RunsView::from_query(query);
    assert!(problems.is_empty(), "{href}: {problems:?}");
    assert_eq!(again, view, "{href}");
    let _ = view.list_query(1_795_796_016_000);
});
