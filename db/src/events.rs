//! Change events: every write path says what it stored, through PostgreSQL's `NOTIFY`, inside
//! the transaction that stores it (so a listener hears of a write exactly when it commits, and
//! never of one that rolled back). Events carry ids only: a listener reads the rows back through
//! the scoped read path, so what it learns is cut to its own scope. Any number of gateway
//! instances on one database hear each other's writes.

use crate::exec;
use domain::ingest::Target;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgConnection;

/// The channel the events travel on.
pub const CHANNEL: &str = "convgraph_changes";

/// What a write changed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Change {
    /// A conversation as stored changed: its graph, or rows of the feed hanging on it.
    Conversation { id: String },
    /// A flow metric record arrived or changed.
    FlowMetric {
        conversation_id: String,
        record_id: String,
    },
    /// An agent's states changed.
    AgentState { agent_id: String },
}

impl Change {
    /// The payload on the channel (JSON, well under NOTIFY's 8,000 bytes for ids of sane length).
    pub fn payload(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The change a payload names; `None` for one this version does not know.
    pub fn parse(payload: &str) -> Option<Change> {
        serde_json::from_str(payload).ok()
    }

    /// What storing `row` (column-named JSON) of `target` changed.
    pub fn of_row(target: Target, row: &Value) -> Vec<Change> {
        let text = |column: &str| row.get(column).and_then(Value::as_str).map(str::to_owned);
        let mut changes = Vec::new();
        if target == Target::FlowMetrics {
            if let (Some(conversation_id), Some(record_id)) =
                (text("conversation_id"), text("record_id"))
            {
                changes.push(Change::FlowMetric {
                    conversation_id,
                    record_id,
                });
            }
            return changes;
        }
        if target.table_name() == "agent_states" {
            if let Some(agent_id) = text("agent_id") {
                changes.push(Change::AgentState { agent_id });
            }
            return changes;
        }
        for column in ["conversation_id", "primary_conversation_id"] {
            if let Some(id) = text(column) {
                changes.push(Change::Conversation { id });
            }
        }
        changes
    }
}

/// Notifies `changes` on `conn`, inside its transaction: one statement for all of them.
/// Payloads too long for `NOTIFY` (ids of thousands of characters) are left out, with a
/// warning: a listener then learns of that write at its next resynchronisation.
pub async fn notify(conn: &mut PgConnection, changes: &[Change]) -> Result<(), sqlx::Error> {
    let payloads: Vec<String> = changes
        .iter()
        .map(Change::payload)
        .filter(|p| {
            let fits = p.len() < 7_900;
            if !fits {
                tracing::warn!(bytes = p.len(), "a change event too long to notify");
            }
            fits
        })
        .collect();
    if payloads.is_empty() {
        return Ok(());
    }
    sqlx::query("select pg_notify($1, p) from unnest($2::text[]) p")
        .bind(CHANNEL)
        .bind(payloads)
        .execute(exec::conn(conn))
        .await?;
    Ok(())
}

/// The conversations whose stored version changed at or after `since`, oldest change first,
/// at most `limit`: what a live feed that missed events catches up with (unscoped ids; the feed
/// reads each back through the scoped read path).
pub async fn conversations_changed_since(
    pool: &sqlx::PgPool,
    since: chrono::DateTime<chrono::Utc>,
    limit: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "select conversation_id from conversation_imports where last_changed_at >= $1
         order by last_changed_at, conversation_id limit $2",
    )
    .bind(since)
    .bind(limit)
    .fetch_all(exec::pool(pool))
    .await
}

/// The flow metric records of metrics at or after `since`, oldest first, at most `limit`
/// (unscoped keys, read back through the scoped read path).
pub async fn flow_metrics_since(
    pool: &sqlx::PgPool,
    since: chrono::DateTime<chrono::Utc>,
    limit: i64,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "select conversation_id, record_id from flow_metrics where metric_date >= $1
         order by metric_date, conversation_id, record_id limit $2",
    )
    .bind(since)
    .bind(limit)
    .fetch_all(exec::pool(pool))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::buzzeasy::Table;
    use serde_json::json;

    #[test]
    fn a_payload_reads_back_as_the_change() {
        for change in [
            Change::Conversation { id: "c-1".into() },
            Change::FlowMetric {
                conversation_id: "c".into(),
                record_id: "r".into(),
            },
            Change::AgentState {
                agent_id: "a".into(),
            },
        ] {
            assert_eq!(Change::parse(&change.payload()), Some(change));
        }
        assert_eq!(Change::parse(r#"{"t":"from_a_later_version"}"#), None);
    }

    #[test]
    fn feed_rows_change_their_conversation_or_agent() {
        let segment = json!({"conversation_id": "c-1", "queue_segment_id": "q"});
        assert_eq!(
            Change::of_row(Target::Feed(Table::QueueSegments), &segment),
            [Change::Conversation { id: "c-1".into() }]
        );
        let workitem = json!({"workitem_id": "w", "primary_conversation_id": "c-2"});
        assert_eq!(
            Change::of_row(Target::Feed(Table::Workitems), &workitem),
            [Change::Conversation { id: "c-2".into() }]
        );
        let state = json!({"agent_state_id": "s", "agent_id": "a-1"});
        assert_eq!(
            Change::of_row(Target::Feed(Table::AgentStates), &state),
            [Change::AgentState {
                agent_id: "a-1".into()
            }]
        );
        assert!(Change::of_row(Target::Feed(Table::Queues), &json!({"queue_id": "q"})).is_empty());
    }
}
