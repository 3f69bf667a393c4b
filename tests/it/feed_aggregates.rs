//! `workitemAggregates`, `flowAggregates`, `campaignRecordAggregates` and
//! `agentStateAggregates` over generated rows, imported as the Buzzeasy feed (OData pages) and
//! the Genesys flow metrics topic (JSON lines) send them, against an independent computation in
//! Rust from the rows as generated: every metric of every sibling, in buckets of two time zones
//! across their daylight-saving changes, for tokens of every kind of scope; filters, the
//! documented identities, the metric listings and the argument errors.

use crate::common::{Server, minimal};
use api::auth::{TokenRequest, mint};
use chrono::{DateTime, Datelike, Duration, NaiveDate, SecondsFormat, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use convgraph::import::{ImportOptions, import_paths};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Everything generated lies in 2026-10-20 .. 2026-11-06, across Europe's (2026-10-25) and
/// America's (2026-11-01) return to standard time.
const WHOLE: &str = "2026-10-19T00:00:00Z/2026-11-08T00:00:00Z";
const FIRST: &str = "2026-10-20T00:00:00Z";
const DAYS: u64 = 17;

/// Instants around the changes: Berlin's 02:30 before and after (00:30Z, 01:30Z), the first
/// and last seconds of its 25-hour day; New York's 01:30 twice (05:30Z, 06:30Z), the first and
/// last seconds of its 25-hour day.
const PINNED: [&str; 8] = [
    "2026-10-25T00:30:00Z",
    "2026-10-25T01:30:00Z",
    "2026-10-24T22:00:00Z",
    "2026-10-25T22:59:59Z",
    "2026-11-01T05:30:00Z",
    "2026-11-01T06:30:00Z",
    "2026-11-01T04:00:00Z",
    "2026-11-02T04:59:59Z",
];

const WORKITEM_METRICS: [&str; 11] = [
    "nWorkitems",
    "nHandled",
    "nMissed",
    "nRejected",
    "nAbandoned",
    "nCancelled",
    "tActive",
    "tPreview",
    "tWrapUp",
    "tHandle",
    "tLookup",
];
const FLOW_METRICS: [&str; 10] = [
    "nFlow",
    "nFlowMilestone",
    "nFlowOutcome",
    "nFlowOutcomeFailed",
    "oFlowMilestone",
    "tFlow",
    "tFlowDisconnect",
    "tFlowExit",
    "tFlowOut",
    "tFlowOutcome",
];
const RECORD_METRICS: [&str; 3] = ["nRecords", "tCustomerRing", "tTalk"];
const STATE_METRICS: [&str; 2] = ["nStates", "tState"];

/// A deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize].clone()
    }

    /// A duration in seconds with milliseconds and half-milliseconds, as the feed may send
    /// it: missing one time in ten, zero one time in ten.
    fn seconds(&mut self, max: u64) -> Option<f64> {
        match self.below(10) {
            0 => None,
            1 => Some(0.0),
            _ => Some(self.below(max * 2000) as f64 / 2000.0),
        }
    }

    /// The `i`th instant: a pinned one first, then anywhere in the data's days.
    fn instant(&mut self, i: usize) -> DateTime<Utc> {
        match PINNED.get(i) {
            Some(t) => t.parse().expect("pinned"),
            None => {
                let first: DateTime<Utc> = FIRST.parse().expect("first");
                first + Duration::seconds(self.below(DAYS * 86_400) as i64)
            }
        }
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A duration in seconds as a `t` metric: milliseconds, rounded half up, only when positive.
fn ms(seconds: Option<f64>) -> Option<i64> {
    seconds
        .map(|s| (s * 1000.0 + 0.5).floor() as i64)
        .filter(|v| *v > 0)
}

/// Who asks: everything, the business unit bu-1, the division div-a.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Viewer {
    All,
    Bu1,
    DivA,
}

const VIEWERS: [Viewer; 3] = [Viewer::All, Viewer::Bu1, Viewer::DivA];

impl Viewer {
    fn token(self, server: &Server) -> String {
        match self {
            Viewer::All => server.token(Some(&["*"])),
            Viewer::DivA => server.token(Some(&["div-a"])),
            Viewer::Bu1 => mint(
                &server.auth,
                &TokenRequest {
                    subject: "unit".into(),
                    divisions: None,
                    business_units: Some(vec!["bu-1".into()]),
                    permissions: vec!["conversations:read".into()],
                    ttl_seconds: 600,
                },
            )
            .expect("token"),
        }
    }
}

/// A row as an aggregate sees it: when it counts, its dimensions' values (several for a record
/// in several divisions, `[None]` for none), its metric values, and who may see it.
struct Fact {
    at: Option<DateTime<Utc>>,
    dims: BTreeMap<&'static str, Vec<Option<String>>>,
    values: Vec<(&'static str, i64)>,
    seen_by: Vec<Viewer>,
}

fn one(v: Option<&str>) -> Vec<Option<String>> {
    vec![v.map(str::to_owned)]
}

/// The generated rows: the feed's tables, the JSON-lines documents (conversations and flow
/// metric records), and each sibling's facts.
struct Data {
    tables: Vec<(&'static str, Vec<Value>)>,
    documents: Vec<Value>,
    workitems: Vec<Fact>,
    flows: Vec<Fact>,
    records: Vec<Fact>,
    states: Vec<Fact>,
}

fn generate() -> Data {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut tables = Vec::new();
    let mut documents = Vec::new();

    tables.push((
        "BusinessUnits",
        vec![
            json!({"id": "bu-1", "name": "Sales"}),
            json!({"id": "bu-2", "name": "Care"}),
        ],
    ));
    // ag-3 serves both units; ag-5 was only ever withdrawn from bu-1; ag-6 has no unit.
    let assignments = [
        ("ag-1", "bu-1", true),
        ("ag-2", "bu-1", true),
        ("ag-3", "bu-2", true),
        ("ag-3", "bu-1", true),
        ("ag-4", "bu-2", true),
        ("ag-5", "bu-1", false),
    ];
    tables.push((
        "AgentBusinessUnitChanges",
        assignments
            .iter()
            .map(|(agent, unit, assigned)| {
                json!({"agentId": agent, "businessUnitId": unit, "assigned": assigned,
                       "timestampUtc": "2026-10-01T00:00:00Z"})
            })
            .collect(),
    ));
    let agent_in_bu1 = |agent: &str| {
        assignments
            .iter()
            .any(|(a, unit, assigned)| *a == agent && *unit == "bu-1" && *assigned)
    };
    let agents = ["ag-1", "ag-2", "ag-3", "ag-4", "ag-5", "ag-6"];

    // Workitems.
    let mut workitems = Vec::new();
    let mut rows = Vec::new();
    for i in 0..400 {
        let at = rng.instant(i);
        let agent = rng.pick(&agents);
        let unit = rng.pick(&[Some("bu-1"), Some("bu-2"), None]);
        let queue = rng.pick(&[Some("q-1"), Some("q-2"), Some("q-3"), None]);
        let media = rng.pick(&["voice", "webchat", "email"]);
        let result = rng.pick(&[
            Some("Handled"),
            Some("Handled"),
            Some("Handled"),
            Some("Missed"),
            Some("Rejected"),
            Some("Abandoned"),
            Some("Cancelled"),
            Some("handled"),
            None,
        ]);
        let active = rng.seconds(900);
        let preview = rng.seconds(30);
        let wrap_up = rng.seconds(300);
        let lookup = rng.seconds(60);
        // A few never count: no start time, or a start outside the interval.
        let start = match i % 97 {
            13 => None,
            14 => Some("2026-11-10T00:00:00Z".parse().expect("time")),
            _ => Some(at),
        };
        let mut row = json!({"id": format!("w-{i}"), "agentId": agent, "mediaType": media});
        let fields = [
            ("queueId", queue.map(Value::from)),
            ("businessUnitId", unit.map(Value::from)),
            ("result", result.map(Value::from)),
            ("startTimeUtc", start.map(|t| Value::from(time(t)))),
            ("activeDurationInSeconds", active.map(Value::from)),
            ("previewDuration", preview.map(Value::from)),
            ("wrapUpDuration", wrap_up.map(Value::from)),
            ("lookupDuration", lookup.map(Value::from)),
        ];
        for (key, value) in fields {
            if let Some(value) = value {
                row[key] = value;
            }
        }
        rows.push(row);
        let mut values = vec![("nWorkitems", 1)];
        let lower = result.map(str::to_lowercase);
        for (metric, name) in [
            ("nHandled", "handled"),
            ("nMissed", "missed"),
            ("nRejected", "rejected"),
            ("nAbandoned", "abandoned"),
            ("nCancelled", "cancelled"),
        ] {
            if lower.as_deref() == Some(name) {
                values.push((metric, 1));
            }
        }
        for (metric, value) in [
            ("tActive", ms(active)),
            ("tPreview", ms(preview)),
            ("tWrapUp", ms(wrap_up)),
            ("tLookup", ms(lookup)),
        ] {
            values.extend(value.map(|v| (metric, v)));
        }
        let handle = ms(active).unwrap_or(0) + ms(wrap_up).unwrap_or(0);
        if handle > 0 {
            values.push(("tHandle", handle));
        }
        let mut seen_by = vec![Viewer::All];
        if unit == Some("bu-1") {
            seen_by.push(Viewer::Bu1);
        }
        workitems.push(Fact {
            at: start,
            dims: BTreeMap::from([
                ("agentId", one(Some(agent))),
                ("queueId", one(queue)),
                ("mediaType", one(Some(media))),
                ("businessUnitId", one(unit)),
                ("result", one(result)),
            ]),
            values,
            seen_by,
        });
    }
    tables.push(("Workitems", rows));

    // Agent states.
    let mut states = Vec::new();
    let mut rows = Vec::new();
    for i in 0..300 {
        let at = rng.instant(i);
        let agent = rng.pick(&agents);
        let state = rng.pick(&["Idle", "Busy", "Break", "Logged out"]);
        let break_name = if state == "Break" {
            rng.pick(&[Some("Lunch"), Some("Coffee"), None])
        } else {
            None
        };
        let duration = rng.seconds(7200);
        let mut row = json!({"id": format!("st-{i}"), "agentId": agent, "state": state,
                             "startTimeUtc": time(at)});
        if let Some(b) = break_name {
            row["breakName"] = json!(b);
        }
        if let Some(d) = duration {
            row["durationInSeconds"] = json!(d);
        }
        rows.push(row);
        let mut values = vec![("nStates", 1)];
        values.extend(ms(duration).map(|v| ("tState", v)));
        let mut seen_by = vec![Viewer::All];
        if agent_in_bu1(agent) {
            seen_by.push(Viewer::Bu1);
        }
        states.push(Fact {
            at: Some(at),
            dims: BTreeMap::from([
                ("agentId", one(Some(agent))),
                ("state", one(Some(state))),
                ("breakName", one(break_name)),
            ]),
            values,
            seen_by,
        });
    }
    tables.push(("AgentStates", rows));

    // Campaigns and their records; cp-3 has no business unit, cp-9 is not in the feed.
    tables.push((
        "Campaigns",
        vec![
            json!({"id": "cp-1", "name": "Renewals", "businessUnitId": "bu-1"}),
            json!({"id": "cp-2", "name": "Callbacks", "businessUnitId": "bu-2"}),
            json!({"id": "cp-3", "name": "Orphans"}),
        ],
    ));
    let mut records = Vec::new();
    let mut rows = Vec::new();
    for i in 0..300 {
        let at = rng.instant(i);
        let campaign = rng.pick(&["cp-1", "cp-2", "cp-3", "cp-9"]);
        let status = rng.pick(&["New", "Processing", "Rescheduled", "Closed"]);
        let ring = rng.seconds(60);
        let talk = rng.seconds(600);
        let mut row = json!({"id": format!("r-{i}"), "campaignId": campaign, "status": status,
                             "createdAtUtc": time(at)});
        if let Some(r) = ring {
            row["totalCustomerRingTimeInSeconds"] = json!(r);
        }
        if let Some(t) = talk {
            row["totalTalkTimeInSeconds"] = json!(t);
        }
        rows.push(row);
        let mut values = vec![("nRecords", 1)];
        values.extend(ms(ring).map(|v| ("tCustomerRing", v)));
        values.extend(ms(talk).map(|v| ("tTalk", v)));
        let mut seen_by = vec![Viewer::All];
        if campaign == "cp-1" {
            seen_by.push(Viewer::Bu1);
        }
        records.push(Fact {
            at: Some(at),
            dims: BTreeMap::from([
                ("campaignId", one(Some(campaign))),
                ("status", one(Some(status))),
            ]),
            values,
            seen_by,
        });
    }
    tables.push(("CampaignRecords", rows));

    // The conversations flow records hang on: two of the feed's (by business unit), two of
    // Genesys' (by division); c-gone is not stored.
    tables.push((
        "Calls",
        vec![
            json!({"id": "c-bu1", "businessUnitId": "bu-1", "startedAtUtc": "2026-10-20T08:00:00Z",
                   "endedAtUtc": "2026-10-20T08:10:00Z"}),
            json!({"id": "c-bu2", "businessUnitId": "bu-2", "startedAtUtc": "2026-10-20T09:00:00Z",
                   "endedAtUtc": "2026-10-20T09:10:00Z"}),
        ],
    ));
    documents.push(minimal(
        "c-diva",
        "2026-10-20T10:00:00Z",
        Some("2026-10-20T10:05:00Z"),
        &["div-a"],
    ));
    documents.push(minimal(
        "c-divb",
        "2026-10-20T11:00:00Z",
        Some("2026-10-20T11:05:00Z"),
        &["div-b"],
    ));

    // Flow metric records.
    let mut flows = Vec::new();
    let division_sets: [&[&str]; 4] = [&[], &["div-a"], &["div-b"], &["div-a", "div-b"]];
    for i in 0..500 {
        let at = rng.instant(i);
        let conversation = rng.pick(&["c-bu1", "c-bu2", "c-diva", "c-divb", "c-gone"]);
        let divisions = rng.pick(&division_sets);
        let metric = if i % 50 == 7 {
            "nFlowSomethingNew"
        } else {
            rng.pick(&FLOW_METRICS)
        };
        let value: Option<i64> = match (rng.below(20), metric.as_bytes()[0]) {
            (0, _) => None,
            (_, b'n') => Some(1),
            (_, b'o') => Some(1 + rng.below(5) as i64),
            _ => Some(100 + rng.below(600_000) as i64),
        };
        let flow = rng.pick(&[
            ("f-1", "Main menu", "INBOUNDCALL"),
            ("f-2", "Billing bot", "BOT"),
            ("f-3", "After hours", "INBOUNDCALL"),
        ]);
        let dims: [(&'static str, &'static str, Option<&str>); 12] = [
            (
                "flowVersion",
                "flowVersion",
                rng.pick(&[Some("1.0"), Some("2.0")]),
            ),
            (
                "entryType",
                "entryType",
                rng.pick(&[Some("dnis"), Some("direct"), None]),
            ),
            (
                "entryReason",
                "entryReason",
                rng.pick(&[Some("tel:+3611"), None]),
            ),
            (
                "exitReason",
                "exitReason",
                rng.pick(&[
                    Some("DISCONNECT"),
                    Some("TRANSFER"),
                    Some("FLOW_DISCONNECT"),
                    None,
                ]),
            ),
            (
                "flowOutType",
                "flowOutType",
                rng.pick(&[Some("QUEUE"), None]),
            ),
            (
                "transferType",
                "transferType",
                rng.pick(&[Some("ACD"), None]),
            ),
            (
                "mediaType",
                "mediaType",
                rng.pick(&[Some("voice"), Some("message")]),
            ),
            (
                "direction",
                "direction",
                rng.pick(&[Some("inbound"), Some("outbound")]),
            ),
            (
                "originatingDirection",
                "originatingDirection",
                rng.pick(&[Some("inbound"), None]),
            ),
            (
                "queueId",
                "queueId",
                rng.pick(&[Some("gq-1"), Some("gq-2"), None]),
            ),
            ("flowId", "flowId", Some(flow.0)),
            ("flowName", "flowName", Some(flow.1)),
        ];
        let mut doc = json!({"conversationId": conversation, "recordId": format!("fr-{i}"),
                             "metric": metric, "metricDate": time(at), "flowType": flow.2,
                             "divisionIds": divisions});
        if let Some(v) = value {
            doc["value"] = json!(v);
        }
        let mut fact_dims = BTreeMap::from([
            ("flowType", one(Some(flow.2))),
            (
                "divisionId",
                if divisions.is_empty() {
                    vec![None]
                } else {
                    divisions.iter().map(|d| Some(d.to_string())).collect()
                },
            ),
        ]);
        for (dimension, key, v) in dims {
            if let Some(v) = v {
                doc[key] = json!(v);
            }
            fact_dims.insert(dimension, one(v));
        }
        documents.push(doc);
        let mut seen_by = vec![Viewer::All];
        if conversation == "c-bu1" {
            seen_by.push(Viewer::Bu1);
        }
        if conversation == "c-diva" || divisions.contains(&"div-a") {
            seen_by.push(Viewer::DivA);
        }
        let known = FLOW_METRICS.iter().find(|m| **m == metric);
        flows.push(Fact {
            at: Some(at),
            dims: fact_dims,
            values: known
                .zip(value)
                .map(|(m, v)| vec![(*m, v)])
                .unwrap_or_default(),
            seen_by,
        });
    }

    Data {
        tables,
        documents,
        workitems,
        flows,
        records,
        states,
    }
}

/// A server with the generated rows imported: the feed's tables as OData pages, the rest as
/// JSON lines.
async fn start() -> (Server, Data) {
    let data = generate();
    let server = Server::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut paths = Vec::new();
    for (table, rows) in &data.tables {
        let path = dir.path().join(format!("{table}.json"));
        let page = json!({"@odata.context": format!("https://feed.example/odata/$metadata#{table}"),
                          "value": rows});
        std::fs::write(&path, page.to_string()).expect("write");
        paths.push(path);
    }
    let report = import_paths(server.db.pool(), &paths, &ImportOptions::default())
        .await
        .expect("import");
    assert!(report.rejected.is_empty(), "{report}");
    server.import(&data.documents).await;
    (server, data)
}

/// A sibling: its root, its filter's input type, its metrics, and its facts in [`Data`].
#[derive(Clone, Copy)]
struct Sibling {
    root: &'static str,
    filter_type: &'static str,
    metrics: &'static [&'static str],
    listing: &'static str,
}

const WORKITEMS: Sibling = Sibling {
    root: "workitemAggregates",
    filter_type: "WorkitemAggregateFilterInput",
    metrics: &WORKITEM_METRICS,
    listing: "workitemAggregateMetrics",
};
const FLOWS: Sibling = Sibling {
    root: "flowAggregates",
    filter_type: "FlowAggregateFilterInput",
    metrics: &FLOW_METRICS,
    listing: "flowAggregateMetrics",
};
const RECORDS: Sibling = Sibling {
    root: "campaignRecordAggregates",
    filter_type: "CampaignRecordAggregateFilterInput",
    metrics: &RECORD_METRICS,
    listing: "campaignRecordAggregateMetrics",
};
const STATES: Sibling = Sibling {
    root: "agentStateAggregates",
    filter_type: "AgentStateAggregateFilterInput",
    metrics: &STATE_METRICS,
    listing: "agentStateAggregateMetrics",
};

impl Sibling {
    fn query(self) -> String {
        format!(
            r#"query($interval: String!, $granularity: String, $timeZone: String,
                   $groupBy: [String!], $filter: {filter}, $metrics: [String!]!) {{
                 result: {root}(interval: $interval, granularity: $granularity,
                     timeZone: $timeZone, groupBy: $groupBy, filter: $filter, metrics: $metrics) {{
                   group data {{ interval metrics {{ metric stats {{
                     count sum min max mean numerator denominator ratio }} }} }} }} }}"#,
            filter = self.filter_type,
            root = self.root
        )
    }

    fn facts(self, data: &Data) -> &[Fact] {
        match self.root {
            "workitemAggregates" => &data.workitems,
            "flowAggregates" => &data.flows,
            "campaignRecordAggregates" => &data.records,
            _ => &data.states,
        }
    }
}

/// What one request asks.
struct Ask<'a> {
    granularity: Option<&'a str>,
    zone: &'a str,
    group_by: &'a [&'a str],
    filter: Filter<'a>,
}

/// Filter lists by their GraphQL names: `("queueIds", &["q-1"])`.
type Filter<'a> = &'a [(&'a str, &'a [&'a str])];

/// Per metric, its count and sum in one cell.
type Sums<'a> = BTreeMap<&'a str, (i64, i64)>;

impl Ask<'_> {
    fn variables(&self, sibling: Sibling) -> Value {
        let filter: serde_json::Map<String, Value> = self
            .filter
            .iter()
            .map(|(key, values)| (key.to_string(), json!(values)))
            .collect();
        json!({"interval": WHOLE, "granularity": self.granularity, "timeZone": self.zone,
               "groupBy": self.group_by, "filter": (!filter.is_empty()).then_some(filter),
               "metrics": sibling.metrics})
    }
}

/// (group as canonical JSON, bucket interval, metric) -> (count, sum, min, max).
type Table = BTreeMap<(String, String, String), (i64, i64, i64, i64)>;

/// The served answer as a [`Table`], after checking each cell's mean and its null ratios.
async fn served(server: &Server, token: &str, sibling: Sibling, ask: &Ask<'_>) -> Table {
    let data = server
        .data(token, &sibling.query(), ask.variables(sibling))
        .await;
    let mut table = Table::new();
    for result in data["result"].as_array().expect("results") {
        let group: BTreeMap<String, Option<String>> =
            serde_json::from_value(result["group"].clone()).expect("group");
        let group = serde_json::to_string(&group).expect("json");
        for bucket in result["data"].as_array().expect("data") {
            let interval = bucket["interval"].as_str().expect("interval");
            for metric in bucket["metrics"].as_array().expect("metrics") {
                let stats = &metric["stats"];
                let int = |field: &str| {
                    let v = stats[field].as_f64().expect(field);
                    assert_eq!(v.fract(), 0.0, "{field} {stats}");
                    v as i64
                };
                let (count, sum) = (int("count"), int("sum"));
                let mean = stats["mean"].as_f64().expect("mean");
                assert!(
                    (mean - sum as f64 / count as f64).abs() <= 1e-9 * mean.abs().max(1.0),
                    "{stats}"
                );
                for ratio in ["numerator", "denominator", "ratio"] {
                    assert_eq!(stats[ratio], Value::Null);
                }
                let key = (
                    group.clone(),
                    interval.to_owned(),
                    metric["metric"].as_str().expect("metric").to_owned(),
                );
                let previous = table.insert(key, (count, sum, int("min"), int("max")));
                assert!(previous.is_none(), "a cell twice");
            }
        }
    }
    table
}

/// The bucket `t` falls in, computed on the zone's clock with chrono-tz: sub-day buckets by the
/// local time since midnight, days, weeks (from Monday) and months by the local date.
fn bucket(t: DateTime<Utc>, granularity: Option<&str>, zone: &str) -> String {
    let zone: Tz = zone.parse().expect("zone");
    let midnight = |d: NaiveDate| {
        zone.from_local_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))
            .earliest()
            .expect("a midnight")
            .with_timezone(&Utc)
    };
    let local = t.with_timezone(&zone);
    let date = local.date_naive();
    let (start, end) = match granularity {
        None => {
            let (a, b) = WHOLE.split_once('/').expect("interval");
            (a.parse().expect("start"), b.parse().expect("end"))
        }
        Some(g) if g.starts_with("PT") => {
            let minutes: i64 = match g {
                "PT30M" => 30,
                "PT1H" => 60,
                _ => panic!("{g}"),
            };
            let into = i64::from(local.num_seconds_from_midnight()) % (minutes * 60);
            let start = t - Duration::seconds(into);
            (start, start + Duration::minutes(minutes))
        }
        Some("P1D") => (midnight(date), midnight(date + Duration::days(1))),
        Some("P7D") => {
            let monday = date - Duration::days(i64::from(date.weekday().num_days_from_monday()));
            (midnight(monday), midnight(monday + Duration::days(7)))
        }
        Some("P1M") => {
            let first = date.with_day(1).expect("first");
            (
                midnight(first),
                midnight(
                    first
                        .checked_add_months(chrono::Months::new(1))
                        .expect("next"),
                ),
            )
        }
        Some(g) => panic!("{g}"),
    };
    let at = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    format!("{}/{}", at(start), at(end))
}

/// Every combination of one value per grouped dimension.
fn keys(fact: &Fact, ask: &Ask<'_>) -> Vec<BTreeMap<String, Option<String>>> {
    let mut keys = vec![BTreeMap::new()];
    for dimension in ask.group_by {
        let allowed = ask.filter.iter().find(|(d, _)| filter_key(d) == *dimension);
        let values: Vec<&Option<String>> = fact.dims[*dimension]
            .iter()
            .filter(|v| {
                allowed.is_none_or(|(_, only)| v.as_deref().is_some_and(|v| only.contains(&v)))
            })
            .collect();
        keys = keys
            .into_iter()
            .flat_map(|key| {
                values.iter().map(move |v| {
                    let mut key = key.clone();
                    key.insert(dimension.to_string(), (*v).clone());
                    key
                })
            })
            .collect();
    }
    keys
}

/// The dimension a filter list narrows: `queueIds` -> `queueId`, `statuses` -> `status`.
fn filter_key(list: &str) -> &str {
    match list {
        "statuses" => "status",
        _ => list.strip_suffix('s').expect("a plural"),
    }
}

/// The answer computed from the facts as generated.
fn expected(facts: &[Fact], viewer: Viewer, sibling: Sibling, ask: &Ask<'_>) -> Table {
    let (from, to) = WHOLE.split_once('/').expect("interval");
    let from: DateTime<Utc> = from.parse().expect("from");
    let to: DateTime<Utc> = to.parse().expect("to");
    let mut table = Table::new();
    for fact in facts {
        let Some(at) = fact.at.filter(|t| *t >= from && *t < to) else {
            continue;
        };
        if !fact.seen_by.contains(&viewer) {
            continue;
        }
        let passes = ask.filter.iter().all(|(list, only)| {
            fact.dims[filter_key(list)]
                .iter()
                .any(|v| v.as_deref().is_some_and(|v| only.contains(&v)))
        });
        if !passes {
            continue;
        }
        let interval = bucket(at, ask.granularity, ask.zone);
        for key in keys(fact, ask) {
            let group = serde_json::to_string(&key).expect("json");
            for (metric, value) in &fact.values {
                if !sibling.metrics.contains(metric) {
                    continue;
                }
                let cell = table
                    .entry((group.clone(), interval.clone(), metric.to_string()))
                    .or_insert((0, 0, i64::MAX, i64::MIN));
                cell.0 += 1;
                cell.1 += value;
                cell.2 = cell.2.min(*value);
                cell.3 = cell.3.max(*value);
            }
        }
    }
    table
}

/// Whole tables equal: no cell missing, none extra, every stat equal.
fn assert_same(served: &Table, expected: &Table, what: &str) {
    let wrong: Vec<_> = expected
        .iter()
        .filter(|(k, v)| served.get(*k) != Some(v))
        .map(|(k, v)| (k, v, served.get(k)))
        .take(3)
        .collect();
    assert!(wrong.is_empty(), "{what}: {wrong:?}");
    let extra: Vec<_> = served
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .take(3)
        .collect();
    assert!(extra.is_empty(), "{what}: extra cells {extra:?}");
}

/// The buckets every sibling is checked in: one bucket, hours and days in Berlin across its
/// change, days, half hours and months in New York across its change, weeks in Berlin.
const BUCKETS: [(Option<&str>, &str); 7] = [
    (None, "UTC"),
    (Some("PT1H"), "Europe/Berlin"),
    (Some("P1D"), "Europe/Berlin"),
    (Some("P7D"), "Europe/Berlin"),
    (Some("P1D"), "America/New_York"),
    (Some("PT30M"), "America/New_York"),
    (Some("P1M"), "America/New_York"),
];

/// Every metric of `sibling`, grouped each way of `groupings`, in every bucketing of [`BUCKETS`],
/// for every viewer, equals the rows.
async fn assert_every_metric(sibling: Sibling, groupings: &[&[&str]]) {
    let (server, data) = start().await;
    let facts = sibling.facts(&data);
    let everything = Ask {
        granularity: None,
        zone: "UTC",
        group_by: &[],
        filter: &[],
    };
    let all = expected(facts, Viewer::All, sibling, &everything);
    for metric in sibling.metrics {
        assert!(
            all.keys().any(|k| k.2 == *metric),
            "the data has no {metric}"
        );
    }
    for viewer in VIEWERS {
        let token = viewer.token(&server);
        for group_by in groupings {
            for (granularity, zone) in BUCKETS {
                let ask = Ask {
                    granularity,
                    zone,
                    group_by,
                    filter: &[],
                };
                let what = format!(
                    "{} {viewer:?} {group_by:?} {granularity:?} {zone}",
                    sibling.root
                );
                let served = served(&server, &token, sibling, &ask).await;
                let expected = expected(facts, viewer, sibling, &ask);
                assert_same(&served, &expected, &what);
            }
        }
    }
}

#[tokio::test]
async fn every_workitem_metric_equals_the_rows_in_every_bucket_zone_and_scope() {
    assert_every_metric(
        WORKITEMS,
        &[
            &[],
            &["queueId", "mediaType"],
            &["agentId", "businessUnitId", "result"],
        ],
    )
    .await;
}

#[tokio::test]
async fn every_flow_metric_equals_the_records_in_every_bucket_zone_and_scope() {
    assert_every_metric(
        FLOWS,
        &[
            &[],
            &["flowId", "exitReason"],
            &["divisionId"],
            &[
                "flowName",
                "flowType",
                "flowVersion",
                "entryType",
                "entryReason",
                "flowOutType",
                "transferType",
                "mediaType",
                "direction",
                "originatingDirection",
                "queueId",
            ],
        ],
    )
    .await;
}

#[tokio::test]
async fn every_campaign_record_metric_equals_the_rows_in_every_bucket_zone_and_scope() {
    assert_every_metric(RECORDS, &[&[], &["campaignId"], &["campaignId", "status"]]).await;
}

#[tokio::test]
async fn every_agent_state_metric_equals_the_rows_in_every_bucket_zone_and_scope() {
    assert_every_metric(
        STATES,
        &[&[], &["agentId"], &["agentId", "state", "breakName"]],
    )
    .await;
}

#[tokio::test]
async fn day_buckets_are_25_hours_on_the_change_in_berlin_and_new_york_and_every_row_lands_once() {
    let (server, data) = start().await;
    let token = Viewer::All.token(&server);
    for sibling in [WORKITEMS, FLOWS, RECORDS, STATES] {
        let total = |table: &Table| -> i64 { table.values().map(|c| c.0).sum() };
        let whole = served(
            &server,
            &token,
            sibling,
            &Ask {
                granularity: None,
                zone: "UTC",
                group_by: &[],
                filter: &[],
            },
        )
        .await;
        assert!(total(&whole) > 0, "{}", sibling.root);
        for (zone, long_day, repeated_hours) in [
            (
                "Europe/Berlin",
                "2026-10-24T22:00:00.000Z/2026-10-25T23:00:00.000Z",
                [
                    "2026-10-25T00:00:00.000Z/2026-10-25T01:00:00.000Z",
                    "2026-10-25T01:00:00.000Z/2026-10-25T02:00:00.000Z",
                ],
            ),
            (
                "America/New_York",
                "2026-11-01T04:00:00.000Z/2026-11-02T05:00:00.000Z",
                [
                    "2026-11-01T05:00:00.000Z/2026-11-01T06:00:00.000Z",
                    "2026-11-01T06:00:00.000Z/2026-11-01T07:00:00.000Z",
                ],
            ),
        ] {
            let days = served(
                &server,
                &token,
                sibling,
                &Ask {
                    granularity: Some("P1D"),
                    zone,
                    group_by: &[],
                    filter: &[],
                },
            )
            .await;
            let what = format!("{} {zone}", sibling.root);
            // The pinned rows are on the long day's first and last seconds.
            let on_long_day: i64 = days
                .iter()
                .filter(|(k, _)| k.1 == long_day)
                .map(|(_, c)| c.0)
                .sum();
            let pinned_there = sibling
                .facts(&data)
                .iter()
                .filter(|f| {
                    f.at.is_some_and(|t| bucket(t, Some("P1D"), zone) == long_day)
                })
                .count();
            assert!(pinned_there >= 2, "{what}");
            assert!(on_long_day > 0, "{what}: the 25-hour day");
            assert_eq!(
                total(&days),
                total(&whole),
                "{what}: every value in one day"
            );
            // The hour the clock repeats is two buckets.
            let hours = served(
                &server,
                &token,
                sibling,
                &Ask {
                    granularity: Some("PT1H"),
                    zone,
                    group_by: &[],
                    filter: &[],
                },
            )
            .await;
            for hour in repeated_hours {
                assert!(hours.keys().any(|k| k.1 == hour), "{what}: {hour}");
            }
            assert_eq!(
                total(&hours),
                total(&whole),
                "{what}: every value in one hour"
            );
        }
    }
}

#[tokio::test]
async fn a_division_token_sees_no_feed_numbers_and_a_unit_token_only_its_units() {
    let (server, data) = start().await;
    let one_bucket = Ask {
        granularity: None,
        zone: "UTC",
        group_by: &[],
        filter: &[],
    };
    let count = |table: &Table, metric: &str| -> i64 {
        table
            .iter()
            .filter(|(k, _)| k.2 == metric)
            .map(|(_, c)| c.0)
            .sum()
    };
    let division = Viewer::DivA.token(&server);
    for sibling in [WORKITEMS, RECORDS, STATES] {
        let table = served(&server, &division, sibling, &one_bucket).await;
        assert!(table.is_empty(), "{}: {table:?}", sibling.root);
    }
    let flows = served(&server, &division, FLOWS, &one_bucket).await;
    assert!(
        count(&flows, "nFlow") > 0,
        "records of div-a and its conversation"
    );

    let unit = Viewer::Bu1.token(&server);
    let everything = Viewer::All.token(&server);
    for (sibling, metric) in [
        (WORKITEMS, "nWorkitems"),
        (RECORDS, "nRecords"),
        (STATES, "nStates"),
        (FLOWS, "nFlow"),
    ] {
        let mine = count(&served(&server, &unit, sibling, &one_bucket).await, metric);
        let all = count(
            &served(&server, &everything, sibling, &one_bucket).await,
            metric,
        );
        let in_bu1 = expected(sibling.facts(&data), Viewer::Bu1, sibling, &one_bucket);
        assert_eq!(mine, count(&in_bu1, metric), "{}", sibling.root);
        assert!(0 < mine && mine < all, "{}: {mine} of {all}", sibling.root);
    }
    // Grouped by business unit, bu-1's token sees bu-1's group alone.
    let by_unit = served(
        &server,
        &unit,
        WORKITEMS,
        &Ask {
            granularity: None,
            zone: "UTC",
            group_by: &["businessUnitId"],
            filter: &[],
        },
    )
    .await;
    let bu1 = json!({"businessUnitId": "bu-1"}).to_string();
    assert!(
        !by_unit.is_empty() && by_unit.keys().all(|k| k.0 == bu1),
        "{by_unit:?}"
    );

    let nobody = server.token(None);
    for sibling in [WORKITEMS, FLOWS, RECORDS, STATES] {
        let table = served(&server, &nobody, sibling, &one_bucket).await;
        assert!(table.is_empty(), "{}: a token without scope", sibling.root);
    }
}

#[tokio::test]
async fn filters_narrow_and_a_record_in_two_filtered_divisions_counts_once() {
    let (server, data) = start().await;
    let token = Viewer::All.token(&server);
    let cases: [(Sibling, &[&str], Filter); 6] = [
        (
            WORKITEMS,
            &[],
            &[
                ("results", &["Handled", "Missed"]),
                ("mediaTypes", &["voice"]),
            ],
        ),
        (
            WORKITEMS,
            &["queueId"],
            &[
                ("queueIds", &["q-1", "q-2"]),
                ("businessUnitIds", &["bu-2"]),
            ],
        ),
        (FLOWS, &[], &[("divisionIds", &["div-a", "div-b"])]),
        (
            FLOWS,
            &["divisionId", "flowId"],
            &[("divisionIds", &["div-b"]), ("flowIds", &["f-1", "f-3"])],
        ),
        (RECORDS, &["status"], &[("statuses", &["Closed", "New"])]),
        (
            STATES,
            &["agentId"],
            &[("states", &["Break"]), ("breakNames", &["Lunch"])],
        ),
    ];
    for (sibling, group_by, filter) in cases {
        let ask = Ask {
            granularity: Some("P1D"),
            zone: "Europe/Berlin",
            group_by,
            filter,
        };
        let served = served(&server, &token, sibling, &ask).await;
        let expected = expected(sibling.facts(&data), Viewer::All, sibling, &ask);
        assert!(!expected.is_empty());
        assert_same(
            &served,
            &expected,
            &format!("{} {group_by:?} {filter:?}", sibling.root),
        );
    }
    // A record in div-a and div-b counts once under a filter naming both.
    let both = data
        .flows
        .iter()
        .filter(|f| f.dims["divisionId"].len() == 2 && !f.values.is_empty())
        .count() as i64;
    assert!(both > 0);
    let ask = Ask {
        granularity: None,
        zone: "UTC",
        group_by: &[],
        filter: &[("divisionIds", &["div-a", "div-b"])],
    };
    let counted: i64 = served(&server, &token, FLOWS, &ask)
        .await
        .values()
        .map(|c| c.0)
        .sum();
    let records = data
        .flows
        .iter()
        .filter(|f| f.dims["divisionId"].iter().any(Option::is_some) && !f.values.is_empty())
        .count() as i64;
    assert_eq!(counted, records);
}

#[tokio::test]
async fn handle_time_is_active_plus_wrap_up_and_the_results_add_up_to_the_workitems() {
    let (server, _) = start().await;
    let token = Viewer::All.token(&server);
    let ask = Ask {
        granularity: Some("PT1H"),
        zone: "Europe/Berlin",
        group_by: &["agentId", "queueId"],
        filter: &[(
            "results",
            &["Handled", "Missed", "Rejected", "Abandoned", "Cancelled"],
        )],
    };
    let table = served(&server, &token, WORKITEMS, &ask).await;
    // (group, interval) -> metric -> (count, sum).
    let mut cells: BTreeMap<(&str, &str), Sums> = BTreeMap::new();
    for ((group, interval, metric), (count, sum, _, _)) in &table {
        cells
            .entry((group.as_str(), interval.as_str()))
            .or_default()
            .insert(metric.as_str(), (*count, *sum));
    }
    assert!(cells.len() > 100, "{} cells", cells.len());
    let sum = |m: &BTreeMap<&str, (i64, i64)>, name: &str| m.get(name).map_or(0, |c| c.1);
    for (cell, m) in &cells {
        assert_eq!(
            sum(m, "tHandle"),
            sum(m, "tActive") + sum(m, "tWrapUp"),
            "{cell:?}"
        );
        assert_eq!(
            sum(m, "nWorkitems"),
            [
                "nHandled",
                "nMissed",
                "nRejected",
                "nAbandoned",
                "nCancelled"
            ]
            .iter()
            .map(|n| sum(m, n))
            .sum::<i64>(),
            "{cell:?}"
        );
    }
}

#[tokio::test]
async fn each_sibling_lists_its_metrics_with_their_unit_and_the_conversation_list_is_unchanged() {
    let server = Server::start(&[]).await;
    let token = server.token(Some(&["*"]));
    for sibling in [WORKITEMS, FLOWS, RECORDS, STATES] {
        let query = format!("{{ {} {{ name description }} }}", sibling.listing);
        let data = server.data(&token, &query, json!({})).await;
        let listed = data[sibling.listing].as_array().expect("listing");
        let names: Vec<&str> = listed
            .iter()
            .map(|m| m["name"].as_str().expect("name"))
            .collect();
        assert_eq!(names, sibling.metrics, "{}", sibling.listing);
        for m in listed {
            let (name, description) = (
                m["name"].as_str().expect("name"),
                m["description"].as_str().expect("description"),
            );
            assert!(description.contains("bucket"), "{name}: {description}");
            if name.starts_with('t') {
                assert!(
                    description.contains("milliseconds"),
                    "{name}: {description}"
                );
            }
        }
    }
    let data = server
        .data(&token, "{ aggregateMetrics { name } }", json!({}))
        .await;
    let names: Vec<&str> = data["aggregateMetrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .map(|m| m["name"].as_str().expect("name"))
        .collect();
    assert!(names.contains(&"nOffered") && !names.contains(&"nHandled"));
}

#[tokio::test]
async fn invalid_arguments_get_errors_that_name_them_and_the_valid_ones() {
    let server = Server::start(&[]).await;
    let token = server.token(Some(&["*"]));
    for (sibling, known_metric, known_dimension, filter) in [
        (WORKITEMS, "nHandled", "agentId", json!({"results": []})),
        (FLOWS, "tFlowOutcome", "exitReason", json!({"flowIds": []})),
        (
            RECORDS,
            "tCustomerRing",
            "campaignId",
            json!({"statuses": []}),
        ),
        (STATES, "tState", "breakName", json!({"agentIds": []})),
    ] {
        let ok = sibling.metrics[0];
        for (variables, expected) in [
            (
                json!({"interval": WHOLE, "metrics": ["nOffered"]}),
                vec![
                    "metrics: unknown metric \"nOffered\"".to_owned(),
                    known_metric.to_owned(),
                    sibling.listing.to_owned(),
                ],
            ),
            (
                json!({"interval": WHOLE, "metrics": []}),
                vec!["metrics is empty".to_owned()],
            ),
            (
                json!({"interval": "2026-11-01", "metrics": [ok]}),
                vec!["interval \"2026-11-01\"".to_owned()],
            ),
            (
                json!({"interval": "2026-11-02T00:00:00Z/2026-11-01T00:00:00Z", "metrics": [ok]}),
                vec!["the end must be after the start".to_owned()],
            ),
            (
                json!({"interval": WHOLE, "granularity": "PT7M", "metrics": [ok]}),
                vec!["granularity \"PT7M\"".to_owned()],
            ),
            (
                json!({"interval": WHOLE, "granularity": "P2D", "metrics": [ok]}),
                vec!["granularity \"P2D\"".to_owned()],
            ),
            (
                json!({"interval": WHOLE, "timeZone": "Mars/Olympus", "metrics": [ok]}),
                vec!["timeZone \"Mars/Olympus\"".to_owned()],
            ),
            (
                json!({"interval": "2026-10-01T00:00:00Z/2026-11-08T00:00:00Z", "granularity": "PT15M", "metrics": [ok]}),
                vec!["more than 2000 buckets".to_owned()],
            ),
            (
                json!({"interval": WHOLE, "groupBy": ["nope"], "metrics": [ok]}),
                vec![
                    "groupBy: unknown dimension \"nope\"".to_owned(),
                    known_dimension.to_owned(),
                ],
            ),
            (
                json!({"interval": WHOLE, "filter": filter, "metrics": [ok]}),
                vec!["is empty: name at least one value".to_owned()],
            ),
        ] {
            let (status, body) = server
                .query(Some(&token), &sibling.query(), variables)
                .await;
            assert_eq!(status, 200, "{body}");
            let error = &body["errors"][0];
            assert_eq!(
                error["extensions"]["code"], "BAD_USER_INPUT",
                "{expected:?}: {body}"
            );
            let message = error["message"].as_str().unwrap_or_default();
            for part in &expected {
                assert!(
                    message.contains(part.as_str()),
                    "{}: {part}: {body}",
                    sibling.root
                );
            }
        }
    }
}
