//! Every filter of `conversations`, against a conversation chosen to pass it and one chosen to
//! fail it, over real HTTP and PostgreSQL. Each case lives in its own hour, so the cases share
//! one database and each query narrows to its case with `interval`.

use crate::common::{ALL, Server, ids};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

/// A conversation with a customer (voice, inbound, ani/dnis), an IVR-less queue leg and an agent.
fn base(id: &str, start: DateTime<Utc>) -> Value {
    let t = |s: i64| (start + Duration::seconds(s)).to_rfc3339();
    json!({
        "conversationId": id,
        "conversationStart": t(0),
        "conversationEnd": t(300),
        "divisionIds": ["div-a"],
        "originatingDirection": "inbound",
        "externalTag": "tag-base",
        "participants": [
            {
                "participantId": format!("{id}-customer"),
                "purpose": "customer",
                "sessions": [{
                    "sessionId": format!("{id}-s1"),
                    "mediaType": "voice",
                    "direction": "inbound",
                    "ani": "tel:+100",
                    "dnis": "tel:+200",
                    "segments": [
                        {"segmentType": "interact", "segmentStart": t(0), "segmentEnd": t(300),
                         "queueId": "q-base", "disconnectType": "peer"}
                    ],
                    "metrics": [{"name": "nOffered", "value": 1, "emitDate": t(0)}]
                }]
            },
            {
                "participantId": format!("{id}-agent"),
                "purpose": "agent",
                "userId": "agent-base",
                "sessions": [{
                    "sessionId": format!("{id}-s2"),
                    "mediaType": "voice",
                    "direction": "inbound",
                    "segments": [
                        {"segmentType": "interact", "segmentStart": t(10), "segmentEnd": t(290),
                         "queueId": "q-base", "wrapUpCode": "wu-base", "disconnectType": "peer"}
                    ]
                }]
            }
        ]
    })
}

/// Sets `value` at the JSON pointer `at` of `doc`.
fn set(doc: &mut Value, at: &str, value: Value) {
    *doc.pointer_mut(at).unwrap_or_else(|| panic!("no {at}")) = value;
}

struct Case {
    name: &'static str,
    filter: Value,
    /// Turns the base conversation into one the filter selects.
    pass: fn(&mut Value, DateTime<Utc>),
    /// Turns the base conversation into one the filter rejects (most cases: leave it).
    fail: fn(&mut Value, DateTime<Utc>),
}

fn keep(_: &mut Value, _: DateTime<Utc>) {}

fn abandon(doc: &mut Value, start: DateTime<Utc>) {
    let metrics = doc
        .pointer_mut("/participants/0/sessions/0/metrics")
        .and_then(Value::as_array_mut)
        .expect("metrics");
    metrics.push(json!({"name": "tAbandon", "value": 42000, "emitDate": start.to_rfc3339()}));
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "divisionIds",
            filter: json!({"divisionIds": ["div-x", "div-y"]}),
            pass: |d, _| set(d, "/divisionIds", json!(["div-y", "div-a"])),
            fail: keep,
        },
        Case {
            name: "originatingDirections",
            filter: json!({"originatingDirections": ["outbound"]}),
            pass: |d, _| set(d, "/originatingDirection", json!("outbound")),
            fail: keep,
        },
        Case {
            name: "externalTags",
            filter: json!({"externalTags": ["tag-x"]}),
            pass: |d, _| set(d, "/externalTag", json!("tag-x")),
            fail: keep,
        },
        Case {
            name: "minDurationMs",
            filter: json!({"minDurationMs": 600_000}),
            pass: |d, s| {
                set(
                    d,
                    "/conversationEnd",
                    json!((s + Duration::minutes(10)).to_rfc3339()),
                )
            },
            fail: |d, s| {
                set(
                    d,
                    "/conversationEnd",
                    json!((s + Duration::milliseconds(599_999)).to_rfc3339()),
                )
            },
        },
        Case {
            name: "maxDurationMs",
            filter: json!({"maxDurationMs": 60_000}),
            pass: |d, s| {
                set(
                    d,
                    "/conversationEnd",
                    json!((s + Duration::minutes(1)).to_rfc3339()),
                )
            },
            fail: keep,
        },
        Case {
            name: "purposes",
            filter: json!({"purposes": ["ivr", "workflow"]}),
            pass: |d, _| set(d, "/participants/1/purpose", json!("ivr")),
            fail: keep,
        },
        Case {
            name: "userIds",
            filter: json!({"userIds": ["agent-x"]}),
            pass: |d, _| set(d, "/participants/1/userId", json!("agent-x")),
            fail: keep,
        },
        Case {
            name: "mediaTypes",
            filter: json!({"mediaTypes": ["chat", "email"]}),
            pass: |d, _| set(d, "/participants/1/sessions/0/mediaType", json!("chat")),
            fail: keep,
        },
        Case {
            name: "directions",
            filter: json!({"directions": ["outbound"]}),
            pass: |d, _| set(d, "/participants/1/sessions/0/direction", json!("outbound")),
            fail: keep,
        },
        Case {
            name: "anis",
            filter: json!({"anis": ["tel:+111"]}),
            pass: |d, _| set(d, "/participants/0/sessions/0/ani", json!("tel:+111")),
            fail: keep,
        },
        Case {
            name: "dnises",
            filter: json!({"dnises": ["tel:+222"]}),
            pass: |d, _| set(d, "/participants/0/sessions/0/dnis", json!("tel:+222")),
            fail: keep,
        },
        Case {
            name: "queueIds",
            filter: json!({"queueIds": ["q-x"]}),
            pass: |d, _| {
                set(
                    d,
                    "/participants/1/sessions/0/segments/0/queueId",
                    json!("q-x"),
                )
            },
            fail: keep,
        },
        Case {
            name: "wrapUpCodes",
            filter: json!({"wrapUpCodes": ["wu-x"]}),
            pass: |d, _| {
                set(
                    d,
                    "/participants/1/sessions/0/segments/0/wrapUpCode",
                    json!("wu-x"),
                )
            },
            fail: keep,
        },
        Case {
            name: "disconnectTypes",
            filter: json!({"disconnectTypes": ["transfer"]}),
            pass: |d, _| {
                set(
                    d,
                    "/participants/0/sessions/0/segments/0/disconnectType",
                    json!("transfer"),
                )
            },
            fail: keep,
        },
        Case {
            name: "segmentTypes",
            filter: json!({"segmentTypes": ["hold"]}),
            pass: |d, _| {
                set(
                    d,
                    "/participants/1/sessions/0/segments/0/segmentType",
                    json!("hold"),
                )
            },
            fail: keep,
        },
        Case {
            name: "abandoned: true",
            filter: json!({"abandoned": true}),
            pass: abandon,
            fail: keep,
        },
        Case {
            name: "abandoned: false",
            filter: json!({"abandoned": false}),
            pass: keep,
            fail: abandon,
        },
    ]
}

fn hour(i: usize) -> DateTime<Utc> {
    "2026-10-01T00:00:00Z"
        .parse::<DateTime<Utc>>()
        .expect("time")
        + Duration::hours(i as i64)
}

fn interval(start: DateTime<Utc>) -> String {
    format!(
        "{}/{}",
        start.to_rfc3339(),
        (start + Duration::hours(1)).to_rfc3339()
    )
}

const LIST: &str = r#"query($filter: ConversationFilterInput) {
    conversations(filter: $filter, first: 50) { totalCount nodes { id } } }"#;

#[tokio::test]
async fn every_filter_selects_what_passes_it_and_drops_what_fails_it() {
    let cases = cases();
    let mut documents = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let start = hour(i);
        let mut pass = base(&format!("{i:02}-pass"), start + Duration::minutes(5));
        (case.pass)(&mut pass, start + Duration::minutes(5));
        let mut fail = base(&format!("{i:02}-fail"), start + Duration::minutes(10));
        (case.fail)(&mut fail, start + Duration::minutes(10));
        documents.extend([pass, fail]);
    }
    let server = Server::start(&documents).await;
    let token = server.token_with(Some(ALL), &["conversations:read", "pii:read"]);

    for (i, case) in cases.iter().enumerate() {
        let window = interval(hour(i));
        let both = server
            .data(&token, LIST, json!({"filter": {"interval": window}}))
            .await;
        let mut filter = case.filter.clone();
        filter["interval"] = json!(window);
        let only = server.data(&token, LIST, json!({"filter": filter})).await;

        assert_eq!(
            ids(&both["conversations"]["nodes"]),
            [format!("{i:02}-pass"), format!("{i:02}-fail")],
            "{}: without the filter both are listed",
            case.name
        );
        assert_eq!(
            ids(&only["conversations"]["nodes"]),
            [format!("{i:02}-pass")],
            "{}",
            case.name
        );
        assert_eq!(only["conversations"]["totalCount"], 1, "{}", case.name);
    }
}

#[tokio::test]
async fn the_business_unit_filter_selects_the_unit_only() {
    let start = hour(0);
    let server = Server::start(&[base("in-unit", start), base("no-unit", start)]).await;
    // Business units arrive with the Buzzeasy feed; until it lands, set one in the store.
    sqlx::query(
        "update conversations set business_unit_id = 'bu-1' where conversation_id = 'in-unit'",
    )
    .execute(server.db.pool())
    .await
    .expect("update");
    let token = server.token(Some(ALL));

    let only = server
        .data(
            &token,
            LIST,
            json!({"filter": {"businessUnitIds": ["bu-1", "bu-2"]}}),
        )
        .await;

    assert_eq!(ids(&only["conversations"]["nodes"]), ["in-unit"]);
    assert_eq!(only["conversations"]["totalCount"], 1);
}

#[tokio::test]
async fn the_interval_includes_its_start_and_excludes_its_end() {
    let start = hour(0);
    let server = Server::start(&[
        base("before", start - Duration::milliseconds(1)),
        base("at-start", start),
        base("inside", start + Duration::minutes(59)),
        base("at-end", start + Duration::hours(1)),
    ])
    .await;
    let token = server.token(Some(ALL));

    let list = server
        .data(
            &token,
            LIST,
            json!({"filter": {"interval": interval(start)}}),
        )
        .await;

    assert_eq!(ids(&list["conversations"]["nodes"]), ["at-start", "inside"]);
}

#[tokio::test]
async fn filters_combine_with_and_and_lists_with_or() {
    let start = hour(0);
    let mut chat_outbound = base("chat-outbound", start);
    set(
        &mut chat_outbound,
        "/participants/1/sessions/0/mediaType",
        json!("chat"),
    );
    set(
        &mut chat_outbound,
        "/originatingDirection",
        json!("outbound"),
    );
    let mut chat_inbound = base("chat-inbound", start + Duration::minutes(1));
    set(
        &mut chat_inbound,
        "/participants/1/sessions/0/mediaType",
        json!("chat"),
    );
    let mut email = base("email-outbound", start + Duration::minutes(2));
    set(
        &mut email,
        "/participants/1/sessions/0/mediaType",
        json!("email"),
    );
    set(&mut email, "/originatingDirection", json!("outbound"));
    let server = Server::start(&[chat_outbound, chat_inbound, email]).await;
    let token = server.token(Some(ALL));

    let both = server
        .data(
            &token,
            LIST,
            json!({"filter": {"mediaTypes": ["chat"], "originatingDirections": ["outbound"]}}),
        )
        .await;
    let either = server
        .data(
            &token,
            LIST,
            json!({"filter": {"mediaTypes": ["chat", "email"], "originatingDirections": ["outbound"]}}),
        )
        .await;

    assert_eq!(ids(&both["conversations"]["nodes"]), ["chat-outbound"]);
    assert_eq!(
        ids(&either["conversations"]["nodes"]),
        ["chat-outbound", "email-outbound"]
    );
}

#[tokio::test]
async fn filters_on_personal_data_need_pii_read_and_empty_lists_are_refused() {
    let server = Server::start(&[base("c-1", hour(0))]).await;
    let token = server.token(Some(ALL));

    let (_, ani) = server
        .query(
            Some(&token),
            LIST,
            json!({"filter": {"anis": ["tel:+100"]}}),
        )
        .await;
    let (_, empty) = server
        .query(Some(&token), LIST, json!({"filter": {"queueIds": []}}))
        .await;
    let (_, negative) = server
        .query(Some(&token), LIST, json!({"filter": {"minDurationMs": -1}}))
        .await;

    assert_eq!(ani["errors"][0]["extensions"]["code"], "FORBIDDEN", "{ani}");
    assert!(ani["data"].is_null(), "no data with the refusal: {ani}");
    assert_eq!(empty["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(
        empty["errors"][0]["message"],
        "filter.queueIds is empty: name at least one value, or leave it out"
    );
    assert_eq!(
        negative["errors"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );
}
