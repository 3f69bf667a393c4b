//! Partners writing the Buzzeasy feed's rows and flow metric records: `ingestRecords` and
//! `POST /ingest?table=…`, through the same checks as conversations, with scope rules per table.

use crate::common::{Server, ndjson};
use serde_json::{Value, json};

const REPORT: &str = "mutation($t: String!, $rows: [JSON!]!, $tz: String, $key: String) {
    ingestRecords(table: $t, rows: $rows, timeZone: $tz, idempotencyKey: $key) {
      created replaced unchanged rejected replayed
      results { index key conversationId outcome error { code path message } } } }";

async fn records(
    server: &Server,
    token: &str,
    table: &str,
    rows: Value,
    tz: Option<&str>,
) -> Value {
    let (status, body) = server
        .query(
            Some(token),
            REPORT,
            json!({"t": table, "rows": rows, "tz": tz}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn outcomes(body: &Value) -> Vec<(String, String)> {
    body["data"]["ingestRecords"]["results"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|r| {
            let code = r["error"]["code"].as_str().unwrap_or("").to_owned();
            (r["outcome"].as_str().expect("outcome").to_owned(), code)
        })
        .collect()
}

fn pair(outcome: &str, code: &str) -> (String, String) {
    (outcome.to_owned(), code.to_owned())
}

#[tokio::test]
async fn a_partner_writes_rows_of_its_business_unit_and_what_hangs_on_them() {
    let server = Server::start(&[]).await;
    let partner = server.writer(None, Some(&["bu-1"]));
    let everything = server.writer(Some(&["*"]), None);

    let body = records(
        &server,
        &partner,
        "Calls",
        json!([
            {"id": "c-1", "businessUnitId": "bu-1", "startedAtUTC": "2026-11-02T08:00:00Z"},
            {"id": "c-2", "businessUnitId": "bu-2", "startedAtUTC": "2026-11-02T08:00:00Z"}
        ]),
        None,
    )
    .await;
    assert_eq!(
        outcomes(&body),
        [pair("CREATED", ""), pair("REJECTED", "OUT_OF_SCOPE")]
    );

    let body = records(&server, &partner, "Workitems", json!([
        {"id": "w-1", "businessUnitId": "bu-1", "agentId": "ag-1", "startTimeUTC": "2026-11-02T08:01:00Z"},
        {"id": "w-2", "businessUnitId": "bu-2"},
        {"id": "w-3"}
    ]), None).await;
    assert_eq!(
        outcomes(&body),
        [
            pair("CREATED", ""),
            pair("REJECTED", "OUT_OF_SCOPE"),
            pair("REJECTED", "OUT_OF_SCOPE")
        ]
    );
    let messages: Vec<&str> = body["data"]["ingestRecords"]["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["error"]["message"].as_str())
        .collect();
    assert_eq!(
        messages,
        [
            "business unit \"bu-2\" is not in this token's scope",
            "the conversation names no division and no business unit; only a token for all of them may write it",
        ]
    );

    // Children need their parent stored and writable.
    let body = records(
        &server,
        &partner,
        "WorkitemConversationSessions",
        json!([
            {"id": "s-1", "workitemId": "w-1", "conversationId": "c-1", "holdCount": 2},
            {"id": "s-9", "workitemId": "w-9", "conversationId": "c-1"}
        ]),
        None,
    )
    .await;
    assert_eq!(
        outcomes(&body),
        [pair("CREATED", ""), pair("REJECTED", "OUT_OF_SCOPE")]
    );
    assert_eq!(
        body["data"]["ingestRecords"]["results"][1]["error"]["message"],
        "workitem \"w-9\" is not stored or cannot be written with this token's scope: write the workitem first"
    );
    let body = records(
        &server,
        &partner,
        "QueueSegments",
        json!([
            {"conversationId": "c-1", "queueId": "q-1", "queuedAtUTC": "2026-11-02T08:00:30Z"}
        ]),
        None,
    )
    .await;
    assert_eq!(outcomes(&body), [pair("CREATED", "")]);
    assert_eq!(
        body["data"]["ingestRecords"]["results"][0]["key"],
        "c-1/q-1@2026-11-02T08:00:30Z"
    );

    // Tables without a business unit are for tokens of everything.
    let row = json!([{"id": "ag-1", "name": "Anna"}]);
    assert_eq!(
        outcomes(&records(&server, &partner, "Agents", row.clone(), None).await),
        [pair("REJECTED", "OUT_OF_SCOPE")]
    );
    assert_eq!(
        outcomes(&records(&server, &everything, "Agents", row, None).await),
        [pair("CREATED", "")]
    );

    // A stored workitem of another unit cannot be taken over.
    records(
        &server,
        &everything,
        "Workitems",
        json!([{"id": "w-5", "businessUnitId": "bu-2"}]),
        None,
    )
    .await;
    let body = records(
        &server,
        &partner,
        "Workitems",
        json!([{"id": "w-5", "businessUnitId": "bu-1"}]),
        None,
    )
    .await;
    assert_eq!(outcomes(&body), [pair("REJECTED", "OUT_OF_SCOPE")]);
    let unit: Option<String> =
        sqlx::query_scalar("select business_unit_id from workitems where workitem_id = 'w-5'")
            .fetch_one(server.db.pool())
            .await
            .expect("unit");
    assert_eq!(unit.as_deref(), Some("bu-2"));

    // What was written reads back.
    let data = server
        .data(
            &server.token(Some(&["*"])),
            r#"{ workitem(id: "w-1") { agent { id name } conversations { holdCount conversation { id queueSegments { queueId } } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data["workitem"],
        json!({"agent": {"id": "ag-1", "name": null},
               "conversations": [{"holdCount": 2, "conversation": {"id": "c-1", "queueSegments": [{"queueId": "q-1"}]}}]})
    );
}

#[tokio::test]
async fn rows_are_checked_like_documents() {
    let server = Server::start(&[]).await;
    let writer = server.writer(Some(&["*"]), None);
    let body = records(
        &server,
        &writer,
        "CampaignRecords",
        json!([
            {"id": "r-1", "campaignId": "cp", "createdAt": "2026-03-29T04:30:00"},
            {"id": "r-2", "createdAt": "2026-03-29T02:30:00"},
            {"id": "r-1", "status": "again"},
            {"id": "r-3", "totalTalkTimeInSeconds": "long"}
        ]),
        Some("Europe/Budapest"),
    )
    .await;
    let results = &body["data"]["ingestRecords"]["results"];
    assert_eq!(
        outcomes(&body),
        [
            pair("CREATED", ""),
            pair("REJECTED", "INVALID_DOCUMENT"),
            pair("REJECTED", "DUPLICATE_ID"),
            pair("REJECTED", "INVALID_DOCUMENT")
        ]
    );
    assert_eq!(results[1]["error"]["path"], "$.createdAt");
    assert_eq!(
        results[2]["error"]["message"],
        "row \"r-1\" is also document 0 of this call"
    );
    assert_eq!(
        results[3]["error"],
        json!({"code": "INVALID_DOCUMENT", "path": "$.totalTalkTimeInSeconds", "message": "expected a number, found \"long\""})
    );
    let created: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("select created_at from campaign_records where record_id = 'r-1'")
            .fetch_one(server.db.pool())
            .await
            .expect("created");
    assert_eq!(
        created.to_rfc3339(),
        "2026-03-29T02:30:00+00:00",
        "04:30 in Budapest, summer time"
    );

    let (_, body) = server
        .query(Some(&writer), REPORT, json!({"t": "Nonsense", "rows": []}))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .expect("message")
            .starts_with("no table is called \"Nonsense\"; the tables: BusinessUnits, ")
    );
    let (_, body) = server
        .query(
            Some(&writer),
            REPORT,
            json!({"t": "Workitems", "rows": [], "tz": "Mars/Olympus"}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["message"],
        "timeZone \"Mars/Olympus\" is not an IANA time zone (e.g. Europe/Budapest)"
    );
}

#[tokio::test]
async fn a_bulk_push_of_a_table_reports_rows_by_key_and_replays_with_its_key() {
    let server = Server::start(&[]).await;
    let writer = server.writer(Some(&["*"]), None);
    let rows = [
        json!({"id": "q-1", "Name": "Sales", "channelID": "ch-1"}),
        json!({"Name": "no id"}),
        json!({"id": "q-2", "Name": "Care"}),
    ];
    let push = |table: &str| {
        reqwest::Client::new()
            .post(format!("{}/ingest?table={table}", server.origin))
            .bearer_auth(&writer)
            .header("content-type", "application/x-ndjson")
            .header("idempotency-key", "queues-1")
            .body(ndjson(&rows))
    };
    let text = push("Queues")
        .send()
        .await
        .expect("push")
        .text()
        .await
        .expect("text");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(
        lines,
        vec![
            json!({"line": 1, "key": "q-1", "outcome": "created"}),
            json!({"line": 2, "key": null, "outcome": "rejected",
                   "error": {"code": "INVALID_DOCUMENT", "path": "$.id", "message": "is required"}}),
            json!({"line": 3, "key": "q-2", "outcome": "created"}),
            json!({"summary": {"documents": 3, "created": 2, "replaced": 0, "unchanged": 0, "rejected": 1}}),
        ]
    );
    // The same push replays; the same bytes as another table are another request.
    let text = push("Queues")
        .send()
        .await
        .expect("push")
        .text()
        .await
        .expect("text");
    assert!(
        text.lines()
            .last()
            .expect("summary")
            .contains("\"replayed\":true"),
        "{text}"
    );
    let response = push("Channels").send().await.expect("push");
    assert_eq!(response.status(), 422);
    let response = reqwest::Client::new()
        .post(format!("{}/ingest?table=Queues&sort=asc", server.origin))
        .bearer_auth(&writer)
        .header("content-type", "application/x-ndjson")
        .body(ndjson(&rows))
        .send()
        .await
        .expect("push");
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body["errors"][0]["message"],
        "POST /ingest takes the parameters table and timeZone, not \"sort\""
    );
}

#[tokio::test]
async fn flow_metric_records_need_every_division_in_scope() {
    let server = Server::start(&[]).await;
    let writer = server.writer(Some(&["div-a"]), None);
    let record = |id: &str, divisions: Value| {
        json!({"metric": "tFlow", "metricDate": "2026-11-02T08:00:00Z", "value": 5, "conversationId": "g-1",
               "recordId": id, "divisionIds": divisions})
    };
    let body = records(
        &server,
        &writer,
        "FlowMetrics",
        json!([
            record("m-1", json!(["div-a"])),
            record("m-2", json!(["div-a", "div-b"])),
            record("m-3", json!([]))
        ]),
        None,
    )
    .await;
    assert_eq!(
        outcomes(&body),
        [
            pair("CREATED", ""),
            pair("REJECTED", "OUT_OF_SCOPE"),
            pair("REJECTED", "OUT_OF_SCOPE")
        ]
    );
    // Through the conversations door too, told by their metric and date.
    let (status, lines) = server
        .push(&writer, ndjson(&[record("m-4", json!(["div-a"]))]), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        lines[0],
        json!({"line": 1, "conversationId": "g-1/m-4", "outcome": "created"})
    );
}

#[tokio::test]
async fn an_older_row_never_overwrites_a_newer_one() {
    let server = Server::start(&[]).await;
    let writer = server.writer(Some(&["*"]), None);
    let workitem = |end: &str, result: &str| {
        json!({"id": "w-1", "businessUnitId": "bu-1", "startTimeUTC": "2026-11-02T08:00:00Z",
               "endTimeUTC": end, "result": result})
    };
    let body = records(
        &server,
        &writer,
        "Workitems",
        json!([workitem("2026-11-02T08:10:00Z", "Handled")]),
        None,
    )
    .await;
    assert_eq!(outcomes(&body), [pair("CREATED", "")]);
    let body = records(
        &server,
        &writer,
        "Workitems",
        json!([workitem("2026-11-02T08:05:00Z", "Missed")]),
        None,
    )
    .await;
    assert_eq!(outcomes(&body), [pair("REJECTED", "STALE")]);
    assert_eq!(
        body["data"]["ingestRecords"]["results"][0]["error"]["message"],
        "the stored row is newer: it runs to 2026-11-02T08:10:00Z, this one to 2026-11-02T08:05:00Z"
    );
    let body = records(
        &server,
        &writer,
        "Workitems",
        json!([workitem("2026-11-02T08:10:00Z", "Handled (corrected)")]),
        None,
    )
    .await;
    assert_eq!(
        outcomes(&body),
        [pair("REPLACED", "")],
        "the same time corrects"
    );
    let result: Option<String> =
        sqlx::query_scalar("select result from workitems where workitem_id = 'w-1'")
            .fetch_one(server.db.pool())
            .await
            .expect("result");
    assert_eq!(result.as_deref(), Some("Handled (corrected)"));

    // Lookups carry no version: the last write wins, a deleted row may come back.
    for (deleted, outcome) in [
        (json!("2026-11-20T00:00:00Z"), "CREATED"),
        (Value::Null, "REPLACED"),
    ] {
        let body = records(
            &server,
            &writer,
            "Queues",
            json!([{"id": "q-1", "deletedAt": deleted}]),
            None,
        )
        .await;
        assert_eq!(outcomes(&body), [pair(outcome, "")]);
    }
}

// --- Writes checked against what is stored: a writer cannot replace, move or erase a row of
// another scope by sending its key, whatever table it writes.

use chrono::TimeZone as _;
use domain::Scope;
use domain::buzzeasy::*;
use domain::flow_metrics::FlowMetricRow;
use domain::ingest::{Labelled, Target};
use proptest::strategy::{Strategy as _, ValueTree as _};
use std::collections::{BTreeMap, BTreeSet};

/// Every table of the write path but conversations (which are graphs, written whole).
fn row_targets() -> Vec<Target> {
    let mut targets: Vec<Target> = Table::ALL
        .into_iter()
        .filter(|t| {
            !matches!(
                t,
                Table::Calls | Table::Chats | Table::Emails | Table::Conversations
            )
        })
        .map(Target::Feed)
        .collect();
    targets.push(Target::FlowMetrics);
    targets
}

/// One row of `target` in scope `n` (1 or 2): business unit `bu-n`, division `div-n`, hanging on
/// the parents of scope `n`; as column-named JSON, the write path's rows.
fn row_of(target: Target, n: u8) -> Value {
    let at = chrono::Utc
        .with_ymd_and_hms(2026, 11, 2, 8, 0, 0)
        .single()
        .expect("time");
    let s = |prefix: &str| format!("{prefix}-{n}");
    let some = |prefix: &str| Some(s(prefix));
    let value = match target {
        Target::FlowMetrics => serde_json::to_value(FlowMetricRow {
            conversation_id: s("bc"),
            record_id: s("fm"),
            metric: Some("tFlow".into()),
            metric_date: Some(at),
            division_ids: Some(vec![s("div")]),
            ..Default::default()
        }),
        Target::Feed(table) => match table {
            Table::BusinessUnits => serde_json::to_value(BusinessUnitRow {
                business_unit_id: s("bu"),
                name: some("unit"),
                ..Default::default()
            }),
            Table::Agents => serde_json::to_value(AgentRow {
                agent_id: s("a"),
                name: some("agent"),
                ..Default::default()
            }),
            Table::Users => serde_json::to_value(UserRow {
                user_id: s("u"),
                name: some("user"),
                ..Default::default()
            }),
            Table::AgentStates => serde_json::to_value(AgentStateRow {
                agent_state_id: s("as"),
                agent_id: some("a"),
                ..Default::default()
            }),
            Table::AgentBusinessUnitChanges => serde_json::to_value(AgentBusinessUnitChangeRow {
                agent_id: s("a"),
                business_unit_id: s("bu"),
                timestamp: at,
                assigned: Some(true),
                ..Default::default()
            }),
            Table::Channels => serde_json::to_value(ChannelRow {
                channel_id: s("ch"),
                business_unit_id: some("bu"),
                name: some("channel"),
                ..Default::default()
            }),
            Table::Queues => serde_json::to_value(QueueRow {
                queue_id: s("q"),
                channel_id: some("ch"),
                name: some("queue"),
                ..Default::default()
            }),
            Table::BotSteps => serde_json::to_value(BotStepRow {
                bot_step_id: s("bs"),
                name: some("step"),
                ..Default::default()
            }),
            Table::BotSegments => serde_json::to_value(BotSegmentRow {
                conversation_id: s("bc"),
                bot_segment_id: s("bseg"),
                ..Default::default()
            }),
            Table::QueueSegments => serde_json::to_value(QueueSegmentRow {
                conversation_id: s("bc"),
                queue_segment_id: s("qs"),
                queue_id: some("q"),
                ..Default::default()
            }),
            Table::RejectedEnqueueAttempts => serde_json::to_value(RejectedEnqueueAttemptRow {
                conversation_id: s("bc"),
                attempt_id: s("ra"),
                ..Default::default()
            }),
            Table::CapturedData => serde_json::to_value(CapturedDataRow {
                conversation_id: s("bc"),
                name: "pin".into(),
                captured_at: at,
                value: some("1234"),
                ..Default::default()
            }),
            Table::Workitems => serde_json::to_value(WorkitemRow {
                workitem_id: s("w"),
                business_unit_id: some("bu"),
                notes: some("notes"),
                ..Default::default()
            }),
            Table::WorkitemConversationSessions => {
                serde_json::to_value(WorkitemConversationSessionRow {
                    workitem_id: s("w"),
                    session_id: s("ws"),
                    conversation_id: some("bc"),
                    ..Default::default()
                })
            }
            Table::CollectedData => serde_json::to_value(CollectedDataRow {
                workitem_id: s("w"),
                name: "field".into(),
                created_at: at,
                value: some("value"),
                ..Default::default()
            }),
            Table::WorkitemEvaluations => serde_json::to_value(WorkitemEvaluationRow {
                workitem_id: s("w"),
                evaluation_id: s("e"),
                ..Default::default()
            }),
            Table::WorkitemEvaluationData => serde_json::to_value(WorkitemEvaluationDataRow {
                workitem_id: s("w"),
                entry_id: s("ed"),
                value: some("answer"),
                ..Default::default()
            }),
            Table::Campaigns => serde_json::to_value(CampaignRow {
                campaign_id: s("cp"),
                business_unit_id: some("bu"),
                name: some("campaign"),
                ..Default::default()
            }),
            Table::CampaignRecords => serde_json::to_value(CampaignRecordRow {
                record_id: s("r"),
                campaign_id: some("cp"),
                customer_phone: some("+3612345678"),
                ..Default::default()
            }),
            Table::CampaignRecordCustomFields => {
                serde_json::to_value(CampaignRecordCustomFieldRow {
                    record_id: s("r"),
                    name: "tier".into(),
                    value: some("gold"),
                    ..Default::default()
                })
            }
            Table::CampaignRecordPhoneNumbers => {
                serde_json::to_value(CampaignRecordPhoneNumberRow {
                    record_id: s("r"),
                    phone_number: format!("+3611111{n}"),
                    ..Default::default()
                })
            }
            Table::CampaignRecordRegistrations => {
                serde_json::to_value(CampaignRecordRegistrationRow {
                    record_id: s("r"),
                    campaign_id: some("cp"),
                    ..Default::default()
                })
            }
            Table::Calls | Table::Chats | Table::Emails | Table::Conversations => {
                unreachable!("conversations are graphs")
            }
        },
    };
    value.expect("row as JSON")
}

/// The store for the scope tests: for scopes 1 and 2, a Buzzeasy conversation `bc-n` of business
/// unit `bu-n` and division `div-n`, and a row of every table around it, written by a token for
/// everything.
async fn two_tenants(server: &Server) {
    let calls: Vec<Value> = (1..=2)
        .map(|n| {
            json!({"id": format!("bc-{n}"), "businessUnitId": format!("bu-{n}"),
                   "startedAtUTC": "2026-11-02T08:00:00Z"})
        })
        .collect();
    let everything = server.writer(Some(&["*"]), None);
    let body = records(server, &everything, "Calls", json!(calls), None).await;
    assert_eq!(
        outcomes(&body),
        [pair("CREATED", ""), pair("CREATED", "")],
        "{body}"
    );
    // The flow metric records' divisions are their own; give the conversations theirs too.
    sqlx::query(
        "update conversations set division_ids = array['div-' || right(conversation_id, 1)]",
    )
    .execute(server.db.pool())
    .await
    .expect("divisions");
    for target in row_targets() {
        let rows = [row_of(target, 1), row_of(target, 2)];
        let pairs: Vec<(Target, &Value)> = rows.iter().map(|r| (target, r)).collect();
        for outcome in db::ingest::write_rows(server.db.pool(), &Scope::All, &pairs).await {
            assert!(outcome.is_ok(), "{target:?}: {outcome:?}");
        }
    }
}

/// A digest of every row of every table of the write path, conversations included, by table.
async fn store_digest(server: &Server) -> BTreeMap<&'static str, String> {
    let mut tables: BTreeSet<&'static str> =
        row_targets().into_iter().map(Target::table_name).collect();
    tables.insert("conversations");
    let mut digest = BTreeMap::new();
    for table in tables {
        // The names come from the catalogue above, not from input.
        let sql = format!(
            "select coalesce(md5(string_agg(to_jsonb(t)::text, ',' order by to_jsonb(t)::text)), '') from {table} t"
        );
        let value: String = sqlx::query_scalar(&sql)
            .fetch_one(server.db.pool())
            .await
            .expect("digest");
        digest.insert(table, value);
    }
    digest
}

/// `POST /ingest?table=…` of one row: its report line.
async fn push_one(server: &Server, token: &str, table: &str, row: Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}/ingest?table={table}", server.origin))
        .bearer_auth(token)
        .header("content-type", "application/x-ndjson")
        .body(ndjson(&[row]))
        .send()
        .await
        .expect("push");
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("text");
    serde_json::from_str(text.lines().next().expect("a report line")).expect("json")
}

fn assert_refused_as_another_scope(line: &Value, noun: &str) {
    assert_eq!(line["outcome"], "rejected", "{line}");
    assert_eq!(line["error"]["code"], "OUT_OF_SCOPE", "{line}");
    assert_eq!(
        line["error"]["message"],
        format!(
            "a {noun} with this key is already stored, and belongs to a scope this token cannot write"
        ),
        "{line}"
    );
}

#[tokio::test]
async fn a_business_unit_writer_cannot_replace_a_campaign_record_of_another_by_its_id() {
    let server = Server::start(&[]).await;
    two_tenants(&server).await;
    let before = store_digest(&server).await;
    let partner = server.writer(None, Some(&["bu-1"]));

    let line = push_one(
        &server,
        &partner,
        "CampaignRecords",
        json!({"id": "r-2", "campaignId": "cp-1", "customerFirstName": "Mallory"}),
    )
    .await;

    assert_refused_as_another_scope(&line, "campaign record");
    assert_eq!(store_digest(&server).await, before);
}

#[tokio::test]
async fn a_business_unit_writer_cannot_move_a_queue_of_another_onto_its_channel() {
    let server = Server::start(&[]).await;
    two_tenants(&server).await;
    let before = store_digest(&server).await;
    let partner = server.writer(None, Some(&["bu-1"]));

    let line = push_one(
        &server,
        &partner,
        "Queues",
        json!({"id": "q-2", "channelId": "ch-1"}),
    )
    .await;

    assert_refused_as_another_scope(&line, "queue");
    assert_eq!(store_digest(&server).await, before);
}

#[tokio::test]
async fn a_division_writer_cannot_replace_a_flow_metric_record_of_another_division() {
    let server = Server::start(&[]).await;
    two_tenants(&server).await;
    let before = store_digest(&server).await;
    let partner = server.writer(Some(&["div-1"]), None);

    let line = push_one(
        &server,
        &partner,
        "FlowMetrics",
        json!({"metric": "tFlow", "metricDate": "2026-11-02T09:00:00Z", "conversationId": "bc-2",
               "recordId": "fm-2", "divisionIds": ["div-1"]}),
    )
    .await;

    assert_refused_as_another_scope(&line, "flow metric record");
    assert_eq!(store_digest(&server).await, before);
}

/// A token shape of the property test.
#[derive(Debug, Clone, Copy)]
enum Shape {
    All,
    Division,
    BusinessUnit,
    Nothing,
}

impl Shape {
    /// The token's scope: everything, or scope 1's division or business unit, or nothing.
    fn scope(self) -> Scope {
        let set = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect();
        match self {
            Shape::All => Scope::All,
            Shape::Division => Scope::Limited {
                divisions: set(&["div-1"]),
                business_units: set(&[]),
            },
            Shape::BusinessUnit => Scope::Limited {
                divisions: set(&[]),
                business_units: set(&["bu-1"]),
            },
            Shape::Nothing => Scope::nothing(),
        }
    }
}

/// How the written row relates to what is stored: the key of a scope-2 row, with its labels
/// or parent left, moved into scope 1, or pointed at a parent that does not exist; or a new
/// key under a scope-2 parent or labels.
#[derive(Debug, Clone, Copy)]
enum Attack {
    Replace,
    MoveToOwn,
    MissingParent,
    NewUnderTheirs,
}

/// The row an attack writes, from the scope-2 row of `target`.
fn attack_row(target: Target, attack: Attack, payload: &str) -> Value {
    let mut row = row_of(target, 2);
    row["extra"] = json!({ "payload": payload });
    let own = |column: &str| match column {
        "business_unit_id" => json!("bu-1"),
        "division_ids" => json!(["div-1"]),
        _ => row_of(target, 1)[column].clone(),
    };
    let columns: Vec<&str> = match target.labelled() {
        Labelled::Nowhere => Vec::new(),
        Labelled::Own {
            divisions,
            business_unit,
        } => divisions.into_iter().chain(business_unit).collect(),
        Labelled::Parent { column, .. } => vec![column],
    };
    for column in columns {
        // Keys stay the victim's, but for a new row.
        let is_key = target.key_columns().contains(&column);
        match attack {
            Attack::Replace => {}
            Attack::MoveToOwn if !is_key => row[column] = own(column),
            // A parent that is not stored, or no labels at all.
            Attack::MissingParent if !is_key => {
                row[column] = match target.labelled() {
                    Labelled::Parent { .. } => json!("no-such-parent"),
                    _ => Value::Null,
                }
            }
            Attack::MoveToOwn | Attack::MissingParent => {}
            Attack::NewUnderTheirs => {}
        }
    }
    if matches!(attack, Attack::NewUnderTheirs) {
        // A key of its own: the last key column that is free text.
        for key in target.key_columns().iter().rev() {
            let time = key.ends_with("_at") || *key == "timestamp";
            if time || !matches!(row[*key], Value::String(_)) {
                continue;
            }
            let labels = match target.labelled() {
                Labelled::Parent { column, .. } => vec![column],
                Labelled::Own {
                    divisions,
                    business_unit,
                } => divisions.into_iter().chain(business_unit).collect(),
                Labelled::Nowhere => Vec::new(),
            };
            if !labels.contains(key) {
                row[*key] = json!(format!("new-{payload}"));
                break;
            }
        }
    }
    row
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_from_every_token_shape_change_nothing_stored_outside_its_scope() {
    let server = Server::start(&[]).await;
    two_tenants(&server).await;
    let targets = row_targets();
    let strategy = (
        0..targets.len(),
        proptest::sample::select(vec![
            Shape::All,
            Shape::Division,
            Shape::BusinessUnit,
            Shape::Nothing,
        ]),
        proptest::sample::select(vec![
            Attack::Replace,
            Attack::MoveToOwn,
            Attack::MissingParent,
            Attack::NewUnderTheirs,
        ]),
        "[a-z]{1,8}",
    );
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut cases: Vec<_> = (0..48)
        .map(|_| strategy.new_tree(&mut runner).expect("case").current())
        .collect();
    // Every table under every limited shape at least once, besides the random cases.
    for (i, _) in targets.iter().enumerate() {
        for shape in [Shape::Division, Shape::BusinessUnit, Shape::Nothing] {
            cases.push((i, shape, Attack::MoveToOwn, format!("all{i}")));
        }
    }

    for (i, shape, attack, payload) in cases {
        let target = targets[i];
        let row = attack_row(target, attack, &payload);
        let before = store_digest(&server).await;

        let outcome = db::ingest::write_rows(server.db.pool(), &shape.scope(), &[(target, &row)])
            .await
            .pop()
            .expect("an outcome");

        let case = format!("{target:?} {shape:?} {attack:?}: {row}");
        match shape {
            // Everything is in scope: the write goes through (or is refused for its content).
            Shape::All => {
                if let Err(e) = &outcome {
                    assert_ne!(e.code.as_str(), "OUT_OF_SCOPE", "{case}: {e}");
                }
                // Put scope 2's row back for the cases after this one.
                let original = row_of(target, 2);
                let restored =
                    db::ingest::write_rows(server.db.pool(), &Scope::All, &[(target, &original)])
                        .await;
                assert!(restored.iter().all(Result::is_ok), "{case}: {restored:?}");
            }
            // Nothing written touches scope 2 or the unscoped tables: nothing may change.
            Shape::Division | Shape::BusinessUnit | Shape::Nothing => {
                let e = outcome.expect_err(&case);
                assert_eq!(e.code.as_str(), "OUT_OF_SCOPE", "{case}: {e}");
                assert_eq!(store_digest(&server).await, before, "{case}");
            }
        }
    }
}

#[tokio::test]
async fn the_write_path_catalogue_names_tables_and_columns_that_exist() {
    let server = Server::start(&[]).await;
    let columns: BTreeSet<(String, String)> = sqlx::query_as(
        "select table_name::text, column_name::text from information_schema.columns
         where table_schema = 'public'",
    )
    .fetch_all(server.db.pool())
    .await
    .expect("columns")
    .into_iter()
    .collect();
    let has = |table: &str, column: &str| columns.contains(&(table.into(), column.into()));
    for target in row_targets() {
        let table = target.table_name();
        for key in target.key_columns() {
            assert!(has(table, key), "{target:?}: {table}.{key}");
        }
        match target.labelled() {
            Labelled::Nowhere => {}
            Labelled::Own {
                divisions,
                business_unit,
            } => {
                for column in divisions.into_iter().chain(business_unit) {
                    assert!(has(table, column), "{target:?}: {table}.{column}");
                }
            }
            Labelled::Parent { column, parent } => {
                assert!(has(table, column), "{target:?}: {table}.{column}");
                assert_eq!(
                    parent.key_columns().len(),
                    1,
                    "{parent:?} has one key column"
                );
                assert!(has(parent.table_name(), parent.key_columns()[0]));
            }
        }
    }
}
