//! Genesys Cloud documents -> [`ConversationGraph`]: the analytics conversation details
//! (`conversationId`, participants -> sessions -> segments, metrics, flow, …) and the platform
//! `Conversation` object (participants -> calls, callbacks, chats, emails, … -> segments).

use serde_json::Value;
use std::collections::HashSet;

use crate::error::DocumentError;
use crate::graph::*;
use crate::reader::Obj;

/// The shape of one Genesys conversation document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// An analytics conversation detail record (`/analytics/conversations/details`).
    Analytics,
    /// The platform `Conversation` object (`/conversations/{id}`).
    Platform,
}

impl Shape {
    pub fn source(self) -> &'static str {
        match self {
            Shape::Analytics => "genesys.analytics",
            Shape::Platform => "genesys.conversation",
        }
    }
}

/// The platform's per-media lists of communications, and the analytics media type of each.
pub const PLATFORM_MEDIA: &[(&str, &str)] = &[
    ("calls", "voice"),
    ("callbacks", "callback"),
    ("chats", "chat"),
    ("cobrowsesessions", "cobrowse"),
    ("emails", "email"),
    ("messages", "message"),
    ("internalMessages", "internalmessage"),
    ("screenMonitorings", "screenmonitoring"),
    ("screenshares", "screenshare"),
    ("socialExpressions", "socialexpression"),
    ("videos", "video"),
];

/// Tells which shape a conversation document has, from the keys it uses.
pub fn detect(doc: &Value) -> Option<Shape> {
    let root = doc.as_object()?;
    let participants = root
        .get("participants")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let any_participant = |keys: &[&str]| {
        participants.iter().any(|p| {
            p.as_object()
                .is_some_and(|p| keys.iter().any(|k| p.contains_key(*k)))
        })
    };
    let media_keys: Vec<&str> = PLATFORM_MEDIA.iter().map(|(k, _)| *k).collect();
    if root.contains_key("conversationStart") || any_participant(&["sessions", "participantId"]) {
        Some(Shape::Analytics)
    } else if root.contains_key("startTime")
        || root.contains_key("PCID")
        || root.contains_key("recentTransfers")
        || root.contains_key("divisions")
        || any_participant(&media_keys)
    {
        Some(Shape::Platform)
    } else if root.contains_key("conversationId") {
        Some(Shape::Analytics)
    } else if root.contains_key("id") {
        Some(Shape::Platform)
    } else {
        None
    }
}

/// Parses a Genesys conversation document of either shape.
pub fn parse(doc: &Value) -> Result<ConversationGraph, DocumentError> {
    let graph = match detect(doc) {
        Some(Shape::Analytics) => parse_analytics(doc),
        Some(Shape::Platform) => parse_platform(doc),
        None if !doc.is_object() => Err(DocumentError::new(
            "$",
            "expected a conversation object".to_string(),
        )),
        None => Err(DocumentError::new(
            "$",
            "not a Genesys conversation: no conversationId or id",
        )),
    }?;
    check_consultations(&graph)?;
    Ok(graph)
}

/// The consult conversations a conversation names are other conversations, and at most
/// [`crate::catalog::CONSULTATIONS`] of them: each is read in full where the list is selected,
/// so a list that named itself or thousands of others would multiply every such read.
fn check_consultations(graph: &ConversationGraph) -> Result<(), DocumentError> {
    let Some(ids) = &graph.conversation.consultation_conversation_ids else {
        return Ok(());
    };
    let path = "$.consultationConversationIds";
    let most = crate::catalog::CONSULTATIONS as usize;
    if ids.len() > most {
        return Err(DocumentError::new(
            path,
            format!("names {} conversations; at most {most} are kept", ids.len()),
        ));
    }
    if let Some(i) = ids
        .iter()
        .position(|id| *id == graph.conversation.conversation_id)
    {
        return Err(DocumentError::new(
            format!("{path}[{i}]"),
            "names the conversation itself",
        ));
    }
    Ok(())
}

/// Parses an analytics conversation detail record.
pub fn parse_analytics(doc: &Value) -> Result<ConversationGraph, DocumentError> {
    let mut root = Obj::new(doc, "$")?;
    let id = root.required_str("conversationId")?;
    let mut g = ConversationGraph::default();
    let mut conversation = ConversationRow::read_fields(&mut root)?;
    conversation.conversation_id = id.clone();
    conversation.source = Shape::Analytics.source().to_owned();
    conversation.conversation_start = root.time("conversationStart")?;
    conversation.conversation_end = root.time("conversationEnd")?;
    conversation.division_ids = root.strs("divisionIds")?.unwrap_or_default();

    let mut participant_ids = Unique::new("participantId");
    for (pi, mut p) in root.children("participants")?.into_iter().enumerate() {
        let participant_id = p.required_str("participantId")?;
        participant_ids.check(&participant_id, &p.path_of("participantId"))?;
        let mut participant = ParticipantRow::read_fields(&mut p)?;
        participant.conversation_id = id.clone();
        participant.participant_id = participant_id.clone();
        participant.ordinal = index(pi);
        participant.participant_name = p.str("participantName")?;
        participant.attributes = p.json("attributes")?;

        let mut session_ids = Unique::new("sessionId");
        for (si, mut s) in p.children("sessions")?.into_iter().enumerate() {
            let session_id = s.required_str("sessionId")?;
            session_ids.check(&session_id, &s.path_of("sessionId"))?;
            let keys = SessionKeys {
                conversation_id: &id,
                participant_id: &participant_id,
                session_id: &session_id,
            };
            let mut session = SessionRow::read_fields(&mut s)?;
            keys.fill_session(&mut session, si);
            read_analytics_session_children(&mut g, &keys, &mut s)?;
            session.extra = s.into_extra();
            g.sessions.push(session);
        }
        participant.extra = p.into_extra();
        g.participants.push(participant);
    }
    for (i, mut e) in root.children("evaluations")?.into_iter().enumerate() {
        let mut evaluation = EvaluationRow::read_fields(&mut e)?;
        evaluation.conversation_id = id.clone();
        evaluation.evaluation_id = e.str("evaluationId")?.unwrap_or_else(|| format!("#{i}"));
        evaluation.extra = e.into_extra();
        g.evaluations.push(evaluation);
    }
    unique_evaluations(&g.evaluations, "$.evaluations")?;
    for (i, mut s) in root.children("surveys")?.into_iter().enumerate() {
        let mut survey = SurveyRow::read_fields(&mut s)?;
        survey.conversation_id = id.clone();
        survey.survey_index = index(i);
        survey.extra = s.into_extra();
        g.surveys.push(survey);
    }
    for (i, mut r) in root.children("resolutions")?.into_iter().enumerate() {
        let mut resolution = ResolutionRow::read_fields(&mut r)?;
        resolution.conversation_id = id.clone();
        resolution.resolution_index = index(i);
        resolution.extra = r.into_extra();
        g.resolutions.push(resolution);
    }
    conversation.extra = root.into_extra();
    g.conversation = conversation;
    Ok(g)
}

struct SessionKeys<'k> {
    conversation_id: &'k str,
    participant_id: &'k str,
    session_id: &'k str,
}

impl SessionKeys<'_> {
    fn fill_session(&self, s: &mut SessionRow, i: usize) {
        s.conversation_id = self.conversation_id.to_owned();
        s.participant_id = self.participant_id.to_owned();
        s.session_id = self.session_id.to_owned();
        s.ordinal = index(i);
    }
}

/// Fills the three key columns every session child shares.
macro_rules! session_child {
    ($row:expr, $keys:expr) => {{
        let mut row = $row;
        row.conversation_id = $keys.conversation_id.to_owned();
        row.participant_id = $keys.participant_id.to_owned();
        row.session_id = $keys.session_id.to_owned();
        row
    }};
}

fn read_analytics_session_children(
    g: &mut ConversationGraph,
    keys: &SessionKeys<'_>,
    s: &mut Obj<'_>,
) -> Result<(), DocumentError> {
    read_segments(g, keys, s, "segments", false)?;
    for (i, mut m) in s.children("metrics")?.into_iter().enumerate() {
        let mut metric = session_child!(MetricRow::read_fields(&mut m)?, keys);
        metric.metric_index = index(i);
        if metric.name.is_none() {
            return Err(DocumentError::new(m.path_of("name"), "is required"));
        }
        metric.extra = m.into_extra();
        g.metrics.push(metric);
    }
    if let Some(mut f) = s.object("flow")? {
        let mut flow = session_child!(FlowRow::read_fields(&mut f)?, keys);
        for (i, mut o) in f.children("outcomes")?.into_iter().enumerate() {
            let mut outcome = session_child!(FlowOutcomeRow::read_fields(&mut o)?, keys);
            outcome.outcome_index = index(i);
            outcome.extra = o.into_extra();
            g.flow_outcomes.push(outcome);
        }
        flow.extra = f.into_extra();
        g.flows.push(flow);
    }
    for (i, mut a) in s.children("proposedAgents")?.into_iter().enumerate() {
        let mut agent = session_child!(ProposedAgentRow::read_fields(&mut a)?, keys);
        agent.proposed_index = index(i);
        agent.extra = a.into_extra();
        g.proposed_agents.push(agent);
    }
    for (i, mut m) in s.children("mediaEndpointStats")?.into_iter().enumerate() {
        let mut stat = session_child!(MediaEndpointStatRow::read_fields(&mut m)?, keys);
        stat.stat_index = index(i);
        stat.extra = m.into_extra();
        g.media_endpoint_stats.push(stat);
    }
    for (i, mut a) in s.children("agentGroups")?.into_iter().enumerate() {
        let mut group = session_child!(AgentGroupRow::read_fields(&mut a)?, keys);
        group.group_index = index(i);
        group.extra = a.into_extra();
        g.agent_groups.push(group);
    }
    Ok(())
}

/// Reads the segments of a session; `platform` selects the platform `Segment` spelling
/// (`startTime`, `endTime`, `type`) over the analytics one.
fn read_segments(
    g: &mut ConversationGraph,
    keys: &SessionKeys<'_>,
    s: &mut Obj<'_>,
    key: &str,
    platform: bool,
) -> Result<(), DocumentError> {
    for (i, mut seg) in s.children(key)?.into_iter().enumerate() {
        let mut segment = session_child!(SegmentRow::read_fields(&mut seg)?, keys);
        segment.segment_index = index(i);
        if platform {
            segment.segment_start = segment.segment_start.or(seg.time("startTime")?);
            segment.segment_end = segment.segment_end.or(seg.time("endTime")?);
            segment.segment_type = segment.segment_type.or(seg.enumeration("type")?);
        }
        if let (Some(start), Some(end)) = (segment.segment_start, segment.segment_end) {
            if end < start {
                return Err(DocumentError::new(
                    seg.path(),
                    format!("segment ends ({end}) before it starts ({start})"),
                ));
            }
        }
        for (j, mut a) in seg.children("scoredAgents")?.into_iter().enumerate() {
            let mut agent = session_child!(ScoredAgentRow::read_fields(&mut a)?, keys);
            agent.segment_index = segment.segment_index;
            agent.scored_index = index(j);
            agent.extra = a.into_extra();
            g.scored_agents.push(agent);
        }
        for (j, mut p) in seg.children("properties")?.into_iter().enumerate() {
            let mut property = session_child!(SegmentPropertyRow::read_fields(&mut p)?, keys);
            property.segment_index = segment.segment_index;
            property.property_index = index(j);
            property.extra = p.into_extra();
            g.segment_properties.push(property);
        }
        segment.extra = seg.into_extra();
        g.segments.push(segment);
    }
    Ok(())
}

/// Parses the platform `Conversation` object.
pub fn parse_platform(doc: &Value) -> Result<ConversationGraph, DocumentError> {
    let mut root = Obj::new(doc, "$")?;
    let id = match root.str("id")? {
        Some(id) if !id.trim().is_empty() => {
            // `conversationId` repeats the id; keep it only when it says something else.
            let same = doc.get("conversationId").and_then(Value::as_str) == Some(id.as_str());
            if same {
                root.str("conversationId")?;
            }
            id
        }
        _ => root
            .required_str("conversationId")
            .map_err(|_| DocumentError::new("$.id", "is required (or `conversationId`)"))?,
    };
    let mut g = ConversationGraph::default();
    let mut conversation = ConversationRow::read_fields(&mut root)?;
    conversation.conversation_id = id.clone();
    conversation.source = Shape::Platform.source().to_owned();
    conversation.conversation_start = root.time("startTime")?;
    conversation.conversation_end = root.time("endTime")?;

    for (di, mut d) in root.children("divisions")?.into_iter().enumerate() {
        let Some(mut division) = d.object("division")? else {
            return Err(DocumentError::new(d.path_of("division"), "is required"));
        };
        let division_id = division.required_str("id")?;
        let mut row = DivisionRow::read_fields(&mut division)?;
        row.division_id = division_id.clone();
        row.extra = division.into_extra();
        g.divisions.push(row);
        if !conversation.division_ids.contains(&division_id) {
            conversation.division_ids.push(division_id.clone());
        }
        for (ei, mut e) in d.children("entities")?.into_iter().enumerate() {
            let mut entity = DivisionEntityRow::read_fields(&mut e)?;
            entity.conversation_id = id.clone();
            entity.division_id = division_id.clone();
            entity.entity_index = index(ei);
            entity.extra = e.into_extra();
            g.division_entities.push(entity);
        }
        let rest = d.into_extra();
        if !rest.is_empty() {
            // A membership with fields of its own: keep them on the division row.
            if let Some(last) = g.divisions.last_mut() {
                last.extra
                    .insert(format!("membership[{di}]"), Value::Object(rest));
            }
        }
    }

    let mut participant_ids = Unique::new("id");
    for (pi, mut p) in root.children("participants")?.into_iter().enumerate() {
        let participant_id = p.required_str("id")?;
        participant_ids.check(&participant_id, &p.path_of("id"))?;
        let mut participant = ParticipantRow::read_fields(&mut p)?;
        participant.conversation_id = id.clone();
        participant.participant_id = participant_id.clone();
        participant.ordinal = index(pi);
        participant.participant_name = p.str("name")?;
        participant.attributes = p.json("attributes")?;

        let mut session_ids = Unique::new("id");
        let mut ordinal = 0usize;
        for (list, media_type) in PLATFORM_MEDIA {
            for mut c in p.children(list)? {
                let session_id = c.required_str("id")?;
                session_ids.check(&session_id, &c.path_of("id"))?;
                let keys = SessionKeys {
                    conversation_id: &id,
                    participant_id: &participant_id,
                    session_id: &session_id,
                };
                let mut session = SessionRow::read_fields(&mut c)?;
                keys.fill_session(&mut session, ordinal);
                ordinal += 1;
                session.media_type = Some((*media_type).to_owned());
                // Messages name their messaging type `type` (sms, facebook, …).
                if *list == "messages" {
                    session.message_type = session.message_type.or(c.str("type")?);
                }
                read_segments(&mut g, &keys, &mut c, "segments", true)?;
                session.extra = c.into_extra();
                g.sessions.push(session);
            }
        }
        for (i, mut e) in p.children("evaluations")?.into_iter().enumerate() {
            let mut evaluation = EvaluationRow::read_fields(&mut e)?;
            evaluation.conversation_id = id.clone();
            evaluation.participant_id = Some(participant_id.clone());
            evaluation.evaluation_id = e
                .str("id")?
                .unwrap_or_else(|| format!("{participant_id}#{i}"));
            evaluation.extra = e.into_extra();
            g.evaluations.push(evaluation);
        }
        participant.extra = p.into_extra();
        g.participants.push(participant);
    }
    unique_evaluations(&g.evaluations, "$.participants[*].evaluations")?;

    let mut transfer_ids = Unique::new("id");
    for mut t in root.children("recentTransfers")? {
        let transfer_id = t.required_str("id")?;
        transfer_ids.check(&transfer_id, &t.path_of("id"))?;
        let mut transfer = TransferRow::read_fields(&mut t)?;
        transfer.conversation_id = id.clone();
        transfer.transfer_id = transfer_id;
        transfer.extra = t.into_extra();
        g.transfers.push(transfer);
    }
    conversation.extra = root.into_extra();
    g.conversation = conversation;
    Ok(g)
}

/// Rejects a second occurrence of the same id among siblings.
struct Unique {
    key: &'static str,
    seen: HashSet<String>,
}

impl Unique {
    fn new(key: &'static str) -> Self {
        Self {
            key,
            seen: HashSet::new(),
        }
    }

    fn check(&mut self, id: &str, path: &str) -> Result<(), DocumentError> {
        if self.seen.insert(id.to_owned()) {
            Ok(())
        } else {
            Err(DocumentError::new(
                path,
                format!("duplicate {} {id:?}", self.key),
            ))
        }
    }
}

fn unique_evaluations(rows: &[EvaluationRow], path: &str) -> Result<(), DocumentError> {
    let mut ids = Unique::new("evaluation id");
    rows.iter()
        .try_for_each(|e| ids.check(&e.evaluation_id, path))
}

fn index(i: usize) -> i32 {
    i32::try_from(i).unwrap_or(i32::MAX)
}
