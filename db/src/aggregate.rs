//! Conversation aggregates: count, sum, min and max of session metrics per time bucket and
//! group, within the caller's scope: from `metric_rollup` when the question fits its 15-minute
//! buckets and dimensions, else from `metric_facts`, by one statement written for the question.

use crate::exec;
use chrono::{DateTime, Utc};
use domain::Scope;
use domain::aggregate::Dimension;
use sqlx::{PgPool, Postgres, QueryBuilder, Row};
use std::collections::BTreeMap;

/// What to aggregate.
#[derive(Debug, Clone, Default)]
pub struct AggregateQuery {
    /// Bucket boundaries, ascending: facts of `[b[0], b[n])` count, in bucket `i` when
    /// `b[i] <= emit_date < b[i+1]`.
    pub boundaries: Vec<DateTime<Utc>>,
    /// Facts emitted in `[from, to)` only (within the boundaries).
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Stored metric names.
    pub metrics: Vec<String>,
    pub group_by: Vec<Dimension>,
    /// Per dimension, the values a fact must have one of.
    pub filter: BTreeMap<Dimension, Vec<String>>,
}

/// The stats of one metric in one bucket and group, the group keyed by `D`: a [`Dimension`]
/// of the conversation aggregates or a sibling's dimension name.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsRow<D> {
    /// Index of the bucket: `[boundaries[bucket], boundaries[bucket + 1])`.
    pub bucket: usize,
    /// The grouped dimensions' values (absent when the fact or row has none).
    pub group: BTreeMap<D, Option<String>>,
    pub metric: String,
    pub count: i64,
    pub sum: Option<i64>,
    pub min: Option<i64>,
    pub max: Option<i64>,
}

/// A row of `conversationAggregates`.
pub type AggregateRow = StatsRow<Dimension>;

/// The dimensions `metric_rollup` keeps.
const ROLLED_UP: [Dimension; 7] = [
    Dimension::QueueId,
    Dimension::MediaType,
    Dimension::Direction,
    Dimension::OriginatingDirection,
    Dimension::DivisionId,
    Dimension::BusinessUnitId,
    Dimension::Purpose,
];

/// Seconds in a rollup bucket.
const ROLLUP_SECONDS: i64 = 15 * 60;

pub async fn conversation_aggregates(
    pool: &PgPool,
    scope: &Scope,
    q: &AggregateQuery,
) -> Result<Vec<AggregateRow>, sqlx::Error> {
    let (Some(first), Some(last)) = (q.boundaries.first(), q.boundaries.last()) else {
        return Ok(Vec::new());
    };
    let from = q.from.map_or(*first, |f| f.max(*first));
    let to = q.to.map_or(*last, |t| t.min(*last));
    // The rollup answers when its 15-minute buckets fit the question's buckets and interval
    // exactly, and every dimension asked about is one it keeps.
    let aligned = |t: &DateTime<Utc>| {
        t.timestamp().rem_euclid(ROLLUP_SECONDS) == 0 && t.timestamp_subsec_nanos() == 0
    };
    let kept = |d: &Dimension| ROLLED_UP.contains(d);
    if q.boundaries.iter().all(aligned)
        && aligned(&from)
        && aligned(&to)
        && q.group_by.iter().all(kept)
        && q.filter.keys().all(kept)
    {
        refresh_rollup(pool, from, to).await?;
        aggregate(pool, scope, q, Source::Rollup, from, to).await
    } else {
        aggregate(pool, scope, q, Source::Facts, from, to).await
    }
}

/// Recomputes, from the facts, the queued rollup buckets of `[from, to)`.
async fn refresh_rollup(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let stale = sqlx::query_scalar!(
        r#"select exists(select 1 from metric_rollup_queue where bucket >= $1 and bucket < $2)
           as "stale!""#,
        from,
        to
    )
    .fetch_one(exec::pool(pool))
    .await?;
    if !stale {
        return Ok(());
    }
    let mut tx = exec::begin(pool).await?;
    // One recomputation at a time: the statement below then sees what an earlier one committed.
    sqlx::query!("select pg_advisory_xact_lock(hashtextextended('metric_rollup', 0))")
        .execute(exec::conn(&mut tx))
        .await?;
    // A day's facts sort in memory (about 150 MB at 1M conversations a month) instead of
    // spilling to disk; recomputations are one at a time, so this is the most it holds.
    sqlx::query!("set local work_mem = '256MB'")
        .execute(exec::conn(&mut tx))
        .await?;
    // The facts are read by the range [from, to) (+ the last bucket's 15 minutes), which the
    // planner can estimate and serve from `metric_facts_time_idx`, then kept when their bucket
    // is one of those queued. Joining each queued bucket to its facts instead made the planner
    // scan every fact once per bucket: about a minute per day of buckets at 1M conversations,
    // against 3 to 5 seconds this way (EXPLAIN ANALYZE on the benchmark's database).
    sqlx::query!(
        "with taken as (
             delete from metric_rollup_queue where bucket >= $1 and bucket < $2 returning bucket
         ), queued as (
             select coalesce(array_agg(distinct bucket), '{}') as buckets from taken
         ), gone as (
             delete from metric_rollup r using queued q
             where r.bucket >= $1 and r.bucket < $2 and r.bucket = any(q.buckets)
         )
         insert into metric_rollup
         select date_bin('15 minutes', f.emit_date, timestamptz '1970-01-01 00:00:00Z'),
                f.name, f.queue_id, f.media_type, f.direction, f.purpose,
                f.originating_direction, f.division_ids, f.business_unit_id,
                count(*), sum(f.value), min(f.value), max(f.value)
         from metric_facts f, queued q
         where f.emit_date >= $1 and f.emit_date < $2 + interval '15 minutes'
           and date_bin('15 minutes', f.emit_date, timestamptz '1970-01-01 00:00:00Z')
               = any(q.buckets)
         group by 1, 2, 3, 4, 5, 6, 7, 8, 9",
        from,
        to
    )
    .execute(exec::conn(&mut tx))
    .await?;
    tx.commit().await
}

/// Recomputes every queued rollup bucket, a day of buckets per transaction, so that a large
/// import leaves no backlog for the first dashboard query to pay for (nor one statement that
/// recomputes a month). Returns how many days it went through.
pub async fn refresh_rollup_backlog(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let mut days = 0;
    while let Some(start) = sqlx::query_scalar!("select min(bucket) from metric_rollup_queue")
        .fetch_one(exec::pool(pool))
        .await?
    {
        refresh_rollup(pool, start, start + chrono::Duration::days(1)).await?;
        days += 1;
    }
    Ok(days)
}

/// The index into the boundaries of a `width_bucket` result, which counts from 1 for the first
/// bucket (the statements keep rows within the boundaries).
fn bucket_index(width_bucket: i32) -> usize {
    (width_bucket.max(1) - 1) as usize
}

/// What a statement reads: the rollup's 15-minute sums, or the facts themselves.
#[derive(Debug, Clone, Copy)]
enum Source {
    Rollup,
    Facts,
}

impl Source {
    fn table(self) -> &'static str {
        match self {
            Source::Rollup => "metric_rollup",
            Source::Facts => "metric_facts",
        }
    }

    /// The time a row counts at.
    fn time(self) -> &'static str {
        match self {
            Source::Rollup => "r.bucket",
            Source::Facts => "r.emit_date",
        }
    }

    /// Count, sum, min and max of the rows' values.
    fn stats(self) -> &'static str {
        match self {
            Source::Rollup => "sum(r.n)::bigint, sum(r.total)::bigint, min(r.low), max(r.high)",
            Source::Facts => "count(*), sum(r.value)::bigint, min(r.value), max(r.value)",
        }
    }
}

/// The column of a dimension, in the facts and in the rollup alike (`division_ids` is an
/// array: grouping by division goes through its `unnest`, `d.division_id`).
fn column(d: Dimension) -> &'static str {
    use Dimension::*;
    match d {
        QueueId => "r.queue_id",
        UserId => "r.user_id",
        MediaType => "r.media_type",
        Direction => "r.direction",
        OriginatingDirection => "r.originating_direction",
        DivisionId => "d.division_id",
        BusinessUnitId => "r.business_unit_id",
        Purpose => "r.purpose",
        WrapUpCode => "r.wrap_up_code",
        DisconnectType => "r.disconnect_type",
        FlowId => "r.flow_id",
        RequestedRouting => "r.requested_routing",
        UsedRouting => "r.used_routing",
    }
}

/// One statement that selects, groups and filters by exactly the dimensions asked about.
///
/// Written for the question rather than one statement for every question, because that one
/// (each dimension `case when $n then … end`, each filter `$n is null or …`, the divisions always
/// unnested) cost about 80 ms for the benchmark's wallboard at 1M conversations once
/// PostgreSQL's generic plan took over, against about 18 ms for this one; and unnamed, so that
/// each run is planned for its interval, not for an average one.
async fn aggregate(
    pool: &PgPool,
    scope: &Scope,
    q: &AggregateQuery,
    source: Source,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<AggregateRow>, sqlx::Error> {
    let by_division = q.group_by.contains(&Dimension::DivisionId);
    let mut sql = QueryBuilder::<Postgres>::new("select width_bucket(");
    sql.push(source.time())
        .push(", ")
        .push_bind(&q.boundaries)
        .push("::timestamptz[]), r.name");
    for d in &q.group_by {
        sql.push(", ").push(column(*d));
    }
    sql.push(", ")
        .push(source.stats())
        .push(" from ")
        .push(source.table())
        .push(" r");
    if by_division {
        // A fact without divisions is in the group of no division (null), as one without a
        // queue is in the group of no queue.
        sql.push(" left join lateral unnest(r.division_ids) d(division_id) on true");
    }
    sql.push(" where ")
        .push(source.time())
        .push(" >= ")
        .push_bind(from)
        .push(" and ")
        .push(source.time())
        .push(" < ")
        .push_bind(to)
        .push(" and r.name = any(")
        .push_bind(&q.metrics)
        .push(")");
    if !scope.is_all() {
        sql.push(" and (r.division_ids && ")
            .push_bind(scope.division_ids())
            .push(" or r.business_unit_id = any(")
            .push_bind(scope.business_unit_ids())
            .push("))");
    }
    for (d, values) in &q.filter {
        if *d == Dimension::DivisionId && !by_division {
            // Only filtered, a fact in several of the divisions counts once.
            sql.push(" and r.division_ids && ").push_bind(values);
        } else {
            sql.push(" and ")
                .push(column(*d))
                .push(" = any(")
                .push_bind(values)
                .push(")");
        }
    }
    sql.push(" group by 1, 2");
    for i in 0..q.group_by.len() {
        sql.push(", ").push(i + 3);
    }
    let rows = sql
        .build()
        .persistent(false)
        .fetch_all(exec::pool(pool))
        .await?;
    let n = q.group_by.len();
    rows.iter()
        .map(|row| {
            let bucket: i32 = row.try_get(0)?;
            let mut group = BTreeMap::new();
            for (i, d) in q.group_by.iter().enumerate() {
                group.insert(*d, row.try_get(2 + i)?);
            }
            Ok(AggregateRow {
                bucket: bucket_index(bucket),
                group,
                metric: row.try_get(1)?,
                count: row.try_get(2 + n)?,
                sum: row.try_get(3 + n)?,
                min: row.try_get(4 + n)?,
                max: row.try_get(5 + n)?,
            })
        })
        .collect()
}

// --- The siblings: workitems, flow metric records, campaign records and agent states.

use domain::aggregate::Sibling;

/// What to aggregate of a [`Sibling`]'s rows.
#[derive(Debug, Clone, Default)]
pub struct SiblingQuery {
    /// Bucket boundaries, ascending: a row whose time is in `[b[i], b[i+1])` is in bucket `i`.
    pub boundaries: Vec<DateTime<Utc>>,
    /// Rows whose time is in `[from, to)` only (within the boundaries).
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The sibling's metric names.
    pub metrics: Vec<String>,
    /// The sibling's dimensions (canonical names, from [`Sibling::dimension`]).
    pub group_by: Vec<&'static str>,
    /// Per dimension, the values a row must have one of.
    pub filter: BTreeMap<&'static str, Vec<String>>,
}

/// A row of a sibling's aggregates.
pub type SiblingRow = StatsRow<&'static str>;

/// Count, sum, min and max of a sibling's metrics per bucket and group, within `scope` as the
/// row reads apply it (`db::feed`): workitems by their business unit, campaign records by their
/// campaign's, agent states by the business units their agent was assigned to, flow metric
/// records by their divisions or their conversation's visibility. Each is one statement.
/// Workitems, the largest, aggregate each metric's value in one pass over the rows, grouped by
/// the dimensions asked only; the others unpivot a row into its metric values (`lateral values`)
/// and group them, a dimension not grouped by null in every row so that it does not split them.
pub async fn sibling_aggregates(
    pool: &PgPool,
    scope: &Scope,
    sibling: Sibling,
    q: &SiblingQuery,
) -> Result<Vec<SiblingRow>, sqlx::Error> {
    if q.boundaries.len() < 2 || q.metrics.is_empty() {
        return Ok(Vec::new());
    }
    match sibling {
        Sibling::Workitems => workitem_aggregates(pool, scope, q).await,
        Sibling::Flows => flow_aggregates(pool, scope, q).await,
        Sibling::CampaignRecords => campaign_record_aggregates(pool, scope, q).await,
        Sibling::AgentStates => agent_state_aggregates(pool, scope, q).await,
    }
}

// A duration in the feed's seconds as a t-metric value: milliseconds, rounded half up (in
// double precision, as `floor(s * 1000 + 0.5)`), and no value unless positive. Written out in
// each statement as `nullif(greatest(floor(x * 1000 + 0.5), 0), 0)::bigint`.

/// Each workitem metric's value for one workitem `w` (null: the workitem emits none).
const WORKITEM_METRICS: [(&str, &str); 11] = [
    ("nWorkitems", "1::bigint"),
    ("nHandled", "case when lower(w.result) = 'handled' then 1::bigint end"),
    ("nMissed", "case when lower(w.result) = 'missed' then 1::bigint end"),
    ("nRejected", "case when lower(w.result) = 'rejected' then 1::bigint end"),
    ("nAbandoned", "case when lower(w.result) = 'abandoned' then 1::bigint end"),
    ("nCancelled", "case when lower(w.result) = 'cancelled' then 1::bigint end"),
    ("tActive", "nullif(greatest(floor(w.active_duration_in_seconds * 1000 + 0.5), 0), 0)::bigint"),
    ("tPreview", "nullif(greatest(floor(w.preview_duration * 1000 + 0.5), 0), 0)::bigint"),
    ("tWrapUp", "nullif(greatest(floor(w.wrap_up_duration * 1000 + 0.5), 0), 0)::bigint"),
    (
        "tHandle",
        "nullif(coalesce(nullif(greatest(floor(w.active_duration_in_seconds * 1000 + 0.5), 0), 0), 0)
                + coalesce(nullif(greatest(floor(w.wrap_up_duration * 1000 + 0.5), 0), 0), 0),
                0)::bigint",
    ),
    ("tLookup", "nullif(greatest(floor(w.lookup_duration * 1000 + 0.5), 0), 0)::bigint"),
];

/// The columns of the workitem dimensions.
const WORKITEM_DIMENSIONS: [(&str, &str); 5] = [
    ("agentId", "w.agent_id"),
    ("queueId", "w.queue_id"),
    ("mediaType", "w.media_type"),
    ("businessUnitId", "w.business_unit_id"),
    ("result", "w.result"),
];

/// Workitems in one pass: each asked metric is four aggregates over its value (`count` counts
/// the workitems that have one), grouped by the dimensions asked only, instead of unpivoting
/// each workitem into its eleven metric values first (`lateral values`) and grouping those.
async fn workitem_aggregates(
    pool: &PgPool,
    scope: &Scope,
    q: &SiblingQuery,
) -> Result<Vec<SiblingRow>, sqlx::Error> {
    let metrics: Vec<(&str, &str)> = WORKITEM_METRICS
        .into_iter()
        .filter(|(name, _)| q.metrics.iter().any(|m| m == name))
        .collect();
    let dimensions: Vec<(&'static str, &str)> = q
        .group_by
        .iter()
        .filter_map(|d| WORKITEM_DIMENSIONS.into_iter().find(|(name, _)| name == d))
        .collect();
    let mut sql = QueryBuilder::<Postgres>::new("select width_bucket(w.start_time, ");
    sql.push_bind(&q.boundaries).push("::timestamptz[])");
    for (_, column) in &dimensions {
        sql.push(", ").push(column);
    }
    for (_, value) in &metrics {
        sql.push(format_args!(
            ", count({value}), sum({value})::bigint, min({value}), max({value})"
        ));
    }
    sql.push(" from workitems w where w.start_time >= ")
        .push_bind(q.from)
        .push(" and w.start_time < ")
        .push_bind(q.to);
    if !scope.is_all() {
        sql.push(" and w.business_unit_id = any(")
            .push_bind(scope.business_unit_ids())
            .push(")");
    }
    for (d, values) in &q.filter {
        if let Some((_, column)) = WORKITEM_DIMENSIONS.into_iter().find(|(name, _)| name == d) {
            sql.push(" and ")
                .push(column)
                .push(" = any(")
                .push_bind(values)
                .push(")");
        }
    }
    sql.push(" group by 1");
    for i in 0..dimensions.len() {
        sql.push(", ").push(i + 2);
    }
    let rows = sql
        .build()
        .persistent(false)
        .fetch_all(exec::pool(pool))
        .await?;
    let mut out = Vec::new();
    for row in &rows {
        let bucket: i32 = row.try_get(0)?;
        let mut group = BTreeMap::new();
        for (i, (name, _)) in dimensions.iter().enumerate() {
            group.insert(*name, row.try_get(1 + i)?);
        }
        for (i, (name, _)) in metrics.iter().enumerate() {
            let at = 1 + dimensions.len() + 4 * i;
            let count: i64 = row.try_get(at)?;
            // A metric no workitem of the group emitted is left out, as for the others.
            if count > 0 {
                out.push(SiblingRow {
                    bucket: bucket_index(bucket),
                    group: group.clone(),
                    metric: (*name).to_owned(),
                    count,
                    sum: row.try_get(at + 1)?,
                    min: row.try_get(at + 2)?,
                    max: row.try_get(at + 3)?,
                });
            }
        }
    }
    Ok(out)
}

async fn flow_aggregates(
    pool: &PgPool,
    scope: &Scope,
    q: &SiblingQuery,
) -> Result<Vec<SiblingRow>, sqlx::Error> {
    let by = |d: &str| q.group_by.contains(&d);
    let only = |d: &str| q.filter.get(d).cloned();
    // A record in several divisions counts once, or once in each of its divisions' groups when
    // grouped by division (then only in the filtered divisions' groups).
    let rows = sqlx::query!(
        r#"select width_bucket(m.metric_date, $1::timestamptz[]) as "bucket!",
                  case when $8 then m.flow_id end as flow_id,
                  case when $9 then m.flow_name end as flow_name,
                  case when $10 then m.flow_type end as flow_type,
                  case when $11 then m.flow_version end as flow_version,
                  case when $12 then m.entry_type end as entry_type,
                  case when $13 then m.entry_reason end as entry_reason,
                  case when $14 then m.exit_reason end as exit_reason,
                  case when $15 then m.flow_out_type end as flow_out_type,
                  case when $16 then m.transfer_type end as transfer_type,
                  case when $17 then m.media_type end as media_type,
                  case when $18 then m.direction end as direction,
                  case when $19 then m.originating_direction end as originating_direction,
                  case when $20 then m.queue_id end as queue_id,
                  d.division_id,
                  m.metric as "name!",
                  count(*) as "count!",
                  sum(m.value)::bigint as sum, min(m.value) as min, max(m.value) as max
           from flow_metrics m
           left join lateral unnest(
               case when $21 then m.division_ids else array[null::text] end
           ) d(division_id) on true
           where m.metric_date >= $2 and m.metric_date < $3
             and m.metric = any($4) and m.value is not null
             and ($5 or m.division_ids && $6
                  or exists (select from conversations c where c.conversation_id = m.conversation_id
                             and (c.division_ids && $6 or c.business_unit_id = any($7))))
             and ($22::text[] is null or m.flow_id = any($22))
             and ($23::text[] is null or m.flow_name = any($23))
             and ($24::text[] is null or m.flow_type = any($24))
             and ($25::text[] is null or m.flow_version = any($25))
             and ($26::text[] is null or m.entry_type = any($26))
             and ($27::text[] is null or m.entry_reason = any($27))
             and ($28::text[] is null or m.exit_reason = any($28))
             and ($29::text[] is null or m.flow_out_type = any($29))
             and ($30::text[] is null or m.transfer_type = any($30))
             and ($31::text[] is null or m.media_type = any($31))
             and ($32::text[] is null or m.direction = any($32))
             and ($33::text[] is null or m.originating_direction = any($33))
             and ($34::text[] is null or m.queue_id = any($34))
             and ($35::text[] is null
                  or (m.division_ids && $35 and (not $21 or d.division_id = any($35))))
           group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16
           order by 1, 16"#,
        &q.boundaries,
        q.from,
        q.to,
        &q.metrics,
        scope.is_all(),
        &scope.division_ids(),
        &scope.business_unit_ids(),
        by("flowId"),
        by("flowName"),
        by("flowType"),
        by("flowVersion"),
        by("entryType"),
        by("entryReason"),
        by("exitReason"),
        by("flowOutType"),
        by("transferType"),
        by("mediaType"),
        by("direction"),
        by("originatingDirection"),
        by("queueId"),
        by("divisionId"),
        only("flowId") as Option<Vec<String>>,
        only("flowName") as Option<Vec<String>>,
        only("flowType") as Option<Vec<String>>,
        only("flowVersion") as Option<Vec<String>>,
        only("entryType") as Option<Vec<String>>,
        only("entryReason") as Option<Vec<String>>,
        only("exitReason") as Option<Vec<String>>,
        only("flowOutType") as Option<Vec<String>>,
        only("transferType") as Option<Vec<String>>,
        only("mediaType") as Option<Vec<String>>,
        only("direction") as Option<Vec<String>>,
        only("originatingDirection") as Option<Vec<String>>,
        only("queueId") as Option<Vec<String>>,
        only("divisionId") as Option<Vec<String>>,
    )
    .fetch_all(exec::pool(pool))
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let values = [
                ("flowId", r.flow_id),
                ("flowName", r.flow_name),
                ("flowType", r.flow_type),
                ("flowVersion", r.flow_version),
                ("entryType", r.entry_type),
                ("entryReason", r.entry_reason),
                ("exitReason", r.exit_reason),
                ("flowOutType", r.flow_out_type),
                ("transferType", r.transfer_type),
                ("mediaType", r.media_type),
                ("direction", r.direction),
                ("originatingDirection", r.originating_direction),
                ("queueId", r.queue_id),
                ("divisionId", r.division_id),
            ];
            sibling_row(q, r.bucket, values, r.name, r.count, [r.sum, r.min, r.max])
        })
        .collect())
}

async fn campaign_record_aggregates(
    pool: &PgPool,
    scope: &Scope,
    q: &SiblingQuery,
) -> Result<Vec<SiblingRow>, sqlx::Error> {
    let by = |d: &str| q.group_by.contains(&d);
    let only = |d: &str| q.filter.get(d).cloned();
    let rows = sqlx::query!(
        r#"select width_bucket(r.created_at, $1::timestamptz[]) as "bucket!",
                  case when $7 then r.campaign_id end as campaign_id,
                  case when $8 then r.status end as status,
                  v.name as "name!",
                  count(*) as "count!",
                  sum(v.value)::bigint as sum, min(v.value) as min, max(v.value) as max
           from campaign_records r
           cross join lateral (values
               ('nRecords', 1::bigint),
               ('tCustomerRing', nullif(greatest(
                   floor(r.total_customer_ring_time_in_seconds * 1000 + 0.5), 0), 0)::bigint),
               ('tTalk', nullif(greatest(
                   floor(r.total_talk_time_in_seconds * 1000 + 0.5), 0), 0)::bigint)
           ) v(name, value)
           where r.created_at >= $2 and r.created_at < $3
             and v.name = any($4) and v.value is not null
             and ($5 or exists (select from campaigns cp
                                where cp.campaign_id = r.campaign_id and cp.business_unit_id = any($6)))
             and ($9::text[] is null or r.campaign_id = any($9))
             and ($10::text[] is null or r.status = any($10))
           group by 1, 2, 3, 4
           order by 1, 4"#,
        &q.boundaries,
        q.from,
        q.to,
        &q.metrics,
        scope.is_all(),
        &scope.business_unit_ids(),
        by("campaignId"),
        by("status"),
        only("campaignId") as Option<Vec<String>>,
        only("status") as Option<Vec<String>>,
    )
    .fetch_all(exec::pool(pool))
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let values = [("campaignId", r.campaign_id), ("status", r.status)];
            sibling_row(q, r.bucket, values, r.name, r.count, [r.sum, r.min, r.max])
        })
        .collect())
}

async fn agent_state_aggregates(
    pool: &PgPool,
    scope: &Scope,
    q: &SiblingQuery,
) -> Result<Vec<SiblingRow>, sqlx::Error> {
    let by = |d: &str| q.group_by.contains(&d);
    let only = |d: &str| q.filter.get(d).cloned();
    let rows = sqlx::query!(
        r#"select width_bucket(s.start_time, $1::timestamptz[]) as "bucket!",
                  case when $7 then s.agent_id end as agent_id,
                  case when $8 then s.state end as state,
                  case when $9 then s.break_name end as break_name,
                  v.name as "name!",
                  count(*) as "count!",
                  sum(v.value)::bigint as sum, min(v.value) as min, max(v.value) as max
           from agent_states s
           cross join lateral (values
               ('nStates', 1::bigint),
               ('tState', nullif(greatest(floor(s.duration_in_seconds * 1000 + 0.5), 0), 0)::bigint)
           ) v(name, value)
           where s.start_time >= $2 and s.start_time < $3
             and v.name = any($4) and v.value is not null
             and ($5 or exists (select from agent_business_unit_changes a
                                where a.agent_id = s.agent_id and a.assigned
                                  and a.business_unit_id = any($6)))
             and ($10::text[] is null or s.agent_id = any($10))
             and ($11::text[] is null or s.state = any($11))
             and ($12::text[] is null or s.break_name = any($12))
           group by 1, 2, 3, 4, 5
           order by 1, 5"#,
        &q.boundaries,
        q.from,
        q.to,
        &q.metrics,
        scope.is_all(),
        &scope.business_unit_ids(),
        by("agentId"),
        by("state"),
        by("breakName"),
        only("agentId") as Option<Vec<String>>,
        only("state") as Option<Vec<String>>,
        only("breakName") as Option<Vec<String>>,
    )
    .fetch_all(exec::pool(pool))
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let values = [
                ("agentId", r.agent_id),
                ("state", r.state),
                ("breakName", r.break_name),
            ];
            sibling_row(q, r.bucket, values, r.name, r.count, [r.sum, r.min, r.max])
        })
        .collect())
}

/// A sibling's result row: the grouped dimensions of `values`, and the stats.
fn sibling_row<const N: usize>(
    q: &SiblingQuery,
    bucket: i32,
    values: [(&'static str, Option<String>); N],
    metric: String,
    count: i64,
    [sum, min, max]: [Option<i64>; 3],
) -> SiblingRow {
    SiblingRow {
        bucket: bucket_index(bucket),
        group: values
            .into_iter()
            .filter(|(d, _)| q.group_by.contains(d))
            .collect(),
        metric,
        count,
        sum,
        min,
        max,
    }
}
