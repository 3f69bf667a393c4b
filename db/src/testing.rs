//! Test support: one fresh database per test, with the migrations applied (STYLE 6).
//!
//! [`test_database`] uses the server named by `DATABASE_URL` when it is set (the role needs
//! `CREATEDB`). Otherwise it uses one PostgreSQL server shared by every test process of this
//! machine and user, started from the machine's binaries by [`crate::local`] in
//! `/tmp/convgraph-test-pg-<uid>/data` the first time a test needs it.
//!
//! **The shared test server is left running after the tests**: the next `cargo test` (or each
//! `cargo nextest` process) reuses it instead of paying for `initdb` and a start again. Its port
//! is in `/tmp/convgraph-test-pg-<uid>/port`, its log in `…/data/server.log`; stop it with
//! `pg_ctl -D /tmp/convgraph-test-pg-<uid>/data stop` (as the `postgres` user when root), or just
//! leave it: CI machines are thrown away after a run, and after a reboot the next test starts it
//! again. Processes agree on who starts it through an exclusive `flock` on
//! `/tmp/convgraph-test-pg-<uid>/lock`.
//!
//! Each test database is created from a template, `convgraph_tpl_<hash of the migrations>`,
//! which is migrated once per set of migrations (under a PostgreSQL advisory lock), so a test
//! pays only for a `CREATE DATABASE … TEMPLATE`. The database is dropped when its
//! [`TestDatabase`] is dropped. Databases left behind by killed test processes on the shared
//! server are dropped by the next test process.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};
use tracing::{debug, info, warn};

use crate::MIGRATOR;
use crate::local::{self, LocalError, LocalPostgres};

/// Connections per test pool: small, so that many concurrent tests fit in `max_connections`.
const POOL_SIZE: u32 = 5;

/// Advisory lock key serialising template builds on one server ("convgrap").
const TEMPLATE_LOCK_KEY: i64 = 0x636f_6e76_6772_6170;

/// A database of its own for one test, dropped (best effort) when this value is dropped.
#[derive(Debug)]
pub struct TestDatabase {
    pool: PgPool,
    url: String,
    name: String,
    server_url: String,
}

impl TestDatabase {
    /// A pool on the test's database (at most 5 connections).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The test database's URL, e.g. for a server under test that opens its own pool.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The test database's name (`t_<pid>_<nanos>_<counter>`).
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop may run inside a test's runtime, which cannot be blocked on from within: drop the
        // database from a thread and runtime of its own, and wait for it so that the database is
        // gone before the test process exits.
        let server_url = self.server_url.clone();
        let name = self.name.clone();
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime
                .block_on(async {
                    let mut conn = PgConnection::connect(&server_url).await?;
                    drop_database(&mut conn, &name).await?;
                    conn.close().await
                })
                .map_err(|e| e.to_string())
        });
        match dropper.join() {
            Ok(Ok(())) => debug!(database = %self.name, "test database dropped"),
            Ok(Err(e)) => warn!(database = %self.name, "could not drop test database: {e}"),
            Err(_) => warn!(database = %self.name, "could not drop test database: thread panicked"),
        }
    }
}

/// A fresh database with the migrations applied, on `DATABASE_URL` or the shared local test
/// server (see the module documentation).
///
/// # Panics
///
/// When no server can be had or the database cannot be created; the message says why.
pub async fn test_database() -> TestDatabase {
    let server = tokio::task::spawn_blocking(server)
        .await
        .expect("finding the test server panicked");
    let server = match server {
        Ok(server) => server,
        Err(e) => panic!("no PostgreSQL server for the tests: {e}"),
    };
    let template = template(server).await.unwrap_or_else(|e| {
        panic!("could not build the template database on the test server: {e}")
    });

    let name = unique_database_name();
    let mut conn = PgConnection::connect(&server.url)
        .await
        .unwrap_or_else(|e| panic!("could not connect to the test server: {e}"));
    sqlx::query(&format!(
        r#"create database "{name}" template "{template}""#
    ))
    .execute(&mut conn)
    .await
    .unwrap_or_else(|e| panic!("could not create test database {name}: {e}"));
    let _ = conn.close().await;

    let options = PgConnectOptions::from_str(&server.url)
        .expect("the test server URL was already used to connect")
        .database(&name);
    let pool = PgPoolOptions::new()
        .max_connections(POOL_SIZE)
        .connect_with(options)
        .await
        .unwrap_or_else(|e| panic!("could not connect to test database {name}: {e}"));
    debug!(database = %name, "test database created");
    TestDatabase {
        pool,
        url: url_with_database(&server.url, &name),
        name,
        server_url: server.url.clone(),
    }
}

/// The name of the template database for `migrator`'s migrations:
/// `convgraph_tpl_<16 hex digits hashing each migration's version and checksum>`.
pub fn template_name(migrator: &Migrator) -> String {
    // FNV-1a: stable across Rust versions (the template outlives the test process).
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    for migration in migrator.iter() {
        feed(&migration.version.to_le_bytes());
        feed(&(migration.checksum.len() as u64).to_le_bytes());
        feed(&migration.checksum);
    }
    format!("convgraph_tpl_{hash:016x}")
}

/// The server the tests of this process use.
#[derive(Debug)]
struct Server {
    /// URL of its maintenance database.
    url: String,
    /// The shared local server (rather than `DATABASE_URL`).
    local: bool,
}

/// The test server, found (or started) once per process. Blocking.
fn server() -> Result<&'static Server, String> {
    static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
    SERVER
        .get_or_init(|| match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => Ok(Server { url, local: false }),
            _ => shared_local_server()
                .map(|url| Server { url, local: true })
                .map_err(|e| e.to_string()),
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The URL of the shared local test server, starting it if it is not running. Blocking.
fn shared_local_server() -> Result<String, LocalError> {
    let dir = shared_server_dir()?;
    let lock = dir.join("lock");
    let lock = fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock)
        .map_err(|e| io_error(format!("could not open {}", lock.display()), e))?;
    // Held until `lock` is dropped at the end of this function (or the process dies).
    flock_exclusive(&lock)
        .map_err(|e| io_error(format!("could not lock {}", dir.join("lock").display()), e))?;

    let data_dir = dir.join("data");
    let port_file = dir.join("port");
    let recorded = fs::read_to_string(&port_file)
        .ok()
        .and_then(|text| text.trim().parse::<u16>().ok());
    if let Some(port) = local::running_port(&data_dir) {
        if recorded != Some(port) {
            write_port(&port_file, port)?;
        }
        debug!(port, "reusing the shared test server");
        return Ok(local::url_for_port(port));
    }

    let server = match LocalPostgres::start(&data_dir) {
        Ok(server) => server,
        Err(e @ (LocalError::NotInstalled | LocalError::CannotRunAsPostgres { .. })) => {
            return Err(e);
        }
        Err(e) => {
            // Test data only: a data directory that will not start (e.g. left damaged by a
            // crash, since the server runs without fsync) is thrown away and made anew.
            warn!(
                "the shared test server did not start ({e}); recreating {}",
                data_dir.display()
            );
            fs::remove_dir_all(&data_dir)
                .map_err(|e| io_error(format!("could not remove {}", data_dir.display()), e))?;
            LocalPostgres::start(&data_dir)?
        }
    };
    write_port(&port_file, server.port())?;
    let url = server.url();
    info!(port = server.port(), data_dir = %data_dir.display(), "started the shared test server; it is left running for later tests");
    server.keep_running();
    Ok(url)
}

/// `/tmp/convgraph-test-pg-<uid>`, created open for traversal (the server runs as `postgres`
/// when we are root).
fn shared_server_dir() -> Result<PathBuf, LocalError> {
    let uid = local::current_uid()?;
    let dir = PathBuf::from(format!("/tmp/convgraph-test-pg-{uid}"));
    fs::create_dir_all(&dir)
        .map_err(|e| io_error(format!("could not create {}", dir.display()), e))?;
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))
        .map_err(|e| io_error(format!("could not set permissions of {}", dir.display()), e))?;
    Ok(dir)
}

fn write_port(port_file: &Path, port: u16) -> Result<(), LocalError> {
    fs::write(port_file, format!("{port}\n"))
        .map_err(|e| io_error(format!("could not write {}", port_file.display()), e))
}

fn flock_exclusive(file: &fs::File) -> std::io::Result<()> {
    loop {
        match rustix::fs::flock(file, rustix::fs::FlockOperation::LockExclusive) {
            Ok(()) => return Ok(()),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

fn io_error(action: String, error: std::io::Error) -> LocalError {
    LocalError::Io { action, error }
}

/// The template database for [`MIGRATOR`], built on `server` if it does not exist yet. Done
/// once per process; also clears databases left behind by dead test processes.
async fn template(server: &'static Server) -> Result<&'static str, String> {
    static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    TEMPLATE
        .get_or_try_init(|| async {
            let mut conn = PgConnection::connect(&server.url)
                .await
                .map_err(|e| format!("could not connect to {}: {e}", server.url))?;
            let template = ensure_template(&mut conn, &server.url, &MIGRATOR)
                .await
                .map_err(|e| e.to_string())?;
            if server.local {
                drop_orphaned_databases(&mut conn).await;
            }
            let _ = conn.close().await;
            Ok(template)
        })
        .await
        .map(String::as_str)
}

#[derive(Debug, thiserror::Error)]
enum TemplateError {
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    #[error("migrating the template database failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

async fn ensure_template(
    conn: &mut PgConnection,
    server_url: &str,
    migrator: &Migrator,
) -> Result<String, TemplateError> {
    let template = template_name(migrator);
    if database_exists(conn, &template).await? {
        return Ok(template);
    }
    sqlx::query("select pg_advisory_lock($1)")
        .bind(TEMPLATE_LOCK_KEY)
        .execute(&mut *conn)
        .await?;
    let built = build_template(conn, server_url, migrator, &template).await;
    sqlx::query("select pg_advisory_unlock($1)")
        .bind(TEMPLATE_LOCK_KEY)
        .execute(&mut *conn)
        .await?;
    built.map(|()| template)
}

/// Builds `template` under the advisory lock: migrated in a database of another name, renamed
/// only once complete, so a failed migration never leaves a half-built template behind.
async fn build_template(
    conn: &mut PgConnection,
    server_url: &str,
    migrator: &Migrator,
    template: &str,
) -> Result<(), TemplateError> {
    if database_exists(conn, template).await? {
        return Ok(());
    }
    let building = template.replacen("convgraph_tpl_", "convgraph_tplbuild_", 1);
    info!(template, "building the test template database");
    drop_database(conn, &building).await?;
    sqlx::query(&format!(r#"create database "{building}""#))
        .execute(&mut *conn)
        .await?;

    let options = PgConnectOptions::from_str(server_url)?.database(&building);
    let mut target = PgConnection::connect_with(&options).await?;
    let migrated = migrator.run(&mut target).await;
    target.close().await?;
    migrated?;

    // Nobody connects to the template (a connection would make `create database … template`
    // fail), and `is_template` keeps it from being dropped by mistake.
    sqlx::query(&format!(
        r#"alter database "{building}" rename to "{template}""#
    ))
    .execute(&mut *conn)
    .await?;
    sqlx::query(&format!(
        r#"alter database "{template}" with is_template true allow_connections false"#
    ))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn database_exists(conn: &mut PgConnection, name: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("select exists (select from pg_database where datname = $1)")
        .bind(name)
        .fetch_one(conn)
        .await
}

/// Drops `name` if it exists, closing its connections. `name` is one of ours (`[a-z0-9_]`).
async fn drop_database(conn: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(r#"drop database if exists "{name}" with (force)"#))
        .execute(conn)
        .await
        .map(drop)
}

/// Drops the test databases of test processes that no longer run (killed before their
/// `TestDatabase` was dropped). Only for the shared local server, whose clients all run on
/// this machine; best effort.
async fn drop_orphaned_databases(conn: &mut PgConnection) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let names: Vec<String> =
        match sqlx::query_scalar(r"select datname from pg_database where datname like 't\_%'")
            .fetch_all(&mut *conn)
            .await
        {
            Ok(names) => names,
            Err(e) => {
                warn!("could not list test databases: {e}");
                return;
            }
        };
    for name in names {
        let Some(pid) = name
            .strip_prefix("t_")
            .and_then(|rest| rest.split('_').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        match drop_database(conn, &name).await {
            Ok(()) => debug!(database = %name, "dropped an orphaned test database"),
            Err(e) => warn!(database = %name, "could not drop an orphaned test database: {e}"),
        }
    }
}

/// `t_<pid>_<nanos>_<counter>`: unique across processes and calls, and names the process that
/// owns it.
fn unique_database_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let counter = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("t_{}_{nanos}_{counter}", std::process::id())
}

/// `url` with its database (path) replaced by `database`, keeping any query string.
fn url_with_database(url: &str, database: &str) -> String {
    let (base, query) = url.split_at(url.find('?').unwrap_or(url.len()));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..]
        .find('/')
        .map_or(base.len(), |i| authority + i);
    format!("{}/{database}{query}", &base[..path])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_with_database_replaces_only_the_path() {
        assert_eq!(
            url_with_database("postgres://postgres@127.0.0.1:5432/postgres", "t_1"),
            "postgres://postgres@127.0.0.1:5432/t_1"
        );
        assert_eq!(
            url_with_database("postgres://u:p@h:1/db?sslmode=disable", "t_1"),
            "postgres://u:p@h:1/t_1?sslmode=disable"
        );
        assert_eq!(url_with_database("postgres://h", "t_1"), "postgres://h/t_1");
        assert_eq!(
            url_with_database("postgres://h?sslmode=disable", "t_1"),
            "postgres://h/t_1?sslmode=disable"
        );
    }

    #[test]
    fn database_names_are_unique_and_name_the_process() {
        let a = unique_database_name();
        let b = unique_database_name();
        assert_ne!(a, b);
        assert!(a.starts_with(&format!("t_{}_", std::process::id())));
        assert!(a.len() < 64, "{a} is too long for a PostgreSQL name");
    }

    #[test]
    fn template_name_is_sixteen_hex_digits() {
        let name = template_name(&MIGRATOR);
        let hash = name.strip_prefix("convgraph_tpl_").expect("prefix");
        assert_eq!(hash.len(), 16);
        assert!(hash.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
