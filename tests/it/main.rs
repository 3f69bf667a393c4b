//! The end-to-end tests, in one binary: each module is one area of the product, run against a
//! real PostgreSQL (a private server the tests start, see `db::testing`) and real HTTP. One
//! binary links the application once instead of once per area; `common` is the harness they
//! share (the server, tokens, fixtures, the browser, the tracing subscriber).

mod common;

mod aggregates;
mod api;
mod auth;
mod feed_aggregates;
mod feed_api;
mod feed_import;
mod filters;
mod graph_walk;
mod graphiql;
mod http;
mod import;
mod ingest;
mod ingest_corpus;
mod ingest_crash;
mod ingest_records;
mod leakage;
mod limits;
mod live;
mod operations;
mod paging;
mod seed_feed;
mod statements;
mod wallboard;
