//! Writing and reading whole conversation graphs.
//!
//! A graph is written in one transaction owned by the caller: lock the conversation id, compare
//! digests, delete the old graph from every table ([`delete_graphs`]), insert every table with one statement each
//! (a `COPY` of the rows, whose field names are the column names: [`crate::copy`]).

use crate::{copy, exec};
use chrono::{DateTime, SecondsFormat, Utc};
use domain::facts::{MetricFact, metric_facts};
use domain::graph::*;
use domain::ingest::{self, IngestError, RejectCode};
use domain::{ConversationGraph, Scope};
use serde::de::DeserializeOwned;
use sqlx::PgConnection;
use sqlx::types::Json;

/// All rows of `table` for the conversations `ids`, ordered, as one JSON array.
macro_rules! select_rows {
    ($conn:expr, $table:literal, $order:literal, $ids:expr) => {
        sqlx::query_scalar!(
            "select coalesce(jsonb_agg(to_jsonb(t) order by t.conversation_id, "
                + $order
                + "), '[]') as \"rows!\" from "
                + $table
                + " t where conversation_id = any($1)",
            $ids
        )
        .fetch_one(exec::conn(&mut *$conn))
        .await
        .and_then(decode_rows)?
    };
}

/// What storing a conversation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StoreOutcome {
    /// It was new.
    Imported,
    /// The same content was already stored: nothing was written.
    Unchanged,
    /// An older version was replaced whole.
    Replaced,
}

/// Stores conversation graphs for a writer of `scope`, replacing any stored version of each
/// whole, and says what happened to each (in the order given). A graph is refused, and nothing of
/// it written, when `scope` may not write it or the stored conversation of its id
/// ([`domain::ingest::may_write`]), or when the stored version is newer ([`ConversationGraph::as_of`]).
/// Run it inside a transaction: all the accepted graphs are written or none. Ids must be distinct
/// within one call.
pub async fn store_conversations(
    conn: &mut PgConnection,
    scope: &Scope,
    graphs: &[&ConversationGraph],
) -> Result<Vec<Result<StoreOutcome, IngestError>>, sqlx::Error> {
    let mut ids: Vec<String> = graphs.iter().map(|g| g.id().to_owned()).collect();
    ids.sort();
    // Writers of the same conversation queue here, in id order so that batches cannot deadlock;
    // writers of other conversations go on in parallel.
    sqlx::query!(
        "select count(pg_advisory_xact_lock(hashtextextended(id, 7))) as locked
         from (select unnest($1::text[]) as id order by 1) ids",
        &ids
    )
    .fetch_one(exec::conn(&mut *conn))
    .await?;
    let stored: std::collections::HashMap<String, Stored> = sqlx::query!(
        "select i.conversation_id, i.content_digest, i.as_of, c.division_ids, c.business_unit_id
         from conversation_imports i join conversations c using (conversation_id)
         where i.conversation_id = any($1)",
        &ids
    )
    .fetch_all(exec::conn(&mut *conn))
    .await?
    .into_iter()
    .map(|r| {
        let stored = Stored {
            digest: r.content_digest,
            as_of: r.as_of,
            division_ids: r.division_ids,
            business_unit_id: r.business_unit_id,
        };
        (r.conversation_id, stored)
    })
    .collect();

    let mut outcomes = Vec::with_capacity(graphs.len());
    let mut to_write = Vec::new();
    let mut digests = Vec::new();
    let mut replaced = Vec::new();
    for graph in graphs {
        let digest = graph.digest();
        let outcome = decide(scope, graph, &digest, stored.get(graph.id()));
        if outcome == Ok(StoreOutcome::Replaced) {
            replaced.push(graph.id().to_owned());
        }
        if matches!(outcome, Ok(StoreOutcome::Imported | StoreOutcome::Replaced)) {
            to_write.push(*graph);
            digests.push(digest);
        }
        outcomes.push(outcome);
    }
    if !replaced.is_empty() {
        // What the new version no longer has is gone.
        delete_graphs(&mut *conn, &replaced).await?;
    }
    if !to_write.is_empty() {
        insert_graphs(conn, &to_write).await?;
        let written: Vec<String> = to_write.iter().map(|g| g.id().to_owned()).collect();
        let as_of: Vec<Option<DateTime<Utc>>> = to_write.iter().map(|g| g.as_of()).collect();
        sqlx::query!(
            "insert into conversation_imports (conversation_id, content_digest, as_of)
             select * from unnest($1::text[], $2::text[], $3::timestamptz[])
             on conflict (conversation_id) do update
             set content_digest = excluded.content_digest, as_of = excluded.as_of,
                 last_changed_at = now()",
            &written,
            &digests,
            &as_of as &[Option<DateTime<Utc>>]
        )
        .execute(exec::conn(&mut *conn))
        .await?;
    }
    Ok(outcomes)
}

/// What is stored of a conversation, for deciding about a new version.
struct Stored {
    digest: String,
    as_of: Option<DateTime<Utc>>,
    division_ids: Vec<String>,
    business_unit_id: Option<String>,
}

/// What storing `graph` does, given what is stored under its id.
fn decide(
    scope: &Scope,
    graph: &ConversationGraph,
    digest: &str,
    stored: Option<&Stored>,
) -> Result<StoreOutcome, IngestError> {
    let c = &graph.conversation;
    ingest::outside(scope, &c.division_ids, c.business_unit_id.as_deref())?;
    let Some(stored) = stored else {
        return Ok(StoreOutcome::Imported);
    };
    if !ingest::may_write(
        scope,
        &stored.division_ids,
        stored.business_unit_id.as_deref(),
    ) {
        // Said the same way whether or not the caller can see the stored conversation.
        return Err(IngestError::new(
            RejectCode::OutOfScope,
            None,
            format!(
                "conversation {:?} cannot be written with this token's scope",
                graph.id()
            ),
        ));
    }
    if stored.digest == digest {
        return Ok(StoreOutcome::Unchanged);
    }
    match (graph.as_of(), stored.as_of) {
        (Some(new), Some(old)) if new < old => Err(IngestError::new(
            RejectCode::Stale,
            None,
            format!(
                "the stored version is newer: it runs to {}, this document to {}",
                old.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                new.to_rfc3339_opts(SecondsFormat::AutoSi, true)
            ),
        )),
        (None, Some(old)) => Err(IngestError::new(
            RejectCode::Stale,
            None,
            format!(
                "the stored version runs to {} and this document has no times at all",
                old.to_rfc3339_opts(SecondsFormat::AutoSi, true)
            ),
        )),
        _ => Ok(StoreOutcome::Replaced),
    }
}

/// Inserts every row of `graphs`, one statement per table, parents before children.
async fn insert_graphs(
    conn: &mut PgConnection,
    graphs: &[&ConversationGraph],
) -> Result<(), sqlx::Error> {
    let named: Vec<&DivisionRow> = graphs.iter().flat_map(|g| &g.divisions).collect();
    let division_ids: Vec<&str> = graphs
        .iter()
        .flat_map(|g| &g.conversation.division_ids)
        .map(String::as_str)
        .collect();
    upsert_divisions(&mut *conn, &named, &division_ids).await?;
    let facts: Vec<MetricFact> = graphs.iter().flat_map(|g| metric_facts(g)).collect();
    for prepared in prepare_rows(&mut *conn, graphs, &facts).await? {
        copy::send(&mut *conn, &prepared).await?;
    }
    let times: Vec<_> = facts.iter().map(|f| f.emit_date).collect();
    if !times.is_empty() {
        // The rollup of these buckets is to be recomputed (see the metric_rollup migration).
        sqlx::query!(
            "insert into metric_rollup_queue (bucket)
             select distinct date_bin('15 minutes', t, timestamptz '1970-01-01 00:00:00Z')
             from unnest($1::timestamptz[]) t",
            &times
        )
        .execute(exec::conn(&mut *conn))
        .await?;
    }
    Ok(())
}

/// The tables of a conversation graph besides `conversations` (written first) and
/// `metric_facts` (written last), paired with the graph's field holding their rows, in write
/// order: the one list of them, for writing ([`prepare_rows`]) and deleting ([`TABLES`]).
macro_rules! child_tables {
    ($( ($table:literal, $field:ident) ),* $(,)?) => {
        const CHILD_TABLES: &[&str] = &[$($table),*];

        /// Prepares the rows of every child table of `graphs` that has any, in write order.
        async fn prepare_children(
            conn: &mut PgConnection,
            graphs: &[&ConversationGraph],
            prepared: &mut Vec<copy::Prepared>,
        ) -> Result<(), sqlx::Error> {
            $(
                let table_rows = rows(graphs, |g| &g.$field);
                if !table_rows.is_empty() {
                    prepared.push(copy::prepare(&mut *conn, $table, &table_rows).await?);
                }
            )*
            Ok(())
        }
    };
}

child_tables!(
    ("participants", participants),
    ("sessions", sessions),
    ("segments", segments),
    ("session_metrics", metrics),
    ("flows", flows),
    ("flow_outcomes", flow_outcomes),
    ("proposed_agents", proposed_agents),
    ("media_endpoint_stats", media_endpoint_stats),
    ("agent_groups", agent_groups),
    ("scored_agents", scored_agents),
    ("segment_properties", segment_properties),
    ("evaluations", evaluations),
    ("surveys", surveys),
    ("resolutions", resolutions),
    ("transfers", transfers),
    ("division_entities", division_entities),
);

/// Every table holding rows of a conversation graph, keyed by `conversation_id`, in write order.
/// There are no foreign keys between them (see the migration `graph_without_foreign_keys`):
/// [`delete_graphs`] removes a conversation's rows from each of them.
pub fn tables() -> impl Iterator<Item = &'static str> {
    std::iter::once("conversations")
        .chain(CHILD_TABLES.iter().copied())
        .chain(std::iter::once("metric_facts"))
}

/// Deletes every row of the conversations `ids` from every graph table, in one statement (the
/// bookkeeping in `conversation_imports` goes with them), and queues the rollup buckets of their
/// metrics for recomputing. Part of the caller's transaction.
pub async fn delete_graphs(conn: &mut PgConnection, ids: &[String]) -> Result<(), sqlx::Error> {
    static DELETE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let children: Vec<String> = tables()
            .filter(|t| *t != "conversations")
            .enumerate()
            .map(|(n, t)| format!("d{n} as (delete from {t} where conversation_id = any($1))"))
            .collect();
        format!(
            "with {} delete from conversations where conversation_id = any($1)",
            children.join(", ")
        )
    });
    // The old version's metrics leave the rollup of their buckets.
    sqlx::query!(
        "insert into metric_rollup_queue (bucket)
         select distinct date_bin('15 minutes', emit_date, timestamptz '1970-01-01 00:00:00Z')
         from metric_facts where conversation_id = any($1)",
        ids
    )
    .execute(exec::conn(&mut *conn))
    .await?;
    sqlx::query(DELETE.as_str())
        .bind(ids)
        .execute(exec::conn(&mut *conn))
        .await?;
    Ok(())
}

/// The `COPY` statements of every row of `graphs` and of their metric `facts`, a table at a
/// time, parents before children (tables without rows are left out): what [`store_conversations`]
/// sends, and what the benchmark's ingest floor sends.
pub async fn prepare_rows(
    conn: &mut PgConnection,
    graphs: &[&ConversationGraph],
    facts: &[MetricFact],
) -> Result<Vec<copy::Prepared>, sqlx::Error> {
    let mut prepared = Vec::new();
    let conversations: Vec<&ConversationRow> = graphs.iter().map(|g| &g.conversation).collect();
    if !conversations.is_empty() {
        prepared.push(copy::prepare(&mut *conn, "conversations", &conversations).await?);
    }
    prepare_children(&mut *conn, graphs, &mut prepared).await?;
    let facts: Vec<&MetricFact> = facts.iter().collect();
    if !facts.is_empty() {
        prepared.push(copy::prepare(&mut *conn, "metric_facts", &facts).await?);
    }
    Ok(prepared)
}

/// The rows of one table across `graphs`, borrowed.
fn rows<'g, T>(
    graphs: &[&'g ConversationGraph],
    table: impl Fn(&'g ConversationGraph) -> &'g Vec<T>,
) -> Vec<&'g T> {
    graphs.iter().flat_map(|g| table(g)).collect()
}

/// Records divisions with their names (a directory of them, such as the generator's), in one
/// transaction: a division not stored yet is added, a stored one takes the name given.
pub async fn store_divisions(
    pool: &sqlx::PgPool,
    divisions: &[DivisionRow],
) -> Result<(), sqlx::Error> {
    let named: Vec<&DivisionRow> = divisions.iter().collect();
    let mut tx = exec::begin(pool).await?;
    upsert_divisions(&mut tx, &named, &[]).await?;
    tx.commit().await
}

/// Records the divisions a conversation names; a name that arrives fills in a missing one.
///
/// Two statements, so that concurrent batches naming the same divisions do not queue behind
/// each other: the insert skips existing rows without locking them, and the update touches (and
/// locks) only a row whose name or address actually changes.
async fn upsert_divisions(
    conn: &mut PgConnection,
    named: &[&DivisionRow],
    ids: &[&str],
) -> Result<(), sqlx::Error> {
    if named.is_empty() && ids.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "insert into divisions (division_id, name, self_uri, extra)
         select distinct on (division_id) division_id, name, self_uri, extra from (
             select * from jsonb_populate_recordset(null::divisions, $1)
             union all
             select id, null, null, '{}'::jsonb from unnest($2::text[]) as id
         ) d
         where division_id is not null
         order by division_id, name nulls last
         on conflict (division_id) do nothing",
        Json(named) as _,
        ids as &[&str]
    )
    .execute(exec::conn(&mut *conn))
    .await?;
    if named.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "update divisions set name = coalesce(d.name, divisions.name),
                              self_uri = coalesce(d.self_uri, divisions.self_uri)
         from (select distinct on (division_id) division_id, name, self_uri
               from jsonb_populate_recordset(null::divisions, $1)
               where division_id is not null
               order by division_id, name nulls last) d
         where divisions.division_id = d.division_id
           and ((d.name is not null and d.name is distinct from divisions.name)
             or (d.self_uri is not null and d.self_uri is distinct from divisions.self_uri))",
        Json(named) as _
    )
    .execute(exec::conn(&mut *conn))
    .await?;
    Ok(())
}

/// Reads one whole conversation graph back, as stored, in source order. Not scoped: for
/// import checks, export and tests; request handling reads through the scoped functions.
pub async fn load_conversation(
    conn: &mut PgConnection,
    id: &str,
) -> Result<Option<ConversationGraph>, sqlx::Error> {
    let conversation = sqlx::query_scalar!(
        r#"select to_jsonb(c) as "row!: Json<ConversationRow>" from conversations c where conversation_id = $1"#,
        id
    )
    .fetch_optional(exec::conn(&mut *conn))
    .await?;
    let Some(Json(conversation)) = conversation else {
        return Ok(None);
    };
    let ids = [id.to_owned()];
    let divisions = sqlx::query_scalar!(
        r#"select coalesce(jsonb_agg(to_jsonb(d) order by d.division_id), '[]') as "rows!: Json<Vec<DivisionRow>>"
           from divisions d where division_id = any($1) and name is not null"#,
        &conversation.division_ids
    )
    .fetch_one(exec::conn(&mut *conn))
    .await?
    .0;
    Ok(Some(ConversationGraph {
        conversation,
        participants: select_rows!(conn, "participants", "ordinal", &ids),
        sessions: select_rows!(conn, "sessions", "participant_id, ordinal", &ids),
        segments: select_rows!(
            conn,
            "segments",
            "participant_id, session_id, segment_index",
            &ids
        ),
        metrics: select_rows!(
            conn,
            "session_metrics",
            "participant_id, session_id, metric_index",
            &ids
        ),
        flows: select_rows!(conn, "flows", "participant_id, session_id", &ids),
        flow_outcomes: select_rows!(
            conn,
            "flow_outcomes",
            "participant_id, session_id, outcome_index",
            &ids
        ),
        proposed_agents: select_rows!(
            conn,
            "proposed_agents",
            "participant_id, session_id, proposed_index",
            &ids
        ),
        media_endpoint_stats: select_rows!(
            conn,
            "media_endpoint_stats",
            "participant_id, session_id, stat_index",
            &ids
        ),
        agent_groups: select_rows!(
            conn,
            "agent_groups",
            "participant_id, session_id, group_index",
            &ids
        ),
        scored_agents: select_rows!(
            conn,
            "scored_agents",
            "participant_id, session_id, segment_index, scored_index",
            &ids
        ),
        segment_properties: select_rows!(
            conn,
            "segment_properties",
            "participant_id, session_id, segment_index, property_index",
            &ids
        ),
        evaluations: select_rows!(conn, "evaluations", "evaluation_id", &ids),
        surveys: select_rows!(conn, "surveys", "survey_index", &ids),
        resolutions: select_rows!(conn, "resolutions", "resolution_index", &ids),
        transfers: select_rows!(conn, "transfers", "transfer_id", &ids),
        division_entities: select_rows!(
            conn,
            "division_entities",
            "division_id, entity_index",
            &ids
        ),
        divisions,
    }))
}

/// Decodes rows read as JSON; exposed for readers elsewhere in `db`.
pub fn decode_rows<T: DeserializeOwned>(value: serde_json::Value) -> Result<Vec<T>, sqlx::Error> {
    serde_json::from_value(value).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// Stores conversation graphs in one transaction: all the accepted ones or none.
pub async fn ingest_conversations(
    pool: &sqlx::PgPool,
    scope: &Scope,
    graphs: &[&ConversationGraph],
) -> Result<Vec<Result<StoreOutcome, IngestError>>, sqlx::Error> {
    let mut tx = exec::begin(pool).await?;
    let outcomes = store_conversations(&mut tx, scope, graphs).await?;
    let changes: Vec<crate::events::Change> = graphs
        .iter()
        .zip(&outcomes)
        .filter(|(_, outcome)| {
            matches!(outcome, Ok(StoreOutcome::Imported | StoreOutcome::Replaced))
        })
        .map(|(graph, _)| crate::events::Change::Conversation {
            id: graph.id().to_owned(),
        })
        .collect();
    crate::events::notify(&mut tx, &changes).await?;
    tx.commit().await?;
    Ok(outcomes)
}
