//! Where statements run: executors over a pool ([`pool`]) or a connection ([`conn`]) that count
//! each statement, time it into `convgraph_sql_statement_duration_seconds` and cover it with a
//! `sql` span, and the pool's acquisitions ([`acquire`], [`begin`]), held meanwhile in a count
//! of tasks waiting for a connection ([`waiting`]).
//!
//! Counting costs an atomic add. It used to read sqlx's own per-statement event (target
//! `sqlx::query`), which makes sqlx copy each statement's text before emitting it; that event
//! now stays off unless an operator asks for it in `RUST_LOG`.
//!
//! A statement is what this code sends: a transaction's `BEGIN` and `COMMIT` are not counted.

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt as _, StreamExt as _, TryStreamExt as _};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgQueryResult, PgRow, PgStatement, PgTypeInfo};
use sqlx::{Describe, Either, Execute, Executor, PgConnection, PgPool, Postgres, Transaction};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tracing::Instrument as _;

static STATEMENTS: AtomicU64 = AtomicU64::new(0);
static WAITING: AtomicU64 = AtomicU64::new(0);

/// Statements this process has sent to PostgreSQL through these executors.
pub fn statements() -> u64 {
    STATEMENTS.load(Ordering::Relaxed)
}

/// Tasks waiting right now for a connection of a pool.
pub fn waiting() -> u64 {
    WAITING.load(Ordering::Relaxed)
}

/// Runs statements on a connection of `pool` (one acquired per statement, as sqlx does).
pub fn pool(pool: &PgPool) -> OnPool<'_> {
    OnPool(pool)
}

/// Runs statements on `conn` (a transaction's: `exec::conn(&mut tx)`).
pub fn conn(conn: &mut PgConnection) -> OnConn<'_> {
    OnConn(conn)
}

/// A connection of `pool`, counted in [`waiting`] until it is handed over.
pub async fn acquire(pool: &PgPool) -> Result<PoolConnection<Postgres>, sqlx::Error> {
    let _waiting = Waiting::enter();
    pool.acquire().await
}

/// A transaction on a connection of `pool`, counted in [`waiting`] until it has begun.
pub async fn begin(pool: &PgPool) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let _waiting = Waiting::enter();
    pool.begin().await
}

/// Sends `data`, rows in COPY's text format, to `statement` (`COPY … FROM STDIN`) on `conn`:
/// one statement, counted and timed like the others. Says how many rows went in.
pub async fn copy_in(
    conn: &mut PgConnection,
    statement: &str,
    data: &[u8],
) -> Result<u64, sqlx::Error> {
    let started = Started::new();
    let rows = async {
        let mut copy = conn.copy_in_raw(statement).await?;
        copy.send(data).await?;
        copy.finish().await
    }
    .instrument(span(statement))
    .await;
    drop(started);
    rows
}

/// An executor running each statement on a connection of its pool.
#[derive(Debug, Clone, Copy)]
pub struct OnPool<'p>(&'p PgPool);

/// An executor running each statement on one connection.
#[derive(Debug)]
pub struct OnConn<'c>(&'c mut PgConnection);

/// One statement from the moment it is sent: counted at once, its duration recorded when its
/// answer has been read (or abandoned).
struct Started(Instant);

impl Started {
    fn new() -> Self {
        STATEMENTS.fetch_add(1, Ordering::Relaxed);
        Self(Instant::now())
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        metrics::histogram!("convgraph_sql_statement_duration_seconds")
            .record(self.0.elapsed().as_secs_f64());
    }
}

/// Holds one task in [`waiting`] while it lives.
struct Waiting;

impl Waiting {
    fn enter() -> Self {
        WAITING.fetch_add(1, Ordering::Relaxed);
        Self
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        WAITING.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The span of one statement (debug level: exported as a trace span when traces are on, not
/// logged), with the statement's first word (read only when the span is on).
fn span(sql: &str) -> tracing::Span {
    tracing::debug_span!(
        "sql",
        db.system = "postgresql",
        db.operation = sql.split_whitespace().next().unwrap_or_default()
    )
}

type Item = Result<Either<PgQueryResult, PgRow>, sqlx::Error>;

/// `rows` with the statement's count, timing and span.
fn timed<'e>(sql: &str, rows: BoxStream<'e, Item>) -> BoxStream<'e, Item> {
    Timed {
        span: span(sql),
        _started: Started::new(),
        rows,
    }
    .boxed()
}

/// A statement's answer, read inside its span; dropping it ends the statement's timing.
struct Timed<'e> {
    span: tracing::Span,
    _started: Started,
    rows: BoxStream<'e, Item>,
}

impl futures::Stream for Timed<'_> {
    type Item = Item;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Item>> {
        let this = &mut *self;
        let _entered = this.span.enter();
        this.rows.poll_next_unpin(cx)
    }
}

impl<'c> Executor<'c> for OnConn<'c> {
    type Database = Postgres;

    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> BoxStream<'e, Item>
    where
        'c: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        let sql = query.sql();
        timed(sql, self.0.fetch_many(query))
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<PgRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        let span = span(query.sql());
        let started = Started::new();
        self.0
            .fetch_optional(query)
            .instrument(span)
            .map(move |row| {
                drop(started);
                row
            })
            .boxed()
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [PgTypeInfo],
    ) -> BoxFuture<'e, Result<PgStatement<'q>, sqlx::Error>>
    where
        'c: 'e,
    {
        self.0.prepare_with(sql, parameters)
    }

    fn describe<'e, 'q: 'e>(
        self,
        sql: &'q str,
    ) -> BoxFuture<'e, Result<Describe<Postgres>, sqlx::Error>>
    where
        'c: 'e,
    {
        self.0.describe(sql)
    }
}

impl<'p> Executor<'p> for OnPool<'_> {
    type Database = Postgres;

    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> BoxStream<'e, Item>
    where
        'p: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        let pool = self.0.clone();
        async_stream::try_stream! {
            let mut conn = acquire(&pool).await?;
            let mut rows = OnConn(&mut conn).fetch_many(query);
            while let Some(item) = rows.try_next().await? {
                yield item;
            }
        }
        .boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<PgRow>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        let pool = self.0.clone();
        async move {
            let mut conn = acquire(&pool).await?;
            OnConn(&mut conn).fetch_optional(query).await
        }
        .boxed()
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [PgTypeInfo],
    ) -> BoxFuture<'e, Result<PgStatement<'q>, sqlx::Error>>
    where
        'p: 'e,
    {
        let pool = self.0.clone();
        async move { acquire(&pool).await?.prepare_with(sql, parameters).await }.boxed()
    }

    fn describe<'e, 'q: 'e>(
        self,
        sql: &'q str,
    ) -> BoxFuture<'e, Result<Describe<Postgres>, sqlx::Error>>
    where
        'p: 'e,
    {
        let pool = self.0.clone();
        async move { acquire(&pool).await?.describe(sql).await }.boxed()
    }
}
