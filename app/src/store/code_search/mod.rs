//! Code search: the `code` filter, a case-insensitive substring of a run's
//! code. Each database answers it from a trigram index of its own, and
//! everything about that index lives here, one submodule per dialect: how
//! the writer feeds it, how filters read it, and how `store check` and
//! `store rebuild` compare and recompute it.

mod postgres;
mod sqlite;

use super::db::{Db, Dialect, Sql, Tx};
use super::write_ops::{ExecutionPatch, NewExecution};
use super::StoreError;

/// How a code filter is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodePlan {
    /// No code filter, or a predicate on each row.
    Scan,
    /// Few runs match: start from the trigram index's matches, then order
    /// them. Walking the list order and probing each run would read the
    /// whole window to find a handful of rows.
    DriveFromIndex,
    /// A query that reads few runs (an estimate's sample) tests each run's
    /// code itself: semi-joining the index's matches would read every match
    /// of the scope to test a few thousand runs.
    TestEachRow,
}

/// Matches at most this many runs and the code filter drives the query.
pub const DRIVE_FROM_INDEX_BELOW: i64 = 5_000;

/// Where the index stood before a batch's runs were inserted, so it can be
/// fed exactly those runs afterwards.
pub struct IndexMark(Option<i64>);

/// Call before inserting the batch's runs.
pub async fn mark(db: &Db, tx: &mut Tx<'_>, new_runs: bool) -> Result<IndexMark, StoreError> {
    match db.dialect() {
        Dialect::Sqlite if new_runs => sqlite::mark(db, tx).await,
        _ => Ok(IndexMark(None)),
    }
}

/// Indexes the runs a batch has just inserted.
pub async fn index_new_runs(
    db: &Db,
    tx: &mut Tx<'_>,
    mark: IndexMark,
    runs: &[(&NewExecution, ExecutionPatch)],
) -> Result<(), StoreError> {
    match db.dialect() {
        Dialect::Sqlite => sqlite::index_new_runs(db, tx, mark).await,
        Dialect::Postgres => postgres::index_new_runs(db, tx, runs).await,
    }
}

/// Counts the filter's matches in the index, up to [`DRIVE_FROM_INDEX_BELOW`];
/// `None` when the index cannot answer this needle.
pub fn match_count_sql(db: &Db, scope: &str, needle: &str) -> Option<Sql> {
    let mut sql = db.sql();
    let counted = match db.dialect() {
        Dialect::Sqlite => sqlite::push_matches(&mut sql, needle),
        Dialect::Postgres => {
            postgres::push_matches(&mut sql, scope, needle);
            true
        }
    };
    if !counted {
        return None;
    }
    sql.push(" LIMIT ")
        .bind(DRIVE_FROM_INDEX_BELOW)
        .push(") matches");
    Some(sql)
}

/// ` FROM <the index's matches> … JOIN execution e`: the runs of the needle,
/// for [`CodePlan::DriveFromIndex`].
pub fn push_from_matches(sql: &mut Sql, needle: &str) {
    match sql.dialect {
        Dialect::Sqlite => sqlite::push_from_matches(sql, needle),
        Dialect::Postgres => postgres::push_from_matches(sql, needle),
    }
}

/// ` AND <run e's code contains the needle>`.
pub fn push_filter(sql: &mut Sql, needle: &str) {
    match sql.dialect {
        Dialect::Sqlite => sqlite::push_filter(sql, needle),
        Dialect::Postgres => postgres::push_filter(sql, needle),
    }
}

/// ` AND` the run's own code holds `needle`, tested row by row (see
/// [`CodePlan::TestEachRow`]).
pub fn push_row_test(sql: &mut Sql, needle: &str) {
    match sql.dialect {
        Dialect::Sqlite => sqlite::push_row_test(sql, needle),
        Dialect::Postgres => postgres::push_row_test(sql, needle),
    }
}

/// How `store check` and `store rebuild` treat the index.
pub enum Derived {
    /// A table compared and reconciled like the other derived structures.
    Table {
        name: &'static str,
        columns: &'static str,
        computed: &'static str,
    },
    /// An index that checks and rebuilds itself with these statements.
    SelfChecking {
        name: &'static str,
        check: &'static str,
        rebuild: &'static str,
    },
}

pub fn derived(dialect: Dialect) -> Derived {
    match dialect {
        Dialect::Sqlite => sqlite::DERIVED,
        Dialect::Postgres => postgres::DERIVED,
    }
}
