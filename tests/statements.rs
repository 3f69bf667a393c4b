//! Reads are pushed down whole: a four-level query costs one SQL statement, whether it reads 5
//! conversations or 50, and so does a walk from workitems through their relations. Statements
//! are counted as sqlx reports them (every statement it runs emits one `sqlx::query` event), so
//! nothing in the API can hide one.

mod common;

use common::{ALL, Server, minimal};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use tracing_subscriber::layer::SubscriberExt as _;

static STATEMENTS: AtomicUsize = AtomicUsize::new(0);

/// Counts the statements sqlx runs, in every task of this test process.
struct CountStatements;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CountStatements {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() == "sqlx::query" {
            STATEMENTS.fetch_add(1, Ordering::SeqCst);
        }
    }
}

const FOUR_LEVELS: &str = r#"query($n: Int) { conversations(first: $n) {
    nodes { id participants { id sessions { id mediaType
        segments { segmentType segmentStart } metrics { name value } } } } } }"#;

async fn statements_for(server: &Server, token: &str, n: usize) -> (usize, usize) {
    STATEMENTS.store(0, Ordering::SeqCst);
    let data = server.data(token, FOUR_LEVELS, json!({"n": n})).await;
    let read = data["conversations"]["nodes"]
        .as_array()
        .expect("nodes")
        .len();
    (STATEMENTS.load(Ordering::SeqCst), read)
}

/// Installs the counter once for the test binary; the guard keeps the tests from counting each
/// other's statements.
async fn counting() -> tokio::sync::MutexGuard<'static, ()> {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    INSTALL.call_once(|| {
        tracing::subscriber::set_global_default(
            tracing_subscriber::registry().with(CountStatements).with(
                tracing_subscriber::filter::Targets::new()
                    .with_target("sqlx::query", tracing::Level::TRACE),
            ),
        )
        .expect("the only subscriber of this test binary");
    });
    ONE_AT_A_TIME.lock().await
}

#[tokio::test]
async fn a_four_level_query_runs_one_statement_whatever_the_parents() {
    let _counting = counting().await;
    let docs: Vec<Value> = (0..50)
        .map(|i| {
            let start = format!("2026-11-01T08:{i:02}:00Z");
            let mut doc = minimal(&format!("c-{i:02}"), &start, Some(&start), &["div-a"]);
            // Several participants and sessions per conversation, so every level fans out.
            let participants = doc["participants"].as_array_mut().expect("participants");
            let mut agent = participants[0].clone();
            agent["participantId"] = json!(format!("c-{i:02}-p2"));
            agent["purpose"] = json!("agent");
            agent["sessions"][0]["sessionId"] = json!(format!("c-{i:02}-s2"));
            agent["sessions"][0]["metrics"] =
                json!([{"name": "tTalk", "value": 1, "emitDate": start}]);
            participants.push(agent);
            doc
        })
        .collect();
    let server = Server::start(&docs).await;
    let token = server.token(Some(ALL));

    let (five, read_five) = statements_for(&server, &token, 5).await;
    let (fifty, read_fifty) = statements_for(&server, &token, 50).await;

    assert_eq!((read_five, read_fifty), (5, 50));
    // The page, its participants, sessions, segments and metrics: one statement.
    assert_eq!(five, 1, "statements for 5 conversations");
    assert_eq!(
        fifty, five,
        "statements must not grow with the number of parents"
    );
}

const WORKITEM_WALK: &str = r#"query($n: Int) { workitems(first: $n) { edges { node { id
    agent { id } queue { id channel { id } }
    conversations { holdCount conversation { id queueSegments { queueId } } }
    evaluations { answers { name value } } } } } }"#;

#[tokio::test]
async fn a_workitem_walk_runs_one_statement_whatever_the_parents() {
    let _counting = counting().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let page = |table: &str, rows: Vec<Value>| {
        let path = dir.path().join(format!("{table}.json"));
        let body = json!({"@odata.context": format!("x/$metadata#{table}"), "value": rows});
        std::fs::write(&path, body.to_string()).expect("write");
        path
    };
    let time = |i: usize| format!("2026-11-02T08:{i:02}:00Z");
    let files = [
        page("Channels", vec![json!({"id": "ch", "businessUnitId": "bu"})]),
        page("Queues", vec![json!({"id": "q", "channelId": "ch"})]),
        page("Agents", vec![json!({"id": "a1"}), json!({"id": "a2"})]),
        page("Calls", (0..50).map(|i| json!({"id": format!("c{i}"), "businessUnitId": "bu", "startedAtUTC": time(i)})).collect()),
        page("QueueSegments", (0..50).map(|i| json!({"conversationId": format!("c{i}"), "queueId": "q", "queuedAtUTC": time(i)})).collect()),
        page("Workitems", (0..50).map(|i| json!({"id": format!("w{i:02}"), "agentId": format!("a{}", i % 2 + 1), "queueId": "q",
            "businessUnitId": "bu", "primaryConversationId": format!("c{i}"), "startTimeUTC": time(i)})).collect()),
        page("WorkitemConversationSessions", (0..50).map(|i| json!({"id": "s", "workitemId": format!("w{i:02}"), "conversationId": format!("c{i}"), "holdCount": 1})).collect()),
        page("WorkitemEvaluations", (0..50).map(|i| json!({"id": "e", "workitemId": format!("w{i:02}")})).collect()),
        page("WorkitemEvaluationData", (0..50).map(|i| json!({"id": "d", "workitemId": format!("w{i:02}"), "evaluationId": "e", "name": "n", "value": "v"})).collect()),
    ];
    let server = Server::start(&[]).await;
    let report = convgraph::import::import_paths(
        server.db.pool(),
        &files,
        &convgraph::import::ImportOptions::default(),
    )
    .await
    .expect("import");
    assert!(report.rejected.is_empty(), "{report}");
    // An answer's value is personal: the walk reads it with `pii:read`.
    let token = server.token_with(Some(ALL), &["conversations:read", "pii:read"]);

    let mut counts = Vec::new();
    for n in [5, 50] {
        STATEMENTS.store(0, Ordering::SeqCst);
        let data = server.data(&token, WORKITEM_WALK, json!({"n": n})).await;
        let edges = data["workitems"]["edges"].as_array().expect("edges");
        assert_eq!(edges.len(), n);
        assert_eq!(
            edges[n - 1]["node"]["evaluations"][0]["answers"][0]["value"],
            "v"
        );
        counts.push(STATEMENTS.load(Ordering::SeqCst));
    }
    // Workitems, agents, queues, channels, sessions, conversations, queue segments,
    // evaluations and answers: one statement.
    assert_eq!(
        counts,
        [1, 1],
        "statements must not grow with the number of workitems"
    );
}
