//! Live subscriptions over real WebSockets (`graphql-transport-ws`, and the legacy `graphql-ws`)
//! against a real server and PostgreSQL: each root, scope and personal data, a second instance
//! on the same database, the listener losing its connection, the token's expiry, bad
//! `connection_init`s and the limits.

use crate::common::ws::Client;
use crate::common::{ALL, Server, minimal};
use serde_json::{Value, json};
use std::time::Duration;

fn token(server: &Server, divisions: &[&str], permissions: &[&str]) -> String {
    server.token_with(Some(divisions), permissions)
}

/// A conversation in progress, waiting in queue `queue` on an acd leg.
fn waiting(id: &str, divisions: &[&str], queue: &str) -> Value {
    json!({
        "conversationId": id,
        "conversationStart": "2026-11-02T08:00:00Z",
        "divisionIds": divisions,
        "participants": [
            {"participantId": format!("{id}-c"), "purpose": "customer", "participantName": "Dana Customer",
             "sessions": [{"sessionId": format!("{id}-c1"), "mediaType": "voice", "ani": "tel:+3611",
                           "segments": [{"segmentType": "interact", "segmentStart": "2026-11-02T08:00:00Z"}]}]},
            {"participantId": format!("{id}-q"), "purpose": "acd",
             "sessions": [{"sessionId": format!("{id}-q1"), "mediaType": "voice",
                           "segments": [{"segmentType": "interact", "segmentStart": "2026-11-02T08:00:05Z", "queueId": queue}],
                           "metrics": [{"name": "nOffered", "value": 1, "emitDate": "2026-11-02T08:00:05Z"}]}]}
        ]
    })
}

const CHANGED: &str = r#"subscription($divisions: [String!]) {
    conversationChanged(filter: {divisionIds: $divisions}) {
        id divisionIds participants { participantName sessions { ani } } } }"#;

#[tokio::test]
async fn a_conversation_written_reaches_its_subscribers_within_their_scope_and_rights() {
    let server = Server::start(&[]).await;
    let writer = server.writer(Some(&["div-a", "div-b"]), None);
    let mut reader_a = Client::connect(
        &server,
        &token(&server, &["div-a"], &["conversations:read", "pii:read"]),
    )
    .await;
    let mut reader_b = Client::connect(
        &server,
        &token(&server, &["div-b"], &["conversations:read"]),
    )
    .await;
    reader_a.subscribe("a", CHANGED, json!({})).await;
    reader_b.subscribe("b", CHANGED, json!({})).await;
    // A subscription answers from its first event on: let both reach the server first.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let (status, body) = server
        .mutate(&writer, &[waiting("c-a", &["div-a"], "q-1")], None)
        .await;
    assert_eq!(status, 200, "{body}");
    let data = reader_a.data("a").await;
    assert_eq!(data["conversationChanged"]["id"], "c-a");
    assert_eq!(
        data["conversationChanged"]["participants"][0],
        json!({"participantName": "Dana Customer", "sessions": [{"ani": "tel:+3611"}]})
    );

    server
        .mutate(&writer, &[waiting("c-b", &["div-b"], "q-1")], None)
        .await;
    let data = reader_b.data("b").await;
    assert_eq!(data["conversationChanged"]["id"], "c-b");
    // Without pii:read: no name, no number.
    assert_eq!(
        data["conversationChanged"]["participants"][0],
        json!({"participantName": null, "sessions": [{"ani": null}]})
    );
    // Neither heard of the other's conversation.
    assert_eq!(reader_a.within(Duration::from_millis(500)).await, None);
    assert_eq!(reader_b.within(Duration::from_millis(500)).await, None);

    // The filter narrows further: a subscriber of div-a's conversations in div-b hears nothing.
    reader_a
        .subscribe("narrow", CHANGED, json!({"divisions": ["div-b"]}))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    server
        .mutate(&writer, &[waiting("c-ab", &["div-a"], "q-2")], None)
        .await;
    let first = reader_a.data("a").await;
    assert_eq!(first["conversationChanged"]["id"], "c-ab");
    assert_eq!(reader_a.within(Duration::from_millis(500)).await, None);

    // The same document again changes nothing, so nothing is sent.
    server
        .mutate(&writer, &[waiting("c-ab", &["div-a"], "q-2")], None)
        .await;
    assert_eq!(reader_a.within(Duration::from_millis(500)).await, None);
}

#[tokio::test]
async fn queue_observations_and_aggregates_answer_at_once_and_again_after_each_change() {
    let server = Server::start(&[]).await;
    let writer = server.writer(Some(&["div-a"]), None);
    let mut client = Client::connect(&server, &token(&server, ALL, &["conversations:read"])).await;
    client
        .subscribe(
            "obs",
            r#"subscription { queueObservations(queueIds: ["q-1"]) { group data { metric stats { count oldest } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(client.data("obs").await, json!({"queueObservations": []}));
    client
        .subscribe(
            "agg",
            r#"subscription { aggregateChanged(interval: "2026-11-02T00:00:00Z/2026-11-03T00:00:00Z",
                 groupBy: ["queueId"], metrics: ["nOffered"]) { group data { metrics { metric stats { count } } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(client.data("agg").await, json!({"aggregateChanged": []}));

    server
        .mutate(&writer, &[waiting("c-1", &["div-a"], "q-1")], None)
        .await;
    let seen = client.answers(2).await;
    assert_eq!(
        seen["obs"],
        json!({"queueObservations": [{"group": {"mediaType": "voice", "queueId": "q-1"},
            "data": [{"metric": "oWaiting", "stats": {"count": 1, "oldest": "2026-11-02T08:00:05+00:00"}}]}]})
    );
    assert_eq!(
        seen["agg"],
        json!({"aggregateChanged": [{"group": {"queueId": "q-1"},
            "data": [{"metrics": [{"metric": "nOffered", "stats": {"count": 1}}]}]}]})
    );
    // The query root answers the same.
    let data = server
        .data(
            &server.token,
            r#"{ queueObservations(queueIds: ["q-1"]) { data { metric stats { count } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["queueObservations"][0]["data"][0]["stats"]["count"], 1);
}

#[tokio::test]
async fn flow_metric_records_reach_their_subscribers_as_they_arrive() {
    let server = Server::start(&[]).await;
    let writer = server.writer(Some(&["div-a"]), None);
    let mut client = Client::connect(
        &server,
        &token(&server, &["div-a"], &["conversations:read"]),
    )
    .await;
    client
        .subscribe(
            "fm",
            r#"subscription { flowMetric(filter: {metrics: ["tFlow"]}) { recordId metric flowId } }"#,
            json!({}),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let record = |id: &str, metric: &str, division: &str| {
        json!({"conversationId": "c-f", "recordId": id, "metric": metric, "metricDate": "2026-11-02T08:00:00Z",
               "value": 1, "flowId": "flow-1", "divisionIds": [division]})
    };
    let mut request = reqwest::Client::new()
        .post(format!("{}/ingest?table=FlowMetrics", server.origin))
        .bearer_auth(&writer)
        .header("content-type", "application/x-ndjson");
    request = request.body(
        [
            record("r-1", "nFlow", "div-a"),
            record("r-2", "tFlow", "div-a"),
            record("r-3", "tFlow", "div-other"),
        ]
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n"),
    );
    let response = request.send().await.expect("push");
    assert_eq!(
        response.status(),
        200,
        "{}",
        response.text().await.unwrap_or_default()
    );
    let data = client.data("fm").await;
    assert_eq!(
        data,
        json!({"flowMetric": {"recordId": "r-2", "metric": "tFlow", "flowId": "flow-1"}})
    );
    // Not the nFlow record (filtered out), not the other division's (refused, and not visible).
    assert_eq!(client.within(Duration::from_millis(500)).await, None);
}

#[tokio::test]
async fn a_write_through_one_instance_reaches_a_subscriber_of_another() {
    let first = Server::start(&[]).await;
    // A second gateway on the same database.
    let pool = db::connect(first.db.url(), 4).await.expect("pool");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let state = api::AppState::new(pool, first.auth.clone());
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(api::serve(listener, state, async {
        let _ = stopped.await;
    }));

    let mut client = Client::open(addr, "graphql-transport-ws").await;
    client
        .send(json!({"type": "connection_init", "payload": {"token": first.token}}))
        .await;
    assert_eq!(client.next().await["type"], "connection_ack");
    client
        .subscribe(
            "1",
            "subscription { conversationChanged { id } }",
            json!({}),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let writer = first.writer(Some(&["div-a"]), None);
    first
        .mutate(
            &writer,
            &[minimal("c-x", "2026-11-02T08:00:00Z", None, &["div-a"])],
            None,
        )
        .await;
    assert_eq!(
        client.data("1").await,
        json!({"conversationChanged": {"id": "c-x"}})
    );
}

#[tokio::test]
async fn a_listener_that_lost_its_connection_catches_up_with_what_changed_meanwhile() {
    let server = Server::start(&[]).await;
    let writer = server.writer(Some(&["div-a"]), None);
    // Written a moment before the subscriptions: no notification of it reaches them.
    server
        .mutate(&writer, &[waiting("c-before", &["div-a"], "q-1")], None)
        .await;
    let mut client = Client::connect(&server, &server.token).await;
    client
        .subscribe("obs", r#"subscription { queueObservations(queueIds: ["q-1"]) { data { metric stats { count } } } }"#, json!({}))
        .await;
    let now = client.data("obs").await;
    assert_eq!(
        now["queueObservations"][0]["data"][0]["stats"]["count"], 1,
        "{now}"
    );
    client
        .subscribe(
            "c",
            "subscription { conversationChanged { id } }",
            json!({}),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // A change no write path announces (as when notifications are lost): the wait ends.
    sqlx::query("update segments set segment_end = now() where conversation_id = 'c-before'")
        .execute(server.db.pool())
        .await
        .expect("update");
    // The listener's connection goes, as when PostgreSQL restarts.
    let terminated: i64 = sqlx::query_scalar(
        "select count(*) from (select pg_terminate_backend(pid) from pg_stat_activity
         where datname = current_database() and query ilike 'listen%') t",
    )
    .fetch_one(server.db.pool())
    .await
    .expect("terminate");
    assert_eq!(terminated, 1, "one listener per process");

    // Back, each subscription catches up: the state as it is now, and the conversations
    // changed in the last seconds before its last event.
    let seen = client.answers(2).await;
    assert_eq!(
        seen["c"],
        json!({"conversationChanged": {"id": "c-before"}})
    );
    assert_eq!(seen["obs"], json!({"queueObservations": []}));
}

/// PostgreSQL itself stops and starts again (a private server of this test's own, so that no
/// other test sees the outage); a conversation is written the moment it is back, before or
/// after the listener has reconnected, whichever comes first: the subscriptions still hear it,
/// and the state they resume with is the one after it.
#[tokio::test]
async fn postgresql_restarted_under_subscriptions_they_resume_with_a_snapshot() {
    let postgres = tokio::task::spawn_blocking(db::local::LocalPostgres::temporary)
        .await
        .expect("join")
        .expect("a private PostgreSQL server (initdb and pg_ctl)");
    let postgres = std::sync::Arc::new(postgres);
    let pool = db::connect(&postgres.url(), 8).await.expect("connect");
    db::migrate(&pool).await.expect("migrate");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let auth = api::auth::AuthConfig::hs256(crate::common::SECRET);
    let state = api::AppState::new(pool.clone(), auth.clone()).with_limits(api::Limits::demo());
    tokio::spawn(api::serve(listener, state, std::future::pending()));
    let store = |id: &'static str| {
        let pool = pool.clone();
        async move {
            let document = waiting(id, &["div-a"], "q-1");
            let graph = domain::ingest::to_graph(&document, None, &Default::default())
                .expect("a valid document");
            let outcome = db::ingest::write(&pool, &domain::Scope::All, &[&graph]).await;
            assert!(matches!(outcome[..], [Ok(_)]), "{outcome:?}");
        }
    };
    store("c-1").await;

    let token = api::auth::mint(
        &auth,
        &api::auth::TokenRequest {
            subject: "restart".into(),
            divisions: Some(vec!["*".into()]),
            permissions: vec!["conversations:read".into()],
            ttl_seconds: 600,
            ..Default::default()
        },
    )
    .expect("token");
    let mut client = Client::connect_to(addr, &token).await;
    client
        .subscribe("obs", r#"subscription { queueObservations(queueIds: ["q-1"]) { data { metric stats { count } } } }"#, json!({}))
        .await;
    let waiting_count =
        |data: &Value| data["queueObservations"][0]["data"][0]["stats"]["count"].clone();
    assert_eq!(waiting_count(&client.data("obs").await), 1);
    client
        .subscribe(
            "c",
            "subscription { conversationChanged { id } }",
            json!({}),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let restarting = postgres.clone();
    tokio::task::spawn_blocking(move || restarting.restart_after(Duration::from_secs(2)))
        .await
        .expect("join")
        .expect("PostgreSQL restarts");
    store("c-2").await;

    // Whatever the order: c-2 is heard, and the queue's state comes to two waiting.
    let mut heard_c2 = false;
    let mut last_count = Value::Null;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !(heard_c2 && last_count == 2) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let message = client.within(left).await.unwrap_or_else(|| {
            panic!("within 30 s: c-2 heard {heard_c2}, last count {last_count}")
        });
        assert_eq!(message["type"], "next", "{message}");
        let data = &message["payload"]["data"];
        match message["id"].as_str() {
            Some("c") => heard_c2 |= data["conversationChanged"]["id"] == "c-2",
            Some("obs") => last_count = waiting_count(data),
            _ => panic!("{message}"),
        }
    }
}

#[tokio::test]
async fn bad_tokens_are_refused_with_4401_and_an_expiring_one_closes_the_socket() {
    let server = Server::start(&[]).await;
    // No token, a forged one.
    for payload in [json!({}), json!({"Authorization": "Bearer not-a-token"})] {
        let mut client = Client::open(server.addr, "graphql-transport-ws").await;
        client
            .send(json!({"type": "connection_init", "payload": payload}))
            .await;
        let close = client.next().await;
        assert_eq!(close["close"], 4401, "{close}");
    }
    // A subscribe before connection_init.
    let mut client = Client::open(server.addr, "graphql-transport-ws").await;
    client
        .subscribe(
            "1",
            "subscription { conversationChanged { id } }",
            json!({}),
        )
        .await;
    assert_eq!(client.next().await["close"], 4401);

    // A token that expires in two seconds.
    let expiring = api::auth::mint(
        &server.auth,
        &api::auth::TokenRequest {
            subject: "short".into(),
            divisions: Some(vec!["*".into()]),
            business_units: None,
            permissions: vec!["conversations:read".into()],
            ttl_seconds: 2,
        },
    )
    .expect("token");
    let mut client = Client::connect(&server, &expiring).await;
    client
        .subscribe(
            "1",
            "subscription { conversationChanged { id } }",
            json!({}),
        )
        .await;
    let close = client.within(Duration::from_secs(6)).await.expect("closed");
    assert_eq!(close["close"], 4401, "{close}");
    assert!(
        close["reason"]
            .as_str()
            .is_some_and(|r| r.contains("expired")),
        "{close}"
    );
}

#[tokio::test]
async fn a_token_without_conversations_read_reads_nothing_over_the_socket_either() {
    let server =
        Server::start(&[minimal("c-read", "2026-11-02T08:00:00Z", None, &["div-a"])]).await;
    let writer_only = token(&server, ALL, &["ingest:write"]);
    let mut client = Client::connect(&server, &writer_only).await;
    for (id, query) in [
        ("sub", "subscription { conversationChanged { id } }"),
        ("query", "{ conversations { nodes { id } } }"),
    ] {
        client.subscribe(id, query, json!({})).await;
        let refused = client.next().await;
        assert_eq!(refused["type"], "error", "{refused}");
        assert_eq!(refused["id"], id, "{refused}");
        assert_eq!(
            refused["payload"][0]["extensions"]["code"], "FORBIDDEN",
            "{refused}"
        );
    }
}

#[tokio::test]
async fn subscriptions_are_held_to_the_document_limits_and_their_own() {
    let limits = api::Limits {
        max_subscriptions_per_connection: 2,
        max_aliases: 1,
        ..api::Limits::demo()
    };
    let server = Server::start_with(
        &[],
        crate::common::Setup {
            limits,
            ..Default::default()
        },
    )
    .await;
    let mut client = Client::connect(&server, &server.token).await;
    client
        .subscribe(
            "aliases",
            "subscription { a: conversationChanged { x: id y: id } }",
            json!({}),
        )
        .await;
    let refused = client.next().await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(
        refused["payload"][0]["extensions"]["code"], "TOO_MANY_ALIASES",
        "{refused}"
    );
    for id in ["1", "2"] {
        client
            .subscribe(id, "subscription { conversationChanged { id } }", json!({}))
            .await;
    }
    client
        .subscribe(
            "3",
            "subscription { conversationChanged { id } }",
            json!({}),
        )
        .await;
    let refused = client.next().await;
    assert_eq!(refused["id"], "3", "{refused}");
    assert_eq!(
        refused["payload"][0]["extensions"]["code"], "TOO_MANY_SUBSCRIPTIONS",
        "{refused}"
    );
    // Completing one makes room.
    client.send(json!({"id": "1", "type": "complete"})).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    client
        .subscribe(
            "4",
            "subscription { conversationChanged { id } }",
            json!({}),
        )
        .await;
    assert_eq!(
        client.within(Duration::from_millis(500)).await,
        None,
        "accepted quietly"
    );
    // An id in use closes the socket, as the protocol says.
    client
        .subscribe(
            "2",
            "subscription { conversationChanged { id } }",
            json!({}),
        )
        .await;
    assert_eq!(client.next().await["close"], 4409);
}

#[tokio::test]
async fn the_legacy_graphql_ws_protocol_is_spoken_too() {
    let server = Server::start(&[]).await;
    let mut client = Client::open(server.addr, "graphql-ws").await;
    client
        .send(json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {}", server.token)}}))
        .await;
    assert_eq!(client.next().await["type"], "connection_ack");
    assert_eq!(client.next().await["type"], "ka");
    client
        .send(json!({"id": "1", "type": "start", "payload": {"query": "subscription { conversationChanged { id } }"}}))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let writer = server.writer(Some(&["div-a"]), None);
    server
        .mutate(
            &writer,
            &[minimal(
                "c-legacy",
                "2026-11-02T08:00:00Z",
                None,
                &["div-a"],
            )],
            None,
        )
        .await;
    let message = client.next().await;
    assert_eq!(message["type"], "data", "{message}");
    assert_eq!(
        message["payload"]["data"],
        json!({"conversationChanged": {"id": "c-legacy"}})
    );
}
