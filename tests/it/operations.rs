//! What an operator runs on: the real `convgraph serve` process (its subscriber, metrics, flags
//! and pool), PostgreSQL going away under it and coming back.
//!
//! - `GET /metrics`: the SQL statement counter moves by exactly the statements a query runs
//!   (with sqlx's own statement events off), the request counter by the requests made, and the
//!   pool's waiting gauge holds the requests waiting for a connection.
//! - A real streaming replica (`pg_basebackup`): queries read from it, a writer reads its own
//!   writes from the primary until the replica has replayed them, aggregates stay on the primary.
//! - Browsers and bandwidth: CORS for configured origins only, compressed answers, gzip pushes,
//!   panics as GraphQL-shaped 500s. Logs: JSON lines, one per request, and the audit line.
//! - Outages: while PostgreSQL is down, requests get 503 `UNAVAILABLE` within the pool's acquire
//!   timeout and `/readyz` says not ready; the first request after it returns succeeds; an
//!   ingest push cut by the outage reports exactly what it stored.

use crate::common::process::ServeProcess;
use crate::common::{Server, minimal};
use db::local::LocalPostgres;
use futures::StreamExt as _;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The value of the unlabelled sample `name` in a Prometheus text body.
fn sample<T: std::str::FromStr>(body: &str, name: &str) -> T {
    body.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{body}"))
        .parse()
        .unwrap_or_else(|_| panic!("{name} holds no number in /metrics:\n{body}"))
}

/// `GET /metrics`: Prometheus text.
async fn metrics_text(client: &reqwest::Client, base: &str) -> String {
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
    response.text().await.expect("body")
}

async fn metrics(client: &reqwest::Client, base: &str) -> (u64, u64) {
    let body = metrics_text(client, base).await;
    (
        sample(&body, "convgraph_sql_statements_total"),
        sample(&body, "convgraph_http_requests_total"),
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
    // sqlx's own statement events (`sqlx::query`) off, as by default: counting must not need
    // them, since emitting one copies the statement's text.
    let serve =
        ServeProcess::start_with(store.db.url(), &[], &[("RUST_LOG", "info,sqlx::query=off")]);
    let client = reqwest::Client::new();
    let token = ServeProcess::token(&["conversations:read"]);

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

/// A private PostgreSQL of the test's own (an outage here stops no other test), migrated, with
/// `ids` stored in division `div-a`.
async fn private_postgres(ids: &[&str]) -> Arc<LocalPostgres> {
    let postgres = tokio::task::spawn_blocking(LocalPostgres::temporary)
        .await
        .expect("join")
        .expect("a private PostgreSQL server (initdb and pg_ctl)");
    let pool = db::connect(&postgres.url(), 2).await.expect("connect");
    db::migrate(&pool).await.expect("migrate");
    let documents: Vec<_> = ids.iter().map(|id| document(id)).collect();
    let graphs: Vec<_> = documents
        .iter()
        .map(|d| domain::ingest::to_graph(d, None, &Default::default()).expect("valid"))
        .collect();
    let refs: Vec<_> = graphs.iter().collect();
    let outcomes = db::ingest::write(&pool, &domain::Scope::All, &refs).await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    pool.close().await;
    Arc::new(postgres)
}

fn document(id: &str) -> serde_json::Value {
    minimal(
        id,
        "2026-11-01T08:00:00Z",
        Some("2026-11-01T08:05:00Z"),
        &["div-a"],
    )
}

/// Stops (`pause`) or starts (`resume`) the private server, off the async threads.
async fn outage(postgres: &Arc<LocalPostgres>, up: bool) {
    let postgres = postgres.clone();
    tokio::task::spawn_blocking(move || {
        if up {
            postgres.resume()
        } else {
            postgres.pause()
        }
    })
    .await
    .expect("join")
    .expect("pg_ctl");
}

const READ: &str = "{ conversations(first: 10) { nodes { id } } }";

/// `POST /graphql` of `query`: status, `Retry-After`, body, and how long the answer took.
async fn post(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    query: &str,
    variables: serde_json::Value,
) -> (u16, Option<String>, serde_json::Value, Duration) {
    let started = Instant::now();
    let response = client
        .post(format!("{base}/graphql"))
        .bearer_auth(token)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .expect("POST /graphql");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.json().await.expect("JSON");
    (status, retry_after, body, started.elapsed())
}

async fn ready(client: &reqwest::Client, base: &str) -> (u16, Duration) {
    let started = Instant::now();
    let response = client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("GET /readyz");
    (response.status().as_u16(), started.elapsed())
}

/// The pool's acquire timeout the outage tests serve with.
const ACQUIRE_SECS: u64 = 2;

#[tokio::test]
async fn while_postgresql_is_down_requests_get_503_unavailable_and_the_first_after_succeeds() {
    let postgres = private_postgres(&["o-1", "o-2"]).await;
    let serve = ServeProcess::start_with(
        &postgres.url(),
        &["--db-acquire-timeout-secs", &ACQUIRE_SECS.to_string()],
        &[],
    );
    let client = reqwest::Client::new();
    let token = ServeProcess::token(&["conversations:read", "ingest:write"]);
    let ids = |body: &serde_json::Value| body["data"]["conversations"]["nodes"].clone();
    let (status, _, body, _) = post(&client, &serve.base, &token, READ, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ids(&body), json!([{"id": "o-1"}, {"id": "o-2"}]));
    assert_eq!(ready(&client, &serve.base).await.0, 200);

    outage(&postgres, false).await;
    // Within the acquire timeout (and a margin for this busy machine), never a hang.
    let bound = Duration::from_secs(ACQUIRE_SECS + 3);
    for attempt in 0..3 {
        let (status, retry_after, body, took) =
            post(&client, &serve.base, &token, READ, json!({})).await;
        assert_eq!(status, 503, "attempt {attempt}: {body}");
        assert_eq!(retry_after.as_deref(), Some("1"));
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "UNAVAILABLE",
            "{body}"
        );
        assert_eq!(
            body["errors"][0]["message"],
            "the database is unavailable; retry shortly"
        );
        assert!(took < bound, "attempt {attempt} took {took:?}");
    }
    let (status, took) = ready(&client, &serve.base).await;
    assert_eq!(status, 503);
    assert!(took < Duration::from_secs(3), "/readyz took {took:?}");
    // Requests waiting for a connection show in the pool's waiting gauge, and leave it.
    let waiting = || async {
        sample::<f64>(
            &metrics_text(&client, &serve.base).await,
            "convgraph_db_pool_waiting",
        )
    };
    let stuck: Vec<_> = (0..2)
        .map(|_| {
            let (client, base, token) = (client.clone(), serve.base.clone(), token.clone());
            tokio::spawn(async move { post(&client, &base, &token, READ, json!({})).await.0 })
        })
        .collect();
    eventually("two requests wait for a connection", async || {
        waiting().await == 2.0
    })
    .await;
    for request in stuck {
        assert_eq!(request.await.expect("join"), 503);
    }
    assert_eq!(waiting().await, 0.0, "no request waits once answered");
    // A mutation: each document is reported not stored, quickly too.
    let (status, _, body, took) = post(
        &client,
        &serve.base,
        &token,
        "mutation($docs: [JSON!]!) { ingestConversations(documents: $docs) {
           created rejected results { outcome error { code } } } }",
        json!({"docs": [document("o-3")]}),
    )
    .await;
    assert!(took < bound, "the mutation took {took:?}");
    let unavailable = status == 503
        || body["data"]["ingestConversations"]["results"][0]["error"]["code"] == "UNAVAILABLE";
    assert!(unavailable, "{status}: {body}");

    outage(&postgres, true).await;
    let (status, _, body, _) = post(&client, &serve.base, &token, READ, json!({})).await;
    assert_eq!(status, 200, "the first request after the outage: {body}");
    assert_eq!(ids(&body), json!([{"id": "o-1"}, {"id": "o-2"}]));
    assert_eq!(ready(&client, &serve.base).await.0, 200);
}

#[tokio::test]
async fn an_ingest_push_cut_by_an_outage_reports_exactly_what_it_stored() {
    let postgres = private_postgres(&[]).await;
    let serve = ServeProcess::start_with(
        &postgres.url(),
        &["--db-acquire-timeout-secs", &ACQUIRE_SECS.to_string()],
        &[],
    );
    let token = ServeProcess::token(&["conversations:read", "ingest:write"]);
    let line = |id: String| format!("{}\n", document(&id));
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(16);
    let body = reqwest::Body::wrap_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    let sending = tokio::spawn(
        reqwest::Client::new()
            .post(format!("{}/ingest", serve.base))
            .bearer_auth(&token)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send(),
    );
    for i in 0..5 {
        tx.send(Ok(line(format!("p-{i}")))).await.expect("send");
    }
    let response = tokio::time::timeout(Duration::from_secs(20), sending)
        .await
        .expect("the report starts")
        .expect("task")
        .expect("response");
    assert_eq!(response.status(), 200);
    let mut report = response.bytes_stream();
    let mut lines: Vec<serde_json::Value> = Vec::new();
    let mut pending = Vec::new();
    let mut next_lines = async |lines: &mut Vec<serde_json::Value>, want: usize| {
        while lines.len() < want {
            let Some(chunk) = tokio::time::timeout(Duration::from_secs(30), report.next())
                .await
                .expect("a report line within 30 s")
            else {
                return;
            };
            pending.extend_from_slice(&chunk.expect("bytes"));
            while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                lines.push(serde_json::from_slice(&line).expect("a JSON line"));
            }
        }
    };
    next_lines(&mut lines, 5).await;
    outage(&postgres, false).await;
    for i in 5..10 {
        tx.send(Ok(line(format!("p-{i}")))).await.expect("send");
    }
    drop(tx);
    next_lines(&mut lines, usize::MAX).await;
    outage(&postgres, true).await;

    let summary = lines.pop().expect("a summary line");
    assert_eq!(lines.len(), 10, "one line per document: {lines:?}");
    let reported_stored: BTreeSet<String> = lines
        .iter()
        .filter(|l| l["outcome"] == "created")
        .map(|l| l["conversationId"].as_str().expect("id").to_owned())
        .collect();
    for l in lines.iter().filter(|l| l["outcome"] != "created") {
        assert_eq!(l["outcome"], "rejected", "{l}");
        assert_eq!(l["error"]["code"], "UNAVAILABLE", "{l}");
    }
    assert_eq!(reported_stored.len(), 5, "{lines:?}");
    assert_eq!(summary["summary"]["created"], 5, "{summary}");
    assert_eq!(summary["summary"]["rejected"], 5, "{summary}");

    let pool = db::connect(&postgres.url(), 1).await.expect("connect");
    let stored: BTreeSet<String> = sqlx::query_scalar("select conversation_id from conversations")
        .fetch_all(&pool)
        .await
        .expect("ids")
        .into_iter()
        .collect();
    assert_eq!(
        stored, reported_stored,
        "the store holds exactly what was reported stored"
    );
}

const ALLOWED: &str = "https://dashboards.example.com";

/// A preflight from `origin` for a POST with a token.
async fn preflight(client: &reqwest::Client, base: &str, origin: &str) -> reqwest::Response {
    client
        .request(reqwest::Method::OPTIONS, format!("{base}/graphql"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .expect("OPTIONS /graphql")
}

fn allowed_origin(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().expect("ascii").to_owned())
}

#[tokio::test]
async fn cors_answers_the_configured_origins_only() {
    let store = Server::start(&[document("c-1")]).await;
    let serve = ServeProcess::start_with(
        store.db.url(),
        &[],
        &[(
            "CONVGRAPH_CORS_ORIGINS",
            &format!("{ALLOWED}, http://localhost:3000"),
        )],
    );
    let client = reqwest::Client::new();
    let token = ServeProcess::token(&["conversations:read"]);

    let allowed = preflight(&client, &serve.base, ALLOWED).await;
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(allowed_origin(&allowed).as_deref(), Some(ALLOWED));
    let headers = allowed.headers()["access-control-allow-headers"]
        .to_str()
        .expect("ascii")
        .to_ascii_lowercase();
    assert!(
        headers.contains("authorization") && headers.contains("content-type"),
        "{headers}"
    );
    let refused = preflight(&client, &serve.base, "https://evil.example.com").await;
    assert_eq!(
        allowed_origin(&refused),
        None,
        "a refused origin gets no grant"
    );

    for (origin, granted) in [(ALLOWED, true), ("https://evil.example.com", false)] {
        let response = client
            .post(format!("{}/graphql", serve.base))
            .header("origin", origin)
            .bearer_auth(&token)
            .json(&json!({"query": READ}))
            .send()
            .await
            .expect("POST");
        assert_eq!(response.status(), 200);
        assert_eq!(
            allowed_origin(&response).is_some(),
            granted,
            "{origin}: {:?}",
            response.headers()
        );
    }

    // Unconfigured: no origin is granted.
    let plain = ServeProcess::start(store.db.url());
    let response = preflight(&client, &plain.base, ALLOWED).await;
    assert_eq!(allowed_origin(&response), None);
}

#[test]
fn cors_origins_are_checked_when_configured() {
    use api::layers::CorsConfig;
    assert_eq!(
        CorsConfig::parse("https://a.example.com, http://localhost:3000")
            .expect("valid")
            .origins()
            .len(),
        2
    );
    assert_eq!(CorsConfig::parse("").expect("none").origins().len(), 0);
    for bad in [
        "*",
        "https://*.example.com",
        "a.example.com",
        "ftp://a.example.com",
        "https://a.example.com/path",
    ] {
        let error = CorsConfig::parse(bad).expect_err(bad);
        assert!(error.contains(bad.trim_end_matches('/')), "{bad}: {error}");
    }
}

#[tokio::test]
async fn compressed_answers_decode_to_the_same_json() {
    use std::io::Read as _;
    let docs: Vec<_> = (0..40).map(|i| document(&format!("z-{i:02}"))).collect();
    let store = Server::start(&docs).await;
    let client = reqwest::Client::new();
    let query = "{ conversations(first: 40) { nodes { id conversationStart divisionIds participants { purpose } } } }";
    let ask = |encoding: Option<&'static str>| {
        let mut request = client
            .post(&store.url)
            .bearer_auth(&store.token)
            .json(&json!({"query": query}));
        if let Some(encoding) = encoding {
            request = request.header("accept-encoding", encoding);
        }
        async move {
            let response = request.send().await.expect("POST");
            assert_eq!(response.status(), 200);
            let encoding = response
                .headers()
                .get("content-encoding")
                .map(|v| v.to_str().expect("ascii").to_owned());
            (encoding, response.bytes().await.expect("body").to_vec())
        }
    };
    let (none, plain) = ask(None).await;
    assert_eq!(none, None);
    let plain: serde_json::Value = serde_json::from_slice(&plain).expect("JSON");
    assert_eq!(
        plain["data"]["conversations"]["nodes"]
            .as_array()
            .map(Vec::len),
        Some(40)
    );

    let (encoding, gzipped) = ask(Some("gzip")).await;
    assert_eq!(encoding.as_deref(), Some("gzip"));
    let mut text = Vec::new();
    flate2::read::GzDecoder::new(&gzipped[..])
        .read_to_end(&mut text)
        .expect("gzip");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&text).expect("JSON"),
        plain
    );

    let (encoding, brotli) = ask(Some("br;q=1.0, gzip;q=0.5")).await;
    assert_eq!(encoding.as_deref(), Some("br"));
    let mut text = Vec::new();
    brotli::Decompressor::new(&brotli[..], 4096)
        .read_to_end(&mut text)
        .expect("br");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&text).expect("JSON"),
        plain
    );

    // GraphiQL's page, the largest thing served, too.
    let response = client
        .get(format!("{}/graphiql", store.origin))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("GET /graphiql");
    assert_eq!(response.headers()["content-encoding"], "gzip");
}

#[tokio::test]
async fn a_gzip_push_is_stored_and_another_encoding_is_refused_by_name() {
    use std::io::Write as _;
    let store = Server::start(&[]).await;
    let writer = store.writer(Some(&["div-a"]), None);
    let client = reqwest::Client::new();
    let ndjson: String = ["g-1", "g-2"]
        .iter()
        .map(|id| format!("{}\n", document(id)))
        .collect();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(ndjson.as_bytes()).expect("gzip");
    let gzipped = encoder.finish().expect("gzip");
    let push = |encoding: &'static str, body: Vec<u8>| {
        client
            .post(format!("{}/ingest", store.origin))
            .bearer_auth(&writer)
            .header("content-type", "application/x-ndjson")
            .header("content-encoding", encoding)
            .body(body)
            .send()
    };

    let response = push("gzip", gzipped.clone()).await.expect("POST /ingest");
    assert_eq!(response.status(), 200);
    let report = response.text().await.expect("report");
    let summary: serde_json::Value =
        serde_json::from_str(report.lines().last().expect("summary")).expect("JSON");
    assert_eq!(summary["summary"]["created"], 2, "{report}");
    assert_eq!(store.snapshot().await.len(), 2);

    let response = push("br", gzipped).await.expect("POST /ingest");
    assert_eq!(response.status(), 415);
    let body: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "UNSUPPORTED_ENCODING"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("\"br\"")),
        "{body}"
    );

    // A body that says gzip and is not: refused, and nothing more is stored.
    let response = push("gzip", b"not gzip at all".to_vec())
        .await
        .expect("POST /ingest");
    assert_eq!(response.status(), 200, "the report had started");
    let report: serde_json::Value = response.json().await.expect("one summary line");
    assert_eq!(report["summary"]["documents"], 0, "{report}");
    assert_eq!(
        report["summary"]["stopped"]["code"], "BODY_READ_FAILED",
        "{report}"
    );
    assert_eq!(store.snapshot().await.len(), 2);
}

#[tokio::test]
async fn a_panic_in_a_handler_is_a_graphql_shaped_500() {
    let router = api::layers::outer(
        axum::Router::new().route(
            "/boom",
            axum::routing::get(|| async {
                if true {
                    panic!("secret detail");
                }
                "unreachable"
            }),
        ),
        &api::layers::CorsConfig::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await });
    let response = reqwest::get(format!("http://{addr}/boom"))
        .await
        .expect("an answer, not a dropped connection");
    assert_eq!(response.status(), 500);
    let body: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(
        body,
        json!({"errors": [{"message": "internal error", "extensions": {"code": "INTERNAL"}}]})
    );
}

#[tokio::test]
async fn metrics_parse_as_prometheus_text_with_histograms_and_errors_by_code() {
    let store = Server::start(&[document("m-1")]).await;
    let serve = ServeProcess::start(store.db.url());
    let client = reqwest::Client::new();
    let token = ServeProcess::token(&["conversations:read"]);
    let ask = |token: &str, query: &str| {
        client
            .post(format!("{}/graphql", serve.base))
            .bearer_auth(token)
            .json(&json!({"query": query}))
            .send()
    };
    for _ in 0..3 {
        let response = ask(
            &token,
            "query Dashboard { conversations(first: 5) { nodes { id } } }",
        )
        .await
        .expect("POST");
        assert_eq!(response.status(), 200);
    }
    ask(&token, READ).await.expect("POST");
    ask("not-a-token", READ).await.expect("POST");
    ask(&token, "{ conversations { nope } }")
        .await
        .expect("POST");

    let text = metrics_text(&client, &serve.base).await;
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .unwrap_or_else(|e| panic!("not Prometheus text: {e}\n{text}"));
    let find = |name: &str, labels: &[(&str, &str)]| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .unwrap_or_else(|| panic!("no {name} {labels:?} in\n{text}"))
    };
    let counter = |name: &str, labels: &[(&str, &str)]| match find(name, labels).value {
        prometheus_parse::Value::Counter(v)
        | prometheus_parse::Value::Gauge(v)
        | prometheus_parse::Value::Untyped(v) => v,
        ref other => panic!("{name}: {other:?}"),
    };

    let dashboard = find(
        "convgraph_http_request_duration_seconds",
        &[
            ("route", "/graphql"),
            ("status", "200"),
            ("operation", "Dashboard"),
        ],
    );
    match &dashboard.value {
        prometheus_parse::Value::Histogram(buckets) => {
            assert!(buckets.len() >= 10, "{buckets:?}");
            let all = buckets.last().expect("+Inf");
            assert!(all.less_than.is_infinite());
            assert_eq!(all.count, 3.0, "the three Dashboard queries");
        }
        other => panic!("not a histogram: {other:?}"),
    }
    find(
        "convgraph_http_request_duration_seconds",
        &[("route", "/graphql"), ("operation", "(unnamed)")],
    );
    assert!(
        counter(
            "convgraph_graphql_errors_total",
            &[("code", "UNAUTHENTICATED")]
        ) >= 1.0
    );
    assert!(
        counter(
            "convgraph_graphql_errors_total",
            &[("code", "GRAPHQL_VALIDATION_FAILED")]
        ) >= 1.0
    );
    assert!(counter("convgraph_sql_statements_total", &[]) >= 4.0);
    assert!(matches!(
        find("convgraph_sql_statement_duration_seconds", &[]).value,
        prometheus_parse::Value::Histogram(_)
    ));
    assert_eq!(counter("convgraph_db_pool_max_connections", &[]), 16.0);
    assert!(counter("convgraph_db_pool_connections", &[("state", "idle")]) >= 1.0);
    assert_eq!(
        counter("convgraph_http_requests_in_flight", &[]),
        1.0,
        "this scrape"
    );
    assert_eq!(counter("convgraph_subscriptions_open", &[]), 0.0);
    assert_eq!(
        counter(
            "convgraph_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    assert!(text.contains("# HELP convgraph_http_request_duration_seconds"));
}

#[tokio::test]
async fn json_logs_have_one_line_per_request_and_an_audit_line_when_personal_data_was_read() {
    let mut with_name = document("l-1");
    with_name["participants"] = json!([{"participantId": "p-1", "purpose": "customer",
        "participantName": "Ada Lovelace", "sessions": []}]);
    let store = Server::start(&[with_name]).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("serve.log");
    let serve = ServeProcess::start_logging_to(
        store.db.url(),
        &["--log-format", "json"],
        &[("RUST_LOG", "convgraph=info,api=info,warn")],
        &log,
    );
    let client = reqwest::Client::new();
    let ask = |token: String, query: &'static str| {
        let client = client.clone();
        let url = format!("{}/graphql", serve.base);
        async move {
            let response = client
                .post(url)
                .bearer_auth(token)
                .header("x-request-id", "req-audit-1")
                .json(&json!({"query": query}))
                .send()
                .await
                .expect("POST");
            assert_eq!(response.status(), 200);
            response.json::<serde_json::Value>().await.expect("JSON")
        }
    };
    let names =
        "query Names { conversations(first: 5) { nodes { participants { participantName } } } }";
    let pii = ServeProcess::token(&["conversations:read", "pii:read"]);
    let plain = ServeProcess::token(&["conversations:read"]);
    let served = ask(pii.clone(), names).await;
    assert_eq!(
        served["data"]["conversations"]["nodes"][0]["participants"][0]["participantName"],
        "Ada Lovelace"
    );
    // Withheld without pii:read, and no personal field asked for: no audit line.
    let withheld = ask(plain, names).await;
    assert_eq!(
        withheld["data"]["conversations"]["nodes"][0]["participants"][0]["participantName"],
        serde_json::Value::Null
    );
    ask(
        pii,
        "query Ids { conversations(first: 5) { nodes { id } } }",
    )
    .await;
    drop(serve);

    let text = std::fs::read_to_string(&log).expect("log");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let finished: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["message"] == "request finished")
        .collect();
    assert_eq!(finished.len(), 3, "{text}");
    for line in &finished {
        assert_eq!(line["status"], 200, "{line}");
        assert_eq!(line["sub"], "process-test", "{line}");
        assert!(line["latency_ms"].is_number(), "{line}");
        assert_eq!(line["span"]["request_id"], "req-audit-1", "{line}");
        assert_eq!(line["span"]["path"], "/graphql", "{line}");
    }
    let operations: Vec<&str> = finished
        .iter()
        .map(|l| l["operation"].as_str().expect("operation"))
        .collect();
    assert_eq!(operations, ["Names", "Names", "Ids"]);
    let audits: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["target"] == "convgraph::audit")
        .collect();
    assert_eq!(
        audits.len(),
        1,
        "only the request that served a name: {text}"
    );
    assert_eq!(audits[0]["message"], "personal data read");
    assert_eq!(audits[0]["sub"], "process-test");
    assert_eq!(audits[0]["operation"], "Names");
    assert_eq!(audits[0]["span"]["request_id"], "req-audit-1");
}

/// A query of the ids of the conversations `token` sees, through `serve`.
async fn ids_seen(client: &reqwest::Client, base: &str, token: &str) -> Vec<String> {
    let (status, _, body, _) = post(client, base, token, READ, json!({})).await;
    assert_eq!(status, 200, "{body}");
    body["data"]["conversations"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["id"].as_str().expect("id").to_owned())
        .collect()
}

/// Runs `sql` on the standby (replay control).
async fn on_standby(standby: &LocalPostgres, sql: &str) {
    let pool = db::connect(&standby.url(), 1).await.expect("standby");
    sqlx::query(sql).execute(&pool).await.expect(sql);
    pool.close().await;
}

/// Polls `check` for up to 20 s.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "not within 20 s: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn reads_go_to_a_real_streaming_replica_and_a_writer_reads_its_writes() {
    let primary = private_postgres(&["r-1"]).await;
    let from = primary.clone();
    let standby = tokio::task::spawn_blocking(move || from.standby())
        .await
        .expect("join")
        .expect("a standby made by pg_basebackup");
    let serve = ServeProcess::start_with(
        &primary.url(),
        &["--read-database-url", &standby.url()],
        &[],
    );
    let client = reqwest::Client::new();
    let reader = ServeProcess::token(&["conversations:read"]);
    let writer = api::auth::mint(
        &api::auth::AuthConfig::hs256(crate::common::process::SECRET),
        &api::auth::TokenRequest {
            subject: "replica-writer".into(),
            divisions: Some(vec!["*".into()]),
            permissions: vec!["conversations:read".into(), "ingest:write".into()],
            ttl_seconds: 600,
            ..Default::default()
        },
    )
    .expect("token");
    eventually("the replica serves r-1", async || {
        ids_seen(&client, &serve.base, &reader).await == ["r-1"]
    })
    .await;

    // Replay paused: what the primary stores now is not on the replica.
    on_standby(&standby, "select pg_wal_replay_pause()").await;
    let pool = db::connect(&primary.url(), 1).await.expect("primary");
    let graph =
        domain::ingest::to_graph(&document("r-2"), None, &Default::default()).expect("valid");
    let stored = db::ingest::write(&pool, &domain::Scope::All, &[&graph]).await;
    assert!(stored.iter().all(Result::is_ok), "{stored:?}");
    assert_eq!(
        ids_seen(&client, &serve.base, &reader).await,
        ["r-1"],
        "the reader's query is served by the (paused) replica"
    );

    // The writer writes through the API and reads its write at once (from the primary),
    // while the reader still reads the replica.
    let (status, _, body, _) = post(
        &client,
        &serve.base,
        &writer,
        "mutation($docs: [JSON!]!) { ingestConversations(documents: $docs) { created } }",
        json!({"docs": [document("r-3")]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["ingestConversations"]["created"], 1, "{body}");
    assert_eq!(
        ids_seen(&client, &serve.base, &writer).await,
        ["r-1", "r-2", "r-3"],
        "read your writes"
    );
    assert_eq!(ids_seen(&client, &serve.base, &reader).await, ["r-1"]);

    // Aggregates refresh their rollup first: they run on the primary, never refused.
    let (status, _, body, _) = post(
        &client,
        &serve.base,
        &reader,
        r#"{ conversationAggregates(interval: "2026-11-01T00:00:00Z/2026-11-02T00:00:00Z", metrics: ["nConnected"]) { group } }"#,
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");

    // Replay resumed: the reader catches up, and the writer is back on the replica.
    on_standby(&standby, "select pg_wal_replay_resume()").await;
    eventually("the reader sees every write", async || {
        ids_seen(&client, &serve.base, &reader).await == ["r-1", "r-2", "r-3"]
    })
    .await;
    assert_eq!(
        ids_seen(&client, &serve.base, &writer).await,
        ["r-1", "r-2", "r-3"]
    );
    pool.close().await;
}

/// Every object holding a `traceId` in an OTLP/JSON export body (the spans).
fn spans_of(body: &serde_json::Value, out: &mut Vec<serde_json::Value>) {
    match body {
        serde_json::Value::Object(map) => {
            if map.contains_key("traceId") && map.contains_key("name") {
                out.push(body.clone());
            }
            map.values().for_each(|v| spans_of(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| spans_of(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn traces_reach_an_otlp_receiver_as_children_of_the_callers_traceparent() {
    // The receiver: accepts OTLP/HTTP JSON exports on /v1/traces and keeps their spans.
    let received = Arc::new(std::sync::Mutex::new(Vec::<serde_json::Value>::new()));
    let keep = received.clone();
    let receiver = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let keep = keep.clone();
            async move {
                let export: serde_json::Value =
                    serde_json::from_slice(&body).expect("an OTLP/JSON export");
                let mut spans = Vec::new();
                spans_of(&export, &mut spans);
                keep.lock().expect("lock").extend(spans);
                "{}"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let collector = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, receiver).await });

    let store = Server::start(&[document("t-1")]).await;
    let serve = ServeProcess::start_with(
        store.db.url(),
        &[],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &collector),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let caller_span = "b7ad6b7169203331";
    let response = reqwest::Client::new()
        .post(format!("{}/graphql", serve.base))
        .bearer_auth(ServeProcess::token(&["conversations:read"]))
        .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
        .json(&json!({"query": "query Traced { conversations(first: 1) { nodes { id } } }"}))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 200);

    let ours = |name: &str| {
        received
            .lock()
            .expect("lock")
            .iter()
            .find(|s| s["name"] == name && s["traceId"].as_str() == Some(trace_id))
            .cloned()
    };
    eventually(
        "the request, operation and SQL spans are exported",
        async || ours("request").is_some() && ours("graphql").is_some() && ours("sql").is_some(),
    )
    .await;
    let request = ours("request").expect("request span");
    assert_eq!(request["parentSpanId"], caller_span, "{request}");
    let graphql = ours("graphql").expect("graphql span");
    assert_eq!(graphql["parentSpanId"], request["spanId"], "{graphql}");
    let sql = ours("sql").expect("sql span");
    assert_eq!(sql["parentSpanId"], graphql["spanId"], "{sql}");
}

/// Records the names of the spans it sees opened.
#[derive(Clone, Default)]
struct Recorder(Arc<std::sync::Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Recorder {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let name = attrs.metadata().name().to_owned();
        self.0.lock().expect("lock").push(name);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn statements_are_counted_and_spanned_by_db_exec_with_sqlx_statement_events_off() {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    let database = db::testing::test_database().await;
    let recorder = Recorder::default();
    // Everything on but sqlx's own statement event, which would copy each statement's text.
    let filter = tracing_subscriber::filter::Targets::new()
        .with_default(tracing::Level::TRACE)
        .with_target("sqlx::query", tracing::level_filters::LevelFilter::OFF);
    let subscriber = tracing_subscriber::registry().with(recorder.clone().with_filter(filter));
    let _guard = tracing::subscriber::set_default(subscriber);

    let before = db::exec::statements();
    let pool = database.pool();
    let one: i32 = sqlx::query_scalar("select 1")
        .fetch_one(db::exec::pool(pool))
        .await
        .expect("select");
    let mut tx = db::exec::begin(pool).await.expect("begin");
    sqlx::query("create temporary table t (x int)")
        .execute(db::exec::conn(&mut tx))
        .await
        .expect("create");
    let rows: Vec<i32> = sqlx::query_scalar("select x from t")
        .fetch_all(db::exec::conn(&mut tx))
        .await
        .expect("select");
    tx.rollback().await.expect("rollback");
    assert_eq!((one, rows.len()), (1, 0));

    // Under nextest each test has its process; under `cargo test` other tests count too.
    let counted = db::exec::statements() - before;
    if std::env::var_os("NEXTEST").is_some() {
        assert_eq!(counted, 3, "BEGIN and ROLLBACK are not counted");
    } else {
        assert!(counted >= 3, "{counted}");
    }
    assert_eq!(db::exec::waiting(), 0);
    let spans = recorder.0.lock().expect("lock").clone();
    assert_eq!(
        spans.iter().filter(|name| *name == "sql").count(),
        3,
        "one span per statement: {spans:?}"
    );
}
