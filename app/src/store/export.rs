//! Export: every matching run as a stream, fetched in keyset pages so memory
//! stays flat however many runs match.

use futures_util::stream::BoxStream;
use futures_util::StreamExt;

use super::filter_sql::resolve;
use super::list::cursor_after;
use super::{Store, StoreError};
use crate::model::{Execution, ListQuery};

const EXPORT_PAGE: u32 = 1_000;

impl Store {
    /// Streams runs matching `query` in its sort order, ignoring its limit.
    pub fn export(
        &self,
        scope: &str,
        query: &ListQuery,
    ) -> BoxStream<'static, Result<Execution, StoreError>> {
        let store = self.clone();
        let scope = scope.to_owned();
        let mut query = query.clone();
        query.limit = EXPORT_PAGE;
        async_stream::try_stream! {
            let resolved = resolve(store.db(), &scope, &query.filters).await?;
            loop {
                let rows = store.page_rows(&scope, &query, &resolved).await?;
                let more = rows.len() > EXPORT_PAGE as usize;
                let mut last = None;
                for execution in rows.into_iter().take(EXPORT_PAGE as usize) {
                    last = Some(cursor_after(query.sort, &execution));
                    yield execution;
                }
                match (more, last) {
                    (true, Some(cursor)) => query.cursor = Some(cursor),
                    _ => break,
                }
            }
        }
        .boxed()
    }
}
