//! The fixed world every conversation of a seed lives in: divisions, business units, queues,
//! teams, agents, flows, wrap-up codes, campaigns and forms, drawn once per seed, and the names
//! its people are given.

use crate::SALT_UNIVERSE;
use crate::feed::BuzzWorld;
use crate::numerics::{Rng, mix64};
use serde::Serialize;

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

pub(crate) struct QueueSpec {
    pub(crate) name: &'static str,
    pub(crate) division: usize,
    pub(crate) business_unit: usize,
    pub(crate) media: &'static [&'static str],
    /// Share of the inbound traffic of each of its media (0: outbound only).
    weight: u32,
    predictive: bool,
}

pub(crate) const DIVISIONS: [&str; 4] = [
    "Customer Care",
    "Sales",
    "Technical Support",
    "Billing & Collections",
];
pub(crate) const BUSINESS_UNITS: [&str; 3] = ["Consumer", "Business", "Partner Channel"];

pub(crate) const QUEUES: [QueueSpec; 12] = [
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
pub(crate) const TEAMS: [(&str, usize, usize); 8] = [
    ("Care Alpha", 0, 0),
    ("Care Bravo", 0, 2),
    ("Sales Hunters", 1, 1),
    ("Sales Closers", 1, 1),
    ("Support Tier 1", 2, 0),
    ("Support Tier 2", 2, 1),
    ("Billing Team", 3, 0),
    ("Collections Team", 3, 2),
];
pub(crate) const AGENTS_PER_TEAM: usize = 10;

/// Flows: name, type, division. The first four are the IVRs of the four divisions.
pub(crate) const FLOWS: [(&str, &str, usize); 7] = [
    ("Customer Care IVR", "INBOUNDCALL", 0),
    ("Sales IVR", "INBOUNDCALL", 1),
    ("Technical Support IVR", "INBOUNDCALL", 2),
    ("Billing IVR", "INBOUNDCALL", 3),
    ("Web Chat Routing", "INBOUNDCHAT", 0),
    ("Messaging Routing", "INBOUNDSHORTMESSAGE", 0),
    ("Email Routing", "INBOUNDEMAIL", 0),
];
pub(crate) const FLOW_CHAT: usize = 4;
pub(crate) const FLOW_MESSAGE: usize = 5;
pub(crate) const FLOW_EMAIL: usize = 6;

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
pub(crate) const WRAP_NO_ANSWER: usize = 11;
pub(crate) const WRAP_WRONG_NUMBER: usize = 12;
/// Wrap-up codes each division mostly uses (indexes into [`WRAP_UP_CODES`]).
const DIVISION_WRAP_UPS: [&[usize]; 4] = [
    &[0, 1, 2, 3, 4, 5, 13],
    &[6, 7, 3, 1, 13],
    &[8, 0, 1, 2, 3],
    &[9, 10, 0, 4, 2],
];
const WRAP_UP_TIMEOUT: &str = "ININ-WRAP-UP-TIMEOUT";

pub(crate) const CAMPAIGNS: [(&str, usize); 3] = [
    ("Spring Upgrade Offer", 4),
    ("Contract Renewal Reminders", 4),
    ("Overdue Balance Outreach", 10),
];

pub(crate) const EVALUATION_FORMS: [&str; 3] = [
    "Voice Quality Form",
    "Digital Quality Form",
    "Sales Compliance Form",
];
const SURVEY_FORMS: [&str; 2] = ["Post-Call Survey", "Post-Contact Web Survey"];

pub(crate) const FLOW_OUTCOMES: [&str; 5] = [
    "Customer Identified",
    "Account Verified",
    "Intent Captured",
    "Self-Service Attempted",
    "Language Selected",
];

pub(crate) const INTENTS: [&[&str]; 4] = [
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

pub(crate) const FIRST_NAMES: [&str; 40] = [
    "Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Ava", "Elijah", "Sophia", "Lucas",
    "Mia", "Mateo", "Isabella", "Levi", "Harper", "Ethan", "Evelyn", "James", "Aria", "Asher",
    "Chloe", "Leo", "Nora", "Benjamin", "Hazel", "Kai", "Layla", "Henry", "Zoe", "Daniel", "Priya",
    "Wei", "Fatima", "Diego", "Yuki", "Omar", "Ingrid", "Kofi", "Lena", "Raj",
];
pub(crate) const LAST_NAMES: [&str; 40] = [
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

pub(crate) const MAIL_DOMAINS: [&str; 5] = [
    "example.com",
    "mail.example.org",
    "example.net",
    "inbox.example.com",
    "corp.example",
];

#[derive(Debug, Clone)]
pub(crate) struct QueueMeta {
    pub(crate) division: usize,
    pub(crate) predictive: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct AgentMeta {
    pub(crate) division: usize,
    pub(crate) team: usize,
    /// Talk-time factor of this agent (some are quicker than others).
    pub(crate) pace: f64,
}

/// The fixed world every conversation of a seed lives in.
#[derive(Debug, Clone)]
pub struct Universe {
    pub(crate) divisions: Vec<Division>,
    pub(crate) business_units: Vec<BusinessUnit>,
    pub(crate) queues: Vec<Queue>,
    pub(crate) teams: Vec<Team>,
    pub(crate) agents: Vec<Agent>,
    pub(crate) flows: Vec<Flow>,
    pub(crate) wrap_up_codes: Vec<WrapUpCode>,
    pub(crate) campaigns: Vec<Campaign>,
    pub(crate) evaluation_forms: Vec<Form>,
    pub(crate) survey_forms: Vec<Form>,
    pub(crate) queue_meta: Vec<QueueMeta>,
    pub(crate) agent_meta: Vec<AgentMeta>,
    agents_by_division: Vec<Vec<usize>>,
    pub(crate) flow_versions: Vec<String>,
    pub(crate) flow_outcomes: Vec<String>,
    pub(crate) edges: Vec<String>,
    /// The number customers dial per division (the IVR's DNIS), `+1800555....`.
    pub(crate) division_numbers: Vec<String>,
    pub(crate) division_mailboxes: Vec<String>,
    /// What the Buzzeasy feed adds: channels, bot steps, supervisors, scripts, …
    pub(crate) buzz: BuzzWorld,
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

    pub(crate) fn pick_queue(&self, rng: &mut Rng, media: &str) -> usize {
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
    pub(crate) fn transfer_queue(&self, rng: &mut Rng, from: usize, media: &str) -> usize {
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

    pub(crate) fn pick_agent(&self, rng: &mut Rng, division: usize, not: Option<usize>) -> usize {
        let pool = &self.agents_by_division[division];
        loop {
            let a = pool[rng.index(pool.len())];
            if Some(a) != not {
                return a;
            }
        }
    }

    pub(crate) fn wrap_up(&self, rng: &mut Rng, division: usize) -> String {
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
