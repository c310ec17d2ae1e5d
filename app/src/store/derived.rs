//! Derived data, checked and rebuilt. The store answers from structures it
//! keeps beside the three tables a run is (`execution`, `execution_tool_call`,
//! `execution_interaction`): per-run tool paths, the tool path catalog, the
//! roll-ups, the per-scope totals and the text indexes. The writer keeps them
//! in step; rows written by anything else (an import by hand, a restore of
//! just the three tables, a repair) are invisible to them. Each structure
//! here says, in SQL, what it must hold when computed from the three tables:
//! `check` compares, `rebuild` makes them equal.

use super::db::{Dialect, Sql, Tx, WriterConn};
use super::rollup::{Pairs, Rollup, ROLLUPS};
use super::text_search;
use super::{Store, StoreError};

/// One derived structure and how it compares.
struct Structure {
    name: &'static str,
    /// Columns compared and rebuilt, in the order `computed` selects them.
    columns: String,
    /// The structure's rows as they should be, from the three tables.
    computed: String,
    /// Rows of the table that take part in the comparison (roll-ups keep
    /// rows counted down to zero).
    kept: &'static str,
    /// Extra rows are not drift (the catalog remembers every path a scope
    /// has called, also of runs the retention sweep deleted).
    extras_allowed: bool,
}

/// One side of a comparison.
#[derive(Clone, Copy)]
enum Side {
    /// The rows the three tables imply.
    Computed,
    /// The structure's rows that take part in comparisons.
    Kept,
    /// All the structure's rows.
    Table,
}

impl Structure {
    /// `SELECT <columns> FROM <side>`.
    fn push_select(&self, sql: &mut Sql, side: Side) {
        sql.push("SELECT ").push(&self.columns).push(" FROM ");
        match side {
            Side::Computed => sql.push("(").push(&self.computed).push(") computed"),
            Side::Kept => sql.push(self.name).push(self.kept),
            Side::Table => sql.push(self.name),
        };
    }

    /// `SELECT <columns> FROM <a> EXCEPT SELECT <columns> FROM <b>`.
    fn push_difference(&self, sql: &mut Sql, a: Side, b: Side) {
        self.push_select(sql, a);
        sql.push(" EXCEPT ");
        self.push_select(sql, b);
    }
}

/// What `check` found for one structure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drift {
    pub structure: &'static str,
    /// Rows the structure lacks (or holds with other values).
    pub missing: i64,
    /// Rows the structure holds that the three tables do not imply.
    pub extra: i64,
}

impl Drift {
    pub fn drifted(&self) -> bool {
        self.missing != 0 || self.extra != 0
    }
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.drifted() {
            write!(
                f,
                "{}: drifted ({} rows missing or different, {} extra)",
                self.structure, self.missing, self.extra
            )
        } else {
            write!(f, "{}: ok", self.structure)
        }
    }
}

/// How many steps `rebuild` reports progress in.
pub fn rebuild_steps(dialect: Dialect) -> usize {
    structures(dialect).len() + 1
}

fn structures(dialect: Dialect) -> Vec<Structure> {
    // Pair tables first, in this order (see `reconcile`).
    let mut all: Vec<Structure> = Pairs::ALL
        .into_iter()
        .map(|pairs| Structure {
            name: pairs.table(),
            columns: pairs.columns("", ""),
            computed: pairs.implied_by_calls(),
            kept: "",
            extras_allowed: false,
        })
        .collect();
    all.push(Structure {
        name: "tool_path_catalog",
        columns: "scope_id, tool_path".into(),
        computed: "SELECT DISTINCT scope_id, tool_path FROM execution_tool_call".into(),
        kept: "",
        extras_allowed: true,
    });
    all.extend(ROLLUPS.iter().map(|r| rollup_structure(r)));
    all.push(Structure {
        name: "execution_scope_total",
        columns: "scope_id, runs".into(),
        computed: "SELECT scope_id, count(*) AS runs FROM execution GROUP BY scope_id".into(),
        kept: " WHERE runs <> 0",
        extras_allowed: false,
    });
    for index in text_search::derived(dialect) {
        if let text_search::Derived::Table {
            name,
            columns,
            computed,
        } = index
        {
            all.push(Structure {
                name,
                columns: (*columns).into(),
                computed: (*computed).into(),
                kept: "",
                extras_allowed: false,
            });
        }
    }
    all
}

fn rollup_structure(rollup: &Rollup) -> Structure {
    let exprs: Vec<String> = rollup
        .keys
        .iter()
        .map(|k| format!("{} AS {}", k.source_expr(), k.column()))
        .collect();
    let slot = rollup.slot_expr("created_at");
    Structure {
        name: rollup.table,
        columns: format!("{}, runs", rollup.key_columns()),
        computed: format!(
            "SELECT scope_id, {slot} AS slot_start, {}, count(*) AS runs FROM {} GROUP BY scope_id, {slot}, {}",
            exprs.join(", "),
            rollup.source.rows_from_base(),
            rollup
                .keys
                .iter()
                .map(|k| k.source_expr())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        kept: " WHERE runs <> 0",
        extras_allowed: false,
    }
}

/// Check and rebuild compare millions of rows in one statement: past the
/// limit of a request's statements, so their transaction lifts it (SQLite's
/// limit is armed only by reads through the pool, which these are not).
async fn lift_statement_limit(tx: &mut Tx<'_>, dialect: Dialect) -> Result<(), StoreError> {
    if dialect == Dialect::Postgres {
        let mut sql = Sql::new(dialect);
        sql.push("SET LOCAL statement_timeout = 0");
        tx.execute(sql).await?;
    }
    Ok(())
}

/// Comparisons hold millions of rows in temporary b-trees: on SQLite they go
/// to temporary files for the duration (the store keeps them in memory for
/// its small sorts), so a check of a large history does not take gigabytes.
struct TempOnDisk(bool);

impl TempOnDisk {
    async fn enter(conn: &mut WriterConn, dialect: Dialect) -> Result<Self, StoreError> {
        if dialect == Dialect::Sqlite {
            conn.fetch_all::<(i64,)>("PRAGMA temp_store = FILE").await?;
        }
        Ok(Self(dialect == Dialect::Sqlite))
    }

    async fn leave(self, conn: &mut WriterConn) {
        if self.0 {
            if let Err(error) = conn.fetch_all::<(i64,)>("PRAGMA temp_store = MEMORY").await {
                tracing::warn!(%error, "could not restore temp_store");
            }
        }
    }
}

impl Store {
    /// Compares every derived structure with what the three tables imply.
    pub async fn check_derived(&self) -> Result<Vec<Drift>, StoreError> {
        self.flush().await;
        let mut conn = WriterConn::acquire(self.db()).await?;
        let temp = TempOnDisk::enter(&mut conn, self.dialect()).await?;
        let outcome = self.compare_all(&mut conn).await;
        temp.leave(&mut conn).await;
        outcome
    }

    async fn compare_all(&self, conn: &mut WriterConn) -> Result<Vec<Drift>, StoreError> {
        let dialect = self.dialect();
        let mut tx = Tx::begin(conn).await?;
        lift_statement_limit(&mut tx, dialect).await?;
        let mut out = Vec::new();
        for s in structures(dialect) {
            let mut sql = self.db().sql();
            sql.push("SELECT (SELECT count(*) FROM (");
            s.push_difference(&mut sql, Side::Computed, Side::Kept);
            sql.push(") a) AS missing, (SELECT count(*) FROM (");
            s.push_difference(&mut sql, Side::Kept, Side::Computed);
            sql.push(") b) AS extra");
            let (missing, extra): (i64, i64) = tx.fetch_one(sql).await?;
            out.push(Drift {
                structure: s.name,
                missing,
                extra: if s.extras_allowed { 0 } else { extra },
            });
        }
        for index in text_search::derived(dialect) {
            if let text_search::Derived::SelfChecking { name, check, .. } = index {
                let mut sql = Sql::new(dialect);
                sql.push(check);
                let intact = tx.execute(sql).await.is_ok();
                out.push(Drift {
                    structure: name,
                    missing: i64::from(!intact),
                    extra: 0,
                });
            }
        }
        // Nothing was written; ending the transaction is all this does.
        tx.commit().await?;
        Ok(out)
    }

    /// Makes every derived structure what the three tables imply, in one
    /// transaction (safe to rerun; readers see the old or the new). On
    /// PostgreSQL the three tables are locked against writes meanwhile, so
    /// the result matches one state of them. `step` is called after each
    /// structure with its name.
    pub async fn rebuild_derived(&self, mut step: impl FnMut(&str)) -> Result<(), StoreError> {
        self.flush().await;
        let dialect = self.dialect();
        let mut conn = WriterConn::acquire(self.db()).await?;
        let temp = TempOnDisk::enter(&mut conn, dialect).await?;
        let rebuilt = Self::reconcile(&mut conn, dialect, &mut step).await;
        temp.leave(&mut conn).await;
        rebuilt?;
        drop(conn);
        self.analyze().await
    }

    async fn reconcile(
        conn: &mut WriterConn,
        dialect: Dialect,
        step: &mut impl FnMut(&str),
    ) -> Result<(), StoreError> {
        let mut tx = Tx::begin(conn).await?;
        lift_statement_limit(&mut tx, dialect).await?;
        if dialect == Dialect::Postgres {
            let mut lock = Sql::new(dialect);
            lock.push(
                "LOCK TABLE execution, execution_tool_call, execution_interaction IN SHARE MODE",
            );
            tx.execute(lock).await?;
        }
        // Per-run tool paths first: the tool roll-ups are computed from them.
        // Only rows that differ are deleted or added: a structure that is
        // right costs one comparison, and deletes fire the count-down
        // triggers only for rows that really go.
        for s in structures(dialect) {
            let mut stale = Sql::new(dialect);
            stale
                .push("DELETE FROM ")
                .push(s.name)
                .push(" WHERE (")
                .push(&s.columns)
                .push(") NOT IN (");
            s.push_select(&mut stale, Side::Computed);
            stale.push(")");
            tx.execute(stale).await?;
            let mut missing = Sql::new(dialect);
            missing
                .push("INSERT INTO ")
                .push(s.name)
                .push(" (")
                .push(&s.columns)
                .push(") ");
            s.push_difference(&mut missing, Side::Computed, Side::Table);
            tx.execute(missing).await?;
            step(s.name);
        }
        for index in text_search::derived(dialect) {
            if let text_search::Derived::SelfChecking { rebuild, .. } = index {
                let mut sql = Sql::new(dialect);
                sql.push(rebuild);
                tx.execute(sql).await?;
            }
        }
        tx.commit().await?;
        step("text indexes");
        Ok(())
    }
}
