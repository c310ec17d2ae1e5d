//! The HTML shell and the router. Routes render fully on the server
//! (`SsrMode::Async`) so a shared link shows its rows before any WASM loads.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::{path, SsrMode};

use crate::runs::RunsPage;

/// Name of the WASM/JS/CSS bundle under `/pkg`.
pub const BUNDLE: &str = "runs";

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="stylesheet" href=format!("/pkg/{BUNDLE}.css")/>
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
