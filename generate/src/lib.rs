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

mod conversation;
mod feed;
mod numerics;
mod universe;

pub use conversation::{Generator, SHORT_ABANDON_MS};
pub use feed::TENANT_TIME_ZONE;
pub use universe::{
    Agent, BusinessUnit, Campaign, Division, Flow, Form, Queue, Team, Universe, WrapUpCode,
};

/// Days over which conversations are spread, from `start`.
pub const DAYS: i64 = 30;

pub(crate) const SEC: i64 = 1_000;
pub(crate) const MIN: i64 = 60 * SEC;
pub(crate) const HOUR: i64 = 60 * MIN;
pub(crate) const DAY: i64 = 24 * HOUR;

// The salts of the random streams, one per stream, kept together so that they stay distinct.
pub(crate) const SALT_UNIVERSE: u64 = 0x5EED_0000_0000_0001;
pub(crate) const SALT_CONVERSATION: u64 = 0x5EED_0000_0000_0002;
pub(crate) const SALT_CONVERSATION_ID: u64 = 0x5EED_0000_0000_0003;
pub(crate) const SALT_CUSTOMER: u64 = 0x5EED_0000_0000_0004;
pub(crate) const SALT_BUZZ_UNIVERSE: u64 = 0x5EED_0000_0000_0005;
pub(crate) const SALT_FEED: u64 = 0x5EED_0000_0000_0006;
pub(crate) const SALT_DECLINE: u64 = 0x5EED_0000_0000_0007;
pub(crate) const SALT_QUEUE_EXIT: u64 = 0x5EED_0000_0000_0008;
