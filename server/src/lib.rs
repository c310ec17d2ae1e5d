//! The `executor` server: the JSON API under `/executions`, the Leptos page at
//! `/runs` and the static bundle, all over one store.
// The page's view types nest deeper than the default limit allows.
#![recursion_limit = "256"]

pub mod access;
pub mod bundle_check;
pub mod cli;
pub mod http;
pub mod instance;
pub mod maintenance;
pub mod mcp;
pub mod metrics;
pub mod router;
pub mod sources;
pub mod state;

pub use router::{router, routes, with_layers};
pub use state::AppState;

use std::net::SocketAddr;

use app::engine::Engine;
use app::runs::CountsHandoff;
use app::store::Store;
use leptos::prelude::LeptosOptions;

/// Leptos options for a site root (holding `pkg/`) served at `addr`.
pub fn leptos_options(site_root: &str, addr: SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name(app::shell::bundle_name(site_root, "pkg"))
        .site_root(site_root)
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build()
}

/// Serves the full router on an ephemeral loopback port in the background
/// (tests and benchmarks); answers the address.
pub async fn serve_loopback(
    store: Store,
    engine: Engine,
    site_root: &str,
) -> std::io::Result<SocketAddr> {
    serve_loopback_with(store, engine, site_root, CountsHandoff::default()).await
}

/// [`serve_loopback`] behind `access` (tests of tokens and sessions).
pub async fn serve_loopback_with_access(
    store: Store,
    engine: Engine,
    site_root: &str,
    access: access::Access,
) -> std::io::Result<SocketAddr> {
    serve_on_loopback(store, engine, site_root, CountsHandoff::default(), access).await
}

/// [`serve_loopback`] with tool sources of the test's own.
pub async fn serve_loopback_with_sources(
    store: Store,
    engine: Engine,
    site_root: &str,
    access: access::Access,
    sources: std::sync::Arc<sources::Sources>,
) -> std::io::Result<SocketAddr> {
    serve_listening(
        store,
        engine,
        site_root,
        CountsHandoff::default(),
        access,
        sources,
    )
    .await
}

/// Sources with no config and a key of this process only (tests).
pub fn ephemeral_sources(store: &Store, engine: &Engine) -> std::sync::Arc<sources::Sources> {
    let mut key = [0u8; 32];
    let _ = getrandom::fill(&mut key);
    let secrets = sources::secrets::Secrets::new(
        store.clone(),
        sources::secrets::KeySource::Given(hex::encode(key)),
    );
    sources::Sources::new(
        engine.registry().clone(),
        store.clone(),
        std::sync::Arc::new(secrets),
        false,
    )
}

/// [`serve_loopback`] with the page's counts handed off as `counts` says
/// (a zero budget renders every page with its counts pending).
pub async fn serve_loopback_with(
    store: Store,
    engine: Engine,
    site_root: &str,
    counts: CountsHandoff,
) -> std::io::Result<SocketAddr> {
    serve_on_loopback(store, engine, site_root, counts, access::Access::open()).await
}

async fn serve_on_loopback(
    store: Store,
    engine: Engine,
    site_root: &str,
    counts: CountsHandoff,
    access: access::Access,
) -> std::io::Result<SocketAddr> {
    let sources = ephemeral_sources(&store, &engine);
    serve_listening(store, engine, site_root, counts, access, sources).await
}

async fn serve_listening(
    store: Store,
    engine: Engine,
    site_root: &str,
    counts: CountsHandoff,
    access: access::Access,
    sources: std::sync::Arc<sources::Sources>,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = router(AppState {
        store,
        engine,
        leptos_options: leptos_options(site_root, addr),
        counts,
        access,
        sources,
    });
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    Ok(addr)
}
