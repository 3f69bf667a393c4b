//! The rules of conversation aggregates: granularities (ISO-8601 durations), time buckets
//! aligned in an IANA time zone, the dimensions a dashboard groups by and the metrics it asks
//! for, with the Genesys names and meanings.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The most buckets one query may make.
pub const MAX_BUCKETS: usize = 2000;

/// How long a bucket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// A whole number of minutes that divides a day (PT15M, PT30M, PT1H, PT4H, …): buckets start
    /// on the zone's clock at multiples of it since midnight.
    Minutes(u32),
    /// Days (P1D) or weeks (P7D, P1W): buckets start at the zone's midnight; weeks on Mondays.
    Days(u32),
    /// Calendar months (P1M, P3M): buckets start at the zone's midnight on the 1st.
    Months(u32),
}

impl Granularity {
    /// Parses `PT15M`, `PT30M`, `PT1H`, `P1D`, `P7D`, `P1W`, `P1M`, …
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "granularity {text:?} is not an ISO-8601 duration convgraph buckets by: use minutes \
                 or hours that divide a day (PT15M, PT30M, PT1H), days (P1D), weeks (P7D, P1W) or \
                 months (P1M)"
            )
        };
        let number = |digits: &str| digits.parse::<u32>().ok().filter(|n| *n > 0);
        let g = if let Some(rest) = text.strip_prefix("PT") {
            let (digits, unit) = rest.split_at(rest.len().saturating_sub(1));
            let n = number(digits).ok_or_else(bad)?;
            match unit {
                "M" => Granularity::Minutes(n),
                "H" => Granularity::Minutes(n.checked_mul(60).ok_or_else(bad)?),
                _ => return Err(bad()),
            }
        } else if let Some(rest) = text.strip_prefix('P') {
            let (digits, unit) = rest.split_at(rest.len().saturating_sub(1));
            let n = number(digits).ok_or_else(bad)?;
            match unit {
                "D" => Granularity::Days(n),
                "W" => Granularity::Days(n.checked_mul(7).ok_or_else(bad)?),
                "M" => Granularity::Months(n),
                _ => return Err(bad()),
            }
        } else {
            return Err(bad());
        };
        match g {
            Granularity::Minutes(m) if 1440 % m != 0 => Err(bad()),
            Granularity::Days(d) if d != 1 && d % 7 != 0 => Err(format!(
                "granularity {text:?}: days must be P1D or whole weeks (P7D, P14D)"
            )),
            g => Ok(g),
        }
    }
}

/// The bucket boundaries covering `[start, end)`: `b[0] <= start < … < b[n] >= end`, each a
/// moment the zone's clock shows a bucket start. Across a daylight-saving change a day bucket is
/// 23 or 25 hours long and the clock-aligned sub-day buckets keep their length.
pub fn buckets(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    granularity: Option<Granularity>,
    zone: Tz,
) -> Result<Vec<DateTime<Utc>>, String> {
    let Some(granularity) = granularity else {
        return Ok(vec![start, end]);
    };
    let local = start.with_timezone(&zone).naive_local();
    let midnight = local.date().and_hms_opt(0, 0, 0).unwrap_or(local);
    let mut out = Vec::new();
    let mut push = |t: DateTime<Utc>| -> Result<bool, String> {
        if out.last().is_some_and(|last| *last >= t) {
            return Ok(true);
        }
        out.push(t);
        if out.len() > MAX_BUCKETS + 1 {
            return Err(format!(
                "the interval and granularity make more than {MAX_BUCKETS} buckets: ask for a \
                 shorter interval or a coarser granularity"
            ));
        }
        Ok(t < end)
    };
    match granularity {
        Granularity::Minutes(m) => {
            // Align on the zone's clock, then step in real time: a bucket keeps its length when
            // the clock jumps.
            let step = Duration::minutes(i64::from(m));
            let since = local - midnight;
            let aligned = midnight + step * (since.num_minutes() / i64::from(m)) as i32;
            let mut t = earliest(zone, aligned);
            // The zone's clock may show `aligned` after `start` (a gap); step back until not.
            while t > start {
                t -= step;
            }
            while push(t)? {
                t += step;
            }
        }
        Granularity::Days(d) => {
            let mut day = midnight.date();
            if d % 7 == 0 {
                day -= Duration::days(i64::from(day.weekday().num_days_from_monday()));
            }
            while push(earliest(zone, day.and_time(Default::default())))? {
                day += Duration::days(i64::from(d));
            }
        }
        Granularity::Months(n) => {
            let mut month = NaiveDate::from_ymd_opt(local.year(), local.month(), 1)
                .ok_or("a month out of range")?;
            while push(earliest(zone, month.and_time(Default::default())))? {
                month = month
                    .checked_add_months(chrono::Months::new(n))
                    .ok_or("a month out of range")?;
            }
        }
    }
    Ok(out)
}

/// The first moment the zone's clock shows `local` (or, in a gap, the first after it).
fn earliest(zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let mut t = local;
    loop {
        if let Some(at) = zone.from_local_datetime(&t).earliest() {
            return at.with_timezone(&Utc);
        }
        t += Duration::minutes(15);
    }
}

/// A dimension to group or filter by: its GraphQL name and its column in `metric_facts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    QueueId,
    UserId,
    MediaType,
    Direction,
    OriginatingDirection,
    DivisionId,
    BusinessUnitId,
    Purpose,
    WrapUpCode,
    DisconnectType,
    FlowId,
    RequestedRouting,
    UsedRouting,
}

impl Dimension {
    pub const ALL: &'static [Dimension] = &[
        Dimension::QueueId,
        Dimension::UserId,
        Dimension::MediaType,
        Dimension::Direction,
        Dimension::OriginatingDirection,
        Dimension::DivisionId,
        Dimension::BusinessUnitId,
        Dimension::Purpose,
        Dimension::WrapUpCode,
        Dimension::DisconnectType,
        Dimension::FlowId,
        Dimension::RequestedRouting,
        Dimension::UsedRouting,
    ];

    /// The Genesys spelling.
    pub fn name(self) -> &'static str {
        match self {
            Dimension::QueueId => "queueId",
            Dimension::UserId => "userId",
            Dimension::MediaType => "mediaType",
            Dimension::Direction => "direction",
            Dimension::OriginatingDirection => "originatingDirection",
            Dimension::DivisionId => "divisionId",
            Dimension::BusinessUnitId => "businessUnitId",
            Dimension::Purpose => "purpose",
            Dimension::WrapUpCode => "wrapUpCode",
            Dimension::DisconnectType => "disconnectType",
            Dimension::FlowId => "flowId",
            Dimension::RequestedRouting => "requestedRouting",
            Dimension::UsedRouting => "usedRouting",
        }
    }

    pub fn parse(name: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .copied()
            .find(|d| d.name() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = Self::ALL.iter().map(|d| d.name()).collect();
                format!("unknown dimension {name:?}; known: {}", known.join(", "))
            })
    }
}

/// A metric a query may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    pub name: &'static str,
    pub description: &'static str,
}

/// Metrics read straight from the stored session metrics: a metric's stats over a bucket and
/// group are the count, sum, min and max of the values emitted in that bucket by sessions of that
/// group. `n` metrics count (value 1), `t` metrics are milliseconds.
pub const STORED_METRICS: &[Metric] = &[
    m(
        "nOffered",
        "Interactions offered to a queue (counted when they enter it).",
    ),
    m(
        "nConnected",
        "Interactions connected to an agent or user (counted when they connect).",
    ),
    m(
        "nTransferred",
        "Interactions transferred (blind or consult) away from a session.",
    ),
    m(
        "nBlindTransferred",
        "Interactions blind-transferred (without a consult).",
    ),
    m("nConsult", "Consults started by an agent."),
    m(
        "nConsultTransferred",
        "Interactions transferred after a consult.",
    ),
    m("nOutbound", "Outbound interactions placed."),
    m("nOutboundAttempted", "Outbound dialer attempts."),
    m(
        "nOutboundConnected",
        "Outbound dialer attempts that reached a person.",
    ),
    m(
        "nOutboundAbandoned",
        "Outbound dialer calls abandoned before an agent connected.",
    ),
    m(
        "nOverSla",
        "Interactions answered after the queue's service-level target.",
    ),
    m("nError", "Sessions that ended in an error."),
    m("nFlow", "Sessions that entered an IVR or bot flow."),
    m(
        "nFlowOutcome",
        "Flow outcomes reached (success or failure).",
    ),
    m(
        "nFlowOutcomeFailed",
        "Flow outcomes reached with the value FAILURE.",
    ),
    m(
        "tAnswered",
        "Time from entering the queue to being answered by an agent (answered only).",
    ),
    m(
        "tAbandon",
        "Time in queue before the customer hung up without being answered.",
    ),
    m(
        "tShortAbandon",
        "Abandons shorter than the short-abandon threshold (10 s in generated data), as the \
         source emits them; each is counted in tAbandon too.",
    ),
    m("tAcd", "Time in queue (ACD), answered or not."),
    m("tWait", "Time waiting in queue, as the source emits it."),
    m(
        "tAlert",
        "Time an agent's session rang before it was answered or missed.",
    ),
    m(
        "tNotResponding",
        "Time an agent's session rang without being answered.",
    ),
    m(
        "tTalk",
        "Time talking in one interact segment (emitted per segment).",
    ),
    m(
        "tTalkComplete",
        "Total talk time of a session (emitted once, when it ends).",
    ),
    m("tHeld", "Time on hold in one hold segment."),
    m(
        "tHeldComplete",
        "Total hold time of a session (emitted once, when it ends).",
    ),
    m("tAcw", "After-call work (wrap-up) time."),
    m(
        "tHandle",
        "Handle time of an agent's session: talk + hold + after-call work.",
    ),
    m("tIvr", "Time in the IVR."),
    m("tDialing", "Time dialing an outbound call."),
    m(
        "tContacting",
        "Time from dialing until the called party answered.",
    ),
    m("tFlow", "Time in a flow."),
    m(
        "tFlowExit",
        "Time in a flow, for sessions that left it by exiting or transferring.",
    ),
    m(
        "tFlowDisconnect",
        "Time in a flow, for sessions that disconnected in it.",
    ),
    m(
        "tFlowOut",
        "Time before flowing out. In a queue: until an in-queue flow moved the interaction out \
         unanswered (to voicemail, a callback or another queue), which is not an abandon, so \
         per queue nOffered = count(tAnswered) + count(tAbandon) + count(tFlowOut). In a flow: \
         until it left the flow for a queue.",
    ),
    m(
        "tFlowOutcome",
        "Time from the start of a flow outcome to reaching it.",
    ),
    m("tVoicemail", "Time leaving a voicemail."),
    m("tMonitoring", "Time monitoring another session."),
    m("tCoaching", "Time coaching another session."),
];

/// Metrics computed from stored ones.
pub const DERIVED_METRICS: &[Metric] = &[m(
    "oServiceLevel",
    "Service level: answered within target over answered plus abandoned. numerator = \
     count(tAnswered) - count(nOverSla); denominator = count(tAnswered) + count(tAbandon); \
     ratio = numerator / denominator (null when nothing was answered or abandoned).",
)];

const fn m(name: &'static str, description: &'static str) -> Metric {
    Metric { name, description }
}

/// The metric named `name`, if convgraph knows it.
pub fn metric(name: &str) -> Result<Metric, String> {
    STORED_METRICS
        .iter()
        .chain(DERIVED_METRICS)
        .copied()
        .find(|m| m.name == name)
        .ok_or_else(|| {
            format!("unknown metric {name:?}; the metrics are listed by `aggregateMetrics`")
        })
}

/// The aggregates beside `conversationAggregates`, over the other tables of the model: each
/// counts a row in the bucket of one of its times, groups by the row's own columns, and knows
/// its own metrics. Bucketing, granularities and time zones are those of [`buckets`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sibling {
    /// `workitemAggregates`: the Buzzeasy feed's workitems (agent tasks), by start time.
    Workitems,
    /// `flowAggregates`: Genesys flow metric records, by metric date.
    Flows,
    /// `campaignRecordAggregates`: the Buzzeasy feed's campaign records, by creation time.
    CampaignRecords,
    /// `agentStateAggregates`: the Buzzeasy feed's agent states, by start time.
    AgentStates,
}

impl Sibling {
    pub const ALL: [Sibling; 4] = [
        Sibling::Workitems,
        Sibling::Flows,
        Sibling::CampaignRecords,
        Sibling::AgentStates,
    ];

    /// The GraphQL root that answers it.
    pub fn root(self) -> &'static str {
        match self {
            Sibling::Workitems => "workitemAggregates",
            Sibling::Flows => "flowAggregates",
            Sibling::CampaignRecords => "campaignRecordAggregates",
            Sibling::AgentStates => "agentStateAggregates",
        }
    }

    /// The GraphQL field that lists its metrics with their definitions.
    pub fn listing(self) -> &'static str {
        match self {
            Sibling::Workitems => "workitemAggregateMetrics",
            Sibling::Flows => "flowAggregateMetrics",
            Sibling::CampaignRecords => "campaignRecordAggregateMetrics",
            Sibling::AgentStates => "agentStateAggregateMetrics",
        }
    }

    pub fn metrics(self) -> &'static [Metric] {
        match self {
            Sibling::Workitems => WORKITEM_METRICS,
            Sibling::Flows => FLOW_METRICS,
            Sibling::CampaignRecords => CAMPAIGN_RECORD_METRICS,
            Sibling::AgentStates => AGENT_STATE_METRICS,
        }
    }

    /// The dimensions it groups and filters by, as GraphQL spells them.
    pub fn dimensions(self) -> &'static [&'static str] {
        match self {
            Sibling::Workitems => WORKITEM_DIMENSIONS,
            Sibling::Flows => FLOW_DIMENSIONS,
            Sibling::CampaignRecords => CAMPAIGN_RECORD_DIMENSIONS,
            Sibling::AgentStates => AGENT_STATE_DIMENSIONS,
        }
    }

    /// The metric named `name`, or an error that names the known ones.
    pub fn metric(self, name: &str) -> Result<Metric, String> {
        self.metrics()
            .iter()
            .copied()
            .find(|m| m.name == name)
            .ok_or_else(|| {
                let known: Vec<&str> = self.metrics().iter().map(|m| m.name).collect();
                format!(
                    "unknown metric {name:?} for {}; known: {} (defined by `{}`)",
                    self.root(),
                    known.join(", "),
                    self.listing()
                )
            })
    }

    /// The dimension named `name` (its canonical spelling), or an error that names the known
    /// ones.
    pub fn dimension(self, name: &str) -> Result<&'static str, String> {
        self.dimensions()
            .iter()
            .copied()
            .find(|d| *d == name)
            .ok_or_else(|| {
                format!(
                    "unknown dimension {name:?} for {}; known: {}",
                    self.root(),
                    self.dimensions().join(", ")
                )
            })
    }
}

pub const WORKITEM_DIMENSIONS: &[&str] = &[
    "agentId",
    "queueId",
    "mediaType",
    "businessUnitId",
    "result",
];

/// Workitem metrics. A workitem counts in the bucket of its start time (`startTimeUtc`; one
/// without is in none). The feed's durations are seconds; the `t` metrics are milliseconds, like
/// Genesys' (seconds × 1000, rounded to the nearest millisecond), so that a dashboard treats
/// every `t` metric alike. A `t` metric has a value only where the time is positive.
pub const WORKITEM_METRICS: &[Metric] = &[
    m(
        "nWorkitems",
        "Workitems (agent tasks) created, whatever their result: value 1 each, counted in the \
         bucket of the workitem's start time (startTimeUtc).",
    ),
    m(
        "nHandled",
        "Workitems with the result Handled (the agent handled the task and closed it normally): \
         value 1 each, in the bucket of the start time. The result compares without regard to \
         case.",
    ),
    m(
        "nMissed",
        "Workitems with the result Missed (the agent did not accept the task in time and RONA \
         moved them to break): value 1 each, in the bucket of the start time.",
    ),
    m(
        "nRejected",
        "Workitems with the result Rejected (the agent declined the task): value 1 each, in the \
         bucket of the start time.",
    ),
    m(
        "nAbandoned",
        "Workitems with the result Abandoned (the customer left while the task was offered to \
         the agent): value 1 each, in the bucket of the start time.",
    ),
    m(
        "nCancelled",
        "Workitems with the result Cancelled (outbound: the agent closed the task without \
         starting a conversation): value 1 each, in the bucket of the start time.",
    ),
    m(
        "tActive",
        "Active time of a workitem, without preview and wrap-up (activeDurationInSeconds), in \
         milliseconds: the feed's seconds × 1000, rounded to the nearest millisecond. One value \
         per workitem with a positive active time, in the bucket of its start time.",
    ),
    m(
        "tPreview",
        "Time the task was offered before the agent accepted it (previewDuration, seconds in \
         the feed), in milliseconds. One value per workitem with a positive preview time, in \
         the bucket of its start time.",
    ),
    m(
        "tWrapUp",
        "Wrap-up time of a workitem (wrapUpDuration, seconds in the feed), in milliseconds. One \
         value per workitem with a positive wrap-up time, in the bucket of its start time.",
    ),
    m(
        "tHandle",
        "Handle time of a workitem: its active time plus its wrap-up time, each in milliseconds \
         as tActive and tWrapUp (a missing one counts 0), so that sum(tHandle) = sum(tActive) + \
         sum(tWrapUp) in every bucket and group. One value per workitem with a positive handle \
         time, in the bucket of its start time.",
    ),
    m(
        "tLookup",
        "Time in the Lookup state, outbound or contact lookup only (lookupDuration, seconds in \
         the feed), in milliseconds. One value per workitem with a positive lookup time, in the \
         bucket of its start time.",
    ),
];

pub const FLOW_DIMENSIONS: &[&str] = &[
    "flowId",
    "flowName",
    "flowType",
    "flowVersion",
    "entryType",
    "entryReason",
    "exitReason",
    "flowOutType",
    "transferType",
    "mediaType",
    "direction",
    "originatingDirection",
    "queueId",
    "divisionId",
];

/// Flow metrics: the metric names Genesys flow metric records carry (`metric`), each record one
/// value (`value`, as the platform sends it: 1 for an `n` metric, milliseconds for a `t` metric)
/// counted in the bucket of its `metricDate`. A record without a value counts nowhere.
pub const FLOW_METRICS: &[Metric] = &[
    m(
        "nFlow",
        "Flows entered: one record (value 1) per IVR, bot or workflow a conversation entered, in \
         the bucket of its metricDate.",
    ),
    m(
        "nFlowMilestone",
        "Flow milestones reached: one record per milestone, in the bucket of its metricDate.",
    ),
    m(
        "nFlowOutcome",
        "Flow outcomes reached, successful or not: one record per outcome, in the bucket of its \
         metricDate.",
    ),
    m(
        "nFlowOutcomeFailed",
        "Flow outcomes reached with a failure: one record per failed outcome, in the bucket of \
         its metricDate.",
    ),
    m(
        "oFlowMilestone",
        "Milestones of a flow, as an observation the record carries (its value as sent), in the \
         bucket of its metricDate.",
    ),
    m(
        "tFlow",
        "Time in a flow, in milliseconds as the record sends it, in the bucket of its \
         metricDate (the flow's end).",
    ),
    m(
        "tFlowDisconnect",
        "Time in a flow for sessions that disconnected in it, in milliseconds, in the bucket of \
         the record's metricDate.",
    ),
    m(
        "tFlowExit",
        "Time in a flow for sessions that left it by exiting or transferring, in milliseconds, \
         in the bucket of the record's metricDate.",
    ),
    m(
        "tFlowOut",
        "Time in a flow before flowing out to a queue (flowOutType says how), in milliseconds, \
         in the bucket of the record's metricDate.",
    ),
    m(
        "tFlowOutcome",
        "Time from the start of a flow outcome to reaching it, in milliseconds, in the bucket of \
         the record's metricDate.",
    ),
];

pub const CAMPAIGN_RECORD_DIMENSIONS: &[&str] = &["campaignId", "status"];

/// Campaign record metrics. A record counts in the bucket of its creation time (`createdAtUtc`);
/// times are converted from the feed's seconds to milliseconds as for workitems.
pub const CAMPAIGN_RECORD_METRICS: &[Metric] = &[
    m(
        "nRecords",
        "Campaign records created: value 1 each, in the bucket of the record's creation time \
         (createdAtUtc).",
    ),
    m(
        "tCustomerRing",
        "Customer ring time of a record over all its dial attempts \
         (totalCustomerRingTimeInSeconds), in milliseconds: seconds × 1000, rounded to the \
         nearest millisecond. One value per record with a positive ring time, in the bucket of \
         its creation time.",
    ),
    m(
        "tTalk",
        "Talk time with the customer of a record over all its dial attempts \
         (totalTalkTimeInSeconds), in milliseconds: seconds × 1000, rounded to the nearest \
         millisecond. One value per record with a positive talk time, in the bucket of its \
         creation time.",
    ),
];

pub const AGENT_STATE_DIMENSIONS: &[&str] = &["agentId", "state", "breakName"];

/// Agent state metrics. A state counts in the bucket where it starts (`startTimeUtc`), with its
/// whole duration, even when it runs on into later buckets.
pub const AGENT_STATE_METRICS: &[Metric] = &[
    m(
        "nStates",
        "Agent states entered (Idle, Busy, Break, Logged out, …): value 1 each, in the bucket \
         where the state starts (startTimeUtc).",
    ),
    m(
        "tState",
        "Time an agent spent in a state (durationInSeconds), in milliseconds: seconds × 1000, \
         rounded to the nearest millisecond. The whole duration counts in the bucket where the \
         state starts, even when it runs on into later buckets; one value per state with a \
         positive duration (a state still running has none yet).",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("time").to_utc()
    }

    fn hours(b: &[DateTime<Utc>]) -> Vec<i64> {
        b.windows(2).map(|w| (w[1] - w[0]).num_minutes()).collect()
    }

    #[test]
    fn granularities_parse_and_bad_ones_say_why() {
        assert_eq!(Granularity::parse("PT30M"), Ok(Granularity::Minutes(30)));
        assert_eq!(Granularity::parse("PT1H"), Ok(Granularity::Minutes(60)));
        assert_eq!(Granularity::parse("P1D"), Ok(Granularity::Days(1)));
        assert_eq!(Granularity::parse("P1W"), Ok(Granularity::Days(7)));
        assert_eq!(Granularity::parse("P1M"), Ok(Granularity::Months(1)));
        for bad in ["", "PT7M", "PT0M", "P2D", "1H", "PT1S", "PTM", "P1Y"] {
            let e = Granularity::parse(bad).expect_err(bad);
            assert!(e.contains("granularity"), "{bad}: {e}");
        }
    }

    #[test]
    fn day_buckets_follow_the_zone_across_daylight_saving_changes() {
        // Europe/Berlin leaves summer time on 2026-10-25 (a 25-hour day) and New York on
        // 2026-11-01; Berlin enters it on 2026-03-29 (a 23-hour day).
        let berlin: Tz = "Europe/Berlin".parse().expect("zone");
        let b = buckets(
            t("2026-10-23T22:00:00Z"),
            t("2026-10-26T23:00:00Z"),
            Some(Granularity::Days(1)),
            berlin,
        )
        .expect("buckets");
        assert_eq!(b[0], t("2026-10-23T22:00:00Z"));
        assert_eq!(hours(&b), vec![24 * 60, 25 * 60, 24 * 60]);
        let b = buckets(
            t("2026-03-28T23:00:00Z"),
            t("2026-03-30T22:00:00Z"),
            Some(Granularity::Days(1)),
            berlin,
        )
        .expect("buckets");
        assert_eq!(hours(&b), vec![23 * 60, 24 * 60]);
        let new_york: Tz = "America/New_York".parse().expect("zone");
        let b = buckets(
            t("2026-10-31T04:00:00Z"),
            t("2026-11-02T05:00:00Z"),
            Some(Granularity::Days(1)),
            new_york,
        )
        .expect("buckets");
        assert_eq!(b[1], t("2026-11-01T04:00:00Z"));
        assert_eq!(b[2], t("2026-11-02T05:00:00Z"));
        assert_eq!(hours(&b), vec![24 * 60, 25 * 60]);
    }

    #[test]
    fn half_hours_keep_their_length_and_the_clock_alignment_across_a_change() {
        let new_york: Tz = "America/New_York".parse().expect("zone");
        let b = buckets(
            t("2026-11-01T04:00:00Z"),
            t("2026-11-01T09:00:00Z"),
            Some(Granularity::Minutes(30)),
            new_york,
        )
        .expect("buckets");
        assert!(hours(&b).iter().all(|m| *m == 30));
        assert_eq!(b.len(), 11);
        // India is 5:30 ahead: its hours start at :30 UTC.
        let kolkata: Tz = "Asia/Kolkata".parse().expect("zone");
        let b = buckets(
            t("2026-11-01T00:00:00Z"),
            t("2026-11-01T03:00:00Z"),
            Some(Granularity::Minutes(60)),
            kolkata,
        )
        .expect("buckets");
        assert_eq!(b[0], t("2026-10-31T23:30:00Z"));
        assert_eq!(b.last().copied(), Some(t("2026-11-01T03:30:00Z")));
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        let utc: Tz = "UTC".parse().expect("zone");
        let b = buckets(
            t("2026-11-04T10:00:00Z"),
            t("2026-11-20T00:00:00Z"),
            Some(Granularity::Days(7)),
            utc,
        )
        .expect("buckets");
        assert_eq!(b[0], t("2026-11-02T00:00:00Z"));
        let b = buckets(
            t("2026-01-15T00:00:00Z"),
            t("2026-04-01T00:00:00Z"),
            Some(Granularity::Months(1)),
            utc,
        )
        .expect("buckets");
        assert_eq!(
            b,
            vec![
                t("2026-01-01T00:00:00Z"),
                t("2026-02-01T00:00:00Z"),
                t("2026-03-01T00:00:00Z"),
                t("2026-04-01T00:00:00Z")
            ]
        );
    }

    #[test]
    fn too_many_buckets_is_an_error_not_a_slow_query() {
        let utc: Tz = "UTC".parse().expect("zone");
        let e = buckets(
            t("2026-01-01T00:00:00Z"),
            t("2026-12-31T00:00:00Z"),
            Some(Granularity::Minutes(15)),
            utc,
        )
        .expect_err("too many");
        assert!(e.contains("2000"), "{e}");
    }

    #[test]
    fn metrics_and_dimensions_are_known_by_their_genesys_names() {
        assert!(metric("tHandle").is_ok());
        assert!(metric("oServiceLevel").is_ok());
        assert!(metric("tFoo").expect_err("unknown").contains("tFoo"));
        assert_eq!(Dimension::parse("queueId"), Ok(Dimension::QueueId));
        assert!(
            Dimension::parse("queue")
                .expect_err("unknown")
                .contains("queueId")
        );
    }
}

#[cfg(test)]
mod sibling_tests {
    use super::*;

    #[test]
    fn each_sibling_knows_its_metrics_and_dimensions_and_names_them_when_asked_wrong() {
        assert_eq!(
            Sibling::Workitems.metric("tHandle").map(|m| m.name),
            Ok("tHandle")
        );
        assert_eq!(Sibling::Workitems.dimension("agentId"), Ok("agentId"));
        let e = Sibling::Workitems
            .metric("nOffered")
            .expect_err("a conversation metric");
        assert!(
            e.contains("\"nOffered\"") && e.contains("nHandled, nMissed"),
            "{e}"
        );
        assert!(e.contains("workitemAggregateMetrics"), "{e}");
        let e = Sibling::AgentStates
            .dimension("queueId")
            .expect_err("not a state's");
        assert!(e.contains("agentId, state, breakName"), "{e}");
        for sibling in Sibling::ALL {
            let names: Vec<&str> = sibling.metrics().iter().map(|m| m.name).collect();
            let mut unique = names.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), names.len(), "{sibling:?}");
            assert!(!sibling.dimensions().is_empty());
        }
    }

    #[test]
    fn every_duration_metric_of_the_feed_says_it_is_in_milliseconds() {
        for sibling in [
            Sibling::Workitems,
            Sibling::CampaignRecords,
            Sibling::AgentStates,
        ] {
            for metric in sibling.metrics() {
                if metric.name.starts_with('t') {
                    assert!(
                        metric.description.contains("milliseconds")
                            && metric.description.contains("seconds"),
                        "{}",
                        metric.name
                    );
                }
            }
        }
    }
}
