//! Genesys flow metric records (`seeds/FlowMetricsTopicFlowMetricRecord.md`): the live metric
//! events of IVR flows, one row each, with every dimension the topic sends. They import like
//! the feed's tables (one JSON object a line, or an array), recognised by their `metric` and
//! `metricDate`; keys match without regard to case and underscores (the topic's camelCase and
//! the SDK's snake_case both read).

use crate::error::DocumentError;
use crate::reader::Obj;
use serde_json::{Map, Value};

row! {
    /// A flow metric record: one metric of an IVR flow, with its dimensions.
    pub struct FlowMetricRow {
        keys {
            /// The conversation the flow ran in.
            conversation_id: String,
            /// The record's id (`recordId`; made of the metric, its date and the session when the topic sends none).
            record_id: String,
        }
        fields {
            /// Metric name
            "metric" => metric: str,
            /// The date and time of metric creation
            "metricDate" => metric_date: time,
            /// Metric value
            "value" => value: int,
            /// Active routing method
            "activeRouting" => active_routing: str,
            /// ID(s) of Skill(s) that are active on the conversation
            "activeSkillIds" => active_skill_ids: strs,
            /// The address that initiated an action Personal data: null without the `pii:read` permission.
            "addressFrom" => address_from: str [personal],
            /// The address receiving an action Personal data: null without the `pii:read` permission.
            "addressTo" => address_to: str [personal],
            /// Unique identifier of the active virtual agent assistant
            "agentAssistantId" => agent_assistant_id: str,
            /// Bullseye ring of the targeted agent
            "agentBullseyeRing" => agent_bullseye_ring: int,
            /// Flag indicating an agent-owned callback
            "agentOwned" => agent_owned: bool,
            /// Automatic Number Identification (caller's number) Personal data: null without the `pii:read` permission.
            "ani" => ani: str [personal],
            /// ID of the user that manually assigned a conversation
            "assignerId" => assigner_id: str,
            /// Flag that indicates that the identity of the customer has been asserted as verified by the provider.
            "authenticated" => authenticated: bool,
            /// Indicates the participant purpose of the participant initiating a message conversation
            "conversationInitiator" => conversation_initiator: str,
            /// Session media type that was converted from in case of a media type conversion
            "convertedFrom" => converted_from: str,
            /// Session media type that was converted to in case of a media type conversion
            "convertedTo" => converted_to: str,
            /// Indicates a messaging conversation in which the customer participated by sending at least one message
            "customerParticipation" => customer_participation: bool,
            /// The email or SMS delivery status
            "deliveryStatus" => delivery_status: str,
            /// Destination address(es) of transfers or consults Personal data: null without the `pii:read` permission.
            "destinationAddresses" => destination_addresses: strs [personal],
            /// The direction of the communication
            "direction" => direction: str,
            /// The session disconnect type
            "disconnectType" => disconnect_type: str,
            /// Identifier(s) of division(s) associated with a conversation
            "divisionIds" => division_ids: strs,
            /// Dialed number identification service (number dialed by the calling party) Personal data: null without the `pii:read` permission.
            "dnis" => dnis: str [personal],
            /// Unique identifier of the edge device
            "edgeId" => edge_id: str,
            /// Number of eligible agents for each predictive routing attempt
            "eligibleAgentCounts" => eligible_agent_counts: ints,
            /// Flow ending language, e.g. en-us
            "endingLanguage" => ending_language: str,
            /// The particular entry reason for this flow, e.g. an address, userId, or flowId. Personal data: null without the `pii:read` permission.
            "entryReason" => entry_reason: str [personal],
            /// The entry type for this flow, e.g. dnis, dialer, agent, flow, or direct
            "entryType" => entry_type: str,
            /// A code corresponding to the error that occurred
            "errorCode" => error_code: str,
            /// The exit reason for this flow, e.g. DISCONNECT
            "exitReason" => exit_reason: str,
            /// Extended delivery status
            "extendedDeliveryStatus" => extended_delivery_status: str,
            /// External contact identifier
            "externalContactId" => external_contact_id: str,
            /// Count of any media (images, files, etc) included on the external session
            "externalMediaCount" => external_media_count: int,
            /// External organization identifier
            "externalOrganizationId" => external_organization_id: str,
            /// External tag for the conversation
            "externalTag" => external_tag: str,
            /// Marker that is set if the current queue is the first queue in a conversation
            "firstQueue" => first_queue: bool,
            /// Reason for which participant flagged conversation
            "flaggedReason" => flagged_reason: str,
            /// The unique identifier of this flow
            "flowId" => flow_id: str,
            /// Type of flow in that occurred when entering ACD.
            "flowInType" => flow_in_type: str,
            /// The ID of a flow outcome milestone
            "flowMilestoneIds" => flow_milestone_ids: strs,
            /// The name of this flow at the time of flow execution
            "flowName" => flow_name: str,
            /// Type of flow out that occurred when emitting tFlowOut.
            "flowOutType" => flow_out_type: str,
            /// The type of this flow
            "flowType" => flow_type: str,
            /// The version of this flow
            "flowVersion" => flow_version: str,
            /// Unique identifier for a PureCloud group
            "groupId" => group_id: str,
            /// The interaction type (enterprise or contactCenter)
            "interactionType" => interaction_type: str,
            /// Identifier of the journey action.
            "journeyActionId" => journey_action_id: str,
            /// Identifier of the journey action map that triggered the action.
            "journeyActionMapId" => journey_action_map_id: str,
            /// Version of the journey action map that triggered the action.
            "journeyActionMapVersion" => journey_action_map_version: int,
            /// Primary identifier of the journey customer in the source where the activities originate from.
            "journeyCustomerId" => journey_customer_id: str,
            /// Type of primary identifier of the journey customer (e.g. cookie).
            "journeyCustomerIdType" => journey_customer_id_type: str,
            /// Unique identifier of the journey session.
            "journeyCustomerSessionId" => journey_customer_session_id: str,
            /// Type or category of journey sessions (e.g. web, ticket, delivery, atm).
            "journeyCustomerSessionIdType" => journey_customer_session_id_type: str,
            /// The unique identifier of the knowledge base used
            "knowledgeBaseId" => knowledge_base_id: str,
            /// Count of any media (images, files, etc) included in this session
            "mediaCount" => media_count: int,
            /// The session media type
            "mediaType" => media_type: str,
            /// Message type for messaging services. E.g.: sms, facebook, twitter, line
            "messageType" => message_type: str,
            /// The original direction of the conversation
            "originatingDirection" => originating_direction: str,
            /// (Dialer) Unique identifier of the outbound campaign
            "outboundCampaignId" => outbound_campaign_id: str,
            /// (Dialer) Unique identifier of the contact
            "outboundContactId" => outbound_contact_id: str,
            /// (Dialer) Unique identifier of the contact list that this contact belongs to
            "outboundContactListId" => outbound_contact_list_id: str,
            /// A human readable name identifying the participant Personal data: null without the `pii:read` permission.
            "participantName" => participant_name: str [personal],
            /// This identifies pairs of related sessions on a conversation. E.g. an external session’s peerId will be the session that the call originally connected to, e.g. if an IVR was dialed, the IVR session, which will also have the external session’s ID as its peer. After that point, any transfers of that session to other internal components (acd, agent, etc.) will all spawn new sessions whose peerIds point back to that original external session.
            "peerId" => peer_id: str,
            /// The source provider for the communication.
            "provider" => provider: str,
            /// The participant's purpose
            "purpose" => purpose: str,
            /// Queue identifier
            "queueId" => queue_id: str,
            /// The recognition failure reason causing to exit/disconnect
            "recognitionFailureReason" => recognition_failure_reason: str,
            /// Name, phone number, or email address of the remote party. Personal data: null without the `pii:read` permission.
            "remote" => remote: str [personal],
            /// ID(s) of Skill(s) that have been removed by bullseye routing
            "removedSkillIds" => removed_skill_ids: strs,
            /// Unique identifier for the language requested for an interaction
            "requestedLanguageId" => requested_language_id: str,
            /// Unique identifier(s) for skill(s) requested for an interaction
            "requestedRoutingSkillIds" => requested_routing_skill_ids: strs,
            /// Routing type(s) for requested/attempted routing methods.
            "requestedRoutings" => requested_routings: strs,
            /// Unique identifier for the room
            "roomId" => room_id: str,
            /// Routing priority for the current interaction
            "routingPriority" => routing_priority: int,
            /// Routing ring for bullseye or preferred agent routing
            "routingRing" => routing_ring: int,
            /// Routing rule for preferred, conditional and predictive routing type
            "routingRule" => routing_rule: str,
            /// Routing rule type
            "routingRuleType" => routing_rule_type: str,
            /// Selected agent ID
            "selectedAgentId" => selected_agent_id: str,
            /// Selected agent GPR rank
            "selectedAgentRank" => selected_agent_rank: int,
            /// Indicates whether the flow session was self serviced
            "selfServed" => self_served: bool,
            /// Dialed number for the current session; this can be different from dnis, e.g. if the call was transferred Personal data: null without the `pii:read` permission.
            "sessionDnis" => session_dnis: str [personal],
            /// The unique identifier of this session
            "sessionId" => session_id: str,
            /// Flow starting language, e.g. en-us
            "startingLanguage" => starting_language: str,
            /// Unique identifier for a phone
            "stationId" => station_id: str,
            /// The team ID the user is a member of
            "teamId" => team_id: str,
            /// The address of a flow transfer target, e.g. a phone number, an email address, or a queueId Personal data: null without the `pii:read` permission.
            "transferTargetAddress" => transfer_target_address: str [personal],
            /// The name of a flow transfer target. Personal data: null without the `pii:read` permission.
            "transferTargetName" => transfer_target_name: str [personal],
            /// The type of transfer for flows that ended with a transfer
            "transferType" => transfer_type: str,
            /// Complete routing method
            "usedRouting" => used_routing: str,
            /// Unique identifier for the user
            "userId" => user_id: str,
            /// Flag indicating if video is present
            "videoPresent" => video_present: bool,
            /// Number of waiting interactions for each predictive routing attempt
            "waitingInteractionCounts" => waiting_interaction_counts: ints,
            /// Wrap up code
            "wrapUpCode" => wrap_up_code: str,
            /// Proposed agents
            "proposedAgents" => proposed_agents: json,
            /// Flow outcomes
            "outcomes" => outcomes: json,
            /// Scored agents
            "scoredAgents" => scored_agents: json,
        }
    }
}

/// Whether a document is a metric record (a flow metric record, or one of the conversation
/// metrics topic's, which `domain::ingest::read_item` refuses) rather than a conversation.
pub fn is_record(doc: &Value) -> bool {
    doc.as_object().is_some_and(|m| {
        let has = |a: &str, b: &str| m.contains_key(a) || m.contains_key(b);
        has("metric", "metric")
            && has("metricDate", "metric_date")
            && !m.contains_key("participants")
    })
}

/// Reads one flow metric record.
pub fn read(doc: &Value) -> Result<FlowMetricRow, DocumentError> {
    let Value::Object(map) = doc else {
        return Err(DocumentError::new(
            "$",
            "expected a flow metric record object",
        ));
    };
    let canonical = canonicalize(map);
    let mut o = Obj::new(&canonical, "$")?;
    let mut row = FlowMetricRow::read_fields(&mut o)?;
    row.conversation_id = o.required_str("conversationId")?;
    row.record_id = match o.str("recordId")? {
        Some(id) if !id.trim().is_empty() => id,
        _ => format!(
            "{}@{}@{}",
            row.metric.as_deref().unwrap_or(""),
            row.metric_date.map(|t| t.to_rfc3339()).unwrap_or_default(),
            row.session_id.as_deref().unwrap_or("")
        ),
    };
    row.extra = o.into_extra();
    Ok(row)
}

/// The record with its keys in the declared camelCase spelling.
fn canonicalize(map: &Map<String, Value>) -> Value {
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let declared: Vec<&str> = FlowMetricRow::SOURCE_FIELDS
        .iter()
        .map(|(k, _)| *k)
        .chain(["conversationId", "recordId"])
        .collect();
    Value::Object(
        map.iter()
            .map(|(k, v)| {
                let key = declared
                    .iter()
                    .find(|d| squash(d) == squash(k))
                    .map_or_else(|| k.clone(), |d| (*d).to_owned());
                (key, v.clone())
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn camel_and_snake_case_records_read_alike() {
        let camel = json!({"metric": "tFlow", "metricDate": "2026-11-02T08:00:00Z", "value": 1200,
                           "conversationId": "c1", "flowId": "f1", "divisionIds": ["d"], "outcomes": [{"id": "o"}]});
        let snake = json!({"metric": "tFlow", "metric_date": "2026-11-02T08:00:00Z", "value": 1200,
                           "conversation_id": "c1", "flow_id": "f1", "division_ids": ["d"], "outcomes": [{"id": "o"}]});
        assert!(is_record(&camel) && is_record(&snake));
        let a = read(&camel).unwrap();
        assert_eq!(a, read(&snake).unwrap());
        assert_eq!(a.record_id, "tFlow@2026-11-02T08:00:00+00:00@");
        assert_eq!(a.flow_id.as_deref(), Some("f1"));
        assert_eq!(a.outcomes, Some(json!([{"id": "o"}])));
        assert!(a.extra.is_empty());
    }
}
