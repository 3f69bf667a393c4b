//! Partners pushing conversations in: the `ingestConversations` mutation, for batches that fit
//! one GraphQL request, and `POST /ingest` ([`bulk`]), newline-delimited JSON of any length with a
//! report streamed back line by line. Both, and `convgraph import`, store through
//! [`db::ingest::write`]: the same checks, the same outcomes, the same error codes.
//!
//! Writing needs the `ingest:write` permission, and a token may write only conversations whose
//! divisions and business unit are all in its scope, over stored conversations that are too
//! ([`domain::ingest::may_write`]). An optional idempotency key makes a retried request answer
//! what the first one answered, without writing again.

mod bulk;
mod idempotency;
mod mutation;

pub use bulk::bulk;
pub use mutation::IngestMutation;

use crate::auth::{Caller, Permission};
use crate::error::ApiError;
use async_graphql::SimpleObject;
use domain::buzzeasy::ReadOptions;
use domain::ingest::{IngestError, IngestLimits, RejectCode};
use serde::{Deserialize, Serialize};

/// Limits of the two doors, beyond the HTTP body limit of `/graphql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestConfig {
    /// Bounds on each document.
    pub limits: IngestLimits,
    /// The most documents one `ingestConversations` call takes.
    pub max_mutation_documents: usize,
    /// The largest `POST /ingest` body, in bytes; past it the push stops (what came before is
    /// stored and reported).
    pub max_bulk_bytes: u64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            limits: IngestLimits::default(),
            max_mutation_documents: 1000,
            max_bulk_bytes: 4 * 1024 * 1024 * 1024,
        }
    }
}

/// What happened to one document.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IngestOutcome {
    /// A new conversation was stored.
    Created,
    /// A stored version was replaced whole by this newer or corrected one.
    Replaced,
    /// The same content was already stored; nothing was written.
    Unchanged,
    /// Nothing of the document was stored; `error` says why.
    Rejected,
}

/// Why a document was rejected.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[graphql(name = "IngestError")]
pub struct IngestRejection {
    /// What kind of error, for programs to branch on.
    pub code: RejectCode,
    /// The JSON path of the offending value inside the document (`$.participants[0].purpose`),
    /// when one value is at fault.
    pub path: Option<String>,
    /// What is wrong, for a person.
    pub message: String,
}

impl From<IngestError> for IngestRejection {
    fn from(e: IngestError) -> Self {
        Self {
            code: e.code,
            path: e.path,
            message: e.message,
        }
    }
}

/// One document of the request and what became of it.
#[derive(SimpleObject, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestResult {
    /// The document's position in `documents`, from 0.
    pub index: i32,
    /// The conversation's id, when it could be read (conversations only).
    pub conversation_id: Option<String>,
    /// What identifies the record: the conversation id, or a row's key (`w-1`,
    /// `c-1/q-1@2026-11-02T08:01:00Z`), when it could be read.
    pub key: Option<String>,
    pub outcome: IngestOutcome,
    /// Set when `outcome` is `REJECTED`.
    pub error: Option<IngestRejection>,
}

/// The answer to `ingestConversations`.
#[derive(SimpleObject, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestReport {
    pub created: i32,
    pub replaced: i32,
    pub unchanged: i32,
    pub rejected: i32,
    /// True when this is the remembered answer to an earlier request with the same
    /// idempotency key: nothing was written this time.
    pub replayed: bool,
    /// One per document, in the order sent.
    pub results: Vec<IngestResult>,
}

/// The tenant time zone of a request, for local-only times.
pub(super) fn read_options(time_zone: Option<&str>) -> Result<ReadOptions, ApiError> {
    let time_zone = time_zone
        .map(|tz| {
            tz.parse::<chrono_tz::Tz>().map_err(|_| {
                ApiError::bad_input(format!(
                    "timeZone {tz:?} is not an IANA time zone (e.g. Europe/Budapest)"
                ))
            })
        })
        .transpose()?;
    Ok(ReadOptions { time_zone })
}

pub(super) fn may_ingest(caller: &Caller) -> Result<(), ApiError> {
    if caller.may(Permission::IngestWrite) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "writing needs the {} permission, which this token does not have",
            Permission::IngestWrite
        )))
    }
}
