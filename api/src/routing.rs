//! Where reads go: to the primary, or to a streaming replica (`CONVGRAPH_READ_DATABASE_URL`).
//!
//! Writes, the aggregates (which refresh their rollup first) and the live listener always use
//! the primary. Queries and the live subscriptions' read-backs use the replica, with two rules
//! that keep answers consistent with what the caller did or heard:
//!
//! - **Read your writes.** After a token's subject writes (`ingestConversations`, `POST
//!   /ingest`), the primary's WAL position at the end of the write is remembered for that
//!   subject; until the replica has replayed past it, that subject's reads go to the primary.
//!   While a push is still running, they go to the primary too.
//! - **Hear what is there.** Before the listener passes a change on to the subscriptions, it
//!   waits until the replica has replayed the primary's WAL position of that moment (at most
//!   [`CATCH_UP_WAIT`]; the read-backs then go to the primary).
//!
//! A background task reads the replica's replay position every [`POLL_INTERVAL`]; while the
//! replica does not answer, every read goes to the primary.

use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// How often the replica's replay position is read.
pub const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Longest the listener waits for the replica before a change is read back from the primary.
pub const CATCH_UP_WAIT: Duration = Duration::from_secs(2);

/// "Not known": the replica did not answer its last poll.
const UNKNOWN: i64 = -1;

/// "Still writing": a push in progress (reads go to the primary until it ends).
const WRITING: i64 = i64::MAX;

/// The primary's pool, for what must not run on a replica (writes, the aggregates' rollup).
#[derive(Clone)]
pub struct Primary(pub PgPool);

/// A streaming replica and what is known of its progress.
pub struct Replica {
    pool: PgPool,
    /// The replica's last replayed WAL position (bytes), or [`UNKNOWN`].
    replayed: AtomicI64,
    /// Per token subject: the primary's WAL position after its last write (or [`WRITING`]).
    written: Mutex<HashMap<String, i64>>,
}

impl Replica {
    /// Reads from `pool` (a standby of the primary) from now on; polls its replay position in
    /// the background for as long as the replica is in use.
    pub fn start(pool: PgPool) -> Arc<Replica> {
        let replica = Arc::new(Replica {
            pool,
            replayed: AtomicI64::new(UNKNOWN),
            written: Mutex::new(HashMap::new()),
        });
        tokio::spawn(poll(Arc::downgrade(&replica)));
        replica
    }

    /// The replica's pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The replica's replay position, when it answered its last poll.
    pub fn replayed(&self) -> Option<i64> {
        Some(self.replayed.load(Ordering::Acquire)).filter(|&lsn| lsn != UNKNOWN)
    }

    /// Whether `subject`'s reads may go to the replica: it answers, and it has replayed the
    /// subject's last write.
    pub fn serves(&self, subject: &str) -> bool {
        let Some(replayed) = self.replayed() else {
            return false;
        };
        let written = self.lock();
        written.get(subject).is_none_or(|&lsn| lsn <= replayed)
    }

    /// A push by `subject` has started: its reads go to the primary until [`Replica::wrote`].
    pub fn writing(&self, subject: &str) {
        self.lock().insert(subject.to_owned(), WRITING);
    }

    /// `subject` has written through `primary`: remembers the primary's WAL position now, which
    /// the replica must replay before it serves the subject again. When the primary does not
    /// answer, the subject's reads stay on the primary until its next write.
    pub async fn wrote(&self, primary: &PgPool, subject: &str) {
        let lsn = wal_position(primary).await.unwrap_or(WRITING);
        tracing::debug!(subject, lsn, replayed = ?self.replayed(), "a write to be replayed before the subject reads the replica");
        self.lock().insert(subject.to_owned(), lsn);
    }

    /// Waits until the replica has replayed the primary's WAL position of now, for at most
    /// [`CATCH_UP_WAIT`]; `false` when it did not (then read from the primary).
    pub async fn catch_up(&self, primary: &PgPool) -> bool {
        let Ok(target) = wal_position(primary).await else {
            return false;
        };
        let deadline = tokio::time::Instant::now() + CATCH_UP_WAIT;
        loop {
            if self.replayed().is_some_and(|replayed| replayed >= target) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(POLL_INTERVAL / 2).await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        self.written
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Forgets the writes the replica has replayed (the map holds recent writers only).
    fn forget_replayed(&self, replayed: i64) {
        self.lock().retain(|_, lsn| *lsn > replayed);
    }
}

/// The primary's current WAL insert position, in bytes: past every commit made so far (the
/// write position may lag behind it under `synchronous_commit = off`).
async fn wal_position(primary: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar::<_, i64>("select (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint")
        .fetch_one(db::exec::pool(primary))
        .await
}

/// Reads the replica's replay position every [`POLL_INTERVAL`] while the replica is in use.
async fn poll(replica: Weak<Replica>) {
    let mut warned = false;
    loop {
        let Some(replica) = replica.upgrade() else {
            return;
        };
        let replayed = sqlx::query_scalar::<_, Option<i64>>(
            "select (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint",
        )
        .fetch_one(db::exec::pool(&replica.pool))
        .await;
        match replayed {
            Ok(Some(lsn)) => {
                replica.replayed.store(lsn, Ordering::Release);
                replica.forget_replayed(lsn);
                warned = false;
            }
            Ok(None) => {
                if !std::mem::replace(&mut warned, true) {
                    tracing::warn!(
                        "the read database is not a standby (pg_last_wal_replay_lsn() is null): reads go to the primary"
                    );
                }
                replica.replayed.store(UNKNOWN, Ordering::Release);
            }
            Err(e) => {
                if !std::mem::replace(&mut warned, true) {
                    tracing::warn!(error = %e, "the read replica does not answer: reads go to the primary");
                }
                replica.replayed.store(UNKNOWN, Ordering::Release);
            }
        }
        drop(replica);
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}
