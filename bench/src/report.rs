//! The results: the markdown table, the section of `BENCHMARKS.md` it goes in (one per data
//! set size; a re-run replaces its own), and what the section says about where it ran.

use crate::stats::Summary;
use std::fmt::Write as _;
use std::time::Duration;

/// One measured cell: a scenario at one concurrency, through the gateway or the floor.
#[derive(Debug, Clone)]
pub struct Measure {
    pub summary: Summary,
    /// Units (requests, walks, pages) per second.
    pub throughput: f64,
    /// SQL statements per unit.
    pub statements: f64,
    /// Peak resident memory of the server during the measurement, in KiB (gateway only).
    pub peak_rss_kib: Option<u64>,
    /// Units that failed (not counted in the latencies).
    pub errors: u64,
}

/// A line of the table.
#[derive(Debug, Clone)]
pub struct Row {
    pub scenario: String,
    pub concurrency: usize,
    pub gateway: Measure,
    pub floor: Option<Measure>,
    /// PostGraphile, when the scenario has an equivalent query and the peer runs.
    pub peer: Option<Measure>,
}

/// The table of `rows`, in markdown.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| scenario | conc. | n | req/s | p50 ms | p95 ms | p99 ms | SQL/req | peak RSS MiB | floor req/s | floor p50 ms | floor p99 ms | p50 gateway/floor | req/s floor/gateway | PostGraphile req/s | PostGraphile p50 ms | PostGraphile p99 ms | req/s convgraph/PostGraphile |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for row in rows {
        let g = &row.gateway;
        let n = if g.errors > 0 {
            format!("{} ({} failed)", g.summary.count, g.errors)
        } else {
            g.summary.count.to_string()
        };
        let rss = g
            .peak_rss_kib
            .map_or_else(|| "—".to_owned(), |k| format!("{:.0}", k as f64 / 1024.0));
        let (floor_rate, floor_p50, floor_p99, p50_ratio, rate_ratio) = match &row.floor {
            Some(f) => (
                rate(f.throughput),
                millis(f.summary.p50),
                millis(f.summary.p99),
                ratio(g.summary.p50.as_secs_f64(), f.summary.p50.as_secs_f64()),
                ratio(f.throughput, g.throughput),
            ),
            None => Default::default(),
        };
        // No equivalent query (the aggregates), or the peer did not run: a dash.
        let (peer_rate, peer_p50, peer_p99, peer_ratio) = match &row.peer {
            Some(p) => (
                with_failures(rate(p.throughput), p.errors),
                millis(p.summary.p50),
                millis(p.summary.p99),
                ratio(g.throughput, p.throughput),
            ),
            None => ("—".into(), "—".into(), "—".into(), "—".into()),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {n} | {} | {} | {} | {} | {:.1} | {rss} | {floor_rate} | {floor_p50} | {floor_p99} | {p50_ratio} | {rate_ratio} | {peer_rate} | {peer_p50} | {peer_p99} | {peer_ratio} |",
            row.scenario,
            row.concurrency,
            rate(g.throughput),
            millis(g.summary.p50),
            millis(g.summary.p95),
            millis(g.summary.p99),
            g.statements,
        );
    }
    out
}

/// The live scenario's table: per setup, the events expected and heard, the latency from a
/// write's commit to the client's receipt, and memory.
pub fn live_table(measured: &[crate::live::Measured]) -> String {
    let mut out = String::from(
        "| subscriptions | instances | connections | writes | events expected | heard | lost | duplicates | errors | p50 | p95 | p99 | max | KiB per idle subscription | peak RSS per instance (MiB) |\n\
         | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    let cell = |summary: Option<Summary>, pick: fn(&Summary) -> Duration| {
        summary.map_or_else(|| "—".to_owned(), |s| millis(pick(&s)))
    };
    for m in measured {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} | {:.0} |",
            m.setup.subscriptions,
            m.setup.instances,
            m.connections,
            m.writes,
            m.expected,
            m.received,
            m.lost(),
            m.duplicates,
            m.errors,
            cell(m.all, |s| s.p50),
            cell(m.all, |s| s.p95),
            cell(m.all, |s| s.p99),
            cell(m.all, |s| s.max),
            m.idle_kib_per_subscription,
            m.peak_rss_kib as f64 / 1024.0,
        );
    }
    out
}

/// A rate, with the number of failed units beside it when some failed.
fn with_failures(rate: String, errors: u64) -> String {
    if errors > 0 {
        format!("{rate} ({errors} failed)")
    } else {
        rate
    }
}

fn rate(per_second: f64) -> String {
    if per_second >= 100.0 {
        format!("{per_second:.0}")
    } else {
        format!("{per_second:.1}")
    }
}

/// Milliseconds with two significant decimals below 10 ms.
pub fn millis(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2}")
    } else if ms < 100.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.1}×", a / b)
    } else {
        "—".to_owned()
    }
}

/// A data set size: `10k`, `100k`, `1M` or a plain number of conversations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size(pub u64);

impl Size {
    /// The short spelling: `100k`, `1M`, or the number.
    pub fn label(self) -> String {
        match self.0 {
            n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
            n if n >= 1_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
            n => n.to_string(),
        }
    }
}

impl std::str::FromStr for Size {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "--size {s:?}: expected a number of conversations such as 10k, 100k, 1M or 25000"
            )
        };
        let (digits, factor) = match s.trim().as_bytes().last() {
            Some(b'k' | b'K') => (&s.trim()[..s.trim().len() - 1], 1_000),
            Some(b'm' | b'M') => (&s.trim()[..s.trim().len() - 1], 1_000_000),
            _ => (s.trim(), 1),
        };
        let n: u64 = digits.parse().map_err(|_| bad())?;
        match n.checked_mul(factor) {
            Some(0) | None => Err(bad()),
            Some(n) => Ok(Size(n)),
        }
    }
}

/// `500ms`, `10s`, `2m`: a duration for the command line.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("{s:?}: expected a duration such as 500ms, 10s or 2m");
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits.parse().map_err(|_| bad())?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" | "" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(bad()),
    }
}

const PREAMBLE: &str = "# Benchmarks

Written by `cargo run --release -p bench -- --size …` (see the README, section Benchmark): one
section per data set size, replaced when the benchmark runs again at that size. Timings live
here, never in tests.

How to read a table:

- Every scenario runs at each concurrency level: that many closed-loop workers (each sends its
  next request when the previous one has answered) over keep-alive HTTP connections, first for a
  warm-up that is not recorded, then for the measured duration. Every latency is recorded;
  percentiles are nearest-rank over all of them. `n` counts the measured units.
- `SQL/req`: SQL statements the server ran per unit, from `convgraph_sql_statements_total` on
  `/metrics` before and after the measurement. `peak RSS`: the server's `VmHWM`, reset
  (`/proc/<pid>/clear_refs`) after each warm-up.
- The floor is the same answer built by PostgreSQL: one hand-written SQL statement per unit (per
  page) that returns the JSON, fetched as text through sqlx, timed the same way with as many
  connections as workers. For the dashboard it is the gateway's JSON, key for key; for the
  full-depth reads, every column of the conversation and of every row of the graph under it,
  nested (keys are the SQL names). `p50 gateway/floor` and `req/s floor/gateway` show what the
  gateway (HTTP, auth, GraphQL, the plan, the scope predicate) costs on top of the database.
- The peer is PostGraphile v5 (amber preset, production mode, a pool of 16 connections like
  convgraph's) over the same database, asked the equivalent GraphQL query (the same columns and
  nesting, relations from the foreign keys; `bench/peer`) through the same load generator at the
  same concurrency. It verifies no token and applies no scope (it reads as the connection's
  role), while convgraph verifies a JWT and adds its scope predicate to every statement.
  `req/s convgraph/PostGraphile` above 1 means convgraph serves more; `—`: no equivalent query
  (the aggregates), or the peer did not run (the section says why).
- Before the first scenario the public schema's tables and indexes are read into the OS page
  cache (`pg_prewarm`), when the database is smaller than half of the available memory.
- The load generator, the server and PostgreSQL share the machine.
";

/// The marker that opens the section of a size.
fn opening(size: Size) -> String {
    format!("<!-- bench:size={} -->", size.0)
}

/// The marker that closes it.
fn closing(size: Size) -> String {
    format!("<!-- /bench:size={} -->", size.0)
}

/// `doc` with the section of its own named `name` (`outage`, `ingest`: sections that do not
/// belong to a data set size) replaced by `body`, or appended, between the markers
/// `<!-- bench:name -->` and `<!-- /bench:name -->`.
pub fn replace_marked_section(doc: &str, name: &str, body: &str) -> String {
    let (opening, closing) = (
        format!("<!-- bench:{name} -->"),
        format!("<!-- /bench:{name} -->"),
    );
    let section = format!("{opening}\n{}\n{closing}", body.trim_end());
    if let (Some(start), Some(end)) = (doc.find(&opening), doc.find(&closing)) {
        if start < end {
            return format!("{}{section}{}", &doc[..start], &doc[end + closing.len()..]);
        }
    }
    format!("{}\n\n{section}\n", doc.trim_end())
}

/// `doc` (the text of `BENCHMARKS.md`, empty when there is none yet) with the section of `size`
/// replaced by `body`, or inserted in order of size. Everything else is kept as is.
pub fn replace_section(doc: &str, size: Size, body: &str) -> String {
    let section = format!("{}\n{}\n{}", opening(size), body.trim_end(), closing(size));
    let doc = if doc.trim().is_empty() {
        format!("{PREAMBLE}\n")
    } else {
        doc.to_owned()
    };
    if let (Some(start), Some(end)) = (doc.find(&opening(size)), doc.find(&closing(size))) {
        if start < end {
            let end = end + closing(size).len();
            return format!("{}{section}{}", &doc[..start], &doc[end..]);
        }
    }
    // Before the first section of a larger size, else at the end.
    let larger = sections(&doc).into_iter().find(|(s, _)| s.0 > size.0);
    match larger {
        Some((_, at)) => format!("{}{section}\n\n{}", &doc[..at], &doc[at..]),
        None => format!("{}\n\n{section}\n", doc.trim_end()),
    }
}

/// The sizes of the sections in `doc`, with where each opens.
fn sections(doc: &str) -> Vec<(Size, usize)> {
    const PREFIX: &str = "<!-- bench:size=";
    doc.match_indices(PREFIX)
        .filter_map(|(at, _)| {
            let rest = &doc[at + PREFIX.len()..];
            let n = rest.split(" -->").next()?.parse().ok()?;
            Some((Size(n), at))
        })
        .collect()
}

/// Where the numbers come from.
#[derive(Debug, Clone)]
pub struct Context {
    pub size: Size,
    pub date: String,
    pub commit: String,
    pub machine: String,
    pub postgres: String,
    pub command: String,
    pub setup: Vec<String>,
    pub notes: Vec<String>,
    /// The live scenario, when it ran.
    pub live: Option<Live>,
}

/// The section of `BENCHMARKS.md` for one run.
pub fn section(context: &Context, rows: &[Row]) -> String {
    let mut out = format!(
        "## {} conversations\n\n- Date: {}\n- Commit: {}\n- Machine: {}\n- PostgreSQL: {}\n- Command: `{}`\n",
        context.size.label(),
        context.date,
        context.commit,
        context.machine,
        context.postgres,
        context.command,
    );
    for line in &context.setup {
        let _ = writeln!(out, "- {line}");
    }
    for note in &context.notes {
        let _ = writeln!(out, "- Note: {note}");
    }
    if !rows.is_empty() {
        out.push('\n');
        out.push_str(&table(rows));
    }
    if let Some(live) = &context.live {
        out.push_str("\n### Live subscriptions\n\n");
        for line in &live.setup {
            let _ = writeln!(out, "- {line}");
        }
        out.push('\n');
        out.push_str(&live_table(&live.measured));
    }
    out
}

/// The live scenario's part of a section.
#[derive(Debug, Clone)]
pub struct Live {
    pub setup: Vec<String>,
    pub measured: Vec<crate::live::Measured>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marked_section_is_appended_then_replaced() {
        let once = replace_marked_section("# Benchmarks\n", "outage", "one");
        assert!(once.ends_with("<!-- bench:outage -->\none\n<!-- /bench:outage -->\n"));
        let twice = replace_marked_section(&once, "outage", "two");
        assert_eq!(twice.matches("<!-- bench:outage -->").count(), 1);
        assert!(twice.contains("\ntwo\n") && !twice.contains("one"));
        let other = replace_marked_section(&twice, "ingest", "three");
        assert!(other.contains("\ntwo\n") && other.contains("<!-- bench:ingest -->\nthree\n"));
    }

    #[test]
    fn sizes_parse_and_print_in_the_short_spelling() {
        for (text, n, label) in [
            ("10k", 10_000, "10k"),
            ("100K", 100_000, "100k"),
            ("1M", 1_000_000, "1M"),
            ("1m", 1_000_000, "1M"),
            ("25000", 25_000, "25k"),
            ("1234", 1_234, "1234"),
        ] {
            let size: Size = text.parse().expect(text);
            assert_eq!((size.0, size.label().as_str()), (n, label), "{text}");
        }
        for bad in ["", "k", "0", "ten", "1.5M", "-1"] {
            assert!(bad.parse::<Size>().is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("10h").is_err());
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn the_live_table_says_what_was_lost() {
        let summary = |ms: u64| Summary {
            count: 10,
            mean: Duration::from_millis(ms),
            p50: Duration::from_millis(ms),
            p95: Duration::from_millis(ms * 2),
            p99: Duration::from_millis(ms * 3),
            max: Duration::from_millis(ms * 4),
        };
        let measured = crate::live::Measured {
            setup: crate::live::Setup {
                subscriptions: 1000,
                instances: 2,
            },
            connections: 10,
            writes: 200,
            expected: 20_000,
            received: 19_990,
            duplicates: 1,
            errors: 2,
            all: Some(summary(5)),
            idle_kib_per_subscription: 17.94,
            peak_rss_kib: 40 * 1024,
        };
        let table = live_table(&[measured]);
        assert!(
            table.contains(
                "| 1000 | 2 | 10 | 200 | 20000 | 19990 | 10 | 1 | 2 | 5.00 | 10.0 | 15.0 | 20.0 | 17.9 | 40 |"
            ),
            "{table}"
        );
    }

    #[test]
    fn a_first_section_gets_the_preamble() {
        let doc = replace_section("", Size(100_000), "## 100k\nrun one\n");
        assert!(doc.starts_with("# Benchmarks\n"));
        assert!(doc.ends_with(
            "<!-- bench:size=100000 -->\n## 100k\nrun one\n<!-- /bench:size=100000 -->\n"
        ));
    }

    #[test]
    fn a_rerun_replaces_only_its_own_section() {
        let doc = replace_section("", Size(100_000), "100k run one");
        let doc = replace_section(&doc, Size(1_000_000), "1M run one");
        let edited = doc.replace("How to read a table:", "How to read a table (edited):");
        let doc = replace_section(&edited, Size(100_000), "100k run two");

        assert!(doc.contains("100k run two"));
        assert!(!doc.contains("100k run one"));
        assert!(doc.contains("1M run one"));
        assert!(
            doc.contains("How to read a table (edited):"),
            "the rest is kept"
        );
        assert_eq!(doc.matches("<!-- bench:size=100000 -->").count(), 1);
        assert!(doc.find("100k run two") < doc.find("1M run one"));
    }

    #[test]
    fn sections_stay_in_order_of_size() {
        let doc = replace_section("", Size(1_000_000), "1M");
        let doc = replace_section(&doc, Size(10_000), "10k");
        let doc = replace_section(&doc, Size(100_000), "100k");
        let order: Vec<u64> = sections(&doc).iter().map(|(s, _)| s.0).collect();
        assert_eq!(order, [10_000, 100_000, 1_000_000]);
    }

    #[test]
    fn the_table_shows_the_gateway_against_the_floor_and_the_peer() {
        let summary = |ms: u64| Summary {
            count: 100,
            mean: Duration::from_millis(ms),
            p50: Duration::from_millis(ms),
            p95: Duration::from_millis(ms * 2),
            p99: Duration::from_millis(ms * 3),
            max: Duration::from_millis(ms * 4),
        };
        let rows = [Row {
            scenario: "dashboard".into(),
            concurrency: 4,
            gateway: Measure {
                summary: summary(20),
                throughput: 200.0,
                statements: 4.0,
                peak_rss_kib: Some(51_200),
                errors: 0,
            },
            floor: Some(Measure {
                summary: summary(5),
                throughput: 800.0,
                statements: 1.0,
                peak_rss_kib: None,
                errors: 0,
            }),
            peer: Some(Measure {
                summary: summary(40),
                throughput: 50.0,
                statements: 0.0,
                peak_rss_kib: None,
                errors: 0,
            }),
        }];
        let table = table(&rows);
        assert_eq!(
            table.lines().nth(2),
            Some(
                "| dashboard | 4 | 100 | 200 | 20.0 | 40.0 | 60.0 | 4.0 | 50 | 800 | 5.00 | 15.0 | 4.0× | 4.0× | 50.0 | 40.0 | 120 | 4.0× |"
            ),
            "{table}"
        );
        let without_peer = Row {
            peer: None,
            ..rows[0].clone()
        };
        assert!(
            super::table(&[without_peer])
                .lines()
                .nth(2)
                .is_some_and(|l| l.ends_with("| 4.0× | — | — | — | — |")),
            "no peer: dashes"
        );
    }
}
