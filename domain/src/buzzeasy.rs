//! The Buzzeasy OData feed (`seeds/buzzeasy-odata.txt`): one row type per table, and the reading
//! of its rows, whether they come from OData JSON pages or CSV exports.
//!
//! Source keys are matched without regard to case, spaces or underscores (the feed spells
//! `conversationID`, `conversationId` and `ConversationId` in different tables), values are
//! coerced from text where a CSV cell holds them, and local timestamps are kept as sent beside
//! their UTC value; where the source gives local time only, the tenant time zone given at import
//! converts it. Conversations (Calls, Chats, Emails, Conversations) become conversation graphs
//! with the conversation row alone, stored like Genesys conversations.

use crate::ConversationGraph;
use crate::error::DocumentError;
use crate::graph::ConversationRow;
use crate::reader::{Obj, parse_local_time};
use chrono::{DateTime, NaiveDateTime, TimeZone as _, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value};

row! {
    /// A Buzzeasy business unit (lookup): the unit of scope of Buzzeasy rows.
    pub struct BusinessUnitRow {
        keys {
            /// Id of the business unit.
            business_unit_id: String,
        }
        fields {
            /// Name of the business unit.
            "name" => name: str,
            /// When the daily lookup refresh found the business unit deleted (not an audit time).
            "deletedAt" => deleted_at: time,
        }
    }
}

row! {
    /// A Buzzeasy agent (lookup).
    pub struct AgentRow {
        keys {
            /// Id of the agent.
            agent_id: String,
        }
        fields {
            /// Name of the agent. Personal data: null without the `pii:read` permission.
            "name" => name: str [personal],
            /// Custom id set through the portal.
            "customId" => custom_id: str,
            /// When the daily lookup refresh found the agent deleted (not an audit time).
            "deletedAt" => deleted_at: time,
        }
    }
}

row! {
    /// A Buzzeasy user (lookup): agents, supervisors and other users.
    pub struct UserRow {
        keys {
            /// Id of the user.
            user_id: String,
        }
        fields {
            /// Name of the user. Personal data: null without the `pii:read` permission.
            "name" => name: str [personal],
            /// Custom id set through the portal.
            "customId" => custom_id: str,
            /// E-mail address of the user. Personal data: null without the `pii:read` permission.
            "emailAddress" => email_address: str [personal],
            /// `Agent`, `Supervisor` or `User`.
            "userType" => user_type: str,
            /// When the daily lookup refresh found the user deleted (not an audit time).
            "deletedAt" => deleted_at: time,
        }
    }
}

row! {
    /// One state of an agent over a span of time.
    pub struct AgentStateRow {
        keys {
            /// Id of the reporting entry.
            agent_state_id: String,
        }
        fields {
            /// The agent; see `agent`.
            "agentId" => agent_id: str,
            /// `Idle` (available), `Busy`, `Break` or `Logged out` (an open set).
            "state" => state: str,
            /// The break name the agent selected, for breaks.
            "breakName" => break_name: str,
            /// Duration of the state, in seconds.
            "durationInSeconds" => duration_in_seconds: float,
            /// Whether the state comes from a login.
            "isLogin" => is_login: bool,
            /// Whether the state comes from a logout.
            "isLogout" => is_logout: bool,
            /// `AgentLogout`, `ConnectionTimeout` or `ForceLogout`.
            "logoutReason" => logout_reason: str,
            /// Start of the state (UTC).
            "startTimeUtc" => start_time: time,
            /// Start of the state in the tenant's time zone, as the source gave it.
            "startTime" => start_time_local: localtime,
        }
    }
}

row! {
    /// An agent joining or leaving a business unit.
    pub struct AgentBusinessUnitChangeRow {
        keys {
            /// The agent.
            agent_id: String,
            /// The business unit.
            business_unit_id: String,
            /// When the relationship changed (UTC).
            timestamp: DateTime<Utc>,
        }
        fields {
            /// True when the agent joined the business unit, false when it withdrew.
            "assigned" => assigned: bool,
            /// The tenant.
            "tenantId" => tenant_id: str,
        }
    }
}

row! {
    /// A Buzzeasy channel (lookup).
    pub struct ChannelRow {
        keys {
            /// Id of the channel.
            channel_id: String,
            /// Business unit of the channel: its scope.
            business_unit_id: Option<String>,
        }
        fields {
            /// Name of the channel, as the portal shows it.
            "name" => name: str,
            /// Media type of the channel: `Voice`, `Webchat`, `Email`, …
            "channelType" => channel_type: str,
            /// When the daily lookup refresh found the channel deleted (not an audit time).
            "deletedAt" => deleted_at: time,
        }
    }
}

row! {
    /// A Buzzeasy queue (lookup).
    pub struct QueueRow {
        keys {
            /// Id of the queue.
            queue_id: String,
        }
        fields {
            /// Name of the queue.
            "name" => name: str,
            /// The channel the queue belongs to (its business unit scopes the queue); see `channel`.
            "channelId" => channel_id: str,
            /// `Automatic` or `Manual`: the queue node's routing mode.
            "routingMode" => routing_mode: str,
            /// When the daily lookup refresh found the queue deleted (not an audit time).
            "deletedAt" => deleted_at: time,
        }
    }
}

row! {
    /// A bot node of a workflow (lookup).
    pub struct BotStepRow {
        keys {
            /// Id of the bot step.
            bot_step_id: String,
        }
        fields {
            /// Name of the bot step in the workflow.
            "name" => name: str,
            /// `announcement`, `autoAttendant`, `customBot`, `customerIntentEvaluator`, `identifyCustomer`, `matchAni`, `menuSelection`, `qna`, `question`, `sendEmailReply` (an open set).
            "type" => bot_type: str,
            /// `Chat`, `Email` or `Voice`: the media group of the workflow's channel.
            "mediaGroup" => media_group: str,
            /// When the daily lookup refresh found the bot step deleted (not an audit time).
            "deletedAt" => deleted_at: time,
        }
    }
}

row! {
    /// A span of a conversation in one bot node of a workflow.
    pub struct BotSegmentRow {
        keys {
            /// The conversation.
            conversation_id: String,
            /// Id of the bot segment.
            bot_segment_id: String,
        }
        fields {
            /// The bot step; see `botStep`.
            "botStepId" => bot_step_id: str,
            /// The channel the conversation came through.
            "channelId" => channel_id: str,
            /// Data the bot collected (a digit, an answer, a matched rule …). Personal data: null without the `pii:read` permission.
            "botFinishedInfo" => bot_finished_info: str [personal],
            /// The workflow output of the bot step.
            "botFinishedResult" => bot_finished_result: str,
            /// The QnA configuration id, for QnA bots.
            "botInfo" => bot_info: str,
            /// `Success`, `CustomerDisconnect` (abandoned) or `Failed`.
            "result" => result: str,
            /// When the segment started (UTC).
            "startedAtUtc" => started_at: time,
            /// When the segment started, as the source gave it.
            "startedAt" => started_at_local: localtime,
            /// When the segment ended (UTC).
            "endedAtUtc" => ended_at: time,
            /// When the segment ended, as the source gave it.
            "endedAt" => ended_at_local: localtime,
            /// Duration in seconds.
            "durationInSeconds" => duration_in_seconds: float,
        }
    }
}

row! {
    /// A span of a conversation in one queue.
    pub struct QueueSegmentRow {
        keys {
            /// The conversation.
            conversation_id: String,
            /// Id of the queue segment (the source's, or made of the queue and the queued time).
            queue_segment_id: String,
        }
        fields {
            /// The queue; see `queue`.
            "queueId" => queue_id: str,
            /// The channel the conversation reached the queue through.
            "channelId" => channel_id: str,
            /// When the conversation entered the queue (UTC).
            "queuedAtUtc" => queued_at: time,
            /// When the conversation entered the queue, in the tenant's time zone.
            "queuedAt" => queued_at_local: localtime,
            /// When the conversation left the queue (UTC).
            "dequeuedAtUtc" => dequeued_at: time,
            /// When the conversation left the queue, in the tenant's time zone.
            "dequeuedAt" => dequeued_at_local: localtime,
            /// Duration in seconds.
            "durationInSeconds" => duration_in_seconds: float,
            /// `AgentConnected`, `CallbackRequested`, `CustomerDisconnected` (abandoned) or `QueueTimedOut`.
            "dequeuedReason" => dequeued_reason: str,
        }
    }
}

row! {
    /// A conversation refused by a queue (no agent logged in, queue full, …).
    pub struct RejectedEnqueueAttemptRow {
        keys {
            /// The conversation.
            conversation_id: String,
            /// Id of the attempt.
            attempt_id: String,
        }
        fields {
            /// The queue that refused it; see `queue`.
            "queueId" => queue_id: str,
            /// The channel the conversation came through.
            "channelId" => channel_id: str,
            /// When it was refused (UTC).
            "rejectedAtUtc" => rejected_at: time,
            /// When it was refused, in the tenant's time zone.
            "rejectedAt" => rejected_at_local: localtime,
            /// `NoAgentLoggedIn`, `NoStaffedAgentLoggedIn`, `NoAvailableStaffedAgent`, `EstimatedWaitTimeLimitReached`, `QueueSizeLimitReached`.
            "rejectReason" => reject_reason: str,
        }
    }
}

row! {
    /// A tenant-level workflow variable filled in a conversation.
    pub struct CapturedDataRow {
        keys {
            /// The conversation.
            conversation_id: String,
            /// Name of the variable.
            name: String,
            /// When it was filled (UTC).
            captured_at: DateTime<Utc>,
            /// The value. Personal data: null without the `pii:read` permission.
            value: Option<String> [personal],
        }
        fields {}
    }
}

row! {
    /// An agent task: a conversation (or several) routed to an agent, from preview to wrap-up.
    pub struct WorkitemRow {
        keys {
            /// Id of the workitem.
            workitem_id: String,
        }
        fields {
            /// The agent who handled it; see `agent`.
            "agentId" => agent_id: str,
            /// Business unit of the conversation that triggered it: its scope.
            "businessUnitId" => business_unit_id: str,
            /// The queue it came from (empty for outbound); see `queue`.
            "queueId" => queue_id: str,
            /// The first conversation; see `primaryConversation`.
            "primaryConversationId" => primary_conversation_id: str,
            /// The first channel used.
            "primaryChannelId" => primary_channel_id: str,
            /// `webchat`, `email`, `instagram`, `voice`, `whatsapp`, `viber`, `lookup`, `messenger`, … (an open set).
            "mediaType" => media_type: str,
            /// `Handled`, `Missed` (RONA), `Cancelled`, `Abandoned` or `Rejected`.
            "result" => result: str,
            /// Completion code, by the system or the agent.
            "completionCode" => completion_code: str,
            /// The customer.
            "customerId" => customer_id: str,
            /// The agent's phone number used for the task. Personal data: null without the `pii:read` permission.
            "agentPhoneNumber" => agent_phone_number: str [personal],
            /// Notes the agent added. Personal data: null without the `pii:read` permission.
            "notes" => notes: str [personal],
            /// The script run for the task.
            "scriptId" => script_id: str,
            /// When the task was created (UTC).
            "startTimeUtc" => start_time: time,
            /// When the task was created, in the tenant's time zone.
            "startTime" => start_time_local: localtime,
            /// When the task was closed (UTC).
            "endTimeUtc" => end_time: time,
            /// When the task was closed, in the tenant's time zone.
            "endTime" => end_time_local: localtime,
            /// Whole task, from receipt to close, in seconds.
            "durationInSeconds" => duration_in_seconds: float,
            /// Active time, without preview and wrap-up, in seconds.
            "activeDurationInSeconds" => active_duration_in_seconds: float,
            /// Time waiting for the agent to accept, in seconds.
            "previewDuration" => preview_duration: float,
            /// Time in wrap-up, in seconds.
            "wrapUpDuration" => wrap_up_duration: float,
            /// Time in lookup state (outbound or contact lookup), in seconds.
            "lookupDuration" => lookup_duration: float,
        }
    }
}

row! {
    /// A conversation handled in a workitem, with its hold counts.
    pub struct WorkitemConversationSessionRow {
        keys {
            /// The workitem.
            workitem_id: String,
            /// Id of the entry.
            session_id: String,
        }
        fields {
            /// The conversation; see `conversation`.
            "conversationId" => conversation_id: str,
            /// `AgentFailedToJoin`, `ConversationEnded`, `Transferred`, `default`, …
            "endedReason" => ended_reason: str,
            /// How many times the agent put the customer on hold.
            "holdCount" => hold_count: int,
            /// Duration of the last hold, in seconds.
            "lastHoldDuration" => last_hold_duration: float,
            /// Total hold time, in seconds.
            "totalHoldDuration" => total_hold_duration: float,
        }
    }
}

row! {
    /// A scripting value an agent or the system set in a workitem.
    pub struct CollectedDataRow {
        keys {
            /// The workitem.
            workitem_id: String,
            /// Name of the variable or field.
            name: String,
            /// When it was set (UTC).
            created_at: DateTime<Utc>,
            /// The value. Personal data: null without the `pii:read` permission.
            value: Option<String> [personal],
        }
        fields {}
    }
}

row! {
    /// A quality evaluation of a workitem.
    pub struct WorkitemEvaluationRow {
        keys {
            /// The workitem evaluated.
            workitem_id: String,
            /// Id of the evaluation.
            evaluation_id: String,
        }
        fields {
            /// The user who evaluated; see `evaluator`.
            "createdBy" => created_by: str,
            /// The evaluation script.
            "scriptId" => script_id: str,
            /// When the evaluation started (UTC).
            "startedAtUtc" => started_at: time,
            /// When the evaluation started, in the tenant's time zone.
            "startedAt" => started_at_local: localtime,
            /// When the evaluation ended (UTC).
            "endedAtUtc" => ended_at: time,
            /// When the evaluation ended, in the tenant's time zone.
            "endedAt" => ended_at_local: localtime,
        }
    }
}

row! {
    /// One answer of a workitem evaluation: a key of the script and its value.
    pub struct WorkitemEvaluationDataRow {
        keys {
            /// The workitem evaluated.
            workitem_id: String,
            /// Id of the entry.
            entry_id: String,
        }
        fields {
            /// The evaluation the answer belongs to.
            "evaluationId" => evaluation_id: str,
            /// The key from the script.
            "name" => name: str,
            /// The value given. Personal data: null without the `pii:read` permission.
            "value" => value: str [personal],
            /// The evaluation script.
            "scriptId" => script_id: str,
            /// The user who evaluated.
            "createdBy" => created_by: str,
            /// When (UTC).
            "createdAtUtc" => created_at: time,
            /// When, in the tenant's time zone.
            "createdAt" => created_at_local: localtime,
        }
    }
}

row! {
    /// An outbound campaign (lookup).
    pub struct CampaignRow {
        keys {
            /// Id of the campaign.
            campaign_id: String,
        }
        fields {
            /// Name of the campaign.
            "name" => name: str,
            /// `Preview` or `Callback`.
            "campaignType" => campaign_type: str,
            /// Business unit of the campaign (its scope), when the source names one.
            "businessUnitId" => business_unit_id: str,
            /// When the campaign was deleted.
            "deletedAt" => deleted_at: time,
        }
    }
}

row! {
    /// A record (a customer to call) of a campaign, in its current state.
    pub struct CampaignRecordRow {
        keys {
            /// Id of the record.
            record_id: String,
        }
        fields {
            /// The campaign; see `campaign`.
            "campaignId" => campaign_id: str,
            /// Current status of the record.
            "status" => status: str,
            /// First name of the customer. Personal data: null without the `pii:read` permission.
            "customerFirstName" => customer_first_name: str [personal],
            /// Last name of the customer. Personal data: null without the `pii:read` permission.
            "customerLastName" => customer_last_name: str [personal],
            /// Primary phone number of the customer. Personal data: null without the `pii:read` permission.
            "customerPhone" => customer_phone: str [personal],
            /// When the record was created (UTC: from the tenant time zone given at import).
            "createdAtUtc" => created_at: time,
            /// When the record was created, in the tenant's time zone, as the source gave it.
            "createdAt" => created_at_local: localtime,
            /// When the record was closed (UTC: from the tenant time zone given at import).
            "closedAtUtc" => closed_at: time,
            /// When the record was closed, in the tenant's time zone, as the source gave it.
            "closedAt" => closed_at_local: localtime,
            /// Time in the "Newly Added" state, in seconds.
            "newStatusDuration" => new_status_duration: float,
            /// Time in the "Processing" state, in seconds.
            "queuedStatusDuration" => queued_status_duration: float,
            /// Time in the "Rescheduled" state, in seconds.
            "rescheduledStatusDuration" => rescheduled_status_duration: float,
            /// Customer ring time over all dial attempts, in seconds.
            "totalCustomerRingTimeInSeconds" => total_customer_ring_time_in_seconds: float,
            /// Talk time over all dial attempts, in seconds.
            "totalTalkTimeInSeconds" => total_talk_time_in_seconds: float,
        }
    }
}

row! {
    /// A custom field of a campaign record.
    pub struct CampaignRecordCustomFieldRow {
        keys {
            /// The record.
            record_id: String,
            /// Name of the field.
            name: String,
            /// Its value. Personal data: null without the `pii:read` permission.
            value: Option<String> [personal],
        }
        fields {}
    }
}

row! {
    /// An additional phone number of a campaign record.
    pub struct CampaignRecordPhoneNumberRow {
        keys {
            /// The record.
            record_id: String,
            /// The phone number. Personal data: empty without the `pii:read` permission.
            phone_number: String [personal],
        }
        fields {}
    }
}

row! {
    /// A campaign record as it was uploaded.
    pub struct CampaignRecordRegistrationRow {
        keys {
            /// The record.
            record_id: String,
        }
        fields {
            /// The campaign.
            "campaignId" => campaign_id: str,
            /// First name of the customer. Personal data: null without the `pii:read` permission.
            "customerFirstName" => customer_first_name: str [personal],
            /// Last name of the customer. Personal data: null without the `pii:read` permission.
            "customerLastName" => customer_last_name: str [personal],
            /// Primary phone number. Personal data: null without the `pii:read` permission.
            "primaryPhoneNumber" => primary_phone_number: str [personal],
        }
    }
}

/// The tables of the feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    BusinessUnits,
    Agents,
    Users,
    AgentStates,
    AgentBusinessUnitChanges,
    Channels,
    Queues,
    BotSteps,
    BotSegments,
    QueueSegments,
    RejectedEnqueueAttempts,
    CapturedData,
    Calls,
    Chats,
    Emails,
    Conversations,
    Workitems,
    WorkitemConversationSessions,
    CollectedData,
    WorkitemEvaluations,
    WorkitemEvaluationData,
    Campaigns,
    CampaignRecords,
    CampaignRecordCustomFields,
    CampaignRecordPhoneNumbers,
    CampaignRecordRegistrations,
}

impl Table {
    pub const ALL: [Table; 26] = [
        Table::BusinessUnits,
        Table::Agents,
        Table::Users,
        Table::AgentStates,
        Table::AgentBusinessUnitChanges,
        Table::Channels,
        Table::Queues,
        Table::BotSteps,
        Table::BotSegments,
        Table::QueueSegments,
        Table::RejectedEnqueueAttempts,
        Table::CapturedData,
        Table::Calls,
        Table::Chats,
        Table::Emails,
        Table::Conversations,
        Table::Workitems,
        Table::WorkitemConversationSessions,
        Table::CollectedData,
        Table::WorkitemEvaluations,
        Table::WorkitemEvaluationData,
        Table::Campaigns,
        Table::CampaignRecords,
        Table::CampaignRecordCustomFields,
        Table::CampaignRecordPhoneNumbers,
        Table::CampaignRecordRegistrations,
    ];

    /// The feed's name of the table, as its OData entity set and export file are named.
    pub fn name(self) -> &'static str {
        match self {
            Table::BusinessUnits => "BusinessUnits",
            Table::Agents => "Agents",
            Table::Users => "Users",
            Table::AgentStates => "AgentStates",
            Table::AgentBusinessUnitChanges => "AgentBusinessUnitChanges",
            Table::Channels => "Channels",
            Table::Queues => "Queues",
            Table::BotSteps => "BotSteps",
            Table::BotSegments => "BotSegments",
            Table::QueueSegments => "QueueSegments",
            Table::RejectedEnqueueAttempts => "RejectedEnqueueAttempts",
            Table::CapturedData => "CapturedData",
            Table::Calls => "Calls",
            Table::Chats => "Chats",
            Table::Emails => "Emails",
            Table::Conversations => "Conversations",
            Table::Workitems => "Workitems",
            Table::WorkitemConversationSessions => "WorkitemConversationSessions",
            Table::CollectedData => "CollectedData",
            Table::WorkitemEvaluations => "WorkitemEvaluations",
            Table::WorkitemEvaluationData => "WorkitemEvaluationData",
            Table::Campaigns => "Campaigns",
            Table::CampaignRecords => "CampaignRecords",
            Table::CampaignRecordCustomFields => "CampaignRecordCustomFields",
            Table::CampaignRecordPhoneNumbers => "CampaignRecordAdditionalPhoneNumbers",
            Table::CampaignRecordRegistrations => "CampaignRecordRegistrations",
        }
    }

    /// The columns that identify a row of the table (its primary key).
    pub fn key_columns(self) -> &'static [&'static str] {
        match self {
            Table::BusinessUnits => &["business_unit_id"],
            Table::Agents => &["agent_id"],
            Table::Users => &["user_id"],
            Table::AgentStates => &["agent_state_id"],
            Table::AgentBusinessUnitChanges => &["agent_id", "business_unit_id", "timestamp"],
            Table::Channels => &["channel_id"],
            Table::Queues => &["queue_id"],
            Table::BotSteps => &["bot_step_id"],
            Table::BotSegments => &["conversation_id", "bot_segment_id"],
            Table::QueueSegments => &["conversation_id", "queue_segment_id"],
            Table::RejectedEnqueueAttempts => &["conversation_id", "attempt_id"],
            Table::CapturedData => &["conversation_id", "name", "captured_at"],
            Table::Calls | Table::Chats | Table::Emails | Table::Conversations => {
                &["conversation_id"]
            }
            Table::Workitems => &["workitem_id"],
            Table::WorkitemConversationSessions => &["workitem_id", "session_id"],
            Table::CollectedData => &["workitem_id", "name", "created_at"],
            Table::WorkitemEvaluations => &["workitem_id", "evaluation_id"],
            Table::WorkitemEvaluationData => &["workitem_id", "entry_id"],
            Table::Campaigns => &["campaign_id"],
            Table::CampaignRecords => &["record_id"],
            Table::CampaignRecordCustomFields => &["record_id", "name"],
            Table::CampaignRecordPhoneNumbers => &["record_id", "phone_number"],
            Table::CampaignRecordRegistrations => &["record_id"],
        }
    }

    /// The columns of the table's rows that hold UTC times: a row's version is the latest.
    pub fn time_columns(self) -> Vec<&'static str> {
        match self {
            Table::BusinessUnits => BusinessUnitRow::time_columns(),
            Table::Agents => AgentRow::time_columns(),
            Table::Users => UserRow::time_columns(),
            Table::AgentStates => AgentStateRow::time_columns(),
            Table::AgentBusinessUnitChanges => AgentBusinessUnitChangeRow::time_columns(),
            Table::Channels => ChannelRow::time_columns(),
            Table::Queues => QueueRow::time_columns(),
            Table::BotSteps => BotStepRow::time_columns(),
            Table::BotSegments => BotSegmentRow::time_columns(),
            Table::QueueSegments => QueueSegmentRow::time_columns(),
            Table::RejectedEnqueueAttempts => RejectedEnqueueAttemptRow::time_columns(),
            Table::CapturedData => CapturedDataRow::time_columns(),
            Table::Calls | Table::Chats | Table::Emails | Table::Conversations => {
                ConversationRow::time_columns()
            }
            Table::Workitems => WorkitemRow::time_columns(),
            Table::WorkitemConversationSessions => WorkitemConversationSessionRow::time_columns(),
            Table::CollectedData => CollectedDataRow::time_columns(),
            Table::WorkitemEvaluations => WorkitemEvaluationRow::time_columns(),
            Table::WorkitemEvaluationData => WorkitemEvaluationDataRow::time_columns(),
            Table::Campaigns => CampaignRow::time_columns(),
            Table::CampaignRecords => CampaignRecordRow::time_columns(),
            Table::CampaignRecordCustomFields => CampaignRecordCustomFieldRow::time_columns(),
            Table::CampaignRecordPhoneNumbers => CampaignRecordPhoneNumberRow::time_columns(),
            Table::CampaignRecordRegistrations => CampaignRecordRegistrationRow::time_columns(),
        }
    }

    /// The table a name designates: an OData entity set (`…/$metadata#QueueSegments`), a file
    /// name (`queue_segments-0001.json`, `Queue Segments.csv`), or `--table`. Case, spaces,
    /// dashes and underscores do not matter, nor does a plural or singular `Workitem(s)`.
    pub fn from_name(name: &str) -> Option<Table> {
        let wanted = squash(name);
        let wanted = wanted.trim_end_matches("lookup");
        Table::ALL.into_iter().find(|t| {
            let own = squash(t.name());
            own == wanted
                || own.trim_end_matches('s') == wanted.trim_end_matches('s')
                || (*t == Table::CampaignRecordPhoneNumbers
                    && matches!(
                        wanted,
                        "campaignrecordadditionalphonenumber" | "campaignrecordphonenumbers"
                    ))
        })
    }

    /// The table of a file: from the OData `@odata.context` when there is one, else from the
    /// file's name (without extension, page numbers and dates).
    pub fn detect(context: Option<&str>, file_stem: &str) -> Option<Table> {
        if let Some(context) = context {
            let set = context.rsplit('#').next().unwrap_or(context);
            let set = set.split(['(', '/']).next().unwrap_or(set);
            if let Some(t) = Table::from_name(set) {
                return Some(t);
            }
        }
        let stem: String = file_stem
            .trim_end_matches(|c: char| c.is_ascii_digit() || matches!(c, '-' | '_' | '.' | ' '))
            .to_owned();
        Table::from_name(&stem)
    }
}

fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// One row of the feed, read.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A conversation (Calls, Chats, Emails, Conversations): stored as a conversation graph.
    Conversation(Box<ConversationGraph>),
    /// A row of any other table, as its columns (the field names are the column names).
    Row {
        table: Table,
        /// The row's key, for reports: `q-1`, `wi-1/e-2`.
        key: String,
        row: Value,
    },
}

/// How rows are read: the tenant's time zone, for timestamps the source gives in local time only.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOptions {
    pub time_zone: Option<Tz>,
}

/// Reads one row of `table`. `row` is an OData JSON object, or a CSV record as an object of
/// strings; empty strings count as absent.
pub fn read_row(table: Table, row: &Value, options: &ReadOptions) -> Result<Record, DocumentError> {
    let Value::Object(map) = row else {
        return Err(DocumentError::new("$", "expected a row object"));
    };
    let canonical = canonicalize(table, map)?;
    let mut o = Obj::new(&canonical, "$")?;
    let tz = options.time_zone;
    macro_rules! read {
        ($ty:ty, |$r:ident, $o:ident| $keys:block) => {{
            let mut $r = <$ty>::read_fields(&mut o)?;
            {
                let $o = &mut o;
                $keys
            }
            $r.extra = o.into_extra();
            $r
        }};
    }
    let (key, value) = match table {
        Table::Calls | Table::Chats | Table::Emails | Table::Conversations => {
            return conversation(table, o, tz).map(|g| Record::Conversation(Box::new(g)));
        }
        Table::BusinessUnits => {
            let r = read!(BusinessUnitRow, |r, o| {
                r.business_unit_id = o.required_str("id")?;
            });
            (r.business_unit_id.clone(), to_value(&r))
        }
        Table::Agents => {
            let r = read!(AgentRow, |r, o| {
                r.agent_id = o.required_str("id")?;
            });
            (r.agent_id.clone(), to_value(&r))
        }
        Table::Users => {
            let r = read!(UserRow, |r, o| {
                r.user_id = o.required_str("id")?;
            });
            (r.user_id.clone(), to_value(&r))
        }
        Table::AgentStates => {
            let mut r = read!(AgentStateRow, |r, o| {
                r.agent_state_id = o.required_str("id")?;
            });
            r.start_time = utc(r.start_time, r.start_time_local, tz, "$.startTime")?;
            (r.agent_state_id.clone(), to_value(&r))
        }
        Table::AgentBusinessUnitChanges => {
            let r = read!(AgentBusinessUnitChangeRow, |r, o| {
                r.agent_id = o.required_str("agentId")?;
                r.business_unit_id = o.required_str("businessUnitId")?;
                r.timestamp = required_time(o, "timestampUtc")?;
            });
            let key = format!(
                "{}/{}/{}",
                r.agent_id,
                r.business_unit_id,
                r.timestamp.to_rfc3339()
            );
            (key, to_value(&r))
        }
        Table::Channels => {
            let r = read!(ChannelRow, |r, o| {
                r.channel_id = o.required_str("id")?;
                r.business_unit_id = o.str("businessUnitId")?;
            });
            (r.channel_id.clone(), to_value(&r))
        }
        Table::Queues => {
            let r = read!(QueueRow, |r, o| {
                r.queue_id = o.required_str("id")?;
            });
            (r.queue_id.clone(), to_value(&r))
        }
        Table::BotSteps => {
            let r = read!(BotStepRow, |r, o| {
                r.bot_step_id = o.required_str("id")?;
            });
            (r.bot_step_id.clone(), to_value(&r))
        }
        Table::BotSegments => {
            let mut r = read!(BotSegmentRow, |r, o| {
                r.conversation_id = o.required_str("conversationId")?;
                r.bot_segment_id = o.required_str("id")?;
            });
            r.started_at = utc(r.started_at, r.started_at_local, tz, "$.startedAt")?;
            r.ended_at = utc(r.ended_at, r.ended_at_local, tz, "$.endedAt")?;
            (
                format!("{}/{}", r.conversation_id, r.bot_segment_id),
                to_value(&r),
            )
        }
        Table::QueueSegments => {
            let mut r = read!(QueueSegmentRow, |r, o| {
                r.conversation_id = o.required_str("conversationId")?;
                r.queue_segment_id = o.str("id")?.unwrap_or_default();
            });
            r.queued_at = utc(r.queued_at, r.queued_at_local, tz, "$.queuedAt")?;
            r.dequeued_at = utc(r.dequeued_at, r.dequeued_at_local, tz, "$.dequeuedAt")?;
            if r.queue_segment_id.is_empty() {
                // The feed documents no id for queue segments: the queue and the time it was
                // entered identify one.
                let queued = r.queued_at.ok_or_else(|| {
                    DocumentError::new("$.queuedAtUtc", "is required when the row has no id")
                })?;
                r.queue_segment_id = format!(
                    "{}@{}",
                    r.queue_id.as_deref().unwrap_or(""),
                    queued.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                );
            }
            (
                format!("{}/{}", r.conversation_id, r.queue_segment_id),
                to_value(&r),
            )
        }
        Table::RejectedEnqueueAttempts => {
            let mut r = read!(RejectedEnqueueAttemptRow, |r, o| {
                r.conversation_id = o.required_str("conversationId")?;
                r.attempt_id = o.required_str("id")?;
            });
            r.rejected_at = utc(r.rejected_at, r.rejected_at_local, tz, "$.rejectedAt")?;
            (
                format!("{}/{}", r.conversation_id, r.attempt_id),
                to_value(&r),
            )
        }
        Table::CapturedData => {
            let r = read!(CapturedDataRow, |r, o| {
                r.conversation_id = o.required_str("conversationId")?;
                r.name = o.required_str("name")?;
                r.captured_at = required_time(o, "timestampUtc")?;
                r.value = o.str("value")?;
            });
            (format!("{}/{}", r.conversation_id, r.name), to_value(&r))
        }
        Table::Workitems => {
            let mut r = read!(WorkitemRow, |r, o| {
                r.workitem_id = o.required_str("id")?;
            });
            r.start_time = utc(r.start_time, r.start_time_local, tz, "$.startTime")?;
            r.end_time = utc(r.end_time, r.end_time_local, tz, "$.endTime")?;
            (r.workitem_id.clone(), to_value(&r))
        }
        Table::WorkitemConversationSessions => {
            let r = read!(WorkitemConversationSessionRow, |r, o| {
                r.workitem_id = o.required_str("workitemId")?;
                r.session_id = o.required_str("id")?;
            });
            (format!("{}/{}", r.workitem_id, r.session_id), to_value(&r))
        }
        Table::CollectedData => {
            let r = read!(CollectedDataRow, |r, o| {
                r.workitem_id = o.required_str("workitemId")?;
                r.name = o.required_str("name")?;
                r.created_at = required_time(o, "createdAtUtc")?;
                r.value = o.str("value")?;
            });
            (format!("{}/{}", r.workitem_id, r.name), to_value(&r))
        }
        Table::WorkitemEvaluations => {
            let mut r = read!(WorkitemEvaluationRow, |r, o| {
                r.workitem_id = o.required_str("workitemId")?;
                r.evaluation_id = o.required_str("id")?;
            });
            r.started_at = utc(r.started_at, r.started_at_local, tz, "$.startedAt")?;
            r.ended_at = utc(r.ended_at, r.ended_at_local, tz, "$.endedAt")?;
            (
                format!("{}/{}", r.workitem_id, r.evaluation_id),
                to_value(&r),
            )
        }
        Table::WorkitemEvaluationData => {
            let mut r = read!(WorkitemEvaluationDataRow, |r, o| {
                r.workitem_id = o.required_str("workitemId")?;
                r.entry_id = o.required_str("id")?;
            });
            r.created_at = utc(r.created_at, r.created_at_local, tz, "$.createdAt")?;
            (format!("{}/{}", r.workitem_id, r.entry_id), to_value(&r))
        }
        Table::Campaigns => {
            let r = read!(CampaignRow, |r, o| {
                r.campaign_id = o.required_str("id")?;
            });
            (r.campaign_id.clone(), to_value(&r))
        }
        Table::CampaignRecords => {
            let mut r = read!(CampaignRecordRow, |r, o| {
                r.record_id = o.required_str("id")?;
            });
            r.created_at = utc(r.created_at, r.created_at_local, tz, "$.createdAt")?;
            r.closed_at = utc(r.closed_at, r.closed_at_local, tz, "$.closedAt")?;
            (r.record_id.clone(), to_value(&r))
        }
        Table::CampaignRecordCustomFields => {
            let r = read!(CampaignRecordCustomFieldRow, |r, o| {
                r.record_id = o.required_str("campaignRecordId")?;
                r.name = o.required_str("customFieldName")?;
                // The feed spells it `customFieldValues`; `customFieldValue` is taken too.
                r.value = match o.str("customFieldValues")? {
                    Some(value) => Some(value),
                    None => o.str("customFieldValue")?,
                };
            });
            (format!("{}/{}", r.record_id, r.name), to_value(&r))
        }
        Table::CampaignRecordPhoneNumbers => {
            let r = read!(CampaignRecordPhoneNumberRow, |r, o| {
                r.record_id = o.required_str("campaignRecordId")?;
                r.phone_number = o.required_str("phoneNumber")?;
            });
            (r.record_id.clone(), to_value(&r))
        }
        Table::CampaignRecordRegistrations => {
            let r = read!(CampaignRecordRegistrationRow, |r, o| {
                r.record_id = o.required_str("campaignRecordId")?;
            });
            (r.record_id.clone(), to_value(&r))
        }
    };
    Ok(Record::Row {
        table,
        key,
        row: value,
    })
}

/// The key of a row as the source sent it, for reports on rows that do not read: the values of
/// the source keys behind the table's key columns, joined with `/`.
pub fn key_of(table: Table, row: &Value) -> Option<String> {
    let map = row.as_object()?;
    let wanted: &[&str] = match table {
        Table::AgentBusinessUnitChanges => &["agentid", "businessunitid"],
        Table::BotSegments | Table::QueueSegments | Table::RejectedEnqueueAttempts => {
            &["conversationid", "id"]
        }
        Table::CapturedData => &["conversationid", "name"],
        Table::WorkitemConversationSessions
        | Table::WorkitemEvaluations
        | Table::WorkitemEvaluationData => &["workitemid", "id"],
        Table::CollectedData => &["workitemid", "name"],
        Table::CampaignRecordCustomFields => &["campaignrecordid", "customfieldname"],
        Table::CampaignRecordPhoneNumbers | Table::CampaignRecordRegistrations => {
            &["campaignrecordid"]
        }
        _ => &["id"],
    };
    let parts: Vec<String> = wanted
        .iter()
        .filter_map(|w| {
            map.iter()
                .find(|(k, _)| squash(k) == *w)
                .and_then(|(_, v)| match v {
                    Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

fn to_value<T: serde::Serialize>(row: &T) -> Value {
    serde_json::to_value(row).unwrap_or(Value::Null)
}

fn required_time(o: &mut Obj<'_>, key: &str) -> Result<DateTime<Utc>, DocumentError> {
    o.time(key)?
        .ok_or_else(|| DocumentError::new(o.path_of(key), "is required"))
}

/// A UTC time: the source's, or its local time converted with the tenant's time zone.
fn utc(
    utc: Option<DateTime<Utc>>,
    local: Option<NaiveDateTime>,
    tz: Option<Tz>,
    path: &str,
) -> Result<Option<DateTime<Utc>>, DocumentError> {
    match (utc, local, tz) {
        (Some(t), _, _) => Ok(Some(t)),
        (None, None, _) => Ok(None),
        (None, Some(local), Some(tz)) => match tz.from_local_datetime(&local) {
            chrono::LocalResult::Single(t) => Ok(Some(t.with_timezone(&Utc))),
            // The hour repeated when clocks go back: the first of the two.
            chrono::LocalResult::Ambiguous(first, _) => Ok(Some(first.with_timezone(&Utc))),
            chrono::LocalResult::None => Err(DocumentError::new(
                path,
                format!("{local} does not exist in {tz} (clocks moved forward)"),
            )),
        },
        (None, Some(_), None) => Err(DocumentError::new(
            path,
            "a local time without its UTC twin: give the tenant's time zone (--time-zone) to convert it",
        )),
    }
}

/// A Buzzeasy conversation as a graph of one row.
fn conversation(
    table: Table,
    mut o: Obj<'_>,
    tz: Option<Tz>,
) -> Result<ConversationGraph, DocumentError> {
    let id = o.required_str("id")?;
    let mut c = ConversationRow::read_fields(&mut o)?;
    c.conversation_id = id;
    c.source = format!("buzzeasy.{}", table.name().to_ascii_lowercase());
    c.business_unit_id = o.str("businessUnitId")?;
    let start = o.time("startedAtUtc")?;
    let end = o.time("endedAtUtc")?;
    c.conversation_start = utc(start, c.started_at_local, tz, "$.startedAt")?;
    c.conversation_end = utc(end, c.ended_at_local, tz, "$.endedAt")?;
    c.customer_joined_at = utc(
        c.customer_joined_at,
        c.customer_joined_at_local,
        tz,
        "$.customerJoinedAt",
    )?;
    if c.media_type.is_none() {
        c.media_type = match table {
            Table::Calls => Some("voice".into()),
            Table::Chats => Some("chat".into()),
            Table::Emails => Some("email".into()),
            _ => None,
        };
    }
    c.extra = o.into_extra();
    Ok(ConversationGraph {
        conversation: c,
        ..Default::default()
    })
}

/// The row with its keys renamed to the spelling the row types declare (matched without
/// regard to case, spaces and underscores), and its values coerced from text to the declared
/// kinds: CSV cells are all text, and OData sends some numbers and flags as text too.
fn canonicalize(table: Table, map: &Map<String, Value>) -> Result<Value, DocumentError> {
    let kinds = kinds_of(table);
    let mut out = Map::new();
    for (key, value) in map {
        if key.starts_with("@odata.") {
            continue;
        }
        let squashed = squash(key);
        let declared = kinds.iter().find(|(k, _)| squash(k) == squashed);
        let (name, kind) = match declared {
            Some((k, kind)) => ((*k).to_owned(), *kind),
            None => (key.clone(), "json"),
        };
        let value = coerce(value, kind).map_err(|m| DocumentError::new(format!("$.{name}"), m))?;
        if !value.is_null() {
            out.insert(name, value);
        }
    }
    Ok(Value::Object(out))
}

/// Source keys and kinds of a table: the row type's fields and the keys read by hand.
fn kinds_of(table: Table) -> Vec<(&'static str, &'static str)> {
    let mut kinds: Vec<(&'static str, &'static str)> = match table {
        Table::BusinessUnits => BusinessUnitRow::FIELD_KINDS.to_vec(),
        Table::Agents => AgentRow::FIELD_KINDS.to_vec(),
        Table::Users => UserRow::FIELD_KINDS.to_vec(),
        Table::AgentStates => AgentStateRow::FIELD_KINDS.to_vec(),
        Table::AgentBusinessUnitChanges => AgentBusinessUnitChangeRow::FIELD_KINDS.to_vec(),
        Table::Channels => ChannelRow::FIELD_KINDS.to_vec(),
        Table::Queues => QueueRow::FIELD_KINDS.to_vec(),
        Table::BotSteps => BotStepRow::FIELD_KINDS.to_vec(),
        Table::BotSegments => BotSegmentRow::FIELD_KINDS.to_vec(),
        Table::QueueSegments => QueueSegmentRow::FIELD_KINDS.to_vec(),
        Table::RejectedEnqueueAttempts => RejectedEnqueueAttemptRow::FIELD_KINDS.to_vec(),
        Table::CapturedData => CapturedDataRow::FIELD_KINDS.to_vec(),
        Table::Calls | Table::Chats | Table::Emails | Table::Conversations => {
            ConversationRow::FIELD_KINDS.to_vec()
        }
        Table::Workitems => WorkitemRow::FIELD_KINDS.to_vec(),
        Table::WorkitemConversationSessions => WorkitemConversationSessionRow::FIELD_KINDS.to_vec(),
        Table::CollectedData => CollectedDataRow::FIELD_KINDS.to_vec(),
        Table::WorkitemEvaluations => WorkitemEvaluationRow::FIELD_KINDS.to_vec(),
        Table::WorkitemEvaluationData => WorkitemEvaluationDataRow::FIELD_KINDS.to_vec(),
        Table::Campaigns => CampaignRow::FIELD_KINDS.to_vec(),
        Table::CampaignRecords => CampaignRecordRow::FIELD_KINDS.to_vec(),
        Table::CampaignRecordCustomFields => CampaignRecordCustomFieldRow::FIELD_KINDS.to_vec(),
        Table::CampaignRecordPhoneNumbers => CampaignRecordPhoneNumberRow::FIELD_KINDS.to_vec(),
        Table::CampaignRecordRegistrations => CampaignRecordRegistrationRow::FIELD_KINDS.to_vec(),
    };
    let by_hand: &[(&str, &str)] = match table {
        Table::AgentBusinessUnitChanges => &[
            ("agentId", "str"),
            ("businessUnitId", "str"),
            ("timestampUtc", "time"),
        ],
        Table::Channels => &[("id", "str"), ("businessUnitId", "str")],
        Table::BotSegments | Table::RejectedEnqueueAttempts => {
            &[("id", "str"), ("conversationId", "str")]
        }
        Table::QueueSegments => &[("id", "str"), ("conversationId", "str")],
        Table::CapturedData => &[
            ("conversationId", "str"),
            ("name", "str"),
            ("timestampUtc", "time"),
            ("value", "str"),
        ],
        Table::Calls | Table::Chats | Table::Emails | Table::Conversations => &[
            ("id", "str"),
            ("businessUnitId", "str"),
            ("startedAtUtc", "time"),
            ("endedAtUtc", "time"),
        ],
        Table::WorkitemConversationSessions
        | Table::WorkitemEvaluations
        | Table::WorkitemEvaluationData => &[("id", "str"), ("workitemId", "str")],
        Table::CollectedData => &[
            ("workitemId", "str"),
            ("name", "str"),
            ("createdAtUtc", "time"),
            ("value", "str"),
        ],
        Table::CampaignRecordCustomFields => &[
            ("campaignRecordId", "str"),
            ("customFieldName", "str"),
            ("customFieldValues", "str"),
            ("customFieldValue", "str"),
        ],
        Table::CampaignRecordPhoneNumbers => &[("campaignRecordId", "str"), ("phoneNumber", "str")],
        Table::CampaignRecordRegistrations => &[("campaignRecordId", "str")],
        _ => &[("id", "str")],
    };
    kinds.extend_from_slice(by_hand);
    kinds
}

/// `value` as the declared kind; text is parsed, an empty text is absent.
fn coerce(value: &Value, kind: &str) -> Result<Value, String> {
    let Value::String(text) = value else {
        return Ok(match (kind, value) {
            // Ids sent as numbers are ids all the same.
            ("str" | "enumeration", Value::Number(n)) => Value::String(n.to_string()),
            ("bool", Value::Number(n)) if n.as_i64() == Some(0) => Value::Bool(false),
            ("bool", Value::Number(n)) if n.as_i64() == Some(1) => Value::Bool(true),
            _ => value.clone(),
        });
    };
    let t = text.trim();
    if t.is_empty() {
        return Ok(Value::Null);
    }
    Ok(match kind {
        "int" => t
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("expected an integer, found {text:?}"))?,
        "float" => t
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("expected a number, found {text:?}"))?,
        "bool" => match t.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Value::Bool(true),
            "false" | "0" | "no" => Value::Bool(false),
            _ => return Err(format!("expected true/false or 1/0, found {text:?}")),
        },
        "localtime" => {
            parse_local_time(t)?;
            Value::String(t.to_owned())
        }
        _ => value.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_are_found_by_context_file_name_or_flag() {
        assert_eq!(
            Table::detect(Some("https://x/odata/$metadata#QueueSegments"), "page-1"),
            Some(Table::QueueSegments)
        );
        assert_eq!(
            Table::detect(None, "queue_segments-0003"),
            Some(Table::QueueSegments)
        );
        assert_eq!(
            Table::detect(None, "Bot Steps (lookup)"),
            Some(Table::BotSteps)
        );
        assert_eq!(Table::from_name("workitem"), Some(Table::Workitems));
        assert_eq!(
            Table::from_name("Campaign Record Additional Phone number"),
            Some(Table::CampaignRecordPhoneNumbers)
        );
        assert_eq!(Table::from_name("nonsense"), None);
        for t in Table::ALL {
            assert_eq!(Table::from_name(t.name()), Some(t));
        }
    }

    #[test]
    fn keys_match_without_case_and_text_is_coerced() {
        let row = json!({"ID": "w1", "AgentId": "a1", "durationInSeconds": "12.5",
                          "startTimeUTC": "2026-01-01T10:00:00Z", "startTime": "2026-01-01 11:00:00",
                          "Notes": "", "custom": "kept"});
        let Record::Row { row, .. } =
            read_row(Table::Workitems, &row, &ReadOptions::default()).unwrap()
        else {
            panic!("a row")
        };
        assert_eq!(row["workitem_id"], "w1");
        assert_eq!(row["agent_id"], "a1");
        assert_eq!(row["duration_in_seconds"], 12.5);
        assert_eq!(row["start_time"], "2026-01-01T10:00:00Z");
        assert_eq!(row["start_time_local"], "2026-01-01T11:00:00");
        assert_eq!(row["notes"], Value::Null);
        assert_eq!(row["extra"], json!({"custom": "kept"}));
    }

    #[test]
    fn a_custom_field_value_is_read_in_the_feed_spelling_and_the_singular() {
        let value_of = |row: Value| {
            let Record::Row { row, .. } = read_row(
                Table::CampaignRecordCustomFields,
                &row,
                &ReadOptions::default(),
            )
            .unwrap() else {
                panic!("a row")
            };
            (row["value"].clone(), row["extra"].clone())
        };
        // The feed's column (buzzeasy-odata: "customFieldName and customFieldValues").
        let feed = json!({"campaignRecordId": "r1", "customFieldName": "plan",
                          "customFieldValues": "gold"});
        assert_eq!(value_of(feed), (json!("gold"), json!({})));
        let singular = json!({"campaignRecordId": "r1", "customFieldName": "plan",
                              "customFieldValue": "gold"});
        assert_eq!(value_of(singular), (json!("gold"), json!({})));
    }

    #[test]
    fn local_only_times_need_the_tenant_time_zone() {
        let row = json!({"id": "r1", "campaignId": "c1", "CreatedAt": "2026-03-29T02:30:00"});
        let err = read_row(Table::CampaignRecords, &row, &ReadOptions::default()).unwrap_err();
        assert_eq!(err.path, "$.createdAt");
        let options = ReadOptions {
            time_zone: Some(chrono_tz::Europe::Budapest),
        };
        // 02:30 does not exist in Budapest on the day clocks move forward.
        assert!(read_row(Table::CampaignRecords, &row, &options).is_err());
        let row = json!({"id": "r1", "CreatedAt": "2026-03-29T04:30:00"});
        let Record::Row { row, .. } = read_row(Table::CampaignRecords, &row, &options).unwrap()
        else {
            panic!("a row")
        };
        assert_eq!(row["created_at"], "2026-03-29T02:30:00Z");
    }

    #[test]
    fn a_call_is_a_conversation_with_its_business_unit() {
        let row = json!({"id": "c1", "businessUnitId": "bu1", "startedAtUTC": "2026-01-01T10:00:00Z",
                          "isOutbound": "False", "holdCount": "2", "customerPhoneNumber": "+361"});
        let Record::Conversation(g) =
            read_row(Table::Calls, &row, &ReadOptions::default()).unwrap()
        else {
            panic!("a conversation")
        };
        assert_eq!(g.conversation.business_unit_id.as_deref(), Some("bu1"));
        assert_eq!(g.conversation.media_type.as_deref(), Some("voice"));
        assert_eq!(g.conversation.is_outbound, Some(false));
        assert_eq!(g.conversation.hold_count, Some(2));
        assert_eq!(g.conversation.source, "buzzeasy.calls");
        assert!(
            g.conversation.extra.is_empty(),
            "{:?}",
            g.conversation.extra
        );
    }
}
