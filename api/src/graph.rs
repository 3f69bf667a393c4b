//! The conversation graph in GraphQL: conversations -> participants -> sessions -> segments,
//! metrics and flows. Children load through per-request dataloaders: one batched, scoped
//! statement per level whatever the number of parents.

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, ErrorExtensions, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use db::read::{self, ConversationCursor, ConversationFilter, SessionKeys};
use domain::Scope;
use domain::graph::*;
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::Arc;

use crate::error::ApiError;

/// Loads children for one request, within that request's scope (never shared across callers).
pub struct GraphLoader {
    pub pool: PgPool,
    pub scope: Scope,
}

/// The request's loader.
pub type Loaders = DataLoader<GraphLoader>;

pub fn loaders(pool: PgPool, scope: Scope) -> Loaders {
    DataLoader::new(GraphLoader { pool, scope }, tokio::spawn)
}

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ParticipantsOf(pub String);
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionsOf(pub String, pub String);
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionKey(pub String, pub String, pub String);
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SegmentsOf(pub SessionKey);
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MetricsOf(pub SessionKey);
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct FlowOf(pub SessionKey);
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct OutcomesOf(pub SessionKey);

fn internal(e: sqlx::Error) -> Arc<ApiError> {
    Arc::new(ApiError::internal(e))
}

impl Loader<ParticipantsOf> for GraphLoader {
    type Value = Vec<ParticipantRow>;
    type Error = Arc<ApiError>;
    async fn load(
        &self,
        keys: &[ParticipantsOf],
    ) -> Result<HashMap<ParticipantsOf, Self::Value>, Self::Error> {
        let ids: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
        let rows = read::participants(&self.pool, &self.scope, &ids)
            .await
            .map_err(internal)?;
        Ok(group(rows, |r| ParticipantsOf(r.conversation_id.clone())))
    }
}

impl Loader<SessionsOf> for GraphLoader {
    type Value = Vec<SessionRow>;
    type Error = Arc<ApiError>;
    async fn load(
        &self,
        keys: &[SessionsOf],
    ) -> Result<HashMap<SessionsOf, Self::Value>, Self::Error> {
        let (c, p): (Vec<_>, Vec<_>) = keys.iter().map(|k| (k.0.clone(), k.1.clone())).unzip();
        let rows = read::sessions(&self.pool, &self.scope, &c, &p)
            .await
            .map_err(internal)?;
        Ok(group(rows, |r| {
            SessionsOf(r.conversation_id.clone(), r.participant_id.clone())
        }))
    }
}

fn session_keys<'k>(keys: impl Iterator<Item = &'k SessionKey>) -> SessionKeys {
    let mut out = SessionKeys::default();
    for k in keys {
        out.conversation_ids.push(k.0.clone());
        out.participant_ids.push(k.1.clone());
        out.session_ids.push(k.2.clone());
    }
    out
}

macro_rules! session_child_loader {
    ($key:ident, $row:ty, $read:path) => {
        impl Loader<$key> for GraphLoader {
            type Value = Vec<$row>;
            type Error = Arc<ApiError>;
            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Self::Value>, Self::Error> {
                let batch = session_keys(keys.iter().map(|k| &k.0));
                let rows = $read(&self.pool, &self.scope, &batch)
                    .await
                    .map_err(internal)?;
                Ok(group(rows, |r| {
                    $key(SessionKey(
                        r.conversation_id.clone(),
                        r.participant_id.clone(),
                        r.session_id.clone(),
                    ))
                }))
            }
        }
    };
}
session_child_loader!(SegmentsOf, SegmentRow, read::segments);
session_child_loader!(MetricsOf, MetricRow, read::metrics);
session_child_loader!(FlowOf, FlowRow, read::flows);
session_child_loader!(OutcomesOf, FlowOutcomeRow, read::flow_outcomes);

fn group<K: std::hash::Hash + Eq, T>(rows: Vec<T>, key: impl Fn(&T) -> K) -> HashMap<K, Vec<T>> {
    let mut map: HashMap<K, Vec<T>> = HashMap::new();
    for row in rows {
        map.entry(key(&row)).or_default().push(row);
    }
    map
}

async fn load<K, T>(ctx: &Context<'_>, key: K) -> Result<Vec<T>>
where
    K: Send + Sync + Clone + Eq + std::hash::Hash + 'static,
    T: Send + Sync + Clone + 'static,
    GraphLoader: Loader<K, Value = Vec<T>, Error = Arc<ApiError>>,
{
    let loaders = ctx.data::<Loaders>()?;
    match loaders.load_one(key).await {
        Ok(rows) => Ok(rows.unwrap_or_default()),
        Err(e) => Err(e.as_ref().extend()),
    }
}

/// A conversation: participants joining over time, each with sessions (media legs).
pub struct Conversation(pub ConversationRow);

#[Object]
impl Conversation {
    /// The conversation id, as the source platform gave it.
    async fn id(&self) -> async_graphql::ID {
        async_graphql::ID(self.0.conversation_id.clone())
    }
    /// Which source shape it came from: `genesys.analytics`, `genesys.conversation`.
    async fn source(&self) -> &str {
        &self.0.source
    }
    /// When the conversation started (UTC).
    async fn start_time(&self) -> Option<DateTime<Utc>> {
        self.0.conversation_start
    }
    /// When it ended (UTC); null while in progress.
    async fn end_time(&self) -> Option<DateTime<Utc>> {
        self.0.conversation_end
    }
    /// Genesys divisions the conversation belongs to.
    async fn division_ids(&self) -> &[String] {
        &self.0.division_ids
    }
    /// Buzzeasy business unit the conversation belongs to.
    async fn business_unit_id(&self) -> Option<&str> {
        self.0.business_unit_id.as_deref()
    }
    /// `inbound` or `outbound`.
    async fn originating_direction(&self) -> Option<&str> {
        self.0.originating_direction.as_deref()
    }
    /// Purpose of the participant that started it (customer, agent, …).
    async fn conversation_initiator(&self) -> Option<&str> {
        self.0.conversation_initiator.as_deref()
    }
    /// External tag set by an integration.
    async fn external_tag(&self) -> Option<&str> {
        self.0.external_tag.as_deref()
    }
    /// Whether every flow session was self-served.
    async fn self_served(&self) -> Option<bool> {
        self.0.self_served
    }
    /// Lowest MOS of the conversation's media.
    async fn media_stats_min_conversation_mos(&self) -> Option<f64> {
        self.0.media_stats_min_conversation_mos
    }
    /// Source fields convgraph has no field for, as sent.
    async fn extra(&self) -> Json<&serde_json::Map<String, serde_json::Value>> {
        Json(&self.0.extra)
    }
    /// The participants, in source order.
    async fn participants(&self, ctx: &Context<'_>) -> Result<Vec<Participant>> {
        let rows = load(ctx, ParticipantsOf(self.0.conversation_id.clone())).await?;
        Ok(rows.into_iter().map(Participant).collect())
    }
}

/// A participant: customer, agent, acd (queue), ivr, workflow, external, …
pub struct Participant(pub ParticipantRow);

#[Object]
impl Participant {
    /// Participant id.
    async fn id(&self) -> &str {
        &self.0.participant_id
    }
    /// The role in the conversation: customer, agent, acd, ivr, … (an open set).
    async fn purpose(&self) -> Option<&str> {
        self.0.purpose.as_deref()
    }
    /// The agent, for agent participants.
    async fn user_id(&self) -> Option<&str> {
        self.0.user_id.as_deref()
    }
    /// The agent's team.
    async fn team_id(&self) -> Option<&str> {
        self.0.team_id.as_deref()
    }
    /// The queue, for platform participants.
    async fn queue_id(&self) -> Option<&str> {
        self.0.queue_id.as_deref()
    }
    /// Source fields convgraph has no field for, as sent.
    async fn extra(&self) -> Json<&serde_json::Map<String, serde_json::Value>> {
        Json(&self.0.extra)
    }
    /// The participant's sessions (media legs).
    async fn sessions(&self, ctx: &Context<'_>) -> Result<Vec<Session>> {
        let key = SessionsOf(
            self.0.conversation_id.clone(),
            self.0.participant_id.clone(),
        );
        Ok(load(ctx, key).await?.into_iter().map(Session).collect())
    }
}

/// A session ("communication"): one media leg of a participant.
pub struct Session(pub SessionRow);

impl Session {
    fn key(&self) -> SessionKey {
        SessionKey(
            self.0.conversation_id.clone(),
            self.0.participant_id.clone(),
            self.0.session_id.clone(),
        )
    }
}

#[Object]
impl Session {
    /// Session id (unique within its conversation).
    async fn id(&self) -> &str {
        &self.0.session_id
    }
    /// voice, callback, chat, email, message, cobrowse, screenshare, video, … (an open set).
    async fn media_type(&self) -> Option<&str> {
        self.0.media_type.as_deref()
    }
    /// inbound or outbound.
    async fn direction(&self) -> Option<&str> {
        self.0.direction.as_deref()
    }
    /// The related session on the other side (e.g. the customer's).
    async fn peer_id(&self) -> Option<&str> {
        self.0.peer_id.as_deref()
    }
    /// Source provider of the communication.
    async fn provider(&self) -> Option<&str> {
        self.0.provider.as_deref()
    }
    /// Messaging type (sms, webmessaging, …), for messages.
    async fn message_type(&self) -> Option<&str> {
        self.0.message_type.as_deref()
    }
    /// Source fields convgraph has no field for, as sent.
    async fn extra(&self) -> Json<&serde_json::Map<String, serde_json::Value>> {
        Json(&self.0.extra)
    }
    /// The session's segments, in time order.
    async fn segments(&self, ctx: &Context<'_>) -> Result<Vec<Segment>> {
        Ok(load(ctx, SegmentsOf(self.key()))
            .await?
            .into_iter()
            .map(Segment)
            .collect())
    }
    /// The session's metrics (nOffered, tTalk, tHandle, …).
    async fn metrics(&self, ctx: &Context<'_>) -> Result<Vec<SessionMetric>> {
        let rows = load(ctx, MetricsOf(self.key())).await?;
        Ok(rows
            .into_iter()
            .map(|m| SessionMetric {
                name: m.name.unwrap_or_default(),
                value: m.value,
                emit_date: m.emit_date,
            })
            .collect())
    }
    /// The IVR flow the session ran through, if any.
    async fn flow(&self, ctx: &Context<'_>) -> Result<Option<Flow>> {
        let flow = load(ctx, FlowOf(self.key())).await?.into_iter().next();
        Ok(flow.map(|f| Flow(f, self.key())))
    }
}

/// A continuous span of a session in one state.
pub struct Segment(pub SegmentRow);

#[Object]
impl Segment {
    /// alert, interact, hold, wrapup, ivr, dialing, … (an open set).
    async fn segment_type(&self) -> Option<&str> {
        self.0.segment_type.as_deref()
    }
    async fn start_time(&self) -> Option<DateTime<Utc>> {
        self.0.segment_start
    }
    async fn end_time(&self) -> Option<DateTime<Utc>> {
        self.0.segment_end
    }
    /// The queue the segment was in.
    async fn queue_id(&self) -> Option<&str> {
        self.0.queue_id.as_deref()
    }
    /// Wrap-up code chosen by the agent.
    async fn wrap_up_code(&self) -> Option<&str> {
        self.0.wrap_up_code.as_deref()
    }
    /// How the segment ended: peer, client, transfer, endpoint, … (an open set).
    async fn disconnect_type(&self) -> Option<&str> {
        self.0.disconnect_type.as_deref()
    }
    /// Whether the segment was part of a conference.
    async fn conference(&self) -> Option<bool> {
        self.0.conference
    }
    /// Source fields convgraph has no field for, as sent.
    async fn extra(&self) -> Json<&serde_json::Map<String, serde_json::Value>> {
        Json(&self.0.extra)
    }
}

/// A metric of a session: a count (n…), a duration in milliseconds (t…) or a value (o…).
#[derive(SimpleObject)]
pub struct SessionMetric {
    pub name: String,
    pub value: Option<i64>,
    pub emit_date: Option<DateTime<Utc>>,
}

/// An IVR flow execution.
pub struct Flow(pub FlowRow, SessionKey);

#[Object]
impl Flow {
    async fn flow_id(&self) -> Option<&str> {
        self.0.flow_id.as_deref()
    }
    async fn flow_name(&self) -> Option<&str> {
        self.0.flow_name.as_deref()
    }
    async fn flow_type(&self) -> Option<&str> {
        self.0.flow_type.as_deref()
    }
    async fn flow_version(&self) -> Option<&str> {
        self.0.flow_version.as_deref()
    }
    async fn entry_reason(&self) -> Option<&str> {
        self.0.entry_reason.as_deref()
    }
    async fn exit_reason(&self) -> Option<&str> {
        self.0.exit_reason.as_deref()
    }
    async fn transfer_type(&self) -> Option<&str> {
        self.0.transfer_type.as_deref()
    }
    /// Outcomes reached in the flow.
    async fn outcomes(&self, ctx: &Context<'_>) -> Result<Vec<FlowOutcome>> {
        Ok(load(ctx, OutcomesOf(self.1.clone()))
            .await?
            .into_iter()
            .map(|o| FlowOutcome {
                flow_outcome: o.flow_outcome,
                flow_outcome_id: o.flow_outcome_id,
                flow_outcome_value: o.flow_outcome_value,
                start_time: o.flow_outcome_start_timestamp,
                end_time: o.flow_outcome_end_timestamp,
            })
            .collect())
    }
}

/// An outcome reached in a flow.
#[derive(SimpleObject)]
pub struct FlowOutcome {
    pub flow_outcome: Option<String>,
    pub flow_outcome_id: Option<String>,
    pub flow_outcome_value: Option<String>,
    pub start_time: Option<DateTime<Utc>>,
    pub end_time: Option<DateTime<Utc>>,
}

/// The conversation roots.
#[derive(Default)]
pub struct ConversationQuery;

const DEFAULT_PAGE: i32 = 25;
const MAX_PAGE: i32 = 500;

#[Object]
impl ConversationQuery {
    /// A conversation by id; null when it does not exist or is outside your scope.
    async fn conversation(
        &self,
        ctx: &Context<'_>,
        id: async_graphql::ID,
    ) -> Result<Option<Conversation>> {
        let (pool, scope) = request(ctx)?;
        let row = read::conversation(pool, scope, &id)
            .await
            .map_err(|e| ApiError::internal(e).extend())?;
        Ok(row.map(Conversation))
    }

    /// Conversations in your scope, oldest first, a page at a time.
    async fn conversations(
        &self,
        ctx: &Context<'_>,
        filter: Option<ConversationFilterInput>,
        #[graphql(desc = "Page size (default 25, at most 500).")] first: Option<i32>,
        #[graphql(desc = "The endCursor of the previous page.")] after: Option<String>,
    ) -> Result<ConversationConnection> {
        let (pool, scope) = request(ctx)?;
        let filter = filter
            .unwrap_or_default()
            .into_filter()
            .map_err(|e| e.extend())?;
        let first = first.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&first) {
            return Err(ApiError::bad_input(format!(
                "first must be between 1 and {MAX_PAGE}, got {first}"
            ))
            .extend());
        }
        let after = after
            .map(|c| decode_cursor(&c))
            .transpose()
            .map_err(|e| e.extend())?;
        let mut rows =
            read::conversations(pool, scope, &filter, after.as_ref(), i64::from(first) + 1)
                .await
                .map_err(|e| ApiError::internal(e).extend())?;
        let has_next_page = rows.len() > first as usize;
        rows.truncate(first as usize);
        Ok(ConversationConnection {
            rows,
            has_next_page,
            filter,
        })
    }
}

fn request<'c>(ctx: &Context<'c>) -> Result<(&'c PgPool, &'c Scope)> {
    let pool = ctx.data::<PgPool>()?;
    let caller = ctx.data::<crate::auth::Caller>()?;
    Ok((pool, &caller.scope))
}

/// Which conversations to list.
#[derive(async_graphql::InputObject, Default)]
pub struct ConversationFilterInput {
    /// ISO-8601 interval `start/end`: conversations that start inside it.
    pub interval: Option<String>,
    /// Conversations in at least one of these divisions.
    pub division_ids: Option<Vec<String>>,
}

impl ConversationFilterInput {
    fn into_filter(self) -> std::result::Result<ConversationFilter, ApiError> {
        let (start_from, start_before) = match &self.interval {
            None => (None, None),
            Some(interval) => {
                let (a, b) = parse_interval(interval)?;
                (Some(a), Some(b))
            }
        };
        Ok(ConversationFilter {
            start_from,
            start_before,
            division_ids: self.division_ids,
        })
    }
}

/// Parses an ISO-8601 interval `start/end` into two instants.
pub fn parse_interval(
    interval: &str,
) -> std::result::Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    let bad = |why: String| ApiError::bad_input(format!("interval {interval:?}: {why}"));
    let (a, b) = interval.split_once('/').ok_or_else(|| {
        bad("expected start/end, e.g. 2026-11-01T00:00:00Z/2026-11-02T00:00:00Z".into())
    })?;
    let a = domain::reader::parse_time(a).map_err(bad)?;
    let b = domain::reader::parse_time(b).map_err(bad)?;
    if b <= a {
        return Err(bad("the end must be after the start".into()));
    }
    Ok((a, b))
}

/// A page of conversations.
pub struct ConversationConnection {
    rows: Vec<ConversationRow>,
    has_next_page: bool,
    filter: ConversationFilter,
}

/// An edge: a conversation and its cursor.
#[derive(SimpleObject)]
pub struct ConversationEdge {
    pub cursor: String,
    pub node: ConversationNode,
}

/// Alias kept so that edges hold the Conversation object.
pub type ConversationNode = Conversation;

/// Where a page stands.
#[derive(SimpleObject)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

#[Object]
impl ConversationConnection {
    /// How many conversations the filter selects in your scope (counted only when asked for).
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i64> {
        let (pool, scope) = request(ctx)?;
        read::count_conversations(pool, scope, &self.filter)
            .await
            .map_err(|e| ApiError::internal(e).extend())
    }
    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.has_next_page,
            end_cursor: self.rows.last().map(cursor_of),
        }
    }
    async fn edges(&self) -> Vec<ConversationEdge> {
        self.rows
            .iter()
            .map(|r| ConversationEdge {
                cursor: cursor_of(r),
                node: Conversation(r.clone()),
            })
            .collect()
    }
    async fn nodes(&self) -> Vec<Conversation> {
        self.rows.iter().cloned().map(Conversation).collect()
    }
}

fn cursor_of(row: &ConversationRow) -> String {
    let start = row
        .conversation_start
        .map(|t| t.to_rfc3339())
        .unwrap_or_default();
    hex(&format!("{start}\n{}", row.conversation_id))
}

fn decode_cursor(cursor: &str) -> std::result::Result<ConversationCursor, ApiError> {
    let bad = || ApiError::bad_input(format!("after: {cursor:?} is not a cursor from this list"));
    let text = unhex(cursor).ok_or_else(bad)?;
    let (start, id) = text.split_once('\n').ok_or_else(bad)?;
    let start = domain::reader::parse_time(start).map_err(|_| bad())?;
    Ok(ConversationCursor {
        start,
        id: id.to_owned(),
    })
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<String> {
    if s.len() % 2 != 0 || s.len() > 4096 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect();
    String::from_utf8(bytes?).ok()
}
