//! Partners pushing conversations in: the `ingestConversations` mutation, for batches that fit
//! one GraphQL request, and `POST /ingest` ([`bulk`]), newline-delimited JSON of any length with a
//! report streamed back line by line. Both, and `convgraph import`, store through
//! [`db::ingest::write`]: the same checks, the same outcomes, the same error codes.
//!
//! Writing needs the `ingest:write` permission, and a token may write only conversations whose
//! divisions and business unit are all in its scope, over stored conversations that are too
//! ([`domain::ingest::may_write`]). An optional idempotency key makes a retried request answer
//! what the first one answered, without writing again.

use crate::AppState;
use crate::auth::{Caller, Permission};
use crate::error::ApiError;
use crate::http::authenticate;
use crate::media::MediaType;
use async_graphql::{Context, ErrorExtensions as _, Json, Object, SimpleObject};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use db::graph::StoreOutcome;
use db::ingest::Remembered;
use domain::buzzeasy::ReadOptions;
use domain::ingest::{self, IngestError, IngestLimits, Item, RejectCode, Target};
use futures::{FutureExt as _, StreamExt as _};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use sqlx::PgPool;
use sqlx::pool::PoolConnection;
use std::collections::{HashSet, VecDeque};

/// The permission to write, as tokens spell it.
pub const INGEST_WRITE: &str = "ingest:write";

/// Limits of the two doors, beyond the HTTP body limit of `/graphql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestConfig {
    /// Bounds on each document.
    pub limits: IngestLimits,
    /// The most documents one `ingestConversations` call takes.
    pub max_mutation_documents: usize,
    /// The largest `POST /ingest` body, in bytes; past it the push stops (what came before is
    /// stored and reported).
    pub max_bulk_bytes: u64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            limits: IngestLimits::default(),
            max_mutation_documents: 1000,
            max_bulk_bytes: 4 * 1024 * 1024 * 1024,
        }
    }
}

/// What happened to one document.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IngestOutcome {
    /// A new conversation was stored.
    Created,
    /// A stored version was replaced whole by this newer or corrected one.
    Replaced,
    /// The same content was already stored; nothing was written.
    Unchanged,
    /// Nothing of the document was stored; `error` says why.
    Rejected,
}

/// Why a document was rejected.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[graphql(name = "IngestError")]
pub struct IngestRejection {
    /// What kind of error, for programs to branch on.
    pub code: RejectCode,
    /// The JSON path of the offending value inside the document (`$.participants[0].purpose`),
    /// when one value is at fault.
    pub path: Option<String>,
    /// What is wrong, for a person.
    pub message: String,
}

impl From<IngestError> for IngestRejection {
    fn from(e: IngestError) -> Self {
        Self {
            code: e.code,
            path: e.path,
            message: e.message,
        }
    }
}

/// One document of the request and what became of it.
#[derive(SimpleObject, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestResult {
    /// The document's position in `documents`, from 0.
    pub index: i32,
    /// The conversation's id, when it could be read (conversations only).
    pub conversation_id: Option<String>,
    /// What identifies the record: the conversation id, or a row's key (`w-1`,
    /// `c-1/q-1@2026-11-02T08:01:00Z`), when it could be read.
    pub key: Option<String>,
    pub outcome: IngestOutcome,
    /// Set when `outcome` is `REJECTED`.
    pub error: Option<IngestRejection>,
}

/// The answer to `ingestConversations`.
#[derive(SimpleObject, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestReport {
    pub created: i32,
    pub replaced: i32,
    pub unchanged: i32,
    pub rejected: i32,
    /// True when this is the remembered answer to an earlier request with the same
    /// idempotency key: nothing was written this time.
    pub replayed: bool,
    /// One per document, in the order sent.
    pub results: Vec<IngestResult>,
}

#[derive(Default)]
pub struct IngestMutation;

#[Object]
impl IngestMutation {
    /// Stores Genesys conversation documents (analytics conversation details or platform
    /// `Conversation` objects, told apart per document), each atomically: a new conversation is
    /// created, a newer or corrected version replaces the stored one whole, the same content
    /// changes nothing, and a document older than the stored version (by its latest event time)
    /// is rejected as `STALE`. Each bad document is rejected alone with its code and the path of
    /// the offending value; the others are stored. Needs the `ingest:write` permission; every
    /// division and the business unit of each conversation, and of the stored conversation it
    /// replaces, must be in the token's scope. With `idempotencyKey`, a retry of the same
    /// documents answers what the first call answered and writes nothing; the same key with
    /// other documents is refused. For more documents than one request holds, use
    /// `POST /ingest`.
    async fn ingest_conversations(
        &self,
        ctx: &Context<'_>,
        documents: Vec<Json<Value>>,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<IngestReport> {
        let documents: Vec<Value> = documents.into_iter().map(|d| d.0).collect();
        mutate(
            ctx,
            documents,
            None,
            ReadOptions::default(),
            idempotency_key,
            "graphql",
        )
        .await
    }

    /// Stores rows of one table: a table of the Buzzeasy feed (`Workitems`, `QueueSegments`,
    /// `CampaignRecords`, `Queues`, … in the feed's own shape, as its OData pages carry them;
    /// `Calls`, `Chats`, `Emails` and `Conversations` rows become conversations) or
    /// `FlowMetrics` (Genesys flow metric records). Each row is upserted by its key and atomic;
    /// the same checks and codes as `ingestConversations`. Scope: a workitem, channel or
    /// campaign needs its business unit in the token's scope (and the stored row's); rows that
    /// hang on a conversation, a workitem, a channel, a campaign or a campaign record need that
    /// parent stored and writable (write it first); flow metric records need all their
    /// divisions; tables without a business unit (agents, users, agent states, bot steps) need a
    /// token for everything. `timeZone` (IANA) converts times the table gives in local time only.
    async fn ingest_records(
        &self,
        ctx: &Context<'_>,
        table: String,
        rows: Vec<Json<Value>>,
        time_zone: Option<String>,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<IngestReport> {
        let target = Target::from_name(&table).ok_or_else(|| {
            ApiError::bad_input(format!(
                "no table is called {table:?}; the tables: {}",
                Target::names()
            ))
            .extend()
        })?;
        let options = read_options(time_zone.as_deref()).map_err(|e| e.extend())?;
        let rows: Vec<Value> = rows.into_iter().map(|d| d.0).collect();
        let kind = format!("graphql:{target:?}:{}", time_zone.unwrap_or_default());
        mutate(ctx, rows, Some(target), options, idempotency_key, &kind).await
    }
}

/// The tenant time zone of a request, for local-only times.
fn read_options(time_zone: Option<&str>) -> Result<ReadOptions, ApiError> {
    let time_zone = time_zone
        .map(|tz| {
            tz.parse::<chrono_tz::Tz>().map_err(|_| {
                ApiError::bad_input(format!(
                    "timeZone {tz:?} is not an IANA time zone (e.g. Europe/Budapest)"
                ))
            })
        })
        .transpose()?;
    Ok(ReadOptions { time_zone })
}

/// One mutation call: permission, limits, the idempotency key, then the documents.
async fn mutate(
    ctx: &Context<'_>,
    documents: Vec<Value>,
    target: Option<Target>,
    options: ReadOptions,
    idempotency_key: Option<String>,
    kind: &str,
) -> async_graphql::Result<IngestReport> {
    let caller = ctx.data::<Caller>()?;
    let pool = ctx.data::<PgPool>()?;
    let config = ctx.data::<IngestConfig>()?;
    may_ingest(caller).map_err(|e| e.extend())?;
    if documents.len() > config.max_mutation_documents {
        return Err(ApiError::bad_input(format!(
            "{} documents in one call, more than the limit of {}; send more through POST /ingest",
            documents.len(),
            config.max_mutation_documents
        ))
        .extend());
    }
    let Some(key) = idempotency_key else {
        return Ok(ingest_batch(pool, caller, config, &documents, target, &options).await);
    };
    check_key(&key).map_err(|e| e.extend())?;
    let digest = digest_of(kind, &documents);
    let mut held = KeyLock::take(pool, caller, &key)
        .await
        .map_err(|e| e.extend())?;
    let answer = match held.remembered().await.map_err(ApiError::db)? {
        Some(first) if first.request_digest == digest => {
            let mut report: IngestReport = serde_json::from_value(first.response)
                .map_err(|e| ApiError::internal(e).extend())?;
            report.replayed = true;
            Ok(report)
        }
        Some(_) => Err(key_reused(&key).extend()),
        None => {
            let report = ingest_batch(pool, caller, config, &documents, target, &options).await;
            let response =
                serde_json::to_value(&report).map_err(|e| ApiError::internal(e).extend())?;
            held.remember("graphql", &digest, response)
                .await
                .map_err(ApiError::db)?;
            Ok(report)
        }
    };
    held.release().await;
    answer
}

fn may_ingest(caller: &Caller) -> Result<(), ApiError> {
    if caller.may(Permission::IngestWrite) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "writing needs the {INGEST_WRITE} permission, which this token does not have"
        )))
    }
}

/// Idempotency keys: 1 to 255 visible ASCII characters.
fn check_key(key: &str) -> Result<(), ApiError> {
    let ok = !key.is_empty() && key.len() <= 255 && key.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_input(
            "an idempotency key is 1 to 255 visible ASCII characters",
        ))
    }
}

fn key_reused(key: &str) -> ApiError {
    ApiError::KeyReused(format!(
        "idempotency key {key:?} was used before for a different request; use a new key for new content"
    ))
}

fn digest_of(kind: &str, documents: &[Value]) -> String {
    let mut hash = Sha256::new();
    hash.update(kind.as_bytes());
    hash.update(b"\n");
    for d in documents {
        hash.update(serde_json::to_vec(d).unwrap_or_default());
        hash.update(b"\n");
    }
    hex(&hash.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks and stores the documents of one mutation call: conversations when `target` is
/// `None`, else rows of that table. A record already seen in the call is a `DUPLICATE_ID`: one
/// call is a set of records, not a history.
async fn ingest_batch(
    pool: &PgPool,
    caller: &Caller,
    config: &IngestConfig,
    documents: &[Value],
    target: Option<Target>,
    options: &ReadOptions,
) -> IngestReport {
    let mut seen = std::collections::HashMap::new();
    let checked: Vec<(Option<String>, Result<Item, IngestError>)> = documents
        .iter()
        .enumerate()
        .map(|(i, value)| {
            let size = serde_json::to_vec(value).map(|v| v.len()).unwrap_or(0);
            let item = if size > config.limits.max_document_bytes {
                Err(ingest::too_large(size, &config.limits))
            } else {
                ingest::read_item(value, target, None, options, &config.limits)
            };
            let item = item.and_then(|item| match seen.insert(item.identity(), i) {
                Some(first) => Err(IngestError::new(
                    RejectCode::DuplicateId,
                    None,
                    match &item {
                        Item::Graph(g) => format!(
                            "conversation {:?} is also document {first} of this call",
                            g.id()
                        ),
                        Item::Row { key, .. } => {
                            format!("row {key:?} is also document {first} of this call")
                        }
                    },
                )),
                None => Ok(item),
            });
            let key = match &item {
                Ok(item) => Some(item.key().to_owned()),
                Err(_) => ingest::key_of_document(value, target),
            };
            (key, item)
        })
        .collect();
    let items: Vec<&Item> = checked
        .iter()
        .filter_map(|(_, i)| i.as_ref().ok())
        .collect();
    let mut stored = db::ingest::write_items(pool, &caller.scope, &items)
        .await
        .into_iter();
    let mut report = IngestReport {
        created: 0,
        replaced: 0,
        unchanged: 0,
        rejected: 0,
        replayed: false,
        results: Vec::with_capacity(documents.len()),
    };
    for (i, (key, item)) in checked.into_iter().enumerate() {
        let outcome = match item {
            Ok(_) => stored.next().unwrap_or(Ok(StoreOutcome::Unchanged)),
            Err(e) => Err(e),
        };
        let (outcome, error) = tally(&mut report, outcome);
        report.results.push(IngestResult {
            index: i as i32,
            conversation_id: if target.is_none() { key.clone() } else { None },
            key,
            outcome,
            error,
        });
    }
    report
}

/// Counts one outcome into `report`.
fn tally(
    report: &mut IngestReport,
    outcome: Result<StoreOutcome, IngestError>,
) -> (IngestOutcome, Option<IngestRejection>) {
    match outcome {
        Ok(StoreOutcome::Imported) => {
            report.created += 1;
            crate::metrics::ingest_documents("created", 1);
            (IngestOutcome::Created, None)
        }
        Ok(StoreOutcome::Replaced) => {
            report.replaced += 1;
            crate::metrics::ingest_documents("replaced", 1);
            (IngestOutcome::Replaced, None)
        }
        Ok(StoreOutcome::Unchanged) => {
            report.unchanged += 1;
            crate::metrics::ingest_documents("unchanged", 1);
            (IngestOutcome::Unchanged, None)
        }
        Err(e) => {
            report.rejected += 1;
            crate::metrics::ingest_documents("rejected", 1);
            (IngestOutcome::Rejected, Some(e.into()))
        }
    }
}

/// The lock of one idempotency key, held on a connection of its own for the whole request. The
/// connection is closed rather than returned to the pool when the request ends abnormally, so
/// a lock never outlives its request.
struct KeyLock {
    conn: Option<PoolConnection<sqlx::Postgres>>,
    subject: String,
    key: String,
}

impl KeyLock {
    async fn take(pool: &PgPool, caller: &Caller, key: &str) -> Result<Self, ApiError> {
        let mut conn = db::exec::acquire(pool).await.map_err(ApiError::from_db)?;
        conn.close_on_drop();
        let locked = db::ingest::lock_key(&mut conn, &caller.subject, key)
            .await
            .map_err(ApiError::from_db)?;
        if !locked {
            return Err(ApiError::Conflict(format!(
                "a request with idempotency key {key:?} is still running; retry when it has finished"
            )));
        }
        Ok(Self {
            conn: Some(conn),
            subject: caller.subject.clone(),
            key: key.to_owned(),
        })
    }

    fn conn(&mut self) -> &mut sqlx::PgConnection {
        self.conn.as_mut().expect("held until released")
    }

    async fn remembered(&mut self) -> Result<Option<Remembered>, sqlx::Error> {
        let (subject, key) = (self.subject.clone(), self.key.clone());
        db::ingest::remembered(self.conn(), &subject, &key).await
    }

    async fn remember(
        &mut self,
        kind: &str,
        digest: &str,
        response: Value,
    ) -> Result<(), sqlx::Error> {
        let (subject, key) = (self.subject.clone(), self.key.clone());
        let remembered = Remembered {
            request_digest: digest.to_owned(),
            response,
        };
        db::ingest::remember(self.conn(), &subject, &key, kind, &remembered).await
    }

    /// Unlocks; the connection then goes back to the pool. When unlocking fails the connection
    /// is closed, which unlocks too.
    async fn release(mut self) {
        let (subject, key) = (self.subject.clone(), self.key.clone());
        if let Some(mut conn) = self.conn.take()
            && db::ingest::unlock_key(&mut conn, &subject, &key)
                .await
                .is_ok()
        {
            conn.return_to_pool().await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// POST /ingest

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

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.to_str().map_err(|_| {
        ApiError::bad_input("an idempotency key is 1 to 255 visible ASCII characters")
    })?;
    check_key(key)?;
    Ok(Some(key.to_owned()))
}

/// The digest of a whole body, or `None` when it cannot be read or is too large.
async fn body_digest(kind: &str, body: Body, max_bytes: u64) -> Option<String> {
    let mut hash = Sha256::new();
    hash.update(kind.as_bytes());
    hash.update(b"\n");
    let mut read = 0u64;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.ok()?;
        read += chunk.len() as u64;
        if read > max_bytes {
            return None;
        }
        hash.update(&chunk);
    }
    Some(hex(&hash.finalize()))
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
