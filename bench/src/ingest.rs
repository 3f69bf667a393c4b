//! The ingest scenario (`--only ingest`): conversations from the generator pushed through
//! `POST /ingest` (NDJSON, the bulk door partners use) on 1 and 4 concurrent streams, into an
//! empty database and into one already holding a data set (where half of each push replaces
//! stored conversations with a newer version and half is new), against the floor: PostgreSQL
//! `COPY` of the same rows, encoded in advance, into an empty database, on as many connections
//! as the push has streams.
//!
//! A private server of its own holds the databases (never the benchmark database). Its section
//! of BENCHMARKS.md is its own (marker `bench:ingest`).

use anyhow::Context as _;
use db::local::LocalPostgres;
use domain::ConversationGraph;
use domain::ingest::{IngestLimits, Item, read_item};
use generate::Generator;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::server::Server;

/// What the scenario does.
pub struct Options<'a> {
    pub binary: &'a std::path::Path,
    pub secret: &'a str,
    pub log: &'a std::path::Path,
    /// Conversations per push.
    pub conversations: u64,
    /// Conversations stored before the pushes into a populated database.
    pub populated: u64,
    pub streams: &'a [usize],
}

/// One push (or the floor).
pub struct Measured {
    pub what: String,
    pub database: String,
    pub streams: usize,
    pub conversations: u64,
    pub rows: u64,
    pub outcomes: BTreeMap<String, u64>,
    pub elapsed: Duration,
    pub peak_rss_kib: Option<u64>,
    /// Bytes of NDJSON pushed (none for the floor).
    pub bytes: Option<u64>,
}

impl Measured {
    fn per_second(&self, n: u64) -> f64 {
        n as f64 / self.elapsed.as_secs_f64()
    }
}

pub async fn run(options: &Options<'_>) -> anyhow::Result<Vec<Measured>> {
    let postgres = tokio::task::spawn_blocking(LocalPostgres::temporary)
        .await?
        .context("a private PostgreSQL server (initdb, pg_ctl)")?;
    let generator = convgraph::seed::generator(1);
    let n = options.conversations;
    let mut measured = Vec::new();

    // The floor: the rows of conversations 0..n, encoded as COPY text before the clock starts,
    // on as many connections as a push has streams.
    let mut counter = None;
    for &streams in options.streams {
        let url = create_database(&postgres, &format!("ingest_floor_{streams}")).await?;
        measured.push(floor(&url, &generator, n, streams).await?);
        counter.get_or_insert(url);
    }
    // Rows are counted by encoding them on a migrated database (a floor's).
    let counter = db::connect(&counter.context("at least one stream count")?, 1).await?;

    // Empty databases: conversations 0..n, new.
    for &streams in options.streams {
        let url = create_database(&postgres, &format!("ingest_empty_{streams}")).await?;
        let documents: Vec<Value> = (0..n).map(|i| generator.conversation(i)).collect();
        let rows = rows_of(&counter, &documents).await?;
        let mut m = push(options, &url, documents, rows, streams).await?;
        m.what = "POST /ingest".into();
        m.database = "empty".into();
        measured.push(m);
    }

    // A populated database: `populated` conversations seeded, then per push half of them
    // replaced by a newer version and as many new ones.
    if options.populated > 0 {
        let url = create_database(&postgres, "ingest_populated").await?;
        let pool = db::connect(&url, 8).await?;
        db::migrate(&pool).await?;
        let bar = indicatif::ProgressBar::hidden();
        eprintln!("bench: ingest: seeding {} conversations", options.populated);
        convgraph::seed::seed(&pool, generator.clone(), options.populated, 4, &bar).await?;
        sqlx::query("vacuum analyze").execute(&pool).await?;
        pool.close().await;
        let half = n / 2;
        for (run, &streams) in options.streams.iter().enumerate() {
            let run = run as u64;
            // Each run replaces another slice and adds other new ids.
            let replaced =
                (run * half..(run + 1) * half).map(|i| newer(generator.conversation(i), run));
            let fresh = options.populated + run * half..options.populated + (run + 1) * half;
            let mut documents: Vec<Value> = Vec::with_capacity(n as usize);
            for (old, new) in replaced.zip(fresh.map(|i| generator.conversation(i))) {
                documents.push(old);
                documents.push(new);
            }
            let rows = rows_of(&counter, &documents).await?;
            let mut m = push(options, &url, documents, rows, streams).await?;
            m.what = "POST /ingest".into();
            m.database = format!(
                "holding {}, half replaced",
                crate::thousands_sep(options.populated)
            );
            measured.push(m);
        }
    }
    counter.close().await;
    drop(postgres);
    Ok(measured)
}

/// `document` as a newer version: it now ends on 2027-01-01 (after every generated time).
fn newer(mut document: Value, run: u64) -> Value {
    document["conversationEnd"] = Value::String(format!("2027-01-01T00:00:{:02}.000Z", run % 60));
    document
}

async fn create_database(postgres: &LocalPostgres, name: &str) -> anyhow::Result<String> {
    let admin = db::connect(&postgres.url(), 1).await?;
    sqlx::query(&format!("create database {name}"))
        .execute(&admin)
        .await?;
    admin.close().await;
    let base = postgres.url();
    let (server, _) = base.rsplit_once('/').context("a database URL")?;
    Ok(format!("{server}/{name}"))
}

fn graph_of(document: &Value) -> anyhow::Result<ConversationGraph> {
    match read_item(
        document,
        None,
        None,
        &Default::default(),
        &IngestLimits::default(),
    ) {
        Ok(Item::Graph(graph)) => Ok(*graph),
        Ok(Item::Row { .. }) => anyhow::bail!("a generated conversation read as a row"),
        Err(e) => anyhow::bail!("a generated conversation does not read: {e}"),
    }
}

/// The rows `graphs` write, their metric facts included, as the write path encodes them: the
/// `COPY` statements of [`db::graph::prepare_rows`] (`conn`'s database must be migrated).
async fn prepare(
    conn: &mut sqlx::PgConnection,
    graphs: &[ConversationGraph],
) -> anyhow::Result<Vec<db::copy::Prepared>> {
    let graphs: Vec<&ConversationGraph> = graphs.iter().collect();
    let facts: Vec<domain::facts::MetricFact> = graphs
        .iter()
        .flat_map(|g| domain::facts::metric_facts(g))
        .collect();
    Ok(db::graph::prepare_rows(conn, &graphs, &facts).await?)
}

/// How many rows `documents` write.
async fn rows_of(pool: &sqlx::PgPool, documents: &[Value]) -> anyhow::Result<u64> {
    let graphs: Vec<ConversationGraph> = documents
        .iter()
        .map(graph_of)
        .collect::<anyhow::Result<_>>()?;
    let mut conn = pool.acquire().await?;
    Ok(prepare(&mut conn, &graphs)
        .await?
        .iter()
        .map(|p| p.rows)
        .sum())
}

/// PostgreSQL `COPY` of the graph tables' rows of conversations `0..n`, encoded in advance: on
/// each of `streams` connections at once, one transaction with one `COPY` per table (parents
/// before children) for a contiguous share of the conversations.
async fn floor(
    url: &str,
    generator: &Arc<Generator>,
    n: u64,
    streams: usize,
) -> anyhow::Result<Measured> {
    let pool = db::connect(url, u32::try_from(streams)? + 1).await?;
    db::migrate(&pool).await?;
    let graphs: Vec<ConversationGraph> = (0..n)
        .map(|i| graph_of(&generator.conversation(i)))
        .collect::<anyhow::Result<_>>()?;
    let share = graphs.len().div_ceil(streams).max(1);
    let mut shares = Vec::new();
    for part in graphs.chunks(share) {
        let mut conn = pool.acquire().await?;
        shares.push(prepare(&mut conn, part).await?);
    }
    drop(graphs);
    let rows: u64 = shares.iter().flatten().map(|p| p.rows).sum();

    let start = Instant::now();
    let copies: Vec<_> = shares
        .into_iter()
        .map(|prepared| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let mut conn = pool.acquire().await?;
                sqlx::query("begin").execute(&mut *conn).await?;
                for p in &prepared {
                    db::copy::send(&mut conn, p).await?;
                }
                sqlx::query("commit").execute(&mut *conn).await?;
                Ok::<_, anyhow::Error>(())
            })
        })
        .collect();
    for copy in copies {
        copy.await??;
    }
    let elapsed = start.elapsed();
    pool.close().await;
    Ok(Measured {
        what: "floor: COPY of the same rows".into(),
        database: "empty".into(),
        streams,
        conversations: n,
        rows,
        outcomes: BTreeMap::from([("copied".to_owned(), n)]),
        elapsed,
        peak_rss_kib: None,
        bytes: None,
    })
}

/// Pushes `documents` to a fresh `convgraph serve` on `url`, split into `streams` concurrent
/// `POST /ingest` requests of contiguous shares, and reads every report to its end.
async fn push(
    options: &Options<'_>,
    url: &str,
    documents: Vec<Value>,
    rows: u64,
    streams: usize,
) -> anyhow::Result<Measured> {
    let conversations = documents.len() as u64;
    let share = documents.len().div_ceil(streams.max(1)).max(1);
    let bodies: Vec<Vec<u8>> = documents
        .chunks(share)
        .map(|chunk| {
            let mut body = Vec::new();
            for d in chunk {
                serde_json::to_writer(&mut body, d).expect("a JSON value writes");
                body.push(b'\n');
            }
            body
        })
        .collect();
    drop(documents);
    let bytes: u64 = bodies.iter().map(|b| b.len() as u64).sum();

    let server = Server::start_with(options.binary, url, options.secret, options.log, &[]).await?;
    let token = api::auth::mint(
        &api::auth::AuthConfig::hs256(options.secret),
        &api::auth::TokenRequest {
            subject: "bench-ingest".into(),
            divisions: Some(vec!["*".into()]),
            business_units: Some(vec!["*".into()]),
            permissions: vec!["ingest:write".into()],
            ttl_seconds: 3600,
        },
    )?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3600))
        .build()?;
    let endpoint = format!("{}/ingest", server.base);
    server.reset_peak_memory()?;
    let start = Instant::now();
    let pushes: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let (client, endpoint, token) = (client.clone(), endpoint.clone(), token.clone());
            tokio::spawn(async move {
                let answer = client
                    .post(&endpoint)
                    .bearer_auth(&token)
                    .header("content-type", "application/x-ndjson")
                    .body(body)
                    .send()
                    .await?;
                let status = answer.status();
                let text = answer.text().await?;
                anyhow::ensure!(
                    status.is_success(),
                    "POST /ingest answered {status}: {text}"
                );
                Ok::<_, anyhow::Error>(text)
            })
        })
        .collect();
    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    for push in pushes {
        let report = push.await??;
        for line in report.lines() {
            let value: Value = serde_json::from_str(line).context("a report line is JSON")?;
            if let Some(summary) = value.get("summary") {
                if let Some(stopped) = summary.get("stopped") {
                    anyhow::bail!("a push stopped: {stopped}");
                }
                continue;
            }
            let outcome = value["outcome"].as_str().unwrap_or("rejected").to_owned();
            *outcomes.entry(outcome).or_default() += 1;
        }
    }
    let elapsed = start.elapsed();
    let peak_rss_kib = server.peak_memory_kib().ok();
    server.stop().await?;
    let stored: u64 = ["created", "replaced"]
        .iter()
        .map(|o| outcomes.get(*o).copied().unwrap_or(0))
        .sum();
    anyhow::ensure!(
        stored == conversations,
        "{conversations} conversations pushed, {stored} stored: {outcomes:?}"
    );
    Ok(Measured {
        what: String::new(),
        database: String::new(),
        streams,
        conversations,
        rows,
        outcomes,
        elapsed,
        peak_rss_kib,
        bytes: Some(bytes),
    })
}

/// The section's table.
pub fn table(measured: &[Measured]) -> String {
    let floor = |streams: usize| {
        measured
            .iter()
            .find(|m| m.what.starts_with("floor") && m.streams == streams)
            .map(|m| m.per_second(m.conversations))
    };
    let mut out = String::from(
        "| what | database | streams | conversations | outcomes | seconds | conversations/s | rows/s | MiB pushed | server peak RSS MiB | conversations/s ÷ the floor's on as many streams |\n\
         | --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for m in measured {
        let outcomes: Vec<String> = m
            .outcomes
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        let rate = m.per_second(m.conversations);
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.2} | {:.0} | {:.0} | {} | {} | {} |\n",
            m.what,
            m.database,
            m.streams,
            crate::thousands_sep(m.conversations),
            outcomes.join(", "),
            m.elapsed.as_secs_f64(),
            rate,
            m.per_second(m.rows),
            m.bytes
                .map_or("—".to_owned(), |b| format!("{:.0}", b as f64 / 1048576.0)),
            m.peak_rss_kib
                .map_or("—".to_owned(), |k| format!("{:.0}", k as f64 / 1024.0)),
            floor(m.streams).map_or("—".to_owned(), |f| format!("{:.2}×", rate / f)),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::newer;

    #[test]
    fn a_newer_version_ends_after_every_generated_time() {
        let d = newer(serde_json::json!({"conversationId": "c"}), 3);
        assert_eq!(d["conversationEnd"], "2027-01-01T00:00:03.000Z");
    }
}
