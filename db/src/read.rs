//! Scoped reads for request handling. Every function takes the caller's [`Scope`] and puts it
//! in the SQL: a row outside the scope is never fetched, so it cannot leak and an out-of-scope
//! id behaves exactly like a missing one. Children inherit their conversation's visibility.

use chrono::{DateTime, Utc};
use domain::Scope;
use domain::graph::*;
use sqlx::PgPool;

use crate::graph::decode_rows;

/// The scope as SQL parameters: (all, division ids, business unit ids).
fn scope_params(scope: &Scope) -> (bool, Vec<String>, Vec<String>) {
    (
        scope.is_all(),
        scope.division_ids(),
        scope.business_unit_ids(),
    )
}

/// A conversation by id; `None` when missing or out of scope.
pub async fn conversation(
    pool: &PgPool,
    scope: &Scope,
    id: &str,
) -> Result<Option<ConversationRow>, sqlx::Error> {
    let (all, divisions, units) = scope_params(scope);
    let row = sqlx::query_scalar!(
        r#"select to_jsonb(c) as "row!" from conversations c
           where c.conversation_id = $1
             and ($2 or c.division_ids && $3 or c.business_unit_id = any($4))"#,
        id,
        all,
        &divisions,
        &units
    )
    .fetch_optional(pool)
    .await?;
    row.map(|v| serde_json::from_value(v).map_err(|e| sqlx::Error::Decode(Box::new(e))))
        .transpose()
}

/// Conversations by id, batched; the missing and the out-of-scope are simply absent.
pub async fn conversations_by_id(
    pool: &PgPool,
    scope: &Scope,
    ids: &[String],
) -> Result<Vec<ConversationRow>, sqlx::Error> {
    let (all, divisions, units) = scope_params(scope);
    let rows = sqlx::query_scalar!(
        r#"select coalesce(jsonb_agg(to_jsonb(c) order by c.conversation_id), '[]') as "rows!"
           from conversations c
           where c.conversation_id = any($1)
             and ($2 or c.division_ids && $3 or c.business_unit_id = any($4))"#,
        ids,
        all,
        &divisions,
        &units
    )
    .fetch_one(pool)
    .await?;
    decode_rows(rows)
}

/// Which conversations a list shows. Every field narrows the list; values inside one list are
/// alternatives. A conversation matches a child filter (purposes, media types, queues, …) when
/// at least one of its participants, sessions or segments matches it.
#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    /// Conversations that start at or after this instant.
    pub start_from: Option<DateTime<Utc>>,
    /// Conversations that start before this instant.
    pub start_before: Option<DateTime<Utc>>,
    pub division_ids: Option<Vec<String>>,
    pub business_unit_ids: Option<Vec<String>>,
    pub originating_directions: Option<Vec<String>>,
    pub external_tags: Option<Vec<String>>,
    /// Duration bounds in milliseconds (ended conversations only).
    pub min_duration_ms: Option<i64>,
    pub max_duration_ms: Option<i64>,
    pub purposes: Option<Vec<String>>,
    pub user_ids: Option<Vec<String>>,
    pub media_types: Option<Vec<String>>,
    pub directions: Option<Vec<String>>,
    pub anis: Option<Vec<String>>,
    pub dnises: Option<Vec<String>>,
    pub queue_ids: Option<Vec<String>>,
    pub wrap_up_codes: Option<Vec<String>>,
    pub disconnect_types: Option<Vec<String>>,
    pub segment_types: Option<Vec<String>>,
    /// Abandoned (a session has a `tAbandon` metric) or not.
    pub abandoned: Option<bool>,
}

/// The time a list is ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderKey {
    /// `conversation_start`; conversations without one are not listed.
    #[default]
    Start,
    /// `conversation_end`; conversations still in progress are not listed.
    End,
}

impl OrderKey {
    fn name(self) -> &'static str {
        match self {
            OrderKey::Start => "start",
            OrderKey::End => "end",
        }
    }
}

/// A position in an ordered list: the keyset (time, id) of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationCursor {
    pub time: DateTime<Utc>,
    pub id: String,
}

/// One page request: rows strictly past `cursor` in the direction the SQL walks.
#[derive(Debug, Clone)]
pub struct ConversationPage<'a> {
    pub key: OrderKey,
    /// Walk the key downwards (newest first).
    pub descending: bool,
    pub cursor: Option<&'a ConversationCursor>,
    pub limit: i64,
}

/// The filter as SQL: one text for the list and the count, so that they always agree. `$1..$3`
/// is the scope, `$4` the order key, `$5..$23` the filter; the tail may use `$24` and up.
macro_rules! filtered_conversations {
    ([$($head:tt)+], [$($tail:tt)+], $scope:expr, $key:expr, $f:expr $(, $arg:expr)*) => {{
        let (all, divisions, units) = scope_params($scope);
        let f: &ConversationFilter = $f;
        sqlx::query_scalar!(
            $($head)+ + "
               from conversations c
               where ($1 or c.division_ids && $2 or c.business_unit_id = any($3))
                 and case $4::text when 'end' then c.conversation_end is not null
                                  else c.conversation_start is not null end
                 and ($5::timestamptz is null or c.conversation_start >= $5)
                 and ($6::timestamptz is null or c.conversation_start < $6)
                 and ($7::text[] is null or c.division_ids && $7)
                 and ($8::text[] is null or c.business_unit_id = any($8))
                 and ($9::text[] is null or c.originating_direction = any($9))
                 and ($10::text[] is null or c.external_tag = any($10))
                 and ($11::bigint is null or c.conversation_end - c.conversation_start >= $11 * interval '1 millisecond')
                 and ($12::bigint is null or c.conversation_end - c.conversation_start <= $12 * interval '1 millisecond')
                 and ($13::text[] is null or exists (select from participants p
                      where p.conversation_id = c.conversation_id and p.purpose = any($13)))
                 and ($14::text[] is null or exists (select from participants p
                      where p.conversation_id = c.conversation_id and p.user_id = any($14)))
                 and ($15::text[] is null or exists (select from sessions s
                      where s.conversation_id = c.conversation_id and s.media_type = any($15)))
                 and ($16::text[] is null or exists (select from sessions s
                      where s.conversation_id = c.conversation_id and s.direction = any($16)))
                 and ($17::text[] is null or exists (select from sessions s
                      where s.conversation_id = c.conversation_id and s.ani = any($17)))
                 and ($18::text[] is null or exists (select from sessions s
                      where s.conversation_id = c.conversation_id and s.dnis = any($18)))
                 and ($19::text[] is null or exists (select from segments g
                      where g.conversation_id = c.conversation_id and g.queue_id = any($19)))
                 and ($20::text[] is null or exists (select from segments g
                      where g.conversation_id = c.conversation_id and g.wrap_up_code = any($20)))
                 and ($21::text[] is null or exists (select from segments g
                      where g.conversation_id = c.conversation_id and g.disconnect_type = any($21)))
                 and ($22::text[] is null or exists (select from segments g
                      where g.conversation_id = c.conversation_id and g.segment_type = any($22)))
                 and ($23::boolean is null or $23 = exists (select from session_metrics m
                      where m.conversation_id = c.conversation_id and m.name = 'tAbandon'))" + $($tail)+,
            all,
            &divisions,
            &units,
            $key.name(),
            f.start_from,
            f.start_before,
            f.division_ids.as_deref(),
            f.business_unit_ids.as_deref(),
            f.originating_directions.as_deref(),
            f.external_tags.as_deref(),
            f.min_duration_ms,
            f.max_duration_ms,
            f.purposes.as_deref(),
            f.user_ids.as_deref(),
            f.media_types.as_deref(),
            f.directions.as_deref(),
            f.anis.as_deref(),
            f.dnises.as_deref(),
            f.queue_ids.as_deref(),
            f.wrap_up_codes.as_deref(),
            f.disconnect_types.as_deref(),
            f.segment_types.as_deref(),
            f.abandoned
            $(, $arg)*
        )
    }};
}

/// One page of a list walking `$col` in `$dir`; `$cmp` is the keyset comparison that goes on.
macro_rules! conversation_page {
    ($pool:expr, $scope:expr, $f:expr, $page:expr, $col:literal, $cmp:literal, $dir:literal) => {{
        let page: &ConversationPage<'_> = $page;
        filtered_conversations!(
            [r#"select coalesce(jsonb_agg(to_jsonb(c) order by c."#
                + $col
                + " "
                + $dir
                + ", c.conversation_id "
                + $dir
                + r#"), '[]') as "rows!"
               from (select c.*"#],
            ["
                 and ($24::timestamptz is null or (c."
                + $col
                + ", c.conversation_id) "
                + $cmp
                + " ($24, $25::text))
               order by c."
                + $col
                + " "
                + $dir
                + ", c.conversation_id "
                + $dir
                + "
               limit $26
             ) c"],
            $scope,
            page.key,
            $f,
            page.cursor.map(|k| k.time),
            page.cursor.map(|k| k.id.as_str()),
            page.limit
        )
        .fetch_one($pool)
        .await?
    }};
}

/// Up to `page.limit` conversations past `page.cursor`, in the order the page walks.
pub async fn conversations(
    pool: &PgPool,
    scope: &Scope,
    filter: &ConversationFilter,
    page: &ConversationPage<'_>,
) -> Result<Vec<ConversationRow>, sqlx::Error> {
    let rows = match (page.key, page.descending) {
        (OrderKey::Start, false) => {
            conversation_page!(pool, scope, filter, page, "conversation_start", ">", "asc")
        }
        (OrderKey::Start, true) => {
            conversation_page!(pool, scope, filter, page, "conversation_start", "<", "desc")
        }
        (OrderKey::End, false) => {
            conversation_page!(pool, scope, filter, page, "conversation_end", ">", "asc")
        }
        (OrderKey::End, true) => {
            conversation_page!(pool, scope, filter, page, "conversation_end", "<", "desc")
        }
    };
    decode_rows(rows)
}

/// How many conversations the filter selects within the scope, ordered by `key` (which decides
/// whether conversations without a start or still in progress are in the list).
pub async fn count_conversations(
    pool: &PgPool,
    scope: &Scope,
    filter: &ConversationFilter,
    key: OrderKey,
) -> Result<i64, sqlx::Error> {
    filtered_conversations!([r#"select count(*) as "n!""#], [""], scope, key, filter)
        .fetch_one(pool)
        .await
}

/// The participants of the conversations `ids` (batched: one statement for all of them).
pub async fn participants(
    pool: &PgPool,
    scope: &Scope,
    ids: &[String],
) -> Result<Vec<ParticipantRow>, sqlx::Error> {
    let (all, divisions, units) = scope_params(scope);
    let rows = sqlx::query_scalar!(
        r#"select coalesce(jsonb_agg(to_jsonb(p) order by p.conversation_id, p.ordinal), '[]') as "rows!"
           from participants p join conversations c using (conversation_id)
           where p.conversation_id = any($1)
             and ($2 or c.division_ids && $3 or c.business_unit_id = any($4))"#,
        ids,
        all,
        &divisions,
        &units
    )
    .fetch_one(pool)
    .await?;
    decode_rows(rows)
}

/// The sessions of the participants (conversation id, participant id), batched.
pub async fn sessions(
    pool: &PgPool,
    scope: &Scope,
    conversation_ids: &[String],
    participant_ids: &[String],
) -> Result<Vec<SessionRow>, sqlx::Error> {
    let (all, divisions, units) = scope_params(scope);
    let rows = sqlx::query_scalar!(
        r#"select coalesce(jsonb_agg(to_jsonb(s) order by s.conversation_id, s.participant_id, s.ordinal), '[]') as "rows!"
           from sessions s join conversations c using (conversation_id)
           where (s.conversation_id, s.participant_id) in (select * from unnest($1::text[], $2::text[]))
             and ($3 or c.division_ids && $4 or c.business_unit_id = any($5))"#,
        conversation_ids,
        participant_ids,
        all,
        &divisions,
        &units
    )
    .fetch_one(pool)
    .await?;
    decode_rows(rows)
}

/// Sessions by (conversation id, session id), batched: peers of sessions.
pub async fn sessions_by_id(
    pool: &PgPool,
    scope: &Scope,
    conversation_ids: &[String],
    session_ids: &[String],
) -> Result<Vec<SessionRow>, sqlx::Error> {
    let (all, divisions, units) = scope_params(scope);
    let rows = sqlx::query_scalar!(
        r#"select coalesce(jsonb_agg(to_jsonb(s) order by s.conversation_id, s.session_id, s.participant_id), '[]') as "rows!"
           from sessions s join conversations c using (conversation_id)
           where (s.conversation_id, s.session_id) in (select * from unnest($1::text[], $2::text[]))
             and ($3 or c.division_ids && $4 or c.business_unit_id = any($5))"#,
        conversation_ids,
        session_ids,
        all,
        &divisions,
        &units
    )
    .fetch_one(pool)
    .await?;
    decode_rows(rows)
}

/// Reads the rows of one conversation-child table for a batch of conversations.
macro_rules! conversation_children {
    ($pool:expr, $scope:expr, $ids:expr, $table:literal, $order:literal) => {{
        let (all, divisions, units) = scope_params($scope);
        let rows = sqlx::query_scalar!(
            "select coalesce(jsonb_agg(to_jsonb(t) order by t.conversation_id, "
                + $order
                + "), '[]') as \"rows!\"
             from "
                + $table
                + " t join conversations c using (conversation_id)
             where t.conversation_id = any($1)
               and ($2 or c.division_ids && $3 or c.business_unit_id = any($4))",
            $ids,
            all,
            &divisions,
            &units
        )
        .fetch_one($pool)
        .await?;
        decode_rows(rows)
    }};
}

/// The evaluations of a batch of conversations.
pub async fn evaluations(
    pool: &PgPool,
    scope: &Scope,
    ids: &[String],
) -> Result<Vec<EvaluationRow>, sqlx::Error> {
    conversation_children!(pool, scope, ids, "evaluations", "t.evaluation_id")
}

/// The surveys of a batch of conversations.
pub async fn surveys(
    pool: &PgPool,
    scope: &Scope,
    ids: &[String],
) -> Result<Vec<SurveyRow>, sqlx::Error> {
    conversation_children!(pool, scope, ids, "surveys", "t.survey_index")
}

/// The resolutions of a batch of conversations.
pub async fn resolutions(
    pool: &PgPool,
    scope: &Scope,
    ids: &[String],
) -> Result<Vec<ResolutionRow>, sqlx::Error> {
    conversation_children!(pool, scope, ids, "resolutions", "t.resolution_index")
}

/// The recent transfers of a batch of conversations, oldest first.
pub async fn transfers(
    pool: &PgPool,
    scope: &Scope,
    ids: &[String],
) -> Result<Vec<TransferRow>, sqlx::Error> {
    conversation_children!(
        pool,
        scope,
        ids,
        "transfers",
        "t.date_issued nulls last, t.transfer_id"
    )
}

/// The division entities of a batch of conversations.
pub async fn division_entities(
    pool: &PgPool,
    scope: &Scope,
    ids: &[String],
) -> Result<Vec<DivisionEntityRow>, sqlx::Error> {
    conversation_children!(
        pool,
        scope,
        ids,
        "division_entities",
        "t.division_id, t.entity_index"
    )
}

/// Divisions by id (names and addresses). Reached only through the division ids of
/// conversations the caller can see.
pub async fn divisions(pool: &PgPool, ids: &[String]) -> Result<Vec<DivisionRow>, sqlx::Error> {
    let rows = sqlx::query_scalar!(
        r#"select coalesce(jsonb_agg(to_jsonb(d) order by d.division_id), '[]') as "rows!"
           from divisions d where d.division_id = any($1)"#,
        ids
    )
    .fetch_one(pool)
    .await?;
    decode_rows(rows)
}

/// Keys of sessions, column by column, for batched loads of their children.
#[derive(Debug, Default)]
pub struct SessionKeys {
    pub conversation_ids: Vec<String>,
    pub participant_ids: Vec<String>,
    pub session_ids: Vec<String>,
}

/// Reads the rows of one session-child table for a batch of sessions; the SQL is a literal
/// per table so that sqlx checks it.
macro_rules! session_children {
    ($pool:expr, $scope:expr, $keys:expr, $table:literal, $order:literal) => {{
        let (all, divisions, units) = scope_params($scope);
        let rows = sqlx::query_scalar!(
            "select coalesce(jsonb_agg(to_jsonb(t) order by t.conversation_id, t.participant_id, t.session_id, " + $order + "), '[]') as \"rows!\"
             from " + $table + " t join conversations c using (conversation_id)
             where (t.conversation_id, t.participant_id, t.session_id)
                   in (select * from unnest($1::text[], $2::text[], $3::text[]))
               and ($4 or c.division_ids && $5 or c.business_unit_id = any($6))",
            &$keys.conversation_ids,
            &$keys.participant_ids,
            &$keys.session_ids,
            all,
            &divisions,
            &units
        )
        .fetch_one($pool)
        .await?;
        decode_rows(rows)
    }};
}

/// The segments of a batch of sessions.
pub async fn segments(
    pool: &PgPool,
    scope: &Scope,
    keys: &SessionKeys,
) -> Result<Vec<SegmentRow>, sqlx::Error> {
    session_children!(pool, scope, keys, "segments", "t.segment_index")
}

/// The metrics of a batch of sessions.
pub async fn metrics(
    pool: &PgPool,
    scope: &Scope,
    keys: &SessionKeys,
) -> Result<Vec<MetricRow>, sqlx::Error> {
    session_children!(pool, scope, keys, "session_metrics", "t.metric_index")
}

/// The flows of a batch of sessions.
pub async fn flows(
    pool: &PgPool,
    scope: &Scope,
    keys: &SessionKeys,
) -> Result<Vec<FlowRow>, sqlx::Error> {
    session_children!(pool, scope, keys, "flows", "t.session_id")
}

/// The agents proposed to a batch of sessions.
pub async fn proposed_agents(
    pool: &PgPool,
    scope: &Scope,
    keys: &SessionKeys,
) -> Result<Vec<ProposedAgentRow>, sqlx::Error> {
    session_children!(pool, scope, keys, "proposed_agents", "t.proposed_index")
}

/// The media endpoint statistics of a batch of sessions.
pub async fn media_endpoint_stats(
    pool: &PgPool,
    scope: &Scope,
    keys: &SessionKeys,
) -> Result<Vec<MediaEndpointStatRow>, sqlx::Error> {
    session_children!(pool, scope, keys, "media_endpoint_stats", "t.stat_index")
}

/// The agent groups of a batch of sessions.
pub async fn agent_groups(
    pool: &PgPool,
    scope: &Scope,
    keys: &SessionKeys,
) -> Result<Vec<AgentGroupRow>, sqlx::Error> {
    session_children!(pool, scope, keys, "agent_groups", "t.group_index")
}

/// The scored agents of every segment of a batch of sessions.
pub async fn scored_agents(
    pool: &PgPool,
    scope: &Scope,
    keys: &SessionKeys,
) -> Result<Vec<ScoredAgentRow>, sqlx::Error> {
    session_children!(
        pool,
        scope,
        keys,
        "scored_agents",
        "t.segment_index, t.scored_index"
    )
}

/// The properties of every segment of a batch of sessions.
pub async fn segment_properties(
    pool: &PgPool,
    scope: &Scope,
    keys: &SessionKeys,
) -> Result<Vec<SegmentPropertyRow>, sqlx::Error> {
    session_children!(
        pool,
        scope,
        keys,
        "segment_properties",
        "t.segment_index, t.property_index"
    )
}

/// The flow outcomes of a batch of sessions.
pub async fn flow_outcomes(
    pool: &PgPool,
    scope: &Scope,
    keys: &SessionKeys,
) -> Result<Vec<FlowOutcomeRow>, sqlx::Error> {
    session_children!(pool, scope, keys, "flow_outcomes", "t.outcome_index")
}
