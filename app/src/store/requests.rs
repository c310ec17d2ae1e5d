//! Resume and cancel requests for runs another server runs (issue 16):
//! stored by the server that got them, taken by the owner. Storage only;
//! the engine's `cluster` module says what they mean.

use super::db::{Arg, Db};
use super::{Store, StoreError};

/// A request waiting for its run's owner.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct RunRequestRow {
    pub scope_id: String,
    pub execution_id: String,
    pub kind: String,
    pub interaction_id: String,
    pub action: Option<String>,
    pub content_json: Option<String>,
}

/// The channel owners listen on; payloads are run ids only.
pub const RUN_REQUESTS_CHANNEL: &str = "executor_run_requests";

impl Store {
    /// Records a request; `false` when one is there already (the first
    /// answer to an interaction wins).
    pub async fn put_run_request(
        &self,
        request: &RunRequestRow,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut sql = self.db().sql();
        sql.push("INSERT INTO run_request (scope_id, execution_id, kind, interaction_id, action, content_json, created_at) VALUES ")
            .bind_list([
                Arg::from(request.scope_id.as_str()),
                request.execution_id.as_str().into(),
                request.kind.as_str().into(),
                request.interaction_id.as_str().into(),
                request.action.clone().into(),
                request.content_json.clone().into(),
                now_ms.into(),
            ])
            .push(" ON CONFLICT DO NOTHING");
        Ok(self.db().execute(sql).await? == 1)
    }

    /// Wakes the owners (PostgreSQL; nothing to wake on SQLite).
    pub async fn notify_run_request(&self, execution_id: &str) -> Result<(), StoreError> {
        if let Db::Postgres(_) = self.db() {
            let mut sql = self.db().sql();
            sql.push("SELECT pg_notify(")
                .bind(RUN_REQUESTS_CHANNEL)
                .push(", ")
                .bind(execution_id)
                .push(")");
            self.db().execute(sql).await?;
        }
        Ok(())
    }

    /// The requests for runs `owner` runs.
    pub async fn owned_run_requests(&self, owner: &str) -> Result<Vec<RunRequestRow>, StoreError> {
        let mut sql = self.db().sql();
        sql.push("SELECT r.scope_id, r.execution_id, r.kind, r.interaction_id, r.action, r.content_json FROM run_request r JOIN execution e ON e.scope_id = r.scope_id AND e.id = r.execution_id WHERE e.owner_id = ")
            .bind(owner)
            .push(" ORDER BY r.created_at");
        Ok(self.db().fetch_all(sql).await?)
    }

    /// Takes a request to apply it; `false` when another took it.
    pub async fn take_run_request(&self, request: &RunRequestRow) -> Result<bool, StoreError> {
        let mut sql = self.db().sql();
        sql.push("DELETE FROM run_request WHERE scope_id = ")
            .bind(request.scope_id.as_str())
            .push(" AND execution_id = ")
            .bind(request.execution_id.as_str())
            .push(" AND kind = ")
            .bind(request.kind.as_str())
            .push(" AND interaction_id = ")
            .bind(request.interaction_id.as_str());
        Ok(self.db().execute(sql).await? == 1)
    }

    /// Drops requests older than `before` (their run ended or its owner
    /// died before taking them).
    pub async fn forget_run_requests(&self, before: i64) -> Result<u64, StoreError> {
        let mut sql = self.db().sql();
        sql.push("DELETE FROM run_request WHERE created_at < ")
            .bind(before);
        Ok(self.db().execute(sql).await?)
    }

    /// A listener on [`RUN_REQUESTS_CHANNEL`] (PostgreSQL only), on its own
    /// connection; `url` overrides the pool's (a direct connection when
    /// the pool goes through PgBouncer in transaction mode).
    pub async fn run_request_listener(
        &self,
        url: Option<&str>,
    ) -> Result<Option<sqlx::postgres::PgListener>, StoreError> {
        let Db::Postgres(pool) = self.db() else {
            return Ok(None);
        };
        let mut listener = match url {
            Some(url) => sqlx::postgres::PgListener::connect(url).await?,
            None => sqlx::postgres::PgListener::connect_with(pool).await?,
        };
        listener.listen(RUN_REQUESTS_CHANNEL).await?;
        Ok(Some(listener))
    }
}
