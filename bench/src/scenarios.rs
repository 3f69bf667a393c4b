//! What the benchmark asks for: each scenario once through the gateway (GraphQL over HTTP) and
//! once as its floor (the same data by hand-written SQL straight from PostgreSQL).
//!
//! To add a scenario, implement [`Scenario`] and add it to the list in `main.rs`.

use anyhow::Context as _;
use chrono::{DateTime, SecondsFormat, Utc};
use futures::future::BoxFuture;
use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::{Value, json};
use sqlx::PgPool;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::load::Outcome;

/// A unit of work the benchmark measures, through the gateway and as its floor.
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
}

/// The gateway's GraphQL endpoint, with a token.
pub struct Http {
    pub client: reqwest::Client,
    pub url: String,
    pub token: String,
}

#[derive(Deserialize)]
struct Envelope<T> {
    data: Option<T>,
    errors: Option<Vec<GraphQLError>>,
}

#[derive(Deserialize)]
struct GraphQLError {
    message: String,
}

impl Http {
    /// POSTs a query and decodes the parts of `data` that `T` names (the rest is skipped, not
    /// kept). A non-200 status, GraphQL errors or no data fail.
    pub async fn post<T: DeserializeOwned>(
        &self,
        query: &str,
        variables: Value,
    ) -> anyhow::Result<T> {
        let response = self
            .client
            .post(&self.url)
            .bearer_auth(&self.token)
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
            anyhow::bail!("GraphQL error: {}", error.message);
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
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

// ---------------------------------------------------------------------------------------------
// The floor: one statement per unit
// ---------------------------------------------------------------------------------------------

/// The tables under a conversation, every one keyed by `conversation_id` first.
const GRAPH_TABLES: [&str; 16] = [
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

/// One statement: `selector` (a `select` of conversation rows) as a CTE, then its rows and the
/// rows of each of `levels` (table, columns or `*`) that belong to those conversations, each as
/// `(table, row as JSON text, conversation_start, conversation_id)`; the last two are set on
/// conversation rows only (for keyset paging). With `divisions`, the division rows too.
fn graph_sql(selector: &str, levels: &[(&str, &str)], divisions: bool) -> String {
    let mut sql = format!(
        "with c as materialized ({selector})
         select 'conversations'::text as t, to_jsonb(c)::text as row, c.conversation_start, c.conversation_id from c"
    );
    if divisions {
        sql.push_str(
            "\n union all select 'divisions', to_jsonb(d)::text, null, null from divisions d
              where d.division_id = any(array(select unnest(c.division_ids) from c))",
        );
    }
    for (table, columns) in levels {
        sql.push_str(&format!(
            "\n union all select '{table}', to_jsonb(x)::text, null, null
              from (select {columns} from {table}
                    where conversation_id = any(array(select conversation_id from c))) x"
        ));
    }
    sql
}

type FloorRow = (String, String, Option<DateTime<Utc>>, Option<String>);

// ---------------------------------------------------------------------------------------------
// Dashboard: 50 conversations of the last hour, four levels
// ---------------------------------------------------------------------------------------------

/// A dashboard's list: the 50 newest conversations of an hour, with participants, sessions and
/// segments (the columns a wallboard shows).
pub struct Dashboard {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    floor_sql: String,
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

impl Dashboard {
    /// "The last hour" is the hour before noon (UTC) of the newest conversation's day: the
    /// generator puts the busiest hours at 10:00-14:00 UTC and the newest conversations start
    /// near midnight, when too few start for a page of 50 below a million conversations.
    pub fn new(data: &DataSet) -> Self {
        let day = data.last_start.date_naive();
        let mut to = day
            .and_hms_opt(12, 0, 0)
            .map_or(data.last_start, |t| t.and_utc());
        if to > data.last_start {
            to -= chrono::Duration::days(1);
        }
        let from = to - chrono::Duration::hours(1);
        let floor_sql = graph_sql(
            "select conversation_id, conversation_start, conversation_end, originating_direction,
                    division_ids, external_tag
             from conversations where conversation_start >= $1 and conversation_start < $2
             order by conversation_start desc, conversation_id desc limit 50",
            &[
                (
                    "participants",
                    "conversation_id, participant_id, purpose, user_id, queue_id, participant_name",
                ),
                (
                    "sessions",
                    "conversation_id, participant_id, session_id, media_type, direction",
                ),
                (
                    "segments",
                    "conversation_id, participant_id, session_id, segment_index, segment_type,
                     segment_start, segment_end, queue_id, wrap_up_code, disconnect_type",
                ),
            ],
            false,
        );
        Dashboard {
            from,
            to,
            floor_sql,
        }
    }

    pub fn window(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        (self.from, self.to)
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
            let interval = format!("{}/{}", rfc3339(self.from), rfc3339(self.to));
            let data: ListData = http
                .post(DASHBOARD, json!({ "interval": interval }))
                .await?;
            anyhow::ensure!(
                data.conversations.nodes.len() == 50,
                "the dashboard listed {} conversations, not 50",
                data.conversations.nodes.len()
            );
            Ok(Outcome {
                requests: 1,
                parts: Vec::new(),
            })
        })
    }

    fn floor(self: Arc<Self>, pool: PgPool, _: u64) -> BoxFuture<'static, anyhow::Result<Outcome>> {
        Box::pin(async move {
            let rows: Vec<FloorRow> = sqlx::query_as(&self.floor_sql)
                .bind(self.from)
                .bind(self.to)
                .fetch_all(&pool)
                .await?;
            let conversations = rows.iter().filter(|r| r.3.is_some()).count();
            anyhow::ensure!(
                conversations == 50,
                "the floor listed {conversations} conversations"
            );
            Ok(Outcome {
                requests: 1,
                parts: Vec::new(),
            })
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
                .fetch_all(&pool)
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
// One conversation in full depth
// ---------------------------------------------------------------------------------------------

/// Every field and relation of one conversation, a random one of a sample each time.
pub struct FullConversation {
    query: String,
    sample: Arc<Vec<String>>,
    floor_sql: String,
}

impl FullConversation {
    /// `selection`: every field of `Conversation`, from [`full_selection`].
    pub fn new(selection: &str, data: &DataSet) -> Self {
        let levels: Vec<(&str, &str)> = GRAPH_TABLES.iter().map(|t| (*t, "*")).collect();
        FullConversation {
            query: format!("query($id: ID!) {{ conversation(id: $id) {{ {selection} }} }}"),
            sample: data.sample.clone(),
            floor_sql: graph_sql(
                "select * from conversations where conversation_id = $1",
                &levels,
                true,
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
            let id = self.pick(pick);
            let rows: Vec<FloorRow> = sqlx::query_as(&self.floor_sql)
                .bind(id)
                .fetch_all(&pool)
                .await?;
            anyhow::ensure!(
                rows.iter().any(|r| r.3.is_some()),
                "conversation {id} not found"
            );
            Ok(Outcome {
                requests: 1,
                parts: Vec::new(),
            })
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Partner export walk: 1,000 conversations, every level, page by page
// ---------------------------------------------------------------------------------------------

/// A partner's export: from a random instant, `total` conversations in start order with every
/// field and relation, `page` at a time (`first` / `after`).
pub struct ExportWalk {
    query: String,
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

impl ExportWalk {
    pub fn new(selection: &str, data: &DataSet, total: usize, page: usize) -> Self {
        let levels: Vec<(&str, &str)> = GRAPH_TABLES.iter().map(|t| (*t, "*")).collect();
        let span = (data.last_start - data.first_start).num_seconds().max(1);
        ExportWalk {
            query: format!(
                "query Export($interval: String!, $first: Int!, $after: String) {{
                   conversations(filter: {{interval: $interval}}, first: $first, after: $after) {{
                     pageInfo {{ hasNextPage endCursor }} nodes {{ {selection} }} }} }}"
            ),
            total,
            page,
            first_start: data.first_start,
            span_seconds: (span as u64 * 4 / 5).max(1),
            to: data.last_start + chrono::Duration::seconds(1),
            first_page_sql: graph_sql(
                "select * from conversations
                 where conversation_start >= $1 and conversation_start < $2
                 order by conversation_start, conversation_id limit $3",
                &levels,
                true,
            ),
            next_page_sql: graph_sql(
                "select * from conversations
                 where conversation_start >= $1 and conversation_start < $2
                   and (conversation_start, conversation_id) > ($4, $5)
                 order by conversation_start, conversation_id limit $3",
                &levels,
                true,
            ),
        }
    }

    fn from(&self, pick: u64) -> DateTime<Utc> {
        self.first_start + chrono::Duration::seconds((pick % self.span_seconds) as i64)
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
            let mut after: Option<String> = None;
            let mut read = 0;
            let mut outcome = Outcome::default();
            while read < self.total {
                let first = self.page.min(self.total - read);
                let t0 = Instant::now();
                let data: PageData = http
                    .post(
                        &self.query,
                        json!({ "interval": interval, "first": first, "after": after }),
                    )
                    .await?;
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
                let first = self.page.min(self.total - read);
                let t0 = Instant::now();
                let rows: Vec<FloorRow> = match &after {
                    None => {
                        sqlx::query_as(&self.first_page_sql)
                            .bind(from)
                            .bind(self.to)
                            .bind(first as i64)
                            .fetch_all(&pool)
                            .await?
                    }
                    Some((start, id)) => {
                        sqlx::query_as(&self.next_page_sql)
                            .bind(from)
                            .bind(self.to)
                            .bind(first as i64)
                            .bind(start)
                            .bind(id)
                            .fetch_all(&pool)
                            .await?
                    }
                };
                outcome.parts.push(t0.elapsed());
                outcome.requests += 1;
                let keys: Vec<(DateTime<Utc>, &String)> = rows
                    .iter()
                    .filter_map(|r| Some((r.2?, r.3.as_ref()?)))
                    .collect();
                read += keys.len();
                match keys.into_iter().max() {
                    Some((start, id)) if read < self.total => after = Some((start, id.clone())),
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
}

fn thousands(n: usize) -> String {
    if n >= 1000 && n % 1000 == 0 {
        format!("{},000", n / 1000)
    } else {
        n.to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// The full selection, from the served schema
// ---------------------------------------------------------------------------------------------

const INTROSPECTION: &str = r#"{ __schema { types { name kind fields {
    name args { name } type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }"#;

/// Every field of `Conversation` and, recursively, of the objects under it, without walking
/// back into a type already on the path (as `tests/graph_walk.rs` does): asked of the running
/// server, so that fields added later are in the benchmark without touching it. Fields that
/// take arguments are left out.
pub async fn full_selection(http: &Http) -> anyhow::Result<String> {
    let data: Value = http.post(INTROSPECTION, json!({})).await?;
    let types: BTreeMap<String, Value> = data["__schema"]["types"]
        .as_array()
        .context("no types in the introspection")?
        .iter()
        .filter_map(|t| Some((t["name"].as_str()?.to_owned(), t.clone())))
        .collect();
    selection(&types, "Conversation", &mut Vec::new())
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
    types: &BTreeMap<String, Value>,
    type_name: &str,
    path: &mut Vec<String>,
) -> anyhow::Result<String> {
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
            if !path.iter().any(|p| p == inner) {
                out.push(format!("{name} {{ {} }}", selection(types, inner, path)?));
            }
        } else {
            out.push(name.to_owned());
        }
    }
    path.pop();
    Ok(out.join(" "))
}

/// How long a unit may take before the benchmark calls it stuck.
pub const UNIT_TIMEOUT: Duration = Duration::from_secs(120);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_reads_every_level_by_conversation_id_in_one_statement() {
        let sql = graph_sql(
            "select * from conversations where conversation_id = $1",
            &[("participants", "*")],
            true,
        );
        assert_eq!(sql.matches("union all").count(), 2);
        assert!(sql.contains("from participants\n"));
        assert!(sql.contains("where conversation_id = any(array(select conversation_id from c))"));
    }

    #[test]
    fn the_selection_walks_objects_once_per_path_and_skips_fields_with_arguments() {
        let scalar = json!({"kind": "SCALAR", "name": "String", "ofType": null});
        let list_of = |name: &str| {
            json!({"kind": "NON_NULL", "name": null, "ofType":
            {"kind": "LIST", "name": null, "ofType": {"kind": "OBJECT", "name": name, "ofType": null}}})
        };
        let types: BTreeMap<String, Value> = [
            (
                "Conversation",
                json!({"fields": [
                    {"name": "id", "args": [], "type": scalar},
                    {"name": "participants", "args": [], "type": list_of("Participant")},
                    {"name": "related", "args": [], "type": list_of("Conversation")},
                    {"name": "search", "args": [{"name": "q"}], "type": scalar},
                ]}),
            ),
            (
                "Participant",
                json!({"fields": [
                    {"name": "purpose", "args": [], "type": scalar},
                    {"name": "conversation", "args": [], "type": list_of("Conversation")},
                ]}),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        assert_eq!(
            selection(&types, "Conversation", &mut Vec::new()).expect("selection"),
            "id participants { purpose }"
        );
    }
}
