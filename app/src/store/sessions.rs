//! The page's login sessions, keyed by the hash of their cookie's id (the
//! server's access layer owns ids, hashing and expiry; this is storage).
//! Written directly, not through the run writer: they are few, and a login
//! must be readable by the very next request.

use super::{Store, StoreError};

/// A stored session.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionRow {
    pub scope_id: String,
    pub created_at: i64,
    pub last_seen_at: i64,
}

impl Store {
    pub async fn create_session(
        &self,
        id_hash: &str,
        scope: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut sql = self.db().sql();
        sql.push("INSERT INTO page_session (id_hash, scope_id, created_at, last_seen_at) VALUES (")
            .bind(id_hash)
            .push(", ")
            .bind(scope)
            .push(", ")
            .bind(now_ms)
            .push(", ")
            .bind(now_ms)
            .push(")");
        self.db().execute(sql).await?;
        Ok(())
    }

    pub async fn session(&self, id_hash: &str) -> Result<Option<SessionRow>, StoreError> {
        let mut sql = self.db().sql();
        sql.push("SELECT scope_id, created_at, last_seen_at FROM page_session WHERE id_hash = ")
            .bind(id_hash);
        Ok(self.db().fetch_optional(sql).await?)
    }

    pub async fn touch_session(&self, id_hash: &str, now_ms: i64) -> Result<(), StoreError> {
        let mut sql = self.db().sql();
        sql.push("UPDATE page_session SET last_seen_at = ")
            .bind(now_ms)
            .push(" WHERE id_hash = ")
            .bind(id_hash);
        self.db().execute(sql).await?;
        Ok(())
    }

    pub async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        let mut sql = self.db().sql();
        sql.push("DELETE FROM page_session WHERE id_hash = ")
            .bind(id_hash);
        self.db().execute(sql).await?;
        Ok(())
    }

    /// Deletes sessions last seen before `idle_before` or created before
    /// `created_before`; returns how many.
    pub async fn delete_expired_sessions(
        &self,
        idle_before: i64,
        created_before: i64,
    ) -> Result<u64, StoreError> {
        let mut sql = self.db().sql();
        sql.push("DELETE FROM page_session WHERE last_seen_at < ")
            .bind(idle_before)
            .push(" OR created_at < ")
            .bind(created_before);
        Ok(self.db().execute(sql).await?)
    }
}
