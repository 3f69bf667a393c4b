//! Paging `conversations` forwards and backwards, in every order, across page boundaries and
//! ties, while other conversations are being inserted: every conversation that was there before
//! the walk is seen exactly once, in order.

use crate::common::{ALL, Server, minimal};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const PAGE: usize = 7;

fn at(minutes: i64) -> DateTime<Utc> {
    "2026-11-01T08:00:00Z"
        .parse::<DateTime<Utc>>()
        .expect("time")
        + Duration::minutes(minutes)
}

/// 40 conversations; starts tie in threes, ends tie in pairs; two are still in progress.
fn existing() -> Vec<(String, DateTime<Utc>, Option<DateTime<Utc>>)> {
    (0..40)
        .map(|i| {
            let start = at(i / 3);
            let end = (i % 20 != 7).then(|| at(100 + i / 2));
            (format!("c-{i:02}"), start, end)
        })
        .collect()
}

fn document(id: &str, start: DateTime<Utc>, end: Option<DateTime<Utc>>) -> Value {
    let end = end.map(|e| e.to_rfc3339());
    minimal(id, &start.to_rfc3339(), end.as_deref(), &["div-a"])
}

const LIST: &str = r#"query($order: ConversationOrder, $first: Int, $after: String, $last: Int, $before: String) {
    conversations(orderBy: $order, first: $first, after: $after, last: $last, before: $before) {
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { id } } } }"#;

struct Page {
    ids: Vec<String>,
    info: Value,
}

async fn page(server: &Server, token: &str, variables: Value) -> Page {
    let data = server.data(token, LIST, variables).await;
    let connection = &data["conversations"];
    let edges = connection["edges"].as_array().expect("edges");
    let ids = edges
        .iter()
        .map(|e| e["node"]["id"].as_str().expect("id").to_owned())
        .collect::<Vec<_>>();
    if let (Some(first), Some(last)) = (edges.first(), edges.last()) {
        assert_eq!(first["cursor"], connection["pageInfo"]["startCursor"]);
        assert_eq!(last["cursor"], connection["pageInfo"]["endCursor"]);
    }
    Page {
        ids,
        info: connection["pageInfo"].clone(),
    }
}

/// Inserts new conversations, spread over the whole time range, until told to stop.
fn keep_inserting(server: Arc<Server>, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<usize> {
    tokio::spawn(async move {
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            let start = at((n as i64 * 7) % 15);
            let end = Some(at(100 + (n as i64 * 5) % 20));
            server
                .import(&[document(&format!("new-{n:03}"), start, end)])
                .await;
            n += 1;
        }
        n
    })
}

/// The ids of `existing` in the order `order` lists them.
fn expected(order: &Value) -> Vec<String> {
    let by_end = order["field"] == "END";
    let mut rows: Vec<(DateTime<Utc>, String)> = existing()
        .into_iter()
        .filter_map(|(id, start, end)| Some((if by_end { end? } else { start }, id)))
        .collect();
    rows.sort();
    if order["direction"] == "DESC" {
        rows.reverse();
    }
    rows.into_iter().map(|(_, id)| id).collect()
}

fn orders() -> Vec<Value> {
    let mut out = Vec::new();
    for field in ["START", "END"] {
        for direction in ["ASC", "DESC"] {
            out.push(json!({"field": field, "direction": direction}));
        }
    }
    out
}

fn only_existing(ids: &[String]) -> Vec<String> {
    ids.iter()
        .filter(|id| id.starts_with("c-"))
        .cloned()
        .collect()
}

#[tokio::test]
async fn walking_forwards_sees_each_conversation_once_in_order_during_inserts() {
    let docs: Vec<Value> = existing()
        .iter()
        .map(|(id, s, e)| document(id, *s, *e))
        .collect();
    let server = Arc::new(Server::start(&docs).await);
    let token = server.token(Some(ALL));
    let stop = Arc::new(AtomicBool::new(false));
    let inserter = keep_inserting(server.clone(), stop.clone());

    for order in orders() {
        let mut seen = Vec::new();
        let mut after = Value::Null;
        let mut pages = 0;
        loop {
            let p = page(
                &server,
                &token,
                json!({"order": order, "first": PAGE, "after": after}),
            )
            .await;
            assert_eq!(p.info["hasPreviousPage"], json!(pages > 0), "{order}");
            seen.extend(p.ids);
            pages += 1;
            if p.info["hasNextPage"] != json!(true) {
                break;
            }
            after = p.info["endCursor"].clone();
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "{order}: a conversation repeated");
        assert_eq!(only_existing(&seen), expected(&order), "{order}");
    }
    stop.store(true, Ordering::Relaxed);
    let inserted = inserter.await.expect("inserter");
    assert!(
        inserted > 0,
        "the walk ran while conversations were inserted"
    );
}

#[tokio::test]
async fn walking_backwards_from_the_end_sees_each_conversation_once_in_order_during_inserts() {
    let docs: Vec<Value> = existing()
        .iter()
        .map(|(id, s, e)| document(id, *s, *e))
        .collect();
    let server = Arc::new(Server::start(&docs).await);
    let token = server.token(Some(ALL));
    let stop = Arc::new(AtomicBool::new(false));
    let inserter = keep_inserting(server.clone(), stop.clone());

    for order in orders() {
        let mut pages: Vec<Vec<String>> = Vec::new();
        let mut before = Value::Null;
        loop {
            let p = page(
                &server,
                &token,
                json!({"order": order, "last": PAGE, "before": before}),
            )
            .await;
            assert_eq!(p.info["hasNextPage"], json!(!pages.is_empty()), "{order}");
            pages.push(p.ids);
            if p.info["hasPreviousPage"] != json!(true) {
                break;
            }
            before = p.info["startCursor"].clone();
        }
        let seen: Vec<String> = pages.into_iter().rev().flatten().collect();
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "{order}: a conversation repeated");
        assert_eq!(only_existing(&seen), expected(&order), "{order}");
    }
    stop.store(true, Ordering::Relaxed);
    assert!(inserter.await.expect("inserter") > 0);
}

#[tokio::test]
async fn a_page_before_a_cursor_ends_right_before_it_and_after_starts_right_after() {
    let docs: Vec<Value> = existing()
        .iter()
        .map(|(id, s, e)| document(id, *s, *e))
        .collect();
    let server = Server::start(&docs).await;
    let token = server.token(Some(ALL));
    let order = json!({"field": "START", "direction": "ASC"});
    let all = expected(&order);

    let first = page(&server, &token, json!({"order": order, "first": 10})).await;
    let second = page(
        &server,
        &token,
        json!({"order": order, "first": 10, "after": first.info["endCursor"]}),
    )
    .await;
    let back = page(
        &server,
        &token,
        json!({"order": order, "last": 4, "before": second.info["startCursor"]}),
    )
    .await;
    let (_, wrong_order) = server
        .query(
            Some(&token),
            LIST,
            json!({"order": {"field": "END"}, "first": 3, "after": first.info["endCursor"]}),
        )
        .await;
    let (_, both_ways) = server
        .query(
            Some(&token),
            LIST,
            json!({"order": order, "first": 3, "last": 3}),
        )
        .await;

    assert_eq!(first.ids, all[..10]);
    assert_eq!(second.ids, all[10..20]);
    assert_eq!(back.ids, all[6..10]);
    assert_eq!(back.info["hasPreviousPage"], true);
    assert_eq!(back.info["hasNextPage"], true);
    assert_eq!(
        wrong_order["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "a cursor of another order is refused: {wrong_order}"
    );
    assert_eq!(
        both_ways["errors"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );
}
