//! The server under test: the release `convgraph serve` as a child process, its `/metrics`
//! counters and its peak memory.

use anyhow::Context as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, ChildStdout, Command};

/// Builds `convgraph` in release mode (a no-op when it is up to date) and returns its path.
pub async fn build_release_binary() -> anyhow::Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let workspace = workspace_root();
    eprintln!("bench: cargo build --release --bin convgraph");
    let output = Command::new(&cargo)
        .args([
            "build",
            "--release",
            "--bin",
            "convgraph",
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(&workspace)
        .stderr(Stdio::inherit())
        .output()
        .await
        .with_context(|| format!("cannot run {cargo}"))?;
    anyhow::ensure!(
        output.status.success(),
        "cargo build --release --bin convgraph failed ({})",
        output.status
    );
    // The last artifact message of the binary names the executable.
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "convgraph")
        .filter_map(|m| m["executable"].as_str().map(PathBuf::from))
        .next_back()
        .context("cargo build did not report the convgraph executable")
}

/// The workspace this crate belongs to.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// A running `convgraph serve`; killed when dropped, stopped gracefully by [`Server::stop`].
pub struct Server {
    child: Child,
    /// Kept open: `serve` may print more, and a closed pipe would fail its writes.
    _stdout: BufReader<ChildStdout>,
    pub pid: u32,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

/// The counters of `/metrics` the benchmark reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counters {
    pub sql_statements: u64,
    pub http_requests: u64,
}

impl Server {
    /// Starts `binary serve` on a free loopback port against `database_url`; its log goes to
    /// `log`. Returns once `/readyz` answers 200.
    pub async fn start(
        binary: &Path,
        database_url: &str,
        jwt_secret: &str,
        log: &Path,
    ) -> anyhow::Result<Self> {
        Self::start_with(binary, database_url, jwt_secret, log, &[]).await
    }

    /// Like [`Server::start`], with more environment variables.
    pub async fn start_with(
        binary: &Path,
        database_url: &str,
        jwt_secret: &str,
        log: &Path,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let log_file = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let port = free_port()?;
        let mut child = Command::new(binary)
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("CONVGRAPH_JWT_SECRET", jwt_secret)
            .env("CONVGRAPH_LISTEN", format!("127.0.0.1:{port}"))
            // The full-depth selection is derived from the served schema (introspection is off
            // by default for `serve` once the query limits have landed).
            .env("CONVGRAPH_INTROSPECTION", "true")
            // One token drives every worker: a per-subject rate limit would measure itself.
            .env("CONVGRAPH_RATE_LIMIT_PER_SECOND", "0")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {} serve", binary.display()))?;
        let pid = child.id().context("the server exited at once")?;
        let mut stdout = BufReader::new(child.stdout.take().context("no stdout")?);
        let mut line = String::new();
        let read = tokio::time::timeout(Duration::from_secs(120), stdout.read_line(&mut line))
            .await
            .context("the server did not start listening within 120 s")??;
        anyhow::ensure!(
            read > 0,
            "the server exited before listening; see {}",
            log.display()
        );
        let server = Server {
            child,
            _stdout: stdout,
            pid,
            base: format!("http://127.0.0.1:{port}"),
        };
        server.wait_ready(log).await?;
        Ok(server)
    }

    async fn wait_ready(&self, log: &Path) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let response = client.get(format!("{}/readyz", self.base)).send().await;
            if response.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "/readyz did not answer 200 within 60 s; see {}",
                log.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `convgraph_sql_statements_total` and `convgraph_http_requests_total`.
    pub async fn counters(&self, client: &reqwest::Client) -> anyhow::Result<Counters> {
        let body = client
            .get(format!("{}/metrics", self.base))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        let value = |name: &str| -> anyhow::Result<u64> {
            body.lines()
                .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
                .with_context(|| format!("{name} missing from /metrics"))?
                .trim()
                .parse()
                .with_context(|| format!("{name} is not a number"))
        };
        Ok(Counters {
            sql_statements: value("convgraph_sql_statements_total")?,
            http_requests: value("convgraph_http_requests_total")?,
        })
    }

    /// Resets the peak resident set size (`VmHWM`) to the current one.
    pub fn reset_peak_memory(&self) -> anyhow::Result<()> {
        let path = format!("/proc/{}/clear_refs", self.pid);
        std::fs::write(&path, "5").with_context(|| format!("cannot write {path}"))
    }

    /// The peak resident set size since the last reset, in KiB.
    pub fn peak_memory_kib(&self) -> anyhow::Result<u64> {
        let path = format!("/proc/{}/status", self.pid);
        let status =
            std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
        status_kib(&status, "VmHWM:").with_context(|| format!("no VmHWM in {path}"))
    }

    /// The resident set size now, in KiB.
    pub fn memory_kib(&self) -> anyhow::Result<u64> {
        let path = format!("/proc/{}/status", self.pid);
        let status =
            std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
        status_kib(&status, "VmRSS:").with_context(|| format!("no VmRSS in {path}"))
    }

    /// SIGTERM (in-flight requests finish), then a kill after 10 s.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        terminate(&mut self.child).await
    }
}

/// Stops `child`: SIGTERM, then a kill when it has not exited within 10 s.
pub async fn terminate(child: &mut Child) -> anyhow::Result<()> {
    if let Some(pid) = child.id() {
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await;
    }
    if tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .is_err()
    {
        child.kill().await?;
    }
    Ok(())
}

/// A field of a `/proc/<pid>/status` (`VmHWM:`, `VmRSS:`), in KiB.
fn status_kib(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::status_kib;

    #[test]
    fn the_peak_comes_from_vm_hwm() {
        let status =
            "Name:\tconvgraph\nVmPeak:\t  812345 kB\nVmHWM:\t   51234 kB\nVmRSS:\t   40000 kB\n";
        assert_eq!(status_kib(status, "VmHWM:"), Some(51_234));
        assert_eq!(status_kib(status, "VmRSS:"), Some(40_000));
        assert_eq!(status_kib("Name:\tx\n", "VmHWM:"), None);
    }
}
