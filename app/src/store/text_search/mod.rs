//! Text search: the `code` and `error` filters, each a case-insensitive
//! substring of one of a run's texts. Each database answers them from
//! trigram indexes of its own, and everything about those indexes lives
//! here, one submodule per dialect: how they are fed, how filters read them,
//! and how `store check` and `store rebuild` compare and recompute them.

mod postgres;
mod sqlite;

use super::db::{Db, Dialect, Sql, Tx};
use super::write_ops::{ExecutionPatch, NewExecution};
use super::StoreError;
use crate::model::{Filters, TextField};

/// How a query answers its text filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextPlan {
    /// No text filter, or each one a predicate on each row.
    Scan,
    /// Few runs match this field's filter: start from its index's matches,
    /// then order them (the other text filter, if any, is tested on each).
    /// Walking the list order and probing each run would read the whole
    /// window to find a handful of rows.
    DriveFromIndex(TextField),
    /// A query that reads few runs (an estimate's sample) tests each run's
    /// texts themselves: semi-joining an index's matches would read every
    /// match of the scope to test a few thousand runs.
    TestEachRow,
}

impl TextPlan {
    pub fn drives(self) -> bool {
        matches!(self, Self::DriveFromIndex(_))
    }
}

/// Matches at most this many runs and a text filter drives the query.
pub const DRIVE_FROM_INDEX_BELOW: i64 = 5_000;

/// The threshold for `field`: on PostgreSQL the error's matches are counted
/// from the runs themselves, whose rows are wide (the code's from a narrow
/// copy), and counting up to 5,000 of them read 2,240 pages (33 ms) before
/// any list; 500 bounds that probe to a tenth.
fn drive_below(dialect: Dialect, field: TextField) -> i64 {
    match (dialect, field) {
        (Dialect::Postgres, TextField::Error) => 500,
        _ => DRIVE_FROM_INDEX_BELOW,
    }
}

/// Where the code index stood before a batch's runs were inserted, so it can
/// be fed exactly those runs afterwards.
pub struct IndexMark(Option<i64>);

/// Call before inserting the batch's runs.
pub async fn mark(db: &Db, tx: &mut Tx<'_>, new_runs: bool) -> Result<IndexMark, StoreError> {
    match db.dialect() {
        Dialect::Sqlite if new_runs => sqlite::mark(db, tx).await,
        _ => Ok(IndexMark(None)),
    }
}

/// Indexes the code of the runs a batch has just inserted. (Errors are
/// indexed by the database itself: see `migrations/*/0010_error_search.sql`.)
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

/// Chooses how `filters`' text filters are answered: the field whose index
/// matches fewest runs drives, if it matches fewer than its threshold
/// ([`DRIVE_FROM_INDEX_BELOW`], or less: see `drive_below`).
pub async fn plan(db: &Db, scope: &str, filters: &Filters) -> Result<TextPlan, StoreError> {
    let mut best: Option<(i64, TextField)> = None;
    for (field, needle) in filters.text_searches() {
        let Some(sql) = match_count_sql(db, scope, field, needle) else {
            continue;
        };
        let (n,): (i64,) = db.fetch_optional(sql).await?.unwrap_or((0,));
        if n < drive_below(db.dialect(), field) && best.is_none_or(|(least, _)| n < least) {
            best = Some((n, field));
        }
    }
    Ok(best.map_or(TextPlan::Scan, |(_, field)| TextPlan::DriveFromIndex(field)))
}

/// Counts the filter's matches in the index, up to the field's threshold;
/// `None` when the index cannot answer this needle.
fn match_count_sql(db: &Db, scope: &str, field: TextField, needle: &str) -> Option<Sql> {
    let mut sql = db.sql();
    let counted = match db.dialect() {
        Dialect::Sqlite => sqlite::push_matches(&mut sql, field, needle),
        Dialect::Postgres => {
            postgres::push_matches(&mut sql, scope, field, needle);
            true
        }
    };
    if !counted {
        return None;
    }
    sql.push(" LIMIT ")
        .bind(drive_below(db.dialect(), field))
        .push(") matches");
    Some(sql)
}

/// ` FROM <the index's matches> … JOIN execution e`: the runs of the needle,
/// for [`TextPlan::DriveFromIndex`].
pub fn push_from_matches(sql: &mut Sql, field: TextField, needle: &str) {
    match sql.dialect {
        Dialect::Sqlite => sqlite::push_from_matches(sql, field, needle),
        Dialect::Postgres => postgres::push_from_matches(sql, field, needle),
    }
}

/// ` AND <run e's field contains the needle>`, each text filter as `plan`
/// says (the driving one is the FROM clause, see [`push_from_matches`]).
pub fn push_filters(sql: &mut Sql, filters: &Filters, plan: TextPlan) {
    for (field, needle) in filters.text_searches() {
        match plan {
            TextPlan::DriveFromIndex(driver) if driver == field => {}
            // The driver's few matches: test them rather than join another
            // index's many.
            TextPlan::DriveFromIndex(_) | TextPlan::TestEachRow => {
                push_row_test(sql, field, needle)
            }
            TextPlan::Scan => match sql.dialect {
                Dialect::Sqlite => sqlite::push_filter(sql, field, needle),
                Dialect::Postgres => postgres::push_filter(sql, field, needle),
            },
        }
    }
}

/// ` AND` run e's own field holds `needle`, tested row by row (see
/// [`TextPlan::TestEachRow`]).
pub fn push_row_test(sql: &mut Sql, field: TextField, needle: &str) {
    match sql.dialect {
        Dialect::Sqlite => sqlite::push_row_test(sql, field, needle),
        Dialect::Postgres => postgres::push_row_test(sql, field, needle),
    }
}

/// How `store check` and `store rebuild` treat an index.
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

/// The indexes `store check` compares (an index of the database's own, such
/// as PostgreSQL's over errors, needs none).
pub fn derived(dialect: Dialect) -> &'static [Derived] {
    match dialect {
        Dialect::Sqlite => &sqlite::DERIVED,
        Dialect::Postgres => &postgres::DERIVED,
    }
}
