//! What the server loaded for the URL it rendered, handed to the browser
//! inside the page so hydration starts from the same data without asking
//! again. This is the job Leptos resources and `<Suspense>` did; doing it by
//! hand keeps their asynchronous hydration code out of the WASM bundle
//! (docs/performance.md).

use serde::{Deserialize, Serialize};

use super::{RunDetail, RunsData};

/// The id of the `<script type="application/json">` that carries the state.
pub const ELEMENT_ID: &str = "runs-state";

/// The page's data as first rendered. Errors are kept as the server's
/// messages (a trace id for its own faults): the page shows them in words.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PageState {
    /// The query string the page was rendered for, without the `?`.
    pub query: String,
    pub data: Result<RunsData, String>,
    /// The open run (`executionId`), `None` when none is open or the scope
    /// has no such run.
    pub detail: Result<Option<RunDetail>, String>,
    /// The scope the page shows, with "Log out", when the server requires
    /// tokens; `None` on a server open to its own machine.
    pub scope: Option<String>,
}

#[cfg(feature = "ssr")]
impl PageState {
    /// Loads the list and the open run for `query` at once.
    /// `shown_scope` is the scope to show in the top bar, if any.
    pub async fn load(
        (store, handoff): (&crate::store::Store, &super::CountsHandoff),
        scope: &str,
        query: &str,
        shown_scope: Option<String>,
    ) -> Self {
        use super::api::backend::{run_detail, runs_data};
        let open = crate::model::RunsView::from_query(query).0.execution_id;
        let (data, detail) = futures_util::join!(runs_data(store, handoff, scope, query), async {
            match &open {
                Some(id) => run_detail(store, scope, id).await,
                None => Ok(None),
            }
        });
        Self {
            query: query.to_owned(),
            data: data.map_err(message),
            detail: detail.map_err(message),
            scope: shown_scope,
        }
    }
}

/// A server function's error as the page shows it: the message alone,
/// without the transport's "error running server function:" before it.
#[cfg(feature = "ssr")]
fn message(e: leptos::prelude::ServerFnError) -> String {
    match e {
        leptos::prelude::ServerFnError::ServerError(message) => message,
        other => other.to_string(),
    }
}

#[cfg(feature = "ssr")]
impl PageState {
    /// The state as the text of a `<script>` element. Every `<` is escaped
    /// (it can only occur inside JSON strings, where `\u003c` means the
    /// same), so no run's code or logs can close the element early.
    pub fn to_script_text(&self) -> String {
        match serde_json::to_string(self) {
            Ok(json) => json.replace('<', "\\u003c"),
            Err(e) => {
                // Not expected for these types (every map key is a
                // string); logged rather than failing the page.
                tracing::error!(error = %e, "serializing the page state failed");
                String::new()
            }
        }
    }
}

#[cfg(feature = "hydrate")]
impl PageState {
    /// What the server embedded in the page, if it is there and readable.
    pub fn from_page() -> Option<Self> {
        let text = leptos::prelude::document()
            .get_element_by_id(ELEMENT_ID)?
            .text_content()?;
        // From bytes, as server functions' answers are read: `from_str`
        // would build a second deserializer of every type in the state
        // (~9 KB of brotli WASM).
        serde_json::from_slice(text.as_bytes()).ok()
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn script_text_cannot_close_its_element_and_reads_back() {
        let state = PageState {
            query: "code=%3C%2Fscript%3E".to_owned(),
            data: Err("</script><script>alert(1)</script>".to_owned()),
            detail: Ok(None),
            scope: Some("acme</script>".to_owned()),
        };
        let text = state.to_script_text();
        assert!(!text.contains('<'), "{text}");
        let back: PageState = serde_json::from_str(&text).unwrap();
        assert_eq!(back, state);
    }
}
