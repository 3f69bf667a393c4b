//! The GraphQL API: schema, authentication, HTTP routes and the server.

pub mod auth;
pub mod conversations;
pub mod error;
pub mod graph;
mod graphiql;
pub mod http;
pub mod loader;
pub mod metrics;

use async_graphql::{EmptyMutation, EmptySubscription, MergedObject, Schema};
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

/// Every root field, merged from the features.
#[derive(MergedObject, Default)]
pub struct QueryRoot(conversations::ConversationQuery);

pub type ApiSchema = Schema<QueryRoot, EmptyMutation, EmptySubscription>;

/// The schema, without request data.
pub fn schema() -> ApiSchema {
    Schema::build(QueryRoot::default(), EmptyMutation, EmptySubscription)
        .limit_depth(16)
        .limit_complexity(20_000)
        .finish()
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
}

impl AppState {
    /// With the default [`HttpConfig`]; set `http` to change the limits.
    pub fn new(pool: PgPool, auth: AuthConfig) -> Self {
        Self {
            schema: schema(),
            pool,
            auth: Arc::new(auth),
            http: HttpConfig::default(),
        }
    }
}

/// The HTTP routes, inside the middleware of [`http`]: request counter (outermost, for
/// `/metrics`), request id, span and log line, time limit, body size limit.
pub fn router(state: AppState) -> Router {
    let limits = state.http;
    Router::new()
        .route("/graphql", get(graphql).post(graphql))
        .merge(graphiql::router())
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics::metrics))
        .with_state(state)
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(middleware::from_fn_with_state(
            limits.request_timeout,
            http::timeout,
        ))
        .layer(middleware::from_fn(http::trace))
        .layer(middleware::from_fn(metrics::count_request))
}

async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    match sqlx::query_scalar::<_, i32>("select 1")
        .fetch_one(&state.pool)
        .await
    {
        Ok(_) => (StatusCode::OK, "ready"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable"),
    }
}

/// Serves until `shutdown` resolves; in-flight requests finish first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
