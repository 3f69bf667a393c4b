//! The roots of a read: one object by id, or a page of a list with its filter, keyset order,
//! cursors, `pageInfo` and (for conversations) `totalCount`, all in the one statement.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use domain::catalog::{Order, RECORDS_BY_ID, WORKITEMS_BY_START};

use super::{Compiled, ReadError, Reader, Selection, Statement, cursor};

/// The object of `selection`'s type whose one-column key is `id`, as JSON (`null` when it is
/// missing or out of scope: the two are indistinguishable).
pub async fn by_id(
    pool: &PgPool,
    reader: &Reader<'_>,
    selection: &Selection,
    id: &str,
) -> Result<String, ReadError> {
    compile_by_id(reader, selection, id).run(pool).await
}

/// The statement of [`by_id`].
pub fn compile_by_id(reader: &Reader<'_>, selection: &Selection, id: &str) -> Compiled {
    let table = selection.object.table();
    let [key] = table.key else {
        panic!("{}: by id needs a one-column key", table.name);
    };
    compile_by_key(reader, selection, &[(key, id.to_owned())], None)
}

/// The object of `selection`'s type whose columns hold `key`, when it is visible and `list`'s
/// filter (when given) admits it: its JSON, or `null`. What a live subscription sends for a
/// changed row.
pub fn compile_by_key(
    reader: &Reader<'_>,
    selection: &Selection,
    key: &[(&str, String)],
    list: Option<&List>,
) -> Compiled {
    let table = selection.object.table();
    let mut s = Statement::new(reader);
    s.sql.push("select coalesce((select ");
    s.object(selection, "t", None);
    s.sql.push(" from ").ident(table.name).push(" t where true");
    for (column, value) in key {
        s.sql.push(" and t.").ident(column).push(" = ");
        s.sql.push_bind(value.clone());
    }
    s.restrict(table, "t");
    if let Some(list) = list {
        list.filter(&mut s);
    }
    s.sql.push("), 'null')");
    Compiled {
        statement: s,
        max_bytes: reader.max_bytes,
    }
}

/// Which conversations a list shows. Every field narrows the list; values inside one list are
/// alternatives. A conversation matches a child filter (purposes, media types, queues, …) when
/// at least one of its participants, sessions or segments matches it.
#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    /// Conversations that start at or after this instant.
    pub start_from: Option<DateTime<Utc>>,
    /// Conversations that start before this instant.
    pub start_before: Option<DateTime<Utc>>,
    pub division_ids: Option<Vec<String>>,
    pub business_unit_ids: Option<Vec<String>>,
    pub originating_directions: Option<Vec<String>>,
    pub external_tags: Option<Vec<String>>,
    /// Duration bounds in milliseconds (ended conversations only).
    pub min_duration_ms: Option<i64>,
    pub max_duration_ms: Option<i64>,
    pub purposes: Option<Vec<String>>,
    pub user_ids: Option<Vec<String>>,
    pub media_types: Option<Vec<String>>,
    pub directions: Option<Vec<String>>,
    pub anis: Option<Vec<String>>,
    pub dnises: Option<Vec<String>>,
    pub queue_ids: Option<Vec<String>>,
    pub wrap_up_codes: Option<Vec<String>>,
    pub disconnect_types: Option<Vec<String>>,
    pub segment_types: Option<Vec<String>>,
    /// Abandoned (a session has a `tAbandon` metric) or not.
    pub abandoned: Option<bool>,
}

/// The time a conversation list is ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderKey {
    /// `conversation_start`; conversations without one are not listed.
    #[default]
    Start,
    /// `conversation_end`; conversations still in progress are not listed.
    End,
}

/// Which workitems a list shows: every field narrows it, values of one list are alternatives.
#[derive(Debug, Clone, Default)]
pub struct WorkitemFilter {
    pub start_from: Option<DateTime<Utc>>,
    pub start_before: Option<DateTime<Utc>>,
    pub agent_ids: Option<Vec<String>>,
    pub queue_ids: Option<Vec<String>>,
    pub business_unit_ids: Option<Vec<String>>,
    pub media_types: Option<Vec<String>>,
    pub results: Option<Vec<String>>,
}

/// Which campaign records a list shows.
#[derive(Debug, Clone, Default)]
pub struct CampaignRecordFilter {
    pub campaign_ids: Option<Vec<String>>,
    pub statuses: Option<Vec<String>>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
}

/// Which flow metric records a list shows.
#[derive(Debug, Clone, Default)]
pub struct FlowMetricFilter {
    pub from: Option<DateTime<Utc>>,
    pub before: Option<DateTime<Utc>>,
    pub metrics: Option<Vec<String>>,
    pub flow_ids: Option<Vec<String>>,
    pub conversation_ids: Option<Vec<String>>,
}

/// Which workitem evaluations a list shows.
#[derive(Debug, Clone, Default)]
pub struct EvaluationFilter {
    pub from: Option<DateTime<Utc>>,
    pub before: Option<DateTime<Utc>>,
    pub evaluator_ids: Option<Vec<String>>,
}

/// The lookup tables listed by the roots, a page at a time in id order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    BusinessUnits,
    Agents,
    Users,
    Channels,
    Queues,
    BotSteps,
    Campaigns,
}

/// A list root: which rows, in which order.
#[derive(Debug, Clone)]
pub enum List {
    Conversations {
        filter: Box<ConversationFilter>,
        key: OrderKey,
    },
    Workitems(WorkitemFilter),
    CampaignRecords(CampaignRecordFilter),
    FlowMetrics(FlowMetricFilter),
    Evaluations(EvaluationFilter),
    Lookup {
        lookup: Lookup,
        include_deleted: bool,
    },
    Divisions,
}

/// Conversations by start, or by end.
const CONVERSATIONS_BY_START: Order = Order {
    tag: "s",
    columns: &["conversation_start", "conversation_id"],
    timed: true,
};
const CONVERSATIONS_BY_END: Order = Order {
    tag: "e",
    columns: &["conversation_end", "conversation_id"],
    timed: true,
};
const FLOW_METRICS_BY_DATE: Order = Order {
    tag: "fm",
    columns: &["metric_date", "conversation_id", "record_id"],
    timed: true,
};
const EVALUATIONS_BY_START: Order = Order {
    tag: "ev",
    columns: &["started_at", "workitem_id", "evaluation_id"],
    timed: true,
};

/// A lookup by id: its table and cursor tag.
macro_rules! by_id {
    ($table:literal, $tag:literal, $id:literal) => {{
        const ORDER: Order = Order {
            tag: $tag,
            columns: &[$id],
            timed: false,
        };
        ($table, &ORDER)
    }};
}

impl List {
    /// The table and the keyset order.
    pub fn keyset(&self) -> (&'static str, &'static Order) {
        match self {
            List::Conversations {
                key: OrderKey::Start,
                ..
            } => ("conversations", &CONVERSATIONS_BY_START),
            List::Conversations {
                key: OrderKey::End, ..
            } => ("conversations", &CONVERSATIONS_BY_END),
            List::Workitems(_) => ("workitems", &WORKITEMS_BY_START),
            List::CampaignRecords(_) => ("campaign_records", &RECORDS_BY_ID),
            List::FlowMetrics(_) => ("flow_metrics", &FLOW_METRICS_BY_DATE),
            List::Evaluations(_) => ("workitem_evaluations", &EVALUATIONS_BY_START),
            List::Lookup { lookup, .. } => match lookup {
                Lookup::BusinessUnits => by_id!("business_units", "bu", "business_unit_id"),
                Lookup::Agents => by_id!("agents", "a", "agent_id"),
                Lookup::Users => by_id!("users", "u", "user_id"),
                Lookup::Channels => by_id!("channels", "ch", "channel_id"),
                Lookup::Queues => by_id!("queues", "q", "queue_id"),
                Lookup::BotSteps => by_id!("bot_steps", "bs", "bot_step_id"),
                Lookup::Campaigns => by_id!("campaigns", "cp", "campaign_id"),
            },
            List::Divisions => by_id!("divisions", "d", "division_id"),
        }
    }

    /// The list's order (its cursors carry its tag, so one list's cursor is refused by
    /// another).
    pub fn order(&self) -> &'static Order {
        self.keyset().1
    }

    /// Appends ` and …` for the list's filter on the row `t`.
    fn filter(&self, s: &mut Statement) {
        let order = self.order();
        if order.timed {
            s.sql
                .push(" and t.")
                .ident(order.columns[0])
                .push(" is not null");
        }
        match self {
            List::Conversations { filter: f, .. } => conversation_filter(s, f),
            List::Workitems(f) => {
                range(s, "start_time", f.start_from, f.start_before);
                any(s, "agent_id", &f.agent_ids);
                any(s, "queue_id", &f.queue_ids);
                any(s, "business_unit_id", &f.business_unit_ids);
                any(s, "media_type", &f.media_types);
                any(s, "result", &f.results);
            }
            List::CampaignRecords(f) => {
                any(s, "campaign_id", &f.campaign_ids);
                any(s, "status", &f.statuses);
                range(s, "created_at", f.created_from, f.created_before);
            }
            List::FlowMetrics(f) => {
                range(s, "metric_date", f.from, f.before);
                any(s, "metric", &f.metrics);
                any(s, "flow_id", &f.flow_ids);
                any(s, "conversation_id", &f.conversation_ids);
            }
            List::Evaluations(f) => {
                range(s, "started_at", f.from, f.before);
                any(s, "created_by", &f.evaluator_ids);
            }
            List::Lookup {
                include_deleted, ..
            } => {
                if !include_deleted {
                    s.sql.push(" and t.deleted_at is null");
                }
            }
            List::Divisions => {}
        }
    }
}

/// `from <= t.column < before`, each bound when given.
fn range(
    s: &mut Statement,
    column: &str,
    from: Option<DateTime<Utc>>,
    before: Option<DateTime<Utc>>,
) {
    if let Some(from) = from {
        s.sql
            .push(" and t.")
            .ident(column)
            .push(" >= ")
            .push_bind(from);
    }
    if let Some(before) = before {
        s.sql
            .push(" and t.")
            .ident(column)
            .push(" < ")
            .push_bind(before);
    }
}

/// `t.column = any(values)` when given.
fn any(s: &mut Statement, column: &str, values: &Option<Vec<String>>) {
    if let Some(values) = values {
        s.sql
            .push(" and t.")
            .ident(column)
            .push(" = any(")
            .push_bind(values.clone())
            .push(")");
    }
}

/// `exists` a row of `table` of the conversation whose `column` is one of `values`.
fn child_has(s: &mut Statement, table: &str, column: &str, values: &Option<Vec<String>>) {
    if let Some(values) = values {
        s.sql.push(" and exists (select from ").ident(table);
        s.sql
            .push(" x where x.conversation_id = t.conversation_id and x.")
            .ident(column);
        s.sql.push(" = any(").push_bind(values.clone()).push("))");
    }
}

fn conversation_filter(s: &mut Statement, f: &ConversationFilter) {
    range(s, "conversation_start", f.start_from, f.start_before);
    if let Some(divisions) = &f.division_ids {
        s.sql
            .push(" and t.division_ids && ")
            .push_bind(divisions.clone());
    }
    any(s, "business_unit_id", &f.business_unit_ids);
    any(s, "originating_direction", &f.originating_directions);
    any(s, "external_tag", &f.external_tags);
    if let Some(ms) = f.min_duration_ms {
        s.sql
            .push(" and t.conversation_end - t.conversation_start >= ");
        s.sql.push_bind(ms).push(" * interval '1 millisecond'");
    }
    if let Some(ms) = f.max_duration_ms {
        s.sql
            .push(" and t.conversation_end - t.conversation_start <= ");
        s.sql.push_bind(ms).push(" * interval '1 millisecond'");
    }
    child_has(s, "participants", "purpose", &f.purposes);
    child_has(s, "participants", "user_id", &f.user_ids);
    child_has(s, "sessions", "media_type", &f.media_types);
    child_has(s, "sessions", "direction", &f.directions);
    child_has(s, "sessions", "ani", &f.anis);
    child_has(s, "sessions", "dnis", &f.dnises);
    child_has(s, "segments", "queue_id", &f.queue_ids);
    child_has(s, "segments", "wrap_up_code", &f.wrap_up_codes);
    child_has(s, "segments", "disconnect_type", &f.disconnect_types);
    child_has(s, "segments", "segment_type", &f.segment_types);
    if let Some(abandoned) = f.abandoned {
        s.sql.push(if abandoned { " and " } else { " and not " });
        s.sql.push(
            "exists (select from session_metrics m \
             where m.conversation_id = t.conversation_id and m.name = 'tAbandon')",
        );
    }
}

/// A position in a list: the keyset of its last (or, going backwards, first) row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyset {
    /// The time, for lists ordered by one.
    pub time: Option<DateTime<Utc>>,
    /// The other key values, in order.
    pub ids: Vec<String>,
}

/// How one request walks a list.
#[derive(Debug, Clone)]
pub struct Walk {
    /// Rows in the page.
    pub size: i64,
    /// Rows strictly past this position, in the direction the SQL walks.
    pub cursor: Option<Keyset>,
    /// `last` / `before`: the SQL walks against the order and the page is reversed.
    pub backward: bool,
    /// The SQL walks the keys downwards.
    pub descending: bool,
}

/// What a page answers with, entry by entry.
#[derive(Debug, Clone)]
pub struct PageSelection {
    pub connection: &'static domain::catalog::Connection,
    pub entries: Vec<(String, PageValue)>,
}

impl PageSelection {
    /// Whether the nodes of the page ask for personal data anywhere.
    pub fn touches_personal(&self) -> bool {
        self.entries.iter().any(|(_, value)| match value {
            PageValue::Nodes(selection) => selection.touches_personal(),
            PageValue::Edges(edges) => edges.iter().any(|(_, edge)| match edge {
                EdgeValue::Node(selection) => selection.touches_personal(),
                EdgeValue::Typename | EdgeValue::Cursor => false,
            }),
            PageValue::Typename | PageValue::TotalCount | PageValue::PageInfo(_) => false,
        })
    }
}

#[derive(Debug, Clone)]
pub enum PageValue {
    Typename,
    TotalCount,
    PageInfo(Vec<(String, PageInfoValue)>),
    Edges(Vec<(String, EdgeValue)>),
    Nodes(Selection),
}

#[derive(Debug, Clone, Copy)]
pub enum PageInfoValue {
    Typename,
    HasNextPage,
    HasPreviousPage,
    StartCursor,
    EndCursor,
}

#[derive(Debug, Clone)]
pub enum EdgeValue {
    Typename,
    Cursor,
    Node(Selection),
}

/// A page of `list` as JSON: the connection object `selection` asks for.
pub async fn page(
    pool: &PgPool,
    reader: &Reader<'_>,
    list: &List,
    walk: &Walk,
    selection: &PageSelection,
) -> Result<String, ReadError> {
    compile_page(reader, list, walk, selection).run(pool).await
}

/// The statement of [`page`].
pub fn compile_page(
    reader: &Reader<'_>,
    list: &List,
    walk: &Walk,
    selection: &PageSelection,
) -> Compiled {
    let (table_name, keys) = list.keyset();
    let columns = keys.columns;
    let table = domain::catalog::table(table_name)
        .unwrap_or_else(|| panic!("list of unknown table {table_name}"));
    let direction = if walk.descending { "desc" } else { "asc" };
    let order: Vec<String> = columns
        .iter()
        .map(|c| format!("t.{c} {direction}"))
        .collect();
    let order = order.join(", ");

    let mut s = Statement::new(reader);
    let size = s.sql.bind(walk.size);
    s.sql
        .push("with page as materialized (select t.*, row_number() over (order by ");
    s.sql
        .push(&order)
        .push(") as n__ from ")
        .ident(table.name)
        .push(" t where true");
    s.restrict(table, "t");
    list.filter(&mut s);
    if let Some(cursor) = &walk.cursor {
        s.keyset_after(keys, "t", cursor, walk.descending);
    }
    s.sql
        .push(" order by ")
        .push(&order)
        .push(" limit ")
        .push(&size)
        .push(" + 1) select ");

    let output = if walk.backward { "desc" } else { "asc" };
    let cursor_expression = cursor(keys, "t");
    let more = format!("(select count(*) > {size} from page)");
    let given = if walk.cursor.is_some() {
        "true"
    } else {
        "false"
    };
    let (has_next, has_previous) = if walk.backward {
        (given.to_owned(), more)
    } else {
        (more, given.to_owned())
    };

    let connection = selection.connection;
    s.json_object(
        &selection.entries,
        |(k, _)| k,
        |s, (_, value)| match value {
            PageValue::Typename => {
                s.sql.json_string(connection.name);
            }
            PageValue::TotalCount => {
                s.sql
                    .push("(select count(*)::text from ")
                    .ident(table.name)
                    .push(" t where true");
                s.restrict(table, "t");
                list.filter(s);
                s.sql.push(")");
            }
            PageValue::PageInfo(entries) => s.json_object(
                entries,
                |(k, _)| k,
                |s, (_, value)| match value {
                    PageInfoValue::Typename => {
                        s.sql.json_string("PageInfo");
                    }
                    PageInfoValue::HasNextPage => {
                        s.sql.push(&format!("({has_next})::text"));
                    }
                    PageInfoValue::HasPreviousPage => {
                        s.sql.push(&format!("({has_previous})::text"));
                    }
                    PageInfoValue::StartCursor | PageInfoValue::EndCursor => {
                        let first = matches!(value, PageInfoValue::StartCursor) != walk.backward;
                        s.sql
                            .push("coalesce((select to_json(")
                            .push(&cursor_expression);
                        s.sql
                            .push(")::text from page t where t.n__ <= ")
                            .push(&size);
                        s.sql
                            .push(" order by t.n__ ")
                            .push(if first { "asc" } else { "desc" });
                        s.sql.push(" limit 1), 'null')");
                    }
                },
            ),
            PageValue::Edges(entries) => {
                s.sql.push("coalesce((select '[' || string_agg(");
                s.json_object(
                    entries,
                    |(k, _)| k,
                    |s, (_, value)| match value {
                        EdgeValue::Typename => {
                            s.sql.json_string(&connection.edge());
                        }
                        EdgeValue::Cursor => {
                            s.sql.push(&format!("to_json({cursor_expression})::text"));
                        }
                        EdgeValue::Node(node) => s.object(node, "t", None),
                    },
                );
                s.sql.push(", ',' order by t.n__ ").push(output);
                s.sql
                    .push(") || ']' from page t where t.n__ <= ")
                    .push(&size)
                    .push("), '[]')");
            }
            PageValue::Nodes(node) => {
                s.sql.push("coalesce((select '[' || string_agg(");
                s.object(node, "t", None);
                s.sql.push(", ',' order by t.n__ ").push(output);
                s.sql
                    .push(") || ']' from page t where t.n__ <= ")
                    .push(&size)
                    .push("), '[]')");
            }
        },
    );
    Compiled {
        statement: s,
        max_bytes: reader.max_bytes,
    }
}
