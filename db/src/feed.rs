//! Scoped reads of the Buzzeasy feed's tables, batched for the dataloaders (one statement per
//! relation and level) and paged for the roots.
//!
//! Scope (DESIGN §3.4): rows around a conversation (queue and bot segments, rejected enqueue
//! attempts, captured data) follow their conversation; workitems, channels and campaigns carry
//! their own business unit, and what hangs off them follows them; a queue follows its channel;
//! agents and users are seen by the business units they have been assigned to; a bot step by
//! the conversations that went through it; a business unit by itself.

use domain::Scope;
use domain::buzzeasy::*;
use serde::de::DeserializeOwned;
use sqlx::PgPool;

use crate::graph::decode_rows;

/// Rows of `from` (a FROM clause with alias `t` and its conditions), ordered by `order`, as one
/// JSON array. `$1` is the batch's keys; with `all_units`, `$2` says whether the scope is
/// everything, `$3` holds its division ids and `$4` its business unit ids; with `units`, `$2` is
/// everything and `$3` the business unit ids.
macro_rules! scoped {
    (all_units: $pool:expr, $scope:expr, $keys:expr, $from:literal, $order:literal) => {{
        let scope: &Scope = $scope;
        let keys: &[String] = $keys;
        let rows = sqlx::query_scalar!(
            "select coalesce(jsonb_agg(to_jsonb(t) order by "
                + $order
                + "), '[]') as \"rows!\" from "
                + $from,
            keys,
            scope.is_all(),
            &scope.division_ids(),
            &scope.business_unit_ids()
        )
        .fetch_one($pool)
        .await?;
        decode_rows(rows)
    }};
    (units: $pool:expr, $scope:expr, $keys:expr, $from:literal, $order:literal) => {{
        let scope: &Scope = $scope;
        let keys: &[String] = $keys;
        let rows = sqlx::query_scalar!(
            "select coalesce(jsonb_agg(to_jsonb(t) order by "
                + $order
                + "), '[]') as \"rows!\" from "
                + $from,
            keys,
            scope.is_all(),
            &scope.business_unit_ids()
        )
        .fetch_one($pool)
        .await?;
        decode_rows(rows)
    }};
}

/// A row found for a key of the batch: a row may answer several keys (a workitem of two
/// conversations).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Keyed<T> {
    pub key: String,
    pub row: T,
}

fn decode<T: DeserializeOwned>(v: serde_json::Value) -> Result<Vec<T>, sqlx::Error> {
    decode_rows(v)
}

// --- Around conversations: visible with their conversation.

pub async fn queue_segments(
    pool: &PgPool,
    scope: &Scope,
    conversations: &[String],
) -> Result<Vec<QueueSegmentRow>, sqlx::Error> {
    scoped!(all_units: pool, scope, conversations,
        "queue_segments t where t.conversation_id = any($1)
           and ($2 or exists (select from conversations c where c.conversation_id = t.conversation_id
                              and (c.division_ids && $3 or c.business_unit_id = any($4))))",
        "t.conversation_id, t.queued_at, t.queue_segment_id")
}

pub async fn bot_segments(
    pool: &PgPool,
    scope: &Scope,
    conversations: &[String],
) -> Result<Vec<BotSegmentRow>, sqlx::Error> {
    scoped!(all_units: pool, scope, conversations,
        "bot_segments t where t.conversation_id = any($1)
           and ($2 or exists (select from conversations c where c.conversation_id = t.conversation_id
                              and (c.division_ids && $3 or c.business_unit_id = any($4))))",
        "t.conversation_id, t.started_at, t.bot_segment_id")
}

pub async fn rejected_enqueue_attempts(
    pool: &PgPool,
    scope: &Scope,
    conversations: &[String],
) -> Result<Vec<RejectedEnqueueAttemptRow>, sqlx::Error> {
    scoped!(all_units: pool, scope, conversations,
        "rejected_enqueue_attempts t where t.conversation_id = any($1)
           and ($2 or exists (select from conversations c where c.conversation_id = t.conversation_id
                              and (c.division_ids && $3 or c.business_unit_id = any($4))))",
        "t.conversation_id, t.rejected_at, t.attempt_id")
}

pub async fn captured_data(
    pool: &PgPool,
    scope: &Scope,
    conversations: &[String],
) -> Result<Vec<CapturedDataRow>, sqlx::Error> {
    scoped!(all_units: pool, scope, conversations,
        "captured_data t where t.conversation_id = any($1)
           and ($2 or exists (select from conversations c where c.conversation_id = t.conversation_id
                              and (c.division_ids && $3 or c.business_unit_id = any($4))))",
        "t.conversation_id, t.captured_at, t.name")
}

/// The workitems that handled the conversations (as their first conversation or one of their
/// sessions'), keyed by conversation.
pub async fn workitems_of_conversations(
    pool: &PgPool,
    scope: &Scope,
    conversations: &[String],
) -> Result<Vec<Keyed<WorkitemRow>>, sqlx::Error> {
    let rows = sqlx::query_scalar!(
        r#"select coalesce(jsonb_agg(jsonb_build_object('key', k.id, 'row', to_jsonb(w))
                                     order by k.id, w.start_time, w.workitem_id), '[]') as "rows!"
           from unnest($1::text[]) k(id)
           join workitems w on w.primary_conversation_id = k.id
                or exists (select from workitem_conversation_sessions s
                           where s.workitem_id = w.workitem_id and s.conversation_id = k.id)
           where $2 or w.business_unit_id = any($3)"#,
        conversations,
        scope.is_all(),
        &scope.business_unit_ids()
    )
    .fetch_one(pool)
    .await?;
    decode(rows)
}

// --- Workitems and what hangs off them.

pub async fn workitems_by_id(
    pool: &PgPool,
    scope: &Scope,
    ids: &[String],
) -> Result<Vec<WorkitemRow>, sqlx::Error> {
    scoped!(units: pool, scope, ids,
        "workitems t where t.workitem_id = any($1) and ($2 or t.business_unit_id = any($3))",
        "t.workitem_id")
}

pub async fn workitems_of_agents(
    pool: &PgPool,
    scope: &Scope,
    agents: &[String],
) -> Result<Vec<WorkitemRow>, sqlx::Error> {
    scoped!(units: pool, scope, agents,
        "workitems t where t.agent_id = any($1) and ($2 or t.business_unit_id = any($3))",
        "t.agent_id, t.start_time, t.workitem_id")
}

pub async fn workitem_conversation_sessions(
    pool: &PgPool,
    scope: &Scope,
    workitems: &[String],
) -> Result<Vec<WorkitemConversationSessionRow>, sqlx::Error> {
    scoped!(units: pool, scope, workitems,
        "workitem_conversation_sessions t where t.workitem_id = any($1)
           and ($2 or exists (select from workitems w where w.workitem_id = t.workitem_id and w.business_unit_id = any($3)))",
        "t.workitem_id, t.session_id")
}

pub async fn workitem_evaluations(
    pool: &PgPool,
    scope: &Scope,
    workitems: &[String],
) -> Result<Vec<WorkitemEvaluationRow>, sqlx::Error> {
    scoped!(units: pool, scope, workitems,
        "workitem_evaluations t where t.workitem_id = any($1)
           and ($2 or exists (select from workitems w where w.workitem_id = t.workitem_id and w.business_unit_id = any($3)))",
        "t.workitem_id, t.started_at, t.evaluation_id")
}

/// The answers of evaluations, keyed by `workitem_id` (the evaluation id is in each row).
pub async fn workitem_evaluation_data(
    pool: &PgPool,
    scope: &Scope,
    workitems: &[String],
) -> Result<Vec<WorkitemEvaluationDataRow>, sqlx::Error> {
    scoped!(units: pool, scope, workitems,
        "workitem_evaluation_data t where t.workitem_id = any($1)
           and ($2 or exists (select from workitems w where w.workitem_id = t.workitem_id and w.business_unit_id = any($3)))",
        "t.workitem_id, t.evaluation_id, t.entry_id")
}

pub async fn collected_data(
    pool: &PgPool,
    scope: &Scope,
    workitems: &[String],
) -> Result<Vec<CollectedDataRow>, sqlx::Error> {
    scoped!(units: pool, scope, workitems,
        "collected_data t where t.workitem_id = any($1)
           and ($2 or exists (select from workitems w where w.workitem_id = t.workitem_id and w.business_unit_id = any($3)))",
        "t.workitem_id, t.created_at, t.name")
}

/// Which workitems a list shows: every field narrows it, values of one list are alternatives.
#[derive(Debug, Clone, Default)]
pub struct WorkitemFilter {
    pub start_from: Option<chrono::DateTime<chrono::Utc>>,
    pub start_before: Option<chrono::DateTime<chrono::Utc>>,
    pub agent_ids: Option<Vec<String>>,
    pub queue_ids: Option<Vec<String>>,
    pub business_unit_ids: Option<Vec<String>>,
    pub media_types: Option<Vec<String>>,
    pub results: Option<Vec<String>>,
}

/// A page of workitems in (start time, id) order, after `after`; `limit` rows at most.
pub async fn workitems_page(
    pool: &PgPool,
    scope: &Scope,
    filter: &WorkitemFilter,
    after: Option<(chrono::DateTime<chrono::Utc>, String)>,
    limit: i64,
) -> Result<Vec<WorkitemRow>, sqlx::Error> {
    let (after_time, after_id) = after.unzip();
    let rows = sqlx::query_scalar!(
        r#"select coalesce(jsonb_agg(to_jsonb(t) order by t.start_time, t.workitem_id), '[]') as "rows!"
           from (select * from workitems w
                 where ($1 or w.business_unit_id = any($2))
                   and w.start_time is not null
                   and ($3::timestamptz is null or w.start_time >= $3)
                   and ($4::timestamptz is null or w.start_time < $4)
                   and ($5::text[] is null or w.agent_id = any($5))
                   and ($6::text[] is null or w.queue_id = any($6))
                   and ($7::text[] is null or w.business_unit_id = any($7))
                   and ($8::text[] is null or w.media_type = any($8))
                   and ($9::text[] is null or w.result = any($9))
                   and ($10::timestamptz is null or (w.start_time, w.workitem_id) > ($10, $11::text))
                 order by w.start_time, w.workitem_id
                 limit $12) t"#,
        scope.is_all(),
        &scope.business_unit_ids(),
        filter.start_from,
        filter.start_before,
        filter.agent_ids.as_deref(),
        filter.queue_ids.as_deref(),
        filter.business_unit_ids.as_deref(),
        filter.media_types.as_deref(),
        filter.results.as_deref(),
        after_time,
        after_id,
        limit
    )
    .fetch_one(pool)
    .await?;
    decode(rows)
}

// --- Agents and users: seen by the business units they have been assigned to.

pub async fn agents_by_id(
    pool: &PgPool,
    scope: &Scope,
    ids: &[String],
) -> Result<Vec<AgentRow>, sqlx::Error> {
    scoped!(units: pool, scope, ids,
        "agents t where t.agent_id = any($1)
           and ($2 or exists (select from agent_business_unit_changes a
                              where a.agent_id = t.agent_id and a.assigned and a.business_unit_id = any($3)))",
        "t.agent_id")
}

pub async fn users_by_id(
    pool: &PgPool,
    scope: &Scope,
    ids: &[String],
) -> Result<Vec<UserRow>, sqlx::Error> {
    scoped!(units: pool, scope, ids,
        "users t where t.user_id = any($1)
           and ($2 or exists (select from agent_business_unit_changes a
                              where a.agent_id = t.user_id and a.assigned and a.business_unit_id = any($3)))",
        "t.user_id")
}

/// The business-unit changes of agents, in time order, limited to the business units in scope.
pub async fn agent_business_unit_changes(
    pool: &PgPool,
    scope: &Scope,
    agents: &[String],
) -> Result<Vec<AgentBusinessUnitChangeRow>, sqlx::Error> {
    scoped!(units: pool, scope, agents,
        "agent_business_unit_changes t where t.agent_id = any($1) and ($2 or t.business_unit_id = any($3))",
        "t.agent_id, t.timestamp, t.business_unit_id")
}

/// The states of agents that overlap `[from, to)` (either bound open), for visible agents.
pub async fn agent_states(
    pool: &PgPool,
    scope: &Scope,
    agents: &[String],
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Vec<AgentStateRow>, sqlx::Error> {
    let rows = sqlx::query_scalar!(
        r#"select coalesce(jsonb_agg(to_jsonb(t) order by t.agent_id, t.start_time, t.agent_state_id), '[]') as "rows!"
           from agent_states t
           where t.agent_id = any($1)
             and ($2 or exists (select from agent_business_unit_changes a
                                where a.agent_id = t.agent_id and a.assigned and a.business_unit_id = any($3)))
             and ($4::timestamptz is null
                  or t.start_time + coalesce(t.duration_in_seconds, 0) * interval '1 second' > $4)
             and ($5::timestamptz is null or t.start_time < $5)"#,
        agents,
        scope.is_all(),
        &scope.business_unit_ids(),
        from,
        to
    )
    .fetch_one(pool)
    .await?;
    decode(rows)
}

// --- Lookups.

pub async fn queues_by_id(
    pool: &PgPool,
    scope: &Scope,
    ids: &[String],
) -> Result<Vec<QueueRow>, sqlx::Error> {
    scoped!(units: pool, scope, ids,
        "queues t where t.queue_id = any($1)
           and ($2 or exists (select from channels ch where ch.channel_id = t.channel_id and ch.business_unit_id = any($3)))",
        "t.queue_id")
}

pub async fn channels_by_id(
    pool: &PgPool,
    scope: &Scope,
    ids: &[String],
) -> Result<Vec<ChannelRow>, sqlx::Error> {
    scoped!(units: pool, scope, ids,
        "channels t where t.channel_id = any($1) and ($2 or t.business_unit_id = any($3))",
        "t.channel_id")
}

pub async fn business_units_by_id(
    pool: &PgPool,
    scope: &Scope,
    ids: &[String],
) -> Result<Vec<BusinessUnitRow>, sqlx::Error> {
    scoped!(units: pool, scope, ids,
        "business_units t where t.business_unit_id = any($1) and ($2 or t.business_unit_id = any($3))",
        "t.business_unit_id")
}

pub async fn bot_steps_by_id(
    pool: &PgPool,
    scope: &Scope,
    ids: &[String],
) -> Result<Vec<BotStepRow>, sqlx::Error> {
    scoped!(all_units: pool, scope, ids,
        "bot_steps t where t.bot_step_id = any($1)
           and ($2 or exists (select from bot_segments s join conversations c using (conversation_id)
                              where s.bot_step_id = t.bot_step_id
                                and (c.division_ids && $3 or c.business_unit_id = any($4))))",
        "t.bot_step_id")
}

pub async fn campaigns_by_id(
    pool: &PgPool,
    scope: &Scope,
    ids: &[String],
) -> Result<Vec<CampaignRow>, sqlx::Error> {
    scoped!(units: pool, scope, ids,
        "campaigns t where t.campaign_id = any($1) and ($2 or t.business_unit_id = any($3))",
        "t.campaign_id")
}

pub async fn campaign_records_of_campaigns(
    pool: &PgPool,
    scope: &Scope,
    campaigns: &[String],
) -> Result<Vec<CampaignRecordRow>, sqlx::Error> {
    scoped!(units: pool, scope, campaigns,
        "campaign_records t where t.campaign_id = any($1)
           and ($2 or exists (select from campaigns cp where cp.campaign_id = t.campaign_id and cp.business_unit_id = any($3)))",
        "t.campaign_id, t.record_id")
}

pub async fn campaign_record_custom_fields(
    pool: &PgPool,
    scope: &Scope,
    records: &[String],
) -> Result<Vec<CampaignRecordCustomFieldRow>, sqlx::Error> {
    scoped!(units: pool, scope, records,
        "campaign_record_custom_fields t where t.record_id = any($1)
           and ($2 or exists (select from campaign_records r join campaigns cp using (campaign_id)
                              where r.record_id = t.record_id and cp.business_unit_id = any($3)))",
        "t.record_id, t.name")
}

pub async fn campaign_record_phone_numbers(
    pool: &PgPool,
    scope: &Scope,
    records: &[String],
) -> Result<Vec<CampaignRecordPhoneNumberRow>, sqlx::Error> {
    scoped!(units: pool, scope, records,
        "campaign_record_phone_numbers t where t.record_id = any($1)
           and ($2 or exists (select from campaign_records r join campaigns cp using (campaign_id)
                              where r.record_id = t.record_id and cp.business_unit_id = any($3)))",
        "t.record_id, t.phone_number")
}

pub async fn campaign_record_registrations(
    pool: &PgPool,
    scope: &Scope,
    records: &[String],
) -> Result<Vec<CampaignRecordRegistrationRow>, sqlx::Error> {
    scoped!(units: pool, scope, records,
        "campaign_record_registrations t where t.record_id = any($1)
           and ($2 or exists (select from campaign_records r join campaigns cp using (campaign_id)
                              where r.record_id = t.record_id and cp.business_unit_id = any($3)))",
        "t.record_id")
}

/// The lookup tables listed by the roots, a page at a time in id order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    BusinessUnits,
    Agents,
    Users,
    Channels,
    Queues,
    BotSteps,
    Campaigns,
}

/// A page of a lookup table in id order, after the id `after`, at most `limit` rows; deleted
/// rows only with `deleted`.
pub async fn lookup_page(
    pool: &PgPool,
    scope: &Scope,
    lookup: Lookup,
    after: Option<&str>,
    limit: i64,
    deleted: bool,
) -> Result<Vec<serde_json::Value>, sqlx::Error> {
    macro_rules! page {
        ($table:literal, $id:literal, $visible:literal) => {{
            let rows = sqlx::query_scalar!(
                "select coalesce(jsonb_agg(to_jsonb(t) order by t."
                    + $id
                    + "), '[]') as \"rows!\"
                 from (select * from "
                    + $table
                    + " t
                       where ($1 or "
                    + $visible
                    + ")
                         and ($4::text is null or t."
                    + $id
                    + " > $4)
                         and ($6 or t.deleted_at is null)
                       order by t."
                    + $id
                    + " limit $5) t",
                scope.is_all(),
                &scope.division_ids(),
                &scope.business_unit_ids(),
                after,
                limit,
                deleted
            )
            .fetch_one(pool)
            .await?;
            decode::<serde_json::Value>(rows)
        }};
    }
    match lookup {
        Lookup::BusinessUnits => page!("business_units", "business_unit_id",
            "t.business_unit_id = any($3) and cardinality($2::text[]) >= 0"),
        Lookup::Agents => page!("agents", "agent_id",
            "exists (select from agent_business_unit_changes a where a.agent_id = t.agent_id and a.assigned
                     and a.business_unit_id = any($3)) and cardinality($2::text[]) >= 0"),
        Lookup::Users => page!("users", "user_id",
            "exists (select from agent_business_unit_changes a where a.agent_id = t.user_id and a.assigned
                     and a.business_unit_id = any($3)) and cardinality($2::text[]) >= 0"),
        Lookup::Channels => page!("channels", "channel_id",
            "t.business_unit_id = any($3) and cardinality($2::text[]) >= 0"),
        Lookup::Queues => page!("queues", "queue_id",
            "exists (select from channels ch where ch.channel_id = t.channel_id and ch.business_unit_id = any($3))
             and cardinality($2::text[]) >= 0"),
        Lookup::BotSteps => page!("bot_steps", "bot_step_id",
            "exists (select from bot_segments s join conversations c using (conversation_id)
                     where s.bot_step_id = t.bot_step_id and (c.division_ids && $2 or c.business_unit_id = any($3)))"),
        Lookup::Campaigns => page!("campaigns", "campaign_id",
            "t.business_unit_id = any($3) and cardinality($2::text[]) >= 0"),
    }
}

/// Which campaign records a list shows.
#[derive(Debug, Clone, Default)]
pub struct CampaignRecordFilter {
    pub campaign_ids: Option<Vec<String>>,
    pub statuses: Option<Vec<String>>,
    pub created_from: Option<chrono::DateTime<chrono::Utc>>,
    pub created_before: Option<chrono::DateTime<chrono::Utc>>,
}

/// A page of campaign records in id order, after `after`.
pub async fn campaign_records_page(
    pool: &PgPool,
    scope: &Scope,
    filter: &CampaignRecordFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<CampaignRecordRow>, sqlx::Error> {
    let rows = sqlx::query_scalar!(
        r#"select coalesce(jsonb_agg(to_jsonb(t) order by t.record_id), '[]') as "rows!"
           from (select * from campaign_records r
                 where ($1 or exists (select from campaigns cp
                                      where cp.campaign_id = r.campaign_id and cp.business_unit_id = any($2)))
                   and ($3::text[] is null or r.campaign_id = any($3))
                   and ($4::text[] is null or r.status = any($4))
                   and ($5::timestamptz is null or r.created_at >= $5)
                   and ($6::timestamptz is null or r.created_at < $6)
                   and ($7::text is null or r.record_id > $7)
                 order by r.record_id
                 limit $8) t"#,
        scope.is_all(),
        &scope.business_unit_ids(),
        filter.campaign_ids.as_deref(),
        filter.statuses.as_deref(),
        filter.created_from,
        filter.created_before,
        after,
        limit
    )
    .fetch_one(pool)
    .await?;
    decode(rows)
}

/// A page of the divisions in scope, in id order, after `after`.
pub async fn divisions_page(
    pool: &PgPool,
    scope: &Scope,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<domain::graph::DivisionRow>, sqlx::Error> {
    let rows = sqlx::query_scalar!(
        r#"select coalesce(jsonb_agg(to_jsonb(t) order by t.division_id), '[]') as "rows!"
           from (select * from divisions d
                 where ($1 or d.division_id = any($2))
                   and ($3::text is null or d.division_id > $3)
                 order by d.division_id
                 limit $4) t"#,
        scope.is_all(),
        &scope.division_ids(),
        after,
        limit
    )
    .fetch_one(pool)
    .await?;
    decode(rows)
}

/// Which flow metric records a list shows.
#[derive(Debug, Clone, Default)]
pub struct FlowMetricFilter {
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    pub before: Option<chrono::DateTime<chrono::Utc>>,
    pub metrics: Option<Vec<String>>,
    pub flow_ids: Option<Vec<String>>,
    pub conversation_ids: Option<Vec<String>>,
}

/// A page of flow metric records in (metric date, conversation, record) order, after `after`.
/// A record is visible by its own divisions, or with its conversation.
pub async fn flow_metrics_page(
    pool: &PgPool,
    scope: &Scope,
    filter: &FlowMetricFilter,
    after: Option<(chrono::DateTime<chrono::Utc>, String, String)>,
    limit: i64,
) -> Result<Vec<domain::flow_metrics::FlowMetricRow>, sqlx::Error> {
    let (after_time, after_conversation, after_record) = match after {
        Some((t, c, r)) => (Some(t), Some(c), Some(r)),
        None => (None, None, None),
    };
    let rows = sqlx::query_scalar!(
        r#"select coalesce(jsonb_agg(to_jsonb(t) order by t.metric_date, t.conversation_id, t.record_id), '[]') as "rows!"
           from (select * from flow_metrics m
                 where ($1 or m.division_ids && $2
                        or exists (select from conversations c where c.conversation_id = m.conversation_id
                                   and (c.division_ids && $2 or c.business_unit_id = any($3))))
                   and m.metric_date is not null
                   and ($4::timestamptz is null or m.metric_date >= $4)
                   and ($5::timestamptz is null or m.metric_date < $5)
                   and ($6::text[] is null or m.metric = any($6))
                   and ($7::text[] is null or m.flow_id = any($7))
                   and ($8::text[] is null or m.conversation_id = any($8))
                   and ($9::timestamptz is null
                        or (m.metric_date, m.conversation_id, m.record_id) > ($9, $10::text, $11::text))
                 order by m.metric_date, m.conversation_id, m.record_id
                 limit $12) t"#,
        scope.is_all(),
        &scope.division_ids(),
        &scope.business_unit_ids(),
        filter.from,
        filter.before,
        filter.metrics.as_deref(),
        filter.flow_ids.as_deref(),
        filter.conversation_ids.as_deref(),
        after_time,
        after_conversation,
        after_record,
        limit
    )
    .fetch_one(pool)
    .await?;
    decode(rows)
}

/// A page of workitem evaluations in (start, workitem, evaluation) order, started inside
/// `[from, before)` when given, after `after`; visible with their workitem.
pub async fn evaluations_page(
    pool: &PgPool,
    scope: &Scope,
    from: Option<chrono::DateTime<chrono::Utc>>,
    before: Option<chrono::DateTime<chrono::Utc>>,
    evaluators: Option<&[String]>,
    after: Option<(chrono::DateTime<chrono::Utc>, String, String)>,
    limit: i64,
) -> Result<Vec<WorkitemEvaluationRow>, sqlx::Error> {
    let (after_time, after_workitem, after_evaluation) = match after {
        Some((t, w, e)) => (Some(t), Some(w), Some(e)),
        None => (None, None, None),
    };
    let rows = sqlx::query_scalar!(
        r#"select coalesce(jsonb_agg(to_jsonb(t) order by t.started_at, t.workitem_id, t.evaluation_id), '[]') as "rows!"
           from (select * from workitem_evaluations e
                 where ($1 or exists (select from workitems w
                                      where w.workitem_id = e.workitem_id and w.business_unit_id = any($2)))
                   and e.started_at is not null
                   and ($3::timestamptz is null or e.started_at >= $3)
                   and ($4::timestamptz is null or e.started_at < $4)
                   and ($5::text[] is null or e.created_by = any($5))
                   and ($6::timestamptz is null
                        or (e.started_at, e.workitem_id, e.evaluation_id) > ($6, $7::text, $8::text))
                 order by e.started_at, e.workitem_id, e.evaluation_id
                 limit $9) t"#,
        scope.is_all(),
        &scope.business_unit_ids(),
        from,
        before,
        evaluators,
        after_time,
        after_workitem,
        after_evaluation,
        limit
    )
    .fetch_one(pool)
    .await?;
    decode(rows)
}
