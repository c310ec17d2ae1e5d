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
    responses(
        (status = 200, description = "A page of runs; meta on the first page", body = ListPage),
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
        (status = 200, description = "The run with its pending interaction", body = ExecutionEnvelope),
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
