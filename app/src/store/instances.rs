//! Server instances on one database (issue 16): each process registers
//! itself with a heartbeat that also renews the leases of the runs it
//! owns; work only one server may do at a time (reaping dead servers'
//! runs, the retention sweep) takes a PostgreSQL advisory lock.

use super::batch::push_values;
use super::db::{Arg, Dialect, WriterConn};
use super::{Store, StoreError};

/// A live (or lately live) server, as `executor servers list` shows it.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct InstanceRow {
    pub id: String,
    pub address: String,
    pub started_at: i64,
    pub heartbeat_at: i64,
    /// Its unfinished runs.
    pub runs: i64,
}

/// Work one server does at a time, by its advisory lock key.
#[derive(Clone, Copy, Debug)]
pub enum Exclusive {
    Reaper,
    Sweeper,
}

impl Exclusive {
    /// Its advisory lock key ("runs" and a number, out of others' way).
    fn key(self) -> i64 {
        match self {
            Self::Reaper => 0x7275_6e73_0001,
            Self::Sweeper => 0x7275_6e73_0002,
        }
    }
}

const UNFINISHED: &str = "status IN ('pending', 'running', 'waiting_for_interaction')";

impl Store {
    pub async fn register_instance(
        &self,
        id: &str,
        address: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut sql = self.db().sql();
        sql.push("INSERT INTO server_instance (id, address, started_at, heartbeat_at) VALUES ")
            .bind_list([id.into(), address.into(), Arg::from(now_ms), now_ms.into()]);
        self.db().execute(sql).await?;
        Ok(())
    }

    /// The instance is alive: its row and its runs' leases, to `lease_until`.
    /// Returns how many runs were renewed. One statement for all of them.
    pub async fn heartbeat(
        &self,
        id: &str,
        now_ms: i64,
        lease_until: i64,
    ) -> Result<u64, StoreError> {
        let mut sql = self.db().sql();
        sql.push("UPDATE server_instance SET heartbeat_at = ")
            .bind(now_ms)
            .push(" WHERE id = ")
            .bind(id);
        if self.db().execute(sql).await? == 0 {
            // Forgotten as dead (a long pause): it is alive, say so again.
            self.register_instance(id, "", now_ms).await?;
        }
        let mut sql = self.db().sql();
        sql.push("UPDATE execution SET lease_expires_at = ")
            .bind(lease_until)
            .push(" WHERE owner_id = ")
            .bind(id)
            // Not the runs another server took (their lease cleared).
            .push(" AND lease_expires_at IS NOT NULL AND ")
            .push(UNFINISHED);
        Ok(self.db().execute(sql).await?)
    }

    /// A server that stops cleanly leaves the list at once.
    pub async fn deregister_instance(&self, id: &str) -> Result<(), StoreError> {
        let mut sql = self.db().sql();
        sql.push("DELETE FROM server_instance WHERE id = ").bind(id);
        self.db().execute(sql).await?;
        Ok(())
    }

    /// Forgets instances silent since `before` (their runs are reaped by
    /// their leases).
    pub async fn forget_instances(&self, before: i64) -> Result<u64, StoreError> {
        let mut sql = self.db().sql();
        sql.push("DELETE FROM server_instance WHERE heartbeat_at < ")
            .bind(before);
        Ok(self.db().execute(sql).await?)
    }

    /// Of `runs` (scope, id), those another server took over: recorded
    /// with an owner other than `owner`, or none, or with their lease
    /// cleared by a reaper. Runs not recorded (yet) are not among them.
    pub async fn taken_over<'a>(
        &self,
        owner: &str,
        runs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Vec<String>, StoreError> {
        let runs: Vec<(&str, &str)> = runs.into_iter().collect();
        let mut lost = Vec::new();
        for chunk in runs.chunks(256) {
            let mut sql = self.db().sql();
            sql.push("WITH v(scope_id, id) AS (VALUES ");
            push_values(&mut sql, chunk, &|(scope, id)| {
                vec![(*scope).into(), (*id).into()]
            });
            sql.push(") SELECT e.id FROM execution e JOIN v ON e.scope_id = v.scope_id AND e.id = v.id WHERE e.lease_expires_at IS NULL OR e.owner_id IS NULL OR e.owner_id <> ")
                .bind(owner);
            let rows: Vec<(String,)> = self.db().fetch_all(sql).await?;
            lost.extend(rows.into_iter().map(|(id,)| id));
        }
        Ok(lost)
    }

    /// Every instance with its unfinished runs, the newest first.
    pub async fn instances(&self) -> Result<Vec<InstanceRow>, StoreError> {
        let mut sql = self.db().sql();
        sql.push("SELECT i.id, i.address, i.started_at, i.heartbeat_at, (SELECT COUNT(*) FROM execution e WHERE e.owner_id = i.id AND e.")
            .push(UNFINISHED)
            .push(") AS runs FROM server_instance i ORDER BY i.started_at DESC, i.id");
        Ok(self.db().fetch_all(sql).await?)
    }

    /// Runs `work` unless another server is doing it (PostgreSQL: a
    /// session advisory lock, released when the work ends or the
    /// connection dies; SQLite: one server per file, so always). `None`
    /// when another server holds it.
    pub async fn exclusively<T, F: std::future::Future<Output = T>>(
        &self,
        which: Exclusive,
        work: F,
    ) -> Result<Option<T>, StoreError> {
        if self.dialect() == Dialect::Sqlite {
            return Ok(Some(work.await));
        }
        let key = which.key();
        let mut conn = WriterConn::acquire(self.db()).await?;
        let (taken,): (bool,) = conn
            .fetch_all(&format!("SELECT pg_try_advisory_lock({key})"))
            .await?
            .into_iter()
            .next()
            .unwrap_or((false,));
        if !taken {
            return Ok(None);
        }
        let out = work.await;
        let _: Vec<(bool,)> = conn
            .fetch_all(&format!("SELECT pg_advisory_unlock({key})"))
            .await?;
        Ok(Some(out))
    }
}
