//! The partner write path end to end: `ingestConversations` and `POST /ingest` over real HTTP
//! into a real PostgreSQL — outcomes, versions, scope, idempotency keys, a streamed report, and
//! many writers at once. The corpus of bad documents is in `ingest_corpus.rs`, the crash test in
//! `ingest_crash.rs`.

use crate::common::{Server, minimal, ndjson};
use futures::StreamExt as _;
use serde_json::{Value, json};
use std::time::Duration;

const START: &str = "2026-11-02T08:00:00Z";

/// Version `k` of conversation `id`: its segment ends `k` minutes after the start, and its
/// external tag says `v{k}`.
fn version(id: &str, k: u32, divisions: &[&str]) -> Value {
    let end = format!("2026-11-02T{:02}:{:02}:00Z", 8 + k / 60, k % 60);
    let mut doc = minimal(id, START, Some(&end), divisions);
    doc["externalTag"] = json!(format!("v{k}"));
    doc
}

fn outcomes(body: &Value) -> Vec<String> {
    body["data"]["ingestConversations"]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["outcome"].as_str().expect("outcome").to_owned())
        .collect()
}

async fn tag(server: &Server, id: &str) -> Option<String> {
    sqlx::query_scalar("select external_tag from conversations where conversation_id = $1")
        .bind(id)
        .fetch_optional(server.db.pool())
        .await
        .expect("tag")
        .flatten()
}

#[tokio::test]
async fn the_mutation_creates_keeps_replaces_and_refuses_stale_versions() {
    let server = Server::start(&[]).await;
    let writer = server.writer(Some(&["div-a"]), None);

    let (status, body) = server
        .mutate(
            &writer,
            &[version("c1", 5, &["div-a"]), version("c2", 5, &["div-a"])],
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(outcomes(&body), ["CREATED", "CREATED"]);
    let report = &body["data"]["ingestConversations"];
    assert_eq!(
        (report["created"].as_i64(), report["replayed"].as_bool()),
        (Some(2), Some(false))
    );

    // The same again; a newer c1; an older c2.
    let (_, body) = server
        .mutate(&writer, &[version("c1", 5, &["div-a"])], None)
        .await;
    assert_eq!(outcomes(&body), ["UNCHANGED"]);
    let (_, body) = server
        .mutate(
            &writer,
            &[version("c1", 9, &["div-a"]), version("c2", 3, &["div-a"])],
            None,
        )
        .await;
    assert_eq!(outcomes(&body), ["REPLACED", "REJECTED"], "{body}");
    let stale = &body["data"]["ingestConversations"]["results"][1]["error"];
    assert_eq!(
        stale,
        &json!({
            "code": "STALE",
            "path": null,
            "message": "the stored version is newer: it runs to 2026-11-02T08:05:00Z, this document to 2026-11-02T08:03:00Z"
        })
    );
    assert_eq!(tag(&server, "c1").await.as_deref(), Some("v9"));
    assert_eq!(tag(&server, "c2").await.as_deref(), Some("v5"));

    // A correction at the same time replaces: equal times are not stale.
    let mut corrected = version("c2", 5, &["div-a"]);
    corrected["externalTag"] = json!("corrected");
    let (_, body) = server.mutate(&writer, &[corrected], None).await;
    assert_eq!(outcomes(&body), ["REPLACED"]);

    // What was written reads back through the API.
    let data = server
        .data(
            &server.token(Some(&["div-a"])),
            "{ conversations { nodes { id externalTag } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["conversations"]["nodes"],
        json!([{"id": "c1", "externalTag": "v9"}, {"id": "c2", "externalTag": "corrected"}])
    );
}

#[tokio::test]
async fn writing_needs_the_permission_and_stays_inside_the_token_scope() {
    let server = Server::start(&[version("theirs", 5, &["div-b"])]).await;
    let reader = server.token(Some(&["*"]));
    let (status, body) = server
        .mutate(&reader, &[version("c1", 5, &["div-a"])], None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );
    let (status, lines) = server
        .push(&reader, ndjson(&[version("c1", 5, &["div-a"])]), None)
        .await;
    assert_eq!(status, 403, "{lines:?}");

    let writer = server.writer(Some(&["div-a"]), None);
    let (_, body) = server
        .mutate(
            &writer,
            &[
                version("mine", 5, &["div-a"]),
                version("wider", 5, &["div-a", "div-b"]),
                version("theirs", 9, &["div-a"]),
                version("unlabelled", 5, &[]),
            ],
            None,
        )
        .await;
    assert_eq!(
        outcomes(&body),
        ["CREATED", "REJECTED", "REJECTED", "REJECTED"],
        "{body}"
    );
    let messages: Vec<&str> = body["data"]["ingestConversations"]["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["error"]["message"].as_str())
        .collect();
    assert_eq!(
        messages,
        [
            "division \"div-b\" is not in this token's scope",
            "conversation \"theirs\" cannot be written with this token's scope",
            "the conversation names no division and no business unit; only a token for all of them may write it",
        ]
    );
    assert_eq!(tag(&server, "theirs").await.as_deref(), Some("v5"));
}

#[tokio::test]
async fn a_bulk_push_is_stored_and_reported_line_by_line() {
    let server = Server::start(&[]).await;
    let writer = server.writer(Some(&["*"]), None);
    // More than the 1 MiB body limit of /graphql, and more than one chunk of documents.
    let mut docs: Vec<Value> = (0..3000)
        .map(|i| version(&format!("bulk-{i:04}"), 5, &["div-a"]))
        .collect();
    docs[7] = json!({"conversationId": "bad", "participants": "none"});
    let body = ndjson(&docs) + "\n\n" + &version("last", 5, &["div-a"]).to_string();
    assert!(body.len() > 1 << 20);

    let (status, lines) = server.push(&writer, body, None).await;

    assert_eq!(status, 200);
    assert_eq!(lines.len(), 3002, "a line per document and the summary");
    assert_eq!(
        lines[0],
        json!({"line": 1, "conversationId": "bulk-0000", "outcome": "created"})
    );
    assert_eq!(
        lines[7],
        json!({
            "line": 8, "conversationId": "bad", "outcome": "rejected",
            "error": {"code": "INVALID_DOCUMENT", "path": "$.participants", "message": "expected an array, found a string"}
        })
    );
    assert_eq!(
        lines[3000]["line"], 3003,
        "blank lines count in the numbering"
    );
    assert_eq!(
        lines[3001],
        json!({"summary": {"documents": 3001, "created": 3000, "replaced": 0, "unchanged": 0, "rejected": 1}})
    );
    assert_eq!(server.snapshot().await.len(), 3000);
}

#[tokio::test]
async fn the_report_streams_while_the_push_is_still_being_sent() {
    let server = Server::start(&[]).await;
    let writer = server.writer(Some(&["div-a"]), None);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(4);
    let body = reqwest::Body::wrap_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    let request = reqwest::Client::new()
        .post(format!("{}/ingest", server.origin))
        .bearer_auth(&writer)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send();
    let sending = tokio::spawn(request);
    tx.send(Ok(ndjson(&[version("first", 5, &["div-a"])])))
        .await
        .expect("send");
    let response = tokio::time::timeout(Duration::from_secs(10), sending)
        .await
        .expect("the answer starts before the push ends")
        .expect("task")
        .expect("response");
    let mut report = response.bytes_stream();
    let first = tokio::time::timeout(Duration::from_secs(10), report.next())
        .await
        .expect("the first document is reported before the push ends")
        .expect("a line")
        .expect("bytes");
    assert_eq!(
        serde_json::from_slice::<Value>(&first).expect("json"),
        json!({"line": 1, "conversationId": "first", "outcome": "created"})
    );
    assert_eq!(
        server.snapshot().await.len(),
        1,
        "stored before the push ends"
    );
    tx.send(Ok(ndjson(&[version("second", 5, &["div-a"])])))
        .await
        .expect("send");
    drop(tx);
    let mut rest = Vec::new();
    while let Some(chunk) = report.next().await {
        rest.extend_from_slice(&chunk.expect("bytes"));
    }
    let rest: Vec<Value> = rest
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).expect("json"))
        .collect();
    assert_eq!(rest[0]["conversationId"], "second");
    assert_eq!(rest[1]["summary"]["created"], 2);
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer_and_writes_nothing() {
    let server = Server::start(&[]).await;
    let writer = server.writer(Some(&["div-a"]), None);
    let docs = [version("c1", 5, &["div-a"]), version("c2", 5, &["div-b"])];

    let (_, first) = server.mutate(&writer, &docs, Some("retry-1")).await;
    // Meanwhile someone stores a newer c1: the replay must not bring v5 back.
    let (_, _) = server
        .mutate(&writer, &[version("c1", 9, &["div-a"])], None)
        .await;
    let (_, again) = server.mutate(&writer, &docs, Some("retry-1")).await;

    let mut expected = first["data"]["ingestConversations"].clone();
    expected["replayed"] = json!(true);
    assert_eq!(again["data"]["ingestConversations"], expected);
    assert_eq!(outcomes(&again), ["CREATED", "REJECTED"]);
    assert_eq!(tag(&server, "c1").await.as_deref(), Some("v9"));

    // The same key with other documents is refused; another subject has keys of its own.
    let (_, reused) = server
        .mutate(&writer, &[version("c3", 5, &["div-a"])], Some("retry-1"))
        .await;
    assert_eq!(
        reused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{reused}"
    );
    assert!(tag(&server, "c3").await.is_none());
    let other = server.writer_as("other-partner", Some(&["div-a"]), None);
    let (_, theirs) = server
        .mutate(&other, &[version("c3", 5, &["div-a"])], Some("retry-1"))
        .await;
    assert_eq!(outcomes(&theirs), ["CREATED"]);

    // The bulk door: a retry answers the rejections and the summary again, marked replayed.
    let push = ndjson(&[version("b1", 5, &["div-a"]), version("b2", 5, &["div-z"])]);
    let (_, first) = server.push(&writer, push.clone(), Some("push-1")).await;
    let (status, again) = server.push(&writer, push, Some("push-1")).await;
    assert_eq!(status, 200);
    let mut rejection = first[1].clone();
    rejection["replayed"] = json!(true);
    let mut summary = first[2].clone();
    summary["summary"]["replayed"] = json!(true);
    assert_eq!(again, vec![rejection, summary]);
    let (status, _) = server
        .push(
            &writer,
            ndjson(&[version("b3", 5, &["div-a"])]),
            Some("push-1"),
        )
        .await;
    assert_eq!(status, 422);
    assert!(tag(&server, "b3").await.is_none());
}

/// Many writers push versions of the same conversations in different orders, through both
/// doors at once: each conversation ends at its newest version, and its derived metric facts
/// are those of that version alone.
#[tokio::test]
async fn concurrent_writers_end_with_the_newest_version_of_each_conversation() {
    let server = Server::start(&[]).await;
    let ids: Vec<String> = (0..12).map(|i| format!("hot-{i}")).collect();
    const VERSIONS: u32 = 8;
    let writers = 8;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let token = server.writer_as(&format!("writer-{w}"), Some(&["div-a"]), None);
        // Each writer sends every version of every conversation, in an order of its own.
        let mut docs: Vec<Value> = Vec::new();
        for k in 1..=VERSIONS {
            for (i, id) in ids.iter().enumerate() {
                let k = (k + (w * 3 + i as u32) % VERSIONS) % VERSIONS + 1;
                let mut doc = version(id, k, &["div-a"]);
                doc["participants"][0]["sessions"][0]["metrics"] =
                    json!([{"name": "tTalk", "value": k * 1000, "emitDate": START}]);
                docs.push(doc);
            }
        }
        let url = server.url.clone();
        let origin = server.origin.clone();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut outcomes = Vec::new();
            for (n, batch) in docs.chunks(12).enumerate() {
                if (n + w as usize) % 2 == 0 {
                    let body: Value = client
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&json!({
                            "query": "mutation($d: [JSON!]!) { ingestConversations(documents: $d) { results { outcome error { code } } } }",
                            "variables": {"d": batch}
                        }))
                        .send()
                        .await
                        .expect("send")
                        .json()
                        .await
                        .expect("json");
                    for r in body["data"]["ingestConversations"]["results"]
                        .as_array()
                        .unwrap_or_else(|| panic!("{body}"))
                    {
                        outcomes.push((r["outcome"].clone(), r["error"]["code"].clone()));
                    }
                } else {
                    let text = client
                        .post(format!("{origin}/ingest"))
                        .bearer_auth(&token)
                        .header("content-type", "application/x-ndjson")
                        .body(ndjson(batch))
                        .send()
                        .await
                        .expect("send")
                        .text()
                        .await
                        .expect("text");
                    for line in text.lines().map(|l| serde_json::from_str::<Value>(l).expect("json")) {
                        if line.get("summary").is_none() {
                            outcomes.push((
                                json!(line["outcome"].as_str().expect("outcome").to_uppercase()),
                                line["error"]["code"].clone(),
                            ));
                        }
                    }
                }
            }
            outcomes
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("writer"));
    }

    assert_eq!(all.len(), writers as usize * ids.len() * VERSIONS as usize);
    for (outcome, code) in &all {
        assert!(
            outcome != "REJECTED" || code == "STALE",
            "only stale versions are refused: {outcome} {code}"
        );
    }
    let stored = server.snapshot().await;
    assert_eq!(stored.len(), ids.len());
    for id in &ids {
        let graph = &stored[id];
        assert_eq!(
            graph.conversation.external_tag.as_deref(),
            Some("v8"),
            "{id}"
        );
        assert_eq!(graph.metrics.len(), 1);
        assert_eq!(graph.metrics[0].value, Some(8000));
    }
    let facts: Vec<(String, i64)> =
        sqlx::query_as("select conversation_id, count(*) from metric_facts group by 1 order by 1")
            .fetch_all(server.db.pool())
            .await
            .expect("facts");
    let mut expected_ids = ids.clone();
    expected_ids.sort();
    let per_conversation = facts.first().map(|f| f.1).unwrap_or(0);
    assert!(per_conversation > 0);
    assert_eq!(
        facts,
        expected_ids
            .into_iter()
            .map(|id| (id, per_conversation))
            .collect::<Vec<_>>(),
        "no facts of replaced versions are left"
    );
}

/// A push mixing new, newer, stale, unchanged, repeated and bad documents, long enough that its
/// chunks are stored at the same time, reports and stores line for line what sending each
/// document alone, one push after another, does.
#[test]
fn a_mixed_push_reports_and_stores_what_sending_each_document_alone_does() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let server = rt.block_on(Server::start(&[]));
    let writer = server.writer(Some(&["*"]), None);
    let case = std::sync::atomic::AtomicUsize::new(0);
    // An op: which of 6 conversations, and its version (0: a document that does not read).
    let ops = prop::collection::vec((0..6usize, 0..12u32), 1..220);
    let mut runner = TestRunner::new(Config {
        cases: 8,
        // Each step of shrinking is a few hundred requests: a few are enough to read a failure.
        max_shrink_iters: 16,
        ..Config::default()
    });
    runner
        .run(&ops, |ops| {
            let n = case.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let id = |side: &str, i: usize| format!("mix{n}-{side}-{i}");
            let doc = |side: &str, (i, k): (usize, u32)| {
                if k == 0 {
                    json!({"conversationId": id(side, i), "participants": "none"})
                } else {
                    version(&id(side, i), k, &["div-a"])
                }
            };
            // What is left of a report line once its line number and id are set aside.
            let outcome = |mut line: Value| {
                let map = line.as_object_mut().expect("a report line");
                map.remove("line");
                map.remove("conversationId");
                line
            };
            let (alone, together, stored) = rt.block_on(async {
                let mut alone = Vec::new();
                for &op in &ops {
                    let (status, lines) = server.push(&writer, ndjson(&[doc("a", op)]), None).await;
                    assert_eq!(status, 200);
                    alone.push(outcome(lines[0].clone()));
                }
                let docs: Vec<Value> = ops.iter().map(|&op| doc("t", op)).collect();
                let (status, lines) = server.push(&writer, ndjson(&docs), None).await;
                assert_eq!(status, 200);
                assert_eq!(
                    lines.len(),
                    ops.len() + 1,
                    "a line per document and the summary"
                );
                let together: Vec<Value> =
                    lines[..ops.len()].iter().cloned().map(outcome).collect();
                let mut stored = Vec::new();
                for i in 0..6 {
                    stored.push((
                        tag(&server, &id("a", i)).await,
                        tag(&server, &id("t", i)).await,
                    ));
                }
                (alone, together, stored)
            });
            prop_assert_eq!(&alone, &together);
            for (one_by_one, in_one_push) in stored {
                prop_assert_eq!(one_by_one, in_one_push);
            }
            Ok(())
        })
        .expect("a push stores and reports what its documents do one by one");
}
