//! `GET /metrics`: the process's metrics in the Prometheus text format, recorded through the
//! `metrics` facade and rendered by `metrics-exporter-prometheus` (no listener of its own: the
//! route serves the text).
//!
//! | metric | type | labels |
//! | --- | --- | --- |
//! | `convgraph_build_info` | gauge (1) | `version` |
//! | `convgraph_http_requests_total` | counter | |
//! | `convgraph_http_request_duration_seconds` | histogram | `route`, `status`, `operation` |
//! | `convgraph_http_requests_in_flight` | gauge | |
//! | `convgraph_graphql_errors_total` | counter | `code` (`extensions.code`) |
//! | `convgraph_sql_statements_total` | counter | |
//! | `convgraph_sql_statement_duration_seconds` | histogram | |
//! | `convgraph_db_pool_connections` | gauge | `state` (`idle`, `in_use`) |
//! | `convgraph_db_pool_max_connections` | gauge | |
//! | `convgraph_db_pool_waiting` | gauge | |
//! | `convgraph_db_unavailable_total` | counter | |
//! | `convgraph_jwks_fetches_total` | counter | `outcome` (`ok`, `failed`) |
//! | `convgraph_ingest_documents_total` | counter | `outcome` (`created`, `replaced`, `unchanged`, `rejected`) |
//! | `convgraph_subscriptions_open` | gauge | |
//!
//! Labels are bounded: `route` is one of the served paths (`other` for the rest), `status` a
//! status code, `operation` the GraphQL operation's name for the first [`MAX_OPERATION_NAMES`]
//! names this process sees (`(other)` after them, `(unnamed)` without a name, `` (empty) off
//! `/graphql`), `code` one of the API's error codes.
//!
//! SQL statements are counted and timed by the executors of [`db::exec`], through which every
//! statement runs, at the cost of an atomic add: sqlx's own statement event (`sqlx::query`,
//! which copies each statement's text) stays off unless `RUST_LOG` asks for it. The two plain
//! counters are atomics, so that reading them ([`sql_statements`], [`http_requests`]) costs
//! nothing: the benchmark turns their deltas into statements per request.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use crate::AppState;

static HTTP_REQUESTS: AtomicU64 = AtomicU64::new(0);

/// Distinct operation names given their own label value; later ones share `(other)`.
pub const MAX_OPERATION_NAMES: usize = 200;

/// Upper bounds of the duration histograms' buckets, in seconds.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The recorder, installed as the process's global one on first use. `None` when another
/// recorder was installed first (then nothing of this module is recorded but the atomics).
fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let installed = PrometheusBuilder::new()
                .set_buckets(BUCKETS)
                .and_then(PrometheusBuilder::install_recorder);
            match installed {
                Ok(handle) => {
                    metrics::gauge!("convgraph_build_info", "version" => env!("CARGO_PKG_VERSION"))
                        .set(1.0);
                    describe();
                    Some(handle)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics: no Prometheus recorder; /metrics shows the counters only");
                    None
                }
            }
        })
        .as_ref()
}

/// Installs the recorder (if it is not yet): called when the router is built, so that the
/// first request is measured.
pub fn install() {
    let _ = handle();
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_gauge!("convgraph_build_info", "The running build (value 1).");
    describe_counter!("convgraph_http_requests_total", "HTTP requests received.");
    describe_histogram!(
        "convgraph_http_request_duration_seconds",
        Unit::Seconds,
        "Time from a request's arrival to its answer's head, by route, status and GraphQL operation."
    );
    describe_gauge!(
        "convgraph_http_requests_in_flight",
        "HTTP requests being answered."
    );
    describe_counter!(
        "convgraph_graphql_errors_total",
        "Errors answered, by extensions.code."
    );
    describe_counter!(
        "convgraph_sql_statements_total",
        "SQL statements run against PostgreSQL."
    );
    describe_histogram!(
        "convgraph_sql_statement_duration_seconds",
        Unit::Seconds,
        "Time from sending a statement to reading the last of its answer."
    );
    describe_gauge!(
        "convgraph_db_pool_connections",
        "Connections of the serving pool, idle or in use."
    );
    describe_gauge!(
        "convgraph_db_pool_waiting",
        "Tasks waiting for a connection of a pool (all connections in use, or PostgreSQL not answering)."
    );
    describe_gauge!(
        "convgraph_db_pool_max_connections",
        "Most connections the serving pool opens."
    );
    describe_counter!(
        "convgraph_db_unavailable_total",
        "Requests answered UNAVAILABLE: PostgreSQL unreachable, or no pooled connection free within the acquire timeout."
    );
    describe_counter!(
        "convgraph_jwks_fetches_total",
        "Fetches of the JWK set, by outcome."
    );
    describe_counter!(
        "convgraph_ingest_documents_total",
        "Documents of ingestConversations and POST /ingest, by outcome."
    );
    describe_gauge!(
        "convgraph_subscriptions_open",
        "Live subscriptions open in this process."
    );
}

/// SQL statements sent so far by this process ([`db::exec`] counts them).
pub fn sql_statements() -> u64 {
    db::exec::statements()
}

/// HTTP requests received so far by this process.
pub fn http_requests() -> u64 {
    HTTP_REQUESTS.load(Ordering::Relaxed)
}

/// Middleware: counts every request as it arrives, and holds it in the in-flight gauge while
/// it is answered.
pub async fn count_request(request: Request, next: Next) -> Response {
    HTTP_REQUESTS.fetch_add(1, Ordering::Relaxed);
    let in_flight = metrics::gauge!("convgraph_http_requests_in_flight");
    in_flight.increment(1.0);
    let _done = InFlight(in_flight);
    next.run(request).await
}

/// Takes a request off the in-flight gauge when dropped (answered or cancelled).
struct InFlight(metrics::Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// The route label of `path`: the served paths as they are, anything else `other`.
pub fn route_label(path: &str) -> &'static str {
    match path {
        "/graphql" => "/graphql",
        "/ingest" => "/ingest",
        "/graphiql" => "/graphiql",
        "/wallboard" => "/wallboard",
        "/healthz" => "/healthz",
        "/readyz" => "/readyz",
        "/metrics" => "/metrics",
        p if p.starts_with("/graphiql/") => "/graphiql/*",
        p if p.starts_with("/wallboard/") => "/wallboard/*",
        _ => "other",
    }
}

/// The operation label of a GraphQL operation's name: itself for the first
/// [`MAX_OPERATION_NAMES`] names, then `(other)`; `(unnamed)` without one.
pub fn operation_label(name: Option<&str>) -> String {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let Some(name) = name else {
        return "(unnamed)".to_owned();
    };
    if name.len() > 64 {
        return "(other)".to_owned();
    }
    let mut seen = SEEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if seen.contains(name) {
        return name.to_owned();
    }
    if seen.len() < MAX_OPERATION_NAMES {
        seen.insert(name.to_owned());
        return name.to_owned();
    }
    "(other)".to_owned()
}

/// Records one answered request.
pub fn request_finished(route: &'static str, status: u16, operation: &str, took: Duration) {
    metrics::histogram!(
        "convgraph_http_request_duration_seconds",
        "route" => route,
        "status" => status.to_string(),
        "operation" => operation.to_owned(),
    )
    .record(took.as_secs_f64());
}

/// Records an error answered with `code` (its `extensions.code`); `unavailable`: the error said
/// the database could not be reached.
pub fn error_answered(code: &str, unavailable: bool) {
    metrics::counter!("convgraph_graphql_errors_total", "code" => code.to_owned()).increment(1);
    if unavailable {
        metrics::counter!("convgraph_db_unavailable_total").increment(1);
    }
}

/// Records a fetch of the JWK set.
pub fn jwks_fetch(ok: bool) {
    metrics::counter!("convgraph_jwks_fetches_total", "outcome" => if ok { "ok" } else { "failed" })
        .increment(1);
}

/// Records `count` documents of a write with `outcome`.
pub fn ingest_documents(outcome: &'static str, count: u64) {
    if count > 0 {
        metrics::counter!("convgraph_ingest_documents_total", "outcome" => outcome)
            .increment(count);
    }
}

/// The handler of `GET /metrics`.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let body = match handle() {
        Some(handle) => {
            metrics::counter!("convgraph_sql_statements_total").absolute(sql_statements());
            metrics::counter!("convgraph_http_requests_total").absolute(http_requests());
            let size = f64::from(state.pool.size());
            let idle = state.pool.num_idle() as f64;
            metrics::gauge!("convgraph_db_pool_connections", "state" => "idle").set(idle);
            metrics::gauge!("convgraph_db_pool_connections", "state" => "in_use")
                .set((size - idle).max(0.0));
            metrics::gauge!("convgraph_db_pool_waiting").set(db::exec::waiting() as f64);
            metrics::gauge!("convgraph_db_pool_max_connections")
                .set(f64::from(state.pool.options().get_max_connections()));
            metrics::gauge!("convgraph_subscriptions_open").set(state.hub.open() as f64);
            handle.run_upkeep();
            handle.render()
        }
        None => counters_only(sql_statements(), http_requests()),
    };
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
}

/// The two counters alone, when another recorder holds the facade.
fn counters_only(sql_statements: u64, http_requests: u64) -> String {
    use std::fmt::Write as _;
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
    use super::{counters_only, operation_label, route_label};

    #[test]
    fn renders_each_counter_with_help_and_type() {
        assert_eq!(
            counters_only(7, 3),
            "# HELP convgraph_sql_statements_total SQL statements run against PostgreSQL.\n\
             # TYPE convgraph_sql_statements_total counter\n\
             convgraph_sql_statements_total 7\n\
             # HELP convgraph_http_requests_total HTTP requests received.\n\
             # TYPE convgraph_http_requests_total counter\n\
             convgraph_http_requests_total 3\n"
        );
    }

    #[test]
    fn labels_are_bounded() {
        assert_eq!(route_label("/graphql"), "/graphql");
        assert_eq!(route_label("/graphiql/graphiql.js"), "/graphiql/*");
        assert_eq!(route_label("/wp-admin/../etc"), "other");
        assert_eq!(operation_label(None), "(unnamed)");
        assert_eq!(operation_label(Some("Dashboard")), "Dashboard");
        for i in 0..super::MAX_OPERATION_NAMES {
            let _ = operation_label(Some(&format!("Op{i}")));
        }
        assert_eq!(operation_label(Some("OneTooMany")), "(other)");
        assert_eq!(
            operation_label(Some("Dashboard")),
            "Dashboard",
            "still its own"
        );
    }
}
