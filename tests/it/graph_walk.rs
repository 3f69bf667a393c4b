//! The whole graph through GraphQL equals the whole graph in the store. The query is built from
//! the schema itself (see `crate::common::walk`), so a field added later is covered without touching
//! this test. Every row the store holds for the fixture conversations, which carry every field
//! of the seed models, must come back column for column, `extra` included.

use crate::common::walk::{assert_same_graph, conversation_selection, types};
use crate::common::{ALL, Server};
use serde_json::json;
use std::path::Path;

#[tokio::test]
async fn every_row_and_column_of_the_store_comes_back_through_graphql() {
    let server = Server::start_with_files(&[
        Path::new("tests/fixtures/analytics_full.json"),
        Path::new("tests/fixtures/platform_full.json"),
    ])
    .await;
    let token = server.token_with(Some(ALL), &["conversations:read", "pii:read"]);
    let types = types(&server, &token).await;
    let query = format!(
        "query($id: ID!) {{ conversation(id: $id) {{ {} }} }}",
        conversation_selection(&types)
    );

    for id in [
        "c0ffee00-0000-4000-8000-000000000001",
        "c0ffee00-0000-4000-8000-000000000002",
    ] {
        let data = server.data(&token, &query, json!({"id": id})).await;
        let mut conn = server.db.pool().acquire().await.expect("connection");
        let graph = db::graph::load_conversation(&mut conn, id)
            .await
            .expect("load")
            .expect("stored");
        let stored = serde_json::to_value(&graph).expect("graph as JSON");
        let conversation = &data["conversation"];
        let tables = assert_same_graph(conversation, &stored, id);
        assert!(tables >= 5, "{id}: the fixture fills most tables");
        assert_eq!(
            conversation["divisions"].as_array().map(Vec::len),
            graph.conversation.division_ids.len().into()
        );
    }
}

/// Conversations for the random selections: the two fixtures with every field, and copies of
/// the analytics one in other divisions that name each other as consult and associated
/// conversations (some visible to a token, some not), with a session whose peer exists.
fn documents() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string("tests/fixtures/analytics_full.json").expect("fixture");
    let base: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let base = match base {
        serde_json::Value::Array(mut items) => items.remove(0),
        one => one,
    };
    let copies = [
        (
            "r-a1",
            vec!["div-a"],
            vec!["r-b1", "r-c1", "r-missing"],
            "r-a2",
        ),
        ("r-a2", vec!["div-a"], vec![], "r-c1"),
        ("r-b1", vec!["div-b"], vec!["r-a1"], "r-b1x"),
        ("r-c1", vec!["div-c"], vec!["r-a2", "r-b1"], "r-a1"),
    ];
    copies
        .iter()
        .enumerate()
        .map(|(i, (id, divisions, consults, associated))| {
            let mut doc = base.clone();
            doc["conversationId"] = json!(id);
            doc["divisionIds"] = json!(divisions);
            doc["consultationConversationIds"] = json!(consults);
            doc["associatedConversationId"] = json!(associated);
            doc["conversationStart"] = json!(format!("2026-11-0{}T10:00:00.5Z", i + 1));
            // The first agent leg's peer is the other participant's first session.
            let other = doc["participants"][1]["sessions"][0]["sessionId"].clone();
            doc["participants"][0]["sessions"][0]["peerId"] = other;
            doc
        })
        .collect()
}

#[tokio::test]
async fn random_selections_answer_what_the_store_holds_within_each_tokens_scope() {
    use crate::common::random_selection::{
        Builder, Reader, Rng, Store, expected, same_answer, scalars,
    };

    let server = Server::start_with_files(&[
        Path::new("tests/fixtures/analytics_full.json"),
        Path::new("tests/fixtures/platform_full.json"),
    ])
    .await;
    server.import(&documents()).await;
    let admin = server.token_with(Some(ALL), &["conversations:read", "pii:read"]);
    let types = types(&server, &admin).await;
    let scalars = scalars(&types);
    let store = Store::load(server.db.pool()).await;
    let mut ids: Vec<String> = sqlx::query_scalar("select conversation_id from conversations")
        .fetch_all(server.db.pool())
        .await
        .expect("ids");
    ids.push("r-missing".into());

    let readers = [
        (Some(ALL), true),
        (Some(ALL), false),
        (Some(&["div-a"][..]), true),
        (Some(&["div-b"][..]), false),
        (Some(&["div-c", "div-a"][..]), true),
        (None, true),
    ];
    let cases: u64 = std::env::var("CONVGRAPH_RANDOM_SELECTIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(120);
    let mut refused = 0;
    for seed in 0..cases {
        let mut rng = Rng::new(seed);
        let (divisions, personal) = readers[rng.below(readers.len())];
        let permissions: &[&str] = if personal {
            &["conversations:read", "pii:read"]
        } else {
            &["conversations:read"]
        };
        let token = server.token_with(divisions, permissions);
        let reader = Reader {
            // None: every division; a token without the claim sees none.
            divisions: match divisions {
                Some(d) if d == ALL => None,
                Some(d) => Some(d.iter().map(|s| s.to_string()).collect()),
                None => Some(Vec::new()),
            },
            personal,
        };
        let yes = rng.chance(50);
        let query = Builder::new(&mut rng, &scalars).query(&ids);
        let response = reqwest::Client::new()
            .post(&server.url)
            .bearer_auth(&token)
            .json(&json!({"query": query.text, "variables": query.variables(yes)}))
            .send()
            .await
            .expect("request");
        let status = response.status();
        let body = response.text().await.expect("body");
        if status == 400
            && ["TOO_MANY_ALIASES", "QUERY_TOO_COMPLEX"]
                .iter()
                .any(|c| body.contains(c))
        {
            // A random document can go over a limit; the limits have their own tests.
            refused += 1;
            continue;
        }
        assert_eq!(status, 200, "seed {seed}: {}\n{body}", query.text);
        // Read as GraphQL values, which keep the keys in the order served.
        let body: async_graphql::Value = serde_json::from_str(&body).expect("JSON");
        let async_graphql::Value::Object(mut body) = body else {
            panic!("seed {seed}: not an object");
        };
        assert!(
            body.get("errors").is_none(),
            "seed {seed}: {}\n{:?}",
            query.text,
            body.get("errors")
        );
        let served = body.shift_remove("data").expect("data");
        let want = expected(&query, &store, &scalars, &reader, yes);
        assert!(
            same_answer(&served, &want),
            "seed {seed}, reader {reader:?}, $yes = {yes}\nquery: {}\nserved:   {served}\nexpected: {want}",
            query.text
        );
    }
    assert!(
        refused * 10 < cases,
        "{refused} of {cases} documents went over a limit"
    );
}
