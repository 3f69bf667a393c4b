//! The roots of the Buzzeasy feed and the flow metrics: `workitem(id:)`, `workitems`,
//! `evaluations`, `campaign(id:)`, `campaigns`, `campaignRecords`, `flowMetrics`, and the lookups
//! `queues`, `channels`, `users`, `agents`, `businessUnits`, `botSteps`, `divisions`: Relay
//! connections with keyset cursors, `first` / `after`. Each answers with one pushed-down
//! statement ([`crate::objects`]).

use async_graphql::{Context, ErrorExtensions as _, InputObject, Object, Result};
use chrono::{DateTime, Utc};
use db::select::{
    CampaignRecordFilter, EvaluationFilter, FlowMetricFilter, List, Lookup, Walk, WorkitemFilter,
};

use crate::context::parse_interval;
use crate::error::ApiError;
use crate::objects::*;

const DEFAULT_PAGE: i32 = 25;

/// How a request walks a list forwards: `first` rows after the cursor `after` (of `list`).
fn walk(ctx: &Context<'_>, list: &List, first: Option<i32>, after: Option<&str>) -> Result<Walk> {
    let size = size(ctx, first)?;
    let cursor = after
        .map(|c| crate::select::decode_keyset(list.order(), c).map_err(|e| e.extend()))
        .transpose()?;
    Ok(Walk {
        size: size as i64,
        cursor,
        backward: false,
        descending: false,
    })
}

/// The page size asked for, within the configured maximum.
fn size(ctx: &Context<'_>, first: Option<i32>) -> Result<usize> {
    let max = ctx
        .data_opt::<crate::Limits>()
        .map_or(crate::Limits::DEFAULT_MAX_PAGE_SIZE, |l| l.max_page_size);
    let first = first.unwrap_or(DEFAULT_PAGE);
    match usize::try_from(first) {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(
            ApiError::bad_input(format!("first must be between 1 and {max}, not {first}")).extend(),
        ),
    }
}

/// From and before: an interval's bounds, or none.
type Bounds = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// The bounds of an optional ISO-8601 `start/end` interval.
fn bounds(interval: Option<&str>) -> Result<Bounds> {
    match interval {
        Some(i) => {
            let (a, b) = parse_interval(i).map_err(|e| e.extend())?;
            Ok((Some(a), Some(b)))
        }
        None => Ok((None, None)),
    }
}

/// A page of `list`.
fn page<S: Shape>(
    ctx: &Context<'_>,
    list: List,
    first: Option<i32>,
    after: Option<String>,
) -> Result<Page<S>> {
    let walk = walk(ctx, &list, first, after.as_deref())?;
    Ok(Page::new(list, walk))
}

/// A page of a lookup in id order, deleted rows only when asked for.
fn lookup<S: Shape>(
    ctx: &Context<'_>,
    lookup: Lookup,
    first: Option<i32>,
    after: Option<String>,
    include_deleted: Option<bool>,
) -> Result<Page<S>> {
    let list = List::Lookup {
        lookup,
        include_deleted: include_deleted.unwrap_or(false),
    };
    page(ctx, list, first, after)
}

/// Which workitems to list.
#[derive(InputObject, Default)]
pub struct WorkitemFilterInput {
    /// ISO-8601 `start/end`: workitems created inside it.
    pub interval: Option<String>,
    pub agent_ids: Option<Vec<String>>,
    pub queue_ids: Option<Vec<String>>,
    pub business_unit_ids: Option<Vec<String>>,
    /// `voice`, `webchat`, `email`, … as the source spells them.
    pub media_types: Option<Vec<String>>,
    /// `Handled`, `Missed`, `Cancelled`, `Abandoned`, `Rejected`.
    pub results: Option<Vec<String>>,
}

/// Which campaign records to list.
#[derive(InputObject, Default)]
pub struct CampaignRecordFilterInput {
    pub campaign_ids: Option<Vec<String>>,
    pub statuses: Option<Vec<String>>,
    /// ISO-8601 `start/end`: records created inside it.
    pub interval: Option<String>,
}

/// Which flow metric records to list.
#[derive(InputObject, Default)]
pub struct FlowMetricFilterInput {
    /// ISO-8601 `start/end`: records whose `metricDate` is inside it.
    pub interval: Option<String>,
    /// Metric names: `tFlow`, `tFlowOutcome`, `nFlow`, …
    pub metrics: Option<Vec<String>>,
    pub flow_ids: Option<Vec<String>>,
    pub conversation_ids: Option<Vec<String>>,
}

/// The Buzzeasy roots.
#[derive(Default)]
pub struct FeedQuery;

#[Object]
impl FeedQuery {
    /// A workitem by id; null when it does not exist or is outside your scope.
    async fn workitem(&self, id: async_graphql::ID) -> Result<Option<Object<WorkitemShape>>> {
        Ok(Some(Object::new(id.0)))
    }

    /// Workitems in your scope that match `filter`, oldest first.
    #[graphql(complexity = "crate::limits::page_complexity(first, DEFAULT_PAGE, child_complexity)")]
    async fn workitems(
        &self,
        ctx: &Context<'_>,
        filter: Option<WorkitemFilterInput>,
        #[graphql(desc = "Page size (default 25; at most 500 unless configured otherwise).")] first: Option<i32>,
        #[graphql(desc = "Start after this cursor (an `endCursor` or edge cursor).")] after: Option<
            String,
        >,
    ) -> Result<Page<WorkitemConnectionShape>> {
        let f = filter.unwrap_or_default();
        let (start_from, start_before) = bounds(f.interval.as_deref())?;
        let filter = WorkitemFilter {
            start_from,
            start_before,
            agent_ids: f.agent_ids,
            queue_ids: f.queue_ids,
            business_unit_ids: f.business_unit_ids,
            media_types: f.media_types,
            results: f.results,
        };
        page(ctx, List::Workitems(filter), first, after)
    }

    /// A campaign by id; null when it does not exist or is outside your scope.
    async fn campaign(&self, id: async_graphql::ID) -> Result<Option<Object<CampaignShape>>> {
        Ok(Some(Object::new(id.0)))
    }

    /// Campaigns in your scope, by id.
    #[graphql(complexity = "crate::limits::page_complexity(first, DEFAULT_PAGE, child_complexity)")]
    async fn campaigns(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        #[graphql(desc = "Include campaigns marked deleted (default false).")]
        include_deleted: Option<bool>,
    ) -> Result<Page<CampaignConnectionShape>> {
        lookup(ctx, Lookup::Campaigns, first, after, include_deleted)
    }

    /// Campaign records in your scope that match `filter`, by id.
    #[graphql(complexity = "crate::limits::page_complexity(first, DEFAULT_PAGE, child_complexity)")]
    async fn campaign_records(
        &self,
        ctx: &Context<'_>,
        filter: Option<CampaignRecordFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<CampaignRecordConnectionShape>> {
        let f = filter.unwrap_or_default();
        let (created_from, created_before) = bounds(f.interval.as_deref())?;
        let filter = CampaignRecordFilter {
            campaign_ids: f.campaign_ids,
            statuses: f.statuses,
            created_from,
            created_before,
        };
        page(ctx, List::CampaignRecords(filter), first, after)
    }

    /// Queues in your scope (by their channel's business unit), by id.
    #[graphql(complexity = "crate::limits::page_complexity(first, DEFAULT_PAGE, child_complexity)")]
    async fn queues(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        include_deleted: Option<bool>,
    ) -> Result<Page<QueueConnectionShape>> {
        lookup(ctx, Lookup::Queues, first, after, include_deleted)
    }

    /// Channels in your scope (by their business unit), by id.
    #[graphql(complexity = "crate::limits::page_complexity(first, DEFAULT_PAGE, child_complexity)")]
    async fn channels(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        include_deleted: Option<bool>,
    ) -> Result<Page<ChannelConnectionShape>> {
        lookup(ctx, Lookup::Channels, first, after, include_deleted)
    }

    /// Users assigned to a business unit in your scope (at any time), by id.
    #[graphql(complexity = "crate::limits::page_complexity(first, DEFAULT_PAGE, child_complexity)")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        include_deleted: Option<bool>,
    ) -> Result<Page<UserConnectionShape>> {
        lookup(ctx, Lookup::Users, first, after, include_deleted)
    }

    /// Agents assigned to a business unit in your scope (at any time), by id.
    #[graphql(complexity = "crate::limits::page_complexity(first, DEFAULT_PAGE, child_complexity)")]
    async fn agents(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        include_deleted: Option<bool>,
    ) -> Result<Page<AgentConnectionShape>> {
        lookup(ctx, Lookup::Agents, first, after, include_deleted)
    }

    /// The business units in your scope, by id.
    #[graphql(complexity = "crate::limits::page_complexity(first, DEFAULT_PAGE, child_complexity)")]
    async fn business_units(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        include_deleted: Option<bool>,
    ) -> Result<Page<BusinessUnitConnectionShape>> {
        lookup(ctx, Lookup::BusinessUnits, first, after, include_deleted)
    }

    /// Bot steps that conversations in your scope went through, by id.
    #[graphql(complexity = "crate::limits::page_complexity(first, DEFAULT_PAGE, child_complexity)")]
    async fn bot_steps(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        include_deleted: Option<bool>,
    ) -> Result<Page<BotStepConnectionShape>> {
        lookup(ctx, Lookup::BotSteps, first, after, include_deleted)
    }

    /// Flow metric records in your scope (by their divisions, or their conversation) that match
    /// `filter`, in `metricDate` order.
    #[graphql(complexity = "crate::limits::page_complexity(first, DEFAULT_PAGE, child_complexity)")]
    async fn flow_metrics(
        &self,
        ctx: &Context<'_>,
        filter: Option<FlowMetricFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<FlowMetricConnectionShape>> {
        let f = filter.unwrap_or_default();
        let (from, before) = bounds(f.interval.as_deref())?;
        let filter = FlowMetricFilter {
            from,
            before,
            metrics: f.metrics,
            flow_ids: f.flow_ids,
            conversation_ids: f.conversation_ids,
        };
        page(ctx, List::FlowMetrics(filter), first, after)
    }

    /// Quality evaluations of workitems in your scope, in the order they started: those started
    /// inside `interval` (ISO-8601 `start/end`) and by `evaluatorIds` when given. A Genesys
    /// conversation's own evaluations are on `Conversation.evaluations`.
    #[graphql(complexity = "crate::limits::page_complexity(first, DEFAULT_PAGE, child_complexity)")]
    async fn evaluations(
        &self,
        ctx: &Context<'_>,
        interval: Option<String>,
        evaluator_ids: Option<Vec<String>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<WorkitemEvaluationConnectionShape>> {
        let (from, before) = bounds(interval.as_deref())?;
        let filter = EvaluationFilter {
            from,
            before,
            evaluator_ids,
        };
        page(ctx, List::Evaluations(filter), first, after)
    }

    /// The Genesys divisions in your scope, by id.
    #[graphql(complexity = "crate::limits::page_complexity(first, DEFAULT_PAGE, child_complexity)")]
    async fn divisions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<DivisionConnectionShape>> {
        page(ctx, List::Divisions, first, after)
    }
}
