//! `POST /executions` (run code), `/executions/:id/resume`, `/cancel` and
//! `/rerun` (docs/api.md#run-code).

use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::de::DeserializeOwned;

use app::engine::{ElicitationMode, Engine, ExecuteRequest};
use app::model::{params, BadParam, ResumeRequest, RunRequest, RunResponse, Trigger, TriggerKind};

use super::{ApiError, Scope};

pub const TRIGGER_HEADER: &str = params::TRIGGER_HEADER.name;
pub const TRIGGER_META_HEADER: &str = params::TRIGGER_META_HEADER.name;
pub const SESSION_HEADER: &str = params::SESSION_HEADER.name;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, BadParam> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .map_err(|_| BadParam::new(name, "must be visible ASCII"))
        })
        .transpose()
}

fn trigger(headers: &HeaderMap, default_kind: &'static str) -> Result<Trigger, BadParam> {
    Trigger::from_headers(
        header(headers, TRIGGER_HEADER)?,
        header(headers, TRIGGER_META_HEADER)?,
        header(headers, SESSION_HEADER)?,
        default_kind,
    )
}

/// The request body, at most [`super::error::MAX_BODY_BYTES`] (the router's
/// limit); past it a 413 in the JSON error shape, not axum's plain text.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match Bytes::from_request(request, state).await {
            Ok(bytes) => Ok(Self(bytes)),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::BodyTooLarge),
            Err(e) => Err(ApiError::BodyUnreadable(e.body_text())),
        }
    }
}

/// Parses a JSON body; the error names the field serde complained about.
pub(super) fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BadParam> {
    serde_json::from_slice(bytes).map_err(|e| {
        let text = e.to_string();
        // serde names unknown and missing fields; our own field checks
        // start their message with the field's name.
        let field = ["missing field `", "unknown field `"]
            .iter()
            .find_map(|p| text.split_once(p))
            .and_then(|(_, rest)| rest.split_once('`'))
            .map(|(name, _)| name.to_owned())
            .or_else(|| {
                text.split_once(": ")
                    .map(|(name, _)| name)
                    .filter(|name| ["timeoutMs"].contains(name))
                    .map(str::to_owned)
            });
        let message = if bytes.is_empty() {
            "the request needs a JSON body".to_owned()
        } else {
            format!("invalid JSON body: {text}")
        };
        BadParam::new(field.as_deref().unwrap_or("body"), message)
    })
}

#[utoipa::path(
    post,
    path = "/executions",
    request_body = RunRequest,
    responses(
        (status = 200, description = "The run finished or paused for a person", body = RunResponse),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn run(
    State(engine): State<Engine>,
    Scope(scope): Scope,
    headers: HeaderMap,
    RawBody(bytes): RawBody,
) -> Result<Json<RunResponse>, ApiError> {
    let trigger = trigger(&headers, TriggerKind::HTTP)?;
    let request: RunRequest = body(&bytes)?;
    request.validate()?;
    let response = engine
        .execute(ExecuteRequest {
            scope,
            code: request.code,
            trigger,
            timeout: request.timeout_ms.map(std::time::Duration::from_millis),
            elicitation: ElicitationMode::Pause,
        })
        .await?;
    Ok(Json(response))
}

#[utoipa::path(
    post,
    path = "/executions/{id}/resume",
    request_body = ResumeRequest,
    params(("id" = String, Path, description = "Execution id")),
    responses(
        (status = 200, description = "The run finished or paused again", body = RunResponse),
    )
)]
#[tracing::instrument(skip(engine, bytes))]
pub async fn resume(
    State(engine): State<Engine>,
    Scope(scope): Scope,
    Path(id): Path<String>,
    RawBody(bytes): RawBody,
) -> Result<Json<RunResponse>, ApiError> {
    let request: ResumeRequest = body(&bytes)?;
    Ok(Json(
        engine
            .resume(&scope, &id, request.action, request.content)
            .await?,
    ))
}

#[utoipa::path(
    post,
    path = "/executions/{id}/cancel",
    params(("id" = String, Path, description = "Execution id")),
    responses(
        (status = 200, description = "The run ended cancelled", body = RunResponse),
    )
)]
#[tracing::instrument(skip(engine))]
pub async fn cancel(
    State(engine): State<Engine>,
    Scope(scope): Scope,
    Path(id): Path<String>,
) -> Result<Json<RunResponse>, ApiError> {
    Ok(Json(engine.cancel(&scope, &id).await?))
}

#[utoipa::path(
    post,
    path = "/executions/{id}/rerun",
    params(("id" = String, Path, description = "Execution whose code to run again")),
    responses(
        (status = 200, description = "The new run finished or paused", body = RunResponse),
    )
)]
#[tracing::instrument(skip(engine, headers))]
pub async fn rerun(
    State(engine): State<Engine>,
    Scope(scope): Scope,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<RunResponse>, ApiError> {
    let trigger = trigger(&headers, TriggerKind::UI)?;
    Ok(Json(engine.rerun(&scope, &id, Some(trigger)).await?))
}
