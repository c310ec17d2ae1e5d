//! Multi-row statements of fixed shapes, shared by the batch's phases.

use crate::store::db::{Arg, Db, Sql, Tx};
use crate::store::StoreError;

/// `INSERT … VALUES (…), (…)` in chunks of fixed sizes.
pub(in crate::store) async fn insert_rows<T>(
    db: &Db,
    tx: &mut Tx<'_>,
    head: &str,
    rows: &[T],
    to_args: impl Fn(&T) -> Vec<Arg>,
) -> Result<(), StoreError> {
    for chunk in chunks(rows) {
        let mut sql = db.sql();
        sql.push(head);
        push_values(&mut sql, chunk, &to_args);
        tx.execute(sql).await?;
    }
    Ok(())
}

/// `WITH v(…) AS (VALUES …) UPDATE … FROM v …`: one statement updates many rows
/// on both SQLite (3.33+) and PostgreSQL.
pub(super) async fn update_rows<T>(
    db: &Db,
    tx: &mut Tx<'_>,
    cte: &str,
    update: &str,
    rows: &[T],
    to_args: impl Fn(&T) -> Vec<Arg>,
) -> Result<(), StoreError> {
    for chunk in chunks(rows) {
        let mut sql = db.sql();
        sql.push("WITH ").push(cte).push(" AS (VALUES ");
        push_values(&mut sql, chunk, &to_args);
        sql.push(") ").push(update);
        tx.execute(sql).await?;
    }
    Ok(())
}

pub(super) fn push_values<T>(sql: &mut Sql, rows: &[T], to_args: &impl Fn(&T) -> Vec<Arg>) {
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind_list(to_args(row));
    }
}

/// Splits rows into chunks whose sizes come from a fixed set, so each kind of
/// statement has only a handful of distinct texts. Preparing a statement that
/// fires triggers is expensive (SQLite compiles the triggers into it), and the
/// driver caches prepared statements by text: fixed shapes make every batch
/// hit that cache instead of preparing anew. 256 rows of the widest statement
/// (16 columns) stay far below both databases' parameter limits.
pub(super) fn chunks<T>(rows: &[T]) -> impl Iterator<Item = &[T]> {
    const SIZES: [usize; 5] = [256, 64, 16, 4, 1];
    let mut rest = rows;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let size = SIZES.into_iter().find(|s| *s <= rest.len()).unwrap_or(1);
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        Some(chunk)
    })
}

#[cfg(test)]
mod tests {
    use super::chunks;

    #[test]
    fn chunks_cover_every_row_once_in_fixed_sizes() {
        let rows: Vec<u32> = (0..345).collect();
        let sizes: Vec<usize> = chunks(&rows).map(<[u32]>::len).collect();
        assert_eq!(sizes, vec![256, 64, 16, 4, 4, 1]);
        let flat: Vec<u32> = chunks(&rows).flatten().copied().collect();
        assert_eq!(flat, rows);
    }
}
