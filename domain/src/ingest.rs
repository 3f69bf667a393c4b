//! The rules for documents coming in, whichever door they use (`convgraph import`, the
//! `ingestConversations` mutation, `POST /ingest`): how big a document may be, what makes it
//! unreadable, who may write what, and which version of a conversation wins. No IO.

use crate::ConversationGraph;
use crate::buzzeasy::{self, ReadOptions, Record, Table};
use crate::flow_metrics;
use crate::genesys::{self, Shape};
use crate::scope::Scope;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// Bounds on one incoming document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestLimits {
    /// The largest document, in bytes of JSON text.
    pub max_document_bytes: usize,
    /// The deepest nesting of objects and arrays (the document itself is depth 1).
    pub max_depth: usize,
    /// The longest string value or object key, in bytes.
    pub max_string_bytes: usize,
}

impl Default for IngestLimits {
    fn default() -> Self {
        Self {
            max_document_bytes: 8 * 1024 * 1024,
            max_depth: 64,
            max_string_bytes: 1024 * 1024,
        }
    }
}

/// Why a document was not stored. The codes are a contract: partners branch on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(
    feature = "graphql",
    derive(async_graphql::Enum),
    graphql(name = "IngestErrorCode")
)]
pub enum RejectCode {
    /// The text is not JSON (or is cut short).
    MalformedJson,
    /// The bytes are not UTF-8.
    InvalidUtf8,
    /// The document is larger than the document size limit.
    DocumentTooLarge,
    /// Objects and arrays nest deeper than the limit.
    TooDeep,
    /// A string or key is longer than the limit.
    StringTooLong,
    /// The JSON is not a valid conversation: a missing id, a wrong type, a bad timestamp, a
    /// duplicate key; the path names the value.
    InvalidDocument,
    /// The document is of a Genesys kind convgraph does not store: a notification event (of a
    /// `v2.detail.events.conversation.{id}.…` topic) or a conversation metrics record (a metric
    /// record whose metric is not a flow metric). The message says what to send instead.
    UnsupportedDocument,
    /// The same conversation appears earlier in the same request.
    DuplicateId,
    /// The token may not write this conversation (its divisions or business unit, or the stored
    /// conversation of that id, are outside the token's scope).
    OutOfScope,
    /// The stored version of the conversation is newer than this document.
    Stale,
    /// The database refused a value (a number or timestamp beyond its range).
    StoreRefused,
    /// The database could not be reached; nothing of the document was stored.
    Unavailable,
}

impl RejectCode {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectCode::MalformedJson => "MALFORMED_JSON",
            RejectCode::InvalidUtf8 => "INVALID_UTF8",
            RejectCode::DocumentTooLarge => "DOCUMENT_TOO_LARGE",
            RejectCode::TooDeep => "TOO_DEEP",
            RejectCode::StringTooLong => "STRING_TOO_LONG",
            RejectCode::InvalidDocument => "INVALID_DOCUMENT",
            RejectCode::UnsupportedDocument => "UNSUPPORTED_DOCUMENT",
            RejectCode::DuplicateId => "DUPLICATE_ID",
            RejectCode::OutOfScope => "OUT_OF_SCOPE",
            RejectCode::Stale => "STALE",
            RejectCode::StoreRefused => "STORE_REFUSED",
            RejectCode::Unavailable => "UNAVAILABLE",
        }
    }
}

/// A rejected document: the code, the JSON path of the offending value when there is one, and a
/// message a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestError {
    pub code: RejectCode,
    pub path: Option<String>,
    pub message: String,
}

impl IngestError {
    pub fn new(code: RejectCode, path: Option<String>, message: impl Into<String>) -> Self {
        Self {
            code,
            path,
            message: message.into(),
        }
    }
}

impl fmt::Display for IngestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(path) => write!(f, "{}: {}: {}", self.code.as_str(), path, self.message),
            None => write!(f, "{}: {}", self.code.as_str(), self.message),
        }
    }
}

/// The bytes of one document as text: within the size limit and UTF-8.
pub fn check_bytes<'a>(bytes: &'a [u8], limits: &IngestLimits) -> Result<&'a str, IngestError> {
    if bytes.len() > limits.max_document_bytes {
        return Err(too_large(bytes.len(), limits));
    }
    std::str::from_utf8(bytes).map_err(|e| {
        IngestError::new(
            RejectCode::InvalidUtf8,
            None,
            format!(
                "the document is not valid UTF-8 (at byte {})",
                e.valid_up_to() + 1
            ),
        )
    })
}

/// The error for a document of `bytes` bytes.
pub fn too_large(bytes: usize, limits: &IngestLimits) -> IngestError {
    IngestError::new(
        RejectCode::DocumentTooLarge,
        None,
        format!(
            "the document has {bytes} bytes, more than the limit of {}",
            limits.max_document_bytes
        ),
    )
}

/// Parses the JSON text of one document.
pub fn parse_json(text: &str) -> Result<Value, IngestError> {
    serde_json::from_str(text).map_err(|e| json_error(&e))
}

/// What a JSON parse error means for the sender. serde_json stops at 128 levels of nesting;
/// that is reported like any document deeper than the limit.
pub fn json_error(e: &serde_json::Error) -> IngestError {
    let text = e.to_string();
    if text.starts_with("recursion limit exceeded") {
        return IngestError::new(
            RejectCode::TooDeep,
            None,
            format!("objects and arrays nest too deep ({text})"),
        );
    }
    // The line is the document's own (always 1 for a JSON line); the column is what helps.
    let at = match (e.line(), e.column()) {
        (0, _) => String::new(),
        (1, c) => format!(" at column {c}"),
        (l, c) => format!(" at line {l} column {c}"),
    };
    let what = text.split(" at line ").next().unwrap_or(&text);
    IngestError::new(
        RejectCode::MalformedJson,
        None,
        format!("malformed JSON: {what}{at}"),
    )
}

/// Checks what a parsed document holds against the limits: nesting depth, string and key
/// lengths, and `\u0000`, which PostgreSQL cannot store. The first offence is named by its path.
pub fn check_value(value: &Value, limits: &IngestLimits) -> Result<(), IngestError> {
    let mut path = String::from("$");
    walk(value, 1, &mut path, limits)
}

fn walk(
    value: &Value,
    depth: usize,
    path: &mut String,
    limits: &IngestLimits,
) -> Result<(), IngestError> {
    let nested = matches!(value, Value::Array(_) | Value::Object(_));
    if nested && depth > limits.max_depth {
        return Err(IngestError::new(
            RejectCode::TooDeep,
            Some(path.clone()),
            format!(
                "objects and arrays nest deeper than the limit of {} levels",
                limits.max_depth
            ),
        ));
    }
    match value {
        Value::String(s) => check_string(s, path, "string", limits),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk(item, depth + 1, path, limits)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Object(fields) => {
            for (key, item) in fields {
                check_string(key, path, "key", limits)?;
                let len = path.len();
                path.push('.');
                path.push_str(key);
                walk(item, depth + 1, path, limits)?;
                path.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn check_string(s: &str, path: &str, what: &str, limits: &IngestLimits) -> Result<(), IngestError> {
    if s.len() > limits.max_string_bytes {
        return Err(IngestError::new(
            RejectCode::StringTooLong,
            Some(path.to_owned()),
            format!(
                "a {what} of {} bytes is longer than the limit of {}",
                s.len(),
                limits.max_string_bytes
            ),
        ));
    }
    if s.contains('\u{0}') {
        return Err(IngestError::new(
            RejectCode::InvalidDocument,
            Some(path.to_owned()),
            format!("a {what} holds the character \\u0000, which cannot be stored"),
        ));
    }
    Ok(())
}

/// A checked document as a conversation graph, in the given shape or the one detected.
pub fn to_graph(
    value: &Value,
    shape: Option<Shape>,
    limits: &IngestLimits,
) -> Result<ConversationGraph, IngestError> {
    check_value(value, limits)?;
    if let Some(refusal) = notification_event(value) {
        return Err(refusal);
    }
    let parsed = match shape {
        None => genesys::parse(value),
        Some(Shape::Analytics) => genesys::parse_analytics(value),
        Some(Shape::Platform) => genesys::parse_platform(value),
    };
    parsed.map_err(|e| IngestError::new(RejectCode::InvalidDocument, Some(e.path), e.message))
}

/// Why `value` is refused when it is a Genesys notification event rather than a conversation:
/// an envelope (`topicName`, `eventBody`) or a detail event's body (`eventTime` at the top, no
/// participants). Stored as a conversation it would be an empty one, or overwrite a stored
/// conversation of its id with nothing.
fn notification_event(value: &Value) -> Option<IngestError> {
    let root = value.as_object()?;
    let topic = root.get("topicName").and_then(Value::as_str);
    let envelope = topic.is_some() || root.contains_key("eventBody");
    let event_body = root.contains_key("eventTime") && !root.contains_key("participants");
    if !envelope && !event_body {
        return None;
    }
    let what = match topic {
        Some(topic) => format!("a notification event of the topic {topic:?}"),
        None if envelope => "a notification event (it has an eventBody)".to_owned(),
        None => "the body of a conversation detail event (it has an eventTime)".to_owned(),
    };
    Some(IngestError::new(
        RejectCode::UnsupportedDocument,
        None,
        format!(
            "this is {what}, not a conversation: an event describes one change, and convgraph \
             stores whole conversations; send the conversation's analytics details \
             (GET /api/v2/analytics/conversations/{{id}}/details) instead"
        ),
    ))
}

/// Why `value` is refused when it is a metric record but not a flow metric record: Genesys'
/// conversation metrics topic sends records of the same shape with conversation metrics
/// (`tTalk`, `nOffered` …), which convgraph derives from the conversation itself. A record is a
/// flow metric record when its metric is a flow metric (`flowAggregates`' list) or when it
/// names a flow (a metric Genesys adds to the flow topic later is kept).
fn conversation_metric_record(value: &Value) -> Option<IngestError> {
    let metric = value.get("metric").and_then(Value::as_str)?;
    let names_a_flow = [
        "flowId",
        "flow_id",
        "flowName",
        "flow_name",
        "flowType",
        "flow_type",
        "flowVersion",
        "flow_version",
    ]
    .iter()
    .any(|key| value.get(*key).is_some_and(|v| !v.is_null()));
    let flow_metrics: Vec<&str> = crate::aggregate::FLOW_METRICS
        .iter()
        .map(|m| m.name)
        .collect();
    if names_a_flow || flow_metrics.contains(&metric) {
        return None;
    }
    Some(IngestError::new(
        RejectCode::UnsupportedDocument,
        Some("$.metric".to_owned()),
        format!(
            "a metric record of {metric:?} that names no flow is not a flow metric record (a flow \
             metric is one of {}): conversation metrics records are not stored, since convgraph \
             derives the conversation metrics from the conversation's analytics details; send \
             those instead",
            flow_metrics.join(", ")
        ),
    ))
}

/// The id of a conversation document before it is parsed (for reports on documents that do
/// not parse).
pub fn conversation_id_of(value: &Value) -> Option<String> {
    let key = match genesys::detect(value) {
        Some(Shape::Platform) => "id",
        _ => "conversationId",
    };
    value
        .get(key)
        .or_else(|| value.get("conversationId"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Where a row that is not a conversation goes: a table of the Buzzeasy feed, or the flow
/// metric records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    Feed(Table),
    FlowMetrics,
}

impl Target {
    /// A table by the name a sender gives: a feed table (`Workitems`, `Queue Segments`, …) or
    /// `FlowMetrics`.
    pub fn from_name(name: &str) -> Option<Target> {
        let squashed: String = name
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if matches!(
            squashed.as_str(),
            "flowmetrics" | "flowmetric" | "flowmetricrecords"
        ) {
            return Some(Target::FlowMetrics);
        }
        Table::from_name(name).map(Target::Feed)
    }

    /// Every table name a sender may give.
    pub fn names() -> String {
        let mut names: Vec<&str> = Table::ALL.iter().map(|t| t.name()).collect();
        names.push("FlowMetrics");
        names.join(", ")
    }

    /// The columns that identify a row.
    pub fn key_columns(self) -> &'static [&'static str] {
        match self {
            Target::Feed(table) => table.key_columns(),
            Target::FlowMetrics => &["conversation_id", "record_id"],
        }
    }

    /// The table its rows are stored in.
    pub fn table_name(self) -> &'static str {
        match self {
            Target::FlowMetrics => "flow_metrics",
            Target::Feed(table) => match table {
                Table::BusinessUnits => "business_units",
                Table::Agents => "agents",
                Table::Users => "users",
                Table::AgentStates => "agent_states",
                Table::AgentBusinessUnitChanges => "agent_business_unit_changes",
                Table::Channels => "channels",
                Table::Queues => "queues",
                Table::BotSteps => "bot_steps",
                Table::BotSegments => "bot_segments",
                Table::QueueSegments => "queue_segments",
                Table::RejectedEnqueueAttempts => "rejected_enqueue_attempts",
                Table::CapturedData => "captured_data",
                Table::Calls | Table::Chats | Table::Emails | Table::Conversations => {
                    "conversations"
                }
                Table::Workitems => "workitems",
                Table::WorkitemConversationSessions => "workitem_conversation_sessions",
                Table::CollectedData => "collected_data",
                Table::WorkitemEvaluations => "workitem_evaluations",
                Table::WorkitemEvaluationData => "workitem_evaluation_data",
                Table::Campaigns => "campaigns",
                Table::CampaignRecords => "campaign_records",
                Table::CampaignRecordCustomFields => "campaign_record_custom_fields",
                Table::CampaignRecordPhoneNumbers => "campaign_record_phone_numbers",
                Table::CampaignRecordRegistrations => "campaign_record_registrations",
            },
        }
    }

    /// What one row of the table is called in messages.
    pub fn noun(self) -> &'static str {
        match self {
            Target::FlowMetrics => "flow metric record",
            Target::Feed(table) => match table {
                Table::BusinessUnits => "business unit",
                Table::Agents => "agent",
                Table::Users => "user",
                Table::AgentStates => "agent state",
                Table::AgentBusinessUnitChanges => "agent business unit change",
                Table::Channels => "channel",
                Table::Queues => "queue",
                Table::BotSteps => "bot step",
                Table::BotSegments => "bot segment",
                Table::QueueSegments => "queue segment",
                Table::RejectedEnqueueAttempts => "rejected enqueue attempt",
                Table::CapturedData => "captured data row",
                Table::Calls | Table::Chats | Table::Emails | Table::Conversations => {
                    "conversation"
                }
                Table::Workitems => "workitem",
                Table::WorkitemConversationSessions => "workitem conversation session",
                Table::CollectedData => "collected data row",
                Table::WorkitemEvaluations => "workitem evaluation",
                Table::WorkitemEvaluationData => "workitem evaluation answer",
                Table::Campaigns => "campaign",
                Table::CampaignRecords => "campaign record",
                Table::CampaignRecordCustomFields => "campaign record custom field",
                Table::CampaignRecordPhoneNumbers => "campaign record phone number",
                Table::CampaignRecordRegistrations => "campaign record registration",
            },
        }
    }

    /// Where the scope labels of the table's rows come from: what a writer's scope is checked
    /// against, for the row sent and for the row stored under its key (see [`Labelled`]).
    pub fn labelled(self) -> Labelled {
        use Labelled::{Nowhere, Own, Parent};
        let unit = Own {
            divisions: None,
            business_unit: Some("business_unit_id"),
        };
        let on = |column, table| Parent {
            column,
            parent: Target::Feed(table),
        };
        match self {
            Target::FlowMetrics => Own {
                divisions: Some("division_ids"),
                business_unit: None,
            },
            Target::Feed(table) => match table {
                Table::Calls | Table::Chats | Table::Emails | Table::Conversations => Own {
                    divisions: Some("division_ids"),
                    business_unit: Some("business_unit_id"),
                },
                Table::BusinessUnits
                | Table::AgentBusinessUnitChanges
                | Table::Channels
                | Table::Workitems
                | Table::Campaigns => unit,
                Table::Queues => on("channel_id", Table::Channels),
                Table::BotSegments
                | Table::QueueSegments
                | Table::RejectedEnqueueAttempts
                | Table::CapturedData => on("conversation_id", Table::Conversations),
                Table::WorkitemConversationSessions
                | Table::CollectedData
                | Table::WorkitemEvaluations
                | Table::WorkitemEvaluationData => on("workitem_id", Table::Workitems),
                Table::CampaignRecords => on("campaign_id", Table::Campaigns),
                Table::CampaignRecordCustomFields
                | Table::CampaignRecordPhoneNumbers
                | Table::CampaignRecordRegistrations => on("record_id", Table::CampaignRecords),
                Table::Agents | Table::Users | Table::AgentStates | Table::BotSteps => Nowhere,
            },
        }
    }

    /// The key of a row (column-named JSON), for telling rows apart.
    pub fn key_of(self, row: &Value) -> String {
        self.key_columns()
            .iter()
            .map(|k| row.get(*k).map(Value::to_string).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\u{1f}")
    }
}

/// Where the scope labels of a table's rows come from: the write path's one rule, read by
/// `db::records` for every table. A row may be written when its labels are in the writer's scope
/// ([`may_write`]) and, when its key is already stored, the stored row's labels are too; labels
/// that cannot be told (a parent that is not stored) refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Labelled {
    /// The rows carry no scope (agents, users, agent states, bot steps): only a token for
    /// everything may write them.
    Nowhere,
    /// The row's own columns: its divisions (a `text[]` column) and its business unit.
    Own {
        divisions: Option<&'static str>,
        business_unit: Option<&'static str>,
    },
    /// The stored row of `parent` that the row's `column` names: the row hangs on it and has its
    /// labels.
    Parent {
        column: &'static str,
        parent: Target,
    },
}

/// The scope labels of one row.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Labels {
    pub divisions: Vec<String>,
    pub business_unit: Option<String>,
}

impl Labels {
    /// The labels `Own` columns give `row` (column-named JSON).
    pub fn of(
        row: &Value,
        divisions: Option<&'static str>,
        business_unit: Option<&'static str>,
    ) -> Self {
        Labels {
            divisions: divisions
                .and_then(|column| row.get(column))
                .and_then(Value::as_array)
                .map(|ids| {
                    ids.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            business_unit: business_unit
                .and_then(|column| row.get(column))
                .and_then(Value::as_str)
                .map(str::to_owned),
        }
    }
}

/// A document read and checked: a conversation graph, or a row of another table.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Graph(Box<ConversationGraph>),
    Row {
        target: Target,
        /// The row's key, for reports (`w-1`, `c-1/q-1@…`).
        key: String,
        /// The row's columns.
        row: Value,
    },
}

impl Item {
    /// What identifies the item in a report: the conversation id or the row's key.
    pub fn key(&self) -> &str {
        match self {
            Item::Graph(g) => g.id(),
            Item::Row { key, .. } => key,
        }
    }

    /// What tells two items of one request apart: the same key twice is the same record.
    pub fn identity(&self) -> String {
        match self {
            Item::Graph(g) => format!("conversation\u{1f}{}", g.id()),
            Item::Row { target, row, .. } => format!("{target:?}\u{1f}{}", target.key_of(row)),
        }
    }
}

/// Reads one checked document: a row of `target` when given, else a flow metric record (told
/// by its `metric` and `metricDate`) or a Genesys conversation in `shape` (or the one detected).
pub fn read_item(
    value: &Value,
    target: Option<Target>,
    shape: Option<Shape>,
    options: &ReadOptions,
    limits: &IngestLimits,
) -> Result<Item, IngestError> {
    check_value(value, limits)?;
    let invalid = |e: crate::DocumentError| {
        IngestError::new(RejectCode::InvalidDocument, Some(e.path), e.message)
    };
    let target = target.or_else(|| flow_metrics::is_record(value).then_some(Target::FlowMetrics));
    if target == Some(Target::FlowMetrics)
        && let Some(refusal) = conversation_metric_record(value)
    {
        return Err(refusal);
    }
    match target {
        None => to_graph(value, shape, limits).map(|g| Item::Graph(Box::new(g))),
        Some(Target::FlowMetrics) => {
            let row = flow_metrics::read(value).map_err(invalid)?;
            Ok(Item::Row {
                target: Target::FlowMetrics,
                key: format!("{}/{}", row.conversation_id, row.record_id),
                row: serde_json::to_value(&row).unwrap_or_default(),
            })
        }
        Some(Target::Feed(table)) => {
            match buzzeasy::read_row(table, value, options).map_err(invalid)? {
                Record::Conversation(graph) => Ok(Item::Graph(graph)),
                Record::Row { table, key, row } => Ok(Item::Row {
                    target: Target::Feed(table),
                    key,
                    row,
                }),
            }
        }
    }
}

/// The key of a document that did not read, when it can be told: for reports.
pub fn key_of_document(value: &Value, target: Option<Target>) -> Option<String> {
    match target {
        Some(Target::Feed(table)) => buzzeasy::key_of(table, value),
        _ => conversation_id_of(value),
    }
}

/// Whether `scope` may write a conversation labelled with these divisions and business unit.
///
/// Writing is stricter than reading: every division and the business unit must be in scope,
/// so a partner can put a conversation only where it can see it whole. A conversation with no
/// label at all is visible to no limited scope, so only a token for everything may write one.
pub fn may_write(scope: &Scope, division_ids: &[String], business_unit_id: Option<&str>) -> bool {
    outside(scope, division_ids, business_unit_id).is_ok()
}

/// Why `scope` may not write a conversation so labelled, for the sender of the document (it
/// names only the document's own labels).
pub fn outside(
    scope: &Scope,
    division_ids: &[String],
    business_unit_id: Option<&str>,
) -> Result<(), IngestError> {
    let Scope::Limited {
        divisions,
        business_units,
    } = scope
    else {
        return Ok(());
    };
    let refuse = |message: String| Err(IngestError::new(RejectCode::OutOfScope, None, message));
    if division_ids.is_empty() && business_unit_id.is_none() {
        return refuse(
            "the conversation names no division and no business unit; only a token for all of them may write it"
                .into(),
        );
    }
    if let Some(d) = division_ids.iter().find(|d| !divisions.contains(*d)) {
        return refuse(format!("division {d:?} is not in this token's scope"));
    }
    if let Some(b) = business_unit_id.filter(|b| !business_units.contains(*b)) {
        return refuse(format!("business unit {b:?} is not in this token's scope"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn limited(d: &[&str], b: &[&str]) -> Scope {
        Scope::Limited {
            divisions: d.iter().map(|s| s.to_string()).collect(),
            business_units: b.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn writing_needs_every_label_in_scope() {
        let a = vec!["a".to_string()];
        let ab = vec!["a".to_string(), "b".to_string()];
        assert!(may_write(&limited(&["a"], &[]), &a, None));
        assert!(!may_write(&limited(&["a"], &[]), &ab, None));
        assert!(!may_write(&limited(&["a"], &[]), &a, Some("x")));
        assert!(may_write(&limited(&["a"], &["x"]), &a, Some("x")));
        assert!(may_write(&limited(&[], &["x"]), &[], Some("x")));
        assert!(!may_write(&limited(&["a"], &["x"]), &[], None));
        assert!(may_write(&Scope::All, &[], None));
    }

    #[test]
    fn the_first_offence_is_named_by_its_path() {
        let limits = IngestLimits {
            max_depth: 3,
            max_string_bytes: 4,
            ..Default::default()
        };
        let long = check_value(&json!({"a": [{"b": "12345"}]}), &limits).unwrap_err();
        assert_eq!(
            (long.code, long.path.as_deref()),
            (RejectCode::StringTooLong, Some("$.a[0].b"))
        );
        let deep = check_value(&json!({"a": [{"b": []}]}), &limits).unwrap_err();
        assert_eq!(
            (deep.code, deep.path.as_deref()),
            (RejectCode::TooDeep, Some("$.a[0].b"))
        );
        let key = check_value(&json!({"abcde": 1}), &limits).unwrap_err();
        assert_eq!(key.code, RejectCode::StringTooLong);
        assert!(check_value(&json!({"a": [{"b": "1234"}]}), &limits).is_ok());
    }

    #[test]
    fn json_errors_name_the_column_and_deep_nesting_is_too_deep() {
        let e = parse_json("{\"a\": [1, 2").unwrap_err();
        assert_eq!(e.code, RejectCode::MalformedJson);
        assert_eq!(
            e.message,
            "malformed JSON: EOF while parsing a list at column 11"
        );
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert_eq!(parse_json(&deep).unwrap_err().code, RejectCode::TooDeep);
    }

    #[test]
    fn bytes_beyond_the_limit_or_not_utf8_are_refused() {
        let limits = IngestLimits {
            max_document_bytes: 4,
            ..Default::default()
        };
        assert_eq!(
            check_bytes(b"12345", &limits).unwrap_err().code,
            RejectCode::DocumentTooLarge
        );
        let e = check_bytes(b"a\xffb", &limits).unwrap_err();
        assert_eq!(e.code, RejectCode::InvalidUtf8);
        assert_eq!(e.message, "the document is not valid UTF-8 (at byte 2)");
    }
}
