//! `GET /metrics` in the Prometheus text format, and the middleware that
//! counts every HTTP request. The names live in `app::telemetry`; here the
//! process installs the exporter (once, however many routers it builds).

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use app::telemetry;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the Prometheus recorder for this process, or answers the one
/// installed. `None` when another recorder was installed first (metrics are
/// then recorded there, and `/metrics` says so).
/// This process's instance id, labelling every series when several servers
/// share a database (set before the first [`install`]).
static INSTANCE: OnceLock<String> = OnceLock::new();

pub fn set_instance(id: &str) {
    let _ = INSTANCE.set(id.to_owned());
}

pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let seconds = [
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0, 30.0, 60.0, 300.0,
            ];
            let ops = [1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0];
            let mut builder = PrometheusBuilder::new();
            if let Some(id) = INSTANCE.get() {
                builder = builder.add_global_label("instance", id);
            }
            let built = builder
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &seconds)
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(telemetry::WRITER_BATCH_OPS.into()),
                        &ops,
                    )
                })
                .map_err(|e| e.to_string())
                .and_then(|b| b.install_recorder().map_err(|e| e.to_string()));
            match built {
                Ok(handle) => {
                    telemetry::describe();
                    Some(handle)
                }
                Err(error) => {
                    tracing::warn!(%error, "could not install the Prometheus recorder");
                    None
                }
            }
        })
        .as_ref()
}

pub async fn render() -> Response {
    match install() {
        Some(handle) => {
            // Histograms and summaries drain on render; nothing else to do.
            let text = handle.render();
            let mut response = text.into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            response
        }
        None => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "metrics are recorded by another exporter in this process\n",
        )
            .into_response(),
    }
}

/// Counts the request under its route template (never the raw path: ids
/// must not become series) with its status and latency.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    telemetry::http_request(
        &route,
        &method,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}
