//! The roots of the Buzzeasy feed and the flow metrics: `workitem(id:)`, `workitems`,
//! `evaluations`, `campaign(id:)`, `campaigns`, `campaignRecords`, `flowMetrics`, and the lookups
//! `queues`, `channels`, `users`, `agents`, `businessUnits`, `botSteps`, `divisions`: Relay
//! connections with keyset cursors, `first` / `after`.

pub mod loaders;
pub mod types;

use async_graphql::{Context, ErrorExtensions as _, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use db::feed::{self, CampaignRecordFilter, Lookup, WorkitemFilter};
use domain::Personal;
use domain::buzzeasy::*;
use serde::de::DeserializeOwned;

use crate::conversations::{PageInfo, parse_interval, request};
use crate::error::ApiError;
use crate::graph::Division;
use crate::loader::{Family, Member, visible};
pub use types::*;

const DEFAULT_PAGE: i32 = 25;

/// A page of a list being made: its items with their cursors, and where it stands.
pub struct Paged<T> {
    items: Vec<(String, T)>,
    page_info: PageInfo,
}

/// A connection type and its edge type, for one node type.
macro_rules! connection {
    ($(#[$meta:meta])* $conn:ident, $edge:ident, $node:ty) => {
        $(#[$meta])*
        #[derive(SimpleObject)]
        pub struct $conn {
            /// The page's items with their cursors.
            pub edges: Vec<$edge>,
            /// Where this page stands: pass `endCursor` as `after` for the next one.
            pub page_info: PageInfo,
        }

        /// An item of a page and its cursor.
        #[derive(SimpleObject)]
        pub struct $edge {
            /// Where this item stands in the list: pass it as `after`.
            pub cursor: String,
            pub node: $node,
        }

        impl From<Paged<$node>> for $conn {
            fn from(paged: Paged<$node>) -> Self {
                Self {
                    edges: paged
                        .items
                        .into_iter()
                        .map(|(cursor, node)| $edge { cursor, node })
                        .collect(),
                    page_info: paged.page_info,
                }
            }
        }
    };
}

connection!(
    /// A page of workitems.
    WorkitemConnection, WorkitemEdge, Workitem);
connection!(
    /// A page of campaigns.
    CampaignConnection, CampaignEdge, Campaign);
connection!(
    /// A page of campaign records.
    CampaignRecordConnection, CampaignRecordEdge, CampaignRecord);
connection!(
    /// A page of queues.
    QueueConnection, QueueEdge, Queue);
connection!(
    /// A page of channels.
    ChannelConnection, ChannelEdge, Channel);
connection!(
    /// A page of users.
    UserConnection, UserEdge, User);
connection!(
    /// A page of agents.
    AgentConnection, AgentEdge, Agent);
connection!(
    /// A page of business units.
    BusinessUnitConnection, BusinessUnitEdge, BusinessUnit);
connection!(
    /// A page of bot steps.
    BotStepConnection, BotStepEdge, BotStep);
connection!(
    /// A page of divisions.
    DivisionConnection, DivisionEdge, Division);
connection!(
    /// A page of workitem evaluations.
    WorkitemEvaluationConnection, WorkitemEvaluationEdge, WorkitemEvaluation);
connection!(
    /// A page of flow metric records.
    FlowMetricConnection, FlowMetricEdge, FlowMetric);

/// A page made of `rows` (one more than asked for when more follow), their cursors and nodes.
fn page<R, T>(
    mut rows: Vec<R>,
    size: usize,
    after: bool,
    cursor: impl Fn(&R) -> String,
    node: impl Fn(Member<R>) -> T,
) -> Paged<T>
where
    R: Send + Sync + 'static,
{
    let has_next_page = rows.len() > size;
    rows.truncate(size);
    let cursors: Vec<String> = rows.iter().map(&cursor).collect();
    let family = Family::new(rows);
    let items: Vec<(String, T)> = cursors
        .iter()
        .cloned()
        .zip(Member::all(&family).into_iter().map(node))
        .collect();
    Paged {
        page_info: PageInfo {
            has_next_page,
            has_previous_page: after,
            start_cursor: cursors.first().cloned(),
            end_cursor: cursors.last().cloned(),
        },
        items,
    }
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

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// A cursor of a list: the list's tag and the keyset, hex-encoded.
fn cursor(tag: &str, keyset: &str) -> String {
    hex(&format!("{tag}\n{keyset}"))
}

fn decode_cursor(tag: &str, cursor: &str) -> Result<String> {
    let bad =
        || ApiError::bad_input(format!("after: {cursor:?} is not a cursor of this list")).extend();
    if cursor.len() % 2 != 0 || cursor.len() > 4096 {
        return Err(bad());
    }
    let bytes: Option<Vec<u8>> = (0..cursor.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&cursor[i..i + 2], 16).ok())
        .collect();
    let text = bytes
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(bad)?;
    match text.split_once('\n') {
        Some((t, keyset)) if t == tag => Ok(keyset.to_owned()),
        _ => Err(bad()),
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

/// An `after` cursor of a list in time order: its time and the `ids` ids after it.
fn timed_cursor(
    tag: &str,
    cursor: Option<&str>,
    ids: usize,
) -> Result<Option<(DateTime<Utc>, Vec<String>)>> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    let bad =
        || ApiError::bad_input(format!("after: {cursor:?} is not a cursor of this list")).extend();
    let keyset = decode_cursor(tag, cursor)?;
    let mut parts = keyset.splitn(ids + 1, '\n');
    let time = parts.next().ok_or_else(bad)?;
    let time = domain::reader::parse_time(time).map_err(|_| bad())?;
    let rest: Vec<String> = parts.map(str::to_owned).collect();
    if rest.len() != ids {
        return Err(bad());
    }
    Ok(Some((time, rest)))
}

fn rows_of<R: DeserializeOwned + Personal>(
    personal: bool,
    values: Vec<serde_json::Value>,
) -> Result<Vec<R>> {
    let rows = values
        .into_iter()
        .map(serde_json::from_value)
        .collect::<Result<Vec<R>, _>>()
        .map_err(|e| ApiError::internal(e).extend())?;
    Ok(visible(personal, rows))
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

/// A lookup root: a page of the lookup in id order.
macro_rules! lookup_root {
    ($ctx:expr, $lookup:expr, $row:ty, $node:ident, $tag:literal, $id:ident, $first:expr, $after:expr, $deleted:expr) => {{
        let (pool, caller) = request($ctx)?;
        let size = size($ctx, $first)?;
        let after = $after
            .as_deref()
            .map(|c| decode_cursor($tag, c))
            .transpose()?;
        let values = feed::lookup_page(
            pool,
            &caller.scope,
            $lookup,
            after.as_deref(),
            size as i64 + 1,
            $deleted.unwrap_or(false),
        )
        .await
        .map_err(ApiError::db)?;
        let rows: Vec<$row> = rows_of(caller.may_read_personal(), values)?;
        Ok(page(rows, size, after.is_some(), |r| cursor($tag, &r.$id), $node).into())
    }};
}

/// The Buzzeasy roots.
#[derive(Default)]
pub struct FeedQuery;

#[Object]
impl FeedQuery {
    /// A workitem by id; null when it does not exist or is outside your scope.
    async fn workitem(&self, ctx: &Context<'_>, id: async_graphql::ID) -> Result<Option<Workitem>> {
        let (pool, caller) = request(ctx)?;
        let rows = feed::workitems_by_id(pool, &caller.scope, &[id.0])
            .await
            .map_err(ApiError::db)?;
        let rows = visible(caller.may_read_personal(), rows);
        Ok(Member::all(&Family::new(rows)).pop().map(Workitem))
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
    ) -> Result<WorkitemConnection> {
        let (pool, caller) = request(ctx)?;
        let size = size(ctx, first)?;
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
        let after = timed_cursor("w", after.as_deref(), 1)?
            .map(|(t, ids)| (t, ids.into_iter().collect::<String>()));
        let rows =
            feed::workitems_page(pool, &caller.scope, &filter, after.clone(), size as i64 + 1)
                .await
                .map_err(ApiError::db)?;
        let rows = visible(caller.may_read_personal(), rows);
        Ok(page(
            rows,
            size,
            after.is_some(),
            |w| {
                let time = w.start_time.map(|t| t.to_rfc3339()).unwrap_or_default();
                cursor("w", &format!("{time}\n{}", w.workitem_id))
            },
            Workitem,
        )
        .into())
    }

    /// A campaign by id; null when it does not exist or is outside your scope.
    async fn campaign(&self, ctx: &Context<'_>, id: async_graphql::ID) -> Result<Option<Campaign>> {
        let (pool, caller) = request(ctx)?;
        let rows = feed::campaigns_by_id(pool, &caller.scope, &[id.0])
            .await
            .map_err(ApiError::db)?;
        Ok(Member::all(&Family::new(rows)).pop().map(Campaign))
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
    ) -> Result<CampaignConnection> {
        lookup_root!(
            ctx,
            Lookup::Campaigns,
            CampaignRow,
            Campaign,
            "cp",
            campaign_id,
            first,
            after,
            include_deleted
        )
    }

    /// Campaign records in your scope that match `filter`, by id.
    #[graphql(complexity = "crate::limits::page_complexity(first, DEFAULT_PAGE, child_complexity)")]
    async fn campaign_records(
        &self,
        ctx: &Context<'_>,
        filter: Option<CampaignRecordFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<CampaignRecordConnection> {
        let (pool, caller) = request(ctx)?;
        let size = size(ctx, first)?;
        let f = filter.unwrap_or_default();
        let (created_from, created_before) = bounds(f.interval.as_deref())?;
        let filter = CampaignRecordFilter {
            campaign_ids: f.campaign_ids,
            statuses: f.statuses,
            created_from,
            created_before,
        };
        let after = after
            .as_deref()
            .map(|c| decode_cursor("r", c))
            .transpose()?;
        let rows = feed::campaign_records_page(
            pool,
            &caller.scope,
            &filter,
            after.as_deref(),
            size as i64 + 1,
        )
        .await
        .map_err(ApiError::db)?;
        let rows = visible(caller.may_read_personal(), rows);
        Ok(page(
            rows,
            size,
            after.is_some(),
            |r| cursor("r", &r.record_id),
            CampaignRecord,
        )
        .into())
    }

    /// Queues in your scope (by their channel's business unit), by id.
    #[graphql(complexity = "crate::limits::page_complexity(first, DEFAULT_PAGE, child_complexity)")]
    async fn queues(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        include_deleted: Option<bool>,
    ) -> Result<QueueConnection> {
        lookup_root!(
            ctx,
            Lookup::Queues,
            QueueRow,
            Queue,
            "q",
            queue_id,
            first,
            after,
            include_deleted
        )
    }

    /// Channels in your scope (by their business unit), by id.
    #[graphql(complexity = "crate::limits::page_complexity(first, DEFAULT_PAGE, child_complexity)")]
    async fn channels(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        include_deleted: Option<bool>,
    ) -> Result<ChannelConnection> {
        lookup_root!(
            ctx,
            Lookup::Channels,
            ChannelRow,
            Channel,
            "ch",
            channel_id,
            first,
            after,
            include_deleted
        )
    }

    /// Users assigned to a business unit in your scope (at any time), by id.
    #[graphql(complexity = "crate::limits::page_complexity(first, DEFAULT_PAGE, child_complexity)")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        include_deleted: Option<bool>,
    ) -> Result<UserConnection> {
        lookup_root!(
            ctx,
            Lookup::Users,
            UserRow,
            User,
            "u",
            user_id,
            first,
            after,
            include_deleted
        )
    }

    /// Agents assigned to a business unit in your scope (at any time), by id.
    #[graphql(complexity = "crate::limits::page_complexity(first, DEFAULT_PAGE, child_complexity)")]
    async fn agents(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        include_deleted: Option<bool>,
    ) -> Result<AgentConnection> {
        lookup_root!(
            ctx,
            Lookup::Agents,
            AgentRow,
            Agent,
            "a",
            agent_id,
            first,
            after,
            include_deleted
        )
    }

    /// The business units in your scope, by id.
    #[graphql(complexity = "crate::limits::page_complexity(first, DEFAULT_PAGE, child_complexity)")]
    async fn business_units(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        include_deleted: Option<bool>,
    ) -> Result<BusinessUnitConnection> {
        lookup_root!(
            ctx,
            Lookup::BusinessUnits,
            BusinessUnitRow,
            BusinessUnit,
            "bu",
            business_unit_id,
            first,
            after,
            include_deleted
        )
    }

    /// Bot steps that conversations in your scope went through, by id.
    #[graphql(complexity = "crate::limits::page_complexity(first, DEFAULT_PAGE, child_complexity)")]
    async fn bot_steps(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        include_deleted: Option<bool>,
    ) -> Result<BotStepConnection> {
        lookup_root!(
            ctx,
            Lookup::BotSteps,
            BotStepRow,
            BotStep,
            "bs",
            bot_step_id,
            first,
            after,
            include_deleted
        )
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
    ) -> Result<FlowMetricConnection> {
        let (pool, caller) = request(ctx)?;
        let size = size(ctx, first)?;
        let f = filter.unwrap_or_default();
        let (from, before) = bounds(f.interval.as_deref())?;
        let filter = feed::FlowMetricFilter {
            from,
            before,
            metrics: f.metrics,
            flow_ids: f.flow_ids,
            conversation_ids: f.conversation_ids,
        };
        let after = timed_cursor("fm", after.as_deref(), 2)?.map(|(t, mut ids)| {
            let record = ids.pop().unwrap_or_default();
            (t, ids.pop().unwrap_or_default(), record)
        });
        let rows =
            feed::flow_metrics_page(pool, &caller.scope, &filter, after.clone(), size as i64 + 1)
                .await
                .map_err(ApiError::db)?;
        let rows = visible(caller.may_read_personal(), rows);
        Ok(page(
            rows,
            size,
            after.is_some(),
            |m| {
                let t = m.metric_date.map(|t| t.to_rfc3339()).unwrap_or_default();
                cursor(
                    "fm",
                    &format!("{t}\n{}\n{}", m.conversation_id, m.record_id),
                )
            },
            FlowMetric,
        )
        .into())
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
    ) -> Result<WorkitemEvaluationConnection> {
        let (pool, caller) = request(ctx)?;
        let size = size(ctx, first)?;
        let (from, before) = bounds(interval.as_deref())?;
        let after = timed_cursor("ev", after.as_deref(), 2)?.map(|(t, mut ids)| {
            let evaluation = ids.pop().unwrap_or_default();
            (t, ids.pop().unwrap_or_default(), evaluation)
        });
        let rows = feed::evaluations_page(
            pool,
            &caller.scope,
            from,
            before,
            evaluator_ids.as_deref(),
            after.clone(),
            size as i64 + 1,
        )
        .await
        .map_err(ApiError::db)?;
        let rows = visible(caller.may_read_personal(), rows);
        Ok(page(
            rows,
            size,
            after.is_some(),
            |e| {
                let t = e.started_at.map(|t| t.to_rfc3339()).unwrap_or_default();
                cursor(
                    "ev",
                    &format!("{t}\n{}\n{}", e.workitem_id, e.evaluation_id),
                )
            },
            WorkitemEvaluation,
        )
        .into())
    }

    /// The Genesys divisions in your scope, by id.
    #[graphql(complexity = "crate::limits::page_complexity(first, DEFAULT_PAGE, child_complexity)")]
    async fn divisions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<DivisionConnection> {
        let (pool, caller) = request(ctx)?;
        let size = size(ctx, first)?;
        let after = after
            .as_deref()
            .map(|c| decode_cursor("d", c))
            .transpose()?;
        let mut rows = feed::divisions_page(pool, &caller.scope, after.as_deref(), size as i64 + 1)
            .await
            .map_err(ApiError::db)?;
        let has_next_page = rows.len() > size;
        rows.truncate(size);
        let items: Vec<(String, Division)> = rows
            .into_iter()
            .map(|d| (cursor("d", &d.division_id), Division(d)))
            .collect();
        Ok(Paged {
            page_info: PageInfo {
                has_next_page,
                has_previous_page: after.is_some(),
                start_cursor: items.first().map(|e| e.0.clone()),
                end_cursor: items.last().map(|e| e.0.clone()),
            },
            items,
        }
        .into())
    }
}
