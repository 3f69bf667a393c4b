//! A private PostgreSQL server started from the machine's own PostgreSQL binaries (DESIGN 3.2).
//!
//! `convgraph demo` / `serve` use [`LocalPostgres::temporary`] when no database URL is given, and
//! the test support in [`crate::testing`] keeps one such server running for all test processes.
//!
//! The server listens on 127.0.0.1 only, on a free port, with `trust` authentication for the
//! `postgres` superuser: any local user of the machine can connect to it. It is meant for trying
//! convgraph out and for tests, not for data that matters (by default it also runs without
//! `fsync`, see [`LocalOptions::durable`]).
//!
//! Every function here blocks (it runs `initdb` and `pg_ctl`, about a second or two): from async
//! code call it inside `tokio::task::spawn_blocking`.

use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tempfile::TempDir;
use tracing::{debug, info, warn};

/// The one line printed when no PostgreSQL server binaries can be found.
pub const NOT_INSTALLED: &str = "PostgreSQL is not installed: install it (Debian: apt-get install postgresql) or set DATABASE_URL to an existing server";

/// Where Debian and Ubuntu install the server binaries, one directory per major version.
const DEBIAN_LIB_ROOT: &str = "/usr/lib/postgresql";

/// The binaries a data directory needs; all three must sit in the same directory.
const SERVER_BINARIES: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

/// The OS user PostgreSQL runs as when convgraph itself runs as root.
const POSTGRES_USER: &str = "postgres";

/// Longest unix socket path we hand to PostgreSQL (the kernel's limit is 107 bytes).
const MAX_SOCKET_PATH: usize = 100;

/// Why the local server could not be found, started or stopped.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// No `initdb`/`pg_ctl`/`postgres` on PATH, through `pg_config`, or under `/usr/lib/postgresql`.
    #[error("{}", NOT_INSTALLED)]
    NotInstalled,
    /// Running as root, but PostgreSQL cannot be run as the `postgres` user.
    #[error(
        "PostgreSQL refuses to run as root and {reason}: run convgraph as a normal user or set DATABASE_URL to an existing server"
    )]
    CannotRunAsPostgres {
        /// What is missing, e.g. "there is no `postgres` user".
        reason: String,
    },
    /// A file system operation failed.
    #[error("{action}: {error}")]
    Io {
        /// What was being done, naming the path.
        action: String,
        /// The underlying error.
        error: io::Error,
    },
    /// A PostgreSQL binary (or `runuser`, `chown`, `id`) exited unsuccessfully.
    #[error("`{command}` failed ({status}):\n{output}")]
    Command {
        /// The command line that was run.
        command: String,
        /// How it ended.
        status: String,
        /// The end of what it printed (and of the server log, for `pg_ctl start`).
        output: String,
    },
    /// Another server is already running on this data directory.
    #[error("a PostgreSQL server (pid {pid}, port {port}) is already running on {}", data_dir.display())]
    AlreadyRunning {
        /// The data directory.
        data_dir: PathBuf,
        /// Its postmaster's process id.
        pid: u32,
        /// The port it listens on.
        port: u16,
    },
    /// The server was started but does not accept connections.
    #[error("the PostgreSQL server on port {port} does not accept connections; see {}", log.display())]
    NotAccepting {
        /// The port it should listen on.
        port: u16,
        /// Its log file.
        log: PathBuf,
    },
}

impl LocalError {
    fn io(action: impl Into<String>, error: io::Error) -> Self {
        LocalError::Io {
            action: action.into(),
            error,
        }
    }
}

/// How to run the local server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalOptions {
    /// Keep PostgreSQL's crash safety (`fsync`, `synchronous_commit`, `full_page_writes` on).
    /// Off by default: a private demo or test server is much faster without it, and losing its
    /// data to a power cut costs nothing.
    pub durable: bool,
    /// `max_connections` of the server.
    pub max_connections: u32,
    /// `shared_buffers` of the server, in PostgreSQL's notation (`128MB`).
    pub shared_buffers: String,
}

impl Default for LocalOptions {
    fn default() -> Self {
        LocalOptions {
            durable: false,
            max_connections: 300,
            shared_buffers: "128MB".to_owned(),
        }
    }
}

/// A PostgreSQL server of our own, running until [`LocalPostgres::stop`] or drop.
#[derive(Debug)]
pub struct LocalPostgres {
    runner: Runner,
    data_dir: PathBuf,
    port: u16,
    running: bool,
    /// Set when the socket path under the data directory would be too long.
    socket_dir: Option<TempDir>,
    /// Set by [`LocalPostgres::temporary`]: the data directory, removed after the server stops.
    /// Declared last so that it is removed after `Drop::drop` has stopped the server.
    temp_dir: Option<TempDir>,
}

impl LocalPostgres {
    /// Starts a server on a fresh temporary data directory, removed again when the server is
    /// stopped (by [`LocalPostgres::stop`] or drop).
    pub fn temporary() -> Result<Self, LocalError> {
        Self::temporary_with(&LocalOptions::default())
    }

    /// [`LocalPostgres::temporary`] with options.
    pub fn temporary_with(options: &LocalOptions) -> Result<Self, LocalError> {
        let temp_dir = tempfile::Builder::new()
            .prefix("convgraph-pg-")
            .tempdir()
            .map_err(|e| LocalError::io("could not create a temporary data directory", e))?;
        let mut server = Self::start_with(temp_dir.path(), options)?;
        server.temp_dir = Some(temp_dir);
        Ok(server)
    }

    /// Starts a server on `data_dir`, creating and initialising it (`initdb`) if needed.
    ///
    /// The directory is kept when the server stops, so the next start finds its data again.
    /// A `postmaster.pid` left behind by a server that is no longer running is removed.
    pub fn start(data_dir: &Path) -> Result<Self, LocalError> {
        Self::start_with(data_dir, &LocalOptions::default())
    }

    /// [`LocalPostgres::start`] with options.
    pub fn start_with(data_dir: &Path, options: &LocalOptions) -> Result<Self, LocalError> {
        let bin_dir = find_bin_dir()?;
        let runner = Runner::new(bin_dir)?;
        let data_dir = std::path::absolute(data_dir)
            .map_err(|e| LocalError::io(format!("bad data directory {}", data_dir.display()), e))?;
        runner.prepare_data_dir(&data_dir)?;

        if !data_dir.join("PG_VERSION").is_file() {
            runner.initdb(&data_dir, options)?;
        }
        if let Some(live) = runner.live_postmaster(&data_dir) {
            return Err(LocalError::AlreadyRunning {
                data_dir,
                pid: live.pid,
                port: live.port,
            });
        }
        let pid_file = data_dir.join("postmaster.pid");
        if pid_file.exists() {
            info!(path = %pid_file.display(), "removing a stale postmaster.pid");
            fs::remove_file(&pid_file).map_err(|e| {
                LocalError::io(format!("could not remove {}", pid_file.display()), e)
            })?;
        }

        let socket_dir = if socket_path_fits(&data_dir) {
            None
        } else {
            Some(runner.short_socket_dir()?)
        };
        let socket_path = socket_dir
            .as_ref()
            .map_or(data_dir.as_path(), TempDir::path);
        let port = runner.pg_ctl_start(&data_dir, socket_path, options)?;
        let server = LocalPostgres {
            runner,
            data_dir,
            port,
            running: true,
            socket_dir,
            temp_dir: None,
        };
        server.wait_accepting()?;
        info!(port, data_dir = %server.data_dir.display(), "local PostgreSQL server started");
        Ok(server)
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        url_for_port(self.port)
    }

    /// The loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's data directory (its log is `server.log` in it).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Stops the server (`pg_ctl stop -m fast`), leaves it down for `pause`, and starts it again
    /// on the same port with the same settings (`pg_ctl restart` reads them from
    /// `postmaster.opts`): what an outage of the database looks like to its clients.
    pub fn restart_after(&self, pause: Duration) -> Result<(), LocalError> {
        self.pause()?;
        std::thread::sleep(pause);
        self.resume()
    }

    /// Stops the server (`pg_ctl stop -m fast`), waiting until it has exited, and keeps its
    /// data: [`LocalPostgres::resume`] starts it again. The first half of an outage.
    pub fn pause(&self) -> Result<(), LocalError> {
        self.runner.pg_ctl_stop(&self.data_dir)?;
        info!(port = self.port, "local PostgreSQL server paused");
        Ok(())
    }

    /// Starts a server stopped by [`LocalPostgres::pause`] again, on the same port with the
    /// same settings (`pg_ctl restart` reads them from `postmaster.opts`), once it accepts
    /// connections.
    pub fn resume(&self) -> Result<(), LocalError> {
        let mut pg_ctl = self.runner.command("pg_ctl");
        pg_ctl
            .arg("-D")
            .arg(&self.data_dir)
            .arg("-l")
            .arg(self.data_dir.join("server.log"))
            .args(["-w", "-t", "60", "restart"]);
        self.runner.run(pg_ctl)?;
        self.wait_accepting()?;
        info!(port = self.port, "local PostgreSQL server restarted");
        Ok(())
    }

    /// A streaming replica of this server: a hot standby made by `pg_basebackup -R` into a
    /// temporary data directory (removed when it stops), started on a port of its own.
    pub fn standby(&self) -> Result<LocalPostgres, LocalError> {
        let temp_dir = tempfile::Builder::new()
            .prefix("convgraph-standby-")
            .tempdir()
            .map_err(|e| LocalError::io("could not create a temporary data directory", e))?;
        self.runner.prepare_data_dir(temp_dir.path())?;
        let mut backup = self.runner.command("pg_basebackup");
        backup.arg("-D").arg(temp_dir.path()).args([
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            "postgres",
        ]);
        self.runner.run(backup)?;
        // The server refuses a data directory that others may enter.
        fs::set_permissions(temp_dir.path(), fs::Permissions::from_mode(0o700)).map_err(|e| {
            LocalError::io(
                format!("could not set permissions of {}", temp_dir.path().display()),
                e,
            )
        })?;
        let mut server = Self::start_with(temp_dir.path(), &LocalOptions::default())?;
        server.temp_dir = Some(temp_dir);
        info!(
            port = server.port,
            primary = self.port,
            "local standby started"
        );
        Ok(server)
    }

    /// Stops the server (`pg_ctl stop -m fast`), waiting until it has exited, and removes a
    /// temporary data directory.
    pub fn stop(mut self) -> Result<(), LocalError> {
        self.running = false;
        self.runner.pg_ctl_stop(&self.data_dir)?;
        info!(port = self.port, "local PostgreSQL server stopped");
        if let Some(socket_dir) = self.socket_dir.take() {
            let path = socket_dir.path().to_owned();
            socket_dir
                .close()
                .map_err(|e| LocalError::io(format!("could not remove {}", path.display()), e))?;
        }
        if let Some(temp_dir) = self.temp_dir.take() {
            let path = temp_dir.path().to_owned();
            temp_dir
                .close()
                .map_err(|e| LocalError::io(format!("could not remove {}", path.display()), e))?;
        }
        Ok(())
    }

    /// Leaves the server running after this value is dropped (and keeps a temporary data
    /// directory). Used for the test server that later test processes reuse.
    pub fn keep_running(mut self) {
        self.running = false;
        if let Some(dir) = self.socket_dir.take() {
            let _ = dir.keep();
        }
        if let Some(dir) = self.temp_dir.take() {
            let _ = dir.keep();
        }
    }

    fn wait_accepting(&self) -> Result<(), LocalError> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if accepts_tcp(self.port) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(LocalError::NotAccepting {
                    port: self.port,
                    log: self.data_dir.join("server.log"),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for LocalPostgres {
    fn drop(&mut self) {
        if self.running {
            self.running = false;
            match self.runner.pg_ctl_stop(&self.data_dir) {
                Ok(()) => info!(port = self.port, "local PostgreSQL server stopped"),
                Err(e) => warn!(
                    port = self.port,
                    "could not stop the local PostgreSQL server: {e}"
                ),
            }
        }
    }
}

/// `postgres://postgres@127.0.0.1:PORT/postgres`.
pub(crate) fn url_for_port(port: u16) -> String {
    format!("postgres://postgres@127.0.0.1:{port}/postgres")
}

/// The port of a server that is running on `data_dir` and accepts TCP connections, if any.
pub(crate) fn running_port(data_dir: &Path) -> Option<u16> {
    let runner = Runner::new(find_bin_dir().ok()?).ok()?;
    let live = runner.live_postmaster(data_dir)?;
    accepts_tcp(live.port).then_some(live.port)
}

/// The directory holding `initdb`, `pg_ctl` and `postgres` on this machine: on PATH, else
/// `pg_config --bindir`, else the highest version under `/usr/lib/postgresql/*/bin`.
pub fn find_bin_dir() -> Result<PathBuf, LocalError> {
    let path_env = std::env::var_os("PATH").unwrap_or_default();
    let path_env = path_env.to_string_lossy();
    let pg_config = find_on_path(&path_env, "pg_config");
    find_bin_dir_in(&path_env, pg_config.as_deref(), Path::new(DEBIAN_LIB_ROOT))
}

/// [`find_bin_dir`] over given places: `path_env` (a PATH value), the `pg_config` executable to
/// ask, and the directory holding one `VERSION/bin` per installed version.
pub fn find_bin_dir_in(
    path_env: &str,
    pg_config: Option<&Path>,
    lib_root: &Path,
) -> Result<PathBuf, LocalError> {
    if let Some(dir) = std::env::split_paths(path_env).find(|dir| has_server_binaries(dir)) {
        debug!(bin_dir = %dir.display(), "PostgreSQL binaries found on PATH");
        return Ok(dir);
    }
    if let Some(pg_config) = pg_config {
        let output = Command::new(pg_config)
            .arg("--bindir")
            .stdin(Stdio::null())
            .output();
        if let Ok(output) = output {
            let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
            if output.status.success() && has_server_binaries(&dir) {
                debug!(bin_dir = %dir.display(), "PostgreSQL binaries found through pg_config");
                return Ok(dir);
            }
        }
    }
    let mut versions: Vec<(Vec<u32>, PathBuf)> = fs::read_dir(lib_root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name();
            let version = name
                .to_str()?
                .split('.')
                .map(str::parse::<u32>)
                .collect::<Result<Vec<_>, _>>()
                .ok()?;
            let bin = entry.path().join("bin");
            has_server_binaries(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, dir)) => {
            debug!(bin_dir = %dir.display(), "PostgreSQL binaries found under {}", lib_root.display());
            Ok(dir)
        }
        None => Err(LocalError::NotInstalled),
    }
}

fn has_server_binaries(dir: &Path) -> bool {
    SERVER_BINARIES
        .iter()
        .all(|name| is_executable(&dir.join(name)))
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn find_on_path(path_env: &str, program: &str) -> Option<PathBuf> {
    std::env::split_paths(path_env)
        .map(|dir| dir.join(program))
        .find(|path| is_executable(path))
}

fn socket_path_fits(dir: &Path) -> bool {
    dir.as_os_str().len() + "/.s.PGSQL.65535.lock".len() <= MAX_SOCKET_PATH
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
pub(crate) fn accepts_tcp(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok()
}

fn free_port() -> Result<u16, LocalError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| LocalError::io("could not find a free port on 127.0.0.1", e))?;
    let port = listener
        .local_addr()
        .map_err(|e| LocalError::io("could not find a free port on 127.0.0.1", e))?
        .port();
    Ok(port)
}

/// The uid this process runs as (`id -u`).
pub(crate) fn current_uid() -> Result<u32, LocalError> {
    static UID: OnceLock<u32> = OnceLock::new();
    if let Some(uid) = UID.get() {
        return Ok(*uid);
    }
    let uid = id_of(None)?.ok_or_else(|| LocalError::Command {
        command: "id -u".to_owned(),
        status: "no uid".to_owned(),
        output: String::new(),
    })?;
    Ok(*UID.get_or_init(|| uid))
}

/// `id -u [USER]`: `Ok(None)` when the user does not exist.
fn id_of(user: Option<&str>) -> Result<Option<u32>, LocalError> {
    let mut command = Command::new("id");
    command.arg("-u").args(user).stdin(Stdio::null());
    let output = command
        .output()
        .map_err(|e| LocalError::io("could not run `id -u`", e))?;
    if !output.status.success() {
        return Ok(None);
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().parse().ok())
}

/// Quotes `s` for the POSIX shell through which `pg_ctl` starts the server.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn describe(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// The last `lines` lines of `text`, trimmed.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn command_failed(command: &Command, output: &Output, extra: &str) -> LocalError {
    let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stdout));
    text.push_str(extra);
    LocalError::Command {
        command: describe(command),
        status: output.status.to_string(),
        output: tail(&text, 20),
    }
}

/// What `postmaster.pid` says about a server that is still alive.
#[derive(Debug, Clone, Copy)]
struct LivePostmaster {
    pid: u32,
    port: u16,
}

/// Runs the PostgreSQL binaries, as the `postgres` user when we are root.
#[derive(Debug, Clone)]
struct Runner {
    bin_dir: PathBuf,
    /// `Some((runuser, postgres uid))` when we are root.
    as_postgres: Option<(PathBuf, u32)>,
}

impl Runner {
    fn new(bin_dir: PathBuf) -> Result<Self, LocalError> {
        if current_uid()? != 0 {
            return Ok(Runner {
                bin_dir,
                as_postgres: None,
            });
        }
        let Some(postgres_uid) = id_of(Some(POSTGRES_USER))? else {
            return Err(LocalError::CannotRunAsPostgres {
                reason: "there is no `postgres` user to run it as (useradd --system postgres)"
                    .to_owned(),
            });
        };
        let path_env = std::env::var_os("PATH").unwrap_or_default();
        let runuser = find_on_path(&path_env.to_string_lossy(), "runuser")
            .or_else(|| {
                ["/usr/sbin/runuser", "/sbin/runuser"]
                    .into_iter()
                    .map(PathBuf::from)
                    .find(|p| is_executable(p))
            })
            .ok_or_else(|| LocalError::CannotRunAsPostgres {
                reason: "`runuser` (util-linux) is not installed".to_owned(),
            })?;
        Ok(Runner {
            bin_dir,
            as_postgres: Some((runuser, postgres_uid)),
        })
    }

    /// The path of `program`: in the bin dir, else beside the binary `initdb` there links to
    /// (a bin dir of links to the server's binaries need not hold the client tools, such as
    /// `pg_basebackup`).
    fn tool(&self, program: &str) -> PathBuf {
        let beside = self.bin_dir.join(program);
        if beside.exists() {
            return beside;
        }
        fs::canonicalize(self.bin_dir.join("initdb"))
            .ok()
            .and_then(|initdb| initdb.parent().map(|dir| dir.join(program)))
            .filter(|path| path.exists())
            .unwrap_or(beside)
    }

    /// A command running `program` from the bin dir, as `postgres` if we are root.
    fn command(&self, program: &str) -> Command {
        let binary = self.tool(program);
        let mut command = match &self.as_postgres {
            Some((runuser, _)) => {
                let mut command = Command::new(runuser);
                command.args(["-u", POSTGRES_USER, "--"]).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        // Our working directory may be closed to the postgres user (e.g. /root); all paths
        // we pass are absolute.
        command.current_dir("/").stdin(Stdio::null());
        for var in [
            "PGDATA",
            "PGPORT",
            "PGHOST",
            "PGUSER",
            "PGDATABASE",
            "PGOPTIONS",
        ] {
            command.env_remove(var);
        }
        command
    }

    fn run(&self, mut command: Command) -> Result<Output, LocalError> {
        debug!(command = %describe(&command), "running");
        let output = command
            .output()
            .map_err(|e| LocalError::io(format!("could not run `{}`", describe(&command)), e))?;
        if output.status.success() {
            Ok(output)
        } else {
            Err(command_failed(&command, &output, ""))
        }
    }

    /// Creates `data_dir` (and its missing parents, open to all for traversal) and, when we are
    /// root, hands it to the postgres user.
    fn prepare_data_dir(&self, data_dir: &Path) -> Result<(), LocalError> {
        let missing: Vec<&Path> = data_dir.ancestors().take_while(|p| !p.exists()).collect();
        fs::create_dir_all(data_dir)
            .map_err(|e| LocalError::io(format!("could not create {}", data_dir.display()), e))?;
        for dir in missing {
            let mode = if dir == data_dir { 0o700 } else { 0o755 };
            fs::set_permissions(dir, fs::Permissions::from_mode(mode)).map_err(|e| {
                LocalError::io(format!("could not set permissions of {}", dir.display()), e)
            })?;
        }
        let Some((_, postgres_uid)) = &self.as_postgres else {
            return Ok(());
        };
        for parent in data_dir.ancestors().skip(1) {
            let meta = fs::metadata(parent)
                .map_err(|e| LocalError::io(format!("could not read {}", parent.display()), e))?;
            if meta.uid() != *postgres_uid && meta.mode() & 0o001 == 0 {
                return Err(LocalError::CannotRunAsPostgres {
                    reason: format!(
                        "the postgres user cannot reach {}: {} is closed to other users (chmod o+x it, or use a directory under /tmp)",
                        data_dir.display(),
                        parent.display()
                    ),
                });
            }
        }
        let meta = fs::metadata(data_dir)
            .map_err(|e| LocalError::io(format!("could not read {}", data_dir.display()), e))?;
        if meta.uid() != *postgres_uid {
            let mut chown = Command::new("chown");
            chown
                .arg("-R")
                .arg(format!("{POSTGRES_USER}:"))
                .arg(data_dir)
                .stdin(Stdio::null());
            self.run(chown)?;
        }
        Ok(())
    }

    fn initdb(&self, data_dir: &Path, options: &LocalOptions) -> Result<(), LocalError> {
        let started = Instant::now();
        let mut initdb = self.command("initdb");
        initdb.arg("-D").arg(data_dir).args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-locale",
        ]);
        if !options.durable {
            initdb.arg("--no-sync");
        }
        self.run(initdb)?;
        info!(data_dir = %data_dir.display(), elapsed = ?started.elapsed(), "initialised a PostgreSQL data directory");
        Ok(())
    }

    /// A short directory for the unix socket, owned by the user the server runs as.
    fn short_socket_dir(&self) -> Result<TempDir, LocalError> {
        let dir = tempfile::Builder::new()
            .prefix("cgpg-")
            .tempdir_in("/tmp")
            .map_err(|e| LocalError::io("could not create a socket directory under /tmp", e))?;
        if self.as_postgres.is_some() {
            let mut chown = Command::new("chown");
            chown
                .arg(format!("{POSTGRES_USER}:"))
                .arg(dir.path())
                .stdin(Stdio::null());
            self.run(chown)?;
        }
        Ok(dir)
    }

    /// `pg_ctl start` on a free port; returns the port. Retries with another port when the
    /// chosen one was taken in the meantime.
    fn pg_ctl_start(
        &self,
        data_dir: &Path,
        socket_dir: &Path,
        options: &LocalOptions,
    ) -> Result<u16, LocalError> {
        let log = data_dir.join("server.log");
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = free_port()?;
            let mut server_options = format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections={} -c shared_buffers={}",
                shell_quote(&socket_dir.to_string_lossy()),
                options.max_connections,
                shell_quote(&options.shared_buffers),
            );
            if !options.durable {
                server_options
                    .push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
            }
            let log_start = fs::metadata(&log).map_or(0, |m| m.len());
            let mut pg_ctl = self.command("pg_ctl");
            pg_ctl
                .arg("-D")
                .arg(data_dir)
                .arg("-o")
                .arg(&server_options)
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", "60", "start"]);
            let description = describe(&pg_ctl);
            debug!(command = %description, "running");
            let output = pg_ctl
                .output()
                .map_err(|e| LocalError::io(format!("could not run `{description}`"), e))?;
            if output.status.success() {
                return Ok(port);
            }
            let log_text = read_from(&log, log_start);
            let port_taken = log_text.contains("Address already in use")
                || log_text.contains("could not create any TCP/IP sockets");
            if port_taken && attempt < 5 {
                warn!(
                    port,
                    "port taken before the server could bind it, trying another"
                );
                continue;
            }
            let extra = format!("\n--- {} ---\n{}", log.display(), tail(&log_text, 20));
            return Err(command_failed(&pg_ctl, &output, &extra));
        }
    }

    fn pg_ctl_stop(&self, data_dir: &Path) -> Result<(), LocalError> {
        let mut pg_ctl = self.command("pg_ctl");
        pg_ctl
            .arg("-D")
            .arg(data_dir)
            .args(["-m", "fast", "-w", "-t", "60", "stop"]);
        self.run(pg_ctl).map(drop)
    }

    /// The postmaster named in `data_dir/postmaster.pid`, if that process is still alive.
    fn live_postmaster(&self, data_dir: &Path) -> Option<LivePostmaster> {
        let text = fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
        let mut lines = text.lines();
        let pid: u32 = lines.next()?.trim().parse().ok()?;
        let port: u16 = lines.nth(2)?.trim().parse().ok()?;
        let alive = if Path::new("/proc/self").exists() {
            // After a reboot the pid may belong to an unrelated process: check its name.
            fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == "postgres")
        } else {
            let mut status = self.command("pg_ctl");
            status.arg("-D").arg(data_dir).arg("status");
            status.output().is_ok_and(|o| o.status.success())
        };
        alive.then_some(LivePostmaster { pid, port })
    }
}

/// What `path` holds from byte `start` on (lossy, empty when unreadable).
fn read_from(path: &Path, start: u64) -> String {
    let mut text = Vec::new();
    if let Ok(mut file) = fs::File::open(path) {
        if file.seek(SeekFrom::Start(start)).is_ok() {
            let _ = file.read_to_end(&mut text);
        }
    }
    String::from_utf8_lossy(&text).into_owned()
}
