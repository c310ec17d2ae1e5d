//! `GET /executions`, `GET /executions/:id`, `GET /executions/:id/tool-calls`.

use axum::extract::{Path, RawQuery, State};
use axum::Json;

use app::model::{ExecutionEnvelope, ListPage, ListQuery, ToolCallList};
use app::store::Store;

use super::{ApiError, Scope};

/// Parses the raw query string once into a typed query; `extra` names
/// parameters the handler reads itself.
pub fn parse_query(raw: Option<&str>, extra: &[&str]) -> Result<ListQuery, ApiError> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    Ok(ListQuery::parse(
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        extra,
    )?)
}

#[utoipa::path(
    get,
    path = "/executions",
    params(
        ("limit" = Option<u32>, Query, description = "Page size, 1-100 (default 50)"),
        ("cursor" = Option<String>, Query, description = "nextCursor of the previous page"),
        ("status" = Option<String>, Query, description = "CSV of pending, running, waiting_for_interaction, completed, failed, cancelled"),
        ("trigger" = Option<String>, Query, description = "CSV of trigger kinds; 'unknown' matches runs without one"),
        ("tool" = Option<String>, Query, description = "CSV of tool path patterns; '*' matches any run of characters"),
        ("from" = Option<i64>, Query, description = "created_at >= from (epoch ms)"),
        ("to" = Option<i64>, Query, description = "created_at < to (epoch ms)"),
        ("after" = Option<i64>, Query, description = "created_at > after (epoch ms), for live polling"),
        ("code" = Option<String>, Query, description = "Case-insensitive substring of the code"),
        ("minDurationMs" = Option<i64>, Query, description = "duration_ms >= this"),
        ("maxDurationMs" = Option<i64>, Query, description = "duration_ms <= this"),
        ("elicitation" = Option<bool>, Query, description = "Runs that did (true) or did not (false) ask a person"),
        ("sort" = Option<String>, Query, description = "createdAt|durationMs[,asc|desc], default createdAt,desc"),
    ),
    responses(
        (status = 200, description = "A page of runs; meta on the first page", body = ListPage),
        (status = 400, description = "A parameter is invalid; the message names it"),
    )
)]
#[tracing::instrument(skip(store, raw))]
pub async fn list(
    State(store): State<Store>,
    Scope(scope): Scope,
    RawQuery(raw): RawQuery,
) -> Result<Json<ListPage>, ApiError> {
    let query = parse_query(raw.as_deref(), &[])?;
    Ok(Json(store.list(&scope, &query).await?))
}

#[utoipa::path(
    get,
    path = "/executions/{id}",
    params(("id" = String, Path, description = "Execution id")),
    responses(
        (status = 200, body = ExecutionEnvelope),
        (status = 404, description = "No such execution in this scope"),
    )
)]
#[tracing::instrument(skip(store))]
pub async fn get_one(
    State(store): State<Store>,
    Scope(scope): Scope,
    Path(id): Path<String>,
) -> Result<Json<ExecutionEnvelope>, ApiError> {
    store
        .get(&scope, &id)
        .await?
        .map(Json)
        .ok_or(ApiError::ExecutionNotFound(id))
}

#[utoipa::path(
    get,
    path = "/executions/{id}/tool-calls",
    params(("id" = String, Path, description = "Execution id")),
    responses(
        (status = 200, description = "Tool calls in call order", body = ToolCallList),
        (status = 404, description = "No such execution in this scope"),
    )
)]
#[tracing::instrument(skip(store))]
pub async fn tool_calls(
    State(store): State<Store>,
    Scope(scope): Scope,
    Path(id): Path<String>,
) -> Result<Json<ToolCallList>, ApiError> {
    store
        .tool_calls(&scope, &id)
        .await?
        .map(|tool_calls| Json(ToolCallList { tool_calls }))
        .ok_or(ApiError::ExecutionNotFound(id))
}
