//! The dataloaders batch: a four-level query costs one SQL statement per level, whether it
//! reads 5 conversations or 50. Statements are counted as sqlx reports them (every statement
//! it runs emits one `sqlx::query` event), so nothing in the API can hide one.

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

#[tokio::test]
async fn a_four_level_query_runs_one_statement_per_level_whatever_the_parents() {
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(CountStatements).with(
            tracing_subscriber::filter::Targets::new()
                .with_target("sqlx::query", tracing::Level::TRACE),
        ),
    )
    .expect("the only subscriber of this test binary");
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
    // conversations, participants, sessions, segments, metrics.
    assert_eq!(five, 5, "statements for 5 conversations");
    assert_eq!(
        fifty, five,
        "statements must not grow with the number of parents"
    );
}
