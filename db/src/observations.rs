//! Queue observations, as Genesys' `v2.analytics.queues.{id}.observations` topic and its
//! observation query report them: what is happening in each queue now, per media type.
//!
//! - `oWaiting`: conversations in progress waiting in the queue: an open segment of the queue's
//!   `acd` participant (Genesys), or a queue segment not dequeued yet (Buzzeasy).
//! - `oAlerting`, `oInteracting`: open `alert`, and `interact` or `hold`, segments of agents
//!   on conversations of the queue.
//! - `oOnQueueUsers` and `oUserPresences` (by state): the agents of the queue's business unit
//!   whose current state is not a break or a log-out, and all of them by current state.
//!
//! Conversations count only when the caller may see them, queues only when it may see them.

use crate::exec;
use chrono::{DateTime, Utc};
use domain::Scope;
use domain::catalog::table;
use sqlx::{FromRow, PgPool};

use crate::select::visible::{ScopeParams, restrict};
use crate::sql::Sql;

/// One observed number.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct Observation {
    pub queue_id: String,
    /// The media type, for the conversation metrics; none for the users'.
    pub media_type: Option<String>,
    pub metric: String,
    /// The presence, for `oUserPresences`.
    pub qualifier: Option<String>,
    pub count: i64,
    /// When the longest-waiting (alerting, interacting) one started.
    pub oldest: Option<DateTime<Utc>>,
}

/// The observations of the queues `queue_ids`, for `media_types` when given, at `now`:
/// conversations count when the caller sees them; the users' metrics, of queues in the lookup
/// the caller sees.
pub async fn observe(
    pool: &PgPool,
    scope: &Scope,
    queue_ids: &[String],
    media_types: Option<&[String]>,
    now: DateTime<Utc>,
) -> Result<Vec<Observation>, sqlx::Error> {
    let mut sql = Sql::new();
    let params = ScopeParams::bind(&mut sql, scope);
    let mut aliases = 0;
    let queues = table("queues").expect("queues");
    let conversations = table("conversations").expect("conversations");
    let ids = sql.bind(queue_ids.to_vec());
    let now = sql.bind(now);
    let media = media_types.map(|m| sql.bind(m.to_vec()));

    // The queues asked for, known to the queue lookup or not (a Genesys queue may not be);
    // the users' metrics need the lookup (a queue's business unit) and the queue in scope.
    sql.push("with q as (select unnest(")
        .push(&ids)
        .push("::text[]) as queue_id), ");
    sql.push("vq as (select t.queue_id, ch.business_unit_id from queues t ");
    sql.push("join channels ch on ch.channel_id = t.channel_id where t.queue_id = any(");
    sql.push(&ids).push(")");
    restrict(&mut sql, &params, queues, "t", &mut aliases);
    sql.push(
        "), open as (select g.queue_id, s.media_type, p.purpose, g.segment_type, g.segment_start ",
    );
    sql.push("from segments g join conversations t on t.conversation_id = g.conversation_id ");
    sql.push("join participants p on p.conversation_id = g.conversation_id and p.participant_id = g.participant_id ");
    sql.push("join sessions s on s.conversation_id = g.conversation_id and s.participant_id = g.participant_id ");
    sql.push("and s.session_id = g.session_id ");
    sql.push("where g.segment_end is null and g.queue_id is not null and g.queue_id in (select queue_id from q) ");
    sql.push("and t.conversation_end is null");
    restrict(&mut sql, &params, conversations, "t", &mut aliases);
    sql.push(" union all select w.queue_id, t.media_type, 'acd', 'interact', w.queued_at ");
    sql.push(
        "from queue_segments w join conversations t on t.conversation_id = w.conversation_id ",
    );
    sql.push("where w.dequeued_at is null and w.queue_id in (select queue_id from q) ");
    sql.push("and t.conversation_end is null");
    restrict(&mut sql, &params, conversations, "t", &mut aliases);
    sql.push("), metrics as (select queue_id, media_type, m.metric, null::text as qualifier, ");
    sql.push("count(*) as count, min(segment_start) as oldest from open, lateral (select case ");
    sql.push("when purpose = 'acd' and segment_type = 'interact' then 'oWaiting' ");
    sql.push("when purpose = 'agent' and segment_type = 'alert' then 'oAlerting' ");
    sql.push(
        "when purpose = 'agent' and segment_type in ('interact', 'hold') then 'oInteracting' ",
    );
    sql.push("end as metric) m where m.metric is not null");
    if let Some(media) = &media {
        sql.push(" and media_type = any(").push(media).push(")");
    }
    sql.push(" group by 1, 2, 3), users as (select distinct vq.queue_id, a.agent_id from vq ");
    sql.push("join agent_business_unit_changes a on a.business_unit_id = vq.business_unit_id and a.assigned), ");
    sql.push(
        "presences as (select u.queue_id, null::text as media_type, 'oUserPresences' as metric, ",
    );
    sql.push("n.state as qualifier, count(*) as count, null::timestamptz as oldest from users u ");
    sql.push("join lateral (select st.state, st.start_time, st.duration_in_seconds from agent_states st ");
    sql.push("where st.agent_id = u.agent_id and st.start_time <= ")
        .push(&now);
    sql.push(" order by st.start_time desc limit 1) n on n.duration_in_seconds is null ");
    sql.push("or n.start_time + n.duration_in_seconds * interval '1 second' > ")
        .push(&now);
    sql.push(" group by 1, 4) ");
    sql.push("select queue_id, media_type, metric, qualifier, count, oldest from metrics ");
    sql.push(
        "union all select queue_id, media_type, metric, qualifier, count, oldest from presences ",
    );
    sql.push("union all select queue_id, null, 'oOnQueueUsers', null, sum(count)::bigint, null from presences ");
    sql.push("where qualifier not in ('Break', 'Logged out') group by queue_id ");
    sql.push("order by queue_id, media_type nulls first, metric, qualifier nulls first");
    let (text, args) = sql.into_parts();
    sqlx::query_as_with::<_, Observation, _>(&text, args)
        .fetch_all(exec::pool(pool))
        .await
}
