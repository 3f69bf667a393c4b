//! Walking the whole graph through GraphQL and comparing it with the store: the query is built
//! from the schema itself (every field of every type reachable from `Conversation`, without
//! walking back into a type already on the path), so a field added later is covered without
//! touching the tests that use this.

use super::Server;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

pub const INTROSPECTION: &str = r#"{ __schema { types { name kind fields {
    name args { name } type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }"#;

/// The named type under list / non-null wrappers.
pub fn named(ty: &Value) -> (&str, &str) {
    let mut t = ty;
    while t["name"].is_null() {
        t = &t["ofType"];
    }
    (
        t["kind"].as_str().expect("kind"),
        t["name"].as_str().expect("name"),
    )
}

/// The types of the Buzzeasy feed: the conversation graph's walk leaves them out (they are
/// not rows of a conversation graph); the feed's tests walk them.
pub const FEED_TYPES: &[&str] = &[
    "Workitem",
    "WorkitemConversation",
    "WorkitemEvaluation",
    "WorkitemEvaluationAnswer",
    "Agent",
    "AgentState",
    "AgentBusinessUnitChange",
    "User",
    "Queue",
    "Channel",
    "BusinessUnit",
    "BotStep",
    "QueueSegment",
    "BotSegment",
    "RejectedEnqueueAttempt",
    "CapturedData",
    "CollectedData",
    "Campaign",
    "CampaignRecord",
    "CampaignRecordCustomField",
    "CampaignRecordPhoneNumber",
    "CampaignRecordRegistration",
];

/// A selection of every field of `type_name`, recursing into object fields whose type is not
/// already on `path`.
pub fn selection(
    types: &BTreeMap<String, Value>,
    type_name: &str,
    path: &mut Vec<String>,
) -> String {
    path.push(type_name.to_owned());
    let mut out = Vec::new();
    for field in types[type_name]["fields"].as_array().expect("fields") {
        let name = field["name"].as_str().expect("name");
        if FEED_TYPES.contains(&named(&field["type"]).1) {
            continue;
        }
        assert!(
            field["args"].as_array().is_none_or(Vec::is_empty),
            "{type_name}.{name} takes arguments; teach this test about them"
        );
        let (kind, inner) = named(&field["type"]);
        if kind == "OBJECT" {
            if !path.iter().any(|p| p == inner) {
                out.push(format!("{name} {{ {} }}", selection(types, inner, path)));
            }
        } else {
            out.push(name.to_owned());
        }
    }
    path.pop();
    out.join(" ")
}

/// snake_case -> camelCase, as async-graphql names fields.
fn camel(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.chars() {
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

/// A stored row as the API spells it.
pub fn as_api(row: &Value) -> Value {
    let object = row.as_object().expect("row object");
    Value::Object(
        object
            .iter()
            .map(|(k, v)| {
                let key = if k == "extra" { k.clone() } else { camel(k) };
                (key, v.clone())
            })
            .collect(),
    )
}

/// Which store table a relation field of the response reads.
pub fn table_of(field: &str) -> Option<&'static str> {
    Some(match field {
        "participants" => "participants",
        "sessions" => "sessions",
        "segments" => "segments",
        "metrics" => "metrics",
        "flow" => "flows",
        "outcomes" => "flow_outcomes",
        "proposedAgents" => "proposed_agents",
        "mediaEndpointStats" => "media_endpoint_stats",
        "agentGroups" => "agent_groups",
        "scoredAgents" => "scored_agents",
        "properties" => "segment_properties",
        "evaluations" => "evaluations",
        "surveys" => "surveys",
        "resolutions" => "resolutions",
        "transfers" => "transfers",
        "divisionEntities" => "division_entities",
        _ => return None,
    })
}

/// The object without its relations and derived fields: what a stored row holds.
pub fn columns(object: &Map<String, Value>) -> Value {
    Value::Object(
        object
            .iter()
            .filter(|(k, _)| {
                let relation = table_of(k).is_some()
                    || matches!(
                        k.as_str(),
                        "peer"
                            | "divisions"
                            | "associatedConversation"
                            | "consultationConversations"
                    );
                !relation && !matches!(k.as_str(), "id" | "durationMs")
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

/// Every object of the response under a relation field, by store table.
pub fn collect(value: &Value, into: &mut BTreeMap<&'static str, Vec<Value>>) {
    let Some(object) = value.as_object() else {
        return;
    };
    for (field, child) in object {
        let Some(table) = table_of(field) else {
            continue;
        };
        let children: Vec<&Value> = match child {
            Value::Array(items) => items.iter().collect(),
            Value::Object(_) => vec![child],
            _ => vec![],
        };
        for item in children {
            into.entry(table)
                .or_default()
                .push(columns(item.as_object().expect("object")));
            collect(item, into);
        }
    }
}

/// Times in one spelling (the API writes `+00:00`, the store's JSON `Z`), everything else as is.
pub fn canonical(value: Value) -> Value {
    match value {
        Value::String(s) => match chrono::DateTime::parse_from_rfc3339(&s) {
            Ok(t) => Value::String(t.to_utc().to_rfc3339()),
            Err(_) => Value::String(s),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, canonical(v))).collect())
        }
        other => other,
    }
}

pub fn sorted(rows: Vec<Value>) -> Vec<Value> {
    let mut rows: Vec<Value> = rows.into_iter().map(canonical).collect();
    rows.sort_by_key(Value::to_string);
    rows
}

/// The schema's types by name, as introspection gives them.
pub async fn types(server: &Server, token: &str) -> BTreeMap<String, Value> {
    let schema = server.data(token, INTROSPECTION, json!({})).await;
    schema["__schema"]["types"]
        .as_array()
        .expect("types")
        .iter()
        .map(|t| (t["name"].as_str().expect("name").to_owned(), t.clone()))
        .collect()
}

/// Every field of a conversation, as a selection set's content.
pub fn conversation_selection(types: &BTreeMap<String, Value>) -> String {
    selection(types, "Conversation", &mut Vec::new())
}

/// Asserts that `served` (a conversation as the API returned it, selected with
/// [`conversation_selection`]) holds exactly the rows of `stored` (a `ConversationGraph` as
/// JSON), column for column, table for table; returns how many tables had rows.
pub fn assert_same_graph(served: &Value, stored: &Value, what: &str) -> usize {
    assert_eq!(
        canonical(columns(served.as_object().expect("conversation"))),
        canonical(as_api(&stored["conversation"])),
        "{what}: the conversation's columns"
    );
    let mut by_table = BTreeMap::new();
    collect(served, &mut by_table);
    let mut tables = 0;
    for (table, rows) in stored.as_object().expect("graph") {
        let Some(rows) = rows.as_array() else {
            continue;
        };
        if table == "divisions" {
            continue;
        }
        let expected: Vec<Value> = rows.iter().map(as_api).collect();
        let got = by_table.remove(table.as_str()).unwrap_or_default();
        assert_eq!(
            sorted(got),
            sorted(expected.clone()),
            "{what}: table {table}"
        );
        tables += usize::from(!expected.is_empty());
    }
    assert!(
        by_table.is_empty(),
        "{what}: rows of tables the store does not have: {by_table:?}"
    );
    tables
}
