//! The private PostgreSQL server and the per-test databases, with real processes.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use db::local::{LocalError, LocalPostgres, find_bin_dir_in};
use db::testing::{template_name, test_database};

/// Runs `select pg_sleep(0.5), 1` in a `psql` child process and returns when, in the server's
/// clock (seconds since the epoch), the statement started and finished.
fn spawn_psql_sleep(url: &str) -> std::process::Child {
    Command::new("psql")
        .arg(url)
        .args(["-X", "-A", "-t", "-F", ",", "-v", "ON_ERROR_STOP=1", "-c"])
        .arg(
            "select pg_sleep(0.5), 1, \
             extract(epoch from statement_timestamp()), extract(epoch from clock_timestamp())",
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("psql runs")
}

fn statement_interval(child: std::process::Child) -> (f64, f64) {
    let output = child.wait_with_output().expect("psql finishes");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "psql failed ({}): {}{stdout}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let fields: Vec<&str> = stdout.trim().split(',').collect();
    assert_eq!(fields.len(), 4, "unexpected psql output {stdout:?}");
    assert_eq!(fields[1], "1");
    let start: f64 = fields[2].parse().expect("a start time");
    let end: f64 = fields[3].parse().expect("an end time");
    (start, end)
}

fn accepts_tcp(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok()
}

#[test]
fn local_server_starts_serves_two_processes_at_once_and_stops() {
    let server = LocalPostgres::temporary().expect("the local server starts");
    let url = server.url();
    let port = server.port();
    let data_dir = server.data_dir().to_owned();
    assert!(data_dir.join("PG_VERSION").is_file());

    let started = Instant::now();
    let first = spawn_psql_sleep(&url);
    let second = spawn_psql_sleep(&url);
    let (first_start, first_end) = statement_interval(first);
    let (second_start, second_end) = statement_interval(second);
    let wall = started.elapsed();

    assert!(first_end - first_start >= 0.5 && second_end - second_start >= 0.5);
    assert!(
        first_start < second_end && second_start < first_end,
        "the two sleeps did not overlap: [{first_start}, {first_end}] and \
         [{second_start}, {second_end}] (wall time {wall:?})"
    );

    server.stop().expect("the local server stops");
    assert!(!accepts_tcp(port), "port {port} still accepts connections");
    assert!(!data_dir.exists(), "{} was not removed", data_dir.display());
}

fn psql(url: &str, sql: &str) -> String {
    let output = Command::new("psql")
        .arg(url)
        .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .stdin(Stdio::null())
        .output()
        .expect("psql runs");
    assert!(
        output.status.success(),
        "psql -c {sql:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
fn a_persistent_data_dir_keeps_its_data_across_restarts_and_a_stale_pid_file() {
    let parent = tempfile::tempdir().expect("a temporary directory");
    // When run as root the server runs as `postgres`, which must be able to reach the data dir.
    std::fs::set_permissions(
        parent.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("open the parent for traversal");
    let data_dir = parent.path().join("nested").join("data");
    let server = LocalPostgres::start(&data_dir).expect("the server starts on a new data dir");
    psql(
        &server.url(),
        "create table kept (id int); insert into kept values (7)",
    );

    let second = LocalPostgres::start(&data_dir).expect_err("one server per data dir");
    assert!(
        matches!(second, LocalError::AlreadyRunning { port, .. } if port == server.port()),
        "{second}"
    );

    server.stop().expect("the server stops");
    assert!(
        data_dir.join("PG_VERSION").is_file(),
        "the data dir is kept"
    );
    // A server that died without cleaning up leaves its pid file; here it names a process that
    // is not a PostgreSQL server (as after a reboot).
    let not_postgres = std::process::id();
    std::fs::write(
        data_dir.join("postmaster.pid"),
        format!("{not_postgres}\n{}\n0\n5432\n", data_dir.display()),
    )
    .expect("write a stale postmaster.pid");

    let server = LocalPostgres::start(&data_dir).expect("the server starts again");

    assert_eq!(psql(&server.url(), "select id from kept"), "7");
    server.stop().expect("the server stops");
}

#[test]
fn missing_postgres_is_one_clear_line() {
    let empty = tempfile::tempdir().expect("a temporary directory");

    let error = find_bin_dir_in("", None, empty.path()).expect_err("nothing can be found");

    let message = error.to_string();
    assert!(!message.contains('\n'), "more than one line: {message:?}");
    assert!(message.contains("PostgreSQL is not installed"), "{message}");
    assert!(message.contains("DATABASE_URL"), "{message}");
}

#[test]
fn bin_dir_is_found_on_path_first() {
    let bin = tempfile::tempdir().expect("a temporary directory");
    for name in ["initdb", "pg_ctl", "postgres"] {
        let path = bin.path().join(name);
        std::fs::write(&path, "#!/bin/sh\n").expect("write a fake binary");
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("make it executable");
    }
    let elsewhere = tempfile::tempdir().expect("a temporary directory");
    let path_env = format!("{}:{}", elsewhere.path().display(), bin.path().display());

    let found = find_bin_dir_in(&path_env, None, elsewhere.path()).expect("found on PATH");

    assert_eq!(found, bin.path());
}

#[test]
fn bin_dir_falls_back_to_the_highest_version_under_the_lib_root() {
    let root = tempfile::tempdir().expect("a temporary directory");
    for version in ["9.6", "15", "13"] {
        let bin = root.path().join(version).join("bin");
        std::fs::create_dir_all(&bin).expect("create a version directory");
        for name in ["initdb", "pg_ctl", "postgres"] {
            let path = bin.join(name);
            std::fs::write(&path, "#!/bin/sh\n").expect("write a fake binary");
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .expect("make it executable");
        }
    }

    let found = find_bin_dir_in("", None, root.path()).expect("found under the lib root");

    assert_eq!(found, root.path().join("15").join("bin"));
}

async fn table_exists(pool: &sqlx::PgPool, table: &str) -> bool {
    sqlx::query_scalar::<_, bool>("select to_regclass($1) is not null")
        .bind(table)
        .fetch_one(pool)
        .await
        .expect("to_regclass")
}

#[tokio::test]
async fn two_test_databases_are_isolated() {
    let a = test_database().await;
    let b = test_database().await;
    assert_ne!(a.name(), b.name());
    assert_ne!(a.url(), b.url());

    sqlx::query("create table only_in_a (id int)")
        .execute(a.pool())
        .await
        .expect("create a table in a");

    assert!(table_exists(a.pool(), "public.only_in_a").await);
    assert!(!table_exists(b.pool(), "public.only_in_a").await);

    // Both come migrated from the template of the current migrations.
    let migrations = i64::try_from(db::MIGRATOR.iter().count()).expect("a count");
    for database in [&a, &b] {
        let applied: i64 =
            sqlx::query_scalar("select count(*) from _sqlx_migrations where success")
                .fetch_one(database.pool())
                .await
                .expect("_sqlx_migrations exists");
        assert_eq!(applied, migrations, "in {}", database.name());
    }
    let template_is_there: bool = sqlx::query_scalar(
        "select exists (select from pg_database where datname = $1 and datistemplate)",
    )
    .bind(template_name(&db::MIGRATOR))
    .fetch_one(a.pool())
    .await
    .expect("pg_database");
    assert!(template_is_there);
}

#[tokio::test]
async fn a_dropped_test_database_is_removed_from_the_server() {
    let kept = test_database().await;
    let dropped = test_database().await;
    let name = dropped.name().to_owned();

    drop(dropped);

    let still_there: bool =
        sqlx::query_scalar("select exists (select from pg_database where datname = $1)")
            .bind(&name)
            .fetch_one(kept.pool())
            .await
            .expect("pg_database");
    assert!(!still_there, "{name} is still on the server");
}

#[tokio::test]
async fn test_database_url_connects_to_the_same_database() {
    let database = test_database().await;

    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(database.url())
        .await
        .expect("the url connects");
    let current: String = sqlx::query_scalar("select current_database()")
        .fetch_one(&mut conn)
        .await
        .expect("current_database");

    assert_eq!(current, database.name());
}

#[tokio::test]
async fn the_serving_pool_cancels_a_statement_that_outlives_its_timeout() {
    let db = test_database().await;
    let pool = db::connect_serving(
        db.url(),
        db::PoolConfig {
            max_connections: 2,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_millis(300),
        },
    )
    .expect("pool");
    let error = sqlx::query("select pg_sleep(2)")
        .execute(&pool)
        .await
        .expect_err("cancelled");
    let code = error
        .as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.into_owned());
    assert_eq!(code.as_deref(), Some("57014"), "query_canceled: {error}");
    sqlx::query("select pg_sleep(0.05)")
        .execute(&pool)
        .await
        .expect("a short statement runs");
}
