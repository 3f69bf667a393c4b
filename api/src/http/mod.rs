//! GraphQL over HTTP on `/graphql` (<https://graphql.github.io/graphql-over-http/draft/>), and
//! the middleware every route runs in: a request id and a log line per request, a time limit and
//! a body size limit.
//!
//! The handler checks a request in this order, and the first failure answers:
//!
//! | check | failure |
//! | --- | --- |
//! | the `Accept` header allows a media type we serve ([`negotiate`]) | 406 |
//! | a POST body is `application/json` (UTF-8) | 415 |
//! | the body fits in [`HttpConfig::max_body_bytes`] | 413 |
//! | the body or the URL parameters are a well-formed GraphQL-over-HTTP request | 400 |
//! | a JSON array body (a batch): batching is on and the batch within its limit | 400 |
//! | the bearer token (`Authorization: Bearer`, nowhere else) is valid | 401 |
//! | a GET carries a header that forces a CORS preflight ([`PREFLIGHT_HEADERS`]) | 400 `CSRF_PREFLIGHT_REQUIRED` |
//! | a GET does not select a mutation | 405, `Allow: POST` |
//! | a query (anything but a mutation): the token has `conversations:read` | 403 `FORBIDDEN` |
//! | aliases, root fields, directives, page sizes within [`crate::limits::Limits`] | 400 |
//! | the operation's required variables are given | a GraphQL request error |
//! | GraphQL parses, validates (depth and complexity within [`crate::limits::Limits`]) and executes the request | see [`status_for`] |
//! | nothing panics (a panic is logged and answered 500 `INTERNAL`, without its message) | 500 |
//! | all of it finishes within [`HttpConfig::request_timeout`] (middleware) | 504 |
//!
//! Each refusal (406, 415, 413, 400, 401, 403, 405, 504) has a GraphQL-shaped body,
//! `{"errors":[{"message":…,"extensions":{"code":…}}]}`, in the negotiated media type, and says
//! nothing of the server's insides. What reaches GraphQL is answered with the status the spec
//! gives for the negotiated media type: with `application/graphql-response+json` 400 for a
//! request error (no `data`) and 200 for an executed request, field errors included; with
//! `application/json` always 200.
//!
//! async-graphql-axum's `GraphQLRequest`/`GraphQLResponse` are not used: they accept any POST
//! content type, answer malformed requests with a plain-text `Debug` dump, ignore `Accept`,
//! always answer 200, and read the GET parameter `operation_name` instead of `operationName`.

mod middleware;
mod request;
mod response;

pub use middleware::{
    AUDIT_TARGET, REQUEST_ID, is_sane_request_id, timeout, trace, unpanicked, within,
};
pub use request::PREFLIGHT_HEADERS;
pub(crate) use request::bearer;
pub use response::status_for;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument as _;

use crate::AppState;
use crate::auth::{self, AuthError, Caller, Permission};
use crate::error::ApiError;
use crate::media::{MediaType, negotiate};
use crate::operation::{check_limits, parse_once, selects_mutation};
use crate::select::PersonalAudit;
use request::{
    Operations, bearer_token, check_preflight, is_websocket_upgrade, read_request,
    selected_operation_name, unprovided_variables,
};
use response::{batch_response, graphql_response};

/// How many requests one caller may send: `per_second` on average, `burst` at once (enforced by
/// [`crate::admission`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub per_second: u32,
    pub burst: u32,
}

/// Limits of the HTTP layer (see also [`crate::admission`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpConfig {
    /// Largest accepted request body; a larger one gets 413.
    pub max_body_bytes: usize,
    /// Longest a request may take, reading its body included; a slower one is cancelled (its
    /// future, and with it any SQL in flight, is dropped) and gets 504.
    pub request_timeout: Duration,
    /// Longest a client may take to send a request's headers (and, on a kept-alive
    /// connection, to start the next request); past it the connection is closed.
    pub header_read_timeout: Duration,
    /// Most connections open at once; one more is answered 503 and closed.
    pub max_connections: usize,
    /// Most requests in flight at once (health checks and metrics aside); one more gets 503.
    pub max_concurrent_requests: usize,
    /// Requests per caller (token subject, or IP address without a token); `None`: no limit.
    pub rate_limit: Option<RateLimit>,
}

impl HttpConfig {
    pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
    pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
    /// Well under the usual limit of 1,024 open files, which the database pool and the log
    /// share.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 768;
    pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 256;
}

impl Default for HttpConfig {
    /// No rate limit (`serve` sets one, see the README).
    fn default() -> Self {
        Self {
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
            request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
            header_read_timeout: Self::DEFAULT_HEADER_READ_TIMEOUT,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            max_concurrent_requests: Self::DEFAULT_MAX_CONCURRENT_REQUESTS,
            rate_limit: None,
        }
    }
}

/// `GET` and `POST /graphql`.
pub async fn graphql(State(state): State<AppState>, request: Request) -> Response {
    if is_websocket_upgrade(request.headers()) {
        use axum::extract::FromRequestParts as _;
        let (mut parts, _) = request.into_parts();
        return match axum::extract::ws::WebSocketUpgrade::from_request_parts(&mut parts, &state)
            .await
        {
            Ok(ws) => crate::ws::upgrade(state, ws),
            Err(rejection) => rejection.into_response(),
        };
    }
    let Some(media) = negotiate(request.headers()) else {
        return ApiError::NotAcceptable(
            "the Accept header allows neither application/graphql-response+json nor application/json"
                .into(),
        )
        .response(MediaType::Json);
    };
    let (mut operations, caller, audit) = match prepare(&state, request).await {
        Ok(prepared) => prepared,
        Err(error) => return error.response(media),
    };
    let facts = RequestFacts {
        personal: false,
        subject: Some(caller.subject),
        operation: match &mut operations {
            Operations::Single(request) => {
                crate::metrics::operation_label(selected_operation_name(request).as_deref())
            }
            Operations::Batch(_) => "(batch)".to_owned(),
        },
    };
    let wrote = state.replica.is_some() && operations.any_mutation();
    let operation_span = tracing::info_span!("graphql", operation = %facts.operation);
    let mut response = unpanicked(media, async {
        match operations {
            Operations::Single(request) => graphql_response(execute(&state, *request).await, media),
            Operations::Batch(requests) => {
                let mut responses = Vec::with_capacity(requests.len());
                for request in requests {
                    responses.push(execute(&state, request).await);
                }
                batch_response(&responses, media)
            }
        }
    })
    .instrument(operation_span)
    .await;
    if let (true, Some(replica), Some(subject)) = (wrote, &state.replica, &facts.subject) {
        replica.wrote(&state.pool, subject).await;
    }
    response.extensions_mut().insert(RequestFacts {
        personal: audit.served(),
        ..facts
    });
    response
}

/// What the request log line and the request metrics learn from the GraphQL handler: who asked
/// and which operation (its metrics label).
#[derive(Clone, Debug, Default)]
pub struct RequestFacts {
    pub subject: Option<String>,
    pub operation: String,
    /// Whether the answer served personal data ([`PersonalAudit`]).
    pub personal: bool,
}

async fn execute(state: &AppState, mut request: async_graphql::Request) -> async_graphql::Response {
    let unprovided = unprovided_variables(&mut request);
    let mut response = if unprovided.is_empty() {
        state.schema.execute(request).await
    } else {
        async_graphql::Response::from_errors(unprovided)
    };
    for error in &mut response.errors {
        if error.path.is_empty()
            && error
                .extensions
                .as_ref()
                .is_none_or(|e| e.get("code").is_none())
        {
            // async-graphql's parse and validation errors carry no code of their own.
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("code", "GRAPHQL_VALIDATION_FAILED");
        }
    }
    response
}

/// The checks of the module table, up to execution: the requests to execute, with the caller
/// and their loaders attached.
async fn prepare(
    state: &AppState,
    request: Request,
) -> Result<(Operations, Caller, Arc<PersonalAudit>), ApiError> {
    let method = request.method().clone();
    let token = bearer_token(request.headers());
    let verified = request.extensions().get::<Caller>().cloned();
    let preflight = check_preflight(&request);
    let operations = read_request(request, state).await?;
    let caller = match verified {
        Some(caller) => caller,
        None => caller_of(state, token).await?,
    };
    preflight?;
    let audit = Arc::new(PersonalAudit::default());
    let attach = |mut request: async_graphql::Request, batch_index: Option<usize>| {
        parse_once(&mut request);
        let mutation = selects_mutation(&mut request);
        if method != Method::POST && mutation {
            return Err(ApiError::MethodNotAllowed(
                "mutations are not allowed over GET: use POST".into(),
            ));
        }
        if !mutation && !caller.may(Permission::ConversationsRead) {
            // Every query reads (aggregates and introspection included); only mutations,
            // which check their own permission, run without it.
            return Err(ApiError::forbidden(format!(
                "queries need the {} permission, which this token does not have",
                Permission::ConversationsRead
            )));
        }
        check_limits(&mut request, state.limits()).map_err(|e| match batch_index {
            Some(i) => e.with_context(&format!("operation {} of the batch", i + 1)),
            None => e,
        })?;
        let pool = if mutation {
            state.pool.clone()
        } else {
            state.read_pool(&caller.subject)
        };
        Ok(request
            .data(pool)
            .data(crate::routing::Primary(state.pool.clone()))
            .data(caller.clone())
            .data(audit.clone())
            .data(state.ingest)
            .data(crate::select::ResponseBudget::new(
                state.limits().max_response_bytes,
            )))
    };
    let operations = match operations {
        Operations::Single(request) => Operations::Single(Box::new(attach(*request, None)?)),
        Operations::Batch(requests) => Operations::Batch(
            requests
                .into_iter()
                .enumerate()
                .map(|(i, request)| attach(request, Some(i)))
                .collect::<Result<_, _>>()?,
        ),
    };
    Ok((operations, caller, audit))
}

/// The caller a request's bearer token names (verified once, by the rate limit when it runs);
/// 401 without a valid one.
pub(crate) async fn authenticate(
    state: &AppState,
    verified: Option<Caller>,
    headers: &HeaderMap,
) -> Result<Caller, ApiError> {
    match verified {
        Some(caller) => Ok(caller),
        None => caller_of(state, bearer_token(headers)).await,
    }
}

async fn caller_of(
    state: &AppState,
    token: Result<Option<String>, AuthError>,
) -> Result<Caller, ApiError> {
    match token {
        Ok(None) => Err(AuthError::Missing),
        Ok(Some(token)) => auth::verify(&state.auth, &token).await,
        Err(e) => Err(e),
    }
    .map_err(|e| ApiError::Unauthenticated(e.to_string()))
}
