//! The Buzzeasy feed in GraphQL: workitems with their agent, queue, conversations (with hold
//! counts), evaluations (with answers) and collected data; agents with their workitems, states
//! and business-unit history; queues and channels; campaigns with their records; and, per
//! conversation, its queue and bot segments, rejected enqueue attempts and captured data.
//!
//! Every type serves every column of its row (flattened from the row type), `extra`, and its
//! relations through the request's dataloaders.

use async_graphql::{Context, Json, Object, Result};
use domain::buzzeasy::*;

use super::loaders::*;
use crate::conversations::parse_interval;
use crate::error::ApiError;
use crate::graph::Conversation;
use crate::loader::Member;
use async_graphql::ErrorExtensions as _;

type Extra<'a> = Json<&'a serde_json::Map<String, serde_json::Value>>;

/// A type that is a family member's row, its `extra`, and the relations written beside it.
macro_rules! member_object {
    ($(#[$meta:meta])* $name:ident($row:ty) { $($body:tt)* }) => {
        pub struct $name(pub Member<$row>);

        $(#[$meta])*
        #[Object]
        impl $name {
            #[graphql(flatten)]
            async fn fields(&self) -> &$row {
                self.0.row()
            }
            /// Source fields convgraph has no column for, exactly as sent; empty without the
            /// `pii:read` permission, since they may hold personal data.
            async fn extra(&self) -> Extra<'_> {
                Json(&self.0.row().extra)
            }
            $($body)*
        }
    };
}

/// The one row a relation points at, if visible.
async fn one<R, K, T, W>(
    member: &Member<R>,
    ctx: &Context<'_>,
    keys: fn(&R) -> Vec<K>,
    wrap: fn(Member<T>) -> W,
) -> Result<Option<W>>
where
    R: Send + Sync + 'static,
    K: Send + Sync + Clone + Eq + std::hash::Hash + 'static,
    T: Send + Sync + Clone + 'static,
    crate::loader::GraphLoader:
        async_graphql::dataloader::Loader<K, Value = Vec<T>, Error = std::sync::Arc<ApiError>>,
{
    Ok(member
        .children(ctx, keys)
        .await?
        .into_iter()
        .next()
        .map(wrap))
}

/// Every row a relation points at.
async fn all<R, K, T, W>(
    member: &Member<R>,
    ctx: &Context<'_>,
    keys: fn(&R) -> Vec<K>,
    wrap: fn(Member<T>) -> W,
) -> Result<Vec<W>>
where
    R: Send + Sync + 'static,
    K: Send + Sync + Clone + Eq + std::hash::Hash + 'static,
    T: Send + Sync + Clone + 'static,
    crate::loader::GraphLoader:
        async_graphql::dataloader::Loader<K, Value = Vec<T>, Error = std::sync::Arc<ApiError>>,
{
    Ok(member
        .children(ctx, keys)
        .await?
        .into_iter()
        .map(wrap)
        .collect())
}

fn opt<K>(id: &Option<String>, key: fn(String) -> K) -> Vec<K> {
    id.iter().cloned().map(key).collect()
}

member_object!(
    /// An agent task: a conversation (or several) routed to an agent, from preview through
    /// active time to wrap-up. Times are UTC, durations seconds.
    Workitem(WorkitemRow) {
        /// The workitem id.
        async fn id(&self) -> async_graphql::ID {
            async_graphql::ID(self.0.row().workitem_id.clone())
        }
        /// The agent who handled it, when you can see the agent.
        async fn agent(&self, ctx: &Context<'_>) -> Result<Option<Agent>> {
            one(&self.0, ctx, |w| opt(&w.agent_id, AgentById), Agent).await
        }
        /// The queue it came from (none for outbound).
        async fn queue(&self, ctx: &Context<'_>) -> Result<Option<Queue>> {
            one(&self.0, ctx, |w| opt(&w.queue_id, QueueById), Queue).await
        }
        /// The business unit of the conversation that started it.
        async fn business_unit(&self, ctx: &Context<'_>) -> Result<Option<BusinessUnit>> {
            one(&self.0, ctx, |w| opt(&w.business_unit_id, BusinessUnitById), BusinessUnit).await
        }
        /// The first conversation of the task, when you can see it.
        async fn primary_conversation(&self, ctx: &Context<'_>) -> Result<Option<Conversation>> {
            one(&self.0, ctx, |w| opt(&w.primary_conversation_id, LinkedConversation), Conversation).await
        }
        /// The conversations handled in the task, with their hold counts.
        async fn conversations(&self, ctx: &Context<'_>) -> Result<Vec<WorkitemConversation>> {
            all(&self.0, ctx, |w| vec![WorkitemSessionsOf(w.workitem_id.clone())], WorkitemConversation).await
        }
        /// Quality evaluations of the task, with their answers.
        async fn evaluations(&self, ctx: &Context<'_>) -> Result<Vec<WorkitemEvaluation>> {
            all(&self.0, ctx, |w| vec![WorkitemEvaluationsOf(w.workitem_id.clone())], WorkitemEvaluation).await
        }
        /// Values collected through scripting during the task.
        async fn collected_data(&self, ctx: &Context<'_>) -> Result<Vec<CollectedData>> {
            let rows = self.0.rows(ctx, |w| vec![CollectedDataOf(w.workitem_id.clone())]).await?;
            Ok(rows.into_iter().map(CollectedData).collect())
        }
    }
);

member_object!(
    /// A conversation handled in a workitem, with the holds during it.
    WorkitemConversation(WorkitemConversationSessionRow) {
        /// The conversation, when you can see it.
        async fn conversation(&self, ctx: &Context<'_>) -> Result<Option<Conversation>> {
            one(&self.0, ctx, |s| opt(&s.conversation_id, LinkedConversation), Conversation).await
        }
    }
);

member_object!(
    /// A quality evaluation of a workitem.
    WorkitemEvaluation(WorkitemEvaluationRow) {
        /// The answers: each key of the script and its value.
        async fn answers(&self, ctx: &Context<'_>) -> Result<Vec<WorkitemEvaluationAnswer>> {
            let rows = self
                .0
                .rows(ctx, |e| vec![AnswersOf(e.workitem_id.clone(), e.evaluation_id.clone())])
                .await?;
            Ok(rows.into_iter().map(WorkitemEvaluationAnswer).collect())
        }
        /// The user who evaluated, when you can see the user.
        async fn evaluator(&self, ctx: &Context<'_>) -> Result<Option<User>> {
            one(&self.0, ctx, |e| opt(&e.created_by, EvaluatorById), User).await
        }
        /// The workitem evaluated.
        async fn workitem(&self, ctx: &Context<'_>) -> Result<Option<Workitem>> {
            one(&self.0, ctx, |e| vec![WorkitemById(e.workitem_id.clone())], Workitem).await
        }
    }
);

member_object!(
    /// A Buzzeasy agent (lookup).
    Agent(AgentRow) {
        /// The agent id.
        async fn id(&self) -> async_graphql::ID {
            async_graphql::ID(self.0.row().agent_id.clone())
        }
        /// The user record of the agent (agents are users too).
        async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
            one(&self.0, ctx, |a| vec![UserById(a.agent_id.clone())], User).await
        }
        /// The workitems the agent handled that you can see, oldest first.
        async fn workitems(&self, ctx: &Context<'_>) -> Result<Vec<Workitem>> {
            all(&self.0, ctx, |a| vec![WorkitemsOfAgent(a.agent_id.clone())], Workitem).await
        }
        /// The agent's states that overlap `interval` (ISO-8601 `start/end`; all of them without
        /// it), oldest first.
        async fn states(&self, ctx: &Context<'_>, interval: Option<String>) -> Result<Vec<AgentState>> {
            let (from, to) = match interval {
                Some(i) => {
                    let (a, b) = parse_interval(&i).map_err(|e| e.extend())?;
                    (a.to_rfc3339(), b.to_rfc3339())
                }
                None => (String::new(), String::new()),
            };
            // The interval is part of the key: every agent of the family asks with the same one.
            let wanted = StatesOf(self.0.row().agent_id.clone(), from, to);
            let loaders = ctx.data::<crate::loader::Loaders>()?;
            let rows = loaders
                .load_one(wanted)
                .await
                .map_err(|e| e.as_ref().extend())?
                .unwrap_or_default();
            Ok(rows.into_iter().map(AgentState).collect())
        }
        /// When the agent joined or left business units you can see.
        async fn business_unit_history(&self, ctx: &Context<'_>) -> Result<Vec<AgentBusinessUnitChange>> {
            let rows = self.0.rows(ctx, |a| vec![BusinessUnitChangesOf(a.agent_id.clone())]).await?;
            Ok(rows.into_iter().map(AgentBusinessUnitChange).collect())
        }
    }
);

member_object!(
    /// A Buzzeasy user (lookup): an agent, a supervisor or another user.
    User(UserRow) {
        /// The user id.
        async fn id(&self) -> async_graphql::ID {
            async_graphql::ID(self.0.row().user_id.clone())
        }
        /// The agent record of the user, for agents.
        async fn agent(&self, ctx: &Context<'_>) -> Result<Option<Agent>> {
            one(&self.0, ctx, |u| vec![AgentById(u.user_id.clone())], Agent).await
        }
    }
);

member_object!(
    /// A Buzzeasy queue (lookup).
    Queue(QueueRow) {
        /// The queue id.
        async fn id(&self) -> async_graphql::ID {
            async_graphql::ID(self.0.row().queue_id.clone())
        }
        /// The channel the queue belongs to.
        async fn channel(&self, ctx: &Context<'_>) -> Result<Option<Channel>> {
            one(&self.0, ctx, |q| opt(&q.channel_id, ChannelById), Channel).await
        }
    }
);

member_object!(
    /// A Buzzeasy channel (lookup): voice, webchat, e-mail, …
    Channel(ChannelRow) {
        /// The channel id.
        async fn id(&self) -> async_graphql::ID {
            async_graphql::ID(self.0.row().channel_id.clone())
        }
        /// The business unit of the channel.
        async fn business_unit(&self, ctx: &Context<'_>) -> Result<Option<BusinessUnit>> {
            one(&self.0, ctx, |c| opt(&c.business_unit_id, BusinessUnitById), BusinessUnit).await
        }
    }
);

member_object!(
    /// A Buzzeasy business unit (lookup).
    BusinessUnit(BusinessUnitRow) {
        /// The business unit id.
        async fn id(&self) -> async_graphql::ID {
            async_graphql::ID(self.0.row().business_unit_id.clone())
        }
    }
);

member_object!(
    /// A bot node of a workflow (lookup).
    BotStep(BotStepRow) {
        /// The bot step id.
        async fn id(&self) -> async_graphql::ID {
            async_graphql::ID(self.0.row().bot_step_id.clone())
        }
    }
);

member_object!(
    /// A span of a conversation in a queue.
    QueueSegment(QueueSegmentRow) {
        /// The queue, when you can see it.
        async fn queue(&self, ctx: &Context<'_>) -> Result<Option<Queue>> {
            one(&self.0, ctx, |s| opt(&s.queue_id, QueueById), Queue).await
        }
    }
);

member_object!(
    /// A span of a conversation in a bot node of a workflow.
    BotSegment(BotSegmentRow) {
        /// The bot step.
        async fn bot_step(&self, ctx: &Context<'_>) -> Result<Option<BotStep>> {
            one(&self.0, ctx, |s| opt(&s.bot_step_id, BotStepById), BotStep).await
        }
    }
);

member_object!(
    /// A conversation a queue refused.
    RejectedEnqueueAttempt(RejectedEnqueueAttemptRow) {
        /// The queue that refused it, when you can see it.
        async fn queue(&self, ctx: &Context<'_>) -> Result<Option<Queue>> {
            one(&self.0, ctx, |s| opt(&s.queue_id, QueueById), Queue).await
        }
    }
);

member_object!(
    /// An outbound campaign (lookup).
    Campaign(CampaignRow) {
        /// The campaign id.
        async fn id(&self) -> async_graphql::ID {
            async_graphql::ID(self.0.row().campaign_id.clone())
        }
        /// The records of the campaign, in id order.
        async fn records(&self, ctx: &Context<'_>) -> Result<Vec<CampaignRecord>> {
            all(&self.0, ctx, |c| vec![RecordsOfCampaign(c.campaign_id.clone())], CampaignRecord).await
        }
    }
);

member_object!(
    /// A record of a campaign (a customer to call), in its current state.
    CampaignRecord(CampaignRecordRow) {
        /// The record id.
        async fn id(&self) -> async_graphql::ID {
            async_graphql::ID(self.0.row().record_id.clone())
        }
        /// The campaign.
        async fn campaign(&self, ctx: &Context<'_>) -> Result<Option<Campaign>> {
            one(&self.0, ctx, |r| opt(&r.campaign_id, CampaignById), Campaign).await
        }
        /// The record's custom fields.
        async fn custom_fields(&self, ctx: &Context<'_>) -> Result<Vec<CampaignRecordCustomField>> {
            let rows = self.0.rows(ctx, |r| vec![CustomFieldsOf(r.record_id.clone())]).await?;
            Ok(rows.into_iter().map(CampaignRecordCustomField).collect())
        }
        /// The record's additional phone numbers.
        async fn phone_numbers(&self, ctx: &Context<'_>) -> Result<Vec<CampaignRecordPhoneNumber>> {
            let rows = self.0.rows(ctx, |r| vec![PhoneNumbersOf(r.record_id.clone())]).await?;
            Ok(rows.into_iter().map(CampaignRecordPhoneNumber).collect())
        }
        /// The record as it was uploaded.
        async fn registration(&self, ctx: &Context<'_>) -> Result<Option<CampaignRecordRegistration>> {
            let rows = self.0.rows(ctx, |r| vec![RegistrationOf(r.record_id.clone())]).await?;
            Ok(rows.into_iter().next().map(CampaignRecordRegistration))
        }
    }
);

leaf_object!(
    /// One state of an agent over a span of time.
    AgentState(AgentStateRow)
);
leaf_object!(
    /// An agent joining or leaving a business unit.
    AgentBusinessUnitChange(AgentBusinessUnitChangeRow)
);
leaf_object!(
    /// A workflow variable filled in a conversation.
    CapturedData(CapturedDataRow)
);
leaf_object!(
    /// A scripting value set during a workitem.
    CollectedData(CollectedDataRow)
);
leaf_object!(
    /// One answer of a workitem evaluation.
    WorkitemEvaluationAnswer(WorkitemEvaluationDataRow)
);
leaf_object!(
    /// A custom field of a campaign record.
    CampaignRecordCustomField(CampaignRecordCustomFieldRow)
);
leaf_object!(
    /// An additional phone number of a campaign record.
    CampaignRecordPhoneNumber(CampaignRecordPhoneNumberRow)
);
leaf_object!(
    /// A campaign record as it was uploaded.
    CampaignRecordRegistration(CampaignRecordRegistrationRow)
);

member_object!(
    /// A flow metric record: one metric event of an IVR flow (`tFlow`, `nFlowOutcome`, …) with
    /// every dimension Genesys sends with it.
    FlowMetric(domain::flow_metrics::FlowMetricRow) {
        /// The conversation the flow ran in, when you can see it.
        async fn conversation(&self, ctx: &Context<'_>) -> Result<Option<Conversation>> {
            one(&self.0, ctx, |m| vec![LinkedConversation(m.conversation_id.clone())], Conversation).await
        }
    }
);
