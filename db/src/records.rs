//! Writing rows of the Buzzeasy feed's tables (all but its conversations, which are
//! conversation graphs): each row is upserted by its key and says whether it was new, changed
//! or the same.

use crate::graph::StoreOutcome;
use domain::buzzeasy::Table;
use serde_json::Value;
use sqlx::PgConnection;
use sqlx::types::Json;

/// Upserts `rows` of one table: per row, the stored row of its key is compared with it (as
/// PostgreSQL would store it), then the changed ones are replaced and the new ones inserted.
/// The statements are literals, one set per table, so that sqlx checks them.
macro_rules! upsert {
    ($conn:expr, $rows:expr, $table:literal, $keys:literal) => {{
        let rows: &[Value] = $rows;
        // Writers of the same keys queue here, in key order, so that concurrent batches cannot
        // deadlock and each sees the other's row.
        sqlx::query!(
            "select count(pg_advisory_xact_lock(hashtextextended(k, 13))) as locked
             from (select distinct '"
                + $table
                + "' || row("
                + $keys
                + ")::text as k
                   from jsonb_populate_recordset(null::"
                + $table
                + ", $1) order by 1) keys",
            Json(rows) as _
        )
        .fetch_one(&mut *$conn)
        .await?;
        let pairs = sqlx::query!(
            "select to_jsonb(i) as \"new!\", to_jsonb(t) as old
             from jsonb_array_elements($1) with ordinality as e(j, n)
             cross join lateral jsonb_populate_record(null::"
                + $table
                + ", e.j) i
             left join "
                + $table
                + " t using ("
                + $keys
                + ")
             order by e.n",
            Json(rows) as _
        )
        .fetch_all(&mut *$conn)
        .await?;
        let mut outcomes = Vec::with_capacity(pairs.len());
        let mut changed = Vec::new();
        for pair in pairs {
            let outcome = match pair.old {
                None => StoreOutcome::Imported,
                Some(old) if old == pair.new => StoreOutcome::Unchanged,
                Some(_) => StoreOutcome::Replaced,
            };
            if outcome != StoreOutcome::Unchanged {
                changed.push(pair.new);
            }
            outcomes.push(outcome);
        }
        if !changed.is_empty() {
            sqlx::query!(
                "delete from "
                    + $table
                    + " where ("
                    + $keys
                    + ") in
                 (select "
                    + $keys
                    + " from jsonb_populate_recordset(null::"
                    + $table
                    + ", $1))",
                Json(&changed) as _
            )
            .execute(&mut *$conn)
            .await?;
            sqlx::query!(
                "insert into "
                    + $table
                    + " select * from jsonb_populate_recordset(null::"
                    + $table
                    + ", $1)",
                Json(&changed) as _
            )
            .execute(&mut *$conn)
            .await?;
        }
        outcomes
    }};
}

/// Stores rows of `table` (column-named JSON objects, keys distinct) and says what happened to
/// each, in order. Run it inside a transaction.
pub async fn store_rows(
    conn: &mut PgConnection,
    table: Table,
    rows: &[Value],
) -> Result<Vec<StoreOutcome>, sqlx::Error> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    Ok(match table {
        Table::BusinessUnits => upsert!(conn, rows, "business_units", "business_unit_id"),
        Table::Agents => upsert!(conn, rows, "agents", "agent_id"),
        Table::Users => upsert!(conn, rows, "users", "user_id"),
        Table::AgentStates => upsert!(conn, rows, "agent_states", "agent_state_id"),
        Table::AgentBusinessUnitChanges => upsert!(
            conn,
            rows,
            "agent_business_unit_changes",
            "agent_id, business_unit_id, timestamp"
        ),
        Table::Channels => upsert!(conn, rows, "channels", "channel_id"),
        Table::Queues => upsert!(conn, rows, "queues", "queue_id"),
        Table::BotSteps => upsert!(conn, rows, "bot_steps", "bot_step_id"),
        Table::BotSegments => upsert!(
            conn,
            rows,
            "bot_segments",
            "conversation_id, bot_segment_id"
        ),
        Table::QueueSegments => upsert!(
            conn,
            rows,
            "queue_segments",
            "conversation_id, queue_segment_id"
        ),
        Table::RejectedEnqueueAttempts => upsert!(
            conn,
            rows,
            "rejected_enqueue_attempts",
            "conversation_id, attempt_id"
        ),
        Table::CapturedData => upsert!(
            conn,
            rows,
            "captured_data",
            "conversation_id, name, captured_at"
        ),
        Table::Workitems => upsert!(conn, rows, "workitems", "workitem_id"),
        Table::WorkitemConversationSessions => upsert!(
            conn,
            rows,
            "workitem_conversation_sessions",
            "workitem_id, session_id"
        ),
        Table::CollectedData => upsert!(
            conn,
            rows,
            "collected_data",
            "workitem_id, name, created_at"
        ),
        Table::WorkitemEvaluations => upsert!(
            conn,
            rows,
            "workitem_evaluations",
            "workitem_id, evaluation_id"
        ),
        Table::WorkitemEvaluationData => upsert!(
            conn,
            rows,
            "workitem_evaluation_data",
            "workitem_id, entry_id"
        ),
        Table::Campaigns => upsert!(conn, rows, "campaigns", "campaign_id"),
        Table::CampaignRecords => upsert!(conn, rows, "campaign_records", "record_id"),
        Table::CampaignRecordCustomFields => upsert!(
            conn,
            rows,
            "campaign_record_custom_fields",
            "record_id, name"
        ),
        Table::CampaignRecordPhoneNumbers => upsert!(
            conn,
            rows,
            "campaign_record_phone_numbers",
            "record_id, phone_number"
        ),
        Table::CampaignRecordRegistrations => {
            upsert!(conn, rows, "campaign_record_registrations", "record_id")
        }
        Table::Calls | Table::Chats | Table::Emails | Table::Conversations => {
            unreachable!("conversations are stored as conversation graphs")
        }
    })
}

/// Stores rows of one table in one transaction.
pub async fn ingest_rows(
    pool: &sqlx::PgPool,
    table: Table,
    rows: &[Value],
) -> Result<Vec<StoreOutcome>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let outcomes = store_rows(&mut tx, table, rows).await?;
    tx.commit().await?;
    Ok(outcomes)
}
