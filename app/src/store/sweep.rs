//! Retention: deleting old runs with their children (the foreign keys
//! cascade, and the roll-up triggers count the deletions down).

use super::{Store, StoreError};

const SWEEP_CHUNK: i64 = 1_000;

impl Store {
    /// Deletes this scope's runs created before `cutoff_ms`; returns how many.
    /// Works in chunks so a large sweep never holds the write lock for long.
    pub async fn sweep(&self, scope: &str, cutoff_ms: i64) -> Result<u64, StoreError> {
        self.inner.writer.flush().await;
        let mut deleted = 0;
        loop {
            let mut sql = self.db().sql();
            sql.push("DELETE FROM execution WHERE scope_id = ")
                .bind(scope)
                .push(" AND id IN (SELECT id FROM execution WHERE scope_id = ")
                .bind(scope)
                .push(" AND created_at < ")
                .bind(cutoff_ms)
                .push(" ORDER BY created_at LIMIT ")
                .bind(SWEEP_CHUNK)
                .push(")");
            let n = self.db().execute(sql).await?;
            deleted += n;
            if n < SWEEP_CHUNK as u64 {
                break;
            }
        }
        for rollup in super::rollup::ROLLUPS {
            let mut sql = self.db().sql();
            sql.push("DELETE FROM ")
                .push(rollup.table)
                .push(" WHERE scope_id = ")
                .bind(scope)
                .push(" AND runs <= 0");
            self.db().execute(sql).await?;
        }
        Ok(deleted)
    }

    /// Every scope that has runs, for sweeping them all.
    pub async fn scopes(&self) -> Result<Vec<String>, StoreError> {
        let mut sql = self.db().sql();
        sql.push("SELECT DISTINCT scope_id FROM execution_hourly WHERE runs > 0");
        let rows: Vec<(String,)> = self.db().fetch_all(sql).await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }
}
