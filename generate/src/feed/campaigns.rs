//! The campaign record behind a campaign call or a callback: the record, its custom fields, its
//! registration and now and then another phone number of the customer.

use super::{Feed, Leg, RowB, secs};
use crate::{DAY, HOUR, MIN};
use domain::buzzeasy::Table;
use serde_json::Value;

const OFFERS: [&str; 4] = [
    "Gold upgrade",
    "Family bundle",
    "Loyalty discount",
    "Fibre 1G",
];
const PREFERRED_TIMES: [&str; 3] = ["Morning", "Afternoon", "Evening"];

impl Feed<'_> {
    /// The campaign record behind a campaign call or a callback, with its custom fields,
    /// registration and sometimes another phone number.
    pub(super) fn campaign_record(&mut self, legs: &[Leg<'_>], unit: usize, start: i64) {
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
