//! Writing rows of the Buzzeasy feed's tables (all but its conversations, which are
//! conversation graphs): each row is upserted by its key and says whether it was new, changed
//! or the same.

use crate::graph::StoreOutcome;
use crate::{copy, exec};
use domain::Scope;
use domain::buzzeasy::Table;
pub use domain::ingest::Target;
use domain::ingest::{IngestError, RejectCode};
use domain::ingest::{Labelled, Labels};
use serde_json::Value;
use sqlx::{Executor as _, PgConnection, Postgres, QueryBuilder, Row as _};
use std::collections::HashMap;

/// The staging table of `target`'s rows in this session: a temporary table of the target's
/// columns and `stage_n`, the rows' order, emptied at each commit.
fn stage_name(target: Target) -> String {
    format!("convgraph_stage_{}", target.table_name())
}

/// Puts `rows` of `target` (column-named JSON objects) into this transaction's staging table with
/// one `COPY`, creating the table the first time this session needs it and emptying it of rows
/// an earlier call of the same transaction staged. Run it inside a transaction: the staged rows
/// are gone at its end.
async fn stage_rows(
    conn: &mut PgConnection,
    target: Target,
    rows: &[Value],
) -> Result<(), sqlx::Error> {
    let table = target.table_name();
    let stage = stage_name(target);
    // Names from the catalogue (static strings). `if not exists` notices are not wanted in the
    // server's log: they are silenced for this transaction only.
    let sql = format!(
        "set local client_min_messages = warning;
         create temporary table if not exists {stage}
             (like {table}, stage_n bigint generated always as identity)
             on commit delete rows;
         delete from {stage}"
    );
    // No arguments: sent as one simple query, its three statements in one round trip.
    exec::conn(&mut *conn).execute(sql.as_str()).await?;
    let rows: Vec<&Value> = rows.iter().collect();
    let prepared = copy::prepare_objects(&mut *conn, table, &stage, &rows).await?;
    copy::send(&mut *conn, &prepared).await?;
    Ok(())
}

/// `t.key = s.key` for each key column of `target`: a stored row `t` and a staged row `s`.
fn key_match(target: Target) -> String {
    target
        .key_columns()
        .iter()
        .map(|k| format!("t.{k} = s.{k}"))
        .collect::<Vec<_>>()
        .join(" and ")
}

/// Takes the locks of the staged rows' keys: writers of the same keys queue here, in key order,
/// so that concurrent batches cannot deadlock and each sees the other's row.
async fn lock_staged(conn: &mut PgConnection, target: Target) -> Result<(), sqlx::Error> {
    let keys = target.key_columns().join(", ");
    let (table, stage) = (target.table_name(), stage_name(target));
    let sql = format!(
        "select count(pg_advisory_xact_lock(hashtextextended(k, 13)))
         from (select distinct '{table}' || row({keys})::text as k from {stage} order by 1) keys"
    );
    sqlx::query(sql.as_str())
        .fetch_one(exec::conn(&mut *conn))
        .await?;
    Ok(())
}

/// Merges the staged rows of `target` (keys distinct) into its table and says what happened to
/// each, in the order staged: per row, the stored row of its key is compared with it (both as
/// PostgreSQL stores them, see [`decide`]), then the changed ones are replaced and the new ones
/// inserted.
async fn merge_staged(
    conn: &mut PgConnection,
    target: Target,
) -> Result<Vec<Result<StoreOutcome, IngestError>>, sqlx::Error> {
    let (table, stage) = (target.table_name(), stage_name(target));
    // The stored row is looked up by a subquery per staged row, so that it is always one probe
    // of the key's index: as a join, a table growing fast (a seed, a backfill) has statistics
    // that make the planner scan it whole for each batch.
    let sql = format!(
        "select s.stage_n, to_jsonb(s) - 'stage_n',
                (select to_jsonb(t) from {table} t where {matching})
         from {stage} s
         order by s.stage_n",
        matching = key_match(target)
    );
    let pairs: Vec<(i64, Value, Option<Value>)> = sqlx::query_as(sql.as_str())
        .fetch_all(exec::conn(&mut *conn))
        .await?;
    let times = time_columns(target);
    let mut outcomes = Vec::with_capacity(pairs.len());
    let mut changed = Vec::new();
    for (n, new, old) in &pairs {
        let outcome = decide(new, old.as_ref(), &times);
        if matches!(outcome, Ok(StoreOutcome::Imported | StoreOutcome::Replaced)) {
            changed.push(*n);
        }
        outcomes.push(outcome);
    }
    if !changed.is_empty() {
        let columns = copy::quoted(&copy::column_names(&mut *conn, table).await?);
        let sql = format!(
            "delete from {table} t using {stage} s where s.stage_n = any($1) and {}",
            key_match(target)
        );
        sqlx::query(sql.as_str())
            .bind(&changed)
            .execute(exec::conn(&mut *conn))
            .await?;
        let sql = format!(
            "insert into {table} ({columns})
             select {columns} from {stage} where stage_n = any($1) order by stage_n"
        );
        sqlx::query(sql.as_str())
            .bind(&changed)
            .execute(exec::conn(&mut *conn))
            .await?;
    }
    Ok(outcomes)
}

/// Stores rows of `table` (column-named JSON objects, keys distinct) and says what happened to
/// each, in order. Run it inside a transaction.
pub async fn store_rows(
    conn: &mut PgConnection,
    table: Table,
    rows: &[Value],
) -> Result<Vec<Result<StoreOutcome, IngestError>>, sqlx::Error> {
    if matches!(
        table,
        Table::Calls | Table::Chats | Table::Emails | Table::Conversations
    ) {
        unreachable!("conversations are stored as conversation graphs")
    }
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let target = Target::Feed(table);
    stage_rows(&mut *conn, target, rows).await?;
    lock_staged(&mut *conn, target).await?;
    merge_staged(conn, target).await
}

/// The columns of `target`'s rows that hold times (UTC): a row's version is the latest of them.
fn time_columns(target: Target) -> Vec<&'static str> {
    match target {
        Target::Feed(table) => table.time_columns(),
        Target::FlowMetrics => domain::flow_metrics::FlowMetricRow::time_columns(),
    }
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

/// The stored row under the key of each staged row, in the order staged (`None`: the key is
/// new).
async fn stored_rows(
    conn: &mut PgConnection,
    target: Target,
    staged: usize,
) -> Result<Vec<Option<Value>>, sqlx::Error> {
    let (table, stage) = (target.table_name(), stage_name(target));
    // A probe of the key's index per staged row, as in [`merge_staged`].
    let sql = format!(
        "select s.n, s.row from
             (select row_number() over (order by stage_n) as n,
                     (select to_jsonb(t) from {table} t where {matching}) as row
              from {stage} s) s
         where s.row is not null",
        matching = key_match(target)
    );
    let read: Vec<(i64, Value)> = sqlx::query_as(sql.as_str())
        .fetch_all(exec::conn(&mut *conn))
        .await?;
    let mut stored = vec![None; staged];
    for (n, row) in read {
        if let Some(slot) = usize::try_from(n - 1).ok().and_then(|i| stored.get_mut(i)) {
            *slot = Some(row);
        }
    }
    Ok(stored)
}

/// Which of `rows` a writer of `scope` may store: per row, `Ok` or why not. The rule is the
/// catalogue's ([`Target::labelled`]), applied alike to every table: the row sent must be
/// writable, and so must the row already stored under its key, each with its own labels or its
/// parent's. Checked on `conn`, inside the transaction that writes them, after `rows` are staged
/// and their keys locked.
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
    let stored = stored_rows(conn, target, rows.len()).await?;
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
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = exec::begin(pool).await?;
    stage_rows(&mut tx, target, rows).await?;
    lock_staged(&mut tx, target).await?;
    let checks = check_scope(&mut tx, scope, target, rows).await?;
    if checks.iter().any(Result::is_err) {
        // Refused rows are not written: they leave the stage, by their place in it.
        let refused: Vec<i64> = (1..)
            .zip(&checks)
            .filter(|(_, check)| check.is_err())
            .map(|(n, _)| n)
            .collect();
        let stage = stage_name(target);
        let sql = format!(
            "delete from {stage} where stage_n in
                 (select stage_n from
                      (select stage_n, row_number() over (order by stage_n) as n from {stage}) s
                  where n = any($1))"
        );
        sqlx::query(sql.as_str())
            .bind(&refused)
            .execute(exec::conn(&mut tx))
            .await?;
    }
    let allowed: Vec<&Value> = rows
        .iter()
        .zip(&checks)
        .filter(|(_, c)| c.is_ok())
        .map(|(r, _)| r)
        .collect();
    let stored = merge_staged(&mut tx, target).await?;
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
