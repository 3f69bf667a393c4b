//! The rows around an agent leg: its workitem, the workitem's conversation session, the agent's
//! states around it, the data its script collected, and the quality evaluation with its answers.

use super::{CustomerView, Feed, Leg, RowB, SegView, WorkitemRef, media_group, secs, whole_secs};
use crate::numerics::{fmt_time, parse_ms};
use crate::universe::{INTENTS, QUEUES};
use crate::{MIN, SEC};
use domain::buzzeasy::Table;
use serde_json::Value;

const BREAK_NAMES: [&str; 4] = ["Coffee", "Lunch", "Training", "Team meeting"];
/// The questions of the evaluation forms ([`EVALUATION_FORMS`](crate::universe::EVALUATION_FORMS) order).
const EVALUATION_QUESTIONS: [&[&str]; 3] = [
    &[
        "Greeting",
        "Identity verified",
        "Empathy",
        "Resolution",
        "Closing",
    ],
    &["Greeting", "Tone", "Accuracy", "Resolution"],
    &[
        "Disclosure read",
        "Consent recorded",
        "Offer explained",
        "No pressure selling",
    ],
];

impl Feed<'_> {
    /// The workitem of an agent leg, with its conversation session, the agent's states around
    /// it and its collected data.
    pub(super) fn workitem<'d>(
        &mut self,
        leg: &Leg<'d>,
        customer: &CustomerView<'_>,
    ) -> Option<WorkitemRef<'d>> {
        let u = self.u;
        let agent_id = leg.user_id()?;
        let agent = u.agent_index(agent_id)?;
        let first = leg.segments.first()?;
        let start = first.start;
        let end = leg.end();
        let queue = leg
            .segments
            .iter()
            .find_map(|s| s.str("queueId"))
            .and_then(|q| u.queue_index(q));
        let (unit, division) = match queue {
            Some(q) => (QUEUES[q].business_unit, QUEUES[q].division),
            None => (u.agent_unit(agent), u.agent_meta[agent].division),
        };
        let connected = leg.segments.iter().any(|s| s.kind != "alert");
        let result = end.map(|_| {
            if connected {
                "Handled"
            } else {
                match leg.segments.last().and_then(|s| s.str("disconnectType")) {
                    Some("client" | "endpoint") => "Rejected",
                    Some("peer") => "Abandoned",
                    _ => "Missed",
                }
            }
        });
        let wrapup = leg.segments.iter().find(|s| s.kind == "wrapup");
        let completion = wrapup
            .filter(|w| w.end.is_some())
            .and_then(|w| w.str("wrapUpCode"))
            .and_then(|code| u.wrap_up_name(code));
        let notes = wrapup.and_then(|w| w.str("wrapUpNote"));
        let media_type = match leg.media {
            "voice" | "callback" => "voice",
            "chat" => "webchat",
            "message" => match leg.str("messageType") {
                Some("whatsapp") => "whatsapp",
                Some("facebook") => "messenger",
                Some("webmessaging") => "webchat",
                Some(other) => other,
                None => "message",
            },
            other => other,
        };
        let voice = media_type == "voice";
        let script = (connected
            && end.is_some()
            && self
                .rng
                .chance(if matches!(division, 1 | 3) { 0.5 } else { 0.08 }))
        .then_some(division);
        let id = self.rng.uuid();
        let closed = |ms: i64| end.map(|_| whole_secs(ms));
        let row = RowB::new()
            .put("id", id.clone())
            .put("agentId", agent_id)
            .put("businessUnitId", u.business_units[unit].id.clone())
            .opt("queueId", queue.map(|q| u.queues[q].id.clone()))
            .put("primaryConversationId", self.id.clone())
            .put(
                "primaryChannelId",
                u.buzz.channel(unit, media_group(leg.media)),
            )
            .put("mediaType", media_type)
            .opt("result", result)
            .opt("completionCode", completion)
            .opt("customerId", customer.contact_id)
            .opt(
                "agentPhoneNumber",
                voice.then(|| format!("+1202555{:04}", 1000 + agent)),
            )
            .opt("notes", notes)
            .opt("scriptId", script.map(|d| u.buzz.scripts[d].clone()))
            .at("startTime", "startTimeUTC", Some(start))
            .at("endTime", "endTimeUTC", end)
            .opt("durationInSeconds", end.map(|e| whole_secs(e - start)))
            .opt(
                "activeDurationInSeconds",
                closed(leg.total(&["interact", "hold", "dialing", "contacting"])),
            )
            .opt("previewDuration", closed(leg.total(&["alert"])))
            .opt("wrapUpDuration", closed(leg.total(&["wrapup"])));
        self.push(Table::Workitems, row);

        // The conversation session: the leg's holds.
        let holds: Vec<&SegView<'_>> = leg.segments.iter().filter(|s| s.kind == "hold").collect();
        let last_active = leg
            .segments
            .iter()
            .rev()
            .find(|s| matches!(s.kind, "interact" | "hold" | "contacting" | "dialing"));
        let ended_reason = end.map(
            |_| match last_active.and_then(|s| s.str("disconnectType")) {
                _ if !connected => "AgentFailedToJoin",
                Some("transfer" | "consultTransfer" | "conferenceTransfer") => "Transferred",
                _ => "ConversationEnded",
            },
        );
        let row = RowB::new()
            .put("id", self.rng.uuid())
            .put("workitemId", id.clone())
            .put("conversationId", self.id.clone())
            .opt("endedReason", ended_reason)
            .put("holdCount", holds.len())
            .put(
                "lastHoldDuration",
                secs(holds.last().map_or(0, |h| h.duration())),
            )
            .put(
                "totalHoldDuration",
                secs(holds.iter().map(|h| h.duration()).sum()),
            );
        self.push(Table::WorkitemConversationSessions, row);

        self.agent_states(agent_id, start, end, result);

        if let (Some(division), Some(last)) = (script, last_active.and_then(|s| s.end)) {
            let outcome = completion.unwrap_or("Resolved - First Contact");
            let follow_up = if self.rng.chance(0.2) { "Yes" } else { "No" };
            let reason = customer.intent.unwrap_or(INTENTS[division][0]);
            for (k, (name, value)) in [
                ("Call reason", reason),
                ("Outcome", outcome),
                ("Follow-up needed", follow_up),
            ]
            .into_iter()
            .enumerate()
            {
                let at = (last - 3 * SEC + k as i64 * SEC).max(start);
                let row = RowB::new()
                    .put("workitemId", id.clone())
                    .put("name", name)
                    .put("value", value)
                    .put("createdAtUtc", fmt_time(at));
                self.push(Table::CollectedData, row);
            }
        }
        Some(WorkitemRef {
            id,
            agent: agent_id,
            start,
            end,
            connected,
        })
    }

    /// The agent's states around a workitem: Idle (available) before it, now and then after a
    /// login; Busy over it; after it, a RONA break when it was missed, now and then a break
    /// or a logout. States are made per workitem, conversation by conversation (so that chunks
    /// can be generated apart): an agent's states around different conversations overlap where
    /// those conversations do, since agents are drawn per conversation.
    fn agent_states(&mut self, agent: &str, start: i64, end: Option<i64>, result: Option<&str>) {
        let state =
            |f: &mut Self, name: &str, from: i64, to: Option<i64>, extra: &dyn Fn(RowB) -> RowB| {
                let row = RowB::new()
                    .put("id", f.rng.uuid())
                    .put("agentID", agent)
                    .put("state", name)
                    .at("startTime", "startTimeUtc", Some(from))
                    .opt("durationInSeconds", to.map(|t| secs(t - from)))
                    .put("isLogin", false)
                    .put("isLogout", false);
                f.push(Table::AgentStates, extra(row));
            };
        let idle = start - self.rng.between(2 * SEC, 90 * SEC);
        if self.rng.chance(0.03) {
            let login = idle - self.rng.between(5 * SEC, 60 * SEC);
            state(self, "Break", login, Some(idle), &|r| {
                r.put("isLogin", true)
            });
        }
        state(self, "Idle", idle, Some(start), &|r| r);
        state(self, "Busy", start, end, &|r| r);
        let Some(end) = end else {
            return;
        };
        if result == Some("Missed") {
            let back = end + self.rng.between(30 * SEC, 2 * MIN);
            state(self, "Break", end, Some(back), &|r| {
                r.put("breakName", "RONA")
            });
        } else if self.rng.chance(0.06) {
            let name = BREAK_NAMES[self.rng.index(BREAK_NAMES.len())];
            let back = end
                + match name {
                    "Lunch" => self.rng.between(20 * MIN, 45 * MIN),
                    "Coffee" => self.rng.between(3 * MIN, 12 * MIN),
                    _ => self.rng.between(15 * MIN, 60 * MIN),
                };
            state(self, "Break", end, Some(back), &|r| {
                r.put("breakName", name)
            });
        } else if self.rng.chance(0.02) {
            let reason = [
                "AgentLogout",
                "AgentLogout",
                "AgentLogout",
                "ConnectionTimeout",
                "ForceLogout",
            ][self.rng.index(5)];
            state(self, "Logged out", end, None, &|r| {
                r.put("isLogout", true).put("logoutReason", reason)
            });
        }
    }

    /// A quality evaluation of the conversation, on the workitem of the agent evaluated.
    pub(super) fn evaluation(&mut self, e: &Value, workitems: &[WorkitemRef<'_>]) {
        let (Some(agent), Some(evaluation_id), Some(event)) = (
            e["userId"].as_str(),
            e["evaluationId"].as_str(),
            e["eventTime"].as_str().and_then(parse_ms),
        ) else {
            return;
        };
        let Some(workitem) = workitems
            .iter()
            .filter(|w| w.agent == agent && w.connected && w.end.is_some())
            .max_by_key(|w| w.start)
        else {
            return;
        };
        let form = e["formId"]
            .as_str()
            .and_then(|f| self.u.evaluation_forms.iter().position(|x| x.id == f))
            .unwrap_or(0);
        let evaluator = e["evaluatorId"].as_str();
        let status = e["evaluationStatus"].as_str().unwrap_or("Finished");
        let started = event - self.rng.between(5 * MIN, 25 * MIN);
        let ended = (status == "Finished").then_some(event);
        let script = self.u.evaluation_forms[form].id.clone();
        let row = RowB::new()
            .put("id", evaluation_id)
            .put("workitemID", workitem.id.clone())
            .opt("createdBy", evaluator)
            .put("scriptID", script.clone())
            .at("startedAt", "startedAtUtc", Some(started))
            .at("endedAt", "endedAtUTC", ended);
        self.push(Table::WorkitemEvaluations, row);
        let questions = EVALUATION_QUESTIONS[form];
        let answered = match status {
            "Finished" => questions.len(),
            "InProgress" => 2.min(questions.len()),
            _ => 0,
        };
        let score = e["oTotalScore"].as_i64();
        let good = score.map_or(0.85, |s| s as f64 / 100.0);
        let mut answers: Vec<(&str, String)> = Vec::new();
        for q in &questions[..answered] {
            let roll = self.rng.unit();
            let value = if roll < good {
                "Yes"
            } else if roll < good + (1.0 - good) / 2.0 {
                "Partially"
            } else {
                "No"
            };
            answers.push((*q, value.to_owned()));
        }
        if let (Some(score), true) = (score, status == "Finished") {
            answers.push(("Total score", score.to_string()));
        }
        for (k, (name, value)) in answers.into_iter().enumerate() {
            let at = started + (k as i64 + 1) * 30 * SEC;
            let row = RowB::new()
                .put("id", self.rng.uuid())
                .put("workitemId", workitem.id.clone())
                .put("evaluationID", evaluation_id)
                .put("name", name)
                .put("value", value)
                .put("scriptID", script.clone())
                .opt("createdBy", evaluator)
                .at("createdAt", "createdAtUTC", Some(at));
            self.push(Table::WorkitemEvaluationData, row);
        }
    }
}
