//! Live subscriptions, pushed from the store: one `LISTEN` per process on the channel every
//! write path notifies ([`db::events`]), fanned out to groups of subscribers.
//!
//! Subscribers that asked the same question (the same root, selection, arguments, scope and
//! personal-data right) form one [`Group`]: a change is read back once for all of them, through
//! the scoped read path, and the answer goes to each. A group that answers with a state (queue
//! observations, aggregates) sends it when a subscriber joins, and again after each change that
//! alters it, recomputed once per burst of changes.
//!
//! When the listener loses its connection (PostgreSQL restarted), it reconnects and every group
//! resynchronises: a state is sent again, and the change feeds catch up with what changed since
//! the last event they heard.

use async_trait::async_trait;
use db::events::{CHANNEL, Change};
use futures::Stream;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;

/// What the listener hears.
#[derive(Debug, Clone)]
pub enum Signal {
    /// A write committed.
    Change(Arc<Change>),
    /// Events may have been missed (the listener reconnected): catch up.
    Resync,
}

/// An item a subscriber receives: an answer, or how many it missed by reading too slowly.
#[derive(Debug, Clone)]
pub enum Delivery<T> {
    Item(T),
    Dropped(u64),
}

/// Events a subscriber may fall behind by before it misses some.
const SUBSCRIBER_BUFFER: usize = 64;
/// Signals a group may fall behind the listener by before it resynchronises.
const SIGNAL_BUFFER: usize = 4096;
/// How long a group that recomputes a state waits for more changes before it does.
const BURST: Duration = Duration::from_millis(50);

/// The process's listener and its groups.
pub struct Hub {
    pool: PgPool,
    signals: broadcast::Sender<Signal>,
    /// Set when the listener has started (with the first subscription).
    listening: std::sync::OnceLock<()>,
    groups: Mutex<HashMap<String, Arc<dyn std::any::Any + Send + Sync>>>,
    open: AtomicUsize,
    /// Most subscriptions open in this process at once.
    pub max_subscriptions: AtomicUsize,
    /// The replica the read-backs use, when there is one: the listener waits for it to replay
    /// a change before passing it on ([`crate::routing`]).
    replica: std::sync::OnceLock<Arc<crate::routing::Replica>>,
}

impl Hub {
    /// A hub on `pool`'s database; it listens from the first subscription on.
    pub fn new(pool: PgPool, max_subscriptions: usize) -> Arc<Hub> {
        let (signals, _) = broadcast::channel(SIGNAL_BUFFER);
        Arc::new(Hub {
            pool,
            signals,
            listening: std::sync::OnceLock::new(),
            groups: Mutex::new(HashMap::new()),
            open: AtomicUsize::new(0),
            max_subscriptions: AtomicUsize::new(max_subscriptions),
            replica: std::sync::OnceLock::new(),
        })
    }

    /// Read-backs go to `replica` (set before the first subscription).
    pub fn set_replica(&self, replica: Arc<crate::routing::Replica>) {
        let _ = self.replica.set(replica);
    }

    /// The most subscriptions this process holds.
    pub fn max_subscriptions(&self) -> usize {
        self.max_subscriptions.load(Ordering::Relaxed)
    }

    /// Subscriptions open in this process.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// A place among the process's subscriptions, held as long as the subscription is open;
    /// `None` when they are all taken.
    pub fn admit(self: &Arc<Self>) -> Option<Admission> {
        let mut open = self.open.load(Ordering::Relaxed);
        loop {
            if open >= self.max_subscriptions() {
                return None;
            }
            match self
                .open
                .compare_exchange(open, open + 1, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => {
                    return Some(Admission {
                        hub: Arc::clone(self),
                    });
                }
                Err(now) => open = now,
            }
        }
    }

    /// Joins the group `key`, starting it with `source` when there is none: a stream of what
    /// the group sends, from now on (with its state first, for a source that has one).
    pub fn join<S: Source>(
        self: &Arc<Self>,
        key: String,
        source: S,
        admission: Admission,
    ) -> impl Stream<Item = Delivery<S::Out>> + Send + 'static + use<S> {
        self.listening.get_or_init(|| {
            tokio::spawn(listen(
                self.pool.clone(),
                self.replica.get().cloned(),
                self.signals.clone(),
            ));
        });
        let group = {
            let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
            let existing = groups
                .get(&key)
                .and_then(|g| Arc::clone(g).downcast::<Group<S::Out>>().ok());
            match existing {
                Some(group) => group,
                None => {
                    let group = Arc::new(Group::<S::Out> {
                        sender: broadcast::channel(SUBSCRIBER_BUFFER).0,
                        latest: Mutex::new(None),
                    });
                    groups.insert(key.clone(), group.clone());
                    tokio::spawn(run(
                        Arc::clone(self),
                        key,
                        Arc::clone(&group),
                        source,
                        self.signals.subscribe(),
                    ));
                    group
                }
            }
        };
        let receiver = group.sender.subscribe();
        let first = group
            .latest
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        subscriber(first, receiver, admission)
    }
}

/// A subscription's place in the process; released when dropped.
pub struct Admission {
    hub: Arc<Hub>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.hub.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Subscribers that asked the same question.
struct Group<T> {
    sender: broadcast::Sender<T>,
    /// The last state sent, for a source that has one: what a new subscriber gets first.
    latest: Mutex<Option<T>>,
}

/// What a group sends.
#[async_trait]
pub trait Source: Send + 'static {
    type Out: Clone + Send + Sync + 'static;
    /// Whether it answers with a state (sent to each new subscriber, recomputed per burst of
    /// changes) rather than with one answer per change.
    const STATEFUL: bool;
    /// Whether `change` may alter the answer.
    fn concerns(&self, change: &Change) -> bool;
    /// The answers to a change (a change feed), or the new state (a stateful source, which
    /// ignores the change); nothing when there is nothing to send.
    async fn answer(&mut self, change: Option<&Change>) -> Vec<Self::Out>;
    /// After events were missed: what catches the subscribers up.
    async fn resync(&mut self) -> Vec<Self::Out>;
}

/// A group's worker: reads the listener's signals and sends what its source answers, until the
/// group has no subscriber left.
async fn run<S: Source>(
    hub: Arc<Hub>,
    key: String,
    group: Arc<Group<S::Out>>,
    mut source: S,
    mut signals: broadcast::Receiver<Signal>,
) {
    let send = |outs: Vec<S::Out>| {
        for out in outs {
            if S::STATEFUL {
                *group.latest.lock().unwrap_or_else(|e| e.into_inner()) = Some(out.clone());
            }
            let _ = group.sender.send(out);
        }
    };
    if S::STATEFUL {
        send(source.answer(None).await);
    }
    loop {
        let signal = tokio::select! {
            signal = signals.recv() => signal,
            // A group whose subscribers left is stopped within a second.
            () = tokio::time::sleep(Duration::from_secs(1)) => {
                if retire(&hub, &key, &group) { return; }
                continue;
            }
        };
        match signal {
            Ok(Signal::Change(change)) if source.concerns(&change) => {
                if S::STATEFUL {
                    // One recomputation per burst: take what else arrives meanwhile.
                    tokio::time::sleep(BURST).await;
                    let mut resync = false;
                    loop {
                        match signals.try_recv() {
                            Ok(Signal::Resync) | Err(broadcast::error::TryRecvError::Lagged(_)) => {
                                resync = true
                            }
                            Ok(Signal::Change(_)) => {}
                            Err(_) => break,
                        }
                    }
                    send(if resync {
                        source.resync().await
                    } else {
                        source.answer(None).await
                    });
                } else {
                    send(source.answer(Some(&change)).await);
                }
            }
            Ok(Signal::Change(_)) => {}
            Ok(Signal::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {
                send(source.resync().await);
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
        if retire(&hub, &key, &group) {
            return;
        }
    }
}

/// Removes the group when it has no subscriber left (under the lock new subscribers take).
fn retire<T>(hub: &Hub, key: &str, group: &Group<T>) -> bool {
    let mut groups = hub.groups.lock().unwrap_or_else(|e| e.into_inner());
    if group.sender.receiver_count() == 0 {
        groups.remove(key);
        true
    } else {
        false
    }
}

/// One subscriber's stream: the group's state first when it has one, then what it sends; a
/// subscriber that falls more than [`SUBSCRIBER_BUFFER`] behind is told how many it missed.
fn subscriber<T: Clone + Send + 'static>(
    first: Option<T>,
    receiver: broadcast::Receiver<T>,
    admission: Admission,
) -> impl Stream<Item = Delivery<T>> + Send + 'static {
    futures::stream::unfold(
        (first, receiver, admission),
        |(first, mut receiver, admission)| async move {
            if let Some(first) = first {
                return Some((Delivery::Item(first), (None, receiver, admission)));
            }
            match receiver.recv().await {
                Ok(item) => Some((Delivery::Item(item), (None, receiver, admission))),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    Some((Delivery::Dropped(n), (None, receiver, admission)))
                }
                Err(broadcast::error::RecvError::Closed) => None,
            }
        },
    )
}

/// The listener: hears the channel and passes each change on; after losing its connection it
/// waits for the database to answer again, then asks every group to resynchronise.
async fn listen(
    pool: PgPool,
    replica: Option<Arc<crate::routing::Replica>>,
    signals: broadcast::Sender<Signal>,
) {
    // With a replica, a change (or a resynchronisation) is passed on once the replica has
    // replayed it, so that the read-backs there see it.
    let caught_up = async |replica: &Option<Arc<crate::routing::Replica>>| {
        if let Some(replica) = replica {
            if !replica.catch_up(&pool).await {
                tracing::warn!(
                    "the read replica lags: a change is passed on before it has replayed it"
                );
            }
        }
    };
    let mut delay = Duration::from_millis(100);
    let mut first = true;
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(e) => {
                tracing::warn!(error = %e, "the change listener cannot connect; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %e, "the change listener cannot listen; retrying");
            tokio::time::sleep(delay).await;
            continue;
        }
        delay = Duration::from_millis(100);
        if !std::mem::take(&mut first) {
            tracing::info!("the change listener is back: live subscriptions resynchronise");
            caught_up(&replica).await;
            let _ = signals.send(Signal::Resync);
        }
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    if let Some(change) = Change::parse(notification.payload()) {
                        caught_up(&replica).await;
                        let _ = signals.send(Signal::Change(Arc::new(change)));
                    }
                }
                // The connection was lost: notifications meanwhile are gone.
                Ok(None) | Err(_) => {
                    tracing::warn!("the change listener lost its connection");
                    break;
                }
            }
        }
    }
}
