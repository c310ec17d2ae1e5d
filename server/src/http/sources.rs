//! `/sources` and `/secrets` (docs/api.md#tool-sources): a scope's tool
//! sources, and the names of its secrets (values go in, never out).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::sources::spec::SourceSpec;
use crate::sources::{SourceView, Sources};

use super::runs::{body, RawBody};
use super::{ApiError, Scope};

/// `GET /sources`.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceList {
    pub sources: Vec<SourceView>,
}

/// A secret as listed: its name and when it was last set.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretName {
    pub name: String,
    pub updated_at: i64,
}

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretList {
    pub secrets: Vec<SecretName>,
}

/// `PUT /secrets/{name}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretValueBody {
    pub value: String,
}

#[utoipa::path(get, path = "/sources", responses((status = 200, description = "The scope's sources and every scope's", body = SourceList)))]
pub async fn list(State(sources): State<Arc<Sources>>, Scope(scope): Scope) -> Json<SourceList> {
    Json(SourceList {
        sources: sources.list(&scope),
    })
}

#[utoipa::path(
    post,
    path = "/sources",
    request_body(content = Object, description = "A source: {kind: openapi, name, spec | document, baseUrl?, headers?, query?} or {kind: mcp, name, url | command, args?, env?, headers?}"),
    responses((status = 201, description = "Added (or replaced), loaded or listed with its error", body = SourceView))
)]
#[tracing::instrument(skip(sources, bytes))]
pub async fn add(
    State(sources): State<Arc<Sources>>,
    Scope(scope): Scope,
    RawBody(bytes): RawBody,
) -> Result<(StatusCode, Json<SourceView>), ApiError> {
    let spec: SourceSpec = body(&bytes)?;
    let view = sources.add(&scope, spec).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/sources/{name}", params(("name" = String, Path, description = "Source name")),
    responses((status = 200, description = "One source", body = SourceView)))]
pub async fn get_one(
    State(sources): State<Arc<Sources>>,
    Scope(scope): Scope,
    Path(name): Path<String>,
) -> Result<Json<SourceView>, ApiError> {
    sources.get(&scope, &name).map(Json).ok_or(ApiError::Source(
        crate::sources::SourceError::NotFound(name),
    ))
}

#[utoipa::path(delete, path = "/sources/{name}", params(("name" = String, Path, description = "Source name")),
    responses((status = 204, description = "Removed")))]
pub async fn remove(
    State(sources): State<Arc<Sources>>,
    Scope(scope): Scope,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    sources.remove(&scope, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/sources/{name}/refresh", params(("name" = String, Path, description = "Source name")),
    responses((status = 200, description = "Loaded again", body = SourceView)))]
pub async fn refresh(
    State(sources): State<Arc<Sources>>,
    Scope(scope): Scope,
    Path(name): Path<String>,
) -> Result<Json<SourceView>, ApiError> {
    Ok(Json(sources.refresh(&scope, &name).await?))
}

#[utoipa::path(get, path = "/secrets", responses((status = 200, description = "The scope's secret names (never values)", body = SecretList)))]
pub async fn secrets(
    State(sources): State<Arc<Sources>>,
    Scope(scope): Scope,
) -> Result<Json<SecretList>, ApiError> {
    let secrets = sources
        .secrets()
        .list(&scope)
        .await?
        .into_iter()
        .map(|(name, updated_at)| SecretName { name, updated_at })
        .collect();
    Ok(Json(SecretList { secrets }))
}

#[utoipa::path(put, path = "/secrets/{name}", params(("name" = String, Path, description = "Secret name")),
    request_body = SecretValueBody,
    responses((status = 204, description = "Set")))]
#[tracing::instrument(skip(sources, bytes))]
pub async fn put_secret(
    State(sources): State<Arc<Sources>>,
    Scope(scope): Scope,
    Path(name): Path<String>,
    RawBody(bytes): RawBody,
) -> Result<StatusCode, ApiError> {
    let value: SecretValueBody = body(&bytes)?;
    sources.secrets().set(&scope, &name, &value.value).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/secrets/{name}", params(("name" = String, Path, description = "Secret name")),
    responses((status = 204, description = "Removed")))]
pub async fn delete_secret(
    State(sources): State<Arc<Sources>>,
    Scope(scope): Scope,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    if sources.secrets().delete(&scope, &name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::Secret(
            crate::sources::secrets::SecretError::Missing(name),
        ))
    }
}
