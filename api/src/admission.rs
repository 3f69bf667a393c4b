//! What the server lets in, so that no client can starve the others or the process: a cap on
//! open connections, a time limit for reading a request's headers, a cap on requests in flight,
//! and a rate limit per caller.
//!
//! | guard | where | past it |
//! | --- | --- | --- |
//! | connections open at once ([`HttpConfig::max_connections`]) | the accept loop ([`serve`]) | the connection gets `503` with `Retry-After` and is closed |
//! | time to send a request's headers ([`HttpConfig::header_read_timeout`]), also between requests of a kept-alive connection | hyper's HTTP/1 connection | the connection is closed |
//! | requests in flight ([`HttpConfig::max_concurrent_requests`]) | middleware around every route but `/healthz`, `/readyz` and `/metrics` | `503` with `Retry-After`, `extensions.code = SERVICE_UNAVAILABLE` |
//! | requests per second of one caller ([`HttpConfig::rate_limit`]): the token's `sub`, or the peer's IP address without a valid token | middleware around `/graphql` and `/ingest` | `429` with `Retry-After`, `extensions.code = RATE_LIMITED` |
//!
//! Half-open connections (a request line and some headers, then nothing) are what exhausted the
//! file descriptors before: each now lives at most the header read timeout, and never more of
//! them than the connection cap.

use crate::AppState;
use crate::auth::{self, Caller};
use crate::error::ApiError;
use crate::http::HttpConfig;
use crate::media::{MediaType, negotiate};
use axum::Router;
use axum::extract::{ConnectInfo, Request, State};

use axum::middleware::Next;
use axum::response::Response;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt as _;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt as _;

pub use crate::http::RateLimit;

/// The shared state of the request guards.
pub(crate) struct Admission {
    requests: Arc<Semaphore>,
    rate: Option<RateLimiter>,
}

impl Admission {
    pub(crate) fn new(http: &HttpConfig) -> Self {
        Self {
            requests: Arc::new(Semaphore::new(http.max_concurrent_requests.max(1))),
            rate: http
                .rate_limit
                .filter(|r| r.per_second > 0)
                .map(RateLimiter::new),
        }
    }
}

/// Middleware: at most [`HttpConfig::max_concurrent_requests`] requests in flight; one more is
/// answered 503 at once rather than queued.
pub(crate) async fn limit_requests(
    State(admission): State<Arc<Admission>>,
    request: Request,
    next: Next,
) -> Response {
    match admission.requests.clone().try_acquire_owned() {
        Ok(permit) => {
            let response = next.run(request).await;
            drop(permit);
            response
        }
        Err(_) => {
            let media = negotiate(request.headers()).unwrap_or(MediaType::Json);
            tracing::warn!("request refused: the server is at its limit of requests in flight");
            ApiError::Overloaded(
                "the server is at its limit of requests in flight; retry shortly".into(),
            )
            .response(media)
        }
    }
}

/// Middleware: the rate limit of the caller. A valid bearer token's `sub` is the caller (the
/// verified caller is handed on to the handler, which does not verify it again); without one,
/// the peer's IP address. A made-up `sub` cannot spend another caller's allowance: only a
/// verified token counts as its subject.
pub(crate) async fn limit_rate(
    State((state, admission)): State<(AppState, Arc<Admission>)>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(limiter) = &admission.rate else {
        return next.run(request).await;
    };
    let caller = match crate::http::bearer(request.headers()) {
        Some(token) => auth::verify(&state.auth, &token).await.ok(),
        None => None,
    };
    let key = match &caller {
        Some(caller) => format!("sub {}", caller.subject),
        None => match request.extensions().get::<ConnectInfo<SocketAddr>>() {
            Some(ConnectInfo(peer)) => format!("ip {}", peer.ip()),
            None => "ip unknown".to_owned(),
        },
    };
    if let Some(caller) = caller {
        request.extensions_mut().insert::<Caller>(caller);
    }
    match limiter.check(&key) {
        Ok(()) => next.run(request).await,
        Err(retry_after) => {
            let media = negotiate(request.headers()).unwrap_or(MediaType::Json);
            let limit = limiter.limit;
            ApiError::RateLimited {
                message: format!(
                    "too many requests from this caller: at most {} a second, {} at once; retry after {} ms",
                    limit.per_second,
                    limit.burst,
                    retry_after.as_millis()
                ),
                retry_after,
            }
            .response(media)
        }
    }
}

/// The generic cell rate algorithm, per key: each key has a theoretical arrival time; a request
/// is let in when that time is less than `burst` intervals ahead of now, and moves it one
/// interval on.
struct RateLimiter {
    limit: RateLimit,
    interval: Duration,
    arrivals: Mutex<HashMap<String, Instant>>,
}

/// Keys kept before idle ones are dropped.
const RATE_KEYS: usize = 10_000;

impl RateLimiter {
    fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            interval: Duration::from_secs(1) / limit.per_second.max(1),
            arrivals: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(wait)` when `key` is over its rate.
    fn check(&self, key: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let mut arrivals = self
            .arrivals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let arrival = arrivals.get(key).copied().unwrap_or(now).max(now);
        let next = arrival + self.interval;
        let window = self.interval * self.limit.burst.max(1);
        if next > now + window {
            return Err(next - window - now);
        }
        if arrivals.len() >= RATE_KEYS {
            // A key whose arrival time has passed is back to a full allowance: forgetting it
            // changes nothing.
            arrivals.retain(|_, arrival| *arrival > now);
        }
        arrivals.insert(key.to_owned(), next);
        Ok(())
    }
}

/// The answer to a connection over the cap: written at once, whatever the client sent.
fn over_capacity() -> Vec<u8> {
    let body = r#"{"errors":[{"message":"the server is at its limit of open connections; retry shortly","extensions":{"code":"SERVICE_UNAVAILABLE"}}]}"#;
    format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\n\
         Retry-After: 1\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets the open connections finish
/// their requests: HTTP/1.1 (with upgrades) through hyper, with the header read timeout and the
/// connection cap of `http`. Each request carries the peer's address (`ConnectInfo`).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    http: HttpConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let connections = Arc::new(Semaphore::new(http.max_connections.max(1)));
    // Connections answered 503 at once, each for at most a second: bounded too.
    let refusals = Arc::new(Semaphore::new((http.max_connections / 4).max(1)));
    let (close_tx, close_rx) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was accepted:
                    // wait a little rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            if let Ok(refusal) = refusals.clone().try_acquire_owned() {
                tokio::spawn(async move {
                    let mut stream = stream;
                    let _ = tokio::time::timeout(Duration::from_secs(1), async {
                        stream.write_all(&over_capacity()).await?;
                        stream.shutdown().await
                    })
                    .await;
                    drop(refusal);
                });
            }
            continue;
        };
        let app = app.clone();
        let mut close = close_rx.clone();
        let header_read_timeout = http.header_read_timeout;
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |mut request: Request<_>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                app.clone().oneshot(request.map(axum::body::Body::new))
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout);
            let connection = builder
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            let mut connection = pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, %peer, "connection ended");
                    }
                }
                _ = close.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
            drop(permit);
            drop(close);
        });
    }
    drop(listener);
    drop(close_rx);
    let _ = close_tx.send(());
    // Every connection holds a receiver: closed once the last one has finished.
    close_tx.closed().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_gets_its_burst_then_waits_an_interval_and_others_are_not_affected() {
        let limiter = RateLimiter::new(RateLimit {
            per_second: 10,
            burst: 3,
        });
        for _ in 0..3 {
            assert_eq!(limiter.check("a"), Ok(()));
        }
        let wait = limiter.check("a").expect_err("over the burst");
        assert!(wait <= Duration::from_millis(100), "{wait:?}");
        assert_eq!(limiter.check("b"), Ok(()));
        std::thread::sleep(wait);
        assert_eq!(limiter.check("a"), Ok(()));
    }
}
