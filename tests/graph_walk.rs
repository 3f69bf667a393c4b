//! The whole graph through GraphQL equals the whole graph in the store. The query is built from
//! the schema itself (every field of every type reachable from `Conversation`, without walking
//! back into a type already on the path), so a field added later is covered without touching
//! this test. Every row the store holds for the fixture conversations, which carry every field
//! of the seed models, must come back column for column, `extra` included.

mod common;

use common::{ALL, Server};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::path::Path;

const INTROSPECTION: &str = r#"{ __schema { types { name kind fields {
    name args { name } type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }"#;

/// The named type under list / non-null wrappers.
fn named(ty: &Value) -> (&str, &str) {
    let mut t = ty;
    while t["name"].is_null() {
        t = &t["ofType"];
    }
    (
        t["kind"].as_str().expect("kind"),
        t["name"].as_str().expect("name"),
    )
}

/// A selection of every field of `type_name`, recursing into object fields whose type is not
/// already on `path`.
fn selection(types: &BTreeMap<String, Value>, type_name: &str, path: &mut Vec<String>) -> String {
    path.push(type_name.to_owned());
    let mut out = Vec::new();
    for field in types[type_name]["fields"].as_array().expect("fields") {
        let name = field["name"].as_str().expect("name");
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
fn as_api(row: &Value) -> Value {
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
fn table_of(field: &str) -> Option<&'static str> {
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
fn columns(object: &Map<String, Value>) -> Value {
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
fn collect(value: &Value, into: &mut BTreeMap<&'static str, Vec<Value>>) {
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
fn canonical(value: Value) -> Value {
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

fn sorted(rows: Vec<Value>) -> Vec<Value> {
    let mut rows: Vec<Value> = rows.into_iter().map(canonical).collect();
    rows.sort_by_key(Value::to_string);
    rows
}

#[tokio::test]
async fn every_row_and_column_of_the_store_comes_back_through_graphql() {
    let server = Server::start_with_files(&[
        Path::new("tests/fixtures/analytics_full.json"),
        Path::new("tests/fixtures/platform_full.json"),
    ])
    .await;
    let token = server.token_with(Some(ALL), &["conversations:read", "pii:read"]);
    let schema = server.data(&token, INTROSPECTION, json!({})).await;
    let types: BTreeMap<String, Value> = schema["__schema"]["types"]
        .as_array()
        .expect("types")
        .iter()
        .map(|t| (t["name"].as_str().expect("name").to_owned(), t.clone()))
        .collect();
    let query = format!(
        "query($id: ID!) {{ conversation(id: $id) {{ {} }} }}",
        selection(&types, "Conversation", &mut Vec::new())
    );

    for id in [
        "c0ffee00-0000-4000-8000-000000000001",
        "c0ffee00-0000-4000-8000-000000000002",
    ] {
        let data = server.data(&token, &query, json!({"id": id})).await;
        let mut conn = server.db.pool().acquire().await.expect("connection");
        let graph = db::graph::load_conversation(&mut conn, id)
            .await
            .expect("load")
            .expect("stored");
        let stored = serde_json::to_value(&graph).expect("graph as JSON");
        let conversation = &data["conversation"];

        assert_eq!(
            canonical(columns(conversation.as_object().expect("conversation"))),
            canonical(as_api(&stored["conversation"])),
            "{id}: the conversation's columns"
        );
        let mut served = BTreeMap::new();
        collect(conversation, &mut served);
        let mut tables = 0;
        for (table, rows) in stored.as_object().expect("graph") {
            let Some(rows) = rows.as_array() else {
                continue;
            };
            if table == "divisions" {
                continue;
            }
            let expected: Vec<Value> = rows.iter().map(as_api).collect();
            let got = served.remove(table.as_str()).unwrap_or_default();
            assert_eq!(sorted(got), sorted(expected.clone()), "{id}: table {table}");
            tables += usize::from(!expected.is_empty());
        }
        assert!(tables >= 5, "{id}: the fixture fills most tables");
        assert_eq!(
            conversation["divisions"].as_array().map(Vec::len),
            graph.conversation.division_ids.len().into()
        );
    }
}
