//! The parts the scenarios build conversations from: participants and sessions, talk and hold
//! phases, wrap-ups and media statistics, the IVR or routing flow, the queue leg, an agent's
//! session with the metrics its segments give, and the customer's side of a call.

use super::{
    Conv, Customer, FlowDoc, FlowOutcome, Met, Part, QueueExit, SHORT_ABANDON_MS, Seg, Sess, Stat,
    met,
};
use crate::numerics::{exp, ln};
use crate::universe::FLOW_OUTCOMES;
use crate::{HOUR, MIN, SEC};

impl Conv<'_> {
    // --- small builders ----------------------------------------------------------------------

    pub(super) fn participant(&mut self, purpose: &'static str, name: String) -> Part {
        Part {
            id: self.rng.uuid(),
            purpose,
            name,
            fields: Vec::new(),
            sessions: Vec::new(),
        }
    }

    pub(super) fn session(&mut self, media: &'static str, direction: &'static str) -> Sess {
        Sess {
            id: self.rng.uuid(),
            fields: vec![("mediaType", media.into()), ("direction", direction.into())],
            closing: Vec::new(),
            segments: Vec::new(),
            metrics: Vec::new(),
            flow: None,
            proposed: Vec::new(),
            stats: Vec::new(),
            groups: Vec::new(),
        }
    }

    pub(super) fn customer_participant(&mut self, c: &Customer, purpose: &'static str) -> Part {
        let mut p = self.participant(purpose, c.name.clone());
        if let Some(contact) = &c.contact_id {
            p.fields.push(("externalContactId", contact.clone().into()));
        }
        p
    }

    pub(super) fn agent_participant(&mut self, agent: usize) -> Part {
        let a = &self.u.agents[agent];
        let mut p = self.participant("agent", a.name.clone());
        p.fields.push(("userId", a.id.clone().into()));
        p.fields.push(("teamId", a.team_id.clone().into()));
        p
    }

    pub(super) fn hex(&mut self, digits: usize) -> String {
        let mut s = String::with_capacity(digits);
        while s.len() < digits {
            s.push_str(&format!("{:016x}", self.rng.next_u64()));
        }
        s.truncate(digits);
        s
    }

    pub(super) fn voice_fields(&mut self, s: &mut Sess, ani: &str, dnis: &str) {
        s.set("ani", ani);
        s.set("dnis", dnis);
        s.set("provider", "Edge");
        let edge = self.u.edges[self.rng.index(self.u.edges.len())].clone();
        s.set("edgeId", edge);
    }

    pub(super) fn lognormal(&mut self, median: f64, sigma: f64, lo: i64, hi: i64) -> i64 {
        let v = median * exp(sigma * self.rng.normal());
        (v as i64).clamp(lo, hi)
    }

    pub(super) fn exponential(&mut self, mean: f64, lo: i64, hi: i64) -> i64 {
        let v = -mean * ln(1.0 - self.rng.unit());
        (v as i64).clamp(lo, hi)
    }

    pub(super) fn alert_ms(&mut self, voice: bool) -> i64 {
        if voice {
            self.rng.between(2 * SEC, 10 * SEC)
        } else {
            self.rng.between(3 * SEC, 20 * SEC)
        }
    }

    fn acw_ms(&mut self, media: &str) -> i64 {
        let median = match media {
            "email" => 90.0,
            "chat" | "message" => 40.0,
            _ => 25.0,
        };
        self.lognormal(median * SEC as f64, 0.7, 2 * SEC, 15 * MIN)
    }

    pub(super) fn hold_count(&mut self) -> usize {
        [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0][self.rng.index(20)]
    }

    /// Talking from `t` for `talk` ms in all, with `holds` holds in between: the interact and
    /// hold segments, the hold intervals (for the customer's side) and the end.
    pub(super) fn talk_phase(
        &mut self,
        t: i64,
        talk: i64,
        holds: usize,
    ) -> (Vec<Seg>, Vec<(i64, i64)>, i64) {
        const MIN_CHUNK: i64 = 5 * SEC;
        let holds = holds.min(usize::try_from(talk / (2 * MIN_CHUNK)).unwrap_or(0));
        let chunks = holds + 1;
        let spare = talk - MIN_CHUNK * chunks as i64;
        let weights: Vec<f64> = (0..chunks).map(|_| 0.3 + self.rng.unit()).collect();
        let total: f64 = weights.iter().sum();
        let mut segments = Vec::new();
        let mut hold_spans = Vec::new();
        let mut at = t;
        let mut used = 0;
        for (k, w) in weights.iter().enumerate() {
            let len = if k + 1 == chunks {
                talk - used
            } else {
                MIN_CHUNK + (spare as f64 * w / total) as i64
            };
            used += len;
            segments.push(Seg::new("interact", at, at + len));
            at += len;
            if k + 1 < chunks {
                let hold = self.lognormal(40.0 * SEC as f64, 0.7, 5 * SEC, 15 * MIN);
                segments.push(Seg::new("hold", at, at + hold));
                hold_spans.push((at, at + hold));
                at += hold;
            }
        }
        (segments, hold_spans, at)
    }

    pub(super) fn talk_ms(&mut self, agent: usize, median_secs: f64, sigma: f64, hi: i64) -> i64 {
        let pace = self.u.agent_meta[agent].pace;
        self.lognormal(median_secs * SEC as f64 * pace, sigma, 20 * SEC, hi)
    }

    /// Who hangs up: (disconnectType of the agent's last segment, of the customer's).
    pub(super) fn hang_up(&mut self) -> (&'static str, &'static str) {
        if self.rng.chance(0.7) {
            ("peer", "endpoint")
        } else {
            ("client", "peer")
        }
    }

    pub(super) fn wrapup(&mut self, start: i64, media: &str, code: Option<String>) -> Seg {
        let acw = self.acw_ms(media);
        let code = code.unwrap_or_else(|| self.u.wrap_up(&mut self.rng, self.division));
        let mut seg = Seg::new("wrapup", start, start + acw).with("wrapUpCode", code);
        if self.rng.chance(0.15) {
            seg.set("wrapUpNote", "Customer asked for a written confirmation.");
        }
        seg
    }

    pub(super) fn queue_id(&self, q: usize) -> String {
        self.u.queues[q].id.clone()
    }

    /// A media endpoint statistic for a voice session active from `start` to `end`.
    fn endpoint_stat(&mut self, start: i64, end: i64) -> Stat {
        let bad = self.rng.chance(0.05);
        let mos = if bad {
            2.6 + 1.0 * self.rng.unit()
        } else {
            3.9 + 0.5 * self.rng.unit()
        };
        let mos = (mos * 100.0).floor() / 100.0;
        let r_factor =
            ((50.0 + (mos - 2.5) * 20.0 + 2.0 * self.rng.unit()) * 100.0).floor() / 100.0;
        let received = (end - start).max(0) / 20;
        Stat {
            codec: if self.rng.chance(0.6) {
                "audio/opus"
            } else {
                "audio/PCMU"
            },
            event_time: end,
            mos,
            r_factor,
            latency: if bad {
                self.rng.between(150, 600)
            } else {
                self.rng.between(15, 120)
            },
            received,
            discarded: if bad {
                received / 50
            } else {
                self.rng.between(0, 20)
            },
            duplicate: self.rng.between(0, 3),
        }
    }

    pub(super) fn add_voice_stat(&mut self, s: &mut Sess) {
        let active: Vec<&Seg> = s
            .segments
            .iter()
            .filter(|g| matches!(g.kind, "interact" | "hold"))
            .collect();
        if let (Some(first), Some(last)) = (active.first(), active.last()) {
            let (start, end) = (first.start, last.end.unwrap_or(first.start));
            let stat = self.endpoint_stat(start, end);
            s.stats.push(stat);
        }
    }

    // --- participants shared by the scenarios ------------------------------------------------

    /// The IVR (voice) or routing flow (digital) the customer enters first, from `t0` to `t1`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn flow_participant(
        &mut self,
        flow: usize,
        media: &'static str,
        peer: &str,
        t0: i64,
        t1: i64,
        queue: usize,
        voice: Option<(&str, &str)>,
    ) -> Part {
        let f = &self.u.flows[flow];
        let (flow_id, flow_name, flow_type) = (f.id.clone(), f.name.clone(), f.flow_type.clone());
        let version = self.u.flow_versions[flow].clone();
        let purpose = if voice.is_some() { "ivr" } else { "workflow" };
        let mut p = self.participant(purpose, flow_name.clone());
        let mut s = self.session(media, "inbound");
        if let Some((ani, dnis)) = voice {
            self.voice_fields(&mut s, ani, dnis);
        }
        s.set("peerId", peer);
        let segment_type = if voice.is_some() { "ivr" } else { "interact" };
        s.segments
            .push(Seg::new(segment_type, t0, t1).with("disconnectType", "transfer"));
        let (entry_type, entry_reason) = match voice {
            Some((_, dnis)) => ("dnis", dnis.to_owned()),
            None => ("direct", media.to_owned()),
        };
        let mut outcomes = Vec::new();
        if voice.is_some() && t1 - t0 > 4 * SEC {
            let n = 1 + self.rng.index(3);
            let span = (t1 - t0 - 2 * SEC) / n as i64;
            let mut pool: Vec<usize> = (0..FLOW_OUTCOMES.len()).collect();
            for k in 0..n {
                let o = pool.remove(self.rng.index(pool.len()));
                let start = t0 + SEC + span * k as i64;
                let end = start + self.rng.between(span / 3, span);
                let failed = self.rng.chance(0.12);
                outcomes.push(FlowOutcome {
                    id: self.u.flow_outcomes[o].clone(),
                    name: FLOW_OUTCOMES[o].to_owned(),
                    value: if failed { "FAILURE" } else { "SUCCESS" },
                    start,
                    end: Some(end),
                });
            }
        }
        let queue_name = self.u.queues[queue].name.clone();
        let queue_id = self.queue_id(queue);
        s.flow = Some(FlowDoc {
            fields: vec![
                ("flowId", flow_id.into()),
                ("flowName", flow_name.into()),
                ("flowType", flow_type.into()),
                ("flowVersion", version.into()),
                ("entryType", entry_type.into()),
                ("entryReason", entry_reason.into()),
                ("startingLanguage", "en-us".into()),
            ],
            exit: vec![
                ("exitReason", "TRANSFER".into()),
                ("transferType", "ACD".into()),
                ("transferTargetName", queue_name.into()),
                ("transferTargetAddress", queue_id.into()),
                ("endingLanguage", "en-us".into()),
            ],
            outcomes: Vec::new(),
        });
        s.metrics.push(met("nFlow", 1, t0));
        for o in &outcomes {
            let end = o.end.unwrap_or(o.start);
            s.metrics.push(met("nFlowOutcome", 1, end));
            s.metrics.push(met("tFlowOutcome", end - o.start, end));
            if o.value == "FAILURE" {
                s.metrics.push(met("nFlowOutcomeFailed", 1, end));
            }
        }
        if voice.is_some() {
            s.metrics.push(met("tIvr", t1 - t0, t1));
        }
        s.metrics.push(met("tFlow", t1 - t0, t1));
        s.metrics.push(met("tFlowExit", t1 - t0, t1));
        if let Some(f) = s.flow.as_mut() {
            f.outcomes = outcomes;
        }
        p.sessions.push(s);
        p
    }

    /// The queue leg, from `t1` (entering the queue) to `t2` (answered, abandoned or flowed
    /// out).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn acd_participant(
        &mut self,
        queue: usize,
        media: &'static str,
        direction: &'static str,
        peer: &str,
        t1: i64,
        t2: i64,
        exit: QueueExit,
        voice: Option<(&str, &str)>,
    ) -> Part {
        let answered_by = match exit {
            QueueExit::Answered(agent) => Some(agent),
            QueueExit::Abandoned | QueueExit::FlowedOut => None,
        };
        let name = self.u.queues[queue].name.clone();
        let mut p = self.participant("acd", name);
        let mut s = self.session(media, direction);
        if let Some((ani, dnis)) = voice {
            self.voice_fields(&mut s, ani, dnis);
        }
        s.set("peerId", peer);
        let division = self.u.queue_meta[queue].division;
        let mut seg = Seg::new("interact", t1, t2).with("queueId", self.queue_id(queue));
        if self.u.queue_meta[queue].predictive && self.rng.chance(0.8) {
            s.set("requestedRoutings", vec!["Predictive"]);
            s.set("usedRouting", "Predictive");
            let n = 3 + self.rng.index(3);
            let mut proposed: Vec<usize> = Vec::new();
            if let Some(a) = answered_by {
                proposed.push(a);
            }
            while proposed.len() < n {
                let a = self.u.pick_agent(&mut self.rng, division, None);
                if !proposed.contains(&a) {
                    proposed.push(a);
                }
            }
            // Shuffle, so the selected agent is not always ranked first.
            for k in (1..proposed.len()).rev() {
                let j = self.rng.index(k + 1);
                proposed.swap(k, j);
            }
            let mut scored = Vec::new();
            for (rank, a) in proposed.iter().enumerate() {
                let id = self.u.agents[*a].id.clone();
                s.proposed.push((id.clone(), rank as i64 + 1));
                let score = 95 - 10 * rank as i64 - self.rng.between(0, 8);
                scored.push(serde_json::json!({"scoredAgentId": id, "agentScore": score}));
                if Some(*a) == answered_by {
                    s.closing.push(("selectedAgentId", id.into()));
                    s.closing
                        .push(("selectedAgentRank", (rank as i64 + 1).into()));
                }
            }
            seg.set("scoredAgents", scored);
        } else if self.rng.chance(0.3) {
            s.set("requestedRoutings", vec!["Bullseye"]);
            s.set("usedRouting", "Bullseye");
            s.closing
                .push(("agentBullseyeRing", (1 + self.rng.below(3) as i64).into()));
        } else {
            s.set("requestedRoutings", vec!["Standard"]);
            s.set("usedRouting", "Standard");
        }
        let wait = t2 - t1;
        s.metrics.push(met("nOffered", 1, t1));
        s.metrics.push(met("tAcd", wait, t2));
        match exit {
            QueueExit::Abandoned => {
                seg.set("disconnectType", "peer");
                s.metrics.push(met("tAbandon", wait, t2));
                if wait < SHORT_ABANDON_MS {
                    s.metrics.push(met("tShortAbandon", wait, t2));
                }
            }
            QueueExit::FlowedOut => {
                seg.set("disconnectType", "transfer");
                s.metrics.push(met("tFlowOut", wait, t2));
            }
            QueueExit::Answered(_) => {
                seg.set("disconnectType", "transfer");
                if wait > sla_ms(media) {
                    s.metrics.push(met("nOverSla", 1, t2));
                }
            }
        }
        s.segments.push(seg);
        p.sessions.push(s);
        p
    }

    /// An agent's session from its segments: metrics derived from them, queue on every segment.
    pub(super) fn agent_session(
        &mut self,
        agent: usize,
        mut s: Sess,
        mut segments: Vec<Seg>,
        queue: Option<usize>,
        queue_entry: Option<i64>,
    ) -> Sess {
        if let Some(q) = queue {
            let id = self.queue_id(q);
            for seg in &mut segments {
                seg.set("queueId", id.clone());
            }
            let team = &self.u.teams[self.u.agent_meta[agent].team];
            s.groups.push((team.id.clone(), "Team"));
        }
        s.metrics.extend(agent_metrics(&segments, queue_entry));
        s.segments = segments;
        s
    }

    pub(super) fn customer_session_segments(
        &mut self,
        start: i64,
        end: i64,
        holds: &[(i64, i64)],
        conference: Option<(i64, i64)>,
        disconnect: &'static str,
    ) -> Vec<Seg> {
        let mut points = vec![start, end];
        for (a, b) in holds.iter().copied().chain(conference) {
            points.push(a.clamp(start, end));
            points.push(b.clamp(start, end));
        }
        points.sort_unstable();
        points.dedup();
        let mut out: Vec<Seg> = Vec::new();
        for w in points.windows(2) {
            let (a, b) = (w[0], w[1]);
            let held = holds.iter().any(|(h0, h1)| *h0 <= a && b <= *h1);
            let conf = conference.is_some_and(|(c0, c1)| c0 <= a && b <= c1);
            let kind = if held { "hold" } else { "interact" };
            match out.last_mut() {
                Some(last)
                    if last.kind == kind
                        && last.fields.iter().any(|(k, _)| *k == "conference") == conf =>
                {
                    last.end = Some(b);
                }
                _ => {
                    let mut seg = Seg::new(kind, a, b);
                    if conf {
                        seg.set("conference", true);
                    }
                    out.push(seg);
                }
            }
        }
        if let Some(last) = out.last_mut() {
            last.set("disconnectType", disconnect);
        }
        out
    }
}

fn sla_ms(media: &str) -> i64 {
    match media {
        "voice" => 20 * SEC,
        "chat" => 30 * SEC,
        "message" => 2 * MIN,
        "callback" => 10 * MIN,
        _ => 4 * HOUR,
    }
}

/// The metrics of an agent session, from its segments.
fn agent_metrics(segments: &[Seg], queue_entry: Option<i64>) -> Vec<Met> {
    let connected = segments.iter().any(|s| s.kind == "interact");
    let mut out = Vec::new();
    let (mut talk, mut held, mut last_active) = (0, 0, None);
    let mut acw = None;
    for s in segments {
        let Some(end) = s.end else { continue };
        let d = end - s.start;
        match s.kind {
            "alert" if connected => {
                out.push(met("tAlert", d, end));
                if let Some(q) = queue_entry {
                    out.push(met("tAnswered", end - q, end));
                }
            }
            "alert" => out.push(met("tNotResponding", d, end)),
            "dialing" => out.push(met("tDialing", d, end)),
            "contacting" => out.push(met("tContacting", d, end)),
            "interact" => {
                if talk == 0 && last_active.is_none() {
                    out.push(met("nConnected", 1, s.start));
                }
                out.push(met("tTalk", d, end));
                talk += d;
                last_active = Some(end);
            }
            "hold" => {
                out.push(met("tHeld", d, end));
                held += d;
                last_active = Some(end);
            }
            "wrapup" => {
                out.push(met("tAcw", d, end));
                acw = Some((d, end));
            }
            _ => {}
        }
    }
    if let Some(t) = last_active {
        out.push(met("tTalkComplete", talk, t));
        if held > 0 {
            out.push(met("tHeldComplete", held, t));
        }
        if let Some((a, e)) = acw {
            out.push(met("tHandle", talk + held + a, e));
        }
    }
    out
}
