//! The GraphQL API: schema, authentication, HTTP routes and the server.

pub mod auth;
pub mod conversations;
pub mod error;
pub mod graph;
mod graphiql;
pub mod loader;

use async_graphql::{EmptyMutation, EmptySubscription, ErrorExtensions, MergedObject, Schema};
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use sqlx::PgPool;
use std::sync::Arc;

use crate::auth::{AuthConfig, AuthError};
use crate::error::ApiError;

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
}

impl AppState {
    pub fn new(pool: PgPool, auth: AuthConfig) -> Self {
        Self {
            schema: schema(),
            pool,
            auth: Arc::new(auth),
        }
    }
}

/// The HTTP routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/graphql", get(graphql).post(graphql))
        .merge(graphiql::router())
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state(state)
}

async fn graphql(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> Response {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let caller = match token {
        None => Err(AuthError::Missing),
        Some(token) => auth::verify(&state.auth, token),
    };
    let caller = match caller {
        Ok(caller) => caller,
        Err(e) => {
            let error = ApiError::Unauthenticated(e.to_string()).extend();
            let response = async_graphql::Response::from_errors(vec![
                error.into_server_error(Default::default()),
            ]);
            return (StatusCode::UNAUTHORIZED, Json(response)).into_response();
        }
    };
    let loaders = loader::loaders(state.pool.clone(), caller.scope.clone());
    let request = request
        .into_inner()
        .data(state.pool.clone())
        .data(caller)
        .data(loaders);
    GraphQLResponse::from(state.schema.execute(request).await).into_response()
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
