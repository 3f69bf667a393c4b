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
            "accessAttributes" => access_attributes: strs,
            "associatedConversationId" => associated_conversation_id: str,
            "conferenceStart" => conference_start: time,
            "consultationConversationIds" => consultation_conversation_ids: strs,
            "conversationInitiator" => conversation_initiator: enumeration,
            "customerParticipation" => customer_participation: bool,
            "externalTag" => external_tag: str,
            "inactivityTimeout" => inactivity_timeout: time,
            "knowledgeBaseIds" => knowledge_base_ids: strs,
            "mediaStatsMinConversationMos" => media_stats_min_conversation_mos: float,
            "mediaStatsMinConversationRFactor" => media_stats_min_conversation_r_factor: float,
            "originatingDirection" => originating_direction: enumeration,
            "originatingSocialMediaPublic" => originating_social_media_public: bool,
            "selfServed" => self_served: bool,
            // The platform `Conversation` object.
            "name" => name: str,
            "address" => address: str,
            "conversationIds" => conversation_ids: strs,
            "maxParticipants" => max_participants: int,
            "recordingState" => recording_state: str,
            "state" => state: str,
            "securePause" => secure_pause: bool,
            "utilizationLabelId" => utilization_label_id: str,
            "selfUri" => self_uri: str,
            "PCID" => pcid: str,
            "userId" => user_id: str,
        }
    }
}

row! {
    /// A participant of a conversation: customer, agent, acd, ivr, workflow, external, …
    pub struct ParticipantRow {
        keys {
            conversation_id: String,
            participant_id: String,
            /// Position in the source document.
            ordinal: i32,
            /// `participantName` (analytics) or `name` (platform).
            participant_name: Option<String>,
            /// Custom attributes (`attributes`: string -> string).
            attributes: Option<serde_json::Value>,
        }
        fields {
            "purpose" => purpose: enumeration,
            "userId" => user_id: str,
            "externalContactId" => external_contact_id: str,
            "externalOrganizationId" => external_organization_id: str,
            "flaggedReason" => flagged_reason: str,
            "screenRecording" => screen_recording: bool,
            "teamId" => team_id: str,
            // The platform `Participant`.
            "startTime" => start_time: time,
            "endTime" => end_time: time,
            "connectedTime" => connected_time: time,
            "userUri" => user_uri: str,
            "externalContactInitialDivisionId" => external_contact_initial_division_id: str,
            "queueId" => queue_id: str,
            "groupId" => group_id: str,
            "queueName" => queue_name: str,
            "participantType" => participant_type: str,
            "consultParticipantId" => consult_participant_id: str,
            "address" => address: str,
            "ani" => ani: str,
            "aniName" => ani_name: str,
            "dnis" => dnis: str,
            "locale" => locale: str,
            "wrapupRequired" => wrapup_required: bool,
            "wrapupPrompt" => wrapup_prompt: str,
            "wrapupTimeoutMs" => wrapup_timeout_ms: int,
            "wrapupSkipped" => wrapup_skipped: bool,
            "wrapup" => wrapup: json,
            "mediaRoles" => media_roles: strs,
            "conversationRoutingData" => conversation_routing_data: json,
            "alertingTimeoutMs" => alerting_timeout_ms: int,
            "monitoredParticipantId" => monitored_participant_id: str,
            "coachedParticipantId" => coached_participant_id: str,
            "bargedParticipantId" => barged_participant_id: str,
            "screenRecordingState" => screen_recording_state: str,
            "startAcwTime" => start_acw_time: time,
            "endAcwTime" => end_acw_time: time,
        }
    }
}

row! {
    /// A session (Genesys "communication"): one media leg of a participant.
    pub struct SessionRow {
        keys {
            conversation_id: String,
            participant_id: String,
            session_id: String,
            ordinal: i32,
        }
        fields {
            "mediaType" => media_type: enumeration,
            "direction" => direction: enumeration,
            "activeSkillIds" => active_skill_ids: strs,
            "acwSkipped" => acw_skipped: bool,
            "addressFrom" => address_from: str,
            "addressOther" => address_other: str,
            "addressSelf" => address_self: str,
            "addressTo" => address_to: str,
            "agentAssistantId" => agent_assistant_id: str,
            "agentBullseyeRing" => agent_bullseye_ring: int,
            "agentOwned" => agent_owned: bool,
            "ani" => ani: str,
            "assignerId" => assigner_id: str,
            "authenticated" => authenticated: bool,
            "bargedParticipantId" => barged_participant_id: str,
            "bcc" => bcc: strs,
            "callbackNumbers" => callback_numbers: strs,
            "callbackScheduledTime" => callback_scheduled_time: time,
            "callbackUserName" => callback_user_name: str,
            "cc" => cc: strs,
            "cleared" => cleared: bool,
            "coachedParticipantId" => coached_participant_id: str,
            "cobrowseRole" => cobrowse_role: str,
            "cobrowseRoomId" => cobrowse_room_id: str,
            "deliveryPushed" => delivery_pushed: bool,
            "deliveryStatus" => delivery_status: str,
            "deliveryStatusChangeDate" => delivery_status_change_date: time,
            "destinationAddresses" => destination_addresses: strs,
            "detectedSpeechEnd" => detected_speech_end: time,
            "detectedSpeechStart" => detected_speech_start: time,
            "dispositionAnalyzer" => disposition_analyzer: str,
            "dispositionName" => disposition_name: str,
            "dnis" => dnis: str,
            "edgeId" => edge_id: str,
            "eligibleAgentCounts" => eligible_agent_counts: ints,
            "engagementSource" => engagement_source: str,
            "extendedDeliveryStatus" => extended_delivery_status: str,
            "flowInType" => flow_in_type: str,
            "flowOutType" => flow_out_type: str,
            "journeyActionId" => journey_action_id: str,
            "journeyActionMapId" => journey_action_map_id: str,
            "journeyActionMapVersion" => journey_action_map_version: int,
            "journeyCustomerId" => journey_customer_id: str,
            "journeyCustomerIdType" => journey_customer_id_type: str,
            "journeyCustomerSessionId" => journey_customer_session_id: str,
            "journeyCustomerSessionIdType" => journey_customer_session_id_type: str,
            "mediaBridgeId" => media_bridge_id: str,
            "mediaCount" => media_count: int,
            "messageType" => message_type: str,
            "monitoredParticipantId" => monitored_participant_id: str,
            "outboundCampaignId" => outbound_campaign_id: str,
            "outboundContactId" => outbound_contact_id: str,
            "outboundContactListId" => outbound_contact_list_id: str,
            "peerId" => peer_id: str,
            "protocolCallId" => protocol_call_id: str,
            "provider" => provider: str,
            "recording" => recording: bool,
            "remote" => remote: str,
            "remoteNameDisplayable" => remote_name_displayable: str,
            "removedSkillIds" => removed_skill_ids: strs,
            "requestedRoutings" => requested_routings: strs,
            "roomId" => room_id: str,
            "routingRing" => routing_ring: int,
            "routingRule" => routing_rule: str,
            "routingRuleType" => routing_rule_type: str,
            "screenMonitoredUserId" => screen_monitored_user_id: str,
            "screenShareAddressSelf" => screen_share_address_self: str,
            "screenShareRoomId" => screen_share_room_id: str,
            "scriptId" => script_id: str,
            "selectedAgentId" => selected_agent_id: str,
            "selectedAgentRank" => selected_agent_rank: int,
            "sessionDnis" => session_dnis: str,
            "sharingScreen" => sharing_screen: bool,
            "skillExpressionId" => skill_expression_id: str,
            "skipEnabled" => skip_enabled: bool,
            "snippetRecording" => snippet_recording: bool,
            "timeoutSeconds" => timeout_seconds: int,
            "usedRouting" => used_routing: str,
            "videoAddressSelf" => video_address_self: str,
            "videoRoomId" => video_room_id: str,
            "waitingInteractionCounts" => waiting_interaction_counts: ints,
            // The platform communications (calls, callbacks, chats, …).
            "state" => state: enumeration,
            "initialState" => initial_state: enumeration,
            "disconnectType" => disconnect_type: enumeration,
            "connectedTime" => connected_time: time,
            "disconnectedTime" => disconnected_time: time,
            "startAlertingTime" => start_alerting_time: time,
            "startHoldTime" => start_hold_time: time,
            "held" => held: bool,
            "muted" => muted: bool,
            "confined" => confined: bool,
            "recordingState" => recording_state: str,
            "recordingId" => recording_id: str,
            "securePause" => secure_pause: bool,
            "documentId" => document_id: str,
            "uuiData" => uui_data: str,
            "afterCallWorkRequired" => after_call_work_required: bool,
            "transferSource" => transfer_source: str,
            "externalCampaign" => external_campaign: bool,
            "automatedCallbackConfigId" => automated_callback_config_id: str,
            "callerId" => caller_id: str,
            "callerIdName" => caller_id_name: str,
            "avatarImageUrl" => avatar_image_url: str,
            "cobrowseSessionId" => cobrowse_session_id: str,
            "viewerUrl" => viewer_url: str,
            "providerEventTime" => provider_event_time: time,
            "subject" => subject: str,
            "messagesSent" => messages_sent: int,
            "autoGenerated" => auto_generated: bool,
            "messageId" => message_id: str,
            "spam" => spam: bool,
            "parkTime" => park_time: time,
            "resumeTime" => resume_time: time,
            "recipientCountry" => recipient_country: str,
            "recipientType" => recipient_type: str,
            "byoSmsIntegrationId" => byo_sms_integration_id: str,
            "targetUserId" => target_user_id: str,
            "sourceUserId" => source_user_id: str,
            "monitoringType" => monitoring_type: str,
            "count" => monitoring_count: int,
            "context" => context: str,
            "sharing" => sharing: bool,
            "peerCount" => peer_count: int,
            "audioMuted" => audio_muted: bool,
            "videoMuted" => video_muted: bool,
            "socialMediaId" => social_media_id: str,
            "socialMediaHub" => social_media_hub: str,
            "socialUserName" => social_user_name: str,
            "previewText" => preview_text: str,
            "wrapup" => wrapup: json,
            "afterCallWork" => after_call_work: json,
        }
    }
}

row! {
    /// A segment: a continuous span of a session in one state (alert, interact, hold, …).
    pub struct SegmentRow {
        keys {
            conversation_id: String,
            participant_id: String,
            session_id: String,
            segment_index: i32,
        }
        fields {
            "segmentType" => segment_type: enumeration,
            "segmentStart" => segment_start: time,
            "segmentEnd" => segment_end: time,
            "queueId" => queue_id: str,
            "wrapUpCode" => wrap_up_code: str,
            "wrapUpNote" => wrap_up_note: str,
            "wrapUpTags" => wrap_up_tags: strs,
            "disconnectType" => disconnect_type: enumeration,
            "audioMuted" => audio_muted: bool,
            "videoMuted" => video_muted: bool,
            "conference" => conference: bool,
            "destinationConversationId" => destination_conversation_id: str,
            "destinationSessionId" => destination_session_id: str,
            "sourceConversationId" => source_conversation_id: str,
            "sourceSessionId" => source_session_id: str,
            "errorCode" => error_code: str,
            "groupId" => group_id: str,
            "q850ResponseCodes" => q850_response_codes: ints,
            "sipResponseCodes" => sip_response_codes: ints,
            "requestedLanguageId" => requested_language_id: str,
            "requestedRoutingSkillIds" => requested_routing_skill_ids: strs,
            "requestedRoutingUserIds" => requested_routing_user_ids: strs,
            "subject" => subject: str,
            // The platform `Segment`.
            "howEnded" => how_ended: str,
        }
    }
}

row! {
    /// A metric of a session: `name` (nOffered, tTalk, …), `value` (count or milliseconds).
    pub struct MetricRow {
        keys {
            conversation_id: String,
            participant_id: String,
            session_id: String,
            metric_index: i32,
        }
        fields {
            "name" => name: str,
            "value" => value: int,
            "emitDate" => emit_date: time,
        }
    }
}

row! {
    /// The IVR flow a session ran through.
    pub struct FlowRow {
        keys {
            conversation_id: String,
            participant_id: String,
            session_id: String,
        }
        fields {
            "flowId" => flow_id: str,
            "flowName" => flow_name: str,
            "flowType" => flow_type: str,
            "flowVersion" => flow_version: str,
            "entryReason" => entry_reason: str,
            "entryType" => entry_type: str,
            "exitReason" => exit_reason: str,
            "endingLanguage" => ending_language: str,
            "startingLanguage" => starting_language: str,
            "issuedCallback" => issued_callback: bool,
            "recognitionFailureReason" => recognition_failure_reason: str,
            "transferTargetAddress" => transfer_target_address: str,
            "transferTargetName" => transfer_target_name: str,
            "transferType" => transfer_type: str,
        }
    }
}

row! {
    /// An outcome reached in a flow.
    pub struct FlowOutcomeRow {
        keys {
            conversation_id: String,
            participant_id: String,
            session_id: String,
            outcome_index: i32,
        }
        fields {
            "flowOutcome" => flow_outcome: str,
            "flowOutcomeId" => flow_outcome_id: str,
            "flowOutcomeValue" => flow_outcome_value: str,
            "flowOutcomeStartTimestamp" => flow_outcome_start_timestamp: time,
            "flowOutcomeEndTimestamp" => flow_outcome_end_timestamp: time,
        }
    }
}

row! {
    /// An agent proposed by predictive routing for a session.
    pub struct ProposedAgentRow {
        keys {
            conversation_id: String,
            participant_id: String,
            session_id: String,
            proposed_index: i32,
        }
        fields {
            "proposedAgentId" => proposed_agent_id: str,
            "agentRank" => agent_rank: int,
        }
    }
}

row! {
    /// Media quality statistics of a session's endpoint.
    pub struct MediaEndpointStatRow {
        keys {
            conversation_id: String,
            participant_id: String,
            session_id: String,
            stat_index: i32,
        }
        fields {
            "codecs" => codecs: strs,
            "eventTime" => event_time: time,
            "minMos" => min_mos: float,
            "minRFactor" => min_r_factor: float,
            "maxLatencyMs" => max_latency_ms: int,
            "receivedPackets" => received_packets: int,
            "discardedPackets" => discarded_packets: int,
            "duplicatePackets" => duplicate_packets: int,
            "invalidPackets" => invalid_packets: int,
            "overrunPackets" => overrun_packets: int,
            "underrunPackets" => underrun_packets: int,
        }
    }
}

row! {
    /// An agent group (group, skill group, team) a session was routed through.
    pub struct AgentGroupRow {
        keys {
            conversation_id: String,
            participant_id: String,
            session_id: String,
            group_index: i32,
        }
        fields {
            "agentGroupId" => agent_group_id: str,
            "agentGroupType" => agent_group_type: str,
        }
    }
}

row! {
    /// An agent scored by predictive routing during a segment.
    pub struct ScoredAgentRow {
        keys {
            conversation_id: String,
            participant_id: String,
            session_id: String,
            segment_index: i32,
            scored_index: i32,
        }
        fields {
            "scoredAgentId" => scored_agent_id: str,
            "agentScore" => agent_score: int,
        }
    }
}

row! {
    /// A typed custom property attached to a segment.
    pub struct SegmentPropertyRow {
        keys {
            conversation_id: String,
            participant_id: String,
            session_id: String,
            segment_index: i32,
            property_index: i32,
        }
        fields {
            "property" => property: str,
            "propertyType" => property_type: str,
            "value" => value: str,
        }
    }
}

row! {
    /// A quality evaluation of a conversation (analytics) or of a participant (platform).
    pub struct EvaluationRow {
        keys {
            conversation_id: String,
            evaluation_id: String,
            /// The evaluated participant, when the source nests evaluations under participants.
            participant_id: Option<String>,
        }
        fields {
            "evaluationStatus" => evaluation_status: str,
            "status" => status: str,
            "name" => name: str,
            "formId" => form_id: str,
            "formName" => form_name: str,
            "evaluatorId" => evaluator_id: str,
            "userId" => user_id: str,
            "queueId" => queue_id: str,
            "assigneeId" => assignee_id: str,
            "assigneeApplicable" => assignee_applicable: bool,
            "calibrationId" => calibration_id: str,
            "contextId" => context_id: str,
            "deleted" => deleted: bool,
            "eventTime" => event_time: time,
            "released" => released: bool,
            "rescored" => rescored: bool,
            "systemSubmitted" => system_submitted: bool,
            "oTotalCriticalScore" => o_total_critical_score: int,
            "oTotalScore" => o_total_score: int,
            // The platform `Evaluation`.
            "agentHasRead" => agent_has_read: bool,
            "releaseDate" => release_date: time,
            "assignedDate" => assigned_date: time,
            "createdDate" => created_date: time,
            "changedDate" => changed_date: time,
            "submittedDate" => submitted_date: time,
            "revisionCreatedDate" => revision_created_date: time,
            "rescore" => rescore: bool,
            "conversationDate" => conversation_date: time,
            "conversationEndDate" => conversation_end_date: time,
            "neverRelease" => never_release: bool,
            "assigned" => assigned: bool,
            "dateAssigneeChanged" => date_assignee_changed: time,
            "resourceId" => resource_id: str,
            "resourceType" => resource_type: str,
            "redacted" => redacted: bool,
            "isScoringIndex" => is_scoring_index: bool,
            "hasAssistanceFailed" => has_assistance_failed: bool,
            "mediaType" => media_types: strs,
            "divisionIds" => division_ids: strs,
            "authorizedActions" => authorized_actions: strs,
            "selfUri" => self_uri: str,
        }
    }
}

row! {
    /// A customer survey about the conversation.
    pub struct SurveyRow {
        keys {
            conversation_id: String,
            survey_index: i32,
        }
        fields {
            "surveyId" => survey_id: str,
            "surveyFormId" => survey_form_id: str,
            "surveyFormName" => survey_form_name: str,
            "surveyFormContextId" => survey_form_context_id: str,
            "surveyStatus" => survey_status: str,
            "surveyType" => survey_type: str,
            "surveyCompletedDate" => survey_completed_date: time,
            "surveyPartialResponse" => survey_partial_response: bool,
            "surveyPromoterScore" => survey_promoter_score: int,
            "oSurveyTotalScore" => o_survey_total_score: int,
            "eventTime" => event_time: time,
            "queueId" => queue_id: str,
            "userId" => user_id: str,
        }
    }
}

row! {
    /// A resolution of the conversation (next contact avoided).
    pub struct ResolutionRow {
        keys {
            conversation_id: String,
            resolution_index: i32,
        }
        fields {
            "eventTime" => event_time: time,
            "queueId" => queue_id: str,
            "userId" => user_id: str,
            "nNextContactAvoided" => n_next_contact_avoided: int,
        }
    }
}

row! {
    /// A recent transfer of the conversation (platform `recentTransfers`).
    pub struct TransferRow {
        keys {
            conversation_id: String,
            transfer_id: String,
        }
        fields {
            "state" => state: str,
            "transferType" => transfer_type: str,
            "dateIssued" => date_issued: time,
            "initiator" => initiator: json,
            "modifiedBy" => modified_by: json,
            "destination" => destination: json,
        }
    }
}

row! {
    /// An entity (user, queue, flow, …) on the conversation, by division (platform `divisions`).
    pub struct DivisionEntityRow {
        keys {
            conversation_id: String,
            division_id: String,
            entity_index: i32,
        }
        fields {
            "id" => entity_id: str,
            "name" => name: str,
            "selfUri" => self_uri: str,
            "dateDivisionUpdated" => date_division_updated: time,
        }
    }
}

row! {
    /// A division (Genesys): the unit of scope of conversations.
    pub struct DivisionRow {
        keys {
            division_id: String,
        }
        fields {
            "name" => name: str,
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

impl ConversationGraph {
    pub fn id(&self) -> &str {
        &self.conversation.conversation_id
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
