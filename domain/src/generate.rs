//! A deterministic generator of a realistic contact center: a fixed [`Universe`] (divisions,
//! business units, queues, teams, agents, flows, wrap-up codes, campaigns, forms) and, from it,
//! Genesys **analytics conversation detail** documents (`/analytics/conversations/details`
//! shape, camelCase keys) as `serde_json::Value`, with the rows of the Buzzeasy OData feed
//! around each of them ([`Generator::feed`]: workitems, queue and bot segments, agent states,
//! evaluations, campaign records, …, read off the document) and the feed's lookups
//! ([`Generator::lookups`]), in the feed's source shape.
//!
//! Everything is a pure function of the seed (and, for conversations, of `start` and the index):
//! no clock, no IO, no external random number generator. The PRNG is SplitMix64 and the few
//! transcendental functions are computed here from `+ - * /` only, and the tenant's local times
//! follow the EU's clock changes computed here too, so the output is bit for bit the same on
//! every platform and after every dependency upgrade.
//!
//! Internal consistency the aggregates rely on:
//! - every duration metric (`tAlert`, `tTalk`, `tHeld`, `tAcw`, `tAcd`, `tAbandon`, `tDialing`,
//!   `tContacting`, `tIvr`, `tFlow`, …) equals the duration of the segment(s) it measures and is
//!   emitted at the end of that segment; `tTalk` and `tHeld` are emitted once per interact /
//!   hold segment (as Genesys does), `tTalkComplete` / `tHeldComplete` once per session;
//! - `tHandle = tTalkComplete + tHeldComplete + tAcw`, emitted at the end of wrap-up, for every
//!   agent session that connected;
//! - `tAnswered` is the time from entering the queue to the agent answering (the acd segment);
//! - an abandoned conversation has `tAbandon` on its acd session and no agent participant;
//!   abandons shorter than [`SHORT_ABANDON_MS`] also have `tShortAbandon`; a voice caller who
//!   waits past the in-queue voicemail offer flows out (`tFlowOut` on the acd session, then a
//!   `voicemail` participant with `tVoicemail`), so per queue `nOffered` = answered + abandoned
//!   + flowed out;
//! - `conversationEnd` is the end of the last segment; conversations still in progress (about 1%,
//!   all on the last day) have no `conversationEnd`, open last segments and no metric emitted
//!   after the cut-off.

use crate::buzzeasy::Table;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

/// Days over which conversations are spread, from `start`.
pub const DAYS: i64 = 30;

const SEC: i64 = 1_000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;

/// Distinct customers (callers) the conversations draw from, so that people call again.
const CUSTOMERS: u64 = 250_000;

/// Relative arrivals per hour of the day (UTC): business hours, a lunch dip, quiet nights.
const HOUR_WEIGHTS: [u32; 24] = [
    1, 1, 1, 1, 1, 2, 4, 10, 40, 70, 80, 80, 70, 75, 80, 75, 65, 50, 25, 12, 8, 5, 3, 2,
];
/// Relative arrivals per weekday, Monday first.
const WEEKDAY_WEIGHTS: [u32; 7] = [100, 100, 100, 100, 100, 35, 20];

const SALT_UNIVERSE: u64 = 0x5EED_0000_0000_0001;
const SALT_CONVERSATION: u64 = 0x5EED_0000_0000_0002;
const SALT_CONVERSATION_ID: u64 = 0x5EED_0000_0000_0003;
const SALT_CUSTOMER: u64 = 0x5EED_0000_0000_0004;

// ---------------------------------------------------------------------------------------------
// The world
// ---------------------------------------------------------------------------------------------

/// A Genesys division: the unit of scope of conversations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Division {
    pub id: String,
    pub name: String,
}

/// A Buzzeasy business unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BusinessUnit {
    pub id: String,
    pub name: String,
}

/// An ACD queue and the media types it takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Queue {
    pub id: String,
    pub name: String,
    pub division_id: String,
    pub business_unit_id: String,
    /// Analytics media types: `voice`, `callback`, `chat`, `email`, `message`.
    pub media_types: Vec<String>,
}

/// A team of agents (the participant `teamId`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Team {
    pub id: String,
    pub name: String,
    pub division_id: String,
    pub business_unit_id: String,
}

/// An agent (a Genesys user).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Agent {
    pub id: String,
    pub name: String,
    pub division_id: String,
    pub business_unit_id: String,
    pub team_id: String,
}

/// An Architect flow (IVR and digital routing flows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flow {
    pub id: String,
    pub name: String,
    /// `INBOUNDCALL`, `INBOUNDCHAT`, `INBOUNDSHORTMESSAGE`, `INBOUNDEMAIL`.
    pub flow_type: String,
    pub division_id: String,
}

/// A wrap-up code; segments name it by `id` (`ININ-WRAP-UP-TIMEOUT` is the system's own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WrapUpCode {
    pub id: String,
    pub name: String,
}

/// An outbound dialer campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Campaign {
    pub id: String,
    pub name: String,
    pub division_id: String,
    pub queue_id: String,
    pub contact_list_id: String,
}

/// A quality evaluation form or a survey form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Form {
    pub id: String,
    pub name: String,
    /// The id shared by all versions of the form.
    pub context_id: String,
}

struct QueueSpec {
    name: &'static str,
    division: usize,
    business_unit: usize,
    media: &'static [&'static str],
    /// Share of the inbound traffic of each of its media (0: outbound only).
    weight: u32,
    predictive: bool,
}

const DIVISIONS: [&str; 4] = [
    "Customer Care",
    "Sales",
    "Technical Support",
    "Billing & Collections",
];
const BUSINESS_UNITS: [&str; 3] = ["Consumer", "Business", "Partner Channel"];

const QUEUES: [QueueSpec; 12] = [
    QueueSpec {
        name: "Customer Care - Voice",
        division: 0,
        business_unit: 0,
        media: &["voice", "callback"],
        weight: 40,
        predictive: true,
    },
    QueueSpec {
        name: "Customer Care - Digital",
        division: 0,
        business_unit: 0,
        media: &["chat", "message"],
        weight: 30,
        predictive: false,
    },
    QueueSpec {
        name: "Customer Care - Email",
        division: 0,
        business_unit: 0,
        media: &["email"],
        weight: 35,
        predictive: false,
    },
    QueueSpec {
        name: "Sales - Inbound",
        division: 1,
        business_unit: 1,
        media: &["voice", "callback", "chat"],
        weight: 25,
        predictive: true,
    },
    QueueSpec {
        name: "Sales - Outbound",
        division: 1,
        business_unit: 1,
        media: &["voice"],
        weight: 0,
        predictive: false,
    },
    QueueSpec {
        name: "Sales - Digital",
        division: 1,
        business_unit: 2,
        media: &["message", "email"],
        weight: 15,
        predictive: false,
    },
    QueueSpec {
        name: "Technical Support - Tier 1",
        division: 2,
        business_unit: 0,
        media: &["voice", "callback", "chat"],
        weight: 30,
        predictive: false,
    },
    QueueSpec {
        name: "Technical Support - Tier 2",
        division: 2,
        business_unit: 1,
        media: &["voice", "email"],
        weight: 12,
        predictive: true,
    },
    QueueSpec {
        name: "Technical Support - Messaging",
        division: 2,
        business_unit: 2,
        media: &["message", "chat"],
        weight: 20,
        predictive: false,
    },
    QueueSpec {
        name: "Billing - Voice",
        division: 3,
        business_unit: 0,
        media: &["voice", "callback"],
        weight: 20,
        predictive: false,
    },
    QueueSpec {
        name: "Billing - Collections",
        division: 3,
        business_unit: 1,
        media: &["voice"],
        weight: 5,
        predictive: false,
    },
    QueueSpec {
        name: "Billing - Digital",
        division: 3,
        business_unit: 2,
        media: &["chat", "message", "email"],
        weight: 15,
        predictive: true,
    },
];

/// Teams: name, division, business unit. Ten agents each.
const TEAMS: [(&str, usize, usize); 8] = [
    ("Care Alpha", 0, 0),
    ("Care Bravo", 0, 2),
    ("Sales Hunters", 1, 1),
    ("Sales Closers", 1, 1),
    ("Support Tier 1", 2, 0),
    ("Support Tier 2", 2, 1),
    ("Billing Team", 3, 0),
    ("Collections Team", 3, 2),
];
const AGENTS_PER_TEAM: usize = 10;

/// Flows: name, type, division. The first four are the IVRs of the four divisions.
const FLOWS: [(&str, &str, usize); 7] = [
    ("Customer Care IVR", "INBOUNDCALL", 0),
    ("Sales IVR", "INBOUNDCALL", 1),
    ("Technical Support IVR", "INBOUNDCALL", 2),
    ("Billing IVR", "INBOUNDCALL", 3),
    ("Web Chat Routing", "INBOUNDCHAT", 0),
    ("Messaging Routing", "INBOUNDSHORTMESSAGE", 0),
    ("Email Routing", "INBOUNDEMAIL", 0),
];
const FLOW_CHAT: usize = 4;
const FLOW_MESSAGE: usize = 5;
const FLOW_EMAIL: usize = 6;

const WRAP_UP_CODES: [&str; 14] = [
    "Resolved - First Contact",
    "Resolved - Follow-up Sent",
    "Escalated",
    "Information Provided",
    "Complaint",
    "Order Status",
    "Sale Completed",
    "No Sale",
    "Technical Issue",
    "Billing Inquiry",
    "Payment Arrangement",
    "No Answer",
    "Wrong Number",
    "Callback Scheduled",
];
const WRAP_NO_ANSWER: usize = 11;
const WRAP_WRONG_NUMBER: usize = 12;
/// Wrap-up codes each division mostly uses (indexes into [`WRAP_UP_CODES`]).
const DIVISION_WRAP_UPS: [&[usize]; 4] = [
    &[0, 1, 2, 3, 4, 5, 13],
    &[6, 7, 3, 1, 13],
    &[8, 0, 1, 2, 3],
    &[9, 10, 0, 4, 2],
];
const WRAP_UP_TIMEOUT: &str = "ININ-WRAP-UP-TIMEOUT";

const CAMPAIGNS: [(&str, usize); 3] = [
    ("Spring Upgrade Offer", 4),
    ("Contract Renewal Reminders", 4),
    ("Overdue Balance Outreach", 10),
];

const EVALUATION_FORMS: [&str; 3] = [
    "Voice Quality Form",
    "Digital Quality Form",
    "Sales Compliance Form",
];
const SURVEY_FORMS: [&str; 2] = ["Post-Call Survey", "Post-Contact Web Survey"];

const FLOW_OUTCOMES: [&str; 5] = [
    "Customer Identified",
    "Account Verified",
    "Intent Captured",
    "Self-Service Attempted",
    "Language Selected",
];

const INTENTS: [&[&str]; 4] = [
    &[
        "order status",
        "returns",
        "general question",
        "address change",
    ],
    &["new service", "upgrade", "pricing"],
    &["outage", "device setup", "connectivity", "password reset"],
    &["balance", "payment", "dispute", "refund"],
];

const FIRST_NAMES: [&str; 40] = [
    "Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Ava", "Elijah", "Sophia", "Lucas",
    "Mia", "Mateo", "Isabella", "Levi", "Harper", "Ethan", "Evelyn", "James", "Aria", "Asher",
    "Chloe", "Leo", "Nora", "Benjamin", "Hazel", "Kai", "Layla", "Henry", "Zoe", "Daniel", "Priya",
    "Wei", "Fatima", "Diego", "Yuki", "Omar", "Ingrid", "Kofi", "Lena", "Raj",
];
const LAST_NAMES: [&str; 40] = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Nguyen",
    "Patel",
    "Kim",
    "Okafor",
    "Schmidt",
];

const MAIL_DOMAINS: [&str; 5] = [
    "example.com",
    "mail.example.org",
    "example.net",
    "inbox.example.com",
    "corp.example",
];

#[derive(Debug, Clone)]
struct QueueMeta {
    division: usize,
    predictive: bool,
}

#[derive(Debug, Clone)]
struct AgentMeta {
    division: usize,
    team: usize,
    /// Talk-time factor of this agent (some are quicker than others).
    pace: f64,
}

/// The fixed world every conversation of a seed lives in.
#[derive(Debug, Clone)]
pub struct Universe {
    divisions: Vec<Division>,
    business_units: Vec<BusinessUnit>,
    queues: Vec<Queue>,
    teams: Vec<Team>,
    agents: Vec<Agent>,
    flows: Vec<Flow>,
    wrap_up_codes: Vec<WrapUpCode>,
    campaigns: Vec<Campaign>,
    evaluation_forms: Vec<Form>,
    survey_forms: Vec<Form>,
    queue_meta: Vec<QueueMeta>,
    agent_meta: Vec<AgentMeta>,
    agents_by_division: Vec<Vec<usize>>,
    flow_versions: Vec<String>,
    flow_outcomes: Vec<String>,
    edges: Vec<String>,
    /// The number customers dial per division (the IVR's DNIS), `+1800555....`.
    division_numbers: Vec<String>,
    division_mailboxes: Vec<String>,
    /// What the Buzzeasy feed adds: channels, bot steps, supervisors, scripts, …
    buzz: BuzzWorld,
}

impl Universe {
    pub fn new(seed: u64) -> Self {
        let mut rng = Rng::new(mix64(seed ^ SALT_UNIVERSE));
        let divisions: Vec<Division> = DIVISIONS
            .iter()
            .map(|name| Division {
                id: rng.uuid(),
                name: (*name).to_owned(),
            })
            .collect();
        let business_units: Vec<BusinessUnit> = BUSINESS_UNITS
            .iter()
            .map(|name| BusinessUnit {
                id: rng.uuid(),
                name: (*name).to_owned(),
            })
            .collect();
        let queues: Vec<Queue> = QUEUES
            .iter()
            .map(|q| Queue {
                id: rng.uuid(),
                name: q.name.to_owned(),
                division_id: divisions[q.division].id.clone(),
                business_unit_id: business_units[q.business_unit].id.clone(),
                media_types: q.media.iter().map(|m| (*m).to_owned()).collect(),
            })
            .collect();
        let queue_meta = QUEUES
            .iter()
            .map(|q| QueueMeta {
                division: q.division,
                predictive: q.predictive,
            })
            .collect();
        let teams: Vec<Team> = TEAMS
            .iter()
            .map(|(name, division, unit)| Team {
                id: rng.uuid(),
                name: (*name).to_owned(),
                division_id: divisions[*division].id.clone(),
                business_unit_id: business_units[*unit].id.clone(),
            })
            .collect();
        let mut agents = Vec::new();
        let mut agent_meta = Vec::new();
        let mut agents_by_division = vec![Vec::new(); DIVISIONS.len()];
        let mut used_names = std::collections::BTreeSet::new();
        for (t, (_, division, unit)) in TEAMS.iter().enumerate() {
            for _ in 0..AGENTS_PER_TEAM {
                let name = loop {
                    let first = FIRST_NAMES[rng.index(FIRST_NAMES.len())];
                    let last = LAST_NAMES[rng.index(LAST_NAMES.len())];
                    if used_names.insert((first, last)) {
                        break format!("{first} {last}");
                    }
                };
                agents_by_division[*division].push(agents.len());
                agents.push(Agent {
                    id: rng.uuid(),
                    name,
                    division_id: divisions[*division].id.clone(),
                    business_unit_id: business_units[*unit].id.clone(),
                    team_id: teams[t].id.clone(),
                });
                agent_meta.push(AgentMeta {
                    division: *division,
                    team: t,
                    pace: 0.75 + 0.6 * rng.unit(),
                });
            }
        }
        let flows: Vec<Flow> = FLOWS
            .iter()
            .map(|(name, flow_type, division)| Flow {
                id: rng.uuid(),
                name: (*name).to_owned(),
                flow_type: (*flow_type).to_owned(),
                division_id: divisions[*division].id.clone(),
            })
            .collect();
        let flow_versions = FLOWS
            .iter()
            .map(|_| format!("{}.0", 3 + rng.below(40)))
            .collect();
        let flow_outcomes = FLOW_OUTCOMES.iter().map(|_| rng.uuid()).collect();
        let mut wrap_up_codes: Vec<WrapUpCode> = WRAP_UP_CODES
            .iter()
            .map(|name| WrapUpCode {
                id: rng.uuid(),
                name: (*name).to_owned(),
            })
            .collect();
        wrap_up_codes.push(WrapUpCode {
            id: WRAP_UP_TIMEOUT.to_owned(),
            name: "Wrap-up timeout".to_owned(),
        });
        let campaigns = CAMPAIGNS
            .iter()
            .map(|(name, queue)| Campaign {
                id: rng.uuid(),
                name: (*name).to_owned(),
                division_id: queues[*queue].division_id.clone(),
                queue_id: queues[*queue].id.clone(),
                contact_list_id: rng.uuid(),
            })
            .collect();
        let mut forms = |names: &[&str]| -> Vec<Form> {
            names
                .iter()
                .map(|name| Form {
                    id: rng.uuid(),
                    name: (*name).to_owned(),
                    context_id: rng.uuid(),
                })
                .collect()
        };
        let evaluation_forms = forms(&EVALUATION_FORMS);
        let survey_forms = forms(&SURVEY_FORMS);
        let edges = (0..3).map(|_| rng.uuid()).collect();
        let division_numbers = (0..DIVISIONS.len())
            .map(|d| format!("+1800555{:04}", 100 + d * 100 + rng.index(100)))
            .collect();
        let division_mailboxes = ["care", "sales", "support", "billing"]
            .iter()
            .map(|m| format!("{m}@contoso.example"))
            .collect();
        let buzz = BuzzWorld::new(seed, &agents);
        Self {
            divisions,
            business_units,
            queues,
            teams,
            agents,
            flows,
            wrap_up_codes,
            campaigns,
            evaluation_forms,
            survey_forms,
            queue_meta,
            agent_meta,
            agents_by_division,
            flow_versions,
            flow_outcomes,
            edges,
            division_numbers,
            division_mailboxes,
            buzz,
        }
    }

    pub fn divisions(&self) -> &[Division] {
        &self.divisions
    }

    pub fn business_units(&self) -> &[BusinessUnit] {
        &self.business_units
    }

    pub fn queues(&self) -> &[Queue] {
        &self.queues
    }

    pub fn teams(&self) -> &[Team] {
        &self.teams
    }

    pub fn agents(&self) -> &[Agent] {
        &self.agents
    }

    pub fn flows(&self) -> &[Flow] {
        &self.flows
    }

    /// The wrap-up codes, the system's `ININ-WRAP-UP-TIMEOUT` last.
    pub fn wrap_up_codes(&self) -> &[WrapUpCode] {
        &self.wrap_up_codes
    }

    pub fn campaigns(&self) -> &[Campaign] {
        &self.campaigns
    }

    pub fn evaluation_forms(&self) -> &[Form] {
        &self.evaluation_forms
    }

    pub fn survey_forms(&self) -> &[Form] {
        &self.survey_forms
    }

    fn pick_queue(&self, rng: &mut Rng, media: &str) -> usize {
        let candidates: Vec<(usize, u32)> = QUEUES
            .iter()
            .enumerate()
            .filter(|(_, q)| q.weight > 0 && q.media.contains(&media))
            .map(|(i, q)| (i, q.weight))
            .collect();
        let weights: Vec<u32> = candidates.iter().map(|(_, w)| *w).collect();
        candidates[rng.weighted(&weights)].0
    }

    /// Another queue of the same division taking `media`, for transfers (the same one if none).
    fn transfer_queue(&self, rng: &mut Rng, from: usize, media: &str) -> usize {
        let division = self.queue_meta[from].division;
        let others: Vec<usize> = QUEUES
            .iter()
            .enumerate()
            .filter(|(i, q)| *i != from && q.division == division && q.media.contains(&media))
            .map(|(i, _)| i)
            .collect();
        if others.is_empty() {
            from
        } else {
            others[rng.index(others.len())]
        }
    }

    fn pick_agent(&self, rng: &mut Rng, division: usize, not: Option<usize>) -> usize {
        let pool = &self.agents_by_division[division];
        loop {
            let a = pool[rng.index(pool.len())];
            if Some(a) != not {
                return a;
            }
        }
    }

    fn wrap_up(&self, rng: &mut Rng, division: usize) -> String {
        let roll = rng.unit();
        if roll < 0.03 {
            WRAP_UP_TIMEOUT.to_owned()
        } else if roll < 0.85 {
            let codes = DIVISION_WRAP_UPS[division];
            self.wrap_up_codes[codes[rng.index(codes.len())]].id.clone()
        } else {
            self.wrap_up_codes[rng.index(WRAP_UP_CODES.len() - 3)]
                .id
                .clone()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The generator
// ---------------------------------------------------------------------------------------------

/// Generates the conversations of one seed over the [`DAYS`] days after `start`.
#[derive(Debug, Clone)]
pub struct Generator {
    seed: u64,
    start: i64,
    day0: i64,
    day_weights: Vec<u32>,
    universe: Universe,
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

impl Conv<'_> {
    // --- small builders ----------------------------------------------------------------------

    fn participant(&mut self, purpose: &'static str, name: String) -> Part {
        Part {
            id: self.rng.uuid(),
            purpose,
            name,
            fields: Vec::new(),
            sessions: Vec::new(),
        }
    }

    fn session(&mut self, media: &'static str, direction: &'static str) -> Sess {
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

    fn customer_participant(&mut self, c: &Customer, purpose: &'static str) -> Part {
        let mut p = self.participant(purpose, c.name.clone());
        if let Some(contact) = &c.contact_id {
            p.fields.push(("externalContactId", contact.clone().into()));
        }
        p
    }

    fn agent_participant(&mut self, agent: usize) -> Part {
        let a = &self.u.agents[agent];
        let mut p = self.participant("agent", a.name.clone());
        p.fields.push(("userId", a.id.clone().into()));
        p.fields.push(("teamId", a.team_id.clone().into()));
        p
    }

    fn hex(&mut self, digits: usize) -> String {
        let mut s = String::with_capacity(digits);
        while s.len() < digits {
            s.push_str(&format!("{:016x}", self.rng.next_u64()));
        }
        s.truncate(digits);
        s
    }

    fn voice_fields(&mut self, s: &mut Sess, ani: &str, dnis: &str) {
        s.set("ani", ani);
        s.set("dnis", dnis);
        s.set("provider", "Edge");
        let edge = self.u.edges[self.rng.index(self.u.edges.len())].clone();
        s.set("edgeId", edge);
    }

    fn lognormal(&mut self, median: f64, sigma: f64, lo: i64, hi: i64) -> i64 {
        let v = median * exp(sigma * self.rng.normal());
        (v as i64).clamp(lo, hi)
    }

    fn exponential(&mut self, mean: f64, lo: i64, hi: i64) -> i64 {
        let v = -mean * ln(1.0 - self.rng.unit());
        (v as i64).clamp(lo, hi)
    }

    fn alert_ms(&mut self, voice: bool) -> i64 {
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

    fn hold_count(&mut self) -> usize {
        [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0][self.rng.index(20)]
    }

    /// Talking from `t` for `talk` ms in all, with `holds` holds in between: the interact and
    /// hold segments, the hold intervals (for the customer's side) and the end.
    fn talk_phase(&mut self, t: i64, talk: i64, holds: usize) -> (Vec<Seg>, Vec<(i64, i64)>, i64) {
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

    fn talk_ms(&mut self, agent: usize, median_secs: f64, sigma: f64, hi: i64) -> i64 {
        let pace = self.u.agent_meta[agent].pace;
        self.lognormal(median_secs * SEC as f64 * pace, sigma, 20 * SEC, hi)
    }

    /// Who hangs up: (disconnectType of the agent's last segment, of the customer's).
    fn hang_up(&mut self) -> (&'static str, &'static str) {
        if self.rng.chance(0.7) {
            ("peer", "endpoint")
        } else {
            ("client", "peer")
        }
    }

    fn wrapup(&mut self, start: i64, media: &str, code: Option<String>) -> Seg {
        let acw = self.acw_ms(media);
        let code = code.unwrap_or_else(|| self.u.wrap_up(&mut self.rng, self.division));
        let mut seg = Seg::new("wrapup", start, start + acw).with("wrapUpCode", code);
        if self.rng.chance(0.15) {
            seg.set("wrapUpNote", "Customer asked for a written confirmation.");
        }
        seg
    }

    fn queue_id(&self, q: usize) -> String {
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

    fn add_voice_stat(&mut self, s: &mut Sess) {
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
    fn flow_participant(
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
    fn acd_participant(
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
    fn agent_session(
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

    fn customer_session_segments(
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

    // --- scenarios ---------------------------------------------------------------------------

    fn inbound_voice(&mut self, t0: i64) {
        let queue = self.u.pick_queue(&mut self.rng, "voice");
        self.division = self.u.queue_meta[queue].division;
        let cust = self.g.customer(self.rng.below(CUSTOMERS));
        let tel = cust.tel();
        let dnis = format!("tel:{}", self.u.division_numbers[self.division]);
        let load = self.g.load(t0);

        let t1 = t0 + self.lognormal(40.0 * SEC as f64, 0.45, 8 * SEC, 5 * MIN);
        let abandon = self.rng.chance(0.02 + 0.07 * load);
        let wait = if abandon {
            self.lognormal(50.0 * SEC as f64, 0.8, 3 * SEC, 20 * MIN)
        } else {
            2 * SEC + self.exponential((15.0 + 45.0 * load) * SEC as f64, 0, 30 * MIN)
        };
        // Of the callers who give up, one in six hangs up at the queue's greeting (a short
        // abandon), and one who would have waited past the in-queue flow's voicemail offer
        // takes it (a flow-out). Drawn from the entry time, not from the stream, so that the
        // rest of the conversation stays as it was.
        let h = mix64(t1 as u64 ^ SALT_QUEUE_EXIT);
        let wait = if abandon && h % 6 == 0 {
            2 * SEC + ((h >> 8) % (8 * SEC as u64)) as i64
        } else {
            wait
        };
        let flow_out = abandon && wait > VOICEMAIL_OFFER_MS;
        let wait = if flow_out { VOICEMAIL_OFFER_MS } else { wait };
        let t2 = t1 + wait;

        let mut customer = self.customer_participant(&cust, "customer");
        let intents = INTENTS[self.division];
        let intent = intents[self.rng.index(intents.len())];
        customer.fields.push((
            "attributes",
            serde_json::json!({"ivr.intent": intent, "ivr.language": "en-us"}),
        ));
        let mut cs = self.session("voice", "inbound");
        self.voice_fields(&mut cs, &tel, &dnis);
        cs.set("remote", cust.name.clone());
        cs.set("protocolCallId", self.hex(32));
        let ivr = self.flow_participant(
            self.division,
            "voice",
            &cs.id,
            t0,
            t1,
            queue,
            Some((&tel, &dnis)),
        );
        cs.set("peerId", ivr.sessions[0].id.clone());
        self.root.push(("selfServed", false.into()));

        if abandon {
            let exit = if flow_out {
                QueueExit::FlowedOut
            } else {
                QueueExit::Abandoned
            };
            let acd = self.acd_participant(
                queue,
                "voice",
                "inbound",
                &cs.id,
                t1,
                t2,
                exit,
                Some((&tel, &dnis)),
            );
            let mut end = t2;
            let mut parts = vec![acd];
            if flow_out {
                end = t2 + 15 * SEC + ((h >> 16) % (90 * SEC as u64)) as i64;
                let mut vm = self.participant("voicemail", "Voicemail".to_owned());
                let mut s = self.session("voice", "inbound");
                self.voice_fields(&mut s, &tel, &dnis);
                s.set("peerId", cs.id.clone());
                s.segments
                    .push(Seg::new("interact", t2, end).with("disconnectType", "peer"));
                s.metrics.push(met("tVoicemail", end - t2, end));
                vm.sessions.push(s);
                parts.push(vm);
            }
            cs.segments = self.customer_session_segments(t0, end, &[], None, "endpoint");
            self.add_voice_stat(&mut cs);
            customer.sessions.push(cs);
            self.parts.extend([customer, ivr]);
            self.parts.extend(parts);
            return;
        }

        let agent = self.u.pick_agent(&mut self.rng, self.division, None);
        let acd = self.acd_participant(
            queue,
            "voice",
            "inbound",
            &cs.id,
            t1,
            t2,
            QueueExit::Answered(agent),
            Some((&tel, &dnis)),
        );
        let mut parts = vec![acd];

        // Sometimes a first agent lets it ring out.
        if wait > 25 * SEC && self.rng.chance(0.05) {
            let other = self.u.pick_agent(&mut self.rng, self.division, Some(agent));
            let mut p = self.agent_participant(other);
            let mut s = self.session("voice", "inbound");
            self.voice_fields(&mut s, &tel, &dnis);
            s.set("peerId", cs.id.clone());
            let a0 = t1 + self.rng.between(0, wait - 20 * SEC);
            // One in four declines rather than letting it ring out (drawn from the alert time,
            // not from the stream, so that the rest of the conversation stays as it was).
            let h = mix64(a0 as u64 ^ SALT_DECLINE);
            let (disconnect, ring) = if h % 4 == 0 {
                ("client", 2 * SEC + ((h >> 8) % (8 * SEC as u64)) as i64)
            } else {
                ("noAnswerTransfer", 15 * SEC)
            };
            let segs = vec![Seg::new("alert", a0, a0 + ring).with("disconnectType", disconnect)];
            let s = self.agent_session(other, s, segs, Some(queue), Some(t1));
            p.sessions.push(s);
            parts.push(p);
        }

        let scenario = [
            Scenario::Normal,
            Scenario::Blind,
            Scenario::Consult,
            Scenario::Conference,
        ][self.rng.weighted(&[87, 6, 4, 3])];
        let alert = self.alert_ms(true).min(wait - 200);
        let talk = self.talk_ms(agent, 210.0, 0.6, 90 * MIN);
        let holds = self.hold_count();
        let (mut a_segs, mut cust_holds, t3) = self.talk_phase(t2, talk, holds);
        a_segs.insert(0, Seg::new("alert", t2 - alert, t2));

        let mut pa = self.agent_participant(agent);
        let mut sa = self.session("voice", "inbound");
        self.voice_fields(&mut sa, &tel, &dnis);
        sa.set("peerId", cs.id.clone());
        sa.set("remote", cust.name.clone());
        sa.set("recording", true);
        let (agent_disconnect, customer_disconnect) = self.hang_up();
        let mut conference = None;
        let mut final_agent = agent;
        let end;
        let mut extra_metrics = Vec::new();
        let mut later: Vec<Part> = Vec::new();

        match scenario {
            Scenario::Normal => {
                set_last(&mut a_segs, "interact", "disconnectType", agent_disconnect);
                let w = self.wrapup(t3, "voice", None);
                a_segs.push(w);
                end = t3;
            }
            Scenario::Blind => {
                set_last(&mut a_segs, "interact", "disconnectType", "transfer");
                extra_metrics.push(met("nTransferred", 1, t3));
                extra_metrics.push(met("nBlindTransferred", 1, t3));
                let w = self.wrapup(t3, "voice", None);
                a_segs.push(w);
                let q2 = self.u.transfer_queue(&mut self.rng, queue, "voice");
                let b = self.u.pick_agent(&mut self.rng, self.division, Some(agent));
                let t4 = t3 + 2 * SEC + self.exponential(30.0 * SEC as f64, 0, 15 * MIN);
                let acd2 = self.acd_participant(
                    q2,
                    "voice",
                    "inbound",
                    &cs.id,
                    t3,
                    t4,
                    QueueExit::Answered(b),
                    Some((&tel, &dnis)),
                );
                later.push(acd2);
                let alert2 = self.alert_ms(true).min(t4 - t3);
                let talk2 = self.talk_ms(b, 150.0, 0.6, 60 * MIN);
                let holds2 = usize::from(self.rng.chance(0.15));
                let (mut b_segs, holds_b, t5) = self.talk_phase(t4, talk2, holds2);
                b_segs.insert(0, Seg::new("alert", t4 - alert2, t4));
                set_last(&mut b_segs, "interact", "disconnectType", agent_disconnect);
                let w = self.wrapup(t5, "voice", None);
                b_segs.push(w);
                cust_holds.extend(holds_b);
                let pb = self.second_agent(b, &cs.id, &cust, &tel, &dnis, b_segs, q2, Some(t3));
                later.push(pb);
                final_agent = b;
                end = t5;
            }
            Scenario::Consult | Scenario::Conference => {
                let tc = t3;
                let b = self.u.pick_agent(&mut self.rng, self.division, Some(agent));
                let tb0 = tc + self.rng.between(2 * SEC, 5 * SEC);
                let tb = tb0 + self.alert_ms(true);
                let consult = self.rng.between(15 * SEC, 90 * SEC);
                let tx = tb + consult;
                extra_metrics.push(met("nConsult", 1, tc));
                let b_session_id = self.rng.uuid();
                let mut b_segs = vec![
                    Seg::new("alert", tb0, tb)
                        .with("sourceConversationId", self.id.clone())
                        .with("sourceSessionId", sa.id.clone()),
                ];
                let talk2 = self.talk_ms(b, 150.0, 0.6, 60 * MIN);
                if scenario == Scenario::Consult {
                    a_segs.push(
                        Seg::new("hold", tc, tx)
                            .with("disconnectType", "consultTransfer")
                            .with("destinationConversationId", self.id.clone())
                            .with("destinationSessionId", b_session_id.clone()),
                    );
                    extra_metrics.push(met("nTransferred", 1, tx));
                    extra_metrics.push(met("nConsultTransferred", 1, tx));
                    let w = self.wrapup(tx, "voice", None);
                    a_segs.push(w);
                    let t5 = tx + talk2;
                    b_segs.push(
                        Seg::new("interact", tb, t5).with("disconnectType", agent_disconnect),
                    );
                    let w = self.wrapup(t5, "voice", None);
                    b_segs.push(w);
                    cust_holds.push((tc, tx));
                    end = t5;
                } else {
                    let tl = tx + self.rng.between(30 * SEC, 5 * MIN);
                    a_segs.push(Seg::new("hold", tc, tx));
                    a_segs.push(
                        Seg::new("interact", tx, tl)
                            .with("conference", true)
                            .with("disconnectType", "conferenceTransfer")
                            .with("destinationConversationId", self.id.clone())
                            .with("destinationSessionId", b_session_id.clone()),
                    );
                    let w = self.wrapup(tl, "voice", None);
                    a_segs.push(w);
                    let t5 = tl + talk2;
                    b_segs.push(Seg::new("interact", tb, tx));
                    b_segs.push(Seg::new("interact", tx, tl).with("conference", true));
                    b_segs.push(
                        Seg::new("interact", tl, t5).with("disconnectType", agent_disconnect),
                    );
                    let w = self.wrapup(t5, "voice", None);
                    b_segs.push(w);
                    cust_holds.push((tc, tx));
                    conference = Some((tx, tl));
                    end = t5;
                }
                let mut pb = self.second_agent(b, &cs.id, &cust, &tel, &dnis, b_segs, queue, None);
                pb.sessions[0].id = b_session_id;
                later.push(pb);
                final_agent = b;
            }
        }
        let mut sa = self.agent_session(agent, sa, a_segs, Some(queue), Some(t1));
        sa.metrics.extend(extra_metrics);
        self.add_voice_stat(&mut sa);
        pa.sessions.push(sa);
        parts.push(pa);
        parts.extend(later);

        cs.segments =
            self.customer_session_segments(t0, end, &cust_holds, conference, customer_disconnect);
        self.add_voice_stat(&mut cs);
        customer.sessions.push(cs);
        self.parts.push(customer);
        self.parts.push(ivr);
        self.parts.extend(parts);
        self.handled = Some(Handled {
            agent: final_agent,
            queue: Some(queue),
            voice: true,
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn second_agent(
        &mut self,
        agent: usize,
        peer: &str,
        cust: &Customer,
        tel: &str,
        dnis: &str,
        segments: Vec<Seg>,
        queue: usize,
        queue_entry: Option<i64>,
    ) -> Part {
        let mut p = self.agent_participant(agent);
        let mut s = self.session("voice", "inbound");
        self.voice_fields(&mut s, tel, dnis);
        s.set("peerId", peer);
        s.set("remote", cust.name.clone());
        s.set("recording", true);
        let mut s = self.agent_session(agent, s, segments, Some(queue), queue_entry);
        self.add_voice_stat(&mut s);
        p.sessions.push(s);
        p
    }

    fn outbound_voice(&mut self, t0: i64) {
        let campaign = self
            .rng
            .chance(0.4)
            .then(|| self.rng.index(CAMPAIGNS.len()));
        let (agent, queue) = match campaign {
            Some(c) => {
                let queue = CAMPAIGNS[c].1;
                self.division = self.u.queue_meta[queue].division;
                (
                    self.u.pick_agent(&mut self.rng, self.division, None),
                    Some(queue),
                )
            }
            None => {
                let agent = self.rng.index(self.u.agents.len());
                self.division = self.u.agent_meta[agent].division;
                let queue = self.rng.chance(0.5).then(|| {
                    let own: Vec<usize> = QUEUES
                        .iter()
                        .enumerate()
                        .filter(|(_, q)| q.division == self.division && q.media.contains(&"voice"))
                        .map(|(i, _)| i)
                        .collect();
                    own[self.rng.index(own.len())]
                });
                (agent, queue)
            }
        };
        let cust = self.g.customer(self.rng.below(CUSTOMERS));
        let tel = cust.tel();
        let caller = format!("tel:{}", self.u.division_numbers[self.division]);
        let purpose = if campaign.is_some() {
            "customer"
        } else {
            "external"
        };
        let mut customer = self.customer_participant(&cust, purpose);
        let mut pa = self.agent_participant(agent);
        let mut sa = self.session("voice", "outbound");
        let mut cs = self.session("voice", "outbound");
        self.voice_fields(&mut sa, &caller, &tel);
        self.voice_fields(&mut cs, &caller, &tel);
        sa.set("remote", cust.name.clone());
        sa.set("peerId", cs.id.clone());
        sa.set("recording", true);
        cs.set("peerId", sa.id.clone());
        cs.set("protocolCallId", self.hex(32));
        if let Some(c) = campaign {
            let camp = &self.u.campaigns[c];
            let contact = format!("{:016x}", mix64(cust.index ^ c as u64));
            for s in [&mut sa, &mut cs] {
                s.set("outboundCampaignId", camp.id.clone());
                s.set("outboundContactListId", camp.contact_list_id.clone());
                s.set("outboundContactId", contact.clone());
            }
            sa.set("skipEnabled", true);
        }
        let td = t0 + self.rng.between(SEC, 3 * SEC);
        let tcn = td + self.rng.between(4 * SEC, 30 * SEC);
        let connected = self.rng.chance(if campaign.is_some() { 0.72 } else { 0.8 });
        let mut segs = vec![Seg::new("dialing", t0, td), Seg::new("contacting", td, tcn)];
        let mut extra = vec![met("nOutbound", 1, t0)];
        if campaign.is_some() {
            extra.push(met("nOutboundAttempted", 1, t0));
        }
        if connected {
            if campaign.is_some() {
                extra.push(met("nOutboundConnected", 1, tcn));
            }
            let talk = self.talk_ms(agent, 170.0, 0.7, 60 * MIN);
            let holds = usize::from(self.rng.chance(0.1));
            let (talk_segs, holds, t3) = self.talk_phase(tcn, talk, holds);
            segs.extend(talk_segs);
            let (agent_disconnect, customer_disconnect) = self.hang_up();
            set_last(&mut segs, "interact", "disconnectType", agent_disconnect);
            let w = self.wrapup(t3, "voice", None);
            segs.push(w);
            let mut c_segs = vec![Seg::new("alert", td, tcn)];
            c_segs.extend(self.customer_session_segments(
                tcn,
                t3,
                &holds,
                None,
                customer_disconnect,
            ));
            cs.segments = c_segs;
            self.handled = Some(Handled {
                agent,
                queue,
                voice: true,
            });
        } else {
            let busy = self.rng.chance(0.3);
            let (agent_disconnect, sip, q850) = if busy {
                ("peer", 486, 17)
            } else {
                ("client", 487, 16)
            };
            set_last(&mut segs, "contacting", "disconnectType", agent_disconnect);
            let code = if self.rng.chance(0.85) {
                WRAP_NO_ANSWER
            } else {
                WRAP_WRONG_NUMBER
            };
            let w = self.wrapup(tcn, "voice", Some(self.u.wrap_up_codes[code].id.clone()));
            segs.push(w);
            cs.segments = vec![
                Seg::new("alert", td, tcn)
                    .with("disconnectType", if busy { "endpoint" } else { "peer" })
                    .with("sipResponseCodes", vec![sip])
                    .with("q850ResponseCodes", vec![q850]),
            ];
        }
        let mut sa = self.agent_session(agent, sa, segs, queue, None);
        sa.metrics.extend(extra);
        if connected {
            self.add_voice_stat(&mut sa);
            self.add_voice_stat(&mut cs);
        }
        pa.sessions.push(sa);
        customer.sessions.push(cs);
        self.parts.push(pa);
        self.parts.push(customer);
    }

    fn callback(&mut self, t0: i64) {
        let queue = self.u.pick_queue(&mut self.rng, "callback");
        self.division = self.u.queue_meta[queue].division;
        let cust = self.g.customer(self.rng.below(CUSTOMERS));
        let tel = cust.tel();
        let caller = format!("tel:{}", self.u.division_numbers[self.division]);
        let load = self.g.load(t0);
        let ts = if self.rng.chance(0.25) {
            let later = t0 + self.rng.between(15 * MIN, 4 * HOUR);
            later.div_euclid(15 * MIN) * 15 * MIN + 15 * MIN
        } else {
            t0
        };
        let t2 = ts + 5 * SEC + self.exponential((240.0 + 360.0 * load) * SEC as f64, 0, 2 * HOUR);
        let agent = self.u.pick_agent(&mut self.rng, self.division, None);

        let mut customer = self.customer_participant(&cust, "customer");
        let mut cs = self.session("callback", "outbound");
        let callback_fields = |s: &mut Sess| {
            s.set("callbackNumbers", vec![cust.number.clone()]);
            s.set("callbackUserName", cust.name.clone());
            s.set("callbackScheduledTime", fmt_time(ts));
        };
        callback_fields(&mut cs);
        let acd = self.acd_participant(
            queue,
            "callback",
            "outbound",
            &cs.id,
            ts,
            t2,
            QueueExit::Answered(agent),
            None,
        );
        cs.set("peerId", acd.sessions[0].id.clone());

        let mut pa = self.agent_participant(agent);
        let mut sa = self.session("callback", "outbound");
        callback_fields(&mut sa);
        sa.set("peerId", cs.id.clone());
        sa.set("dnis", tel.clone());
        sa.set("ani", caller);
        sa.set("remote", cust.name.clone());
        sa.set("timeoutSeconds", 30 * self.rng.below(3) as i64);
        if self.rng.chance(0.1) {
            sa.set("agentOwned", true);
        }
        let alert = self.alert_ms(true).min(t2 - ts);
        let td = t2 + self.rng.between(SEC, 4 * SEC);
        let tcn = td + self.rng.between(4 * SEC, 25 * SEC);
        let mut segs = vec![
            Seg::new("alert", t2 - alert, t2),
            Seg::new("dialing", t2, td),
            Seg::new("contacting", td, tcn),
        ];
        let talk = self.talk_ms(agent, 200.0, 0.6, 60 * MIN);
        let holds = self.hold_count().min(1);
        let (talk_segs, holds, t3) = self.talk_phase(tcn, talk, holds);
        segs.extend(talk_segs);
        let (agent_disconnect, customer_disconnect) = self.hang_up();
        set_last(&mut segs, "interact", "disconnectType", agent_disconnect);
        let w = self.wrapup(t3, "callback", None);
        segs.push(w);
        let mut sa = self.agent_session(agent, sa, segs, Some(queue), Some(ts));
        sa.metrics.push(met("nOutbound", 1, t2));

        let mut c_segs = Vec::new();
        if ts > t0 {
            c_segs.push(Seg::new("scheduled", t0, ts));
        }
        c_segs.extend(self.customer_session_segments(ts, t3, &holds, None, customer_disconnect));
        cs.segments = c_segs;
        pa.sessions.push(sa);
        customer.sessions.push(cs);
        self.parts.extend([customer, acd, pa]);
        self.handled = Some(Handled {
            agent,
            queue: Some(queue),
            voice: true,
        });
    }

    fn digital(&mut self, t0: i64, media: &'static str) {
        let queue = self.u.pick_queue(&mut self.rng, media);
        self.division = self.u.queue_meta[queue].division;
        let cust = self.g.customer(self.rng.below(CUSTOMERS));
        let load = self.g.load(t0);
        let flow = match media {
            "chat" => FLOW_CHAT,
            "message" => FLOW_MESSAGE,
            _ => FLOW_EMAIL,
        };
        let t1 = t0 + self.rng.between(400, 3 * SEC);
        let abandon = match media {
            "chat" => self.rng.chance(0.02 + 0.05 * load),
            "message" => self.rng.chance(0.02),
            _ => false,
        };
        let wait = match (media, abandon) {
            ("email", _) => self.lognormal(90.0 * MIN as f64, 0.9, MIN, 20 * HOUR),
            ("chat", true) => self.lognormal(90.0 * SEC as f64, 0.7, 5 * SEC, 30 * MIN),
            ("chat", false) => {
                3 * SEC + self.exponential((20.0 + 60.0 * load) * SEC as f64, 0, 30 * MIN)
            }
            (_, true) => self.lognormal(10.0 * MIN as f64, 0.8, 30 * SEC, 4 * HOUR),
            _ => 5 * SEC + self.exponential((60.0 + 180.0 * load) * SEC as f64, 0, 2 * HOUR),
        };
        let t2 = t1 + wait;
        let mailbox = self.u.division_mailboxes[self.division].clone();
        let subject = format!(
            "{} - case {}",
            INTENTS[self.division][self.rng.index(INTENTS[self.division].len())],
            100_000 + self.rng.below(900_000)
        );

        let mut customer = self.customer_participant(&cust, "customer");
        let mut cs = self.session(media, "inbound");
        let message_type = [
            "sms",
            "webmessaging",
            "webmessaging",
            "whatsapp",
            "facebook",
            "sms",
        ][self.rng.index(6)];
        let company_number = self.u.division_numbers[self.division].clone();
        let media_fields = |s: &mut Sess, rng: &mut Rng| match media {
            "chat" => {
                s.set("provider", "PureCloud Webchat v2");
                s.set("remote", cust.name.clone());
            }
            "message" => {
                s.set("provider", "PureCloud Messaging");
                s.set("messageType", message_type);
                match message_type {
                    "sms" | "whatsapp" => {
                        s.set("addressFrom", cust.number.clone());
                        s.set("addressTo", company_number.clone());
                    }
                    "facebook" => {
                        s.set(
                            "addressFrom",
                            (10u64.pow(15) + rng.below(9 * 10u64.pow(15))).to_string(),
                        );
                    }
                    _ => {}
                }
                s.set("remote", cust.name.clone());
            }
            _ => {
                s.set("provider", "PureCloud Email");
                s.set("addressFrom", cust.email.clone());
                s.set("addressTo", mailbox.clone());
                s.set("remote", cust.email.clone());
            }
        };
        media_fields(&mut cs, &mut self.rng);
        if media == "chat" {
            cs.set(
                "roomId",
                format!("{}@conference.contoso.example", self.hex(24)),
            );
        }
        if media == "message" {
            self.root.push(("customerParticipation", true.into()));
            if self.rng.chance(0.1) {
                cs.set("mediaCount", 1 + self.rng.below(3) as i64);
            }
        }
        let wf = self.flow_participant(flow, media, &cs.id, t0, t1, queue, None);
        cs.set("peerId", wf.sessions[0].id.clone());
        let subject_of = |seg: Seg| {
            if media == "email" {
                seg.with("subject", subject.clone())
            } else {
                seg
            }
        };

        if abandon {
            let acd = self.acd_participant(
                queue,
                media,
                "inbound",
                &cs.id,
                t1,
                t2,
                QueueExit::Abandoned,
                None,
            );
            cs.segments = vec![subject_of(
                Seg::new("interact", t0, t2).with("disconnectType", "endpoint"),
            )];
            customer.sessions.push(cs);
            self.parts.extend([customer, wf, acd]);
            return;
        }
        let agent = self.u.pick_agent(&mut self.rng, self.division, None);
        let acd = self.acd_participant(
            queue,
            media,
            "inbound",
            &cs.id,
            t1,
            t2,
            QueueExit::Answered(agent),
            None,
        );
        let alert = self.alert_ms(false).min(wait - 200);
        let talk = match media {
            "chat" => self.talk_ms(agent, 540.0, 0.5, 2 * HOUR),
            "message" => self.talk_ms(agent, 720.0, 0.7, 4 * HOUR),
            _ => self.talk_ms(agent, 360.0, 0.6, 2 * HOUR),
        };
        let t3 = t2 + talk;
        let (agent_disconnect, customer_disconnect) = match media {
            "email" => ("client", "peer"),
            _ => self.hang_up(),
        };
        let mut pa = self.agent_participant(agent);
        let mut sa = self.session(media, "inbound");
        media_fields(&mut sa, &mut self.rng);
        sa.set("peerId", cs.id.clone());
        if media == "email" {
            sa.set("addressSelf", mailbox.clone());
            sa.set("addressOther", cust.email.clone());
        }
        let mut segs = vec![
            Seg::new("alert", t2 - alert, t2),
            subject_of(Seg::new("interact", t2, t3).with("disconnectType", agent_disconnect)),
        ];
        let w = self.wrapup(t3, media, None);
        segs.push(w);
        let sa = self.agent_session(agent, sa, segs, Some(queue), Some(t1));
        pa.sessions.push(sa);
        cs.segments = vec![subject_of(
            Seg::new("interact", t0, t3).with("disconnectType", customer_disconnect),
        )];
        customer.sessions.push(cs);
        self.parts.extend([customer, wf, acd, pa]);
        self.handled = Some(Handled {
            agent,
            queue: Some(queue),
            voice: false,
        });
    }

    // --- the document ------------------------------------------------------------------------

    fn finish(mut self, in_progress: bool) -> Value {
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

/// Adds `key: value` to the last segment of type `kind`.
fn set_last(segments: &mut [Seg], kind: &str, key: &'static str, value: &'static str) {
    if let Some(seg) = segments.iter_mut().rev().find(|s| s.kind == kind) {
        seg.set(key, value);
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

// ---------------------------------------------------------------------------------------------
// The Buzzeasy feed
// ---------------------------------------------------------------------------------------------
//
// The same contact center seen through Buzzeasy's OData feed (`seeds/buzzeasy-odata.txt`): the
// lookups once per universe ([`Generator::lookups`]) and, per conversation, the rows around it
// ([`Generator::feed`]), read off the conversation document itself so that they agree with it:
// a workitem per agent leg, its session with the leg's holds, a queue segment per queue leg,
// bot segments per IVR / routing-flow leg, Busy agent states over every workitem, evaluations
// where the conversation has them, campaign records behind campaign calls and callbacks.
// Rows are in the source shape (the feed's own keys), local times always with their UTC twin.

/// The tenant's time zone: the feed's local times (`startTime`, `queuedAt`, …) are its wall
/// clock (central European time, clocks moving on the EU's days), always sent beside their UTC
/// twin.
pub const TENANT_TIME_ZONE: &str = "Europe/Budapest";

const SALT_BUZZ_UNIVERSE: u64 = 0x5EED_0000_0000_0005;
const SALT_FEED: u64 = 0x5EED_0000_0000_0006;
const SALT_DECLINE: u64 = 0x5EED_0000_0000_0007;
const SALT_QUEUE_EXIT: u64 = 0x5EED_0000_0000_0008;

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

/// The bot steps of every IVR: a greeting, then one per flow outcome (in [`FLOW_OUTCOMES`]
/// order), then a caller-number match.
const IVR_STEPS: [(&str, &str); 7] = [
    ("Welcome", "announcement"),
    ("Identify caller", "identifyCustomer"),
    ("Account PIN", "question"),
    ("Main menu", "autoAttendant"),
    ("Self-service bot", "customBot"),
    ("Language menu", "menuSelection"),
    ("VIP caller match", "matchAni"),
];
const IVR_WELCOME: usize = 0;
const IVR_VIP_MATCH: usize = 6;
/// The bot steps of the chat and messaging routing flows.
const CHAT_STEPS: [(&str, &str); 2] = [("Welcome", "announcement"), ("FAQ bot", "qna")];
/// The bot steps of the email routing flow.
const EMAIL_STEPS: [(&str, &str); 2] = [
    ("Intent evaluator", "customerIntentEvaluator"),
    ("Acknowledgement", "sendEmailReply"),
];

const BREAK_NAMES: [&str; 4] = ["Coffee", "Lunch", "Training", "Team meeting"];
const REJECT_REASONS: [(&str, u32); 5] = [
    ("NoAvailableStaffedAgent", 40),
    ("QueueSizeLimitReached", 25),
    ("EstimatedWaitTimeLimitReached", 20),
    ("NoStaffedAgentLoggedIn", 10),
    ("NoAgentLoggedIn", 5),
];
/// The agent scripts of the divisions (workitems that ran one have collected data).
const SCRIPTS: [&str; 4] = [
    "Care call script",
    "Sales call script",
    "Troubleshooting script",
    "Billing call script",
];
/// The questions of the evaluation forms ([`EVALUATION_FORMS`] order).
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
const OFFERS: [&str; 4] = [
    "Gold upgrade",
    "Family bundle",
    "Loyalty discount",
    "Fibre 1G",
];
const PREFERRED_TIMES: [&str; 3] = ["Morning", "Afternoon", "Evening"];

#[derive(Debug, Clone)]
struct BotStep {
    id: String,
    name: String,
    bot_type: &'static str,
    media_group: &'static str,
    deleted: bool,
}

/// A Buzzeasy user who is not an agent.
#[derive(Debug, Clone)]
struct User {
    id: String,
    name: String,
    user_type: &'static str,
    /// The business unit (index) a supervisor belongs to.
    unit: Option<usize>,
}

/// The Buzzeasy side of the universe.
#[derive(Debug, Clone)]
struct BuzzWorld {
    tenant_id: String,
    /// Channel ids by business unit and media group: `unit * MEDIA_GROUPS.len() + group`.
    channels: Vec<String>,
    bot_steps: Vec<BotStep>,
    /// The bot steps of each flow ([`FLOWS`] order), as indexes into `bot_steps`.
    flow_steps: Vec<Vec<usize>>,
    users: Vec<User>,
    /// The callback campaign of each business unit.
    callback_campaigns: Vec<String>,
    /// The agent script of each division.
    scripts: Vec<String>,
    qna_config: String,
    agent_index: std::collections::HashMap<String, usize>,
}

impl BuzzWorld {
    fn new(seed: u64, agents: &[Agent]) -> Self {
        let mut rng = Rng::new(mix64(seed ^ SALT_BUZZ_UNIVERSE));
        let tenant_id = rng.uuid();
        let channels = (0..BUSINESS_UNITS.len() * MEDIA_GROUPS.len())
            .map(|_| rng.uuid())
            .collect();
        let mut bot_steps = Vec::new();
        let mut flow_steps = Vec::new();
        for (name, flow_type, _) in FLOWS {
            let (steps, group): (&[(&str, &str)], &str) = match flow_type {
                "INBOUNDCALL" => (&IVR_STEPS, "Voice"),
                "INBOUNDEMAIL" => (&EMAIL_STEPS, "Email"),
                _ => (&CHAT_STEPS, "Chat"),
            };
            let mut own = Vec::new();
            for &(step, bot_type) in steps {
                own.push(bot_steps.len());
                bot_steps.push(BotStep {
                    id: rng.uuid(),
                    name: format!("{name} - {step}"),
                    bot_type,
                    media_group: group,
                    deleted: false,
                });
            }
            flow_steps.push(own);
        }
        bot_steps.push(BotStep {
            id: rng.uuid(),
            name: "Customer Care IVR - Holiday announcement".to_owned(),
            bot_type: "announcement",
            media_group: "Voice",
            deleted: true,
        });
        let mut taken: std::collections::BTreeSet<String> =
            agents.iter().map(|a| a.name.clone()).collect();
        let mut users = Vec::new();
        for (_, _, unit) in TEAMS {
            let name = loop {
                let first = FIRST_NAMES[rng.index(FIRST_NAMES.len())];
                let last = LAST_NAMES[rng.index(LAST_NAMES.len())];
                let name = format!("{first} {last}");
                if taken.insert(name.clone()) {
                    break name;
                }
            };
            users.push(User {
                id: rng.uuid(),
                name,
                user_type: "Supervisor",
                unit: Some(unit),
            });
        }
        for name in ["Reporting Service", "Workforce Planner"] {
            users.push(User {
                id: rng.uuid(),
                name: name.to_owned(),
                user_type: "User",
                unit: None,
            });
        }
        let callback_campaigns = BUSINESS_UNITS.iter().map(|_| rng.uuid()).collect();
        let scripts = SCRIPTS.iter().map(|_| rng.uuid()).collect();
        let qna_config = rng.uuid();
        let agent_index = agents
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.clone(), i))
            .collect();
        Self {
            tenant_id,
            channels,
            bot_steps,
            flow_steps,
            users,
            callback_campaigns,
            scripts,
            qna_config,
            agent_index,
        }
    }

    fn channel(&self, unit: usize, group: usize) -> &str {
        &self.channels[unit * MEDIA_GROUPS.len() + group]
    }
}

impl Universe {
    fn queue_index(&self, id: &str) -> Option<usize> {
        self.queues.iter().position(|q| q.id == id)
    }

    fn agent_index(&self, id: &str) -> Option<usize> {
        self.buzz.agent_index.get(id).copied()
    }

    /// The business unit (index) of an agent's team.
    fn agent_unit(&self, agent: usize) -> usize {
        TEAMS[self.agent_meta[agent].team].2
    }

    /// The business units (indexes) an agent belongs to from the start: its team's and those of
    /// its division's queues.
    fn agent_units(&self, agent: usize) -> Vec<usize> {
        let division = self.agent_meta[agent].division;
        let mut units: Vec<usize> = QUEUES
            .iter()
            .filter(|q| q.division == division)
            .map(|q| q.business_unit)
            .chain([self.agent_unit(agent)])
            .collect();
        units.sort_unstable();
        units.dedup();
        units
    }

    fn wrap_up_name(&self, id: &str) -> Option<&str> {
        self.wrap_up_codes
            .iter()
            .find(|w| w.id == id)
            .map(|w| w.name.as_str())
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
    /// The feed's lookups and what changes rarely: business units, agents, users (the agents,
    /// a supervisor per team and two service users), channels (one per media group and business
    /// unit), queues with their channel, bot steps, campaigns (the dialer campaigns and a
    /// callback campaign per business unit) and the agents' business-unit changes (everyone
    /// assigned a week before the first day, a few agents helping another unit for a while).
    pub fn lookups(&self) -> Vec<(Table, Value)> {
        let u = &self.universe;
        let b = &u.buzz;
        let mut rows = Vec::new();
        let mut push = |table: Table, row: RowB| rows.push((table, row.done()));
        for unit in &u.business_units {
            push(
                Table::BusinessUnits,
                RowB::new()
                    .put("id", unit.id.clone())
                    .put("name", unit.name.clone()),
            );
        }
        let email = |name: &str| {
            format!(
                "{}@contoso.example",
                name.to_ascii_lowercase().replace(' ', ".")
            )
        };
        for (i, a) in u.agents.iter().enumerate() {
            let custom_id = format!("AG-{:04}", i + 1);
            push(
                Table::Agents,
                RowB::new()
                    .put("id", a.id.clone())
                    .put("name", a.name.clone())
                    .put("customId", custom_id.clone()),
            );
            push(
                Table::Users,
                RowB::new()
                    .put("id", a.id.clone())
                    .put("name", a.name.clone())
                    .put("customId", custom_id)
                    .put("emailAddress", email(&a.name))
                    .put("userType", "Agent"),
            );
        }
        for (i, user) in b.users.iter().enumerate() {
            push(
                Table::Users,
                RowB::new()
                    .put("id", user.id.clone())
                    .put("name", user.name.clone())
                    .put("customId", format!("US-{:04}", i + 1))
                    .put("emailAddress", email(&user.name))
                    .put("userType", user.user_type),
            );
        }
        for (unit, bu) in u.business_units.iter().enumerate() {
            for (group, (_, channel_type, _)) in MEDIA_GROUPS.iter().enumerate() {
                push(
                    Table::Channels,
                    RowB::new()
                        .put("id", b.channel(unit, group))
                        .put("name", format!("{} {channel_type}", bu.name))
                        .put("channelType", *channel_type)
                        .put("businessUnitId", bu.id.clone()),
                );
            }
        }
        for (q, spec) in QUEUES.iter().enumerate() {
            let routing = if spec.media == ["email"] {
                "Manual"
            } else {
                "Automatic"
            };
            push(
                Table::Queues,
                RowB::new()
                    .put("id", u.queues[q].id.clone())
                    .put("name", spec.name)
                    .put(
                        "channelId",
                        b.channel(spec.business_unit, media_group(spec.media[0])),
                    )
                    .put("routingMode", routing),
            );
        }
        let before = self.day0 - 7 * DAY;
        for step in &b.bot_steps {
            push(
                Table::BotSteps,
                RowB::new()
                    .put("id", step.id.clone())
                    .put("name", step.name.clone())
                    .put("type", step.bot_type)
                    .put("mediaGroup", step.media_group)
                    .opt("deletedAt", step.deleted.then(|| fmt_time(before))),
            );
        }
        for (c, campaign) in u.campaigns.iter().enumerate() {
            push(
                Table::Campaigns,
                RowB::new()
                    .put("id", campaign.id.clone())
                    .put("name", campaign.name.clone())
                    .put("campaignType", "Preview")
                    .put(
                        "businessUnitId",
                        u.business_units[QUEUES[CAMPAIGNS[c].1].business_unit]
                            .id
                            .clone(),
                    ),
            );
        }
        for (unit, id) in b.callback_campaigns.iter().enumerate() {
            let bu = &u.business_units[unit];
            push(
                Table::Campaigns,
                RowB::new()
                    .put("id", id.clone())
                    .put("name", format!("{} callbacks", bu.name))
                    .put("campaignType", "Callback")
                    .put("businessUnitId", bu.id.clone()),
            );
        }
        let change = |agent: &str, unit: usize, assigned: bool, at: i64| {
            RowB::new()
                .put("agentId", agent)
                .put("businessUnitId", u.business_units[unit].id.clone())
                .put("assigned", assigned)
                .put("tenantId", b.tenant_id.clone())
                .put("timestampUtc", fmt_time(at))
        };
        for (a, agent) in u.agents.iter().enumerate() {
            for unit in u.agent_units(a) {
                push(
                    Table::AgentBusinessUnitChanges,
                    change(&agent.id, unit, true, before),
                );
            }
        }
        for user in &b.users {
            if let Some(unit) = user.unit {
                push(
                    Table::AgentBusinessUnitChanges,
                    change(&user.id, unit, true, before),
                );
            }
        }
        // A few agents help another business unit for about ten days.
        let mut rng = Rng::new(mix64(self.seed ^ SALT_BUZZ_UNIVERSE).rotate_left(29));
        for team in 0..TEAMS.len() {
            let a = team * AGENTS_PER_TEAM + rng.index(AGENTS_PER_TEAM);
            let own = u.agent_units(a);
            let others: Vec<usize> = (0..BUSINESS_UNITS.len())
                .filter(|unit| !own.contains(unit))
                .collect();
            let joined = self.day0 + rng.between(8 * DAY, 12 * DAY);
            let left = self.day0 + rng.between(18 * DAY, 22 * DAY);
            if others.is_empty() {
                continue;
            }
            let unit = others[rng.index(others.len())];
            let id = &u.agents[a].id;
            push(
                Table::AgentBusinessUnitChanges,
                change(id, unit, true, joined),
            );
            push(
                Table::AgentBusinessUnitChanges,
                change(id, unit, false, left),
            );
        }
        rows
    }

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
    fn bot_segments(
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
    fn queue_segments(&mut self, leg: &Leg<'_>, first: bool, start: i64, channel: &str) {
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

    /// The workitem of an agent leg, with its conversation session, the agent's states around
    /// it and its collected data.
    fn workitem<'d>(
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
    fn evaluation(&mut self, e: &Value, workitems: &[WorkitemRef<'_>]) {
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

    /// The campaign record behind a campaign call or a callback, with its custom fields,
    /// registration and sometimes another phone number.
    fn campaign_record(&mut self, legs: &[Leg<'_>], unit: usize, start: i64) {
        // A call still dialing has no customer leg yet, a callback not yet taken no agent leg.
        let agent = legs.iter().find(|l| l.purpose == "agent");
        let customer = legs.iter().find(|l| l.purpose == "customer");
        let dialed = legs.iter().find(|l| l.str("outboundCampaignId").is_some());
        let (campaign, number, contact) = if let Some(leg) = dialed {
            let number = leg.str("dnis").map(|d| d.trim_start_matches("tel:"));
            let campaign = leg.str("outboundCampaignId").unwrap_or_default();
            (campaign.to_owned(), number, leg.str("outboundContactId"))
        } else if let Some(leg) = customer.filter(|c| c.media == "callback") {
            let number = leg
                .session
                .get("callbackNumbers")
                .and_then(|n| n[0].as_str());
            (self.u.buzz.callback_campaigns[unit].clone(), number, None)
        } else {
            return;
        };
        let Some(number) = number else {
            return;
        };
        let end = agent.and_then(Leg::end);
        let connected = agent.is_some_and(|a| a.segments.iter().any(|s| s.kind == "interact"));
        let status = match (end, connected) {
            (None, _) => "Processing",
            (Some(_), true) => "Completed",
            (Some(_), false) if self.rng.chance(0.6) => "Rescheduled",
            (Some(_), false) => "Failed",
        };
        let closed = matches!(status, "Completed" | "Failed")
            .then_some(end)
            .flatten();
        let callback = contact.is_none();
        // A dialer record was uploaded days before; a callback record when it was asked for.
        let created = if callback {
            start
        } else {
            start - self.rng.between(DAY, 10 * DAY)
        };
        let processing = if callback {
            start
        } else {
            start - self.rng.between(MIN, 2 * HOUR)
        };
        // The customer's phone rings while the agent's leg is contacting them.
        let ring = agent.map_or(0, |a| a.total(&["contacting"]));
        let talk = agent.map_or(0, |a| a.total(&["interact"]));
        let names = customer
            .and_then(|c| c.participant.get("participantName"))
            .or_else(|| agent.and_then(|a| a.session.get("remote")))
            .and_then(Value::as_str)
            .and_then(|n| n.split_once(' '));
        let id = self.rng.uuid();
        let row = RowB::new()
            .put("id", id.clone())
            .put("campaignID", campaign.clone())
            .put("status", status)
            .opt("customerFirstName", names.map(|n| n.0))
            .opt("customerLastName", names.map(|n| n.1))
            .put("customerPhone", number)
            .at("CreatedAt", "createdAtUTC", Some(created))
            .at("closedAt", "closedAtUTC", closed)
            .put("newStatusDuration", secs(processing - created))
            .opt(
                "queuedStatusDuration",
                closed.or(end).map(|e| secs(e - processing)),
            )
            .opt(
                "rescheduledStatusDuration",
                (status == "Rescheduled").then_some(0.0),
            )
            .put("totalCustomerRingTimeInSeconds", secs(ring))
            .put("totalTalkTimeInSeconds", secs(talk));
        self.push(Table::CampaignRecords, row);
        let mut fields: Vec<(&str, String)> = Vec::new();
        if let Some(contact) = contact {
            fields.push(("Contact id", contact.to_owned()));
            fields.push(("Offer", OFFERS[self.rng.index(OFFERS.len())].to_owned()));
        } else {
            let via = if self.rng.chance(0.6) { "IVR" } else { "Web" };
            fields.push(("Requested via", via.to_owned()));
        }
        let preferred = PREFERRED_TIMES[self.rng.index(PREFERRED_TIMES.len())];
        fields.push(("Preferred time", preferred.to_owned()));
        for (name, value) in fields {
            let row = RowB::new()
                .put("campaignRecordId", id.clone())
                .put("customFieldName", name)
                .put("customFieldValues", value);
            self.push(Table::CampaignRecordCustomFields, row);
        }
        if self.rng.chance(0.3) {
            // Another line of the same customer: the primary number with other last digits.
            let mut other = number.to_owned();
            let tail = (self.rng.below(9_000) + 1_000).to_string();
            if other.len() > 4 && !other.ends_with(&tail) {
                other.truncate(other.len() - 4);
                other.push_str(&tail);
                let row = RowB::new()
                    .put("campaignRecordId", id.clone())
                    .put("phoneNumber", other);
                self.push(Table::CampaignRecordPhoneNumbers, row);
            }
        }
        let row = RowB::new()
            .put("campaignRecordId", id)
            .put("campaignId", campaign)
            .opt("customerFirstName", names.map(|n| n.0))
            .opt("customerLastName", names.map(|n| n.1))
            .put("primaryPhoneNumber", number);
        self.push(Table::CampaignRecordRegistrations, row);
    }
}

/// Milliseconds since the epoch of `2026-11-01T09:00:00.123Z` (the generator's own format;
/// other RFC 3339 forms through chrono).
fn parse_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let fixed = b.len() == 24
        && b[23] == b'Z'
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.';
    if !fixed {
        return DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.timestamp_millis());
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        b[from..to].iter().try_fold(0i64, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let days = days_from_civil(num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let secs = days * 86_400 + num(11, 13)? * 3600 + num(14, 16)? * 60 + num(17, 19)?;
    Some(secs * 1000 + num(20, 23)?)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The day (since the epoch) of the last Sunday of a month that has 31 days.
fn last_sunday(year: i64, month: i64) -> i64 {
    let last = days_from_civil(year, month, 31);
    // 1970-01-01 was a Thursday: (days + 4) mod 7 is 0 on Sundays.
    last - (last + 4).rem_euclid(7)
}

/// The tenant's UTC offset at `ms`: one hour, two in summer (from 01:00 UTC on the last Sunday
/// of March to 01:00 UTC on the last Sunday of October). By hand, so that it never changes with
/// a time-zone database.
fn tenant_offset(ms: i64) -> i64 {
    let (year, _, _) = civil_from_days(ms.div_euclid(DAY));
    let summer = last_sunday(year, 3) * DAY + HOUR..last_sunday(year, 10) * DAY + HOUR;
    if summer.contains(&ms) { 2 * HOUR } else { HOUR }
}

/// The tenant's wall-clock time of `ms`, as the feed sends local times: `2026-11-01T10:00:00.123`.
fn fmt_local(ms: i64) -> String {
    let mut s = fmt_time(ms + tenant_offset(ms));
    s.pop();
    s
}

// ---------------------------------------------------------------------------------------------
// Deterministic numerics
// ---------------------------------------------------------------------------------------------

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 finaliser: a bijection of u64 with good avalanche.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SplitMix64: small, fast, and fixed forever.
#[derive(Debug, Clone)]
struct Rng {
    state: u64,
}

impl Rng {
    fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        mix64(self.state)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [0, n) (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// Uniform in [lo, hi].
    fn between(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo) as u64 + 1) as i64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// An index drawn with the given weights (not all zero).
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        let mut x = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            let w = u64::from(*w);
            if x < w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }

    /// About standard normal (Irwin–Hall, 12 uniforms).
    fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.unit()).sum::<f64>() - 6.0
    }

    fn uuid(&mut self) -> String {
        let hi = self.next_u64();
        let lo = self.next_u64();
        format_uuid(hi, lo)
    }
}

/// A version-4-shaped UUID from 128 bits (the version and variant bits are overwritten).
fn format_uuid(hi: u64, lo: u64) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let hi = (hi & 0xffff_ffff_ffff_0fff) | 0x4000;
    let lo = (lo & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    let bits = (u128::from(hi) << 64) | u128::from(lo);
    let mut out = String::with_capacity(36);
    for i in 0..32 {
        if matches!(i, 8 | 12 | 16 | 20) {
            out.push('-');
        }
        let nibble = (bits >> (124 - 4 * i)) & 0xf;
        out.push(char::from(HEX[nibble as usize]));
    }
    out
}

const LN_2: f64 = std::f64::consts::LN_2;

/// Natural logarithm from `+ - * /` only (platform libm results may differ in the last bit).
fn ln(x: f64) -> f64 {
    if x <= 0.0 || !x.is_finite() {
        return f64::NEG_INFINITY;
    }
    let bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    if m > std::f64::consts::SQRT_2 {
        m /= 2.0;
        e += 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let (mut term, mut sum, mut k) = (s, 0.0, 1.0);
    for _ in 0..12 {
        sum += term / k;
        term *= s2;
        k += 2.0;
    }
    2.0 * sum + e as f64 * LN_2
}

/// e^x from `+ - * /` only.
fn exp(x: f64) -> f64 {
    let x = x.clamp(-700.0, 700.0);
    let k = (x / LN_2 + 0.5).floor();
    let r = x - k * LN_2;
    let (mut term, mut sum) = (1.0, 1.0);
    for n in 1..18 {
        term *= r / f64::from(n);
        sum += term;
    }
    sum * f64::from_bits(((k as i64 + 1023) as u64) << 52)
}

/// `2026-11-01T09:00:00.123Z` from milliseconds since the epoch.
fn fmt_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let milli = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        return format!(
            "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{milli:03}Z",
            sod / 3600,
            sod % 3600 / 60,
            sod % 60
        );
    }
    // The hot path: millions of these per data set, digits written straight into place.
    let mut b = *b"0000-00-00T00:00:00.000Z";
    for (at, width, value) in [
        (0, 4, y),
        (5, 2, mo),
        (8, 2, d),
        (11, 2, sod / 3600),
        (14, 2, sod % 3600 / 60),
        (17, 2, sod % 60),
        (20, 3, milli),
    ] {
        let mut v = value;
        for k in (at..at + width).rev() {
            b[k] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    }
    b.iter().copied().map(char::from).collect()
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_format_matches_chrono() {
        let mut rng = Rng::new(7);
        for _ in 0..10_000 {
            let ms = rng.between(-5_000_000_000_000, 10_000_000_000_000);
            let chrono = DateTime::<Utc>::from_timestamp_millis(ms)
                .expect("in range")
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string();
            assert_eq!(fmt_time(ms), chrono);
        }
    }

    #[test]
    fn generated_times_read_back() {
        let mut rng = Rng::new(11);
        for _ in 0..10_000 {
            let ms = rng.between(0, 8_000_000_000_000);
            assert_eq!(parse_ms(&fmt_time(ms)), Some(ms));
        }
        assert_eq!(
            parse_ms("2026-11-01T10:00:00+01:00"),
            Some(1_793_523_600_000)
        );
        assert_eq!(parse_ms("yesterday"), None);
    }

    #[test]
    fn tenant_wall_clock_matches_the_time_zone_database() {
        let tz: chrono_tz::Tz = TENANT_TIME_ZONE.parse().expect("a time zone");
        let mut rng = Rng::new(13);
        let check = |ms: i64| {
            let wall = DateTime::<Utc>::from_timestamp_millis(ms)
                .expect("in range")
                .with_timezone(&tz)
                .naive_local()
                .format("%Y-%m-%dT%H:%M:%S%.3f")
                .to_string();
            assert_eq!(fmt_local(ms), wall, "{}", fmt_time(ms));
        };
        for _ in 0..20_000 {
            // 2000 to 2037, where the EU rule holds.
            check(rng.between(946_684_800_000, 2_114_380_800_000));
        }
        // Around the changes of 2026: 29 March and 25 October, 01:00 UTC.
        for at in [1_774_746_000_000, 1_792_890_000_000] {
            for d in [-HOUR, -1, 0, 1, HOUR] {
                check(at + d);
            }
        }
    }

    #[test]
    fn ln_and_exp_are_accurate() {
        let mut rng = Rng::new(9);
        for _ in 0..10_000 {
            let x = rng.unit() * 100.0 + 1e-9;
            assert!((ln(x) - x.ln()).abs() < 1e-12, "ln {x}");
            let y = rng.unit() * 40.0 - 20.0;
            assert!((exp(y) / y.exp() - 1.0).abs() < 1e-12, "exp {y}");
        }
    }

    #[test]
    fn uuid_layout() {
        assert_eq!(
            format_uuid(0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210),
            "01234567-89ab-4def-bedc-ba9876543210"
        );
    }

    #[test]
    fn prng_is_fixed() {
        // SplitMix64 reference values for seed 0.
        let mut rng = Rng::new(0);
        assert_eq!(rng.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(rng.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn conversation_ids_are_a_bijection_of_the_index() {
        let g = Generator::new(1, DateTime::<Utc>::UNIX_EPOCH);
        let ids: std::collections::BTreeSet<String> =
            (0..50_000).map(|i| g.conversation_id(i)).collect();
        assert_eq!(ids.len(), 50_000);
        assert_ne!(g.conversation_id(u64::MAX), g.conversation_id(0));
    }
}
