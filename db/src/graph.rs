//! Writing and reading whole conversation graphs.
//!
//! A graph is written in one transaction owned by the caller: lock the conversation id, compare
//! digests, delete the old graph (children cascade), insert every table with one statement each
//! (`jsonb_populate_recordset` over the rows, whose field names are the column names).

use domain::ConversationGraph;
use domain::graph::*;
use serde::de::DeserializeOwned;
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor};

/// Inserts `rows` into `table` with one statement; the SQL is a literal so that sqlx checks it.
macro_rules! insert_rows {
    ($conn:expr, $table:literal, $rows:expr) => {
        if !$rows.is_empty() {
            sqlx::query!(
                "insert into " + $table + " select * from jsonb_populate_recordset(null::" + $table + ", $1)",
                Json($rows) as _
            )
            .execute(&mut *$conn)
            .await?;
        }
    };
}

/// All rows of `table` for the conversations `ids`, ordered, as one JSON array.
macro_rules! select_rows {
    ($conn:expr, $table:literal, $order:literal, $ids:expr) => {
        sqlx::query_scalar!(
            "select coalesce(jsonb_agg(to_jsonb(t) order by t.conversation_id, " + $order + "), '[]') as \"rows!\" from " + $table + " t where conversation_id = any($1)",
            $ids
        )
        .fetch_one(&mut *$conn)
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

/// Stores one conversation graph, replacing any stored version of it whole. Run it inside a
/// transaction: the graph is written completely or not at all.
pub async fn store_conversation(
    conn: &mut PgConnection,
    graph: &ConversationGraph,
) -> Result<StoreOutcome, sqlx::Error> {
    let id = graph.id();
    let digest = graph.digest();
    // Writers of the same conversation queue here; others go on in parallel.
    sqlx::query!(
        "select pg_advisory_xact_lock(hashtextextended($1, 7)) as locked",
        id
    )
    .fetch_one(&mut *conn)
    .await?;
    let stored = sqlx::query_scalar!(
        "select content_digest from conversation_imports where conversation_id = $1",
        id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let outcome = match stored {
        Some(d) if d == digest => return Ok(StoreOutcome::Unchanged),
        Some(_) => {
            sqlx::query!("delete from conversations where conversation_id = $1", id)
                .execute(&mut *conn)
                .await?;
            StoreOutcome::Replaced
        }
        None => StoreOutcome::Imported,
    };
    insert_graph(conn, graph).await?;
    sqlx::query!(
        "insert into conversation_imports (conversation_id, content_digest) values ($1, $2)
         on conflict (conversation_id) do update
         set content_digest = excluded.content_digest, last_changed_at = now()",
        id,
        digest
    )
    .execute(&mut *conn)
    .await?;
    Ok(outcome)
}

async fn insert_graph(conn: &mut PgConnection, g: &ConversationGraph) -> Result<(), sqlx::Error> {
    upsert_divisions(&mut *conn, &g.divisions, &g.conversation.division_ids).await?;
    sqlx::query!(
        "insert into conversations select * from jsonb_populate_record(null::conversations, $1)",
        Json(&g.conversation) as _
    )
    .execute(&mut *conn)
    .await?;
    // Parents before children, for the foreign keys.
    insert_rows!(conn, "participants", &g.participants);
    insert_rows!(conn, "sessions", &g.sessions);
    insert_rows!(conn, "segments", &g.segments);
    insert_rows!(conn, "session_metrics", &g.metrics);
    insert_rows!(conn, "flows", &g.flows);
    insert_rows!(conn, "flow_outcomes", &g.flow_outcomes);
    insert_rows!(conn, "proposed_agents", &g.proposed_agents);
    insert_rows!(conn, "media_endpoint_stats", &g.media_endpoint_stats);
    insert_rows!(conn, "agent_groups", &g.agent_groups);
    insert_rows!(conn, "scored_agents", &g.scored_agents);
    insert_rows!(conn, "segment_properties", &g.segment_properties);
    insert_rows!(conn, "evaluations", &g.evaluations);
    insert_rows!(conn, "surveys", &g.surveys);
    insert_rows!(conn, "resolutions", &g.resolutions);
    insert_rows!(conn, "transfers", &g.transfers);
    insert_rows!(conn, "division_entities", &g.division_entities);
    Ok(())
}


/// Records the divisions a conversation names; a name that arrives fills in a missing one.
async fn upsert_divisions(
    executor: impl PgExecutor<'_>,
    named: &[DivisionRow],
    ids: &[String],
) -> Result<(), sqlx::Error> {
    if named.is_empty() && ids.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "insert into divisions (division_id, name, self_uri, extra)
         select division_id, name, self_uri, extra from (
             select * from jsonb_populate_recordset(null::divisions, $1)
             union all
             select id, null, null, '{}'::jsonb from unnest($2::text[]) as id
         ) d
         where division_id is not null
         order by division_id, name nulls last
         on conflict (division_id) do update
         set name = coalesce(excluded.name, divisions.name),
             self_uri = coalesce(excluded.self_uri, divisions.self_uri)",
        Json(named) as _,
        ids
    )
    .execute(executor)
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
    .fetch_optional(&mut *conn)
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
    .fetch_one(&mut *conn)
    .await?
    .0;
    Ok(Some(ConversationGraph {
        conversation,
        participants: select_rows!(conn, "participants", "ordinal", &ids),
        sessions: select_rows!(conn, "sessions", "participant_id, ordinal", &ids),
        segments: select_rows!(conn, "segments", "participant_id, session_id, segment_index", &ids),
        metrics: select_rows!(conn, "session_metrics", "participant_id, session_id, metric_index", &ids),
        flows: select_rows!(conn, "flows", "participant_id, session_id", &ids),
        flow_outcomes: select_rows!(conn, "flow_outcomes", "participant_id, session_id, outcome_index", &ids),
        proposed_agents: select_rows!(conn, "proposed_agents", "participant_id, session_id, proposed_index", &ids),
        media_endpoint_stats: select_rows!(conn, "media_endpoint_stats", "participant_id, session_id, stat_index", &ids),
        agent_groups: select_rows!(conn, "agent_groups", "participant_id, session_id, group_index", &ids),
        scored_agents: select_rows!(conn, "scored_agents", "participant_id, session_id, segment_index, scored_index", &ids),
        segment_properties: select_rows!(conn, "segment_properties", "participant_id, session_id, segment_index, property_index", &ids),
        evaluations: select_rows!(conn, "evaluations", "evaluation_id", &ids),
        surveys: select_rows!(conn, "surveys", "survey_index", &ids),
        resolutions: select_rows!(conn, "resolutions", "resolution_index", &ids),
        transfers: select_rows!(conn, "transfers", "transfer_id", &ids),
        division_entities: select_rows!(conn, "division_entities", "division_id, entity_index", &ids),
        divisions,
    }))
}


/// Decodes rows read as JSON; exposed for readers elsewhere in `db`.
pub fn decode_rows<T: DeserializeOwned>(value: serde_json::Value) -> Result<Vec<T>, sqlx::Error> {
    serde_json::from_value(value).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// Stores one conversation graph in a transaction of its own.
pub async fn ingest_conversation(
    pool: &sqlx::PgPool,
    graph: &ConversationGraph,
) -> Result<StoreOutcome, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let outcome = store_conversation(&mut tx, graph).await?;
    if outcome == StoreOutcome::Unchanged {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
    }
    Ok(outcome)
}
