//! The runs product: domain types, the execution store (server only) and the
//! Leptos page. One crate so the page and the server share every type.

pub mod model;
pub mod runs;
pub mod shell;

#[cfg(feature = "ssr")]
pub mod engine;
#[cfg(feature = "ssr")]
pub mod store;
#[cfg(feature = "ssr")]
pub mod telemetry;
#[cfg(feature = "test-support")]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test fixtures fail loudly"
)]
pub mod test_support;
