//! The server process killed (SIGKILL) in the middle of a bulk push: only whole documents are
//! stored, every document reported as stored is, and the same push sent again completes it.

use crate::common::{SECRET, minimal, ndjson, snapshot};
use api::auth::{AuthConfig, TokenRequest, mint};
use db::testing::test_database;
use futures::StreamExt as _;
use serde_json::{Value, json};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// `convgraph serve` on a free port of its own, against `database_url`.
async fn start(database_url: &str) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_convgraph"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", database_url)
        .env("CONVGRAPH_JWT_SECRET", SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("convgraph serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("the server starts")
        .expect("stdout")
        .expect("a line");
    let url = line
        .rsplit(' ')
        .next()
        .and_then(|u| u.strip_suffix("/graphql"))
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_owned();
    (child, url)
}

/// Document `i` of the push: a few participants, so that a document is many rows.
fn document(i: usize) -> Value {
    let id = format!("crash-{i:05}");
    let mut doc = minimal(
        &id,
        "2026-11-02T08:00:00Z",
        Some("2026-11-02T08:05:00Z"),
        &["div-a"],
    );
    let customer = doc["participants"][0].clone();
    for p in 1..4 {
        let mut agent = customer.clone();
        agent["participantId"] = json!(format!("{id}-p{}", p + 1));
        agent["purpose"] = json!("agent");
        doc["participants"]
            .as_array_mut()
            .expect("participants")
            .push(agent);
    }
    doc
}

#[tokio::test]
async fn a_killed_server_leaves_whole_documents_and_the_same_push_completes_them() {
    let db = test_database().await;
    let token = mint(
        &AuthConfig::hs256(SECRET),
        &TokenRequest {
            subject: "partner".into(),
            divisions: Some(vec!["div-a".into()]),
            business_units: None,
            permissions: vec!["ingest:write".into()],
            ttl_seconds: 600,
        },
    )
    .expect("token");
    let docs: Vec<Value> = (0..2000).map(document).collect();
    let client = reqwest::Client::new();

    // The push is sent in pieces; the server is killed once part of it is reported stored.
    let (mut server, origin) = start(db.url()).await;
    let pieces: Vec<String> = docs.chunks(40).map(ndjson).collect();
    let body = futures::stream::iter(pieces.clone()).then(|piece| async move {
        tokio::time::sleep(Duration::from_millis(5)).await;
        Ok::<_, std::io::Error>(piece)
    });
    let response = client
        .post(format!("{origin}/ingest"))
        .bearer_auth(&token)
        .header("content-type", "application/x-ndjson")
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await
        .expect("the push starts");
    let mut report = response.bytes_stream();
    let mut text = Vec::new();
    while let Some(Ok(chunk)) = report.next().await {
        text.extend_from_slice(&chunk);
        if text.iter().filter(|&&b| b == b'\n').count() >= 200 {
            break;
        }
    }
    server.kill().await.expect("kill");
    let acknowledged: Vec<String> = text
        .split(|&b| b == b'\n')
        .filter_map(|l| serde_json::from_slice::<Value>(l).ok())
        .map(|l| {
            assert_eq!(l["outcome"], "created", "{l}");
            l["conversationId"].as_str().expect("id").to_owned()
        })
        .collect();
    assert!(acknowledged.len() >= 200);

    let stored = snapshot(db.pool()).await;
    assert!(
        stored.len() < docs.len(),
        "the push was cut short ({} stored)",
        stored.len()
    );
    for id in &acknowledged {
        assert!(stored.contains_key(id), "{id} was reported stored");
    }
    for (id, graph) in &stored {
        let i: usize = id["crash-".len()..].parse().expect("index");
        let sent = domain::genesys::parse(&docs[i]).expect("parse");
        assert_eq!(graph, &sent, "{id} is stored whole");
    }

    // The same push again, after a restart, completes it.
    let (_server, origin) = start(db.url()).await;
    let text = client
        .post(format!("{origin}/ingest"))
        .bearer_auth(&token)
        .header("content-type", "application/x-ndjson")
        .body(pieces.concat())
        .send()
        .await
        .expect("push")
        .text()
        .await
        .expect("report");
    let summary: Value = serde_json::from_str(text.lines().last().expect("summary")).expect("json");
    assert_eq!(
        summary,
        json!({"summary": {
            "documents": docs.len(),
            "created": docs.len() - stored.len(),
            "replaced": 0,
            "unchanged": stored.len(),
            "rejected": 0
        }})
    );
    assert_eq!(snapshot(db.pool()).await.len(), docs.len());
}
