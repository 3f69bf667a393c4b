//! PostgreSQL through sqlx: the pool, the migrations, the writers and scoped reads of the
//! conversation graph, and the private local server used when no database is given.

pub mod aggregate;
pub mod events;
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

/// Opens the pool that serves requests: PostgreSQL cancels any statement that runs longer than
/// `statement_timeout`, so the SQL of a request the server gave up on does not run on. JIT
/// compilation is off: a pushed-down read is a large statement of cheap index lookups, whose
/// estimated cost can pass `jit_above_cost` while compiling it costs more than running it.
pub async fn connect_serving(
    url: &str,
    max_connections: u32,
    statement_timeout: Duration,
) -> Result<PgPool, sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?
        .application_name("convgraph")
        .options([
            (
                "statement_timeout",
                statement_timeout.as_millis().to_string(),
            ),
            ("jit", "off".to_owned()),
        ]);
    pool(options, max_connections).await
}

async fn pool(options: PgConnectOptions, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
}

/// Applies the migrations that are not applied yet.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}
