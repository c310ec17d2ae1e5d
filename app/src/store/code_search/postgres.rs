//! PostgreSQL: `execution_code_search`, a copy of each run's code with a
//! pg_trgm GIN index, searched with ILIKE (the index answers `%needle%`).

use super::Derived;
use crate::store::batch::insert_rows;
use crate::store::db::{Db, Sql, Tx};
use crate::store::write_ops::{ExecutionPatch, NewExecution};
use crate::store::StoreError;

pub const DERIVED: Derived = Derived::Table {
    name: "execution_code_search",
    columns: "scope_id, execution_id, code",
    computed: "SELECT scope_id, id AS execution_id, code FROM execution",
};

pub async fn index_new_runs(
    db: &Db,
    tx: &mut Tx<'_>,
    runs: &[(&NewExecution, ExecutionPatch)],
) -> Result<(), StoreError> {
    insert_rows(
        db,
        tx,
        "INSERT INTO execution_code_search (scope_id, execution_id, code) VALUES ",
        runs,
        |(e, _)| {
            vec![
                e.scope_id.clone().into(),
                e.id.clone().into(),
                e.code.clone().into(),
            ]
        },
    )
    .await
}

/// `%needle%` with ILIKE's wildcards escaped, so they match literally.
fn pattern(needle: &str) -> String {
    let escaped = needle
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

pub fn push_matches(sql: &mut Sql, scope: &str, needle: &str) {
    sql.push("SELECT count(*) FROM (SELECT 1 FROM execution_code_search WHERE scope_id = ")
        .bind(scope)
        .push(" AND code ILIKE ")
        .bind(pattern(needle))
        .push(" ESCAPE '\\'");
}

pub fn push_from_matches(sql: &mut Sql, needle: &str) {
    sql.push(" FROM (SELECT scope_id, execution_id FROM execution_code_search WHERE code ILIKE ")
        .bind(pattern(needle))
        .push(
            " ESCAPE '\\') m JOIN execution e ON e.scope_id = m.scope_id AND e.id = m.execution_id",
        );
}

/// Not correlated with the outer run: PostgreSQL then reads the trigram
/// index once and semi-joins the matches (hashed), where the correlated form
/// (`c.scope_id = e.scope_id`) was evaluated run by run and a 30-day meta
/// over 72,000 runs did not answer within 60 s.
pub fn push_filter(sql: &mut Sql, needle: &str) {
    sql.push(
        " AND (e.scope_id, e.id) IN (SELECT c.scope_id, c.execution_id \
         FROM execution_code_search c WHERE c.code ILIKE ",
    )
    .bind(pattern(needle))
    .push(" ESCAPE '\\')");
}

pub fn push_row_test(sql: &mut Sql, needle: &str) {
    sql.push(" AND e.code ILIKE ")
        .bind(pattern(needle))
        .push(" ESCAPE '\\'");
}
