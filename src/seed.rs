//! `convgraph seed`: a deterministic contact center stored through the import path.

use db::graph::{StoreOutcome, ingest_conversations};
use domain::generate::Generator;
use domain::{ConversationGraph, Scope};
use futures::StreamExt as _;
use indicatif::ProgressBar;
use sqlx::PgPool;
use std::sync::Arc;

/// Conversations generated and stored per transaction.
const CHUNK: u64 = 250;

/// The first day of generated data: conversations start within [`domain::generate::DAYS`]
/// days from here.
pub const START: &str = "2026-11-01T00:00:00Z";

/// The generator `convgraph seed --seed S` (and `demo`, with seed 1) stores.
pub fn generator(seed: u64) -> Arc<Generator> {
    let start = chrono::DateTime::parse_from_rfc3339(START)
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_default();
    Arc::new(Generator::new(seed, start))
}

/// What a seed run stored.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SeedReport {
    pub imported: u64,
    pub unchanged: u64,
    pub replaced: u64,
}

/// Generates conversations `0..count` of `generator` and stores them, `concurrency` chunks at
/// a time. The same seed always stores the same data; seeding twice changes nothing.
pub async fn seed(
    pool: &PgPool,
    generator: Arc<Generator>,
    count: u64,
    concurrency: usize,
    bar: &ProgressBar,
) -> anyhow::Result<SeedReport> {
    let chunks = (0..count.div_ceil(CHUNK)).map(|c| (c * CHUNK)..((c + 1) * CHUNK).min(count));
    let mut stored = futures::stream::iter(chunks)
        .map(|range| {
            let generator = generator.clone();
            async move {
                let graphs = tokio::task::spawn_blocking(move || {
                    range
                        .map(|i| domain::genesys::parse_analytics(&generator.conversation(i)))
                        .collect::<Result<Vec<ConversationGraph>, _>>()
                })
                .await??;
                let refs: Vec<&ConversationGraph> = graphs.iter().collect();
                anyhow::Ok(ingest_conversations(pool, &Scope::All, &refs).await?)
            }
        })
        .buffer_unordered(concurrency.max(1));
    let mut report = SeedReport::default();
    while let Some(outcomes) = stored.next().await {
        for outcome in outcomes? {
            // A generated conversation is refused only when the store holds a newer version.
            match outcome
                .map_err(|e| anyhow::anyhow!("a generated conversation was refused: {e}"))?
            {
                StoreOutcome::Imported => report.imported += 1,
                StoreOutcome::Unchanged => report.unchanged += 1,
                StoreOutcome::Replaced => report.replaced += 1,
            }
            bar.inc(1);
        }
    }
    Ok(report)
}

/// Gives each conversation without a business unit the business unit of the first queue it
/// went through, as Buzzeasy scopes rows (Genesys documents carry divisions, not business
/// units). For the demo, so that business-unit tokens see data; returns how many changed.
pub async fn assign_business_units_from_queues(
    pool: &PgPool,
    generator: &Generator,
) -> anyhow::Result<u64> {
    let (queues, units): (Vec<String>, Vec<String>) = generator
        .universe()
        .queues()
        .iter()
        .map(|q| (q.id.clone(), q.business_unit_id.clone()))
        .unzip();
    let mut tx = pool.begin().await?;
    let result = sqlx::query(
        "update conversations c set business_unit_id = first_queue.business_unit_id
         from (select distinct on (s.conversation_id) s.conversation_id, q.business_unit_id
               from segments s
               join unnest($1::text[], $2::text[]) as q(queue_id, business_unit_id)
                 on q.queue_id = s.queue_id
               order by s.conversation_id, s.segment_start, s.segment_index) first_queue
         where c.conversation_id = first_queue.conversation_id and c.business_unit_id is null",
    )
    .bind(&queues)
    .bind(&units)
    .execute(&mut *tx)
    .await?;
    // The metric facts carry their conversation's scope: keep them in step.
    sqlx::query(
        "update metric_facts f set business_unit_id = c.business_unit_id
         from conversations c
         where f.conversation_id = c.conversation_id
           and f.business_unit_id is distinct from c.business_unit_id",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(result.rows_affected())
}
