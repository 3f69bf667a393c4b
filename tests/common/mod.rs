//! The harness the end-to-end tests share: a test database with documents imported, the API
//! serving it over real HTTP, tokens, and queries.
#![allow(dead_code)]

pub mod walk;

use api::auth::{AuthConfig, TokenRequest, mint};
use convgraph::import::{ImportOptions, import_paths};
use db::testing::{TestDatabase, test_database};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// Every division.
pub const ALL: &[&str] = &["*"];

/// The API over a fresh test database; stops when dropped.
pub struct Server {
    pub url: String,
    pub auth: AuthConfig,
    pub db: TestDatabase,
    client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
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
        let db = test_database().await;
        let server = Self::serve(db).await;
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
        Self::serve(db).await
    }

    async fn serve(db: TestDatabase) -> Self {
        let auth = AuthConfig::hs256("test-secret");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/graphql", listener.local_addr().expect("addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = api::AppState::new(db.pool().clone(), auth.clone());
        tokio::spawn(api::serve(listener, state, async {
            let _ = stopped.await;
        }));
        Server {
            url,
            auth,
            db,
            client: reqwest::Client::new(),
            stop: Some(stop),
        }
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
