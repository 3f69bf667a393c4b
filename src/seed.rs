//! `convgraph seed`: a deterministic contact center stored through the import path: the
//! Genesys conversations and, around them, the Buzzeasy feed (its lookups once, then per
//! conversation its workitems, queue and bot segments, agent states, evaluations, campaign
//! records …), each feed row read as `convgraph import` reads it.

use db::graph::{StoreOutcome, ingest_conversations};
use domain::buzzeasy::{ReadOptions, Record, Table, read_row};
use domain::{ConversationGraph, Scope};
use futures::StreamExt as _;
use generate::Generator;
use indicatif::ProgressBar;
use serde_json::Value;
use sqlx::PgPool;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Conversations generated and stored per transaction.
const CHUNK: u64 = 250;

/// The first day of generated data: conversations start within [`generate::DAYS`]
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
    /// Conversations.
    pub imported: u64,
    pub unchanged: u64,
    pub replaced: u64,
    /// Rows of the Buzzeasy feed: its lookups and the rows around the conversations.
    pub feed: RowReport,
}

/// What happened to stored rows.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RowReport {
    pub imported: u64,
    pub unchanged: u64,
    pub replaced: u64,
}

impl RowReport {
    fn count(&mut self, outcome: StoreOutcome) {
        match outcome {
            StoreOutcome::Imported => self.imported += 1,
            StoreOutcome::Unchanged => self.unchanged += 1,
            StoreOutcome::Replaced => self.replaced += 1,
        }
    }

    fn add(&mut self, other: RowReport) {
        self.imported += other.imported;
        self.unchanged += other.unchanged;
        self.replaced += other.replaced;
    }

    /// Rows stored in all.
    pub fn total(&self) -> u64 {
        self.imported + self.unchanged + self.replaced
    }
}

/// Feed rows read as the import reads them (column-named), per table and key: a key given
/// twice keeps its last row, so that each store call has distinct keys.
type FeedRows = BTreeMap<Table, BTreeMap<String, Value>>;

fn read_feed(rows: Vec<(Table, Value)>, into: &mut FeedRows) -> anyhow::Result<()> {
    for (table, source) in rows {
        match read_row(table, &source, &ReadOptions::default()) {
            Ok(Record::Row { table, row, .. }) => {
                let key = table
                    .key_columns()
                    .iter()
                    .map(|k| row.get(*k).map(Value::to_string).unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join("\u{1f}");
                into.entry(table).or_default().insert(key, row);
            }
            Ok(Record::Conversation(_)) => anyhow::bail!(
                "the generator made a {} row: conversations come from the Genesys documents",
                table.name()
            ),
            Err(e) => anyhow::bail!("a generated {} row does not read: {e}", table.name()),
        }
    }
    Ok(())
}

/// Stores feed rows, a table at a time, in one transaction (the rows of one chunk share it:
/// a commit per chunk rather than per table).
async fn store_feed(pool: &PgPool, rows: FeedRows) -> anyhow::Result<RowReport> {
    let mut report = RowReport::default();
    let mut tx = db::exec::begin(pool).await?;
    for (table, rows) in rows {
        let values: Vec<Value> = rows.into_values().collect();
        for outcome in db::records::store_rows(&mut tx, table, &values).await? {
            // A generated row is refused only when the store holds a newer one.
            let outcome = outcome.map_err(|e| {
                anyhow::anyhow!("a generated {} row was refused: {e}", table.name())
            })?;
            report.count(outcome);
        }
    }
    tx.commit().await?;
    Ok(report)
}

/// Generates conversations `0..count` of `generator` with their Buzzeasy feed and stores them,
/// `concurrency` chunks at a time, after the feed's lookups. The same seed always stores the
/// same data; seeding twice changes nothing.
pub async fn seed(
    pool: &PgPool,
    generator: Arc<Generator>,
    count: u64,
    concurrency: usize,
    bar: &ProgressBar,
) -> anyhow::Result<SeedReport> {
    let mut report = SeedReport::default();
    let mut lookups = FeedRows::new();
    read_feed(generator.lookups(), &mut lookups)?;
    report.feed.add(store_feed(pool, lookups).await?);
    // The divisions by name: the conversations carry only their ids.
    let divisions: Vec<domain::graph::DivisionRow> = generator
        .universe()
        .divisions()
        .iter()
        .map(|d| domain::graph::DivisionRow {
            division_id: d.id.clone(),
            name: Some(d.name.clone()),
            ..Default::default()
        })
        .collect();
    db::graph::store_divisions(pool, &divisions).await?;

    let chunks = (0..count.div_ceil(CHUNK)).map(|c| (c * CHUNK)..((c + 1) * CHUNK).min(count));
    let mut stored = futures::stream::iter(chunks)
        .map(|range| {
            let generator = generator.clone();
            async move {
                let (graphs, feed) = tokio::task::spawn_blocking(move || {
                    let mut graphs = Vec::with_capacity(range.clone().count());
                    let mut feed = FeedRows::new();
                    for i in range {
                        let document = generator.conversation(i);
                        graphs.push(domain::genesys::parse_analytics(&document)?);
                        read_feed(generator.feed_of(i, &document), &mut feed)?;
                    }
                    anyhow::Ok((graphs, feed))
                })
                .await??;
                let refs: Vec<&ConversationGraph> = graphs.iter().collect();
                let outcomes = ingest_conversations(pool, &Scope::All, &refs).await?;
                let rows = store_feed(pool, feed).await?;
                anyhow::Ok((outcomes, rows))
            }
        })
        .buffer_unordered(concurrency.max(1));
    while let Some(chunk) = stored.next().await {
        let (outcomes, rows) = chunk?;
        report.feed.add(rows);
        for outcome in outcomes {
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
    // Leave no rollup backlog for the first dashboard query to pay for.
    db::aggregate::refresh_rollup_backlog(pool).await?;
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
    let mut tx = db::exec::begin(pool).await?;
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
    .execute(db::exec::conn(&mut tx))
    .await?;
    // The metric facts carry their conversation's scope: keep them in step.
    sqlx::query(
        "with changed as (
             update metric_facts f set business_unit_id = c.business_unit_id
             from conversations c
             where f.conversation_id = c.conversation_id
               and f.business_unit_id is distinct from c.business_unit_id
             returning f.emit_date
         )
         insert into metric_rollup_queue (bucket)
         select distinct date_bin('15 minutes', emit_date, timestamptz '1970-01-01 00:00:00Z')
         from changed",
    )
    .execute(db::exec::conn(&mut tx))
    .await?;
    tx.commit().await?;
    Ok(result.rows_affected())
}
