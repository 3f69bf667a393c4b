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

use async_graphql::parser::types::DocumentOperations;
use async_graphql::{Extensions, ServerError, Value, Variables};
use axum::body::Bytes;
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::time::{Duration, Instant};
use tracing::Instrument as _;

use crate::AppState;
use crate::auth::{self, AuthError, Caller, Permission};
use crate::error::ApiError;
use crate::operation::{
    Body, check_limits, is_request_error, parse_once, selected_operation, selects_mutation,
};
use crate::select::PersonalAudit;
use futures::FutureExt as _;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

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

/// The media types a GraphQL response is served in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaType {
    /// `application/graphql-response+json`: status codes tell request errors (4xx) from
    /// executed requests (200).
    GraphQLResponseJson,
    /// `application/json`, for legacy clients: 200 for everything that reached GraphQL.
    Json,
}

impl MediaType {
    pub fn essence(self) -> &'static str {
        match self {
            MediaType::GraphQLResponseJson => "application/graphql-response+json",
            MediaType::Json => "application/json",
        }
    }

    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            MediaType::GraphQLResponseJson => "application/graphql-response+json; charset=utf-8",
            MediaType::Json => "application/json; charset=utf-8",
        })
    }
}

/// The response media type for a request's `Accept` headers; `None` when they allow neither
/// type (the handler answers 406).
///
/// How this reads the spec (draft of the GraphQL-over-HTTP specification, sections "Accept",
/// "Body" and "Legacy watershed"):
///
/// - No `Accept` header (or only empty ones): the spec's legacy watershed says that from
///   2025-01-01 a server SHOULD treat the request as if it had
///   `Accept: application/graphql-response+json` (before that date it said `application/json`).
///   That date has passed, so a missing `Accept` means `application/graphql-response+json`.
/// - Otherwise the server MUST "encode the response in the highest priority media type listed
///   that is supported": each type gets the `q` of the most specific range that matches it
///   (`type/subtype`, then `application/*`, then `*/*`; RFC 9110 §12.5.1), the type with the
///   highest `q` wins, and on equal `q` the one whose range is listed first.
/// - When one range matches both types (`*/*`, `application/*`), the choice is the server's:
///   `application/graphql-response+json`, which the spec names the preferred type. Clients that
///   need 200 for every GraphQL answer ask for `application/json` explicitly.
/// - `q=0` refuses a type; a `charset` other than UTF-8 makes a range match nothing. When no type
///   is left the spec lets a server answer 406 (RECOMMENDED) or pick a type anyway; we answer 406.
pub fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let values = headers.get_all(header::ACCEPT);
    if values
        .iter()
        .all(|value| value.as_bytes().iter().all(u8::is_ascii_whitespace))
    {
        // No Accept header, or only empty ones.
        return Some(MediaType::GraphQLResponseJson);
    }
    let ranges: Vec<AcceptRange> = values
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(AcceptRange::parse)
        .collect();
    let preference = |media: MediaType| -> Option<(f32, usize)> {
        let (_, q, position) = ranges
            .iter()
            .enumerate()
            .filter_map(|(position, range)| {
                range
                    .specificity(media)
                    .map(|specificity| (specificity, range.q, position))
            })
            // Most specific first; among equally specific ranges, the first listed.
            .min_by_key(|&(specificity, _, position)| (std::cmp::Reverse(specificity), position))?;
        (q > 0.0).then_some((q, position))
    };
    match (
        preference(MediaType::GraphQLResponseJson),
        preference(MediaType::Json),
    ) {
        (None, None) => None,
        (Some(_), None) => Some(MediaType::GraphQLResponseJson),
        (None, Some(_)) => Some(MediaType::Json),
        (Some((q_graphql, at_graphql)), Some((q_json, at_json))) => {
            if q_json > q_graphql || (q_json == q_graphql && at_json < at_graphql) {
                Some(MediaType::Json)
            } else {
                Some(MediaType::GraphQLResponseJson)
            }
        }
    }
}

/// One media range of an `Accept` header, with its weight.
struct AcceptRange {
    range: String,
    q: f32,
    utf8: bool,
}

impl AcceptRange {
    fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split(';');
        let range = parts.next()?.trim().to_ascii_lowercase();
        if range.is_empty() {
            return None;
        }
        let mut q = 1.0;
        let mut utf8 = true;
        for parameter in parts {
            let Some((name, value)) = parameter.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches('"');
            match name.trim().to_ascii_lowercase().as_str() {
                "q" => {
                    q = value
                        .parse::<f32>()
                        .ok()
                        .filter(|q| (0.0..=1.0).contains(q))?
                }
                "charset" => utf8 = is_utf8(value),
                _ => {}
            }
        }
        Some(Self { range, q, utf8 })
    }

    /// How specifically this range names `media` (3 exactly, 2 `application/*`, 1 `*/*`), or
    /// `None` when it does not match it.
    fn specificity(&self, media: MediaType) -> Option<u8> {
        if !self.utf8 {
            return None;
        }
        match self.range.as_str() {
            range if range == media.essence() => Some(3),
            "application/*" => Some(2),
            "*/*" => Some(1),
            _ => None,
        }
    }
}

fn is_utf8(charset: &str) -> bool {
    charset.eq_ignore_ascii_case("utf-8") || charset.eq_ignore_ascii_case("utf8")
}

/// The HTTP status of a GraphQL response, as the spec's "Status Codes" section gives it:
/// `application/json` always 200; `application/graphql-response+json` 400 when the request
/// failed before execution (parse, validation, operation selection, variable coercion: the
/// response has no `data`), else 200, field errors and a `null` `data` included.
///
/// Whichever the media type, a response with an `UNAVAILABLE` error (the database could not be
/// reached) is 503, so that load balancers and HTTP clients retry it as they retry any 503.
pub fn status_for(response: &async_graphql::Response, media: MediaType) -> StatusCode {
    if is_unavailable(response) {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    match media {
        MediaType::Json => StatusCode::OK,
        MediaType::GraphQLResponseJson if is_request_error(response) => StatusCode::BAD_REQUEST,
        MediaType::GraphQLResponseJson => StatusCode::OK,
    }
}

/// Whether an error of `response` says the database could not be reached.
fn is_unavailable(response: &async_graphql::Response) -> bool {
    response.errors.iter().any(|error| {
        error.extensions.as_ref().is_some_and(|e| {
            e.get("code")
                .is_some_and(|code| *code == Value::from(crate::error::UNAVAILABLE))
        })
    })
}

/// Counts the errors of `response` by code (`convgraph_graphql_errors_total`).
fn count_errors(response: &async_graphql::Response) {
    for error in &response.errors {
        let code = error
            .extensions
            .as_ref()
            .and_then(|e| e.get("code"))
            .and_then(|code| match code {
                Value::String(code) => Some(code.as_str()),
                _ => None,
            })
            .unwrap_or("(none)");
        crate::metrics::error_answered(code);
    }
}

fn graphql_response(response: async_graphql::Response, media: MediaType) -> Response {
    count_errors(&response);
    let status = status_for(&response, media);
    let body = Body {
        data: (!is_request_error(&response)).then_some(&response.data),
        errors: &response.errors,
        extensions: &response.extensions,
    };
    let mut bytes = Vec::new();
    match body.write(&mut bytes) {
        Ok(()) => {}
        Err(e) => {
            let error = ApiError::internal(e);
            return error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                error.code(),
                &error.to_string(),
                media,
            );
        }
    };
    // No resolver sets cache hints: every answer depends on the caller's token.
    let mut http = (
        status,
        [(header::CONTENT_TYPE, media.content_type())],
        bytes,
    )
        .into_response();
    http.headers_mut().extend(response.http_headers);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        http.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    http
}

/// A GraphQL-shaped error body, `{"errors":[{"message":…,"extensions":{"code":…}}]}`.
pub fn error_response(status: StatusCode, code: &str, message: &str, media: MediaType) -> Response {
    crate::metrics::error_answered(code);
    let body = serde_json::json!({
        "errors": [{"message": message, "extensions": {"code": code}}]
    });
    (
        status,
        [(header::CONTENT_TYPE, media.content_type())],
        body.to_string(),
    )
        .into_response()
}

/// A request refused before it reached GraphQL.
#[derive(Debug)]
pub(crate) struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl Refusal {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
    }

    pub(crate) fn into_response(self, media: MediaType) -> Response {
        let mut response = error_response(self.status, self.code, &self.message, media);
        if self.status == StatusCode::METHOD_NOT_ALLOWED {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            // RFC 6750 §3: the scheme the client must use, without details of the failure.
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The request parameters, as GET sends them in the URL.
#[derive(Deserialize)]
struct UrlParams {
    query: Option<String>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
    /// JSON text.
    variables: Option<String>,
    /// JSON text.
    extensions: Option<String>,
}

impl UrlParams {
    fn into_json_params(self) -> Result<JsonParams, Refusal> {
        Ok(JsonParams {
            query: self.query,
            operation_name: self.operation_name,
            variables: json_param("variables", self.variables)?,
            extensions: json_param("extensions", self.extensions)?,
        })
    }
}

/// A URL parameter that holds JSON; absent is the same as `null`.
fn json_param<T: serde::de::DeserializeOwned + Default>(
    name: &str,
    text: Option<String>,
) -> Result<T, Refusal> {
    match text {
        None => Ok(T::default()),
        Some(text) => serde_json::from_str(&text).map_err(|e| {
            Refusal::bad_request(format!("`{name}` must be a JSON object (or null): {e}"))
        }),
    }
}

/// The request parameters, as POST sends them in an `application/json` body. Other properties
/// are reserved by the spec, and ignored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonParams {
    query: Option<String>,
    operation_name: Option<String>,
    #[serde(default)]
    variables: Variables,
    #[serde(default)]
    extensions: Extensions,
}

impl JsonParams {
    fn parse(body: &[u8]) -> Result<Self, Refusal> {
        serde_json::from_slice(body).map_err(|e| {
            Refusal::bad_request(format!("the body is not a GraphQL-over-HTTP request: {e}"))
        })
    }

    fn into_request(self) -> Result<async_graphql::Request, Refusal> {
        let query = self.query.ok_or_else(|| {
            Refusal::bad_request(
                "the request has no `query` (a string holding the GraphQL document)",
            )
        })?;
        let mut request = async_graphql::Request::new(query).variables(self.variables);
        // The spec: an empty operationName is the same as none.
        request.operation_name = self.operation_name.filter(|name| !name.is_empty());
        request.extensions = self.extensions;
        Ok(request)
    }
}

/// What a request carries: one GraphQL request, or a batch (a JSON array body).
enum Operations {
    Single(Box<async_graphql::Request>),
    Batch(Vec<async_graphql::Request>),
}

impl Operations {
    /// Whether one of the operations is a mutation (a write).
    fn any_mutation(&mut self) -> bool {
        match self {
            Operations::Single(request) => selects_mutation(request),
            Operations::Batch(requests) => requests.iter_mut().any(selects_mutation),
        }
    }
}

/// Reads the GraphQL request from the URL (GET) or the JSON body (POST).
async fn read_request(request: Request, state: &AppState) -> Result<Operations, Refusal> {
    if request.method() == Method::GET || request.method() == Method::HEAD {
        let Query(params) = Query::<UrlParams>::try_from_uri(request.uri())
            .map_err(|_| Refusal::bad_request("the URL's query string cannot be read"))?;
        return Ok(Operations::Single(Box::new(
            params.into_json_params()?.into_request()?,
        )));
    }

    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok());
    if !content_type.is_some_and(is_json) {
        return Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "a POST body must be `Content-Type: application/json` (UTF-8)",
        ));
    }
    let limit = state.http.max_body_bytes;
    let too_large = || {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!("the request body is larger than the limit of {limit} bytes"),
        )
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    // The router's `DefaultBodyLimit` caps what this reads (chunked bodies have no length).
    let body = Bytes::from_request(request, state)
        .await
        .map_err(|rejection| match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => too_large(),
            _ => Refusal::bad_request("the request body could not be read"),
        })?;
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return read_batch(&body, state.limits().max_batch).map(Operations::Batch);
    }
    Ok(Operations::Single(Box::new(
        JsonParams::parse(&body)?.into_request()?,
    )))
}

/// A JSON array of requests: refused when batching is off (the default) or the batch is larger
/// than the limit.
fn read_batch(body: &[u8], max_batch: usize) -> Result<Vec<async_graphql::Request>, Refusal> {
    if max_batch == 0 {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "BATCHING_DISABLED",
            "batching (a JSON array of requests) is disabled on this server: send one request per POST",
        ));
    }
    let batch: Vec<JsonParams> = serde_json::from_slice(body).map_err(|e| {
        Refusal::bad_request(format!(
            "the body is not a batch of GraphQL-over-HTTP requests: {e}"
        ))
    })?;
    if batch.is_empty() {
        return Err(Refusal::bad_request("the batch is empty"));
    }
    if batch.len() > max_batch {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "BATCH_TOO_LARGE",
            format!(
                "the batch has {} operations; the limit is {max_batch}",
                batch.len()
            ),
        ));
    }
    batch.into_iter().map(JsonParams::into_request).collect()
}

/// `application/json`, with no charset or UTF-8.
fn is_json(content_type: &str) -> bool {
    let mut parts = content_type.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
        && parts.all(|parameter| match parameter.split_once('=') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("charset") => {
                is_utf8(value.trim().trim_matches('"'))
            }
            _ => true,
        })
}

/// Errors for the required variables (non-null, no default) the request leaves out.
///
/// The GraphQL spec makes these request errors (CoerceVariableValues, before execution), which
/// `application/graphql-response+json` answers with 400; async-graphql only notices them while
/// executing, and reports them as field errors. Values of the wrong type are still reported by
/// async-graphql, as field errors (200).
fn unprovided_variables(request: &mut async_graphql::Request) -> Vec<ServerError> {
    let required: Vec<(String, String, async_graphql::Pos)> = selected_operation(request)
        .map(|operation| {
            operation
                .node
                .variable_definitions
                .iter()
                .map(|definition| &definition.node)
                .filter(|definition| {
                    !definition.var_type.node.nullable && definition.default_value.is_none()
                })
                .map(|definition| {
                    (
                        definition.name.node.to_string(),
                        definition.var_type.node.to_string(),
                        definition.name.pos,
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    required
        .into_iter()
        .filter(|(name, _, _)| {
            request
                .variables
                .get(name.as_str())
                .is_none_or(|value| *value == Value::Null)
        })
        .map(|(name, ty, pos)| {
            ServerError::new(
                format!(r#"Variable "${name}" of required type "{ty}" was not provided."#),
                Some(pos),
            )
        })
        .collect()
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
        return not_acceptable();
    };
    let (mut operations, caller, audit) = match prepare(&state, request).await {
        Ok(prepared) => prepared,
        Err(refusal) => return refusal.into_response(media),
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

/// The name of the operation the request runs, when it has one.
fn selected_operation_name(request: &mut async_graphql::Request) -> Option<String> {
    if let Some(name) = &request.operation_name {
        return Some(name.clone());
    }
    let document = request.parsed_query().ok()?;
    match &document.operations {
        DocumentOperations::Multiple(operations) if operations.len() == 1 => {
            operations.keys().next().map(|name| name.to_string())
        }
        _ => None,
    }
}

/// Runs `handler`; when it panics, logs the panic and answers 500 `INTERNAL` with the generic
/// message (the panic's own message may hold anything, so it stays in the log).
pub async fn unpanicked(media: MediaType, handler: impl Future<Output = Response>) -> Response {
    AssertUnwindSafe(handler)
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| {
            let cause = crate::error::panic_message(&*panic);
            let error = ApiError::internal(format!("panic while executing a request: {cause}"));
            error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                error.code(),
                &error.to_string(),
                media,
            )
        })
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

/// A batch's answer: an array of responses, 200 (each response carries its own errors).
fn batch_response(responses: &[async_graphql::Response], media: MediaType) -> Response {
    responses.iter().for_each(count_errors);
    let bodies: Vec<Body<'_>> = responses
        .iter()
        .map(|response| Body {
            data: (!is_request_error(response)).then_some(&response.data),
            errors: &response.errors,
            extensions: &response.extensions,
        })
        .collect();
    let mut bytes = vec![b'['];
    let written = bodies.iter().enumerate().try_for_each(|(i, body)| {
        if i > 0 {
            bytes.push(b',');
        }
        body.write(&mut bytes)
    });
    bytes.push(b']');
    match written {
        Ok(()) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, media.content_type())],
            bytes,
        )
            .into_response(),
        Err(e) => {
            let error = ApiError::internal(e);
            error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                error.code(),
                &error.to_string(),
                media,
            )
        }
    }
}

/// A request to upgrade to a WebSocket (`Connection: upgrade`, `Upgrade: websocket`).
fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// The bearer token of `Authorization: Bearer <token>` (the scheme in any case). `Ok(None)`
/// when there is no such header; a token anywhere else (another header, another scheme, the
/// URL) is not looked at.
fn bearer_token(headers: &HeaderMap) -> Result<Option<String>, AuthError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthError::Invalid(
            "more than one Authorization header".into(),
        ));
    }
    let value = value
        .to_str()
        .map_err(|_| AuthError::Invalid("malformed".into()))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
            Ok(Some(token.trim().to_owned()))
        }
        _ => Ok(None),
    }
}

/// The checks of the module table, up to execution: the requests to execute, with the caller
/// and their loaders attached.
async fn prepare(
    state: &AppState,
    request: Request,
) -> Result<(Operations, Caller, Arc<PersonalAudit>), Refusal> {
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
            return Err(Refusal::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                "mutations are not allowed over GET: use POST",
            ));
        }
        if !mutation && !caller.may(Permission::ConversationsRead) {
            // Every query reads (aggregates and introspection included); only mutations,
            // which check their own permission, run without it.
            return Err(Refusal::new(
                StatusCode::FORBIDDEN,
                "FORBIDDEN",
                format!(
                    "queries need the {} permission, which this token does not have",
                    Permission::ConversationsRead
                ),
            ));
        }
        check_limits(&mut request, state.limits()).map_err(|e| {
            let message = match batch_index {
                Some(i) => format!("operation {} of the batch: {}", i + 1, e.message),
                None => e.message,
            };
            Refusal::new(StatusCode::BAD_REQUEST, e.code, message)
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
) -> Result<Caller, Refusal> {
    match verified {
        Some(caller) => Ok(caller),
        None => caller_of(state, bearer_token(headers)).await,
    }
}

/// The bearer token of a request, when it has a well-formed one.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    bearer_token(headers).ok().flatten()
}

/// The headers of which one makes a browser send a CORS preflight before a cross-site GET
/// (Apollo's CSRF prevention, GraphQL Yoga's `graphql-preflight`); the preflight fails, since
/// the server answers no CORS.
pub const PREFLIGHT_HEADERS: [&str; 3] = [
    "apollo-require-preflight",
    "x-apollo-operation-name",
    "graphql-preflight",
];

/// A GET must carry one of [`PREFLIGHT_HEADERS`] or a `Content-Type` a form cannot send, so
/// that a page of another site cannot make a browser run a query with the user's credentials
/// (convgraph reads tokens only from `Authorization`, which such a page cannot set either: this
/// is defence in depth, and what CSRF scanners look for). POSTs need `application/json`, which
/// is not a simple content type, already.
fn check_preflight(request: &Request) -> Result<(), Refusal> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return Ok(());
    }
    let headers = request.headers();
    let forced = PREFLIGHT_HEADERS
        .iter()
        .any(|name| headers.get(*name).is_some_and(|v| !v.is_empty()))
        || headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|content_type| {
                let essence = content_type.split(';').next().unwrap_or_default().trim();
                ![
                    "application/x-www-form-urlencoded",
                    "multipart/form-data",
                    "text/plain",
                ]
                .iter()
                .any(|simple| essence.eq_ignore_ascii_case(simple))
            });
    if forced {
        Ok(())
    } else {
        Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "CSRF_PREFLIGHT_REQUIRED",
            "a GET query needs a header that makes browsers send a CORS preflight (`GraphQL-Preflight: 1`, \
             `Apollo-Require-Preflight: true` or `X-Apollo-Operation-Name`), so that other sites cannot \
             send it; or use POST with `Content-Type: application/json`",
        ))
    }
}

async fn caller_of(
    state: &AppState,
    token: Result<Option<String>, AuthError>,
) -> Result<Caller, Refusal> {
    match token {
        Ok(None) => Err(AuthError::Missing),
        Ok(Some(token)) => auth::verify(&state.auth, &token).await,
        Err(e) => Err(e),
    }
    .map_err(|e| {
        let error = ApiError::Unauthenticated(e.to_string());
        Refusal::new(StatusCode::UNAUTHORIZED, error.code(), error.to_string())
    })
}

fn not_acceptable() -> Response {
    error_response(
        StatusCode::NOT_ACCEPTABLE,
        "NOT_ACCEPTABLE",
        "the Accept header allows neither application/graphql-response+json nor application/json",
        MediaType::Json,
    )
}

/// The log target of the audit lines: one per request whose answer served personal data, with
/// the token's `sub`, the operation and (from its span) the request id, method and path.
pub const AUDIT_TARGET: &str = "convgraph::audit";

/// The header that carries a request's id, in and out.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Middleware: gives the request an id (the caller's `x-request-id` when it is a sane token,
/// else 128 random bits in hex), runs it inside a `request` span carrying that id, method and
/// path (so every log line of the request has them), returns the id in `x-request-id`, and logs
/// one line when the request is finished, with its status and latency.
///
/// The path is logged without the query string, which for GET holds the caller's variables.
pub async fn trace(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| is_sane_request_id(id))
        .map_or_else(new_request_id, str::to_owned);
    let header = HeaderValue::from_str(&id).ok();
    if let Some(header) = &header {
        // Handlers see the id that is logged, whether the caller's or ours.
        request.headers_mut().insert(&REQUEST_ID, header.clone());
    }
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    // A caller's W3C trace context makes this request's span a child of its own (exported
    // when traces are configured; without a propagator the context is empty).
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(request.headers()))
    });
    let _ = tracing_opentelemetry::OpenTelemetrySpanExt::set_parent(&span, parent);
    let route = crate::metrics::route_label(request.uri().path());
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    if let Some(header) = header {
        response.headers_mut().insert(&REQUEST_ID, header);
    }
    let status = response.status().as_u16();
    let took = started.elapsed();
    let facts = response
        .extensions_mut()
        .remove::<RequestFacts>()
        .unwrap_or_default();
    crate::metrics::request_finished(route, status, &facts.operation, took);
    let latency_ms = (took.as_secs_f64() * 100_000.0).round() / 100.0;
    let sub = facts.subject.as_deref().unwrap_or("");
    let operation = facts.operation.as_str();
    span.in_scope(|| {
        if response.status().is_server_error() {
            tracing::warn!(status, latency_ms, sub, operation, "request finished");
        } else {
            tracing::info!(status, latency_ms, sub, operation, "request finished");
        }
        if facts.personal {
            tracing::info!(target: AUDIT_TARGET, sub, operation, "personal data read");
        }
    });
    response
}

/// The request's headers as an OpenTelemetry carrier (for `traceparent`, `tracestate`).
struct HeaderExtractor<'a>(&'a HeaderMap);

impl opentelemetry::propagation::Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

/// 1 to 64 characters from `A-Z a-z 0-9 - _ . :`; anything else could forge log lines or
/// bloat them, and is replaced by an id of our own.
pub fn is_sane_request_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

fn new_request_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Middleware: cancels a request that takes longer than the limit (see [`within`]).
pub async fn timeout(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    let media = negotiate(request.headers()).unwrap_or(MediaType::Json);
    within(limit, media, next.run(request)).await
}

/// Runs `handler` for at most `limit`; past it, drops the handler (cancelling whatever it
/// awaits, SQL included) and answers 504 with `extensions.code = TIMEOUT`.
pub async fn within(
    limit: Duration,
    media: MediaType,
    handler: impl Future<Output = Response>,
) -> Response {
    match tokio::time::timeout(limit, handler).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(limit_ms = %limit.as_millis(), "request timed out");
            error_response(
                StatusCode::GATEWAY_TIMEOUT,
                "TIMEOUT",
                &format!(
                    "the request did not finish within {} ms and was cancelled",
                    limit.as_millis()
                ),
                media,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(values: &[&str]) -> Option<MediaType> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                header::ACCEPT,
                HeaderValue::from_str(value).expect("header value"),
            );
        }
        negotiate(&headers)
    }

    use MediaType::{GraphQLResponseJson as GraphQL, Json};

    #[test]
    fn no_accept_header_means_graphql_response_json_after_the_watershed() {
        assert_eq!(accept(&[]), Some(GraphQL));
        assert_eq!(accept(&[""]), Some(GraphQL));
    }

    #[test]
    fn wildcards_get_the_preferred_graphql_response_json() {
        assert_eq!(accept(&["*/*"]), Some(GraphQL));
        assert_eq!(accept(&["application/*"]), Some(GraphQL));
        assert_eq!(accept(&["text/html, */*;q=0.8"]), Some(GraphQL));
    }

    #[test]
    fn the_highest_q_wins_and_equal_q_goes_to_the_first_listed() {
        assert_eq!(accept(&["application/json"]), Some(Json));
        assert_eq!(
            accept(&[
                "application/graphql-response+json; charset=utf-8, application/json; charset=utf-8"
            ]),
            Some(GraphQL)
        );
        assert_eq!(
            accept(&["application/json, application/graphql-response+json"]),
            Some(Json)
        );
        assert_eq!(
            accept(&["application/json;q=0.5, application/graphql-response+json"]),
            Some(GraphQL)
        );
        assert_eq!(accept(&["application/json, */*;q=0.1"]), Some(Json));
        assert_eq!(
            accept(&["application/graphql-response+json;q=0, */*"]),
            Some(Json)
        );
        assert_eq!(
            accept(&["text/plain", "application/json"]),
            Some(Json),
            "several Accept headers are one list"
        );
    }

    #[test]
    fn accept_without_a_served_type_is_refused() {
        assert_eq!(accept(&["text/html"]), None);
        assert_eq!(accept(&["application/xml, text/*"]), None);
        assert_eq!(accept(&["*/*;q=0"]), None);
        assert_eq!(accept(&["application/json; charset=latin1"]), None);
        assert_eq!(accept(&["application/json;q=nonsense"]), None);
    }

    #[test]
    fn json_content_types_are_recognised() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=UTF-8"));
        assert!(is_json("application/json;charset=\"utf-8\""));
        assert!(!is_json("application/json; charset=utf-16"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/graphql"));
        assert!(!is_json("multipart/form-data; boundary=x"));
    }

    #[test]
    fn request_ids_from_callers_are_kept_only_when_sane() {
        assert!(is_sane_request_id("0f8c7a1e-3b1d-4a5e-9c7f-2d6e8b9a0c1d"));
        assert!(is_sane_request_id("abc.DEF_123:4"));
        assert!(!is_sane_request_id(""));
        assert!(!is_sane_request_id(&"a".repeat(65)));
        assert!(!is_sane_request_id("a b"));
        assert!(!is_sane_request_id("x\"}{"));
        assert_eq!(new_request_id().len(), 32);
        assert_ne!(new_request_id(), new_request_id());
    }

    #[tokio::test]
    async fn a_handler_past_the_limit_is_dropped_and_answered_504_timeout() {
        let (dropped_tx, dropped_rx) = tokio::sync::oneshot::channel::<()>();
        let slow = async move {
            let _guard = DropSignal(Some(dropped_tx));
            tokio::time::sleep(Duration::from_secs(60)).await;
            StatusCode::OK.into_response()
        };

        let response = within(Duration::from_millis(10), GraphQL, slow).await;

        assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
        assert!(dropped_rx.await.is_ok(), "the slow handler was dropped");
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .expect("body");
        let body: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(body["errors"][0]["extensions"]["code"], "TIMEOUT");
    }

    #[tokio::test]
    async fn a_panic_is_answered_500_internal_without_its_message() {
        let panicking = async {
            if std::hint::black_box(true) {
                panic!("secret detail: select * from conversations");
            }
            StatusCode::OK.into_response()
        };

        let response = unpanicked(GraphQL, panicking).await;

        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .expect("body");
        let body: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(
            body,
            serde_json::json!({"errors": [{"message": "internal error", "extensions": {"code": "INTERNAL"}}]})
        );
    }

    struct DropSignal(Option<tokio::sync::oneshot::Sender<()>>);

    impl Drop for DropSignal {
        fn drop(&mut self) {
            if let Some(tx) = self.0.take() {
                let _ = tx.send(());
            }
        }
    }
}
