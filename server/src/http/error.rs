//! Every error the HTTP edge can answer, mapped to a status and the body
//! `{"error": {"code", "message"}}` in one place, by the error's kind: a
//! caller's mistake keeps its message, a busy or stopping server says when to
//! retry (`Retry-After`), and our own faults answer a trace id only.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use app::engine::EngineError;
use app::model::{BadParam, ErrorKind};
use app::store::StoreError;

use crate::sources::secrets::SecretError;
use crate::sources::SourceError;

/// Largest request body taken; larger ones answer 413 in the JSON shape.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The error codes a client may branch on (the MCP host forwarding to a
/// server does).
pub mod codes {
    pub const EXECUTION_NOT_FOUND: &str = "execution_not_found";
    pub const EXECUTION_NOT_WAITING: &str = "execution_not_waiting";
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    BadParam(#[from] BadParam),
    #[error("this server needs a token: send Authorization: Bearer <token>, or log in at /login")]
    Unauthenticated,
    #[error("the bearer token is not valid")]
    InvalidToken,
    #[error("too many failed attempts from this address; retry in {retry_after_secs} s")]
    TooManyFailures { retry_after_secs: u32 },
    #[error("refused: a state change from a browser must come from this site's own pages")]
    CrossSite,
    #[error("refused: this server answers only to names of its own machine (localhost, 127.0.0.1, [::1]); give it tokens to serve others")]
    ForeignHost,
    #[error("no execution with id '{0}'")]
    ExecutionNotFound(String),
    #[error("no route for {0}")]
    RouteNotFound(String),
    #[error("the request body is larger than {MAX_BODY_BYTES} bytes")]
    BodyTooLarge,
    #[error("could not read the request body: {0}")]
    BodyUnreadable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Source(#[from] crate::sources::SourceError),
    #[error(transparent)]
    Secret(#[from] crate::sources::secrets::SecretError),
    /// A handler panicked (caught by the panic layer; details are logged).
    #[error("handler panicked: {0}")]
    Panic(String),
}

impl ApiError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::BadParam(_) | Self::BodyUnreadable(_) => ErrorKind::BadRequest,
            Self::ExecutionNotFound(_) | Self::RouteNotFound(_) => ErrorKind::NotFound,
            Self::BodyTooLarge => ErrorKind::BadRequest,
            Self::Unauthenticated | Self::InvalidToken => ErrorKind::Unauthenticated,
            Self::TooManyFailures { retry_after_secs } => ErrorKind::TooManyFailures {
                retry_after_secs: *retry_after_secs,
            },
            Self::CrossSite | Self::ForeignHost => ErrorKind::Forbidden,
            Self::Store(StoreError::TimedOut) => ErrorKind::Unavailable {
                retry_after_secs: 5,
            },
            Self::Store(_) | Self::Panic(_) => ErrorKind::Internal,
            Self::Engine(e) => e.kind(),
            Self::Source(SourceError::Invalid(_))
            | Self::Secret(SecretError::BadName(_) | SecretError::BadValue) => {
                ErrorKind::BadRequest
            }
            Self::Source(SourceError::NotFound(_)) | Self::Secret(SecretError::Missing(_)) => {
                ErrorKind::NotFound
            }
            Self::Source(SourceError::Configured(_)) => ErrorKind::Conflict,
            Self::Source(SourceError::StdioOff) => ErrorKind::Forbidden,
            Self::Source(SourceError::Store(_))
            | Self::Secret(SecretError::Key(_) | SecretError::Sealed(_) | SecretError::Store(_)) => {
                ErrorKind::Internal
            }
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadParam(_) => (StatusCode::BAD_REQUEST, "invalid_parameter"),
            Self::BodyUnreadable(_) => (StatusCode::BAD_REQUEST, "invalid_body"),
            Self::BodyTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::InvalidToken => (StatusCode::UNAUTHORIZED, "invalid_token"),
            Self::TooManyFailures { .. } => (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"),
            Self::CrossSite => (StatusCode::FORBIDDEN, "cross_site_request"),
            Self::ForeignHost => (StatusCode::FORBIDDEN, "foreign_host"),
            Self::ExecutionNotFound(_) | Self::Engine(EngineError::NotFound(_)) => {
                (StatusCode::NOT_FOUND, codes::EXECUTION_NOT_FOUND)
            }
            Self::RouteNotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Engine(EngineError::NotWaiting { .. }) => {
                (StatusCode::CONFLICT, codes::EXECUTION_NOT_WAITING)
            }
            Self::Engine(EngineError::NotActive { .. }) => {
                (StatusCode::CONFLICT, "execution_not_active")
            }
            Self::Engine(EngineError::Busy { .. }) => {
                (StatusCode::SERVICE_UNAVAILABLE, "engine_busy")
            }
            Self::Engine(EngineError::ShuttingDown) => {
                (StatusCode::SERVICE_UNAVAILABLE, "shutting_down")
            }
            Self::Store(StoreError::TimedOut) => (StatusCode::SERVICE_UNAVAILABLE, "query_timeout"),
            Self::Source(SourceError::Invalid(_)) => (StatusCode::BAD_REQUEST, "invalid_source"),
            Self::Source(SourceError::NotFound(_)) => (StatusCode::NOT_FOUND, "source_not_found"),
            Self::Source(SourceError::Configured(_)) => (StatusCode::CONFLICT, "source_configured"),
            Self::Source(SourceError::StdioOff) => {
                (StatusCode::FORBIDDEN, "stdio_sources_disabled")
            }
            Self::Secret(SecretError::BadName(_) | SecretError::BadValue) => {
                (StatusCode::BAD_REQUEST, "invalid_secret")
            }
            Self::Secret(SecretError::Missing(_)) => (StatusCode::NOT_FOUND, "secret_not_found"),
            Self::Source(SourceError::Store(_))
            | Self::Secret(SecretError::Key(_) | SecretError::Sealed(_) | SecretError::Store(_)) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal_error")
            }
            Self::Store(_)
            | Self::Panic(_)
            | Self::Engine(EngineError::Store(_) | EngineError::PoolGone) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal_error")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let kind = self.kind();
        let body = if kind.shows_message() {
            let mut error = json!({"code": code, "message": self.to_string()});
            if let ApiError::BadParam(bad) = &self {
                error["parameter"] = json!(bad.param);
            }
            json!({ "error": error })
        } else {
            // Never leak database details; log them under a trace id the
            // caller can quote.
            let trace_id = uuid::Uuid::now_v7().to_string();
            tracing::error!(%trace_id, error = %self, "request failed");
            json!({"error": {"code": code, "message": format!("internal error; trace id {trace_id}"), "traceId": trace_id}})
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(secs) = kind.retry_after_secs() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if kind == ErrorKind::Unauthenticated {
            // RFC 6750: the scheme, and for a presented token, why it failed.
            let challenge = if matches!(self, ApiError::InvalidToken) {
                r#"Bearer error="invalid_token""#
            } else {
                "Bearer"
            };
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

/// What the panic layer answers: the JSON shape with a trace id.
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "a panic without a message".to_owned());
    ApiError::Panic(what).into_response()
}
