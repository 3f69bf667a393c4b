//! The conversation graph as stored: one row type per table, and [`ConversationGraph`], every
//! row of one conversation. Both Genesys shapes (analytics details and the platform
//! `Conversation` object) become this; the Buzzeasy feed adds to it.
//!
//! Field names are column names. Enumerations are open sets kept as text in the analytics
//! spelling (`voice`, `consultTransfer`); timestamps are UTC.

use serde::{Deserialize, Serialize};

row! {
    /// A conversation: the root of the graph and the unit of scope and of import.
    pub struct ConversationRow {
        keys {
            /// Id of the conversation.
            conversation_id: String,
            /// Which source shape it came from: `genesys.analytics`, `genesys.conversation`, …
            source: String,
            /// Start of the conversation (`conversationStart` / `startTime`).
            conversation_start: Option<chrono::DateTime<chrono::Utc>>,
            /// End of the conversation; absent while it is in progress.
            conversation_end: Option<chrono::DateTime<chrono::Utc>>,
            /// Genesys divisions the conversation belongs to.
            division_ids: Vec<String>,
            /// Buzzeasy business unit the conversation belongs to.
            business_unit_id: Option<String>,
        }
        fields {
            /// Attributes that control who may access the conversation (Genesys access control).
            "accessAttributes" => access_attributes: strs,
            /// Id of a conversation this one is associated with (for example the original of a callback or a consult); see `associatedConversation`.
            "associatedConversationId" => associated_conversation_id: str,
            /// When the conversation became a conference, if it did.
            "conferenceStart" => conference_start: time,
            /// Ids of the consult conversations started from this one; see `consultConversations`.
            "consultationConversationIds" => consultation_conversation_ids: strs,
            /// Who started the conversation: `customer`, `agent`, `acd`, `dialer`, `workflow`, … (an open set).
            "conversationInitiator" => conversation_initiator: enumeration,
            /// Indicates a messaging conversation in which the customer participated by sending at least one message.
            "customerParticipation" => customer_participation: bool,
            /// External tag for the conversation.
            "externalTag" => external_tag: str,
            /// The time in the future, after which this conversation would be considered inactive.
            "inactivityTimeout" => inactivity_timeout: time,
            /// Knowledge bases used during the conversation.
            "knowledgeBaseIds" => knowledge_base_ids: strs,
            /// Lowest Mean Opinion Score (1 to 5) of any voice leg: the worst audio quality anyone heard.
            "mediaStatsMinConversationMos" => media_stats_min_conversation_mos: float,
            /// Lowest R-factor (0 to 100) of any voice leg, the transmission rating behind the MOS.
            "mediaStatsMinConversationRFactor" => media_stats_min_conversation_r_factor: float,
            /// Direction of the first session of the conversation: `inbound` or `outbound`.
            "originatingDirection" => originating_direction: enumeration,
            /// Whether the conversation started from a public social-media post (rather than a private message).
            "originatingSocialMediaPublic" => originating_social_media_public: bool,
            /// Indicates whether all flow sessions were self serviced.
            "selfServed" => self_served: bool,
            // The platform `Conversation` object.
            /// Name of the conversation (platform `Conversation.name`). Personal data: null without the `pii:read` permission.
            "name" => name: str [personal],
            /// The address of the conversation as seen from an external participant. For phone calls this will be the DNIS for inbound calls and the ANI for outbound calls. For other media types this will be the address of the destination participant for inbound and the address of the initiating participant for outbound. Personal data: null without the `pii:read` permission.
            "address" => address: str [personal],
            /// A list of conversations to merge into this conversation to create a conference. This field is null except when being used to create a conference.
            "conversationIds" => conversation_ids: strs,
            /// If this is a conference conversation, then this field indicates the maximum number of participants allowed to participant in the conference.
            "maxParticipants" => max_participants: int,
            /// State of recording on this call.
            "recordingState" => recording_state: str,
            /// The connection state of this communication.
            "state" => state: str,
            /// True when the recording of this call is in secure pause status.
            "securePause" => secure_pause: bool,
            /// An optional label that categorizes the conversation. Max-utilization settings can be configured at a per-label level.
            "utilizationLabelId" => utilization_label_id: str,
            /// The URI for this object.
            "selfUri" => self_uri: str,
            /// Pink Connect ID for the authenticated connection.
            "PCID" => pcid: str,
            /// The user the conversation belongs to, when the platform document names one.
            "userId" => user_id: str,
            // Buzzeasy conversations (the Calls, Chats, Emails and Conversations tables).
            /// Media of a Buzzeasy conversation: `voice` (Calls), `chat` (Chats), `email` (Emails), or as the Conversations table says.
            "mediaType" => media_type: enumeration,
            /// Buzzeasy channel of the conversation; see `channel`.
            "channelId" => channel_id: str,
            /// Type of the channel: `Voice`, `Webchat`, `Viber`, `Facebook`, `Email`, …
            "channelType" => channel_type: str,
            /// The phone number of the channel the customer called (voice channels have several). Personal data: null without the `pii:read` permission.
            "channelPhoneNumber" => channel_phone_number: str [personal],
            /// Why the conversation ended: `Default`, `Abandoned`, `CustomerDisconnected`, `IdleTimeout`, `TransferToChannel`, `TransferToExternal`, `CallbackRequested`, … (an open set).
            "conversationEndedReason" => conversation_ended_reason: str,
            /// The customer's id in Buzzeasy.
            "customerId" => customer_id: str,
            /// The customer's first name. Personal data: null without the `pii:read` permission.
            "customerFirstName" => customer_first_name: str [personal],
            /// The customer's last name. Personal data: null without the `pii:read` permission.
            "customerLastName" => customer_last_name: str [personal],
            /// The customer's phone number. Personal data: null without the `pii:read` permission.
            "customerPhoneNumber" => customer_phone_number: str [personal],
            /// The customer's e-mail address (Emails). Personal data: null without the `pii:read` permission.
            "customerEmailAddress" => customer_email_address: str [personal],
            /// When the customer joined (UTC).
            "customerJoinedAtUtc" => customer_joined_at: time,
            /// When the customer joined, in the tenant's time zone, as the source gave it.
            "customerJoinedAt" => customer_joined_at_local: localtime,
            /// How long the customer was rung, in seconds.
            "customerRingDuration" => customer_ring_duration: float,
            /// Start of the conversation in the tenant's time zone, as the source gave it (`conversationStart` is UTC).
            "startedAt" => started_at_local: localtime,
            /// End of the conversation in the tenant's time zone, as the source gave it (`conversationEnd` is UTC).
            "endedAt" => ended_at_local: localtime,
            /// Duration of the conversation in seconds, as the source rounded it.
            "durationInSeconds" => duration_in_seconds: float,
            /// How many times the customer was put on hold (Calls).
            "holdCount" => hold_count: int,
            /// Time the customer spent on hold, in seconds (Calls).
            "holdDurationInSeconds" => hold_duration_in_seconds: float,
            /// Seconds of the conversation while the channel was closed (out of business hours).
            "isChannelClosed" => is_channel_closed: float,
            /// Seconds of the conversation while the channel was open.
            "isChannelOpen" => is_channel_open: float,
            /// Seconds of the e-mail conversation outside business hours (Emails).
            "inChannelClosedDurationInSeconds" => in_channel_closed_duration_in_seconds: float,
            /// Seconds of the e-mail conversation during business hours (Emails).
            "inChannelOpenDurationInSeconds" => in_channel_open_duration_in_seconds: float,
            /// Whether this was a consult call to another agent or channel.
            "isConsult" => is_consult: bool,
            /// Whether the conversation was outbound.
            "isOutbound" => is_outbound: bool,
            /// The conversation this one was transferred into; see `nextConversation`.
            "nextConversationId" => next_conversation_id: str,
            /// The workflow's opening check: `Open`, `Holiday` or `Closed`.
            "openingCheckResult" => opening_check_result: str,
            /// Who initiated a transfer: `agent`, `workflow`, or empty.
            "transferInitiatedBy" => transfer_initiated_by: str,
            /// Target phone number of an external transfer. Personal data: null without the `pii:read` permission.
            "transferToExternalDestinationPhoneNumber" => transfer_to_external_destination_phone_number: str [personal],
            /// Average seconds agents took to answer the customer's messages (Chats).
            "averageAgentAnswerSpeedInSeconds" => average_agent_answer_speed_in_seconds: float,
            /// Average seconds bots took to answer the customer's messages (Chats).
            "averageBotAnswerSpeedInSeconds" => average_bot_answer_speed_in_seconds: float,
            /// Average seconds the customer took to answer (Chats).
            "averageCustomerAnswerSpeedInSeconds" => average_customer_answer_speed_in_seconds: float,
            /// Seconds the customer took to answer an outbound chat (Chats).
            "firstCustomerAnswerSpeedInSeconds" => first_customer_answer_speed_in_seconds: float,
            /// Seconds until the customer received a first reply (Emails).
            "firstReplyTimeInSeconds" => first_reply_time_in_seconds: float,
            /// Subject line of the e-mail conversation. Personal data: null without the `pii:read` permission.
            "subject" => subject: str [personal],
            /// E-mail thread: conversations under the same subject share it (Emails).
            "threadId" => thread_id: str,
        }
    }
}

row! {
    /// A participant of a conversation: customer, agent, acd, ivr, workflow, external, …
    pub struct ParticipantRow {
        keys {
            /// Id of the conversation.
            conversation_id: String,
            /// Id of the participant, unique within its conversation.
            participant_id: String,
            /// Position in the source document.
            ordinal: i32,
            /// `participantName` (analytics) or `name` (platform). Personal data: null without the `pii:read` permission.
            participant_name: Option<String> [personal],
            /// Custom attributes (`attributes`: string -> string). Personal data: null without the `pii:read` permission.
            attributes: Option<serde_json::Value> [personal],
        }
        fields {
            /// A well known string that specifies the purpose of this participant.
            "purpose" => purpose: enumeration,
            /// The Genesys user behind the participant, for agents and users.
            "userId" => user_id: str,
            /// If this participant represents an external contact, then this will be the globally unique identifier for the external contact.
            "externalContactId" => external_contact_id: str,
            /// If this participant represents an external org, then this will be the globally unique identifier for the external org.
            "externalOrganizationId" => external_organization_id: str,
            /// The reason specifying why participant flagged the conversation.
            "flaggedReason" => flagged_reason: str,
            /// Whether the participant's screen was recorded.
            "screenRecording" => screen_recording: bool,
            /// The team id that this participant is a member of when added to the conversation.
            "teamId" => team_id: str,
            // The platform `Participant`.
            /// The timestamp when this participant joined the conversation.
            "startTime" => start_time: time,
            /// The time when the conversation ended. This will be the time when the last participant left the conversation, or null when the conversation is still active.
            "endTime" => end_time: time,
            /// The timestamp when this participant was connected to the conversation.
            "connectedTime" => connected_time: time,
            /// If this participant represents a user, then this will be an URI that can be used to fetch the user.
            "userUri" => user_uri: str,
            /// If this participant represents an external contact, then this will be the initial division for the external contact. This value will not be updated if the external contact is reassigned.
            "externalContactInitialDivisionId" => external_contact_initial_division_id: str,
            /// If present, the queue id that the communication channel came in on.
            "queueId" => queue_id: str,
            /// If present, group of users the participant represents.
            "groupId" => group_id: str,
            /// If present, the queue name that the communication channel came in on.
            "queueName" => queue_name: str,
            /// A well known string that specifies the type of this participant.
            "participantType" => participant_type: str,
            /// If this participant is part of a consult transfer, then this will be the participant id of the participant being transferred.
            "consultParticipantId" => consult_participant_id: str,
            /// The address of the conversation as seen from an external participant. For phone calls this will be the DNIS for inbound calls and the ANI for outbound calls. For other media types this will be the address of the destination participant for inbound and the address of the initiating participant for outbound. Personal data: null without the `pii:read` permission.
            "address" => address: str [personal],
            /// The address for the this participant. For a phone call this will be the ANI. Personal data: null without the `pii:read` permission.
            "ani" => ani: str [personal],
            /// The ani-based name for this participant. Personal data: null without the `pii:read` permission.
            "aniName" => ani_name: str [personal],
            /// The address for the this participant. For a phone call this will be the ANI. Personal data: null without the `pii:read` permission.
            "dnis" => dnis: str [personal],
            /// An ISO 639 language code specifying the locale for this participant.
            "locale" => locale: str,
            /// True iff this participant is required to enter wrapup for this conversation.
            "wrapupRequired" => wrapup_required: bool,
            /// This field controls how the UI prompts the agent for a wrapup.
            "wrapupPrompt" => wrapup_prompt: str,
            /// Specifies how long a timed ACW session will last.
            "wrapupTimeoutMs" => wrapup_timeout_ms: int,
            /// The UI sets this field when the agent chooses to skip entering a wrapup for this participant.
            "wrapupSkipped" => wrapup_skipped: bool,
            /// The wrap-up the agent entered (code, name, notes, tags, duration), as sent. Personal data: null without the `pii:read` permission.
            "wrapup" => wrapup: json [personal],
            /// List of roles this participant's media has had on the conversation, ie monitor, coach, etc.
            "mediaRoles" => media_roles: strs,
            /// Conversation Routing Data.
            "conversationRoutingData" => conversation_routing_data: json,
            /// Specifies how long the agent has to answer an interaction before being marked as not responding.
            "alertingTimeoutMs" => alerting_timeout_ms: int,
            /// If this participant is a monitor, then this will be the id of the participant that is being monitored.
            "monitoredParticipantId" => monitored_participant_id: str,
            /// If this participant is a coach, then this will be the id of the participant that is being coached.
            "coachedParticipantId" => coached_participant_id: str,
            /// If this participant barged in a participant's call, then this will be the id of the targeted participant.
            "bargedParticipantId" => barged_participant_id: str,
            /// The current screen recording state for this participant.
            "screenRecordingState" => screen_recording_state: str,
            /// The timestamp when this participant started after-call work.
            "startAcwTime" => start_acw_time: time,
            /// The timestamp when this participant ended after-call work.
            "endAcwTime" => end_acw_time: time,
        }
    }
}

row! {
    /// A session (Genesys "communication"): one media leg of a participant.
    pub struct SessionRow {
        keys {
            /// Id of the conversation.
            conversation_id: String,
            /// Id of the participant, unique within its conversation.
            participant_id: String,
            /// Id of the session, unique only within its conversation.
            session_id: String,
            /// Position in the source document.
            ordinal: i32,
        }
        fields {
            /// The session media type.
            "mediaType" => media_type: enumeration,
            /// The direction of the communication.
            "direction" => direction: enumeration,
            /// ID(s) of Skill(s) that are active on the conversation.
            "activeSkillIds" => active_skill_ids: strs,
            /// Marker for an agent that skipped after call work.
            "acwSkipped" => acw_skipped: bool,
            /// The address that initiated an action. Personal data: null without the `pii:read` permission.
            "addressFrom" => address_from: str [personal],
            /// The email address for the participant on the other side of the email conversation. Personal data: null without the `pii:read` permission.
            "addressOther" => address_other: str [personal],
            /// The email address for the participant on this side of the email conversation. Personal data: null without the `pii:read` permission.
            "addressSelf" => address_self: str [personal],
            /// The address receiving an action. Personal data: null without the `pii:read` permission.
            "addressTo" => address_to: str [personal],
            /// Unique identifier of the active virtual agent assistant.
            "agentAssistantId" => agent_assistant_id: str,
            /// Bullseye ring of the targeted agent.
            "agentBullseyeRing" => agent_bullseye_ring: int,
            /// Flag indicating an agent-owned callback.
            "agentOwned" => agent_owned: bool,
            /// Automatic Number Identification (caller's number). Personal data: null without the `pii:read` permission.
            "ani" => ani: str [personal],
            /// ID of the user that manually assigned a conversation.
            "assignerId" => assigner_id: str,
            /// Flag that indicates that the identity of the customer has been asserted as verified by the provider.
            "authenticated" => authenticated: bool,
            /// If this participant barged in a participant's call, then this will be the id of the targeted participant.
            "bargedParticipantId" => barged_participant_id: str,
            /// Blind-carbon-copy addresses of an email session. Personal data: null without the `pii:read` permission.
            "bcc" => bcc: strs [personal],
            /// Callback phone number(s). Personal data: null without the `pii:read` permission.
            "callbackNumbers" => callback_numbers: strs [personal],
            /// Scheduled callback date/time.
            "callbackScheduledTime" => callback_scheduled_time: time,
            /// The name of the user requesting a call back. Personal data: null without the `pii:read` permission.
            "callbackUserName" => callback_user_name: str [personal],
            /// Carbon-copy addresses of an email session. Personal data: null without the `pii:read` permission.
            "cc" => cc: strs [personal],
            /// Whether the session was cleared (removed from the agent's queue without being handled).
            "cleared" => cleared: bool,
            /// The participantId being coached (if someone (e.g. an agent) is being coached, this would correspond to one of the other participantIds present in the conversation).
            "coachedParticipantId" => coached_participant_id: str,
            /// Describes side of the cobrowse (sharer or viewer).
            "cobrowseRole" => cobrowse_role: str,
            /// A unique identifier for a Genesys Cloud cobrowse room.
            "cobrowseRoomId" => cobrowse_room_id: str,
            /// Whether a message's delivery status was pushed by the provider.
            "deliveryPushed" => delivery_pushed: bool,
            /// The email delivery status.
            "deliveryStatus" => delivery_status: str,
            /// Date and time of the most recent delivery status change.
            "deliveryStatusChangeDate" => delivery_status_change_date: time,
            /// Destination address(es) of transfers or consults. Personal data: null without the `pii:read` permission.
            "destinationAddresses" => destination_addresses: strs [personal],
            /// When the dialer's call analysis detected the end of speech.
            "detectedSpeechEnd" => detected_speech_end: time,
            /// When the dialer's call analysis detected the start of speech.
            "detectedSpeechStart" => detected_speech_start: time,
            /// (Dialer) Analyzer (for example speech.person).
            "dispositionAnalyzer" => disposition_analyzer: str,
            /// (Dialer) Result of the analysis (for example disposition.classification.callable.machine).
            "dispositionName" => disposition_name: str,
            /// Dialed number identification service (number dialed by the calling party). Personal data: null without the `pii:read` permission.
            "dnis" => dnis: str [personal],
            /// Unique identifier of the edge device.
            "edgeId" => edge_id: str,
            /// Number of eligible agents for each predictive routing attempt.
            "eligibleAgentCounts" => eligible_agent_counts: ints,
            /// Where a digital engagement came from (for example a web-messaging deployment).
            "engagementSource" => engagement_source: str,
            /// Provider-specific delivery status of a message, more detailed than `deliveryStatus`.
            "extendedDeliveryStatus" => extended_delivery_status: str,
            /// Type of flow in that occurred when entering ACD.
            "flowInType" => flow_in_type: str,
            /// Type of flow out that occurred when emitting tFlowOut.
            "flowOutType" => flow_out_type: str,
            /// Identifier of the journey action.
            "journeyActionId" => journey_action_id: str,
            /// Identifier of the journey action map that triggered the action.
            "journeyActionMapId" => journey_action_map_id: str,
            /// Version of the journey action map that triggered the action.
            "journeyActionMapVersion" => journey_action_map_version: int,
            /// Primary identifier of the journey customer in the source where the activities originate from. Personal data: null without the `pii:read` permission.
            "journeyCustomerId" => journey_customer_id: str [personal],
            /// Type of primary identifier of the journey customer (e.g. cookie).
            "journeyCustomerIdType" => journey_customer_id_type: str,
            /// Unique identifier of the journey session.
            "journeyCustomerSessionId" => journey_customer_session_id: str,
            /// Type or category of journey sessions (e.g. web, ticket, delivery, atm).
            "journeyCustomerSessionIdType" => journey_customer_session_id_type: str,
            /// Media bridge ID for the conference session consistent across all participants.
            "mediaBridgeId" => media_bridge_id: str,
            /// Count of any media (images, files, etc) included in this session.
            "mediaCount" => media_count: int,
            /// Message type for messaging services. E.g.: sms, facebook, twitter, line.
            "messageType" => message_type: str,
            /// The participantId being monitored (if someone (e.g. an agent) is being monitored, this would correspond to one of the other participantIds present in the conversation).
            "monitoredParticipantId" => monitored_participant_id: str,
            /// (Dialer) Unique identifier of the outbound campaign.
            "outboundCampaignId" => outbound_campaign_id: str,
            /// (Dialer) Unique identifier of the contact.
            "outboundContactId" => outbound_contact_id: str,
            /// (Dialer) Unique identifier of the contact list that this contact belongs to.
            "outboundContactListId" => outbound_contact_list_id: str,
            /// This identifies pairs of related sessions on a conversation. E.g. an external session’s peerId will be the session that the call originally connected to, e.g. if an IVR was dialed, the IVR session, which will also have the external session’s ID as its peer. After that point, any transfers of that session to other internal components (acd, agent, etc.) will all spawn new sessions whose peerIds point back to that original external session.
            "peerId" => peer_id: str,
            /// The original voice protocol call ID, e.g. a SIP call ID.
            "protocolCallId" => protocol_call_id: str,
            /// The source provider for the communication.
            "provider" => provider: str,
            /// Flag determining if an audio recording was started or not.
            "recording" => recording: bool,
            /// Name, phone number, or email address of the remote party. Personal data: null without the `pii:read` permission.
            "remote" => remote: str [personal],
            /// Unique identifier for the remote party. Personal data: null without the `pii:read` permission.
            "remoteNameDisplayable" => remote_name_displayable: str [personal],
            /// ID(s) of Skill(s) that have been removed by bullseye routing.
            "removedSkillIds" => removed_skill_ids: strs,
            /// Routing type(s) for requested/attempted routing methods.
            "requestedRoutings" => requested_routings: strs,
            /// Unique identifier for the room.
            "roomId" => room_id: str,
            /// Routing ring for bullseye or preferred agent routing.
            "routingRing" => routing_ring: int,
            /// The routing rule that applied to the session.
            "routingRule" => routing_rule: str,
            /// Type of the routing rule that applied (bullseye, predictive, …).
            "routingRuleType" => routing_rule_type: str,
            /// The user whose screen this session monitored.
            "screenMonitoredUserId" => screen_monitored_user_id: str,
            /// Direct ScreenShare address. Personal data: null without the `pii:read` permission.
            "screenShareAddressSelf" => screen_share_address_self: str [personal],
            /// A unique identifier for a Genesys Cloud ScreenShare room.
            "screenShareRoomId" => screen_share_room_id: str,
            /// A unique identifier for a script.
            "scriptId" => script_id: str,
            /// Selected agent ID.
            "selectedAgentId" => selected_agent_id: str,
            /// Selected agent GPR rank.
            "selectedAgentRank" => selected_agent_rank: int,
            /// Dialed number for the current session; this can be different from dnis, e.g. if the call was transferred. Personal data: null without the `pii:read` permission.
            "sessionDnis" => session_dnis: str [personal],
            /// Flag determining if screenShare is started or not (true/false).
            "sharingScreen" => sharing_screen: bool,
            /// The skill expression used to route the session.
            "skillExpressionId" => skill_expression_id: str,
            /// (Dialer) Whether the agent can skip the dialer contact.
            "skipEnabled" => skip_enabled: bool,
            /// Whether only a snippet of the session was recorded.
            "snippetRecording" => snippet_recording: bool,
            /// The number of seconds before Genesys Cloud begins the call for a call back (0 disables automatic calling).
            "timeoutSeconds" => timeout_seconds: int,
            /// Complete routing method.
            "usedRouting" => used_routing: str,
            /// Direct Video address. Personal data: null without the `pii:read` permission.
            "videoAddressSelf" => video_address_self: str [personal],
            /// A unique identifier for a Genesys Cloud video room.
            "videoRoomId" => video_room_id: str,
            /// Number of waiting interactions for each predictive routing attempt.
            "waitingInteractionCounts" => waiting_interaction_counts: ints,
            // The platform communications (calls, callbacks, chats, …).
            /// The connection state of this communication.
            "state" => state: enumeration,
            /// The initial connection state of this communication.
            "initialState" => initial_state: enumeration,
            /// System defined string indicating what caused the communication to disconnect. Will be null until the communication disconnects.
            "disconnectType" => disconnect_type: enumeration,
            /// The timestamp when this participant was connected to the conversation.
            "connectedTime" => connected_time: time,
            /// The timestamp when this communication disconnected from the conversation.
            "disconnectedTime" => disconnected_time: time,
            /// The timestamp the communication has when it is first put into an alerting state.
            "startAlertingTime" => start_alerting_time: time,
            /// The timestamp the call was placed on hold in the cloud clock if the call is currently on hold.
            "startHoldTime" => start_hold_time: time,
            /// True if this call is held and the person on this side hears silence.
            "held" => held: bool,
            /// True if this call is muted so that remote participants can't hear any audio from this end.
            "muted" => muted: bool,
            /// True if this call is held and the person on this side hears hold music.
            "confined" => confined: bool,
            /// State of recording on this call.
            "recordingState" => recording_state: str,
            /// A globally unique identifier for the recording associated with this call.
            "recordingId" => recording_id: str,
            /// True when the recording of this call is in secure pause status.
            "securePause" => secure_pause: bool,
            /// If call is an outbound fax of a document from content management, then this is the id in content management.
            "documentId" => document_id: str,
            /// User to User Information (UUI) data managed by SIP session application. Personal data: null without the `pii:read` permission.
            "uuiData" => uui_data: str [personal],
            /// Indicates if after-call work is required for a communication. Only used when the ACW Setting is Agent Requested.
            "afterCallWorkRequired" => after_call_work_required: bool,
            /// Indicates how call reaches the agent.
            "transferSource" => transfer_source: str,
            /// True if the call for the callback uses external dialing.
            "externalCampaign" => external_campaign: bool,
            /// The id of the config for automatically placing the callback (and handling the disposition). If null, the callback will not be placed automatically but routed to an agent as per normal.
            "automatedCallbackConfigId" => automated_callback_config_id: str,
            /// The phone number displayed to recipients of the phone call. The value should conform to the E164 format. Personal data: null without the `pii:read` permission.
            "callerId" => caller_id: str [personal],
            /// The name displayed to recipients of the phone call. Personal data: null without the `pii:read` permission.
            "callerIdName" => caller_id_name: str [personal],
            /// If available, the URI to the avatar image of this communication. Personal data: null without the `pii:read` permission.
            "avatarImageUrl" => avatar_image_url: str [personal],
            /// The co-browse session ID.
            "cobrowseSessionId" => cobrowse_session_id: str,
            /// The URL that can be used to open co-browse session in web browser.
            "viewerUrl" => viewer_url: str,
            /// The time when the provider event which triggered this conversation update happened in the corrected provider clock (milliseconds since 1970-01-01 00:00:00 UTC).
            "providerEventTime" => provider_event_time: time,
            /// The subject for the initial email that started this conversation. Personal data: null without the `pii:read` permission.
            "subject" => subject: str [personal],
            /// The number of email messages sent by this participant.
            "messagesSent" => messages_sent: int,
            /// Indicates that the email was auto-generated like an Out of Office reply.
            "autoGenerated" => auto_generated: bool,
            /// A globally unique identifier for the stored content of this communication.
            "messageId" => message_id: str,
            /// Indicates if the inbound email was marked as spam.
            "spam" => spam: bool,
            /// Represents the time when an email was put into parked state.
            "parkTime" => park_time: time,
            /// Represents the time when a parked message will resume.
            "resumeTime" => resume_time: time,
            /// Indicates the country where the recipient is associated in ISO 3166-1 alpha-2 format.
            "recipientCountry" => recipient_country: str,
            /// The type of the recipient. Eg: Provisioned phoneNumber is the recipient for sms message type.
            "recipientType" => recipient_type: str,
            /// The internal id representing the customer supplied sms integration message.
            "byoSmsIntegrationId" => byo_sms_integration_id: str,
            /// The user ID for the participant on receiving side of the internal message conversation.
            "targetUserId" => target_user_id: str,
            /// The user ID for the participant on sending side of the internal message conversation.
            "sourceUserId" => source_user_id: str,
            /// The screen monitoring type.
            "monitoringType" => monitoring_type: str,
            /// Number of Screen Monitoring sessions the targetUserId is involved in.
            "count" => monitoring_count: int,
            /// The room id context (xmpp jid) for the conference session.
            "context" => context: str,
            /// Indicates whether this participant is sharing their screen.
            "sharing" => sharing: bool,
            /// The number of peer participants from the perspective of the participant in the conference.
            "peerCount" => peer_count: int,
            /// Indicates whether this participant has muted their outgoing audio.
            "audioMuted" => audio_muted: bool,
            /// Indicates whether this participant has muted/paused their outgoing video.
            "videoMuted" => video_muted: bool,
            /// A globally unique identifier for the social media.
            "socialMediaId" => social_media_id: str,
            /// The social network of the communication.
            "socialMediaHub" => social_media_hub: str,
            /// The user name for the communication. Personal data: null without the `pii:read` permission.
            "socialUserName" => social_user_name: str [personal],
            /// The text preview of the communication contents. Personal data: null without the `pii:read` permission.
            "previewText" => preview_text: str [personal],
            /// The wrap-up the agent entered (code, name, notes, tags, duration), as sent. Personal data: null without the `pii:read` permission.
            "wrapup" => wrapup: json [personal],
            /// After-call work of the session (platform): its state, start and end, as sent.
            "afterCallWork" => after_call_work: json,
        }
    }
}

row! {
    /// A segment: a continuous span of a session in one state (alert, interact, hold, …).
    pub struct SegmentRow {
        keys {
            /// Id of the conversation.
            conversation_id: String,
            /// Id of the participant, unique within its conversation.
            participant_id: String,
            /// Id of the session, unique only within its conversation.
            session_id: String,
            /// Position in its list in the source document (0-based).
            segment_index: i32,
        }
        fields {
            /// What the session was doing: `alert`, `interact`, `hold`, `wrapup`, `ivr`, `dialing`, `contacting`, `system`, … (an open set).
            "segmentType" => segment_type: enumeration,
            /// Start of the segment (UTC).
            "segmentStart" => segment_start: time,
            /// End of the segment (UTC); absent while it is in progress.
            "segmentEnd" => segment_end: time,
            /// The queue the session was in during the segment.
            "queueId" => queue_id: str,
            /// Wrap-up code the agent chose, on `wrapup` segments.
            "wrapUpCode" => wrap_up_code: str,
            /// Free-text wrap-up note the agent wrote (personal data). Personal data: null without the `pii:read` permission.
            "wrapUpNote" => wrap_up_note: str [personal],
            /// Tags the agent attached at wrap-up.
            "wrapUpTags" => wrap_up_tags: strs,
            /// Why the segment ended by a disconnect: `client`, `endpoint`, `peer`, `transfer`, `system`, `timeout`, … (an open set).
            "disconnectType" => disconnect_type: enumeration,
            /// Whether audio was muted during the segment.
            "audioMuted" => audio_muted: bool,
            /// Whether video was muted during the segment.
            "videoMuted" => video_muted: bool,
            /// Whether the segment was part of a conference.
            "conference" => conference: bool,
            /// For a transfer or consult: the conversation the session went to.
            "destinationConversationId" => destination_conversation_id: str,
            /// For a transfer or consult: the session it went to.
            "destinationSessionId" => destination_session_id: str,
            /// For a transfer or consult: the conversation the session came from.
            "sourceConversationId" => source_conversation_id: str,
            /// For a transfer or consult: the session it came from.
            "sourceSessionId" => source_session_id: str,
            /// Error the platform reported for the segment, if any.
            "errorCode" => error_code: str,
            /// The group (of users) the segment was routed to.
            "groupId" => group_id: str,
            /// Q.850 cause codes of a voice disconnect (16 = normal clearing, 17 = busy, …).
            "q850ResponseCodes" => q850_response_codes: ints,
            /// SIP response codes of a voice disconnect (486 = busy here, …).
            "sipResponseCodes" => sip_response_codes: ints,
            /// The language skill requested for routing.
            "requestedLanguageId" => requested_language_id: str,
            /// Skills requested for routing.
            "requestedRoutingSkillIds" => requested_routing_skill_ids: strs,
            /// Users requested for routing (preferred agents).
            "requestedRoutingUserIds" => requested_routing_user_ids: strs,
            /// Subject of the interaction during the segment (emails). Personal data: null without the `pii:read` permission.
            "subject" => subject: str [personal],
            // The platform `Segment`.
            /// How the segment ended (platform `Segment.howEnded`).
            "howEnded" => how_ended: str,
        }
    }
}

row! {
    /// A metric of a session: `name` (nOffered, tTalk, …), `value` (count or milliseconds).
    pub struct MetricRow {
        keys {
            /// Id of the conversation.
            conversation_id: String,
            /// Id of the participant, unique within its conversation.
            participant_id: String,
            /// Id of the session, unique only within its conversation.
            session_id: String,
            /// Position in its list in the source document (0-based).
            metric_index: i32,
        }
        fields {
            /// The metric: `nOffered`, `tAlert`, `tTalk`, `tHeld`, `tAcw`, `tHandle`, `tAbandon`, … (Genesys names, an open set). `n…` metrics count, `t…` metrics are durations, `o…` observations.
            "name" => name: str,
            /// Value of the metric: a count for `n…` metrics, milliseconds for `t…` metrics.
            "value" => value: int,
            /// When the metric was emitted, which is when the measured interval ended (UTC).
            "emitDate" => emit_date: time,
        }
    }
}

row! {
    /// The IVR flow a session ran through.
    pub struct FlowRow {
        keys {
            /// Id of the conversation.
            conversation_id: String,
            /// Id of the participant, unique within its conversation.
            participant_id: String,
            /// Id of the session, unique only within its conversation.
            session_id: String,
        }
        fields {
            /// Id of the Architect flow.
            "flowId" => flow_id: str,
            /// Name of the flow.
            "flowName" => flow_name: str,
            /// Type of the flow: `inboundcall`, `inboundchat`, `inboundemail`, `bot`, `inqueuecall`, `outboundcall`, `securecall`, `surveyinvite`, `workflow`, … (an open set).
            "flowType" => flow_type: str,
            /// Version of the flow that ran.
            "flowVersion" => flow_version: str,
            /// Why the session entered the flow (the DNIS, the number or address that started it, …). Personal data: null without the `pii:read` permission.
            "entryReason" => entry_reason: str [personal],
            /// How the session entered the flow: `dnis`, `direct`, `flow`, `agent`, `outbound`, ….
            "entryType" => entry_type: str,
            /// Why the session left the flow: `DISCONNECT`, `TRANSFER`, `FLOW_DISCONNECT`, `ERROR`, ….
            "exitReason" => exit_reason: str,
            /// The language the flow ended in.
            "endingLanguage" => ending_language: str,
            /// The language the flow started in.
            "startingLanguage" => starting_language: str,
            /// Whether the flow scheduled a callback.
            "issuedCallback" => issued_callback: bool,
            /// Why speech or DTMF recognition failed in the flow, if it did.
            "recognitionFailureReason" => recognition_failure_reason: str,
            /// Where the flow transferred the session (queue, number, user, …). Personal data: null without the `pii:read` permission.
            "transferTargetAddress" => transfer_target_address: str [personal],
            /// Name of the transfer target. Personal data: null without the `pii:read` permission.
            "transferTargetName" => transfer_target_name: str [personal],
            /// How the flow transferred: `ACD`, `USER`, `NUMBER`, `FLOW`, ….
            "transferType" => transfer_type: str,
        }
    }
}

row! {
    /// An outcome reached in a flow.
    pub struct FlowOutcomeRow {
        keys {
            /// Id of the conversation.
            conversation_id: String,
            /// Id of the participant, unique within its conversation.
            participant_id: String,
            /// Id of the session, unique only within its conversation.
            session_id: String,
            /// Position in its list in the source document (0-based).
            outcome_index: i32,
        }
        fields {
            /// The outcome, as `outcomeId:value` (Genesys' combined spelling).
            "flowOutcome" => flow_outcome: str,
            /// Id of the flow outcome.
            "flowOutcomeId" => flow_outcome_id: str,
            /// Value reached: `SUCCESS` or `FAILURE`.
            "flowOutcomeValue" => flow_outcome_value: str,
            /// When the flow started tracking the outcome.
            "flowOutcomeStartTimestamp" => flow_outcome_start_timestamp: time,
            /// When the outcome was reached.
            "flowOutcomeEndTimestamp" => flow_outcome_end_timestamp: time,
        }
    }
}

row! {
    /// An agent proposed by predictive routing for a session.
    pub struct ProposedAgentRow {
        keys {
            /// Id of the conversation.
            conversation_id: String,
            /// Id of the participant, unique within its conversation.
            participant_id: String,
            /// Id of the session, unique only within its conversation.
            session_id: String,
            /// Position in its list in the source document (0-based).
            proposed_index: i32,
        }
        fields {
            /// The user proposed by predictive routing.
            "proposedAgentId" => proposed_agent_id: str,
            /// Rank of the proposed agent (1 is best).
            "agentRank" => agent_rank: int,
        }
    }
}

row! {
    /// Media quality statistics of a session's endpoint.
    pub struct MediaEndpointStatRow {
        keys {
            /// Id of the conversation.
            conversation_id: String,
            /// Id of the participant, unique within its conversation.
            participant_id: String,
            /// Id of the session, unique only within its conversation.
            session_id: String,
            /// Position in its list in the source document (0-based).
            stat_index: i32,
        }
        fields {
            /// Codecs negotiated on the endpoint.
            "codecs" => codecs: strs,
            /// When the statistics were taken.
            "eventTime" => event_time: time,
            /// Lowest Mean Opinion Score measured (1 to 5).
            "minMos" => min_mos: float,
            /// Lowest R-factor measured (0 to 100).
            "minRFactor" => min_r_factor: float,
            /// Highest latency measured, in milliseconds.
            "maxLatencyMs" => max_latency_ms: int,
            /// RTP packets received.
            "receivedPackets" => received_packets: int,
            /// Packets discarded (arrived too late for the jitter buffer).
            "discardedPackets" => discarded_packets: int,
            /// Duplicate packets received.
            "duplicatePackets" => duplicate_packets: int,
            /// Invalid packets received.
            "invalidPackets" => invalid_packets: int,
            /// Packets lost to jitter-buffer overrun.
            "overrunPackets" => overrun_packets: int,
            /// Packets missing at jitter-buffer underrun.
            "underrunPackets" => underrun_packets: int,
        }
    }
}

row! {
    /// An agent group (group, skill group, team) a session was routed through.
    pub struct AgentGroupRow {
        keys {
            /// Id of the conversation.
            conversation_id: String,
            /// Id of the participant, unique within its conversation.
            participant_id: String,
            /// Id of the session, unique only within its conversation.
            session_id: String,
            /// Position in its list in the source document (0-based).
            group_index: i32,
        }
        fields {
            /// Id of the group, skill group or team.
            "agentGroupId" => agent_group_id: str,
            /// What kind of agent group: `group`, `skillGroup`, `team`.
            "agentGroupType" => agent_group_type: str,
        }
    }
}

row! {
    /// An agent scored by predictive routing during a segment.
    pub struct ScoredAgentRow {
        keys {
            /// Id of the conversation.
            conversation_id: String,
            /// Id of the participant, unique within its conversation.
            participant_id: String,
            /// Id of the session, unique only within its conversation.
            session_id: String,
            /// Position in its list in the source document (0-based).
            segment_index: i32,
            /// Position in its list in the source document (0-based).
            scored_index: i32,
        }
        fields {
            /// The user scored by predictive routing.
            "scoredAgentId" => scored_agent_id: str,
            /// The score predictive routing gave the agent (0 to 100).
            "agentScore" => agent_score: int,
        }
    }
}

row! {
    /// A typed custom property attached to a segment.
    pub struct SegmentPropertyRow {
        keys {
            /// Id of the conversation.
            conversation_id: String,
            /// Id of the participant, unique within its conversation.
            participant_id: String,
            /// Id of the session, unique only within its conversation.
            session_id: String,
            /// Position in its list in the source document (0-based).
            segment_index: i32,
            /// Position in its list in the source document (0-based).
            property_index: i32,
        }
        fields {
            /// Name of the property.
            "property" => property: str,
            /// Type of its value: `bool`, `integer`, `real`, `date`, `string`, `uuid`.
            "propertyType" => property_type: str,
            /// The value, as text. Personal data: null without the `pii:read` permission.
            "value" => value: str [personal],
        }
    }
}

row! {
    /// A quality evaluation of a conversation (analytics) or of a participant (platform).
    pub struct EvaluationRow {
        keys {
            /// Id of the conversation.
            conversation_id: String,
            /// Id of the evaluation.
            evaluation_id: String,
            /// The evaluated participant, when the source nests evaluations under participants.
            participant_id: Option<String>,
        }
        fields {
            /// Status of the evaluation (analytics): `Pending`, `InProgress`, `Finished`, ….
            "evaluationStatus" => evaluation_status: str,
            /// Status of the evaluation (platform): `PENDING`, `INPROGRESS`, `FINISHED`.
            "status" => status: str,
            /// Name of the evaluation.
            "name" => name: str,
            /// The evaluation form used.
            "formId" => form_id: str,
            /// Name of the evaluation form.
            "formName" => form_name: str,
            /// The user who evaluates.
            "evaluatorId" => evaluator_id: str,
            /// The agent evaluated.
            "userId" => user_id: str,
            /// The queue of the evaluated interaction.
            "queueId" => queue_id: str,
            /// The user the evaluation is assigned to.
            "assigneeId" => assignee_id: str,
            /// Whether an assignee applies to the evaluation.
            "assigneeApplicable" => assignee_applicable: bool,
            /// The calibration the evaluation belongs to, if any.
            "calibrationId" => calibration_id: str,
            /// Id shared by the versions of one evaluation form.
            "contextId" => context_id: str,
            /// Whether the evaluation was deleted.
            "deleted" => deleted: bool,
            /// When the evaluation event happened.
            "eventTime" => event_time: time,
            /// Whether the evaluation was released to the agent.
            "released" => released: bool,
            /// Whether the evaluation was re-scored.
            "rescored" => rescored: bool,
            /// Whether the system submitted the evaluation (automatic scoring).
            "systemSubmitted" => system_submitted: bool,
            /// Total score of the critical questions.
            "oTotalCriticalScore" => o_total_critical_score: int,
            /// Total score of the evaluation.
            "oTotalScore" => o_total_score: int,
            // The platform `Evaluation`.
            /// Whether the agent has read the released evaluation.
            "agentHasRead" => agent_has_read: bool,
            /// When the evaluation was released to the agent.
            "releaseDate" => release_date: time,
            /// When the evaluation was assigned.
            "assignedDate" => assigned_date: time,
            /// When the evaluation was created.
            "createdDate" => created_date: time,
            /// When the evaluation last changed.
            "changedDate" => changed_date: time,
            /// When the evaluation was submitted.
            "submittedDate" => submitted_date: time,
            /// When the current revision of the evaluation was created.
            "revisionCreatedDate" => revision_created_date: time,
            /// Whether the evaluation is a re-score.
            "rescore" => rescore: bool,
            /// When the evaluated conversation was created.
            "conversationDate" => conversation_date: time,
            /// When the evaluated conversation ended, if it had when the evaluation was created.
            "conversationEndDate" => conversation_end_date: time,
            /// Whether the evaluation is never to be released to the agent.
            "neverRelease" => never_release: bool,
            /// Whether the evaluation is assigned.
            "assigned" => assigned: bool,
            /// When the assignee last changed.
            "dateAssigneeChanged" => date_assignee_changed: time,
            /// The evaluated resource, for email evaluations.
            "resourceId" => resource_id: str,
            /// Type of the evaluated resource, for email evaluations.
            "resourceType" => resource_type: str,
            /// Whether the source redacted the evaluation for lack of permission.
            "redacted" => redacted: bool,
            /// Whether the evaluation counts in the agent's scoring index.
            "isScoringIndex" => is_scoring_index: bool,
            /// Whether evaluation assistance failed.
            "hasAssistanceFailed" => has_assistance_failed: bool,
            /// Media types of the evaluated conversation.
            "mediaType" => media_types: strs,
            /// Divisions the evaluation is assigned in.
            "divisionIds" => division_ids: strs,
            /// What the source allowed its caller to do with the evaluation (assign, edit, release, …).
            "authorizedActions" => authorized_actions: strs,
            /// The evaluation's URI in the Genesys API.
            "selfUri" => self_uri: str,
        }
    }
}

row! {
    /// A customer survey about the conversation.
    pub struct SurveyRow {
        keys {
            /// Id of the conversation.
            conversation_id: String,
            /// Position in its list in the source document (0-based).
            survey_index: i32,
        }
        fields {
            /// Id of the survey.
            "surveyId" => survey_id: str,
            /// The survey form used.
            "surveyFormId" => survey_form_id: str,
            /// Name of the survey form.
            "surveyFormName" => survey_form_name: str,
            /// Id shared by the versions of one survey form.
            "surveyFormContextId" => survey_form_context_id: str,
            /// Status of the survey: `Pending`, `Sent`, `InProgress`, `Finished`, `OptOut`, `Error`, `Expired`.
            "surveyStatus" => survey_status: str,
            /// How the survey was given: `Web`, `Voice`.
            "surveyType" => survey_type: str,
            /// When the customer completed the survey.
            "surveyCompletedDate" => survey_completed_date: time,
            /// Whether the survey was only partly answered.
            "surveyPartialResponse" => survey_partial_response: bool,
            /// Net-promoter answer (0 to 10).
            "surveyPromoterScore" => survey_promoter_score: int,
            /// Total score of the survey.
            "oSurveyTotalScore" => o_survey_total_score: int,
            /// When the survey event happened.
            "eventTime" => event_time: time,
            /// The queue of the surveyed interaction.
            "queueId" => queue_id: str,
            /// The agent of the surveyed interaction.
            "userId" => user_id: str,
        }
    }
}

row! {
    /// A resolution of the conversation (next contact avoided).
    pub struct ResolutionRow {
        keys {
            /// Id of the conversation.
            conversation_id: String,
            /// Position in its list in the source document (0-based).
            resolution_index: i32,
        }
        fields {
            /// When the resolution was determined.
            "eventTime" => event_time: time,
            /// The queue credited with the resolution.
            "queueId" => queue_id: str,
            /// The agent credited with the resolution.
            "userId" => user_id: str,
            /// Whether the next contact was avoided (1) or not (0): the customer did not come back within the resolution window.
            "nNextContactAvoided" => n_next_contact_avoided: int,
        }
    }
}

row! {
    /// A recent transfer of the conversation (platform `recentTransfers`).
    pub struct TransferRow {
        keys {
            /// Id of the conversation.
            conversation_id: String,
            /// Id of the transfer.
            transfer_id: String,
        }
        fields {
            /// State of the transfer: `Complete`, `Failed`, `Cancelled`, ….
            "state" => state: str,
            /// Kind of transfer: `Attended`, `Unattended`, ….
            "transferType" => transfer_type: str,
            /// When the transfer was requested.
            "dateIssued" => date_issued: time,
            /// Who started the transfer (a user reference), as sent.
            "initiator" => initiator: json,
            /// Who last changed the transfer, as sent.
            "modifiedBy" => modified_by: json,
            /// Where the transfer went (user, queue or address), as sent. Personal data: null without the `pii:read` permission.
            "destination" => destination: json [personal],
        }
    }
}

row! {
    /// An entity (user, queue, flow, …) on the conversation, by division (platform `divisions`).
    pub struct DivisionEntityRow {
        keys {
            /// Id of the conversation.
            conversation_id: String,
            /// Id of the division.
            division_id: String,
            /// Position in its list in the source document (0-based).
            entity_index: i32,
        }
        fields {
            /// Id of the entity (user, queue, flow, …).
            "id" => entity_id: str,
            /// Name of the entity. Personal data: null without the `pii:read` permission.
            "name" => name: str [personal],
            /// The entity's URI in the Genesys API.
            "selfUri" => self_uri: str,
            /// When the entity's division last changed.
            "dateDivisionUpdated" => date_division_updated: time,
        }
    }
}

row! {
    /// A division (Genesys): the unit of scope of conversations.
    pub struct DivisionRow {
        keys {
            /// Id of the division.
            division_id: String,
        }
        fields {
            /// Name of the division.
            "name" => name: str,
            /// The division's URI in the Genesys API.
            "selfUri" => self_uri: str,
        }
    }
}

/// Every row of one conversation, table by table: the unit of import and of replacement.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ConversationGraph {
    pub conversation: ConversationRow,
    pub participants: Vec<ParticipantRow>,
    pub sessions: Vec<SessionRow>,
    pub segments: Vec<SegmentRow>,
    pub metrics: Vec<MetricRow>,
    pub flows: Vec<FlowRow>,
    pub flow_outcomes: Vec<FlowOutcomeRow>,
    pub proposed_agents: Vec<ProposedAgentRow>,
    pub media_endpoint_stats: Vec<MediaEndpointStatRow>,
    pub agent_groups: Vec<AgentGroupRow>,
    pub scored_agents: Vec<ScoredAgentRow>,
    pub segment_properties: Vec<SegmentPropertyRow>,
    pub evaluations: Vec<EvaluationRow>,
    pub surveys: Vec<SurveyRow>,
    pub resolutions: Vec<ResolutionRow>,
    pub transfers: Vec<TransferRow>,
    pub division_entities: Vec<DivisionEntityRow>,
    /// Divisions named by the document (id and name), for the division lookup.
    pub divisions: Vec<DivisionRow>,
}

impl crate::Personal for ConversationGraph {
    /// Every row as a caller without the permission to read personal data sees it. The
    /// destructuring is exhaustive, so a table added to the graph cannot be forgotten here.
    fn redact_personal(&mut self) {
        use crate::Personal as P;
        fn all<R: P>(rows: &mut [R]) {
            rows.iter_mut().for_each(P::redact_personal);
        }
        let ConversationGraph {
            conversation,
            participants,
            sessions,
            segments,
            metrics,
            flows,
            flow_outcomes,
            proposed_agents,
            media_endpoint_stats,
            agent_groups,
            scored_agents,
            segment_properties,
            evaluations,
            surveys,
            resolutions,
            transfers,
            division_entities,
            divisions,
        } = self;
        conversation.redact_personal();
        all(participants);
        all(sessions);
        all(segments);
        all(metrics);
        all(flows);
        all(flow_outcomes);
        all(proposed_agents);
        all(media_endpoint_stats);
        all(agent_groups);
        all(scored_agents);
        all(segment_properties);
        all(evaluations);
        all(surveys);
        all(resolutions);
        all(transfers);
        all(division_entities);
        all(divisions);
    }
}

impl ConversationGraph {
    pub fn id(&self) -> &str {
        &self.conversation.conversation_id
    }

    /// How recent the document is: its latest event time (conversation start and end, the
    /// times participants and sessions joined, connected, alerted, held, left and wrapped up,
    /// segment starts and ends, metric emit dates, flow outcome starts and ends). A document
    /// whose `as_of` is earlier than the stored version's is stale and never replaces it.
    pub fn as_of(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let c = &self.conversation;
        let conversation = [c.conversation_start, c.conversation_end];
        let participants = self.participants.iter().flat_map(|p| {
            [
                p.start_time,
                p.end_time,
                p.connected_time,
                p.start_acw_time,
                p.end_acw_time,
            ]
        });
        let sessions = self.sessions.iter().flat_map(|s| {
            [
                s.connected_time,
                s.disconnected_time,
                s.start_alerting_time,
                s.start_hold_time,
            ]
        });
        let segments = self
            .segments
            .iter()
            .flat_map(|s| [s.segment_start, s.segment_end]);
        let metrics = self.metrics.iter().map(|m| m.emit_date);
        let outcomes = self
            .flow_outcomes
            .iter()
            .flat_map(|o| [o.flow_outcome_start_timestamp, o.flow_outcome_end_timestamp]);
        conversation
            .into_iter()
            .chain(participants)
            .chain(sessions)
            .chain(segments)
            .chain(metrics)
            .chain(outcomes)
            .flatten()
            .max()
    }

    /// A digest of the whole graph: equal digests mean an import would change nothing.
    pub fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        // Serialising a struct of vectors is deterministic: fields in declaration order.
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        let hash = Sha256::digest(&bytes);
        hash.iter().map(|b| format!("{b:02x}")).collect()
    }
}
