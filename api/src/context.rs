//! What every resolver reads from a request: its pool and verified caller, and the ISO-8601
//! intervals its arguments give. Shared by the roots of conversations, aggregates, the feed and
//! the subscriptions, so that none of them imports another for it.

use async_graphql::{Context, Result};
use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::auth::Caller;
use crate::error::ApiError;

/// The pool and the verified caller of this request.
pub fn request<'c>(ctx: &Context<'c>) -> Result<(&'c PgPool, &'c Caller)> {
    Ok((ctx.data::<PgPool>()?, ctx.data::<Caller>()?))
}

/// Like [`request`], with the primary's pool: for reads that may write first (the aggregates
/// refresh their rollup), which a replica refuses.
pub fn request_primary<'c>(ctx: &Context<'c>) -> Result<(&'c PgPool, &'c Caller)> {
    let primary = ctx.data::<crate::routing::Primary>()?;
    Ok((&primary.0, ctx.data::<Caller>()?))
}

/// Parses an ISO-8601 interval `start/end` into two instants.
pub fn parse_interval(
    interval: &str,
) -> std::result::Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    let bad = |why: String| ApiError::bad_input(format!("interval {interval:?}: {why}"));
    let (a, b) = interval.split_once('/').ok_or_else(|| {
        bad("expected start/end, e.g. 2026-11-01T00:00:00Z/2026-11-02T00:00:00Z".into())
    })?;
    let a = domain::reader::parse_time(a).map_err(bad)?;
    let b = domain::reader::parse_time(b).map_err(bad)?;
    if b <= a {
        return Err(bad("the end must be after the start".into()));
    }
    Ok((a, b))
}
