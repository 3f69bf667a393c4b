//! The live scenario: subscriptions over real WebSockets (`graphql-transport-ws`) to one or two
//! `convgraph serve` instances on the benchmark database; conversations written through the
//! write path every door stores through ([`db::ingest::write`], which notifies inside its
//! transaction), from this process, so that the instant its commit returns is known; for each
//! event, the time from that instant to the client's receipt; the servers' memory per idle
//! subscription; and every event the client should have heard counted against what it heard.
//!
//! Each subscription is `conversationChanged(filter: {queueIds: [q]})` for one of [`QUEUES`]
//! queues of the data, a hundred to a connection (the per-connection limit), so that each write
//! reaches a tenth of the subscriptions. With two instances the connections alternate between
//! them. No instance has a path of its own for the writes: every event reaches every instance
//! the same way, through PostgreSQL's `NOTIFY` to its one listener, then its read-back.

use crate::server::Server;
use crate::stats::{self, Summary};
use anyhow::Context as _;
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// Subscriptions per connection: the server's default limit.
pub const PER_CONNECTION: usize = 100;
/// Distinct questions (queues) the subscriptions ask.
pub const QUEUES: usize = 10;
/// How long a subscription may take to hear its warm-up event, and the run's last events.
const DRAIN: Duration = Duration::from_secs(20);

/// What a subscriber selects of each changed conversation.
const SUBSCRIPTION: &str = "subscription($queue: String!) {
  conversationChanged(filter: {queueIds: [$queue]}) {
    id conversationStart divisionIds
    participants { purpose sessions { mediaType segments { segmentType segmentStart queueId } } }
  }
}";

/// One measured configuration.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    pub subscriptions: usize,
    pub instances: usize,
}

/// What the servers, the tokens and the writes are.
pub struct Options<'a> {
    pub binary: &'a Path,
    pub database_url: &'a str,
    pub jwt_secret: &'a str,
    pub reader_token: &'a str,
    /// Where the writes go.
    pub pool: &'a sqlx::PgPool,
    pub queues: Vec<String>,
    pub division: String,
    pub writes: usize,
    pub write_interval: Duration,
    pub log_dir: &'a Path,
}

/// What one configuration measured.
#[derive(Debug, Clone)]
pub struct Measured {
    pub setup: Setup,
    pub connections: usize,
    pub writes: usize,
    /// Events the client should have heard: each write, once per subscription of its queue.
    pub expected: usize,
    /// Distinct (subscription, conversation) events heard.
    pub received: usize,
    /// Events heard twice.
    pub duplicates: usize,
    /// `EVENTS_DROPPED` notices and errors the subscriptions got.
    pub errors: usize,
    /// Every event.
    pub all: Option<Summary>,
    /// Resident memory the subscriptions added, per subscription, before any event.
    pub idle_kib_per_subscription: f64,
    /// The largest peak resident set of the instances during the writes.
    pub peak_rss_kib: u64,
}

impl Measured {
    pub fn lost(&self) -> usize {
        self.expected.saturating_sub(self.received)
    }
}

/// Runs each setup on fresh instances; what each measured.
pub async fn run(options: &Options<'_>, setups: &[Setup]) -> anyhow::Result<Vec<Measured>> {
    anyhow::ensure!(
        options.queues.len() >= QUEUES,
        "the live scenario needs {QUEUES} queues in the data set, found {}",
        options.queues.len()
    );
    let tag = chrono::Utc::now().format("%Y%m%d%H%M%S").to_string();
    // Left by a run that was interrupted: they would move the data set's newest day.
    remove_written(options.pool).await?;
    let mut measured = Vec::new();
    for (n, setup) in setups.iter().enumerate() {
        eprintln!(
            "bench: live: {} subscriptions on {} instance(s)",
            setup.subscriptions, setup.instances
        );
        let run = run_one(options, *setup, &format!("{tag}-{n}")).await;
        remove_written(options.pool).await?;
        measured.push(run?);
    }
    Ok(measured)
}

/// Removes the conversations the scenario wrote (their rows go with them), so that the data
/// set stays the generator's for the other scenarios and the next run.
async fn remove_written(pool: &sqlx::PgPool) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    let ids: Vec<String> = sqlx::query_scalar(
        "select conversation_id from conversations where conversation_id like 'bench-live-%'",
    )
    .fetch_all(&mut *tx)
    .await?;
    db::graph::delete_graphs(&mut tx, &ids)
        .await
        .context("cannot remove the live scenario's conversations")?;
    tx.commit().await?;
    Ok(())
}

async fn run_one(options: &Options<'_>, setup: Setup, tag: &str) -> anyhow::Result<Measured> {
    let mut servers = Vec::new();
    for instance in 0..setup.instances {
        let log = options.log_dir.join(format!("live-{tag}-{instance}.log"));
        servers.push(
            Server::start(
                options.binary,
                options.database_url,
                options.jwt_secret,
                &log,
            )
            .await?,
        );
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let heard_count = Arc::new(AtomicUsize::new(0));
    // One subscription per instance first, to a queue no write names: it starts the instance's
    // listener, so that the baseline holds what every instance holds, whatever it serves.
    let mut probes = Vec::new();
    for server in &servers {
        let socket = open(&server.base, options.reader_token).await?;
        probes.push(tokio::spawn(listen(
            socket,
            usize::MAX / 2,
            vec!["bench-live-probe".to_owned()],
            heard_count.clone(),
            stop_rx.clone(),
        )));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let baseline: u64 = servers
        .iter()
        .map(Server::memory_kib)
        .sum::<anyhow::Result<u64>>()?;

    let connections = setup.subscriptions.div_ceil(PER_CONNECTION);
    let mut listeners = Vec::new();
    let mut queue_of = Vec::with_capacity(setup.subscriptions);
    for c in 0..connections {
        let instance = c % setup.instances;
        let first = c * PER_CONNECTION;
        let count = PER_CONNECTION.min(setup.subscriptions - first);
        let queues: Vec<usize> = (first..first + count).map(|g| g % QUEUES).collect();
        queue_of.extend(queues.iter().copied());
        let socket = open(&servers[instance].base, options.reader_token).await?;
        listeners.push(tokio::spawn(listen(
            socket,
            first,
            queues.iter().map(|&q| options.queues[q].clone()).collect(),
            heard_count.clone(),
            stop_rx.clone(),
        )));
    }
    // Every subscribe message read and its subscription registered.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let subscribed: u64 = servers
        .iter()
        .map(Server::memory_kib)
        .sum::<anyhow::Result<u64>>()?;
    let idle_kib_per_subscription =
        subscribed.saturating_sub(baseline) as f64 / setup.subscriptions as f64;

    let per_queue: Vec<usize> = (0..QUEUES)
        .map(|q| queue_of.iter().filter(|&&x| x == q).count())
        .collect();

    // Warm-up: one write per queue, every subscription hears its own before anything counts.
    for q in 0..QUEUES {
        let id = format!("bench-live-{tag}-warm-{q}");
        write(options, &id, &options.queues[q]).await?;
    }
    let warm_expected: usize = per_queue.iter().sum();
    wait_for(&heard_count, warm_expected).await;
    let warm_heard = heard_count.load(Ordering::Relaxed);

    for server in &servers {
        server.reset_peak_memory()?;
    }
    let mut committed: HashMap<String, Instant> = HashMap::new();
    let mut expected = 0;
    let mut ticker = tokio::time::interval(options.write_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for i in 0..options.writes {
        ticker.tick().await;
        let q = i % QUEUES;
        let id = format!("bench-live-{tag}-{i}");
        let at = write(options, &id, &options.queues[q]).await?;
        committed.insert(id, at);
        expected += per_queue[q];
    }
    wait_for(&heard_count, warm_heard + expected).await;
    let peak_rss_kib = servers
        .iter()
        .map(Server::peak_memory_kib)
        .collect::<anyhow::Result<Vec<u64>>>()?
        .into_iter()
        .max()
        .unwrap_or(0);

    stop_tx.send_replace(true);
    let mut heard = HashSet::new();
    let mut duplicates = 0;
    let mut errors = 0;
    let mut all = Vec::new();
    for probe in probes {
        let report = probe.await.context("a probe panicked")??;
        errors += report.errors + report.events.len();
    }
    for listener in listeners {
        let report = listener.await.context("a listener panicked")??;
        errors += report.errors;
        for event in report.events {
            let Some(&at) = committed.get(&event.conversation) else {
                continue;
            };
            if !heard.insert((event.subscription, event.conversation.clone())) {
                duplicates += 1;
                continue;
            }
            let latency = event.at.saturating_duration_since(at);
            all.push(latency);
        }
    }
    for server in servers {
        server.stop().await?;
    }
    Ok(Measured {
        setup,
        connections,
        writes: options.writes,
        expected,
        received: heard.len(),
        duplicates,
        errors,
        all: stats::summarize(all),
        idle_kib_per_subscription,
        peak_rss_kib,
    })
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A `graphql-transport-ws` socket to `base`, initialised with `token`.
async fn open(base: &str, token: &str) -> anyhow::Result<Socket> {
    let url = format!("{}/graphql", base.replacen("http://", "ws://", 1));
    let mut request = url.as_str().into_client_request()?;
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .with_context(|| format!("cannot open a WebSocket to {url}"))?;
    let init =
        json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}});
    socket.send(Message::text(init.to_string())).await?;
    loop {
        let message = tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .context("no connection_ack within 30 s")?
            .context("the socket closed before connection_ack")??;
        if let Message::Text(text) = message {
            let value: Value = serde_json::from_str(&text)?;
            anyhow::ensure!(
                value["type"] == "connection_ack",
                "connection_init answered {value}"
            );
            return Ok(socket);
        }
    }
}

/// An event a subscription heard.
struct Event {
    subscription: usize,
    conversation: String,
    at: Instant,
}

/// What a connection heard until it was stopped.
struct Heard {
    events: Vec<Event>,
    errors: usize,
}

/// Subscribes `first..` to `queues` (one each) and records every event until `stop`.
async fn listen(
    mut socket: Socket,
    first: usize,
    queues: Vec<String>,
    count: Arc<AtomicUsize>,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<Heard> {
    for (n, queue) in queues.iter().enumerate() {
        let subscribe = json!({
            "id": (first + n).to_string(),
            "type": "subscribe",
            "payload": {"query": SUBSCRIPTION, "variables": {"queue": queue}},
        });
        socket.send(Message::text(subscribe.to_string())).await?;
    }
    let mut heard = Heard {
        events: Vec::new(),
        errors: 0,
    };
    loop {
        let message = tokio::select! {
            message = socket.next() => message,
            _ = stop.wait_for(|stopped| *stopped) => break,
        };
        let at = Instant::now();
        let text = match message {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => {
                anyhow::bail!("the server closed a socket: {frame:?}")
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.into()),
            None => anyhow::bail!("a socket ended"),
        };
        let value: Value = serde_json::from_str(&text)?;
        match value["type"].as_str() {
            Some("ping") => {
                socket
                    .send(Message::text(json!({"type": "pong"}).to_string()))
                    .await?;
            }
            Some("next") => {
                let payload = &value["payload"];
                let id = payload["data"]["conversationChanged"]["id"].as_str();
                match (value["id"].as_str().and_then(|s| s.parse().ok()), id) {
                    (Some(subscription), Some(id)) if payload["errors"].is_null() => {
                        heard.events.push(Event {
                            subscription,
                            conversation: id.to_owned(),
                            at,
                        });
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        heard.errors += 1;
                        eprintln!("bench: live: {value}");
                    }
                }
            }
            Some("error" | "complete") => {
                heard.errors += 1;
                eprintln!("bench: live: {value}");
            }
            _ => {}
        }
    }
    Ok(heard)
}

/// Waits until the listeners together heard `target` events, or [`DRAIN`] passed since the
/// last one arrived (what never came is counted as lost afterwards).
async fn wait_for(heard: &AtomicUsize, target: usize) {
    let mut last = (heard.load(Ordering::Relaxed), Instant::now());
    loop {
        let now = heard.load(Ordering::Relaxed);
        if now >= target {
            return;
        }
        if now != last.0 {
            last = (now, Instant::now());
        } else if last.1.elapsed() > DRAIN {
            eprintln!("bench: live: {now} of {target} events heard; no more came within {DRAIN:?}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Writes conversation `id`, waiting in `queue`, through the write path every door of
/// convgraph stores through ([`db::ingest::write`], which notifies inside its transaction); the
/// instant its commit returned.
async fn write(options: &Options<'_>, id: &str, queue: &str) -> anyhow::Result<Instant> {
    let now = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    let document = json!({
        "conversationId": id,
        "conversationStart": now,
        "divisionIds": [options.division],
        "participants": [
            {"participantId": format!("{id}-c"), "purpose": "customer",
             "sessions": [{"sessionId": format!("{id}-c1"), "mediaType": "voice", "direction": "inbound",
                           "segments": [{"segmentType": "interact", "segmentStart": now}]}]},
            {"participantId": format!("{id}-q"), "purpose": "acd",
             "sessions": [{"sessionId": format!("{id}-q1"), "mediaType": "voice", "direction": "inbound",
                           "segments": [{"segmentType": "interact", "segmentStart": now, "queueId": queue}]}]}
        ]
    });
    let graph = domain::ingest::to_graph(&document, None, &domain::ingest::IngestLimits::default())
        .map_err(|e| anyhow::anyhow!("the live scenario's document {id} is refused: {e:?}"))?;
    let outcome = db::ingest::write(options.pool, &domain::Scope::All, &[&graph])
        .await
        .pop()
        .context("no outcome")?;
    let committed = Instant::now();
    anyhow::ensure!(
        matches!(outcome, Ok(db::graph::StoreOutcome::Imported)),
        "the write of {id} was not a creation: {outcome:?}"
    );
    Ok(committed)
}
