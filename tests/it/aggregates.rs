//! `conversationAggregates` against independent computations from the raw rows of generated
//! conversations, the documented identities, daylight-saving buckets, scope, and its errors.

use crate::common::{ALL, Server};
use chrono::{DateTime, Utc};
use generate::Generator;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A month of generated conversations: 2026-10-20 to 2026-11-19, across Europe's and America's
/// return to standard time (2026-10-25 and 2026-11-01).
const START: &str = "2026-10-20T00:00:00Z";
const WHOLE: &str = "2026-10-19T00:00:00Z/2026-11-22T00:00:00Z";
const COUNT: u64 = 400;

async fn seeded() -> Server {
    let server = Server::start(&[]).await;
    let start: DateTime<Utc> = START.parse().expect("start");
    let generator = Arc::new(Generator::new(7, start));
    convgraph::seed::seed(
        server.db.pool(),
        generator,
        COUNT,
        2,
        &indicatif::ProgressBar::hidden(),
    )
    .await
    .expect("seed");
    server
}

const AGGREGATES: &str = r#"query($interval: String!, $granularity: String, $timeZone: String,
    $groupBy: [String!], $filter: AggregateFilterInput, $metrics: [String!]!) {
  conversationAggregates(interval: $interval, granularity: $granularity, timeZone: $timeZone,
      groupBy: $groupBy, filter: $filter, metrics: $metrics) {
    group data { interval metrics { metric stats {
      count sum min max mean numerator denominator ratio } } } } }"#;

/// (group as JSON text, interval, metric) -> stats.
type Table = BTreeMap<(String, String, String), Value>;

async fn aggregates(server: &Server, token: &str, variables: Value) -> Table {
    let data = server.data(token, AGGREGATES, variables).await;
    let mut table = Table::new();
    for result in data["conversationAggregates"].as_array().expect("results") {
        for bucket in result["data"].as_array().expect("data") {
            for m in bucket["metrics"].as_array().expect("metrics") {
                let key = (
                    result["group"].to_string(),
                    bucket["interval"].as_str().expect("interval").to_owned(),
                    m["metric"].as_str().expect("metric").to_owned(),
                );
                assert!(
                    table.insert(key, m["stats"].clone()).is_none(),
                    "one row per key"
                );
            }
        }
    }
    table
}

/// The same numbers straight from the stored session metrics, sessions and segments, written
/// independently of `metric_facts`: per Berlin half hour and queue (the queue of the last
/// segment with one that started by the emission, else the first with one).
async fn raw_by_queue_and_half_hour(server: &Server, metrics: &[&str]) -> Table {
    /// Bucket start, queue, metric, count, sum, min, max.
    type Raw = (String, Option<String>, String, i64, i64, i64, i64);
    let rows: Vec<Raw> = sqlx::query_as(
        r#"with placed as (
             select m.name, m.value, m.emit_date,
                    coalesce(
                      (select g.queue_id from segments g
                       where (g.conversation_id, g.participant_id, g.session_id)
                           = (m.conversation_id, m.participant_id, m.session_id)
                         and g.queue_id is not null and g.segment_start <= m.emit_date
                       order by g.segment_start desc, g.segment_index desc limit 1),
                      (select g.queue_id from segments g
                       where (g.conversation_id, g.participant_id, g.session_id)
                           = (m.conversation_id, m.participant_id, m.session_id)
                         and g.queue_id is not null
                       order by g.segment_start, g.segment_index limit 1)) as queue_id,
                    date_trunc('hour', m.emit_date at time zone 'Europe/Berlin')
                      + interval '30 min' * floor(extract(minute from
                          m.emit_date at time zone 'Europe/Berlin') / 30) as local_bucket
             from session_metrics m where m.name = any($1)
           )
           select to_char((local_bucket at time zone 'Europe/Berlin') at time zone 'UTC',
                          'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                  queue_id, name, count(*), sum(value)::bigint, min(value), max(value)
           from placed group by 1, 2, 3"#,
    )
    .bind(metrics)
    .fetch_all(server.db.pool())
    .await
    .expect("raw");
    rows.into_iter()
        .map(|(start, queue, name, count, sum, min, max)| {
            let end = (start.parse::<DateTime<Utc>>().expect("start")
                + chrono::Duration::minutes(30))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            (
                (
                    json!({"queueId": queue}).to_string(),
                    format!("{start}/{end}"),
                    name,
                ),
                json!({"count": count, "sum": sum as f64, "min": min as f64, "max": max as f64,
                       "mean": sum as f64 / count as f64, "numerator": null,
                       "denominator": null, "ratio": null}),
            )
        })
        .collect()
}

/// Equal stats; the mean (a float division) to a relative 1e-12.
fn same_stats(served: Option<&Value>, raw: &Value) -> bool {
    let Some(served) = served else {
        return false;
    };
    let mean = |v: &Value| v["mean"].as_f64().unwrap_or(f64::NAN);
    let without = |v: &Value| {
        let mut v = v.clone();
        v["mean"] = Value::Null;
        v
    };
    without(served) == without(raw) && ((mean(served) - mean(raw)) / mean(raw)).abs() < 1e-12
}

/// The metrics the generator emits.
const METRICS: [&str; 27] = [
    "nOffered",
    "nConnected",
    "nTransferred",
    "nBlindTransferred",
    "nConsult",
    "nConsultTransferred",
    "nOutbound",
    "nOverSla",
    "nFlow",
    "tAnswered",
    "tAbandon",
    "tShortAbandon",
    "tFlowOut",
    "tVoicemail",
    "tAcd",
    "tAlert",
    "tNotResponding",
    "tTalk",
    "tTalkComplete",
    "tHeld",
    "tHeldComplete",
    "tAcw",
    "tHandle",
    "tIvr",
    "tDialing",
    "tContacting",
    "tFlow",
];

/// Every metric by queue and Berlin half hour over `interval` equals the raw rows, whole tables:
/// no cell missing, none extra, every stat equal.
async fn assert_matches_raw(server: &Server, token: &str, interval: &str) {
    let served = aggregates(
        server,
        token,
        json!({"interval": interval, "granularity": "PT30M", "timeZone": "Europe/Berlin",
               "groupBy": ["queueId"], "metrics": METRICS}),
    )
    .await;
    let raw = raw_by_queue_and_half_hour(server, &METRICS).await;
    let mismatched: Vec<_> = raw
        .iter()
        .filter(|(k, v)| !same_stats(served.get(*k), v))
        .map(|(k, v)| (k, v, served.get(k)))
        .take(3)
        .collect();
    assert!(mismatched.is_empty(), "{interval}: {mismatched:?}");
    assert_eq!(served.len(), raw.len(), "{interval}");
}

/// WHOLE, starting 7 minutes later: not on a 15-minute boundary, so the aggregate reads the
/// facts instead of the rollup. The data starts a day later, so the answer is the same.
const WHOLE_UNALIGNED: &str = "2026-10-19T00:07:00Z/2026-11-22T00:00:00Z";

#[tokio::test]
async fn every_metric_by_queue_and_half_hour_equals_the_raw_rows_across_a_time_change() {
    let server = seeded().await;
    let token = server.token(Some(ALL));
    let raw = raw_by_queue_and_half_hour(&server, &METRICS).await;
    assert!(raw.len() > 500, "the data fills {} cells", raw.len());
    for m in METRICS {
        assert!(raw.keys().any(|k| k.2 == m), "the generator emits {m}");
    }
    // Through the rollup, then through the facts.
    assert_matches_raw(&server, &token, WHOLE).await;
    assert_matches_raw(&server, &token, WHOLE_UNALIGNED).await;
}

#[tokio::test]
async fn the_rollup_follows_new_and_replaced_conversations() {
    let server = Server::start(&[]).await;
    let token = server.token(Some(ALL));
    let start: DateTime<Utc> = START.parse().expect("start");
    let generator = Arc::new(Generator::new(7, start));
    let bar = indicatif::ProgressBar::hidden();
    let pool = server.db.pool();
    convgraph::seed::seed(pool, generator.clone(), 150, 2, &bar)
        .await
        .expect("seed");
    assert_matches_raw(&server, &token, WHOLE).await;
    // New conversations land in buckets the rollup already holds.
    convgraph::seed::seed(pool, generator.clone(), 300, 2, &bar)
        .await
        .expect("seed");
    assert_matches_raw(&server, &token, WHOLE).await;
    // A newer version of a conversation without its metrics takes them out of the rollup,
    // though nothing new lands in their buckets.
    let mut document = generator.conversation(3);
    let mut cleared = 0;
    for participant in document["participants"]
        .as_array_mut()
        .expect("participants")
    {
        for session in participant["sessions"].as_array_mut().expect("sessions") {
            if let Some(metrics) = session["metrics"].as_array_mut() {
                cleared += metrics.len();
                metrics.clear();
            }
        }
    }
    assert!(cleared > 0);
    server.import(&[document]).await;
    assert_matches_raw(&server, &token, WHOLE).await;
}

#[tokio::test]
async fn documented_identities_hold() {
    let server = seeded().await;
    let token = server.token(Some(ALL));
    let sums = |table: &Table, metric: &str, field: &str| -> f64 {
        table
            .iter()
            .filter(|(k, _)| k.2 == metric)
            .map(|(_, v)| v[field].as_f64().unwrap_or(0.0))
            .sum()
    };
    // tHandle = tTalk + tHeld + tAcw for inbound agent legs: over one bucket holding all of
    // them, whatever segment each part was emitted with.
    let agents = aggregates(
        &server,
        &token,
        json!({"interval": WHOLE, "filter": {"purposes": ["agent"], "directions": ["inbound"]},
               "metrics": ["tHandle", "tTalkComplete", "tHeldComplete", "tAcw", "tTalk", "tHeld"]}),
    )
    .await;
    let handle = sums(&agents, "tHandle", "sum");
    assert!(handle > 0.0);
    assert_eq!(
        handle,
        sums(&agents, "tTalk", "sum")
            + sums(&agents, "tHeld", "sum")
            + sums(&agents, "tAcw", "sum")
    );
    assert_eq!(
        handle,
        sums(&agents, "tTalkComplete", "sum")
            + sums(&agents, "tHeldComplete", "sum")
            + sums(&agents, "tAcw", "sum")
    );
    // Offered = answered + abandoned + flowed out, per queue; short abandons are abandons.
    let queues = aggregates(
        &server,
        &token,
        json!({"interval": WHOLE, "groupBy": ["queueId"],
               "metrics": ["nOffered", "tAnswered", "tAbandon", "tFlowOut", "tShortAbandon",
                           "oServiceLevel", "nOverSla"]}),
    )
    .await;
    let mut by_queue: BTreeMap<&str, BTreeMap<&str, &Value>> = BTreeMap::new();
    for ((group, _, metric), stats) in &queues {
        by_queue.entry(group).or_default().insert(metric, stats);
    }
    let count = |m: &BTreeMap<&str, &Value>, name: &str| {
        m.get(name).and_then(|s| s["count"].as_i64()).unwrap_or(0)
    };
    let mut queues_checked = 0;
    let (mut flowed_out, mut short) = (0, 0);
    for (group, m) in &by_queue {
        if group.contains("null") {
            continue;
        }
        let offered = count(m, "nOffered");
        assert_eq!(
            offered,
            count(m, "tAnswered") + count(m, "tAbandon") + count(m, "tFlowOut"),
            "{group}"
        );
        flowed_out += count(m, "tFlowOut");
        short += count(m, "tShortAbandon");
        assert!(count(m, "tShortAbandon") <= count(m, "tAbandon"), "{group}");
        if let Some(longest) = m.get("tShortAbandon").and_then(|s| s["max"].as_f64()) {
            assert!(
                longest < 10_000.0,
                "{group}: a short abandon of {longest} ms"
            );
        }
        let sl = m["oServiceLevel"];
        assert_eq!(
            sl["numerator"].as_f64(),
            Some((count(m, "tAnswered") - count(m, "nOverSla")) as f64)
        );
        assert_eq!(
            sl["denominator"].as_f64(),
            Some((count(m, "tAnswered") + count(m, "tAbandon")) as f64)
        );
        queues_checked += 1;
    }
    assert!(queues_checked >= 3, "{queues_checked} queues");
    assert!(
        flowed_out > 0 && short > 0,
        "the identity saw {flowed_out} flow-outs and {short} short abandons"
    );
}

#[tokio::test]
async fn facts_written_at_ingest_equal_the_migration_backfill() {
    let server = seeded().await;
    let pool = server.db.pool();
    let facts = "select coalesce(jsonb_agg(to_jsonb(f) order by conversation_id, participant_id,
                 session_id, metric_index), '[]') from metric_facts f";
    let written: Value = sqlx::query_scalar(facts)
        .fetch_one(pool)
        .await
        .expect("facts");
    assert!(written.as_array().is_some_and(|a| a.len() > 1000));
    let migration =
        std::fs::read_to_string("migrations/20261122000002_metric_facts.sql").expect("migration");
    let backfill = migration.split("backfill:").nth(1).expect("the backfill");
    sqlx::query("delete from metric_facts")
        .execute(pool)
        .await
        .expect("delete");
    sqlx::query(backfill).execute(pool).await.expect("backfill");
    let derived: Value = sqlx::query_scalar(facts)
        .fetch_one(pool)
        .await
        .expect("facts");
    assert_eq!(written, derived);
}

#[tokio::test]
async fn day_buckets_follow_each_time_zone_and_every_metric_lands_in_one() {
    let server = seeded().await;
    let token = server.token(Some(ALL));
    let whole = aggregates(
        &server,
        &token,
        json!({"interval": WHOLE, "metrics": ["tTalk"]}),
    )
    .await;
    let total = whole.values().next().expect("one bucket")["count"].clone();
    for (zone, long_day) in [
        (
            "Europe/Berlin",
            "2026-10-24T22:00:00.000Z/2026-10-25T23:00:00.000Z",
        ),
        (
            "America/New_York",
            "2026-11-01T04:00:00.000Z/2026-11-02T05:00:00.000Z",
        ),
    ] {
        let days = aggregates(
            &server,
            &token,
            json!({"interval": WHOLE, "granularity": "P1D", "timeZone": zone,
                   "metrics": ["tTalk"]}),
        )
        .await;
        assert!(
            days.keys().any(|k| k.1 == long_day),
            "{zone}: the 25-hour day"
        );
        let counted: i64 = days
            .values()
            .map(|s| s["count"].as_i64().expect("count"))
            .sum();
        assert_eq!(
            json!(counted),
            total,
            "{zone}: every value in exactly one day"
        );
    }
}

#[tokio::test]
async fn scope_applies_to_aggregates_as_to_rows() {
    let server = seeded().await;
    let divisions: Vec<String> =
        sqlx::query_scalar("select distinct unnest(division_ids) from conversations order by 1")
            .fetch_all(server.db.pool())
            .await
            .expect("divisions");
    assert!(divisions.len() >= 2, "{divisions:?}");
    let one = divisions[0].as_str();
    let token = server.token(Some(&[one]));
    let served = aggregates(
        &server,
        &token,
        json!({"interval": WHOLE, "metrics": ["nOffered"], "groupBy": ["divisionId"]}),
    )
    .await;
    let expected: i64 = sqlx::query_scalar(
        "select count(*) from session_metrics m join conversations c using (conversation_id)
         where m.name = 'nOffered' and $1 = any(c.division_ids)",
    )
    .bind(one)
    .fetch_one(server.db.pool())
    .await
    .expect("count");
    let counts: BTreeMap<String, i64> = served
        .iter()
        .map(|(k, v)| (k.0.clone(), v["count"].as_i64().expect("count")))
        .collect();
    assert_eq!(
        counts.get(&json!({"divisionId": one}).to_string()),
        Some(&expected)
    );
    // A conversation in several divisions counts in each of its divisions' groups, but only
    // conversations the token sees count at all.
    let seen: i64 = sqlx::query_scalar(
        "select count(*) from session_metrics m join conversations c using (conversation_id)
         where m.name = 'nOffered' and $1 = any(c.division_ids)
           and cardinality(c.division_ids) > 1",
    )
    .bind(one)
    .fetch_one(server.db.pool())
    .await
    .expect("count");
    let others: i64 = counts
        .iter()
        .filter(|(k, _)| !k.contains(one))
        .map(|(_, v)| v)
        .sum();
    assert!(others <= seen, "{counts:?}");
    let nobody = server.token(None);
    assert!(
        aggregates(
            &server,
            &nobody,
            json!({"interval": WHOLE, "metrics": ["nOffered"]})
        )
        .await
        .is_empty()
    );
}

#[tokio::test]
async fn invalid_arguments_get_errors_that_name_them() {
    let server = Server::start(&[]).await;
    let token = server.token(Some(ALL));
    for (variables, expected) in [
        (
            json!({"interval": WHOLE, "metrics": ["tFoo"]}),
            "unknown metric \"tFoo\"",
        ),
        (
            json!({"interval": WHOLE, "metrics": []}),
            "metrics is empty",
        ),
        (
            json!({"interval": "2026-11-01", "metrics": ["nOffered"]}),
            "interval",
        ),
        (
            json!({"interval": WHOLE, "granularity": "PT7M", "metrics": ["nOffered"]}),
            "granularity \"PT7M\"",
        ),
        (
            json!({"interval": WHOLE, "timeZone": "Mars/Olympus", "metrics": ["nOffered"]}),
            "timeZone \"Mars/Olympus\"",
        ),
        (
            json!({"interval": WHOLE, "granularity": "PT15M", "metrics": ["nOffered"]}),
            "more than 2000 buckets",
        ),
        (
            json!({"interval": WHOLE, "groupBy": ["queue"], "metrics": ["nOffered"]}),
            "unknown dimension \"queue\"",
        ),
        (
            json!({"interval": WHOLE, "filter": {"queueIds": []}, "metrics": ["nOffered"]}),
            "queueId is empty",
        ),
    ] {
        let (status, body) = server.query(Some(&token), AGGREGATES, variables).await;
        assert_eq!(status, 200, "{body}");
        let error = &body["errors"][0];
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{body}");
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| m.contains(expected)),
            "{expected}: {body}"
        );
    }
}

/// A conversation in two divisions counts once when the filter names both, and once in each
/// division's group when grouped by division: through the rollup (15-minute buckets) and the
/// facts (5-minute buckets) alike.
#[tokio::test]
async fn a_conversation_in_two_divisions_counts_once_under_a_filter_naming_both() {
    let mut doc = crate::common::minimal(
        "two-divisions",
        "2026-11-02T08:00:00Z",
        Some("2026-11-02T08:01:00Z"),
        &["div-a", "div-b"],
    );
    doc["participants"][0]["sessions"][0]["metrics"] =
        json!([{"name": "tTalk", "value": 60000, "emitDate": "2026-11-02T08:01:00Z"}]);
    let server = Server::start(&[doc]).await;
    let token = server.token(Some(ALL));
    for granularity in ["PT15M", "PT5M"] {
        let filtered = aggregates(
            &server,
            &token,
            json!({"interval": "2026-11-02T08:00:00Z/2026-11-02T08:15:00Z", "granularity": granularity,
                   "filter": {"divisionIds": ["div-a", "div-b"]}, "metrics": ["tTalk"]}),
        )
        .await;
        let counts: Vec<&Value> = filtered.values().map(|s| &s["count"]).collect();
        assert_eq!(counts, [&json!(1)], "{granularity}: {filtered:?}");
        let grouped = aggregates(
            &server,
            &token,
            json!({"interval": "2026-11-02T08:00:00Z/2026-11-02T08:15:00Z", "granularity": granularity,
                   "groupBy": ["divisionId"], "filter": {"divisionIds": ["div-a", "div-b"]}, "metrics": ["tTalk"]}),
        )
        .await;
        let groups: Vec<(String, Value)> = grouped
            .iter()
            .map(|((group, _, _), s)| (group.clone(), s["count"].clone()))
            .collect();
        assert_eq!(
            groups,
            [
                (json!({"divisionId": "div-a"}).to_string(), json!(1)),
                (json!({"divisionId": "div-b"}).to_string(), json!(1))
            ],
            "{granularity}"
        );
    }
}

/// The buckets, metrics and stats are built in one pass (`api::plain`), not field by field:
/// aliases, `__typename`, fragments, `@skip` / `@include` and a field selected twice must still
/// answer as GraphQL says.
#[tokio::test]
async fn buckets_answer_aliases_fragments_directives_and_repeated_fields() {
    let mut doc = crate::common::minimal(
        "selections",
        "2026-11-02T08:00:00Z",
        Some("2026-11-02T08:01:00Z"),
        &["div-a"],
    );
    doc["participants"][0]["sessions"][0]["metrics"] =
        json!([{"name": "tTalk", "value": 60000, "emitDate": "2026-11-02T08:01:00Z"}]);
    let server = Server::start(&[doc]).await;
    let token = server.token(Some(ALL));
    let query = r#"
        fragment Totals on StatisticalSummary { n: count total: sum }
        fragment Elsewhere on AggregateResult { group }
        query($interval: String!, $no: Boolean!) {
          conversationAggregates(interval: $interval, metrics: ["tTalk"]) {
            ...Elsewhere
            data {
              __typename
              when: interval
              ... on AggregateInterval { metrics { __typename metric stats { ...Totals max } } }
              ... { interval @skip(if: $no) }
              metrics { stats { __typename count mean @include(if: $no) } first: metric }
            }
          }
        }"#;
    let data = server
        .data(
            &token,
            query,
            json!({"interval": "2026-11-02T08:00:00Z/2026-11-02T08:15:00Z", "no": true}),
        )
        .await;
    assert_eq!(
        data,
        json!({"conversationAggregates": [{
            "group": {},
            "data": [{
                "__typename": "AggregateInterval",
                "when": "2026-11-02T08:00:00.000Z/2026-11-02T08:15:00.000Z",
                "metrics": [{
                    "__typename": "AggregateMetricData",
                    "metric": "tTalk",
                    "stats": {"n": 1, "total": 60000.0, "max": 60000.0,
                              "__typename": "StatisticalSummary", "count": 1, "mean": 60000.0},
                    "first": "tTalk"
                }]
            }]
        }]})
    );
}
