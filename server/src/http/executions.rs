//! `GET /executions`, `GET /executions/:id`, `GET /executions/:id/tool-calls`.

use axum::extract::{Path, RawQuery, State};
use axum::Json;

use app::model::params::{self, Param};
use app::model::{
    BadParam, Counts, ExecutionEnvelope, InteractionList, ListMeta, ListPage, ListQuery,
    ToolCallList,
};
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

/// The value of a handler's own parameter (one of `extra` in
/// [`parse_query`], which runs first and refuses a repeated one), checked
/// against its declaration.
pub fn extra_value(raw: Option<&str>, param: &Param) -> Result<Option<String>, ApiError> {
    let Some(value) = form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .find(|(k, _)| k == param.name)
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
    else {
        // Absent or empty: an empty value counts as absent, as for the
        // list's own parameters.
        return Ok(None);
    };
    param
        .check(&value)
        .map_err(|m| BadParam::new(param.name, m))?;
    Ok(Some(value))
}

#[utoipa::path(
    get,
    path = "/executions",
    responses(
        (status = 200, description = "A page of runs; meta on the first page unless meta=false", body = ListPage),
    )
)]
#[tracing::instrument(skip(store, raw))]
pub async fn list(
    State(store): State<Store>,
    Scope(scope): Scope,
    RawQuery(raw): RawQuery,
) -> Result<Json<ListPage>, ApiError> {
    let query = parse_query(raw.as_deref(), &[params::META.name, params::EXACT.name])?;
    let with_meta = extra_value(raw.as_deref(), &params::META)?.as_deref() != Some("false");
    let page = if with_meta {
        store
            .list_counted(&scope, &query, counts(raw.as_deref())?)
            .await?
    } else {
        store.list_without_meta(&scope, &query).await?
    };
    Ok(Json(page))
}

/// The meta of the first page of a list query (its limit, cursor and sort
/// change nothing), for clients that fetch rows with `meta=false` and the
/// counts beside them.
#[utoipa::path(
    get,
    path = "/executions/meta",
    responses(
        (status = 200, description = "Counts, facets and chart of the runs matching the filters", body = ListMeta),
    )
)]
#[tracing::instrument(skip(store, raw))]
pub async fn meta(
    State(store): State<Store>,
    Scope(scope): Scope,
    RawQuery(raw): RawQuery,
) -> Result<Json<ListMeta>, ApiError> {
    let query = parse_query(raw.as_deref(), &[params::EXACT.name])?;
    let counts = counts(raw.as_deref())?;
    Ok(Json(store.list_meta(&scope, &query.filters, counts).await?))
}

/// The `exact` parameter's counts.
fn counts(raw: Option<&str>) -> Result<Counts, ApiError> {
    Ok(match extra_value(raw, &params::EXACT)?.as_deref() {
        Some("true") => Counts::Exact,
        _ => Counts::Bounded,
    })
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

#[utoipa::path(
    get,
    path = "/executions/{id}/interactions",
    params(("id" = String, Path, description = "Execution id")),
    responses(
        (status = 200, description = "Interactions, answered ones too, oldest first", body = InteractionList),
    )
)]
#[tracing::instrument(skip(store))]
pub async fn interactions(
    State(store): State<Store>,
    Scope(scope): Scope,
    Path(id): Path<String>,
) -> Result<Json<InteractionList>, ApiError> {
    store
        .interactions(&scope, &id)
        .await?
        .map(|interactions| Json(InteractionList { interactions }))
        .ok_or(ApiError::ExecutionNotFound(id))
}
