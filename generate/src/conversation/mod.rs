//! The Genesys analytics conversation documents: the [`Generator`], the customers it draws, and
//! what a conversation is built of (participants, sessions, segments, metrics) before it becomes
//! a document.

mod document;
mod participants;
mod scenarios;

use crate::numerics::{Rng, format_uuid, mix64};
use crate::universe::{FIRST_NAMES, LAST_NAMES, MAIL_DOMAINS, Universe};
use crate::{DAY, DAYS, HOUR, MIN, SALT_CONVERSATION, SALT_CONVERSATION_ID, SALT_CUSTOMER, SEC};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// Distinct customers (callers) the conversations draw from, so that people call again.
const CUSTOMERS: u64 = 250_000;

/// Relative arrivals per hour of the day (UTC): business hours, a lunch dip, quiet nights.
const HOUR_WEIGHTS: [u32; 24] = [
    1, 1, 1, 1, 1, 2, 4, 10, 40, 70, 80, 80, 70, 75, 80, 75, 65, 50, 25, 12, 8, 5, 3, 2,
];
/// Relative arrivals per weekday, Monday first.
const WEEKDAY_WEIGHTS: [u32; 7] = [100, 100, 100, 100, 100, 35, 20];

/// Abandons shorter than this are short abandons (`tShortAbandon`, counted in `tAbandon` too).
pub const SHORT_ABANDON_MS: i64 = 10 * SEC;
/// After this long in a voice queue, the in-queue flow offers voicemail: a caller who takes it
/// flows out of the queue (`tFlowOut`) to a voicemail participant.
const VOICEMAIL_OFFER_MS: i64 = 2 * MIN;

/// How a queue leg ends.
#[derive(Clone, Copy)]
enum QueueExit {
    /// Answered by this agent.
    Answered(usize),
    /// The customer hung up in the queue.
    Abandoned,
    /// The in-queue flow moved it out unanswered (to voicemail).
    FlowedOut,
}

/// Generates the conversations of one seed over the [`DAYS`] days after `start`.
#[derive(Debug, Clone)]
pub struct Generator {
    pub(crate) seed: u64,
    start: i64,
    pub(crate) day0: i64,
    day_weights: Vec<u32>,
    pub(crate) universe: Universe,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    InboundVoice,
    OutboundVoice,
    Callback,
    Chat,
    Email,
    Message,
}

const KINDS: [(Kind, u32); 6] = [
    (Kind::InboundVoice, 55),
    (Kind::OutboundVoice, 10),
    (Kind::Callback, 7),
    (Kind::Chat, 10),
    (Kind::Email, 8),
    (Kind::Message, 10),
];

impl Generator {
    pub fn new(seed: u64, start: DateTime<Utc>) -> Self {
        let start = start.timestamp_millis();
        let day0 = start.div_euclid(DAY) * DAY;
        let day_weights = (0..DAYS)
            .map(|d| {
                let days_since_epoch = day0.div_euclid(DAY) + d;
                // 1970-01-01 was a Thursday: Monday = 0.
                let weekday = (days_since_epoch + 3).rem_euclid(7) as usize;
                WEEKDAY_WEIGHTS[weekday]
            })
            .collect();
        Self {
            seed,
            start,
            day0,
            day_weights,
            universe: Universe::new(seed),
        }
    }

    pub fn universe(&self) -> &Universe {
        &self.universe
    }

    /// The id of the i-th conversation (distinct for distinct `i`).
    pub fn conversation_id(&self, i: u64) -> String {
        let key = mix64(self.seed ^ SALT_CONVERSATION_ID);
        // A bijection of i: distinct indexes give distinct 64-bit values, all kept in the id.
        let unique = mix64(i.wrapping_add(key));
        let filler = mix64(unique ^ key);
        let hi = (unique & 0xffff_ffff_ffff_0000) | (filler & 0x0fff);
        let lo = ((unique & 0xffff) << 46) | (filler >> 18);
        format_uuid(hi, lo)
    }

    /// The i-th conversation: a pure function of (seed, start, i).
    pub fn conversation(&self, i: u64) -> Value {
        let mut rng = Rng::new(mix64(
            self.seed ^ mix64(i ^ SALT_CONVERSATION).rotate_left(17),
        ));
        let kinds: Vec<u32> = KINDS.iter().map(|(_, w)| *w).collect();
        let kind = KINDS[rng.weighted(&kinds)].0;
        let in_progress = rng.chance(0.01);
        let t0 = self.start_time(&mut rng, in_progress);
        let mut c = Conv {
            g: self,
            u: &self.universe,
            rng,
            id: self.conversation_id(i),
            parts: Vec::new(),
            root: Vec::new(),
            division: 0,
            handled: None,
        };
        match kind {
            Kind::InboundVoice => c.inbound_voice(t0),
            Kind::OutboundVoice => c.outbound_voice(t0),
            Kind::Callback => c.callback(t0),
            Kind::Chat => c.digital(t0, "chat"),
            Kind::Email => c.digital(t0, "email"),
            Kind::Message => c.digital(t0, "message"),
        }
        c.finish(in_progress)
    }

    fn start_time(&self, rng: &mut Rng, in_progress: bool) -> i64 {
        let day = if in_progress {
            DAYS - 1
        } else {
            rng.weighted(&self.day_weights) as i64
        };
        let hour = rng.weighted(&HOUR_WEIGHTS) as i64;
        let t = self.day0 + day * DAY + hour * HOUR + rng.between(0, HOUR - 1);
        // The window is DAYS days from `start`: what falls before it wraps to the end.
        if t < self.start { t + DAYS * DAY } else { t }
    }

    /// How busy the contact center is at `t`: 0 (night) to 1 (peak hour).
    fn load(&self, t: i64) -> f64 {
        let hour = (t.rem_euclid(DAY) / HOUR) as usize;
        f64::from(HOUR_WEIGHTS[hour]) / 80.0
    }

    fn customer(&self, index: u64) -> Customer {
        let mut r = Rng::new(mix64(self.seed ^ mix64(index ^ SALT_CUSTOMER)));
        let first = FIRST_NAMES[r.index(FIRST_NAMES.len())];
        let last = LAST_NAMES[r.index(LAST_NAMES.len())];
        let number = format!(
            "+1{}{}{:04}",
            200 + r.below(780),
            200 + r.below(780),
            r.below(10_000)
        );
        let email = format!(
            "{}.{}{}@{}",
            first.to_ascii_lowercase(),
            last.to_ascii_lowercase(),
            r.below(100),
            MAIL_DOMAINS[r.index(MAIL_DOMAINS.len())]
        );
        let contact_id = r.chance(0.45).then(|| r.uuid());
        Customer {
            index,
            name: format!("{first} {last}"),
            number,
            email,
            contact_id,
        }
    }
}

struct Customer {
    index: u64,
    name: String,
    /// E.164 number, `+1…`.
    number: String,
    email: String,
    /// The external contact, for known customers.
    contact_id: Option<String>,
}

impl Customer {
    fn tel(&self) -> String {
        format!("tel:{}", self.number)
    }
}

// ---------------------------------------------------------------------------------------------
// Building one conversation
// ---------------------------------------------------------------------------------------------

type Fields = Vec<(&'static str, Value)>;

struct Seg {
    kind: &'static str,
    start: i64,
    end: Option<i64>,
    fields: Fields,
}

impl Seg {
    fn new(kind: &'static str, start: i64, end: i64) -> Self {
        Self {
            kind,
            start,
            end: Some(end),
            fields: Vec::new(),
        }
    }

    fn with(mut self, key: &'static str, value: impl Into<Value>) -> Self {
        self.fields.push((key, value.into()));
        self
    }

    fn set(&mut self, key: &'static str, value: impl Into<Value>) {
        self.fields.push((key, value.into()));
    }
}

struct Met {
    name: &'static str,
    value: i64,
    emit: i64,
}

fn met(name: &'static str, value: i64, emit: i64) -> Met {
    Met { name, value, emit }
}

struct FlowOutcome {
    id: String,
    name: String,
    value: &'static str,
    start: i64,
    end: Option<i64>,
}

struct FlowDoc {
    fields: Fields,
    /// Fields known only once the flow has been left.
    exit: Fields,
    outcomes: Vec<FlowOutcome>,
}

struct Stat {
    codec: &'static str,
    event_time: i64,
    mos: f64,
    r_factor: f64,
    latency: i64,
    received: i64,
    discarded: i64,
    duplicate: i64,
}

struct Sess {
    id: String,
    fields: Fields,
    /// Fields known only once the session has ended.
    closing: Fields,
    segments: Vec<Seg>,
    metrics: Vec<Met>,
    flow: Option<FlowDoc>,
    proposed: Vec<(String, i64)>,
    stats: Vec<Stat>,
    groups: Vec<(String, &'static str)>,
}

impl Sess {
    fn set(&mut self, key: &'static str, value: impl Into<Value>) {
        self.fields.push((key, value.into()));
    }

    fn end(&self) -> i64 {
        self.segments
            .iter()
            .filter_map(|s| s.end)
            .max()
            .unwrap_or(0)
    }
}

struct Part {
    id: String,
    purpose: &'static str,
    name: String,
    fields: Fields,
    sessions: Vec<Sess>,
}

/// The agent who last served the customer: the subject of evaluations and surveys.
struct Handled {
    agent: usize,
    queue: Option<usize>,
    voice: bool,
}

struct Conv<'g> {
    g: &'g Generator,
    u: &'g Universe,
    rng: Rng,
    id: String,
    parts: Vec<Part>,
    root: Fields,
    /// The primary division (of the queue, or of the agent for manual outbound calls).
    division: usize,
    handled: Option<Handled>,
}

/// How an agent's conversation with the customer ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Normal,
    Blind,
    Consult,
    Conference,
}

/// Adds `key: value` to the last segment of type `kind`.
fn set_last(segments: &mut [Seg], kind: &str, key: &'static str, value: &'static str) {
    if let Some(seg) = segments.iter_mut().rev().find(|s| s.kind == kind) {
        seg.set(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_ids_are_a_bijection_of_the_index() {
        let g = Generator::new(1, DateTime::<Utc>::UNIX_EPOCH);
        let ids: std::collections::BTreeSet<String> =
            (0..50_000).map(|i| g.conversation_id(i)).collect();
        assert_eq!(ids.len(), 50_000);
        assert_ne!(g.conversation_id(u64::MAX), g.conversation_id(0));
    }
}
