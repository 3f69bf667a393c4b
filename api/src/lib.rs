//! The GraphQL API: schema, authentication, HTTP routes and the server.

#[macro_use]
mod macros;

pub mod admission;
pub mod aggregates;
mod assets;
pub mod auth;
pub mod context;
pub mod conversations;
mod documents;
pub mod error;
pub mod feed;
pub mod feed_aggregates;
mod graphiql;
pub mod http;
pub mod ingest;
pub mod layers;
pub mod limits;
pub mod live;
pub mod media;
pub mod metrics;
pub mod objects;
mod operation;
mod plain;
pub mod routing;
pub mod select;
pub mod subscriptions;
mod wallboard;
mod ws;

use async_graphql::{MergedObject, Schema};
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::get;
use sqlx::PgPool;
use std::sync::Arc;

use crate::auth::AuthConfig;
pub use crate::http::HttpConfig;
use crate::http::graphql;
pub use crate::ingest::IngestConfig;
pub use crate::limits::Limits;

/// Every root field, merged from the features.
#[derive(MergedObject, Default)]
pub struct QueryRoot(
    conversations::ConversationQuery,
    aggregates::AggregateQueryRoot,
    feed::FeedQuery,
    feed_aggregates::FeedAggregateQuery,
    subscriptions::ObservationQuery,
);

/// Every mutation.
#[derive(MergedObject, Default)]
pub struct MutationRoot(ingest::IngestMutation);

pub type ApiSchema = Schema<QueryRoot, MutationRoot, subscriptions::SubscriptionRoot>;

/// The schema, without request data, with the default [`Limits`].
pub fn schema() -> ApiSchema {
    schema_with(&Limits::default())
}

/// The schema under `limits`: depth and complexity checked after validation (with messages
/// that name the limit), introspection and field suggestions as configured. The limits are also
/// schema data, for the resolvers that enforce page sizes.
pub fn schema_with(limits: &Limits) -> ApiSchema {
    let mut builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        subscriptions::SubscriptionRoot,
    )
    .extension(limits::LimitsExtension {
        max_depth: limits.max_depth,
        max_complexity: limits.max_complexity,
    })
    .data(*limits);
    if !limits.introspection {
        builder = builder.disable_introspection();
    }
    if !limits.field_suggestions {
        builder = builder.disable_suggestions();
    }
    builder.finish()
}

/// The SDL of the schema (what `schema.graphql` holds).
pub fn sdl() -> String {
    schema().sdl()
}

/// What the routes share.
#[derive(Clone)]
pub struct AppState {
    pub schema: ApiSchema,
    pub pool: PgPool,
    pub auth: Arc<AuthConfig>,
    pub http: HttpConfig,
    /// Limits of the write path (`ingestConversations`, `POST /ingest`).
    pub ingest: IngestConfig,
    /// The live subscriptions' listener and groups.
    pub hub: Arc<live::Hub>,
    /// Browser origins allowed to call the API (none unless configured).
    pub cors: layers::CorsConfig,
    /// The streaming replica queries read from, when configured ([`routing`]).
    pub replica: Option<Arc<routing::Replica>>,
    /// Set through [`AppState::with_limits`], which builds the schema to match.
    limits: Limits,
}

impl AppState {
    /// With the default [`HttpConfig`] and [`Limits`]; set `http` to change the HTTP limits and
    /// use [`AppState::with_limits`] for the others.
    pub fn new(pool: PgPool, auth: AuthConfig) -> Self {
        Self {
            schema: schema(),
            hub: live::Hub::new(pool.clone(), Limits::default().max_subscriptions),
            pool,
            auth: Arc::new(auth),
            http: HttpConfig::default(),
            ingest: IngestConfig::default(),
            cors: layers::CorsConfig::default(),
            replica: None,
            limits: Limits::default(),
        }
    }

    /// The same state reading from the replica on `pool` ([`routing`]): queries and the live
    /// subscriptions' read-backs go there; writes, aggregates and the listener stay on the
    /// primary.
    pub fn with_replica(mut self, pool: PgPool) -> Self {
        let replica = routing::Replica::start(pool);
        self.hub.set_replica(replica.clone());
        self.replica = Some(replica);
        self
    }

    /// The pool `subject`'s reads go to: the replica when there is one that has replayed the
    /// subject's writes and answers, else the primary.
    pub fn read_pool(&self, subject: &str) -> PgPool {
        match &self.replica {
            Some(replica) if replica.serves(subject) => replica.pool().clone(),
            _ => self.pool.clone(),
        }
    }

    /// The same state under `limits` (the schema is rebuilt to enforce them).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.schema = schema_with(&limits);
        self.hub.max_subscriptions.store(
            limits.max_subscriptions,
            std::sync::atomic::Ordering::Relaxed,
        );
        self.limits = limits;
        self
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }
}

/// The HTTP routes, inside the middleware of [`http`] and [`admission`]: request counter
/// (outermost, for `/metrics`), request id, span and log line, CORS, compression and panics
/// ([`layers::outer`]), then, but for the health checks and `/metrics`, the cap on requests in
/// flight, the time limit and the body size limit; the rate limit per caller on `/graphql`
/// and `/ingest`, and gzip request bodies on `/ingest`.
pub fn router(state: AppState) -> Router {
    metrics::install();
    let limits = state.http;
    let cors = state.cors.clone();
    let admission = Arc::new(admission::Admission::new(&limits));
    let api = Router::new()
        .route("/graphql", get(graphql).post(graphql))
        .merge(layers::ingest(
            Router::new().route("/ingest", axum::routing::post(ingest::bulk)),
        ))
        .route_layer(middleware::from_fn_with_state(
            (state.clone(), admission.clone()),
            admission::limit_rate,
        ))
        .merge(graphiql::PAGE.router())
        .merge(wallboard::PAGE.router())
        .with_state(state.clone())
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(middleware::from_fn_with_state(
            limits.request_timeout,
            http::timeout,
        ))
        .layer(middleware::from_fn_with_state(
            admission,
            admission::limit_requests,
        ));
    let routes = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics::metrics))
        .with_state(state)
        .merge(api);
    layers::outer(routes, &cors)
        .layer(middleware::from_fn(http::trace))
        .layer(middleware::from_fn(metrics::count_request))
}

/// How long `/readyz` waits for PostgreSQL's answer before it says not ready: a probe must
/// learn of an outage well before the pool's acquire timeout would tell it.
const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let probe = sqlx::query_scalar::<_, i32>("select 1").fetch_one(db::exec::pool(&state.pool));
    match tokio::time::timeout(READY_TIMEOUT, probe).await {
        Ok(Ok(_)) => (StatusCode::OK, "ready"),
        Ok(Err(_)) | Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable"),
    }
}

/// Serves until `shutdown` resolves; in-flight requests finish first. Connections are held to
/// the limits of [`admission`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let http = state.http;
    admission::serve(listener, router(state), http, shutdown).await
}
