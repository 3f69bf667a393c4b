//! Metric facts: every session metric of a conversation with the dimensions dashboards group
//! and filter it by, the rows `conversationAggregates` reads. A pure function of the graph, so
//! that imported and generated conversations get the same facts, and a replaced conversation
//! gets new ones with it.

use crate::graph::{ConversationGraph, SegmentRow};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One session metric and its dimensions (the columns of table `metric_facts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricFact {
    pub conversation_id: String,
    pub participant_id: String,
    pub session_id: String,
    pub metric_index: i32,
    pub name: String,
    pub value: Option<i64>,
    pub emit_date: DateTime<Utc>,
    /// The session's.
    pub media_type: Option<String>,
    pub direction: Option<String>,
    /// The first routing method the session requested.
    pub requested_routing: Option<String>,
    pub used_routing: Option<String>,
    pub flow_id: Option<String>,
    /// The participant's.
    pub purpose: Option<String>,
    pub user_id: Option<String>,
    /// The queue of the segment the session was in when the metric was emitted: the last
    /// segment with a queue that started at or before the emission, else the first with one.
    pub queue_id: Option<String>,
    /// The session's last wrap-up code and disconnect type.
    pub wrap_up_code: Option<String>,
    pub disconnect_type: Option<String>,
    /// The conversation's.
    pub originating_direction: Option<String>,
    pub division_ids: Vec<String>,
    pub business_unit_id: Option<String>,
}

type SessionId<'a> = (&'a str, &'a str);

/// The facts of one conversation: one per session metric with a name and an emission time.
pub fn metric_facts(graph: &ConversationGraph) -> Vec<MetricFact> {
    let c = &graph.conversation;
    let participants: HashMap<&str, _> = graph
        .participants
        .iter()
        .map(|p| (p.participant_id.as_str(), p))
        .collect();
    let sessions: HashMap<SessionId, _> = graph
        .sessions
        .iter()
        .map(|s| ((s.participant_id.as_str(), s.session_id.as_str()), s))
        .collect();
    let flows: HashMap<SessionId, _> = graph
        .flows
        .iter()
        .map(|f| ((f.participant_id.as_str(), f.session_id.as_str()), f))
        .collect();
    let mut segments: HashMap<SessionId, Vec<&SegmentRow>> = HashMap::new();
    for g in &graph.segments {
        segments
            .entry((g.participant_id.as_str(), g.session_id.as_str()))
            .or_default()
            .push(g);
    }
    for list in segments.values_mut() {
        // By start, segments without one last (as PostgreSQL orders nulls), then by index.
        list.sort_by_key(|g| (g.segment_start.is_none(), g.segment_start, g.segment_index));
    }
    graph
        .metrics
        .iter()
        .filter_map(|m| {
            let (name, emit_date) = (m.name.clone()?, m.emit_date?);
            let key = (m.participant_id.as_str(), m.session_id.as_str());
            let session = sessions.get(&key);
            let participant = participants.get(m.participant_id.as_str());
            let segs = segments.get(&key).map(Vec::as_slice).unwrap_or_default();
            let queued = || segs.iter().filter(|g| g.queue_id.is_some());
            let queue_id = queued()
                .rfind(|g| g.segment_start.is_some_and(|t| t <= emit_date))
                .or_else(|| queued().next())
                .and_then(|g| g.queue_id.clone());
            let last = |f: fn(&SegmentRow) -> &Option<String>| {
                let mut by_index: Vec<&&SegmentRow> = segs.iter().collect();
                by_index.sort_by_key(|g| g.segment_index);
                by_index.iter().rev().find_map(|g| f(g).clone())
            };
            Some(MetricFact {
                conversation_id: m.conversation_id.clone(),
                participant_id: m.participant_id.clone(),
                session_id: m.session_id.clone(),
                metric_index: m.metric_index,
                name,
                value: m.value,
                emit_date,
                media_type: session.and_then(|s| s.media_type.clone()),
                direction: session.and_then(|s| s.direction.clone()),
                requested_routing: session
                    .and_then(|s| s.requested_routings.as_ref())
                    .and_then(|r| r.first().cloned()),
                used_routing: session.and_then(|s| s.used_routing.clone()),
                flow_id: flows.get(&key).and_then(|f| f.flow_id.clone()),
                purpose: participant.and_then(|p| p.purpose.clone()),
                user_id: participant.and_then(|p| p.user_id.clone()),
                queue_id,
                wrap_up_code: last(|g| &g.wrap_up_code),
                disconnect_type: last(|g| &g.disconnect_type),
                originating_direction: c.originating_direction.clone(),
                division_ids: c.division_ids.clone(),
                business_unit_id: c.business_unit_id.clone(),
            })
        })
        .collect()
}
