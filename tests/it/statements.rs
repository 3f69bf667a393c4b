//! Reads are pushed down whole: a four-level query costs one SQL statement, whether it reads 5
//! conversations or 50, and so does a walk from workitems through their relations. Statements
//! are counted as sqlx reports them (every statement it runs emits one `sqlx::query` event), so
//! nothing in the API can hide one.

use crate::common::{ALL, Server, minimal, trace};
use serde_json::{Value, json};

const FOUR_LEVELS: &str = r#"query($n: Int) { conversations(first: $n) {
    nodes { id participants { id sessions { id mediaType
        segments { segmentType segmentStart } metrics { name value } } } } } }"#;

async fn statements_for(server: &Server, token: &str, n: usize) -> (usize, usize) {
    trace::take_statements();
    let data = server.data(token, FOUR_LEVELS, json!({"n": n})).await;
    let read = data["conversations"]["nodes"]
        .as_array()
        .expect("nodes")
        .len();
    (trace::take_statements(), read)
}

#[tokio::test]
async fn a_four_level_query_runs_one_statement_whatever_the_parents() {
    let docs: Vec<Value> = (0..50)
        .map(|i| {
            let start = format!("2026-11-01T08:{i:02}:00Z");
            let mut doc = minimal(&format!("c-{i:02}"), &start, Some(&start), &["div-a"]);
            // Several participants and sessions per conversation, so every level fans out.
            let participants = doc["participants"].as_array_mut().expect("participants");
            let mut agent = participants[0].clone();
            agent["participantId"] = json!(format!("c-{i:02}-p2"));
            agent["purpose"] = json!("agent");
            agent["sessions"][0]["sessionId"] = json!(format!("c-{i:02}-s2"));
            agent["sessions"][0]["metrics"] =
                json!([{"name": "tTalk", "value": 1, "emitDate": start}]);
            participants.push(agent);
            doc
        })
        .collect();
    let server = Server::start(&docs).await;
    let token = server.token(Some(ALL));

    let (five, read_five) = statements_for(&server, &token, 5).await;
    let (fifty, read_fifty) = statements_for(&server, &token, 50).await;

    assert_eq!((read_five, read_fifty), (5, 50));
    // The page, its participants, sessions, segments and metrics: one statement.
    assert_eq!(five, 1, "statements for 5 conversations");
    assert_eq!(
        fifty, five,
        "statements must not grow with the number of parents"
    );
}

const WORKITEM_WALK: &str = r#"query($n: Int) { workitems(first: $n) { edges { node { id
    agent { id } queue { id channel { id } }
    conversations { holdCount conversation { id queueSegments { queueId } } }
    evaluations { answers { name value } } } } } }"#;

#[tokio::test]
async fn a_workitem_walk_runs_one_statement_whatever_the_parents() {
    let dir = tempfile::tempdir().expect("tempdir");
    let page = |table: &str, rows: Vec<Value>| {
        let path = dir.path().join(format!("{table}.json"));
        let body = json!({"@odata.context": format!("x/$metadata#{table}"), "value": rows});
        std::fs::write(&path, body.to_string()).expect("write");
        path
    };
    let time = |i: usize| format!("2026-11-02T08:{i:02}:00Z");
    let files = [
        page("Channels", vec![json!({"id": "ch", "businessUnitId": "bu"})]),
        page("Queues", vec![json!({"id": "q", "channelId": "ch"})]),
        page("Agents", vec![json!({"id": "a1"}), json!({"id": "a2"})]),
        page("Calls", (0..50).map(|i| json!({"id": format!("c{i}"), "businessUnitId": "bu", "startedAtUTC": time(i)})).collect()),
        page("QueueSegments", (0..50).map(|i| json!({"conversationId": format!("c{i}"), "queueId": "q", "queuedAtUTC": time(i)})).collect()),
        page("Workitems", (0..50).map(|i| json!({"id": format!("w{i:02}"), "agentId": format!("a{}", i % 2 + 1), "queueId": "q",
            "businessUnitId": "bu", "primaryConversationId": format!("c{i}"), "startTimeUTC": time(i)})).collect()),
        page("WorkitemConversationSessions", (0..50).map(|i| json!({"id": "s", "workitemId": format!("w{i:02}"), "conversationId": format!("c{i}"), "holdCount": 1})).collect()),
        page("WorkitemEvaluations", (0..50).map(|i| json!({"id": "e", "workitemId": format!("w{i:02}")})).collect()),
        page("WorkitemEvaluationData", (0..50).map(|i| json!({"id": "d", "workitemId": format!("w{i:02}"), "evaluationId": "e", "name": "n", "value": "v"})).collect()),
    ];
    let server = Server::start(&[]).await;
    let report = convgraph::import::import_paths(
        server.db.pool(),
        &files,
        &convgraph::import::ImportOptions::default(),
    )
    .await
    .expect("import");
    assert!(report.rejected.is_empty(), "{report}");
    // An answer's value is personal: the walk reads it with `pii:read`.
    let token = server.token_with(Some(ALL), &["conversations:read", "pii:read"]);

    let mut counts = Vec::new();
    for n in [5, 50] {
        trace::take_statements();
        let data = server.data(&token, WORKITEM_WALK, json!({"n": n})).await;
        let edges = data["workitems"]["edges"].as_array().expect("edges");
        assert_eq!(edges.len(), n);
        assert_eq!(
            edges[n - 1]["node"]["evaluations"][0]["answers"][0]["value"],
            "v"
        );
        counts.push(trace::take_statements());
    }
    // Workitems, agents, queues, channels, sessions, conversations, queue segments,
    // evaluations and answers: one statement.
    assert_eq!(
        counts,
        [1, 1],
        "statements must not grow with the number of workitems"
    );
}

// ---------------------------------------------------------------------------------------------
// Every relation and root filter is served by an index
// ---------------------------------------------------------------------------------------------

use db::select::{
    ArgumentValue, Compiled, ConversationFilter, EdgeValue, Entry, EvaluationFilter,
    FlowMetricFilter, Keyset, List, Lookup, NestedWalk, OrderKey, PageInfoValue, PageSelection,
    PageValue, Reader, Selection, Value as Output, Walk, WorkitemFilter,
};
use domain::catalog::{self, Argument, Field, ObjectType};

/// Lookup tables: a few hundred rows at most, which a sequential scan reads as fast as an index.
const LOOKUPS: &[&str] = &[
    "business_units",
    "agents",
    "users",
    "channels",
    "queues",
    "bot_steps",
    "campaigns",
    "divisions",
];

/// Every column, computed field and relation of `object`, recursing into the types that are not
/// already on `path` (a paged relation asks for a page of 2).
fn everything(object: &'static ObjectType, path: &mut Vec<&'static str>) -> Selection {
    path.push(object.name);
    let table = object.table();
    let mut entries = Vec::new();
    let mut add = |key: &str, value: Output| {
        entries.push(Entry {
            key: key.to_owned(),
            value,
        })
    };
    add("__typename", Output::Typename);
    for field in object.fields {
        match field {
            Field::Columns => {
                for column in table.columns {
                    add(&column.field_name(), Output::Column(column));
                }
            }
            Field::Alias { name, column, .. } => {
                add(name, Output::Column(table.column(column).expect("column")));
            }
            Field::Duration {
                name, start, end, ..
            } => add(
                name,
                Output::Duration {
                    start: table.column(start).expect("start"),
                    end: table.column(end).expect("end"),
                },
            ),
            Field::Extra => add("extra", Output::Extra),
            Field::Relation(relation) => {
                let target = catalog::object(relation.target).expect("target");
                if path.contains(&target.name) {
                    continue;
                }
                match &relation.argument {
                    Some(Argument::Page { connection, .. }) => add(
                        relation.name,
                        Output::Page {
                            relation,
                            walk: NestedWalk {
                                size: 2,
                                after: None,
                            },
                            selection: page_of(
                                catalog::connection(connection).expect("connection"),
                                everything(target, path),
                            ),
                        },
                    ),
                    Some(Argument::Overlap { .. }) => {
                        let from = chrono::DateTime::UNIX_EPOCH;
                        add(
                            relation.name,
                            Output::Relation {
                                relation,
                                argument: Some(ArgumentValue::Interval(
                                    from,
                                    from + chrono::Duration::days(1),
                                )),
                                selection: everything(target, path),
                            },
                        )
                    }
                    None => add(
                        relation.name,
                        Output::Relation {
                            relation,
                            argument: None,
                            selection: everything(target, path),
                        },
                    ),
                }
            }
        }
    }
    path.pop();
    Selection { object, entries }
}

fn page_of(connection: &'static catalog::Connection, node: Selection) -> PageSelection {
    let info = [
        PageInfoValue::HasNextPage,
        PageInfoValue::HasPreviousPage,
        PageInfoValue::StartCursor,
        PageInfoValue::EndCursor,
    ];
    let mut entries = vec![
        (
            "pageInfo".to_owned(),
            PageValue::PageInfo(info.iter().map(|v| (format!("{v:?}"), *v)).collect()),
        ),
        (
            "edges".to_owned(),
            PageValue::Edges(vec![
                ("cursor".to_owned(), EdgeValue::Cursor),
                ("node".to_owned(), EdgeValue::Node(node.clone())),
            ]),
        ),
    ];
    if connection.conversations {
        entries.push(("totalCount".to_owned(), PageValue::TotalCount));
        entries.push(("nodes".to_owned(), PageValue::Nodes(node)));
    }
    PageSelection {
        connection,
        entries,
    }
}

/// The sequential scans of graph tables in a plan: `(table, what the plan node says)`.
fn sequential_scans(plan: &Value, out: &mut Vec<String>) {
    match plan {
        Value::Object(node) => {
            if node.get("Node Type") == Some(&json!("Seq Scan"))
                && let Some(table) = node.get("Relation Name").and_then(Value::as_str)
                && !LOOKUPS.contains(&table)
            {
                out.push(format!(
                    "{table} (filter: {})",
                    node.get("Filter").unwrap_or(&Value::Null)
                ));
            }
            node.values().for_each(|v| sequential_scans(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| sequential_scans(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn every_relation_and_root_filter_is_served_by_an_index() {
    // Not counted, but its statements must not land in the other tests' counts.
    let db = db::testing::test_database().await;
    let pool = db.pool();
    let bar = indicatif::ProgressBar::hidden();
    convgraph::seed::seed(pool, convgraph::seed::generator(5), 60, 2, &bar)
        .await
        .expect("seed");
    sqlx::query("analyze").execute(pool).await.expect("analyze");

    let limited = domain::Scope::Limited {
        divisions: ["div-x".to_owned()].into(),
        business_units: ["bu-x".to_owned()].into(),
    };
    let time = chrono::DateTime::UNIX_EPOCH;
    let some = || Some(vec!["x".to_owned()]);
    let mut filters: Vec<(&str, ConversationFilter)> =
        vec![("none", ConversationFilter::default())];
    let mut one = |name, set: fn(&mut ConversationFilter)| {
        let mut f = ConversationFilter::default();
        set(&mut f);
        filters.push((name, f));
    };
    one("interval", |f| {
        f.start_from = Some(chrono::DateTime::UNIX_EPOCH);
        f.start_before = Some(chrono::Utc::now());
    });
    one("divisions", |f| f.division_ids = Some(vec!["x".into()]));
    one("business units", |f| {
        f.business_unit_ids = Some(vec!["x".into()])
    });
    one("directions", |f| {
        f.originating_directions = Some(vec!["x".into()])
    });
    one("tags", |f| f.external_tags = Some(vec!["x".into()]));
    one("durations", |f| {
        f.min_duration_ms = Some(1);
        f.max_duration_ms = Some(2);
    });
    one("purposes", |f| f.purposes = Some(vec!["x".into()]));
    one("users", |f| f.user_ids = Some(vec!["x".into()]));
    one("media", |f| f.media_types = Some(vec!["x".into()]));
    one("session directions", |f| {
        f.directions = Some(vec!["x".into()])
    });
    one("anis", |f| f.anis = Some(vec!["x".into()]));
    one("dnises", |f| f.dnises = Some(vec!["x".into()]));
    one("queues", |f| f.queue_ids = Some(vec!["x".into()]));
    one("wrap-up codes", |f| {
        f.wrap_up_codes = Some(vec!["x".into()])
    });
    one("disconnects", |f| {
        f.disconnect_types = Some(vec!["x".into()])
    });
    one("segment types", |f| {
        f.segment_types = Some(vec!["x".into()])
    });
    one("abandoned", |f| f.abandoned = Some(true));

    let mut lists: Vec<(String, List, &str)> = Vec::new();
    for (name, filter) in filters {
        for key in [OrderKey::Start, OrderKey::End] {
            lists.push((
                format!("conversations by {key:?}, filter {name}"),
                List::Conversations {
                    filter: Box::new(filter.clone()),
                    key,
                },
                "Conversation",
            ));
        }
    }
    lists.push((
        "workitems".into(),
        List::Workitems(WorkitemFilter {
            start_from: Some(time),
            agent_ids: some(),
            queue_ids: some(),
            business_unit_ids: some(),
            media_types: some(),
            results: some(),
            ..Default::default()
        }),
        "Workitem",
    ));
    lists.push((
        "workitems, unfiltered".into(),
        List::Workitems(Default::default()),
        "Workitem",
    ));
    lists.push((
        "campaign records".into(),
        List::CampaignRecords(Default::default()),
        "CampaignRecord",
    ));
    lists.push((
        "flow metrics".into(),
        List::FlowMetrics(FlowMetricFilter {
            metrics: some(),
            ..Default::default()
        }),
        "FlowMetric",
    ));
    lists.push((
        "evaluations".into(),
        List::Evaluations(EvaluationFilter::default()),
        "WorkitemEvaluation",
    ));
    for (lookup, node) in [
        (Lookup::BusinessUnits, "BusinessUnit"),
        (Lookup::Agents, "Agent"),
        (Lookup::Users, "User"),
        (Lookup::Channels, "Channel"),
        (Lookup::Queues, "Queue"),
        (Lookup::BotSteps, "BotStep"),
        (Lookup::Campaigns, "Campaign"),
    ] {
        lists.push((
            format!("{lookup:?}"),
            List::Lookup {
                lookup,
                include_deleted: false,
            },
            node,
        ));
    }
    lists.push(("divisions".into(), List::Divisions, "Division"));

    let mut found = Vec::new();
    for (scope_name, scope) in [("all", domain::Scope::All), ("limited", limited)] {
        let reader = Reader {
            scope: &scope,
            personal: true,
            max_bytes: i64::MAX,
        };
        let mut statements: Vec<(String, Compiled)> = Vec::new();
        for object in ["Conversation", "Workitem", "Campaign"] {
            let selection = everything(catalog::object(object).expect("object"), &mut Vec::new());
            statements.push((
                format!("{object} by id"),
                db::select::compile_by_id(&reader, &selection, "x"),
            ));
        }
        for (name, list, node) in &lists {
            let order = list.order();
            for cursor in [
                None,
                Some(Keyset {
                    time: order.timed.then_some(time),
                    ids: vec!["x".into(); order.ids()],
                }),
            ] {
                let walk = Walk {
                    size: 25,
                    cursor: cursor.clone(),
                    backward: false,
                    descending: false,
                };
                statements.push((
                    format!("{name}, after: {}", cursor.is_some()),
                    db::select::compile_page(&reader, list, &walk, &list_selection(node)),
                ));
            }
        }
        for (name, statement) in statements {
            let plan = statement
                .explain(pool)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let mut scans = Vec::new();
            sequential_scans(&plan, &mut scans);
            found.extend(
                scans
                    .into_iter()
                    .map(|s| format!("{scope_name} scope, {name}: {s}")),
            );
        }
    }
    assert!(
        found.is_empty(),
        "sequential scans of graph tables:\n{}",
        found.join("\n")
    );
}

/// A page of `node`s with everything under them.
fn list_selection(node: &str) -> PageSelection {
    let connection = catalog::CONNECTIONS
        .iter()
        .find(|c| c.node == node)
        .expect("connection");
    page_of(
        connection,
        everything(catalog::object(node).expect("object"), &mut Vec::new()),
    )
}
