//! What the benchmark asks for: each scenario through the gateway (GraphQL over HTTP), as its
//! floor (the same answer built by one hand-written SQL statement straight from PostgreSQL) and,
//! where it has an equivalent query, through the peer (PostGraphile v5 over the same database).
//!
//! To add a scenario, implement [`Scenario`] and add it to the list in `main.rs`.

use anyhow::Context as _;
use chrono::{DateTime, SecondsFormat, Utc};
use futures::future::BoxFuture;
use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::{Value, json};
use sqlx::PgPool;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::load::Outcome;

/// A unit of work the benchmark measures, through the gateway, as its floor and through the
/// peer.
pub trait Scenario: Send + Sync {
    /// The row label in the table.
    fn name(&self) -> String;
    /// When a unit is several requests (a walk of pages): the row label for one of them.
    fn part_name(&self) -> Option<String> {
        None
    }
    /// One unit through the gateway; `pick` is a random number to choose what to ask for.
    fn gateway(
        self: Arc<Self>,
        http: Arc<Http>,
        pick: u64,
    ) -> BoxFuture<'static, anyhow::Result<Outcome>>;
    /// The same unit by hand-written SQL.
    fn floor(
        self: Arc<Self>,
        pool: PgPool,
        pick: u64,
    ) -> BoxFuture<'static, anyhow::Result<Outcome>>;
    /// Whether the peer has an equivalent query (and runs).
    fn has_peer(&self) -> bool {
        false
    }
    /// The same unit through the peer, when [`Scenario::has_peer`].
    fn peer(
        self: Arc<Self>,
        _http: Arc<Http>,
        _pick: u64,
    ) -> BoxFuture<'static, anyhow::Result<Outcome>> {
        Box::pin(async { anyhow::bail!("this scenario has no PostGraphile equivalent") })
    }
    /// Before the measurements: a unit's answers compared, the floor's and the peer's with the
    /// gateway's.
    fn check(
        self: Arc<Self>,
        _http: Arc<Http>,
        _pool: PgPool,
        _peer: Option<Arc<Http>>,
    ) -> BoxFuture<'static, anyhow::Result<Check>> {
        Box::pin(async { Ok(Check::default()) })
    }
}

/// What a scenario's check compared, and the differences it found.
#[derive(Debug, Default)]
pub struct Check {
    pub checked: Vec<String>,
    pub differences: Vec<String>,
}

impl Check {
    fn compare(&mut self, what: String, outcome: Result<(), String>) {
        match outcome {
            Ok(()) => self.checked.push(what),
            Err(at) => self.differences.push(format!("{what}: no, at {at}")),
        }
    }
}

/// A GraphQL endpoint, with a token when it needs one.
pub struct Http {
    pub client: reqwest::Client,
    pub url: String,
    pub token: Option<String>,
}

#[derive(Deserialize)]
struct Envelope<T> {
    data: Option<T>,
    errors: Option<Vec<GraphQLError>>,
}

#[derive(Deserialize)]
struct GraphQLError {
    message: String,
    extensions: Option<Value>,
}

impl Http {
    /// POSTs a query and decodes the parts of `data` that `T` names (the rest is skipped, not
    /// kept). A non-200 status, GraphQL errors or no data fail.
    pub async fn post<T: DeserializeOwned>(
        &self,
        query: &str,
        variables: Value,
    ) -> anyhow::Result<T> {
        let mut request = self.client.post(&self.url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await?;
        let status = response.status();
        let body = response.bytes().await?;
        anyhow::ensure!(
            status == reqwest::StatusCode::OK,
            "HTTP {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(500)])
        );
        let envelope: Envelope<T> = serde_json::from_slice(&body)?;
        if let Some(error) = envelope.errors.as_ref().and_then(|e| e.first()) {
            match &error.extensions {
                Some(extensions) => {
                    anyhow::bail!("GraphQL error: {} ({extensions})", error.message)
                }
                None => anyhow::bail!("GraphQL error: {}", error.message),
            }
        }
        envelope.data.context("a response without data")
    }
}

/// What the scenarios need to know about the data set.
#[derive(Debug, Clone)]
pub struct DataSet {
    pub first_start: DateTime<Utc>,
    pub last_start: DateTime<Utc>,
    /// Ids of conversations sampled across the data set.
    pub sample: Arc<Vec<String>>,
    /// Agents and the UTC days on which they have workitems with a conversation, sampled.
    pub agent_days: Arc<Vec<(String, DateTime<Utc>)>>,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

// ---------------------------------------------------------------------------------------------
// The floor: one statement per unit, whose JSON PostgreSQL builds
// ---------------------------------------------------------------------------------------------

/// The tables under a conversation, every one keyed by `conversation_id` first.
pub const GRAPH_TABLES: [&str; 16] = [
    "participants",
    "sessions",
    "segments",
    "session_metrics",
    "flows",
    "flow_outcomes",
    "proposed_agents",
    "media_endpoint_stats",
    "agent_groups",
    "scored_agents",
    "segment_properties",
    "evaluations",
    "surveys",
    "resolutions",
    "transfers",
    "division_entities",
];

/// A table of the graph under its parent in the floor's JSON: its rows are those whose `key`
/// columns equal the parent's (same names on both sides), in `order`, each with its children.
struct Level {
    table: &'static str,
    key: &'static [&'static str],
    order: &'static [&'static str],
    /// At most one row (a session's flow): an object or null rather than a list.
    one: bool,
    children: &'static [Level],
}

const OF_CONVERSATION: &[&str] = &["conversation_id"];
const OF_PARTICIPANT: &[&str] = &["conversation_id", "participant_id"];
const OF_SESSION: &[&str] = &["conversation_id", "participant_id", "session_id"];
const OF_SEGMENT: &[&str] = &[
    "conversation_id",
    "participant_id",
    "session_id",
    "segment_index",
];

const fn rows(
    table: &'static str,
    key: &'static [&'static str],
    order: &'static [&'static str],
    children: &'static [Level],
) -> Level {
    Level {
        table,
        key,
        order,
        one: false,
        children,
    }
}

/// Everything under a conversation, in the orders convgraph serves (domain::catalog).
const UNDER_CONVERSATION: &[Level] = &[
    rows(
        "participants",
        OF_CONVERSATION,
        &["ordinal"],
        &[rows(
            "sessions",
            OF_PARTICIPANT,
            &["ordinal"],
            &[
                rows(
                    "segments",
                    OF_SESSION,
                    &["segment_index"],
                    &[
                        rows("scored_agents", OF_SEGMENT, &["scored_index"], &[]),
                        rows("segment_properties", OF_SEGMENT, &["property_index"], &[]),
                    ],
                ),
                rows("session_metrics", OF_SESSION, &["metric_index"], &[]),
                Level {
                    table: "flows",
                    key: OF_SESSION,
                    order: &[],
                    one: true,
                    children: &[rows("flow_outcomes", OF_SESSION, &["outcome_index"], &[])],
                },
                rows("proposed_agents", OF_SESSION, &["proposed_index"], &[]),
                rows("media_endpoint_stats", OF_SESSION, &["stat_index"], &[]),
                rows("agent_groups", OF_SESSION, &["group_index"], &[]),
            ],
        )],
    ),
    rows("evaluations", OF_CONVERSATION, &["evaluation_id"], &[]),
    rows("surveys", OF_CONVERSATION, &["survey_index"], &[]),
    rows("resolutions", OF_CONVERSATION, &["resolution_index"], &[]),
    rows(
        "transfers",
        OF_CONVERSATION,
        &["date_issued", "transfer_id"],
        &[],
    ),
    rows(
        "division_entities",
        OF_CONVERSATION,
        &["division_id", "entity_index"],
        &[],
    ),
];

/// The JSON of the conversation row `alias` with everything under it: `{"row": every column,
/// "divisions": [...], "participants": [{"row": ..., "sessions": [...]}], ...}`, each level a
/// correlated `json_agg` subquery on the primary key's index of its table.
fn conversation_json(alias: &str) -> String {
    let divisions = format!(
        "'divisions', coalesce((select json_agg(coalesce(row_to_json(d), json_build_object('division_id', u.k)) \
         order by u.o) from unnest({alias}.division_ids) with ordinality u(k, o) \
         left join divisions d on d.division_id = u.k), '[]')"
    );
    level_json(alias, 1, UNDER_CONVERSATION, Some(divisions))
}

fn level_json(alias: &str, depth: usize, children: &[Level], extra: Option<String>) -> String {
    let mut entries = vec![format!("'row', row_to_json({alias})")];
    entries.extend(extra);
    let child = format!("l{depth}");
    for level in children {
        let join = level
            .key
            .iter()
            .map(|k| format!("{child}.{k} = {alias}.{k}"))
            .collect::<Vec<_>>()
            .join(" and ");
        let object = level_json(&child, depth + 1, level.children, None);
        let table = level.table;
        entries.push(if level.one {
            format!("'{table}', (select {object} from {table} {child} where {join})")
        } else {
            let order = level
                .order
                .iter()
                .map(|c| format!("{child}.{c}"))
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "'{table}', coalesce((select json_agg({object} order by {order}) \
                 from {table} {child} where {join}), '[]')"
            )
        });
    }
    format!("json_build_object({})", entries.join(", "))
}

#[cfg(test)]
fn tables_of(levels: &[Level], out: &mut Vec<&'static str>) {
    for level in levels {
        out.push(level.table);
        tables_of(level.children, out);
    }
}

// ---------------------------------------------------------------------------------------------
// Dashboard: 50 conversations of the last hour, four levels
// ---------------------------------------------------------------------------------------------

/// A dashboard's list: the 50 newest conversations of an hour, with participants, sessions and
/// segments (the columns a wallboard shows).
pub struct Dashboard {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    /// The peer runs.
    peer: bool,
}

const DASHBOARD: &str = r#"query Dashboard($interval: String!) {
  conversations(filter: {interval: $interval}, orderBy: {field: START, direction: DESC}, first: 50) {
    nodes {
      id conversationStart conversationEnd originatingDirection divisionIds externalTag
      participants {
        participantId purpose userId queueId participantName
        sessions {
          sessionId mediaType direction
          segments { segmentType segmentStart segmentEnd queueId wrapUpCode disconnectType }
        }
      }
    }
  }
}"#;

/// The same question to PostGraphile: the same fields, relations by their foreign keys, the
/// children in convgraph's order (bench/peer/graphile.config.mjs adds the interval's condition
/// and lets participants and sessions be ordered by `ordinal`); aliases give convgraph's keys.
pub const DASHBOARD_PEER: &str = r#"query Dashboard($from: Datetime!, $to: Datetime!) {
  conversations: allConversations(condition: {startFrom: $from, startBefore: $to},
      orderBy: [CONVERSATION_START_DESC, CONVERSATION_ID_DESC], first: 50) {
    nodes {
      id: conversationId conversationStart conversationEnd originatingDirection divisionIds externalTag
      participants: participantsByConversationId(orderBy: [ORDINAL_ASC]) { nodes {
        participantId purpose userId queueId participantName
        sessions: sessionsByConversationIdAndParticipantId(orderBy: [ORDINAL_ASC]) { nodes {
          sessionId mediaType direction
          segments: segmentsByConversationIdAndParticipantIdAndSessionId(orderBy: [SEGMENT_INDEX_ASC]) {
            nodes { segmentType segmentStart segmentEnd queueId wrapUpCode disconnectType }
          }
        } }
      } }
    }
  }
}"#;

/// The CTEs `g`, `s` and `p` of a floor: the segments, sessions and participants of the
/// conversations of a CTE `c`, each aggregated per parent as JSON with the fields the dashboard
/// shows, `p.j` a conversation's participants.
macro_rules! participants_of_c {
    () => {
        "
g as (
  select g.conversation_id, g.participant_id, g.session_id,
         json_agg(json_build_object(
           'segmentType', g.segment_type, 'segmentStart', g.segment_start,
           'segmentEnd', g.segment_end, 'queueId', g.queue_id, 'wrapUpCode', g.wrap_up_code,
           'disconnectType', g.disconnect_type) order by g.segment_index) as j
  from segments g
  where g.conversation_id = any(array(select conversation_id from c))
  group by 1, 2, 3),
s as (
  select s.conversation_id, s.participant_id,
         json_agg(json_build_object(
           'sessionId', s.session_id, 'mediaType', s.media_type, 'direction', s.direction,
           'segments', coalesce(g.j, '[]')) order by s.ordinal) as j
  from sessions s left join g using (conversation_id, participant_id, session_id)
  where s.conversation_id = any(array(select conversation_id from c))
  group by 1, 2),
p as (
  select p.conversation_id,
         json_agg(json_build_object(
           'participantId', p.participant_id, 'purpose', p.purpose, 'userId', p.user_id,
           'queueId', p.queue_id, 'participantName', p.participant_name,
           'sessions', coalesce(s.j, '[]')) order by p.ordinal) as j
  from participants p left join s using (conversation_id, participant_id)
  where p.conversation_id = any(array(select conversation_id from c))
  group by 1)"
    };
}

/// The floor: the gateway's answer to [`DASHBOARD`], key for key, built by PostgreSQL, and the
/// number of conversations in it.
///
/// Written both ways and measured with pgbench on the 100k data set (2 cores, shared): a
/// correlated `json_agg` subquery per level, 5.8–8.1 ms per statement at 1 client and 310–370
/// statements/s at 16; this batched form (the 50 conversations once, then each table by
/// `conversation_id = any(…)` aggregated per parent and joined back by key), 5.3–6.4 ms and
/// 320–370/s. Kept: the batched form, a little faster at 1 client and as fast at 16 (every
/// level reads one index range per conversation either way).
const DASHBOARD_FLOOR: &str = concat!(
    "
with c as materialized (
  select conversation_id, conversation_start, conversation_end, originating_direction,
         division_ids, external_tag
  from conversations
  where conversation_start >= $1 and conversation_start < $2
  order by conversation_start desc, conversation_id desc
  limit 50),
",
    participants_of_c!(),
    "
select json_build_object('conversations', json_build_object('nodes', coalesce(json_agg(
         json_build_object(
           'id', c.conversation_id, 'conversationStart', c.conversation_start,
           'conversationEnd', c.conversation_end,
           'originatingDirection', c.originating_direction, 'divisionIds', c.division_ids,
           'externalTag', c.external_tag, 'participants', coalesce(p.j, '[]'))
         order by c.conversation_start desc, c.conversation_id desc), '[]')))::text,
       count(*)
from c left join p using (conversation_id)"
);

/// Runs the dashboard's floor: its JSON text and its number of conversations.
pub async fn dashboard_floor(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(String, i64), sqlx::Error> {
    sqlx::query_as(DASHBOARD_FLOOR)
        .bind(from)
        .bind(to)
        .fetch_one(db::exec::pool(pool))
        .await
}

impl Dashboard {
    /// "The last hour" is the hour before noon (UTC) of the newest conversation's day: the
    /// generator puts the busiest hours at 10:00-14:00 UTC and the newest conversations start
    /// near midnight, when too few start for a page of 50 below a million conversations.
    pub fn new(data: &DataSet, peer: bool) -> Self {
        let day = data.last_start.date_naive();
        let mut to = day
            .and_hms_opt(12, 0, 0)
            .map_or(data.last_start, |t| t.and_utc());
        if to > data.last_start {
            to -= chrono::Duration::days(1);
        }
        let from = to - chrono::Duration::hours(1);
        Dashboard { from, to, peer }
    }

    pub fn window(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        (self.from, self.to)
    }

    fn variables(&self) -> Value {
        json!({ "interval": format!("{}/{}", rfc3339(self.from), rfc3339(self.to)) })
    }

    fn peer_variables(&self) -> Value {
        json!({ "from": rfc3339(self.from), "to": rfc3339(self.to) })
    }
}

#[derive(Deserialize)]
struct ListData {
    conversations: ListNodes,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListNodes {
    nodes: Vec<IgnoredAny>,
    page_info: Option<PageInfo>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    has_next_page: bool,
    end_cursor: Option<String>,
}

fn one_request() -> Outcome {
    Outcome {
        requests: 1,
        parts: Vec::new(),
    }
}

impl Scenario for Dashboard {
    fn name(&self) -> String {
        "dashboard: 50 of the last hour, 4 levels".into()
    }

    fn gateway(
        self: Arc<Self>,
        http: Arc<Http>,
        _: u64,
    ) -> BoxFuture<'static, anyhow::Result<Outcome>> {
        Box::pin(async move {
            let data: ListData = http.post(DASHBOARD, self.variables()).await?;
            anyhow::ensure!(
                data.conversations.nodes.len() == 50,
                "the dashboard listed {} conversations, not 50",
                data.conversations.nodes.len()
            );
            Ok(one_request())
        })
    }

    fn floor(self: Arc<Self>, pool: PgPool, _: u64) -> BoxFuture<'static, anyhow::Result<Outcome>> {
        Box::pin(async move {
            let (_json, conversations) = dashboard_floor(&pool, self.from, self.to).await?;
            anyhow::ensure!(
                conversations == 50,
                "the floor listed {conversations} conversations"
            );
            Ok(one_request())
        })
    }

    fn has_peer(&self) -> bool {
        self.peer
    }

    fn peer(
        self: Arc<Self>,
        http: Arc<Http>,
        _: u64,
    ) -> BoxFuture<'static, anyhow::Result<Outcome>> {
        Box::pin(async move {
            let data: ListData = http.post(DASHBOARD_PEER, self.peer_variables()).await?;
            anyhow::ensure!(
                data.conversations.nodes.len() == 50,
                "PostGraphile listed {} conversations, not 50",
                data.conversations.nodes.len()
            );
            Ok(one_request())
        })
    }

    fn check(
        self: Arc<Self>,
        http: Arc<Http>,
        pool: PgPool,
        peer: Option<Arc<Http>>,
    ) -> BoxFuture<'static, anyhow::Result<Check>> {
        Box::pin(async move {
            let gateway: Value = http.post(DASHBOARD, self.variables()).await?;
            let mut check = Check::default();
            let (floor, _) = dashboard_floor(&pool, self.from, self.to).await?;
            let floor: Value = serde_json::from_str(&floor)?;
            let exact = if floor == gateway {
                Ok(())
            } else {
                Err(same(&gateway, &floor, "data")
                    .err()
                    .unwrap_or_else(|| "a value's spelling".into()))
            };
            check.compare(
                "the dashboard's floor returns the gateway's JSON".into(),
                exact,
            );
            if let Some(peer) = peer.filter(|_| self.peer) {
                let answer: Value = peer.post(DASHBOARD_PEER, self.peer_variables()).await?;
                check.compare(
                    "PostGraphile's dashboard holds the gateway's values".into(),
                    same_answer(&gateway, &answer),
                );
            }
            Ok(check)
        })
    }
}

// ---------------------------------------------------------------------------------------------
// A wallboard's aggregate
// ---------------------------------------------------------------------------------------------

/// The wallboard numbers of a day: 24 hours in 30-minute buckets by queue, a random day of the
/// data set each time, from `conversationAggregates` or a sibling.
pub struct DayByQueue {
    label: &'static str,
    query: &'static str,
    floor_sql: &'static str,
    first_day: DateTime<Utc>,
    days: u64,
}

const CONVERSATIONS_BY_QUEUE: &str = r#"query Wallboard($interval: String!) {
  result: conversationAggregates(interval: $interval, granularity: "PT30M", groupBy: ["queueId"],
      metrics: ["nOffered", "tAnswered", "tAbandon", "tTalk", "tAcw", "tHandle", "oServiceLevel"]) {
    group data { interval metrics { metric stats { count sum min max numerator denominator } } }
  }
}"#;

/// The floor: the same numbers by one hand-written statement over the same facts.
const CONVERSATIONS_BY_QUEUE_FLOOR: &str = "
    select date_bin('30 minutes', emit_date, $1) as bucket, queue_id, name,
           count(*), sum(value)::bigint, min(value), max(value)
    from metric_facts
    where emit_date >= $1 and emit_date < $2
      and name = any('{nOffered,tAnswered,tAbandon,tTalk,tAcw,tHandle,nOverSla}')
    group by 1, 2, 3";

const WORKITEMS_BY_QUEUE: &str = r#"query Wallboard($interval: String!) {
  result: workitemAggregates(interval: $interval, granularity: "PT30M", groupBy: ["queueId"],
      metrics: ["nWorkitems", "nHandled", "nMissed", "tActive", "tWrapUp", "tHandle"]) {
    group data { interval metrics { metric stats { count sum min max } } }
  }
}"#;

/// The floor: the same numbers from the workitems, one row per bucket and queue.
const WORKITEMS_BY_QUEUE_FLOOR: &str = "
    select date_bin('30 minutes', start_time, $1) as bucket, queue_id, count(*),
           count(*) filter (where lower(result) = 'handled'),
           count(*) filter (where lower(result) = 'missed'),
           sum(active_duration_in_seconds), min(active_duration_in_seconds),
           max(active_duration_in_seconds), sum(wrap_up_duration), min(wrap_up_duration),
           max(wrap_up_duration),
           sum(coalesce(active_duration_in_seconds, 0) + coalesce(wrap_up_duration, 0))
    from workitems
    where start_time >= $1 and start_time < $2
    group by 1, 2";

impl DayByQueue {
    /// `conversationAggregates`: 7 metrics.
    pub fn conversations(data: &DataSet) -> Self {
        Self::new(
            "aggregate: 24 h by queue, 30-minute buckets, 7 metrics",
            CONVERSATIONS_BY_QUEUE,
            CONVERSATIONS_BY_QUEUE_FLOOR,
            data,
        )
    }

    /// `workitemAggregates`: 6 metrics.
    pub fn workitems(data: &DataSet) -> Self {
        Self::new(
            "workitem aggregate: 24 h by queue, 30-minute buckets, 6 metrics",
            WORKITEMS_BY_QUEUE,
            WORKITEMS_BY_QUEUE_FLOOR,
            data,
        )
    }

    fn new(
        label: &'static str,
        query: &'static str,
        floor_sql: &'static str,
        data: &DataSet,
    ) -> Self {
        let first_day = data
            .first_start
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .map_or(data.first_start, |t| t.and_utc());
        let days = (data.last_start - first_day).num_days().max(1) as u64;
        DayByQueue {
            label,
            query,
            floor_sql,
            first_day,
            days,
        }
    }

    fn day(&self, pick: u64) -> (DateTime<Utc>, DateTime<Utc>) {
        let from = self.first_day + chrono::Duration::days((pick % self.days) as i64);
        (from, from + chrono::Duration::days(1))
    }
}

#[derive(Deserialize)]
struct AggregateData {
    result: Vec<IgnoredAny>,
}

impl Scenario for DayByQueue {
    fn name(&self) -> String {
        self.label.into()
    }

    fn gateway(
        self: Arc<Self>,
        http: Arc<Http>,
        pick: u64,
    ) -> BoxFuture<'static, anyhow::Result<Outcome>> {
        Box::pin(async move {
            let (from, to) = self.day(pick);
            let interval = format!("{}/{}", rfc3339(from), rfc3339(to));
            let data: AggregateData = http
                .post(self.query, json!({ "interval": interval }))
                .await?;
            anyhow::ensure!(!data.result.is_empty(), "no queue had data on {interval}");
            Ok(Outcome {
                requests: 1,
                parts: Vec::new(),
            })
        })
    }

    fn floor(
        self: Arc<Self>,
        pool: PgPool,
        pick: u64,
    ) -> BoxFuture<'static, anyhow::Result<Outcome>> {
        Box::pin(async move {
            let (from, to) = self.day(pick);
            let rows = sqlx::query(self.floor_sql)
                .bind(from)
                .bind(to)
                .fetch_all(db::exec::pool(&pool))
                .await?;
            anyhow::ensure!(!rows.is_empty(), "the floor found no rows");
            Ok(Outcome {
                requests: 1,
                parts: Vec::new(),
            })
        })
    }
}

// ---------------------------------------------------------------------------------------------
// An agent's day: the workitems, each with its conversation
// ---------------------------------------------------------------------------------------------

/// A supervisor's look at one agent's day: the agent's workitems of a day (oldest first), each
/// with its primary conversation's participants, sessions and segments. A random agent and day
/// of a sample that has workitems each time.
pub struct AgentDay {
    sample: Arc<Vec<(String, DateTime<Utc>)>>,
}

const AGENT_DAY: &str = r#"query AgentDay($agent: String!, $interval: String!) {
  workitems(filter: {agentIds: [$agent], interval: $interval}, first: 500) {
    edges { node {
      workitemId mediaType result queueId startTime endTime durationInSeconds
      activeDurationInSeconds wrapUpDuration
      primaryConversation {
        id conversationStart conversationEnd originatingDirection
        participants {
          participantId purpose userId queueId participantName
          sessions {
            sessionId mediaType direction
            segments { segmentType segmentStart segmentEnd queueId wrapUpCode disconnectType }
          }
        }
      }
    } }
    pageInfo { hasNextPage }
  }
}"#;

/// The floor: the same workitems and conversations, built by PostgreSQL in one statement (the
/// workitems once, then each table by `conversation_id = any(…)` aggregated per parent, as the
/// dashboard's floor), with the workitems' ids and their conversations' ids in order, for the
/// check.
const AGENT_DAY_FLOOR: &str = concat!("
with w as materialized (
  select workitem_id, media_type, result, queue_id, start_time, end_time, duration_in_seconds,
         active_duration_in_seconds, wrap_up_duration, primary_conversation_id
  from workitems
  where agent_id = $1 and start_time >= $2 and start_time < $3
  order by start_time, workitem_id
  limit 500),
c as materialized (
  select conversation_id, conversation_start, conversation_end, originating_direction
  from conversations
  where conversation_id = any(array(select primary_conversation_id from w))),
", participants_of_c!(), ",
cj as (
  select c.conversation_id, json_build_object(
           'id', c.conversation_id, 'conversationStart', c.conversation_start,
           'conversationEnd', c.conversation_end,
           'originatingDirection', c.originating_direction,
           'participants', coalesce(p.j, '[]')) as j
  from c left join p using (conversation_id))
select json_build_object('workitems', json_build_object('edges', coalesce(json_agg(
         json_build_object('node', json_build_object(
           'workitemId', w.workitem_id, 'mediaType', w.media_type, 'result', w.result,
           'queueId', w.queue_id, 'startTime', w.start_time, 'endTime', w.end_time,
           'durationInSeconds', w.duration_in_seconds,
           'activeDurationInSeconds', w.active_duration_in_seconds,
           'wrapUpDuration', w.wrap_up_duration, 'primaryConversation', cj.j))
         order by w.start_time, w.workitem_id), '[]')))::text,
       coalesce(array_agg(w.workitem_id order by w.start_time, w.workitem_id), '{}'),
       coalesce(array_agg(coalesce(cj.conversation_id, '') order by w.start_time, w.workitem_id), '{}')
from w left join cj on cj.conversation_id = w.primary_conversation_id");

impl AgentDay {
    /// `sample`: agents and the UTC days on which they have workitems with a conversation.
    pub fn new(sample: Arc<Vec<(String, DateTime<Utc>)>>) -> Self {
        AgentDay { sample }
    }

    fn pick(&self, pick: u64) -> anyhow::Result<(&str, DateTime<Utc>, DateTime<Utc>)> {
        anyhow::ensure!(!self.sample.is_empty(), "no agent has workitems");
        let (agent, day) = &self.sample[(pick % self.sample.len() as u64) as usize];
        Ok((agent, *day, *day + chrono::Duration::days(1)))
    }

    fn variables(&self, pick: u64) -> anyhow::Result<Value> {
        let (agent, from, to) = self.pick(pick)?;
        Ok(json!({ "agent": agent, "interval": format!("{}/{}", rfc3339(from), rfc3339(to)) }))
    }

    /// The floor's answer: its JSON, and the workitem ids and conversation ids in order.
    async fn floor_answer(
        &self,
        pool: &PgPool,
        pick: u64,
    ) -> anyhow::Result<(String, Vec<String>, Vec<String>)> {
        let (agent, from, to) = self.pick(pick)?;
        Ok(sqlx::query_as(AGENT_DAY_FLOOR)
            .bind(agent)
            .bind(from)
            .bind(to)
            .fetch_one(db::exec::pool(pool))
            .await?)
    }
}

#[derive(Deserialize)]
struct AgentDayData {
    workitems: AgentDayEdges,
}

#[derive(Deserialize)]
struct AgentDayEdges {
    edges: Vec<AgentDayEdge>,
}

#[derive(Deserialize)]
struct AgentDayEdge {
    node: AgentDayNode,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AgentDayNode {
    workitem_id: String,
    primary_conversation: Option<AgentDayConversation>,
}

#[derive(Deserialize)]
struct AgentDayConversation {
    id: String,
}

impl Scenario for AgentDay {
    fn name(&self) -> String {
        "agent's day: workitems with their conversations".into()
    }

    fn gateway(
        self: Arc<Self>,
        http: Arc<Http>,
        pick: u64,
    ) -> BoxFuture<'static, anyhow::Result<Outcome>> {
        Box::pin(async move {
            let data: AgentDayData = http.post(AGENT_DAY, self.variables(pick)?).await?;
            anyhow::ensure!(!data.workitems.edges.is_empty(), "no workitems");
            Ok(one_request())
        })
    }

    fn floor(
        self: Arc<Self>,
        pool: PgPool,
        pick: u64,
    ) -> BoxFuture<'static, anyhow::Result<Outcome>> {
        Box::pin(async move {
            let (_, workitems, _) = self.floor_answer(&pool, pick).await?;
            anyhow::ensure!(!workitems.is_empty(), "the floor found no workitems");
            Ok(one_request())
        })
    }

    fn check(
        self: Arc<Self>,
        http: Arc<Http>,
        pool: PgPool,
        _peer: Option<Arc<Http>>,
    ) -> BoxFuture<'static, anyhow::Result<Check>> {
        Box::pin(async move {
            let mut check = Check::default();
            let mut outcome = Ok(());
            for pick in 0..3 {
                let (agent, from, _) = self.pick(pick)?;
                let what = format!("agent {agent} on {}", from.date_naive());
                let data: AgentDayData = http.post(AGENT_DAY, self.variables(pick)?).await?;
                let (_, workitems, conversations) = self.floor_answer(&pool, pick).await?;
                let served: Vec<String> = data
                    .workitems
                    .edges
                    .iter()
                    .map(|e| e.node.workitem_id.clone())
                    .collect();
                let served_conversations: Vec<String> = data
                    .workitems
                    .edges
                    .iter()
                    .map(|e| {
                        e.node
                            .primary_conversation
                            .as_ref()
                            .map_or_else(String::new, |c| c.id.clone())
                    })
                    .collect();
                if served != workitems {
                    outcome = outcome.and(Err(format!("{what}: the workitems differ")));
                } else if served_conversations != conversations {
                    outcome = outcome.and(Err(format!("{what}: the conversations differ")));
                } else if served.is_empty() {
                    outcome = outcome.and(Err(format!("{what}: no workitems")));
                }
            }
            check.compare(
                "the gateway's workitems and conversations of three agent days are the floor's"
                    .into(),
                outcome,
            );
            Ok(check)
        })
    }
}

// ---------------------------------------------------------------------------------------------
// One conversation in full depth
// ---------------------------------------------------------------------------------------------

/// Every field and relation of the conversation graph of one conversation, a random one of a
/// sample each time.
pub struct FullConversation {
    query: String,
    peer_query: Option<String>,
    sample: Arc<Vec<String>>,
    floor_sql: String,
}

impl FullConversation {
    /// `selection`: the graph's fields from [`full_selection`]; `peer_selection`: the same for
    /// the peer, from [`peer_selection`], when it runs.
    pub fn new(selection: &[Field], peer_selection: Option<&str>, data: &DataSet) -> Self {
        FullConversation {
            query: format!(
                "query($id: ID!) {{ conversation(id: $id) {{ {} }} }}",
                render(selection)
            ),
            peer_query: peer_selection.map(|s| {
                format!(
                    "query($id: String!) {{ conversation: conversationByConversationId(conversationId: $id) {{ {s} }} }}"
                )
            }),
            sample: data.sample.clone(),
            floor_sql: format!(
                "select {}::text from conversations l0 where l0.conversation_id = $1",
                conversation_json("l0")
            ),
        }
    }

    fn pick(&self, pick: u64) -> &str {
        &self.sample[(pick % self.sample.len() as u64) as usize]
    }
}

#[derive(Deserialize)]
struct OneData {
    conversation: Option<IgnoredAny>,
}

impl Scenario for FullConversation {
    fn name(&self) -> String {
        "one conversation, full depth".into()
    }

    fn gateway(
        self: Arc<Self>,
        http: Arc<Http>,
        pick: u64,
    ) -> BoxFuture<'static, anyhow::Result<Outcome>> {
        Box::pin(async move {
            let id = self.pick(pick);
            let data: OneData = http.post(&self.query, json!({ "id": id })).await?;
            anyhow::ensure!(data.conversation.is_some(), "conversation {id} not found");
            Ok(one_request())
        })
    }

    fn floor(
        self: Arc<Self>,
        pool: PgPool,
        pick: u64,
    ) -> BoxFuture<'static, anyhow::Result<Outcome>> {
        Box::pin(async move {
            let id = self.pick(pick);
            let json: Option<String> = sqlx::query_scalar(&self.floor_sql)
                .bind(id)
                .fetch_optional(db::exec::pool(&pool))
                .await?;
            anyhow::ensure!(json.is_some(), "conversation {id} not found");
            Ok(one_request())
        })
    }

    fn has_peer(&self) -> bool {
        self.peer_query.is_some()
    }

    fn peer(
        self: Arc<Self>,
        http: Arc<Http>,
        pick: u64,
    ) -> BoxFuture<'static, anyhow::Result<Outcome>> {
        Box::pin(async move {
            let id = self.pick(pick);
            let query = self.peer_query.as_deref().context("no peer query")?;
            let data: OneData = http.post(query, json!({ "id": id })).await?;
            anyhow::ensure!(data.conversation.is_some(), "conversation {id} not found");
            Ok(one_request())
        })
    }

    fn check(
        self: Arc<Self>,
        http: Arc<Http>,
        _pool: PgPool,
        peer: Option<Arc<Http>>,
    ) -> BoxFuture<'static, anyhow::Result<Check>> {
        Box::pin(async move {
            let mut check = Check::default();
            let (Some(peer), Some(query)) = (peer, self.peer_query.as_deref()) else {
                return Ok(check);
            };
            let mut outcome = Ok(());
            for pick in 0..3 {
                let id = self.pick(pick);
                let gateway: Value = http.post(&self.query, json!({ "id": id })).await?;
                let answer: Value = peer.post(query, json!({ "id": id })).await?;
                outcome =
                    outcome.and(same_answer(&gateway, &answer).map_err(|at| format!("{id}: {at}")));
            }
            check.compare(
                "PostGraphile's answers for three conversations in full depth hold the gateway's \
                 values"
                    .into(),
                outcome,
            );
            Ok(check)
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Partner export walk: 1,000 conversations, every level, page by page
// ---------------------------------------------------------------------------------------------

/// A partner's export: from a random instant, `total` conversations in start order with every
/// field and relation of the graph, `page` at a time (`first` / `after`).
pub struct ExportWalk {
    query: String,
    peer_query: Option<String>,
    total: usize,
    page: usize,
    first_start: DateTime<Utc>,
    /// Starting instants are drawn from the first 80% of the data set, so that a walk finds
    /// its conversations before the end.
    span_seconds: u64,
    to: DateTime<Utc>,
    first_page_sql: String,
    next_page_sql: String,
}

/// One page of the export by hand-written SQL: up to `$3` conversations of `[$1, $2)` in start
/// order (after `($4, $5)` when `after`), each with everything under it, as one JSON array;
/// then how many, whether more follow (one row more is read to tell), and the last one's key.
fn export_page_sql(after: bool) -> String {
    let after = if after {
        "and (conversation_start, conversation_id) > ($4, $5)"
    } else {
        ""
    };
    format!(
        "with page as materialized (
           select * from conversations
           where conversation_start >= $1 and conversation_start < $2 {after}
           order by conversation_start, conversation_id
           limit $3 + 1),
         l0 as (select * from page order by conversation_start, conversation_id limit $3)
         select coalesce(json_agg({} order by l0.conversation_start, l0.conversation_id), '[]')::text,
                count(*),
                (select count(*) from page) > $3,
                max(l0.conversation_start),
                (array_agg(l0.conversation_id
                           order by l0.conversation_start desc, l0.conversation_id desc))[1]
         from l0",
        conversation_json("l0")
    )
}

type ExportPage = (String, i64, bool, Option<DateTime<Utc>>, Option<String>);

impl ExportWalk {
    pub fn new(
        selection: &[Field],
        peer_selection: Option<&str>,
        data: &DataSet,
        total: usize,
        page: usize,
    ) -> Self {
        let span = (data.last_start - data.first_start).num_seconds().max(1);
        ExportWalk {
            query: format!(
                "query Export($interval: String!, $first: Int!, $after: String) {{
                   conversations(filter: {{interval: $interval}}, first: $first, after: $after) {{
                     pageInfo {{ hasNextPage endCursor }} nodes {{ {} }} }} }}",
                render(selection)
            ),
            peer_query: peer_selection.map(|s| {
                format!(
                    "query Export($from: Datetime!, $to: Datetime!, $first: Int!, $after: Cursor) {{
                       conversations: allConversations(condition: {{startFrom: $from, startBefore: $to}},
                           orderBy: [CONVERSATION_START_ASC, CONVERSATION_ID_ASC], first: $first, after: $after) {{
                         pageInfo {{ hasNextPage endCursor }} nodes {{ {s} }} }} }}"
                )
            }),
            total,
            page,
            first_start: data.first_start,
            span_seconds: (span as u64 * 4 / 5).max(1),
            to: data.last_start + chrono::Duration::seconds(1),
            first_page_sql: export_page_sql(false),
            next_page_sql: export_page_sql(true),
        }
    }

    fn from(&self, pick: u64) -> DateTime<Utc> {
        self.first_start + chrono::Duration::seconds((pick % self.span_seconds) as i64)
    }

    /// Walks `total` conversations page by page through a GraphQL endpoint; `variables` makes a
    /// page's variables from `first` and `after`.
    async fn walk(
        &self,
        http: &Http,
        query: &str,
        variables: impl Fn(usize, Option<&str>) -> Value,
    ) -> anyhow::Result<Outcome> {
        let mut after: Option<String> = None;
        let mut read = 0;
        let mut outcome = Outcome::default();
        while read < self.total {
            let first = self.page.min(self.total - read);
            let t0 = Instant::now();
            let data: PageData = http.post(query, variables(first, after.as_deref())).await?;
            outcome.parts.push(t0.elapsed());
            outcome.requests += 1;
            read += data.conversations.nodes.len();
            let info = data.conversations.page_info.context("no pageInfo")?;
            if !info.has_next_page {
                break;
            }
            after = Some(info.end_cursor.context("no endCursor")?);
        }
        anyhow::ensure!(
            read == self.total,
            "the walk read {read} conversations, not {}",
            self.total
        );
        Ok(outcome)
    }
}

#[derive(Deserialize)]
struct PageData {
    conversations: ListNodes,
}

impl Scenario for ExportWalk {
    fn name(&self) -> String {
        format!(
            "export walk: {} conversations, full depth, pages of {}",
            thousands(self.total),
            self.page
        )
    }

    fn part_name(&self) -> Option<String> {
        Some(format!(
            "export page: {} conversations, full depth",
            self.page
        ))
    }

    fn gateway(
        self: Arc<Self>,
        http: Arc<Http>,
        pick: u64,
    ) -> BoxFuture<'static, anyhow::Result<Outcome>> {
        Box::pin(async move {
            let interval = format!("{}/{}", rfc3339(self.from(pick)), rfc3339(self.to));
            self.walk(
                &http,
                &self.query,
                |first, after| json!({ "interval": interval, "first": first, "after": after }),
            )
            .await
        })
    }

    fn floor(
        self: Arc<Self>,
        pool: PgPool,
        pick: u64,
    ) -> BoxFuture<'static, anyhow::Result<Outcome>> {
        Box::pin(async move {
            let from = self.from(pick);
            let mut after: Option<(DateTime<Utc>, String)> = None;
            let mut read = 0;
            let mut outcome = Outcome::default();
            while read < self.total {
                let first = self.page.min(self.total - read) as i64;
                let t0 = Instant::now();
                let (_json, count, more, last_start, last_id): ExportPage = match &after {
                    None => {
                        sqlx::query_as(&self.first_page_sql)
                            .bind(from)
                            .bind(self.to)
                            .bind(first)
                            .fetch_one(db::exec::pool(&pool))
                            .await?
                    }
                    Some((start, id)) => {
                        sqlx::query_as(&self.next_page_sql)
                            .bind(from)
                            .bind(self.to)
                            .bind(first)
                            .bind(start)
                            .bind(id)
                            .fetch_one(db::exec::pool(&pool))
                            .await?
                    }
                };
                outcome.parts.push(t0.elapsed());
                outcome.requests += 1;
                read += count as usize;
                match (more, last_start, last_id) {
                    (true, Some(start), Some(id)) => after = Some((start, id)),
                    _ => break,
                }
            }
            anyhow::ensure!(
                read == self.total,
                "the floor walk read {read} conversations, not {}",
                self.total
            );
            Ok(outcome)
        })
    }

    fn has_peer(&self) -> bool {
        self.peer_query.is_some()
    }

    fn peer(
        self: Arc<Self>,
        http: Arc<Http>,
        pick: u64,
    ) -> BoxFuture<'static, anyhow::Result<Outcome>> {
        Box::pin(async move {
            let (from, to) = (rfc3339(self.from(pick)), rfc3339(self.to));
            let query = self.peer_query.as_deref().context("no peer query")?;
            self.walk(
                &http,
                query,
                |first, after| json!({ "from": from, "to": to, "first": first, "after": after }),
            )
            .await
        })
    }

    fn check(
        self: Arc<Self>,
        http: Arc<Http>,
        _pool: PgPool,
        peer: Option<Arc<Http>>,
    ) -> BoxFuture<'static, anyhow::Result<Check>> {
        Box::pin(async move {
            let mut check = Check::default();
            let (Some(peer), Some(query)) = (peer, self.peer_query.as_deref()) else {
                return Ok(check);
            };
            let (from, to) = (rfc3339(self.from(0)), rfc3339(self.to));
            let interval = format!("{from}/{to}");
            let gateway: Value = http
                .post(
                    &self.query,
                    json!({ "interval": interval, "first": self.page }),
                )
                .await?;
            let answer: Value = peer
                .post(query, json!({ "from": from, "to": to, "first": self.page }))
                .await?;
            // Only the nodes: each server has cursors of its own.
            let nodes = |v: &Value| v["conversations"]["nodes"].clone();
            check.compare(
                format!(
                    "PostGraphile's first export page ({} conversations) holds the gateway's values",
                    self.page
                ),
                same_answer(&nodes(&gateway), &nodes(&answer)),
            );
            Ok(check)
        })
    }
}

fn thousands(n: usize) -> String {
    if n >= 1000 && n % 1000 == 0 {
        format!("{},000", n / 1000)
    } else {
        n.to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// The full selection, from the served schema; the peer's equivalent
// ---------------------------------------------------------------------------------------------

/// The introspection both servers are asked: every type with its fields, their arguments and
/// types, and enum values (the peer's `orderBy`).
const INTROSPECTION: &str = r#"{ __schema { types { name kind enumValues { name } fields {
    name args { name type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }
    type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }"#;

/// The types of a served schema, by name.
pub type Types = BTreeMap<String, Value>;

/// Asks a GraphQL endpoint for its types.
pub async fn introspect(http: &Http) -> anyhow::Result<Types> {
    let data: Value = http.post(INTROSPECTION, json!({})).await?;
    Ok(data["__schema"]["types"]
        .as_array()
        .context("no types in the introspection")?
        .iter()
        .filter_map(|t| Some((t["name"].as_str()?.to_owned(), t.clone())))
        .collect())
}

/// A field of a selection: a scalar, or a relation with its object type and the fields asked
/// of that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub object: Option<(String, Vec<Field>)>,
}

/// The selection as GraphQL text.
pub fn render(fields: &[Field]) -> String {
    fields
        .iter()
        .map(|f| match &f.object {
            None => f.name.clone(),
            Some((_, inner)) => format!("{} {{ {} }}", f.name, render(inner)),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// How many fields and relations the selection names.
pub fn count(fields: &[Field]) -> usize {
    fields
        .iter()
        .map(|f| 1 + f.object.as_ref().map_or(0, |(_, inner)| count(inner)))
        .sum()
}

/// Every field of `Conversation` and, recursively, of the objects of the conversation graph
/// under it, without walking back into a type already on the path (as `tests/it/graph_walk.rs`
/// does): asked of the running server, so that fields added later are in the benchmark
/// without touching it. Fields that take arguments are left out, and so are the object types
/// outside the graph ([`in_conversation_graph`]: the Buzzeasy feed's workitems, agents,
/// queues, channels, campaigns, …).
/// Returns the selection and the object types left out.
pub async fn full_selection(http: &Http) -> anyhow::Result<(Vec<Field>, BTreeSet<String>)> {
    let types = introspect(http).await?;
    let mut left_out = BTreeSet::new();
    let fields = selection(&types, "Conversation", &mut Vec::new(), &mut left_out)?;
    Ok((fields, left_out))
}

/// Whether the catalogue serves `type_name` from the conversation, its divisions or one of the
/// [`GRAPH_TABLES`] under it, which the floors read.
pub fn in_conversation_graph(type_name: &str) -> bool {
    domain::catalog::object(type_name).is_some_and(|o| {
        o.table == "conversations" || o.table == "divisions" || GRAPH_TABLES.contains(&o.table)
    })
}

fn named(ty: &Value) -> Option<(&str, &str)> {
    let mut t = ty;
    while t["name"].is_null() {
        t = &t["ofType"];
        if t.is_null() {
            return None;
        }
    }
    Some((t["kind"].as_str()?, t["name"].as_str()?))
}

fn selection(
    types: &Types,
    type_name: &str,
    path: &mut Vec<String>,
    left_out: &mut BTreeSet<String>,
) -> anyhow::Result<Vec<Field>> {
    path.push(type_name.to_owned());
    let fields = types
        .get(type_name)
        .and_then(|t| t["fields"].as_array())
        .with_context(|| format!("type {type_name} has no fields"))?;
    let mut out = Vec::new();
    for field in fields {
        let name = field["name"].as_str().context("a field without a name")?;
        if field["args"].as_array().is_some_and(|a| !a.is_empty()) {
            continue;
        }
        let (kind, inner) = named(&field["type"]).context("a field without a type")?;
        if kind == "OBJECT" {
            if !in_conversation_graph(inner) {
                left_out.insert(inner.to_owned());
            } else if !path.iter().any(|p| p == inner) {
                out.push(Field {
                    name: name.to_owned(),
                    object: Some((inner.to_owned(), selection(types, inner, path, left_out)?)),
                });
            }
        } else {
            out.push(Field {
                name: name.to_owned(),
                object: None,
            });
        }
    }
    path.pop();
    Ok(out)
}

/// The same selection asked of PostGraphile (`peer`: its types): the same columns under
/// convgraph's keys (aliases where the names differ: `id: conversationId`), each relation by the
/// field PostGraphile infers from its foreign key (or a computed column of `bench_peer`) with
/// the children in the catalogue's order, as `{ nodes { … } }` where it is a connection. Fails
/// naming the first field PostGraphile has no equivalent for.
pub fn peer_selection(peer: &Types, type_name: &str, fields: &[Field]) -> anyhow::Result<String> {
    let object = domain::catalog::object(type_name)
        .with_context(|| format!("{type_name} is not in the catalogue"))?;
    let peer_fields = peer
        .get(type_name)
        .and_then(|t| t["fields"].as_array())
        .with_context(|| format!("PostGraphile has no type {type_name}"))?;
    let find = |name: &str| peer_fields.iter().find(|f| f["name"] == name);
    let aliased = |key: &str, name: &str| {
        if key == name {
            key.to_owned()
        } else {
            format!("{key}: {name}")
        }
    };
    let mut out = Vec::new();
    for field in fields {
        let key = field.name.as_str();
        match &field.object {
            None => {
                let column = object.fields.iter().find_map(|f| match f {
                    domain::catalog::Field::Alias { name, column, .. } if *name == key => {
                        Some(*column)
                    }
                    _ => None,
                });
                let name = column.map_or_else(|| key.to_owned(), domain::catalog::camel_case);
                anyhow::ensure!(
                    find(&name).is_some(),
                    "PostGraphile's {type_name} has no field {name} (convgraph's {key})"
                );
                out.push(aliased(key, &name));
            }
            Some((target, inner)) => {
                let relation = object.relation(key).with_context(|| {
                    format!("{type_name}.{key} is not a relation of the catalogue")
                })?;
                let connection = format!("{target}Connection");
                let candidates: Vec<&Value> = peer_fields
                    .iter()
                    .filter(|f| {
                        named(&f["type"]).is_some_and(|(_, t)| t == target || t == connection)
                    })
                    .collect();
                let chosen = find(key)
                    .filter(|f| candidates.contains(f))
                    .or(match candidates.as_slice() {
                        [only] => Some(*only),
                        _ => None,
                    })
                    .with_context(|| {
                        format!(
                            "PostGraphile's {type_name} has {} fields of type {target} or {connection}: \
                             none is clearly convgraph's {key}",
                            candidates.len()
                        )
                    })?;
                let name = chosen["name"].as_str().context("a field without a name")?;
                let inner = peer_selection(peer, target, inner)?;
                let is_connection = named(&chosen["type"]).is_some_and(|(_, t)| t == connection);
                if !is_connection {
                    out.push(format!("{} {{ {inner} }}", aliased(key, name)));
                    continue;
                }
                let mut order = String::new();
                if !relation.order.is_empty() {
                    let values: Vec<String> = relation
                        .order
                        .iter()
                        .map(|c| format!("{}_ASC", c.to_uppercase()))
                        .collect();
                    let order_by = chosen["args"]
                        .as_array()
                        .and_then(|a| a.iter().find(|a| a["name"] == "orderBy"))
                        .and_then(|a| named(&a["type"]))
                        .map(|(_, t)| t)
                        .with_context(|| {
                            format!("PostGraphile's {type_name}.{name} has no orderBy")
                        })?;
                    let allowed: Vec<&str> = peer
                        .get(order_by)
                        .and_then(|t| t["enumValues"].as_array())
                        .map(|v| v.iter().filter_map(|v| v["name"].as_str()).collect())
                        .unwrap_or_default();
                    for value in &values {
                        anyhow::ensure!(
                            allowed.contains(&value.as_str()),
                            "PostGraphile cannot order {type_name}.{name} by {value}"
                        );
                    }
                    order = format!("(orderBy: [{}])", values.join(", "));
                }
                out.push(format!(
                    "{}{order} {{ nodes {{ {inner} }} }}",
                    aliased(key, name)
                ));
            }
        }
    }
    Ok(out.join(" "))
}

/// Whether another server's answer holds what the gateway's does: the same keys and lists,
/// with a connection's `{"nodes": […]}` read as its list, and scalars equal as values (a
/// `BigInt` sent as a string, `4` for `4.0`, a time with more digits or another offset).
/// `Err` names where they first differ.
pub fn same_answer(gateway: &Value, other: &Value) -> Result<(), String> {
    same(gateway, other, "data")
}

fn same(a: &Value, b: &Value, at: &str) -> Result<(), String> {
    let b = match b {
        Value::Object(o) if a.is_array() && o.len() == 1 && o.contains_key("nodes") => &o["nodes"],
        _ => b,
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            if x.len() != y.len() || x.keys().any(|k| !y.contains_key(k)) {
                let keys = |o: &serde_json::Map<String, Value>| {
                    o.keys().cloned().collect::<Vec<_>>().join(",")
                };
                return Err(format!("{at}: keys {} against {}", keys(x), keys(y)));
            }
            x.iter()
                .try_for_each(|(k, v)| same(v, &y[k], &format!("{at}.{k}")))
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Err(format!("{at}: {} items against {}", x.len(), y.len()));
            }
            x.iter()
                .zip(y)
                .enumerate()
                .try_for_each(|(i, (v, w))| same(v, w, &format!("{at}[{i}]")))
        }
        _ if a == b || same_scalar(a, b) => Ok(()),
        _ => Err(format!("{at}: {a} against {b}")),
    }
}

fn same_scalar(a: &Value, b: &Value) -> bool {
    let number = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse::<f64>().ok(),
        _ => None,
    };
    if let (Some(x), Some(y)) = (number(a), number(b)) {
        return x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs());
    }
    let (Value::String(x), Value::String(y)) = (a, b) else {
        return false;
    };
    if let (Ok(x), Ok(y)) = (
        DateTime::parse_from_rfc3339(x),
        DateTime::parse_from_rfc3339(y),
    ) {
        return x == y;
    }
    matches!(
        (x.parse::<chrono::NaiveDateTime>(), y.parse::<chrono::NaiveDateTime>()),
        (Ok(x), Ok(y)) if x == y
    )
}

/// How long a unit may take before the benchmark calls it stuck.
pub const UNIT_TIMEOUT: Duration = Duration::from_secs(120);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_full_depth_floor_nests_every_graph_table_once_under_the_conversation() {
        let mut tables = Vec::new();
        tables_of(UNDER_CONVERSATION, &mut tables);
        tables.sort_unstable();
        let mut expected = GRAPH_TABLES.to_vec();
        expected.sort_unstable();
        assert_eq!(tables, expected);

        let sql = conversation_json("l0");
        assert!(sql.starts_with("json_build_object('row', row_to_json(l0), 'divisions', "));
        assert!(sql.contains(
            "'participants', coalesce((select json_agg(json_build_object('row', row_to_json(l1), "
        ));
        assert!(sql.contains("order by l1.ordinal) from participants l1 where l1.conversation_id = l0.conversation_id), '[]')"));
        assert!(sql.contains(
            "'flows', (select json_build_object('row', row_to_json(l3), 'flow_outcomes', "
        ));
        assert!(sql.contains("order by l1.date_issued, l1.transfer_id) from transfers l1"));
    }

    #[test]
    fn the_export_floor_reads_one_row_more_to_tell_whether_more_follow() {
        let first = export_page_sql(false);
        let next = export_page_sql(true);
        assert!(first.contains("limit $3 + 1)") && !first.contains("$4"));
        assert!(next.contains("and (conversation_start, conversation_id) > ($4, $5)"));
        assert!(next.contains("(select count(*) from page) > $3"));
    }

    fn scalar(name: &str) -> Value {
        json!({"name": name, "args": [], "type": {"kind": "SCALAR", "name": "String", "ofType": null}})
    }

    fn list_of(name: &str, kind: &str) -> Value {
        json!({"kind": "NON_NULL", "name": null, "ofType":
            {"kind": "LIST", "name": null, "ofType": {"kind": kind, "name": name, "ofType": null}}})
    }

    #[test]
    fn the_selection_walks_the_graph_once_per_path_and_skips_arguments_and_the_feed() {
        let types: Types = [
            (
                "Conversation",
                json!({"fields": [
                    scalar("id"),
                    {"name": "participants", "args": [], "type": list_of("Participant", "OBJECT")},
                    {"name": "related", "args": [], "type": list_of("Conversation", "OBJECT")},
                    {"name": "workitems", "args": [], "type": list_of("Workitem", "OBJECT")},
                    {"name": "search", "args": [{"name": "q"}], "type": scalar("search")["type"]},
                ]}),
            ),
            (
                "Participant",
                json!({"fields": [
                    scalar("purpose"),
                    {"name": "conversation", "args": [], "type": list_of("Conversation", "OBJECT")},
                ]}),
            ),
            ("Workitem", json!({"fields": [scalar("workitemId")]})),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let mut left_out = BTreeSet::new();
        let fields =
            selection(&types, "Conversation", &mut Vec::new(), &mut left_out).expect("selection");
        assert_eq!(render(&fields), "id participants { purpose }");
        assert_eq!(left_out, BTreeSet::from(["Workitem".to_owned()]));
        assert_eq!(count(&fields), 3);
        assert!(in_conversation_graph("SegmentProperty") && in_conversation_graph("Division"));
        assert!(!in_conversation_graph("Workitem") && !in_conversation_graph("Queue"));
    }

    #[test]
    fn the_peer_is_asked_the_same_columns_under_the_same_keys_in_the_same_order() {
        let connection = |name: &str, target: &str, order_by: &str| {
            json!({"name": name, "type": list_of(target, "OBJECT")["ofType"]["ofType"].clone(),
                   "args": [{"name": "orderBy", "type": list_of(order_by, "ENUM")}]})
        };
        let peer: Types = [
            (
                "Conversation",
                json!({"fields": [
                    scalar("conversationId"),
                    scalar("durationMs"),
                    connection("participantsByConversationId", "ParticipantConnection", "ParticipantOrderBy"),
                ]}),
            ),
            ("Participant", json!({"fields": [scalar("participantId"), scalar("purpose")]})),
            (
                "ParticipantOrderBy",
                json!({"enumValues": [{"name": "PRIMARY_KEY_ASC"}, {"name": "ORDINAL_ASC"}]}),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let scalar_field = |name: &str| Field {
            name: name.into(),
            object: None,
        };
        let fields = vec![
            scalar_field("id"),
            scalar_field("durationMs"),
            Field {
                name: "participants".into(),
                object: Some((
                    "Participant".into(),
                    vec![scalar_field("id"), scalar_field("purpose")],
                )),
            },
        ];
        assert_eq!(
            peer_selection(&peer, "Conversation", &fields).expect("peer selection"),
            "id: conversationId durationMs participants: participantsByConversationId(orderBy: [ORDINAL_ASC]) \
             { nodes { id: participantId purpose } }"
        );
        let missing = vec![scalar_field("conversationStart")];
        let error = peer_selection(&peer, "Conversation", &missing).expect_err("no such field");
        assert!(
            error.to_string().contains("has no field conversationStart"),
            "{error}"
        );
    }

    #[test]
    fn answers_compare_as_values_with_connections_read_as_lists() {
        let gateway = json!({"conversation": {"id": "c1", "start": "2026-11-30T11:59:50.522+00:00",
            "local": "2026-11-30T11:59:50.522", "mos": 4.0, "n": 12,
            "participants": [{"purpose": "agent"}]}});
        let peer = json!({"conversation": {"id": "c1", "start": "2026-11-30T11:59:50.522000Z",
            "local": "2026-11-30T11:59:50.522000", "mos": 4, "n": "12",
            "participants": {"nodes": [{"purpose": "agent"}]}}});
        assert_eq!(same_answer(&gateway, &peer), Ok(()));
        let fewer = json!({"conversation": {"id": "c1", "start": "2026-11-30T11:59:50.522Z",
            "local": "2026-11-30T11:59:50.522", "mos": 4.0, "n": 12,
            "participants": {"nodes": []}}});
        assert_eq!(
            same_answer(&gateway, &fewer),
            Err("data.conversation.participants: 1 items against 0".into())
        );
    }

    /// With `BENCH_DATABASE_URL` naming a prepared benchmark database (e.g.
    /// `postgres://postgres@127.0.0.1:5499/convgraph_bench_100k`): the dashboard's floor lists
    /// 50 conversations, each with its participants. Skipped without it.
    #[tokio::test]
    async fn the_dashboard_floor_lists_50_conversations() {
        let Ok(url) = std::env::var("BENCH_DATABASE_URL") else {
            eprintln!("BENCH_DATABASE_URL is not set: skipped");
            return;
        };
        let pool = PgPool::connect(&url).await.expect("connect");
        let (first, last): (DateTime<Utc>, DateTime<Utc>) = sqlx::query_as(
            "select min(conversation_start), max(conversation_start) from conversations",
        )
        .fetch_one(&pool)
        .await
        .expect("bounds");
        let data = DataSet {
            first_start: first,
            last_start: last,
            sample: Arc::new(Vec::new()),
            agent_days: Arc::new(Vec::new()),
        };
        let (from, to) = Dashboard::new(&data, false).window();
        let (json, count) = dashboard_floor(&pool, from, to).await.expect("floor");
        let answer: Value = serde_json::from_str(&json).expect("JSON");
        let nodes = answer["conversations"]["nodes"].as_array().expect("nodes");
        assert_eq!((count, nodes.len()), (50, 50));
        assert!(nodes.iter().all(|n| n["participants"].is_array()));
    }
}
