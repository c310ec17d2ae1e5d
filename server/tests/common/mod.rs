//! A real server on loopback for HTTP tests: the full router over one
//! store, with the `demo` fixture tools registered.

#![allow(
    dead_code,
    clippy::unwrap_used,
    reason = "shared by several test crates"
)]

pub mod process;

use std::sync::Arc;

use serde_json::Value;

use app::engine::tools::demo::DemoSource;
use app::engine::{Engine, EngineConfig, Registry};
use app::runs::CountsHandoff;
use app::store::Store;

/// Serves the full router for one store on an ephemeral port, with the
/// `demo` fixture tools registered.
pub async fn serve(store: &Store) -> String {
    serve_with(store, EngineConfig::default()).await
}

pub async fn serve_with(store: &Store, config: EngineConfig) -> String {
    serve_handing_off(store, config, CountsHandoff::default()).await
}

/// [`serve`], its page rendering every view with the counts pending.
pub async fn serve_counts_pending(store: &Store) -> String {
    let counts = CountsHandoff::new(std::time::Duration::ZERO);
    serve_handing_off(store, EngineConfig::default(), counts).await
}

async fn serve_handing_off(store: &Store, config: EngineConfig, counts: CountsHandoff) -> String {
    let registry = Registry::new();
    registry.register(Arc::new(DemoSource)).unwrap();
    let engine = Engine::start(store.clone(), registry, config).unwrap();
    let addr = server::serve_loopback_with(store.clone(), engine, "target/site", counts)
        .await
        .expect("serve on loopback");
    format!("http://{addr}")
}

/// Serves `engine` with `sources` behind the sources API, open access.
pub async fn serve_sources(
    store: &Store,
    engine: Engine,
    sources: Arc<server::sources::Sources>,
) -> String {
    let access = server::access::Access::open();
    let addr =
        server::serve_loopback_with_sources(store.clone(), engine, "target/site", access, sources)
            .await
            .expect("serve on loopback");
    format!("http://{addr}")
}

/// [`serve`] behind tokens: `tokens` is `EXECUTOR_TOKENS`' `scope:token,…`.
pub async fn serve_with_tokens(
    store: &Store,
    tokens: &str,
    policy: server::access::SessionPolicy,
) -> String {
    let registry = Registry::new();
    registry.register(Arc::new(DemoSource)).unwrap();
    let engine = Engine::start(store.clone(), registry, EngineConfig::default()).unwrap();
    let mut parsed = server::access::Tokens::default();
    parsed.add_env(tokens).unwrap();
    let access = server::access::Access::with_tokens(parsed, store.clone(), policy);
    let addr = server::serve_loopback_with_access(store.clone(), engine, "target/site", access)
        .await
        .expect("serve on loopback");
    format!("http://{addr}")
}

pub async fn get(url: &str) -> (u16, Value) {
    let response = reqwest::get(url).await.expect("request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// POSTs a JSON body (or nothing) with extra headers; answers status and JSON.
pub async fn post(url: &str, body: Option<&str>, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut request = reqwest::Client::new().post(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_owned());
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}
