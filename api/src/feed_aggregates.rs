//! The siblings of `conversationAggregates` over the rest of the model: `workitemAggregates`,
//! `flowAggregates`, `campaignRecordAggregates` and `agentStateAggregates`. The same arguments,
//! time buckets, checks and response shape (Genesys' `results { group data { interval metrics {
//! metric stats } } }`), each with its own metrics and dimensions, listed with their definitions
//! by `workitemAggregateMetrics`, `flowAggregateMetrics`, `campaignRecordAggregateMetrics` and
//! `agentStateAggregateMetrics`.
//!
//! The response types are those of `crate::aggregates`: a dashboard's selection reads every
//! aggregate alike.

use async_graphql::{Context, ErrorExtensions as _, InputObject, Object, Result};
use db::aggregate::{SiblingQuery, SiblingRow, sibling_aggregates};
use domain::aggregate::{Granularity, Sibling, buckets};
use std::collections::BTreeMap;

use crate::aggregates::{AggregateResult, MetricDefinition, shape, summary};
use crate::context::{parse_interval, request};
use crate::error::ApiError;

#[derive(Default)]
pub struct FeedAggregateQuery;

#[Object]
impl FeedAggregateQuery {
    /// Workitems (the Buzzeasy feed's agent tasks) aggregated per time bucket and group, within
    /// your business units (a workitem is seen by its own business unit), shaped like Genesys'
    /// aggregates response. A workitem counts in the bucket of its start time; `t` metrics are
    /// milliseconds (converted from the feed's seconds). `workitemAggregateMetrics` defines
    /// each metric.
    #[allow(clippy::too_many_arguments)]
    async fn workitem_aggregates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "ISO-8601 `start/end`: workitems that start in it count.")]
        interval: String,
        #[graphql(
            desc = "Bucket length, ISO-8601: PT15M, PT30M, PT1H, P1D, P7D (weeks start on \
                    Monday), P1M. Without it, one bucket: the interval."
        )]
        granularity: Option<String>,
        #[graphql(desc = "IANA time zone the buckets align in (default UTC), e.g. \
                          Europe/Berlin: a P1D bucket is a day on that zone's clock.")]
        time_zone: Option<String>,
        #[graphql(
            desc = "Dimensions to group by: agentId, queueId, mediaType, businessUnitId, result."
        )]
        group_by: Option<Vec<String>>,
        filter: Option<WorkitemAggregateFilterInput>,
        #[graphql(
            desc = "Metric names: nWorkitems, nHandled, nMissed, nRejected, nAbandoned, \
                          nCancelled, tActive, tPreview, tWrapUp, tHandle, tLookup \
                          (`workitemAggregateMetrics` defines them)."
        )]
        metrics: Vec<String>,
    ) -> Result<Vec<AggregateResult>> {
        let args = Args {
            interval,
            granularity,
            time_zone,
            group_by,
            metrics,
        };
        let filter = filter.unwrap_or_default().lists();
        aggregate(ctx, Sibling::Workitems, args, filter).await
    }

    /// Genesys flow metric records aggregated per time bucket and group, within your scope (a
    /// record is seen by its own divisions, or with its conversation), shaped like Genesys'
    /// aggregates response. A record counts in the bucket of its `metricDate`, with its value
    /// as sent (`t` metrics are milliseconds). `flowAggregateMetrics` defines each metric.
    #[allow(clippy::too_many_arguments)]
    async fn flow_aggregates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "ISO-8601 `start/end`: records whose metricDate is in it count.")]
        interval: String,
        #[graphql(
            desc = "Bucket length, ISO-8601: PT15M, PT30M, PT1H, P1D, P7D (weeks start on \
                    Monday), P1M. Without it, one bucket: the interval."
        )]
        granularity: Option<String>,
        #[graphql(desc = "IANA time zone the buckets align in (default UTC), e.g. \
                          Europe/Berlin: a P1D bucket is a day on that zone's clock.")]
        time_zone: Option<String>,
        #[graphql(
            desc = "Dimensions to group by: flowId, flowName, flowType, flowVersion, entryType, \
                    entryReason, exitReason, flowOutType, transferType, mediaType, direction, \
                    originatingDirection, queueId, divisionId (a record in several divisions \
                    counts in each of their groups)."
        )]
        group_by: Option<Vec<String>>,
        filter: Option<FlowAggregateFilterInput>,
        #[graphql(
            desc = "Metric names as the records carry them: nFlow, nFlowMilestone, \
                          nFlowOutcome, nFlowOutcomeFailed, oFlowMilestone, tFlow, \
                          tFlowDisconnect, tFlowExit, tFlowOut, tFlowOutcome \
                          (`flowAggregateMetrics` defines them)."
        )]
        metrics: Vec<String>,
    ) -> Result<Vec<AggregateResult>> {
        let args = Args {
            interval,
            granularity,
            time_zone,
            group_by,
            metrics,
        };
        let filter = filter.unwrap_or_default().lists();
        aggregate(ctx, Sibling::Flows, args, filter).await
    }

    /// Campaign records (the Buzzeasy feed's outbound campaign contacts) aggregated per time
    /// bucket and group, within your business units (a record is seen by its campaign's
    /// business unit), shaped like Genesys' aggregates response. A record counts in the bucket
    /// of its creation time; `t` metrics are milliseconds (converted from the feed's seconds).
    /// `campaignRecordAggregateMetrics` defines each metric.
    #[allow(clippy::too_many_arguments)]
    async fn campaign_record_aggregates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "ISO-8601 `start/end`: records created in it count.")] interval: String,
        #[graphql(
            desc = "Bucket length, ISO-8601: PT15M, PT30M, PT1H, P1D, P7D (weeks start on \
                    Monday), P1M. Without it, one bucket: the interval."
        )]
        granularity: Option<String>,
        #[graphql(desc = "IANA time zone the buckets align in (default UTC), e.g. \
                          Europe/Berlin: a P1D bucket is a day on that zone's clock.")]
        time_zone: Option<String>,
        #[graphql(desc = "Dimensions to group by: campaignId, status.")] group_by: Option<
            Vec<String>,
        >,
        filter: Option<CampaignRecordAggregateFilterInput>,
        #[graphql(desc = "Metric names: nRecords, tCustomerRing, tTalk \
                          (`campaignRecordAggregateMetrics` defines them).")]
        metrics: Vec<String>,
    ) -> Result<Vec<AggregateResult>> {
        let args = Args {
            interval,
            granularity,
            time_zone,
            group_by,
            metrics,
        };
        let filter = filter.unwrap_or_default().lists();
        aggregate(ctx, Sibling::CampaignRecords, args, filter).await
    }

    /// Agent states (the Buzzeasy feed's Idle, Busy, Break, Logged out, …) aggregated per time
    /// bucket and group, within your business units (an agent's states are seen by the
    /// business units the agent has been assigned to), shaped like Genesys' aggregates
    /// response. A state counts in the bucket where it starts, with its whole duration; `t`
    /// metrics are milliseconds (converted from the feed's seconds).
    /// `agentStateAggregateMetrics` defines each metric.
    #[allow(clippy::too_many_arguments)]
    async fn agent_state_aggregates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "ISO-8601 `start/end`: states that start in it count.")] interval: String,
        #[graphql(
            desc = "Bucket length, ISO-8601: PT15M, PT30M, PT1H, P1D, P7D (weeks start on \
                    Monday), P1M. Without it, one bucket: the interval."
        )]
        granularity: Option<String>,
        #[graphql(desc = "IANA time zone the buckets align in (default UTC), e.g. \
                          Europe/Berlin: a P1D bucket is a day on that zone's clock.")]
        time_zone: Option<String>,
        #[graphql(desc = "Dimensions to group by: agentId, state, breakName.")] group_by: Option<
            Vec<String>,
        >,
        filter: Option<AgentStateAggregateFilterInput>,
        #[graphql(desc = "Metric names: nStates, tState \
                          (`agentStateAggregateMetrics` defines them).")]
        metrics: Vec<String>,
    ) -> Result<Vec<AggregateResult>> {
        let args = Args {
            interval,
            granularity,
            time_zone,
            group_by,
            metrics,
        };
        let filter = filter.unwrap_or_default().lists();
        aggregate(ctx, Sibling::AgentStates, args, filter).await
    }

    /// Every metric `workitemAggregates` knows, with its definition.
    async fn workitem_aggregate_metrics(&self) -> Vec<MetricDefinition> {
        definitions(Sibling::Workitems)
    }

    /// Every metric `flowAggregates` knows, with its definition.
    async fn flow_aggregate_metrics(&self) -> Vec<MetricDefinition> {
        definitions(Sibling::Flows)
    }

    /// Every metric `campaignRecordAggregates` knows, with its definition.
    async fn campaign_record_aggregate_metrics(&self) -> Vec<MetricDefinition> {
        definitions(Sibling::CampaignRecords)
    }

    /// Every metric `agentStateAggregates` knows, with its definition.
    async fn agent_state_aggregate_metrics(&self) -> Vec<MetricDefinition> {
        definitions(Sibling::AgentStates)
    }
}

fn definitions(sibling: Sibling) -> Vec<MetricDefinition> {
    sibling
        .metrics()
        .iter()
        .map(|m| MetricDefinition {
            name: m.name,
            description: m.description,
        })
        .collect()
}

/// Only workitems with these values count: each list is "one of", the lists combine with "and".
#[derive(InputObject, Default)]
pub struct WorkitemAggregateFilterInput {
    agent_ids: Option<Vec<String>>,
    queue_ids: Option<Vec<String>>,
    media_types: Option<Vec<String>>,
    business_unit_ids: Option<Vec<String>>,
    /// Results as the feed spells them: Handled, Missed, Cancelled, Abandoned, Rejected.
    results: Option<Vec<String>>,
}

impl WorkitemAggregateFilterInput {
    fn lists(self) -> Lists {
        vec![
            ("agentId", self.agent_ids),
            ("queueId", self.queue_ids),
            ("mediaType", self.media_types),
            ("businessUnitId", self.business_unit_ids),
            ("result", self.results),
        ]
    }
}

/// Only flow metric records with these values count: each list is "one of", the lists combine
/// with "and".
#[derive(InputObject, Default)]
pub struct FlowAggregateFilterInput {
    flow_ids: Option<Vec<String>>,
    flow_names: Option<Vec<String>>,
    flow_types: Option<Vec<String>>,
    flow_versions: Option<Vec<String>>,
    entry_types: Option<Vec<String>>,
    entry_reasons: Option<Vec<String>>,
    exit_reasons: Option<Vec<String>>,
    flow_out_types: Option<Vec<String>>,
    transfer_types: Option<Vec<String>>,
    media_types: Option<Vec<String>>,
    directions: Option<Vec<String>>,
    originating_directions: Option<Vec<String>>,
    queue_ids: Option<Vec<String>>,
    /// Records in at least one of these divisions (a record counts once however many match).
    division_ids: Option<Vec<String>>,
}

impl FlowAggregateFilterInput {
    fn lists(self) -> Lists {
        vec![
            ("flowId", self.flow_ids),
            ("flowName", self.flow_names),
            ("flowType", self.flow_types),
            ("flowVersion", self.flow_versions),
            ("entryType", self.entry_types),
            ("entryReason", self.entry_reasons),
            ("exitReason", self.exit_reasons),
            ("flowOutType", self.flow_out_types),
            ("transferType", self.transfer_types),
            ("mediaType", self.media_types),
            ("direction", self.directions),
            ("originatingDirection", self.originating_directions),
            ("queueId", self.queue_ids),
            ("divisionId", self.division_ids),
        ]
    }
}

/// Only campaign records with these values count: each list is "one of", the lists combine
/// with "and".
#[derive(InputObject, Default)]
pub struct CampaignRecordAggregateFilterInput {
    campaign_ids: Option<Vec<String>>,
    statuses: Option<Vec<String>>,
}

impl CampaignRecordAggregateFilterInput {
    fn lists(self) -> Lists {
        vec![("campaignId", self.campaign_ids), ("status", self.statuses)]
    }
}

/// Only agent states with these values count: each list is "one of", the lists combine with
/// "and".
#[derive(InputObject, Default)]
pub struct AgentStateAggregateFilterInput {
    agent_ids: Option<Vec<String>>,
    /// States as the feed spells them: Idle, Busy, Break, Logged out, …
    states: Option<Vec<String>>,
    break_names: Option<Vec<String>>,
}

impl AgentStateAggregateFilterInput {
    fn lists(self) -> Lists {
        vec![
            ("agentId", self.agent_ids),
            ("state", self.states),
            ("breakName", self.break_names),
        ]
    }
}

/// A filter as (dimension, values) pairs; `None` where the filter leaves it open.
type Lists = Vec<(&'static str, Option<Vec<String>>)>;

/// The arguments every sibling takes, besides its filter.
struct Args {
    interval: String,
    granularity: Option<String>,
    time_zone: Option<String>,
    group_by: Option<Vec<String>>,
    metrics: Vec<String>,
}

async fn aggregate(
    ctx: &Context<'_>,
    sibling: Sibling,
    args: Args,
    filter: Lists,
) -> Result<Vec<AggregateResult>> {
    let (pool, caller) = request(ctx)?;
    let plan = Plan::new(sibling, args, filter).map_err(|e| e.extend())?;
    let rows = sibling_aggregates(pool, &caller.scope, sibling, &plan.query)
        .await
        .map_err(ApiError::db)?;
    Ok(plan.results(rows))
}

/// A checked request: the SQL query and what to make of its rows.
struct Plan {
    query: SiblingQuery,
    /// The metrics asked for, in the order asked.
    wanted: Vec<String>,
}

impl Plan {
    /// Checks the arguments in the order and with the messages of `conversationAggregates`;
    /// unknown metrics and dimensions name the sibling's known ones.
    fn new(sibling: Sibling, args: Args, filter: Lists) -> Result<Self, ApiError> {
        let (from, to) = parse_interval(&args.interval)?;
        let granularity = args
            .granularity
            .as_deref()
            .map(Granularity::parse)
            .transpose()
            .map_err(ApiError::bad_input)?;
        let zone: chrono_tz::Tz = match args.time_zone.as_deref() {
            None => chrono_tz::UTC,
            Some(name) => name.parse().map_err(|_| {
                ApiError::bad_input(format!(
                    "timeZone {name:?} is not an IANA time zone (e.g. Europe/Berlin, UTC)"
                ))
            })?,
        };
        let boundaries = buckets(from, to, granularity, zone).map_err(ApiError::bad_input)?;
        let mut group_by = Vec::new();
        for name in args.group_by.unwrap_or_default() {
            let d = sibling
                .dimension(&name)
                .map_err(|e| ApiError::bad_input(format!("groupBy: {e}")))?;
            if !group_by.contains(&d) {
                group_by.push(d);
            }
        }
        if args.metrics.is_empty() {
            return Err(ApiError::bad_input(format!(
                "metrics is empty: name at least one (see {})",
                sibling.listing()
            )));
        }
        let mut wanted = Vec::new();
        for name in args.metrics {
            sibling
                .metric(&name)
                .map_err(|e| ApiError::bad_input(format!("metrics: {e}")))?;
            if !wanted.contains(&name) {
                wanted.push(name);
            }
        }
        let mut lists = BTreeMap::new();
        for (dimension, values) in filter {
            match values {
                Some(v) if v.is_empty() => {
                    return Err(ApiError::bad_input(format!(
                        "filter: the list for {dimension} is empty: name at least one value, or \
                         leave it out"
                    )));
                }
                Some(v) => {
                    lists.insert(dimension, v);
                }
                None => {}
            }
        }
        Ok(Plan {
            query: SiblingQuery {
                boundaries,
                from,
                to,
                metrics: wanted.clone(),
                group_by,
                filter: lists,
            },
            wanted,
        })
    }

    fn results(&self, rows: Vec<SiblingRow>) -> Vec<AggregateResult> {
        shape(
            &self.query.group_by,
            |d| d,
            &self.wanted,
            &self.query.boundaries,
            rows,
            |name, cell| cell.get(name).map(summary),
        )
    }
}
