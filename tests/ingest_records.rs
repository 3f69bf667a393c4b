//! Partners writing the Buzzeasy feed's rows and flow metric records: `ingestRecords` and
//! `POST /ingest?table=…`, through the same checks as conversations, with scope rules per table.

mod common;

use common::{Server, ndjson};
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
