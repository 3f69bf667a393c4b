//! The whole graph through GraphQL equals the whole graph in the store. The query is built from
//! the schema itself (see `common::walk`), so a field added later is covered without touching
//! this test. Every row the store holds for the fixture conversations, which carry every field
//! of the seed models, must come back column for column, `extra` included.

mod common;

use common::walk::{assert_same_graph, conversation_selection, types};
use common::{ALL, Server};
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
