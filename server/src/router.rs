//! Assembles the HTTP surface: JSON routes, server functions, the page and
//! the static bundle.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, handle_server_fns_with_context, LeptosRoutes};
use tower_http::services::ServeDir;

use app::shell::{shell, App};

use crate::http;
use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
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
    Router::new()
        .merge(http::routes())
        .route("/api/{*fn_name}", post(server_fns))
        .leptos_routes_with_context(
            &state,
            routes,
            {
                let state = state.clone();
                move || provide_backend(&state)
            },
            {
                let options = state.leptos_options.clone();
                move || shell(options.clone())
            },
        )
        .nest("/pkg", pkg)
        .fallback(http::not_found)
        .with_state(state)
}

async fn server_fns(State(state): State<AppState>, request: Request<Body>) -> impl IntoResponse {
    handle_server_fns_with_context(move || provide_backend(&state), request).await
}

/// What the page's server functions reach: the same store and engine as
/// the JSON routes.
fn provide_backend(state: &AppState) {
    provide_context(state.store.clone());
    provide_context(state.engine.clone());
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
