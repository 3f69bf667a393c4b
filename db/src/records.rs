//! Writing rows of the Buzzeasy feed's tables (all but its conversations, which are
//! conversation graphs): each row is upserted by its key and says whether it was new, changed
//! or the same.

use crate::exec;
use crate::graph::StoreOutcome;
use domain::Scope;
use domain::buzzeasy::Table;
pub use domain::ingest::Target;
use domain::ingest::{IngestError, RejectCode};
use domain::ingest::{Labelled, Labels};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row as _};
use std::collections::HashMap;

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
        .fetch_one(exec::conn(&mut *$conn))
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
        .fetch_all(exec::conn(&mut *$conn))
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
            .execute(exec::conn(&mut *$conn))
            .await?;
            sqlx::query!(
                "insert into "
                    + $table
                    + " select * from jsonb_populate_recordset(null::"
                    + $table
                    + ", $1)",
                Json(&changed) as _
            )
            .execute(exec::conn(&mut *$conn))
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
    let mut tx = exec::begin(pool).await?;
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

/// The labels a row is checked against, as far as they can be told.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Resolved {
    Labels(Labels),
    /// The table carries no scope ([`Labelled::Nowhere`]).
    Unscoped,
    /// The parent the row names is not stored (or the row names none): its labels cannot be
    /// told, so the rule cannot be checked.
    NoParent {
        noun: &'static str,
        id: String,
    },
}

fn text(row: &Value, column: &str) -> Option<String> {
    row.get(column).and_then(Value::as_str).map(str::to_owned)
}

/// The labels of `rows` of `target`, from the write path's catalogue ([`Target::labelled`]): the
/// rows' own columns, or the stored parent's labels (read, and locked against changes until the
/// transaction ends, on `conn`), through as many parents as the catalogue chains.
fn labels_of<'a>(
    conn: &'a mut PgConnection,
    target: Target,
    rows: &'a [&'a Value],
) -> futures::future::BoxFuture<'a, Result<Vec<Resolved>, sqlx::Error>> {
    Box::pin(async move {
        Ok(match target.labelled() {
            Labelled::Nowhere => vec![Resolved::Unscoped; rows.len()],
            Labelled::Own {
                divisions,
                business_unit,
            } => rows
                .iter()
                .map(|row| Resolved::Labels(Labels::of(row, divisions, business_unit)))
                .collect(),
            Labelled::Parent { column, parent } => {
                let mut ids: Vec<String> = rows.iter().filter_map(|r| text(r, column)).collect();
                ids.sort();
                ids.dedup();
                let parents = stored_parents(conn, parent, &ids).await?;
                let parent_rows: Vec<&Value> = parents.iter().map(|(_, row)| row).collect();
                let parent_labels = labels_of(conn, parent, &parent_rows).await?;
                let by_id: HashMap<&str, &Resolved> = parents
                    .iter()
                    .map(|(id, _)| id.as_str())
                    .zip(&parent_labels)
                    .collect();
                rows.iter()
                    .map(|row| {
                        let id = text(row, column);
                        match id.as_deref().and_then(|id| by_id.get(id)) {
                            Some(resolved) => (*resolved).clone(),
                            None => Resolved::NoParent {
                                noun: parent.noun(),
                                id: id.unwrap_or_default(),
                            },
                        }
                    })
                    .collect()
            }
        })
    })
}

/// The stored rows of `parent` (a table keyed by one column) with these ids, by id, locked
/// (`for share`) so that they cannot move to another scope before the transaction ends.
async fn stored_parents(
    conn: &mut PgConnection,
    parent: Target,
    ids: &[String],
) -> Result<Vec<(String, Value)>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let key = parent.key_columns()[0];
    // Table and column names come from the catalogue (static strings), values are bound.
    let mut sql = QueryBuilder::<Postgres>::new("select t.");
    sql.push(key)
        .push("::text as id, to_jsonb(t) as row from ")
        .push(parent.table_name())
        .push(" t where t.")
        .push(key)
        .push(" = any(")
        .push_bind(ids)
        .push(") for share of t");
    let rows = sql.build().fetch_all(exec::conn(&mut *conn)).await?;
    rows.into_iter()
        .map(|row| Ok((row.try_get("id")?, row.try_get("row")?)))
        .collect()
}

/// The stored row under the key of each of `rows`, in order (`None`: the key is new).
async fn stored_rows(
    conn: &mut PgConnection,
    target: Target,
    rows: &[Value],
) -> Result<Vec<Option<Value>>, sqlx::Error> {
    let keys = target.key_columns().join(", ");
    let table = target.table_name();
    let mut sql =
        QueryBuilder::<Postgres>::new("select e.n, to_jsonb(t) as row from jsonb_array_elements(");
    sql.push_bind(Json(rows))
        .push(") with ordinality as e(j, n) cross join lateral jsonb_populate_record(null::")
        .push(table)
        .push(", e.j) i join ")
        .push(table)
        .push(" t using (")
        .push(&keys)
        .push(")");
    let mut stored = vec![None; rows.len()];
    for row in sql.build().fetch_all(exec::conn(&mut *conn)).await? {
        let n: i64 = row.try_get("n")?;
        if let Some(slot) = usize::try_from(n - 1).ok().and_then(|i| stored.get_mut(i)) {
            *slot = Some(row.try_get("row")?);
        }
    }
    Ok(stored)
}

/// Takes the locks of the keys of `rows` (as the upsert takes them, so the upsert's own take is
/// immediate): the stored rows read next cannot change before this transaction ends.
async fn lock_keys(
    conn: &mut PgConnection,
    target: Target,
    rows: &[Value],
) -> Result<(), sqlx::Error> {
    let keys = target.key_columns().join(", ");
    let table = target.table_name();
    let mut sql = QueryBuilder::<Postgres>::new(
        "select count(pg_advisory_xact_lock(hashtextextended(k, 13))) from (select distinct '",
    );
    sql.push(table)
        .push("' || row(")
        .push(&keys)
        .push(")::text as k from jsonb_populate_recordset(null::")
        .push(table)
        .push(", ")
        .push_bind(Json(rows))
        .push(") order by 1) keys");
    sql.build().fetch_one(exec::conn(&mut *conn)).await?;
    Ok(())
}

/// Which of `rows` a writer of `scope` may store: per row, `Ok` or why not. The rule is the
/// catalogue's ([`Target::labelled`]), applied alike to every table: the row sent must be
/// writable, and so must the row already stored under its key, each with its own labels or its
/// parent's. Checked on `conn`, inside the transaction that writes them, after the keys are
/// locked.
async fn check_scope(
    conn: &mut PgConnection,
    scope: &Scope,
    target: Target,
    rows: &[Value],
) -> Result<Vec<Result<(), IngestError>>, sqlx::Error> {
    if scope.is_all() {
        return Ok(vec![Ok(()); rows.len()]);
    }
    let incoming: Vec<&Value> = rows.iter().collect();
    let sent = labels_of(conn, target, &incoming).await?;
    let stored = stored_rows(conn, target, rows).await?;
    let old_rows: Vec<&Value> = stored.iter().flatten().collect();
    let mut old_labels = labels_of(conn, target, &old_rows).await?.into_iter();
    // Aligned with `rows`: the stored row's labels, when the key is stored.
    let old: Vec<Option<Resolved>> = stored
        .iter()
        .map(|row| row.as_ref().and_then(|_| old_labels.next()))
        .collect();
    Ok(rows
        .iter()
        .zip(sent)
        .zip(old)
        .map(|((row, sent), old)| may_store(scope, target, row, sent, old))
        .collect())
}

/// Whether a writer of `scope` may store `row` of `target`, given the labels of the row (`sent`)
/// and of the row stored under its key (`old`, `None` for a new key).
fn may_store(
    scope: &Scope,
    target: Target,
    row: &Value,
    sent: Resolved,
    old: Option<Resolved>,
) -> Result<(), IngestError> {
    let refuse = |message: String| Err(IngestError::new(RejectCode::OutOfScope, None, message));
    let writable = |labels: &Labels| {
        domain::ingest::may_write(scope, &labels.divisions, labels.business_unit.as_deref())
    };
    let noun = target.noun();
    match (sent, target.labelled()) {
        (Resolved::Unscoped, _) => {
            return refuse(format!(
                "a {noun} carries no business unit or division: only a token for all of them may write it"
            ));
        }
        (Resolved::NoParent { noun, id }, _) => {
            return refuse(format!(
                "{noun} {id:?} is not stored or cannot be written with this token's scope: write the {noun} first"
            ));
        }
        // The row's own labels are the sender's to know: the message names them.
        (Resolved::Labels(labels), Labelled::Own { .. }) => {
            domain::ingest::outside(scope, &labels.divisions, labels.business_unit.as_deref())?
        }
        // A parent's are not: the message names only the parent's id, and reads the same
        // whether the parent is missing or out of scope.
        (Resolved::Labels(labels), Labelled::Parent { column, parent }) => {
            if !writable(&labels) {
                let noun = parent.noun();
                let id = text(row, column).unwrap_or_default();
                return refuse(format!(
                    "{noun} {id:?} is not stored or cannot be written with this token's scope: write the {noun} first"
                ));
            }
        }
        (Resolved::Labels(_), Labelled::Nowhere) => {
            unreachable!("a table without scope resolves to Unscoped")
        }
    }
    match old {
        None => Ok(()),
        Some(Resolved::Labels(labels)) if writable(&labels) => Ok(()),
        // Out of scope, or its scope cannot be told: said the same way whether or not the
        // caller could see the stored row, and without its labels.
        Some(_) => refuse(format!(
            "a {noun} with this key is already stored, and belongs to a scope this token cannot write"
        )),
    }
}

/// Stores rows (column-named JSON, keys distinct) for a writer of `scope`, in one transaction:
/// per row, what happened or why it was refused. Refused rows are not written; the others are.
pub async fn write_rows(
    pool: &sqlx::PgPool,
    scope: &Scope,
    target: Target,
    rows: &[Value],
) -> Result<Vec<Result<StoreOutcome, IngestError>>, sqlx::Error> {
    let mut tx = exec::begin(pool).await?;
    lock_keys(&mut tx, target, rows).await?;
    let checks = check_scope(&mut tx, scope, target, rows).await?;
    let allowed: Vec<Value> = rows
        .iter()
        .zip(&checks)
        .filter(|(_, c)| c.is_ok())
        .map(|(r, _)| r.clone())
        .collect();
    let stored = match target {
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
    };
    let changes: Vec<crate::events::Change> = allowed
        .iter()
        .zip(&stored)
        .filter(|(_, outcome)| {
            matches!(outcome, Ok(StoreOutcome::Imported | StoreOutcome::Replaced))
        })
        .flat_map(|(row, _)| crate::events::Change::of_row(target, row))
        .collect();
    crate::events::notify(&mut tx, &changes).await?;
    let mut stored = stored.into_iter();
    tx.commit().await?;
    Ok(checks
        .into_iter()
        .map(|check| check.and_then(|()| stored.next().unwrap_or(Ok(StoreOutcome::Unchanged))))
        .collect())
}
