//! The API's one error type. Every refusal and failure, on every door (GraphQL fields, requests
//! refused before GraphQL, `POST /ingest`, the middleware), is an [`ApiError`]: its HTTP status,
//! its `extensions.code`, the headers that go with it and its GraphQL-shaped body are decided
//! here and nowhere else. Internal causes are logged once here and never reach the client.

use async_graphql::ErrorExtensions;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::time::Duration;

use crate::media::MediaType;

/// The code of [`ApiError::Unavailable`]; a response that carries it is answered 503.
pub const UNAVAILABLE: &str = "UNAVAILABLE";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is not a well-formed request of its endpoint (GraphQL over HTTP, NDJSON):
    /// 400 `BAD_REQUEST`.
    #[error("{0}")]
    BadRequest(String),
    /// A value the request carries is wrong: 400 `BAD_USER_INPUT`.
    #[error("{0}")]
    BadUserInput(String),
    /// A limit the request went over: its code (`RESPONSE_TOO_LARGE`, `LIST_TOO_LONG`,
    /// `BATCH_TOO_LARGE`, …) and what it found; 400.
    #[error("{1}")]
    Limit(&'static str, String),
    /// A GET without a header that forces a CORS preflight: 400 `CSRF_PREFLIGHT_REQUIRED`.
    #[error("{0}")]
    PreflightRequired(String),
    /// No valid bearer token: 401 `UNAUTHENTICATED`, with `WWW-Authenticate: Bearer`.
    #[error("{0}")]
    Unauthenticated(String),
    /// The token does not allow it: 403 `FORBIDDEN`.
    #[error("{0}")]
    Forbidden(String),
    /// A mutation sent over GET: 405 `METHOD_NOT_ALLOWED`, with `Allow: POST`.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The `Accept` header allows no type served: 406 `NOT_ACCEPTABLE`.
    #[error("{0}")]
    NotAcceptable(String),
    /// Another request holds what this one needs (an idempotency key in use): 409 `CONFLICT`.
    #[error("{0}")]
    Conflict(String),
    /// The body is larger than the limit: 413 `PAYLOAD_TOO_LARGE`.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A body in a type or encoding not read here: 415, with its code
    /// (`UNSUPPORTED_MEDIA_TYPE`, `UNSUPPORTED_ENCODING`).
    #[error("{1}")]
    Unsupported(&'static str, String),
    /// An idempotency key sent again with another body: `BAD_USER_INPUT`, 422 over HTTP.
    #[error("{0}")]
    KeyReused(String),
    /// The caller sent more than its rate allows: 429 `RATE_LIMITED`, with `Retry-After`.
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after: Duration,
    },
    /// The server is at its limit of requests in flight: 503 `SERVICE_UNAVAILABLE`, with
    /// `Retry-After`.
    #[error("{0}")]
    Overloaded(String),
    /// PostgreSQL cannot be reached right now (down, restarting, or no connection free within
    /// the pool's acquire timeout): the same request may succeed when retried. 503, with
    /// `Retry-After`.
    #[error("the database is unavailable; retry shortly")]
    Unavailable,
    /// The request took longer than its limit and was cancelled: 504 `TIMEOUT`.
    #[error("{0}")]
    Timeout(String),
    /// Anything else: 500 `INTERNAL`, with a generic message (the cause is in the log).
    #[error("internal error")]
    Internal,
}

impl ApiError {
    pub fn bad_input(message: impl Into<String>) -> Self {
        ApiError::BadUserInput(message.into())
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest(message.into())
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::Forbidden(message.into())
    }

    /// A limit's error: `code` names the limit, `message` says the value found and the limit.
    pub fn limit(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Limit(code, message.into())
    }

    /// A database failure as the client sees it: logged here, generic there.
    pub fn db(cause: sqlx::Error) -> async_graphql::Error {
        Self::from_db(cause).extend()
    }

    /// `UNAVAILABLE` when the database cannot be reached (logged as a warning), else
    /// `INTERNAL` (logged as an error).
    pub fn from_db(cause: sqlx::Error) -> Self {
        if db::unavailable(&cause) {
            tracing::warn!(error = %cause, "database unavailable");
            ApiError::Unavailable
        } else {
            Self::internal(cause)
        }
    }

    /// Logs `cause` and returns the generic error the client sees.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        ApiError::Internal
    }

    /// The same error with `context` before its message (which operation of a batch it came
    /// from); the status and code stay.
    pub fn with_context(self, context: &str) -> Self {
        let message = format!("{context}: {self}");
        match self {
            ApiError::BadRequest(_) => ApiError::BadRequest(message),
            ApiError::BadUserInput(_) => ApiError::BadUserInput(message),
            ApiError::Limit(code, _) => ApiError::Limit(code, message),
            ApiError::PreflightRequired(_) => ApiError::PreflightRequired(message),
            ApiError::Forbidden(_) => ApiError::Forbidden(message),
            ApiError::MethodNotAllowed(_) => ApiError::MethodNotAllowed(message),
            other => other,
        }
    }

    /// The HTTP status of a request that failed with this error alone.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_)
            | ApiError::BadUserInput(_)
            | ApiError::Limit(..)
            | ApiError::PreflightRequired(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unsupported(..) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::KeyReused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Overloaded(_) | ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Its `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "BAD_REQUEST",
            ApiError::BadUserInput(_) | ApiError::KeyReused(_) => "BAD_USER_INPUT",
            ApiError::Limit(code, _) | ApiError::Unsupported(code, _) => code,
            ApiError::PreflightRequired(_) => "CSRF_PREFLIGHT_REQUIRED",
            ApiError::Unauthenticated(_) => "UNAUTHENTICATED",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::MethodNotAllowed(_) => "METHOD_NOT_ALLOWED",
            ApiError::NotAcceptable(_) => "NOT_ACCEPTABLE",
            ApiError::Conflict(_) => "CONFLICT",
            ApiError::PayloadTooLarge(_) => "PAYLOAD_TOO_LARGE",
            ApiError::RateLimited { .. } => "RATE_LIMITED",
            ApiError::Overloaded(_) => "SERVICE_UNAVAILABLE",
            ApiError::Unavailable => UNAVAILABLE,
            ApiError::Timeout(_) => "TIMEOUT",
            ApiError::Internal => "INTERNAL",
        }
    }

    /// When the client may try again, for the errors that say so (`Retry-After`, in whole
    /// seconds, at least one).
    fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::RateLimited { retry_after, .. } => Some(*retry_after),
            ApiError::Overloaded(_) | ApiError::Unavailable => Some(Duration::from_secs(1)),
            _ => None,
        }
    }

    /// The error as an HTTP response in `media`: its status, a GraphQL-shaped body
    /// (`{"errors":[{"message":…,"extensions":{"code":…}}]}`) and the headers its status
    /// calls for. Counted in `convgraph_graphql_errors_total`.
    pub fn response(self, media: MediaType) -> Response {
        let code = self.code();
        crate::metrics::error_answered(code, matches!(self, ApiError::Unavailable));
        let body = serde_json::json!({
            "errors": [{"message": self.to_string(), "extensions": {"code": code}}]
        });
        let mut response = (
            self.status(),
            [(header::CONTENT_TYPE, media.content_type())],
            body.to_string(),
        )
            .into_response();
        let headers = response.headers_mut();
        match &self {
            ApiError::MethodNotAllowed(_) => {
                headers.insert(header::ALLOW, HeaderValue::from_static("POST"));
            }
            ApiError::Unauthenticated(_) => {
                // RFC 6750 §3: the scheme the client must use, without details of the failure.
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        if let Some(wait) = self.retry_after() {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        }
        response
    }
}

/// As `application/json`; a handler that negotiated the media type uses
/// [`ApiError::response`].
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.response(MediaType::Json)
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        async_graphql::Error::new(self.to_string()).extend_with(|_, e| e.set("code", self.code()))
    }
}

impl ApiError {
    /// The error as a GraphQL request error (no position, no path).
    pub fn into_server_error(self) -> async_graphql::ServerError {
        self.extend()
            .into_server_error(async_graphql::Pos::default())
    }
}

/// What a panic said (its `&str` or `String` payload), for the log only: it may hold anything,
/// so the client gets the generic `INTERNAL` message.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(error: ApiError) -> (u16, Vec<(String, String)>) {
        let response = error.response(MediaType::GraphQLResponseJson);
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    value.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        (response.status().as_u16(), headers)
    }

    fn header(headers: &[(String, String)], name: &str) -> Option<String> {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    #[test]
    fn each_error_has_its_status_code_and_headers_in_one_place() {
        let (status, headers) = parts(ApiError::MethodNotAllowed("no".into()));
        assert_eq!(
            (status, header(&headers, "allow")),
            (405, Some("POST".into()))
        );
        let (status, headers) = parts(ApiError::Unauthenticated("no".into()));
        assert_eq!(
            (status, header(&headers, "www-authenticate")),
            (401, Some("Bearer".into()))
        );
        let (status, headers) = parts(ApiError::RateLimited {
            message: "slow down".into(),
            retry_after: Duration::from_millis(1_200),
        });
        assert_eq!(
            (status, header(&headers, "retry-after")),
            (429, Some("2".into()))
        );
        let (status, headers) = parts(ApiError::Unavailable);
        assert_eq!(
            (status, header(&headers, "retry-after")),
            (503, Some("1".into()))
        );
        let (status, headers) = parts(ApiError::Limit("PAGE_TOO_LARGE", "too big".into()));
        assert_eq!((status, header(&headers, "retry-after")), (400, None));
        assert_eq!(
            header(&headers, "content-type").as_deref(),
            Some("application/graphql-response+json; charset=utf-8")
        );
        assert_eq!(ApiError::KeyReused("k".into()).code(), "BAD_USER_INPUT");
        assert_eq!(ApiError::KeyReused("k".into()).status().as_u16(), 422);
    }

    #[tokio::test]
    async fn the_body_is_graphql_shaped_and_an_internal_cause_stays_in_the_log() {
        let response = ApiError::internal("select secret from t").response(MediaType::Json);
        assert_eq!(response.status().as_u16(), 500);
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .expect("body");
        let body: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(
            body,
            serde_json::json!({"errors": [{"message": "internal error", "extensions": {"code": "INTERNAL"}}]})
        );
        let limited =
            ApiError::limit("BATCH_TOO_LARGE", "3 operations").with_context("operation 2");
        assert_eq!(
            (limited.code(), limited.to_string().as_str()),
            ("BATCH_TOO_LARGE", "operation 2: 3 operations")
        );
    }
}
