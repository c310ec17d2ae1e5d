//! The HTML document around the page. The server renders it whole, with the
//! data it loaded for the URL, so a shared link shows its rows before any
//! WASM loads; the browser then hydrates [`App`] in place.

use leptos::prelude::*;

use crate::runs::RunsPage;

/// Name of the WASM/JS/CSS bundle under `/pkg` when the build did not
/// record a content-hashed one (see [`bundle_name`]).
pub const BUNDLE: &str = "runs";

/// The bundle's current name: `runs.<content hash>` as the site build wrote
/// it to `pkg/bundle.txt`, else [`BUNDLE`].
#[cfg(feature = "ssr")]
pub fn bundle_name(site_root: &str, pkg_dir: &str) -> String {
    std::fs::read_to_string(format!("{site_root}/{pkg_dir}/bundle.txt"))
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '.'))
        .unwrap_or_else(|| BUNDLE.to_owned())
}

/// The document for `/runs`, with the [`crate::runs::PageState`] the
/// request's handler provided as context embedded for hydration.
#[cfg(feature = "ssr")]
pub fn shell(options: LeptosOptions) -> impl IntoView {
    use crate::runs::{PageState, PAGE_STATE_ID};
    let state = use_context::<PageState>().map(|s| s.to_script_text());
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <title>"Runs"</title>
                <link rel="stylesheet" href=format!("/{}/{}.css", options.site_pkg_dir, options.output_name)/>
                <link rel="icon" href="data:,"/>
                {state.map(|text| view! { <script id=PAGE_STATE_ID type="application/json" inner_html=text></script> })}
                <HydrationScripts options/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// What the browser hydrates: the one page there is. Without a router the
/// bundle carries no route matching, which the single page never needed.
#[component]
pub fn App() -> impl IntoView {
    view! { <RunsPage/> }
}
