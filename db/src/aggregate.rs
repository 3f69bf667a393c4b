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
            AggregateRow {
                // width_bucket counts from 1 for the first bucket.
                bucket: (r.bucket.max(1) - 1) as usize,
                group: values.into_iter().filter(|(d, _)| by(*d)).collect(),
                metric: r.name,
                count: r.count,
                sum: r.sum,
                min: r.min,
                max: r.max,
            }
        })
        .collect())
}
