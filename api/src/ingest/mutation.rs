//! The `ingestConversations` and `ingestRecords` mutations: batches that fit one GraphQL
//! request, each document checked and stored alone.

use crate::auth::Caller;
use crate::error::ApiError;
use async_graphql::{Context, ErrorExtensions as _, Json, Object};
use db::graph::StoreOutcome;
use domain::buzzeasy::ReadOptions;
use domain::ingest::{self, IngestError, Item, RejectCode, Target};
use serde_json::Value;
use sqlx::PgPool;

use super::idempotency::{KeyLock, check_key, digest_of, key_reused};
use super::{
    IngestConfig, IngestOutcome, IngestRejection, IngestReport, IngestResult, may_ingest,
    read_options,
};

#[derive(Default)]
pub struct IngestMutation;

#[Object]
impl IngestMutation {
    /// Stores Genesys conversation documents (analytics conversation details or platform
    /// `Conversation` objects, told apart per document), each atomically: a new conversation is
    /// created, a newer or corrected version replaces the stored one whole, the same content
    /// changes nothing, and a document older than the stored version (by its latest event time)
    /// is rejected as `STALE`. Each bad document is rejected alone with its code and the path of
    /// the offending value; the others are stored. Needs the `ingest:write` permission; every
    /// division and the business unit of each conversation, and of the stored conversation it
    /// replaces, must be in the token's scope. With `idempotencyKey`, a retry of the same
    /// documents answers what the first call answered and writes nothing; the same key with
    /// other documents is refused. For more documents than one request holds, use
    /// `POST /ingest`.
    async fn ingest_conversations(
        &self,
        ctx: &Context<'_>,
        documents: Vec<Json<Value>>,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<IngestReport> {
        let documents: Vec<Value> = documents.into_iter().map(|d| d.0).collect();
        mutate(
            ctx,
            documents,
            None,
            ReadOptions::default(),
            idempotency_key,
            "graphql",
        )
        .await
    }

    /// Stores rows of one table: a table of the Buzzeasy feed (`Workitems`, `QueueSegments`,
    /// `CampaignRecords`, `Queues`, … in the feed's own shape, as its OData pages carry them;
    /// `Calls`, `Chats`, `Emails` and `Conversations` rows become conversations) or
    /// `FlowMetrics` (Genesys flow metric records). Each row is upserted by its key and atomic;
    /// the same checks and codes as `ingestConversations`. Scope: a workitem, channel or
    /// campaign needs its business unit in the token's scope (and the stored row's); rows that
    /// hang on a conversation, a workitem, a channel, a campaign or a campaign record need that
    /// parent stored and writable (write it first); flow metric records need all their
    /// divisions; tables without a business unit (agents, users, agent states, bot steps) need a
    /// token for everything. `timeZone` (IANA) converts times the table gives in local time only.
    async fn ingest_records(
        &self,
        ctx: &Context<'_>,
        table: String,
        rows: Vec<Json<Value>>,
        time_zone: Option<String>,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<IngestReport> {
        let target = Target::from_name(&table).ok_or_else(|| {
            ApiError::bad_input(format!(
                "no table is called {table:?}; the tables: {}",
                Target::names()
            ))
            .extend()
        })?;
        let options = read_options(time_zone.as_deref()).map_err(|e| e.extend())?;
        let rows: Vec<Value> = rows.into_iter().map(|d| d.0).collect();
        let kind = format!("graphql:{target:?}:{}", time_zone.unwrap_or_default());
        mutate(ctx, rows, Some(target), options, idempotency_key, &kind).await
    }
}

/// One mutation call: permission, limits, the idempotency key, then the documents.
async fn mutate(
    ctx: &Context<'_>,
    documents: Vec<Value>,
    target: Option<Target>,
    options: ReadOptions,
    idempotency_key: Option<String>,
    kind: &str,
) -> async_graphql::Result<IngestReport> {
    let caller = ctx.data::<Caller>()?;
    let pool = ctx.data::<PgPool>()?;
    let config = ctx.data::<IngestConfig>()?;
    may_ingest(caller).map_err(|e| e.extend())?;
    if documents.len() > config.max_mutation_documents {
        return Err(ApiError::bad_input(format!(
            "{} documents in one call, more than the limit of {}; send more through POST /ingest",
            documents.len(),
            config.max_mutation_documents
        ))
        .extend());
    }
    let Some(key) = idempotency_key else {
        return Ok(ingest_batch(pool, caller, config, &documents, target, &options).await);
    };
    check_key(&key).map_err(|e| e.extend())?;
    let digest = digest_of(kind, &documents);
    let mut held = KeyLock::take(pool, caller, &key)
        .await
        .map_err(|e| e.extend())?;
    let answer = match held.remembered().await.map_err(ApiError::db)? {
        Some(first) if first.request_digest == digest => {
            let mut report: IngestReport = serde_json::from_value(first.response)
                .map_err(|e| ApiError::internal(e).extend())?;
            report.replayed = true;
            Ok(report)
        }
        Some(_) => Err(key_reused(&key).extend()),
        None => {
            let report = ingest_batch(pool, caller, config, &documents, target, &options).await;
            let response =
                serde_json::to_value(&report).map_err(|e| ApiError::internal(e).extend())?;
            held.remember("graphql", &digest, response)
                .await
                .map_err(ApiError::db)?;
            Ok(report)
        }
    };
    held.release().await;
    answer
}

/// Checks and stores the documents of one mutation call: conversations when `target` is
/// `None`, else rows of that table. A record already seen in the call is a `DUPLICATE_ID`: one
/// call is a set of records, not a history.
async fn ingest_batch(
    pool: &PgPool,
    caller: &Caller,
    config: &IngestConfig,
    documents: &[Value],
    target: Option<Target>,
    options: &ReadOptions,
) -> IngestReport {
    let mut seen = std::collections::HashMap::new();
    let checked: Vec<(Option<String>, Result<Item, IngestError>)> = documents
        .iter()
        .enumerate()
        .map(|(i, value)| {
            let size = serde_json::to_vec(value).map(|v| v.len()).unwrap_or(0);
            let item = if size > config.limits.max_document_bytes {
                Err(ingest::too_large(size, &config.limits))
            } else {
                ingest::read_item(value, target, None, options, &config.limits)
            };
            let item = item.and_then(|item| match seen.insert(item.identity(), i) {
                Some(first) => Err(IngestError::new(
                    RejectCode::DuplicateId,
                    None,
                    match &item {
                        Item::Graph(g) => format!(
                            "conversation {:?} is also document {first} of this call",
                            g.id()
                        ),
                        Item::Row { key, .. } => {
                            format!("row {key:?} is also document {first} of this call")
                        }
                    },
                )),
                None => Ok(item),
            });
            let key = match &item {
                Ok(item) => Some(item.key().to_owned()),
                Err(_) => ingest::key_of_document(value, target),
            };
            (key, item)
        })
        .collect();
    let items: Vec<&Item> = checked
        .iter()
        .filter_map(|(_, i)| i.as_ref().ok())
        .collect();
    let mut stored = db::ingest::write_items(pool, &caller.scope, &items)
        .await
        .into_iter();
    let mut report = IngestReport {
        created: 0,
        replaced: 0,
        unchanged: 0,
        rejected: 0,
        replayed: false,
        results: Vec::with_capacity(documents.len()),
    };
    for (i, (key, item)) in checked.into_iter().enumerate() {
        let outcome = match item {
            Ok(_) => stored.next().unwrap_or(Ok(StoreOutcome::Unchanged)),
            Err(e) => Err(e),
        };
        let (outcome, error) = tally(&mut report, outcome);
        report.results.push(IngestResult {
            index: i as i32,
            conversation_id: if target.is_none() { key.clone() } else { None },
            key,
            outcome,
            error,
        });
    }
    report
}

/// Counts one outcome into `report`.
fn tally(
    report: &mut IngestReport,
    outcome: Result<StoreOutcome, IngestError>,
) -> (IngestOutcome, Option<IngestRejection>) {
    match outcome {
        Ok(StoreOutcome::Imported) => {
            report.created += 1;
            crate::metrics::ingest_documents("created", 1);
            (IngestOutcome::Created, None)
        }
        Ok(StoreOutcome::Replaced) => {
            report.replaced += 1;
            crate::metrics::ingest_documents("replaced", 1);
            (IngestOutcome::Replaced, None)
        }
        Ok(StoreOutcome::Unchanged) => {
            report.unchanged += 1;
            crate::metrics::ingest_documents("unchanged", 1);
            (IngestOutcome::Unchanged, None)
        }
        Err(e) => {
            report.rejected += 1;
            crate::metrics::ingest_documents("rejected", 1);
            (IngestOutcome::Rejected, Some(e.into()))
        }
    }
}
