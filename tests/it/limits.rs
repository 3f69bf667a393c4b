//! The limits on abusive operations over real HTTP and a real PostgreSQL: for each, an operation
//! at the limit is answered and one just over it is refused before execution, with 400, no
//! `data`, a message naming the limit and the value found, and its `extensions.code`.

use crate::common::{Server, Setup};
use api::Limits;
use serde_json::{Value, json};

fn document(id: &str) -> Value {
    json!({
        "conversationId": id,
        "conversationStart": "2026-11-01T09:00:00Z",
        "divisionIds": ["div-a"],
        "participants": [{
            "participantId": format!("{id}-p1"),
            "purpose": "customer",
            "sessions": [{"sessionId": format!("{id}-s1"), "mediaType": "voice"}]
        }]
    })
}

async fn start(limits: Limits) -> Server {
    Server::start_with(
        &[document("c-1"), document("c-2")],
        Setup {
            limits,
            ..Setup::default()
        },
    )
    .await
}

async fn post(server: &Server, body: &Value) -> (u16, Value) {
    let response = server.post(body).send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

/// Runs `query`; it must succeed.
async fn accepted(server: &Server, query: &str, variables: Value) -> Value {
    let (status, body) = post(server, &json!({"query": query, "variables": variables})).await;
    assert_eq!(status, 200, "{query}: {body}");
    assert!(body.get("errors").is_none(), "{query}: {body}");
    body["data"].clone()
}

/// Runs `query`; it must be refused with `code` and exactly `message`.
async fn refused(server: &Server, query: &str, variables: Value, code: &str, message: &str) {
    let (status, body) = post(server, &json!({"query": query, "variables": variables})).await;
    assert_refusal(status, &body, code, message);
}

fn assert_refusal(status: u16, body: &Value, code: &str, message: &str) {
    assert_eq!(status, 400, "{body}");
    assert!(
        body.get("data").is_none(),
        "refused before execution: {body}"
    );
    assert_eq!(body["errors"][0]["extensions"]["code"], code, "{body}");
    assert_eq!(body["errors"][0]["message"], message, "{body}");
}

#[tokio::test]
async fn depth_at_the_limit_is_answered_and_one_level_more_is_refused() {
    let server = start(Limits {
        max_depth: 5,
        ..Limits::demo()
    })
    .await;

    accepted(
        &server,
        "{ conversations { nodes { participants { sessions { mediaType } } } } }",
        json!({}),
    )
    .await;
    refused(
        &server,
        "{ conversations { nodes { participants { sessions { segments { segmentType } } } } } }",
        json!({}),
        "QUERY_TOO_DEEP",
        "the query is 6 levels deep; the limit is 5",
    )
    .await;
}

#[tokio::test]
async fn complexity_multiplies_page_sizes_in() {
    // `conversations(first: n) { nodes { id } }` costs n * (nodes + id) + 1 = 2n + 1.
    let server = start(Limits {
        max_complexity: 101,
        ..Limits::demo()
    })
    .await;

    accepted(
        &server,
        "{ conversations(first: 50) { nodes { id } } }",
        json!({}),
    )
    .await;
    accepted(
        &server,
        "query($n: Int) { conversations(last: $n) { nodes { id } } }",
        json!({"n": 50}),
    )
    .await;
    let over = "the query's complexity is 103 (each field counts 1, a page multiplies what it selects by its size); the limit is 101";
    refused(
        &server,
        "{ conversations(first: 51) { nodes { id } } }",
        json!({}),
        "QUERY_TOO_COMPLEX",
        over,
    )
    .await;
    refused(
        &server,
        "query($n: Int) { conversations(last: $n) { nodes { id } } }",
        json!({"n": 51}),
        "QUERY_TOO_COMPLEX",
        over,
    )
    .await;
    // Without `first`, the default page of 25 counts: 25 * 4 + 1 = 101.
    accepted(
        &server,
        "{ conversations { nodes { id conversationId source } } }",
        json!({}),
    )
    .await;
}

#[tokio::test]
async fn aliases_at_the_limit_are_answered_and_one_more_is_refused() {
    let server = start(Limits {
        max_aliases: 3,
        ..Limits::demo()
    })
    .await;

    let data = accepted(
        &server,
        "{ conversations { a: totalCount b: totalCount c: totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(data["conversations"]["c"], 2);
    refused(
        &server,
        "{ conversations { a: totalCount b: totalCount ...More } } fragment More on ConversationConnection { c: totalCount d: totalCount }",
        json!({}),
        "TOO_MANY_ALIASES",
        "the query has 4 aliases; the limit is 3",
    )
    .await;
}

#[tokio::test]
async fn root_fields_at_the_limit_are_answered_and_one_more_is_refused() {
    let server = start(Limits {
        max_root_fields: 2,
        ..Limits::demo()
    })
    .await;

    accepted(
        &server,
        r#"{ conversations { totalCount } conversation(id: "c-1") { id } }"#,
        json!({}),
    )
    .await;
    refused(
        &server,
        r#"{ conversations { totalCount } ... on QueryRoot { conversation(id: "c-1") { id } __typename } }"#,
        json!({}),
        "TOO_MANY_ROOT_FIELDS",
        "the operation selects 3 root fields; the limit is 2",
    )
    .await;
}

#[tokio::test]
async fn directives_at_the_limit_are_answered_and_one_more_is_refused() {
    let server = start(Limits {
        max_directives: 2,
        ..Limits::demo()
    })
    .await;

    accepted(
        &server,
        "{ conversations @include(if: true) { totalCount @skip(if: false) } }",
        json!({}),
    )
    .await;
    refused(
        &server,
        "{ conversations @include(if: true) { totalCount @skip(if: false) pageInfo @include(if: true) { hasNextPage } } }",
        json!({}),
        "TOO_MANY_DIRECTIVES",
        "the query has 3 directives; the limit is 2",
    )
    .await;
}

#[tokio::test]
async fn a_page_at_the_limit_is_answered_and_one_row_more_is_refused() {
    let server = start(Limits {
        max_page_size: 2,
        ..Limits::demo()
    })
    .await;

    let data = accepted(
        &server,
        "{ conversations(first: 2) { nodes { id } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        data["conversations"]["nodes"].as_array().map(Vec::len),
        Some(2)
    );
    refused(
        &server,
        "{ conversations(first: 3) { nodes { id } } }",
        json!({}),
        "PAGE_TOO_LARGE",
        "`conversations(first: 3)` asks for a page of 3; the largest page is 2",
    )
    .await;
    refused(
        &server,
        "query($n: Int) { conversations(last: $n) { nodes { id } } }",
        json!({"n": 3}),
        "PAGE_TOO_LARGE",
        "`conversations(last: 3)` asks for a page of 3; the largest page is 2",
    )
    .await;
}

#[tokio::test]
async fn batches_are_refused_by_default_and_bounded_when_enabled() {
    let off = start(Limits::demo()).await;
    let on = start(Limits {
        max_batch: 2,
        ..Limits::demo()
    })
    .await;
    let one = json!({"query": "{ conversations { totalCount } }"});

    let (status, body) = post(&off, &json!([one])).await;
    assert_refusal(
        status,
        &body,
        "BATCHING_DISABLED",
        "batching (a JSON array of requests) is disabled on this server: send one request per POST",
    );
    let (status, body) = post(&on, &json!([one, {"query": "{ __typename }"}])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!([
            {"data": {"conversations": {"totalCount": 2}}},
            {"data": {"__typename": "QueryRoot"}}
        ])
    );
    let (status, body) = post(&on, &json!([one, one, one])).await;
    assert_refusal(
        status,
        &body,
        "BATCH_TOO_LARGE",
        "the batch has 3 operations; the limit is 2",
    );
    // Each operation of a batch is held to the limits.
    let (status, body) = post(
        &on,
        &json!([one, {"query": "{ conversations(first: 100000) { totalCount } }"}]),
    )
    .await;
    assert_refusal(
        status,
        &body,
        "PAGE_TOO_LARGE",
        "operation 2 of the batch: `conversations(first: 100000)` asks for a page of 100000; the largest page is 500",
    );
}

#[tokio::test]
async fn introspection_and_field_suggestions_follow_the_configuration() {
    let closed = start(Limits::default()).await;
    let open = start(Limits::demo()).await;
    let introspection = json!({"query": "{ __schema { queryType { name } } }"});
    let typo = json!({"query": "{ conversations { totalCont } }"});

    let (status, body) = post(&open, &introspection).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "QueryRoot");
    let (_, body) = post(&closed, &introspection).await;
    assert_eq!(
        body,
        json!({"data": {"__schema": null}}),
        "no schema without introspection"
    );

    let (_, body) = post(&open, &typo).await;
    assert!(body.to_string().contains("Did you mean"), "{body}");
    let (_, body) = post(&closed, &typo).await;
    assert!(!body.to_string().contains("Did you mean"), "{body}");
    assert!(!body.to_string().contains("totalCount"), "{body}");
}

/// 14 fragments, each spreading the next four times, on `on`, the last selecting `leaf`.
fn fan_out(on: &str, leaf: &str) -> String {
    let mut fragments = String::new();
    for i in 0..13 {
        let next = format!("...F{} ", i + 1).repeat(4);
        fragments.push_str(&format!(" fragment F{i} on {on} {{ {next}}}"));
    }
    fragments.push_str(&format!(" fragment F13 on {on} {{ {leaf} }}"));
    fragments
}

#[tokio::test]
async fn a_fan_out_of_fragments_is_refused_in_well_under_a_second() {
    let server = start(Limits::default()).await;
    // The probe's query: 4^13 spreads once expanded, from well under a kilobyte.
    let nested = format!(
        "{{ conversations(first: 1) {{ ...F0 }} }}{}",
        fan_out("ConversationConnection", "totalCount")
    );
    let at_root = format!(
        "{{ ...F0 }}{}",
        fan_out("QueryRoot", "conversation(id: \"c-1\") { id }")
    );
    assert!(nested.len() < 1024, "{} bytes", nested.len());

    for (query, code, message) in [
        (
            nested,
            "QUERY_TOO_COMPLEX",
            "the query's complexity is 67108865 (each field counts 1, a page multiplies what it selects by its size); the limit is 500000",
        ),
        (
            at_root,
            "TOO_MANY_ROOT_FIELDS",
            "the operation selects 67108864 root fields; the limit is 20",
        ),
    ] {
        let started = std::time::Instant::now();
        refused(&server, &query, json!({}), code, message).await;
        // A guard against the exponential case only (that took a minute of CPU).
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "{code}: {:?}",
            started.elapsed()
        );
    }
    // The server is as responsive as before.
    let health = reqwest::get(format!("{}/healthz", server.origin))
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn a_fragment_that_spreads_itself_is_refused_without_expanding_it() {
    let server = start(Limits::default()).await;
    refused(
        &server,
        "{ ...A } fragment A on QueryRoot { __typename ...B ...B } fragment B on QueryRoot { ...A ...A }",
        json!({}),
        "GRAPHQL_VALIDATION_FAILED",
        "fragment \"A\" spreads itself (directly or through other fragments)",
    )
    .await;
}

#[tokio::test]
async fn a_cycle_through_paged_and_bounded_lists_is_refused_before_it_reads_a_row() {
    let server = start(Limits::default()).await;
    let rss_before = resident_kib();
    // The probe's cycle: agents -> workitems -> agent -> workitems -> ... (78 MB and a process
    // grown to 1.07 GB before the lists were paged and bounded).
    let (status, body) = post(
        &server,
        &json!({"query": "{ agents(first: 500) { edges { node { workitems(first: 100) { edges { node {
            agent { workitems(first: 100) { edges { node { id } } } } } } } } } } }"}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX",
        "{body}"
    );
    let grown = resident_kib().saturating_sub(rss_before);
    assert!(grown < 64 * 1024, "the process grew by {grown} KiB");
    // A list of conversations naming other conversations counts its bound at every level.
    let (status, body) = post(
        &server,
        &json!({"query": "{ conversation(id: \"c-1\") { consultationConversations {
            consultationConversations { consultationConversations { consultationConversations {
            consultationConversations { id } } } } } } }"}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("the query's complexity is 3368422 ")),
        "{body}"
    );
}

#[tokio::test]
async fn a_conversation_naming_itself_or_too_many_consultations_is_refused_at_ingest() {
    let server = start(Limits::default()).await;
    let writer = server.writer(Some(&["div-a"]), None);
    let mut itself = document("c-self");
    itself["consultationConversationIds"] = json!(["c-1", "c-self"]);
    let mut many = document("c-many");
    many["consultationConversationIds"] =
        json!((0..101).map(|i| format!("c-{i}")).collect::<Vec<_>>());
    let (status, body) = server.mutate(&writer, &[itself, many], None).await;
    assert_eq!(status, 200, "{body}");
    let results = &body["data"]["ingestConversations"]["results"];
    assert_eq!(results[0]["error"]["code"], "INVALID_DOCUMENT", "{body}");
    assert_eq!(
        results[0]["error"]["path"], "$.consultationConversationIds[1]",
        "{body}"
    );
    assert_eq!(results[1]["error"]["code"], "INVALID_DOCUMENT", "{body}");
    assert_eq!(
        results[1]["error"]["path"], "$.consultationConversationIds",
        "{body}"
    );
}

#[tokio::test]
async fn an_answer_over_the_response_limit_ends_with_a_clear_error_before_it_reaches_the_gateway() {
    let server = start(Limits {
        max_response_bytes: 120,
        ..Limits::demo()
    })
    .await;
    let small = accepted(&server, r#"{ conversation(id: "c-1") { id } }"#, json!({})).await;
    assert_eq!(small, json!({"conversation": {"id": "c-1"}}));
    let (status, body) = post(
        &server,
        &json!({"query": "{ conversations { nodes { id conversationStart divisionIds participants { id purpose sessions { id mediaType } } } } }"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["conversations"], Value::Null, "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "RESPONSE_TOO_LARGE",
        "{body}"
    );
    assert_eq!(
        body["errors"][0]["path"],
        json!(["conversations"]),
        "{body}"
    );
    // The limit covers the operation: two root fields share it.
    let (_, body) = post(
        &server,
        &json!({"query": "{ a: conversation(id: \"c-1\") { id participants { id purpose } }
                           b: conversation(id: \"c-2\") { id participants { id purpose } } }"}),
    )
    .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "RESPONSE_TOO_LARGE",
        "{body}"
    );
}

/// This process's resident memory (`VmRSS` of /proc/self/status), in KiB.
fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
