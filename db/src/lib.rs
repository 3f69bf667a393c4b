//! PostgreSQL through sqlx: the pool, the migrations, the writers and scoped reads of the
//! conversation graph, and the private local server used when no database is given.

pub mod aggregate;
pub mod copy;
pub mod events;
pub mod exec;
pub mod graph;
pub mod ingest;
pub mod local;
pub mod observations;
pub mod records;
pub mod select;
pub mod sql;
pub mod testing;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;

/// The schema, from `migrations/`: applied by `convgraph migrate`, `serve`, `demo` and tests.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Opens a pool on `url` with at most `max_connections` connections.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?.application_name("convgraph");
    pool(options, max_connections).await
}

/// How the serving pool behaves (`serve`'s `--db-pool-size`, `--db-acquire-timeout-secs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// Most connections open at once.
    pub max_connections: u32,
    /// Longest a request waits for a connection: every connection busy, or PostgreSQL
    /// unreachable (the pool retries connecting until then). Past it the request fails with
    /// an error for which [`unavailable`] is true.
    pub acquire_timeout: Duration,
    /// PostgreSQL cancels any statement that runs longer.
    pub statement_timeout: Duration,
}

impl PoolConfig {
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 16;
    pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
}

/// Opens the pool that serves requests: PostgreSQL cancels any statement that runs longer than
/// `statement_timeout`, so the SQL of a request the server gave up on does not run on. JIT
/// compilation is off: a pushed-down read is a large statement of cheap index lookups, whose
/// estimated cost can pass `jit_above_cost` while compiling it costs more than running it.
///
/// The pool opens its connections lazily, so a server starts (and answers `UNAVAILABLE`)
/// while PostgreSQL is down, and recovers by itself when it returns.
pub fn connect_serving(url: &str, config: PoolConfig) -> Result<PgPool, sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?
        .application_name("convgraph")
        .options([
            (
                "statement_timeout",
                config.statement_timeout.as_millis().to_string(),
            ),
            ("jit", "off".to_owned()),
        ]);
    Ok(PgPoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(config.acquire_timeout)
        .connect_lazy_with(options))
}

async fn pool(options: PgConnectOptions, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
}

/// Whether `error` means the database cannot be reached right now (down, restarting, refusing
/// connections, or no pooled connection free within the acquire timeout), so that the same
/// request may succeed when retried: what clients see as `UNAVAILABLE`.
pub fn unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // 08: connection exception; 57P01–57P03: the server shutting down or starting;
            // 53300: too many connections.
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

/// A pool on `url` that connects when first used (for `serve --no-migrate`, which may start
/// before PostgreSQL answers).
pub fn connect_lazy(url: &str) -> Result<PgPool, sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?.application_name("convgraph");
    Ok(PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(PoolConfig::DEFAULT_ACQUIRE_TIMEOUT)
        .connect_lazy_with(options))
}

/// The migrations of this build that the database has not applied (`version description`),
/// oldest first; every one when it has none.
pub async fn pending_migrations(pool: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    let has_table: bool = sqlx::query_scalar("select to_regclass('_sqlx_migrations') is not null")
        .fetch_one(exec::pool(pool))
        .await?;
    let applied: Vec<i64> = if has_table {
        sqlx::query_scalar("select version from _sqlx_migrations where success")
            .fetch_all(exec::pool(pool))
            .await?
    } else {
        Vec::new()
    };
    Ok(MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version))
        .map(|m| format!("{} {}", m.version, m.description))
        .collect())
}

/// Applies the migrations that are not applied yet.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}
