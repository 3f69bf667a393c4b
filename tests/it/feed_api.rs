//! The Buzzeasy feed through GraphQL over real HTTP: every relation read back in both
//! directions, the roots paged, and each row seen exactly by the tokens whose scope holds it.

use crate::common::Server;
use convgraph::import::{ImportOptions, import_paths};
use serde_json::{Value, json};

/// A small contact center in two business units, in the feed's own shape, table by table.
fn feed() -> Vec<(&'static str, Value)> {
    vec![
        (
            "BusinessUnits",
            json!([{"id": "bu-1", "name": "Sales"}, {"id": "bu-2", "name": "Care"}]),
        ),
        (
            "Channels",
            json!([
                {"id": "ch-1", "businessUnitId": "bu-1", "name": "Sales line", "channelType": "Voice"},
                {"id": "ch-2", "businessUnitId": "bu-2", "name": "Care chat", "channelType": "Webchat"}
            ]),
        ),
        (
            "Queues",
            json!([
                {"id": "q-1", "Name": "Sales", "channelID": "ch-1", "routing mode": "Automatic"},
                {"id": "q-2", "Name": "Care", "channelID": "ch-2", "routing mode": "Manual",
                 "deletedAt": "2026-11-20T00:00:00Z"}
            ]),
        ),
        (
            "Agents",
            json!([
                {"id": "ag-1", "name": "Anna Agent", "customId": "A1"},
                {"id": "ag-2", "name": "Bela Agent", "customId": "B2"}
            ]),
        ),
        (
            "Users",
            json!([
                {"id": "ag-1", "Name": "Anna Agent", "emailAddress": "anna@example.com", "userType": "Agent"},
                {"id": "ag-2", "Name": "Bela Agent", "emailAddress": "bela@example.com", "userType": "Agent"},
                {"id": "sup-1", "Name": "Sara Supervisor", "userType": "Supervisor"}
            ]),
        ),
        (
            "AgentBusinessUnitChanges",
            json!([
                {"agentId": "ag-1", "businessUnitId": "bu-1", "assigned": true, "timestampUtc": "2026-10-01T00:00:00Z"},
                {"agentId": "ag-2", "businessUnitId": "bu-2", "assigned": 1, "timestampUtc": "2026-10-01T00:00:00Z"},
                {"agentId": "sup-1", "businessUnitId": "bu-1", "assigned": true, "timestampUtc": "2026-10-01T00:00:00Z"},
                {"agentId": "sup-1", "businessUnitId": "bu-1", "assigned": false, "timestampUtc": "2026-10-15T00:00:00Z"}
            ]),
        ),
        (
            "BotSteps",
            json!([{"id": "bs-1", "name": "Menu", "type": "menuSelection", "mediaGroup": "Voice"}]),
        ),
        (
            "Calls",
            json!([
                {"id": "c-1", "businessUnitId": "bu-1", "channelId": "ch-1", "startedAtUTC": "2026-11-02T08:00:00Z",
                 "endedAtUTC": "2026-11-02T08:10:00Z", "nextConversationID": "c-2", "customerPhoneNumber": "+3611",
                 "holdCount": 2, "conversationEndedReason": "TransferToChannel"},
                {"id": "c-2", "businessUnitId": "bu-1", "channelId": "ch-1", "startedAtUTC": "2026-11-02T08:10:00Z",
                 "endedAtUTC": "2026-11-02T08:20:00Z"}
            ]),
        ),
        (
            "Chats",
            json!([
                {"id": "c-3", "businessUnitId": "bu-2", "channelID": "ch-2", "startedAtUTC": "2026-11-02T09:00:00Z",
                 "endedAtUTC": "2026-11-02T09:05:00Z", "customerFirstName": "Cecil"}
            ]),
        ),
        (
            "QueueSegments",
            json!([
                {"conversationId": "c-1", "queueId": "q-1", "channelId": "ch-1", "queuedAtUTC": "2026-11-02T08:01:00Z",
                 "dequeuedAtUTC": "2026-11-02T08:02:00Z", "dequeuedReason": "AgentConnected"},
                {"conversationId": "c-3", "queueId": "q-2", "channelId": "ch-2", "queuedAtUTC": "2026-11-02T09:01:00Z",
                 "dequeuedAtUTC": "2026-11-02T09:01:30Z", "dequeuedReason": "AgentConnected"}
            ]),
        ),
        (
            "BotSegments",
            json!([
                {"id": "b-1", "conversationID": "c-1", "botStepId": "bs-1", "startedAtUTC": "2026-11-02T08:00:00Z",
                 "endedAtUTC": "2026-11-02T08:01:00Z", "result": "Success"}
            ]),
        ),
        (
            "RejectedEnqueueAttempts",
            json!([
                {"id": "x-1", "conversationId": "c-3", "queueId": "q-2", "rejectedAtUTC": "2026-11-02T09:00:30Z",
                 "rejectReason": "QueueSizeLimitReached"}
            ]),
        ),
        (
            "CapturedData",
            json!([
                {"ConversationId": "c-1", "name": "orderId", "value": "o-77", "TimestampUtc": "2026-11-02T08:00:30Z"}
            ]),
        ),
        (
            "Workitems",
            json!([
                {"id": "w-1", "agentId": "ag-1", "queueID": "q-1", "businessUnitId": "bu-1", "primaryConversationID": "c-1",
                 "mediaType": "voice", "result": "Handled", "startTimeUTC": "2026-11-02T08:02:00Z",
                 "endTimeUTC": "2026-11-02T08:12:00Z", "notes": "called back", "activeDurationInSeconds": 480},
                {"id": "w-2", "agentId": "ag-2", "queueID": "q-2", "businessUnitId": "bu-2", "primaryConversationID": "c-3",
                 "mediaType": "webchat", "result": "Handled", "startTimeUTC": "2026-11-02T09:01:30Z",
                 "endTimeUTC": "2026-11-02T09:05:00Z"}
            ]),
        ),
        (
            "WorkitemConversationSessions",
            json!([
                {"id": "s-1", "workitemId": "w-1", "conversationID": "c-1", "holdCount": 2, "totalHoldDuration": 40},
                {"id": "s-2", "workitemId": "w-1", "conversationID": "c-2", "holdCount": 0},
                {"id": "s-3", "workitemId": "w-2", "conversationID": "c-3", "holdCount": 0}
            ]),
        ),
        (
            "WorkitemEvaluations",
            json!([
                {"id": "e-1", "workitemID": "w-1", "createdBy": "sup-1", "scriptID": "sc-1",
                 "startedAtUtc": "2026-11-03T10:00:00Z", "endedAtUTC": "2026-11-03T10:05:00Z"}
            ]),
        ),
        (
            "WorkitemEvaluationData",
            json!([
                {"id": "d-1", "workitemId": "w-1", "evaluationID": "e-1", "name": "greeting", "value": "yes"},
                {"id": "d-2", "workitemId": "w-1", "evaluationID": "e-1", "name": "score", "value": "8"}
            ]),
        ),
        (
            "CollectedData",
            json!([
                {"workitemId": "w-1", "name": "reason", "value": "billing", "createdAtUtc": "2026-11-02T08:05:00Z"}
            ]),
        ),
        (
            "AgentStates",
            json!([
                {"id": "st-1", "agentID": "ag-1", "state": "Idle", "startTimeUtc": "2026-11-02T07:00:00Z", "durationInSeconds": 7320},
                {"id": "st-2", "agentID": "ag-1", "state": "Busy", "startTimeUtc": "2026-11-02T08:02:00Z", "durationInSeconds": 600},
                {"id": "st-3", "agentID": "ag-2", "state": "Busy", "startTimeUtc": "2026-11-02T09:01:30Z", "durationInSeconds": 210}
            ]),
        ),
        (
            "Campaigns",
            json!([
                {"id": "cp-1", "name": "Renewals", "campaignType": "Preview", "businessUnitId": "bu-1"},
                {"id": "cp-2", "name": "Callbacks", "campaignType": "Callback", "businessUnitId": "bu-2"}
            ]),
        ),
        (
            "CampaignRecords",
            json!([
                {"id": "r-1", "campaignID": "cp-1", "status": "Closed", "customerFirstName": "Dora", "customerPhone": "+3622",
                 "createdAtUtc": "2026-11-01T10:00:00Z"},
                {"id": "r-2", "campaignID": "cp-2", "status": "New", "customerFirstName": "Emil",
                 "createdAtUtc": "2026-11-01T11:00:00Z"}
            ]),
        ),
        (
            "CampaignRecordCustomFields",
            json!([
                {"campaignRecordId": "r-1", "customFieldName": "plan", "customFieldValue": "gold"}
            ]),
        ),
        (
            "CampaignRecordAdditionalPhoneNumbers",
            json!([
                {"campaignRecordId": "r-1", "phoneNumber": "+3633"}
            ]),
        ),
        (
            "CampaignRecordRegistrations",
            json!([
                {"campaignRecordId": "r-1", "campaignId": "cp-1", "primaryPhoneNumber": "+3622"}
            ]),
        ),
    ]
}

async fn start() -> Server {
    let server = Server::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut paths = Vec::new();
    for (table, rows) in feed() {
        let path = dir.path().join(format!("{table}.json"));
        let page = json!({"@odata.context": format!("https://feed.example/odata/$metadata#{table}"), "value": rows});
        std::fs::write(&path, page.to_string()).expect("write");
        paths.push(path);
    }
    let report = import_paths(server.db.pool(), &paths, &ImportOptions::default())
        .await
        .expect("import");
    assert!(report.rejected.is_empty(), "{report}");
    server
}

fn unit_token(server: &Server, units: &[&str]) -> String {
    use api::auth::{TokenRequest, mint};
    mint(
        &server.auth,
        &TokenRequest {
            subject: "reader".into(),
            divisions: None,
            business_units: Some(units.iter().map(|s| s.to_string()).collect()),
            permissions: vec!["conversations:read".into(), "pii:read".into()],
            ttl_seconds: 600,
        },
    )
    .expect("token")
}

#[tokio::test]
async fn a_workitem_reads_its_relations_and_they_read_it_back() {
    let server = start().await;
    let token = unit_token(&server, &["bu-1", "bu-2"]);
    let data = server
        .data(
            &token,
            r#"{ workitem(id: "w-1") {
                id result notes activeDurationInSeconds startTime
                agent { id name customId user { id emailAddress userType }
                        workitems { edges { node { id } } } states { state durationInSeconds }
                        businessUnitHistory { businessUnitId assigned timestamp } }
                queue { id name routingMode channel { id channelType businessUnit { id name } } }
                businessUnit { id name }
                primaryConversation { id mediaType holdCount workitems { id } }
                conversations { sessionId holdCount totalHoldDuration conversation { id } }
                evaluations { evaluationId scriptId evaluator { id name } answers { name value } }
                collectedData { name value createdAt }
            } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data["workitem"],
        json!({
            "id": "w-1", "result": "Handled", "notes": "called back", "activeDurationInSeconds": 480.0,
            "startTime": "2026-11-02T08:02:00+00:00",
            "agent": {
                "id": "ag-1", "name": "Anna Agent", "customId": "A1",
                "user": {"id": "ag-1", "emailAddress": "anna@example.com", "userType": "Agent"},
                "workitems": {"edges": [{"node": {"id": "w-1"}}]},
                "states": [{"state": "Idle", "durationInSeconds": 7320.0}, {"state": "Busy", "durationInSeconds": 600.0}],
                "businessUnitHistory": [{"businessUnitId": "bu-1", "assigned": true, "timestamp": "2026-10-01T00:00:00+00:00"}]
            },
            "queue": {"id": "q-1", "name": "Sales", "routingMode": "Automatic",
                      "channel": {"id": "ch-1", "channelType": "Voice", "businessUnit": {"id": "bu-1", "name": "Sales"}}},
            "businessUnit": {"id": "bu-1", "name": "Sales"},
            "primaryConversation": {"id": "c-1", "mediaType": "voice", "holdCount": 2, "workitems": [{"id": "w-1"}]},
            "conversations": [
                {"sessionId": "s-1", "holdCount": 2, "totalHoldDuration": 40.0, "conversation": {"id": "c-1"}},
                {"sessionId": "s-2", "holdCount": 0, "totalHoldDuration": null, "conversation": {"id": "c-2"}}
            ],
            "evaluations": [{"evaluationId": "e-1", "scriptId": "sc-1", "evaluator": {"id": "sup-1", "name": "Sara Supervisor"},
                             "answers": [{"name": "greeting", "value": "yes"}, {"name": "score", "value": "8"}]}],
            "collectedData": [{"name": "reason", "value": "billing", "createdAt": "2026-11-02T08:05:00+00:00"}]
        })
    );
}

#[tokio::test]
async fn a_conversation_reads_what_the_feed_hangs_on_it() {
    let server = start().await;
    let token = unit_token(&server, &["bu-1", "bu-2"]);
    let data = server
        .data(
            &token,
            r#"{ c1: conversation(id: "c-1") {
                   id source conversationEndedReason customerPhoneNumber
                   channel { id name } businessUnit { id }
                   nextConversation { id conversationStart }
                   workitems { id agent { id } }
                   queueSegments { queueSegmentId queueId queuedAt dequeuedReason queue { id name } }
                   botSegments { botSegmentId result botStep { id name botType } }
                   capturedData { name value capturedAt }
                   rejectedEnqueueAttempts { attemptId }
                 }
                 c3: conversation(id: "c-3") {
                   mediaType customerFirstName rejectedEnqueueAttempts { attemptId rejectReason queue { id deletedAt } }
                 } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data,
        json!({
            "c1": {
                "id": "c-1", "source": "buzzeasy.calls", "conversationEndedReason": "TransferToChannel",
                "customerPhoneNumber": "+3611",
                "channel": {"id": "ch-1", "name": "Sales line"}, "businessUnit": {"id": "bu-1"},
                "nextConversation": {"id": "c-2", "conversationStart": "2026-11-02T08:10:00+00:00"},
                "workitems": [{"id": "w-1", "agent": {"id": "ag-1"}}],
                "queueSegments": [{"queueSegmentId": "q-1@2026-11-02T08:01:00Z", "queueId": "q-1",
                                   "queuedAt": "2026-11-02T08:01:00+00:00", "dequeuedReason": "AgentConnected",
                                   "queue": {"id": "q-1", "name": "Sales"}}],
                "botSegments": [{"botSegmentId": "b-1", "result": "Success", "botStep": {"id": "bs-1", "name": "Menu", "botType": "menuSelection"}}],
                "capturedData": [{"name": "orderId", "value": "o-77", "capturedAt": "2026-11-02T08:00:30+00:00"}],
                "rejectedEnqueueAttempts": []
            },
            "c3": {
                "mediaType": "chat", "customerFirstName": "Cecil",
                "rejectedEnqueueAttempts": [{"attemptId": "x-1", "rejectReason": "QueueSizeLimitReached",
                                             "queue": {"id": "q-2", "deletedAt": "2026-11-20T00:00:00+00:00"}}]
            }
        })
    );
}

#[tokio::test]
async fn campaigns_read_their_records_and_records_their_campaign() {
    let server = start().await;
    let token = unit_token(&server, &["bu-1", "bu-2"]);
    let data = server
        .data(
            &token,
            r#"{ campaign(id: "cp-1") { id name campaignType
                   records { edges { node { id status customerFirstName customerPhone createdAt campaign { id }
                             customFields { name value } phoneNumbers { phoneNumber }
                             registration { campaignId primaryPhoneNumber } } } } }
                 campaignRecords(filter: {statuses: ["New"]}) { edges { node { id campaign { name } } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data,
        json!({
            "campaign": {"id": "cp-1", "name": "Renewals", "campaignType": "Preview", "records": {"edges": [{"node": {
                "id": "r-1", "status": "Closed", "customerFirstName": "Dora", "customerPhone": "+3622",
                "createdAt": "2026-11-01T10:00:00+00:00", "campaign": {"id": "cp-1"},
                "customFields": [{"name": "plan", "value": "gold"}], "phoneNumbers": [{"phoneNumber": "+3633"}],
                "registration": {"campaignId": "cp-1", "primaryPhoneNumber": "+3622"}
            }}]}},
            "campaignRecords": {"edges": [{"node": {"id": "r-2", "campaign": {"name": "Callbacks"}}}]}
        })
    );
}

/// The ids of every root list for a token, paging one item at a time to prove the cursors.
async fn roots(server: &Server, token: &str) -> Value {
    let mut out = serde_json::Map::new();
    for root in [
        "workitems",
        "campaigns",
        "campaignRecords",
        "queues",
        "channels",
        "users",
        "agents",
        "businessUnits",
        "botSteps",
    ] {
        let mut ids = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let deleted = if matches!(root, "workitems" | "campaignRecords") {
                ""
            } else {
                ", includeDeleted: true"
            };
            let query = format!(
                "query($after: String) {{ {root}(first: 1, after: $after{deleted}) {{ edges {{ node {{ id }} }} pageInfo {{ hasNextPage endCursor }} }} }}"
            );
            let data = server.data(token, &query, json!({"after": after})).await;
            let page = &data[root];
            for edge in page["edges"].as_array().expect("edges") {
                ids.push(edge["node"]["id"].clone());
            }
            if page["pageInfo"]["hasNextPage"] != json!(true) {
                break;
            }
            after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
            assert!(ids.len() < 20, "{root} pages forever");
        }
        out.insert(root.to_owned(), Value::Array(ids));
    }
    Value::Object(out)
}

#[tokio::test]
async fn each_token_sees_exactly_the_rows_of_its_business_units() {
    let server = start().await;
    let everything = server.token(Some(&["*"]));
    let bu1 = unit_token(&server, &["bu-1"]);
    let bu2 = unit_token(&server, &["bu-2"]);
    let division_only = server.token(Some(&["div-a"]));

    assert_eq!(
        roots(&server, &everything).await,
        json!({
            "workitems": ["w-1", "w-2"], "campaigns": ["cp-1", "cp-2"], "campaignRecords": ["r-1", "r-2"],
            "queues": ["q-1", "q-2"], "channels": ["ch-1", "ch-2"], "users": ["ag-1", "ag-2", "sup-1"],
            "agents": ["ag-1", "ag-2"], "businessUnits": ["bu-1", "bu-2"], "botSteps": ["bs-1"]
        })
    );
    assert_eq!(
        roots(&server, &bu1).await,
        json!({
            "workitems": ["w-1"], "campaigns": ["cp-1"], "campaignRecords": ["r-1"], "queues": ["q-1"],
            "channels": ["ch-1"], "users": ["ag-1", "sup-1"], "agents": ["ag-1"], "businessUnits": ["bu-1"],
            "botSteps": ["bs-1"]
        })
    );
    assert_eq!(
        roots(&server, &bu2).await,
        json!({
            "workitems": ["w-2"], "campaigns": ["cp-2"], "campaignRecords": ["r-2"], "queues": ["q-2"],
            "channels": ["ch-2"], "users": ["ag-2"], "agents": ["ag-2"], "businessUnits": ["bu-2"],
            "botSteps": []
        })
    );
    let nothing = json!({
        "workitems": [], "campaigns": [], "campaignRecords": [], "queues": [], "channels": [],
        "users": [], "agents": [], "businessUnits": [], "botSteps": []
    });
    assert_eq!(roots(&server, &division_only).await, nothing);

    // By id and through relations, out of scope is like missing.
    let data = server
        .data(
            &bu1,
            r#"{ workitem(id: "w-2") { id } campaign(id: "cp-2") { id } conversation(id: "c-3") { id }
                 w1: workitem(id: "w-1") { conversations { conversation { id } } }
                 c1: conversation(id: "c-1") { workitems { id } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data,
        json!({"workitem": null, "campaign": null, "conversation": null,
               "w1": {"conversations": [{"conversation": {"id": "c-1"}}, {"conversation": {"id": "c-2"}}]},
               "c1": {"workitems": [{"id": "w-1"}]}})
    );
    let data = server
        .data(
            &bu2,
            r#"{ agent: workitem(id: "w-2") { agent { id businessUnitHistory { businessUnitId } } }
                 evaluator: workitem(id: "w-1") { id } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data,
        json!({"agent": {"agent": {"id": "ag-2", "businessUnitHistory": [{"businessUnitId": "bu-2"}]}}, "evaluator": null})
    );
}

#[tokio::test]
async fn personal_data_of_the_feed_needs_pii_read() {
    let server = start().await;
    let no_pii = server.token(Some(&["*"]));
    let data = server
        .data(
            &no_pii,
            r#"{ workitem(id: "w-1") { notes agent { name customId } evaluations { evaluator { name emailAddress } } }
                 campaign(id: "cp-1") { records { edges { node { customerFirstName customerPhone phoneNumbers { phoneNumber } customFields { value } } } } }
                 conversation(id: "c-1") { customerPhoneNumber capturedData { value } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data,
        json!({
            "workitem": {"notes": null, "agent": {"name": null, "customId": "A1"},
                         "evaluations": [{"evaluator": {"name": null, "emailAddress": null}}]},
            "campaign": {"records": {"edges": [{"node": {"customerFirstName": null, "customerPhone": null,
                                      "phoneNumbers": [{"phoneNumber": ""}], "customFields": [{"value": null}]}}]}},
            "conversation": {"customerPhoneNumber": null, "capturedData": [{"value": null}]}
        })
    );
}

#[tokio::test]
async fn lists_filter_and_refuse_bad_arguments() {
    let server = start().await;
    let token = server.token(Some(&["*"]));
    let data = server
        .data(
            &token,
            r#"{ a: workitems(filter: {interval: "2026-11-02T09:00:00Z/2026-11-02T10:00:00Z"}) { edges { node { id } } }
                 b: workitems(filter: {agentIds: ["ag-1"], results: ["Handled"]}) { edges { node { id } } }
                 c: workitems(filter: {mediaTypes: ["email"]}) { edges { node { id } } }
                 d: queues { edges { node { id } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data,
        json!({"a": {"edges": [{"node": {"id": "w-2"}}]}, "b": {"edges": [{"node": {"id": "w-1"}}]},
               "c": {"edges": []}, "d": {"edges": [{"node": {"id": "q-1"}}]}}),
        "a deleted queue is listed only with includeDeleted"
    );
    for (query, message) in [
        (
            "{ workitems(first: 0) { edges { cursor } } }",
            "first must be between 1 and 500, not 0",
        ),
        (
            "{ queues(after: \"zz\") { edges { cursor } } }",
            "after: \"zz\" is not a cursor of this list",
        ),
        (
            "{ workitems(filter: {interval: \"2026-11-02\"}) { edges { cursor } } }",
            "interval \"2026-11-02\": expected start/end, e.g. 2026-11-01T00:00:00Z/2026-11-02T00:00:00Z",
        ),
    ] {
        let (_, body) = server.query(Some(&token), query, json!({})).await;
        assert_eq!(body["errors"][0]["message"], message, "{query}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    }
    // A cursor of one list is not a cursor of another.
    let data = server
        .data(
            &token,
            "{ channels(first: 1) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    let cursor = data["channels"]["pageInfo"]["endCursor"]
        .as_str()
        .expect("cursor");
    let (_, body) = server
        .query(
            Some(&token),
            "query($c: String) { queues(after: $c) { edges { cursor } } }",
            json!({"c": cursor}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
}

/// A selection of every field of `type_name` and `__typename`, recursing into object fields
/// whose type is not already on `path` (fields with arguments are asked without them).
fn everything(
    types: &std::collections::BTreeMap<String, Value>,
    type_name: &str,
    path: &mut Vec<String>,
) -> String {
    path.push(type_name.to_owned());
    let mut out = vec!["__typename".to_owned()];
    for field in types[type_name]["fields"].as_array().expect("fields") {
        let name = field["name"].as_str().expect("name");
        let (kind, inner) = crate::common::walk::named(&field["type"]);
        if kind == "OBJECT" {
            if !path.iter().any(|p| p == inner) {
                out.push(format!("{name} {{ {} }}", everything(types, inner, path)));
            }
        } else {
            out.push(name.to_owned());
        }
    }
    path.pop();
    out.join(" ")
}

/// Every object of `value` by its type name.
fn objects<'v>(value: &'v Value, into: &mut Vec<(&'v str, &'v serde_json::Map<String, Value>)>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(t)) = map.get("__typename") {
                into.push((t, map));
            }
            map.values().for_each(|v| objects(v, into));
        }
        Value::Array(items) => items.iter().for_each(|v| objects(v, into)),
        _ => {}
    }
}

/// What identifies an object for scope: its id, or the id of what it hangs on.
fn identity(
    type_name: &str,
    object: &serde_json::Map<String, Value>,
) -> Option<(&'static str, String)> {
    let get = |k: &str| object.get(k).and_then(Value::as_str).map(str::to_owned);
    let (kind, id) = match type_name {
        "Conversation" => ("Conversation", get("id")),
        "Workitem" => ("Workitem", get("id")),
        "Agent" => ("Agent", get("id")),
        "User" => ("User", get("id")),
        "Queue" => ("Queue", get("id")),
        "Channel" => ("Channel", get("id")),
        "BusinessUnit" => ("BusinessUnit", get("id")),
        "BotStep" => ("BotStep", get("id")),
        "Campaign" => ("Campaign", get("id")),
        "CampaignRecord" => ("CampaignRecord", get("id")),
        "QueueSegment" | "BotSegment" | "RejectedEnqueueAttempt" | "CapturedData" => {
            ("Conversation", get("conversationId"))
        }
        "WorkitemConversation"
        | "WorkitemEvaluation"
        | "WorkitemEvaluationAnswer"
        | "CollectedData" => ("Workitem", get("workitemId")),
        "AgentState" => ("Agent", get("agentId")),
        "AgentBusinessUnitChange" => ("BusinessUnit", get("businessUnitId")),
        "CampaignRecordCustomField"
        | "CampaignRecordPhoneNumber"
        | "CampaignRecordRegistration" => ("CampaignRecord", get("recordId")),
        _ => return None,
    };
    Some((kind, id.expect("an identity")))
}

/// Walks every field of every feed root for several tokens (the selection derived from the
/// schema, so a relation added later is walked too) and checks each object against what the
/// token may see: nothing outside, nothing inside missing.
#[tokio::test]
async fn a_walk_of_every_field_from_every_feed_root_stays_inside_each_scope() {
    let server = Server::start_with(
        &[],
        crate::common::Setup {
            limits: api::Limits {
                max_depth: 64,
                max_complexity: usize::MAX,
                ..api::Limits::demo()
            },
            ..Default::default()
        },
    )
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut paths = Vec::new();
    for (table, rows) in feed() {
        let path = dir.path().join(format!("{table}.json"));
        std::fs::write(
            &path,
            json!({"@odata.context": format!("x/$metadata#{table}"), "value": rows}).to_string(),
        )
        .expect("write");
        paths.push(path);
    }
    let report = import_paths(server.db.pool(), &paths, &ImportOptions::default())
        .await
        .expect("import");
    assert!(report.rejected.is_empty(), "{report}");
    let types = crate::common::walk::types(&server, &server.token(Some(&["*"]))).await;
    let roots = [
        ("workitems(first: 100)", "Workitem", true),
        (
            "campaigns(first: 100, includeDeleted: true)",
            "Campaign",
            true,
        ),
        ("campaignRecords(first: 100)", "CampaignRecord", true),
        ("queues(first: 100, includeDeleted: true)", "Queue", true),
        (
            "channels(first: 100, includeDeleted: true)",
            "Channel",
            true,
        ),
        ("users(first: 100, includeDeleted: true)", "User", true),
        ("agents(first: 100, includeDeleted: true)", "Agent", true),
        (
            "businessUnits(first: 100, includeDeleted: true)",
            "BusinessUnit",
            true,
        ),
        (
            "botSteps(first: 100, includeDeleted: true)",
            "BotStep",
            true,
        ),
        ("conversations(first: 100)", "Conversation", false),
    ];
    let all: &[(&str, &[&str])] = &[
        ("Conversation", &["c-1", "c-2", "c-3"]),
        ("Workitem", &["w-1", "w-2"]),
        ("Agent", &["ag-1", "ag-2"]),
        ("User", &["ag-1", "ag-2", "sup-1"]),
        ("Queue", &["q-1", "q-2"]),
        ("Channel", &["ch-1", "ch-2"]),
        ("BusinessUnit", &["bu-1", "bu-2"]),
        ("BotStep", &["bs-1"]),
        ("Campaign", &["cp-1", "cp-2"]),
        ("CampaignRecord", &["r-1", "r-2"]),
    ];
    let bu1: &[(&str, &[&str])] = &[
        ("Conversation", &["c-1", "c-2"]),
        ("Workitem", &["w-1"]),
        ("Agent", &["ag-1"]),
        ("User", &["ag-1", "sup-1"]),
        ("Queue", &["q-1"]),
        ("Channel", &["ch-1"]),
        ("BusinessUnit", &["bu-1"]),
        ("BotStep", &["bs-1"]),
        ("Campaign", &["cp-1"]),
        ("CampaignRecord", &["r-1"]),
    ];
    let bu2: &[(&str, &[&str])] = &[
        ("Conversation", &["c-3"]),
        ("Workitem", &["w-2"]),
        ("Agent", &["ag-2"]),
        ("User", &["ag-2"]),
        ("Queue", &["q-2"]),
        ("Channel", &["ch-2"]),
        ("BusinessUnit", &["bu-2"]),
        ("Campaign", &["cp-2"]),
        ("CampaignRecord", &["r-2"]),
    ];
    let tokens = [
        ("everything", server.token(Some(&["*"])), all),
        ("bu-1", unit_token(&server, &["bu-1"]), bu1),
        ("bu-2", unit_token(&server, &["bu-2"]), bu2),
        ("bu-1 and bu-2", unit_token(&server, &["bu-1", "bu-2"]), all),
        ("a division only", server.token(Some(&["div-a"])), &[]),
        ("no claims", server.token(None), &[]),
    ];
    for (who, token, allowed) in tokens {
        let allowed: std::collections::BTreeSet<(String, String)> = allowed
            .iter()
            .flat_map(|(t, ids)| ids.iter().map(move |id| (t.to_string(), id.to_string())))
            .collect();
        let mut seen = std::collections::BTreeSet::new();
        for (root, type_name, edges) in roots {
            let inner = everything(&types, type_name, &mut Vec::new());
            let query = if edges {
                format!("{{ {root} {{ edges {{ node {{ {inner} }} }} }} }}")
            } else {
                format!("{{ {root} {{ nodes {{ {inner} }} }} }}")
            };
            let data = server.data(&token, &query, json!({})).await;
            let mut found = Vec::new();
            objects(&data, &mut found);
            for (type_name, object) in found {
                if let Some((kind, id)) = identity(type_name, object) {
                    let key = (kind.to_owned(), id);
                    assert!(
                        allowed.contains(&key),
                        "{who}: {root} reached {type_name} {key:?} outside the scope"
                    );
                    seen.insert(key);
                }
            }
        }
        assert_eq!(seen, allowed, "{who}: everything in scope is reachable");
    }
}

#[tokio::test]
async fn flow_metric_records_import_from_json_lines_and_list_in_scope() {
    let server = Server::start(&[crate::common::minimal(
        "g-1",
        "2026-11-02T08:00:00Z",
        Some("2026-11-02T08:05:00Z"),
        &["div-a"],
    )])
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let records = [
        json!({"metric": "tFlow", "metricDate": "2026-11-02T08:01:00Z", "value": 60000, "conversationId": "g-1",
               "flowId": "f-1", "flowName": "Main IVR", "divisionIds": ["div-a"], "ani": "+3644",
               "outcomes": [{"flowOutcomeId": "o-1"}], "recordId": "m-1"}),
        json!({"metric": "nFlow", "metric_date": "2026-11-02T08:00:00Z", "value": 1, "conversation_id": "g-1",
               "flow_id": "f-1", "division_ids": ["div-a"], "record_id": "m-2"}),
        json!({"metric": "tFlow", "metricDate": "2026-11-02T09:00:00Z", "value": 1000, "conversationId": "other",
               "flowId": "f-2", "divisionIds": ["div-b"], "recordId": "m-3"}),
    ];
    let path = dir.path().join("flow-metrics.jsonl");
    std::fs::write(
        &path,
        records
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .expect("write");
    let report = import_paths(server.db.pool(), &[path], &ImportOptions::default())
        .await
        .expect("import");
    assert_eq!((report.imported, report.rejected.len()), (3, 0), "{report}");

    let query = r#"query($f: FlowMetricFilterInput) { flowMetrics(filter: $f) { edges { node {
        recordId metric metricDate value flowName ani outcomes conversation { id } } } } }"#;
    let data = server
        .data(&server.token(Some(&["div-a"])), query, json!({}))
        .await;
    assert_eq!(
        data["flowMetrics"]["edges"],
        json!([
            {"node": {"recordId": "m-2", "metric": "nFlow", "metricDate": "2026-11-02T08:00:00+00:00", "value": 1,
                      "flowName": null, "ani": null, "outcomes": null, "conversation": {"id": "g-1"}}},
            {"node": {"recordId": "m-1", "metric": "tFlow", "metricDate": "2026-11-02T08:01:00+00:00", "value": 60000,
                      "flowName": "Main IVR", "ani": null, "outcomes": [{"flowOutcomeId": "o-1"}], "conversation": {"id": "g-1"}}}
        ]),
        "div-a sees its records, in time order, without personal data"
    );
    let data = server
        .data(&server.token(Some(&["*"])), query, json!({"f": {"metrics": ["tFlow"], "interval": "2026-11-02T08:30:00Z/2026-11-02T10:00:00Z"}}))
        .await;
    assert_eq!(data["flowMetrics"]["edges"][0]["node"]["recordId"], "m-3");
    assert_eq!(
        data["flowMetrics"]["edges"].as_array().map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn evaluations_list_workitem_evaluations_in_scope() {
    let server = start().await;
    let query = r#"{ evaluations(interval: "2026-11-03T00:00:00Z/2026-11-04T00:00:00Z") {
        edges { node { evaluationId workitem { id } answers { name } } } } }"#;
    let data = server
        .data(&unit_token(&server, &["bu-1"]), query, json!({}))
        .await;
    assert_eq!(
        data["evaluations"]["edges"],
        json!([{"node": {"evaluationId": "e-1", "workitem": {"id": "w-1"}, "answers": [{"name": "greeting"}, {"name": "score"}]}}])
    );
    let data = server
        .data(&unit_token(&server, &["bu-2"]), query, json!({}))
        .await;
    assert_eq!(data["evaluations"]["edges"], json!([]));
}

#[tokio::test]
async fn genesys_segments_and_participants_reach_the_feed_lookups() {
    let server = start().await;
    let mut doc = crate::common::minimal(
        "g-1",
        "2026-11-02T08:00:00Z",
        Some("2026-11-02T08:05:00Z"),
        &["div-a"],
    );
    doc["participants"][0]["userId"] = json!("ag-1");
    doc["participants"][0]["sessions"][0]["segments"][0]["queueId"] = json!("q-1");
    server.import(&[doc]).await;
    let data = server
        .data(
            &server.token(Some(&["*"])),
            r#"{ conversation(id: "g-1") { participants { user { id userType agent { id customId } }
                   sessions { segments { queueId queue { id name channel { id } } } } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data["conversation"]["participants"],
        json!([{
            "user": {"id": "ag-1", "userType": "Agent", "agent": {"id": "ag-1", "customId": "A1"}},
            "sessions": [{"segments": [{"queueId": "q-1", "queue": {"id": "q-1", "name": "Sales", "channel": {"id": "ch-1"}}}]}]
        }])
    );
    // A division-only token sees the conversation but not the feed's lookups.
    let data = server
        .data(
            &server.token(Some(&["div-a"])),
            r#"{ conversation(id: "g-1") { participants { user { id } sessions { segments { queue { id } } } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data["conversation"]["participants"],
        json!([{"user": null, "sessions": [{"segments": [{"queue": null}]}]}])
    );
}

#[tokio::test]
async fn an_agents_workitems_page_like_the_root_list_with_cursors_that_resume() {
    let dir = tempfile::tempdir().expect("tempdir");
    let page = |table: &str, rows: Vec<Value>| {
        let path = dir.path().join(format!("{table}.json"));
        let body = json!({"@odata.context": format!("x/$metadata#{table}"), "value": rows});
        std::fs::write(&path, body.to_string()).expect("write");
        path
    };
    let time = |i: usize| format!("2026-11-02T08:{i:02}:00Z");
    let files = [
        page("Agents", vec![json!({"id": "a1"}), json!({"id": "a2"})]),
        page(
            "AgentBusinessUnitChanges",
            vec![
                json!({"agentId": "a1", "businessUnitId": "bu", "timestampUtc": "2026-10-01T00:00:00Z", "assigned": true}),
            ],
        ),
        page(
            "Workitems",
            (0..25)
                .map(|i| {
                    json!({"id": format!("w{i:02}"), "agentId": format!("a{}", i % 2 + 1),
            "businessUnitId": if i == 4 { "bu-other" } else { "bu" }, "startTimeUTC": time(i)})
                })
                .collect(),
        ),
    ];
    let server = Server::start(&[]).await;
    let report = import_paths(server.db.pool(), &files, &ImportOptions::default())
        .await
        .expect("import");
    assert!(report.rejected.is_empty(), "{report}");
    let token = unit_token(&server, &["bu"]);
    const PAGE: &str = r#"query($after: String) { agent: agents(first: 1) { edges { node { id
        workitems(first: 5, after: $after) { edges { cursor node { id } }
            pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } } } }"#;

    let mut after = Value::Null;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let data = server.data(&token, PAGE, json!({"after": after})).await;
        let agent = &data["agent"]["edges"][0]["node"];
        assert_eq!(agent["id"], "a1");
        let page = &agent["workitems"];
        let edges = page["edges"].as_array().expect("edges");
        let info = &page["pageInfo"];
        assert_eq!(info["hasPreviousPage"], json!(pages > 0));
        assert_eq!(info["startCursor"], edges[0]["cursor"]);
        assert_eq!(info["endCursor"], edges[edges.len() - 1]["cursor"]);
        seen.extend(
            edges
                .iter()
                .map(|e| e["node"]["id"].as_str().expect("id").to_owned()),
        );
        pages += 1;
        if info["hasNextPage"] == json!(false) {
            break;
        }
        after = info["endCursor"].clone();
    }
    // a1's workitems are the even ones, oldest first; w04 belongs to a business unit the token
    // cannot see.
    let expected: Vec<String> = (0..25)
        .filter(|i| i % 2 == 0 && *i != 4)
        .map(|i| format!("w{i:02}"))
        .collect();
    assert_eq!(seen, expected);
    assert_eq!(pages, 3);

    let (_, body) = server
        .query(
            Some(&token),
            r#"{ agents { edges { node { workitems(after: "nonsense") { edges { cursor } } } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("not a cursor of this list")),
        "{body}"
    );
}

#[tokio::test]
async fn a_list_longer_than_its_bound_is_refused_whole_rather_than_cut_short() {
    let dir = tempfile::tempdir().expect("tempdir");
    let page = |table: &str, rows: Vec<Value>| {
        let path = dir.path().join(format!("{table}.json"));
        let body = json!({"@odata.context": format!("x/$metadata#{table}"), "value": rows});
        std::fs::write(&path, body.to_string()).expect("write");
        path
    };
    let most = domain::catalog::CONVERSATION_WORKITEMS as usize;
    let workitems = |conversation: &str, n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| {
                json!({"id": format!("{conversation}-w{i:03}"), "businessUnitId": "bu",
                "primaryConversationId": conversation, "startTimeUTC": "2026-11-02T08:00:00Z"})
            })
            .collect()
    };
    let files = [
        page(
            "Calls",
            vec![
                json!({"id": "c-full", "businessUnitId": "bu", "startedAtUTC": "2026-11-02T08:00:00Z"}),
                json!({"id": "c-over", "businessUnitId": "bu", "startedAtUTC": "2026-11-02T08:00:00Z"}),
            ],
        ),
        page(
            "Workitems",
            [workitems("c-full", most), workitems("c-over", most + 1)].concat(),
        ),
    ];
    let server = Server::start(&[]).await;
    let report = import_paths(server.db.pool(), &files, &ImportOptions::default())
        .await
        .expect("import");
    assert!(report.rejected.is_empty(), "{report}");
    let token = unit_token(&server, &["bu"]);

    let data = server
        .data(
            &token,
            r#"{ conversation(id: "c-full") { workitems { id } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data["conversation"]["workitems"].as_array().map(Vec::len),
        Some(most)
    );

    let (status, body) = server
        .query(
            Some(&token),
            r#"{ conversation(id: "c-over") { workitems { id } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["conversation"], Value::Null, "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "LIST_TOO_LONG",
        "{body}"
    );
    assert_eq!(
        body["errors"][0]["message"],
        format!(
            "`Conversation.workitems` holds more than {most} items, more than one answer serves whole: leave it out of the selection or narrow the parents"
        ),
        "{body}"
    );
}
