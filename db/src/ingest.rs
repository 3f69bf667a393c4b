//! The one write path for conversation documents: `convgraph import`, the
//! `ingestConversations` mutation and `POST /ingest` all store through [`write`], so they accept,
//! refuse and report alike. Also the idempotency keys of the two HTTP doors.

use crate::exec;
use crate::graph::{StoreOutcome, ingest_conversations};
use crate::records::{self, Target};
use domain::ingest::{IngestError, Item, RejectCode};
use domain::{ConversationGraph, Scope};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use std::collections::HashSet;

/// Stores `graphs` for a writer of `scope` and says what happened to each, in order.
///
/// Graphs are written together, one transaction for all of them; when the database refuses that
/// (a value out of its range, say), each is written alone, so one bad document never takes the
/// others down. A conversation that appears twice is stored in order: the later copy goes in a
/// later transaction, where it is a newer version, an unchanged one, or a stale one.
pub async fn write(
    pool: &PgPool,
    scope: &Scope,
    graphs: &[&ConversationGraph],
) -> Vec<Result<StoreOutcome, IngestError>> {
    let mut results: Vec<Option<Result<StoreOutcome, IngestError>>> = vec![None; graphs.len()];
    let mut pending: Vec<usize> = (0..graphs.len()).collect();
    while !pending.is_empty() {
        let mut seen = HashSet::new();
        let (round, later): (Vec<usize>, Vec<usize>) = pending
            .into_iter()
            .partition(|&i| seen.insert(graphs[i].id()));
        pending = later;
        let batch: Vec<&ConversationGraph> = round.iter().map(|&i| graphs[i]).collect();
        match ingest_conversations(pool, scope, &batch).await {
            Ok(outcomes) => {
                for (&i, outcome) in round.iter().zip(outcomes) {
                    results[i] = Some(outcome);
                }
            }
            Err(_) => {
                for &i in &round {
                    let outcome = match ingest_conversations(pool, scope, &[graphs[i]]).await {
                        Ok(mut o) => o.pop().unwrap_or(Ok(StoreOutcome::Unchanged)),
                        Err(e) => {
                            tracing::debug!(error = %e, conversation = graphs[i].id(), "store failed");
                            Err(store_error(&e))
                        }
                    };
                    results[i] = Some(outcome);
                }
            }
        }
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or(Ok(StoreOutcome::Unchanged)))
        .collect()
}

/// Stores rows of tables other than conversations (the feed's, flow metric records) for a
/// writer of `scope`, and says what happened to each, in order.
///
/// Rows of one table are written together, in one transaction a table; when the database
/// refuses that, each is written alone. A row whose key appears again goes in a later round,
/// where it is a newer version of the same row.
pub async fn write_rows(
    pool: &PgPool,
    scope: &Scope,
    rows: &[(Target, &Value)],
) -> Vec<Result<StoreOutcome, IngestError>> {
    let mut results: Vec<Option<Result<StoreOutcome, IngestError>>> = vec![None; rows.len()];
    let mut targets: Vec<Target> = rows.iter().map(|r| r.0).collect();
    targets.sort();
    targets.dedup();
    for target in targets {
        let mut pending: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].0 == target).collect();
        while !pending.is_empty() {
            let mut seen = HashSet::new();
            let (round, later): (Vec<usize>, Vec<usize>) = pending
                .into_iter()
                .partition(|&i| seen.insert(target.key_of(rows[i].1)));
            pending = later;
            let values: Vec<Value> = round.iter().map(|&i| rows[i].1.clone()).collect();
            match records::write_rows(pool, scope, target, &values).await {
                Ok(outcomes) => {
                    for (&i, outcome) in round.iter().zip(outcomes) {
                        results[i] = Some(outcome);
                    }
                }
                Err(_) => {
                    for &i in &round {
                        let one = std::slice::from_ref(rows[i].1);
                        let outcome = match records::write_rows(pool, scope, target, one).await {
                            Ok(mut o) => o.pop().unwrap_or(Ok(StoreOutcome::Unchanged)),
                            Err(e) => Err(store_error(&e)),
                        };
                        results[i] = Some(outcome);
                    }
                }
            }
        }
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or(Ok(StoreOutcome::Unchanged)))
        .collect()
}

/// Stores checked documents of any kind (conversation graphs and rows) for a writer of
/// `scope`, and says what happened to each, in order: graphs through [`write`], rows through
/// [`write_rows`].
pub async fn write_items(
    pool: &PgPool,
    scope: &Scope,
    items: &[&Item],
) -> Vec<Result<StoreOutcome, IngestError>> {
    let graphs: Vec<&ConversationGraph> = items
        .iter()
        .filter_map(|i| match i {
            Item::Graph(g) => Some(g.as_ref()),
            Item::Row { .. } => None,
        })
        .collect();
    let rows: Vec<(Target, &Value)> = items
        .iter()
        .filter_map(|i| match i {
            Item::Row { target, row, .. } => Some((*target, row)),
            Item::Graph(_) => None,
        })
        .collect();
    let mut graphs = write(pool, scope, &graphs).await.into_iter();
    let mut rows = write_rows(pool, scope, &rows).await.into_iter();
    items
        .iter()
        .map(|i| {
            let next = match i {
                Item::Graph(_) => graphs.next(),
                Item::Row { .. } => rows.next(),
            };
            next.unwrap_or(Ok(StoreOutcome::Unchanged))
        })
        .collect()
}

/// What a sender can act on when the database refuses a document: never the SQL.
pub fn store_error(e: &sqlx::Error) -> IngestError {
    let refused = |message: &str| IngestError::new(RejectCode::StoreRefused, None, message);
    if crate::unavailable(e) {
        return IngestError::new(
            RejectCode::Unavailable,
            None,
            "the database is unavailable; the document was not stored",
        );
    }
    match e {
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some("22008") => refused("a timestamp is out of the supported range"),
            Some("22003") => refused("a number is out of the supported range"),
            Some("22P05" | "22021") => {
                refused("a string holds characters PostgreSQL cannot store (\\u0000)")
            }
            Some("54000") => refused("the document is too large for one row"),
            code => IngestError::new(
                RejectCode::StoreRefused,
                None,
                format!(
                    "the database refused the document ({})",
                    code.unwrap_or_default()
                ),
            ),
        },
        // A row the COPY encoder cannot write (a bug, not the sender's): refused, not retried.
        sqlx::Error::Encode(_) => refused("the document holds a value that cannot be stored"),
        _ => IngestError::new(
            RejectCode::Unavailable,
            None,
            "the database is unavailable; the document was not stored",
        ),
    }
}

/// A request sent with an idempotency key, as first answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Remembered {
    pub request_digest: String,
    pub response: Value,
}

/// Takes the lock of one idempotency key on `conn` (a connection held for the whole request):
/// `false` when another request with the key is running. The lock is PostgreSQL's, of the
/// session, so it goes with the connection when the process dies.
pub async fn lock_key(
    conn: &mut PgConnection,
    subject: &str,
    key: &str,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select pg_try_advisory_lock(hashtextextended($1 || ' ' || $2, 11)) as "locked!""#,
        subject,
        key
    )
    .fetch_one(exec::conn(conn))
    .await
}

/// Releases what [`lock_key`] took.
pub async fn unlock_key(
    conn: &mut PgConnection,
    subject: &str,
    key: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query_scalar!(
        r#"select pg_advisory_unlock(hashtextextended($1 || ' ' || $2, 11)) as "unlocked!""#,
        subject,
        key
    )
    .fetch_one(exec::conn(conn))
    .await?;
    Ok(())
}

/// The first answer to a request with this key, if there was one.
pub async fn remembered(
    conn: &mut PgConnection,
    subject: &str,
    key: &str,
) -> Result<Option<Remembered>, sqlx::Error> {
    Ok(sqlx::query!(
        "select request_digest, response from ingest_requests
         where subject = $1 and idempotency_key = $2",
        subject,
        key
    )
    .fetch_optional(exec::conn(conn))
    .await?
    .map(|r| Remembered {
        request_digest: r.request_digest,
        response: r.response,
    }))
}

/// Keeps the answer to a request with this key.
pub async fn remember(
    conn: &mut PgConnection,
    subject: &str,
    key: &str,
    kind: &str,
    remembered: &Remembered,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into ingest_requests (subject, idempotency_key, kind, request_digest, response)
         values ($1, $2, $3, $4, $5)
         on conflict (subject, idempotency_key) do nothing",
        subject,
        key,
        kind,
        remembered.request_digest,
        remembered.response
    )
    .execute(exec::conn(conn))
    .await?;
    Ok(())
}
