//! The table catalogue: one declaration per table of the graph and the feed (its columns, key
//! and visibility rule) and one per GraphQL object type served from it (its fields in order,
//! its relations to other types: how they join, in which order, whether the hop crosses into
//! another scope). The GraphQL schema, the SQL the reads are compiled to, the personal-data
//! rule and the scope predicate are all read from here (STYLE §8).
//!
//! Columns come from the `row!` declarations (`Row::COLUMNS`): SQL name, kind, description and
//! the `[personal]` mark are written there once, beside the source field they are read from.

use crate::buzzeasy::*;
use crate::flow_metrics::FlowMetricRow;
use crate::graph::*;

/// How a column's values are typed, in SQL and in GraphQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text,
    Int,
    Float,
    Bool,
    /// `timestamptz`, UTC.
    Time,
    /// `timestamp` without time zone: a local time as the source gave it.
    LocalTime,
    Texts,
    Ints,
    Json,
}

impl Kind {
    /// The GraphQL type of a nullable value of this kind.
    pub fn graphql(self) -> &'static str {
        match self {
            Kind::Text => "String",
            Kind::Int => "Int",
            Kind::Float => "Float",
            Kind::Bool => "Boolean",
            Kind::Time => "DateTime",
            Kind::LocalTime => "NaiveDateTime",
            Kind::Texts => "[String!]",
            Kind::Ints => "[Int!]",
            Kind::Json => "JSON",
        }
    }
}

/// The kind of a row field's Rust type, and whether it can be null.
pub trait ColumnType {
    const KIND: Kind;
    const REQUIRED: bool;
}

macro_rules! column_type {
    ($($ty:ty => $kind:ident, $required:literal;)*) => {
        $(impl ColumnType for $ty {
            const KIND: Kind = Kind::$kind;
            const REQUIRED: bool = $required;
        })*
    };
}

column_type! {
    String => Text, true;
    Option<String> => Text, false;
    i32 => Int, true;
    Option<i64> => Int, false;
    Option<f64> => Float, false;
    Option<bool> => Bool, false;
    chrono::DateTime<chrono::Utc> => Time, true;
    Option<chrono::DateTime<chrono::Utc>> => Time, false;
    Option<chrono::NaiveDateTime> => LocalTime, false;
    Vec<String> => Texts, true;
    Option<Vec<String>> => Texts, false;
    Option<Vec<i64>> => Ints, false;
    Option<serde_json::Value> => Json, false;
}

/// A column of a table, as its `row!` declares it.
#[derive(Debug)]
pub struct Column {
    /// The SQL column (and Rust field) name.
    pub name: &'static str,
    pub kind: Kind,
    /// Never null (a key).
    pub required: bool,
    /// The doc comment, line by line.
    pub doc: &'static [&'static str],
    /// Holds personal data: null for callers without the permission to read it.
    pub personal: bool,
}

impl Column {
    /// The GraphQL field name: the column in camelCase.
    pub fn field_name(&self) -> String {
        camel_case(self.name)
    }

    /// The GraphQL type of the field.
    pub fn graphql_type(&self) -> String {
        let ty = self.kind.graphql();
        if self.required {
            format!("{ty}!")
        } else {
            ty.to_owned()
        }
    }

    /// The description: the doc comment's lines, trimmed and joined.
    pub fn description(&self) -> Option<String> {
        let text = self
            .doc
            .iter()
            .map(|line| line.trim())
            .collect::<Vec<_>>()
            .join("\n");
        let text = text.trim();
        (!text.is_empty()).then(|| text.to_owned())
    }
}

/// `snake_case` -> `camelCase`.
pub fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = !out.is_empty();
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Who may see a row of a table (DESIGN §3.4). `Scope::All` sees every row; otherwise:
#[derive(Debug)]
pub enum Visibility {
    /// A conversation: one of its divisions (`division_ids`) or its business unit
    /// (`business_unit_id`) is in scope.
    Conversation,
    /// Its own business unit (this column) is in scope.
    OwnUnit(&'static str),
    /// Its division (this column, one id) is in scope.
    OwnDivision(&'static str),
    /// One of its divisions (this column, a list of ids) is in scope.
    OwnDivisions(&'static str),
    /// The row of `table` it points at is visible: `on` pairs a column here with one there;
    /// `when` names a boolean column there that must be true.
    Through {
        table: &'static str,
        on: &'static [(&'static str, &'static str)],
        when: Option<&'static str>,
    },
    /// Any of these.
    AnyOf(&'static [Visibility]),
}

/// A table: its columns, key and visibility.
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [Column],
    pub key: &'static [&'static str],
    pub visibility: Visibility,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&'static Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// A GraphQL object type and the table each of its values is a row of.
#[derive(Debug)]
pub struct ObjectType {
    pub name: &'static str,
    pub description: &'static str,
    pub table: &'static str,
    /// The fields, in the order the schema lists them.
    pub fields: &'static [Field],
}

/// A field of an object type.
#[derive(Debug)]
pub enum Field {
    /// Every column of the table, each under its camelCase name.
    Columns,
    /// One column under another name and type (`id: ID!`).
    Alias {
        name: &'static str,
        column: &'static str,
        ty: &'static str,
        description: &'static str,
    },
    /// Milliseconds from the `start` column to the `end` column; null when either is null.
    Duration {
        name: &'static str,
        start: &'static str,
        end: &'static str,
        description: &'static str,
    },
    /// `extra`: the source fields without a column, as sent; personal data as a whole.
    Extra,
    /// Another object, or a list of them.
    Relation(Relation),
}

/// What `extra` says of itself.
pub const EXTRA_DESCRIPTION: &str = "Source fields convgraph has no column for, exactly as sent; empty without the\n`pii:read` permission, since they may hold personal data.";

/// A relation: the objects of `target` linked to an object of this type.
#[derive(Debug)]
pub struct Relation {
    pub name: &'static str,
    pub description: &'static str,
    pub target: &'static str,
    /// A list (`[T!]!`); otherwise at most one (`T`).
    pub many: bool,
    pub link: Link,
    /// The children's order: columns of the target's table, ascending (ties broken by what
    /// follows; a list link keeps its list's order first).
    pub order: &'static [&'static str],
    /// The hop crosses into another scope: the target's visibility applies. Without it, a child
    /// is visible whenever its parent is (a participant of a visible conversation).
    pub check: bool,
    pub argument: Option<Argument>,
    /// A list that grows apart from any one document (rows written one by one, ids that name
    /// other conversations) holds at most this many children: the complexity counts a
    /// selection under it this many times, and a read that finds more refuses instead of
    /// cutting the list short. `None`: a one-object relation, a page, or a list of the
    /// conversation's own document, which the ingest limits bound.
    pub most: Option<u32>,
}

/// How a relation finds its children from a parent row.
#[derive(Debug)]
pub enum Link {
    /// Children whose columns equal the parent's: `(parent column, child column)` pairs.
    Columns(&'static [(&'static str, &'static str)]),
    /// One child per element of the parent's id list `list`, in list order, the child's
    /// `column` equal to the element; with `keep_missing`, an element without a row still
    /// gives a child with only that column (`column` then reads the element).
    Each {
        list: &'static str,
        column: &'static str,
        keep_missing: bool,
    },
    /// Children whose `column` is one of `select` of the rows of `table` that point at the
    /// parent (`on`: `(parent column, table column)` pairs).
    Through {
        table: &'static str,
        on: &'static [(&'static str, &'static str)],
        select: &'static str,
        column: &'static str,
    },
    /// Children that any of these links finds, each once.
    AnyOf(&'static [Link]),
}

/// The keyset order of a list: its cursor tag and the columns it orders by, a time first when
/// `timed`. A cursor is the tag and the keyset of a row, one per line, hex-encoded.
#[derive(Debug)]
pub struct Order {
    pub tag: &'static str,
    pub columns: &'static [&'static str],
    pub timed: bool,
}

impl Order {
    /// How many values a cursor holds after its time (when timed).
    pub fn ids(&self) -> usize {
        self.columns.len() - usize::from(self.timed)
    }
}

/// Workitems, oldest first.
pub const WORKITEMS_BY_START: Order = Order {
    tag: "w",
    columns: &["start_time", "workitem_id"],
    timed: true,
};

/// Campaign records by id.
pub const RECORDS_BY_ID: Order = Order {
    tag: "r",
    columns: &["record_id"],
    timed: false,
};

/// An argument of a relation.
#[derive(Debug)]
pub enum Argument {
    /// `first: Int, after: String`: the relation is a connection (`connection`), a page at a
    /// time in `order`. For lists that grow without bound (an agent's workitems).
    Page {
        connection: &'static str,
        order: &'static Order,
    },
    /// `name: String`: an ISO-8601 `start/end` interval; the children whose span, from the
    /// `start` column for `seconds` seconds, overlaps it. All children without it.
    Overlap {
        name: &'static str,
        start: &'static str,
        seconds: &'static str,
    },
}

impl Argument {
    /// The argument that carries a value the planner reads (`first` / `after` are read by
    /// name).
    pub fn name(&self) -> &'static str {
        match self {
            Argument::Overlap { name, .. } => name,
            Argument::Page { .. } => "first",
        }
    }
}

impl ObjectType {
    pub fn table(&self) -> &'static Table {
        table(self.table).unwrap_or_else(|| panic!("{}: no table {}", self.name, self.table))
    }

    /// The relation named `name`.
    pub fn relation(&self, name: &str) -> Option<&'static Relation> {
        let fields: &'static [Field] = self.fields;
        fields.iter().find_map(|f| match f {
            Field::Relation(r) if r.name == name => Some(r),
            _ => None,
        })
    }
}

/// A connection type (a page of a list root) and its edge type.
#[derive(Debug)]
pub struct Connection {
    pub name: &'static str,
    pub description: &'static str,
    pub node: &'static str,
    /// The conversation list's richer connection: `totalCount` and `nodes`, and its own wording.
    pub conversations: bool,
}

impl Connection {
    pub fn edge(&self) -> String {
        format!("{}Edge", self.node)
    }
}

/// The table named `name`.
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

/// The object type named `name`.
pub fn object(name: &str) -> Option<&'static ObjectType> {
    OBJECTS.iter().find(|o| o.name == name)
}

/// The connection type named `name`.
pub fn connection(name: &str) -> Option<&'static Connection> {
    CONNECTIONS.iter().find(|c| c.name == name)
}

const IN_CONVERSATION: Visibility = Visibility::Through {
    table: "conversations",
    on: &[("conversation_id", "conversation_id")],
    when: None,
};

const OF_WORKITEM: Visibility = Visibility::Through {
    table: "workitems",
    on: &[("workitem_id", "workitem_id")],
    when: None,
};

const OF_RECORD: Visibility = Visibility::Through {
    table: "campaign_records",
    on: &[("record_id", "record_id")],
    when: None,
};

macro_rules! tables {
    ($($name:literal: $row:ty, [$($key:literal),*], $visibility:expr;)*) => {
        /// Every table the API reads.
        pub static TABLES: &[Table] = &[
            $(Table {
                name: $name,
                columns: <$row>::COLUMNS,
                key: &[$($key),*],
                visibility: $visibility,
            },)*
        ];
    };
}

tables! {
    "conversations": ConversationRow, ["conversation_id"], Visibility::Conversation;
    "participants": ParticipantRow, ["conversation_id", "participant_id"], IN_CONVERSATION;
    "sessions": SessionRow, ["conversation_id", "participant_id", "session_id"], IN_CONVERSATION;
    "segments": SegmentRow, ["conversation_id", "participant_id", "session_id", "segment_index"], IN_CONVERSATION;
    "session_metrics": MetricRow, ["conversation_id", "participant_id", "session_id", "metric_index"], IN_CONVERSATION;
    "flows": FlowRow, ["conversation_id", "participant_id", "session_id"], IN_CONVERSATION;
    "flow_outcomes": FlowOutcomeRow, ["conversation_id", "participant_id", "session_id", "outcome_index"], IN_CONVERSATION;
    "proposed_agents": ProposedAgentRow, ["conversation_id", "participant_id", "session_id", "proposed_index"], IN_CONVERSATION;
    "media_endpoint_stats": MediaEndpointStatRow, ["conversation_id", "participant_id", "session_id", "stat_index"], IN_CONVERSATION;
    "agent_groups": AgentGroupRow, ["conversation_id", "participant_id", "session_id", "group_index"], IN_CONVERSATION;
    "scored_agents": ScoredAgentRow, ["conversation_id", "participant_id", "session_id", "segment_index", "scored_index"], IN_CONVERSATION;
    "segment_properties": SegmentPropertyRow, ["conversation_id", "participant_id", "session_id", "segment_index", "property_index"], IN_CONVERSATION;
    "evaluations": EvaluationRow, ["conversation_id", "evaluation_id"], IN_CONVERSATION;
    "surveys": SurveyRow, ["conversation_id", "survey_index"], IN_CONVERSATION;
    "resolutions": ResolutionRow, ["conversation_id", "resolution_index"], IN_CONVERSATION;
    "transfers": TransferRow, ["conversation_id", "transfer_id"], IN_CONVERSATION;
    "division_entities": DivisionEntityRow, ["conversation_id", "division_id", "entity_index"], IN_CONVERSATION;
    "divisions": DivisionRow, ["division_id"], Visibility::OwnDivision("division_id");
    "queue_segments": QueueSegmentRow, ["conversation_id", "queue_segment_id"], IN_CONVERSATION;
    "bot_segments": BotSegmentRow, ["conversation_id", "bot_segment_id"], IN_CONVERSATION;
    "rejected_enqueue_attempts": RejectedEnqueueAttemptRow, ["conversation_id", "attempt_id"], IN_CONVERSATION;
    "captured_data": CapturedDataRow, ["conversation_id", "name", "captured_at"], IN_CONVERSATION;
    "business_units": BusinessUnitRow, ["business_unit_id"], Visibility::OwnUnit("business_unit_id");
    "agent_business_unit_changes": AgentBusinessUnitChangeRow, ["agent_id", "business_unit_id", "timestamp"],
        Visibility::OwnUnit("business_unit_id");
    "agents": AgentRow, ["agent_id"], Visibility::Through {
        table: "agent_business_unit_changes",
        on: &[("agent_id", "agent_id")],
        when: Some("assigned"),
    };
    "users": UserRow, ["user_id"], Visibility::Through {
        table: "agent_business_unit_changes",
        on: &[("user_id", "agent_id")],
        when: Some("assigned"),
    };
    "agent_states": AgentStateRow, ["agent_state_id"], Visibility::Through {
        table: "agent_business_unit_changes",
        on: &[("agent_id", "agent_id")],
        when: Some("assigned"),
    };
    "channels": ChannelRow, ["channel_id"], Visibility::OwnUnit("business_unit_id");
    "queues": QueueRow, ["queue_id"], Visibility::Through {
        table: "channels",
        on: &[("channel_id", "channel_id")],
        when: None,
    };
    "bot_steps": BotStepRow, ["bot_step_id"], Visibility::Through {
        table: "bot_segments",
        on: &[("bot_step_id", "bot_step_id")],
        when: None,
    };
    "workitems": WorkitemRow, ["workitem_id"], Visibility::OwnUnit("business_unit_id");
    "workitem_conversation_sessions": WorkitemConversationSessionRow, ["workitem_id", "session_id"], OF_WORKITEM;
    "workitem_evaluations": WorkitemEvaluationRow, ["workitem_id", "evaluation_id"], OF_WORKITEM;
    "workitem_evaluation_data": WorkitemEvaluationDataRow, ["workitem_id", "entry_id"], OF_WORKITEM;
    "collected_data": CollectedDataRow, ["workitem_id", "name", "created_at"], OF_WORKITEM;
    "campaigns": CampaignRow, ["campaign_id"], Visibility::OwnUnit("business_unit_id");
    "campaign_records": CampaignRecordRow, ["record_id"], Visibility::Through {
        table: "campaigns",
        on: &[("campaign_id", "campaign_id")],
        when: None,
    };
    "campaign_record_custom_fields": CampaignRecordCustomFieldRow, ["record_id", "name"], OF_RECORD;
    "campaign_record_phone_numbers": CampaignRecordPhoneNumberRow, ["record_id", "phone_number"], OF_RECORD;
    "campaign_record_registrations": CampaignRecordRegistrationRow, ["record_id"], OF_RECORD;
    "flow_metrics": FlowMetricRow, ["conversation_id", "record_id"], Visibility::AnyOf(&[
        Visibility::OwnDivisions("division_ids"),
        IN_CONVERSATION,
    ]);
}

// The bounds of the lists that grow apart from any one document (`Relation::most`): far above
// what a contact center produces, low enough that a selection cycling through them is refused by
// the complexity limit instead of multiplying rows.
/// Workitems of one conversation.
pub const CONVERSATION_WORKITEMS: u32 = 50;
/// Consult conversations one conversation names; the ingest refuses more ids.
pub const CONSULTATIONS: u32 = 20;
/// Queue segments of one conversation.
pub const QUEUE_SEGMENTS: u32 = 50;
/// Bot segments of one conversation.
pub const BOT_SEGMENTS: u32 = 200;
/// Rejected enqueue attempts of one conversation.
pub const REJECTED_ATTEMPTS: u32 = 50;
/// Workflow variables captured in one conversation.
pub const CAPTURED_DATA: u32 = 200;
/// Conversations handled in one workitem.
pub const WORKITEM_CONVERSATIONS: u32 = 20;
/// Evaluations of one workitem.
pub const WORKITEM_EVALUATIONS: u32 = 10;
/// Values collected in one workitem.
pub const COLLECTED_DATA: u32 = 200;
/// Answers of one evaluation.
pub const EVALUATION_ANSWERS: u32 = 100;
/// Business unit changes of one agent.
pub const BUSINESS_UNIT_CHANGES: u32 = 100;
/// Custom fields or phone numbers of one campaign record.
pub const RECORD_ITEMS: u32 = 50;
/// States of one agent in the asked interval (a day holds a few hundred).
pub const AGENT_STATES: u32 = 2000;

/// A relation to the children of a conversation, by `conversation_id`, seen with it.
const fn of_conversation(
    name: &'static str,
    description: &'static str,
    target: &'static str,
    order: &'static [&'static str],
    most: Option<u32>,
) -> Field {
    Field::Relation(Relation {
        name,
        description,
        target,
        many: true,
        link: Link::Columns(&[("conversation_id", "conversation_id")]),
        order,
        check: false,
        argument: None,
        most,
    })
}

const SESSION_KEY: &[(&str, &str)] = &[
    ("conversation_id", "conversation_id"),
    ("participant_id", "participant_id"),
    ("session_id", "session_id"),
];

const SEGMENT_KEY: &[(&str, &str)] = &[
    ("conversation_id", "conversation_id"),
    ("participant_id", "participant_id"),
    ("session_id", "session_id"),
    ("segment_index", "segment_index"),
];

/// A relation to the children of a session (or of a segment, with `SEGMENT_KEY`).
const fn of_session(
    name: &'static str,
    description: &'static str,
    target: &'static str,
    key: &'static [(&'static str, &'static str)],
    many: bool,
    order: &'static [&'static str],
) -> Field {
    Field::Relation(Relation {
        name,
        description,
        target,
        many,
        link: Link::Columns(key),
        order,
        check: false,
        argument: None,
        most: None,
    })
}

/// The one object a column of the parent points at (`parent column`, `child column`); with
/// `check`, seen only when its own visibility allows.
const fn one(
    name: &'static str,
    description: &'static str,
    target: &'static str,
    on: &'static [(&'static str, &'static str)],
    check: bool,
) -> Field {
    Field::Relation(Relation {
        name,
        description,
        target,
        many: false,
        link: Link::Columns(on),
        order: &[],
        check,
        argument: None,
        most: None,
    })
}

/// Every object that points at the parent (`parent column`, `child column`).
const fn many(
    name: &'static str,
    description: &'static str,
    target: &'static str,
    on: &'static [(&'static str, &'static str)],
    order: &'static [&'static str],
    check: bool,
    most: Option<u32>,
) -> Field {
    Field::Relation(Relation {
        name,
        description,
        target,
        many: true,
        link: Link::Columns(on),
        order,
        check,
        argument: None,
        most,
    })
}

const fn id(column: &'static str, description: &'static str) -> Field {
    Field::Alias {
        name: "id",
        column,
        ty: "ID!",
        description,
    }
}

/// A type that is its row and `extra`, and nothing else.
const fn leaf(name: &'static str, description: &'static str, table: &'static str) -> ObjectType {
    ObjectType {
        name,
        description,
        table,
        fields: &[Field::Columns, Field::Extra],
    }
}

/// Every object type of the graph and the feed, in no particular order.
pub static OBJECTS: &[ObjectType] = &[
    ObjectType {
        name: "Conversation",
        description: "A conversation: participants joining over time, each with sessions (media legs). Times are\nUTC; durations are milliseconds.",
        table: "conversations",
        fields: &[
            id(
                "conversation_id",
                "The conversation id, as the source platform gave it.",
            ),
            Field::Columns,
            Field::Duration {
                name: "durationMs",
                start: "conversation_start",
                end: "conversation_end",
                description: "From start to end in milliseconds; null while in progress.",
            },
            Field::Extra,
            Field::Relation(Relation {
                name: "divisions",
                description: "The divisions the conversation belongs to, with their names when known.",
                target: "Division",
                many: true,
                link: Link::Each {
                    list: "division_ids",
                    column: "division_id",
                    keep_missing: true,
                },
                order: &[],
                check: false,
                argument: None,
                most: None,
            }),
            Field::Relation(Relation {
                name: "workitems",
                description: "The agent tasks (workitems) that handled the conversation and that you can see.",
                target: "Workitem",
                many: true,
                link: Link::AnyOf(&[
                    Link::Columns(&[("conversation_id", "primary_conversation_id")]),
                    Link::Through {
                        table: "workitem_conversation_sessions",
                        on: &[("conversation_id", "conversation_id")],
                        select: "workitem_id",
                        column: "workitem_id",
                    },
                ]),
                order: &["start_time", "workitem_id"],
                check: true,
                argument: None,
                most: Some(CONVERSATION_WORKITEMS),
            }),
            of_conversation(
                "queueSegments",
                "Buzzeasy: the spans of the conversation in queues.",
                "QueueSegment",
                &["queued_at", "queue_segment_id"],
                Some(QUEUE_SEGMENTS),
            ),
            of_conversation(
                "botSegments",
                "Buzzeasy: the spans of the conversation in bot nodes of the workflow.",
                "BotSegment",
                &["started_at", "bot_segment_id"],
                Some(BOT_SEGMENTS),
            ),
            of_conversation(
                "rejectedEnqueueAttempts",
                "Buzzeasy: the queues that refused the conversation.",
                "RejectedEnqueueAttempt",
                &["rejected_at", "attempt_id"],
                Some(REJECTED_ATTEMPTS),
            ),
            of_conversation(
                "capturedData",
                "Buzzeasy: workflow variables filled during the conversation.",
                "CapturedData",
                &["captured_at", "name"],
                Some(CAPTURED_DATA),
            ),
            one(
                "nextConversation",
                "Buzzeasy: the conversation this one was transferred into, when you can see it.",
                "Conversation",
                &[("next_conversation_id", "conversation_id")],
                true,
            ),
            one(
                "channel",
                "Buzzeasy: the channel of the conversation, when you can see it.",
                "Channel",
                &[("channel_id", "channel_id")],
                true,
            ),
            one(
                "businessUnit",
                "Buzzeasy: the business unit of the conversation.",
                "BusinessUnit",
                &[("business_unit_id", "business_unit_id")],
                true,
            ),
            of_conversation(
                "participants",
                "The participants, in source order.",
                "Participant",
                &["ordinal"],
                None,
            ),
            of_conversation(
                "evaluations",
                "Quality evaluations of the conversation.",
                "Evaluation",
                &["evaluation_id"],
                None,
            ),
            of_conversation(
                "surveys",
                "Customer surveys sent after the conversation.",
                "Survey",
                &["survey_index"],
                None,
            ),
            of_conversation(
                "resolutions",
                "First-contact resolutions recorded for the conversation.",
                "Resolution",
                &["resolution_index"],
                None,
            ),
            of_conversation(
                "transfers",
                "Recent transfers (platform `recentTransfers`), oldest first.",
                "Transfer",
                &["date_issued", "transfer_id"],
                None,
            ),
            of_conversation(
                "divisionEntities",
                "The entities on the conversation by division (platform `divisions[].entities`).",
                "DivisionEntity",
                &["division_id", "entity_index"],
                None,
            ),
            one(
                "associatedConversation",
                "The conversation this one is associated with, when you can see it.",
                "Conversation",
                &[("associated_conversation_id", "conversation_id")],
                true,
            ),
            Field::Relation(Relation {
                name: "consultationConversations",
                description: "The consult conversations started from this one that you can see.",
                target: "Conversation",
                many: true,
                link: Link::Each {
                    list: "consultation_conversation_ids",
                    column: "conversation_id",
                    keep_missing: false,
                },
                order: &[],
                check: true,
                argument: None,
                most: Some(CONSULTATIONS),
            }),
        ],
    },
    leaf(
        "Division",
        "A division: the unit of access control in Genesys.",
        "divisions",
    ),
    ObjectType {
        name: "Participant",
        description: "A participant: customer, agent, acd (queue), ivr, workflow, external, … `purpose` tells which.",
        table: "participants",
        fields: &[
            Field::Alias {
                name: "id",
                column: "participant_id",
                ty: "String!",
                description: "The participant id.",
            },
            one(
                "user",
                "The user behind the participant (`userId`), when the user lookup holds it and you can\nsee the user.",
                "User",
                &[("user_id", "user_id")],
                true,
            ),
            Field::Columns,
            Field::Extra,
            many(
                "sessions",
                "The participant's sessions (media legs), in source order.",
                "Session",
                &[
                    ("conversation_id", "conversation_id"),
                    ("participant_id", "participant_id"),
                ],
                &["ordinal"],
                false,
                None,
            ),
        ],
    },
    ObjectType {
        name: "Session",
        description: "A session (\"communication\"): one media leg of a participant. Every media type shares this\ntype; the fields specific to one (callback numbers, email subject, cobrowse room, …) are null\nfor the others.",
        table: "sessions",
        fields: &[
            Field::Alias {
                name: "id",
                column: "session_id",
                ty: "String!",
                description: "The session id (unique within its conversation).",
            },
            Field::Columns,
            Field::Extra,
            Field::Relation(Relation {
                name: "peer",
                description: "The session on the other side of this one (`peerId`), e.g. the customer's leg of an\nagent's call.",
                target: "Session",
                many: false,
                link: Link::Columns(&[
                    ("conversation_id", "conversation_id"),
                    ("peer_id", "session_id"),
                ]),
                order: &["participant_id"],
                check: false,
                argument: None,
                most: None,
            }),
            of_session(
                "segments",
                "The session's segments, in time order.",
                "Segment",
                SESSION_KEY,
                true,
                &["segment_index"],
            ),
            of_session(
                "metrics",
                "The session's metrics (nOffered, tTalk, tHandle, …), in emission order.",
                "SessionMetric",
                SESSION_KEY,
                true,
                &["metric_index"],
            ),
            of_session(
                "flow",
                "The IVR flow the session ran through, if any.",
                "Flow",
                SESSION_KEY,
                false,
                &[],
            ),
            of_session(
                "proposedAgents",
                "The agents routing proposed for the session, with their rank.",
                "ProposedAgent",
                SESSION_KEY,
                true,
                &["proposed_index"],
            ),
            of_session(
                "mediaEndpointStats",
                "Voice quality statistics of the session's media endpoints.",
                "MediaEndpointStat",
                SESSION_KEY,
                true,
                &["stat_index"],
            ),
            of_session(
                "agentGroups",
                "The agent groups the session was routed to.",
                "AgentGroup",
                SESSION_KEY,
                true,
                &["group_index"],
            ),
        ],
    },
    ObjectType {
        name: "Segment",
        description: "A continuous span of a session in one state: alert, interact, hold, wrapup, ivr, dialing, …",
        table: "segments",
        fields: &[
            Field::Columns,
            one(
                "queue",
                "The queue of the segment (`queueId`), when the queue lookup holds it and you can see it.",
                "Queue",
                &[("queue_id", "queue_id")],
                true,
            ),
            Field::Duration {
                name: "durationMs",
                start: "segment_start",
                end: "segment_end",
                description: "From start to end in milliseconds; null while open.",
            },
            Field::Extra,
            of_session(
                "scoredAgents",
                "Agents scored by predictive routing during the segment.",
                "ScoredAgent",
                SEGMENT_KEY,
                true,
                &["scored_index"],
            ),
            of_session(
                "properties",
                "Custom properties of the segment.",
                "SegmentProperty",
                SEGMENT_KEY,
                true,
                &["property_index"],
            ),
        ],
    },
    leaf(
        "SessionMetric",
        "A metric of a session: a count (`n…`), a duration in milliseconds (`t…`) or a value\n(`o…`), emitted at `emitDate`.",
        "session_metrics",
    ),
    ObjectType {
        name: "Flow",
        description: "An IVR (Architect) flow execution of a session: how it was entered, left and what it\ntransferred to.",
        table: "flows",
        fields: &[
            Field::Columns,
            Field::Extra,
            of_session(
                "outcomes",
                "Outcomes reached in the flow.",
                "FlowOutcome",
                SESSION_KEY,
                true,
                &["outcome_index"],
            ),
        ],
    },
    leaf(
        "FlowOutcome",
        "An outcome reached in a flow, with its value and timing.",
        "flow_outcomes",
    ),
    leaf(
        "ProposedAgent",
        "An agent proposed by routing for a session, with its rank.",
        "proposed_agents",
    ),
    leaf(
        "MediaEndpointStat",
        "Media quality of one endpoint of a session: MOS, R-factor, packets, latency.",
        "media_endpoint_stats",
    ),
    leaf(
        "AgentGroup",
        "An agent group a session was routed to.",
        "agent_groups",
    ),
    leaf(
        "ScoredAgent",
        "An agent scored by predictive routing during a segment.",
        "scored_agents",
    ),
    leaf(
        "SegmentProperty",
        "A custom property of a segment.",
        "segment_properties",
    ),
    leaf(
        "Evaluation",
        "A quality evaluation of a conversation: form, evaluator, agent, scores and dates.",
        "evaluations",
    ),
    leaf(
        "Survey",
        "A customer survey: form, status, scores.",
        "surveys",
    ),
    leaf(
        "Resolution",
        "A first-contact resolution record: whether a next contact was avoided.",
        "resolutions",
    ),
    leaf(
        "Transfer",
        "A transfer of the conversation (platform `recentTransfers`).",
        "transfers",
    ),
    leaf(
        "DivisionEntity",
        "An entity on the conversation, by division.",
        "division_entities",
    ),
    // The Buzzeasy feed.
    ObjectType {
        name: "Workitem",
        description: "An agent task: a conversation (or several) routed to an agent, from preview through\nactive time to wrap-up. Times are UTC, durations seconds.",
        table: "workitems",
        fields: &[
            Field::Columns,
            Field::Extra,
            id("workitem_id", "The workitem id."),
            one(
                "agent",
                "The agent who handled it, when you can see the agent.",
                "Agent",
                &[("agent_id", "agent_id")],
                true,
            ),
            one(
                "queue",
                "The queue it came from (none for outbound).",
                "Queue",
                &[("queue_id", "queue_id")],
                true,
            ),
            one(
                "businessUnit",
                "The business unit of the conversation that started it.",
                "BusinessUnit",
                &[("business_unit_id", "business_unit_id")],
                true,
            ),
            one(
                "primaryConversation",
                "The first conversation of the task, when you can see it.",
                "Conversation",
                &[("primary_conversation_id", "conversation_id")],
                true,
            ),
            many(
                "conversations",
                "The conversations handled in the task, with their hold counts.",
                "WorkitemConversation",
                &[("workitem_id", "workitem_id")],
                &["session_id"],
                false,
                Some(WORKITEM_CONVERSATIONS),
            ),
            many(
                "evaluations",
                "Quality evaluations of the task, with their answers.",
                "WorkitemEvaluation",
                &[("workitem_id", "workitem_id")],
                &["started_at", "evaluation_id"],
                false,
                Some(WORKITEM_EVALUATIONS),
            ),
            many(
                "collectedData",
                "Values collected through scripting during the task.",
                "CollectedData",
                &[("workitem_id", "workitem_id")],
                &["created_at", "name"],
                false,
                Some(COLLECTED_DATA),
            ),
        ],
    },
    ObjectType {
        name: "WorkitemConversation",
        description: "A conversation handled in a workitem, with the holds during it.",
        table: "workitem_conversation_sessions",
        fields: &[
            Field::Columns,
            Field::Extra,
            one(
                "conversation",
                "The conversation, when you can see it.",
                "Conversation",
                &[("conversation_id", "conversation_id")],
                true,
            ),
        ],
    },
    ObjectType {
        name: "WorkitemEvaluation",
        description: "A quality evaluation of a workitem.",
        table: "workitem_evaluations",
        fields: &[
            Field::Columns,
            Field::Extra,
            many(
                "answers",
                "The answers: each key of the script and its value.",
                "WorkitemEvaluationAnswer",
                &[
                    ("workitem_id", "workitem_id"),
                    ("evaluation_id", "evaluation_id"),
                ],
                &["entry_id"],
                false,
                Some(EVALUATION_ANSWERS),
            ),
            one(
                "evaluator",
                "The user who evaluated, when you can see the user.",
                "User",
                &[("created_by", "user_id")],
                true,
            ),
            one(
                "workitem",
                "The workitem evaluated.",
                "Workitem",
                &[("workitem_id", "workitem_id")],
                false,
            ),
        ],
    },
    leaf(
        "WorkitemEvaluationAnswer",
        "One answer of a workitem evaluation.",
        "workitem_evaluation_data",
    ),
    ObjectType {
        name: "Agent",
        description: "A Buzzeasy agent (lookup).",
        table: "agents",
        fields: &[
            Field::Columns,
            Field::Extra,
            id("agent_id", "The agent id."),
            one(
                "user",
                "The user record of the agent (agents are users too).",
                "User",
                &[("agent_id", "user_id")],
                true,
            ),
            Field::Relation(Relation {
                name: "workitems",
                description: "The workitems the agent handled that you can see, oldest first, a page at a time.",
                target: "Workitem",
                many: true,
                link: Link::Columns(&[("agent_id", "agent_id")]),
                order: WORKITEMS_BY_START.columns,
                check: true,
                argument: Some(Argument::Page {
                    connection: "WorkitemConnection",
                    order: &WORKITEMS_BY_START,
                }),
                most: None,
            }),
            Field::Relation(Relation {
                name: "states",
                description: "The agent's states that overlap `interval` (ISO-8601 `start/end`; all of them without\nit), oldest first.",
                target: "AgentState",
                many: true,
                link: Link::Columns(&[("agent_id", "agent_id")]),
                order: &["start_time", "agent_state_id"],
                check: false,
                argument: Some(Argument::Overlap {
                    name: "interval",
                    start: "start_time",
                    seconds: "duration_in_seconds",
                }),
                most: Some(AGENT_STATES),
            }),
            many(
                "businessUnitHistory",
                "When the agent joined or left business units you can see.",
                "AgentBusinessUnitChange",
                &[("agent_id", "agent_id")],
                &["timestamp", "business_unit_id"],
                true,
                Some(BUSINESS_UNIT_CHANGES),
            ),
        ],
    },
    leaf(
        "AgentState",
        "One state of an agent over a span of time.",
        "agent_states",
    ),
    leaf(
        "AgentBusinessUnitChange",
        "An agent joining or leaving a business unit.",
        "agent_business_unit_changes",
    ),
    ObjectType {
        name: "User",
        description: "A Buzzeasy user (lookup): an agent, a supervisor or another user.",
        table: "users",
        fields: &[
            Field::Columns,
            Field::Extra,
            id("user_id", "The user id."),
            one(
                "agent",
                "The agent record of the user, for agents.",
                "Agent",
                &[("user_id", "agent_id")],
                true,
            ),
        ],
    },
    ObjectType {
        name: "Queue",
        description: "A Buzzeasy queue (lookup).",
        table: "queues",
        fields: &[
            Field::Columns,
            Field::Extra,
            id("queue_id", "The queue id."),
            one(
                "channel",
                "The channel the queue belongs to.",
                "Channel",
                &[("channel_id", "channel_id")],
                true,
            ),
        ],
    },
    ObjectType {
        name: "Channel",
        description: "A Buzzeasy channel (lookup): voice, webchat, e-mail, …",
        table: "channels",
        fields: &[
            Field::Columns,
            Field::Extra,
            id("channel_id", "The channel id."),
            one(
                "businessUnit",
                "The business unit of the channel.",
                "BusinessUnit",
                &[("business_unit_id", "business_unit_id")],
                true,
            ),
        ],
    },
    ObjectType {
        name: "BusinessUnit",
        description: "A Buzzeasy business unit (lookup).",
        table: "business_units",
        fields: &[
            Field::Columns,
            Field::Extra,
            id("business_unit_id", "The business unit id."),
        ],
    },
    ObjectType {
        name: "BotStep",
        description: "A bot node of a workflow (lookup).",
        table: "bot_steps",
        fields: &[
            Field::Columns,
            Field::Extra,
            id("bot_step_id", "The bot step id."),
        ],
    },
    ObjectType {
        name: "QueueSegment",
        description: "A span of a conversation in a queue.",
        table: "queue_segments",
        fields: &[
            Field::Columns,
            Field::Extra,
            one(
                "queue",
                "The queue, when you can see it.",
                "Queue",
                &[("queue_id", "queue_id")],
                true,
            ),
        ],
    },
    ObjectType {
        name: "BotSegment",
        description: "A span of a conversation in a bot node of a workflow.",
        table: "bot_segments",
        fields: &[
            Field::Columns,
            Field::Extra,
            one(
                "botStep",
                "The bot step.",
                "BotStep",
                &[("bot_step_id", "bot_step_id")],
                true,
            ),
        ],
    },
    ObjectType {
        name: "RejectedEnqueueAttempt",
        description: "A conversation a queue refused.",
        table: "rejected_enqueue_attempts",
        fields: &[
            Field::Columns,
            Field::Extra,
            one(
                "queue",
                "The queue that refused it, when you can see it.",
                "Queue",
                &[("queue_id", "queue_id")],
                true,
            ),
        ],
    },
    leaf(
        "CapturedData",
        "A workflow variable filled in a conversation.",
        "captured_data",
    ),
    leaf(
        "CollectedData",
        "A scripting value set during a workitem.",
        "collected_data",
    ),
    ObjectType {
        name: "Campaign",
        description: "An outbound campaign (lookup).",
        table: "campaigns",
        fields: &[
            Field::Columns,
            Field::Extra,
            id("campaign_id", "The campaign id."),
            Field::Relation(Relation {
                name: "records",
                description: "The records of the campaign, in id order, a page at a time.",
                target: "CampaignRecord",
                many: true,
                link: Link::Columns(&[("campaign_id", "campaign_id")]),
                order: RECORDS_BY_ID.columns,
                check: false,
                argument: Some(Argument::Page {
                    connection: "CampaignRecordConnection",
                    order: &RECORDS_BY_ID,
                }),
                most: None,
            }),
        ],
    },
    ObjectType {
        name: "CampaignRecord",
        description: "A record of a campaign (a customer to call), in its current state.",
        table: "campaign_records",
        fields: &[
            Field::Columns,
            Field::Extra,
            id("record_id", "The record id."),
            one(
                "campaign",
                "The campaign.",
                "Campaign",
                &[("campaign_id", "campaign_id")],
                false,
            ),
            many(
                "customFields",
                "The record's custom fields.",
                "CampaignRecordCustomField",
                &[("record_id", "record_id")],
                &["name"],
                false,
                Some(RECORD_ITEMS),
            ),
            many(
                "phoneNumbers",
                "The record's additional phone numbers.",
                "CampaignRecordPhoneNumber",
                &[("record_id", "record_id")],
                &["phone_number"],
                false,
                Some(RECORD_ITEMS),
            ),
            one(
                "registration",
                "The record as it was uploaded.",
                "CampaignRecordRegistration",
                &[("record_id", "record_id")],
                false,
            ),
        ],
    },
    leaf(
        "CampaignRecordCustomField",
        "A custom field of a campaign record.",
        "campaign_record_custom_fields",
    ),
    leaf(
        "CampaignRecordPhoneNumber",
        "An additional phone number of a campaign record.",
        "campaign_record_phone_numbers",
    ),
    leaf(
        "CampaignRecordRegistration",
        "A campaign record as it was uploaded.",
        "campaign_record_registrations",
    ),
    ObjectType {
        name: "FlowMetric",
        description: "A flow metric record: one metric event of an IVR flow (`tFlow`, `nFlowOutcome`, …) with\nevery dimension Genesys sends with it.",
        table: "flow_metrics",
        fields: &[
            Field::Columns,
            Field::Extra,
            one(
                "conversation",
                "The conversation the flow ran in, when you can see it.",
                "Conversation",
                &[("conversation_id", "conversation_id")],
                true,
            ),
        ],
    },
];

macro_rules! connections {
    ($($name:literal, $node:literal, $description:literal;)*) => {
        /// Every connection type: the pages the list roots answer with.
        pub static CONNECTIONS: &[Connection] = &[
            Connection {
                name: "ConversationConnection",
                description: "A page of conversations: edges (or just nodes), where it stands, and the total.",
                node: "Conversation",
                conversations: true,
            },
            $(Connection { name: $name, description: $description, node: $node, conversations: false },)*
        ];
    };
}

connections! {
    "WorkitemConnection", "Workitem", "A page of workitems.";
    "CampaignConnection", "Campaign", "A page of campaigns.";
    "CampaignRecordConnection", "CampaignRecord", "A page of campaign records.";
    "QueueConnection", "Queue", "A page of queues.";
    "ChannelConnection", "Channel", "A page of channels.";
    "UserConnection", "User", "A page of users.";
    "AgentConnection", "Agent", "A page of agents.";
    "BusinessUnitConnection", "BusinessUnit", "A page of business units.";
    "BotStepConnection", "BotStep", "A page of bot steps.";
    "DivisionConnection", "Division", "A page of divisions.";
    "WorkitemEvaluationConnection", "WorkitemEvaluation", "A page of workitem evaluations.";
    "FlowMetricConnection", "FlowMetric", "A page of flow metric records.";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_object_type_reads_a_declared_table_and_links_to_declared_types_and_columns() {
        for object in OBJECTS {
            let table = object.table();
            for field in object.fields {
                match field {
                    Field::Alias { column, .. } => {
                        assert!(table.column(column).is_some(), "{}.{column}", object.name)
                    }
                    Field::Duration { start, end, .. } => {
                        assert!(
                            table.column(start).is_some() && table.column(end).is_some(),
                            "{}",
                            object.name
                        )
                    }
                    Field::Relation(r) => {
                        let target = object_or_panic(r.target);
                        let child = target.table();
                        for o in r.order {
                            assert!(
                                child.column(o).is_some(),
                                "{}.{}: order {o}",
                                object.name,
                                r.name
                            );
                        }
                        check_link(
                            &r.link,
                            table,
                            child,
                            &format!("{}.{}", object.name, r.name),
                        );
                    }
                    Field::Columns | Field::Extra => {}
                }
            }
        }
        for connection in CONNECTIONS {
            object_or_panic(connection.node);
        }
    }

    fn object_or_panic(name: &str) -> &'static ObjectType {
        object(name).unwrap_or_else(|| panic!("no object type {name}"))
    }

    fn check_link(link: &Link, parent: &Table, child: &Table, what: &str) {
        match link {
            Link::Columns(pairs) => {
                for (p, c) in *pairs {
                    assert!(parent.column(p).is_some(), "{what}: parent column {p}");
                    assert!(child.column(c).is_some(), "{what}: child column {c}");
                }
            }
            Link::Each { list, column, .. } => {
                assert!(
                    parent.column(list).is_some_and(|c| c.kind == Kind::Texts),
                    "{what}: list {list}"
                );
                assert!(
                    child.column(column).is_some(),
                    "{what}: child column {column}"
                );
            }
            Link::Through {
                table: through,
                on,
                select,
                column,
            } => {
                let through =
                    table(through).unwrap_or_else(|| panic!("{what}: no table {through}"));
                for (p, t) in *on {
                    assert!(parent.column(p).is_some(), "{what}: parent column {p}");
                    assert!(through.column(t).is_some(), "{what}: column {t}");
                }
                assert!(through.column(select).is_some(), "{what}: column {select}");
                assert!(
                    child.column(column).is_some(),
                    "{what}: child column {column}"
                );
            }
            Link::AnyOf(links) => links
                .iter()
                .for_each(|l| check_link(l, parent, child, what)),
        }
    }

    #[test]
    fn visibility_rules_name_declared_tables_and_columns() {
        fn check(table_: &Table, rule: &Visibility) {
            match rule {
                Visibility::Conversation => {
                    assert!(
                        table_.column("division_ids").is_some()
                            && table_.column("business_unit_id").is_some()
                    );
                }
                Visibility::OwnUnit(c)
                | Visibility::OwnDivision(c)
                | Visibility::OwnDivisions(c) => {
                    assert!(table_.column(c).is_some(), "{}.{c}", table_.name)
                }
                Visibility::Through {
                    table: other,
                    on,
                    when,
                } => {
                    let other =
                        table(other).unwrap_or_else(|| panic!("{}: no table {other}", table_.name));
                    for (here, there) in *on {
                        assert!(table_.column(here).is_some(), "{}.{here}", table_.name);
                        assert!(other.column(there).is_some(), "{}.{there}", other.name);
                    }
                    if let Some(w) = when {
                        assert!(other.column(w).is_some_and(|c| c.kind == Kind::Bool));
                    }
                }
                Visibility::AnyOf(rules) => rules.iter().for_each(|r| check(table_, r)),
            }
        }
        for t in TABLES {
            check(t, &t.visibility);
            for k in t.key {
                assert!(t.column(k).is_some(), "{}: key {k}", t.name);
            }
        }
    }

    #[test]
    fn camel_case_matches_the_schema_spelling() {
        assert_eq!(camel_case("conversation_id"), "conversationId");
        assert_eq!(
            camel_case("media_stats_min_conversation_r_factor"),
            "mediaStatsMinConversationRFactor"
        );
        assert_eq!(camel_case("pcid"), "pcid");
    }
}
