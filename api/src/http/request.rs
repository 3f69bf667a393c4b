//! Reading a GraphQL-over-HTTP request: its parameters from the URL (GET) or the JSON body
//! (POST, one request or a batch), the variables it leaves out, the operation it selects, its
//! bearer token, and the CORS preflight a GET must force.

use async_graphql::parser::types::DocumentOperations;
use async_graphql::{Extensions, ServerError, Value, Variables};
use axum::body::Bytes;
use axum::extract::{FromRequest, Query, Request};
use axum::http::{HeaderMap, Method, StatusCode, header};
use serde::Deserialize;

use crate::AppState;
use crate::auth::AuthError;
use crate::error::ApiError;
use crate::media::is_utf8;
use crate::operation::{selected_operation, selects_mutation};

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
    fn into_json_params(self) -> Result<JsonParams, ApiError> {
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
) -> Result<T, ApiError> {
    match text {
        None => Ok(T::default()),
        Some(text) => serde_json::from_str(&text).map_err(|e| {
            ApiError::bad_request(format!("`{name}` must be a JSON object (or null): {e}"))
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
    fn parse(body: &[u8]) -> Result<Self, ApiError> {
        serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(format!("the body is not a GraphQL-over-HTTP request: {e}"))
        })
    }

    fn into_request(self) -> Result<async_graphql::Request, ApiError> {
        let query = self.query.ok_or_else(|| {
            ApiError::bad_request(
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
pub(super) enum Operations {
    Single(Box<async_graphql::Request>),
    Batch(Vec<async_graphql::Request>),
}

impl Operations {
    /// Whether one of the operations is a mutation (a write).
    pub(super) fn any_mutation(&mut self) -> bool {
        match self {
            Operations::Single(request) => selects_mutation(request),
            Operations::Batch(requests) => requests.iter_mut().any(selects_mutation),
        }
    }
}

/// Reads the GraphQL request from the URL (GET) or the JSON body (POST).
pub(super) async fn read_request(
    request: Request,
    state: &AppState,
) -> Result<Operations, ApiError> {
    if request.method() == Method::GET || request.method() == Method::HEAD {
        let Query(params) = Query::<UrlParams>::try_from_uri(request.uri())
            .map_err(|_| ApiError::bad_request("the URL's query string cannot be read"))?;
        return Ok(Operations::Single(Box::new(
            params.into_json_params()?.into_request()?,
        )));
    }

    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok());
    if !content_type.is_some_and(is_json) {
        return Err(ApiError::Unsupported(
            "UNSUPPORTED_MEDIA_TYPE",
            "a POST body must be `Content-Type: application/json` (UTF-8)".into(),
        ));
    }
    let limit = state.http.max_body_bytes;
    let too_large = || {
        ApiError::PayloadTooLarge(format!(
            "the request body is larger than the limit of {limit} bytes"
        ))
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
            _ => ApiError::bad_request("the request body could not be read"),
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
fn read_batch(body: &[u8], max_batch: usize) -> Result<Vec<async_graphql::Request>, ApiError> {
    if max_batch == 0 {
        return Err(ApiError::limit(
            "BATCHING_DISABLED",
            "batching (a JSON array of requests) is disabled on this server: send one request per POST",
        ));
    }
    let batch: Vec<JsonParams> = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body is not a batch of GraphQL-over-HTTP requests: {e}"
        ))
    })?;
    if batch.is_empty() {
        return Err(ApiError::bad_request("the batch is empty"));
    }
    if batch.len() > max_batch {
        return Err(ApiError::limit(
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
pub(super) fn unprovided_variables(request: &mut async_graphql::Request) -> Vec<ServerError> {
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

/// The name of the operation the request runs, when it has one.
pub(super) fn selected_operation_name(request: &mut async_graphql::Request) -> Option<String> {
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

/// A request to upgrade to a WebSocket (`Connection: upgrade`, `Upgrade: websocket`).
pub(super) fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// The bearer token of `Authorization: Bearer <token>` (the scheme in any case). `Ok(None)`
/// when there is no such header; a token anywhere else (another header, another scheme, the
/// URL) is not looked at.
pub(super) fn bearer_token(headers: &HeaderMap) -> Result<Option<String>, AuthError> {
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
pub(super) fn check_preflight(request: &Request) -> Result<(), ApiError> {
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
        Err(ApiError::PreflightRequired(
            "a GET query needs a header that makes browsers send a CORS preflight (`GraphQL-Preflight: 1`, \
             `Apollo-Require-Preflight: true` or `X-Apollo-Operation-Name`), so that other sites cannot \
             send it; or use POST with `Content-Type: application/json`"
                .into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
