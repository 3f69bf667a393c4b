//! `convgraph import` against a real PostgreSQL: documents read back field by field,
//! re-imports change nothing, newer versions replace whole, bad documents are rejected alone.

use convgraph::import::{ImportOptions, ImportReport, import_paths};
use db::graph::load_conversation;
use db::testing::test_database;
use domain::graph::*;
use domain::reader::{normalize_enum, parse_time};
use serde_json::{Value, json};
use sqlx::PgPool;
use std::path::{Path, PathBuf};

const ANALYTICS: &str = "tests/fixtures/analytics_full.json";
const PLATFORM: &str = "tests/fixtures/platform_full.json";

async fn import(pool: &PgPool, paths: &[&Path]) -> ImportReport {
    let paths: Vec<PathBuf> = paths.iter().map(|p| p.to_path_buf()).collect();
    import_paths(pool, &paths, &ImportOptions::default())
        .await
        .expect("import runs")
}

fn fixture(path: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("fixture JSON")
}

async fn load(pool: &PgPool, id: &str) -> ConversationGraph {
    let mut conn = pool.acquire().await.expect("connection");
    load_conversation(&mut conn, id)
        .await
        .expect("load")
        .expect("conversation is stored")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

/// Asserts that every key of the source object `input` is stored: in the column its field
/// maps to (`fields`, or `renames` for keys spelled differently), or else in `extra`.
/// `children` are keys checked on their own rows.
fn assert_stored<T: serde::Serialize>(
    what: &str,
    input: &Value,
    row: &T,
    fields: &[(&str, &str)],
    renames: &[(&str, &str)],
    children: &[&str],
) {
    let row = serde_json::to_value(row).expect("row serialises");
    let input = input.as_object().expect("object");
    for (key, value) in input {
        if children.contains(&key.as_str()) {
            continue;
        }
        let column = renames
            .iter()
            .chain(fields)
            .find(|(k, _)| k == key)
            .map(|(_, c)| *c);
        match column {
            Some(column) => assert_same(&format!("{what}.{key} -> {column}"), value, &row[column]),
            None => assert_eq!(
                &row["extra"][key], value,
                "{what}.{key} has no column and must be kept in extra"
            ),
        }
    }
}

fn assert_same(what: &str, source: &Value, stored: &Value) {
    if source == stored {
        return;
    }
    if let (Value::String(a), Value::String(b)) = (source, stored) {
        if let (Ok(a), Ok(b)) = (parse_time(a), parse_time(b)) {
            assert_eq!(a, b, "{what}: timestamps differ");
            return;
        }
        assert_eq!(&normalize_enum(a), b, "{what}: enumeration differs");
        return;
    }
    panic!("{what}: source {source} but stored {stored}");
}

/// The rows of one session, in order.
macro_rules! of_session {
    ($rows:expr, $p:expr, $s:expr) => {
        $rows
            .iter()
            .filter(|r| r.participant_id == $p && r.session_id == $s)
            .collect::<Vec<_>>()
    };
}

#[tokio::test]
async fn analytics_document_reads_back_field_by_field() {
    let db = test_database().await;
    let report = import(db.pool(), &[Path::new(ANALYTICS)]).await;
    assert_eq!((report.imported, report.rejected.len()), (1, 0), "{report}");

    let doc = fixture(ANALYTICS);
    let id = doc["conversationId"].as_str().expect("id");
    let g = load(db.pool(), id).await;
    assert_stored(
        "conversation",
        &doc,
        &g.conversation,
        ConversationRow::SOURCE_FIELDS,
        &[
            ("conversationId", "conversation_id"),
            ("conversationStart", "conversation_start"),
            ("conversationEnd", "conversation_end"),
            ("divisionIds", "division_ids"),
        ],
        &["participants", "evaluations", "surveys", "resolutions"],
    );
    let participants = doc["participants"].as_array().expect("participants");
    assert_eq!(g.participants.len(), participants.len());
    let mut sessions_seen = 0;
    for (pi, p) in participants.iter().enumerate() {
        let row = &g.participants[pi];
        assert_stored(
            "participant",
            p,
            row,
            ParticipantRow::SOURCE_FIELDS,
            &[
                ("participantId", "participant_id"),
                ("participantName", "participant_name"),
                ("attributes", "attributes"),
            ],
            &["sessions"],
        );
        for s in p["sessions"].as_array().expect("sessions") {
            let sid = s["sessionId"].as_str().expect("session id");
            let pid = row.participant_id.as_str();
            let session = g
                .sessions
                .iter()
                .find(|r| r.participant_id == pid && r.session_id == sid)
                .expect("session stored");
            sessions_seen += 1;
            assert_stored(
                "session",
                s,
                session,
                SessionRow::SOURCE_FIELDS,
                &[("sessionId", "session_id")],
                &[
                    "segments",
                    "metrics",
                    "flow",
                    "proposedAgents",
                    "mediaEndpointStats",
                    "agentGroups",
                ],
            );
            let segments = of_session!(&g.segments, pid, sid);
            let source_segments = s["segments"].as_array().expect("segments");
            assert_eq!(segments.len(), source_segments.len());
            for (seg, src) in segments.iter().zip(source_segments) {
                assert_stored(
                    "segment",
                    src,
                    *seg,
                    SegmentRow::SOURCE_FIELDS,
                    &[],
                    &["scoredAgents", "properties"],
                );
                let scored: Vec<_> = g
                    .scored_agents
                    .iter()
                    .filter(|a| {
                        a.session_id == sid
                            && a.segment_index == seg.segment_index
                            && a.participant_id == pid
                    })
                    .collect();
                for (a, src) in scored
                    .iter()
                    .zip(src["scoredAgents"].as_array().expect("scored"))
                {
                    assert_stored(
                        "scoredAgent",
                        src,
                        *a,
                        ScoredAgentRow::SOURCE_FIELDS,
                        &[],
                        &[],
                    );
                }
                let properties: Vec<_> = g
                    .segment_properties
                    .iter()
                    .filter(|a| {
                        a.session_id == sid
                            && a.segment_index == seg.segment_index
                            && a.participant_id == pid
                    })
                    .collect();
                assert_eq!(properties.len(), 2);
                for (a, src) in properties
                    .iter()
                    .zip(src["properties"].as_array().expect("properties"))
                {
                    assert_stored(
                        "property",
                        src,
                        *a,
                        SegmentPropertyRow::SOURCE_FIELDS,
                        &[],
                        &[],
                    );
                }
            }
            let metrics = of_session!(&g.metrics, pid, sid);
            for (m, src) in metrics
                .iter()
                .zip(s["metrics"].as_array().expect("metrics"))
            {
                assert_stored("metric", src, *m, MetricRow::SOURCE_FIELDS, &[], &[]);
            }
            assert_eq!(metrics.len(), 2);
            let flow = g
                .flows
                .iter()
                .find(|f| f.participant_id == pid && f.session_id == sid)
                .expect("flow stored");
            assert_stored(
                "flow",
                &s["flow"],
                flow,
                FlowRow::SOURCE_FIELDS,
                &[],
                &["outcomes"],
            );
            let outcomes = of_session!(&g.flow_outcomes, pid, sid);
            assert_eq!(outcomes.len(), 2);
            for (o, src) in outcomes
                .iter()
                .zip(s["flow"]["outcomes"].as_array().expect("outcomes"))
            {
                assert_stored("outcome", src, *o, FlowOutcomeRow::SOURCE_FIELDS, &[], &[]);
            }
            for (a, src) in of_session!(&g.proposed_agents, pid, sid)
                .iter()
                .zip(s["proposedAgents"].as_array().expect("proposed"))
            {
                assert_stored(
                    "proposedAgent",
                    src,
                    *a,
                    ProposedAgentRow::SOURCE_FIELDS,
                    &[],
                    &[],
                );
            }
            let stats = of_session!(&g.media_endpoint_stats, pid, sid);
            assert_eq!(stats.len(), 2);
            for (a, src) in stats
                .iter()
                .zip(s["mediaEndpointStats"].as_array().expect("stats"))
            {
                assert_stored(
                    "mediaEndpointStat",
                    src,
                    *a,
                    MediaEndpointStatRow::SOURCE_FIELDS,
                    &[],
                    &[],
                );
            }
            let groups = of_session!(&g.agent_groups, pid, sid);
            assert_eq!(groups.len(), 2);
            for (a, src) in groups
                .iter()
                .zip(s["agentGroups"].as_array().expect("groups"))
            {
                assert_stored(
                    "agentGroup",
                    src,
                    *a,
                    AgentGroupRow::SOURCE_FIELDS,
                    &[],
                    &[],
                );
            }
        }
    }
    assert_eq!(sessions_seen, g.sessions.len());
    for (row, src) in g
        .evaluations
        .iter()
        .zip(doc["evaluations"].as_array().expect("evaluations"))
    {
        assert_stored(
            "evaluation",
            src,
            row,
            EvaluationRow::SOURCE_FIELDS,
            &[("evaluationId", "evaluation_id")],
            &[],
        );
    }
    for (row, src) in g
        .surveys
        .iter()
        .zip(doc["surveys"].as_array().expect("surveys"))
    {
        assert_stored("survey", src, row, SurveyRow::SOURCE_FIELDS, &[], &[]);
    }
    for (row, src) in g
        .resolutions
        .iter()
        .zip(doc["resolutions"].as_array().expect("resolutions"))
    {
        assert_stored(
            "resolution",
            src,
            row,
            ResolutionRow::SOURCE_FIELDS,
            &[],
            &[],
        );
    }
    assert_eq!(
        (g.evaluations.len(), g.surveys.len(), g.resolutions.len()),
        (2, 2, 2)
    );
    // The unknown enumeration value came through as sent.
    assert!(
        g.sessions
            .iter()
            .any(|s| s.media_type.as_deref() == Some("hologram"))
    );
}

#[tokio::test]
async fn platform_conversation_reads_back_field_by_field() {
    let db = test_database().await;
    let report = import(db.pool(), &[Path::new(PLATFORM)]).await;
    assert_eq!((report.imported, report.rejected.len()), (1, 0), "{report}");

    let doc = fixture(PLATFORM);
    let id = doc["id"].as_str().expect("id");
    let g = load(db.pool(), id).await;
    assert_stored(
        "conversation",
        &doc,
        &g.conversation,
        ConversationRow::SOURCE_FIELDS,
        &[
            ("id", "conversation_id"),
            ("conversationId", "conversation_id"),
            ("startTime", "conversation_start"),
            ("endTime", "conversation_end"),
        ],
        &["participants", "divisions", "recentTransfers"],
    );
    assert_eq!(g.conversation.division_ids, vec!["div-0", "div-1"]);
    assert_eq!(g.divisions.len(), 2);
    assert_eq!(g.divisions[0].name.as_deref(), Some("Division 0"));
    let mut entities = 0;
    for (di, d) in doc["divisions"]
        .as_array()
        .expect("divisions")
        .iter()
        .enumerate()
    {
        let division_id = format!("div-{di}");
        let rows: Vec<_> = g
            .division_entities
            .iter()
            .filter(|e| e.division_id == division_id)
            .collect();
        for (row, src) in rows.iter().zip(d["entities"].as_array().expect("entities")) {
            assert_stored(
                "entity",
                src,
                *row,
                DivisionEntityRow::SOURCE_FIELDS,
                &[],
                &[],
            );
            entities += 1;
        }
    }
    assert_eq!(entities, g.division_entities.len());
    assert!(entities > 0);

    let mut sessions_seen = 0;
    for (pi, p) in doc["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .enumerate()
    {
        let row = &g.participants[pi];
        let media: Vec<&str> = domain::genesys::PLATFORM_MEDIA
            .iter()
            .map(|(l, _)| *l)
            .collect();
        let mut children = media.clone();
        children.push("evaluations");
        assert_stored(
            "participant",
            p,
            row,
            ParticipantRow::SOURCE_FIELDS,
            &[
                ("id", "participant_id"),
                ("name", "participant_name"),
                ("attributes", "attributes"),
            ],
            &children,
        );
        for (list, media_type) in domain::genesys::PLATFORM_MEDIA {
            for c in p[*list].as_array().into_iter().flatten() {
                let sid = c["id"].as_str().expect("id");
                let session = g
                    .sessions
                    .iter()
                    .find(|s| s.participant_id == row.participant_id && s.session_id == sid)
                    .expect("communication stored as a session");
                sessions_seen += 1;
                assert_eq!(session.media_type.as_deref(), Some(*media_type));
                let mut renames = vec![("id", "session_id")];
                if *list == "messages" {
                    renames.push(("type", "message_type"));
                }
                assert_stored(
                    "session",
                    c,
                    session,
                    SessionRow::SOURCE_FIELDS,
                    &renames,
                    &["segments"],
                );
                let segments = of_session!(&g.segments, row.participant_id.as_str(), sid);
                let source = c["segments"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                assert_eq!(segments.len(), source.len(), "{list} segments");
                for (seg, src) in segments.iter().zip(source) {
                    assert_stored(
                        "segment",
                        src,
                        *seg,
                        SegmentRow::SOURCE_FIELDS,
                        &[
                            ("startTime", "segment_start"),
                            ("endTime", "segment_end"),
                            ("type", "segment_type"),
                        ],
                        &[],
                    );
                }
            }
        }
        let evaluations: Vec<_> = g
            .evaluations
            .iter()
            .filter(|e| e.participant_id.as_deref() == Some(&row.participant_id))
            .collect();
        for (e, src) in evaluations
            .iter()
            .zip(p["evaluations"].as_array().expect("evaluations"))
        {
            assert_stored(
                "evaluation",
                src,
                *e,
                EvaluationRow::SOURCE_FIELDS,
                &[("id", "evaluation_id")],
                &[],
            );
        }
    }
    assert_eq!(sessions_seen, g.sessions.len());
    assert!(sessions_seen >= 11, "every media type is present");
    for (row, src) in g
        .transfers
        .iter()
        .zip(doc["recentTransfers"].as_array().expect("transfers"))
    {
        assert_stored(
            "transfer",
            src,
            row,
            TransferRow::SOURCE_FIELDS,
            &[("id", "transfer_id")],
            &[],
        );
    }
    assert_eq!(g.transfers.len(), 2);
    assert_eq!(g.segments[0].segment_type.as_deref(), Some("interact"));
}

#[tokio::test]
async fn importing_twice_changes_nothing() {
    let db = test_database().await;
    let first = import(db.pool(), &[Path::new(ANALYTICS), Path::new(PLATFORM)]).await;
    assert_eq!(first.imported, 2, "{first}");
    let before = load(db.pool(), "c0ffee00-0000-4000-8000-000000000001").await;
    let changed_at: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("select max(last_changed_at) from conversation_imports")
            .fetch_one(db.pool())
            .await
            .expect("bookkeeping");

    let second = import(db.pool(), &[Path::new(ANALYTICS), Path::new(PLATFORM)]).await;

    assert_eq!(
        (second.imported, second.unchanged, second.replaced),
        (0, 2, 0),
        "{second}"
    );
    assert_eq!(
        load(db.pool(), "c0ffee00-0000-4000-8000-000000000001").await,
        before
    );
    let changed_again: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("select max(last_changed_at) from conversation_imports")
            .fetch_one(db.pool())
            .await
            .expect("bookkeeping");
    assert_eq!(changed_at, changed_again, "nothing was written");
}

#[tokio::test]
async fn a_newer_version_replaces_the_conversation_whole() {
    let db = test_database().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut doc = fixture(ANALYTICS);
    import(
        db.pool(),
        &[&write(dir.path(), "v1.json", &doc.to_string())],
    )
    .await;
    let v1 = load(db.pool(), "c0ffee00-0000-4000-8000-000000000001").await;

    // Version 2: the second participant and every survey are gone, one segment changed.
    let participants = doc["participants"].as_array_mut().expect("participants");
    participants.truncate(1);
    doc["participants"][0]["sessions"][0]["segments"][0]["segmentType"] = json!("hold");
    doc.as_object_mut().expect("object").remove("surveys");
    let report = import(
        db.pool(),
        &[&write(dir.path(), "v2.json", &doc.to_string())],
    )
    .await;

    assert_eq!((report.imported, report.replaced), (0, 1), "{report}");
    let v2 = load(db.pool(), "c0ffee00-0000-4000-8000-000000000001").await;
    assert_eq!(v2.participants.len(), 1);
    assert!(v2.surveys.is_empty());
    let kept = &v1.participants[0].participant_id;
    assert!(
        v2.sessions.iter().all(|s| &s.participant_id == kept),
        "sessions of the removed participant are gone"
    );
    assert!(v2.segments.iter().all(|s| &s.participant_id == kept));
    assert!(v2.metrics.iter().all(|s| &s.participant_id == kept));
    assert!(v2.flow_outcomes.iter().all(|s| &s.participant_id == kept));
    assert_eq!(v2.segments[0].segment_type.as_deref(), Some("hold"));
    let orphans: i64 = sqlx::query_scalar(
        "select (select count(*) from sessions where participant_id <> $1)
              + (select count(*) from segments where participant_id <> $1)
              + (select count(*) from session_metrics where participant_id <> $1)
              + (select count(*) from surveys)",
    )
    .bind(kept)
    .fetch_one(db.pool())
    .await
    .expect("count");
    assert_eq!(orphans, 0);
}

/// Rows of the conversation `id` in each graph table, by table.
async fn rows_by_table(pool: &PgPool, id: &str) -> Vec<(&'static str, i64)> {
    let mut counts = Vec::new();
    for table in db::graph::tables() {
        let n: i64 = sqlx::query_scalar(&format!(
            "select count(*) from {table} where conversation_id = $1"
        ))
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("count");
        counts.push((table, n));
    }
    counts
}

#[tokio::test]
async fn a_replaced_conversation_leaves_in_every_table_what_storing_the_new_version_alone_does() {
    // The graph tables have no foreign keys between them: replacing deletes from each.
    let id = "c0ffee00-0000-4000-8000-000000000001";
    let dir = tempfile::tempdir().expect("tempdir");
    let v1 = fixture(ANALYTICS);
    let mut v2 = v1.clone();
    v2["participants"]
        .as_array_mut()
        .expect("participants")
        .truncate(1);
    v2["participants"][0]["sessions"][0]["segments"]
        .as_array_mut()
        .expect("segments")
        .truncate(1);
    v2.as_object_mut().expect("object").remove("surveys");
    v2.as_object_mut().expect("object").remove("evaluations");

    let replaced = test_database().await;
    import(
        replaced.pool(),
        &[&write(dir.path(), "v1.json", &v1.to_string())],
    )
    .await;
    let before = rows_by_table(replaced.pool(), id).await;
    let filled = before.iter().filter(|(_, n)| *n > 0).count();
    assert!(
        filled >= 12,
        "the fixture fills most graph tables: {before:?}"
    );
    let report = import(
        replaced.pool(),
        &[&write(dir.path(), "v2.json", &v2.to_string())],
    )
    .await;
    assert_eq!(report.replaced, 1, "{report}");

    let alone = test_database().await;
    import(
        alone.pool(),
        &[&write(dir.path(), "v2.json", &v2.to_string())],
    )
    .await;
    let expected = rows_by_table(alone.pool(), id).await;
    assert_ne!(before, expected, "the new version has fewer rows");
    assert_eq!(rows_by_table(replaced.pool(), id).await, expected);
}

#[tokio::test]
async fn every_table_keyed_by_a_conversation_is_a_graph_table_or_the_feeds() {
    // A table added to the graph but not to db::graph's list would keep a replaced
    // conversation's rows forever (there is no cascade to catch it).
    let db = test_database().await;
    let mut keyed: Vec<String> = sqlx::query_scalar(
        "select table_name::text from information_schema.columns
         where table_schema = 'public' and column_name = 'conversation_id' order by 1",
    )
    .fetch_all(db.pool())
    .await
    .expect("catalogue");
    let not_graph = [
        // Bookkeeping of each stored conversation: cascades from `conversations`.
        "conversation_imports",
        // Buzzeasy feed tables: rows of their own, written by the feed, naming a conversation.
        "bot_segments",
        "captured_data",
        "flow_metrics",
        "queue_segments",
        "rejected_enqueue_attempts",
        "workitem_conversation_sessions",
    ];
    keyed.retain(|t| !not_graph.contains(&t.as_str()));
    let mut graph: Vec<String> = db::graph::tables().map(str::to_owned).collect();
    graph.sort();
    assert_eq!(keyed, graph);
}

/// One valid conversation with id `id`, as a JSON line.
fn minimal(id: &str) -> Value {
    json!({
        "conversationId": id,
        "conversationStart": "2026-11-02T08:00:00Z",
        "divisionIds": ["div-a"],
        "participants": [{
            "participantId": format!("{id}-p"),
            "purpose": "customer",
            "sessions": [{
                "sessionId": format!("{id}-s"),
                "mediaType": "voice",
                "segments": [{"segmentType": "interact", "segmentStart": "2026-11-02T08:00:00Z", "segmentEnd": "2026-11-02T08:01:00Z"}],
                "metrics": [{"name": "tTalk", "value": 60000, "emitDate": "2026-11-02T08:01:00Z"}]
            }]
        }]
    })
}

#[tokio::test]
async fn each_bad_document_is_rejected_with_its_error_and_the_rest_lands() {
    let db = test_database().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut no_id = minimal("x");
    no_id
        .as_object_mut()
        .expect("object")
        .remove("conversationId");
    let mut bad_time = minimal("bad-time");
    bad_time["participants"][0]["sessions"][0]["segments"][0]["segmentStart"] =
        json!("2026-13-45T99:00:00Z");
    let mut no_zone = minimal("no-zone");
    no_zone["conversationStart"] = json!("2026-11-02T08:00:00");
    let mut wrong_type = minimal("wrong-type");
    wrong_type["participants"][0]["sessions"][0]["metrics"][0]["value"] = json!("sixty");
    let mut duplicate = minimal("duplicate");
    let session = duplicate["participants"][0]["sessions"][0].clone();
    duplicate["participants"][0]["sessions"]
        .as_array_mut()
        .expect("sessions")
        .push(session);
    let mut nul = minimal("nul-char");
    nul["externalTag"] = json!("a\u{0}b");
    let mut unknown = minimal("unknown-enum");
    unknown["participants"][0]["purpose"] = json!("telepathy");
    unknown["participants"][0]["sessions"][0]["mediaType"] = json!("HOLOGRAM");
    unknown["brandNewField"] = json!({"nested": [1, 2]});

    let lines = [
        minimal("good-1").to_string(),
        no_id.to_string(),
        bad_time.to_string(),
        "{\"conversationId\": \"truncated\", \"participants\": [".to_string(),
        no_zone.to_string(),
        wrong_type.to_string(),
        duplicate.to_string(),
        nul.to_string(),
        unknown.to_string(),
        "[1, 2]".to_string(),
        minimal("good-2").to_string(),
    ];
    let file = write(dir.path(), "batch.jsonl", &lines.join("\n"));

    let report = import(db.pool(), &[&file]).await;

    let got: Vec<(String, Option<String>, String)> = report
        .rejected
        .iter()
        .map(|r| (r.locator.clone(), r.path.clone(), r.message.clone()))
        .collect();
    let s = |x: &str| x.to_string();
    let expected = vec![
        (s("line 2"), Some(s("$.conversationId")), s("is required")),
        (
            s("line 3"),
            Some(s("$.participants[0].sessions[0].segments[0].segmentStart")),
            s("\"2026-13-45T99:00:00Z\" is not an ISO-8601 timestamp (input is out of range)"),
        ),
        (
            s("line 4"),
            None,
            s("malformed JSON: EOF while parsing a list at column 49"),
        ),
        (
            s("line 5"),
            Some(s("$.conversationStart")),
            s(
                "timestamp \"2026-11-02T08:00:00\" has no time zone (expected e.g. 2024-05-01T10:00:00Z)",
            ),
        ),
        (
            s("line 6"),
            Some(s("$.participants[0].sessions[0].metrics[0].value")),
            s("expected an integer, found a string"),
        ),
        (
            s("line 7"),
            Some(s("$.participants[0].sessions[1].sessionId")),
            s("duplicate sessionId \"duplicate-s\""),
        ),
        (
            s("line 8"),
            Some(s("$.externalTag")),
            s("a string holds the character \\u0000, which cannot be stored"),
        ),
        (
            s("line 10"),
            Some(s("$")),
            s("expected a conversation object"),
        ),
    ];
    assert_eq!(got, expected, "{report}");
    assert_eq!(
        report.imported, 3,
        "good-1, good-2 and the unknown enum values: {report}"
    );
    let ids: Vec<String> =
        sqlx::query_scalar("select conversation_id from conversations order by 1")
            .fetch_all(db.pool())
            .await
            .expect("ids");
    assert_eq!(ids, vec!["good-1", "good-2", "unknown-enum"]);
    let unknown = load(db.pool(), "unknown-enum").await;
    assert_eq!(
        unknown.participants[0].purpose.as_deref(),
        Some("telepathy")
    );
    assert_eq!(unknown.sessions[0].media_type.as_deref(), Some("hologram"));
    assert_eq!(
        unknown.conversation.extra["brandNewField"],
        json!({"nested": [1, 2]})
    );
}

#[tokio::test]
async fn query_responses_arrays_and_directories_all_import() {
    let db = test_database().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let response = json!({"conversations": [minimal("r-1"), minimal("r-2")], "totalHits": 2});
    write(
        dir.path(),
        "response.json",
        &serde_json::to_string_pretty(&response).expect("json"),
    );
    write(
        dir.path(),
        "array.json",
        &json!([minimal("a-1")]).to_string(),
    );
    std::fs::create_dir(dir.path().join("nested")).expect("mkdir");
    write(
        &dir.path().join("nested"),
        "single.json",
        &serde_json::to_string_pretty(&minimal("s-1")).expect("json"),
    );
    write(&dir.path().join("nested"), "notes.txt", "not a document");

    let report = import(db.pool(), &[dir.path()]).await;

    assert_eq!((report.imported, report.rejected.len()), (4, 0), "{report}");
}

#[tokio::test]
async fn a_truncated_file_keeps_the_documents_before_the_break() {
    let db = test_database().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let text =
        serde_json::to_string_pretty(&json!({"conversations": [minimal("t-1"), minimal("t-2")]}))
            .expect("json");
    let cut = &text[..text.len() - 40];
    let file = write(dir.path(), "cut.json", cut);

    let report = import(db.pool(), &[&file]).await;

    assert_eq!(report.imported, 1, "{report}");
    assert_eq!(report.rejected.len(), 1);
    assert!(
        report.rejected[0]
            .message
            .starts_with("malformed JSON after 1 complete document(s), which were read"),
        "{report}"
    );
}
