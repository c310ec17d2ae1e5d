//! Every error the HTTP edge can answer, mapped to a status and the body
//! `{"error": {"code", "message"}}` in one place.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use app::engine::EngineError;
use app::model::BadParam;
use app::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    BadParam(#[from] BadParam),
    #[error("no execution with id '{0}'")]
    ExecutionNotFound(String),
    #[error("no route for {0}")]
    RouteNotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadParam(_) => (StatusCode::BAD_REQUEST, "invalid_parameter"),
            ApiError::ExecutionNotFound(_) => (StatusCode::NOT_FOUND, "execution_not_found"),
            ApiError::RouteNotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Store(_) | ApiError::Engine(EngineError::Store(_)) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal_error")
            }
            ApiError::Engine(EngineError::NotFound(_)) => {
                (StatusCode::NOT_FOUND, "execution_not_found")
            }
            ApiError::Engine(EngineError::NotWaiting { .. }) => {
                (StatusCode::CONFLICT, "execution_not_waiting")
            }
            ApiError::Engine(EngineError::NotActive { .. }) => {
                (StatusCode::CONFLICT, "execution_not_active")
            }
            ApiError::Engine(EngineError::Busy { .. } | EngineError::PoolGone) => {
                (StatusCode::SERVICE_UNAVAILABLE, "engine_busy")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let body = if status.is_server_error() {
            // Never leak database details; log them under a trace id the
            // caller can quote.
            let trace_id = uuid::Uuid::now_v7().to_string();
            tracing::error!(%trace_id, error = %self, "request failed");
            json!({"error": {"code": code, "message": format!("internal error; trace id {trace_id}"), "traceId": trace_id}})
        } else {
            let mut error = json!({"code": code, "message": self.to_string()});
            if let ApiError::BadParam(bad) = &self {
                error["parameter"] = json!(bad.param);
            }
            json!({ "error": error })
        };
        (status, Json(body)).into_response()
    }
}
