//! Server functions the page calls. They reach the same store and engine as
//! the JSON routes through Leptos context, and take the page's own query
//! string so the server reads the URL exactly as the browser shows it.
//! Each has a fixed endpoint (`/api/<name>`): by default Leptos puts a hash
//! of the build directory in the route, so a server and a bundle built from
//! the same commit in two checkouts did not find each other.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::model::{ExecutionEnvelope, Interaction, ListPage, RunResponse, ToolCall};

/// The first page of the list for a view, with its facets and chart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunsData {
    /// Its `meta` is `None` when `counts_later` says why.
    pub page: ListPage,
    /// The instant the view's preset range was resolved at; later pages and
    /// live polls use the same window.
    pub now_ms: i64,
    /// URL parameters that were ignored, and why.
    pub problems: Vec<String>,
    /// Where the counts are when the page came without them.
    pub counts_later: Option<CountsLater>,
}

/// Why a first page came without its counts (`page.meta`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum CountsLater {
    /// They took longer than the render budget and are still being
    /// counted: [`load_counts`] with this ticket brings them.
    Pending(String),
    /// Counting failed; the message says why. The rows are good.
    Failed(String),
}

/// Everything the drawer shows about one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunDetail {
    pub run: ExecutionEnvelope,
    pub tool_calls: Vec<ToolCall>,
    pub interactions: Vec<Interaction>,
}

/// What changed since the last live poll.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveUpdate {
    /// Runs created after the poll's `after`, newest first.
    pub new: Vec<ExecutionEnvelope>,
    /// The current state of the unfinished runs the page asked about.
    pub changed: Vec<ExecutionEnvelope>,
    /// The view's counts, facets and chart as of this poll (its preset
    /// range ending now), when the page asked for them.
    pub meta: Option<crate::model::ListMeta>,
}

#[cfg(feature = "ssr")]
pub(crate) mod backend {
    use leptos::prelude::*;

    use super::{CountsLater, RunDetail, RunsData};
    use crate::engine::Engine;
    use crate::model::Counts;
    use crate::runs::counts_handoff::{Counted, CountsHandoff};
    use crate::store::Store;

    pub fn store() -> Result<Store, ServerFnError> {
        use_context::<Store>().ok_or_else(|| ServerFnError::new("no store in context"))
    }

    pub fn handoff() -> Result<CountsHandoff, ServerFnError> {
        use_context::<CountsHandoff>().ok_or_else(|| ServerFnError::new("no handoff in context"))
    }

    pub fn engine() -> Result<Engine, ServerFnError> {
        use_context::<Engine>().ok_or_else(|| ServerFnError::new("no engine in context"))
    }

    /// The scope of the request being served, as the server's access layer
    /// decided it (the JSON routes' `Scope` reads the same decision); the
    /// server provides it to every server function and render.
    #[derive(Clone, Debug)]
    pub struct RequestScope(pub String);

    pub fn scope() -> Result<String, ServerFnError> {
        use_context::<RequestScope>()
            .map(|s| s.0)
            .ok_or_else(|| ServerFnError::new("not logged in"))
    }

    /// A fault of ours (the store): the page gets a trace id, the log the
    /// details, exactly as the JSON API answers (`ErrorKind::Internal`).
    pub fn failed(what: &str, e: impl std::fmt::Display) -> ServerFnError {
        ServerFnError::new(internal(what, e))
    }

    /// [`failed`]'s message, logging the details.
    fn internal(what: &str, e: impl std::fmt::Display) -> String {
        let trace_id = uuid::Uuid::now_v7().to_string();
        tracing::error!(%trace_id, error = %e, "{what} failed");
        format!("{what} failed: internal error; trace id {trace_id}")
    }

    /// An engine error by its kind: the caller's own mistakes and a busy
    /// server keep their message, internal ones become a trace id.
    pub fn engine_failed(what: &str, e: crate::engine::EngineError) -> ServerFnError {
        if e.kind().shows_message() {
            ServerFnError::new(e.to_string())
        } else {
            failed(what, e)
        }
    }

    /// The first page of a view with its facets and chart, the counts
    /// within `handoff`'s budget: what [`super::load_runs`] answers and
    /// what the page is rendered with.
    pub async fn runs_data(
        store: &Store,
        handoff: &CountsHandoff,
        scope: &str,
        query: &str,
    ) -> Result<RunsData, ServerFnError> {
        let (view, problems) = crate::model::RunsView::from_query(query);
        let now_ms = crate::store::now_ms();
        let list = view.list_query(now_ms);
        let (rows, meta) = store
            .list_parts(scope, &list, Counts::Bounded)
            .await
            .map_err(|e| failed("listing runs", e))?;
        let (rows, counted) = tokio::join!(rows, handoff.within_budget(scope, meta));
        let mut page = rows.map_err(|e| failed("listing runs", e))?;
        let counts_later = match counted {
            Counted::Ready(Ok(meta)) => {
                page.meta = Some(meta);
                None
            }
            Counted::Ready(Err(e)) => Some(CountsLater::Failed(internal("counting runs", e))),
            Counted::Pending(ticket) => Some(CountsLater::Pending(ticket)),
        };
        Ok(RunsData {
            page,
            now_ms,
            problems: problems.iter().map(ToString::to_string).collect(),
            counts_later,
        })
    }

    /// The counts parked under `ticket` if this server has them, otherwise
    /// counted again for the same view and window.
    pub async fn counts(
        store: &Store,
        handoff: &CountsHandoff,
        scope: &str,
        (query, now_ms, ticket): (&str, i64, &str),
    ) -> Result<crate::model::ListMeta, ServerFnError> {
        let meta = match handoff.claim(scope, ticket).await {
            Some(parked) => parked,
            None => {
                let (view, _) = crate::model::RunsView::from_query(query);
                let filters = view.list_query(now_ms).filters;
                store.list_meta(scope, &filters, Counts::Bounded).await
            }
        };
        meta.map_err(|e| failed("counting runs", e))
    }

    /// One run with its tool calls and interactions, `None` if the scope
    /// has no such run.
    pub async fn run_detail(
        store: &Store,
        scope: &str,
        id: &str,
    ) -> Result<Option<RunDetail>, ServerFnError> {
        let Some(run) = store
            .get(scope, id)
            .await
            .map_err(|e| failed("loading a run", e))?
        else {
            return Ok(None);
        };
        let tool_calls = store
            .tool_calls(scope, id)
            .await
            .map_err(|e| failed("loading tool calls", e))?
            .unwrap_or_default();
        let interactions = store
            .interactions(scope, id)
            .await
            .map_err(|e| failed("loading interactions", e))?
            .unwrap_or_default();
        Ok(Some(RunDetail {
            run,
            tool_calls,
            interactions,
        }))
    }
}

#[server(endpoint = "load_runs")]
pub async fn load_runs(query: String) -> Result<RunsData, ServerFnError> {
    let (store, handoff) = (backend::store()?, backend::handoff()?);
    backend::runs_data(&store, &handoff, &backend::scope()?, &query).await
}

/// The counts of a first page that came without them
/// ([`CountsLater::Pending`]), for the same query and window.
#[server(endpoint = "load_counts")]
pub async fn load_counts(
    query: String,
    now_ms: i64,
    ticket: String,
) -> Result<crate::model::ListMeta, ServerFnError> {
    let (store, handoff) = (backend::store()?, backend::handoff()?);
    let scope = backend::scope()?;
    backend::counts(&store, &handoff, &scope, (&query, now_ms, &ticket)).await
}

#[server(endpoint = "more_runs")]
pub async fn more_runs(
    query: String,
    now_ms: i64,
    cursor: String,
) -> Result<ListPage, ServerFnError> {
    let (view, _) = crate::model::RunsView::from_query(&query);
    let mut list = view.list_query(now_ms);
    let cursor = crate::model::Cursor::decode(&cursor)
        .map_err(|e| ServerFnError::new(format!("cursor: {e}")))?;
    list.sort = cursor.sort;
    list.cursor = Some(cursor);
    backend::store()?
        .list_without_meta(&backend::scope()?, &list)
        .await
        .map_err(|e| backend::failed("loading more runs", e))
}

#[server(endpoint = "load_run")]
pub async fn load_run(id: String) -> Result<Option<RunDetail>, ServerFnError> {
    backend::run_detail(&backend::store()?, &backend::scope()?, &id).await
}

/// New runs of the view created after `after`, the current state of the
/// unfinished runs `watch` names (comma-separated ids: a form-encoded empty
/// list would not arrive at all), and with `with_meta` the view's counts.
#[server(endpoint = "poll_runs")]
pub async fn poll_runs(
    query: String,
    after: i64,
    watch: String,
    with_meta: bool,
) -> Result<LiveUpdate, ServerFnError> {
    let (view, _) = crate::model::RunsView::from_query(&query);
    let store = backend::store()?;
    let scope = backend::scope()?;
    let scope = scope.as_str();
    let mut list = view.list_query(crate::store::now_ms());
    let meta = match with_meta {
        false => None,
        true => Some(
            store
                .list_meta(scope, &list.filters, crate::model::Counts::Bounded)
                .await
                .map_err(|e| backend::failed("counting runs", e))?,
        ),
    };
    list.filters.after = Some(
        crate::model::EpochMs::new(after)
            .ok_or_else(|| ServerFnError::new(format!("after: out of range: {after}")))?,
    );
    list.limit = crate::model::MAX_LIMIT;
    // Live mode follows the newest runs whatever the page's sort.
    list.sort = crate::model::Sort::default();
    let new = store
        .list_without_meta(scope, &list)
        .await
        .map_err(|e| backend::failed("polling runs", e))?
        .executions;
    let watch: Vec<&str> = watch
        .split(',')
        .filter(|id| !id.is_empty())
        .take(100)
        .collect();
    let changed = store
        .get_many(scope, &watch)
        .await
        .map_err(|e| backend::failed("polling runs", e))?;
    Ok(LiveUpdate { new, changed, meta })
}

#[server(endpoint = "answer_run")]
pub async fn answer_run(
    id: String,
    action: String,
    content: Option<String>,
) -> Result<RunResponse, ServerFnError> {
    use crate::model::ResumeAction;
    let action = match action.as_str() {
        "accept" => ResumeAction::Accept,
        "decline" => ResumeAction::Decline,
        "cancel" => ResumeAction::Cancel,
        other => return Err(ServerFnError::new(format!("unknown action '{other}'"))),
    };
    let content = match content.filter(|c| !c.trim().is_empty()) {
        None => None,
        Some(text) => Some(
            serde_json::from_str(&text)
                .map_err(|e| ServerFnError::new(format!("the answer is not JSON: {e}")))?,
        ),
    };
    backend::engine()?
        .resume(&backend::scope()?, &id, action, content)
        .await
        .map_err(|e| backend::engine_failed("answering the run", e))
}

#[server(endpoint = "cancel_run")]
pub async fn cancel_run(id: String) -> Result<RunResponse, ServerFnError> {
    backend::engine()?
        .cancel(&backend::scope()?, &id)
        .await
        .map_err(|e| backend::engine_failed("cancelling the run", e))
}

#[server(endpoint = "rerun_run")]
pub async fn rerun_run(id: String) -> Result<RunResponse, ServerFnError> {
    backend::engine()?
        .rerun(&backend::scope()?, &id, None)
        .await
        .map_err(|e| backend::engine_failed("rerunning", e))
}
