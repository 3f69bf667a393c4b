//! Writing rows of the Buzzeasy feed's tables (all but its conversations, which are
//! conversation graphs): each row is upserted by its key and says whether it was new, changed
//! or the same.

use crate::graph::StoreOutcome;
use domain::Scope;
use domain::buzzeasy::Table;
pub use domain::ingest::Target;
use domain::ingest::{IngestError, RejectCode};
use serde_json::Value;
use sqlx::PgConnection;
use sqlx::types::Json;

/// Upserts `rows` of one table: per row, the stored row of its key is compared with it (as
/// PostgreSQL would store it, see [`decide`]), then the changed ones are replaced and the new
/// ones inserted.
/// The statements are literals, one set per table, so that sqlx checks them.
macro_rules! upsert {
    ($conn:expr, $rows:expr, $table:literal, $keys:literal, $times:expr) => {{
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
            let outcome = decide(&pair.new, pair.old.as_ref(), $times);
            if matches!(outcome, Ok(StoreOutcome::Imported | StoreOutcome::Replaced)) {
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
) -> Result<Vec<Result<StoreOutcome, IngestError>>, sqlx::Error> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    Ok(match table {
        Table::BusinessUnits => upsert!(
            conn,
            rows,
            "business_units",
            "business_unit_id",
            &time_columns(table)
        ),
        Table::Agents => upsert!(conn, rows, "agents", "agent_id", &time_columns(table)),
        Table::Users => upsert!(conn, rows, "users", "user_id", &time_columns(table)),
        Table::AgentStates => upsert!(
            conn,
            rows,
            "agent_states",
            "agent_state_id",
            &time_columns(table)
        ),
        Table::AgentBusinessUnitChanges => upsert!(
            conn,
            rows,
            "agent_business_unit_changes",
            "agent_id, business_unit_id, timestamp",
            &time_columns(table)
        ),
        Table::Channels => upsert!(conn, rows, "channels", "channel_id", &time_columns(table)),
        Table::Queues => upsert!(conn, rows, "queues", "queue_id", &time_columns(table)),
        Table::BotSteps => upsert!(conn, rows, "bot_steps", "bot_step_id", &time_columns(table)),
        Table::BotSegments => upsert!(
            conn,
            rows,
            "bot_segments",
            "conversation_id, bot_segment_id",
            &time_columns(table)
        ),
        Table::QueueSegments => upsert!(
            conn,
            rows,
            "queue_segments",
            "conversation_id, queue_segment_id",
            &time_columns(table)
        ),
        Table::RejectedEnqueueAttempts => upsert!(
            conn,
            rows,
            "rejected_enqueue_attempts",
            "conversation_id, attempt_id",
            &time_columns(table)
        ),
        Table::CapturedData => upsert!(
            conn,
            rows,
            "captured_data",
            "conversation_id, name, captured_at",
            &time_columns(table)
        ),
        Table::Workitems => upsert!(conn, rows, "workitems", "workitem_id", &time_columns(table)),
        Table::WorkitemConversationSessions => upsert!(
            conn,
            rows,
            "workitem_conversation_sessions",
            "workitem_id, session_id",
            &time_columns(table)
        ),
        Table::CollectedData => upsert!(
            conn,
            rows,
            "collected_data",
            "workitem_id, name, created_at",
            &time_columns(table)
        ),
        Table::WorkitemEvaluations => upsert!(
            conn,
            rows,
            "workitem_evaluations",
            "workitem_id, evaluation_id",
            &time_columns(table)
        ),
        Table::WorkitemEvaluationData => upsert!(
            conn,
            rows,
            "workitem_evaluation_data",
            "workitem_id, entry_id",
            &time_columns(table)
        ),
        Table::Campaigns => upsert!(conn, rows, "campaigns", "campaign_id", &time_columns(table)),
        Table::CampaignRecords => upsert!(
            conn,
            rows,
            "campaign_records",
            "record_id",
            &time_columns(table)
        ),
        Table::CampaignRecordCustomFields => upsert!(
            conn,
            rows,
            "campaign_record_custom_fields",
            "record_id, name",
            &time_columns(table)
        ),
        Table::CampaignRecordPhoneNumbers => upsert!(
            conn,
            rows,
            "campaign_record_phone_numbers",
            "record_id, phone_number",
            &time_columns(table)
        ),
        Table::CampaignRecordRegistrations => {
            upsert!(
                conn,
                rows,
                "campaign_record_registrations",
                "record_id",
                &time_columns(table)
            )
        }
        Table::Calls | Table::Chats | Table::Emails | Table::Conversations => {
            unreachable!("conversations are stored as conversation graphs")
        }
    })
}

/// Stores rows of one table in one transaction (for the generator: a row it refuses, a stale
/// one, is an error).
pub async fn ingest_rows(
    pool: &sqlx::PgPool,
    table: Table,
    rows: &[Value],
) -> Result<Vec<StoreOutcome>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let outcomes = store_rows(&mut tx, table, rows)
        .await?
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    tx.commit().await?;
    Ok(outcomes)
}

/// The columns of `table` that hold times (UTC): a row's version is the latest of them.
fn time_columns(table: Table) -> Vec<&'static str> {
    table.time_columns()
}

/// What storing `new` over `old` (the stored row of its key, both as PostgreSQL stores them)
/// does: a row whose latest time is earlier than the stored row's is stale and changes nothing.
fn decide(new: &Value, old: Option<&Value>, times: &[&str]) -> Result<StoreOutcome, IngestError> {
    let Some(old) = old else {
        return Ok(StoreOutcome::Imported);
    };
    if old == new {
        return Ok(StoreOutcome::Unchanged);
    }
    let latest = |row: &Value| {
        times
            .iter()
            .filter_map(|c| row.get(*c).and_then(Value::as_str))
            .filter_map(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .max()
    };
    match (latest(new), latest(old)) {
        (Some(n), Some(o)) if n < o => Err(IngestError::new(
            RejectCode::Stale,
            None,
            format!(
                "the stored row is newer: it runs to {}, this one to {}",
                o.to_utc()
                    .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                n.to_utc()
                    .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            ),
        )),
        (None, Some(o)) => Err(IngestError::new(
            RejectCode::Stale,
            None,
            format!(
                "the stored row runs to {} and this one has no times at all",
                o.to_utc()
                    .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            ),
        )),
        _ => Ok(StoreOutcome::Replaced),
    }
}

/// Who may write a row: the scope labels (divisions, business units) it is checked against.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Labels {
    divisions: Vec<String>,
    business_unit: Option<String>,
}

/// What a limited token needs to write rows of a table.
enum Rule {
    /// Only a token for everything: the table carries no scope (agents, users, bot steps, agent
    /// states).
    AllOnly,
    /// The row's own business unit (and the stored row's, when the key exists).
    OwnUnit(&'static str),
    /// The stored parent's labels: the row hangs on it.
    Parent(Parent),
    /// The row's own divisions (flow metric records).
    OwnDivisions,
}

#[derive(Clone, Copy)]
enum Parent {
    Conversation,
    Workitem,
    Channel,
    Campaign,
    /// A campaign record, through its campaign.
    Record,
}

fn rule(target: Target) -> Rule {
    match target {
        Target::FlowMetrics => Rule::OwnDivisions,
        Target::Feed(table) => match table {
            Table::Workitems | Table::Channels | Table::Campaigns => {
                Rule::OwnUnit("business_unit_id")
            }
            Table::BusinessUnits | Table::AgentBusinessUnitChanges => {
                Rule::OwnUnit("business_unit_id")
            }
            Table::Queues => Rule::Parent(Parent::Channel),
            Table::BotSegments
            | Table::QueueSegments
            | Table::RejectedEnqueueAttempts
            | Table::CapturedData => Rule::Parent(Parent::Conversation),
            Table::WorkitemConversationSessions
            | Table::WorkitemEvaluations
            | Table::WorkitemEvaluationData
            | Table::CollectedData => Rule::Parent(Parent::Workitem),
            Table::CampaignRecords => Rule::Parent(Parent::Campaign),
            Table::CampaignRecordCustomFields
            | Table::CampaignRecordPhoneNumbers
            | Table::CampaignRecordRegistrations => Rule::Parent(Parent::Record),
            Table::Agents | Table::Users | Table::AgentStates | Table::BotSteps => Rule::AllOnly,
            Table::Calls | Table::Chats | Table::Emails | Table::Conversations => Rule::AllOnly,
        },
    }
}

fn text(row: &Value, column: &str) -> Option<String> {
    row.get(column).and_then(Value::as_str).map(str::to_owned)
}

/// The stored labels of parents, by id.
async fn parent_labels(
    conn: &mut PgConnection,
    parent: Parent,
    ids: &[String],
) -> Result<std::collections::HashMap<String, Labels>, sqlx::Error> {
    let rows: Vec<(String, Vec<String>, Option<String>)> = match parent {
        Parent::Conversation => sqlx::query!(
            "select conversation_id, division_ids, business_unit_id from conversations
             where conversation_id = any($1)",
            ids
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| (r.conversation_id, r.division_ids, r.business_unit_id))
        .collect(),
        Parent::Workitem => sqlx::query!(
            "select workitem_id, business_unit_id from workitems where workitem_id = any($1)",
            ids
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| (r.workitem_id, Vec::new(), r.business_unit_id))
        .collect(),
        Parent::Channel => sqlx::query!(
            "select channel_id, business_unit_id from channels where channel_id = any($1)",
            ids
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| (r.channel_id, Vec::new(), r.business_unit_id))
        .collect(),
        Parent::Campaign => sqlx::query!(
            "select campaign_id, business_unit_id from campaigns where campaign_id = any($1)",
            ids
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| (r.campaign_id, Vec::new(), r.business_unit_id))
        .collect(),
        Parent::Record => sqlx::query!(
            r#"select r.record_id as "record_id!", c.business_unit_id
               from campaign_records r left join campaigns c using (campaign_id)
               where r.record_id = any($1)"#,
            ids
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| (r.record_id, Vec::new(), r.business_unit_id))
        .collect(),
    };
    Ok(rows
        .into_iter()
        .map(|(id, divisions, business_unit)| {
            (
                id,
                Labels {
                    divisions,
                    business_unit,
                },
            )
        })
        .collect())
}

/// The column of a row that names its parent, and the parent's kind name for messages.
fn parent_column(parent: Parent) -> (&'static str, &'static str) {
    match parent {
        Parent::Conversation => ("conversation_id", "conversation"),
        Parent::Workitem => ("workitem_id", "workitem"),
        Parent::Channel => ("channel_id", "channel"),
        Parent::Campaign => ("campaign_id", "campaign"),
        Parent::Record => ("record_id", "campaign record"),
    }
}

/// Which of `rows` a writer of `scope` may store: per row, `Ok` or why not. Checked on `conn`,
/// inside the transaction that writes them.
async fn check_scope(
    conn: &mut PgConnection,
    scope: &Scope,
    target: Target,
    rows: &[Value],
) -> Result<Vec<Result<(), IngestError>>, sqlx::Error> {
    if scope.is_all() {
        return Ok(vec![Ok(()); rows.len()]);
    }
    let refuse = |message: String| Err(IngestError::new(RejectCode::OutOfScope, None, message));
    Ok(match rule(target) {
        Rule::AllOnly => rows
            .iter()
            .map(|_| refuse("rows of this table carry no business unit: only a token for all of them may write them".into()))
            .collect(),
        Rule::OwnDivisions => rows
            .iter()
            .map(|row| {
                let divisions: Vec<String> = row
                    .get("division_ids")
                    .and_then(|d| serde_json::from_value(d.clone()).ok())
                    .unwrap_or_default();
                domain::ingest::outside(scope, &divisions, None)
            })
            .collect(),
        Rule::OwnUnit(column) => {
            let stored = stored_units(conn, target, rows).await?;
            rows.iter()
                .map(|row| {
                    let unit = text(row, column);
                    domain::ingest::outside(scope, &[], unit.as_deref())?;
                    match stored.get(&target.key_of(row)) {
                        Some(old) if !domain::ingest::may_write(scope, &[], old.as_deref()) => refuse(
                            "a row with this key exists and cannot be written with this token's scope".into(),
                        ),
                        _ => Ok(()),
                    }
                })
                .collect()
        }
        Rule::Parent(parent) => {
            let (column, kind) = parent_column(parent);
            let ids: Vec<String> = rows.iter().filter_map(|r| text(r, column)).collect();
            let labels = parent_labels(conn, parent, &ids).await?;
            rows.iter()
                .map(|row| {
                    let id = text(row, column).unwrap_or_default();
                    match labels.get(&id) {
                        Some(l) if domain::ingest::may_write(scope, &l.divisions, l.business_unit.as_deref()) => Ok(()),
                        _ => refuse(format!(
                            "{kind} {id:?} is not stored or cannot be written with this token's scope: write the {kind} first"
                        )),
                    }
                })
                .collect()
        }
    })
}

/// The stored business units of the rows of a table whose rows carry their own, by key.
async fn stored_units(
    conn: &mut PgConnection,
    target: Target,
    rows: &[Value],
) -> Result<std::collections::HashMap<String, Option<String>>, sqlx::Error> {
    let Target::Feed(table) = target else {
        return Ok(Default::default());
    };
    let id_column = table.key_columns()[0];
    let ids: Vec<String> = rows.iter().filter_map(|r| text(r, id_column)).collect();
    let found: Vec<(String, Option<String>)> = match table {
        Table::Workitems => sqlx::query!(
            "select workitem_id, business_unit_id from workitems where workitem_id = any($1)",
            &ids
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| (r.workitem_id, r.business_unit_id))
        .collect(),
        Table::Channels => sqlx::query!(
            "select channel_id, business_unit_id from channels where channel_id = any($1)",
            &ids
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| (r.channel_id, r.business_unit_id))
        .collect(),
        Table::Campaigns => sqlx::query!(
            "select campaign_id, business_unit_id from campaigns where campaign_id = any($1)",
            &ids
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| (r.campaign_id, r.business_unit_id))
        .collect(),
        _ => Vec::new(),
    };
    // Single-column keys: the key of a row is its id, spelled as `Target::key_of` spells it.
    Ok(found
        .into_iter()
        .map(|(id, unit)| (Value::String(id).to_string(), unit))
        .collect())
}

/// Stores rows (column-named JSON, keys distinct) for a writer of `scope`, in one transaction:
/// per row, what happened or why it was refused. Refused rows are not written; the others are.
pub async fn write_rows(
    pool: &sqlx::PgPool,
    scope: &Scope,
    target: Target,
    rows: &[Value],
) -> Result<Vec<Result<StoreOutcome, IngestError>>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let checks = check_scope(&mut tx, scope, target, rows).await?;
    let allowed: Vec<Value> = rows
        .iter()
        .zip(&checks)
        .filter(|(_, c)| c.is_ok())
        .map(|(r, _)| r.clone())
        .collect();
    let mut stored = match target {
        Target::Feed(table) => store_rows(&mut tx, table, &allowed).await?,
        Target::FlowMetrics => {
            let conn = &mut *tx;
            if allowed.is_empty() {
                Vec::new()
            } else {
                upsert!(
                    conn,
                    &allowed,
                    "flow_metrics",
                    "conversation_id, record_id",
                    &domain::flow_metrics::FlowMetricRow::time_columns()
                )
            }
        }
    }
    .into_iter();
    tx.commit().await?;
    Ok(checks
        .into_iter()
        .map(|check| check.and_then(|()| stored.next().unwrap_or(Ok(StoreOutcome::Unchanged))))
        .collect())
}
