//! Conversation aggregates: count, sum, min and max of session metrics per time bucket and
//! group, from `metric_facts`, within the caller's scope. One statement whatever the grouping:
//! a dimension not grouped by is null in every row, so it does not split the groups.

use chrono::{DateTime, Utc};
use domain::Scope;
use domain::aggregate::Dimension;
use sqlx::PgPool;
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

/// The stats of one metric in one bucket and group.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateRow {
    /// Index of the bucket: `[boundaries[bucket], boundaries[bucket + 1])`.
    pub bucket: usize,
    /// The grouped dimensions' values (absent when the fact has none).
    pub group: BTreeMap<Dimension, Option<String>>,
    pub metric: String,
    pub count: i64,
    pub sum: Option<i64>,
    pub min: Option<i64>,
    pub max: Option<i64>,
}

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
        from_rollup(pool, scope, q, from, to).await
    } else {
        from_facts(pool, scope, q, from, to).await
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
    .fetch_one(pool)
    .await?;
    if !stale {
        return Ok(());
    }
    let mut tx = pool.begin().await?;
    // One recomputation at a time: the statement below then sees what an earlier one committed.
    sqlx::query!("select pg_advisory_xact_lock(hashtextextended('metric_rollup', 0))")
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        "with taken as (
             delete from metric_rollup_queue where bucket >= $1 and bucket < $2 returning bucket
         ), buckets as (
             select distinct bucket from taken
         ), gone as (
             delete from metric_rollup r using buckets b where r.bucket = b.bucket
         )
         insert into metric_rollup
         select b.bucket, f.name, f.queue_id, f.media_type, f.direction, f.purpose,
                f.originating_direction, f.division_ids, f.business_unit_id,
                count(*), sum(f.value), min(f.value), max(f.value)
         from buckets b
         join metric_facts f
           on f.emit_date >= b.bucket and f.emit_date < b.bucket + interval '15 minutes'
         group by 1, 2, 3, 4, 5, 6, 7, 8, 9",
        from,
        to
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

async fn from_rollup(
    pool: &PgPool,
    scope: &Scope,
    q: &AggregateQuery,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<AggregateRow>, sqlx::Error> {
    let by = |d: Dimension| q.group_by.contains(&d);
    let only = |d: Dimension| q.filter.get(&d).cloned();
    use Dimension::*;
    let rows = sqlx::query!(
        r#"select width_bucket(r.bucket, $1::timestamptz[]) as "bucket!",
                  case when $7 then r.queue_id end as queue_id,
                  case when $8 then r.media_type end as media_type,
                  case when $9 then r.direction end as direction,
                  case when $10 then r.originating_direction end as originating_direction,
                  case when $11 then d.division_id end as division_id,
                  case when $12 then r.business_unit_id end as business_unit_id,
                  case when $13 then r.purpose end as purpose,
                  r.name as "name!",
                  sum(r.n)::bigint as "count!",
                  sum(r.total)::bigint as sum, min(r.low) as min, max(r.high) as max
           from metric_rollup r
           left join lateral unnest(
               case when $11 or $18::text[] is not null then r.division_ids
                    else array[null::text] end
           ) d(division_id) on true
           where r.bucket >= $2 and r.bucket < $3 and r.name = any($4)
             and ($5 or r.division_ids && $6 or r.business_unit_id = any($19))
             and ($14::text[] is null or r.queue_id = any($14))
             and ($15::text[] is null or r.media_type = any($15))
             and ($16::text[] is null or r.direction = any($16))
             and ($17::text[] is null or r.originating_direction = any($17))
             and ($18::text[] is null or d.division_id = any($18))
             and ($20::text[] is null or r.business_unit_id = any($20))
             and ($21::text[] is null or r.purpose = any($21))
           group by 1, 2, 3, 4, 5, 6, 7, 8, 9
           order by 1, 9"#,
        &q.boundaries,
        from,
        to,
        &q.metrics,
        scope.is_all(),
        &scope.division_ids(),
        by(QueueId),
        by(MediaType),
        by(Direction),
        by(OriginatingDirection),
        by(DivisionId),
        by(BusinessUnitId),
        by(Purpose),
        only(QueueId) as Option<Vec<String>>,
        only(MediaType) as Option<Vec<String>>,
        only(Direction) as Option<Vec<String>>,
        only(OriginatingDirection) as Option<Vec<String>>,
        only(DivisionId) as Option<Vec<String>>,
        &scope.business_unit_ids(),
        only(BusinessUnitId) as Option<Vec<String>>,
        only(Purpose) as Option<Vec<String>>,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let values = [
                (QueueId, r.queue_id),
                (MediaType, r.media_type),
                (Direction, r.direction),
                (OriginatingDirection, r.originating_direction),
                (DivisionId, r.division_id),
                (BusinessUnitId, r.business_unit_id),
                (Purpose, r.purpose),
            ];
            aggregate_row(q, r.bucket, values, r.name, r.count, [r.sum, r.min, r.max])
        })
        .collect())
}

async fn from_facts(
    pool: &PgPool,
    scope: &Scope,
    q: &AggregateQuery,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<AggregateRow>, sqlx::Error> {
    let by = |d: Dimension| q.group_by.contains(&d);
    let only = |d: Dimension| q.filter.get(&d).cloned();
    use Dimension::*;
    let rows = sqlx::query!(
        r#"select width_bucket(f.emit_date, $1::timestamptz[]) as "bucket!",
                  case when $7 then f.queue_id end as queue_id,
                  case when $8 then f.user_id end as user_id,
                  case when $9 then f.media_type end as media_type,
                  case when $10 then f.direction end as direction,
                  case when $11 then f.originating_direction end as originating_direction,
                  case when $12 then d.division_id end as division_id,
                  case when $13 then f.business_unit_id end as business_unit_id,
                  case when $14 then f.purpose end as purpose,
                  case when $15 then f.wrap_up_code end as wrap_up_code,
                  case when $16 then f.disconnect_type end as disconnect_type,
                  case when $17 then f.flow_id end as flow_id,
                  case when $18 then f.requested_routing end as requested_routing,
                  case when $19 then f.used_routing end as used_routing,
                  f.name as "name!",
                  count(*) as "count!",
                  sum(f.value)::bigint as sum, min(f.value) as min, max(f.value) as max
           from metric_facts f
           left join lateral unnest(
               case when $12 or $25::text[] is not null then f.division_ids
                    else array[null::text] end
           ) d(division_id) on true
           where f.emit_date >= $2 and f.emit_date < $3 and f.name = any($4)
             and ($5 or f.division_ids && $6 or f.business_unit_id = any($26))
             and ($20::text[] is null or f.queue_id = any($20))
             and ($21::text[] is null or f.user_id = any($21))
             and ($22::text[] is null or f.media_type = any($22))
             and ($23::text[] is null or f.direction = any($23))
             and ($24::text[] is null or f.originating_direction = any($24))
             and ($25::text[] is null or d.division_id = any($25))
             and ($27::text[] is null or f.business_unit_id = any($27))
             and ($28::text[] is null or f.purpose = any($28))
             and ($29::text[] is null or f.wrap_up_code = any($29))
             and ($30::text[] is null or f.disconnect_type = any($30))
             and ($31::text[] is null or f.flow_id = any($31))
             and ($32::text[] is null or f.requested_routing = any($32))
             and ($33::text[] is null or f.used_routing = any($33))
           group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
           order by 1, 15"#,
        &q.boundaries,
        from,
        to,
        &q.metrics,
        scope.is_all(),
        &scope.division_ids(),
        by(QueueId),
        by(UserId),
        by(MediaType),
        by(Direction),
        by(OriginatingDirection),
        by(DivisionId),
        by(BusinessUnitId),
        by(Purpose),
        by(WrapUpCode),
        by(DisconnectType),
        by(FlowId),
        by(RequestedRouting),
        by(UsedRouting),
        only(QueueId) as Option<Vec<String>>,
        only(UserId) as Option<Vec<String>>,
        only(MediaType) as Option<Vec<String>>,
        only(Direction) as Option<Vec<String>>,
        only(OriginatingDirection) as Option<Vec<String>>,
        only(DivisionId) as Option<Vec<String>>,
        &scope.business_unit_ids(),
        only(BusinessUnitId) as Option<Vec<String>>,
        only(Purpose) as Option<Vec<String>>,
        only(WrapUpCode) as Option<Vec<String>>,
        only(DisconnectType) as Option<Vec<String>>,
        only(FlowId) as Option<Vec<String>>,
        only(RequestedRouting) as Option<Vec<String>>,
        only(UsedRouting) as Option<Vec<String>>,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let values = [
                (QueueId, r.queue_id),
                (UserId, r.user_id),
                (MediaType, r.media_type),
                (Direction, r.direction),
                (OriginatingDirection, r.originating_direction),
                (DivisionId, r.division_id),
                (BusinessUnitId, r.business_unit_id),
                (Purpose, r.purpose),
                (WrapUpCode, r.wrap_up_code),
                (DisconnectType, r.disconnect_type),
                (FlowId, r.flow_id),
                (RequestedRouting, r.requested_routing),
                (UsedRouting, r.used_routing),
            ];
            aggregate_row(q, r.bucket, values, r.name, r.count, [r.sum, r.min, r.max])
        })
        .collect())
}

/// A result row: the grouped dimensions of `values`, and the stats.
fn aggregate_row<const N: usize>(
    q: &AggregateQuery,
    bucket: i32,
    values: [(Dimension, Option<String>); N],
    metric: String,
    count: i64,
    [sum, min, max]: [Option<i64>; 3],
) -> AggregateRow {
    AggregateRow {
        // width_bucket counts from 1 for the first bucket.
        bucket: (bucket.max(1) - 1) as usize,
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
