//! PostgreSQL: pg_trgm GIN indexes searched with ILIKE (they answer
//! `%needle%`): over `execution_code_search`, a copy of each run's code, and
//! over `execution.error_text` itself (migration 0010 says why the two
//! differ).

use super::Derived;
use crate::model::TextField;
use crate::store::batch::insert_rows;
use crate::store::db::{Db, Sql, Tx};
use crate::store::write_ops::{ExecutionPatch, NewExecution};
use crate::store::StoreError;

pub const DERIVED: [Derived; 1] = [Derived::Table {
    name: "execution_code_search",
    columns: "scope_id, execution_id, code",
    computed: "SELECT scope_id, id AS execution_id, code FROM execution",
}];

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

/// ` <column> ILIKE <pattern> ESCAPE '\'`.
fn push_ilike(sql: &mut Sql, column: &str, needle: &str) {
    sql.push(" ")
        .push(column)
        .push(" ILIKE ")
        .bind(pattern(needle))
        .push(" ESCAPE '\\'");
}

/// The field's matches as `(scope_id, execution_id)` rows: `FROM … WHERE`
/// and the test, for a caller to close.
fn push_match_rows(sql: &mut Sql, field: TextField, needle: &str) {
    match field {
        TextField::Code => {
            sql.push(" FROM execution_code_search c WHERE");
            push_ilike(sql, "c.code", needle);
        }
        TextField::Error => {
            sql.push(" FROM execution c WHERE");
            push_ilike(sql, "c.error_text", needle);
        }
    }
}

/// The scope's matches, unclosed: `SELECT count(*) FROM (SELECT 1 …`.
pub fn push_matches(sql: &mut Sql, scope: &str, field: TextField, needle: &str) {
    sql.push("SELECT count(*) FROM (SELECT 1");
    push_match_rows(sql, field, needle);
    sql.push(" AND c.scope_id = ").bind(scope);
}

pub fn push_from_matches(sql: &mut Sql, field: TextField, needle: &str) {
    // The error's matches are runs themselves: OFFSET 0 keeps them a
    // subquery of their own, so they drive rather than fold into one scan.
    let (id, fence) = match field {
        TextField::Code => ("c.execution_id", ""),
        TextField::Error => ("c.id", " OFFSET 0"),
    };
    sql.push(" FROM (SELECT c.scope_id, ")
        .push(id)
        .push(" AS execution_id");
    push_match_rows(sql, field, needle);
    sql.push(fence)
        .push(") m JOIN execution e ON e.scope_id = m.scope_id AND e.id = m.execution_id");
}

/// For the code: not correlated with the outer run, so PostgreSQL reads the
/// trigram index once and semi-joins the matches (hashed), where the
/// correlated form (`c.scope_id = e.scope_id`) was evaluated run by run and
/// a 30-day meta over 72,000 runs did not answer within 60 s. The error's
/// index is on the runs: the planner weighs it with the rest.
pub fn push_filter(sql: &mut Sql, field: TextField, needle: &str) {
    match field {
        TextField::Code => {
            sql.push(" AND (e.scope_id, e.id) IN (SELECT c.scope_id, c.execution_id");
            push_match_rows(sql, field, needle);
            sql.push(")");
        }
        TextField::Error => push_row_test(sql, field, needle),
    }
}

pub fn push_row_test(sql: &mut Sql, field: TextField, needle: &str) {
    sql.push(" AND");
    push_ilike(
        sql,
        match field {
            TextField::Code => "e.code",
            TextField::Error => "e.error_text",
        },
        needle,
    );
}
