//! Which PostgreSQL a command talks to: the one given by URL, or a private local server.

use anyhow::Context as _;
use db::local::LocalPostgres;
use sqlx::PgPool;
use std::path::{Path, PathBuf};

/// Where a command's data lives when no database URL is given.
#[derive(Debug, Clone)]
pub enum LocalData {
    /// A server in this directory, kept between runs (`serve`, `import`, `seed`, `migrate`).
    Persistent(PathBuf),
    /// A server in a fresh directory, removed on exit (`demo`).
    Temporary,
}

/// An open, migrated database, and the local server behind it when there is one (stopped when
/// this is dropped).
pub struct Database {
    pub pool: PgPool,
    pub url: String,
    local: Option<LocalPostgres>,
}

impl Database {
    /// Connects to `url`, or starts the local server `local` when there is none; then applies
    /// the migrations.
    pub async fn open(
        url: Option<&str>,
        local: &LocalData,
        max_connections: u32,
    ) -> anyhow::Result<Self> {
        let (url, server) = match url {
            Some(url) => (url.to_owned(), None),
            None => {
                let local = local.clone();
                let server = tokio::task::spawn_blocking(move || match &local {
                    LocalData::Persistent(dir) => start_persistent(dir),
                    LocalData::Temporary => Ok(LocalPostgres::temporary()?),
                })
                .await??;
                tracing::info!(url = %server.url(), dir = %server.data_dir().display(), "started local PostgreSQL");
                (server.url(), Some(server))
            }
        };
        let pool = db::connect(&url, max_connections)
            .await
            .with_context(|| format!("cannot connect to PostgreSQL at {}", redact(&url)))?;
        db::migrate(&pool)
            .await
            .context("cannot apply the migrations")?;
        Ok(Self {
            pool,
            url,
            local: server,
        })
    }

    /// For `serve --no-migrate`: the database at `url`, whose schema this process must not
    /// touch. When PostgreSQL answers, a schema that lacks one of this build's migrations is an
    /// error (`convgraph migrate` applies them); when it does not answer, the server starts
    /// anyway, answers `UNAVAILABLE` and `/readyz` 503 until it does.
    pub async fn open_without_migrating(url: &str) -> anyhow::Result<Self> {
        let pool = db::connect_lazy(url)
            .with_context(|| format!("invalid database URL {}", redact(url)))?;
        match db::pending_migrations(&pool).await {
            Ok(pending) if pending.is_empty() => {
                tracing::info!("--no-migrate: the database holds every migration of this build")
            }
            Ok(pending) => anyhow::bail!(
                "--no-migrate: the database at {} lacks migrations {} of this build; apply them \
                 with `convgraph migrate` (or start one instance without --no-migrate)",
                redact(url),
                pending.join(", ")
            ),
            Err(e) if db::unavailable(&e) => tracing::warn!(
                error = %e,
                "--no-migrate: PostgreSQL does not answer yet; serving UNAVAILABLE until it does"
            ),
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("cannot read the applied migrations at {}", redact(url))
                });
            }
        }
        Ok(Self {
            pool,
            url: url.to_owned(),
            local: None,
        })
    }

    /// A pool for serving requests on the same database (the migrations ran on
    /// [`Database::pool`], without a statement timeout).
    pub fn serving(&self, config: db::PoolConfig) -> anyhow::Result<PgPool> {
        db::connect_serving(&self.url, config)
            .with_context(|| format!("invalid database URL {}", redact(&self.url)))
    }

    /// Stops the local server, if this started one.
    pub async fn close(mut self) -> anyhow::Result<()> {
        self.pool.close().await;
        if let Some(server) = self.local.take() {
            tokio::task::spawn_blocking(move || server.stop()).await??;
        }
        Ok(())
    }
}

fn start_persistent(dir: &Path) -> anyhow::Result<LocalPostgres> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let dir = dir.canonicalize()?;
    Ok(LocalPostgres::start(&dir)?)
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
