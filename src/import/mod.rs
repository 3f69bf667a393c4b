//! `convgraph import`: files and directories of source documents into the store, with a
//! progress bar and a per-document report.

mod read;

use anyhow::Context as _;
use chrono_tz::Tz;
use db::graph::StoreOutcome;
use db::records::Target;
use domain::Scope;
use domain::buzzeasy::{ReadOptions, Table};
use domain::genesys::Shape;
use domain::ingest::{self, IngestError, IngestLimits, Item, RejectCode};
use futures::StreamExt as _;
use indicatif::{ProgressBar, ProgressStyle};
use sqlx::PgPool;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use read::RawDocument;

/// The source format of the files; `Auto` tells it from each document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Auto,
    /// Genesys analytics conversation details.
    GenesysAnalytics,
    /// The Genesys platform `Conversation` object.
    GenesysConversation,
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub format: Format,
    /// The Buzzeasy table of OData pages and CSV files whose context and names do not say.
    pub table: Option<Table>,
    /// The tenant's time zone, for Buzzeasy timestamps given in local time only.
    pub time_zone: Option<Tz>,
    /// Documents written at the same time.
    pub concurrency: usize,
    pub progress: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            format: Format::Auto,
            table: None,
            time_zone: None,
            concurrency: 4,
            progress: false,
        }
    }
}

/// What an import did, document by document.
#[derive(Debug, Default)]
pub struct ImportReport {
    pub imported: u64,
    pub unchanged: u64,
    pub replaced: u64,
    pub rejected: Vec<Rejection>,
}

/// A document that was not stored, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub file: PathBuf,
    /// Where in the file: `line 3`, `$.conversations[2]`, `$`.
    pub locator: String,
    /// The conversation, when its id could be read.
    pub conversation_id: Option<String>,
    pub code: RejectCode,
    /// The JSON path of the offending value inside the document, when there is one.
    pub path: Option<String>,
    pub message: String,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.file.display(), self.locator)?;
        if let Some(id) = &self.conversation_id {
            write!(f, " (conversation {id})")?;
        }
        write!(f, ": {}", self.code.as_str())?;
        match &self.path {
            Some(path) => write!(f, ": {path}: {}", self.message),
            None => write!(f, ": {}", self.message),
        }
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "imported {}, unchanged {}, replaced {}, rejected {}",
            self.imported,
            self.unchanged,
            self.replaced,
            self.rejected.len()
        )?;
        for r in &self.rejected {
            writeln!(f, "  rejected {r}")?;
        }
        Ok(())
    }
}

/// Imports every document of `paths` (files, or directories walked recursively).
pub async fn import_paths(
    pool: &PgPool,
    paths: &[PathBuf],
    options: &ImportOptions,
) -> anyhow::Result<ImportReport> {
    let files = expand(paths)?;
    let total: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum();
    let bytes_read = Arc::new(AtomicU64::new(0));
    let bar = progress_bar(options.progress, total);

    let (tx, rx) = tokio::sync::mpsc::channel::<RawDocument>(256);
    let reader_bytes = bytes_read.clone();
    let table = options.table;
    let reader = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        for file in &files {
            let mut emit = |doc| tx.blocking_send(doc).is_ok();
            read::read_file(file, table, reader_bytes.clone(), &mut emit)
                .with_context(|| format!("cannot read {}", file.display()))?;
        }
        Ok(())
    });

    let format = options.format;
    let feed = ReadOptions {
        time_zone: options.time_zone,
    };
    let mut outcomes = std::pin::pin!(
        futures::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|doc| (doc, rx)) }
        )
        .ready_chunks(BATCH)
        .map(|docs| import_documents(pool, format, &feed, docs))
        .buffer_unordered(options.concurrency.max(1))
    );

    let mut report = ImportReport::default();
    while let Some(batch) = outcomes.next().await {
        for outcome in batch {
            match outcome {
                Ok(StoreOutcome::Imported) => report.imported += 1,
                Ok(StoreOutcome::Unchanged) => report.unchanged += 1,
                Ok(StoreOutcome::Replaced) => report.replaced += 1,
                Err(rejection) => report.rejected.push(*rejection),
            }
        }
        bar.set_position(bytes_read.load(Ordering::Relaxed));
        bar.set_message(format!(
            "{} stored, {} rejected",
            report.imported + report.unchanged + report.replaced,
            report.rejected.len()
        ));
    }
    reader.await.context("the file reader stopped")??;
    bar.set_message("updating the dashboard rollup");
    db::aggregate::refresh_rollup_backlog(pool)
        .await
        .context("cannot update the dashboard rollup")?;
    bar.finish_and_clear();
    report.rejected.sort_by(|a, b| natural(a).cmp(&natural(b)));
    Ok(report)
}

/// Documents stored in one transaction, when the store takes them all.
const BATCH: usize = 64;

/// Reading order: `line 2` before `line 10`.
fn natural(r: &Rejection) -> (&Path, usize, &str) {
    (&r.file, r.locator.len(), &r.locator)
}

/// Parses, validates and stores documents: conversations through the shared write path
/// ([`db::ingest::write`], with the scope of everything), rows of the Buzzeasy feed's other
/// tables by their keys ([`db::records`]). Each document is atomic on its own.
pub async fn import_documents(
    pool: &PgPool,
    format: Format,
    feed: &ReadOptions,
    docs: Vec<RawDocument>,
) -> Vec<Result<StoreOutcome, Box<Rejection>>> {
    let limits = IngestLimits::default();
    let shape = match format {
        Format::Auto => None,
        Format::GenesysAnalytics => Some(Shape::Analytics),
        Format::GenesysConversation => Some(Shape::Platform),
    };
    let items: Vec<Result<Item, Box<Rejection>>> = docs
        .iter()
        .map(|doc| {
            let target = doc.table.map(Target::Feed);
            let value = doc
                .value
                .as_ref()
                .map_err(|e| rejection(doc, None, e.clone()))?;
            ingest::read_item(value, target, shape, feed, &limits)
                .map_err(|e| rejection(doc, ingest::key_of_document(value, target), e))
        })
        .collect();
    let readable: Vec<&Item> = items.iter().filter_map(|i| i.as_ref().ok()).collect();
    let mut stored = db::ingest::write_items(pool, &Scope::All, &readable)
        .await
        .into_iter();
    docs.iter()
        .zip(items.iter())
        .map(|(doc, item)| match item {
            Err(rejection) => Err(rejection.clone()),
            Ok(item) => stored
                .next()
                .unwrap_or(Ok(StoreOutcome::Unchanged))
                .map_err(|e| rejection(doc, Some(item.key().to_owned()), e)),
        })
        .collect()
}

fn rejection(
    doc: &RawDocument,
    conversation_id: Option<String>,
    error: IngestError,
) -> Box<Rejection> {
    Box::new(Rejection {
        file: doc.file.to_path_buf(),
        locator: doc.locator.clone(),
        conversation_id,
        code: error.code,
        path: error.path,
        message: error.message,
    })
}

fn progress_bar(enabled: bool, total: u64) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {binary_bytes}/{binary_total_bytes} {msg}",
    ) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Files to read: given files as they are; directories walked, their JSON files in name order.
fn expand(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        let meta =
            std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        if meta.is_dir() {
            walk(path, &mut files)?;
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if hidden {
            continue;
        }
        if entry.file_type()?.is_dir() {
            walk(&path, files)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("json" | "jsonl" | "ndjson" | "csv")
        ) {
            files.push(path);
        }
    }
    Ok(())
}
