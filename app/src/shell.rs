//! The HTML shell and the router. Routes render fully on the server
//! (`SsrMode::Async`) so a shared link shows its rows before any WASM loads.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::{path, SsrMode};

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

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="stylesheet" href=format!("/{}/{}.css", options.site_pkg_dir, options.output_name)/>
                <link rel="icon" href="data:,"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text="Runs"/>
        <Router>
            <Routes fallback=|| view! { <p class="not-found">"Page not found."</p> }>
                <Route path=path!("/runs") view=RunsPage ssr=SsrMode::Async/>
                <Route path=path!("/") view=|| view! { <Redirect path="/runs"/> }/>
            </Routes>
        </Router>
    }
}
