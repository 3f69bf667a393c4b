//! `cargo run --release -p bench -- --size 100k`: prepares a database of that size from the
//! generator (kept for the next run), reads it into the OS cache, starts the release
//! `convgraph serve` and PostGraphile (the peer) against it, drives each scenario at each
//! concurrency level over real HTTP, as hand-written SQL (the floor) and through the peer, and
//! writes the table to stdout and to its section of `BENCHMARKS.md`.

mod ingest;
mod live;
mod load;
mod outage;
mod peer;
mod prepare;
mod report;
mod scenarios;
mod server;
mod stats;

use anyhow::Context as _;
use api::auth::{AuthConfig, TokenRequest};
use clap::Parser;
use futures::FutureExt as _;
use rand::{Rng as _, SeedableRng as _};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use load::{Op, Run};
use report::{Measure, Row, Size};
use scenarios::{DataSet, Http, Scenario};
use server::{Counters, Server};

/// convgraph's benchmark: throughput, latency, SQL statements per request and the server's
/// peak memory, through the gateway and against hand-written SQL.
#[derive(Parser)]
#[command(name = "bench")]
struct Args {
    /// Conversations in the data set: 10k, 100k, 1M or a number.
    #[arg(long)]
    size: Size,
    /// PostgreSQL server to keep the benchmark databases on (`convgraph_bench_<size>`); without
    /// it, a private local server with its data in --data-dir.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Data directory of the private local server.
    #[arg(long, default_value = ".convgraph/bench-pgdata")]
    data_dir: PathBuf,
    /// Concurrency levels (closed-loop workers), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,4,16")]
    concurrency: Vec<usize>,
    /// Measured time per scenario and concurrency level (500ms, 10s, 2m).
    #[arg(long, default_value = "10s", value_parser = report::parse_duration)]
    duration: Duration,
    /// Unrecorded warm-up before each measurement.
    #[arg(long, default_value = "2s", value_parser = report::parse_duration)]
    warmup: Duration,
    /// Generator seed of the data set.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Accept an existing, unmarked `convgraph_bench_<size>` that already holds this data set
    /// (checked) instead of seeding it, e.g. one made by `convgraph seed` and renamed.
    #[arg(long)]
    adopt_existing: bool,
    /// The convgraph binary to run; by default `cargo build --release --bin convgraph` is run
    /// and its binary used.
    #[arg(long)]
    server_binary: Option<PathBuf>,
    /// Where the results go; by default BENCHMARKS.md at the workspace root.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Print the table only; leave BENCHMARKS.md alone.
    #[arg(long)]
    no_write: bool,
    /// Only the scenarios whose name contains one of these words (dashboard, aggregate,
    /// workitem, conversation, export, live), comma-separated; `outage` and `ingest` run alone,
    /// each on a private PostgreSQL of its own.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Live scenario: subscriptions held open at once, per setup, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    live_subscriptions: Vec<usize>,
    /// Live scenario: instances the subscriptions are spread over (1, 2 or both), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    live_instances: Vec<usize>,
    /// Live scenario: conversations written per setup.
    #[arg(long, default_value_t = 200)]
    live_writes: usize,
    /// Live scenario: time between two writes.
    #[arg(long, default_value = "50ms", value_parser = report::parse_duration)]
    live_interval: Duration,
    /// Ingest scenario: conversations per push.
    #[arg(long, default_value_t = 10_000)]
    ingest_conversations: u64,
    /// Ingest scenario: conversations stored before the pushes into a populated database (0:
    /// no populated database).
    #[arg(long, default_value_t = 100_000)]
    ingest_populated: u64,
    /// Ingest scenario: concurrent `POST /ingest` streams per push, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,4")]
    ingest_streams: Vec<usize>,
    /// A note for the BENCHMARKS.md section (what else ran on the machine…); repeatable.
    #[arg(long)]
    note: Vec<String>,
}

const JWT_SECRET: &str = "convgraph-bench-secret-of-32-bytes-at-least";
const EXPORT_TOTAL: usize = 1_000;
const EXPORT_PAGE: usize = 100;
const SAMPLE: usize = 1_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_tracing();
    let args = Args::parse();
    anyhow::ensure!(
        !args.concurrency.is_empty() && args.concurrency.iter().all(|c| (1..=256).contains(c)),
        "--concurrency: levels between 1 and 256, e.g. 1,4,16"
    );
    let command = command_line();
    if args.only.iter().any(|w| w == "outage") {
        anyhow::ensure!(
            args.only.len() == 1,
            "--only outage runs alone (on a private server of its own)"
        );
        return run_outage(&args, &command).await;
    }
    if args.only.iter().any(|w| w == "ingest") {
        anyhow::ensure!(
            args.only.len() == 1,
            "--only ingest runs alone (on a private server of its own)"
        );
        return run_ingest(&args, &command).await;
    }
    // `live` is a scenario of its own; the other words choose among the reads.
    let live_chosen = args.only.is_empty() || args.only.iter().any(|w| w == "live");
    let read_words: Vec<&String> = args.only.iter().filter(|w| *w != "live").collect();
    let reads_wanted = args.only.is_empty() || !read_words.is_empty();
    let commit = commit();
    let load_before = load_average();
    let max_concurrency = args.concurrency.iter().copied().max().unwrap_or(1);

    let prepared = prepare::prepare(&prepare::Options {
        size: args.size,
        seed: args.seed,
        database_url: args.database_url.as_deref(),
        data_dir: &args.data_dir,
        max_connections: u32::try_from(max_concurrency)?.max(2),
        adopt_existing: args.adopt_existing,
    })
    .await?;
    eprintln!("bench: database {} {}", prepared.name, prepared.how);
    let postgres = postgres_description(&prepared).await?;
    let data = data_set(&prepared.pool, args.size, args.seed).await?;
    let cache = prewarm(&prepared.pool).await;
    eprintln!("bench: {cache}");

    let binary = match &args.server_binary {
        Some(path) => path.clone(),
        None => server::build_release_binary().await?,
    };
    let log = server::workspace_root()
        .join("target/bench")
        .join(format!("server-{}.log", args.size.label()));
    let server = Server::start(&binary, &prepared.url, JWT_SECRET, &log).await?;
    eprintln!(
        "bench: {} serve at {} (pid {}, log {})",
        binary.display(),
        server.base,
        server.pid,
        log.display()
    );

    let client = reqwest::Client::builder()
        .timeout(scenarios::UNIT_TIMEOUT)
        .pool_max_idle_per_host(256)
        .build()?;
    let token = api::auth::mint(
        &AuthConfig::hs256(JWT_SECRET),
        &TokenRequest {
            subject: "bench".into(),
            divisions: Some(vec!["*".into()]),
            permissions: vec!["conversations:read".into(), "pii:read".into()],
            ttl_seconds: 7 * 86_400,
            ..Default::default()
        },
    )?;
    let http = Arc::new(Http {
        client: client.clone(),
        url: format!("{}/graphql", server.base),
        token: Some(token),
    });
    let (selection, left_out) = scenarios::full_selection(&http).await?;

    // The peer: PostGraphile, when it can be installed and started; the run goes on without.
    let peer_log = server::workspace_root()
        .join("target/bench")
        .join(format!("peer-{}.log", args.size.label()));
    let started_peer = if reads_wanted {
        peer::Peer::start(&prepared.pool, &prepared.url, &peer_log).await
    } else {
        Err(anyhow::anyhow!("only the live scenario was chosen"))
    };
    let (peer, mut peer_line) = match started_peer {
        Ok(peer) => {
            eprintln!(
                "bench: {} at {} (log {})",
                peer.description,
                peer.url,
                peer_log.display()
            );
            let line = format!(
                "Peer: {} (amber preset, `bench/peer/graphile.config.mjs`), production mode, \
                 a pool of 16 connections; it verifies no token and applies no scope (it reads as \
                 the connection's role), while convgraph verifies the bench token on every request \
                 and adds its scope predicate to every statement (the token's scope is `*`, every \
                 division)",
                peer.description
            );
            (Some(peer), line)
        }
        Err(e) => {
            eprintln!("bench: the PostGraphile peer is skipped: {e:#}");
            (
                None,
                format!("Peer: PostGraphile did not run ({e:#}); its columns show —"),
            )
        }
    };
    // A client of its own: node's HTTP server closes a keep-alive connection after 5 s idle
    // (while the other sides are measured, say), and a request sent on it as it closes is reset.
    let peer_client = reqwest::Client::builder()
        .timeout(scenarios::UNIT_TIMEOUT)
        .pool_max_idle_per_host(256)
        .pool_idle_timeout(Duration::from_secs(4))
        .build()?;
    let peer_http = peer.as_ref().map(|p| {
        Arc::new(Http {
            client: peer_client.clone(),
            url: p.url.clone(),
            token: None,
        })
    });
    let peer_selection = match &peer_http {
        Some(peer_http) => match scenarios::introspect(peer_http)
            .await
            .and_then(|types| scenarios::peer_selection(&types, "Conversation", &selection))
        {
            Ok(peer_selection) => Some(peer_selection),
            Err(e) => {
                eprintln!("bench: PostGraphile has no equivalent of the full selection: {e:#}");
                peer_line.push_str(&format!(
                    "; no equivalent of the full-depth selection ({e:#}), so those rows show —"
                ));
                None
            }
        },
        None => None,
    };

    let dashboard = scenarios::Dashboard::new(&data, peer_http.is_some());
    let (window_from, window_to) = dashboard.window();
    let all: Vec<Arc<dyn Scenario>> = vec![
        Arc::new(dashboard),
        Arc::new(scenarios::DayByQueue::conversations(&data)),
        Arc::new(scenarios::DayByQueue::workitems(&data)),
        Arc::new(scenarios::AgentDay::new(data.agent_days.clone())),
        Arc::new(scenarios::FullConversation::new(
            &selection,
            peer_selection.as_deref(),
            &data,
        )),
        Arc::new(scenarios::ExportWalk::new(
            &selection,
            peer_selection.as_deref(),
            &data,
            EXPORT_TOTAL,
            EXPORT_PAGE,
        )),
    ];
    let chosen: Vec<Arc<dyn Scenario>> = all
        .into_iter()
        .filter(|s| {
            args.only.is_empty() || read_words.iter().any(|w| s.name().contains(w.as_str()))
        })
        .collect();
    anyhow::ensure!(
        !chosen.is_empty() || live_chosen,
        "--only {:?} selects no scenario",
        args.only
    );

    // One unit of each, compared before anything is measured.
    let mut checked = Vec::new();
    let mut differences = Vec::new();
    for scenario in &chosen {
        let check = scenario
            .clone()
            .check(http.clone(), prepared.pool.clone(), peer_http.clone());
        match check.await {
            Ok(check) => {
                checked.extend(check.checked);
                differences.extend(check.differences);
            }
            Err(e) => differences.push(format!("{}: the check failed: {e:#}", scenario.name())),
        }
    }
    for difference in &differences {
        eprintln!("bench: check: {difference}");
    }

    let mut rows = Vec::new();
    for scenario in &chosen {
        for &concurrency in &args.concurrency {
            let seed = rand::rngs::StdRng::seed_from_u64(concurrency as u64).random::<u64>();
            let gateway_op: Op = {
                let (scenario, http) = (scenario.clone(), http.clone());
                Arc::new(move |pick| scenario.clone().gateway(http.clone(), pick).boxed())
            };
            let floor_op: Op = {
                let (scenario, pool) = (scenario.clone(), prepared.pool.clone());
                Arc::new(move |pick| scenario.clone().floor(pool.clone(), pick).boxed())
            };

            eprintln!("bench: {} at {concurrency}: gateway", scenario.name());
            load::drive(&gateway_op, concurrency, args.warmup, seed).await;
            server.reset_peak_memory()?;
            let before = server.counters(&client).await?;
            let gateway = load::drive(&gateway_op, concurrency, args.duration, seed).await;
            let after = server.counters(&client).await?;
            let peak = server.peak_memory_kib()?;
            fail_if_nothing_worked(&gateway, scenario.as_ref(), "gateway")?;
            // The units' requests, the failed ones' (at least one each) and the first /metrics.
            let served = after.http_requests.saturating_sub(before.http_requests);
            if served < gateway.requests + gateway.errors + 1 {
                eprintln!(
                    "bench: the server counted {served} requests, fewer than the {} sent",
                    gateway.requests + 1
                );
            }

            eprintln!("bench: {} at {concurrency}: floor", scenario.name());
            load::drive(&floor_op, concurrency, args.warmup, seed).await;
            let statements_before = api::metrics::sql_statements();
            let floor = load::drive(&floor_op, concurrency, args.duration, seed).await;
            let floor_statements = api::metrics::sql_statements() - statements_before;
            fail_if_nothing_worked(&floor, scenario.as_ref(), "floor")?;

            let peer_run = match &peer_http {
                Some(peer_http) if scenario.has_peer() => {
                    let peer_op: Op = {
                        let (scenario, http) = (scenario.clone(), peer_http.clone());
                        Arc::new(move |pick| scenario.clone().peer(http.clone(), pick).boxed())
                    };
                    eprintln!("bench: {} at {concurrency}: PostGraphile", scenario.name());
                    load::drive(&peer_op, concurrency, args.warmup, seed).await;
                    let run = load::drive(&peer_op, concurrency, args.duration, seed).await;
                    // The peer failing is reported and leaves its columns empty; it never stops
                    // the run.
                    match fail_if_nothing_worked(&run, scenario.as_ref(), "PostGraphile") {
                        Ok(()) => Some(run),
                        Err(e) => {
                            eprintln!("bench: {e:#}");
                            None
                        }
                    }
                }
                _ => None,
            };

            let new_rows = rows_of(
                scenario.as_ref(),
                &Cell {
                    concurrency,
                    gateway: &gateway,
                    gateway_statements: statements(before, after),
                    peak_rss_kib: peak,
                    floor: &floor,
                    floor_statements,
                    peer: peer_run.as_ref(),
                },
            );
            print!(
                "{}",
                report::table(&new_rows)
                    .lines()
                    .skip(2)
                    .map(|l| format!("{l}\n"))
                    .collect::<String>()
            );
            rows.extend(new_rows);
        }
    }
    server.stop().await?;
    if let Some(peer) = peer {
        peer.stop().await?;
    }

    let live = if live_chosen {
        Some(run_live(&args, &binary, &prepared).await?)
    } else {
        None
    };

    let context = report::Context {
        size: args.size,
        date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        commit,
        machine: format!(
            "{}; load average (1/5/15 min) {load_before} before the run, {} after",
            machine(),
            load_average()
        ),
        postgres,
        command,
        setup: vec![
            format!(
                "Data: {} conversations from the generator (seed {}), database `{}` ({}); \
                 conversations start from {} to {}",
                thousands_sep(args.size.0),
                args.seed,
                prepared.name,
                prepared.how,
                data.first_start.format("%Y-%m-%d %H:%M"),
                data.last_start.format("%Y-%m-%d %H:%M UTC"),
            ),
            format!(
                "Per cell: {} s warm-up, {} s measured; token scope: every division, with `pii:read`",
                args.warmup.as_secs_f64(),
                args.duration.as_secs_f64()
            ),
            format!(
                "Dashboard: `conversations(filter: {{interval}}, orderBy: START DESC, first: 50)` over {} – {} \
                 (the hour before noon of the newest day: the busiest hours; the literal last hour of the \
                 data set, near midnight, has too few conversations for a page of 50 at small sizes)",
                window_from.format("%Y-%m-%d %H:%M"),
                window_to.format("%H:%M UTC"),
            ),
            format!(
                "Full depth: `conversation(id:)` with every field of every type of the conversation graph \
                 under `Conversation` ({} fields and relations, derived from the served schema; the object \
                 types whose tables are not under a conversation, the Buzzeasy feed's, are left out as \
                 `tests/it/graph_walk.rs` leaves them: {}), a random id of a sample of {SAMPLE} each request",
                scenarios::count(&selection),
                left_out.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
            format!(
                "Export walk: from a random instant, {} conversations in start order with the same \
                 full selection, `first: {EXPORT_PAGE}` / `after: endCursor`; `n` counts walks (units in \
                 flight at the deadline finish and count), the page row counts the pages of those walks",
                thousands_sep(EXPORT_TOTAL as u64)
            ),
            cache,
            peer_line,
            checks_line(&checked, &differences),
        ],
        notes: args.note.clone(),
        live,
    };
    let section = report::section(&context, &rows);
    println!("\n{section}");
    if !args.no_write {
        let path = args
            .output
            .clone()
            .unwrap_or_else(|| server::workspace_root().join("BENCHMARKS.md"));
        let old = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        std::fs::write(&path, report::replace_section(&old, args.size, &section))
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!(
            "bench: wrote the {} section of {}",
            args.size.label(),
            path.display()
        );
    }
    prepared.pool.close().await;
    if let Some(local) = prepared.local {
        tokio::task::spawn_blocking(move || local.stop()).await??;
    }
    Ok(())
}

/// The outage scenario: a private PostgreSQL stopped and started under load; its own section.
async fn run_outage(args: &Args, command: &str) -> anyhow::Result<()> {
    let binary = match &args.server_binary {
        Some(path) => path.clone(),
        None => server::build_release_binary().await?,
    };
    let log = server::workspace_root().join("target/bench/server-outage.log");
    let load_before = load_average();
    let options = outage::Options {
        binary: &binary,
        secret: JWT_SECRET,
        log: &log,
        conversations: 2_000,
        workers: 8,
        before: Duration::from_secs(5),
        down: Duration::from_secs(5),
        after: Duration::from_secs(10),
        acquire_timeout_secs: 2,
    };
    let measured = outage::run(&options).await?;
    let body = format!(
        "## PostgreSQL outage under load\n\n\
         - Date: {}\n\
         - Commit: {}\n\
         - Machine: {}; load average (1/5/15 min) {} before the run, {} after\n\
         - Command: `{command}`\n\
         - Setup: a private PostgreSQL (initdb, fsync off) with {} generated conversations; \
         `convgraph serve` on it with `CONVGRAPH_DB_ACQUIRE_TIMEOUT_SECS={}`; {} closed-loop \
         workers send `{}` (20 conversations, 4 levels) for {:.0} s, PostgreSQL is stopped \
         (`pg_ctl stop -m fast`) for about {:.0} s and started again, and the load goes on for \
         the rest of {:.0} s. A right answer is byte for byte the one answered before the \
         outage; an answer counts in the phase it was sent in\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        commit(),
        machine(),
        load_before,
        load_average(),
        thousands_sep(measured.conversations),
        measured.acquire_timeout_secs,
        measured.workers,
        "query Outage { conversations(first: 20, orderBy: {direction: DESC}) { … } }",
        options.before.as_secs_f64(),
        options.down.as_secs_f64(),
        (options.before + options.down + options.after).as_secs_f64(),
    );
    write_own_section(args, "outage", body, &outage::table(&measured))
}

async fn run_ingest(args: &Args, command: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        !args.ingest_streams.is_empty() && args.ingest_streams.iter().all(|s| (1..=64).contains(s)),
        "--ingest-streams: between 1 and 64 streams, e.g. 1,4"
    );
    let binary = match &args.server_binary {
        Some(path) => path.clone(),
        None => server::build_release_binary().await?,
    };
    let log = server::workspace_root().join("target/bench/server-ingest.log");
    let load_before = load_average();
    let measured = ingest::run(&ingest::Options {
        binary: &binary,
        secret: JWT_SECRET,
        log: &log,
        conversations: args.ingest_conversations,
        populated: args.ingest_populated,
        streams: &args.ingest_streams,
    })
    .await?;
    let body = format!(
        "## Ingest through POST /ingest\n\n\
         - Date: {}\n\
         - Commit: {}\n\
         - Machine: {}; load average (1/5/15 min) {} before the run, {} after\n\
         - Command: `{command}`\n\
         - Setup: a private PostgreSQL (initdb, fsync off), a database per row; generated \
         conversations (seed 1, the documents `seed` stores, without their Buzzeasy feed) as \
         NDJSON, split into as many contiguous shares as streams, each pushed by one \
         `POST /ingest` to a fresh `convgraph serve`, every report line read to its end; the \
         clock runs from the first request to the last report. Into the populated database, \
         each push interleaves a newer version of a stored conversation with a new one. Rows: \
         the rows of the conversation graph's tables, the metric facts included. The floor: \
         the same tables' rows of the empty case, encoded as COPY text before the clock \
         starts, into an empty database on as many connections as streams, each sending one \
         transaction with one `COPY` per table for its contiguous share. \
         Peak RSS: the server's `VmHWM` over the push\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        commit(),
        machine(),
        load_before,
        load_average(),
    );
    write_own_section(args, "ingest", body, &ingest::table(&measured))
}

/// Ends a section of its own (`outage`, `ingest`): the notes and the table after `body`,
/// printed, and written to BENCHMARKS.md between the section's markers unless `--no-write`.
fn write_own_section(args: &Args, name: &str, mut body: String, table: &str) -> anyhow::Result<()> {
    for note in &args.note {
        body.push_str(&format!("- Note: {note}\n"));
    }
    body.push('\n');
    body.push_str(table);
    println!("\n{body}");
    if !args.no_write {
        let path = args
            .output
            .clone()
            .unwrap_or_else(|| server::workspace_root().join("BENCHMARKS.md"));
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        std::fs::write(&path, report::replace_marked_section(&old, name, &body))
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("bench: wrote the {name} section of {}", path.display());
    }
    Ok(())
}

/// The live scenario on the prepared database: fresh instances per setup, its own tokens.
async fn run_live(
    args: &Args,
    binary: &std::path::Path,
    prepared: &prepare::Prepared,
) -> anyhow::Result<report::Live> {
    anyhow::ensure!(
        args.live_instances.iter().all(|n| (1..=2).contains(n))
            && args
                .live_subscriptions
                .iter()
                .all(|n| (1..=20_000).contains(n)),
        "--live-instances takes 1 and 2, --live-subscriptions up to 20000 (the server's limit)"
    );
    let queues: Vec<String> =
        sqlx::query_scalar("select queue_id from queues order by queue_id limit $1")
            .bind(live::QUEUES as i64)
            .fetch_all(&prepared.pool)
            .await?;
    let division: Option<String> =
        sqlx::query_scalar("select division_id from divisions order by division_id limit 1")
            .fetch_optional(&prepared.pool)
            .await?;
    let config = AuthConfig::hs256(JWT_SECRET);
    let mint = |subject: &str, permissions: &[&str]| {
        api::auth::mint(
            &config,
            &TokenRequest {
                subject: subject.into(),
                divisions: Some(vec!["*".into()]),
                permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
                ttl_seconds: 86_400,
                ..Default::default()
            },
        )
    };
    let reader = mint("bench-live-reader", &["conversations:read"])?;
    let options = live::Options {
        binary,
        database_url: &prepared.url,
        jwt_secret: JWT_SECRET,
        reader_token: &reader,
        pool: &prepared.pool,
        queues,
        division: division.unwrap_or_else(|| "bench-division".into()),
        writes: args.live_writes,
        write_interval: args.live_interval,
        log_dir: &server::workspace_root().join("target/bench"),
    };
    let setups: Vec<live::Setup> = args
        .live_instances
        .iter()
        .flat_map(|&instances| {
            args.live_subscriptions
                .iter()
                .map(move |&subscriptions| live::Setup {
                    subscriptions,
                    instances,
                })
        })
        .collect();
    let measured = live::run(&options, &setups).await?;
    Ok(report::Live {
        setup: vec![
            format!(
                "Each subscription: `conversationChanged(filter: {{queueIds: [q]}})` with 4 levels of fields, \
                 for one of {} queues of the data set, {} to a WebSocket (`graphql-transport-ws`, the server's \
                 per-connection limit); with two instances the connections alternate between them",
                live::QUEUES,
                live::PER_CONNECTION
            ),
            format!(
                "Writes: {} new conversations per setup, one every {} ms, each waiting in one of the queues, \
                 stored by the bench process through `db::ingest::write` (the write path of `POST /ingest`, \
                 the mutation and `import`, which notifies inside its transaction); every write reaches the \
                 subscriptions of its queue (a tenth), on every instance, through PostgreSQL's NOTIFY (an \
                 instance has no shortcut for its own writes, so a write through either instance travels \
                 the same way: `tests/it/live.rs` proves it). Before them, one warm-up write per queue, heard \
                 by every subscription, counts for nothing",
                args.live_writes,
                args.live_interval.as_millis()
            ),
            "Latency: from the return of the write's commit to the client's receipt of the event (the \
             listener hears the NOTIFY, the group of subscriptions of that queue reads the conversation \
             back once through the scoped read path, each subscription's socket sends it). Lost: events \
             the client should have heard (subscriptions of the queue × writes) and did not within 20 s \
             of the last one heard"
                .to_owned(),
            "Memory per idle subscription: the instances' resident set once the subscriptions were \
             opened and registered (2 s), minus the baseline, divided by the subscriptions, before any \
             event; the baseline is taken after one subscription per instance (to a queue no write \
             names, open throughout) started the instance's listener, so it is what one more \
             subscription costs, its share of its WebSocket included. Peak RSS: the largest instance's \
             over the writes. The client runs in the bench process on the same 2 cores"
                .to_owned(),
        ],
        measured,
    })
}

/// The bench's own log (`RUST_LOG`, warnings by default). The floor's statements run through
/// `db::exec`, which counts them as it counts the server's.
fn init_tracing() {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let log_filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "warn,sqlx::query=error".into());
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(log_filter),
        )
        .init();
}

fn fail_if_nothing_worked(run: &Run, scenario: &dyn Scenario, side: &str) -> anyhow::Result<()> {
    if run.latencies.is_empty() {
        anyhow::bail!(
            "{}: every {side} unit failed; the first: {}",
            scenario.name(),
            run.first_error.as_deref().unwrap_or("(no error recorded)")
        );
    }
    if let Some(error) = &run.first_error {
        eprintln!(
            "bench: {}: {} {side} units failed; the first: {error}",
            scenario.name(),
            run.errors
        );
    }
    Ok(())
}

/// Server statements during a measurement (the two `/metrics` reads run none).
fn statements(before: Counters, after: Counters) -> u64 {
    after.sql_statements.saturating_sub(before.sql_statements)
}

/// What the checks before the measurements compared, for the section.
fn checks_line(checked: &[String], differences: &[String]) -> String {
    let mut line = String::from("Checked before measuring: ");
    if checked.is_empty() {
        line.push_str("nothing (no chosen scenario compares answers)");
    } else {
        line.push_str(&checked.join("; "));
    }
    if !differences.is_empty() {
        line.push_str(&format!(". Differences: {}", differences.join("; ")));
    }
    line
}

/// What was measured of a scenario at one concurrency.
struct Cell<'a> {
    concurrency: usize,
    gateway: &'a Run,
    gateway_statements: u64,
    peak_rss_kib: u64,
    floor: &'a Run,
    floor_statements: u64,
    peer: Option<&'a Run>,
}

/// The row of a scenario at one concurrency, and the row of its parts (pages) when it has them.
fn rows_of(scenario: &dyn Scenario, cell: &Cell<'_>) -> Vec<Row> {
    let Cell {
        concurrency,
        gateway,
        gateway_statements,
        peak_rss_kib,
        floor,
        floor_statements,
        peer,
    } = *cell;
    let measure =
        |run: &Run, latencies: &[Duration], units: u64, statements: u64, rss: Option<u64>| {
            stats::summarize(latencies.to_vec()).map(|summary| Measure {
                summary,
                throughput: stats::throughput(latencies.len(), run.elapsed),
                statements: statements as f64 / units.max(1) as f64,
                peak_rss_kib: rss,
                errors: run.errors,
            })
        };
    let mut rows = Vec::new();
    if let Some(g) = measure(
        gateway,
        &gateway.latencies,
        gateway.latencies.len() as u64,
        gateway_statements,
        Some(peak_rss_kib),
    ) {
        rows.push(Row {
            scenario: scenario.name(),
            concurrency,
            gateway: g,
            floor: measure(
                floor,
                &floor.latencies,
                floor.latencies.len() as u64,
                floor_statements,
                None,
            ),
            peer: peer.and_then(|p| measure(p, &p.latencies, p.latencies.len() as u64, 0, None)),
        });
    }
    if let Some(part) = scenario.part_name() {
        if let Some(g) = measure(
            gateway,
            &gateway.parts,
            gateway.requests,
            gateway_statements,
            Some(peak_rss_kib),
        ) {
            rows.push(Row {
                scenario: part,
                concurrency,
                gateway: g,
                floor: measure(floor, &floor.parts, floor.requests, floor_statements, None),
                peer: peer.and_then(|p| measure(p, &p.parts, p.requests, 0, None)),
            });
        }
    }
    rows
}

/// Reads every table and index of the public schema (and their TOAST) into the OS page cache
/// when the database fits in half of the available memory, so that no scenario measures cold
/// reads (they made the p95 of random full-depth reads 25 times their p50); what was done, as a
/// line of the section. Never fails the run.
async fn prewarm(pool: &sqlx::PgPool) -> String {
    match try_prewarm(pool).await {
        Ok(line) => line,
        Err(e) => format!("Cache: not prewarmed ({e:#})"),
    }
}

async fn try_prewarm(pool: &sqlx::PgPool) -> anyhow::Result<String> {
    let size: i64 = sqlx::query_scalar("select pg_database_size(current_database())")
        .fetch_one(pool)
        .await?;
    let size = u64::try_from(size)?;
    let available = mem_available_bytes().context("no MemAvailable in /proc/meminfo")?;
    let mib = |bytes: u64| format!("{} MiB", thousands_sep(bytes / (1 << 20)));
    if size.saturating_mul(2) > available {
        return Ok(format!(
            "Cache: the database ({}) does not fit in half of the available memory ({}): not \
             prewarmed, so reads may go to disk",
            mib(size),
            mib(available)
        ));
    }
    sqlx::query("create extension if not exists pg_prewarm")
        .execute(pool)
        .await
        .context("create extension pg_prewarm")?;
    let started = std::time::Instant::now();
    let (blocks, relations): (i64, i64) = sqlx::query_as(
        "with tables_and_indexes as (
           select oid, reltoastrelid from pg_class
           where relnamespace = 'public'::regnamespace and relkind in ('r', 'i', 'm')),
         toast as (select reltoastrelid as oid from tables_and_indexes where reltoastrelid <> 0),
         toast_indexes as (
           select indexrelid as oid from pg_index where indrelid in (select oid from toast)),
         every_relation as (
           select oid from tables_and_indexes union all select oid from toast
           union all select oid from toast_indexes)
         select coalesce(sum(pg_prewarm(oid::regclass, 'read')), 0)::bigint, count(*)
         from every_relation",
    )
    .fetch_one(pool)
    .await?;
    let block_size: String = sqlx::query_scalar("select current_setting('block_size')")
        .fetch_one(pool)
        .await?;
    let read = u64::try_from(blocks)? * block_size.parse::<u64>().unwrap_or(8192);
    Ok(format!(
        "Cache: before the first scenario, the {relations} tables and indexes of the public schema (with \
         their TOAST) were read into the OS page cache with `pg_prewarm(…, 'read')`: {} in {:.0} s \
         (the database is {}, the memory available {})",
        mib(read),
        started.elapsed().as_secs_f64(),
        mib(size),
        mib(available)
    ))
}

/// `MemAvailable` of `/proc/meminfo`, in bytes.
fn mem_available_bytes() -> Option<u64> {
    std::fs::read_to_string("/proc/meminfo")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .ok()
        .map(|kib| kib * 1024)
}

/// The first and last start of the data set, and a sample of its conversation ids (from the
/// generator: the database holds exactly what it generates).
async fn data_set(pool: &sqlx::PgPool, size: Size, seed: u64) -> anyhow::Result<DataSet> {
    let (first, last): (
        Option<chrono::DateTime<chrono::Utc>>,
        Option<chrono::DateTime<chrono::Utc>>,
    ) = sqlx::query_as(
        "select min(conversation_start), max(conversation_start) from conversations",
    )
    .fetch_one(pool)
    .await?;
    let generator = convgraph::seed::generator(seed);
    let mut rng = rand::rngs::StdRng::seed_from_u64(0xBE4C);
    let sample = (0..SAMPLE)
        .map(|_| generator.conversation_id(rng.random_range(0..size.0)))
        .collect();
    // Agent days in a fixed pseudo-random order (by a hash), so that runs ask the same.
    let agent_days: Vec<(String, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
        "select agent_id, day from (
             select distinct agent_id,
                    date_bin('1 day', start_time, timestamptz '1970-01-01 00:00:00Z') as day
             from workitems
             where agent_id is not null and primary_conversation_id is not null
               and start_time is not null) d
         order by md5(agent_id || day::text) limit $1",
    )
    .bind(SAMPLE as i64)
    .fetch_all(pool)
    .await?;
    Ok(DataSet {
        first_start: first.context("the database has no conversations")?,
        last_start: last.context("the database has no conversations")?,
        sample: Arc::new(sample),
        agent_days: Arc::new(agent_days),
    })
}

async fn postgres_description(prepared: &prepare::Prepared) -> anyhow::Result<String> {
    let (version, shared_buffers, size): (String, String, String) = sqlx::query_as(
        "select current_setting('server_version'), current_setting('shared_buffers'),
                pg_size_pretty(pg_database_size(current_database()))",
    )
    .fetch_one(&prepared.pool)
    .await?;
    let (fsync,): (String,) = sqlx::query_as("select current_setting('fsync')")
        .fetch_one(&prepared.pool)
        .await?;
    let server = if prepared.local.is_some() {
        "the bench's private local server".to_owned()
    } else {
        let url = convgraph::database::redact(&prepared.url);
        url.split('@').next_back().unwrap_or(&url).to_owned()
    };
    Ok(format!(
        "{version} ({server}), shared_buffers {shared_buffers}, fsync {fsync}; database size {size}"
    ))
}

/// The command as typed (quoted for a POSIX shell), with the password of a database URL hidden.
fn command_line() -> String {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .map(|arg| shell_quote(&convgraph::database::redact(&arg)))
        .collect();
    format!("cargo run --release -p bench -- {}", args.join(" "))
}

/// `arg` as a POSIX shell reads it back: as is when it is plain, else in single quotes.
fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c));
    if plain {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

fn commit() -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(server::workspace_root())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    match (
        git(&["rev-parse", "--short", "HEAD"]),
        git(&["status", "--porcelain"]),
    ) {
        (Some(head), Some(status)) if status.is_empty() => format!("{head} (clean tree)"),
        (Some(head), Some(status)) => format!(
            "{head} (dirty tree: {} changed file(s) not committed)",
            status.lines().count()
        ),
        _ => "unknown (not a git checkout)".to_owned(),
    }
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(':')
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let ram_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or_else(
            || "unknown".to_owned(),
            |kib| format!("{:.1}", kib / 1024.0 / 1024.0),
        );
    format!("{cpu}, {cores} cores, {ram_gib} GiB RAM")
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn thousands_sep(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{shell_quote, thousands_sep};

    #[test]
    fn arguments_are_quoted_only_when_a_shell_needs_it() {
        assert_eq!(shell_quote("--size"), "--size");
        assert_eq!(
            shell_quote("postgres://u@h:5432/db"),
            "postgres://u@h:5432/db"
        );
        assert_eq!(shell_quote("two words"), "'two words'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands_sep(1_000_000), "1,000,000");
        assert_eq!(thousands_sep(100_000), "100,000");
        assert_eq!(thousands_sep(999), "999");
    }
}
