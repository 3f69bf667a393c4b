//! The HTTP layer over real HTTP and a real PostgreSQL: GraphQL over HTTP (methods, media types,
//! status codes), body size and time limits, request ids and logs, graceful shutdown.
//!
//! Slow requests are made deterministic by holding a lock on the `conversations` table from
//! another connection: a query that reads conversations waits for it as long as the test wants.

use crate::common::{Server, Setup};
use api::HttpConfig;
use db::testing::TestDatabase;
use reqwest::header::{ACCEPT, ALLOW, CONTENT_TYPE};
use serde_json::{Value, json};
use sqlx::{Connection as _, PgConnection};

use std::time::Duration;

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json; charset=utf-8";
const JSON: &str = "application/json; charset=utf-8";

/// Two conversations of `div-a`, served with the default setup.
async fn start() -> Server {
    start_with(HttpConfig::default()).await
}

async fn start_with(http: HttpConfig) -> Server {
    let documents = [
        conversation("c-1", "2026-11-01T09:00:00Z"),
        conversation("c-2", "2026-11-01T10:00:00Z"),
    ];
    Server::start_with(
        &documents,
        Setup {
            http,
            ..Setup::default()
        },
    )
    .await
}

fn conversation(id: &str, start: &str) -> Value {
    json!({
        "conversationId": id,
        "conversationStart": start,
        "divisionIds": ["div-a"],
        "participants": [{
            "participantId": format!("{id}-p1"),
            "purpose": "customer",
            "sessions": [{
                "sessionId": format!("{id}-s1"),
                "mediaType": "voice",
                "metrics": [{"name": "tTalk", "value": 1000, "emitDate": start}]
            }]
        }]
    })
}

async fn parts(response: reqwest::Response) -> (u16, String, Value) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.json().await.expect("a JSON body");
    (status, content_type, body)
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
}

/// Holds an exclusive lock on `conversations` until the returned connection is closed: every
/// query that reads conversations waits.
async fn lock_conversations(db: &TestDatabase) -> PgConnection {
    let mut conn = PgConnection::connect(db.url()).await.expect("connect");
    sqlx::query("begin")
        .execute(&mut conn)
        .await
        .expect("begin");
    sqlx::query("lock table conversations in access exclusive mode")
        .execute(&mut conn)
        .await
        .expect("lock");
    conn
}

/// Returns once some query of the test database waits on a lock.
async fn until_a_query_waits_on_the_lock(db: &TestDatabase) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "select count(*) from pg_stat_activity
             where datname = current_database() and wait_event_type = 'Lock'",
        )
        .fetch_one(db.pool())
        .await
        .expect("pg_stat_activity");
        if waiting > 0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no query ever waited on the lock"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn post_with_a_json_body_runs_the_query() {
    let server = start().await;

    let response = server
        .post(&json!({
            "query": "query($id: ID!) { conversation(id: $id) { id } }",
            "variables": {"id": "c-2"}
        }))
        .send()
        .await
        .expect("request");

    let (status, content_type, body) = parts(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(content_type, GRAPHQL_RESPONSE_JSON);
    assert_eq!(body, json!({"data": {"conversation": {"id": "c-2"}}}));
}

#[tokio::test]
async fn get_with_url_parameters_runs_the_named_operation() {
    let server = start().await;

    let response = server
        .get(&[
            (
                "query",
                "query One { conversation(id: \"c-1\") { id } } query Two($id: ID!) { conversation(id: $id) { id } }",
            ),
            ("operationName", "Two"),
            ("variables", r#"{"id":"c-2"}"#),
        ])
        .send()
        .await
        .expect("request");

    let (status, _, body) = parts(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"data": {"conversation": {"id": "c-2"}}}));
}

#[tokio::test]
async fn a_mutation_over_get_is_refused_with_405_and_allow_post_before_execution() {
    let server = start().await;

    let anonymous = server
        .get(&[("query", "mutation { __typename }")])
        .send()
        .await
        .expect("request");
    let named = server
        .get(&[
            ("query", "query Q { __typename } mutation M { __typename }"),
            ("operationName", "M"),
        ])
        .send()
        .await
        .expect("request");
    let over_post = server
        .post(&json!({"query": "mutation { __typename }"}))
        .send()
        .await
        .expect("request");

    for response in [anonymous, named] {
        assert_eq!(
            response.headers().get(ALLOW).and_then(|v| v.to_str().ok()),
            Some("POST")
        );
        let (status, _, body) = parts(response).await;
        assert_eq!(status, 405, "{body}");
        assert_eq!(code(&body), "METHOD_NOT_ALLOWED", "refused, not validated");
    }
    // Over POST the same document reaches GraphQL and runs.
    let (status, _, body) = parts(over_post).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["__typename"], "MutationRoot", "{body}");
}

#[tokio::test]
async fn a_validation_error_is_400_as_graphql_response_json_and_200_as_json() {
    let server = start().await;
    let invalid = json!({"query": "{ conversation(id: \"c-1\") { noSuchField } }"});
    let uncoercible = json!({"query": "query($id: ID!) { conversation(id: $id) { id } }"});
    let field_error = json!({"query": "{ conversations(first: 0) { nodes { id } } }"});

    let modern = server
        .post(&invalid)
        .header(ACCEPT, "application/graphql-response+json")
        .send()
        .await
        .expect("request");
    let legacy = server
        .post(&invalid)
        .header(ACCEPT, "application/json")
        .send()
        .await
        .expect("request");
    let without_variables = server
        .post(&uncoercible)
        .header(ACCEPT, "application/graphql-response+json")
        .send()
        .await
        .expect("request");
    let executed = server
        .post(&field_error)
        .header(ACCEPT, "application/graphql-response+json")
        .send()
        .await
        .expect("request");

    let (status, content_type, body) = parts(modern).await;
    assert_eq!(
        (status, content_type.as_str()),
        (400, GRAPHQL_RESPONSE_JSON)
    );
    assert!(
        body.get("data").is_none(),
        "no data after a request error: {body}"
    );
    assert!(!body["errors"].as_array().expect("errors").is_empty());
    assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");
    let (status, content_type, body) = parts(legacy).await;
    assert_eq!((status, content_type.as_str()), (200, JSON), "{body}");
    assert!(!body["errors"].as_array().expect("errors").is_empty());
    let (status, _, body) = parts(without_variables).await;
    assert_eq!(status, 400, "variables that do not coerce: {body}");
    // A field error is a partial response of an executed request: 200, with `data`.
    let (status, _, body) = parts(executed).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert!(body.get("data").is_some(), "{body}");
}

#[tokio::test]
async fn without_an_accept_header_the_answer_is_graphql_response_json() {
    let server = start().await;
    let body = br#"{"query":"{ conversation(id: \"c-1\") { noSuchField } }"}"#;

    let (status, response) = server
        .raw(
            &format!(
                "POST /graphql HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: {}",
                body.len()
            ),
            body,
        )
        .await;

    assert_eq!(status, 400, "{response}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("content-type: application/graphql-response+json"),
        "{response}"
    );
}

#[tokio::test]
async fn an_accept_header_that_allows_neither_media_type_gets_406() {
    let server = start().await;

    let response = server
        .post(&json!({"query": "{ __typename }"}))
        .header(ACCEPT, "text/html, application/xml;q=0.9")
        .send()
        .await
        .expect("request");

    let (status, _, body) = parts(response).await;
    assert_eq!(status, 406, "{body}");
    assert_eq!(code(&body), "NOT_ACCEPTABLE");
}

#[tokio::test]
async fn a_body_that_is_not_a_graphql_request_gets_400_bad_request() {
    let server = start().await;
    let client = reqwest::Client::new();
    let send = |body: &'static str| {
        client
            .post(&server.url)
            .bearer_auth(&server.token)
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
    };

    for body in [
        r#"{"query":"#,
        "NONSENSE",
        r#"{"qeury": "{ __typename }"}"#,
        r#"{"query": null}"#,
        r#"{"query": 7}"#,
        r#"{"query": "{ __typename }", "variables": [7]}"#,
    ] {
        let (status, content_type, response) = parts(send(body).await.expect("request")).await;
        assert_eq!(status, 400, "{body}: {response}");
        assert_eq!(code(&response), "BAD_REQUEST", "{body}: {response}");
        assert_eq!(content_type, GRAPHQL_RESPONSE_JSON);
    }
    let (status, _, response) = parts(
        server
            .get(&[("query", "{ __typename }"), ("variables", "{not json")])
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(
        (status, code(&response)),
        (400, "BAD_REQUEST"),
        "{response}"
    );
}

#[tokio::test]
async fn a_post_body_that_is_not_json_gets_415() {
    let server = start().await;
    let client = reqwest::Client::new();

    let text = client
        .post(&server.url)
        .bearer_auth(&server.token)
        .header(CONTENT_TYPE, "text/plain")
        .body(r#"{"query":"{ __typename }"}"#)
        .send()
        .await
        .expect("request");
    let none = client
        .post(&server.url)
        .bearer_auth(&server.token)
        .body(r#"{"query":"{ __typename }"}"#)
        .send()
        .await
        .expect("request");

    for response in [text, none] {
        let (status, _, body) = parts(response).await;
        assert_eq!(status, 415, "{body}");
        assert_eq!(code(&body), "UNSUPPORTED_MEDIA_TYPE");
    }
}

#[tokio::test]
async fn a_body_over_the_limit_gets_413_whether_its_length_is_declared_or_not() {
    let server = start_with(HttpConfig {
        max_body_bytes: 16 * 1024,
        ..HttpConfig::default()
    })
    .await;
    let padding = " ".repeat(32 * 1024);
    let big = json!({"query": format!("{{ __typename {padding} }}")});
    let fits = json!({"query": format!("{{ __typename {} }}", &padding[..8 * 1024])});

    let declared = server.post(&big).send().await.expect("request");
    let small = server.post(&fits).send().await.expect("request");
    let chunk = big.to_string();
    let (chunked_status, chunked) = server
        .raw(
            "POST /graphql HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked",
            format!("{:x}\r\n{chunk}\r\n0\r\n\r\n", chunk.len()).as_bytes(),
        )
        .await;

    let (status, _, body) = parts(declared).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(code(&body), "PAYLOAD_TOO_LARGE");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("16384 bytes")),
        "{body}"
    );
    assert_eq!(chunked_status, 413, "{chunked}");
    assert!(chunked.contains("PAYLOAD_TOO_LARGE"), "{chunked}");
    let (status, _, body) = parts(small).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_request_past_the_time_limit_is_cancelled_with_504_timeout() {
    let server = start_with(HttpConfig {
        request_timeout: Duration::from_millis(300),
        ..HttpConfig::default()
    })
    .await;
    let lock = lock_conversations(&server.db).await;

    let response = server
        .post(&json!({"query": "{ conversations { totalCount } }"}))
        .send()
        .await
        .expect("request");

    let (status, _, body) = parts(response).await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(code(&body), "TIMEOUT");
    lock.close().await.expect("unlock");
    let (status, _, body) = parts(
        server
            .post(&json!({"query": "{ conversations { totalCount } }"}))
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(status, 200, "the server serves on after a timeout: {body}");
    assert_eq!(body["data"]["conversations"]["totalCount"], 2);
}

#[tokio::test]
async fn a_sane_request_id_is_echoed_and_any_other_is_replaced_by_a_generated_one() {
    let server = start().await;
    let query = json!({"query": "{ __typename }"});
    let id_of = |response: &reqwest::Response| {
        response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };

    let given = server
        .post(&query)
        .header("x-request-id", "client-id-42")
        .send()
        .await
        .expect("request");
    let absent = server.post(&query).send().await.expect("request");
    let absent_again = server.post(&query).send().await.expect("request");
    let insane = server
        .post(&query)
        .header("x-request-id", "a".repeat(200))
        .send()
        .await
        .expect("request");
    let health = reqwest::get(format!("http://{}/healthz", server.addr))
        .await
        .expect("request");

    assert_eq!(id_of(&given).as_deref(), Some("client-id-42"));
    let generated = [&absent, &absent_again, &insane, &health].map(|r| id_of(r).expect("an id"));
    for id in &generated {
        assert_eq!(id.len(), 32, "{id}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    }
    assert_ne!(generated[0], generated[1]);
}

#[tokio::test]
async fn every_log_line_of_a_request_carries_its_request_id() {
    let logs = crate::common::trace::install();
    let server = start().await;
    // Metrics are loaded by a dataloader batch, in a task of its own: make its SQL fail.
    sqlx::query("alter table session_metrics rename to session_metrics_gone")
        .execute(server.db.pool())
        .await
        .expect("rename");

    let response = server
        .post(&json!({"query": r#"{ conversation(id: "c-1") { participants { sessions { metrics { name } } } } }"#}))
        .header("x-request-id", "log-test-7")
        .send()
        .await
        .expect("request");

    let (status, _, body) = parts(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(code(&body), "INTERNAL");
    assert!(
        !body.to_string().contains("session_metrics"),
        "no internals reach the client: {body}"
    );
    let lines = logs.lines();
    let internal: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("internal error") && l.contains("session_metrics"))
        .collect();
    assert!(!internal.is_empty(), "{lines:#?}");
    for line in &internal {
        assert!(line.contains("request_id=log-test-7"), "{line}");
    }
    let finished: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("request finished") && l.contains("request_id=log-test-7"))
        .collect();
    assert_eq!(finished.len(), 1, "{lines:#?}");
    for field in ["method=POST", "path=/graphql", "status=200", "latency_ms="] {
        assert!(finished[0].contains(field), "{field} in {}", finished[0]);
    }
}

#[tokio::test]
async fn shutdown_lets_the_in_flight_request_finish_and_refuses_new_connections() {
    let mut server = start().await;
    let lock = lock_conversations(&server.db).await;
    let in_flight = tokio::spawn(
        server
            .post(&json!({"query": "{ conversations { totalCount } }"}))
            .send(),
    );
    until_a_query_waits_on_the_lock(&server.db).await;

    let serving = server.shutdown();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(server.addr).await.is_ok() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "still accepting connections after shutdown"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!in_flight.is_finished(), "the request waits on the lock");
    lock.close().await.expect("unlock");
    let response = in_flight
        .await
        .expect("task")
        .expect("the in-flight response");
    let (status, _, body) = parts(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["conversations"]["totalCount"], 2);
    tokio::time::timeout(Duration::from_secs(10), serving)
        .await
        .expect("the server stops once the request is answered")
        .expect("task")
        .expect("serve");
}

// --- Cross-site GETs, connection hygiene, request caps and rate limits.

#[tokio::test]
async fn a_get_without_a_preflight_header_is_refused_and_one_with_it_answers() {
    let server = start().await;
    let params = [("query", "{ conversations { totalCount } }")];
    let plain = reqwest::Client::new()
        .get(&server.url)
        .bearer_auth(&server.token)
        .query(&params)
        .send()
        .await
        .expect("request");
    let (status, _, body) = parts(plain).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(code(&body), "CSRF_PREFLIGHT_REQUIRED");

    for (name, value) in [
        ("graphql-preflight", "1"),
        ("apollo-require-preflight", "true"),
        ("x-apollo-operation-name", "Count"),
        ("content-type", "application/json"),
    ] {
        let response = reqwest::Client::new()
            .get(&server.url)
            .bearer_auth(&server.token)
            .header(name, value)
            .query(&params)
            .send()
            .await
            .expect("request");
        let (status, _, body) = parts(response).await;
        assert_eq!(status, 200, "{name}: {body}");
        assert_eq!(body["data"]["conversations"]["totalCount"], 2, "{name}");
    }
}

/// Opens a connection and sends the start of a request, never its end.
async fn half_open(server: &Server) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt as _;
    let mut stream = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .expect("write");
    stream
}

#[tokio::test]
async fn a_half_open_connection_is_closed_by_the_header_read_timeout() {
    use tokio::io::AsyncReadExt as _;
    let server = start_with(HttpConfig {
        header_read_timeout: Duration::from_millis(500),
        ..HttpConfig::default()
    })
    .await;
    let mut stream = half_open(&server).await;

    let mut buffer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buffer)).await;

    // Closed by the server (with or without a 408 first), well before the test's own limit.
    assert!(read.is_ok(), "the connection is still open after 5 s");
    let text = String::from_utf8_lossy(&buffer);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
}

#[tokio::test]
async fn healthz_answers_while_slow_clients_hold_connections_and_requests_are_saturated() {
    let server = start_with(HttpConfig {
        header_read_timeout: Duration::from_secs(30),
        max_concurrent_requests: 1,
        ..HttpConfig::default()
    })
    .await;
    let mut slow = Vec::new();
    for _ in 0..200 {
        slow.push(half_open(&server).await);
    }
    let lock = lock_conversations(&server.db).await;
    let busy = tokio::spawn(
        server
            .post(&json!({"query": "{ conversations { totalCount } }"}))
            .send(),
    );
    until_a_query_waits_on_the_lock(&server.db).await;

    let started = std::time::Instant::now();
    let health = reqwest::get(format!("{}/healthz", server.origin))
        .await
        .expect("healthz");

    assert_eq!(health.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(2));
    lock.close().await.expect("unlock");
    let busy = busy.await.expect("task").expect("response");
    assert_eq!(busy.status(), 200);
    drop(slow);
}

#[tokio::test]
async fn requests_past_the_cap_in_flight_get_503_with_retry_after() {
    let server = start_with(HttpConfig {
        max_concurrent_requests: 1,
        ..HttpConfig::default()
    })
    .await;
    let lock = lock_conversations(&server.db).await;
    let busy = tokio::spawn(
        server
            .post(&json!({"query": "{ conversations { totalCount } }"}))
            .send(),
    );
    until_a_query_waits_on_the_lock(&server.db).await;

    let refused = server
        .post(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .expect("request");

    assert_eq!(refused.status(), 503);
    assert_eq!(
        refused
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let (_, _, body) = parts(refused).await;
    assert_eq!(code(&body), "SERVICE_UNAVAILABLE");
    lock.close().await.expect("unlock");
    assert_eq!(busy.await.expect("task").expect("response").status(), 200);
    let after = server
        .post(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .expect("request");
    assert_eq!(after.status(), 200, "served again once the first finished");
}

#[tokio::test]
async fn connections_past_the_cap_get_503_with_retry_after_and_are_closed() {
    use tokio::io::AsyncReadExt as _;
    let server = start_with(HttpConfig {
        max_connections: 2,
        ..HttpConfig::default()
    })
    .await;
    let held = [half_open(&server).await, half_open(&server).await];

    let mut third = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(5), third.read_to_string(&mut answer))
        .await
        .expect("answered and closed at once")
        .expect("read");

    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("Retry-After: 1"), "{answer}");
    assert!(answer.contains("SERVICE_UNAVAILABLE"), "{answer}");
    drop(held);
}

#[tokio::test]
async fn a_caller_over_its_rate_gets_429_with_retry_after_and_others_are_served() {
    let server = start_with(HttpConfig {
        rate_limit: Some(api::admission::RateLimit {
            per_second: 1,
            burst: 2,
        }),
        ..HttpConfig::default()
    })
    .await;
    let query = json!({"query": "{ __typename }"});
    for _ in 0..2 {
        let response = server.post(&query).send().await.expect("request");
        assert_eq!(response.status(), 200);
    }

    let over = server.post(&query).send().await.expect("request");

    assert_eq!(over.status(), 429);
    let retry: u64 = over
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=2).contains(&retry), "{retry}");
    let (_, _, body) = parts(over).await;
    assert_eq!(code(&body), "RATE_LIMITED");
    // Another subject has an allowance of its own.
    let other = mint_as(&server, "someone-else");
    let response = reqwest::Client::new()
        .post(&server.url)
        .bearer_auth(&other)
        .json(&query)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
}

fn mint_as(server: &Server, subject: &str) -> String {
    api::auth::mint(
        &server.auth,
        &api::auth::TokenRequest {
            subject: subject.into(),
            divisions: Some(vec!["*".into()]),
            permissions: vec!["conversations:read".into()],
            ttl_seconds: 600,
            ..Default::default()
        },
    )
    .expect("token")
}
