//! `GET /healthz` (the process answers) and `GET /readyz` (the database
//! answers and its migrations are applied): what a load balancer or an
//! orchestrator probes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use app::store::Store;

#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "The process answers")))]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

#[utoipa::path(
    get,
    path = "/readyz",
    responses(
        (status = 200, description = "The database answers and its migrations are applied"),
        (status = 503, description = "Not ready; `reason` says why"),
    )
)]
pub async fn readyz(State(store): State<Store>) -> (StatusCode, Json<Value>) {
    match store.ready().await {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ready"}))),
        Err(reason) => {
            tracing::warn!(%reason, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "not_ready", "reason": reason.public_reason()})),
            )
        }
    }
}
