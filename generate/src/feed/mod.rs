//! The same contact center seen through Buzzeasy's OData feed (`seeds/buzzeasy-odata.txt`): the
//! lookups once per universe ([`Generator::lookups`]) and, per conversation, the rows around it
//! ([`Generator::feed`]), read off the conversation document itself so that they agree with it:
//! a workitem per agent leg, its session with the leg's holds, a queue segment per queue leg,
//! bot segments per IVR / routing-flow leg, Busy agent states over every workitem, evaluations
//! where the conversation has them, campaign records behind campaign calls and callbacks.
//! Rows are in the source shape (the feed's own keys), local times always with their UTC twin.

mod campaigns;
mod lookups;
mod routing;
mod workitems;

pub(crate) use lookups::BuzzWorld;

use crate::numerics::{Rng, fmt_local, fmt_time, mix64, parse_ms};
use crate::universe::{QUEUES, Universe};
use crate::{Generator, SALT_FEED};
use domain::buzzeasy::Table;
use serde_json::{Map, Value};

/// The tenant's time zone: the feed's local times (`startTime`, `queuedAt`, …) are its wall
/// clock (central European time, clocks moving on the EU's days), always sent beside their UTC
/// twin.
pub const TENANT_TIME_ZONE: &str = "Europe/Budapest";

/// Channel media groups: (Genesys media, channel type, bot-step media group). Callbacks go
/// through the voice channel.
const MEDIA_GROUPS: [(&str, &str, &str); 4] = [
    ("voice", "Voice", "Voice"),
    ("chat", "Webchat", "Chat"),
    ("email", "Email", "Email"),
    ("message", "Messaging", "Chat"),
];

fn media_group(media: &str) -> usize {
    match media {
        "chat" => 1,
        "email" => 2,
        "message" => 3,
        _ => 0,
    }
}

/// A row of the feed being built: the source's keys, in the source's spelling.
struct RowB(Map<String, Value>);

impl RowB {
    fn new() -> Self {
        Self(Map::new())
    }

    fn put(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.insert(key.to_owned(), value.into());
        self
    }

    fn opt<V: Into<Value>>(self, key: &str, value: Option<V>) -> Self {
        match value {
            Some(v) => self.put(key, v),
            None => self,
        }
    }

    /// A time as the feed sends it: the tenant's wall clock under `local`, UTC under `utc`.
    fn at(self, local: &str, utc: &str, ms: Option<i64>) -> Self {
        match ms {
            Some(ms) => self.put(local, fmt_local(ms)).put(utc, fmt_time(ms)),
            None => self,
        }
    }

    fn done(self) -> Value {
        Value::Object(self.0)
    }
}

/// Milliseconds as seconds (to the millisecond).
fn secs(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// Milliseconds as whole seconds, rounded half up (the workitem durations are "rounded to
/// seconds").
fn whole_secs(ms: i64) -> i64 {
    (ms + 500).div_euclid(1000)
}

/// One segment of the conversation document.
struct SegView<'d> {
    kind: &'d str,
    start: i64,
    end: Option<i64>,
    fields: &'d Map<String, Value>,
}

impl<'d> SegView<'d> {
    fn str(&self, key: &str) -> Option<&'d str> {
        self.fields.get(key).and_then(Value::as_str)
    }

    fn duration(&self) -> i64 {
        self.end.map_or(0, |e| e - self.start)
    }
}

/// One session of the conversation document, with its participant.
struct Leg<'d> {
    purpose: &'d str,
    participant: &'d Map<String, Value>,
    session: &'d Map<String, Value>,
    media: &'d str,
    segments: Vec<SegView<'d>>,
}

impl<'d> Leg<'d> {
    fn str(&self, key: &str) -> Option<&'d str> {
        self.session.get(key).and_then(Value::as_str)
    }

    fn user_id(&self) -> Option<&'d str> {
        self.participant.get("userId").and_then(Value::as_str)
    }

    /// Whether the session emitted the metric `name`.
    fn emitted(&self, name: &str) -> bool {
        self.session
            .get("metrics")
            .and_then(Value::as_array)
            .is_some_and(|ms| ms.iter().any(|m| m["name"] == name))
    }

    /// The end of the leg: its last segment's, unless that one is still open.
    fn end(&self) -> Option<i64> {
        self.segments.last().and_then(|s| s.end)
    }

    fn total(&self, kinds: &[&str]) -> i64 {
        self.segments
            .iter()
            .filter(|s| kinds.contains(&s.kind))
            .map(SegView::duration)
            .sum()
    }
}

fn legs(doc: &Value) -> Vec<Leg<'_>> {
    let mut out = Vec::new();
    for p in doc["participants"].as_array().into_iter().flatten() {
        let Some(participant) = p.as_object() else {
            continue;
        };
        let purpose = participant
            .get("purpose")
            .and_then(Value::as_str)
            .unwrap_or_default();
        for s in participant
            .get("sessions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(session) = s.as_object() else {
                continue;
            };
            let segments = session
                .get("segments")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_object)
                .filter_map(|g| {
                    let start = parse_ms(g.get("segmentStart")?.as_str()?)?;
                    Some(SegView {
                        kind: g.get("segmentType")?.as_str()?,
                        start,
                        end: g
                            .get("segmentEnd")
                            .and_then(Value::as_str)
                            .and_then(parse_ms),
                        fields: g,
                    })
                })
                .collect();
            out.push(Leg {
                purpose,
                participant,
                session,
                media: session
                    .get("mediaType")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
                segments,
            });
        }
    }
    out
}

/// A workitem built for the conversation, for the rows that point at it.
struct WorkitemRef<'d> {
    id: String,
    agent: &'d str,
    start: i64,
    end: Option<i64>,
    connected: bool,
}

/// The customer of a conversation, as its document names it.
#[derive(Default)]
struct CustomerView<'d> {
    first_name: Option<&'d str>,
    last_name: Option<&'d str>,
    contact_id: Option<&'d str>,
    intent: Option<&'d str>,
    language: Option<&'d str>,
}

/// Builds the feed rows of one conversation.
struct Feed<'g> {
    u: &'g Universe,
    rng: Rng,
    id: String,
    rows: Vec<(Table, Value)>,
}

impl Generator {
    /// The feed rows around the i-th conversation (see [`Generator::feed_of`]).
    pub fn feed(&self, i: u64) -> Vec<(Table, Value)> {
        self.feed_of(i, &self.conversation(i))
    }

    /// The feed rows around the i-th conversation, read off its document (`conversation`,
    /// what [`Generator::conversation`] gives for `i`): a pure function of (seed, start, i).
    ///
    /// - a workitem per agent leg (agent, queue and its business unit, media, the leg's start
    ///   and end; preview, active and wrap-up time from its alert, interact / hold / dialing /
    ///   contacting and wrap-up segments; `Handled`, or `Missed` / `Rejected` / `Abandoned` for
    ///   a leg that never connected; the wrap-up code's name as completion code), with its
    ///   conversation session (the leg's holds), the agent's states around it (Idle before,
    ///   Busy over it, now and then a login before or a break or logout after, a RONA break
    ///   after a missed one) and, when it ran a script, collected data;
    /// - a queue segment per queue leg (`AgentConnected`, `CustomerDisconnected` or, for a
    ///   flow-out to voicemail, `QueueTimedOut`), now and
    ///   then a rejected enqueue attempt before the first;
    /// - bot segments for the IVR (one per flow outcome) and routing-flow legs, and captured
    ///   data for the intent and language the IVR or the email subject gave;
    /// - the evaluation of the conversation, on the workitem of the agent evaluated, with its
    ///   answers;
    /// - a campaign record (custom fields, registration, sometimes another phone number)
    ///   behind a campaign call or a callback.
    ///
    /// Conversations still in progress get open rows: no end, no duration, no result.
    pub fn feed_of(&self, i: u64, conversation: &Value) -> Vec<(Table, Value)> {
        let u = &self.universe;
        let Some(id) = conversation["conversationId"].as_str() else {
            return Vec::new();
        };
        let legs = legs(conversation);
        let mut f = Feed {
            u,
            rng: Rng::new(mix64(self.seed ^ mix64(i ^ SALT_FEED).rotate_left(23))),
            id: id.to_owned(),
            rows: Vec::with_capacity(16),
        };
        let start = conversation["conversationStart"]
            .as_str()
            .and_then(parse_ms)
            .unwrap_or(0);
        let media = legs.first().map_or("voice", |l| l.media);
        let first_queue = legs
            .iter()
            .filter(|l| l.purpose == "acd")
            .find_map(|l| l.segments.first().and_then(|s| s.str("queueId")))
            .and_then(|q| u.queue_index(q));
        let first_agent = legs
            .iter()
            .filter(|l| l.purpose == "agent")
            .find_map(|l| l.user_id().and_then(|a| u.agent_index(a)));
        let division = match (first_queue, first_agent) {
            (Some(q), _) => QUEUES[q].division,
            (None, Some(a)) => u.agent_meta[a].division,
            (None, None) => 0,
        };
        let unit = match (first_queue, first_agent) {
            (Some(q), _) => QUEUES[q].business_unit,
            (None, Some(a)) => u.agent_unit(a),
            (None, None) => 0,
        };
        let channel = u.buzz.channel(unit, media_group(media)).to_owned();
        let customer = customer_view(&legs);

        for leg in legs
            .iter()
            .filter(|l| matches!(l.purpose, "ivr" | "workflow"))
        {
            f.bot_segments(leg, &channel, division, &customer);
        }
        let mut first_acd = true;
        for leg in legs.iter().filter(|l| l.purpose == "acd") {
            f.queue_segments(leg, first_acd, start, &channel);
            first_acd = false;
        }
        let workitems: Vec<WorkitemRef<'_>> = legs
            .iter()
            .filter(|l| l.purpose == "agent")
            .filter_map(|leg| f.workitem(leg, &customer))
            .collect();
        for e in conversation["evaluations"].as_array().into_iter().flatten() {
            f.evaluation(e, &workitems);
        }
        f.campaign_record(&legs, unit, start);
        f.rows
    }
}

/// The customer's name, contact and what the IVR or the email subject said they want.
fn customer_view<'d>(legs: &[Leg<'d>]) -> CustomerView<'d> {
    let mut view = CustomerView::default();
    let Some(leg) = legs
        .iter()
        .find(|l| matches!(l.purpose, "customer" | "external"))
    else {
        return view;
    };
    let p = leg.participant;
    if let Some((first, last)) = p
        .get("participantName")
        .and_then(Value::as_str)
        .and_then(|n| n.split_once(' '))
    {
        view.first_name = Some(first);
        view.last_name = Some(last);
    }
    view.contact_id = p.get("externalContactId").and_then(Value::as_str);
    if let Some(attributes) = p.get("attributes") {
        view.intent = attributes["ivr.intent"].as_str();
        view.language = attributes["ivr.language"].as_str();
    }
    if view.intent.is_none() {
        view.intent = leg
            .segments
            .iter()
            .find_map(|s| s.str("subject"))
            .and_then(|s| s.split(" - case").next());
    }
    view
}

impl Feed<'_> {
    fn push(&mut self, table: Table, row: RowB) {
        self.rows.push((table, row.done()));
    }
}
