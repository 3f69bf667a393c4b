//! The benchmark's database: `convgraph_bench_<size>` on the given server, or on a private local
//! server with a persistent data directory, seeded from the project's generator and kept for
//! the next run.
//!
//! A table `bench_marker` records a completed seed (size, seed, generator fingerprint). A
//! database with the same marker is reused as it is; one without a marker (new, or a seed that
//! was interrupted) is seeded, which stores what is missing and leaves what is there (seeding is
//! idempotent); one with a different marker is dropped and seeded again.

use anyhow::Context as _;
use db::local::LocalPostgres;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection as _, PgConnection, PgPool};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crate::report::Size;

/// A database ready for the benchmark, and the local server behind it when there is one.
pub struct Prepared {
    /// The URL of the benchmark database (handed to the server under test).
    pub url: String,
    pub name: String,
    pub pool: PgPool,
    /// Stops the local server when dropped.
    pub local: Option<LocalPostgres>,
    /// What was done: "reused", "seeded in …", "adopted".
    pub how: String,
}

/// What a complete data set is.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Marker {
    size: i64,
    seed: i64,
    generator: String,
}

/// How to get the data.
pub struct Options<'a> {
    pub size: Size,
    pub seed: u64,
    pub database_url: Option<&'a str>,
    pub data_dir: &'a Path,
    pub max_connections: u32,
    /// Accept an unmarked database that already holds exactly this data set (checked by count
    /// and by the content digests of sampled conversations) instead of seeding it.
    pub adopt_existing: bool,
}

pub async fn prepare(options: &Options<'_>) -> anyhow::Result<Prepared> {
    let (server_url, local) = match options.database_url {
        Some(url) => (url.to_owned(), None),
        None => {
            let dir = options.data_dir.to_owned();
            let server = tokio::task::spawn_blocking(move || -> anyhow::Result<LocalPostgres> {
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                Ok(LocalPostgres::start(&dir.canonicalize()?)?)
            })
            .await??;
            eprintln!(
                "bench: local PostgreSQL on {} (data in {})",
                server.url(),
                options.data_dir.display()
            );
            (server.url(), Some(server))
        }
    };
    let name = format!("convgraph_bench_{}", options.size.label().to_lowercase());
    let url = with_database(&server_url, &name);
    let generator = convgraph::seed::generator(options.seed);
    let expected = Marker {
        size: i64::try_from(options.size.0)?,
        seed: i64::try_from(options.seed)?,
        generator: fingerprint(&generator)?,
    };

    let mut admin = PgConnection::connect(&server_url).await.with_context(|| {
        format!(
            "cannot connect to {}",
            convgraph::database::redact(&server_url)
        )
    })?;
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await?;
    if exists {
        match read_marker(&url).await? {
            Some(marker) if marker == expected => {
                admin.close().await?;
                let pool = open(&url, options.max_connections).await?;
                return Ok(Prepared {
                    url,
                    name,
                    pool,
                    local,
                    how: "reused".into(),
                });
            }
            Some(marker) => {
                eprintln!(
                    "bench: {name} holds another data set ({marker:?}, expected {expected:?}): dropping it"
                );
                sqlx::query(&format!(r#"drop database "{name}" with (force)"#))
                    .execute(&mut admin)
                    .await?;
                create(&mut admin, &name).await?;
            }
            None if options.adopt_existing => {
                eprintln!("bench: {name} has no completion marker: checking it to adopt it")
            }
            None => eprintln!("bench: {name} has no completion marker: seeding it"),
        }
    } else {
        create(&mut admin, &name).await?;
    }
    admin.close().await?;

    let pool = open(&url, options.max_connections).await?;
    let how = if options.adopt_existing {
        adopt(&pool, &generator, options.size).await?;
        "adopted (already seeded; verified by count and sampled digests)".to_owned()
    } else {
        let started = Instant::now();
        seed(&pool, generator, options.size).await?;
        format!("seeded in {:.0} s", started.elapsed().as_secs_f64())
    };
    eprintln!("bench: vacuum analyze {name}");
    sqlx::query("vacuum (analyze)").execute(&pool).await?;
    write_marker(&pool, &expected).await?;
    Ok(Prepared {
        url,
        name,
        pool,
        local,
        how,
    })
}

async fn open(url: &str, max_connections: u32) -> anyhow::Result<PgPool> {
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .connect(url)
        .await
        .with_context(|| format!("cannot connect to {}", convgraph::database::redact(url)))?;
    db::migrate(&pool)
        .await
        .context("cannot apply the migrations")?;
    Ok(pool)
}

async fn create(admin: &mut PgConnection, name: &str) -> anyhow::Result<()> {
    eprintln!("bench: creating database {name}");
    sqlx::query(&format!(r#"create database "{name}""#))
        .execute(admin)
        .await
        .with_context(|| format!("cannot create database {name}"))?;
    Ok(())
}

async fn read_marker(url: &str) -> anyhow::Result<Option<Marker>> {
    let mut conn = PgConnection::connect(url).await?;
    let has_table: bool = sqlx::query_scalar("select to_regclass('bench_marker') is not null")
        .fetch_one(&mut conn)
        .await?;
    let marker = if has_table {
        sqlx::query_as::<_, (i64, i64, String)>("select size, seed, generator from bench_marker")
            .fetch_optional(&mut conn)
            .await?
            .map(|(size, seed, generator)| Marker {
                size,
                seed,
                generator,
            })
    } else {
        None
    };
    conn.close().await?;
    Ok(marker)
}

async fn write_marker(pool: &PgPool, marker: &Marker) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "create table if not exists bench_marker (
            size bigint not null,
            seed bigint not null,
            generator text not null,
            completed_at timestamptz not null default now()
        )",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query("delete from bench_marker")
        .execute(&mut *tx)
        .await?;
    sqlx::query("insert into bench_marker (size, seed, generator) values ($1, $2, $3)")
        .bind(marker.size)
        .bind(marker.seed)
        .bind(&marker.generator)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Identifies the generator's output: the digest of its first conversation, which changes
/// with almost any change to the generator or to the parsing of what it generates.
/// Conversations the fingerprint is taken over: enough that a change to a rare path of the
/// generator (a flow-out, a declined alert: about one conversation in 200) shows in it.
const FINGERPRINT_SAMPLE: u64 = 2_000;

/// What the generator makes now, in one hash: the first [`FINGERPRINT_SAMPLE`] conversations
/// (as stored: their graphs' digests), the feed around them and the lookups.
fn fingerprint(generator: &generate::Generator) -> anyhow::Result<String> {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for i in 0..FINGERPRINT_SAMPLE {
        let document = generator.conversation(i);
        hash.update(domain::genesys::parse_analytics(&document)?.digest());
        for (table, row) in generator.feed_of(i, &document) {
            hash.update(table.name());
            hash.update(row.to_string());
        }
    }
    for (table, row) in generator.lookups() {
        hash.update(table.name());
        hash.update(row.to_string());
    }
    Ok(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

async fn seed(
    pool: &PgPool,
    generator: Arc<generate::Generator>,
    size: Size,
) -> anyhow::Result<()> {
    let bar = indicatif::ProgressBar::new(size.0);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "bench: seeding {spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} conversations",
    ) {
        bar.set_style(style);
    }
    let report = convgraph::seed::seed(pool, generator, size.0, 4, &bar).await?;
    bar.finish_and_clear();
    eprintln!(
        "bench: seeded {} conversations: imported {}, unchanged {}, replaced {}",
        size.0, report.imported, report.unchanged, report.replaced
    );
    Ok(())
}

/// Checks that the database holds exactly the generated data set: as many conversations as
/// the size, and conversations sampled across the range stored with the digest the generator
/// gives them now.
async fn adopt(pool: &PgPool, generator: &generate::Generator, size: Size) -> anyhow::Result<()> {
    let count: i64 = sqlx::query_scalar("select count(*) from conversations")
        .fetch_one(pool)
        .await?;
    anyhow::ensure!(
        u64::try_from(count)? == size.0,
        "--adopt-existing: the database holds {count} conversations, not {}",
        size.0
    );
    let n = size.0;
    for i in [0, 1, n / 3, n / 2, 2 * n / 3, n - 2, n - 1] {
        let graph = domain::genesys::parse_analytics(&generator.conversation(i))?;
        let id = generator.conversation_id(i);
        let stored: Option<String> = sqlx::query_scalar(
            "select content_digest from conversation_imports where conversation_id = $1",
        )
        .bind(&id)
        .fetch_optional(pool)
        .await?;
        anyhow::ensure!(
            stored.as_deref() == Some(graph.digest().as_str()),
            "--adopt-existing: conversation {i} ({id}) is {} the generator makes now; seed the database instead",
            if stored.is_some() {
                "not stored as"
            } else {
                "missing, unlike what"
            }
        );
    }
    Ok(())
}

/// `url` with its database replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..]
        .find('/')
        .map_or(base.len(), |i| authority + i);
    let mut out = format!("{}/{name}", &base[..path]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_of_a_url_is_replaced() {
        for (url, expected) in [
            (
                "postgres://postgres@127.0.0.1:55432/seed_1m",
                "postgres://postgres@127.0.0.1:55432/convgraph_bench_1m",
            ),
            (
                "postgres://u:p@db:5432",
                "postgres://u:p@db:5432/convgraph_bench_1m",
            ),
            (
                "postgresql://u@h/x?sslmode=disable",
                "postgresql://u@h/convgraph_bench_1m?sslmode=disable",
            ),
        ] {
            assert_eq!(with_database(url, "convgraph_bench_1m"), expected);
        }
    }
}
