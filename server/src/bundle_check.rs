//! At start, the bundle the server serves is checked against the server's
//! own functions. A bundle built from another commit may call endpoints this
//! binary lacks, and every such call would answer 400 while the page shows
//! "Could not find a server function": better said once, at start, by name.

use std::collections::BTreeSet;
use std::path::Path;

/// Where the page's server functions live (see `app::runs::api`).
const PREFIX: &[u8] = b"/api/";

/// The server-function endpoints a bundle's WASM calls: it holds each one's
/// path as a string (`/api/load_runs`).
pub fn endpoints_in(wasm: &[u8]) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = wasm;
    while let Some(at) = find(rest, PREFIX) {
        let tail = &rest[at + PREFIX.len()..];
        let len = tail
            .iter()
            .take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || **b == b'_')
            .count();
        if len > 0 {
            found.insert(String::from_utf8_lossy(&tail[..len]).into_owned());
        }
        rest = &tail[len..];
    }
    found
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// What the bundle calls that the server does not answer.
pub fn missing(bundle: &BTreeSet<String>, served: &BTreeSet<String>) -> Vec<String> {
    bundle.difference(served).cloned().collect()
}

/// The endpoints this binary serves.
pub fn served() -> BTreeSet<String> {
    leptos::server_fn::axum::server_fn_paths()
        .filter_map(|(path, _)| path.strip_prefix("/api/").map(str::to_owned))
        .collect()
}

/// Checks the bundle `output_name` under `site_root/pkg` and logs what
/// does not match; a missing bundle is said too (the page would not
/// hydrate).
pub fn check(site_root: &str, output_name: &str) {
    let wasm = Path::new(site_root)
        .join("pkg")
        .join(format!("{output_name}_bg.wasm"));
    let bytes = match std::fs::read(&wasm) {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::warn!(path = %wasm.display(), %error, "no page bundle: /runs will render but not hydrate (build it with scripts/build-site.sh)");
            return;
        }
    };
    let lacking = missing(&endpoints_in(&bytes), &served());
    if lacking.is_empty() {
        tracing::debug!(path = %wasm.display(), "the page bundle matches this server's functions");
    } else {
        tracing::error!(
            path = %wasm.display(),
            missing = %lacking.join(", "),
            "the page bundle calls server functions this server does not have: it was built from another commit; rebuild it (scripts/build-site.sh) or the server"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_read_from_the_bundles_strings() {
        let wasm = b"\0\x01/api/load_runs\0junk/api/poll_runs/api/x9_y\xff/api/\0/apix/nope";
        let found = endpoints_in(wasm);
        let want: BTreeSet<String> = ["load_runs", "poll_runs", "x9_y"].map(str::to_owned).into();
        assert_eq!(found, want);
    }

    #[test]
    fn the_server_serves_the_pages_functions() {
        let served = served();
        for name in [
            "load_runs",
            "load_counts",
            "more_runs",
            "poll_runs",
            "rerun_run",
        ] {
            assert!(served.contains(name), "{name} not in {served:?}");
        }
    }

    #[test]
    fn a_bundle_from_another_commit_is_named_by_what_it_lacks() {
        let bundle: BTreeSet<String> = ["load_runs", "gone_fn"].map(str::to_owned).into();
        let served: BTreeSet<String> = ["load_runs", "poll_runs"].map(str::to_owned).into();
        assert_eq!(missing(&bundle, &served), vec!["gone_fn".to_owned()]);
    }
}
