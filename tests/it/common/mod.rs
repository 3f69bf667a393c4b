//! The harness the end-to-end tests share: a test database with documents imported, the API
//! serving it over real HTTP, tokens, and queries.
#![allow(dead_code)]

pub mod browser;
pub mod process;
pub mod random_selection;
pub mod trace;
pub mod walk;
pub mod ws;

use api::auth::{AuthConfig, TokenRequest, mint};
use api::{HttpConfig, IngestConfig, Limits};
use convgraph::import::{ImportOptions, import_paths};
use db::testing::{TestDatabase, test_database};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Every division.
pub const ALL: &[&str] = &["*"];

/// The HS256 secret of [`Setup::default`].
pub const SECRET: &str = "convgraph-test-secret-of-32-bytes-at-least";

/// How a test server is configured: what goes into its `AppState`.
#[derive(Clone)]
pub struct Setup {
    pub auth: AuthConfig,
    pub http: HttpConfig,
    pub limits: Limits,
    pub ingest: IngestConfig,
}

impl Default for Setup {
    /// HS256 with [`SECRET`], the default HTTP limits, and the default limits with
    /// introspection on (the schema-walking tests read the schema through it).
    fn default() -> Self {
        Self {
            auth: AuthConfig::hs256(SECRET),
            http: HttpConfig::default(),
            limits: Limits::demo(),
            ingest: IngestConfig::default(),
        }
    }
}

/// The API over a fresh test database; stops when dropped.
pub struct Server {
    /// `127.0.0.1:port`.
    pub addr: SocketAddr,
    /// `http://127.0.0.1:port`.
    pub origin: String,
    /// `{origin}/graphql`.
    pub url: String,
    pub auth: AuthConfig,
    /// A token for every division, with `conversations:read` (needs the HS256 secret; empty
    /// when the setup has none).
    pub token: String,
    pub db: TestDatabase,
    client: reqwest::Client,
    /// Send to stop the server gracefully ([`Server::shutdown`]).
    pub stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// The serving task: finishes once the server has stopped.
    pub serving: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Server {
    /// Imports `documents` (Genesys documents of any shape) and serves them.
    pub async fn start(documents: &[Value]) -> Self {
        Self::start_with(documents, Setup::default()).await
    }

    /// Like [`Server::start`], configured by `setup`.
    pub async fn start_with(documents: &[Value], setup: Setup) -> Self {
        let db = test_database().await;
        let server = Self::serve(db, setup).await;
        server.import(documents).await;
        server
    }

    /// Imports files through the CLI import path.
    pub async fn start_with_files(files: &[&Path]) -> Self {
        let db = test_database().await;
        let paths: Vec<PathBuf> = files.iter().map(|p| p.to_path_buf()).collect();
        let report = import_paths(db.pool(), &paths, &ImportOptions::default())
            .await
            .expect("import");
        assert!(report.rejected.is_empty(), "{report}");
        Self::serve(db, Setup::default()).await
    }

    async fn serve(db: TestDatabase, setup: Setup) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let mut state =
            api::AppState::new(db.pool().clone(), setup.auth.clone()).with_limits(setup.limits);
        state.http = setup.http;
        state.ingest = setup.ingest;
        let serving = tokio::spawn(api::serve(listener, state, async {
            let _ = stopped.await;
        }));
        let mut server = Server {
            addr,
            origin: format!("http://{addr}"),
            url: format!("http://{addr}/graphql"),
            auth: setup.auth,
            token: String::new(),
            db,
            client: reqwest::Client::new(),
            stop: Some(stop),
            serving: Some(serving),
        };
        server.token = mint(
            &server.auth,
            &TokenRequest {
                subject: "test".into(),
                divisions: Some(vec!["*".into()]),
                business_units: None,
                permissions: vec!["conversations:read".into()],
                ttl_seconds: 600,
            },
        )
        .unwrap_or_default();
        server
    }

    /// Stops accepting connections and lets in-flight requests finish; the serving task, which
    /// ends when they have.
    pub fn shutdown(&mut self) -> tokio::task::JoinHandle<std::io::Result<()>> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.serving.take().expect("the server was started")
    }

    /// An authenticated POST of `body` as JSON (reqwest sends `Accept: */*`).
    pub fn post(&self, body: &Value) -> reqwest::RequestBuilder {
        self.client
            .post(&self.url)
            .bearer_auth(&self.token)
            .json(body)
    }

    /// An authenticated GET with `params` in the URL, and the header that makes browsers send
    /// a CORS preflight first (GET queries need one).
    pub fn get(&self, params: &[(&str, &str)]) -> reqwest::RequestBuilder {
        self.client
            .get(&self.url)
            .bearer_auth(&self.token)
            .header("graphql-preflight", "1")
            .query(params)
    }

    /// Sends `head` (request line and headers, without the blank line) and `body` over a
    /// connection of its own, authenticated, for what reqwest will not send: no `Accept`,
    /// chunked bodies.
    pub async fn raw(&self, head: &str, body: &[u8]) -> (u16, String) {
        let mut stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .expect("connect");
        let head = format!(
            "{head}\r\nHost: {}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            self.addr, self.token
        );
        stream.write_all(head.as_bytes()).await.expect("write");
        stream.write_all(body).await.expect("write");
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .await
            .expect("response");
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .expect("status line");
        (status, response)
    }

    /// Imports more documents while the server runs.
    pub async fn import(&self, documents: &[Value]) {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("docs.jsonl");
        let text: Vec<String> = documents.iter().map(Value::to_string).collect();
        std::fs::write(&file, text.join("\n")).expect("write");
        let report = import_paths(
            self.db.pool(),
            &[PathBuf::from(&file)],
            &ImportOptions::default(),
        )
        .await
        .expect("import");
        assert!(report.rejected.is_empty(), "{report}");
    }

    /// A token for `divisions` (None: no divisions claim) with `conversations:read`.
    pub fn token(&self, divisions: Option<&[&str]>) -> String {
        self.token_with(divisions, &["conversations:read"])
    }

    pub fn token_with(&self, divisions: Option<&[&str]>, permissions: &[&str]) -> String {
        mint(
            &self.auth,
            &TokenRequest {
                subject: "test".into(),
                divisions: divisions.map(|d| d.iter().map(|s| s.to_string()).collect()),
                business_units: None,
                permissions: permissions.iter().map(|p| p.to_string()).collect(),
                ttl_seconds: 600,
            },
        )
        .expect("token")
    }

    /// POSTs a query; the status and the JSON body.
    pub async fn query(&self, token: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
        let mut request = self
            .client
            .post(&self.url)
            .json(&json!({"query": query, "variables": variables}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("json body"))
    }

    /// A query that must succeed; its `data`.
    pub async fn data(&self, token: &str, query: &str, variables: Value) -> Value {
        let (status, body) = self.query(Some(token), query, variables).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("errors").is_none(), "{query}: {body}");
        body["data"].clone()
    }
}

/// A token for `divisions` and `business_units` (None: no such claim) with `ingest:write`
/// and `conversations:read`.
impl Server {
    pub fn writer(&self, divisions: Option<&[&str]>, business_units: Option<&[&str]>) -> String {
        self.writer_as("partner", divisions, business_units)
    }

    /// Like [`Server::writer`], for the token subject `subject` (idempotency keys are per subject).
    pub fn writer_as(
        &self,
        subject: &str,
        divisions: Option<&[&str]>,
        business_units: Option<&[&str]>,
    ) -> String {
        let list = |l: Option<&[&str]>| l.map(|l| l.iter().map(|s| s.to_string()).collect());
        mint(
            &self.auth,
            &TokenRequest {
                subject: subject.into(),
                divisions: list(divisions),
                business_units: list(business_units),
                permissions: vec!["ingest:write".into(), "conversations:read".into()],
                ttl_seconds: 600,
            },
        )
        .expect("token")
    }

    /// `ingestConversations(documents:, idempotencyKey:)` with every field of its report; the
    /// status and the JSON body.
    pub async fn mutate(
        &self,
        token: &str,
        documents: &[Value],
        key: Option<&str>,
    ) -> (u16, Value) {
        self.query(
            Some(token),
            "mutation($docs: [JSON!]!, $key: String) {
               ingestConversations(documents: $docs, idempotencyKey: $key) {
                 created replaced unchanged rejected replayed
                 results { index conversationId outcome error { code path message } }
               }
             }",
            json!({"docs": documents, "key": key}),
        )
        .await
    }

    /// `POST /ingest` of `body` (NDJSON) with `token` and, when given, an `Idempotency-Key`;
    /// the status and the report lines (or the error body as one line).
    pub async fn push(
        &self,
        token: &str,
        body: impl Into<reqwest::Body>,
        key: Option<&str>,
    ) -> (u16, Vec<Value>) {
        let mut request = self
            .client
            .post(format!("{}/ingest", self.origin))
            .bearer_auth(token)
            .header("content-type", "application/x-ndjson")
            .body(body);
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let lines = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        (status, lines)
    }

    /// Every stored conversation graph, by id: what a test compares before and after.
    pub async fn snapshot(&self) -> std::collections::BTreeMap<String, domain::ConversationGraph> {
        snapshot(self.db.pool()).await
    }
}

/// Every stored conversation graph of `pool`, by id.
pub async fn snapshot(
    pool: &sqlx::PgPool,
) -> std::collections::BTreeMap<String, domain::ConversationGraph> {
    let ids: Vec<String> =
        sqlx::query_scalar("select conversation_id from conversations order by 1")
            .fetch_all(pool)
            .await
            .expect("ids");
    let mut conn = pool.acquire().await.expect("connection");
    let mut graphs = std::collections::BTreeMap::new();
    for id in ids {
        let graph = db::graph::load_conversation(&mut conn, &id)
            .await
            .expect("load")
            .expect("stored");
        graphs.insert(id, graph);
    }
    graphs
}

/// NDJSON: one document a line.
pub fn ndjson(documents: &[Value]) -> String {
    documents.iter().map(|d| d.to_string() + "\n").collect()
}

/// The ids of a list of nodes.
pub fn ids(nodes: &Value) -> Vec<String> {
    nodes
        .as_array()
        .expect("a list")
        .iter()
        .map(|n| n["id"].as_str().expect("id").to_owned())
        .collect()
}

/// A small conversation: one customer with one voice session and one segment.
pub fn minimal(id: &str, start: &str, end: Option<&str>, divisions: &[&str]) -> Value {
    json!({
        "conversationId": id,
        "conversationStart": start,
        "conversationEnd": end,
        "divisionIds": divisions,
        "participants": [{
            "participantId": format!("{id}-p1"),
            "purpose": "customer",
            "sessions": [{
                "sessionId": format!("{id}-s1"),
                "mediaType": "voice",
                "segments": [{"segmentType": "interact", "segmentStart": start, "segmentEnd": end}]
            }]
        }]
    })
}

/// A conversation in progress, waiting in queue `queue` since `since`: a customer leg, and an
/// acd leg whose open segment is in the queue, offered to it then (`nOffered`).
pub fn waiting(id: &str, queue: &str, since: &str, divisions: &[&str]) -> Value {
    json!({
        "conversationId": id,
        "conversationStart": since,
        "divisionIds": divisions,
        "participants": [
            {"participantId": format!("{id}-c"), "purpose": "customer",
             "sessions": [{"sessionId": format!("{id}-c1"), "mediaType": "voice", "direction": "inbound",
                           "segments": [{"segmentType": "interact", "segmentStart": since}]}]},
            {"participantId": format!("{id}-q"), "purpose": "acd",
             "sessions": [{"sessionId": format!("{id}-q1"), "mediaType": "voice", "direction": "inbound",
                           "segments": [{"segmentType": "interact", "segmentStart": since, "queueId": queue}],
                           "metrics": [{"name": "nOffered", "value": 1, "emitDate": since}]}]}
        ]
    })
}
