//! `convgraph import`: files and directories of source documents into the store, with a
//! progress bar and a per-document report.

mod read;

use anyhow::Context as _;
use db::graph::{StoreOutcome, ingest_conversations};
use domain::ConversationGraph;
use domain::genesys::{self, Shape};
use futures::StreamExt as _;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
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
    /// Documents written at the same time.
    pub concurrency: usize,
    pub progress: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            format: Format::Auto,
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
    let reader = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        for file in &files {
            let mut emit = |doc| tx.blocking_send(doc).is_ok();
            read::read_file(file, reader_bytes.clone(), &mut emit)
                .with_context(|| format!("cannot read {}", file.display()))?;
        }
        Ok(())
    });

    let format = options.format;
    let mut outcomes = std::pin::pin!(
        futures::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|doc| (doc, rx)) }
        )
        .ready_chunks(BATCH)
        .map(|docs| import_documents(pool, format, docs))
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
    bar.finish_and_clear();
    report.rejected.sort_by(|a, b| natural(a).cmp(&natural(b)));
    Ok(report)
}

/// Documents stored in one transaction, when they are all valid.
const BATCH: usize = 64;

/// Reading order: `line 2` before `line 10`.
fn natural(r: &Rejection) -> (&Path, usize, &str) {
    (&r.file, r.locator.len(), &r.locator)
}

/// Parses, validates and stores documents; each is atomic on its own: a batch that the store
/// refuses is stored again document by document, so one bad document never takes others down.
pub async fn import_documents(
    pool: &PgPool,
    format: Format,
    docs: Vec<RawDocument>,
) -> Vec<Result<StoreOutcome, Box<Rejection>>> {
    let mut results: Vec<Option<Result<StoreOutcome, Box<Rejection>>>> = Vec::new();
    let mut parsed: Vec<(usize, ConversationGraph)> = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        results.push(None);
        match parse_document(format, doc) {
            Ok(graph) => parsed.push((i, graph)),
            Err(rejection) => results[i] = Some(Err(rejection)),
        }
    }
    // A conversation sent twice in one batch is stored in order: a later copy waits for the
    // next round.
    while !parsed.is_empty() {
        let mut seen = std::collections::HashSet::new();
        let (round, later): (Vec<_>, Vec<_>) = parsed
            .into_iter()
            .partition(|(_, g)| seen.insert(g.id().to_owned()));
        parsed = later;
        let graphs: Vec<&ConversationGraph> = round.iter().map(|(_, g)| g).collect();
        match ingest_conversations(pool, &graphs).await {
            Ok(outcomes) => {
                for ((i, _), outcome) in round.iter().zip(outcomes) {
                    results[*i] = Some(Ok(outcome));
                }
            }
            Err(_) => {
                for (i, graph) in &round {
                    let outcome = ingest_conversations(pool, &[graph])
                        .await
                        .map(|mut o| o.pop().unwrap_or(StoreOutcome::Unchanged))
                        .map_err(|e| {
                            tracing::debug!(error = %e, "store failed");
                            rejection(
                                &docs[*i],
                                Some(graph.id().to_owned()),
                                None,
                                store_error_message(&e),
                            )
                        });
                    results[*i] = Some(outcome);
                }
            }
        }
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or(Ok(StoreOutcome::Unchanged)))
        .collect()
}

/// Parses one document into a conversation graph.
pub fn parse_document(
    format: Format,
    doc: &RawDocument,
) -> Result<ConversationGraph, Box<Rejection>> {
    let value = doc
        .value
        .as_ref()
        .map_err(|e| rejection(doc, None, None, e.clone()))?;
    let parsed = match format {
        Format::Auto => genesys::parse(value),
        Format::GenesysAnalytics => genesys::parse_analytics(value),
        Format::GenesysConversation => genesys::parse_platform(value),
    };
    parsed.map_err(|e| rejection(doc, conversation_id_of(value), Some(e.path), e.message))
}

fn rejection(
    doc: &RawDocument,
    conversation_id: Option<String>,
    path: Option<String>,
    message: String,
) -> Box<Rejection> {
    Box::new(Rejection {
        file: doc.file.to_path_buf(),
        locator: doc.locator.clone(),
        conversation_id,
        path,
        message,
    })
}

/// The id of a conversation document, for the report, before it is parsed.
fn conversation_id_of(value: &Value) -> Option<String> {
    let shape = genesys::detect(value);
    let key = match shape {
        Some(Shape::Platform) => "id",
        _ => "conversationId",
    };
    value
        .get(key)
        .or_else(|| value.get("conversationId"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// What a user can act on when the store refuses a document: never the SQL.
fn store_error_message(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some("22008") => "a timestamp is out of the supported range".into(),
            Some("22003") => "a number is out of the supported range".into(),
            Some("22P05" | "22021") => {
                "a string holds characters PostgreSQL cannot store (\\u0000)".into()
            }
            Some("54000") => "the document is too large for one row".into(),
            _ => format!(
                "the database refused the document ({})",
                db.code().unwrap_or_default()
            ),
        },
        _ => "the database is unavailable; the document was not stored".into(),
    }
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
            Some("json" | "jsonl" | "ndjson")
        ) {
            files.push(path);
        }
    }
    Ok(())
}
