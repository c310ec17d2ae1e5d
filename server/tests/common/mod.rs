//! A real server on loopback for HTTP tests: the full router over one
//! store, with the `demo` fixture tools registered.

#![allow(
    dead_code,
    clippy::unwrap_used,
    reason = "shared by several test crates"
)]

use std::net::SocketAddr;
use std::sync::Arc;

use leptos::prelude::LeptosOptions;
use serde_json::Value;

use app::engine::tools::demo::DemoSource;
use app::engine::{Engine, EngineConfig, Registry};
use app::store::Store;
use server::{router, AppState};

/// Serves the full router for one store on an ephemeral port, with the
/// `demo` fixture tools registered.
pub async fn serve(store: &Store) -> String {
    serve_with(store, EngineConfig::default()).await
}

pub async fn serve_with(store: &Store, config: EngineConfig) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    let options = LeptosOptions::builder()
        .output_name(app::shell::BUNDLE)
        .site_root("target/site")
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build();
    let registry = Registry::new();
    registry.register(Arc::new(DemoSource)).unwrap();
    let engine = Engine::start(store.clone(), registry, config).unwrap();
    let app = router(AppState {
        store: store.clone(),
        engine,
        leptos_options: options,
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
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
