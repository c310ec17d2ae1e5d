//! The `executor` server: the JSON API under `/executions`, the Leptos page at
//! `/runs` and the static bundle, all over one store.
// The page's view types nest deeper than the default limit allows.
#![recursion_limit = "256"]

pub mod http;
pub mod router;
pub mod state;

pub use router::router;
pub use state::AppState;
