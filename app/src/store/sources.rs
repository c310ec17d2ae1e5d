//! Tool sources and secrets added through the API or the CLI, per scope.
//! This is storage only: the server owns what a source's spec means and
//! how a secret is sealed. Written directly, not through the run writer:
//! they are few, and an added source must be readable at once.

use super::db::Arg;
use super::{Store, StoreError};

/// A stored source: its name (the namespace) and its spec as JSON.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct SourceRow {
    pub scope_id: String,
    pub name: String,
    pub spec_json: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A stored secret, sealed by the server.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct SecretRow {
    pub name: String,
    pub sealed: String,
    pub updated_at: i64,
}

/// The two tables share their shape: (scope_id, name) → one text column.
#[derive(Clone, Copy)]
enum Table {
    Source,
    Secret,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Self::Source => "tool_source",
            Self::Secret => "secret",
        }
    }
    fn column(self) -> &'static str {
        match self {
            Self::Source => "spec_json",
            Self::Secret => "sealed",
        }
    }
}

impl Store {
    /// Adds or replaces; `created_at` stays the first time's.
    async fn upsert(
        &self,
        table: Table,
        scope: &str,
        name: &str,
        value: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let (t, c) = (table.name(), table.column());
        let mut sql = self.db().sql();
        sql.push(&format!(
            "INSERT INTO {t} (scope_id, name, {c}, created_at, updated_at) VALUES "
        ))
        .bind_list([scope.into(), name.into(), value.into(), Arg::from(now_ms), now_ms.into()])
        .push(&format!(
            " ON CONFLICT (scope_id, name) DO UPDATE SET {c} = excluded.{c}, updated_at = excluded.updated_at"
        ));
        self.db().execute(sql).await?;
        Ok(())
    }

    /// Whether a row was there to delete.
    async fn delete_named(
        &self,
        table: Table,
        scope: &str,
        name: &str,
    ) -> Result<bool, StoreError> {
        let mut sql = self.db().sql();
        sql.push(&format!("DELETE FROM {} WHERE scope_id = ", table.name()))
            .bind(scope)
            .push(" AND name = ")
            .bind(name);
        Ok(self.db().execute(sql).await? > 0)
    }

    pub async fn put_source(
        &self,
        scope: &str,
        name: &str,
        spec_json: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.upsert(Table::Source, scope, name, spec_json, now_ms)
            .await
    }

    pub async fn delete_source(&self, scope: &str, name: &str) -> Result<bool, StoreError> {
        self.delete_named(Table::Source, scope, name).await
    }

    /// Every scope's sources (loaded at start), by scope and name.
    pub async fn all_sources(&self) -> Result<Vec<SourceRow>, StoreError> {
        let mut sql = self.db().sql();
        sql.push(
            "SELECT scope_id, name, spec_json, created_at, updated_at FROM tool_source ORDER BY scope_id, name",
        );
        Ok(self.db().fetch_all(sql).await?)
    }

    /// Every stored source's scope, name and last change: what a server
    /// compares with what it loaded (cheap: no specs).
    pub async fn source_versions(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
        let mut sql = self.db().sql();
        sql.push("SELECT scope_id, name, updated_at FROM tool_source");
        Ok(self.db().fetch_all(sql).await?)
    }

    pub async fn source(&self, scope: &str, name: &str) -> Result<Option<SourceRow>, StoreError> {
        let mut sql = self.db().sql();
        sql.push("SELECT scope_id, name, spec_json, created_at, updated_at FROM tool_source WHERE scope_id = ")
            .bind(scope)
            .push(" AND name = ")
            .bind(name);
        Ok(self.db().fetch_optional(sql).await?)
    }

    pub async fn put_secret(
        &self,
        scope: &str,
        name: &str,
        sealed: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.upsert(Table::Secret, scope, name, sealed, now_ms)
            .await
    }

    pub async fn delete_secret(&self, scope: &str, name: &str) -> Result<bool, StoreError> {
        self.delete_named(Table::Secret, scope, name).await
    }

    pub async fn secret(&self, scope: &str, name: &str) -> Result<Option<SecretRow>, StoreError> {
        let mut sql = self.db().sql();
        sql.push("SELECT name, sealed, updated_at FROM secret WHERE scope_id = ")
            .bind(scope)
            .push(" AND name = ")
            .bind(name);
        Ok(self.db().fetch_optional(sql).await?)
    }

    /// A scope's secrets, by name (sealed: the caller lists names only).
    pub async fn secrets(&self, scope: &str) -> Result<Vec<SecretRow>, StoreError> {
        let mut sql = self.db().sql();
        sql.push("SELECT name, sealed, updated_at FROM secret WHERE scope_id = ")
            .bind(scope)
            .push(" ORDER BY name");
        Ok(self.db().fetch_all(sql).await?)
    }
}
