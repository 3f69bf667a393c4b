//! The conversation graph in GraphQL: conversations -> participants -> sessions -> segments,
//! with metrics, flows and their outcomes, proposed agents, media endpoint statistics, agent
//! groups, scored agents and segment properties; per conversation its divisions, evaluations,
//! surveys, resolutions, transfers and consult / associated conversations.
//!
//! Each type serves every column of its row (flattened from the row type, in the Genesys
//! spelling: `conversationStart`, `mediaType`, `tAbandon` …), `extra` with the source fields that
//! have no column, and its relations, which load through the request's dataloaders.

use async_graphql::{Context, Json, Object, Result};
use domain::graph::*;

use crate::feed::{self, loaders::*};
use crate::loader::*;

type Extra<'a> = Json<&'a serde_json::Map<String, serde_json::Value>>;

/// A conversation: participants joining over time, each with sessions (media legs).
pub struct Conversation(pub Member<ConversationRow>);

/// A conversation: participants joining over time, each with sessions (media legs). Times are
/// UTC; durations are milliseconds.
#[Object]
impl Conversation {
    /// The conversation id, as the source platform gave it.
    async fn id(&self) -> async_graphql::ID {
        async_graphql::ID(self.row().conversation_id.clone())
    }
    #[graphql(flatten)]
    async fn fields(&self) -> &ConversationRow {
        self.row()
    }
    /// From start to end in milliseconds; null while in progress.
    async fn duration_ms(&self) -> Option<i64> {
        duration_ms(self.row().conversation_start, self.row().conversation_end)
    }
    /// Source fields convgraph has no column for, exactly as sent; empty without the `pii:read`
    /// permission, since they may hold personal data.
    async fn extra(&self) -> Extra<'_> {
        Json(&self.row().extra)
    }
    /// The divisions the conversation belongs to, with their names when known.
    async fn divisions(&self, ctx: &Context<'_>) -> Result<Vec<Division>> {
        let known: Vec<DivisionRow> = self
            .0
            .rows(ctx, |c| {
                c.division_ids.iter().cloned().map(DivisionById).collect()
            })
            .await?;
        Ok(self
            .row()
            .division_ids
            .iter()
            .map(|id| {
                Division(
                    known
                        .iter()
                        .find(|d| &d.division_id == id)
                        .cloned()
                        .unwrap_or_else(|| DivisionRow {
                            division_id: id.clone(),
                            ..Default::default()
                        }),
                )
            })
            .collect())
    }
    /// The agent tasks (workitems) that handled the conversation and that you can see.
    async fn workitems(&self, ctx: &Context<'_>) -> Result<Vec<feed::Workitem>> {
        let members = self
            .0
            .children(ctx, |c| vec![WorkitemsOfConversation(id(c))])
            .await?;
        Ok(members.into_iter().map(feed::Workitem).collect())
    }
    /// Buzzeasy: the spans of the conversation in queues.
    async fn queue_segments(&self, ctx: &Context<'_>) -> Result<Vec<feed::QueueSegment>> {
        let members = self
            .0
            .children(ctx, |c| vec![QueueSegmentsOf(id(c))])
            .await?;
        Ok(members.into_iter().map(feed::QueueSegment).collect())
    }
    /// Buzzeasy: the spans of the conversation in bot nodes of the workflow.
    async fn bot_segments(&self, ctx: &Context<'_>) -> Result<Vec<feed::BotSegment>> {
        let members = self.0.children(ctx, |c| vec![BotSegmentsOf(id(c))]).await?;
        Ok(members.into_iter().map(feed::BotSegment).collect())
    }
    /// Buzzeasy: the queues that refused the conversation.
    async fn rejected_enqueue_attempts(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<feed::RejectedEnqueueAttempt>> {
        let members = self
            .0
            .children(ctx, |c| vec![RejectedAttemptsOf(id(c))])
            .await?;
        Ok(members
            .into_iter()
            .map(feed::RejectedEnqueueAttempt)
            .collect())
    }
    /// Buzzeasy: workflow variables filled during the conversation.
    async fn captured_data(&self, ctx: &Context<'_>) -> Result<Vec<feed::CapturedData>> {
        let rows = self.0.rows(ctx, |c| vec![CapturedDataOf(id(c))]).await?;
        Ok(rows.into_iter().map(feed::CapturedData).collect())
    }
    /// Buzzeasy: the conversation this one was transferred into, when you can see it.
    async fn next_conversation(&self, ctx: &Context<'_>) -> Result<Option<Conversation>> {
        let members = self
            .0
            .children(ctx, |c| {
                c.next_conversation_id
                    .iter()
                    .cloned()
                    .map(LinkedConversation)
                    .collect()
            })
            .await?;
        Ok(members.into_iter().next().map(Conversation))
    }
    /// Buzzeasy: the channel of the conversation, when you can see it.
    async fn channel(&self, ctx: &Context<'_>) -> Result<Option<feed::Channel>> {
        let members = self
            .0
            .children(ctx, |c| {
                c.channel_id.iter().cloned().map(ChannelById).collect()
            })
            .await?;
        Ok(members.into_iter().next().map(feed::Channel))
    }
    /// Buzzeasy: the business unit of the conversation.
    async fn business_unit(&self, ctx: &Context<'_>) -> Result<Option<feed::BusinessUnit>> {
        let members = self
            .0
            .children(ctx, |c| {
                c.business_unit_id
                    .iter()
                    .cloned()
                    .map(BusinessUnitById)
                    .collect()
            })
            .await?;
        Ok(members.into_iter().next().map(feed::BusinessUnit))
    }
    /// The participants, in source order.
    async fn participants(&self, ctx: &Context<'_>) -> Result<Vec<Participant>> {
        let members = self
            .0
            .children(ctx, |c| vec![ParticipantsOf(id(c))])
            .await?;
        Ok(members.into_iter().map(Participant).collect())
    }
    /// Quality evaluations of the conversation.
    async fn evaluations(&self, ctx: &Context<'_>) -> Result<Vec<Evaluation>> {
        let rows = self.0.rows(ctx, |c| vec![EvaluationsOf(id(c))]).await?;
        Ok(rows.into_iter().map(Evaluation).collect())
    }
    /// Customer surveys sent after the conversation.
    async fn surveys(&self, ctx: &Context<'_>) -> Result<Vec<Survey>> {
        let rows = self.0.rows(ctx, |c| vec![SurveysOf(id(c))]).await?;
        Ok(rows.into_iter().map(Survey).collect())
    }
    /// First-contact resolutions recorded for the conversation.
    async fn resolutions(&self, ctx: &Context<'_>) -> Result<Vec<Resolution>> {
        let rows = self.0.rows(ctx, |c| vec![ResolutionsOf(id(c))]).await?;
        Ok(rows.into_iter().map(Resolution).collect())
    }
    /// Recent transfers (platform `recentTransfers`), oldest first.
    async fn transfers(&self, ctx: &Context<'_>) -> Result<Vec<Transfer>> {
        let rows = self.0.rows(ctx, |c| vec![TransfersOf(id(c))]).await?;
        Ok(rows.into_iter().map(Transfer).collect())
    }
    /// The entities on the conversation by division (platform `divisions[].entities`).
    async fn division_entities(&self, ctx: &Context<'_>) -> Result<Vec<DivisionEntity>> {
        let rows = self
            .0
            .rows(ctx, |c| vec![DivisionEntitiesOf(id(c))])
            .await?;
        Ok(rows.into_iter().map(DivisionEntity).collect())
    }
    /// The conversation this one is associated with, when you can see it.
    async fn associated_conversation(&self, ctx: &Context<'_>) -> Result<Option<Conversation>> {
        let members = self
            .0
            .children(ctx, |c| {
                c.associated_conversation_id
                    .iter()
                    .cloned()
                    .map(ConversationById)
                    .collect()
            })
            .await?;
        Ok(members.into_iter().next().map(Conversation))
    }
    /// The consult conversations started from this one that you can see.
    async fn consultation_conversations(&self, ctx: &Context<'_>) -> Result<Vec<Conversation>> {
        let members = self
            .0
            .children(ctx, |c| {
                c.consultation_conversation_ids
                    .iter()
                    .flatten()
                    .cloned()
                    .map(ConsultedById)
                    .collect()
            })
            .await?;
        Ok(members.into_iter().map(Conversation).collect())
    }
}

impl Conversation {
    fn row(&self) -> &ConversationRow {
        self.0.row()
    }
}

fn id(c: &ConversationRow) -> String {
    c.conversation_id.clone()
}

fn duration_ms(
    start: Option<chrono::DateTime<chrono::Utc>>,
    end: Option<chrono::DateTime<chrono::Utc>>,
) -> Option<i64> {
    Some((end? - start?).num_milliseconds())
}

leaf_object!(
    /// A division: the unit of access control in Genesys.
    Division(DivisionRow)
);

/// A participant: customer, agent, acd (queue), ivr, workflow, external, …
pub struct Participant(pub Member<ParticipantRow>);

/// A participant: customer, agent, acd (queue), ivr, workflow, external, … `purpose` tells which.
#[Object]
impl Participant {
    /// The participant id.
    async fn id(&self) -> &str {
        &self.0.row().participant_id
    }
    /// The user behind the participant (`userId`), when the user lookup holds it and you can
    /// see the user.
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<feed::User>> {
        let members = self
            .0
            .children(ctx, |p| p.user_id.iter().cloned().map(UserById).collect())
            .await?;
        Ok(members.into_iter().next().map(feed::User))
    }
    #[graphql(flatten)]
    async fn fields(&self) -> &ParticipantRow {
        self.0.row()
    }
    /// Source fields convgraph has no column for, exactly as sent; empty without the `pii:read`
    /// permission, since they may hold personal data.
    async fn extra(&self) -> Extra<'_> {
        Json(&self.0.row().extra)
    }
    /// The participant's sessions (media legs), in source order.
    async fn sessions(&self, ctx: &Context<'_>) -> Result<Vec<Session>> {
        let members = self
            .0
            .children(ctx, |p| {
                vec![SessionsOf(
                    p.conversation_id.clone(),
                    p.participant_id.clone(),
                )]
            })
            .await?;
        Ok(members.into_iter().map(Session).collect())
    }
}

/// A session ("communication"): one media leg of a participant.
pub struct Session(pub Member<SessionRow>);

/// A session ("communication"): one media leg of a participant. Every media type shares this
/// type; the fields specific to one (callback numbers, email subject, cobrowse room, …) are null
/// for the others.
#[Object]
impl Session {
    /// The session id (unique within its conversation).
    async fn id(&self) -> &str {
        &self.0.row().session_id
    }
    #[graphql(flatten)]
    async fn fields(&self) -> &SessionRow {
        self.0.row()
    }
    /// Source fields convgraph has no column for, exactly as sent; empty without the `pii:read`
    /// permission, since they may hold personal data.
    async fn extra(&self) -> Extra<'_> {
        Json(&self.0.row().extra)
    }
    /// The session on the other side of this one (`peerId`), e.g. the customer's leg of an
    /// agent's call.
    async fn peer(&self, ctx: &Context<'_>) -> Result<Option<Session>> {
        let members = self
            .0
            .children(ctx, |s| {
                s.peer_id
                    .iter()
                    .map(|peer| SessionById(s.conversation_id.clone(), peer.clone()))
                    .collect()
            })
            .await?;
        Ok(members.into_iter().next().map(Session))
    }
    /// The session's segments, in time order.
    async fn segments(&self, ctx: &Context<'_>) -> Result<Vec<Segment>> {
        let members = self
            .0
            .children(ctx, |s| vec![SegmentsOf(SessionKey::of(s))])
            .await?;
        Ok(members.into_iter().map(Segment).collect())
    }
    /// The session's metrics (nOffered, tTalk, tHandle, …), in emission order.
    async fn metrics(&self, ctx: &Context<'_>) -> Result<Vec<SessionMetric>> {
        let rows = self
            .0
            .rows(ctx, |s| vec![MetricsOf(SessionKey::of(s))])
            .await?;
        Ok(rows.into_iter().map(SessionMetric).collect())
    }
    /// The IVR flow the session ran through, if any.
    async fn flow(&self, ctx: &Context<'_>) -> Result<Option<Flow>> {
        let members = self
            .0
            .children(ctx, |s| vec![FlowOf(SessionKey::of(s))])
            .await?;
        Ok(members.into_iter().next().map(Flow))
    }
    /// The agents routing proposed for the session, with their rank.
    async fn proposed_agents(&self, ctx: &Context<'_>) -> Result<Vec<ProposedAgent>> {
        let rows = self
            .0
            .rows(ctx, |s| vec![ProposedAgentsOf(SessionKey::of(s))])
            .await?;
        Ok(rows.into_iter().map(ProposedAgent).collect())
    }
    /// Voice quality statistics of the session's media endpoints.
    async fn media_endpoint_stats(&self, ctx: &Context<'_>) -> Result<Vec<MediaEndpointStat>> {
        let rows = self
            .0
            .rows(ctx, |s| vec![EndpointStatsOf(SessionKey::of(s))])
            .await?;
        Ok(rows.into_iter().map(MediaEndpointStat).collect())
    }
    /// The agent groups the session was routed to.
    async fn agent_groups(&self, ctx: &Context<'_>) -> Result<Vec<AgentGroup>> {
        let rows = self
            .0
            .rows(ctx, |s| vec![AgentGroupsOf(SessionKey::of(s))])
            .await?;
        Ok(rows.into_iter().map(AgentGroup).collect())
    }
}

/// A continuous span of a session in one state.
pub struct Segment(pub Member<SegmentRow>);

/// A continuous span of a session in one state: alert, interact, hold, wrapup, ivr, dialing, …
#[Object]
impl Segment {
    #[graphql(flatten)]
    async fn fields(&self) -> &SegmentRow {
        self.0.row()
    }
    /// The queue of the segment (`queueId`), when the queue lookup holds it and you can see it.
    async fn queue(&self, ctx: &Context<'_>) -> Result<Option<feed::Queue>> {
        let members = self
            .0
            .children(ctx, |s| s.queue_id.iter().cloned().map(QueueById).collect())
            .await?;
        Ok(members.into_iter().next().map(feed::Queue))
    }
    /// From start to end in milliseconds; null while open.
    async fn duration_ms(&self) -> Option<i64> {
        duration_ms(self.0.row().segment_start, self.0.row().segment_end)
    }
    /// Source fields convgraph has no column for, exactly as sent; empty without the `pii:read`
    /// permission, since they may hold personal data.
    async fn extra(&self) -> Extra<'_> {
        Json(&self.0.row().extra)
    }
    /// Agents scored by predictive routing during the segment.
    async fn scored_agents(&self, ctx: &Context<'_>) -> Result<Vec<ScoredAgent>> {
        let rows: Vec<ScoredAgentRow> = self
            .0
            .rows(ctx, |g| vec![ScoredAgentsOf(segment_session(g))])
            .await?;
        let index = self.0.row().segment_index;
        Ok(rows
            .into_iter()
            .filter(|r| r.segment_index == index)
            .map(ScoredAgent)
            .collect())
    }
    /// Custom properties of the segment.
    async fn properties(&self, ctx: &Context<'_>) -> Result<Vec<SegmentProperty>> {
        let rows: Vec<SegmentPropertyRow> = self
            .0
            .rows(ctx, |g| vec![SegmentPropertiesOf(segment_session(g))])
            .await?;
        let index = self.0.row().segment_index;
        Ok(rows
            .into_iter()
            .filter(|r| r.segment_index == index)
            .map(SegmentProperty)
            .collect())
    }
}

/// The session a segment belongs to.
fn segment_session(g: &SegmentRow) -> SessionKey {
    SessionKey {
        conversation_id: g.conversation_id.clone(),
        participant_id: g.participant_id.clone(),
        session_id: g.session_id.clone(),
    }
}

leaf_object!(
    /// A metric of a session: a count (`n…`), a duration in milliseconds (`t…`) or a value
    /// (`o…`), emitted at `emitDate`.
    SessionMetric(MetricRow)
);

/// An IVR flow execution.
pub struct Flow(pub Member<FlowRow>);

/// An IVR (Architect) flow execution of a session: how it was entered, left and what it
/// transferred to.
#[Object]
impl Flow {
    #[graphql(flatten)]
    async fn fields(&self) -> &FlowRow {
        self.0.row()
    }
    /// Source fields convgraph has no column for, exactly as sent; empty without the `pii:read`
    /// permission, since they may hold personal data.
    async fn extra(&self) -> Extra<'_> {
        Json(&self.0.row().extra)
    }
    /// Outcomes reached in the flow.
    async fn outcomes(&self, ctx: &Context<'_>) -> Result<Vec<FlowOutcome>> {
        let rows = self
            .0
            .rows(ctx, |f| {
                vec![OutcomesOf(SessionKey {
                    conversation_id: f.conversation_id.clone(),
                    participant_id: f.participant_id.clone(),
                    session_id: f.session_id.clone(),
                })]
            })
            .await?;
        Ok(rows.into_iter().map(FlowOutcome).collect())
    }
}

leaf_object!(
    /// An outcome reached in a flow, with its value and timing.
    FlowOutcome(FlowOutcomeRow)
);
leaf_object!(
    /// An agent proposed by routing for a session, with its rank.
    ProposedAgent(ProposedAgentRow)
);
leaf_object!(
    /// Media quality of one endpoint of a session: MOS, R-factor, packets, latency.
    MediaEndpointStat(MediaEndpointStatRow)
);
leaf_object!(
    /// An agent group a session was routed to.
    AgentGroup(AgentGroupRow)
);
leaf_object!(
    /// An agent scored by predictive routing during a segment.
    ScoredAgent(ScoredAgentRow)
);
leaf_object!(
    /// A custom property of a segment.
    SegmentProperty(SegmentPropertyRow)
);
leaf_object!(
    /// A quality evaluation of a conversation: form, evaluator, agent, scores and dates.
    Evaluation(EvaluationRow)
);
leaf_object!(
    /// A customer survey: form, status, scores.
    Survey(SurveyRow)
);
leaf_object!(
    /// A first-contact resolution record: whether a next contact was avoided.
    Resolution(ResolutionRow)
);
leaf_object!(
    /// A transfer of the conversation (platform `recentTransfers`).
    Transfer(TransferRow)
);
leaf_object!(
    /// An entity on the conversation, by division.
    DivisionEntity(DivisionEntityRow)
);
