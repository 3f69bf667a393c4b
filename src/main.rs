//! The `convgraph` command line: parses arguments and runs the command.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use convgraph::database::{Database, LocalData};
use convgraph::import::{Format, ImportOptions, import_paths};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "convgraph",
    version,
    about = "A GraphQL gateway over a contact center's conversation graph"
)]
struct Cli {
    /// PostgreSQL to use; without it, a private local server is started from the PostgreSQL
    /// installed on this machine.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    database_url: Option<String>,
    /// Data directory of the private local server (when no database URL is given).
    #[arg(
        long,
        env = "CONVGRAPH_DATA_DIR",
        global = true,
        default_value = ".convgraph/pgdata"
    )]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply the migrations and exit.
    Migrate,
    /// Load Genesys conversation documents from files or directories.
    Import {
        /// Files or directories (walked for .json, .jsonl and .ndjson files).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The source format; detected per document when not given.
        #[arg(long, value_enum, default_value_t = Format::Auto)]
        format: Format,
        /// Batches written at the same time.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "convgraph=info,db=info,api=info,warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let local = LocalData::Persistent(cli.data_dir.clone());
    match cli.command {
        Command::Migrate => {
            let db = Database::open(cli.database_url.as_deref(), &local, 2).await?;
            println!("migrations applied");
            db.close().await
        }
        Command::Import {
            paths,
            format,
            concurrency,
        } => {
            let db =
                Database::open(cli.database_url.as_deref(), &local, concurrency as u32 + 2).await?;
            let options = ImportOptions {
                format,
                concurrency,
                progress: true,
            };
            let report = import_paths(&db.pool, &paths, &options)
                .await
                .context("import failed")?;
            print!("{report}");
            db.close().await?;
            if report.rejected.is_empty() {
                Ok(())
            } else {
                std::process::exit(2)
            }
        }
    }
}
