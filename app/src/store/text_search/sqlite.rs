//! SQLite: FTS5 tables with the trigram tokenizer over `execution.code`
//! (`execution_code`) and `execution.error_text` (`execution_error`),
//! external content keyed by the run's rowid. A quoted phrase of trigrams is
//! an exact substring match, case-insensitive; needles shorter than three
//! characters have no trigram and scan instead.

use super::{Derived, IndexMark};
use crate::model::TextField;
use crate::store::db::{Db, Sql, Tx};
use crate::store::StoreError;

pub const DERIVED: [Derived; 2] = [
    Derived::SelfChecking {
        name: "execution_code (FTS5)",
        check: "INSERT INTO execution_code (execution_code, rank) VALUES ('integrity-check', 1)",
        rebuild: "INSERT INTO execution_code (execution_code) VALUES ('rebuild')",
    },
    Derived::SelfChecking {
        name: "execution_error (FTS5)",
        check: "INSERT INTO execution_error (execution_error, rank) VALUES ('integrity-check', 1)",
        rebuild: "INSERT INTO execution_error (execution_error) VALUES ('rebuild')",
    },
];

/// The field's FTS5 table and the run's column it indexes.
fn index(field: TextField) -> (&'static str, &'static str) {
    match field {
        TextField::Code => ("execution_code", "code"),
        TextField::Error => ("execution_error", "error_text"),
    }
}

/// The code index is fed from the rows a transaction adds: the single writer
/// makes every new rowid larger than the maximum before it. (Triggers feed
/// the error index: errors come with updates.)
pub async fn mark(db: &Db, tx: &mut Tx<'_>) -> Result<IndexMark, StoreError> {
    let mut sql = db.sql();
    sql.push("SELECT coalesce(max(rowid), 0) FROM execution");
    Ok(IndexMark(Some(tx.fetch_one::<(i64,)>(sql).await?.0)))
}

/// One statement for the whole batch: FTS5 flushes its pending terms at
/// every statement, so indexing row by row would cost ~150 µs a run.
pub async fn index_new_runs(db: &Db, tx: &mut Tx<'_>, mark: IndexMark) -> Result<(), StoreError> {
    let IndexMark(Some(from)) = mark else {
        return Ok(());
    };
    let mut sql = db.sql();
    sql.push(
        "INSERT INTO execution_code (rowid, code) SELECT rowid, code FROM execution WHERE rowid > ",
    )
    .bind(from);
    tx.execute(sql).await?;
    Ok(())
}

fn indexable(needle: &str) -> bool {
    needle.chars().count() >= 3
}

/// A quoted FTS5 phrase: with the trigram tokenizer, an exact substring.
fn phrase(needle: &str) -> String {
    format!("\"{}\"", needle.replace('"', "\"\""))
}

/// ` (SELECT rowid … FROM <index> WHERE <index> MATCH <needle>`, unclosed.
fn push_match_query(sql: &mut Sql, select: &str, field: TextField, needle: &str) {
    let (table, _) = index(field);
    sql.push(" (SELECT ")
        .push(select)
        .push(" FROM ")
        .push(table)
        .push(" WHERE ")
        .push(table)
        .push(" MATCH ")
        .bind(phrase(needle));
}

/// `SELECT count(*) FROM (SELECT … matches`; false when the needle is too
/// short for the index.
pub fn push_matches(sql: &mut Sql, field: TextField, needle: &str) -> bool {
    if !indexable(needle) {
        return false;
    }
    sql.push("SELECT count(*) FROM");
    push_match_query(sql, "rowid", field, needle);
    true
}

pub fn push_from_matches(sql: &mut Sql, field: TextField, needle: &str) {
    // CROSS JOIN fixes the join order in SQLite: matches first.
    sql.push(" FROM");
    push_match_query(sql, "rowid AS rid", field, needle);
    sql.push(") m CROSS JOIN execution e ON e.rowid = m.rid");
}

pub fn push_filter(sql: &mut Sql, field: TextField, needle: &str) {
    if indexable(needle) {
        sql.push(" AND e.rowid IN");
        push_match_query(sql, "rowid", field, needle);
        sql.push(")");
    } else {
        push_row_test(sql, field, needle);
    }
}

pub fn push_row_test(sql: &mut Sql, field: TextField, needle: &str) {
    let (_, column) = index(field);
    sql.push(" AND instr(lower(e.")
        .push(column)
        .push("), lower(")
        .bind(needle)
        .push(")) > 0");
}
