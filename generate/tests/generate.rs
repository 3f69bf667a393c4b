//! The deterministic contact-center generator: determinism, importability, internal consistency
//! and a realistic mix.

use chrono::{DateTime, TimeZone, Utc};
use domain::ConversationGraph;
use domain::buzzeasy::{ReadOptions, Record, Table, read_row};
use domain::genesys::parse_analytics;
use generate::{DAYS, Generator, SHORT_ABANDON_MS, TENANT_TIME_ZONE, Universe};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
        .single()
        .expect("a valid date")
}

fn parse(doc: &Value) -> ConversationGraph {
    parse_analytics(doc).unwrap_or_else(|e| panic!("{e}\n{doc:#}"))
}

/// Every `extra` object anywhere in the parsed graph is empty.
fn assert_no_extra(graph: &ConversationGraph, doc: &Value) {
    fn walk(v: &Value, path: &str, doc: &Value) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    let here = format!("{path}.{k}");
                    if k == "extra" {
                        assert!(
                            child.as_object().is_some_and(|m| m.is_empty()),
                            "{here} = {child}\n{doc:#}"
                        );
                    } else {
                        walk(child, &here, doc);
                    }
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, &format!("{path}[{i}]"), doc);
                }
            }
            _ => {}
        }
    }
    let v = serde_json::to_value(graph).expect("a graph serialises");
    walk(&v, "graph", doc);
}

fn millis(t: Option<DateTime<Utc>>) -> i64 {
    t.expect("a closed segment").timestamp_millis()
}

#[test]
fn same_seed_same_documents_other_seed_other_documents() {
    let a = Generator::new(42, start());
    let b = Generator::new(42, start());
    let c = Generator::new(43, start());
    for i in 0..300 {
        let doc = a.conversation(i);
        assert_eq!(doc, b.conversation(i), "conversation {i}");
        assert_ne!(doc, c.conversation(i), "conversation {i}");
        assert_ne!(doc["conversationId"], c.conversation(i)["conversationId"]);
    }
    assert_eq!(a.universe().agents(), b.universe().agents());
    assert_ne!(a.universe().agents(), c.universe().agents());
    // Another start moves the conversations in time, not their ids.
    let later = Generator::new(42, start() + chrono::Duration::days(3));
    assert_eq!(
        a.conversation(7)["conversationId"],
        later.conversation(7)["conversationId"]
    );
    assert_ne!(
        a.conversation(7)["conversationStart"],
        later.conversation(7)["conversationStart"]
    );
}

#[test]
fn a_conversation_does_not_depend_on_the_ones_before() {
    let fresh = Generator::new(7, start()).conversation(500_000);
    let busy = Generator::new(7, start());
    for i in (0..200).rev() {
        busy.conversation(i);
    }
    assert_eq!(busy.conversation(500_000), fresh);
    // Out of order, in any order, the same documents.
    let g = Generator::new(7, start());
    let forward: Vec<Value> = (0..100).map(|i| g.conversation(i)).collect();
    let backward: Vec<Value> = (0..100).rev().map(|i| g.conversation(i)).collect();
    assert!(forward.iter().eq(backward.iter().rev()));
    // The far end of the index space works too.
    parse(&g.conversation(u64::MAX));
}

#[test]
fn the_universe_is_a_small_contact_center() {
    let u = Universe::new(1);
    assert_eq!(u.divisions().len(), 4);
    assert_eq!(u.business_units().len(), 3);
    assert_eq!(u.queues().len(), 12);
    assert_eq!(u.agents().len(), 80);
    assert!(u.flows().len() >= 4);
    assert!(u.wrap_up_codes().len() >= 10);
    let divisions: BTreeSet<&str> = u.divisions().iter().map(|d| d.id.as_str()).collect();
    let units: BTreeSet<&str> = u.business_units().iter().map(|b| b.id.as_str()).collect();
    let teams: BTreeSet<&str> = u.teams().iter().map(|t| t.id.as_str()).collect();
    for q in u.queues() {
        assert!(divisions.contains(q.division_id.as_str()));
        assert!(units.contains(q.business_unit_id.as_str()));
        assert!(!q.media_types.is_empty());
    }
    for a in u.agents() {
        assert!(divisions.contains(a.division_id.as_str()));
        assert!(units.contains(a.business_unit_id.as_str()));
        assert!(teams.contains(a.team_id.as_str()));
    }
    let names: BTreeSet<&str> = u.agents().iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names.len(), 80, "agent names are unique");
    for d in u.divisions() {
        let n = u.agents().iter().filter(|a| a.division_id == d.id).count();
        assert!(n >= 10, "{} has {n} agents", d.name);
    }
    let uuid = |s: &str| {
        let groups: Vec<usize> = s.split('-').map(str::len).collect();
        groups == [8, 4, 4, 4, 12] && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
    };
    assert!(u.agents().iter().all(|a| uuid(&a.id)));
    assert!(u.queues().iter().all(|q| uuid(&q.id)));
}

#[test]
fn every_document_imports_without_leftovers() {
    let g = Generator::new(2026, start());
    let mut ids = BTreeSet::new();
    let window_start = start().timestamp_millis();
    let window_end = window_start + (DAYS + 1) * 86_400_000;
    for i in 0..2_000 {
        let doc = g.conversation(i);
        let graph = parse(&doc);
        assert_no_extra(&graph, &doc);
        assert!(
            ids.insert(graph.id().to_owned()),
            "duplicate id {}",
            graph.id()
        );
        let begun = millis(graph.conversation.conversation_start);
        assert!((window_start..window_end).contains(&begun), "{doc:#}");
        // Timestamps are RFC 3339 UTC with milliseconds, and read back the same.
        let text = doc["conversationStart"].as_str().expect("a string");
        assert_eq!(text.len(), 24, "{text}");
        assert!(text.ends_with('Z'));
        let parsed = graph.conversation.conversation_start.expect("a start");
        assert_eq!(parsed.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(), text);
    }
}

/// The sessions of a graph with their segments and metrics.
struct SessionView<'g> {
    purpose: String,
    segments: Vec<&'g domain::graph::SegmentRow>,
    metrics: Vec<&'g domain::graph::MetricRow>,
}

fn sessions(graph: &ConversationGraph) -> Vec<SessionView<'_>> {
    let purpose: BTreeMap<&str, &str> = graph
        .participants
        .iter()
        .map(|p| {
            (
                p.participant_id.as_str(),
                p.purpose.as_deref().unwrap_or_default(),
            )
        })
        .collect();
    graph
        .sessions
        .iter()
        .map(|s| {
            let key = (&s.participant_id, &s.session_id);
            SessionView {
                purpose: purpose[s.participant_id.as_str()].to_owned(),
                segments: graph
                    .segments
                    .iter()
                    .filter(|g| (&g.participant_id, &g.session_id) == key)
                    .collect(),
                metrics: graph
                    .metrics
                    .iter()
                    .filter(|m| (&m.participant_id, &m.session_id) == key)
                    .collect(),
            }
        })
        .collect()
}

impl SessionView<'_> {
    fn metric_values(&self, name: &str) -> Vec<(i64, i64)> {
        let mut v: Vec<(i64, i64)> = self
            .metrics
            .iter()
            .filter(|m| m.name.as_deref() == Some(name))
            .map(|m| (m.value.expect("a value"), millis(m.emit_date)))
            .collect();
        v.sort_unstable();
        v
    }

    fn metric(&self, name: &str) -> Option<i64> {
        let v = self.metric_values(name);
        assert!(v.len() <= 1, "{name} emitted {} times", v.len());
        v.first().map(|(value, _)| *value)
    }

    /// (duration, end) of the closed segments of one type.
    fn spans(&self, kind: &str) -> Vec<(i64, i64)> {
        let mut v: Vec<(i64, i64)> = self
            .segments
            .iter()
            .filter(|g| g.segment_type.as_deref() == Some(kind) && g.segment_end.is_some())
            .map(|g| {
                let (s, e) = (millis(g.segment_start), millis(g.segment_end));
                (e - s, e)
            })
            .collect();
        v.sort_unstable();
        v
    }

    fn total(&self, kind: &str) -> i64 {
        self.spans(kind).iter().map(|(d, _)| d).sum()
    }
}

#[test]
fn metrics_agree_with_segments() {
    let g = Generator::new(99, start());
    let mut checked_handles = 0;
    let (mut short_abandons, mut flow_outs) = (0, 0);
    for i in 0..2_000 {
        let doc = g.conversation(i);
        let graph = parse(&doc);
        let views = sessions(&graph);
        let ctx = || format!("conversation {i}\n{doc:#}");
        let mut abandoned = false;
        let mut flowed_out = false;
        let mut voicemails = 0;
        for s in &views {
            for m in &s.metrics {
                assert!(m.emit_date.is_some(), "{}", ctx());
            }
            for seg in &s.segments {
                if let (Some(a), Some(b)) = (seg.segment_start, seg.segment_end) {
                    assert!(a <= b, "{}", ctx());
                }
            }
            // Segments of a session follow one another without overlapping.
            for w in s.segments.windows(2) {
                let (Some(end), Some(next)) = (w[0].segment_end, w[1].segment_start) else {
                    panic!("only the last segment is open: {}", ctx());
                };
                assert!(end <= next, "{}", ctx());
            }
            match s.purpose.as_str() {
                "agent" => {
                    assert_eq!(s.metric_values("tTalk"), s.spans("interact"), "{}", ctx());
                    assert_eq!(s.metric_values("tHeld"), s.spans("hold"), "{}", ctx());
                    assert_eq!(s.metric_values("tAcw"), s.spans("wrapup"), "{}", ctx());
                    assert_eq!(s.metric_values("tDialing"), s.spans("dialing"), "{}", ctx());
                    let alerts = s.spans("alert");
                    let talk_done = s.metric("tTalkComplete");
                    if s.metric("nConnected").is_some() {
                        assert_eq!(s.metric_values("tAlert"), alerts, "{}", ctx());
                    } else {
                        assert_eq!(s.metric_values("tNotResponding"), alerts, "{}", ctx());
                        assert!(talk_done.is_none());
                    }
                    if let Some(t) = talk_done {
                        assert_eq!(t, s.total("interact"), "{}", ctx());
                    }
                    if let Some(h) = s.metric("tHeldComplete") {
                        assert_eq!(h, s.total("hold"), "{}", ctx());
                    }
                    let finished = graph.conversation.conversation_end.is_some();
                    if finished && s.metric("nConnected").is_some() {
                        // Everyone who talked to the customer wrapped up.
                        assert_eq!(s.spans("wrapup").len(), 1, "{}", ctx());
                        assert!(s.metric("tHandle").is_some(), "{}", ctx());
                        assert!(
                            s.segments.iter().any(|g| g.wrap_up_code.is_some()),
                            "{}",
                            ctx()
                        );
                    }
                    if let Some(handle) = s.metric("tHandle") {
                        let parts = talk_done.unwrap_or(0)
                            + s.metric("tHeldComplete").unwrap_or(0)
                            + s.metric("tAcw").expect("tAcw with tHandle");
                        assert_eq!(handle, parts, "{}", ctx());
                        let wrapup = s.spans("wrapup");
                        assert_eq!(s.metric_values("tHandle")[0].1, wrapup[0].1, "{}", ctx());
                        checked_handles += 1;
                    }
                    if let Some((answered, at)) = s.metric_values("tAnswered").first().copied() {
                        assert_eq!(at, alerts[0].1, "tAnswered at the answer: {}", ctx());
                        assert!(answered >= alerts[0].0, "{}", ctx());
                    }
                }
                "acd" => {
                    let queue = s.spans("interact");
                    assert!(s.segments.iter().all(|g| g.queue_id.is_some()), "{}", ctx());
                    if let Some(acd) = s.metric("tAcd") {
                        assert_eq!(acd, queue[0].0, "{}", ctx());
                    }
                    if let Some(abandon) = s.metric("tAbandon") {
                        abandoned = true;
                        assert_eq!(abandon, queue[0].0, "{}", ctx());
                        assert_eq!(s.segments[0].disconnect_type.as_deref(), Some("peer"));
                        // A short abandon is an abandon too, under the threshold.
                        let short = s.metric("tShortAbandon");
                        if abandon < SHORT_ABANDON_MS {
                            assert_eq!(short, Some(abandon), "{}", ctx());
                            short_abandons += 1;
                        } else {
                            assert_eq!(short, None, "{}", ctx());
                        }
                    } else {
                        assert_eq!(s.metric("tShortAbandon"), None, "{}", ctx());
                    }
                    if let Some(out) = s.metric("tFlowOut") {
                        flowed_out = true;
                        assert_eq!(out, queue[0].0, "{}", ctx());
                        assert_eq!(s.metric("tAbandon"), None, "{}", ctx());
                        assert_eq!(s.segments[0].disconnect_type.as_deref(), Some("transfer"));
                    }
                    assert_eq!(s.metric("nOffered"), Some(1), "{}", ctx());
                }
                "voicemail" => {
                    voicemails += 1;
                    assert_eq!(
                        s.metric_values("tVoicemail"),
                        s.spans("interact"),
                        "{}",
                        ctx()
                    );
                }
                "ivr" | "workflow" => {
                    let flow = s.spans(if s.purpose == "ivr" {
                        "ivr"
                    } else {
                        "interact"
                    });
                    if let Some(t) = s.metric("tFlow") {
                        assert_eq!(t, flow[0].0, "{}", ctx());
                    }
                }
                _ => {}
            }
        }
        if flowed_out {
            flow_outs += 1;
            assert_eq!(voicemails, 1, "a flow-out leaves a voicemail: {}", ctx());
        } else {
            assert_eq!(voicemails, 0, "{}", ctx());
        }
        if abandoned || flowed_out {
            assert!(
                graph
                    .participants
                    .iter()
                    .all(|p| p.purpose.as_deref() != Some("agent")),
                "an abandoned conversation has no agent: {}",
                ctx()
            );
        }
        // conversationStart / conversationEnd bound the segments.
        let starts = graph.segments.iter().filter_map(|s| s.segment_start);
        assert_eq!(
            graph.conversation.conversation_start,
            starts.min(),
            "{}",
            ctx()
        );
        let open = graph.segments.iter().any(|s| s.segment_end.is_none());
        match graph.conversation.conversation_end {
            Some(end) => {
                assert!(!open, "{}", ctx());
                let ends = graph.segments.iter().filter_map(|s| s.segment_end);
                assert_eq!(Some(end), ends.max(), "{}", ctx());
            }
            None => {
                assert!(open, "in progress means an open segment: {}", ctx());
                assert!(graph.evaluations.is_empty() && graph.surveys.is_empty());
            }
        }
        // Every peerId names a session of the conversation.
        let ids: BTreeSet<&str> = graph
            .sessions
            .iter()
            .map(|s| s.session_id.as_str())
            .collect();
        for s in &graph.sessions {
            if let Some(peer) = &s.peer_id {
                assert!(ids.contains(peer.as_str()), "peer {peer}: {}", ctx());
            }
        }
    }
    assert!(checked_handles > 1_000, "{checked_handles}");
    assert!(
        short_abandons >= 5 && flow_outs >= 5,
        "{short_abandons} short abandons, {flow_outs} flow-outs"
    );
}

#[derive(Default)]
struct Mix {
    total: usize,
    kinds: BTreeMap<&'static str, usize>,
    inbound_voice_completed: usize,
    abandoned_voice: usize,
    answered_voice: usize,
    transferred: usize,
    consults: usize,
    conferences: usize,
    held: usize,
    evaluations: usize,
    surveys: usize,
    resolutions: usize,
    in_progress: usize,
    two_divisions: usize,
    no_division: usize,
    business_hours: usize,
    predictive: usize,
    endpoint_stats: usize,
}

fn kind(graph: &ConversationGraph) -> &'static str {
    let first = &graph.participants[0];
    let media = graph
        .sessions
        .iter()
        .find(|s| s.participant_id == first.participant_id)
        .and_then(|s| s.media_type.as_deref())
        .unwrap_or_default();
    match (media, graph.conversation.originating_direction.as_deref()) {
        ("voice", Some("inbound")) => "inbound voice",
        ("voice", _) => "outbound voice",
        ("callback", _) => "callback",
        ("chat", _) => "chat",
        ("email", _) => "email",
        ("message", _) => "message",
        _ => "other",
    }
}

fn share(n: usize, of: usize) -> f64 {
    n as f64 / of.max(1) as f64
}

#[test]
fn the_mix_is_realistic() {
    let g = Generator::new(5, start());
    let mut mix = Mix::default();
    for i in 0..2_000 {
        let doc = g.conversation(i);
        let graph = parse(&doc);
        mix.total += 1;
        let k = kind(&graph);
        *mix.kinds.entry(k).or_default() += 1;
        let has = |name: &str| {
            graph
                .metrics
                .iter()
                .any(|m| m.name.as_deref() == Some(name))
        };
        let finished = graph.conversation.conversation_end.is_some();
        if !finished {
            mix.in_progress += 1;
        }
        if k == "inbound voice" && finished {
            mix.inbound_voice_completed += 1;
            if has("tAbandon") {
                mix.abandoned_voice += 1;
            } else {
                mix.answered_voice += 1;
                if has("nTransferred") {
                    mix.transferred += 1;
                }
                if has("nConsult") {
                    mix.consults += 1;
                }
            }
        }
        if graph.conversation.conference_start.is_some() {
            mix.conferences += 1;
        }
        if has("tHeld") {
            mix.held += 1;
        }
        mix.evaluations += usize::from(!graph.evaluations.is_empty());
        mix.surveys += usize::from(!graph.surveys.is_empty());
        mix.resolutions += usize::from(!graph.resolutions.is_empty());
        match graph.conversation.division_ids.len() {
            0 => mix.no_division += 1,
            1 => {}
            _ => mix.two_divisions += 1,
        }
        let start = graph.conversation.conversation_start.expect("a start");
        let hour = start
            .format("%H")
            .to_string()
            .parse::<u32>()
            .expect("an hour");
        if (8..18).contains(&hour) {
            mix.business_hours += 1;
        }
        mix.predictive += usize::from(!graph.proposed_agents.is_empty());
        mix.endpoint_stats += usize::from(!graph.media_endpoint_stats.is_empty());
        for e in &graph.evaluations {
            let score = e.o_total_score.unwrap_or(50);
            assert!((0..=100).contains(&score));
            let agent = e.user_id.as_deref().expect("an evaluated agent");
            assert!(
                graph
                    .participants
                    .iter()
                    .any(|p| p.user_id.as_deref() == Some(agent)),
                "the evaluated agent took part"
            );
        }
    }
    let n = mix.total;
    eprintln!(
        "kinds {:?}; abandoned {}/{} inbound voice; transferred {} consults {} of {} answered; \
         conferences {}; held {}; evaluations {} surveys {} resolutions {}; in progress {}; \
         two divisions {} none {}; business hours {}; predictive {}; endpoint stats {} (of {n})",
        mix.kinds,
        mix.abandoned_voice,
        mix.inbound_voice_completed,
        mix.transferred,
        mix.consults,
        mix.answered_voice,
        mix.conferences,
        mix.held,
        mix.evaluations,
        mix.surveys,
        mix.resolutions,
        mix.in_progress,
        mix.two_divisions,
        mix.no_division,
        mix.business_hours,
        mix.predictive,
        mix.endpoint_stats,
    );
    let expect = |what: &str, got: f64, lo: f64, hi: f64| {
        assert!(
            (lo..=hi).contains(&got),
            "{what}: {:.1}% not in {:.1}%..{:.1}%",
            got * 100.0,
            lo * 100.0,
            hi * 100.0
        );
    };
    for (k, target) in [
        ("inbound voice", 0.55),
        ("outbound voice", 0.10),
        ("callback", 0.07),
        ("chat", 0.10),
        ("email", 0.08),
        ("message", 0.10),
    ] {
        let got = share(mix.kinds.get(k).copied().unwrap_or(0), n);
        expect(k, got, target - 0.035, target + 0.035);
    }
    assert_eq!(mix.kinds.get("other"), None);
    expect(
        "abandon rate",
        share(mix.abandoned_voice, mix.inbound_voice_completed),
        0.04,
        0.12,
    );
    expect(
        "transfers",
        share(mix.transferred, mix.answered_voice),
        0.05,
        0.16,
    );
    expect(
        "consults",
        share(mix.consults, mix.answered_voice),
        0.03,
        0.12,
    );
    expect("conferences", share(mix.conferences, n), 0.005, 0.05);
    expect("held", share(mix.held, n), 0.10, 0.40);
    expect("evaluations", share(mix.evaluations, n), 0.07, 0.13);
    expect("surveys", share(mix.surveys, n), 0.05, 0.11);
    expect("resolutions", share(mix.resolutions, n), 0.03, 0.08);
    expect("in progress", share(mix.in_progress, n), 0.002, 0.025);
    expect("two divisions", share(mix.two_divisions, n), 0.025, 0.08);
    expect("no division", share(mix.no_division, n), 0.005, 0.04);
    expect("business hours", share(mix.business_hours, n), 0.75, 1.0);
    expect("predictive routing", share(mix.predictive, n), 0.05, 0.5);
    expect(
        "media endpoint stats",
        share(mix.endpoint_stats, n),
        0.4,
        0.9,
    );
}

/// Not a test: `cargo test --release -p generate --test generate -- --ignored --nocapture`.
#[test]
#[ignore]
fn speed_of_100k() {
    let g = Generator::new(1, start());
    let t = std::time::Instant::now();
    for i in 0..100_000 {
        std::hint::black_box(g.conversation(i));
    }
    let generate = t.elapsed();
    let t = std::time::Instant::now();
    let mut rows = 0usize;
    for i in 0..100_000 {
        let graph = parse(&g.conversation(i));
        rows += graph.segments.len() + graph.metrics.len();
    }
    let generate_parse = t.elapsed();
    let bytes: usize = (0..10_000)
        .map(|i| serde_json::to_string(&g.conversation(i)).map_or(0, |s| s.len()))
        .sum();
    // The feed, as `convgraph seed` makes it: off the document, then read as the import reads.
    let t = std::time::Instant::now();
    let mut feed_rows = 0usize;
    for i in 0..100_000 {
        let doc = g.conversation(i);
        feed_rows += std::hint::black_box(g.feed_of(i, &doc)).len();
    }
    let generate_feed = t.elapsed();
    let t = std::time::Instant::now();
    for i in 0..100_000 {
        let doc = g.conversation(i);
        for (table, row) in g.feed_of(i, &doc) {
            std::hint::black_box(read_row(table, &row, &ReadOptions::default()).is_ok());
        }
    }
    let generate_feed_read = t.elapsed();
    println!(
        "100k conversations: generate {generate:?}, generate+parse {generate_parse:?}; \
         {rows} segment+metric rows; {} bytes of JSON per conversation; \
         generate+feed {generate_feed:?} ({feed_rows} feed rows), \
         generate+feed+read_row {generate_feed_read:?}",
        bytes / 10_000
    );
}

// ---------------------------------------------------------------------------------------------
// The Buzzeasy feed
// ---------------------------------------------------------------------------------------------

/// A feed row read as the import reads it: the table's columns.
fn read(table: Table, row: &Value) -> Value {
    match read_row(table, row, &ReadOptions::default()) {
        Ok(Record::Row { table: t, row, .. }) => {
            assert_eq!(t, table);
            row
        }
        Ok(Record::Conversation(_)) => panic!("{table:?} rows are conversations\n{row:#}"),
        Err(e) => panic!("{table:?}: {e}\n{row:#}"),
    }
}

/// The rows of a feed, read, per table.
fn by_table(rows: &[(Table, Value)]) -> BTreeMap<Table, Vec<Value>> {
    let mut out: BTreeMap<Table, Vec<Value>> = BTreeMap::new();
    for (table, row) in rows {
        out.entry(*table).or_default().push(read(*table, row));
    }
    out
}

fn rows_of(tables: &BTreeMap<Table, Vec<Value>>, table: Table) -> &[Value] {
    tables.get(&table).map_or(&[], Vec::as_slice)
}

/// A column holding a UTC time, as milliseconds.
fn ms(v: &Value) -> Option<i64> {
    v.as_str().map(|s| {
        s.parse::<DateTime<Utc>>()
            .unwrap_or_else(|e| panic!("{s}: {e}"))
            .timestamp_millis()
    })
}

fn key_of(table: Table, row: &Value) -> String {
    table
        .key_columns()
        .iter()
        .map(|k| row[*k].to_string())
        .collect::<Vec<_>>()
        .join("|")
}

/// A session of a conversation document, with its segments as (type, start, end, segment).
struct LegView {
    purpose: String,
    user_id: Option<String>,
    media: String,
    session: Value,
    segments: Vec<(String, i64, Option<i64>, Value)>,
}

/// Whether a document's session emitted the metric `name`.
fn emitted(session: &Value, name: &str) -> bool {
    session["metrics"]
        .as_array()
        .is_some_and(|ms| ms.iter().any(|m| m["name"] == name))
}

fn doc_ms(v: &Value) -> Option<i64> {
    ms(v)
}

fn doc_legs(doc: &Value) -> Vec<LegView> {
    let mut out = Vec::new();
    for p in doc["participants"].as_array().expect("participants") {
        for s in p["sessions"].as_array().expect("sessions") {
            let segments = s["segments"]
                .as_array()
                .expect("segments")
                .iter()
                .map(|g| {
                    (
                        g["segmentType"].as_str().expect("a type").to_owned(),
                        doc_ms(&g["segmentStart"]).expect("a start"),
                        doc_ms(&g["segmentEnd"]),
                        g.clone(),
                    )
                })
                .collect();
            out.push(LegView {
                purpose: p["purpose"].as_str().expect("a purpose").to_owned(),
                user_id: p["userId"].as_str().map(str::to_owned),
                media: s["mediaType"].as_str().expect("a media type").to_owned(),
                session: s.clone(),
                segments,
            });
        }
    }
    out
}

#[test]
fn the_feed_is_deterministic_and_a_function_of_the_conversation() {
    let a = Generator::new(42, start());
    let b = Generator::new(42, start());
    let c = Generator::new(43, start());
    assert_eq!(a.lookups(), b.lookups());
    assert_ne!(a.lookups(), c.lookups());
    for i in 0..300 {
        let feed = a.feed(i);
        assert!(!feed.is_empty(), "conversation {i} has no feed");
        assert_eq!(feed, b.feed(i), "conversation {i}");
        assert_eq!(feed, a.feed_of(i, &a.conversation(i)), "conversation {i}");
        assert_ne!(feed, c.feed(i), "conversation {i}");
    }
    // In any order, the same rows; the far end of the index space too.
    let forward: Vec<_> = (0..100).map(|i| a.feed(i)).collect();
    let backward: Vec<_> = (0..100).rev().map(|i| a.feed(i)).collect();
    assert!(forward.iter().eq(backward.iter().rev()));
    assert_eq!(a.feed(u64::MAX), b.feed(u64::MAX));
}

#[test]
fn every_feed_row_reads_through_the_import_with_nothing_left_over() {
    let g = Generator::new(2026, start());
    let budapest: chrono_tz::Tz = TENANT_TIME_ZONE.parse().expect("a time zone");
    let mut keys: BTreeMap<Table, BTreeSet<String>> = BTreeMap::new();
    let mut rows: Vec<(Table, Value)> = g.lookups();
    for i in 0..3_000 {
        rows.extend(g.feed(i));
    }
    let mut local_times = 0;
    for (table, source) in &rows {
        assert!(
            !matches!(
                table,
                Table::Calls | Table::Chats | Table::Emails | Table::Conversations
            ),
            "conversations come from the Genesys documents"
        );
        let row = read(*table, source);
        assert_eq!(row["extra"], serde_json::json!({}), "{table:?}\n{source:#}");
        assert!(
            keys.entry(*table).or_default().insert(key_of(*table, &row)),
            "{table:?}: duplicate key {}",
            key_of(*table, &row)
        );
        // Every local time has its UTC twin, and is that time on the tenant's wall clock.
        for (column, value) in row.as_object().expect("an object") {
            let Some(base) = column.strip_suffix("_local") else {
                continue;
            };
            let Some(local) = value.as_str() else {
                continue;
            };
            let utc = row[base]
                .as_str()
                .unwrap_or_else(|| panic!("{table:?}.{column} without {base}\n{source:#}"));
            let utc: DateTime<Utc> = utc.parse().expect("a UTC time");
            let wall = utc.with_timezone(&budapest).naive_local();
            let local = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M:%S%.f")
                .unwrap_or_else(|e| panic!("{local}: {e}"));
            assert_eq!(local, wall, "{table:?}.{column}\n{source:#}");
            local_times += 1;
        }
    }
    assert!(local_times > 10_000, "{local_times}");
    // Every table of the feed but its conversations has rows.
    for table in Table::ALL {
        let conversation = matches!(
            table,
            Table::Calls | Table::Chats | Table::Emails | Table::Conversations
        );
        assert_eq!(
            keys.contains_key(&table),
            !conversation,
            "{table:?}: {:?}",
            keys.get(&table).map(BTreeSet::len)
        );
    }
    eprintln!(
        "rows per table over 3000 conversations: {:?}",
        keys.iter()
            .map(|(t, k)| (t.name(), k.len()))
            .collect::<Vec<_>>()
    );
}

/// Counts of what the consistency test saw.
#[derive(Default, Debug)]
struct FeedMix {
    workitems: usize,
    results: BTreeMap<String, usize>,
    held: usize,
    queue_segments: usize,
    abandoned: usize,
    flowed_out: usize,
    rejected_attempts: usize,
    bot_segments: usize,
    captured: usize,
    collected: usize,
    evaluations: usize,
    answers: usize,
    campaign_records: usize,
    callback_records: usize,
    states: BTreeMap<String, usize>,
}

#[test]
fn the_feed_agrees_with_its_conversations() {
    let g = Generator::new(11, start());
    let lookups = by_table(&g.lookups());
    let ids = |table: Table, column: &str| -> BTreeSet<String> {
        rows_of(&lookups, table)
            .iter()
            .map(|r| r[column].as_str().expect("an id").to_owned())
            .collect()
    };
    let agents = ids(Table::Agents, "agent_id");
    let users = ids(Table::Users, "user_id");
    let queues = ids(Table::Queues, "queue_id");
    let channels = ids(Table::Channels, "channel_id");
    let bot_steps = ids(Table::BotSteps, "bot_step_id");
    let campaigns = ids(Table::Campaigns, "campaign_id");
    let units = ids(Table::BusinessUnits, "business_unit_id");
    let callback_campaigns: BTreeSet<String> = rows_of(&lookups, Table::Campaigns)
        .iter()
        .filter(|r| r["campaign_type"] == "Callback")
        .map(|r| r["campaign_id"].as_str().expect("an id").to_owned())
        .collect();
    assert_eq!(callback_campaigns.len(), 3);
    assert!(agents.is_subset(&users), "agents are users");
    assert!(users.len() > agents.len(), "and there are supervisors");
    for q in rows_of(&lookups, Table::Queues) {
        assert!(channels.contains(q["channel_id"].as_str().expect("a channel")));
    }
    for c in rows_of(&lookups, Table::Channels)
        .iter()
        .chain(rows_of(&lookups, Table::Campaigns))
    {
        assert!(units.contains(c["business_unit_id"].as_str().expect("a unit")));
    }
    // Business-unit membership over time: (agent, unit) -> [(time, assigned)].
    let mut membership: BTreeMap<(String, String), Vec<(i64, bool)>> = BTreeMap::new();
    for c in rows_of(&lookups, Table::AgentBusinessUnitChanges) {
        let key = (
            c["agent_id"].as_str().expect("an agent").to_owned(),
            c["business_unit_id"].as_str().expect("a unit").to_owned(),
        );
        assert!(users.contains(&key.0));
        membership.entry(key).or_default().push((
            ms(&c["timestamp"]).expect("a time"),
            c["assigned"].as_bool().expect("a flag"),
        ));
    }
    assert!(
        membership.values().any(|v| v.len() > 1),
        "some agents move between units"
    );
    let member_at = |agent: &str, unit: &str, at: i64| {
        membership
            .get(&(agent.to_owned(), unit.to_owned()))
            .and_then(|changes| {
                changes
                    .iter()
                    .filter(|(t, _)| *t <= at)
                    .max_by_key(|(t, _)| *t)
            })
            .is_some_and(|(_, assigned)| *assigned)
    };

    let mut mix = FeedMix::default();
    // The first 3000, and more conversations still in progress (with open legs).
    let in_progress = (3_000..15_000).filter(|i| g.conversation(*i)["conversationEnd"].is_null());
    let indexes: Vec<u64> = (0..3_000).chain(in_progress).collect();
    assert!(indexes.len() > 3_050, "{}", indexes.len());
    for i in indexes {
        let doc = g.conversation(i);
        let tables = by_table(&g.feed_of(i, &doc));
        let ctx = || format!("conversation {i}\n{doc:#}\n{tables:#?}");
        let conversation = doc["conversationId"].as_str().expect("an id");
        let legs = doc_legs(&doc);
        let workitems = rows_of(&tables, Table::Workitems);
        let sessions = rows_of(&tables, Table::WorkitemConversationSessions);
        let states = rows_of(&tables, Table::AgentStates);
        for rows in tables.values() {
            for row in rows {
                for column in ["conversation_id", "primary_conversation_id"] {
                    if let Some(c) = row[column].as_str() {
                        assert_eq!(c, conversation, "{}", ctx());
                    }
                }
            }
        }

        // A workitem per agent leg, with that agent, over that leg.
        let agent_legs: Vec<&LegView> = legs.iter().filter(|l| l.purpose == "agent").collect();
        assert_eq!(workitems.len(), agent_legs.len(), "{}", ctx());
        for leg in &agent_legs {
            let agent = leg.user_id.as_deref().expect("an agent");
            let first = leg.segments[0].1;
            let last = leg.segments.last().expect("a segment").2;
            let w = workitems
                .iter()
                .find(|w| w["agent_id"] == agent && ms(&w["start_time"]) == Some(first))
                .unwrap_or_else(|| panic!("no workitem for {agent}: {}", ctx()));
            assert!(agents.contains(agent));
            assert_eq!(ms(&w["end_time"]), last, "{}", ctx());
            for (_, s, e, _) in &leg.segments {
                assert!(first <= *s && e.zip(last).is_none_or(|(e, l)| e <= l));
            }
            let queue = leg.segments.iter().find_map(|s| s.3["queueId"].as_str());
            assert_eq!(w["queue_id"].as_str(), queue, "{}", ctx());
            if let Some(q) = queue {
                assert!(queues.contains(q));
            }
            let unit = w["business_unit_id"].as_str().expect("a unit");
            assert!(
                member_at(agent, unit, first),
                "{agent} works for {unit} at {first} without belonging to it: {}",
                ctx()
            );
            assert!(channels.contains(w["primary_channel_id"].as_str().expect("a channel")));
            let connected = leg.segments.iter().any(|s| s.0 != "alert");
            let result = w["result"].as_str();
            match (last, connected) {
                (None, _) => assert_eq!(result, None, "{}", ctx()),
                (Some(_), true) => assert_eq!(result, Some("Handled"), "{}", ctx()),
                (Some(_), false) => assert!(
                    matches!(result, Some("Missed" | "Rejected" | "Abandoned")),
                    "{}",
                    ctx()
                ),
            }
            *mix.results
                .entry(result.unwrap_or("open").to_owned())
                .or_default() += 1;
            if let Some(end) = last {
                let whole = |ms: i64| ((ms + 500) / 1000) as f64;
                assert_eq!(w["duration_in_seconds"], whole(end - first), "{}", ctx());
                let total = |kinds: &[&str]| -> i64 {
                    leg.segments
                        .iter()
                        .filter(|s| kinds.contains(&s.0.as_str()))
                        .map(|s| s.2.expect("closed") - s.1)
                        .sum()
                };
                assert_eq!(w["preview_duration"], whole(total(&["alert"])));
                assert_eq!(w["wrap_up_duration"], whole(total(&["wrapup"])));
                let wrap = leg.segments.iter().find(|s| s.0 == "wrapup");
                assert_eq!(
                    w["completion_code"].is_string(),
                    wrap.is_some_and(|s| s.3["wrapUpCode"].is_string()),
                    "{}",
                    ctx()
                );
            }
            // Its session: the leg's holds.
            let id = w["workitem_id"].as_str().expect("an id");
            let s: Vec<&Value> = sessions.iter().filter(|s| s["workitem_id"] == id).collect();
            assert_eq!(s.len(), 1, "{}", ctx());
            let holds: Vec<i64> = leg
                .segments
                .iter()
                .filter(|s| s.0 == "hold")
                .map(|s| s.2.map_or(0, |e| e - s.1))
                .collect();
            assert_eq!(s[0]["hold_count"], holds.len(), "{}", ctx());
            let total_hold = s[0]["total_hold_duration"].as_f64().expect("a duration");
            assert!((total_hold * 1000.0 - holds.iter().sum::<i64>() as f64).abs() < 0.5);
            mix.held += usize::from(!holds.is_empty());
            // A Busy state of its agent covers it.
            let covered = states.iter().any(|st| {
                st["agent_id"] == agent
                    && st["state"] == "Busy"
                    && ms(&st["start_time"]).is_some_and(|s| s <= first)
                    && match (last, st["duration_in_seconds"].as_f64()) {
                        (None, _) => true,
                        (Some(end), Some(d)) => {
                            ms(&st["start_time"]).expect("a start") + (d * 1000.0).round() as i64
                                >= end
                        }
                        (Some(_), None) => false,
                    }
            });
            assert!(covered, "no Busy state over workitem {id}: {}", ctx());
        }
        mix.workitems += workitems.len();
        for st in states {
            assert!(agents.contains(st["agent_id"].as_str().expect("an agent")));
            *mix.states
                .entry(format!(
                    "{}{}",
                    st["state"].as_str().expect("a state"),
                    if st["is_login"] == true {
                        " (login)"
                    } else {
                        ""
                    }
                ))
                .or_default() += 1;
        }

        // A queue segment per queue leg.
        let acd: Vec<&LegView> = legs.iter().filter(|l| l.purpose == "acd").collect();
        let segments = rows_of(&tables, Table::QueueSegments);
        assert_eq!(segments.len(), acd.len(), "{}", ctx());
        for leg in &acd {
            let (_, start, end, seg) = &leg.segments[0];
            let q = segments
                .iter()
                .find(|q| ms(&q["queued_at"]) == Some(*start))
                .unwrap_or_else(|| panic!("no queue segment: {}", ctx()));
            assert_eq!(q["queue_id"], seg["queueId"], "{}", ctx());
            assert_eq!(ms(&q["dequeued_at"]), *end, "{}", ctx());
            assert!(channels.contains(q["channel_id"].as_str().expect("a channel")));
            let reason = q["dequeued_reason"].as_str();
            match (end, seg["disconnectType"].as_str()) {
                (None, _) => assert_eq!(reason, None),
                (Some(_), Some("peer")) => {
                    assert_eq!(reason, Some("CustomerDisconnected"));
                    mix.abandoned += 1;
                }
                (Some(_), _) if emitted(&leg.session, "tFlowOut") => {
                    assert_eq!(reason, Some("QueueTimedOut"), "{}", ctx());
                    mix.flowed_out += 1;
                }
                (Some(_), _) => assert_eq!(reason, Some("AgentConnected"), "{}", ctx()),
            }
        }
        mix.queue_segments += segments.len();
        for r in rows_of(&tables, Table::RejectedEnqueueAttempts) {
            assert!(queues.contains(r["queue_id"].as_str().expect("a queue")));
            let first_queued = segments
                .iter()
                .filter_map(|q| ms(&q["queued_at"]))
                .min()
                .expect("a queue segment after the rejection");
            assert!(ms(&r["rejected_at"]).expect("a time") < first_queued);
            mix.rejected_attempts += 1;
        }

        // Bot segments inside the IVR and routing-flow legs.
        let flows: Vec<&LegView> = legs
            .iter()
            .filter(|l| matches!(l.purpose.as_str(), "ivr" | "workflow"))
            .collect();
        let bots = rows_of(&tables, Table::BotSegments);
        assert_eq!(bots.is_empty(), flows.is_empty(), "{}", ctx());
        for b in bots {
            assert!(bot_steps.contains(b["bot_step_id"].as_str().expect("a step")));
            let (s, e) = (ms(&b["started_at"]).expect("a start"), ms(&b["ended_at"]));
            assert!(
                flows.iter().any(|f| {
                    let (_, fs, fe, _) = &f.segments[0];
                    *fs <= s && fe.is_none_or(|fe| e.is_some_and(|e| e <= fe))
                }),
                "bot segment outside its flow: {}",
                ctx()
            );
            mix.bot_segments += 1;
        }
        mix.captured += rows_of(&tables, Table::CapturedData).len();

        // Collected data and evaluations point at this conversation's workitems.
        let workitem = |id: &Value| {
            workitems
                .iter()
                .find(|w| w["workitem_id"] == *id)
                .unwrap_or_else(|| panic!("no workitem {id}: {}", ctx()))
        };
        for c in rows_of(&tables, Table::CollectedData) {
            assert!(workitem(&c["workitem_id"])["script_id"].is_string());
            mix.collected += 1;
        }
        let evaluations = rows_of(&tables, Table::WorkitemEvaluations);
        let doc_evaluations = doc["evaluations"].as_array().map_or(0, Vec::len);
        assert_eq!(evaluations.len(), doc_evaluations, "{}", ctx());
        for e in evaluations {
            let w = workitem(&e["workitem_id"]);
            let source = &doc["evaluations"][0];
            assert_eq!(e["evaluation_id"], source["evaluationId"]);
            assert_eq!(w["agent_id"], source["userId"], "{}", ctx());
            assert!(users.contains(e["created_by"].as_str().expect("an evaluator")));
            mix.evaluations += 1;
        }
        for d in rows_of(&tables, Table::WorkitemEvaluationData) {
            assert!(
                evaluations
                    .iter()
                    .any(|e| e["evaluation_id"] == d["evaluation_id"]
                        && e["workitem_id"] == d["workitem_id"]),
                "{}",
                ctx()
            );
            mix.answers += 1;
        }

        // A campaign record behind every campaign call and callback.
        let campaign = legs
            .iter()
            .find_map(|l| l.session["outboundCampaignId"].as_str());
        let callback = legs
            .iter()
            .any(|l| l.purpose == "customer" && l.media == "callback");
        let records = rows_of(&tables, Table::CampaignRecords);
        assert_eq!(
            records.len(),
            usize::from(campaign.is_some() || callback),
            "{}",
            ctx()
        );
        for r in records {
            let c = r["campaign_id"].as_str().expect("a campaign");
            assert!(campaigns.contains(c));
            match campaign {
                Some(expected) => assert_eq!(c, expected),
                None => {
                    assert!(callback_campaigns.contains(c));
                    mix.callback_records += 1;
                }
            }
            mix.campaign_records += 1;
        }
        for table in [
            Table::CampaignRecordCustomFields,
            Table::CampaignRecordPhoneNumbers,
            Table::CampaignRecordRegistrations,
        ] {
            for row in rows_of(&tables, table) {
                assert!(
                    records.iter().any(|r| r["record_id"] == row["record_id"]),
                    "{table:?}: {}",
                    ctx()
                );
            }
        }
    }
    eprintln!("{mix:#?}");
    let results = |r: &str| mix.results.get(r).copied().unwrap_or(0);
    assert!(results("Handled") > 2_000, "{mix:?}");
    assert!(results("Missed") > 0 && results("Rejected") > 0, "{mix:?}");
    assert!(mix.held > 200 && mix.abandoned > 50, "{mix:?}");
    assert!(
        mix.rejected_attempts > 30 && mix.captured > 1_000,
        "{mix:?}"
    );
    assert!(mix.collected > 300 && mix.answers > 500, "{mix:?}");
    assert!(
        mix.evaluations > 150 && mix.campaign_records > 200,
        "{mix:?}"
    );
    assert!(mix.callback_records > 100, "{mix:?}");
    for state in ["Idle", "Busy", "Break", "Break (login)", "Logged out"] {
        assert!(mix.states.contains_key(state), "{state}: {mix:?}");
    }
}
