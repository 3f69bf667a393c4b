//! The document of a conversation: its root (start, end, direction, divisions, conference, media
//! quality), the evaluations, surveys and resolutions of a finished one, the cut of one still in
//! progress, and all of it as `serde_json::Value`.

use super::{Conv, Fields, Part, Sess};
use crate::numerics::fmt_time;
use crate::universe::{AGENTS_PER_TEAM, DIVISIONS};
use crate::{DAY, HOUR, MIN};
use serde_json::{Map, Value};

impl Conv<'_> {
    // --- the document ------------------------------------------------------------------------

    pub(super) fn finish(mut self, in_progress: bool) -> Value {
        self.set_divisions();
        let start = self
            .parts
            .iter()
            .flat_map(|p| &p.sessions)
            .flat_map(|s| &s.segments)
            .map(|g| g.start)
            .min()
            .unwrap_or(0);
        let end = self
            .parts
            .iter()
            .flat_map(|p| &p.sessions)
            .map(Sess::end)
            .max()
            .unwrap_or(start);
        let originating = match self.parts.first().map(|p| p.purpose) {
            Some("agent") => "outbound",
            _ => {
                let media = self
                    .parts
                    .first()
                    .and_then(|p| p.sessions.first())
                    .and_then(|s| {
                        s.fields
                            .iter()
                            .find(|(k, _)| *k == "mediaType")
                            .map(|(_, v)| v.clone())
                    });
                if media == Some(Value::from("callback")) {
                    "outbound"
                } else {
                    "inbound"
                }
            }
        };
        let mut root = Map::new();
        root.insert("conversationId".into(), self.id.clone().into());
        root.insert("conversationStart".into(), fmt_time(start).into());
        root.insert("originatingDirection".into(), originating.into());
        let initiator = if originating == "outbound"
            && self.parts.first().is_some_and(|p| p.purpose == "agent")
        {
            "agent"
        } else {
            "customer"
        };
        root.insert("conversationInitiator".into(), initiator.into());
        if in_progress && end - start > 2 {
            let now = start + 1 + self.rng.between(0, end - start - 2);
            truncate(&mut self.parts, now);
        } else {
            root.insert("conversationEnd".into(), fmt_time(end).into());
            self.quality(end, &mut root);
        }
        for (k, v) in std::mem::take(&mut self.root) {
            root.insert(k.to_owned(), v);
        }
        let conference = self
            .parts
            .iter()
            .flat_map(|p| &p.sessions)
            .flat_map(|s| &s.segments)
            .filter(|g| g.fields.iter().any(|(k, _)| *k == "conference"))
            .map(|g| g.start)
            .min();
        if let Some(c) = conference {
            root.insert("conferenceStart".into(), fmt_time(c).into());
        }
        let stats = self
            .parts
            .iter()
            .flat_map(|p| &p.sessions)
            .flat_map(|s| &s.stats);
        let (mos, r) = stats.fold((f64::INFINITY, f64::INFINITY), |(m, r), s| {
            (m.min(s.mos), r.min(s.r_factor))
        });
        if mos.is_finite() {
            root.insert("mediaStatsMinConversationMos".into(), mos.into());
            root.insert("mediaStatsMinConversationRFactor".into(), r.into());
        }
        let parts: Vec<Value> = self.parts.into_iter().map(part_value).collect();
        root.insert("participants".into(), parts.into());
        Value::Object(root)
    }

    /// Evaluations, surveys and resolutions of a finished conversation an agent handled.
    fn quality(&mut self, end: i64, root: &mut Map<String, Value>) {
        let Some(h) = self.handled.take() else {
            return;
        };
        let agent = &self.u.agents[h.agent];
        let queue = h.queue.map(|q| self.queue_id(q));
        let rng = &mut self.rng;
        if rng.chance(0.11) {
            let team = self.u.agent_meta[h.agent].team;
            // The evaluator: someone of the other team of the same division.
            let other_team = team ^ 1;
            let evaluator =
                &self.u.agents[other_team * AGENTS_PER_TEAM + rng.index(AGENTS_PER_TEAM)];
            let form = if self.u.agent_meta[h.agent].division == 1 && rng.chance(0.5) {
                &self.u.evaluation_forms[2]
            } else if h.voice {
                &self.u.evaluation_forms[0]
            } else {
                &self.u.evaluation_forms[1]
            };
            let status = [
                "Finished",
                "Finished",
                "Finished",
                "Finished",
                "Finished",
                "Finished",
                "InProgress",
                "Pending",
            ][rng.index(8)];
            let failed = rng.chance(0.06);
            let score = if failed {
                rng.between(10, 49)
            } else {
                100 - ((50.0 * rng.unit() * rng.unit()) as i64)
            };
            let mut e = Map::new();
            e.insert("evaluationId".into(), rng.uuid().into());
            e.insert("evaluationStatus".into(), status.into());
            e.insert("formId".into(), form.id.clone().into());
            e.insert("formName".into(), form.name.clone().into());
            e.insert("contextId".into(), form.context_id.clone().into());
            e.insert("evaluatorId".into(), evaluator.id.clone().into());
            e.insert("assigneeId".into(), evaluator.id.clone().into());
            e.insert("assigneeApplicable".into(), true.into());
            e.insert("userId".into(), agent.id.clone().into());
            if let Some(q) = &queue {
                e.insert("queueId".into(), q.clone().into());
            }
            e.insert(
                "eventTime".into(),
                fmt_time(end + rng.between(DAY, 5 * DAY)).into(),
            );
            e.insert("released".into(), (status == "Finished").into());
            e.insert("rescored".into(), rng.chance(0.03).into());
            e.insert("deleted".into(), false.into());
            e.insert("systemSubmitted".into(), false.into());
            if status == "Finished" {
                e.insert("oTotalScore".into(), score.into());
                e.insert(
                    "oTotalCriticalScore".into(),
                    (if failed && rng.chance(0.5) { 0 } else { 100 }).into(),
                );
            }
            root.insert("evaluations".into(), vec![Value::Object(e)].into());
        }
        if rng.chance(0.087) {
            let form = &self.u.survey_forms[usize::from(!h.voice)];
            let promoter = [10, 10, 9, 9, 9, 8, 8, 7, 7, 6, 5, 3, 0][rng.index(13)];
            let partial = rng.chance(0.1);
            let completed = end + rng.between(2 * MIN, 6 * HOUR);
            let mut s = Map::new();
            s.insert("surveyId".into(), rng.uuid().into());
            s.insert("surveyFormId".into(), form.id.clone().into());
            s.insert("surveyFormName".into(), form.name.clone().into());
            s.insert("surveyFormContextId".into(), form.context_id.clone().into());
            s.insert("surveyStatus".into(), "Finished".into());
            s.insert(
                "surveyType".into(),
                (if h.voice { "Voice" } else { "Web" }).into(),
            );
            s.insert("surveyCompletedDate".into(), fmt_time(completed).into());
            s.insert("eventTime".into(), fmt_time(completed).into());
            s.insert("surveyPartialResponse".into(), partial.into());
            s.insert("surveyPromoterScore".into(), promoter.into());
            let total = (promoter * 10 + rng.between(-8, 8)).clamp(0, 100);
            s.insert("oSurveyTotalScore".into(), total.into());
            s.insert("userId".into(), agent.id.clone().into());
            if let Some(q) = &queue {
                s.insert("queueId".into(), q.clone().into());
            }
            root.insert("surveys".into(), vec![Value::Object(s)].into());
        }
        if rng.chance(0.054) {
            let mut r = Map::new();
            r.insert("eventTime".into(), fmt_time(end + 3 * DAY).into());
            r.insert("userId".into(), agent.id.clone().into());
            if let Some(q) = &queue {
                r.insert("queueId".into(), q.clone().into());
            }
            r.insert("nNextContactAvoided".into(), 1.into());
            root.insert("resolutions".into(), vec![Value::Object(r)].into());
        }
    }

    fn set_divisions(&mut self) {
        let roll = self.rng.unit();
        let mut ids = Vec::new();
        if roll >= 0.02 {
            ids.push(self.u.divisions[self.division].id.clone());
            if roll < 0.07 {
                let other =
                    (self.division + 1 + self.rng.index(DIVISIONS.len() - 1)) % DIVISIONS.len();
                ids.push(self.u.divisions[other].id.clone());
            }
            self.root.push(("divisionIds", ids.into()));
        }
    }
}

/// Cuts a conversation at `now`: what starts later is gone, what runs past it is open, metrics
/// not yet emitted are dropped.
fn truncate(parts: &mut Vec<Part>, now: i64) {
    for p in parts.iter_mut() {
        for s in &mut p.sessions {
            s.segments.retain(|g| g.start < now);
            let mut open = false;
            for g in &mut s.segments {
                if g.end.is_some_and(|e| e > now) {
                    g.end = None;
                    open = true;
                    g.fields.retain(|(k, _)| {
                        !matches!(
                            *k,
                            "disconnectType"
                                | "wrapUpCode"
                                | "wrapUpNote"
                                | "destinationConversationId"
                                | "destinationSessionId"
                                | "sipResponseCodes"
                                | "q850ResponseCodes"
                        )
                    });
                }
            }
            if open {
                s.closing.clear();
            }
            s.metrics.retain(|m| m.emit <= now);
            s.stats.retain(|m| m.event_time <= now);
            if let Some(f) = &mut s.flow {
                f.outcomes.retain(|o| o.start < now);
                for o in &mut f.outcomes {
                    if o.end.is_some_and(|e| e > now) {
                        o.end = None;
                    }
                }
                if open {
                    f.exit.clear();
                }
            }
        }
        p.sessions.retain(|s| !s.segments.is_empty());
    }
    parts.retain(|p| !p.sessions.is_empty());
}

fn fields_into(map: &mut Map<String, Value>, fields: Fields) {
    for (k, v) in fields {
        map.insert(k.to_owned(), v);
    }
}

fn part_value(p: Part) -> Value {
    let mut m = Map::new();
    m.insert("participantId".into(), p.id.into());
    m.insert("participantName".into(), p.name.into());
    m.insert("purpose".into(), p.purpose.into());
    fields_into(&mut m, p.fields);
    let sessions: Vec<Value> = p.sessions.into_iter().map(session_value).collect();
    m.insert("sessions".into(), sessions.into());
    Value::Object(m)
}

fn session_value(s: Sess) -> Value {
    let mut m = Map::new();
    m.insert("sessionId".into(), s.id.into());
    fields_into(&mut m, s.fields);
    fields_into(&mut m, s.closing);
    if let Some(f) = s.flow {
        let mut fm = Map::new();
        fields_into(&mut fm, f.fields);
        fields_into(&mut fm, f.exit);
        if !f.outcomes.is_empty() {
            let outcomes: Vec<Value> = f
                .outcomes
                .into_iter()
                .map(|o| {
                    let mut om = Map::new();
                    om.insert("flowOutcomeId".into(), o.id.into());
                    om.insert("flowOutcome".into(), o.name.into());
                    om.insert("flowOutcomeValue".into(), o.value.into());
                    om.insert("flowOutcomeStartTimestamp".into(), fmt_time(o.start).into());
                    if let Some(e) = o.end {
                        om.insert("flowOutcomeEndTimestamp".into(), fmt_time(e).into());
                    }
                    Value::Object(om)
                })
                .collect();
            fm.insert("outcomes".into(), outcomes.into());
        }
        m.insert("flow".into(), Value::Object(fm));
    }
    if !s.proposed.is_empty() {
        let proposed: Vec<Value> = s
            .proposed
            .into_iter()
            .map(|(id, rank)| serde_json::json!({"proposedAgentId": id, "agentRank": rank}))
            .collect();
        m.insert("proposedAgents".into(), proposed.into());
    }
    if !s.groups.is_empty() {
        let groups: Vec<Value> = s
            .groups
            .into_iter()
            .map(|(id, kind)| serde_json::json!({"agentGroupId": id, "agentGroupType": kind}))
            .collect();
        m.insert("agentGroups".into(), groups.into());
    }
    if !s.stats.is_empty() {
        let stats: Vec<Value> = s
            .stats
            .into_iter()
            .map(|st| {
                serde_json::json!({
                    "codecs": [st.codec],
                    "eventTime": fmt_time(st.event_time),
                    "minMos": st.mos,
                    "minRFactor": st.r_factor,
                    "maxLatencyMs": st.latency,
                    "receivedPackets": st.received,
                    "discardedPackets": st.discarded,
                    "duplicatePackets": st.duplicate,
                })
            })
            .collect();
        m.insert("mediaEndpointStats".into(), stats.into());
    }
    let mut metrics = s.metrics;
    metrics.sort_by_key(|x| x.emit);
    let metrics: Vec<Value> = metrics
        .into_iter()
        .map(|x| {
            let mut mm = Map::new();
            mm.insert("name".into(), x.name.into());
            mm.insert("value".into(), x.value.into());
            mm.insert("emitDate".into(), fmt_time(x.emit).into());
            Value::Object(mm)
        })
        .collect();
    if !metrics.is_empty() {
        m.insert("metrics".into(), metrics.into());
    }
    let segments: Vec<Value> = s
        .segments
        .into_iter()
        .map(|g| {
            let mut gm = Map::new();
            gm.insert("segmentType".into(), g.kind.into());
            gm.insert("segmentStart".into(), fmt_time(g.start).into());
            if let Some(e) = g.end {
                gm.insert("segmentEnd".into(), fmt_time(e).into());
            }
            fields_into(&mut gm, g.fields);
            Value::Object(gm)
        })
        .collect();
    m.insert("segments".into(), segments.into());
    Value::Object(m)
}
