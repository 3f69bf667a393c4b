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

/// Which conversations a list shows.
#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    /// Conversations that start at or after this instant.
    pub start_from: Option<DateTime<Utc>>,
    /// Conversations that start before this instant.
    pub start_before: Option<DateTime<Utc>>,
    /// Conversations in at least one of these divisions.
    pub division_ids: Option<Vec<String>>,
}

/// A position in the list ordered by (start, id): the keyset of the last row seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationCursor {
    pub start: DateTime<Utc>,
    pub id: String,
}

/// Up to `limit` conversations after `after`, ordered by start then id. Conversations without
/// a start time are not listed (they can be read by id).
pub async fn conversations(
    pool: &PgPool,
    scope: &Scope,
    filter: &ConversationFilter,
    after: Option<&ConversationCursor>,
    limit: i64,
) -> Result<Vec<ConversationRow>, sqlx::Error> {
    let (all, divisions, units) = scope_params(scope);
    let rows = sqlx::query_scalar!(
        r#"select coalesce(jsonb_agg(to_jsonb(c) order by c.conversation_start, c.conversation_id), '[]') as "rows!"
           from (
               select * from conversations c
               where ($1 or c.division_ids && $2 or c.business_unit_id = any($3))
                 and c.conversation_start is not null
                 and ($4::timestamptz is null or c.conversation_start >= $4)
                 and ($5::timestamptz is null or c.conversation_start < $5)
                 and ($6::text[] is null or c.division_ids && $6)
                 and ($7::timestamptz is null or (c.conversation_start, c.conversation_id) > ($7, $8::text))
               order by c.conversation_start, c.conversation_id
               limit $9
           ) c"#,
        all,
        &divisions,
        &units,
        filter.start_from,
        filter.start_before,
        filter.division_ids.as_deref(),
        after.map(|a| a.start),
        after.map(|a| a.id.as_str()),
        limit
    )
    .fetch_one(pool)
    .await?;
    decode_rows(rows)
}

/// How many conversations the filter selects, within the scope.
pub async fn count_conversations(
    pool: &PgPool,
    scope: &Scope,
    filter: &ConversationFilter,
) -> Result<i64, sqlx::Error> {
    let (all, divisions, units) = scope_params(scope);
    sqlx::query_scalar!(
        r#"select count(*) as "n!" from conversations c
           where ($1 or c.division_ids && $2 or c.business_unit_id = any($3))
             and c.conversation_start is not null
             and ($4::timestamptz is null or c.conversation_start >= $4)
             and ($5::timestamptz is null or c.conversation_start < $5)
             and ($6::text[] is null or c.division_ids && $6)"#,
        all,
        &divisions,
        &units,
        filter.start_from,
        filter.start_before,
        filter.division_ids.as_deref(),
    )
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

/// The flow outcomes of a batch of sessions.
pub async fn flow_outcomes(
    pool: &PgPool,
    scope: &Scope,
    keys: &SessionKeys,
) -> Result<Vec<FlowOutcomeRow>, sqlx::Error> {
    session_children!(pool, scope, keys, "flow_outcomes", "t.outcome_index")
}
