//! Dataloaders of the Buzzeasy feed's relations: one batched, scoped statement per relation and
//! level. Each relation has a key type of its own (a family caches one relation per key type).

use async_graphql::dataloader::Loader;
use db::feed::{self, Keyed};
use domain::buzzeasy::*;
use domain::graph::ConversationRow;
use std::collections::HashMap;
use std::sync::Arc;

use crate::error::ApiError;
use crate::loader::{GraphLoader, group, internal, visible};

/// A loader keyed by one id, reading with `$read(pool, scope, ids)` and grouping by `$of`.
macro_rules! id_loader {
    ($(#[$meta:meta])* $key:ident, $row:ty, $read:path, |$r:ident| $of:expr) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub struct $key(pub String);

        impl Loader<$key> for GraphLoader {
            type Value = Vec<$row>;
            type Error = Arc<ApiError>;
            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Self::Value>, Self::Error> {
                let ids: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
                let rows = $read(&self.pool, &self.scope, &ids).await.map_err(internal)?;
                Ok(group(visible(self.personal, rows), |$r: &$row| $key($of.clone())))
            }
        }
    };
}

id_loader!(
    QueueSegmentsOf,
    QueueSegmentRow,
    feed::queue_segments,
    |r| r.conversation_id
);
id_loader!(BotSegmentsOf, BotSegmentRow, feed::bot_segments, |r| r
    .conversation_id);
id_loader!(
    RejectedAttemptsOf,
    RejectedEnqueueAttemptRow,
    feed::rejected_enqueue_attempts,
    |r| r.conversation_id
);
id_loader!(CapturedDataOf, CapturedDataRow, feed::captured_data, |r| r
    .conversation_id);
id_loader!(WorkitemById, WorkitemRow, feed::workitems_by_id, |r| r
    .workitem_id);
id_loader!(
    /// The workitems an agent handled.
    WorkitemsOfAgent,
    WorkitemRow,
    feed::workitems_of_agents,
    |r| r.agent_id.clone().unwrap_or_default()
);
id_loader!(
    WorkitemSessionsOf,
    WorkitemConversationSessionRow,
    feed::workitem_conversation_sessions,
    |r| r.workitem_id
);
id_loader!(
    WorkitemEvaluationsOf,
    WorkitemEvaluationRow,
    feed::workitem_evaluations,
    |r| r.workitem_id
);
id_loader!(
    CollectedDataOf,
    CollectedDataRow,
    feed::collected_data,
    |r| r.workitem_id
);
id_loader!(AgentById, AgentRow, feed::agents_by_id, |r| r.agent_id);
id_loader!(UserById, UserRow, feed::users_by_id, |r| r.user_id);
id_loader!(
    /// The same users, for a second relation of one type (a workitem evaluation's evaluator).
    EvaluatorById,
    UserRow,
    feed::users_by_id,
    |r| r.user_id
);
id_loader!(
    BusinessUnitChangesOf,
    AgentBusinessUnitChangeRow,
    feed::agent_business_unit_changes,
    |r| r.agent_id
);
id_loader!(QueueById, QueueRow, feed::queues_by_id, |r| r.queue_id);
id_loader!(ChannelById, ChannelRow, feed::channels_by_id, |r| r
    .channel_id);
id_loader!(
    BusinessUnitById,
    BusinessUnitRow,
    feed::business_units_by_id,
    |r| r.business_unit_id
);
id_loader!(BotStepById, BotStepRow, feed::bot_steps_by_id, |r| r
    .bot_step_id);
id_loader!(CampaignById, CampaignRow, feed::campaigns_by_id, |r| r
    .campaign_id);
id_loader!(
    RecordsOfCampaign,
    CampaignRecordRow,
    feed::campaign_records_of_campaigns,
    |r| r.campaign_id.clone().unwrap_or_default()
);
id_loader!(
    CustomFieldsOf,
    CampaignRecordCustomFieldRow,
    feed::campaign_record_custom_fields,
    |r| r.record_id
);
id_loader!(
    PhoneNumbersOf,
    CampaignRecordPhoneNumberRow,
    feed::campaign_record_phone_numbers,
    |r| r.record_id
);
id_loader!(
    RegistrationOf,
    CampaignRecordRegistrationRow,
    feed::campaign_record_registrations,
    |r| r.record_id
);
id_loader!(
    /// A conversation a Buzzeasy row points at (next conversation, primary conversation, …).
    LinkedConversation,
    ConversationRow,
    db::read::conversations_by_id,
    |r| r.conversation_id
);

/// The answers of one workitem evaluation: (workitem id, evaluation id). Loaded by workitem.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AnswersOf(pub String, pub String);

impl Loader<AnswersOf> for GraphLoader {
    type Value = Vec<WorkitemEvaluationDataRow>;
    type Error = Arc<ApiError>;
    async fn load(
        &self,
        keys: &[AnswersOf],
    ) -> Result<HashMap<AnswersOf, Self::Value>, Self::Error> {
        let mut ids: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
        ids.sort();
        ids.dedup();
        let rows = feed::workitem_evaluation_data(&self.pool, &self.scope, &ids)
            .await
            .map_err(internal)?;
        Ok(group(visible(self.personal, rows), |r| {
            AnswersOf(
                r.workitem_id.clone(),
                r.evaluation_id.clone().unwrap_or_default(),
            )
        }))
    }
}

/// The workitems of a conversation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WorkitemsOfConversation(pub String);

impl Loader<WorkitemsOfConversation> for GraphLoader {
    type Value = Vec<WorkitemRow>;
    type Error = Arc<ApiError>;
    async fn load(
        &self,
        keys: &[WorkitemsOfConversation],
    ) -> Result<HashMap<WorkitemsOfConversation, Self::Value>, Self::Error> {
        let ids: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
        let rows: Vec<Keyed<WorkitemRow>> =
            feed::workitems_of_conversations(&self.pool, &self.scope, &ids)
                .await
                .map_err(internal)?;
        let mut map: HashMap<WorkitemsOfConversation, Vec<WorkitemRow>> = HashMap::new();
        for Keyed { key, row } in rows {
            map.entry(WorkitemsOfConversation(key))
                .or_default()
                .extend(visible(self.personal, vec![row]));
        }
        Ok(map)
    }
}

/// The states of an agent over an interval: (agent id, from, to), the bounds as RFC 3339 text
/// (empty: open). Keys with the same interval load together.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StatesOf(pub String, pub String, pub String);

impl Loader<StatesOf> for GraphLoader {
    type Value = Vec<AgentStateRow>;
    type Error = Arc<ApiError>;
    async fn load(&self, keys: &[StatesOf]) -> Result<HashMap<StatesOf, Self::Value>, Self::Error> {
        let mut by_interval: HashMap<(String, String), Vec<String>> = HashMap::new();
        for k in keys {
            by_interval
                .entry((k.1.clone(), k.2.clone()))
                .or_default()
                .push(k.0.clone());
        }
        let time = |s: &str| domain::reader::parse_time(s).ok();
        let mut map = HashMap::new();
        for ((from, to), agents) in by_interval {
            let rows = feed::agent_states(&self.pool, &self.scope, &agents, time(&from), time(&to))
                .await
                .map_err(internal)?;
            let rows = visible(self.personal, rows);
            for (agent, rows) in group(rows, |r| r.agent_id.clone().unwrap_or_default()) {
                map.insert(StatesOf(agent, from.clone(), to.clone()), rows);
            }
        }
        Ok(map)
    }
}
