//! Reads by id: runs with their pending interaction, tool calls, interactions.

use super::rows::{EXECUTION_COLUMNS, INTERACTION_COLUMNS, TOOL_CALL_COLUMNS};
use super::{Store, StoreError};
use crate::model::{Execution, ExecutionEnvelope, Interaction, ToolCall};

impl Store {
    /// Point reads wait for writes queued before them: a caller that was
    /// told a run finished finds it finished (the engine does not wait for
    /// the database before answering).
    async fn read_own_writes(&self) {
        self.flush().await;
    }

    /// The run with this id in this scope; another scope's id is `None`.
    pub async fn get(
        &self,
        scope: &str,
        id: &str,
    ) -> Result<Option<ExecutionEnvelope>, StoreError> {
        Ok(self.get_many(scope, &[id]).await?.pop())
    }

    /// The runs with these ids in this scope, in no particular order; ids
    /// of other scopes or of no run are left out. One read, however many.
    pub async fn get_many(
        &self,
        scope: &str,
        ids: &[&str],
    ) -> Result<Vec<ExecutionEnvelope>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.read_own_writes().await;
        let mut sql = self.db().sql();
        sql.push("SELECT ")
            .push(EXECUTION_COLUMNS)
            .push(" FROM execution e WHERE e.scope_id = ")
            .bind(scope)
            .push(" AND e.id IN ")
            .bind_list(ids.iter().copied());
        let executions: Vec<Execution> = self.db().fetch_all(sql).await?;
        self.with_pending_interactions(scope, executions).await
    }

    /// Tool calls of a run in call order; `None` when the run is not in scope.
    pub async fn tool_calls(
        &self,
        scope: &str,
        execution_id: &str,
    ) -> Result<Option<Vec<ToolCall>>, StoreError> {
        self.read_own_writes().await;
        if !self.run_exists(scope, execution_id).await? {
            return Ok(None);
        }
        let mut sql = self.db().sql();
        sql.push("SELECT ")
            .push(TOOL_CALL_COLUMNS)
            .push(" FROM execution_tool_call WHERE scope_id = ")
            .bind(scope)
            .push(" AND execution_id = ")
            .bind(execution_id)
            .push(" ORDER BY started_at ASC, id ASC");
        Ok(Some(self.db().fetch_all(sql).await?))
    }

    /// Every interaction of a run, oldest first (answered ones too);
    /// `None` when the run is not in scope.
    pub async fn interactions(
        &self,
        scope: &str,
        execution_id: &str,
    ) -> Result<Option<Vec<Interaction>>, StoreError> {
        self.read_own_writes().await;
        if !self.run_exists(scope, execution_id).await? {
            return Ok(None);
        }
        let mut sql = self.db().sql();
        sql.push("SELECT ")
            .push(INTERACTION_COLUMNS)
            .push(" FROM execution_interaction WHERE scope_id = ")
            .bind(scope)
            .push(" AND execution_id = ")
            .bind(execution_id)
            .push(" ORDER BY created_at ASC, id ASC");
        Ok(Some(self.db().fetch_all(sql).await?))
    }

    /// Whether the scope has a run with this id (another scope's looks missing).
    async fn run_exists(&self, scope: &str, execution_id: &str) -> Result<bool, StoreError> {
        let mut exists = self.db().sql();
        exists
            .push("SELECT id FROM execution WHERE scope_id = ")
            .bind(scope)
            .push(" AND id = ")
            .bind(execution_id);
        Ok(self
            .db()
            .fetch_optional::<(String,)>(exists)
            .await?
            .is_some())
    }
}
