//! The Buzzeasy side of the universe (the tenant, channels, bot steps, users, callback campaigns,
//! scripts) and the feed's lookups.

use super::{MEDIA_GROUPS, RowB, media_group};
use crate::numerics::{Rng, fmt_time, mix64};
use crate::universe::{
    AGENTS_PER_TEAM, Agent, BUSINESS_UNITS, CAMPAIGNS, FIRST_NAMES, FLOWS, LAST_NAMES, QUEUES,
    TEAMS, Universe,
};
use crate::{DAY, Generator, SALT_BUZZ_UNIVERSE};
use domain::buzzeasy::Table;
use serde_json::Value;

/// The bot steps of every IVR: a greeting, then one per flow outcome (in
/// [`FLOW_OUTCOMES`](crate::universe::FLOW_OUTCOMES) order), then a caller-number match.
const IVR_STEPS: [(&str, &str); 7] = [
    ("Welcome", "announcement"),
    ("Identify caller", "identifyCustomer"),
    ("Account PIN", "question"),
    ("Main menu", "autoAttendant"),
    ("Self-service bot", "customBot"),
    ("Language menu", "menuSelection"),
    ("VIP caller match", "matchAni"),
];
pub(super) const IVR_WELCOME: usize = 0;
pub(super) const IVR_VIP_MATCH: usize = 6;
/// The bot steps of the chat and messaging routing flows.
const CHAT_STEPS: [(&str, &str); 2] = [("Welcome", "announcement"), ("FAQ bot", "qna")];
/// The bot steps of the email routing flow.
const EMAIL_STEPS: [(&str, &str); 2] = [
    ("Intent evaluator", "customerIntentEvaluator"),
    ("Acknowledgement", "sendEmailReply"),
];
/// The agent scripts of the divisions (workitems that ran one have collected data).
const SCRIPTS: [&str; 4] = [
    "Care call script",
    "Sales call script",
    "Troubleshooting script",
    "Billing call script",
];

#[derive(Debug, Clone)]
pub(super) struct BotStep {
    pub(super) id: String,
    name: String,
    pub(super) bot_type: &'static str,
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
pub(crate) struct BuzzWorld {
    tenant_id: String,
    /// Channel ids by business unit and media group: `unit * MEDIA_GROUPS.len() + group`.
    channels: Vec<String>,
    pub(super) bot_steps: Vec<BotStep>,
    /// The bot steps of each flow ([`FLOWS`] order), as indexes into `bot_steps`.
    pub(super) flow_steps: Vec<Vec<usize>>,
    users: Vec<User>,
    /// The callback campaign of each business unit.
    pub(super) callback_campaigns: Vec<String>,
    /// The agent script of each division.
    pub(super) scripts: Vec<String>,
    pub(super) qna_config: String,
    agent_index: std::collections::HashMap<String, usize>,
}

impl BuzzWorld {
    pub(crate) fn new(seed: u64, agents: &[Agent]) -> Self {
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

    pub(super) fn channel(&self, unit: usize, group: usize) -> &str {
        &self.channels[unit * MEDIA_GROUPS.len() + group]
    }
}

impl Universe {
    pub(super) fn queue_index(&self, id: &str) -> Option<usize> {
        self.queues.iter().position(|q| q.id == id)
    }

    pub(super) fn agent_index(&self, id: &str) -> Option<usize> {
        self.buzz.agent_index.get(id).copied()
    }

    /// The business unit (index) of an agent's team.
    pub(super) fn agent_unit(&self, agent: usize) -> usize {
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

    pub(super) fn wrap_up_name(&self, id: &str) -> Option<&str> {
        self.wrap_up_codes
            .iter()
            .find(|w| w.id == id)
            .map(|w| w.name.as_str())
    }
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
}
