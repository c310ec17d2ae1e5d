//! Assembles the HTTP surface: JSON routes, server functions, the page and
//! the static bundle.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use hydration_context::SsrSharedContext;
use leptos::prelude::{provide_context, Owner, RenderHtml};
use leptos_axum::handle_server_fns_with_context;
use tower_http::services::ServeDir;

use app::runs::{PageState, RequestScope};
use app::shell::shell;

use crate::access::{self, Principal};
use crate::http;
use crate::state::AppState;

/// Every route with the layers every request goes through.
pub fn router(state: AppState) -> Router {
    with_layers(routes(state))
}

/// What wraps every route: a panicking handler answers 500 in the JSON
/// shape and the server lives on; bodies are bounded; every request is
/// counted; responses go out compressed to clients that accept it (brotli
/// at quality 4, else gzip: a first page's HTML is about 140 KB). The
/// bundle's precompressed files carry their encoding already and pass as
/// they are. Tests wrap routes of their own with it.
pub fn with_layers(routes: Router) -> Router {
    crate::metrics::install();
    routes
        .layer(axum::middleware::from_fn(crate::metrics::track))
        .layer(axum::extract::DefaultBodyLimit::max(http::MAX_BODY_BYTES))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            http::panic_response,
        ))
        .layer(tower_http::compression::CompressionLayer::new())
}

/// The routes without layers.
pub fn routes(state: AppState) -> Router {
    // Rendering spawns reactive work on Leptos' executor; leptos_axum's
    // route helpers would set it up, our one handler has to. A second call
    // (another router in the same process) finds it set, which is fine.
    let _ = any_spawner::Executor::init_tokio();
    let pkg_dir = format!(
        "{}/{}",
        state.leptos_options.site_root, state.leptos_options.site_pkg_dir
    );
    let pkg = Router::new()
        .fallback_service(
            ServeDir::new(pkg_dir)
                .precompressed_br()
                .precompressed_gzip(),
        )
        .layer(axum::middleware::map_response_with_state(
            state.leptos_options.output_name.clone(),
            cache_headers,
        ));
    // Every route, the fallback included, is behind the access layer: a
    // route added later cannot forget it.
    let access = axum::middleware::from_fn_with_state(state.access.clone(), access::authenticate);
    let mcp = crate::mcp::http_service(
        state.engine.clone(),
        state.store.clone(),
        state.access.is_open(),
    );
    Router::new()
        .merge(http::routes())
        .nest_service("/mcp", mcp)
        .route("/api/{*fn_name}", post(server_fns))
        .route("/runs", get(runs_page))
        .route("/", get(|| async { Redirect::temporary("/runs") }))
        .nest("/pkg", pkg)
        .fallback(http::not_found)
        .layer(access)
        .with_state(state)
}

/// The request's scope as the access layer decided it (`None`: it let the
/// request in without one, which only public routes are).
fn scope_of(request_extensions: &axum::http::Extensions) -> Option<String> {
    request_extensions
        .get::<Principal>()
        .map(|p| p.scope.clone())
}

async fn server_fns(State(state): State<AppState>, request: Request<Body>) -> Response {
    let Some(scope) = scope_of(request.extensions()) else {
        return http::ApiError::Unauthenticated.into_response();
    };
    handle_server_fns_with_context(
        move || {
            provide_backend(&state);
            provide_context(RequestScope(scope.clone()));
        },
        request,
    )
    .await
    .into_response()
}

/// `/runs`: loads what the URL asks for, then renders the page with it
/// (the data is also embedded for hydration, see [`PageState`]).
async fn runs_page(State(state): State<AppState>, uri: Uri, request: Request<Body>) -> Response {
    let Some(scope) = scope_of(request.extensions()) else {
        return http::ApiError::Unauthenticated.into_response();
    };
    let query = uri.query().unwrap_or_default().to_owned();
    // A server that requires tokens shows whose runs these are.
    let shown = (!state.access.is_open()).then(|| scope.clone());
    let page = PageState::load((&state.store, &state.counts), &scope, &query, shown).await;
    Html(render_page(&state, page, scope)).into_response()
}

/// The page has nothing left to wait for once its data is loaded, so it is
/// rendered in one synchronous pass: no stream, and none of the deeply
/// nested futures an asynchronous render of a large view makes (they
/// overflowed a worker's stack in debug builds).
fn render_page(state: &AppState, page: PageState, scope: String) -> String {
    // The shared context tells Leptos it renders on a server (browser-only
    // effects and listeners stay off).
    let owner = Owner::new_root(Some(Arc::new(SsrSharedContext::new())));
    owner.with(|| {
        provide_backend(state);
        provide_context(RequestScope(scope));
        provide_context(page);
        shell(state.leptos_options.clone()).to_html()
    })
}

/// What the page's server functions reach: the same store and engine as
/// the JSON routes.
fn provide_backend(state: &AppState) {
    provide_context(state.store.clone());
    provide_context(state.engine.clone());
    provide_context(state.counts.clone());
}

/// The bundle's files carry a content hash in their names, so they never
/// change: cache them for a year. Anything else under /pkg is revalidated.
async fn cache_headers(
    State(bundle): State<std::sync::Arc<str>>,
    request_path: axum::extract::OriginalUri,
    mut response: axum::response::Response,
) -> axum::response::Response {
    let hashed = bundle.contains('.')
        && request_path
            .path()
            .rsplit('/')
            .next()
            .is_some_and(|file| file.starts_with(&*bundle));
    let value = if hashed {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    response
}
