//! The subscription roots: `conversationChanged`, `flowMetric`, `queueObservations` and
//! `aggregateChanged`, pushed from the store ([`crate::live`]); and the `queueObservations`
//! query, the same observations asked once.
//!
//! Every answer is read back through the scoped read path with the subscriber's token: a
//! subscriber never receives anything outside its scope, and personal data follows `pii:read`.

use async_graphql::parser::types::Field as QueryField;
use async_graphql::registry::Registry;
use async_graphql::{
    Context, ContextSelectionSet, ErrorExtensions as _, Json, Object, OutputType, Positioned,
    Result, ServerResult, SimpleObject, Subscription, Value,
};
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use db::events::Change;
use db::select::{FlowMetricFilter, List, Reader, Selection};
use domain::Scope;
use futures::{Stream, StreamExt as _};
use sqlx::PgPool;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::aggregates::{AggregateFilterInput, AggregateResult, Plan};
use crate::auth::Caller;
use crate::conversations::ConversationFilterInput;
use crate::error::ApiError;
use crate::feed::FlowMetricFilterInput;
use crate::live::{Admission, Delivery, Hub, Source};
use crate::objects::{ConversationShape, FlowMetricShape, Shape};
use crate::select;

/// How far back a feed that missed events looks for what changed meanwhile.
const CATCH_UP: chrono::Duration = chrono::Duration::seconds(5);
/// The most rows a feed sends when it catches up.
const CATCH_UP_ROWS: i64 = 100;

/// An object of type `S` as the store holds it after a change: its JSON, read once for every
/// subscriber that asked the same.
pub struct Pushed<S: Shape>(Bytes, PhantomData<S>);

impl<S: Shape> OutputType for Pushed<S> {
    fn type_name() -> Cow<'static, str> {
        Cow::Borrowed(S::NAME)
    }

    fn create_type_info(registry: &mut Registry) -> String {
        crate::objects::register(registry);
        format!("{}!", S::NAME)
    }

    async fn resolve(
        &self,
        _: &ContextSelectionSet<'_>,
        _: &Positioned<QueryField>,
    ) -> ServerResult<Value> {
        Ok(Value::Binary(self.0.clone()))
    }
}

/// What one queue is doing now, for one media type (or for the queue as a whole: its users),
/// shaped like a result of Genesys' queue observation query.
#[derive(SimpleObject, Clone, Debug, PartialEq)]
pub struct QueueObservation {
    /// `queueId`, and `mediaType` for the conversation metrics.
    pub group: Json<BTreeMap<String, String>>,
    /// The observed metrics.
    pub data: Vec<ObservationData>,
}

/// One observed metric.
#[derive(SimpleObject, Clone, Debug, PartialEq)]
pub struct ObservationData {
    /// `oWaiting`, `oAlerting`, `oInteracting`, `oOnQueueUsers` or `oUserPresences`.
    pub metric: String,
    /// The presence, for `oUserPresences` (`Idle`, `Busy`, `Break`, …).
    pub qualifier: Option<String>,
    pub stats: ObservationStats,
}

/// The numbers of an observed metric.
#[derive(SimpleObject, Clone, Debug, PartialEq)]
pub struct ObservationStats {
    /// How many now.
    pub count: i64,
    /// When the longest one (waiting, alerting, interacting) began: the oldest waiting.
    pub oldest: Option<DateTime<Utc>>,
}

/// The observations of the visible queues among `queue_ids`, one result per queue and media type.
async fn observe(
    pool: &PgPool,
    scope: &Scope,
    queue_ids: &[String],
    media_types: Option<&[String]>,
) -> Result<Vec<QueueObservation>, sqlx::Error> {
    let rows = db::observations::observe(pool, scope, queue_ids, media_types, Utc::now()).await?;
    let mut out: Vec<QueueObservation> = Vec::new();
    for row in rows {
        let mut group = BTreeMap::from([("queueId".to_owned(), row.queue_id)]);
        if let Some(media) = row.media_type {
            group.insert("mediaType".to_owned(), media);
        }
        let data = ObservationData {
            metric: row.metric,
            qualifier: row.qualifier,
            stats: ObservationStats {
                count: row.count,
                oldest: row.oldest,
            },
        };
        match out.last_mut() {
            Some(last) if last.group.0 == group => last.data.push(data),
            _ => out.push(QueueObservation {
                group: Json(group),
                data: vec![data],
            }),
        }
    }
    Ok(out)
}

/// The `queueObservations` query.
#[derive(Default)]
pub struct ObservationQuery;

#[Object]
impl ObservationQuery {
    /// What the visible queues among `queueIds` are doing now, per media type (Genesys' queue
    /// observation query): conversations waiting, alerting and interacting, with the oldest of
    /// each, and the queue's users on queue and by presence.
    async fn queue_observations(
        &self,
        ctx: &Context<'_>,
        queue_ids: Vec<String>,
        media_types: Option<Vec<String>>,
    ) -> Result<Vec<QueueObservation>> {
        let (pool, caller) = crate::context::request(ctx)?;
        observe(pool, &caller.scope, &queue_ids, media_types.as_deref())
            .await
            .map_err(ApiError::db)
    }
}

/// The subscription roots.
#[derive(Default)]
pub struct SubscriptionRoot;

#[Subscription]
impl SubscriptionRoot {
    /// A conversation as stored after each write that touched it (its graph, or rows of the
    /// feed on it), when you can see it and it matches `filter` (as `conversations` filters).
    /// After missed events (the server lost the database for a while) the conversations
    /// changed meanwhile come again.
    async fn conversation_changed(
        &self,
        ctx: &Context<'_>,
        filter: Option<ConversationFilterInput>,
    ) -> Result<impl Stream<Item = Result<Pushed<ConversationShape>>> + use<>> {
        let live = Live::of(ctx)?;
        let filter = filter
            .unwrap_or_default()
            .into_filter(live.caller)
            .map_err(|e| e.extend())?;
        let list = List::Conversations {
            filter: Box::new(filter),
            key: Default::default(),
        };
        let feed = live.feed(ctx, ConversationShape::NAME, Feed::Conversations, list)?;
        Ok(feed.map(pushed))
    }

    /// Each flow metric record as it arrives (Genesys' flow metrics topic), when you can see it
    /// and it matches `filter`.
    async fn flow_metric(
        &self,
        ctx: &Context<'_>,
        filter: Option<FlowMetricFilterInput>,
    ) -> Result<impl Stream<Item = Result<Pushed<FlowMetricShape>>> + use<>> {
        let live = Live::of(ctx)?;
        let f = filter.unwrap_or_default();
        let (from, before) = match f.interval.as_deref() {
            Some(i) => {
                let (a, b) = crate::context::parse_interval(i).map_err(|e| e.extend())?;
                (Some(a), Some(b))
            }
            None => (None, None),
        };
        let list = List::FlowMetrics(FlowMetricFilter {
            from,
            before,
            metrics: f.metrics,
            flow_ids: f.flow_ids,
            conversation_ids: f.conversation_ids,
        });
        let feed = live.feed(ctx, FlowMetricShape::NAME, Feed::FlowMetrics, list)?;
        Ok(feed.map(pushed))
    }

    /// What the visible queues among `queueIds` are doing, as `queueObservations` answers: now,
    /// and again after every change.
    async fn queue_observations(
        &self,
        ctx: &Context<'_>,
        queue_ids: Vec<String>,
        media_types: Option<Vec<String>>,
    ) -> Result<impl Stream<Item = Result<Arc<Vec<QueueObservation>>>> + use<>> {
        let live = Live::of(ctx)?;
        let key = format!(
            "observations\u{1}{queue_ids:?}\u{1}{media_types:?}\u{1}{:?}",
            live.caller.scope
        );
        let source = Observations {
            pool: live.pool.clone(),
            scope: live.caller.scope.clone(),
            queue_ids,
            media_types,
            last: None,
        };
        let stream = live.hub.join(key, source, live.admit()?);
        Ok(stream.map(delivered))
    }

    /// The buckets of `conversationAggregates` with these arguments: now, and again after each
    /// write that changes them (a wallboard never asks again).
    #[allow(clippy::too_many_arguments)]
    async fn aggregate_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "ISO-8601 `start/end`: metrics emitted in it count.")] interval: String,
        #[graphql(desc = "Bucket length, as `conversationAggregates` takes it.")]
        granularity: Option<String>,
        #[graphql(desc = "IANA time zone the buckets align in (default UTC).")] time_zone: Option<
            String,
        >,
        #[graphql(desc = "Dimensions to group by, as `conversationAggregates` takes them.")]
        group_by: Option<Vec<String>>,
        filter: Option<AggregateFilterInput>,
        #[graphql(desc = "Metric names, as `conversationAggregates` takes them.")] metrics: Vec<
            String,
        >,
    ) -> Result<impl Stream<Item = Result<Arc<Vec<AggregateResult>>>> + use<>> {
        let live = Live::of(ctx)?;
        let key = format!(
            "aggregates\u{1}{interval}\u{1}{granularity:?}\u{1}{time_zone:?}\u{1}{group_by:?}\u{1}{filter:?}\u{1}{metrics:?}\u{1}{:?}",
            live.caller.scope
        );
        let plan = Plan::new(
            &interval,
            granularity.as_deref(),
            time_zone.as_deref(),
            group_by.unwrap_or_default(),
            filter.unwrap_or_default(),
            metrics,
        )
        .map_err(|e| e.extend())?;
        let source = Aggregates {
            // The rollup is refreshed before it is read: a write a replica refuses.
            pool: ctx.data::<crate::routing::Primary>()?.0.clone(),
            scope: live.caller.scope.clone(),
            plan,
            last: None,
        };
        let stream = live.hub.join(key, source, live.admit()?);
        Ok(stream.map(delivered))
    }
}

fn pushed<S: Shape>(delivery: Delivery<Bytes>) -> Result<Pushed<S>> {
    delivered(delivery).map(|json| Pushed(json, PhantomData))
}

fn delivered<T>(delivery: Delivery<T>) -> Result<T> {
    match delivery {
        Delivery::Item(item) => Ok(item),
        Delivery::Dropped(n) => Err(ApiError::Limit(
            "EVENTS_DROPPED",
            format!("{n} events were dropped: this subscription read more slowly than they came"),
        )
        .extend()),
    }
}

/// What a subscription root needs.
struct Live<'a> {
    pool: &'a PgPool,
    caller: &'a Caller,
    hub: &'a Arc<Hub>,
}

impl<'a> Live<'a> {
    fn of(ctx: &Context<'a>) -> Result<Self> {
        let (pool, caller) = crate::context::request(ctx)?;
        let hub = ctx.data::<Arc<Hub>>()?;
        Ok(Live { pool, caller, hub })
    }

    fn admit(&self) -> Result<Admission> {
        self.hub.admit().ok_or_else(|| {
            ApiError::Limit(
                "TOO_MANY_SUBSCRIPTIONS",
                format!(
                    "this server holds {} subscriptions, its most; try again later or elsewhere",
                    self.hub.max_subscriptions()
                ),
            )
            .extend()
        })
    }

    /// A change feed of `object`s selected as the field of `ctx` selects them, matching `list`.
    fn feed(
        &self,
        ctx: &Context<'_>,
        object: &str,
        kind: Feed,
        list: List,
    ) -> Result<impl Stream<Item = Delivery<Bytes>> + Send + 'static + use<>> {
        let object = domain::catalog::object(object)
            .ok_or_else(|| ApiError::internal("no catalogue type").extend())?;
        let selection =
            select::build(ctx.query_env, object, &[ctx.item]).map_err(|e| e.extend())?;
        let max_bytes = ctx
            .data_opt::<crate::Limits>()
            .map_or(crate::Limits::DEFAULT_MAX_RESPONSE_BYTES, |l| {
                l.max_response_bytes
            });
        let source = ChangeFeed {
            pool: self.pool.clone(),
            scope: self.caller.scope.clone(),
            personal: self.caller.may_read_personal(),
            max_bytes: i64::try_from(max_bytes).unwrap_or(i64::MAX),
            selection,
            list,
            kind,
            heard: Utc::now(),
        };
        // Subscribers with the same statement (the selection, with its keys) and the same
        // filter, scope and personal-data right share every read.
        let key = format!(
            "{kind:?}\u{1}{}\u{1}{:?}\u{1}{:?}\u{1}{}",
            source.template(),
            source.list,
            source.scope,
            source.personal
        );
        Ok(self.hub.join(key, source, self.admit()?))
    }
}

/// Which rows a change feed sends.
#[derive(Debug, Clone, Copy)]
enum Feed {
    Conversations,
    FlowMetrics,
}

/// Sends, for each change of a row it watches, the row as stored, when its readers may see it.
struct ChangeFeed {
    pool: PgPool,
    scope: Scope,
    personal: bool,
    max_bytes: i64,
    selection: Selection,
    list: List,
    kind: Feed,
    /// When it last heard of a change: where a catch-up starts.
    heard: DateTime<Utc>,
}

impl ChangeFeed {
    fn reader(&self) -> Reader<'_> {
        Reader {
            scope: &self.scope,
            personal: self.personal,
            max_bytes: self.max_bytes,
        }
    }

    /// The statement's text, for the group's key.
    fn template(&self) -> String {
        let key = self.key_of(&Change::Conversation { id: String::new() });
        db::select::compile_by_key(&self.reader(), &self.selection, &key, Some(&self.list))
            .sql()
            .to_owned()
    }

    fn key_of(&self, change: &Change) -> Vec<(&'static str, String)> {
        match (self.kind, change) {
            (Feed::Conversations, Change::Conversation { id }) => {
                vec![("conversation_id", id.clone())]
            }
            (
                Feed::FlowMetrics,
                Change::FlowMetric {
                    conversation_id,
                    record_id,
                },
            ) => vec![
                ("conversation_id", conversation_id.clone()),
                ("record_id", record_id.clone()),
            ],
            (Feed::Conversations, _) => vec![("conversation_id", String::new())],
            (Feed::FlowMetrics, _) => vec![
                ("conversation_id", String::new()),
                ("record_id", String::new()),
            ],
        }
    }

    async fn read(&self, change: &Change) -> Option<Bytes> {
        let key = self.key_of(change);
        let statement =
            db::select::compile_by_key(&self.reader(), &self.selection, &key, Some(&self.list));
        match statement.run(&self.pool).await {
            Ok(json) if json == "null" => None,
            Ok(json) => Some(Bytes::from(json)),
            Err(e) => {
                tracing::warn!(error = %e, "a live feed could not read a change back");
                None
            }
        }
    }
}

#[async_trait]
impl Source for ChangeFeed {
    type Out = Bytes;
    const STATEFUL: bool = false;

    fn concerns(&self, change: &Change) -> bool {
        matches!(
            (self.kind, change),
            (Feed::Conversations, Change::Conversation { .. })
                | (Feed::FlowMetrics, Change::FlowMetric { .. })
        )
    }

    async fn answer(&mut self, change: Option<&Change>) -> Vec<Bytes> {
        self.heard = Utc::now();
        match change {
            Some(change) => self.read(change).await.into_iter().collect(),
            None => Vec::new(),
        }
    }

    async fn resync(&mut self) -> Vec<Bytes> {
        let since = self.heard - CATCH_UP;
        self.heard = Utc::now();
        let changes: Vec<Change> = match self.kind {
            Feed::Conversations => {
                db::events::conversations_changed_since(&self.pool, since, CATCH_UP_ROWS)
                    .await
                    .map(|ids| {
                        ids.into_iter()
                            .map(|id| Change::Conversation { id })
                            .collect()
                    })
            }
            Feed::FlowMetrics => db::events::flow_metrics_since(&self.pool, since, CATCH_UP_ROWS)
                .await
                .map(|keys| {
                    keys.into_iter()
                        .map(|(conversation_id, record_id)| Change::FlowMetric {
                            conversation_id,
                            record_id,
                        })
                        .collect()
                }),
        }
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "a live feed could not catch up");
            Vec::new()
        });
        let mut out = Vec::new();
        for change in &changes {
            out.extend(self.read(change).await);
        }
        out
    }
}

/// Sends the observations of some queues, again whenever they change.
struct Observations {
    pool: PgPool,
    scope: Scope,
    queue_ids: Vec<String>,
    media_types: Option<Vec<String>>,
    last: Option<Arc<Vec<QueueObservation>>>,
}

#[async_trait]
impl Source for Observations {
    type Out = Arc<Vec<QueueObservation>>;
    const STATEFUL: bool = true;

    fn concerns(&self, change: &Change) -> bool {
        matches!(
            change,
            Change::Conversation { .. } | Change::AgentState { .. }
        )
    }

    async fn answer(&mut self, _: Option<&Change>) -> Vec<Self::Out> {
        let observed = observe(
            &self.pool,
            &self.scope,
            &self.queue_ids,
            self.media_types.as_deref(),
        )
        .await;
        match observed {
            Ok(now) if self.last.as_deref() != Some(&now) => {
                let now = Arc::new(now);
                self.last = Some(now.clone());
                vec![now]
            }
            Ok(_) => Vec::new(),
            Err(e) => {
                tracing::warn!(error = %e, "queue observations could not be read");
                Vec::new()
            }
        }
    }

    async fn resync(&mut self) -> Vec<Self::Out> {
        self.last = None;
        self.answer(None).await
    }
}

/// Sends the buckets of an aggregate question, again whenever they change.
struct Aggregates {
    pool: PgPool,
    scope: Scope,
    plan: Plan,
    last: Option<Vec<db::aggregate::AggregateRow>>,
}

#[async_trait]
impl Source for Aggregates {
    type Out = Arc<Vec<AggregateResult>>;
    const STATEFUL: bool = true;

    fn concerns(&self, change: &Change) -> bool {
        matches!(change, Change::Conversation { .. })
    }

    async fn answer(&mut self, _: Option<&Change>) -> Vec<Self::Out> {
        match db::aggregate::conversation_aggregates(&self.pool, &self.scope, &self.plan.query)
            .await
        {
            Ok(rows) if self.last.as_ref() != Some(&rows) => {
                self.last = Some(rows.clone());
                vec![Arc::new(self.plan.results(rows))]
            }
            Ok(_) => Vec::new(),
            Err(e) => {
                tracing::warn!(error = %e, "a live aggregate could not be read");
                Vec::new()
            }
        }
    }

    async fn resync(&mut self) -> Vec<Self::Out> {
        self.last = None;
        self.answer(None).await
    }
}
