//! Per-request dataloaders: every child list of the graph loads in one batched, scoped SQL
//! statement per level, whatever the number of parents. A loader is built for one request and
//! carries that request's scope, so nothing is ever cached across callers.

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, ErrorExtensions, Result};
use db::read::{self, SessionKeys};
use domain::graph::*;
use domain::{Personal, Scope};
use sqlx::PgPool;
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use tokio::sync::OnceCell;
use tracing::Instrument as _;

use crate::auth::Caller;
use crate::error::ApiError;

/// Loads rows for one request, within that request's scope, and without personal data unless
/// the caller may read it.
pub struct GraphLoader {
    pub pool: PgPool,
    pub scope: Scope,
    /// Whether the caller may read personal data (`pii:read`).
    pub personal: bool,
}

impl GraphLoader {
    fn seen<R: Personal>(&self, rows: Vec<R>) -> Vec<R> {
        visible(self.personal, rows)
    }
}

/// `rows` as a caller sees them: without their personal values unless `personal`.
pub fn visible<R: Personal>(personal: bool, mut rows: Vec<R>) -> Vec<R> {
    if !personal {
        rows.iter_mut().for_each(Personal::redact_personal);
    }
    rows
}

/// The request's loader.
pub type Loaders = DataLoader<GraphLoader>;

/// The batch loads run as tasks of their own, inside the span of the request that spawned
/// them, so that what they log carries the request id. async-graphql's `tracing` feature
/// already runs them `in_current_span`; the spawner says so itself, so that this holds
/// without that feature too.
pub fn loaders(pool: PgPool, caller: &Caller) -> Loaders {
    let loader = GraphLoader {
        pool,
        scope: caller.scope.clone(),
        personal: caller.may_read_personal(),
    };
    DataLoader::new(loader, |load| {
        tokio::spawn(load.instrument(tracing::Span::current()))
    })
}

pub(crate) fn internal(e: sqlx::Error) -> Arc<ApiError> {
    Arc::new(ApiError::internal(e))
}

pub(crate) fn group<K: Hash + Eq, T>(rows: Vec<T>, key: impl Fn(&T) -> K) -> HashMap<K, Vec<T>> {
    let mut map: HashMap<K, Vec<T>> = HashMap::new();
    for row in rows {
        map.entry(key(&row)).or_default().push(row);
    }
    map
}

/// Rows of one type that a response loaded together: a page of conversations, every
/// participant of those, every session of those, and so on down the graph.
///
/// The first member to ask for a relation loads it for the whole family in one dataloader batch
/// (one SQL statement); the others wait for that load and take their share. So a level of the
/// graph costs one statement however many parents it has, and that does not depend on how the
/// resolvers happen to be scheduled (the dataloader's own time window alone would split a
/// level into several batches whenever resolving the parents outlasts it).
pub struct Family<R> {
    pub rows: Vec<R>,
    relations: std::sync::Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

/// A relation loaded for a whole family: the child family and, per parent, its children.
struct Loaded<T> {
    children: Arc<Family<T>>,
    of_parent: Vec<Vec<usize>>,
}

impl<R: Send + Sync + 'static> Family<R> {
    pub fn new(rows: Vec<R>) -> Arc<Self> {
        Arc::new(Family {
            rows,
            relations: Default::default(),
        })
    }

    /// The children of member `me` under the relation whose dataloader keys `keys` gives for
    /// each member: the family of all members' children, and the indexes of `me`'s in it.
    pub async fn children<K, T>(
        &self,
        ctx: &Context<'_>,
        me: usize,
        keys: fn(&R) -> Vec<K>,
    ) -> Result<(Arc<Family<T>>, Vec<usize>)>
    where
        K: Send + Sync + Clone + Eq + Hash + 'static,
        T: Send + Sync + Clone + 'static,
        GraphLoader: Loader<K, Value = Vec<T>, Error = Arc<ApiError>>,
    {
        let cell = self.cell::<K, T>()?;
        let loaded = cell
            .get_or_try_init(|| async {
                let wanted: Vec<Vec<K>> = self.rows.iter().map(keys).collect();
                let loaders = ctx.data::<Loaders>()?;
                let mut found = loaders
                    .load_many(wanted.iter().flatten().cloned())
                    .await
                    .map_err(|e| e.as_ref().extend())?;
                let mut rows = Vec::new();
                let mut of_parent = Vec::with_capacity(wanted.len());
                let mut placed: HashMap<K, std::ops::Range<usize>> = HashMap::new();
                for parent_keys in &wanted {
                    let mut mine = Vec::new();
                    for key in parent_keys {
                        let range = match placed.get(key) {
                            Some(range) => range.clone(),
                            None => {
                                let start = rows.len();
                                rows.extend(found.remove(key).unwrap_or_default());
                                placed.insert(key.clone(), start..rows.len());
                                start..rows.len()
                            }
                        };
                        mine.extend(range);
                    }
                    of_parent.push(mine);
                }
                Result::<_>::Ok(Loaded {
                    children: Family::new(rows),
                    of_parent,
                })
            })
            .await?;
        let mine = loaded.of_parent.get(me).cloned().unwrap_or_default();
        Ok((loaded.children.clone(), mine))
    }

    /// Like [`Family::children`], for children without relations of their own: the rows.
    pub async fn rows_of<K, T>(
        &self,
        ctx: &Context<'_>,
        me: usize,
        keys: fn(&R) -> Vec<K>,
    ) -> Result<Vec<T>>
    where
        K: Send + Sync + Clone + Eq + Hash + 'static,
        T: Send + Sync + Clone + 'static,
        GraphLoader: Loader<K, Value = Vec<T>, Error = Arc<ApiError>>,
    {
        let (family, mine) = self.children(ctx, me, keys).await?;
        Ok(mine.into_iter().map(|i| family.rows[i].clone()).collect())
    }

    /// The once-cell of one relation of this family. A relation is identified by its dataloader
    /// key type: two relations of one row type need two key types.
    fn cell<K, T>(&self) -> Result<Arc<OnceCell<Loaded<T>>>>
    where
        K: 'static,
        T: Send + Sync + 'static,
    {
        let mut relations = self
            .relations
            .lock()
            .map_err(|_| ApiError::internal("a family lock was poisoned").extend())?;
        let cell = relations
            .entry(TypeId::of::<K>())
            .or_insert_with(|| Arc::new(OnceCell::<Loaded<T>>::new()))
            .clone();
        cell.downcast::<OnceCell<Loaded<T>>>()
            .map_err(|_| ApiError::internal("a relation was cached with another row type").extend())
    }
}

/// One member of a family: a row and where to find its relatives.
pub struct Member<R> {
    pub family: Arc<Family<R>>,
    pub index: usize,
}

impl<R: Send + Sync + 'static> Member<R> {
    /// Every row of `family` as a member.
    pub fn all(family: &Arc<Family<R>>) -> Vec<Member<R>> {
        (0..family.rows.len())
            .map(|index| Member {
                family: family.clone(),
                index,
            })
            .collect()
    }

    /// The members of `family` at `indexes`.
    pub fn at(family: &Arc<Family<R>>, indexes: Vec<usize>) -> Vec<Member<R>> {
        indexes
            .into_iter()
            .map(|index| Member {
                family: family.clone(),
                index,
            })
            .collect()
    }

    pub fn row(&self) -> &R {
        &self.family.rows[self.index]
    }

    /// This member's children under a relation, as members of their own family.
    pub async fn children<K, T>(
        &self,
        ctx: &Context<'_>,
        keys: fn(&R) -> Vec<K>,
    ) -> Result<Vec<Member<T>>>
    where
        K: Send + Sync + Clone + Eq + Hash + 'static,
        T: Send + Sync + Clone + 'static,
        GraphLoader: Loader<K, Value = Vec<T>, Error = Arc<ApiError>>,
    {
        let (family, mine) = self.family.children(ctx, self.index, keys).await?;
        Ok(Member::at(&family, mine))
    }

    /// This member's children under a relation, as rows.
    pub async fn rows<K, T>(&self, ctx: &Context<'_>, keys: fn(&R) -> Vec<K>) -> Result<Vec<T>>
    where
        K: Send + Sync + Clone + Eq + Hash + 'static,
        T: Send + Sync + Clone + 'static,
        GraphLoader: Loader<K, Value = Vec<T>, Error = Arc<ApiError>>,
    {
        self.family.rows_of(ctx, self.index, keys).await
    }
}

/// Identifies a session within the graph.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SessionKey {
    pub conversation_id: String,
    pub participant_id: String,
    pub session_id: String,
}

impl SessionKey {
    pub fn of(row: &SessionRow) -> Self {
        Self {
            conversation_id: row.conversation_id.clone(),
            participant_id: row.participant_id.clone(),
            session_id: row.session_id.clone(),
        }
    }

    fn batch<'k>(keys: impl Iterator<Item = &'k SessionKey>) -> SessionKeys {
        let mut out = SessionKeys::default();
        for k in keys {
            out.conversation_ids.push(k.conversation_id.clone());
            out.participant_ids.push(k.participant_id.clone());
            out.session_ids.push(k.session_id.clone());
        }
        out
    }
}

/// A loader of the children of conversations, keyed by conversation id.
macro_rules! conversation_child_loader {
    ($(#[$meta:meta])* $key:ident, $row:ty, $read:path) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub struct $key(pub String);

        impl Loader<$key> for GraphLoader {
            type Value = Vec<$row>;
            type Error = Arc<ApiError>;
            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Self::Value>, Self::Error> {
                let ids: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
                let rows = $read(&self.pool, &self.scope, &ids).await.map_err(internal)?;
                Ok(group(self.seen(rows), |r| $key(r.conversation_id.clone())))
            }
        }
    };
}

conversation_child_loader!(
    /// The conversations with these ids (one each at most).
    ConversationById,
    ConversationRow,
    read::conversations_by_id
);
conversation_child_loader!(
    /// The same, for a second relation to conversations: a family caches one relation per key
    /// type, so two relations must not share one.
    ConsultedById,
    ConversationRow,
    read::conversations_by_id
);
conversation_child_loader!(ParticipantsOf, ParticipantRow, read::participants);
conversation_child_loader!(EvaluationsOf, EvaluationRow, read::evaluations);
conversation_child_loader!(SurveysOf, SurveyRow, read::surveys);
conversation_child_loader!(ResolutionsOf, ResolutionRow, read::resolutions);
conversation_child_loader!(TransfersOf, TransferRow, read::transfers);
conversation_child_loader!(
    DivisionEntitiesOf,
    DivisionEntityRow,
    read::division_entities
);

/// A loader of the children of sessions, keyed by session.
macro_rules! session_child_loader {
    ($key:ident, $row:ty, $read:path) => {
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub struct $key(pub SessionKey);

        impl Loader<$key> for GraphLoader {
            type Value = Vec<$row>;
            type Error = Arc<ApiError>;
            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Self::Value>, Self::Error> {
                let batch = SessionKey::batch(keys.iter().map(|k| &k.0));
                let rows = $read(&self.pool, &self.scope, &batch)
                    .await
                    .map_err(internal)?;
                Ok(group(self.seen(rows), |r| {
                    $key(SessionKey {
                        conversation_id: r.conversation_id.clone(),
                        participant_id: r.participant_id.clone(),
                        session_id: r.session_id.clone(),
                    })
                }))
            }
        }
    };
}

session_child_loader!(SegmentsOf, SegmentRow, read::segments);
session_child_loader!(MetricsOf, MetricRow, read::metrics);
session_child_loader!(FlowOf, FlowRow, read::flows);
session_child_loader!(OutcomesOf, FlowOutcomeRow, read::flow_outcomes);
session_child_loader!(ProposedAgentsOf, ProposedAgentRow, read::proposed_agents);
session_child_loader!(
    EndpointStatsOf,
    MediaEndpointStatRow,
    read::media_endpoint_stats
);
session_child_loader!(AgentGroupsOf, AgentGroupRow, read::agent_groups);
session_child_loader!(ScoredAgentsOf, ScoredAgentRow, read::scored_agents);
session_child_loader!(
    SegmentPropertiesOf,
    SegmentPropertyRow,
    read::segment_properties
);

/// The sessions of a participant: (conversation id, participant id).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SessionsOf(pub String, pub String);

impl Loader<SessionsOf> for GraphLoader {
    type Value = Vec<SessionRow>;
    type Error = Arc<ApiError>;
    async fn load(
        &self,
        keys: &[SessionsOf],
    ) -> Result<HashMap<SessionsOf, Self::Value>, Self::Error> {
        let (c, p): (Vec<_>, Vec<_>) = keys.iter().map(|k| (k.0.clone(), k.1.clone())).unzip();
        let rows = read::sessions(&self.pool, &self.scope, &c, &p)
            .await
            .map_err(internal)?;
        Ok(group(self.seen(rows), |r| {
            SessionsOf(r.conversation_id.clone(), r.participant_id.clone())
        }))
    }
}

/// A session by its id within a conversation: (conversation id, session id). Peers point at
/// each other this way.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SessionById(pub String, pub String);

impl Loader<SessionById> for GraphLoader {
    type Value = Vec<SessionRow>;
    type Error = Arc<ApiError>;
    async fn load(
        &self,
        keys: &[SessionById],
    ) -> Result<HashMap<SessionById, Self::Value>, Self::Error> {
        let (c, s): (Vec<_>, Vec<_>) = keys.iter().map(|k| (k.0.clone(), k.1.clone())).unzip();
        let rows = read::sessions_by_id(&self.pool, &self.scope, &c, &s)
            .await
            .map_err(internal)?;
        Ok(group(self.seen(rows), |r| {
            SessionById(r.conversation_id.clone(), r.session_id.clone())
        }))
    }
}

/// A division by id (its name). Only ever asked for ids of conversations in scope.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DivisionById(pub String);

impl Loader<DivisionById> for GraphLoader {
    type Value = Vec<DivisionRow>;
    type Error = Arc<ApiError>;
    async fn load(
        &self,
        keys: &[DivisionById],
    ) -> Result<HashMap<DivisionById, Self::Value>, Self::Error> {
        let ids: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
        let rows = read::divisions(&self.pool, &ids).await.map_err(internal)?;
        Ok(group(rows, |r| DivisionById(r.division_id.clone())))
    }
}
