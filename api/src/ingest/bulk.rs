//! `POST /ingest`: newline-delimited JSON of any length, cut into lines as it arrives, stored in
//! chunks by parallel writers that keep each id's order, with a report streamed back line by
//! line.

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::http::authenticate;
use crate::media::MediaType;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use db::graph::StoreOutcome;
use domain::buzzeasy::ReadOptions;
use domain::ingest::{self, IngestError, Item, Target};
use futures::{FutureExt as _, StreamExt as _};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use sqlx::PgPool;
use std::collections::{HashSet, VecDeque};

use super::idempotency::{KeyLock, body_digest, hex, idempotency_key, key_reused};
use super::{IngestConfig, IngestRejection, may_ingest, read_options};

/// The media types `POST /ingest` reads.
const NDJSON_TYPES: &[&str] = &[
    "application/x-ndjson",
    "application/jsonl",
    "application/json-lines",
];

/// Documents stored together.
const CHUNK: usize = 64;

/// Chunks of one push stored at the same time, each on a connection of its own: the next chunk
/// is read and checked while the previous ones are written.
const WRITERS: usize = 2;

/// A chunk's lines and what storing them did.
type Stored = (Vec<Line>, Vec<Result<StoreOutcome, IngestError>>);

/// A chunk being stored: the identities of its documents and the task storing it.
struct Writing {
    ids: HashSet<String>,
    task: tokio::task::JoinHandle<Stored>,
}

/// The most rejections an idempotency key remembers for a bulk push.
const REMEMBERED_REJECTIONS: usize = 10_000;

/// `POST /ingest`: one conversation document a line (blank lines are skipped). The answer is
/// `application/x-ndjson`, written while the push is read: a line per document,
/// `{"line":3,"conversationId":"…","outcome":"created"}` or with `"outcome":"rejected","error":
/// {"code":…,"path":…,"message":…}`, then `{"summary":{…}}`. Documents are stored in chunks, each
/// document atomically; a push cut off (or a server that dies) leaves only whole documents, and
/// sending the same push again completes it. With an `Idempotency-Key` header, a retry of a
/// finished push answers its rejections and summary again (marked `"replayed":true`) and writes
/// nothing.
pub async fn bulk(State(state): State<AppState>, request: Request) -> Response {
    let media = MediaType::Json;
    let verified = request.extensions().get::<Caller>().cloned();
    let caller = match authenticate(&state, verified, request.headers()).await {
        Ok(caller) => caller,
        Err(error) => return error.response(media),
    };
    if let Err(e) = may_ingest(&caller) {
        return e.response(media);
    }
    if let Err(e) = check_content_type(request.headers()) {
        return e.response(media);
    }
    let key = match idempotency_key(request.headers()) {
        Ok(key) => key,
        Err(e) => return e.response(media),
    };
    let what = match Pushed::of(request.uri()) {
        Ok(what) => what,
        Err(e) => return e.response(media),
    };
    let body = request.into_body();
    let config = state.ingest;
    let pool = state.pool.clone();
    let Some(key) = key else {
        return stream_report(&state, caller, what, body, None);
    };
    let mut held = match KeyLock::take(&pool, &caller, &key).await {
        Ok(held) => held,
        Err(e) => {
            return e.response(media);
        }
    };
    match held.remembered().await {
        Err(e) => {
            let e = ApiError::from_db(e);
            held.release().await;
            e.response(media)
        }
        Ok(None) => stream_report(&state, caller, what, body, Some(held)),
        Ok(Some(first)) => {
            let digest = body_digest(&what.kind, body, config.max_bulk_bytes).await;
            held.release().await;
            match digest {
                Some(d) if d == first.request_digest => replay(&first.response),
                _ => key_reused(&key).response(media),
            }
        }
    }
}

fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let given = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    match given {
        Some(t) if NDJSON_TYPES.contains(&t.as_str()) => Ok(()),
        _ => Err(ApiError::Unsupported(
            "UNSUPPORTED_MEDIA_TYPE",
            format!(
                "POST /ingest reads newline-delimited JSON: send Content-Type: {}",
                NDJSON_TYPES[0]
            ),
        )),
    }
}

fn ndjson(body: Body) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        body,
    )
        .into_response()
}

/// The remembered answer of a finished push.
fn replay(response: &Value) -> Response {
    let mut out = String::new();
    for line in response["rejections"].as_array().into_iter().flatten() {
        let mut line = line.clone();
        line["replayed"] = Value::Bool(true);
        out.push_str(&line.to_string());
        out.push('\n');
    }
    let mut summary = response["summary"].clone();
    summary["replayed"] = Value::Bool(true);
    out.push_str(&serde_json::json!({ "summary": summary }).to_string());
    out.push('\n');
    ndjson(Body::from(out))
}

/// Starts the push in a task of its own and answers with its report as it is written.
fn stream_report(
    state: &AppState,
    caller: Caller,
    what: Pushed,
    body: Body,
    held: Option<KeyLock>,
) -> Response {
    let (pool, replica, config) = (state.pool.clone(), state.replica.clone(), state.ingest);
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(64);
    if let Some(replica) = &replica {
        replica.writing(&caller.subject);
    }
    tokio::spawn(async move {
        let subject = caller.subject.clone();
        let primary = pool.clone();
        let push = Push {
            pool,
            caller,
            config,
            what,
            tx,
        };
        push.run(body, held).await;
        if let Some(replica) = replica {
            replica.wrote(&primary, &subject).await;
        }
    });
    let lines = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, std::io::Error>(b), rx))
    });
    ndjson(Body::from_stream(lines))
}

/// One bulk push being read, stored and reported.
struct Push {
    pool: PgPool,
    caller: Caller,
    config: IngestConfig,
    what: Pushed,
    tx: tokio::sync::mpsc::Sender<Bytes>,
}

/// What a push holds: conversations (and flow metric records), or rows of the table named by
/// `?table=`, with `?timeZone=` for the table's local-only times.
struct Pushed {
    target: Option<Target>,
    options: ReadOptions,
    /// Part of the idempotency digest: the same bytes sent as another table are another push.
    kind: String,
}

impl Pushed {
    fn of(uri: &axum::http::Uri) -> Result<Self, ApiError> {
        let axum::extract::Query(params) = axum::extract::Query::<
            std::collections::HashMap<String, String>,
        >::try_from_uri(uri)
        .map_err(|_| ApiError::bad_input("the query string of POST /ingest is malformed"))?;
        if let Some(unknown) = params
            .keys()
            .find(|k| !matches!(k.as_str(), "table" | "timeZone"))
        {
            return Err(ApiError::bad_input(format!(
                "POST /ingest takes the parameters table and timeZone, not {unknown:?}"
            )));
        }
        let target = params
            .get("table")
            .map(|name| {
                Target::from_name(name).ok_or_else(|| {
                    ApiError::bad_input(format!(
                        "no table is called {name:?}; the tables: {}",
                        Target::names()
                    ))
                })
            })
            .transpose()?;
        let options = read_options(params.get("timeZone").map(String::as_str))?;
        let kind = format!(
            "bulk:{target:?}:{}",
            params.get("timeZone").map(String::as_str).unwrap_or("")
        );
        Ok(Self {
            target,
            options,
            kind,
        })
    }
}

/// A document read from the push: its line and what it parsed to.
struct Line {
    number: u64,
    id: Option<String>,
    item: Result<Item, IngestError>,
}

#[derive(Default, Serialize)]
struct Summary {
    documents: u64,
    created: u64,
    replaced: u64,
    unchanged: u64,
    rejected: u64,
    /// Set when the push stopped before its end: the reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    stopped: Option<Value>,
}

impl Push {
    async fn run(self, body: Body, mut held: Option<KeyLock>) {
        let mut summary = Summary::default();
        let mut rejections: Vec<Value> = Vec::new();
        let mut hash = Sha256::new();
        hash.update(self.what.kind.as_bytes());
        hash.update(b"\n");
        let mut splitter = Splitter::new(self.config.limits.max_document_bytes);
        let mut stream = body.into_data_stream();
        let mut read = 0u64;
        let mut pending: Vec<Line> = Vec::new();
        // Chunks being stored, oldest first; reported in that order.
        let mut writing: VecDeque<Writing> = VecDeque::new();
        // A chunk read ahead while deciding whether to store what is pending.
        let mut ahead = None;
        let finished = loop {
            let next = match ahead.take() {
                Some(next) => next,
                // Report a stored chunk as soon as it is stored, even while the sender pauses;
                // else read on.
                None => match writing.front_mut() {
                    None => stream.next().await,
                    Some(oldest) => tokio::select! {
                        next = stream.next() => next,
                        done = &mut oldest.task => {
                            writing.pop_front();
                            if !self.report(done, &mut summary, &mut rejections).await {
                                return;
                            }
                            continue;
                        }
                    },
                },
            };
            let chunk = match next {
                None => break true,
                Some(Err(_)) => {
                    // The sender went away: the rest never came.
                    summary.stopped = Some(stop(
                        "BODY_READ_FAILED",
                        "the request body could not be read to its end",
                    ));
                    break false;
                }
                Some(Ok(chunk)) => chunk,
            };
            read += chunk.len() as u64;
            if read > self.config.max_bulk_bytes {
                summary.stopped = Some(stop(
                    "REQUEST_TOO_LARGE",
                    &format!(
                        "the push is larger than the limit of {} bytes; the documents before this point were stored",
                        self.config.max_bulk_bytes
                    ),
                ));
                break false;
            }
            hash.update(&chunk);
            for raw in splitter.push(&chunk) {
                pending.push(self.parse(raw));
            }
            // Store a full chunk, or what is pending when the sender pauses: a slow push is
            // stored and reported as it comes.
            let store_now = pending.len() >= CHUNK
                || (!pending.is_empty() && {
                    ahead = stream.next().now_or_never();
                    ahead.is_none()
                });
            if store_now
                && !self
                    .store(&mut pending, &mut writing, &mut summary, &mut rejections)
                    .await
            {
                return;
            }
        };
        if finished {
            if let Some(raw) = splitter.finish() {
                pending.push(self.parse(raw));
            }
        }
        if !self
            .store(&mut pending, &mut writing, &mut summary, &mut rejections)
            .await
        {
            return;
        }
        while let Some(oldest) = writing.pop_front() {
            if !self
                .report(oldest.task.await, &mut summary, &mut rejections)
                .await
            {
                return;
            }
        }
        let summary_value = serde_json::to_value(&summary).unwrap_or_default();
        if let Some(held) = held.as_mut()
            && finished
        {
            rejections.truncate(REMEMBERED_REJECTIONS);
            let response =
                serde_json::json!({ "summary": summary_value, "rejections": rejections });
            let digest = hex(&hash.finalize());
            if let Err(e) = held.remember("bulk", &digest, response).await {
                tracing::error!(error = %e, "could not remember an idempotency key");
            }
        }
        if let Some(held) = held {
            held.release().await;
        }
        let line = serde_json::json!({ "summary": summary_value }).to_string() + "\n";
        let _ = self.tx.send(Bytes::from(line)).await;
    }

    fn parse(&self, raw: RawLine) -> Line {
        let limits = &self.config.limits;
        let target = self.what.target;
        let parsed = match raw.too_long {
            Some(bytes) => Err(ingest::too_large(bytes, limits)),
            None => ingest::check_bytes(&raw.bytes, limits).and_then(ingest::parse_json),
        };
        match parsed {
            Err(e) => Line {
                number: raw.number,
                id: None,
                item: Err(e),
            },
            Ok(value) => {
                let item = ingest::read_item(&value, target, None, &self.what.options, limits);
                let id = match &item {
                    Ok(item) => Some(item.key().to_owned()),
                    Err(_) => ingest::key_of_document(&value, target),
                };
                Line {
                    number: raw.number,
                    id,
                    item,
                }
            }
        }
    }

    /// Starts storing `pending` beside the chunks already being stored (at most [`WRITERS`] at
    /// once), after reporting the oldest of them when there are as many, and after reporting
    /// all of them when one holds a document of the same id: a later version of a conversation
    /// is stored after the earlier one, as when the push is stored chunk by chunk. False when
    /// the report can no longer be sent.
    async fn store(
        &self,
        pending: &mut Vec<Line>,
        writing: &mut VecDeque<Writing>,
        summary: &mut Summary,
        rejections: &mut Vec<Value>,
    ) -> bool {
        if pending.is_empty() {
            return true;
        }
        let lines = std::mem::take(pending);
        let ids: HashSet<String> = lines
            .iter()
            .filter_map(|l| l.item.as_ref().ok().map(Item::identity))
            .collect();
        let overlaps = writing.iter().any(|w| !w.ids.is_disjoint(&ids));
        while (overlaps || writing.len() >= WRITERS)
            && let Some(oldest) = writing.pop_front()
        {
            if !self.report(oldest.task.await, summary, rejections).await {
                return false;
            }
        }
        let (pool, scope) = (self.pool.clone(), self.caller.scope.clone());
        let task = tokio::spawn(async move {
            let items: Vec<&Item> = lines.iter().filter_map(|l| l.item.as_ref().ok()).collect();
            let stored = db::ingest::write_items(&pool, &scope, &items).await;
            (lines, stored)
        });
        writing.push_back(Writing { ids, task });
        true
    }

    /// Reports a stored chunk; false when the report can no longer be sent.
    async fn report(
        &self,
        done: Result<Stored, tokio::task::JoinError>,
        summary: &mut Summary,
        rejections: &mut Vec<Value>,
    ) -> bool {
        let (lines, stored) = match done {
            Ok(done) => done,
            Err(e) => {
                // A writer panicked: what it stored is unknown, so the push stops here.
                tracing::error!(error = %e, "a writer of a push failed");
                summary.stopped = Some(stop(
                    "INTERNAL",
                    "storing a part of the push failed; the documents reported before this point were stored",
                ));
                let line = serde_json::json!({ "summary": summary }).to_string() + "\n";
                let _ = self.tx.send(Bytes::from(line)).await;
                return false;
            }
        };
        let mut stored = stored.into_iter();
        let mut out = String::new();
        // Conversations are reported by `conversationId`, rows of a table by `key`.
        let id_field = if self.what.target.is_some() {
            "key"
        } else {
            "conversationId"
        };
        for line in &lines {
            let outcome = match &line.item {
                Ok(_) => stored.next().unwrap_or(Ok(StoreOutcome::Unchanged)),
                Err(e) => Err(e.clone()),
            };
            summary.documents += 1;
            let mut report = serde_json::json!({ "line": line.number, id_field: line.id });
            match outcome {
                Ok(StoreOutcome::Imported) => {
                    summary.created += 1;
                    crate::metrics::ingest_documents("created", 1);
                    report["outcome"] = "created".into();
                }
                Ok(StoreOutcome::Replaced) => {
                    summary.replaced += 1;
                    crate::metrics::ingest_documents("replaced", 1);
                    report["outcome"] = "replaced".into();
                }
                Ok(StoreOutcome::Unchanged) => {
                    summary.unchanged += 1;
                    crate::metrics::ingest_documents("unchanged", 1);
                    report["outcome"] = "unchanged".into();
                }
                Err(e) => {
                    summary.rejected += 1;
                    crate::metrics::ingest_documents("rejected", 1);
                    report["outcome"] = "rejected".into();
                    report["error"] =
                        serde_json::to_value(IngestRejection::from(e)).unwrap_or_default();
                    rejections.push(report.clone());
                }
            }
            out.push_str(&report.to_string());
            out.push('\n');
        }
        self.tx.send(Bytes::from(out)).await.is_ok()
    }
}

fn stop(code: &str, message: &str) -> Value {
    serde_json::json!({ "code": code, "message": message })
}

/// One line of a push, as bytes; `too_long` holds its length when it was longer than the
/// document limit (its bytes are then not kept).
struct RawLine {
    number: u64,
    bytes: Vec<u8>,
    too_long: Option<usize>,
}

/// Cuts a byte stream into lines, keeping at most `max` bytes of a line in memory.
struct Splitter {
    max: usize,
    line: Vec<u8>,
    /// Bytes of the current line, kept or not.
    length: usize,
    number: u64,
}

impl Splitter {
    fn new(max: usize) -> Self {
        Self {
            max,
            line: Vec::new(),
            length: 0,
            number: 0,
        }
    }

    /// The lines `chunk` completes.
    fn push(&mut self, mut chunk: &[u8]) -> Vec<RawLine> {
        let mut done = Vec::new();
        while let Some(end) = chunk.iter().position(|&b| b == b'\n') {
            self.take(&chunk[..end]);
            done.extend(self.complete());
            chunk = &chunk[end + 1..];
        }
        self.take(chunk);
        done
    }

    /// The last line, when the push does not end with a newline.
    fn finish(&mut self) -> Option<RawLine> {
        if self.length == 0 {
            return None;
        }
        self.complete()
    }

    fn take(&mut self, bytes: &[u8]) {
        self.length += bytes.len();
        if self.length <= self.max {
            self.line.extend_from_slice(bytes);
        } else {
            self.line = Vec::new();
        }
    }

    fn complete(&mut self) -> Option<RawLine> {
        self.number += 1;
        let length = std::mem::take(&mut self.length);
        let bytes = std::mem::take(&mut self.line);
        if length > self.max {
            return Some(RawLine {
                number: self.number,
                bytes: Vec::new(),
                too_long: Some(length),
            });
        }
        let blank = bytes.iter().all(|b| b.is_ascii_whitespace());
        (!blank).then_some(RawLine {
            number: self.number,
            bytes,
            too_long: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_cut_across_chunks_and_long_ones_are_not_kept() {
        let mut s = Splitter::new(5);
        let mut lines = s.push(b"ab");
        lines.extend(s.push(b"c\n\n  \n123456789\nxy"));
        lines.extend(s.finish());
        let got: Vec<(u64, Vec<u8>, Option<usize>)> = lines
            .into_iter()
            .map(|l| (l.number, l.bytes, l.too_long))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, b"abc".to_vec(), None),
                (4, Vec::new(), Some(9)),
                (5, b"xy".to_vec(), None),
            ]
        );
    }
}
