//! `GET /metrics`: process counters in the Prometheus text format (version 0.0.4).
//!
//! - `convgraph_sql_statements_total`: SQL statements sqlx ran in this process. sqlx reports
//!   every statement it runs as one tracing event on the target `sqlx::query`; the
//!   [`sql_statement_layer`] counts those events. `serve` and `demo` install it in their
//!   subscriber; a process without it reports 0.
//! - `convgraph_http_requests_total`: HTTP requests received, on every route (counted by the
//!   [`count_request`] middleware when a request arrives).
//!
//! Both are plain process-wide counters (atomics): reading them costs nothing, and the
//! benchmark turns their deltas into statements per request.

use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::Targets;

static SQL_STATEMENTS: AtomicU64 = AtomicU64::new(0);
static HTTP_REQUESTS: AtomicU64 = AtomicU64::new(0);

/// The tracing target sqlx emits one event on per statement it runs.
pub const SQL_QUERY_TARGET: &str = "sqlx::query";

/// SQL statements counted so far in this process.
pub fn sql_statements() -> u64 {
    SQL_STATEMENTS.load(Ordering::Relaxed)
}

/// HTTP requests received so far by this process.
pub fn http_requests() -> u64 {
    HTTP_REQUESTS.load(Ordering::Relaxed)
}

/// Counts the `sqlx::query` events it sees. Install it through [`sql_statement_layer`], which
/// gives it the filter it needs whatever the rest of the subscriber logs.
pub struct SqlStatementCounter;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for SqlStatementCounter {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() == SQL_QUERY_TARGET {
            SQL_STATEMENTS.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The statement counter with a per-layer filter that enables `sqlx::query` at every level
/// (sqlx logs statements at DEBUG, slow ones at WARN) and nothing else, so that the other
/// layers of the subscriber (the log) print exactly what they printed without it.
pub fn sql_statement_layer<S>() -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    SqlStatementCounter
        .with_filter(Targets::new().with_target(SQL_QUERY_TARGET, tracing::Level::TRACE))
}

/// Middleware: counts every request as it arrives.
pub async fn count_request(request: Request, next: Next) -> Response {
    HTTP_REQUESTS.fetch_add(1, Ordering::Relaxed);
    next.run(request).await
}

/// The handler of `GET /metrics`.
pub async fn metrics() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(sql_statements(), http_requests()),
    )
}

/// The Prometheus text exposition of the counters.
fn render(sql_statements: u64, http_requests: u64) -> String {
    let mut out = String::new();
    for (name, help, value) in [
        (
            "convgraph_sql_statements_total",
            "SQL statements run against PostgreSQL.",
            sql_statements,
        ),
        (
            "convgraph_http_requests_total",
            "HTTP requests received.",
            http_requests,
        ),
    ] {
        let _ = write!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn renders_each_counter_with_help_and_type() {
        assert_eq!(
            render(7, 3),
            "# HELP convgraph_sql_statements_total SQL statements run against PostgreSQL.\n\
             # TYPE convgraph_sql_statements_total counter\n\
             convgraph_sql_statements_total 7\n\
             # HELP convgraph_http_requests_total HTTP requests received.\n\
             # TYPE convgraph_http_requests_total counter\n\
             convgraph_http_requests_total 3\n"
        );
    }
}
