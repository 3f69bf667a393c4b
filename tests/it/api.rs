//! The GraphQL API over real HTTP and a real PostgreSQL: scoping, nesting, paging, errors.

use crate::common::Server;
use api::auth::{AuthConfig, TokenRequest, mint};
use serde_json::{Value, json};

fn conversation(id: &str, start: &str, divisions: &[&str]) -> Value {
    json!({
        "conversationId": id,
        "conversationStart": start,
        "divisionIds": divisions,
        "participants": [{
            "participantId": format!("{id}-p1"),
            "purpose": "customer",
            "sessions": [{
                "sessionId": format!("{id}-s1"),
                "mediaType": "voice",
                "direction": "inbound",
                "segments": [
                    {"segmentType": "ivr", "segmentStart": start, "segmentEnd": start},
                    {"segmentType": "interact", "segmentStart": start, "segmentEnd": start, "queueId": "q-1"}
                ],
                "metrics": [{"name": "tTalk", "value": 1000, "emitDate": start}],
                "flow": {"flowId": "f-1", "flowName": "Main IVR", "outcomes": [{"flowOutcome": "menu", "flowOutcomeValue": "SUCCESS"}]}
            }]
        }]
    })
}

fn fixture() -> Vec<Value> {
    vec![
        conversation("c-1", "2026-11-01T09:00:00Z", &["div-a"]),
        conversation("c-2", "2026-11-01T10:00:00Z", &["div-b"]),
        conversation("c-3", "2026-11-01T11:00:00Z", &["div-a", "div-b"]),
        conversation("c-4", "2026-11-01T12:00:00Z", &[]),
        conversation("c-5", "2026-11-02T09:00:00Z", &["div-a"]),
    ]
}

const NESTED: &str = r#"query($id: ID!) { conversation(id: $id) { id divisionIds participants { id purpose
    sessions { id mediaType direction segments { segmentType queueId } metrics { name value }
    flow { flowName outcomes { flowOutcome flowOutcomeValue } } } } } }"#;

#[tokio::test]
async fn a_nested_query_reads_down_to_segments_metrics_and_flows() {
    let server = Server::start(&fixture()).await;
    let token = server.token(Some(&["*"]));

    let (status, body) = server
        .query(Some(&token), NESTED, json!({"id": "c-3"}))
        .await;

    assert_eq!(status, 200, "{body}");
    let session = &body["data"]["conversation"]["participants"][0]["sessions"][0];
    assert_eq!(session["mediaType"], "voice");
    assert_eq!(
        session["segments"][1],
        json!({"segmentType": "interact", "queueId": "q-1"})
    );
    assert_eq!(
        session["metrics"],
        json!([{"name": "tTalk", "value": 1000}])
    );
    assert_eq!(
        session["flow"]["outcomes"][0]["flowOutcomeValue"],
        "SUCCESS"
    );
}

#[tokio::test]
async fn token_scoped_to_division_a_never_sees_division_b() {
    let server = Server::start(&fixture()).await;
    let token = server.token(Some(&["div-a"]));

    let (_, hidden) = server
        .query(Some(&token), NESTED, json!({"id": "c-2"}))
        .await;
    let (_, shared) = server
        .query(Some(&token), NESTED, json!({"id": "c-3"}))
        .await;
    let (_, missing) = server
        .query(Some(&token), NESTED, json!({"id": "does-not-exist"}))
        .await;
    let (_, list) = server
        .query(
            Some(&token),
            "{ conversations(first: 50) { totalCount nodes { id } } }",
            json!({}),
        )
        .await;

    assert_eq!(hidden, missing, "out of scope looks exactly like missing");
    assert_eq!(hidden["data"]["conversation"], Value::Null);
    assert_eq!(shared["data"]["conversation"]["id"], "c-3");
    assert_eq!(list["data"]["conversations"]["totalCount"], 3);
    assert_eq!(
        list["data"]["conversations"]["nodes"],
        json!([{"id": "c-1"}, {"id": "c-3"}, {"id": "c-5"}])
    );
}

#[tokio::test]
async fn a_token_without_divisions_sees_nothing() {
    let server = Server::start(&fixture()).await;
    let token = server.token(None);

    let (_, list) = server
        .query(
            Some(&token),
            "{ conversations { totalCount nodes { id } } }",
            json!({}),
        )
        .await;

    assert_eq!(
        list["data"]["conversations"],
        json!({"totalCount": 0, "nodes": []})
    );
}

#[tokio::test]
async fn requests_without_a_valid_token_get_unauthenticated_and_no_data() {
    let server = Server::start(&fixture()).await;
    let other = mint(
        &AuthConfig::hs256("another-secret"),
        &TokenRequest {
            subject: "x".into(),
            divisions: Some(vec!["*".into()]),
            ttl_seconds: 600,
            ..Default::default()
        },
    )
    .expect("token");
    let expired = mint(
        &server.auth,
        &TokenRequest {
            subject: "x".into(),
            divisions: Some(vec!["*".into()]),
            ttl_seconds: -3600,
            ..Default::default()
        },
    )
    .expect("token");

    for token in [
        None,
        Some(other.as_str()),
        Some(expired.as_str()),
        Some("not.a.token"),
    ] {
        let (status, body) = server.query(token, NESTED, json!({"id": "c-1"})).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
        assert!(body.get("data").is_none_or(Value::is_null), "{body}");
    }
}

#[tokio::test]
async fn pages_follow_each_other_without_gaps_or_repeats() {
    let server = Server::start(&fixture()).await;
    let token = server.token(Some(&["*"]));
    let query = r#"query($after: String) { conversations(first: 2, after: $after) {
        pageInfo { hasNextPage endCursor } nodes { id } } }"#;

    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let (_, body) = server
            .query(Some(&token), query, json!({"after": after}))
            .await;
        let page = &body["data"]["conversations"];
        for node in page["nodes"].as_array().expect("nodes") {
            seen.push(node["id"].as_str().expect("id").to_string());
        }
        if page["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }

    assert_eq!(seen, ["c-1", "c-2", "c-3", "c-4", "c-5"]);
}

#[tokio::test]
async fn bad_arguments_are_named_with_bad_user_input() {
    let server = Server::start(&fixture()).await;
    let token = server.token(Some(&["*"]));

    let (_, interval) = server
        .query(
            Some(&token),
            r#"{ conversations(filter: {interval: "yesterday"}) { nodes { id } } }"#,
            json!({}),
        )
        .await;
    let (_, cursor) = server
        .query(
            Some(&token),
            r#"{ conversations(after: "zz") { nodes { id } } }"#,
            json!({}),
        )
        .await;
    let (_, page) = server
        .query(
            Some(&token),
            r#"{ conversations(first: 0) { nodes { id } } }"#,
            json!({}),
        )
        .await;
    let (_, filtered) = server
        .query(
            Some(&token),
            r#"{ conversations(filter: {interval: "2026-11-01T00:00:00Z/2026-11-02T00:00:00Z", divisionIds: ["div-b"]}) { nodes { id } } }"#,
            json!({}),
        )
        .await;

    for body in [&interval, &cursor, &page] {
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{body}"
        );
    }
    assert!(
        interval["errors"][0]["message"]
            .as_str()
            .expect("message")
            .starts_with("interval \"yesterday\"")
    );
    assert_eq!(
        filtered["data"]["conversations"]["nodes"],
        json!([{"id": "c-2"}, {"id": "c-3"}])
    );
}

#[test]
fn schema_graphql_is_what_the_server_serves() {
    let committed = std::fs::read_to_string("schema.graphql").expect("schema.graphql at the root");
    assert_eq!(
        committed,
        api::sdl(),
        "schema.graphql is stale: run `cargo run -- schema > schema.graphql`"
    );
}
