//! Idempotency keys of both doors: a retried request with the same key and the same content
//! answers what the first one answered and writes nothing; the key is held while its request
//! runs, so two requests with one key never write twice.

use crate::auth::Caller;
use crate::error::ApiError;
use axum::body::Body;
use axum::http::HeaderMap;
use db::ingest::Remembered;
use futures::StreamExt as _;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use sqlx::PgPool;
use sqlx::pool::PoolConnection;

/// Idempotency keys: 1 to 255 visible ASCII characters.
pub(super) fn check_key(key: &str) -> Result<(), ApiError> {
    let ok = !key.is_empty() && key.len() <= 255 && key.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_input(
            "an idempotency key is 1 to 255 visible ASCII characters",
        ))
    }
}

pub(super) fn key_reused(key: &str) -> ApiError {
    ApiError::KeyReused(format!(
        "idempotency key {key:?} was used before for a different request; use a new key for new content"
    ))
}

pub(super) fn digest_of(kind: &str, documents: &[Value]) -> String {
    let mut hash = Sha256::new();
    hash.update(kind.as_bytes());
    hash.update(b"\n");
    for d in documents {
        hash.update(serde_json::to_vec(d).unwrap_or_default());
        hash.update(b"\n");
    }
    hex(&hash.finalize())
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The lock of one idempotency key, held on a connection of its own for the whole request. The
/// connection is closed rather than returned to the pool when the request ends abnormally, so
/// a lock never outlives its request.
pub(super) struct KeyLock {
    conn: Option<PoolConnection<sqlx::Postgres>>,
    subject: String,
    key: String,
}

impl KeyLock {
    pub(super) async fn take(pool: &PgPool, caller: &Caller, key: &str) -> Result<Self, ApiError> {
        let mut conn = db::exec::acquire(pool).await.map_err(ApiError::from_db)?;
        conn.close_on_drop();
        let locked = db::ingest::lock_key(&mut conn, &caller.subject, key)
            .await
            .map_err(ApiError::from_db)?;
        if !locked {
            return Err(ApiError::Conflict(format!(
                "a request with idempotency key {key:?} is still running; retry when it has finished"
            )));
        }
        Ok(Self {
            conn: Some(conn),
            subject: caller.subject.clone(),
            key: key.to_owned(),
        })
    }

    fn conn(&mut self) -> &mut sqlx::PgConnection {
        self.conn.as_mut().expect("held until released")
    }

    pub(super) async fn remembered(&mut self) -> Result<Option<Remembered>, sqlx::Error> {
        let (subject, key) = (self.subject.clone(), self.key.clone());
        db::ingest::remembered(self.conn(), &subject, &key).await
    }

    pub(super) async fn remember(
        &mut self,
        kind: &str,
        digest: &str,
        response: Value,
    ) -> Result<(), sqlx::Error> {
        let (subject, key) = (self.subject.clone(), self.key.clone());
        let remembered = Remembered {
            request_digest: digest.to_owned(),
            response,
        };
        db::ingest::remember(self.conn(), &subject, &key, kind, &remembered).await
    }

    /// Unlocks; the connection then goes back to the pool. When unlocking fails the connection
    /// is closed, which unlocks too.
    pub(super) async fn release(mut self) {
        let (subject, key) = (self.subject.clone(), self.key.clone());
        if let Some(mut conn) = self.conn.take()
            && db::ingest::unlock_key(&mut conn, &subject, &key)
                .await
                .is_ok()
        {
            conn.return_to_pool().await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// POST /ingest

pub(super) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.to_str().map_err(|_| {
        ApiError::bad_input("an idempotency key is 1 to 255 visible ASCII characters")
    })?;
    check_key(key)?;
    Ok(Some(key.to_owned()))
}

/// The digest of a whole body, or `None` when it cannot be read or is too large.
pub(super) async fn body_digest(kind: &str, body: Body, max_bytes: u64) -> Option<String> {
    let mut hash = Sha256::new();
    hash.update(kind.as_bytes());
    hash.update(b"\n");
    let mut read = 0u64;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.ok()?;
        read += chunk.len() as u64;
        if read > max_bytes {
            return None;
        }
        hash.update(&chunk);
    }
    Some(hex(&hash.finalize()))
}
