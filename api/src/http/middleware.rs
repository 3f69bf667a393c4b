//! The middleware every route runs in: a request id, a span and one log line per request
//! (with its trace context and metrics), a time limit, and a panic answered as 500.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use futures::FutureExt as _;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};
use tracing::Instrument as _;

use super::RequestFacts;
use crate::error::ApiError;
use crate::media::{MediaType, negotiate};

/// Runs `handler`; when it panics, logs the panic and answers 500 `INTERNAL` with the generic
/// message (the panic's own message may hold anything, so it stays in the log).
pub async fn unpanicked(media: MediaType, handler: impl Future<Output = Response>) -> Response {
    AssertUnwindSafe(handler)
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| {
            let cause = crate::error::panic_message(&*panic);
            ApiError::internal(format!("panic while executing a request: {cause}")).response(media)
        })
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
            ApiError::Timeout(format!(
                "the request did not finish within {} ms and was cancelled",
                limit.as_millis()
            ))
            .response(media)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::MediaType::GraphQLResponseJson as GraphQL;
    use axum::http::StatusCode;
    use axum::response::IntoResponse as _;

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
