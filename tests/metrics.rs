//! `GET /metrics` of the real `convgraph serve` process: the SQL statement counter moves by
//! exactly the statements a query runs, and the request counter by the requests made. Run as a
//! child process, so the subscriber `serve` installs (and not one set up by the test) is what
//! counts.

mod common;

use common::{ALL, Server, minimal};
use serde_json::json;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

const SECRET: &str = "convgraph-metrics-test-secret-of-32-bytes";

/// `convgraph serve` on a free port; killed when dropped.
struct Serve {
    child: Child,
    base: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    fn start(database_url: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_convgraph"))
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("CONVGRAPH_JWT_SECRET", SECRET)
            .env("CONVGRAPH_LISTEN", "127.0.0.1:0")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start convgraph serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the serving line");
        // "convgraph serving GraphQL at http://127.0.0.1:PORT/graphql"
        let base = line
            .trim()
            .rsplit(' ')
            .next()
            .and_then(|url| url.strip_suffix("/graphql"))
            .unwrap_or_else(|| panic!("unexpected first line of serve: {line:?}"))
            .to_owned();
        Serve { child, base }
    }
}

/// The value of `name` in a Prometheus text body.
fn counter(body: &str, name: &str) -> u64 {
    body.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{body}"))
        .parse()
        .expect("a counter value")
}

async fn metrics(client: &reqwest::Client, base: &str) -> (u64, u64) {
    let response = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()[reqwest::header::CONTENT_TYPE].clone();
    assert!(
        content_type
            .to_str()
            .is_ok_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{content_type:?}"
    );
    let body = response.text().await.expect("body");
    (
        counter(&body, "convgraph_sql_statements_total"),
        counter(&body, "convgraph_http_requests_total"),
    )
}

#[tokio::test]
async fn metrics_count_the_sql_statements_and_requests_of_a_query() {
    let docs: Vec<_> = (0..3)
        .map(|i| {
            let start = format!("2026-11-01T08:0{i}:00Z");
            minimal(&format!("m-{i}"), &start, Some(&start), &["div-a"])
        })
        .collect();
    let store = Server::start(&docs).await;
    let serve = Serve::start(store.db.url());
    let client = reqwest::Client::new();
    let token = api::auth::mint(
        &api::auth::AuthConfig::hs256(SECRET),
        &api::auth::TokenRequest {
            subject: "metrics-test".into(),
            divisions: Some(ALL.iter().map(|d| d.to_string()).collect()),
            permissions: vec!["conversations:read".into()],
            ttl_seconds: 600,
            ..Default::default()
        },
    )
    .expect("token");

    let (statements_before, requests_before) = metrics(&client, &serve.base).await;
    let response: serde_json::Value = client
        .post(format!("{}/graphql", serve.base))
        .bearer_auth(&token)
        .json(&json!({"query": "{ conversations(first: 3) { nodes { id participants { purpose } } } }"}))
        .send()
        .await
        .expect("POST /graphql")
        .json()
        .await
        .expect("JSON");
    let (statements_after, requests_after) = metrics(&client, &serve.base).await;

    assert_eq!(
        response["data"]["conversations"]["nodes"]
            .as_array()
            .map(Vec::len),
        Some(3),
        "{response}"
    );
    // One statement for the page and its participants: the read is pushed down whole.
    assert_eq!(statements_after - statements_before, 1, "SQL statements");
    // The query and this second GET /metrics.
    assert_eq!(requests_after - requests_before, 2, "HTTP requests");
}
