//! Multi-row statements of fixed shapes, shared by the batch's phases.

use crate::store::db::{AnyRow, Arg, Db, Sql, Tx};
use crate::store::StoreError;

/// `INSERT … VALUES (…), (…)` in chunks of fixed sizes.
pub(in crate::store) async fn insert_rows<T>(
    db: &Db,
    tx: &mut Tx<'_>,
    head: &str,
    rows: &[T],
    to_args: impl Fn(&T) -> Vec<Arg>,
) -> Result<(), StoreError> {
    execute_chunks(tx, rows, |chunk| {
        let mut sql = db.sql();
        sql.push(head);
        push_values(&mut sql, chunk, &to_args);
        sql
    })
    .await
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
    execute_chunks(tx, rows, |chunk| {
        let mut sql = db.sql();
        sql.push("WITH ").push(cte).push(" AS (VALUES ");
        push_values(&mut sql, chunk, &to_args);
        sql.push(") ").push(update);
        sql
    })
    .await
}

/// Executes the statement `build` makes of each chunk of `rows` (see
/// [`chunks`]), building the next while the database runs the one before:
/// the database works on a thread (SQLite) or a server (PostgreSQL) of its
/// own, which otherwise waited for every statement's arguments to be cloned
/// and laid out (ingest of a million runs: 4,577 -> 4,940 runs/s).
pub(super) async fn execute_chunks<T>(
    tx: &mut Tx<'_>,
    rows: &[T],
    build: impl Fn(&[T]) -> Sql,
) -> Result<(), StoreError> {
    let mut chunks = chunks(rows);
    let mut next = chunks.next().map(&build);
    while let Some(sql) = next.take() {
        let (done, following) =
            futures_util::join!(tx.execute(sql), async { chunks.next().map(&build) });
        done?;
        next = following;
    }
    Ok(())
}

/// [`execute_chunks`] for statements that answer rows: all of them.
pub(super) async fn fetch_chunks<T, R: AnyRow>(
    tx: &mut Tx<'_>,
    rows: &[T],
    build: impl Fn(&[T]) -> Sql,
) -> Result<Vec<R>, StoreError> {
    let mut chunks = chunks(rows);
    let mut next = chunks.next().map(&build);
    let mut answer = Vec::new();
    while let Some(sql) = next.take() {
        let (done, following) =
            futures_util::join!(tx.fetch_all::<R>(sql), async { chunks.next().map(&build) });
        answer.extend(done?);
        next = following;
    }
    Ok(answer)
}

pub(in crate::store) fn push_values<T>(
    sql: &mut Sql,
    rows: &[T],
    to_args: &impl Fn(&T) -> Vec<Arg>,
) {
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
