//! The HTTP layers around every route, from tower-http: CORS for the configured browser
//! origins, negotiated response compression, gzip request bodies on `POST /ingest`, and a
//! panic anywhere turned into a GraphQL-shaped 500.

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use std::any::Any;
use std::sync::Arc;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate as _};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::decompression::RequestDecompressionLayer;

use crate::error::ApiError;

/// Browser origins allowed to call the API (`CONVGRAPH_CORS_ORIGINS`); none by default, so a
/// page of another origin cannot read an answer.
#[derive(Clone, Debug, Default)]
pub struct CorsConfig {
    origins: Arc<[HeaderValue]>,
}

impl CorsConfig {
    /// Origins exactly as a browser sends them (`https://dashboards.example.com`): a scheme and
    /// a host, a port when not the scheme's default, no path. `*` is refused: every origin
    /// would then read every answer its visitor's token may see.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut origins = Vec::new();
        for origin in list.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            let (scheme, rest) = origin.split_once("://").ok_or_else(|| {
                format!("CORS origin {origin:?}: expected scheme://host[:port], e.g. https://dashboards.example.com")
            })?;
            if !matches!(scheme, "http" | "https") {
                return Err(format!(
                    "CORS origin {origin:?}: the scheme must be http or https"
                ));
            }
            if rest.is_empty() || rest.contains(['/', '?', '#', '*', ' ']) {
                return Err(format!(
                    "CORS origin {origin:?}: an origin is scheme://host[:port], without a path or a wildcard"
                ));
            }
            let value = HeaderValue::from_str(origin)
                .map_err(|_| format!("CORS origin {origin:?}: not a valid header value"))?;
            origins.push(value);
        }
        Ok(Self {
            origins: origins.into(),
        })
    }

    pub fn origins(&self) -> &[HeaderValue] {
        &self.origins
    }
}

/// Headers a browser page may send: the token, the body's type, an idempotency key, a request
/// id and a trace context.
const ALLOWED_HEADERS: [HeaderName; 5] = [
    header::AUTHORIZATION,
    header::CONTENT_TYPE,
    HeaderName::from_static("idempotency-key"),
    HeaderName::from_static("x-request-id"),
    HeaderName::from_static("traceparent"),
];

/// The layers of [`crate::router`] outside its routes: a panic becomes a 500 (innermost, so
/// that the response still gets CORS headers and is compressed), then compression, then CORS.
pub fn outer(router: Router, cors: &CorsConfig) -> Router {
    let compression = CompressionLayer::new()
        .gzip(true)
        .br(true)
        // A streamed NDJSON report must reach the sender line by line: an encoder would hold
        // it back until its buffer fills.
        .compress_when(
            DefaultPredicate::new().and(NotForContentType::const_new("application/x-ndjson")),
        );
    let router = router
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(compression);
    if cors.origins.is_empty() {
        return router;
    }
    router.layer(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(cors.origins.iter().cloned()))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers(ALLOWED_HEADERS)
            .expose_headers([header::RETRY_AFTER, HeaderName::from_static("x-request-id")])
            .max_age(Duration::from_secs(600)),
    )
}

/// The layers of `POST /ingest`: a gzip body (`Content-Encoding: gzip`) is decompressed as it
/// streams in (the bulk size limit applies to what it decompresses to); another encoding is
/// refused with 415.
pub fn ingest(router: Router<crate::AppState>) -> Router<crate::AppState> {
    router
        .layer(
            RequestDecompressionLayer::new()
                .gzip(true)
                .pass_through_unaccepted(false),
        )
        .layer(axum::middleware::from_fn(known_encoding))
}

/// Refuses a request body in an encoding other than gzip (or identity) with a GraphQL-shaped
/// 415 that names it, before the decompression layer's bare 415.
async fn known_encoding(request: Request, next: Next) -> Response {
    let encodings: Vec<String> = request
        .headers()
        .get_all(header::CONTENT_ENCODING)
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("?").split(','))
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| !e.is_empty())
        .collect();
    match encodings
        .iter()
        .find(|e| !matches!(e.as_str(), "gzip" | "identity"))
    {
        Some(unknown) => ApiError::Unsupported(
            "UNSUPPORTED_ENCODING",
            format!("Content-Encoding {unknown:?} is not supported: send gzip or no encoding"),
        )
        .into_response(),
        None => next.run(request).await,
    }
}

/// A panic's answer: 500 `INTERNAL` with the generic message; the panic's own message may hold
/// anything, so it goes to the log only.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let cause = crate::error::panic_message(&*panic);
    ApiError::internal(format!("panic in a handler: {cause}")).into_response()
}
