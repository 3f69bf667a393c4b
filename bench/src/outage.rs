//! The outage scenario (`--only outage`): PostgreSQL stopped and started again under steady
//! load. A private server of its own (never the benchmark database) holds a small generated
//! data set; `convgraph serve` answers a fixed query from closed-loop workers while the server
//! is stopped for a while and started again. Every answer is classified: right (the JSON
//! answered before the outage, byte for byte), wrong (a 200 with anything else: must be 0), or
//! an error by its `extensions.code`. Its section of BENCHMARKS.md is its own (marker
//! `bench:outage`), whatever the size of the other sections.

use anyhow::Context as _;
use db::local::LocalPostgres;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::server::Server;

/// What the scenario does.
pub struct Options<'a> {
    pub binary: &'a std::path::Path,
    pub secret: &'a str,
    pub log: &'a std::path::Path,
    pub conversations: u64,
    pub workers: usize,
    pub before: Duration,
    pub down: Duration,
    pub after: Duration,
    pub acquire_timeout_secs: u64,
}

/// One answer: when it was sent and answered (since the start), and what it was.
#[derive(Debug, Clone)]
struct Answer {
    sent: Duration,
    answered: Duration,
    outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Right,
    Wrong,
    /// HTTP status and `extensions.code`.
    Error(u16, String),
    /// No HTTP answer (connection refused, reset, timeout).
    Transport,
}

/// What was measured.
pub struct Measured {
    pub conversations: u64,
    pub workers: usize,
    pub acquire_timeout_secs: u64,
    pub before: Duration,
    pub down: Duration,
    pub after: Duration,
    /// Answers per phase: before the stop, while down, after the start.
    pub phases: [BTreeMap<String, u64>; 3],
    /// Longest wait for an answer sent while PostgreSQL was down.
    pub longest_while_down: Duration,
    /// From the stop (asked for) to the first `UNAVAILABLE` answer.
    pub detection: Option<Duration>,
    /// From PostgreSQL accepting connections again to the first right answer sent after it.
    pub recovery: Option<Duration>,
    pub wrong: u64,
}

const QUERY: &str = "query Outage { conversations(first: 20, orderBy: {direction: DESC}) { nodes { id conversationStart divisionIds participants { purpose sessions { mediaType segments { segmentType } } } } } }";

pub async fn run(options: &Options<'_>) -> anyhow::Result<Measured> {
    let postgres = tokio::task::spawn_blocking(LocalPostgres::temporary)
        .await?
        .context("a private PostgreSQL server (initdb, pg_ctl)")?;
    let postgres = Arc::new(postgres);
    let pool = db::connect(&postgres.url(), 8).await?;
    db::migrate(&pool).await?;
    let generator = convgraph::seed::generator(1);
    let bar = indicatif::ProgressBar::hidden();
    convgraph::seed::seed(&pool, generator, options.conversations, 4, &bar).await?;
    pool.close().await;

    let timeout = options.acquire_timeout_secs.to_string();
    let server = Server::start_with(
        options.binary,
        &postgres.url(),
        options.secret,
        options.log,
        &[("CONVGRAPH_DB_ACQUIRE_TIMEOUT_SECS", timeout.as_str())],
    )
    .await?;
    let token = api::auth::mint(
        &api::auth::AuthConfig::hs256(options.secret),
        &api::auth::TokenRequest {
            subject: "bench-outage".into(),
            divisions: Some(vec!["*".into()]),
            permissions: vec!["conversations:read".into()],
            ttl_seconds: 3600,
            ..Default::default()
        },
    )?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let url = format!("{}/graphql", server.base);
    let expected = ask(&client, &url, &token).await?;
    let nodes = serde_json::from_slice::<serde_json::Value>(&expected.1)
        .ok()
        .and_then(|v| v["data"]["conversations"]["nodes"].as_array().map(Vec::len));
    anyhow::ensure!(
        expected.0 == 200 && nodes == Some(20),
        "the query failed before the outage: {}",
        String::from_utf8_lossy(&expected.1)
    );
    let expected = Arc::new(expected.1);

    let start = Instant::now();
    let total = options.before + options.down + options.after;
    let workers: Vec<_> = (0..options.workers)
        .map(|_| {
            let (client, url, token, expected) =
                (client.clone(), url.clone(), token.clone(), expected.clone());
            tokio::spawn(async move {
                let mut answers = Vec::new();
                while start.elapsed() < total {
                    let sent = start.elapsed();
                    let outcome = match ask(&client, &url, &token).await {
                        Ok((200, body)) if body == *expected => Outcome::Right,
                        Ok((200, _)) => Outcome::Wrong,
                        Ok((status, body)) => Outcome::Error(status, code_of(&body)),
                        Err(_) => Outcome::Transport,
                    };
                    answers.push(Answer {
                        sent,
                        answered: start.elapsed(),
                        outcome,
                    });
                    if answers
                        .last()
                        .is_some_and(|a| a.outcome == Outcome::Transport)
                    {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
                answers
            })
        })
        .collect();

    tokio::time::sleep(options.before).await;
    // The outage starts when the stop is asked for (it terminates the open connections at
    // once) and ends when PostgreSQL accepts connections again.
    let stopped = start.elapsed();
    let pausing = postgres.clone();
    tokio::task::spawn_blocking(move || pausing.pause()).await??;
    eprintln!(
        "bench: outage: PostgreSQL stopped at {stopped:?} (down at {:?})",
        start.elapsed()
    );
    tokio::time::sleep(options.down.saturating_sub(start.elapsed() - stopped)).await;
    let resuming = postgres.clone();
    tokio::task::spawn_blocking(move || resuming.resume()).await??;
    let resumed = start.elapsed();
    eprintln!("bench: outage: PostgreSQL accepting connections again at {resumed:?}");

    let mut answers = Vec::new();
    for worker in workers {
        answers.extend(worker.await?);
    }
    server.stop().await?;
    match Arc::try_unwrap(postgres) {
        Ok(postgres) => tokio::task::spawn_blocking(move || postgres.stop()).await??,
        Err(_) => anyhow::bail!("the private server is still shared"),
    }
    answers.sort_by_key(|a| a.answered);

    let phase = |a: &Answer| {
        if a.sent < stopped {
            0
        } else if a.sent < resumed {
            1
        } else {
            2
        }
    };
    let mut phases: [BTreeMap<String, u64>; 3] = Default::default();
    for answer in &answers {
        let label = match &answer.outcome {
            Outcome::Right => "right".to_owned(),
            Outcome::Wrong => "wrong".to_owned(),
            Outcome::Error(status, code) => format!("{status} {code}"),
            Outcome::Transport => "no answer".to_owned(),
        };
        *phases[phase(answer)].entry(label).or_default() += 1;
    }
    Ok(Measured {
        conversations: options.conversations,
        workers: options.workers,
        acquire_timeout_secs: options.acquire_timeout_secs,
        before: options.before,
        down: resumed - stopped,
        after: total.saturating_sub(resumed),
        longest_while_down: answers
            .iter()
            .filter(|a| phase(a) == 1)
            .map(|a| a.answered - a.sent)
            .max()
            .unwrap_or_default(),
        detection: answers
            .iter()
            .find(|a| {
                a.answered >= stopped
                    && matches!(&a.outcome, Outcome::Error(_, c) if c == "UNAVAILABLE")
            })
            .map(|a| a.answered - stopped),
        recovery: answers
            .iter()
            .find(|a| a.sent >= resumed && a.outcome == Outcome::Right)
            .map(|a| a.answered - resumed),
        wrong: answers
            .iter()
            .filter(|a| a.outcome == Outcome::Wrong)
            .count() as u64,
        phases,
    })
}

async fn ask(client: &reqwest::Client, url: &str, token: &str) -> anyhow::Result<(u16, Vec<u8>)> {
    let response = client
        .post(url)
        .bearer_auth(token)
        .json(&serde_json::json!({ "query": QUERY }))
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.bytes().await?.to_vec()))
}

/// The first `extensions.code` of an error body.
fn code_of(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v["errors"][0]["extensions"]["code"]
                .as_str()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "(no code)".to_owned())
}

/// The section's table.
pub fn table(m: &Measured) -> String {
    let mut out = String::from("| phase | length | answers |\n| --- | ---: | --- |\n");
    let names = [
        "before the stop",
        "stopping, down, starting",
        "after PostgreSQL accepts connections",
    ];
    let lengths = [m.before, m.down, m.after];
    for ((name, length), answers) in names.iter().zip(lengths).zip(&m.phases) {
        let list: Vec<String> = answers.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        out.push_str(&format!(
            "| {name} | {:.1} s | {} |\n",
            length.as_secs_f64(),
            list.join(", ")
        ));
    }
    let ms = |d: Option<Duration>| d.map_or("—".to_owned(), |d| format!("{} ms", d.as_millis()));
    out.push_str(&format!(
        "\n- Longest wait for an answer sent while PostgreSQL was down: {} ms (acquire timeout {} s)\n\
         - First `UNAVAILABLE` after the stop was asked for: {}\n\
         - Recovery, from PostgreSQL accepting connections to the first right answer: {}\n\
         - Wrong answers (a 200 that differs from the answer before the outage): {}\n",
        m.longest_while_down.as_millis(),
        m.acquire_timeout_secs,
        ms(m.detection),
        ms(m.recovery),
        m.wrong
    ));
    out
}
