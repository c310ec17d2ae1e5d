//! Server functions the page calls. They reach the same store as the JSON
//! routes through Leptos context.

use leptos::prelude::*;

use crate::model::ListPage;

#[server]
pub async fn list_runs() -> Result<ListPage, ServerFnError> {
    use crate::model::{ListQuery, LOCAL_SCOPE};
    let store = expect_context::<crate::store::Store>();
    store
        .list(LOCAL_SCOPE, &ListQuery::default())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "listing runs for the page failed");
            ServerFnError::new("could not load runs")
        })
}
