//! The bad-input corpus of the write path: every case is a test of its own, run against a real
//! server on a fresh database holding three conversations (`base-a` in div-a, `base-b` in div-b,
//! `base-bu` in div-a with business unit bu-1).
//!
//! A document case sends ONE request, through `POST /ingest`, the `ingestConversations`
//! mutation or both (one test per door), in which valid documents surround the bad one. It checks
//! the whole report (the exact code, path and message of each rejection, at its line or index)
//! and that the store afterwards holds exactly what it held plus the valid documents, graph for
//! graph. Request-level refusals (no permission, no token, wrong content type, bad idempotency
//! key, too many documents, a push over its byte limit) are tests of their own after the cases.

use crate::common::{Server, Setup, minimal, ndjson};
use api::IngestConfig;
use domain::ConversationGraph;
use domain::ingest::IngestLimits;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

type Snapshot = BTreeMap<String, ConversationGraph>;
type Ids = Option<&'static [&'static str]>;

const START: &str = "2026-11-02T08:00:00Z";
const END: &str = "2026-11-02T08:10:00Z";
const BASE_START: &str = "2026-11-01T10:00:00Z";
const BASE_END: &str = "2026-11-01T10:10:00Z";
const LATER: &str = "2026-11-01T10:20:00Z";
const EARLIER: &str = "2026-11-01T10:05:00Z";

const MAX_DOCUMENT_BYTES: usize = 16 * 1024;
const MAX_DEPTH: usize = 16;
const MAX_STRING_BYTES: usize = 1024;
const MAX_MUTATION_DOCUMENTS: usize = 5;

const SESSION: &str = "$.participants[0].sessions[0]";
const SEGMENT: &str = "$.participants[0].sessions[0].segments[0]";

const DIV_A: (Ids, Ids) = (Some(&["div-a"]), None);
const EVERYTHING: (Ids, Ids) = (Some(&["*"]), None);

// ---------------------------------------------------------------------------------------------
// The harness of a case

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Door {
    Push,
    Mutation,
}

macro_rules! door {
    (push) => {
        $crate::ingest_corpus::Door::Push
    };
    (mutation) => {
        $crate::ingest_corpus::Door::Mutation
    };
}

/// One test per case and door: `name: push | mutation;` runs the case `name()`.
macro_rules! corpus {
    ($($case:ident: $($door:ident)|+;)+) => {
        $(
            mod $case {
                $(
                    #[tokio::test]
                    async fn $door() {
                        $crate::ingest_corpus::run(door!($door), super::$case()).await;
                    }
                )+
            }
        )+
    };
}

/// What becomes of one document.
#[derive(Debug, Clone)]
enum Expect {
    Created,
    Replaced,
    Unchanged,
    Rejected {
        code: &'static str,
        path: Option<String>,
        message: String,
    },
}

impl Expect {
    fn outcome(&self) -> &'static str {
        match self {
            Expect::Created => "created",
            Expect::Replaced => "replaced",
            Expect::Unchanged => "unchanged",
            Expect::Rejected { .. } => "rejected",
        }
    }

    fn error(&self) -> Value {
        match self {
            Expect::Rejected {
                code,
                path,
                message,
            } => json!({"code": code, "path": path, "message": message}),
            _ => Value::Null,
        }
    }
}

/// A document as sent (JSON, or raw bytes for `POST /ingest` only), the conversation id the
/// report names, and what becomes of it.
#[derive(Debug, Clone)]
struct Doc {
    json: Option<Value>,
    bytes: Vec<u8>,
    id: Option<String>,
    expect: Expect,
}

impl Doc {
    fn json(value: Value) -> Self {
        Self {
            bytes: value.to_string().into_bytes(),
            id: value
                .get("conversationId")
                .and_then(Value::as_str)
                .map(str::to_owned),
            json: Some(value),
            expect: Expect::Created,
        }
    }

    fn raw(bytes: impl Into<Vec<u8>>) -> Self {
        let bytes = bytes.into();
        let json = serde_json::from_slice(&bytes).ok();
        Self {
            bytes,
            json,
            id: None,
            expect: Expect::Created,
        }
    }

    fn id(mut self, id: Option<&str>) -> Self {
        self.id = id.map(str::to_owned);
        self
    }

    fn rejected(
        mut self,
        code: &'static str,
        path: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        self.expect = Expect::Rejected {
            code,
            path: path.map(str::to_owned),
            message: message.into(),
        };
        self
    }

    fn replaced(mut self) -> Self {
        self.expect = Expect::Replaced;
        self
    }

    fn unchanged(mut self) -> Self {
        self.expect = Expect::Unchanged;
        self
    }

    /// The graph the store holds for this document when it is written.
    fn graph(&self) -> ConversationGraph {
        let value = self.json.as_ref().expect("a stored document is JSON");
        domain::genesys::parse(value).expect("a stored document parses")
    }
}

/// One request of documents, sent with a writer token for `writer` (divisions, business units).
struct Case {
    writer: (Ids, Ids),
    setup: Setup,
    docs: Vec<Doc>,
    /// Blank lines between the documents of a push.
    gap: usize,
    /// More checks of the store afterwards.
    then: Option<fn(&Snapshot)>,
}

impl Case {
    fn new(docs: Vec<Doc>) -> Self {
        Self {
            writer: DIV_A,
            setup: setup(),
            docs,
            gap: 0,
            then: None,
        }
    }

    fn writer(mut self, divisions: Ids, business_units: Ids) -> Self {
        self.writer = (divisions, business_units);
        self
    }

    fn then(mut self, check: fn(&Snapshot)) -> Self {
        self.then = Some(check);
        self
    }
}

fn setup() -> Setup {
    Setup {
        ingest: IngestConfig {
            limits: IngestLimits {
                max_document_bytes: MAX_DOCUMENT_BYTES,
                max_depth: MAX_DEPTH,
                max_string_bytes: MAX_STRING_BYTES,
            },
            max_mutation_documents: MAX_MUTATION_DOCUMENTS,
            max_bulk_bytes: 1024 * 1024,
        },
        ..Setup::default()
    }
}

fn base() -> Vec<Value> {
    vec![
        minimal("base-a", BASE_START, Some(BASE_END), &["div-a"]),
        minimal("base-b", BASE_START, Some(BASE_END), &["div-b"]),
        minimal("base-bu", BASE_START, Some(BASE_END), &["div-a"]),
    ]
}

/// A server over the base conversations.
async fn start(setup: Setup) -> Server {
    let server = Server::start_with(&base(), setup).await;
    // Business units arrive with the Buzzeasy feed; set one in the store.
    sqlx::query(
        "update conversations set business_unit_id = 'bu-1' where conversation_id = 'base-bu'",
    )
    .execute(server.db.pool())
    .await
    .expect("business unit");
    server
}

async fn run(door: Door, case: Case) {
    let server = start(case.setup.clone()).await;
    let before = server.snapshot().await;
    let token = server.writer(case.writer.0, case.writer.1);
    match door {
        Door::Push => {
            let (status, lines) = server.push(&token, push_body(&case), None).await;
            assert_eq!(status, 200, "{lines:?}");
            assert_lines(&lines, &expected_lines(&case));
        }
        Door::Mutation => {
            let docs: Vec<Value> = case
                .docs
                .iter()
                .map(|d| d.json.clone().expect("a mutation case sends JSON"))
                .collect();
            let (status, body) = server.mutate(&token, &docs, None).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body, expected_answer(&case));
        }
    }
    let after = server.snapshot().await;
    assert_store(&after, &expected_store(&before, &case));
    if let Some(check) = case.then {
        check(&after);
    }
}

fn push_body(case: &Case) -> Vec<u8> {
    let mut body = Vec::new();
    for doc in &case.docs {
        body.extend_from_slice(&doc.bytes);
        body.push(b'\n');
        for _ in 0..case.gap {
            body.extend_from_slice(b"  \t\n");
        }
    }
    body
}

fn count(case: &Case, outcome: &str) -> usize {
    case.docs
        .iter()
        .filter(|d| d.expect.outcome() == outcome)
        .count()
}

fn expected_lines(case: &Case) -> Vec<Value> {
    let mut lines: Vec<Value> = case
        .docs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let mut line = json!({
                "line": 1 + i * (case.gap + 1),
                "conversationId": d.id,
                "outcome": d.expect.outcome(),
            });
            if let Expect::Rejected { .. } = d.expect {
                line["error"] = d.expect.error();
            }
            line
        })
        .collect();
    lines.push(json!({"summary": {
        "documents": case.docs.len(),
        "created": count(case, "created"),
        "replaced": count(case, "replaced"),
        "unchanged": count(case, "unchanged"),
        "rejected": count(case, "rejected"),
    }}));
    lines
}

fn expected_answer(case: &Case) -> Value {
    let results: Vec<Value> = case
        .docs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            json!({
                "index": i,
                "conversationId": d.id,
                "outcome": d.expect.outcome().to_uppercase(),
                "error": d.expect.error(),
            })
        })
        .collect();
    json!({"data": {"ingestConversations": {
        "created": count(case, "created"),
        "replaced": count(case, "replaced"),
        "unchanged": count(case, "unchanged"),
        "rejected": count(case, "rejected"),
        "replayed": false,
        "results": results,
    }}})
}

fn assert_lines(got: &[Value], expected: &[Value]) {
    for (i, (got, expected)) in got.iter().zip(expected).enumerate() {
        assert_eq!(got, expected, "report line {i}");
    }
    assert_eq!(got.len(), expected.len(), "report lines: {got:#?}");
}

/// What the store holds after `case`: `before` and each document written, in order.
fn expected_store(before: &Snapshot, case: &Case) -> Snapshot {
    let mut expected = before.clone();
    for doc in &case.docs {
        if matches!(doc.expect, Expect::Created | Expect::Replaced) {
            let graph = doc.graph();
            expected.insert(graph.id().to_owned(), graph);
        }
    }
    expected
}

fn assert_store(got: &Snapshot, expected: &Snapshot) {
    let ids = |s: &Snapshot| s.keys().cloned().collect::<Vec<_>>();
    assert_eq!(ids(got), ids(expected), "stored conversations");
    for (id, graph) in expected {
        assert_eq!(&got[id], graph, "stored graph of {id}");
    }
}

// ---------------------------------------------------------------------------------------------
// Documents

/// A valid conversation in div-a.
fn doc(id: &str) -> Value {
    minimal(id, START, Some(END), &["div-a"])
}

fn edited(id: &str, edit: impl FnOnce(&mut Value)) -> Value {
    let mut value = doc(id);
    edit(&mut value);
    value
}

fn good(n: u8) -> Doc {
    Doc::json(doc(&format!("good-{n}")))
}

/// `bad` between two valid documents.
fn around(bad: Doc) -> Case {
    Case::new(vec![good(1), bad, good(2)])
}

fn invalid(value: Value, path: &str, message: &str) -> Case {
    around(Doc::json(value).rejected("INVALID_DOCUMENT", Some(path), message))
}

fn malformed(text: &str, message: &str) -> Case {
    around(Doc::raw(text).rejected("MALFORMED_JSON", None, message))
}

fn not_utf8(bytes: &[u8]) -> Case {
    let at = std::str::from_utf8(bytes)
        .expect_err("not UTF-8")
        .valid_up_to()
        + 1;
    around(Doc::raw(bytes).rejected(
        "INVALID_UTF8",
        None,
        format!("the document is not valid UTF-8 (at byte {at})"),
    ))
}

fn out_of_scope(value: Value, message: &str) -> Case {
    around(Doc::json(value).rejected("OUT_OF_SCOPE", None, message))
}

fn bad_time(id: &str, pointer: &str, time: &str, path: &str, message: &str) -> Case {
    invalid(
        edited(id, |v| {
            *v.pointer_mut(pointer).expect("field") = json!(time)
        }),
        path,
        message,
    )
}

fn with_metric(id: &str, metric: Value) -> Value {
    edited(id, |v| {
        v["participants"][0]["sessions"][0]["metrics"] = json!([metric]);
    })
}

/// A platform `Conversation` object in div-a.
fn platform(id: &str) -> Value {
    json!({
        "id": id,
        "startTime": START,
        "endTime": END,
        "divisions": [{"division": {"id": "div-a"}}],
        "participants": [{
            "id": format!("{id}-p1"),
            "purpose": "customer",
            "calls": [{
                "id": format!("{id}-c1"),
                "segments": [{"startTime": START, "endTime": END, "type": "Interact"}]
            }]
        }]
    })
}

/// Arrays nested `levels` deep: `[[…[]…]]`.
fn nested(levels: usize) -> Value {
    (1..levels).fold(json!([]), |inner, _| json!([inner]))
}

fn the_string(len: usize) -> String {
    "x".repeat(len)
}

// ---------------------------------------------------------------------------------------------
// Malformed JSON (POST /ingest only: a GraphQL variable is JSON already)

fn malformed_unquoted_key() -> Case {
    malformed(
        r#"{conversationId: "bad"}"#,
        "malformed JSON: key must be a string at column 2",
    )
}

fn malformed_single_quotes() -> Case {
    malformed(
        "{'conversationId': 'bad'}",
        "malformed JSON: key must be a string at column 2",
    )
}

fn malformed_trailing_comma() -> Case {
    malformed(
        r#"{"conversationId": "bad",}"#,
        "malformed JSON: trailing comma at column 26",
    )
}

fn malformed_missing_colon() -> Case {
    malformed(
        r#"{"conversationId" "bad"}"#,
        "malformed JSON: expected `:` at column 19",
    )
}

fn malformed_bare_word() -> Case {
    malformed("conversation", "malformed JSON: expected value at column 1")
}

fn malformed_nan() -> Case {
    malformed(
        r#"{"conversationId": "bad", "v": NaN}"#,
        "malformed JSON: expected value at column 32",
    )
}

fn malformed_two_documents_on_one_line() -> Case {
    malformed(
        r#"{"conversationId": "a"} {"conversationId": "b"}"#,
        "malformed JSON: trailing characters at column 25",
    )
}

fn malformed_lone_surrogate_escape() -> Case {
    malformed(
        r#"{"conversationId": "\ud800"}"#,
        "malformed JSON: unexpected end of hex escape at column 27",
    )
}

fn malformed_raw_control_character() -> Case {
    malformed(
        "{\"conversationId\": \"a\u{1}b\"}",
        "malformed JSON: control character (\\u0000-\\u001F) found while parsing a string at column 22",
    )
}

fn truncated_in_a_list() -> Case {
    let text = doc("truncated").to_string();
    let cut = text.find("\"sessions\"").expect("sessions");
    malformed(
        &text[..cut],
        &format!("malformed JSON: EOF while parsing a value at column {cut}"),
    )
}

fn truncated_in_a_string() -> Case {
    malformed(
        r#"{"conversationId": "trunc"#,
        "malformed JSON: EOF while parsing a string at column 25",
    )
}

fn lone_closing_bracket() -> Case {
    malformed("]", "malformed JSON: expected value at column 1")
}

fn lone_closing_brace() -> Case {
    malformed("}", "malformed JSON: expected value at column 1")
}

// ---------------------------------------------------------------------------------------------
// JSON that is not a conversation object

fn not_an_object(value: Value) -> Case {
    around(Doc::json(value).rejected(
        "INVALID_DOCUMENT",
        Some("$"),
        "expected a conversation object",
    ))
}

fn document_is_an_array() -> Case {
    not_an_object(json!([doc("in-an-array")]))
}

fn document_is_a_string() -> Case {
    not_an_object(json!("a conversation"))
}

fn document_is_a_number() -> Case {
    not_an_object(json!(42))
}

fn document_is_a_boolean() -> Case {
    not_an_object(json!(true))
}

fn document_is_null() -> Case {
    not_an_object(Value::Null)
}

fn document_is_an_empty_object() -> Case {
    invalid(
        json!({}),
        "$",
        "not a Genesys conversation: no conversationId or id",
    )
}

// ---------------------------------------------------------------------------------------------
// Wrong types

fn conversation_id_is_a_number() -> Case {
    invalid(
        edited("x", |v| v["conversationId"] = json!(42)),
        "$.conversationId",
        "expected a string, found a number",
    )
}

fn participants_is_an_object() -> Case {
    invalid(
        edited("participants-object", |v| {
            v["participants"] = json!({"participantId": "p"});
        }),
        "$.participants",
        "expected an array, found an object",
    )
}

fn participant_is_a_string() -> Case {
    invalid(
        edited("participant-string", |v| v["participants"] = json!(["p"])),
        "$.participants[0]",
        "expected an object, found a string",
    )
}

fn segment_start_is_a_number() -> Case {
    invalid(
        edited("start-number", |v| {
            v["participants"][0]["sessions"][0]["segments"][0]["segmentStart"] =
                json!(1_793_606_400_000_i64);
        }),
        &format!("{SEGMENT}.segmentStart"),
        "expected an ISO-8601 timestamp string, found a number",
    )
}

fn metric_value_is_a_string() -> Case {
    invalid(
        with_metric(
            "metric-string",
            json!({"name": "tTalk", "value": "sixty", "emitDate": END}),
        ),
        &format!("{SESSION}.metrics[0].value"),
        "expected an integer, found a string",
    )
}

fn metric_value_is_fractional() -> Case {
    invalid(
        with_metric(
            "metric-fraction",
            json!({"name": "tTalk", "value": 1.5, "emitDate": END}),
        ),
        &format!("{SESSION}.metrics[0].value"),
        "expected an integer, found 1.5",
    )
}

fn metric_value_is_beyond_i64() -> Case {
    invalid(
        with_metric(
            "metric-huge",
            json!({"name": "tTalk", "value": u64::MAX, "emitDate": END}),
        ),
        &format!("{SESSION}.metrics[0].value"),
        "expected an integer, found 18446744073709551615",
    )
}

fn division_ids_is_a_string() -> Case {
    invalid(
        edited("divisions-string", |v| v["divisionIds"] = json!("div-a")),
        "$.divisionIds",
        "expected an array, found a string",
    )
}

fn division_id_is_a_number() -> Case {
    invalid(
        edited("division-number", |v| {
            v["divisionIds"] = json!(["div-a", 7])
        }),
        "$.divisionIds[1]",
        "expected a string, found a number",
    )
}

fn media_type_is_a_boolean() -> Case {
    invalid(
        edited("media-boolean", |v| {
            v["participants"][0]["sessions"][0]["mediaType"] = json!(true);
        }),
        &format!("{SESSION}.mediaType"),
        "expected a string, found a boolean",
    )
}

fn self_served_is_a_string() -> Case {
    invalid(
        edited("self-served-string", |v| v["selfServed"] = json!("yes")),
        "$.selfServed",
        "expected a boolean, found a string",
    )
}

fn segments_is_a_string() -> Case {
    invalid(
        edited("segments-string", |v| {
            v["participants"][0]["sessions"][0]["segments"] = json!("none");
        }),
        &format!("{SESSION}.segments"),
        "expected an array, found a string",
    )
}

fn flow_is_an_array() -> Case {
    invalid(
        edited("flow-array", |v| {
            v["participants"][0]["sessions"][0]["flow"] = json!([]);
        }),
        &format!("{SESSION}.flow"),
        "expected an object, found an array",
    )
}

// ---------------------------------------------------------------------------------------------
// Missing ids

fn missing_conversation_id() -> Case {
    let value = edited("x", |v| {
        v.as_object_mut().expect("object").remove("conversationId");
    });
    invalid(value, "$.conversationId", "is required")
}

fn null_conversation_id() -> Case {
    invalid(
        edited("x", |v| v["conversationId"] = Value::Null),
        "$.conversationId",
        "is required",
    )
}

fn blank_conversation_id() -> Case {
    invalid(
        edited("x", |v| v["conversationId"] = json!("  ")),
        "$.conversationId",
        "must not be empty",
    )
}

fn missing_participant_id() -> Case {
    let value = edited("no-participant-id", |v| {
        v["participants"][0]
            .as_object_mut()
            .expect("participant")
            .remove("participantId");
    });
    invalid(value, "$.participants[0].participantId", "is required")
}

fn missing_session_id() -> Case {
    let value = edited("no-session-id", |v| {
        v["participants"][0]["sessions"][0]
            .as_object_mut()
            .expect("session")
            .remove("sessionId");
    });
    invalid(value, &format!("{SESSION}.sessionId"), "is required")
}

fn metric_without_name() -> Case {
    invalid(
        with_metric("no-metric-name", json!({"value": 60000, "emitDate": END})),
        &format!("{SESSION}.metrics[0].name"),
        "is required",
    )
}

fn platform_without_id() -> Case {
    let mut value = platform("no-id");
    value.as_object_mut().expect("object").remove("id");
    around(Doc::json(value).id(None).rejected(
        "INVALID_DOCUMENT",
        Some("$.id"),
        "is required (or `conversationId`)",
    ))
}

fn platform_participant_without_id() -> Case {
    let mut value = platform("platform-no-participant-id");
    value["participants"][0]
        .as_object_mut()
        .expect("participant")
        .remove("id");
    around(
        Doc::json(value)
            .id(Some("platform-no-participant-id"))
            .rejected(
                "INVALID_DOCUMENT",
                Some("$.participants[0].id"),
                "is required",
            ),
    )
}

fn platform_membership_without_division() -> Case {
    let mut value = platform("platform-no-division");
    value["divisions"] = json!([{"entities": []}]);
    around(Doc::json(value).id(Some("platform-no-division")).rejected(
        "INVALID_DOCUMENT",
        Some("$.divisions[0].division"),
        "is required",
    ))
}

// ---------------------------------------------------------------------------------------------
// Duplicate ids

fn duplicate_conversation_in_one_call() -> Case {
    let copy = edited("good-1", |v| v["externalTag"] = json!("second copy"));
    Case::new(vec![
        good(1),
        Doc::json(copy).rejected(
            "DUPLICATE_ID",
            None,
            "conversation \"good-1\" is also document 0 of this call",
        ),
        good(2),
    ])
}

fn same_conversation_twice_in_one_push() -> Case {
    Case::new(vec![good(1), good(1).unchanged(), good(2)])
}

fn newer_copy_later_in_one_push() -> Case {
    let newer = minimal("good-1", START, Some("2026-11-02T08:30:00Z"), &["div-a"]);
    Case::new(vec![good(1), Doc::json(newer).replaced(), good(2)])
}

fn older_copy_later_in_one_push() -> Case {
    let older = minimal("good-1", START, Some("2026-11-02T08:05:00Z"), &["div-a"]);
    Case::new(vec![
        good(1),
        Doc::json(older).rejected(
            "STALE",
            None,
            "the stored version is newer: it runs to 2026-11-02T08:10:00Z, this document to 2026-11-02T08:05:00Z",
        ),
        good(2),
    ])
}

fn duplicate_session_id() -> Case {
    let value = edited("dup-session", |v| {
        let session = v["participants"][0]["sessions"][0].clone();
        v["participants"][0]["sessions"]
            .as_array_mut()
            .expect("sessions")
            .push(session);
    });
    invalid(
        value,
        "$.participants[0].sessions[1].sessionId",
        "duplicate sessionId \"dup-session-s1\"",
    )
}

fn duplicate_participant_id() -> Case {
    let value = edited("dup-participant", |v| {
        let participant = v["participants"][0].clone();
        v["participants"]
            .as_array_mut()
            .expect("participants")
            .push(participant);
    });
    invalid(
        value,
        "$.participants[1].participantId",
        "duplicate participantId \"dup-participant-p1\"",
    )
}

fn duplicate_evaluation_id() -> Case {
    invalid(
        edited("dup-evaluation", |v| {
            v["evaluations"] = json!([{"evaluationId": "ev-1"}, {"evaluationId": "ev-1"}]);
        }),
        "$.evaluations",
        "duplicate evaluation id \"ev-1\"",
    )
}

// ---------------------------------------------------------------------------------------------
// Invalid UTF-8 (POST /ingest only: raw bytes)

fn utf8_lone_ff_byte() -> Case {
    not_utf8(b"{\"conversationId\": \"bad-utf8\", \"externalTag\": \"a\xffb\"}")
}

fn utf8_latin1_text() -> Case {
    not_utf8(b"{\"conversationId\": \"caf\xe9\"}")
}

fn utf8_overlong_encoding() -> Case {
    not_utf8(b"{\"conversationId\": \"\xc0\xaf\"}")
}

fn utf8_encoded_surrogate() -> Case {
    not_utf8(b"{\"conversationId\": \"\xed\xa0\x80\"}")
}

fn utf8_truncated_sequence() -> Case {
    not_utf8(b"{\"conversationId\": \"euro \xe2\x82\"}")
}

// ---------------------------------------------------------------------------------------------
// Timestamps

fn timestamp_without_zone() -> Case {
    bad_time(
        "no-zone",
        "/conversationStart",
        "2026-11-02T08:00:00",
        "$.conversationStart",
        "timestamp \"2026-11-02T08:00:00\" has no time zone (expected e.g. 2024-05-01T10:00:00Z)",
    )
}

fn timestamp_without_zone_with_fraction() -> Case {
    bad_time(
        "no-zone-fraction",
        "/participants/0/sessions/0/segments/0/segmentEnd",
        "2026-11-02T08:10:00.500",
        &format!("{SEGMENT}.segmentEnd"),
        "timestamp \"2026-11-02T08:10:00.500\" has no time zone (expected e.g. 2024-05-01T10:00:00Z)",
    )
}

fn timestamp_is_a_word() -> Case {
    bad_time(
        "time-word",
        "/conversationEnd",
        "yesterday",
        "$.conversationEnd",
        "\"yesterday\" is not an ISO-8601 timestamp (premature end of input)",
    )
}

fn timestamp_is_a_date_only() -> Case {
    bad_time(
        "date-only",
        "/conversationStart",
        "2026-11-02",
        "$.conversationStart",
        "\"2026-11-02\" is not an ISO-8601 timestamp (premature end of input)",
    )
}

fn timestamp_month_13() -> Case {
    bad_time(
        "month-13",
        "/participants/0/sessions/0/segments/0/segmentStart",
        "2026-13-01T08:00:00Z",
        &format!("{SEGMENT}.segmentStart"),
        "\"2026-13-01T08:00:00Z\" is not an ISO-8601 timestamp (input is out of range)",
    )
}

fn timestamp_february_30() -> Case {
    bad_time(
        "february-30",
        "/conversationStart",
        "2026-02-30T08:00:00Z",
        "$.conversationStart",
        "\"2026-02-30T08:00:00Z\" is not an ISO-8601 timestamp (input is out of range)",
    )
}

fn timestamp_hour_25() -> Case {
    bad_time(
        "hour-25",
        "/conversationStart",
        "2026-11-02T25:00:00Z",
        "$.conversationStart",
        "\"2026-11-02T25:00:00Z\" is not an ISO-8601 timestamp (input is out of range)",
    )
}

fn timestamp_offset_out_of_range() -> Case {
    bad_time(
        "offset-24",
        "/conversationStart",
        "2026-11-02T08:00:00+24:00",
        "$.conversationStart",
        "\"2026-11-02T08:00:00+24:00\" is not an ISO-8601 timestamp (input is out of range)",
    )
}

/// A timestamp outside the years PostgreSQL and the API agree on: refused with its path.
fn beyond_the_store(id: &str, pointer: &str, time: &str) -> Case {
    let value = edited(id, |v| {
        *v.pointer_mut(pointer).expect("field") = json!(time)
    });
    let path = format!("${}", pointer.replace('/', "."));
    invalid(
        value,
        &path,
        &format!("{time:?} is outside the supported years 0001 to 9999 (in UTC)"),
    )
}

fn timestamp_year_zero_negative_offset() -> Case {
    beyond_the_store(
        "year-zero",
        "/conversationStart",
        "0000-01-01T00:00:00-01:00",
    )
}

fn timestamp_past_year_9999() -> Case {
    beyond_the_store(
        "year-10000",
        "/conversationEnd",
        "9999-12-31T23:30:00-01:00",
    )
}

fn segment_ends_before_it_starts() -> Case {
    invalid(
        edited("backwards", |v| {
            v["participants"][0]["sessions"][0]["segments"][0]["segmentEnd"] =
                json!("2026-11-02T07:59:00Z");
        }),
        SEGMENT,
        "segment ends (2026-11-02 07:59:00 UTC) before it starts (2026-11-02 08:00:00 UTC)",
    )
}

// ---------------------------------------------------------------------------------------------
// Huge strings (the limit is 1024 bytes)

fn string_over_the_limit() -> Case {
    around(
        Doc::json(edited("long-string", |v| {
            v["externalTag"] = json!(the_string(MAX_STRING_BYTES + 1));
        }))
        .rejected(
            "STRING_TOO_LONG",
            Some("$.externalTag"),
            "a string of 1025 bytes is longer than the limit of 1024",
        ),
    )
}

fn multibyte_string_over_the_limit() -> Case {
    around(
        Doc::json(edited("long-multibyte", |v| {
            v["participants"][0]["participantName"] = json!("é".repeat(600));
        }))
        .rejected(
            "STRING_TOO_LONG",
            Some("$.participants[0].participantName"),
            "a string of 1200 bytes is longer than the limit of 1024",
        ),
    )
}

fn string_over_the_limit_deep_inside() -> Case {
    around(
        Doc::json(edited("long-attribute", |v| {
            v["participants"][0]["attributes"] = json!({"note": the_string(5000)});
        }))
        .rejected(
            "STRING_TOO_LONG",
            Some("$.participants[0].attributes.note"),
            "a string of 5000 bytes is longer than the limit of 1024",
        ),
    )
}

fn key_over_the_limit() -> Case {
    around(
        Doc::json(edited("long-key", |v| {
            v[the_string(2000)] = json!(1);
        }))
        .rejected(
            "STRING_TOO_LONG",
            Some("$"),
            "a key of 2000 bytes is longer than the limit of 1024",
        ),
    )
}

fn string_at_the_limit() -> Case {
    around(Doc::json(edited("string-at-limit", |v| {
        v["externalTag"] = json!(the_string(MAX_STRING_BYTES));
    })))
}

// ---------------------------------------------------------------------------------------------
// Deep nesting (the limit is 16 levels; serde_json stops at 128)

fn nesting_over_the_limit() -> Case {
    // `$.deep` is level 2; the array at level 17 is the first too deep.
    let path = format!("$.deep{}", "[0]".repeat(MAX_DEPTH - 1));
    around(
        Doc::json(edited("too-deep", |v| v["deep"] = nested(MAX_DEPTH))).rejected(
            "TOO_DEEP",
            Some(&path),
            "objects and arrays nest deeper than the limit of 16 levels",
        ),
    )
}

fn nesting_at_the_limit() -> Case {
    around(Doc::json(edited("deep-enough", |v| {
        v["deep"] = nested(MAX_DEPTH - 1);
    })))
}

fn nesting_past_the_parser() -> Case {
    let text = format!(
        r#"{{"conversationId": "very-deep", "deep": {}{}}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    around(Doc::raw(text).rejected(
        "TOO_DEEP",
        None,
        "objects and arrays nest too deep (recursion limit exceeded at line 1 column 167)",
    ))
}

// ---------------------------------------------------------------------------------------------
// Documents over the size limit (16 KiB)

fn large(id: &str) -> Value {
    edited(id, |v| {
        v["padding"] = json!(vec![the_string(500); 40]);
    })
}

fn document_too_large_line() -> Case {
    let text = large("too-large").to_string();
    around(Doc::raw(text.clone()).rejected(
        "DOCUMENT_TOO_LARGE",
        None,
        format!(
            "the document has {} bytes, more than the limit of {MAX_DOCUMENT_BYTES}",
            text.len()
        ),
    ))
}

fn document_too_large_value() -> Case {
    let value = large("too-large");
    let size = value.to_string().len();
    around(Doc::json(value).rejected(
        "DOCUMENT_TOO_LARGE",
        None,
        format!("the document has {size} bytes, more than the limit of {MAX_DOCUMENT_BYTES}"),
    ))
}

// ---------------------------------------------------------------------------------------------
// NUL, which PostgreSQL cannot store

fn nul_in_a_string() -> Case {
    invalid(
        edited("nul-string", |v| v["externalTag"] = json!("a\u{0}b")),
        "$.externalTag",
        "a string holds the character \\u0000, which cannot be stored",
    )
}

fn nul_in_a_key() -> Case {
    invalid(
        edited("nul-key", |v| {
            v["participants"][0]["attributes"] = json!({"a\u{0}b": "c"});
        }),
        "$.participants[0].attributes",
        "a key holds the character \\u0000, which cannot be stored",
    )
}

// ---------------------------------------------------------------------------------------------
// Unknown fields and enumeration values: accepted and kept

fn unknown_fields_are_kept() -> Case {
    let value = edited("unknown-fields", |v| {
        v["brandNewField"] = json!({"nested": [1, 2]});
        v["participants"][0]["mood"] = json!("curious");
        v["participants"][0]["sessions"][0]["xPartnerScore"] = json!(7);
        v["participants"][0]["sessions"][0]["segments"][0]["note"] = json!("n");
    });
    around(Doc::json(value)).then(|store| {
        let g = &store["unknown-fields"];
        assert_eq!(
            g.conversation.extra["brandNewField"],
            json!({"nested": [1, 2]})
        );
        assert_eq!(g.participants[0].extra["mood"], json!("curious"));
        assert_eq!(g.sessions[0].extra["xPartnerScore"], json!(7));
        assert_eq!(g.segments[0].extra["note"], json!("n"));
    })
}

fn unknown_enum_values_are_kept() -> Case {
    let value = edited("unknown-enums", |v| {
        let p = &mut v["participants"][0];
        p["purpose"] = json!("telepathy");
        p["sessions"][0]["mediaType"] = json!("HOLOGRAM");
        p["sessions"][0]["direction"] = json!("sideways");
        p["sessions"][0]["segments"][0]["segmentType"] = json!("WARP_DRIVE");
        p["sessions"][0]["segments"][0]["disconnectType"] = json!("QUANTUM_TUNNEL");
    });
    around(Doc::json(value)).then(|store| {
        let g = &store["unknown-enums"];
        assert_eq!(g.participants[0].purpose.as_deref(), Some("telepathy"));
        assert_eq!(g.sessions[0].media_type.as_deref(), Some("hologram"));
        assert_eq!(g.sessions[0].direction.as_deref(), Some("sideways"));
        assert_eq!(g.segments[0].segment_type.as_deref(), Some("warpDrive"));
        assert_eq!(
            g.segments[0].disconnect_type.as_deref(),
            Some("quantumTunnel")
        );
    })
}

// ---------------------------------------------------------------------------------------------
// Writes out of scope (a div-a token unless said otherwise)

fn division_not_in_scope() -> Case {
    out_of_scope(
        minimal("div-c-conv", START, Some(END), &["div-c"]),
        "division \"div-c\" is not in this token's scope",
    )
}

fn one_division_not_in_scope() -> Case {
    out_of_scope(
        minimal("two-divisions", START, Some(END), &["div-a", "div-b"]),
        "division \"div-b\" is not in this token's scope",
    )
}

fn no_labels_with_a_limited_token() -> Case {
    out_of_scope(
        minimal("unlabelled", START, Some(END), &[]),
        "the conversation names no division and no business unit; only a token for all of them may write it",
    )
}

fn no_labels_with_a_token_for_all() -> Case {
    around(Doc::json(minimal("unlabelled", START, Some(END), &[])))
        .writer(EVERYTHING.0, EVERYTHING.1)
}

fn overwrite_a_conversation_of_another_division() -> Case {
    out_of_scope(
        minimal("base-b", BASE_START, Some(LATER), &["div-a"]),
        "conversation \"base-b\" cannot be written with this token's scope",
    )
}

fn move_a_conversation_to_another_division() -> Case {
    out_of_scope(
        minimal("base-a", BASE_START, Some(LATER), &["div-b"]),
        "division \"div-b\" is not in this token's scope",
    )
}

fn move_with_a_token_for_both_divisions() -> Case {
    around(Doc::json(minimal("base-a", BASE_START, Some(LATER), &["div-b"])).replaced())
        .writer(Some(&["div-a", "div-b"]), None)
}

fn overwrite_a_conversation_of_a_business_unit_not_in_the_token() -> Case {
    out_of_scope(
        minimal("base-bu", BASE_START, Some(LATER), &["div-a"]),
        "conversation \"base-bu\" cannot be written with this token's scope",
    )
}

fn overwrite_a_conversation_of_another_business_unit() -> Case {
    out_of_scope(
        minimal("base-bu", BASE_START, Some(LATER), &["div-a"]),
        "conversation \"base-bu\" cannot be written with this token's scope",
    )
    .writer(Some(&["div-a"]), Some(&["bu-2"]))
}

// ---------------------------------------------------------------------------------------------
// Versions of a stored conversation (base-a runs to 10:10)

/// What `UNSUPPORTED_DOCUMENT` says of a notification event (`what` names it).
fn event_message(what: &str) -> String {
    format!(
        "this is {what}, not a conversation: an event describes one change, and convgraph stores \
         whole conversations; send the conversation's analytics details \
         (GET /api/v2/analytics/conversations/{{id}}/details) instead"
    )
}

fn notification_event() -> Case {
    // The stored conversation of its id (base-a) is left as it is.
    let event = json!({
        "topicName": "v2.detail.events.conversation.base-a.customer.end",
        "version": "2",
        "eventBody": {"eventTime": "2026-11-01T10:30:00.000Z", "conversationId": "base-a",
                      "participantId": "base-a-p1", "sessionId": "base-a-s1",
                      "disconnectType": "PEER", "mediaType": "VOICE"}
    });
    around(Doc::json(event).rejected(
        "UNSUPPORTED_DOCUMENT",
        None,
        event_message(
            "a notification event of the topic \"v2.detail.events.conversation.base-a.customer.end\"",
        ),
    ))
}

fn notification_event_body() -> Case {
    let body = json!({"eventTime": "2026-11-01T10:30:00.000Z", "conversationId": "base-a",
                      "participantId": "base-a-p1", "sessionId": "base-a-s1",
                      "mediaType": "VOICE", "direction": "INBOUND"});
    around(Doc::json(body).rejected(
        "UNSUPPORTED_DOCUMENT",
        None,
        event_message("the body of a conversation detail event (it has an eventTime)"),
    ))
}

fn conversation_metrics_record() -> Case {
    // The conversation metrics topic's records look like flow metric records.
    let record = json!({"metric": "tTalk", "metricDate": "2026-11-01T10:30:00.000Z",
                        "value": 65000, "recordId": "r-1", "conversationId": "base-a",
                        "mediaType": "voice", "divisionIds": ["div-a"]});
    around(Doc::json(record).rejected(
        "UNSUPPORTED_DOCUMENT",
        Some("$.metric"),
        "a metric record of \"tTalk\" that names no flow is not a flow metric record (a flow \
         metric is one of nFlow, nFlowMilestone, nFlowOutcome, nFlowOutcomeFailed, \
         oFlowMilestone, tFlow, tFlowDisconnect, tFlowExit, tFlowOut, tFlowOutcome): \
         conversation metrics records are not stored, since convgraph derives the conversation \
         metrics from the conversation's analytics details; send those instead",
    ))
}

fn stale_version() -> Case {
    around(
        Doc::json(minimal("base-a", BASE_START, Some(EARLIER), &["div-a"])).rejected(
            "STALE",
            None,
            "the stored version is newer: it runs to 2026-11-01T10:10:00Z, this document to 2026-11-01T10:05:00Z",
        ),
    )
}

fn stale_version_without_times() -> Case {
    let untimed = json!({
        "conversationId": "base-a",
        "divisionIds": ["div-a"],
        "participants": [{"participantId": "base-a-p1", "purpose": "customer"}]
    });
    around(Doc::json(untimed).rejected(
        "STALE",
        None,
        "the stored version runs to 2026-11-01T10:10:00Z and this document has no times at all",
    ))
}

fn newer_version() -> Case {
    around(Doc::json(minimal("base-a", BASE_START, Some(LATER), &["div-a"])).replaced())
}

fn same_version() -> Case {
    around(Doc::json(minimal("base-a", BASE_START, Some(BASE_END), &["div-a"])).unchanged())
}

fn corrected_version_of_the_same_time() -> Case {
    let mut corrected = minimal("base-a", BASE_START, Some(BASE_END), &["div-a"]);
    corrected["externalTag"] = json!("corrected");
    around(Doc::json(corrected).replaced())
}

// ---------------------------------------------------------------------------------------------
// Lines of a push

fn blank_lines_are_skipped_and_counted() -> Case {
    let mut case = around(Doc::raw("]").rejected(
        "MALFORMED_JSON",
        None,
        "malformed JSON: expected value at column 1",
    ));
    case.gap = 2;
    case
}

fn crlf_line_endings() -> Case {
    let line = |id: &str| Doc::raw(format!("{}\r", doc(id))).id(Some(id));
    Case::new(vec![line("crlf-1"), line("crlf-2")])
}

corpus! {
    malformed_unquoted_key: push;
    malformed_single_quotes: push;
    malformed_trailing_comma: push;
    malformed_missing_colon: push;
    malformed_bare_word: push;
    malformed_nan: push;
    malformed_two_documents_on_one_line: push;
    malformed_lone_surrogate_escape: push;
    malformed_raw_control_character: push;
    truncated_in_a_list: push;
    truncated_in_a_string: push;
    lone_closing_bracket: push;
    lone_closing_brace: push;

    document_is_an_array: push | mutation;
    document_is_a_string: push | mutation;
    document_is_a_number: push | mutation;
    document_is_a_boolean: push | mutation;
    document_is_null: push;
    document_is_an_empty_object: push | mutation;

    conversation_id_is_a_number: push | mutation;
    participants_is_an_object: push | mutation;
    participant_is_a_string: push | mutation;
    segment_start_is_a_number: push | mutation;
    metric_value_is_a_string: push | mutation;
    metric_value_is_fractional: push | mutation;
    metric_value_is_beyond_i64: push | mutation;
    division_ids_is_a_string: push | mutation;
    division_id_is_a_number: push | mutation;
    media_type_is_a_boolean: push | mutation;
    self_served_is_a_string: push | mutation;
    segments_is_a_string: push | mutation;
    flow_is_an_array: push | mutation;

    missing_conversation_id: push | mutation;
    null_conversation_id: push | mutation;
    blank_conversation_id: push | mutation;
    missing_participant_id: push | mutation;
    missing_session_id: push | mutation;
    metric_without_name: push | mutation;
    platform_without_id: push | mutation;
    platform_participant_without_id: push | mutation;
    platform_membership_without_division: push | mutation;

    duplicate_conversation_in_one_call: mutation;
    same_conversation_twice_in_one_push: push;
    newer_copy_later_in_one_push: push;
    older_copy_later_in_one_push: push;
    duplicate_session_id: push | mutation;
    duplicate_participant_id: push | mutation;
    duplicate_evaluation_id: push | mutation;

    utf8_lone_ff_byte: push;
    utf8_latin1_text: push;
    utf8_overlong_encoding: push;
    utf8_encoded_surrogate: push;
    utf8_truncated_sequence: push;

    timestamp_without_zone: push | mutation;
    timestamp_without_zone_with_fraction: push | mutation;
    timestamp_is_a_word: push | mutation;
    timestamp_is_a_date_only: push | mutation;
    timestamp_month_13: push | mutation;
    timestamp_february_30: push | mutation;
    timestamp_hour_25: push | mutation;
    timestamp_offset_out_of_range: push | mutation;
    timestamp_year_zero_negative_offset: push | mutation;
    timestamp_past_year_9999: push | mutation;
    segment_ends_before_it_starts: push | mutation;

    string_over_the_limit: push | mutation;
    multibyte_string_over_the_limit: push | mutation;
    string_over_the_limit_deep_inside: push | mutation;
    key_over_the_limit: push | mutation;
    string_at_the_limit: push | mutation;

    nesting_over_the_limit: push | mutation;
    nesting_at_the_limit: push | mutation;
    nesting_past_the_parser: push;

    document_too_large_line: push;
    document_too_large_value: mutation;

    nul_in_a_string: push | mutation;
    nul_in_a_key: push | mutation;

    unknown_fields_are_kept: push | mutation;
    unknown_enum_values_are_kept: push | mutation;

    division_not_in_scope: push | mutation;
    one_division_not_in_scope: push | mutation;
    no_labels_with_a_limited_token: push | mutation;
    no_labels_with_a_token_for_all: push | mutation;
    overwrite_a_conversation_of_another_division: push | mutation;
    move_a_conversation_to_another_division: push | mutation;
    move_with_a_token_for_both_divisions: push | mutation;
    overwrite_a_conversation_of_a_business_unit_not_in_the_token: push | mutation;
    overwrite_a_conversation_of_another_business_unit: push | mutation;

    notification_event: push | mutation;
    notification_event_body: push | mutation;
    conversation_metrics_record: push | mutation;

    stale_version: push | mutation;
    stale_version_without_times: push | mutation;
    newer_version: push | mutation;
    same_version: push | mutation;
    corrected_version_of_the_same_time: push | mutation;

    blank_lines_are_skipped_and_counted: push;
    crlf_line_endings: push;
}

// ---------------------------------------------------------------------------------------------
// Request-level refusals: nothing is written

fn three_docs() -> Vec<Value> {
    vec![doc("good-1"), doc("good-2"), doc("good-3")]
}

fn error(code: &str, message: &str) -> Value {
    json!({"errors": [{"message": message, "extensions": {"code": code}}]})
}

/// Runs `request` against a server over the base; asserts that the store is unchanged.
async fn refused<F, R>(setup: Setup, request: F) -> R
where
    F: AsyncFnOnce(&Server) -> R,
{
    let server = start(setup).await;
    let before = server.snapshot().await;
    let answer = request(&server).await;
    assert_store(&server.snapshot().await, &before);
    answer
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

#[tokio::test]
async fn mutation_without_the_write_permission_is_forbidden() {
    let (status, body) = refused(setup(), async |s: &Server| {
        let token = s.token(Some(&["*"]));
        s.mutate(&token, &three_docs(), None).await
    })
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"], Value::Null, "{body}");
    let errors = body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{body}");
    assert_eq!(errors[0]["extensions"]["code"], "FORBIDDEN");
    assert_eq!(
        errors[0]["message"],
        "writing needs the ingest:write permission, which this token does not have"
    );
}

#[tokio::test]
async fn push_without_the_write_permission_is_forbidden() {
    let (status, lines) = refused(setup(), async |s: &Server| {
        let token = s.token(Some(&["*"]));
        s.push(&token, ndjson(&three_docs()), None).await
    })
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        lines,
        vec![error(
            "FORBIDDEN",
            "writing needs the ingest:write permission, which this token does not have"
        )]
    );
}

#[tokio::test]
async fn push_without_a_token_is_unauthenticated() {
    let (status, body) = refused(setup(), async |s: &Server| {
        let response = client()
            .post(format!("{}/ingest", s.origin))
            .header("content-type", "application/x-ndjson")
            .body(ndjson(&three_docs()))
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.expect("json"))
    })
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        error(
            "UNAUTHENTICATED",
            "a bearer token is required (Authorization: Bearer …)"
        )
    );
}

#[tokio::test]
async fn mutation_without_a_token_is_unauthenticated() {
    let (status, body) = refused(setup(), async |s: &Server| {
        s.query(
            None,
            "mutation($docs: [JSON!]!) { ingestConversations(documents: $docs) { created } }",
            json!({"docs": three_docs()}),
        )
        .await
    })
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        error(
            "UNAUTHENTICATED",
            "a bearer token is required (Authorization: Bearer …)"
        )
    );
}

#[tokio::test]
async fn push_of_another_content_type_is_unsupported() {
    let (status, body) = refused(setup(), async |s: &Server| {
        let response = client()
            .post(format!("{}/ingest", s.origin))
            .bearer_auth(s.writer(Some(&["*"]), None))
            .header("content-type", "application/json")
            .body(ndjson(&three_docs()))
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.expect("json"))
    })
    .await;
    assert_eq!(status, 415);
    assert_eq!(
        body,
        error(
            "UNSUPPORTED_MEDIA_TYPE",
            "POST /ingest reads newline-delimited JSON: send Content-Type: application/x-ndjson"
        )
    );
}

#[tokio::test]
async fn push_with_an_invalid_idempotency_key_is_a_bad_request() {
    let (status, lines) = refused(setup(), async |s: &Server| {
        let token = s.writer(Some(&["*"]), None);
        s.push(&token, ndjson(&three_docs()), Some("two words"))
            .await
    })
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        lines,
        vec![error(
            "BAD_USER_INPUT",
            "an idempotency key is 1 to 255 visible ASCII characters"
        )]
    );
}

#[tokio::test]
async fn mutation_with_an_invalid_idempotency_key_is_bad_input() {
    let key = "k".repeat(256);
    let (status, body) = refused(setup(), async |s: &Server| {
        let token = s.writer(Some(&["*"]), None);
        s.mutate(&token, &three_docs(), Some(&key)).await
    })
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"], Value::Null, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(
        body["errors"][0]["message"],
        "an idempotency key is 1 to 255 visible ASCII characters"
    );
}

#[tokio::test]
async fn mutation_of_more_documents_than_the_limit_is_bad_input() {
    let docs: Vec<Value> = (1..=6).map(|i| doc(&format!("good-{i}"))).collect();
    let (status, body) = refused(setup(), async |s: &Server| {
        let token = s.writer(Some(&["*"]), None);
        s.mutate(&token, &docs, None).await
    })
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"], Value::Null, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(
        body["errors"][0]["message"],
        "6 documents in one call, more than the limit of 5; send more through POST /ingest"
    );
}

#[tokio::test]
async fn mutation_with_a_null_document_is_refused_whole() {
    let (status, body) = refused(setup(), async |s: &Server| {
        let token = s.writer(Some(&["*"]), None);
        s.mutate(&token, &[doc("good-1"), Value::Null, doc("good-2")], None)
            .await
    })
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.get("data").is_none(), "{body}");
    let errors = body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{body}");
    assert_eq!(errors[0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
    assert_eq!(
        errors[0]["message"],
        "Invalid value for argument \"documents.1\", expected type \"JSON\""
    );
}

#[tokio::test]
async fn mutation_nested_past_the_parser_is_refused_whole() {
    let mut deep = doc("very-deep");
    deep["deep"] = nested(200);
    let (status, body) = refused(setup(), async |s: &Server| {
        let token = s.writer(Some(&["*"]), None);
        s.mutate(&token, &[doc("good-1"), deep, doc("good-2")], None)
            .await
    })
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_REQUEST");
    let message = body["errors"][0]["message"].as_str().expect("message");
    assert!(
        message.starts_with(
            "the body is not a GraphQL-over-HTTP request: recursion limit exceeded at line 1 column "
        ),
        "{body}"
    );
}

/// A push over `max_bulk_bytes` stops where it crosses the limit: the documents of the part
/// before are stored, those after are not, and the summary says why.
#[tokio::test]
async fn push_over_the_byte_limit_stops_and_keeps_what_came_before() {
    let first = ndjson(&[doc("good-1")]);
    let rest = ndjson(&[doc("good-2"), doc("good-3")]);
    let limit = first.len() as u64 + 10;
    let mut setup = setup();
    setup.ingest.max_bulk_bytes = limit;
    let server = start(setup).await;
    let before = server.snapshot().await;
    let token = server.writer(Some(&["div-a"]), None);

    let lines = push_in_two_parts(&server, &token, first.as_bytes(), rest.as_bytes()).await;

    assert_lines(
        &lines,
        &[
            json!({"line": 1, "conversationId": "good-1", "outcome": "created"}),
            json!({"summary": {
                "documents": 1, "created": 1, "replaced": 0, "unchanged": 0, "rejected": 0,
                "stopped": {
                    "code": "REQUEST_TOO_LARGE",
                    "message": format!("the push is larger than the limit of {limit} bytes; the documents before this point were stored"),
                },
            }}),
        ],
    );
    let mut expected = before;
    let good = Doc::json(doc("good-1")).graph();
    expected.insert("good-1".into(), good);
    assert_store(&server.snapshot().await, &expected);
}

/// `POST /ingest` over a connection of its own, the body chunked in two parts: the second is
/// sent once the report of the first has arrived. The report lines.
async fn push_in_two_parts(server: &Server, token: &str, first: &[u8], rest: &[u8]) -> Vec<Value> {
    let mut stream = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let head = format!(
        "POST /ingest HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        server.addr
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    stream.write_all(&chunk(first)).await.expect("first part");
    let mut response = Vec::new();
    let mut buffer = [0u8; 4096];
    while !contains(&response, b"\"outcome\"") {
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
            .await
            .expect("the first part is reported before the push ends")
            .expect("read");
        assert!(
            read > 0,
            "closed early: {}",
            String::from_utf8_lossy(&response)
        );
        response.extend_from_slice(&buffer[..read]);
    }
    let mut tail = chunk(rest);
    tail.extend_from_slice(b"0\r\n\r\n");
    // The server may stop reading at the limit and close: what it answered is what counts.
    let _ = stream.write_all(&tail).await;
    while let Ok(Ok(read)) =
        tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer)).await
    {
        if read == 0 {
            break;
        }
        response.extend_from_slice(&buffer[..read]);
    }
    let text = String::from_utf8(response).expect("UTF-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    dechunk(body)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).expect("chunk size");
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
