//! `GET /executions/export?format=ndjson|csv&<list filters>`: every matching
//! run, streamed as it is read.

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

use app::model::{params, Execution};
use app::store::Store;

use super::executions::{extra_value, parse_query};
use super::{ApiError, Scope};

#[derive(Clone, Copy)]
enum Format {
    Ndjson,
    Csv,
}

const CSV_COLUMNS: [&str; 15] = [
    "id",
    "scopeId",
    "status",
    "triggerKind",
    "createdAt",
    "startedAt",
    "completedAt",
    "durationMs",
    "toolCallCount",
    "hadElicitation",
    "errorText",
    "resultJson",
    "triggerMetaJson",
    "sessionId",
    "code",
];

/// The export's format.
fn format_of(raw: Option<&str>) -> Result<Format, ApiError> {
    Ok(match extra_value(raw, &params::FORMAT)?.as_deref() {
        Some("csv") => Format::Csv,
        _ => Format::Ndjson,
    })
}

#[utoipa::path(
    get,
    path = "/executions/export",
    responses(
        (status = 200, description = "Every matching run, streamed"),
    )
)]
pub async fn export(
    State(store): State<Store>,
    Scope(scope): Scope,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = parse_query(raw.as_deref(), &[params::FORMAT.name])?;
    let format = format_of(raw.as_deref())?;
    let header_row = match format {
        Format::Csv => Some(csv_line(CSV_COLUMNS.iter().map(|c| c.to_string()))),
        Format::Ndjson => None,
    };
    let rows = store
        .export(&scope, &query)
        .filter_map(move |row| async move {
            match row {
                Ok(e) => Some(Ok::<Bytes, std::io::Error>(encode(format, &e))),
                Err(err) => {
                    // Headers are gone by now: end the stream early and say so in the log.
                    tracing::error!(error = %err, "export stream failed");
                    Some(Err(std::io::Error::other(err.to_string())))
                }
            }
        });
    let body = futures_util::stream::iter(header_row.map(Ok)).chain(rows);
    let content_type = match format {
        Format::Ndjson => "application/x-ndjson",
        Format::Csv => "text/csv; charset=utf-8",
    };
    Ok((
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        Body::from_stream(body),
    )
        .into_response())
}

fn encode(format: Format, e: &Execution) -> Bytes {
    match format {
        Format::Ndjson => {
            let mut line = serde_json::to_vec(e).unwrap_or_default();
            line.push(b'\n');
            Bytes::from(line)
        }
        Format::Csv => {
            let opt = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
            csv_line(
                [
                    e.id.clone(),
                    e.scope_id.clone(),
                    e.status.as_str().to_owned(),
                    e.trigger_kind.clone().unwrap_or_default(),
                    e.created_at.to_string(),
                    opt(e.started_at),
                    opt(e.completed_at),
                    opt(e.duration_ms),
                    e.tool_call_count.to_string(),
                    e.had_elicitation.to_string(),
                    e.error_text.clone().unwrap_or_default(),
                    e.result_json.clone().unwrap_or_default(),
                    e.trigger_meta_json.clone().unwrap_or_default(),
                    e.session_id.clone().unwrap_or_default(),
                    e.code.clone(),
                ]
                .into_iter(),
            )
        }
    }
}

fn csv_line(fields: impl Iterator<Item = String>) -> Bytes {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record(fields.collect::<Vec<_>>());
    Bytes::from(writer.into_inner().unwrap_or_default())
}
