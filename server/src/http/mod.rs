//! The plain JSON API (docs/api.md) that the CLI, MCP hosts and other
//! programs use.

mod error;
mod executions;
mod export;
mod health;
mod login;
pub mod openapi;
mod runs;
mod scope;
pub mod sources;

use axum::routing::{get, post, put};
use axum::Router;

pub use error::{codes, panic_response, ApiError, MAX_BODY_BYTES};
pub use runs::{TRIGGER_HEADER, TRIGGER_META_HEADER};
pub use scope::Scope;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/executions", get(executions::list).post(runs::run))
        .route("/executions/export", get(export::export))
        .route("/executions/meta", get(executions::meta))
        .route("/executions/{id}", get(executions::get_one))
        .route("/executions/{id}/tool-calls", get(executions::tool_calls))
        .route(
            "/executions/{id}/interactions",
            get(executions::interactions),
        )
        .route("/executions/{id}/resume", post(runs::resume))
        .route("/executions/{id}/cancel", post(runs::cancel))
        .route("/executions/{id}/rerun", post(runs::rerun))
        .route("/sources", get(sources::list).post(sources::add))
        .route(
            "/sources/{name}",
            get(sources::get_one).delete(sources::remove),
        )
        .route("/sources/{name}/refresh", post(sources::refresh))
        .route("/secrets", get(sources::secrets))
        .route(
            "/secrets/{name}",
            put(sources::put_secret).delete(sources::delete_secret),
        )
        .route("/openapi.json", get(openapi::document))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(crate::metrics::render))
        .route("/login", get(login::form).post(login::log_in))
        .route("/logout", post(login::log_out))
}

/// Unknown paths answer in the same error shape as everything else.
pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::RouteNotFound(uri.path().to_owned())
}
