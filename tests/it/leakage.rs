//! Nothing leaks across scopes. Conversations are spread over divisions and business units (in
//! one division, in several at once, in a business unit only, in none, in a division nobody is
//! given), each a full copy of a fixture that fills every table. Then, for many tokens, the whole
//! schema reachable from `Conversation` is walked (the selection is derived from introspection,
//! so a field added later is covered) through every root field, and what comes back is compared
//! with the truth: the scope rule applied here, independently of the SQL, to the conversations as
//! made, and every row of the visible ones as stored. Zero rows out of scope, zero rows in scope
//! missing, aggregates included; without `pii:read`, every personal value is null.
//!
//! The aggregate siblings get the same treatment: feed rows (workitems, campaign records, agent
//! states, flow metric records) are written into every place through `ingestRecords`, and each
//! token's `workitemAggregates`, `campaignRecordAggregates`, `agentStateAggregates` and
//! `flowAggregates` must count exactly the rows its scope shows, by the same rule stated here.

use crate::common::Server;
use crate::common::walk::{assert_same_graph, conversation_selection, types};
use api::auth::{TokenRequest, mint};
use domain::Personal as _;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A conversation as made: which fixture it copies, and where it belongs.
struct Made {
    id: String,
    divisions: &'static [&'static str],
    business_unit: Option<&'static str>,
}

/// Where the copies go: every combination the scope rule distinguishes.
const PLACES: &[(&[&str], Option<&str>)] = &[
    (&["div-a"], None),
    (&["div-a", "div-b"], None),
    (&["div-b"], None),
    (&[], Some("bu-1")),
    (&[], None),
    (&["div-c"], Some("bu-2")),
    (&["div-hidden"], None),
];

const FIXTURES: &[(&str, &str)] = &[
    (
        "tests/fixtures/analytics_full.json",
        "c0ffee00-0000-4000-8000-000000000001",
    ),
    (
        "tests/fixtures/platform_full.json",
        "c0ffee00-0000-4000-8000-000000000002",
    ),
];

/// A token's claims.
struct Token {
    name: &'static str,
    divisions: Option<&'static [&'static str]>,
    business_units: Option<&'static [&'static str]>,
    personal: bool,
}

const TOKENS: &[Token] = &[
    Token {
        name: "one division",
        divisions: Some(&["div-a"]),
        business_units: None,
        personal: true,
    },
    Token {
        name: "one division, no pii:read",
        divisions: Some(&["div-b"]),
        business_units: None,
        personal: false,
    },
    Token {
        name: "several divisions",
        divisions: Some(&["div-a", "div-b"]),
        business_units: None,
        personal: false,
    },
    Token {
        name: "business unit only",
        divisions: None,
        business_units: Some(&["bu-1"]),
        personal: true,
    },
    Token {
        name: "mixed",
        divisions: Some(&["div-b"]),
        business_units: Some(&["bu-2"]),
        personal: true,
    },
    Token {
        name: "no claims",
        divisions: None,
        business_units: None,
        personal: true,
    },
    Token {
        name: "empty lists",
        divisions: Some(&[]),
        business_units: Some(&[]),
        personal: true,
    },
    Token {
        name: "a division with nothing in it",
        divisions: Some(&["div-nothing"]),
        business_units: Some(&["bu-nothing"]),
        personal: true,
    },
    Token {
        name: "all divisions",
        divisions: Some(&["*"]),
        business_units: None,
        personal: false,
    },
    Token {
        name: "all business units",
        divisions: None,
        business_units: Some(&["*"]),
        personal: true,
    },
];

impl Token {
    /// The scope rule, stated independently of the SQL that enforces it.
    fn sees(&self, made: &Made) -> bool {
        let any = |claim: Option<&[&str]>, have: &[&str]| {
            claim.is_some_and(|ids| ids.contains(&"*") || ids.iter().any(|i| have.contains(i)))
        };
        any(self.divisions, made.divisions)
            || any(
                self.business_units,
                &made.business_unit.into_iter().collect::<Vec<_>>(),
            )
    }

    /// Rows scoped by business unit alone (workitems, campaign records, agent states): a token
    /// for everything, or one naming the unit.
    fn sees_unit(&self, business_unit: Option<&str>) -> bool {
        let all = |claim: Option<&[&str]>| claim.is_some_and(|ids| ids.contains(&"*"));
        all(self.divisions)
            || all(self.business_units)
            || business_unit.is_some_and(|b| self.business_units.is_some_and(|u| u.contains(&b)))
    }

    fn mint(&self, server: &Server) -> String {
        let ids = |c: Option<&[&str]>| c.map(|ids| ids.iter().map(|s| s.to_string()).collect());
        let mut permissions = vec!["conversations:read".to_owned()];
        if self.personal {
            permissions.push("pii:read".to_owned());
        }
        mint(
            &server.auth,
            &TokenRequest {
                subject: self.name.into(),
                divisions: ids(self.divisions),
                business_units: ids(self.business_units),
                permissions,
                ttl_seconds: 600,
            },
        )
        .expect("token")
    }
}

/// Imports a copy of each fixture in each place; each copy of the analytics fixture points its
/// associated and consult conversations at copies in other places.
async fn spread(server: &Server) -> Vec<Made> {
    let mut made = Vec::new();
    let mut documents = Vec::new();
    let id = |f: usize, p: usize| format!("c0ffee00-0000-4000-8000-0000000{f}{p:04}");
    for (f, (path, fixture_id)) in FIXTURES.iter().enumerate() {
        let text = std::fs::read_to_string(path).expect("fixture");
        for (p, (divisions, business_unit)) in PLACES.iter().enumerate() {
            let mut document: Value =
                serde_json::from_str(&text.replace(fixture_id, &id(f, p))).expect("json");
            if document.get("associatedConversationId").is_some() {
                document["associatedConversationId"] = json!(id(f, (p + 2) % PLACES.len()));
                document["consultationConversationIds"] = json!([
                    id(f, (p + 1) % PLACES.len()),
                    id(f, (p + 3) % PLACES.len()),
                    "c0ffee00-0000-4000-8000-00000000ffff",
                ]);
            }
            name_metrics(&mut document);
            documents.push(document);
            made.push(Made {
                id: id(f, p),
                divisions,
                business_unit: *business_unit,
            });
        }
    }
    server.import(&documents).await;
    // A Buzzeasy call in every place, with every personal column of a conversation filled
    // (the Genesys fixtures have no customer names, channel numbers or subjects).
    let calls: Vec<Value> = (0..PLACES.len())
        .map(|p| {
            let mut call = json!({"id": id(9, p), "startedAtUTC": "2026-11-02T08:00:00Z"});
            let row = domain::graph::ConversationRow::SOURCE_FIELDS
                .iter()
                .zip(domain::graph::ConversationRow::FIELD_KINDS);
            for ((source, column), (_, kind)) in row {
                if domain::graph::ConversationRow::PERSONAL.contains(column) {
                    call[*source] = match *kind {
                        "strs" => json!([format!("personal {column}")]),
                        "json" => json!({"personal": column}),
                        _ => json!(format!("personal {column}")),
                    };
                }
            }
            call
        })
        .collect();
    let writer = server.writer(Some(&["*"]), None);
    let report = server
        .data(
            &writer,
            "mutation($rows: [JSON!]!) { ingestRecords(table: \"Calls\", rows: $rows) { created rejected } }",
            json!({"rows": calls}),
        )
        .await;
    assert_eq!(report["ingestRecords"]["rejected"], 0, "{report}");
    for (p, (divisions, business_unit)) in PLACES.iter().enumerate() {
        made.push(Made {
            id: id(9, p),
            divisions,
            business_unit: *business_unit,
        });
    }
    // The Genesys shapes carry no business unit, and divisions in two spellings: place every
    // copy exactly (its metric facts carry the same scope).
    for m in &made {
        let divisions: Vec<String> = m.divisions.iter().map(|d| d.to_string()).collect();
        for table in ["conversations", "metric_facts"] {
            sqlx::query(&format!(
                "update {table} set division_ids = $2, business_unit_id = $3
                 where conversation_id = $1"
            ))
            .bind(&m.id)
            .bind(&divisions)
            .bind(m.business_unit)
            .execute(server.db.pool())
            .await
            .expect("place");
        }
    }
    // Facts changed behind the writers' back: their rollup buckets are to be recomputed.
    sqlx::query(
        "insert into metric_rollup_queue (bucket)
         select distinct date_bin('15 minutes', emit_date, timestamptz '1970-01-01 00:00:00Z')
         from metric_facts",
    )
    .execute(server.db.pool())
    .await
    .expect("queue");
    made
}

/// Gives the fixture's session metrics real metric names, so that aggregates count them.
fn name_metrics(value: &mut Value) {
    const NAMES: [&str; 3] = ["nOffered", "tTalk", "tHandle"];
    match value {
        Value::Object(object) => {
            if let Some(Value::Array(metrics)) = object.get_mut("metrics") {
                for (i, metric) in metrics.iter_mut().enumerate() {
                    metric["name"] = json!(NAMES[i % NAMES.len()]);
                }
            }
            object.values_mut().for_each(name_metrics);
        }
        Value::Array(items) => items.iter_mut().for_each(name_metrics),
        _ => {}
    }
}

/// The store's graph of `id`, as a caller with or without `pii:read` must see it.
async fn truth(server: &Server, id: &str, personal: bool) -> Value {
    let mut conn = server.db.pool().acquire().await.expect("connection");
    let mut graph = db::graph::load_conversation(&mut conn, id)
        .await
        .expect("load")
        .expect("stored");
    if !personal {
        graph.redact_personal();
    }
    serde_json::to_value(&graph).expect("graph as JSON")
}

/// Every row type of the conversation graph, by the GraphQL type that serves it, with the
/// columns its `row!` declaration marks `[personal]`: what must be null without `pii:read`.
fn personal_columns() -> BTreeMap<&'static str, &'static [&'static str]> {
    use domain::graph::*;
    BTreeMap::from([
        ("Conversation", ConversationRow::PERSONAL),
        ("Participant", ParticipantRow::PERSONAL),
        ("Session", SessionRow::PERSONAL),
        ("Segment", SegmentRow::PERSONAL),
        ("SessionMetric", MetricRow::PERSONAL),
        ("Flow", FlowRow::PERSONAL),
        ("FlowOutcome", FlowOutcomeRow::PERSONAL),
        ("ProposedAgent", ProposedAgentRow::PERSONAL),
        ("MediaEndpointStat", MediaEndpointStatRow::PERSONAL),
        ("AgentGroup", AgentGroupRow::PERSONAL),
        ("ScoredAgent", ScoredAgentRow::PERSONAL),
        ("SegmentProperty", SegmentPropertyRow::PERSONAL),
        ("Evaluation", EvaluationRow::PERSONAL),
        ("Survey", SurveyRow::PERSONAL),
        ("Resolution", ResolutionRow::PERSONAL),
        ("Transfer", TransferRow::PERSONAL),
        ("DivisionEntity", DivisionEntityRow::PERSONAL),
        ("Division", DivisionRow::PERSONAL),
    ])
}

/// `snake_case` -> `camelCase`, as async-graphql names a row's fields.
fn camel(column: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in column.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether a served value is empty: null, or the empty value of a personal key column.
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// What the personal columns held across a walk: `(type, column)` -> how many served values
/// were filled.
type Filled = BTreeMap<(String, String), usize>;

/// Walks `value`, an object of GraphQL type `type_name` (through the introspected `types`), and
/// for every object of a row type counts its filled personal columns (served under their
/// camelCase names) into `filled`; `extra` must be empty when `redacted`.
fn walk_personal(
    types: &BTreeMap<String, Value>,
    columns: &BTreeMap<&'static str, &'static [&'static str]>,
    value: &Value,
    type_name: &str,
    redacted: bool,
    filled: &mut Filled,
    what: &str,
) {
    match value {
        Value::Array(items) => {
            for item in items {
                walk_personal(types, columns, item, type_name, redacted, filled, what);
            }
        }
        Value::Object(object) => {
            if let Some(personal) = columns.get(type_name) {
                for column in *personal {
                    let field = camel(column);
                    // A relation may select a few fields only: a column never served at all
                    // shows as never filled.
                    let Some(served) = object.get(&field) else {
                        continue;
                    };
                    let count = filled
                        .entry((type_name.to_owned(), field.clone()))
                        .or_default();
                    if !is_empty(served) {
                        *count += 1;
                    }
                }
                if redacted && let Some(extra) = object.get("extra") {
                    assert!(is_empty(extra), "{what}: {type_name}.extra: {extra}");
                }
            }
            let Some(fields) = types.get(type_name).and_then(|t| t["fields"].as_array()) else {
                return;
            };
            for field in fields {
                let name = field["name"].as_str().expect("name");
                let (kind, inner) = crate::common::walk::named(&field["type"]);
                if kind == "OBJECT"
                    && let Some(child) = object.get(name)
                {
                    walk_personal(types, columns, child, inner, redacted, filled, what);
                }
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn every_token_sees_exactly_its_scope_through_every_root_field_and_relation() {
    // Every conversation made is asked for by id in one operation.
    let server = Server::start_with(
        &[],
        crate::common::Setup {
            limits: api::Limits {
                max_root_fields: 64,
                ..api::Limits::demo()
            },
            ..crate::common::Setup::default()
        },
    )
    .await;
    let made = spread(&server).await;
    let admin = Token {
        name: "admin",
        divisions: Some(&["*"]),
        business_units: None,
        personal: true,
    };
    let types = types(&server, &admin.mint(&server)).await;
    let everything = conversation_selection(&types);
    let relations = "associatedConversation { id } consultationConversations { id }";
    let list = format!(
        "{{ conversations(first: 100) {{ totalCount nodes {{ {everything} {relations} }} }} }}"
    );
    let mut by_id = String::from("{");
    for (i, m) in made.iter().enumerate() {
        by_id += &format!(" c{i}: conversation(id: \"{}\") {{ {everything} }}", m.id);
    }
    by_id += " missing: conversation(id: \"c0ffee00-0000-4000-8000-00000000ffff\") { id } }";

    let metrics: Vec<String> = server
        .data(
            &admin.mint(&server),
            "{ aggregateMetrics { name } }",
            json!({}),
        )
        .await["aggregateMetrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .map(|m| m["name"].as_str().expect("name").to_owned())
        .filter(|m| m != "oServiceLevel")
        .collect();

    let personal = personal_columns();
    // (type, field) -> how many filled values tokens with `pii:read` were served: each marked
    // column must be filled somewhere in the fixtures, or its redaction would go untested.
    let mut served_personal = Filled::new();
    let mut checked_rows = 0;
    let mut aggregated = 0;
    for token in TOKENS {
        let bearer = token.mint(&server);
        let what = token.name;
        let visible: BTreeSet<&str> = made
            .iter()
            .filter(|m| token.sees(m))
            .map(|m| m.id.as_str())
            .collect();

        // The connection: exactly the visible conversations, each whole.
        let data = server.data(&bearer, &list, json!({})).await;
        let nodes = data["conversations"]["nodes"].as_array().expect("nodes");
        let served: BTreeSet<&str> = nodes
            .iter()
            .map(|n| n["id"].as_str().expect("id"))
            .collect();
        assert_eq!(served, visible, "{what}: the conversations listed");
        assert_eq!(
            data["conversations"]["totalCount"],
            json!(visible.len()),
            "{what}: totalCount"
        );
        for node in nodes {
            let id = node["id"].as_str().expect("id");
            let stored = truth(&server, id, token.personal).await;
            let mut copy = node.clone();
            let object = copy.as_object_mut().expect("node");
            let associated = object.remove("associatedConversation").expect("field");
            let consulted = object.remove("consultationConversations").expect("field");
            checked_rows += assert_same_graph(&copy, &stored, &format!("{what}: {id}"));
            let mut filled = Filled::new();
            walk_personal(
                &types,
                &personal,
                node,
                "Conversation",
                !token.personal,
                &mut filled,
                &format!("{what}: {id}"),
            );
            for ((type_name, field), count) in filled {
                if token.personal {
                    *served_personal.entry((type_name, field)).or_default() += count;
                } else {
                    assert_eq!(
                        count, 0,
                        "{what}: {id}: {type_name}.{field} without pii:read"
                    );
                }
            }
            // Relations to other conversations show only visible ones.
            if let Some(target) = associated["id"].as_str() {
                assert!(visible.contains(target), "{what}: {id} associated {target}");
            }
            let wanted = stored["conversation"]["associated_conversation_id"].as_str();
            if wanted.is_some_and(|w| visible.contains(w)) {
                assert_eq!(associated["id"].as_str(), wanted, "{what}: {id} associated");
            }
            let consulted: BTreeSet<&str> = consulted
                .as_array()
                .expect("consultationConversations")
                .iter()
                .map(|c| c["id"].as_str().expect("id"))
                .collect();
            let expected: BTreeSet<&str> = stored["conversation"]["consultation_conversation_ids"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter(|c| visible.contains(c))
                .collect();
            assert_eq!(consulted, expected, "{what}: {id} consultations");
        }

        // By id: the visible ones whole; the others exactly like a missing one.
        let data = server.data(&bearer, &by_id, json!({})).await;
        assert!(data["missing"].is_null());
        for (i, m) in made.iter().enumerate() {
            let got = &data[format!("c{i}")];
            if visible.contains(m.id.as_str()) {
                let stored = truth(&server, &m.id, token.personal).await;
                assert_same_graph(got, &stored, &format!("{what}: by id {}", m.id));
            } else {
                assert!(got.is_null(), "{what}: {} must look missing", m.id);
            }
        }

        // Filters cannot widen the scope.
        let data = server
            .data(
                &bearer,
                r#"{ conversations(filter: {divisionIds: ["div-a", "div-b", "div-c", "div-hidden"],
                      businessUnitIds: ["bu-1", "bu-2"]}, first: 100) {
                     totalCount nodes { id } } }"#,
                json!({}),
            )
            .await;
        let filtered: BTreeSet<&str> = data["conversations"]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| n["id"].as_str().expect("id"))
            .collect();
        assert!(
            filtered.is_subset(&visible),
            "{what}: a filter widened the scope"
        );

        // Aggregates count exactly the metrics of the visible conversations.
        let data = server
            .data(
                &bearer,
                r#"query($metrics: [String!]!) { conversationAggregates(
                     interval: "2000-01-01T00:00:00Z/2100-01-01T00:00:00Z", metrics: $metrics) {
                     data { metrics { metric stats { count } } } } }"#,
                json!({ "metrics": metrics }),
            )
            .await;
        let served: BTreeMap<String, i64> = data["conversationAggregates"]
            .as_array()
            .expect("results")
            .iter()
            .flat_map(|r| r["data"].as_array().expect("data").clone())
            .flat_map(|d| d["metrics"].as_array().expect("metrics").clone())
            .map(|m| {
                let name = m["metric"].as_str().expect("metric").to_owned();
                (name, m["stats"]["count"].as_i64().expect("count"))
            })
            .collect();
        let truth: BTreeMap<String, i64> = sqlx::query_as(
            "select name, count(*) from session_metrics
             where conversation_id = any($1) and name = any($2) and emit_date is not null
             group by name",
        )
        .bind(visible.iter().map(|v| v.to_string()).collect::<Vec<_>>())
        .bind(&metrics)
        .fetch_all(server.db.pool())
        .await
        .expect("truth")
        .into_iter()
        .collect();
        assert_eq!(served, truth, "{what}: aggregates");
        aggregated += truth.values().sum::<i64>();
    }
    assert!(checked_rows > 50, "the walk compared {checked_rows} tables");
    let unfilled: Vec<String> = personal
        .iter()
        .flat_map(|(type_name, columns)| {
            columns
                .iter()
                .map(move |column| (type_name.to_string(), camel(column)))
        })
        .filter(|key| served_personal.get(key).is_none_or(|n| *n == 0))
        .map(|(type_name, field)| format!("{type_name}.{field}"))
        .collect();
    assert!(
        unfilled.is_empty(),
        "personal columns the fixtures never fill, so their redaction is untested: {unfilled:?}"
    );
    assert!(
        aggregated > 20,
        "the aggregates counted {aggregated} metrics"
    );
}

#[tokio::test]
async fn personal_filters_need_pii_read_so_they_cannot_probe_values() {
    let server = Server::start_with_files(&[Path::new(FIXTURES[0].0)]).await;
    let without = server.token_with(Some(&["*"]), &["conversations:read"]);
    for filter in [r#"{anis: ["+1"]}"#, r#"{dnises: ["+1"]}"#] {
        let (status, body) = server
            .query(
                Some(&without),
                &format!("{{ conversations(filter: {filter}) {{ totalCount }} }}"),
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{body}"
        );
        assert!(body["data"].is_null(), "{body}");
    }
}

/// The feed's rows in every place (`p` its index in [`PLACES`]): a workitem and an agent state
/// of an agent assigned to the place's business unit, a campaign of that unit with a record, and
/// two flow metric records: one carrying the place's divisions, one carrying none but hanging on
/// the analytics copy made in that place (visible with its conversation).
async fn spread_feed(server: &Server, made: &[Made]) {
    let writer = server.writer(Some(&["*"]), None);
    let at = "2026-11-02T08:00:00Z";
    let mut tables: Vec<(&str, Vec<Value>)> = vec![
        ("Workitems", Vec::new()),
        ("Campaigns", Vec::new()),
        ("CampaignRecords", Vec::new()),
        ("AgentBusinessUnitChanges", Vec::new()),
        ("AgentStates", Vec::new()),
        ("FlowMetrics", Vec::new()),
    ];
    for (p, (divisions, unit)) in PLACES.iter().enumerate() {
        let rows = [
            json!({"id": format!("w-{p}"), "businessUnitId": unit, "agentId": format!("ag-{p}"),
                   "startTimeUTC": at}),
            json!({"id": format!("cp-{p}"), "name": format!("Campaign {p}"),
                   "businessUnitId": unit}),
            json!({"id": format!("r-{p}"), "campaignId": format!("cp-{p}"), "createdAtUtc": at}),
            json!({"agentId": format!("ag-{p}"), "businessUnitId": unit.unwrap_or("bu-none"),
                   "assigned": unit.is_some(), "timestampUtc": "2026-10-01T00:00:00Z"}),
            json!({"id": format!("st-{p}"), "agentId": format!("ag-{p}"), "state": "Idle",
                   "startTimeUtc": at, "durationInSeconds": 60}),
        ];
        for ((_, list), row) in tables.iter_mut().zip(rows) {
            list.push(row);
        }
        let flows = &mut tables[5].1;
        flows.push(json!({"metric": "nFlow", "metricDate": at, "value": 1,
                          "recordId": format!("fm-{p}-own"), "conversationId": "elsewhere",
                          "divisionIds": divisions}));
        let copy = &made[p].id;
        flows.push(json!({"metric": "nFlow", "metricDate": at, "value": 1,
                          "recordId": format!("fm-{p}-conversation"), "conversationId": copy,
                          "divisionIds": []}));
    }
    for (table, rows) in tables {
        let body = server
            .data(
                &writer,
                "mutation($t: String!, $rows: [JSON!]!) {
                   ingestRecords(table: $t, rows: $rows) { created rejected } }",
                json!({"t": table, "rows": rows}),
            )
            .await;
        let report = &body["ingestRecords"];
        assert_eq!(report["rejected"], json!(0), "{table}: {body}");
        assert_eq!(report["created"], json!(rows.len()), "{table}: {body}");
    }
}

/// The count of `metric` a sibling serves over all time, in one bucket.
async fn sibling_count(server: &Server, token: &str, root: &str, metric: &str) -> i64 {
    let data = server
        .data(
            token,
            &format!(
                r#"{{ result: {root}(interval: "2000-01-01T00:00:00Z/2100-01-01T00:00:00Z",
                       metrics: ["{metric}"]) {{ data {{ metrics {{ stats {{ count }} }} }} }} }}"#
            ),
            json!({}),
        )
        .await;
    data["result"]
        .as_array()
        .expect("results")
        .iter()
        .flat_map(|r| r["data"].as_array().expect("data").clone())
        .flat_map(|d| d["metrics"].as_array().expect("metrics").clone())
        .map(|m| m["stats"]["count"].as_i64().expect("count"))
        .sum()
}

#[tokio::test]
async fn every_token_counts_exactly_the_feed_rows_of_its_scope_in_every_sibling_aggregate() {
    let server = Server::start(&[]).await;
    let made = spread(&server).await;
    spread_feed(&server, &made).await;
    let mut counted = 0;
    for token in TOKENS {
        let bearer = token.mint(&server);
        let what = token.name;
        let units = PLACES
            .iter()
            .filter(|(_, unit)| token.sees_unit(*unit))
            .count() as i64;
        for (root, metric) in [
            ("workitemAggregates", "nWorkitems"),
            ("campaignRecordAggregates", "nRecords"),
            ("agentStateAggregates", "nStates"),
        ] {
            let served = sibling_count(&server, &bearer, root, metric).await;
            assert_eq!(served, units, "{what}: {root}");
            counted += served;
        }
        // A flow record shows by its own divisions, or with its conversation.
        let own = PLACES
            .iter()
            .filter(|(divisions, _)| {
                token.sees(&Made {
                    id: String::new(),
                    divisions,
                    business_unit: None,
                })
            })
            .count();
        let with_conversation = made
            .iter()
            .take(PLACES.len())
            .filter(|m| token.sees(m))
            .count();
        let served = sibling_count(&server, &bearer, "flowAggregates", "nFlow").await;
        assert_eq!(
            served,
            (own + with_conversation) as i64,
            "{what}: flowAggregates"
        );
        counted += served;
    }
    assert!(counted > 50, "the siblings counted {counted} rows");
}

/// The columns the probe of issue 17 found served without `pii:read` are marked personal, and
/// a flow's transfer target is personal alike on `Flow` and on `FlowMetric`.
#[test]
fn the_flow_and_division_entity_columns_the_probe_found_are_personal_and_consistent() {
    use domain::flow_metrics::FlowMetricRow;
    use domain::graph::{DivisionEntityRow, FlowRow};
    for column in [
        "entry_reason",
        "transfer_target_address",
        "transfer_target_name",
    ] {
        assert!(FlowRow::PERSONAL.contains(&column), "Flow.{column}");
    }
    assert!(DivisionEntityRow::PERSONAL.contains(&"name"));
    // A column a flow and a flow metric record share is personal in both or in neither.
    let flow: BTreeSet<&str> = FlowRow::SOURCE_FIELDS.iter().map(|(_, c)| *c).collect();
    for (_, column) in FlowMetricRow::SOURCE_FIELDS {
        if flow.contains(column) {
            assert_eq!(
                FlowRow::PERSONAL.contains(column),
                FlowMetricRow::PERSONAL.contains(column),
                "{column}"
            );
        }
    }
}

/// Every row type of the Buzzeasy feed and the flow metric records, by the GraphQL type that
/// serves it: its target table, its `[personal]` columns, and its source fields and their kinds.
type FeedRow = (
    domain::ingest::Target,
    &'static str,
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
    &'static [(&'static str, &'static str)],
);

fn feed_rows() -> Vec<FeedRow> {
    use domain::buzzeasy::*;
    use domain::flow_metrics::FlowMetricRow;
    use domain::ingest::Target::{Feed, FlowMetrics};
    macro_rules! rows {
        ($($target:expr, $name:literal, $row:ty;)*) => {
            vec![$(($target, $name, <$row>::PERSONAL, <$row>::SOURCE_FIELDS, <$row>::FIELD_KINDS)),*]
        };
    }
    rows![
        Feed(Table::BusinessUnits), "BusinessUnit", BusinessUnitRow;
        Feed(Table::Agents), "Agent", AgentRow;
        Feed(Table::Users), "User", UserRow;
        Feed(Table::AgentStates), "AgentState", AgentStateRow;
        Feed(Table::AgentBusinessUnitChanges), "AgentBusinessUnitChange", AgentBusinessUnitChangeRow;
        Feed(Table::Channels), "Channel", ChannelRow;
        Feed(Table::Queues), "Queue", QueueRow;
        Feed(Table::BotSteps), "BotStep", BotStepRow;
        Feed(Table::BotSegments), "BotSegment", BotSegmentRow;
        Feed(Table::QueueSegments), "QueueSegment", QueueSegmentRow;
        Feed(Table::RejectedEnqueueAttempts), "RejectedEnqueueAttempt", RejectedEnqueueAttemptRow;
        Feed(Table::CapturedData), "CapturedData", CapturedDataRow;
        Feed(Table::Workitems), "Workitem", WorkitemRow;
        Feed(Table::WorkitemConversationSessions), "WorkitemConversation", WorkitemConversationSessionRow;
        Feed(Table::CollectedData), "CollectedData", CollectedDataRow;
        Feed(Table::WorkitemEvaluations), "WorkitemEvaluation", WorkitemEvaluationRow;
        Feed(Table::WorkitemEvaluationData), "WorkitemEvaluationAnswer", WorkitemEvaluationDataRow;
        Feed(Table::Campaigns), "Campaign", CampaignRow;
        Feed(Table::CampaignRecords), "CampaignRecord", CampaignRecordRow;
        Feed(Table::CampaignRecordCustomFields), "CampaignRecordCustomField", CampaignRecordCustomFieldRow;
        Feed(Table::CampaignRecordPhoneNumbers), "CampaignRecordPhoneNumber", CampaignRecordPhoneNumberRow;
        Feed(Table::CampaignRecordRegistrations), "CampaignRecordRegistration", CampaignRecordRegistrationRow;
        FlowMetrics, "FlowMetric", FlowMetricRow;
    ]
}

/// A row of `row`'s table with its keys, hanging on the parents every row of this test shares,
/// and every personal column filled (column-named JSON, as the write path stores it).
fn filled_row(row: &FeedRow) -> Value {
    let (target, _, personal, sources, kinds) = *row;
    let at = "2026-11-02T08:00:00Z";
    let id = |column: &str| match column {
        "conversation_id" => json!("bz-feed"),
        "workitem_id" => json!("w-feed"),
        "channel_id" => json!("ch-feed"),
        "campaign_id" => json!("cp-feed"),
        "record_id" => json!("r-feed"),
        "business_unit_id" => json!("bu-1"),
        "agent_id" => json!("a-feed"),
        "user_id" => json!("u-feed"),
        "queue_id" => json!("q-feed"),
        "bot_step_id" => json!("bs-feed"),
        "timestamp" => json!(at),
        c if c.ends_with("_at") => json!(at),
        c => json!(format!("{c}-feed")),
    };
    let mut value = json!({"extra": {}});
    for key in target.key_columns() {
        value[*key] = id(key);
    }
    for ((_, column), (_, kind)) in sources.iter().zip(kinds) {
        if column.ends_with("_id") {
            value[*column] = id(column);
        }
        // Times too: lists are ordered by them.
        if *kind == "time" && *column != "deleted_at" {
            value[*column] = json!(at);
        }
    }
    for column in personal {
        let kind = sources
            .iter()
            .zip(kinds)
            .find(|((_, c), _)| c == column)
            .map_or("str", |(_, (_, kind))| *kind);
        value[*column] = match kind {
            "strs" => json!([format!("personal {column}")]),
            "json" => json!({"personal": column}),
            _ => json!(format!("personal {column}")),
        };
    }
    value
}

/// A selection of every field of `type_name` that takes no required argument, through object
/// fields whose type is not on `path`, `depth` levels deep at most.
fn full_selection(
    types: &BTreeMap<String, Value>,
    type_name: &str,
    path: &mut Vec<String>,
    depth: usize,
) -> String {
    path.push(type_name.to_owned());
    let mut out = vec!["__typename".to_owned()];
    for field in types[type_name]["fields"].as_array().expect("fields") {
        let name = field["name"].as_str().expect("name");
        let required = field["args"]
            .as_array()
            .is_some_and(|args| args.iter().any(|a| a["type"]["kind"] == "NON_NULL"));
        if required {
            continue;
        }
        let (kind, inner) = crate::common::walk::named(&field["type"]);
        if kind == "OBJECT" {
            if depth > 0 && !path.iter().any(|p| p == inner) {
                let inside = full_selection(types, inner, path, depth - 1);
                out.push(format!("{name} {{ {inside} }}"));
            }
        } else {
            out.push(name.to_owned());
        }
    }
    path.pop();
    out.join(" ")
}

#[tokio::test]
async fn every_personal_column_of_the_feed_and_flow_metrics_is_null_without_pii_read() {
    let server = Server::start_with(
        &[],
        crate::common::Setup {
            limits: api::Limits {
                max_complexity: usize::MAX,
                max_depth: 64,
                ..api::Limits::demo()
            },
            ..crate::common::Setup::default()
        },
    )
    .await;
    let writer = server.writer(Some(&["*"]), None);
    let call = json!([{"id": "bz-feed", "businessUnitId": "bu-1", "startedAtUTC": "2026-11-02T08:00:00Z"}]);
    let report = server
        .data(
            &writer,
            "mutation($rows: [JSON!]!) { ingestRecords(table: \"Calls\", rows: $rows) { rejected } }",
            json!({"rows": call}),
        )
        .await;
    assert_eq!(report["ingestRecords"]["rejected"], 0, "{report}");
    let rows = feed_rows();
    let filled_rows: Vec<Value> = rows.iter().map(filled_row).collect();
    let items: Vec<(domain::ingest::Target, &Value)> = rows
        .iter()
        .zip(&filled_rows)
        .map(|(row, value)| (row.0, value))
        .collect();
    for (outcome, (target, _)) in
        db::ingest::write_rows(server.db.pool(), &domain::Scope::All, &items)
            .await
            .into_iter()
            .zip(&items)
    {
        assert!(outcome.is_ok(), "{target:?}: {outcome:?}");
    }
    let columns: BTreeMap<&'static str, &'static [&'static str]> = rows
        .iter()
        .map(|(_, name, personal, _, _)| (*name, *personal))
        .collect();
    let with_pii = server.token_with(Some(&["*"]), &["conversations:read", "pii:read"]);
    let without = server.token(Some(&["*"]));
    let schema = server
        .data(
            &with_pii,
            r#"{ __schema { types { name kind fields {
                 name args { name type { kind } }
                 type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }"#,
            json!({}),
        )
        .await;
    let types: BTreeMap<String, Value> = schema["__schema"]["types"]
        .as_array()
        .expect("types")
        .iter()
        .map(|t| (t["name"].as_str().expect("name").to_owned(), t.clone()))
        .collect();
    // Every root that lists rows (a connection's `nodes`, or its `edges { node }`), walked
    // three levels deep.
    let field_type = |type_name: &str, field: &str| -> Option<String> {
        types.get(type_name)?["fields"]
            .as_array()?
            .iter()
            .find(|f| f["name"] == field)
            .map(|f| crate::common::walk::named(&f["type"]).1.to_owned())
    };
    let roots: Vec<(String, String, bool)> = types["QueryRoot"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|field| {
            let required = field["args"]
                .as_array()
                .is_some_and(|args| args.iter().any(|a| a["type"]["kind"] == "NON_NULL"));
            if required {
                return None;
            }
            let (_, connection) = crate::common::walk::named(&field["type"]);
            let name = field["name"].as_str().expect("name").to_owned();
            match field_type(connection, "nodes") {
                Some(node) => Some((name, node, false)),
                None => {
                    let edge = field_type(connection, "edges")?;
                    Some((name, field_type(&edge, "node")?, true))
                }
            }
        })
        .collect();
    let mut served = Filled::new();
    assert!(roots.len() > 10, "{roots:?}");
    for (root, node, edges) in &roots {
        let selection = full_selection(&types, node, &mut Vec::new(), 3);
        let query = if *edges {
            format!("{{ {root} {{ edges {{ node {{ {selection} }} }} }} }}")
        } else {
            format!("{{ {root} {{ nodes {{ {selection} }} }} }}")
        };
        for (token, redacted) in [(&with_pii, false), (&without, true)] {
            let data = server.data(token, &query, json!({})).await;
            let nodes: Value = if *edges {
                data[root.as_str()]["edges"]
                    .as_array()
                    .expect("edges")
                    .iter()
                    .map(|edge| edge["node"].clone())
                    .collect()
            } else {
                data[root.as_str()]["nodes"].clone()
            };
            let mut filled = Filled::new();
            walk_personal(&types, &columns, &nodes, node, redacted, &mut filled, root);
            for ((type_name, field), count) in filled {
                if redacted {
                    assert_eq!(count, 0, "{root}: {type_name}.{field} without pii:read");
                } else {
                    *served.entry((type_name, field)).or_default() += count;
                }
            }
        }
    }
    let unfilled: Vec<String> = columns
        .iter()
        .flat_map(|(type_name, personal)| {
            personal
                .iter()
                .map(move |column| (type_name.to_string(), camel(column)))
        })
        .filter(|key| served.get(key).is_none_or(|n| *n == 0))
        .map(|(type_name, field)| format!("{type_name}.{field}"))
        .collect();
    assert!(
        unfilled.is_empty(),
        "personal columns never served filled, so their redaction is untested: {unfilled:?}"
    );
}

#[tokio::test]
async fn every_token_hears_exactly_the_changes_of_its_scope_through_every_subscription() {
    let server = Server::start(&[]).await;
    let made = spread(&server).await;
    let admin = Token {
        name: "admin",
        divisions: Some(&["*"]),
        business_units: None,
        personal: true,
    };
    let types = types(&server, &admin.mint(&server)).await;
    let everything = conversation_selection(&types);
    let personal = personal_columns();

    // Every token subscribes to every conversation change, with every field.
    let mut clients = Vec::new();
    for token in TOKENS {
        let mut client = crate::common::ws::Client::connect(&server, &token.mint(&server)).await;
        client
            .subscribe(
                "all",
                &format!("subscription {{ conversationChanged {{ {everything} }} }}"),
                json!({}),
            )
            .await;
        clients.push((token, client));
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    // Every conversation changes: the notification every write path sends, for each.
    sqlx::query(
        "select pg_notify('convgraph_changes', json_build_object('t', 'conversation', 'id', conversation_id)::text)
         from conversations",
    )
    .execute(server.db.pool())
    .await
    .expect("notify");

    for (token, client) in &mut clients {
        let what = token.name;
        let visible: BTreeSet<&str> = made
            .iter()
            .filter(|m| token.sees(m))
            .map(|m| m.id.as_str())
            .collect();
        let mut heard = BTreeSet::new();
        for _ in 0..visible.len() {
            let data = client.data("all").await;
            let node = &data["conversationChanged"];
            let id = node["id"].as_str().expect("id").to_owned();
            let stored = truth(&server, &id, token.personal).await;
            assert_same_graph(node, &stored, &format!("{what}: pushed {id}"));
            let mut filled = Filled::new();
            walk_personal(
                &types,
                &personal,
                node,
                "Conversation",
                !token.personal,
                &mut filled,
                what,
            );
            if !token.personal {
                assert!(
                    filled.values().all(|n| *n == 0),
                    "{what}: {id}: personal data pushed"
                );
            }
            heard.insert(id);
        }
        assert_eq!(
            heard.iter().map(String::as_str).collect::<BTreeSet<_>>(),
            visible,
            "{what}: the conversations pushed"
        );
        // Nothing beyond its scope follows.
        assert_eq!(
            client.within(std::time::Duration::from_millis(300)).await,
            None,
            "{what}: pushed more than its scope"
        );
    }
}
