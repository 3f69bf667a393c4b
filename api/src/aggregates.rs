//! `conversationAggregates`: dashboard numbers (offered, answered, handle time, service level, …)
//! per time bucket and group, shaped like the Genesys conversation aggregates response
//! (`results { group data { interval metrics { metric stats { count sum min max … } } } }`).

use async_graphql::parser::types::SelectionSet;
use async_graphql::{
    Context, ErrorExtensions, InputObject, Json, Object, OutputType, QueryEnv, Result,
    SimpleObject, Value,
};
use chrono::{DateTime, SecondsFormat, Utc};
use db::aggregate::{AggregateQuery, AggregateRow, StatsRow, conversation_aggregates};
use domain::aggregate::{DERIVED_METRICS, Dimension, Granularity, STORED_METRICS, buckets, metric};
use std::collections::{BTreeMap, BTreeSet};

use crate::context::{parse_interval, request_primary};
use crate::error::ApiError;
use crate::plain::{self, Plain};

#[derive(Default)]
pub struct AggregateQueryRoot;

#[Object]
impl AggregateQueryRoot {
    /// Session metrics aggregated per time bucket and group, within your scope, as Genesys'
    /// `POST /api/v2/analytics/conversations/aggregates/query` answers: one result per group,
    /// each with the buckets that have data. A metric counts in the bucket its value was
    /// emitted in (a talk segment's `tTalk` when the segment ended, `nOffered` when the
    /// interaction entered the queue), and in the group of the session that emitted it.
    #[allow(clippy::too_many_arguments)]
    async fn conversation_aggregates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "ISO-8601 `start/end`: metrics emitted in it count.")] interval: String,
        #[graphql(
            desc = "Bucket length, ISO-8601: PT15M, PT30M, PT1H, P1D, P7D (weeks start on \
                    Monday), P1M. Without it, one bucket: the interval."
        )]
        granularity: Option<String>,
        #[graphql(desc = "IANA time zone the buckets align in (default UTC), e.g. \
                          Europe/Berlin: a P1D bucket is a day on that zone's clock.")]
        time_zone: Option<String>,
        #[graphql(
            desc = "Dimensions to group by: queueId, userId, mediaType, direction, \
                          originatingDirection, divisionId, businessUnitId, purpose, wrapUpCode, \
                          disconnectType, flowId, requestedRouting, usedRouting."
        )]
        group_by: Option<Vec<String>>,
        filter: Option<AggregateFilterInput>,
        #[graphql(desc = "Metric names, as Genesys spells them (nOffered, tHandle, \
                          oServiceLevel, …): `aggregateMetrics` lists them with their meaning.")]
        metrics: Vec<String>,
    ) -> Result<Vec<AggregateResult>> {
        let (pool, caller) = request_primary(ctx)?;
        let plan = Plan::new(
            &interval,
            granularity.as_deref(),
            time_zone.as_deref(),
            group_by.unwrap_or_default(),
            filter.unwrap_or_default(),
            metrics,
        )
        .map_err(|e| e.extend())?;
        let rows = conversation_aggregates(pool, &caller.scope, &plan.query)
            .await
            .map_err(ApiError::db)?;
        Ok(plan.results(rows))
    }

    /// Every metric `conversationAggregates` knows, with its definition.
    async fn aggregate_metrics(&self) -> Vec<MetricDefinition> {
        STORED_METRICS
            .iter()
            .chain(DERIVED_METRICS)
            .map(|m| MetricDefinition {
                name: m.name,
                description: m.description,
            })
            .collect()
    }
}

/// A metric and what it means.
#[derive(SimpleObject)]
pub struct MetricDefinition {
    /// The Genesys name.
    pub(crate) name: &'static str,
    /// What it counts or measures, and when it is emitted.
    pub(crate) description: &'static str,
}

/// Only facts with these values count: each list is "one of", the lists combine with "and".
#[derive(InputObject, Default, Debug)]
pub struct AggregateFilterInput {
    queue_ids: Option<Vec<String>>,
    user_ids: Option<Vec<String>>,
    media_types: Option<Vec<String>>,
    directions: Option<Vec<String>>,
    originating_directions: Option<Vec<String>>,
    division_ids: Option<Vec<String>>,
    business_unit_ids: Option<Vec<String>>,
    purposes: Option<Vec<String>>,
    wrap_up_codes: Option<Vec<String>>,
    disconnect_types: Option<Vec<String>>,
    flow_ids: Option<Vec<String>>,
    requested_routings: Option<Vec<String>>,
    used_routings: Option<Vec<String>>,
}

impl AggregateFilterInput {
    fn into_map(self) -> Result<BTreeMap<Dimension, Vec<String>>, ApiError> {
        use Dimension::*;
        let mut out = BTreeMap::new();
        for (dimension, values) in [
            (QueueId, self.queue_ids),
            (UserId, self.user_ids),
            (MediaType, self.media_types),
            (Direction, self.directions),
            (OriginatingDirection, self.originating_directions),
            (DivisionId, self.division_ids),
            (BusinessUnitId, self.business_unit_ids),
            (Purpose, self.purposes),
            (WrapUpCode, self.wrap_up_codes),
            (DisconnectType, self.disconnect_types),
            (FlowId, self.flow_ids),
            (RequestedRouting, self.requested_routings),
            (UsedRouting, self.used_routings),
        ] {
            match values {
                Some(v) if v.is_empty() => {
                    return Err(ApiError::bad_input(format!(
                        "filter: the list for {} is empty: name at least one value, or leave it out",
                        dimension.name()
                    )));
                }
                Some(v) => {
                    out.insert(dimension, v);
                }
                None => {}
            }
        }
        Ok(out)
    }
}

/// One group's buckets.
#[derive(SimpleObject)]
pub struct AggregateResult {
    /// The grouped dimensions and their values (`{"queueId": "…"}`; null when a fact had none).
    pub(crate) group: Json<BTreeMap<String, Option<String>>>,
    /// The buckets with data, in time order.
    pub(crate) data: Vec<AggregateInterval>,
}

/// One bucket of one group. Resolved in one pass ([`plain`]): an aggregate answers thousands.
pub struct AggregateInterval {
    pub(crate) interval: String,
    pub(crate) metrics: Vec<AggregateMetricData>,
}

/// One metric in one bucket, resolved in one pass.
pub struct AggregateMetricData {
    pub(crate) metric: String,
    pub(crate) stats: StatisticalSummary,
}

/// One bucket of one group.
#[derive(SimpleObject)]
#[graphql(name = "AggregateInterval")]
#[allow(
    dead_code,
    reason = "describes AggregateInterval in the schema; never built"
)]
struct AggregateIntervalType {
    /// The bucket, ISO-8601 `start/end` in UTC.
    interval: String,
    metrics: Vec<AggregateMetricData>,
}

/// One metric in one bucket.
#[derive(SimpleObject)]
#[graphql(name = "AggregateMetricData")]
#[allow(
    dead_code,
    reason = "describes AggregateMetricData in the schema; never built"
)]
struct AggregateMetricDataType {
    metric: String,
    stats: StatisticalSummary,
}

plain_output!(AggregateInterval, AggregateIntervalType);
plain_output!(AggregateMetricData, AggregateMetricDataType);

impl Plain for AggregateInterval {
    fn value(&self, env: &QueryEnv, set: &SelectionSet) -> Value {
        plain::object(
            env,
            set,
            &Self::type_name(),
            &mut |env, field| match field.name.node.as_str() {
                "interval" => Value::String(self.interval.clone()),
                "metrics" => plain::list(env, &field.selection_set.node, &self.metrics),
                _ => Value::Null,
            },
        )
    }
}

impl Plain for AggregateMetricData {
    fn value(&self, env: &QueryEnv, set: &SelectionSet) -> Value {
        plain::object(
            env,
            set,
            &Self::type_name(),
            &mut |env, field| match field.name.node.as_str() {
                "metric" => Value::String(self.metric.clone()),
                "stats" => self.stats.value(env, &field.selection_set.node),
                _ => Value::Null,
            },
        )
    }
}

/// The stats of a metric. `n` and `t` metrics have count, sum, min, max and mean (`t` metrics in
/// milliseconds); `o` ratios have numerator, denominator and ratio.
#[derive(SimpleObject, Default)]
pub struct StatisticalSummary {
    /// How many values were emitted.
    pub(crate) count: Option<i64>,
    pub(crate) sum: Option<f64>,
    pub(crate) min: Option<f64>,
    pub(crate) max: Option<f64>,
    /// sum / count.
    pub(crate) mean: Option<f64>,
    pub(crate) numerator: Option<f64>,
    pub(crate) denominator: Option<f64>,
    /// numerator / denominator.
    pub(crate) ratio: Option<f64>,
}

impl Plain for StatisticalSummary {
    fn value(&self, env: &QueryEnv, set: &SelectionSet) -> Value {
        plain::object(
            env,
            set,
            &Self::type_name(),
            &mut |_, field| match field.name.node.as_str() {
                "count" => plain::int(self.count),
                "sum" => plain::float(self.sum),
                "min" => plain::float(self.min),
                "max" => plain::float(self.max),
                "mean" => plain::float(self.mean),
                "numerator" => plain::float(self.numerator),
                "denominator" => plain::float(self.denominator),
                "ratio" => plain::float(self.ratio),
                _ => Value::Null,
            },
        )
    }
}

/// A checked request: the SQL query and what to make of its rows.
pub(crate) struct Plan {
    pub(crate) query: AggregateQuery,
    /// The metrics asked for, in the order asked.
    wanted: Vec<String>,
}

impl Plan {
    pub(crate) fn new(
        interval: &str,
        granularity: Option<&str>,
        time_zone: Option<&str>,
        group_by: Vec<String>,
        filter: AggregateFilterInput,
        metrics: Vec<String>,
    ) -> Result<Self, ApiError> {
        let (from, to) = parse_interval(interval)?;
        let granularity = granularity
            .map(Granularity::parse)
            .transpose()
            .map_err(ApiError::bad_input)?;
        let zone: chrono_tz::Tz = match time_zone {
            None => chrono_tz::UTC,
            Some(name) => name.parse().map_err(|_| {
                ApiError::bad_input(format!(
                    "timeZone {name:?} is not an IANA time zone (e.g. Europe/Berlin, UTC)"
                ))
            })?,
        };
        let boundaries = buckets(from, to, granularity, zone).map_err(ApiError::bad_input)?;
        let mut dimensions = Vec::new();
        for name in &group_by {
            let d =
                Dimension::parse(name).map_err(|e| ApiError::bad_input(format!("groupBy: {e}")))?;
            if !dimensions.contains(&d) {
                dimensions.push(d);
            }
        }
        if metrics.is_empty() {
            return Err(ApiError::bad_input(
                "metrics is empty: name at least one (see aggregateMetrics)",
            ));
        }
        let mut wanted = Vec::new();
        let mut stored = BTreeSet::new();
        for name in metrics {
            let m = metric(&name).map_err(|e| ApiError::bad_input(format!("metrics: {e}")))?;
            if m.name == "oServiceLevel" {
                stored.extend(SERVICE_LEVEL_INPUTS.map(str::to_owned));
            } else {
                stored.insert(name.clone());
            }
            if !wanted.contains(&name) {
                wanted.push(name);
            }
        }
        Ok(Plan {
            query: AggregateQuery {
                boundaries,
                from: Some(from),
                to: Some(to),
                metrics: stored.into_iter().collect(),
                group_by: dimensions,
                filter: filter.into_map()?,
            },
            wanted,
        })
    }

    pub(crate) fn results(&self, rows: Vec<AggregateRow>) -> Vec<AggregateResult> {
        shape(
            &self.query.group_by,
            |d| d.name(),
            &self.wanted,
            &self.query.boundaries,
            rows,
            |name, cell| {
                if name == "oServiceLevel" {
                    service_level(cell)
                } else {
                    cell.get(name).map(summary)
                }
            },
        )
    }
}

/// What oServiceLevel is computed from.
const SERVICE_LEVEL_INPUTS: [&str; 3] = ["tAnswered", "nOverSla", "tAbandon"];

fn utc(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The rows of one bucket and group, by metric name.
pub(crate) type Cell<D> = BTreeMap<String, StatsRow<D>>;

/// The rows as Genesys answers: one result per group (keyed in `group_by`'s order, each named
/// by `name`), its buckets in time order, each bucket's metrics in the order `wanted` asks,
/// each computed from the bucket's cell by `stats` (none: the metric is left out there).
pub(crate) fn shape<D: Ord + Copy>(
    group_by: &[D],
    name: impl Fn(D) -> &'static str,
    wanted: &[String],
    boundaries: &[DateTime<Utc>],
    rows: Vec<StatsRow<D>>,
    stats: impl Fn(&str, &Cell<D>) -> Option<StatisticalSummary>,
) -> Vec<AggregateResult> {
    let mut groups: BTreeMap<Vec<Option<String>>, BTreeMap<usize, Cell<D>>> = BTreeMap::new();
    for row in rows {
        let key = group_by
            .iter()
            .map(|d| row.group.get(d).cloned().flatten())
            .collect();
        groups
            .entry(key)
            .or_default()
            .entry(row.bucket)
            .or_default()
            .insert(row.metric.clone(), row);
    }
    let interval = |bucket: usize| {
        let at = |i: usize| boundaries.get(i).map(utc).unwrap_or_default();
        format!("{}/{}", at(bucket), at(bucket + 1))
    };
    groups
        .into_iter()
        .map(|(key, buckets)| AggregateResult {
            group: Json(
                group_by
                    .iter()
                    .map(|d| name(*d).to_owned())
                    .zip(key)
                    .collect(),
            ),
            data: buckets
                .into_iter()
                .filter_map(|(bucket, cell)| {
                    let metrics: Vec<AggregateMetricData> = wanted
                        .iter()
                        .filter_map(|metric| {
                            Some(AggregateMetricData {
                                metric: metric.clone(),
                                stats: stats(metric, &cell)?,
                            })
                        })
                        .collect();
                    (!metrics.is_empty()).then(|| AggregateInterval {
                        interval: interval(bucket),
                        metrics,
                    })
                })
                .collect(),
        })
        .filter(|r| !r.data.is_empty())
        .collect()
}

/// Count, sum, min, max and mean of one metric in one bucket and group.
pub(crate) fn summary<D>(row: &StatsRow<D>) -> StatisticalSummary {
    let f = |v: Option<i64>| v.map(|v| v as f64);
    StatisticalSummary {
        count: Some(row.count),
        sum: f(row.sum),
        min: f(row.min),
        max: f(row.max),
        mean: row
            .sum
            .filter(|_| row.count > 0)
            .map(|s| s as f64 / row.count as f64),
        ..Default::default()
    }
}

/// Answered within target over answered plus abandoned, in one bucket and group.
fn service_level(cell: &Cell<Dimension>) -> Option<StatisticalSummary> {
    let n = |name: &str| cell.get(name).map_or(0, |r| r.count);
    let answered = n("tAnswered");
    let denominator = answered + n("tAbandon");
    if denominator == 0 {
        return None;
    }
    let numerator = (answered - n("nOverSla")).max(0);
    Some(StatisticalSummary {
        numerator: Some(numerator as f64),
        denominator: Some(denominator as f64),
        ratio: Some(numerator as f64 / denominator as f64),
        ..Default::default()
    })
}
