//! The conversation roots: `conversation(id:)` and the `conversations` connection, with its
//! filters, ordering and keyset cursors, forwards (`first` / `after`) and backwards (`last` /
//! `before`).

use async_graphql::{Context, Enum, ErrorExtensions, InputObject, Object, Result};
use db::select::{ConversationFilter, Keyset, List, OrderKey, Walk};

use crate::auth::{Caller, PII_READ};
use crate::context::{parse_interval, request};
use crate::error::ApiError;
use crate::objects::{ConversationConnectionShape, ConversationShape, Object as One, Page};

const DEFAULT_PAGE: i32 = 25;

/// The conversation roots.
#[derive(Default)]
pub struct ConversationQuery;

#[Object]
impl ConversationQuery {
    /// A conversation by id; null when it does not exist or is outside your scope (the two are
    /// indistinguishable on purpose).
    async fn conversation(&self, id: async_graphql::ID) -> Result<Option<One<ConversationShape>>> {
        Ok(Some(One::new(id.0)))
    }

    /// Conversations in your scope that match `filter`, a page at a time, in `orderBy` order
    /// (oldest start first by default). Page forwards with `first` / `after` (the `endCursor` of
    /// the previous page) or backwards with `last` / `before` (its `startCursor`). Cursors stay
    /// valid while rows are added: a page never repeats or skips a conversation that was there
    /// before.
    #[allow(clippy::too_many_arguments)]
    #[graphql(
        complexity = "crate::limits::page_complexity(first.or(last), DEFAULT_PAGE, child_complexity)"
    )]
    async fn conversations(
        &self,
        ctx: &Context<'_>,
        filter: Option<ConversationFilterInput>,
        order_by: Option<ConversationOrder>,
        #[graphql(
            desc = "Page size going forwards (default 25; at most 500 unless configured otherwise)."
        )]
        first: Option<i32>,
        #[graphql(desc = "Start after this cursor (an `endCursor` or edge cursor).")] after: Option<
            String,
        >,
        #[graphql(desc = "Page size going backwards (at most 500 unless configured otherwise).")]
        last: Option<i32>,
        #[graphql(desc = "End before this cursor (a `startCursor` or edge cursor).")]
        before: Option<String>,
    ) -> Result<Page<ConversationConnectionShape>> {
        let (_, caller) = request(ctx)?;
        let order = order_by.unwrap_or_default();
        let filter = filter
            .unwrap_or_default()
            .into_filter(caller)
            .map_err(|e| e.extend())?;
        let max_page = ctx
            .data_opt::<crate::Limits>()
            .map_or(crate::Limits::DEFAULT_MAX_PAGE_SIZE, |limits| {
                limits.max_page_size
            });
        let walk = walk(order, first, after, last, before, max_page).map_err(|e| e.extend())?;
        Ok(Page::new(
            List::Conversations {
                filter: Box::new(filter),
                key: order.field.key(),
            },
            walk,
        ))
    }
}

/// What a list is ordered by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum ConversationOrderField {
    /// `conversationStart`.
    #[default]
    Start,
    /// `conversationEnd`; conversations still in progress are left out of such a list.
    End,
}

impl ConversationOrderField {
    fn key(self) -> OrderKey {
        match self {
            ConversationOrderField::Start => OrderKey::Start,
            ConversationOrderField::End => OrderKey::End,
        }
    }
}

/// Up or down.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum OrderDirection {
    /// Oldest first.
    #[default]
    Asc,
    /// Newest first.
    Desc,
}

/// The order of a conversation list; ties are broken by id.
#[derive(InputObject, Copy, Clone, Default)]
pub struct ConversationOrder {
    /// What to order by (default `START`).
    #[graphql(default)]
    pub field: ConversationOrderField,
    /// Which way (default `ASC`, oldest first).
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// Which conversations to list. Fields combine with AND; the values of one list are
/// alternatives (OR). A list must name at least one value: leave the field out to not filter.
/// Participant, session and segment filters match a conversation when any one of its
/// participants, sessions or segments matches.
#[derive(InputObject, Default)]
pub struct ConversationFilterInput {
    /// ISO-8601 interval `start/end` (e.g. `2026-11-01T00:00:00Z/2026-11-02T00:00:00Z`):
    /// conversations that start inside it, end excluded.
    pub interval: Option<String>,
    /// Conversations in at least one of these divisions.
    pub division_ids: Option<Vec<String>>,
    /// Conversations of one of these business units.
    pub business_unit_ids: Option<Vec<String>>,
    /// `inbound` / `outbound`: how the conversation started.
    pub originating_directions: Option<Vec<String>>,
    /// One of these external tags.
    pub external_tags: Option<Vec<String>>,
    /// Ended conversations that lasted at least this many milliseconds.
    pub min_duration_ms: Option<i64>,
    /// Ended conversations that lasted at most this many milliseconds.
    pub max_duration_ms: Option<i64>,
    /// A participant with one of these purposes (customer, agent, acd, ivr, …).
    pub purposes: Option<Vec<String>>,
    /// A participant that is one of these agents.
    pub user_ids: Option<Vec<String>>,
    /// A session of one of these media types (voice, callback, chat, email, message, …).
    pub media_types: Option<Vec<String>>,
    /// A session in one of these directions (inbound, outbound).
    pub directions: Option<Vec<String>>,
    /// A session from one of these ANIs (calling numbers). Needs `pii:read`.
    pub anis: Option<Vec<String>>,
    /// A session to one of these DNISes (called numbers). Needs `pii:read`.
    pub dnises: Option<Vec<String>>,
    /// A segment in one of these queues.
    pub queue_ids: Option<Vec<String>>,
    /// A segment wrapped up with one of these codes.
    pub wrap_up_codes: Option<Vec<String>>,
    /// A segment that ended in one of these ways (peer, client, transfer, endpoint, …).
    pub disconnect_types: Option<Vec<String>>,
    /// A segment of one of these types (alert, interact, hold, wrapup, ivr, …).
    pub segment_types: Option<Vec<String>>,
    /// Abandoned (a session has a `tAbandon` metric) when true; not abandoned when false.
    pub abandoned: Option<bool>,
}

impl ConversationFilterInput {
    pub(crate) fn into_filter(
        self,
        caller: &Caller,
    ) -> std::result::Result<ConversationFilter, ApiError> {
        if (self.anis.is_some() || self.dnises.is_some()) && !caller.may_read_personal() {
            return Err(ApiError::forbidden(format!(
                "filter.anis and filter.dnises need the {PII_READ} permission"
            )));
        }
        let (start_from, start_before) = match &self.interval {
            None => (None, None),
            Some(interval) => {
                let (a, b) = parse_interval(interval)?;
                (Some(a), Some(b))
            }
        };
        for (name, bound) in [
            ("minDurationMs", self.min_duration_ms),
            ("maxDurationMs", self.max_duration_ms),
        ] {
            if bound.is_some_and(|ms| ms < 0) {
                return Err(ApiError::bad_input(format!(
                    "filter.{name} must not be negative"
                )));
            }
        }
        Ok(ConversationFilter {
            start_from,
            start_before,
            division_ids: list("divisionIds", self.division_ids)?,
            business_unit_ids: list("businessUnitIds", self.business_unit_ids)?,
            originating_directions: list("originatingDirections", self.originating_directions)?,
            external_tags: list("externalTags", self.external_tags)?,
            min_duration_ms: self.min_duration_ms,
            max_duration_ms: self.max_duration_ms,
            purposes: list("purposes", self.purposes)?,
            user_ids: list("userIds", self.user_ids)?,
            media_types: list("mediaTypes", self.media_types)?,
            directions: list("directions", self.directions)?,
            anis: list("anis", self.anis)?,
            dnises: list("dnises", self.dnises)?,
            queue_ids: list("queueIds", self.queue_ids)?,
            wrap_up_codes: list("wrapUpCodes", self.wrap_up_codes)?,
            disconnect_types: list("disconnectTypes", self.disconnect_types)?,
            segment_types: list("segmentTypes", self.segment_types)?,
            abandoned: self.abandoned,
        })
    }
}

/// Values that must name at least one thing.
fn list(
    name: &str,
    values: Option<Vec<String>>,
) -> std::result::Result<Option<Vec<String>>, ApiError> {
    match values {
        Some(v) if v.is_empty() => Err(ApiError::bad_input(format!(
            "filter.{name} is empty: name at least one value, or leave it out"
        ))),
        other => Ok(other),
    }
}

/// How one request walks the list: which way the SQL goes, from where, how far.
fn walk(
    order: ConversationOrder,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
    max_page: usize,
) -> std::result::Result<Walk, ApiError> {
    let backward = last.is_some() || before.is_some();
    if backward && (first.is_some() || after.is_some()) {
        return Err(ApiError::bad_input(
            "page with first/after or with last/before, not both",
        ));
    }
    let (name, size, cursor_name, cursor) = if backward {
        ("last", last, "before", before)
    } else {
        ("first", first, "after", after)
    };
    let size = size.unwrap_or(DEFAULT_PAGE);
    if !usize::try_from(size).is_ok_and(|size| (1..=max_page).contains(&size)) {
        return Err(ApiError::bad_input(format!(
            "{name} must be between 1 and {max_page}, got {size}"
        )));
    }
    let cursor = cursor
        .map(|c| decode_cursor(cursor_name, order.field, &c))
        .transpose()?;
    Ok(Walk {
        size: i64::from(size),
        cursor,
        backward,
        descending: (order.direction == OrderDirection::Desc) != backward,
    })
}

fn key_tag(key: OrderKey) -> &'static str {
    match key {
        OrderKey::Start => "s",
        OrderKey::End => "e",
    }
}

fn decode_cursor(
    name: &str,
    field: ConversationOrderField,
    cursor: &str,
) -> std::result::Result<Keyset, ApiError> {
    let bad = || {
        ApiError::bad_input(format!(
            "{name}: {cursor:?} is not a cursor of a list in this order"
        ))
    };
    let text = unhex(cursor).ok_or_else(bad)?;
    let mut parts = text.splitn(3, '\n');
    let (Some(tag), Some(time), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    if tag != key_tag(field.key()) {
        return Err(bad());
    }
    let time = domain::reader::parse_time(time).map_err(|_| bad())?;
    Ok(Keyset {
        time: Some(time),
        ids: vec![id.to_owned()],
    })
}

fn unhex(s: &str) -> Option<String> {
    if s.len() % 2 != 0 || s.len() > 4096 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect();
    String::from_utf8(bytes?).ok()
}
