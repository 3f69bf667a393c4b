//! The rows of a conversation's way to an agent: the bot segments of its IVR or routing flow and
//! the data they captured, its queue segments and the queues that refused it.

use super::lookups::{IVR_VIP_MATCH, IVR_WELCOME};
use super::{CustomerView, Feed, Leg, RowB, media_group, secs};
use crate::SEC;
use crate::numerics::{fmt_time, parse_ms};
use crate::universe::{FLOW_OUTCOMES, FLOWS, INTENTS, QUEUES};
use domain::buzzeasy::Table;

const REJECT_REASONS: [(&str, u32); 5] = [
    ("NoAvailableStaffedAgent", 40),
    ("QueueSizeLimitReached", 25),
    ("EstimatedWaitTimeLimitReached", 20),
    ("NoStaffedAgentLoggedIn", 10),
    ("NoAgentLoggedIn", 5),
];

impl Feed<'_> {
    /// A bot segment from `start` to `end` (open when `None`) in bot step `step`.
    #[allow(clippy::too_many_arguments)]
    fn bot_segment(
        &mut self,
        step: usize,
        channel: &str,
        start: i64,
        end: Option<i64>,
        success: bool,
        division: usize,
        customer: &CustomerView<'_>,
    ) {
        let b = &self.u.buzz;
        let bot_type = b.bot_steps[step].bot_type;
        let intent = customer.intent.unwrap_or("general question");
        let some = |s: &str| Some(s.to_owned());
        // (botFinishedInfo, botFinishedResult, botInfo), as the feed describes them per type.
        let same = |s: &str| (some(s), some(s), some(s));
        let (info, result, bot_info) = match (bot_type, success) {
            ("identifyCustomer", true) => (some("byPhone"), some("success"), some("success")),
            ("identifyCustomer", false) => same("invalid"),
            ("question", true) => {
                let digit = (1 + self.rng.below(9)).to_string();
                (Some(digit), some("success"), some("success"))
            }
            // The menu digit of the intent the caller gave.
            ("autoAttendant", true) => same(
                &INTENTS[division]
                    .iter()
                    .position(|i| *i == intent)
                    .map_or(0, |p| p + 1)
                    .to_string(),
            ),
            ("question" | "autoAttendant" | "menuSelection", false) => {
                (None, some("retry exhausted"), some("retry exhausted"))
            }
            ("customBot", true) => (some("self-service completed"), some("finished"), None),
            ("customBot", false) => (some("handover to agent"), some("finished"), None),
            ("menuSelection", true) => same(match customer.language {
                Some("en-us") | None => "English",
                Some(_) => "Other",
            }),
            ("matchAni", _) => same(if success { "VIP" } else { "no match" }),
            ("qna", _) => (
                some("exitQuestion"),
                some("exitQuestion"),
                Some(b.qna_config.clone()),
            ),
            ("customerIntentEvaluator", _) => (
                Some(format!("subject:{intent}")),
                some(intent),
                some(intent),
            ),
            ("sendEmailReply", _) => (some("sent"), some("sent"), None),
            _ => (None, some("finished"), None),
        };
        let closed = end.is_some();
        let failed = closed && self.rng.chance(0.005);
        let id = self.rng.uuid();
        let row = RowB::new()
            .put("id", id)
            .put("conversationID", self.id.clone())
            .put("botStepId", b.bot_steps[step].id.clone())
            .put("channelId", channel)
            .opt("botFinishedInfo", info.filter(|_| closed))
            .opt("botFinishedResult", result.filter(|_| closed))
            .opt("botInfo", bot_info.filter(|_| closed))
            .opt(
                "result",
                closed.then_some(if failed { "Failed" } else { "Success" }),
            )
            .at("startedAt", "startedAtUTC", Some(start))
            .at("endedAt", "endedAtUTC", end)
            .opt("durationInSeconds", end.map(|e| secs(e - start)));
        self.push(Table::BotSegments, row);
    }

    /// The bot segments of an IVR or routing-flow leg, and the data it captured.
    pub(super) fn bot_segments(
        &mut self,
        leg: &Leg<'_>,
        channel: &str,
        division: usize,
        customer: &CustomerView<'_>,
    ) {
        let Some(seg) = leg.segments.first() else {
            return;
        };
        let flow = leg.session.get("flow");
        let flow_id = flow.and_then(|f| f["flowId"].as_str());
        let Some(flow_index) = flow_id.and_then(|id| self.u.flows.iter().position(|f| f.id == id))
        else {
            return;
        };
        let steps = self.u.buzz.flow_steps[flow_index].clone();
        let (t0, t1) = (seg.start, seg.end);
        match FLOWS[flow_index].1 {
            "INBOUNDCALL" => {
                let outcomes: Vec<(usize, bool, i64, Option<i64>)> = flow
                    .and_then(|f| f["outcomes"].as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|o| {
                        let name = o["flowOutcome"].as_str()?;
                        let k = FLOW_OUTCOMES.iter().position(|n| *n == name)?;
                        let start = parse_ms(o["flowOutcomeStartTimestamp"].as_str()?)?;
                        let end = o["flowOutcomeEndTimestamp"].as_str().and_then(parse_ms);
                        let success = o["flowOutcomeValue"].as_str() != Some("FAILURE");
                        Some((k, success, start, end))
                    })
                    .collect();
                // The greeting takes the first second (the outcomes start after it); some
                // callers' numbers are matched against the VIP list at its end.
                let greeted = t1.is_some() || !outcomes.is_empty();
                let greeting_end = greeted.then(|| (t0 + SEC).min(t1.unwrap_or(t0 + SEC)));
                match greeting_end {
                    Some(e) if e - t0 >= SEC && self.rng.chance(0.15) => {
                        let vip = self.rng.chance(0.1);
                        let split = t0 + 600;
                        self.bot_segment(
                            steps[IVR_WELCOME],
                            channel,
                            t0,
                            Some(split),
                            true,
                            division,
                            customer,
                        );
                        self.bot_segment(
                            steps[IVR_VIP_MATCH],
                            channel,
                            split,
                            Some(e),
                            vip,
                            division,
                            customer,
                        );
                    }
                    e => {
                        self.bot_segment(
                            steps[IVR_WELCOME],
                            channel,
                            t0,
                            e,
                            true,
                            division,
                            customer,
                        );
                    }
                }
                let mut captured_intent = None;
                let mut captured_language = None;
                for (k, success, start, end) in outcomes {
                    self.bot_segment(
                        steps[k + 1],
                        channel,
                        start,
                        end,
                        success,
                        division,
                        customer,
                    );
                    match FLOW_OUTCOMES[k] {
                        "Intent Captured" => captured_intent = end,
                        "Language Selected" => captured_language = end,
                        _ => {}
                    }
                }
                if let Some(at) = captured_intent.or(t1)
                    && let Some(intent) = customer.intent
                {
                    self.captured("Intent", intent, at);
                }
                if let (Some(at), Some(language)) = (captured_language, customer.language) {
                    self.captured("Language", language, at);
                }
            }
            "INBOUNDEMAIL" => {
                let mid = t1.map(|e| t0 + (e - t0) / 2);
                self.bot_segment(steps[0], channel, t0, mid, true, division, customer);
                if let (Some(mid), Some(end)) = (mid, t1) {
                    self.bot_segment(steps[1], channel, mid, Some(end), true, division, customer);
                    if let Some(intent) = customer.intent {
                        self.captured("Subject category", intent, mid);
                    }
                }
            }
            _ => match t1 {
                Some(end) if self.rng.chance(0.2) => {
                    let mid = t0 + (end - t0) / 2;
                    self.bot_segment(steps[0], channel, t0, Some(mid), true, division, customer);
                    self.bot_segment(steps[1], channel, mid, Some(end), true, division, customer);
                }
                end => self.bot_segment(steps[0], channel, t0, end, true, division, customer),
            },
        }
    }

    fn captured(&mut self, name: &str, value: &str, at: i64) {
        let row = RowB::new()
            .put("ConversationId", self.id.clone())
            .put("name", name)
            .put("value", value)
            .put("TimestampUtc", fmt_time(at));
        self.push(Table::CapturedData, row);
    }

    /// The queue segment of a queue leg; before the first, now and then a queue that refused
    /// the conversation.
    pub(super) fn queue_segments(&mut self, leg: &Leg<'_>, first: bool, start: i64, channel: &str) {
        for seg in leg.segments.iter().filter(|s| s.kind == "interact") {
            let Some(q) = seg.str("queueId").and_then(|q| self.u.queue_index(q)) else {
                continue;
            };
            let room = seg.start - start;
            if first && room >= 400 && self.rng.chance(0.04) {
                let spec = &QUEUES[q];
                let others: Vec<usize> = QUEUES
                    .iter()
                    .enumerate()
                    .filter(|(i, o)| {
                        *i != q && o.division == spec.division && o.media.contains(&leg.media)
                    })
                    .map(|(i, _)| i)
                    .collect();
                let refusing = if others.is_empty() {
                    q
                } else {
                    others[self.rng.index(others.len())]
                };
                let weights: Vec<u32> = REJECT_REASONS.iter().map(|(_, w)| *w).collect();
                let reason = REJECT_REASONS[self.rng.weighted(&weights)].0;
                let at = seg.start - self.rng.between(200, (5 * SEC).min(room / 2));
                let row = RowB::new()
                    .put("id", self.rng.uuid())
                    .put("conversationId", self.id.clone())
                    .put("queueId", self.u.queues[refusing].id.clone())
                    .put("channelId", channel)
                    .at("rejectedAt", "rejectedAtUTC", Some(at))
                    .put("rejectReason", reason);
                self.push(Table::RejectedEnqueueAttempts, row);
            }
            let reason = match (seg.end, seg.str("disconnectType")) {
                (None, _) => None,
                (Some(_), Some("peer")) => Some("CustomerDisconnected"),
                (Some(_), _) if leg.emitted("tFlowOut") => Some("QueueTimedOut"),
                (Some(_), _) => Some("AgentConnected"),
            };
            let row = RowB::new()
                .put("conversationId", self.id.clone())
                .put("queueId", self.u.queues[q].id.clone())
                .put(
                    "channelId",
                    self.u
                        .buzz
                        .channel(QUEUES[q].business_unit, media_group(leg.media)),
                )
                .at("queuedAt", "queuedAtUTC", Some(seg.start))
                .at("dequeuedAt", "dequeuedAtUTC", seg.end)
                .opt("durationInSeconds", seg.end.map(|e| secs(e - seg.start)))
                .opt("dequeuedReason", reason);
            self.push(Table::QueueSegments, row);
        }
    }
}
