//! Shared state handed to every handler and server function.

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;

use app::engine::Engine;
use app::runs::CountsHandoff;
use app::store::Store;

use std::sync::Arc;

use crate::access::Access;
use crate::sources::Sources;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub store: Store,
    pub engine: Engine,
    pub leptos_options: LeptosOptions,
    /// The page's render budget for counts, and the counts that missed it.
    pub counts: CountsHandoff,
    /// Who may come in, and as which scope.
    pub access: Access,
    /// Tool sources and secrets.
    pub sources: Arc<Sources>,
}
