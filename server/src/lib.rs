//! The `executor` server: the JSON API under `/executions`, the Leptos page at
//! `/runs` and the static bundle, all over one store.

pub mod http;
pub mod router;
pub mod state;

pub use router::router;
pub use state::AppState;
