//! The one place where SQLite and PostgreSQL differ at the driver level: a pool
//! of either kind, a SQL builder that writes the right placeholders, and fetch
//! helpers that bind a dialect-neutral argument list. Everything above this
//! module writes SQL once.

use super::statement_limit::{PgLease, SqliteLimit};
use sqlx::postgres::{PgPool, PgRow};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::FromRow;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The database a URL names: `sqlite:PATH` / `sqlite://PATH` or
    /// `postgres://…` / `postgresql://…`; `None` for anything else.
    pub fn of_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}

#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A bound value. Nulls carry their type so PostgreSQL can infer parameter types.
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    Text(Option<String>),
    Int(Option<i64>),
    Bool(Option<bool>),
}

/// PostgreSQL text cannot hold NUL, SQLite's FTS5 queries end at one: text
/// goes to either database with U+FFFD in its place, so both store and
/// search the same. (Run code with NUL is refused at the edge instead:
/// what a caller submitted is kept as submitted.)
fn storable(text: String) -> String {
    if text.contains('\0') {
        text.replace('\0', "\u{FFFD}")
    } else {
        text
    }
}

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(Some(storable(v.to_owned())))
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(Some(storable(v)))
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::Text(v.map(storable))
    }
}
impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Bool(Some(v))
    }
}
impl From<Option<bool>> for Arg {
    fn from(v: Option<bool>) -> Self {
        Arg::Bool(v)
    }
}

/// SQL text plus its arguments, built for one dialect.
#[derive(Clone, Debug)]
pub struct Sql {
    pub dialect: Dialect,
    pub text: String,
    pub args: Vec<Arg>,
}

impl Sql {
    pub fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            text: String::with_capacity(256),
            args: Vec::new(),
        }
    }

    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.text.push_str(sql);
        self
    }

    /// Appends a placeholder for `arg`.
    pub fn bind(&mut self, arg: impl Into<Arg>) -> &mut Self {
        self.args.push(arg.into());
        match self.dialect {
            Dialect::Sqlite => self.text.push('?'),
            Dialect::Postgres => {
                self.text.push('$');
                self.text.push_str(&self.args.len().to_string());
            }
        }
        self
    }

    /// Appends `(?, ?, …)` for a list of values.
    pub fn bind_list<A: Into<Arg>>(&mut self, items: impl IntoIterator<Item = A>) -> &mut Self {
        self.push("(");
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(item);
        }
        self.push(")")
    }
}

macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut q = $query;
        for arg in $args {
            q = match arg {
                Arg::Text(v) => q.bind(v),
                Arg::Int(v) => q.bind(v),
                Arg::Bool(v) => q.bind(v),
            };
        }
        q
    }};
}

/// Rows that decode from both drivers.
pub trait AnyRow:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin + 'static
{
}
impl<T> AnyRow for T where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin + 'static
{
}

/// Reads through [`Db::fetch_all`] and [`Db::fetch_optional`] run under
/// the statement limit on both databases (see `statement_limit`).
impl Db {
    pub fn dialect(&self) -> Dialect {
        match self {
            Db::Sqlite(_) => Dialect::Sqlite,
            Db::Postgres(_) => Dialect::Postgres,
        }
    }

    pub fn sql(&self) -> Sql {
        Sql::new(self.dialect())
    }

    pub async fn fetch_all<T: AnyRow>(&self, sql: Sql) -> Result<Vec<T>, sqlx::Error> {
        match self {
            Db::Sqlite(pool) => {
                let mut conn = pool.acquire().await?;
                let _limit = SqliteLimit::arm(&mut conn).await?;
                bind_all!(sqlx::query_as::<_, T>(&sql.text), sql.args)
                    .fetch_all(&mut *conn)
                    .await
            }
            Db::Postgres(pool) => {
                PgLease::read(pool, async move |conn| {
                    bind_all!(sqlx::query_as::<_, T>(&sql.text), sql.args)
                        .fetch_all(conn)
                        .await
                })
                .await
            }
        }
    }

    pub async fn fetch_optional<T: AnyRow>(&self, sql: Sql) -> Result<Option<T>, sqlx::Error> {
        match self {
            Db::Sqlite(pool) => {
                let mut conn = pool.acquire().await?;
                let _limit = SqliteLimit::arm(&mut conn).await?;
                bind_all!(sqlx::query_as::<_, T>(&sql.text), sql.args)
                    .fetch_optional(&mut *conn)
                    .await
            }
            Db::Postgres(pool) => {
                PgLease::read(pool, async move |conn| {
                    bind_all!(sqlx::query_as::<_, T>(&sql.text), sql.args)
                        .fetch_optional(conn)
                        .await
                })
                .await
            }
        }
    }

    pub async fn execute(&self, sql: Sql) -> Result<u64, sqlx::Error> {
        match self {
            Db::Sqlite(pool) => Ok(bind_all!(sqlx::query(&sql.text), sql.args)
                .execute(pool)
                .await?
                .rows_affected()),
            Db::Postgres(pool) => Ok(bind_all!(sqlx::query(&sql.text), sql.args)
                .execute(pool)
                .await?
                .rows_affected()),
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(pool) => pool.close().await,
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

/// A connection the batching writer keeps for itself: SQLite's page cache
/// lives in the connection, so reusing one keeps hot pages across batches.
pub enum WriterConn {
    Sqlite(sqlx::pool::PoolConnection<sqlx::Sqlite>),
    Postgres(sqlx::pool::PoolConnection<sqlx::Postgres>),
}

impl WriterConn {
    pub async fn acquire(db: &Db) -> Result<Self, sqlx::Error> {
        Ok(match db {
            Db::Sqlite(pool) => WriterConn::Sqlite(pool.acquire().await?),
            Db::Postgres(pool) => WriterConn::Postgres(pool.acquire().await?),
        })
    }

    /// A statement without arguments, outside any transaction.
    pub async fn fetch_all<T: AnyRow>(&mut self, sql: &str) -> Result<Vec<T>, sqlx::Error> {
        match self {
            WriterConn::Sqlite(c) => sqlx::query_as::<_, T>(sql).fetch_all(&mut **c).await,
            WriterConn::Postgres(c) => sqlx::query_as::<_, T>(sql).fetch_all(&mut **c).await,
        }
    }
}

/// A transaction on either database, for the batching writer.
pub enum Tx<'c> {
    Sqlite(sqlx::Transaction<'c, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'c, sqlx::Postgres>),
}

impl<'c> Tx<'c> {
    pub async fn begin(conn: &'c mut WriterConn) -> Result<Self, sqlx::Error> {
        use sqlx::Connection;
        Ok(match conn {
            WriterConn::Sqlite(c) => Tx::Sqlite(c.begin().await?),
            WriterConn::Postgres(c) => Tx::Postgres(c.begin().await?),
        })
    }

    pub async fn execute(&mut self, sql: Sql) -> Result<u64, sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => Ok(bind_all!(sqlx::query(&sql.text), sql.args)
                .execute(&mut **tx)
                .await?
                .rows_affected()),
            Tx::Postgres(tx) => Ok(bind_all!(sqlx::query(&sql.text), sql.args)
                .execute(&mut **tx)
                .await?
                .rows_affected()),
        }
    }

    pub async fn fetch_one<T: AnyRow>(&mut self, sql: Sql) -> Result<T, sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => {
                bind_all!(sqlx::query_as::<_, T>(&sql.text), sql.args)
                    .fetch_one(&mut **tx)
                    .await
            }
            Tx::Postgres(tx) => {
                bind_all!(sqlx::query_as::<_, T>(&sql.text), sql.args)
                    .fetch_one(&mut **tx)
                    .await
            }
        }
    }

    pub async fn fetch_all<T: AnyRow>(&mut self, sql: Sql) -> Result<Vec<T>, sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => {
                bind_all!(sqlx::query_as::<_, T>(&sql.text), sql.args)
                    .fetch_all(&mut **tx)
                    .await
            }
            Tx::Postgres(tx) => {
                bind_all!(sqlx::query_as::<_, T>(&sql.text), sql.args)
                    .fetch_all(&mut **tx)
                    .await
            }
        }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
    }
}
